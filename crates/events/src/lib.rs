//! Event sources that invoke functions: stream triggers, Lambda's event source mappings for
//! DynamoDB streams; and asynchronous invocations ([`async_invoke`]), Lambda's
//! `InvocationType: Event`.
//!
//! [`Triggers`] runs the manifest's `[[trigger]]`s: for each trigger and each shard of its
//! table's stream, one task reads records from the trigger's checkpoint on, filters them,
//! batches them and invokes the function with Lambda's DynamoDB event. The checkpoint moves
//! only after a batch succeeded (or was handed to the on-failure destination), so delivery is
//! at least once and in order per shard. Tasks wake on the store's commits, not on a timer.

pub mod async_invoke;
pub mod limits;

mod attribute;
mod checkpoint;
mod runner;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::{Observer, SharedSnapshot};
use manifest::{AppSpec, TriggerSource, TriggerSpec};
use tables::Tables;

pub use async_invoke::{AsyncContext, AsyncInvoker, AsyncInvokerConfig, AsyncReport};
pub use runner::TriggerEvent;

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
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Triggers {
    pub fn new(context: TriggerContext) -> Triggers {
        Triggers {
            context,
            running: Mutex::new(Running::default()),
            ages: Arc::new(IteratorAges::default()),
        }
    }

    /// Each trigger's iterator age per shard (for metrics, and printed with failures).
    pub fn iterator_ages(&self) -> &IteratorAges {
        &self.ages
    }

    /// Runs the app's table triggers, restarting them when they changed. Their checkpoints are
    /// in the store, so a restart resumes where each left off. Call it inside a tokio runtime.
    pub fn apply(&self, spec: &AppSpec) {
        let specs: Vec<TriggerSpec> = spec
            .triggers
            .iter()
            .filter(|t| matches!(t.source, TriggerSource::Table(_)))
            .cloned()
            .collect();
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.specs == specs && !running.tasks.is_empty() {
            return;
        }
        for task in running.tasks.drain(..) {
            task.abort();
        }
        self.ages.clear();
        let mut names = Vec::new();
        for spec in &specs {
            let plan = match runner::Plan::new(spec, &names, Arc::clone(&self.ages)) {
                Ok(plan) => plan,
                Err(error) => {
                    (self.context.report)(TriggerEvent::Invalid { error });
                    continue;
                }
            };
            names.push(plan.name.clone());
            running.tasks.push(tokio::spawn(runner::supervise(
                Arc::new(plan),
                self.context.clone(),
            )));
        }
        running.specs = specs;
    }

    /// Stops every trigger (in-flight batches are abandoned and delivered again later).
    pub fn stop(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for task in running.tasks.drain(..) {
            task.abort();
        }
        running.specs.clear();
    }
}

impl Drop for Triggers {
    fn drop(&mut self) {
        self.stop();
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
