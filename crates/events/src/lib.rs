//! Event sources that invoke functions: stream triggers, Lambda's event source mappings for
//! DynamoDB streams; and asynchronous invocations ([`async_invoke`]), Lambda's
//! `InvocationType: Event`.
//!
//! [`Triggers`] runs the manifest's `[[trigger]]`s: for each trigger and each shard of its
//! table's stream, one task reads records from the trigger's checkpoint on, filters them,
//! batches them and invokes the function with Lambda's DynamoDB event. The checkpoint moves
//! only after a batch succeeded (or its failure record is in the on-failure table, written by
//! the one [`destination`] writer), so delivery is at least once and in order per shard. Tasks
//! wake on the store's commits, not on a timer, and each has an owner that stops it (see
//! [`Triggers::apply`]).

pub mod async_invoke;
pub mod limits;

mod attribute;
mod checkpoint;
pub mod destination;
mod runner;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{Observer, SharedSnapshot};
use manifest::{AppSpec, TriggerSource, TriggerSpec};
use tables::Tables;

pub use async_invoke::{AsyncContext, AsyncInvoker, AsyncInvokerConfig, AsyncReport};
pub use runner::{TriggerEvent, batch_item_failures};

/// What triggers need from the node.
#[derive(Clone)]
pub struct TriggerContext {
    pub tables: Tables,
    /// The running app: triggers invoke the function of the current version.
    pub snapshot: SharedSnapshot,
    pub observer: Arc<dyn Observer>,
    /// Told about failed batches and on-failure deliveries (`rondo dev` prints them).
    pub report: Arc<dyn Fn(TriggerEvent) + Send + Sync>,
}

/// The running triggers of an app.
pub struct Triggers {
    context: TriggerContext,
    running: Mutex<Running>,
    ages: Arc<IteratorAges>,
    /// Live trigger tasks (supervisors and shard tasks), counted by [`runner::TaskGuard`].
    tasks: Arc<AtomicUsize>,
}

/// How far behind each trigger is, per shard (and lane): Lambda's `IteratorAge`, the age of the
/// last record read when its batch was taken; zero when the trigger has caught up.
#[derive(Default)]
pub struct IteratorAges {
    ages: Mutex<BTreeMap<(String, String), Duration>>,
}

impl IteratorAges {
    pub(crate) fn set(&self, trigger: &str, shard: &str, age: Duration) {
        let mut ages = self.ages.lock().unwrap_or_else(|e| e.into_inner());
        ages.insert((trigger.to_owned(), shard.to_owned()), age);
    }

    fn clear(&self) {
        self.ages.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// `(trigger, shard, iterator age)` for every shard a trigger reads.
    pub fn snapshot(&self) -> Vec<(String, String, Duration)> {
        let ages = self.ages.lock().unwrap_or_else(|e| e.into_inner());
        ages.iter()
            .map(|((trigger, shard), age)| (trigger.clone(), shard.clone(), *age))
            .collect()
    }
}

#[derive(Default)]
struct Running {
    specs: Vec<TriggerSpec>,
    /// The running plans; `None` before the first [`Triggers::apply`] and after
    /// [`Triggers::stop`].
    generation: Option<Generation>,
}

/// One set of plans at work: a task that owns the plans' supervisors (in a `JoinSet`), each of
/// which owns its shard tasks (in a `JoinSet` of its own). Nothing is spawned detached: a stop
/// is signalled down the tree and each owner waits for what it owns to end, and dropping an
/// owner aborts what it owns.
struct Generation {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Generation {
    /// Starts `plans` once `previous` (if any) has stopped: two plans never deliver at once.
    fn start(
        previous: Option<Generation>,
        plans: Vec<Arc<runner::Plan>>,
        context: TriggerContext,
        ages: Arc<IteratorAges>,
    ) -> Generation {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        // Owner: the returned `Generation`: `shutdown` stops it and waits, a drop aborts it.
        let task = tokio::spawn(async move {
            if let Some(previous) = previous {
                previous.shutdown().await;
            }
            if *stopped.borrow() {
                return;
            }
            ages.clear();
            let mut supervisors = tokio::task::JoinSet::new();
            for plan in plans {
                supervisors.spawn(runner::supervise(plan, context.clone(), stopped.clone()));
            }
            // Each supervisor sees the stop too: it stops its shard tasks, waits for them, and
            // ends. A closed channel (the sender dropped) means stop as well.
            let _ = stopped.wait_for(|stop| *stop).await;
            while let Some(ended) = supervisors.join_next().await {
                if let Err(error) = ended
                    && error.is_panic()
                {
                    tracing::error!(%error, "a trigger's supervisor panicked");
                }
            }
        });
        Generation { stop, task }
    }

    /// Stops every task of this generation and waits until they have ended.
    async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Err(error) = (&mut self.task).await
            && error.is_panic()
        {
            tracing::error!(%error, "the triggers' task panicked");
        }
    }
}

impl Drop for Generation {
    /// Dropped without [`Generation::shutdown`]: aborts the task, which drops its `JoinSet`s and
    /// so aborts every supervisor and shard task (they end at their next await).
    fn drop(&mut self) {
        self.stop.send_replace(true);
        self.task.abort();
    }
}

impl Triggers {
    pub fn new(context: TriggerContext) -> Triggers {
        Triggers {
            context,
            running: Mutex::new(Running::default()),
            ages: Arc::new(IteratorAges::default()),
            tasks: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Each trigger's iterator age per shard (for metrics, and printed with failures).
    pub fn iterator_ages(&self) -> &IteratorAges {
        &self.ages
    }

    /// How many trigger tasks (supervisors and shard tasks) are alive now.
    pub fn n_tasks(&self) -> usize {
        self.tasks.load(Ordering::SeqCst)
    }

    /// Runs the app's table triggers, restarting them when they changed. Their checkpoints are
    /// in the store, so a restart resumes where each left off. Call it inside a tokio runtime.
    ///
    /// It returns at once; the new plans start only once every task of the old ones has ended
    /// (in-flight batches of the old plans are abandoned and delivered again by the new ones).
    pub fn apply(&self, spec: &AppSpec) {
        let specs: Vec<TriggerSpec> = spec
            .triggers
            .iter()
            .filter(|t| matches!(t.source, TriggerSource::Table(_)))
            .cloned()
            .collect();
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.specs == specs && running.generation.is_some() {
            return;
        }
        let mut names = Vec::new();
        let mut plans = Vec::new();
        for spec in &specs {
            let plan = match runner::Plan::new(
                spec,
                &names,
                Arc::clone(&self.ages),
                Arc::clone(&self.tasks),
            ) {
                Ok(plan) => plan,
                Err(error) => {
                    (self.context.report)(TriggerEvent::Invalid { error });
                    continue;
                }
            };
            names.push(plan.name.clone());
            plans.push(Arc::new(plan));
        }
        let previous = running.generation.take();
        running.generation = Some(Generation::start(
            previous,
            plans,
            self.context.clone(),
            Arc::clone(&self.ages),
        ));
        running.specs = specs;
    }

    /// Stops every trigger and returns once all their tasks have ended (in-flight batches are
    /// abandoned and delivered again later).
    pub async fn stop(&self) {
        let generation = {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            running.specs.clear();
            running.generation.take()
        };
        if let Some(generation) = generation {
            generation.shutdown().await;
        }
    }
}

impl Drop for Triggers {
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|e| e.into_inner());
        // Aborts the tree of tasks (see `Generation`'s drop).
        drop(running.generation.take());
    }
}

/// Load-time warnings: a table trigger with neither a retry limit nor a record-age limit lets
/// one bad record block its shard until the record leaves the stream, as on Lambda.
pub fn warnings(spec: &AppSpec) -> Vec<String> {
    spec.triggers
        .iter()
        .filter_map(|t| match &t.source {
            TriggerSource::Table(table)
                if t.maximum_retry_attempts.is_none() && t.maximum_record_age_s.is_none() =>
            {
                Some(format!(
                    "trigger table:{table} -> {}: no maximum_retry_attempts and no maximum_record_age_s, so one failing record blocks its shard until it leaves the stream (24 h); set a limit and an on_failure destination",
                    t.function
                ))
            }
            _ => None,
        })
        .collect()
}
