//! Asynchronous invocations (Lambda's `InvocationType: Event`): a durable queue of events in the
//! store, and a worker that invokes each event's function, retries it by Lambda's rules and
//! sends Lambda's invocation record to the function's destinations.
//!
//! [`AsyncInvoker`] is the queue the Invoke API hands events to
//! ([`app::AsyncQueue`]): an event is written to the store before the caller is
//! told 202, and stays there until it has succeeded or been given up. [`AsyncInvoker::run`]
//! takes events up when they are due (at most [`ASYNC_IN_FLIGHT_MAX`] at once) and runs the
//! function of the app's current version. Delivery is at least once: an event in flight when
//! the node stops runs again when it starts.
//!
//! An event that ends is removed from the store in the same transaction that puts its
//! invocation record into the outbox (`stored.rs`); the record then goes into its destination
//! table, keyed by the event's request id, so a record written twice (after a crash) is one
//! item. Design: `docs/design/007-async-invocations.md`.
//!
//! [`ASYNC_IN_FLIGHT_MAX`]: crate::limits::ASYNC_IN_FLIGHT_MAX

mod policy;
mod record;
mod stored;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use app::{AsyncQueue, EnqueueError, InvocationSource, Observer, QueuedEvent, SharedSnapshot};
use bytes::Bytes;
use manifest::{AppSpec, EventInvokeSpec, TriggerSource};
use runtime::{InvokeError, InvokeMeta};
use store::Store;
use tables::Tables;
use tokio::sync::{Notify, Semaphore};

use crate::destination;
use crate::limits::ASYNC_STORE_RETRY_MS;

pub use policy::Condition;

use policy::Next;
use stored::{Failure, FailureKind, OutboxEntry, StoredEvent};

/// What the async invoker needs from the node.
#[derive(Clone)]
pub struct AsyncContext {
    /// The store the events live in, and the destination tables.
    pub tables: Tables,
    /// The running app: events invoke the function of its current version.
    pub snapshot: SharedSnapshot,
    pub observer: Arc<dyn Observer>,
    /// Told about retries, events given up and records that cannot reach their table
    /// (`rondo dev` prints them).
    pub report: Arc<dyn Fn(AsyncReport) + Send + Sync>,
}

/// The node's settings for asynchronous invocations.
#[derive(Debug, Clone)]
pub struct AsyncInvokerConfig {
    /// The wait before the first retry after a function error; the second waits twice as long
    /// (Lambda: about a minute, [`ASYNC_RETRY_DELAY_MS_DEFAULT`]).
    ///
    /// [`ASYNC_RETRY_DELAY_MS_DEFAULT`]: crate::limits::ASYNC_RETRY_DELAY_MS_DEFAULT
    pub retry_delay: Duration,
    /// Most events held at once; more are refused.
    pub pending_events_max: usize,
    /// Most payload bytes held at once; more are refused.
    pub pending_bytes_max: u64,
    /// Most invocations running at once.
    pub in_flight_max: usize,
}

/// What the async invoker tells the operator.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AsyncReport {
    /// An attempt failed; the event is tried again after `delay`.
    Retrying {
        function: String,
        request_id: String,
        /// Invocations so far (a throttled attempt is none).
        invocations: u32,
        error: String,
        delay: Duration,
    },
    /// An event failed for good. Its invocation record is in `destination` (a table: reported
    /// once it is written), or nowhere when the function has no on-failure table.
    GivenUp {
        function: String,
        request_id: String,
        condition: Condition,
        invocations: u32,
        /// The last error, if an attempt was made.
        error: Option<String>,
        destination: Option<String>,
    },
    /// An invocation record could not be written to its table. It stays in the store and is
    /// written again (with capped backoff) until it is in; the event's outcome is not recorded
    /// before.
    DestinationFailed {
        function: String,
        request_id: String,
        table: String,
        attempt: u32,
        error: String,
    },
    /// A stored event or invocation record cannot be read (it is not what this release writes).
    /// It is left in the store, untouched, and skipped.
    Unreadable { key: String, reason: String },
}

/// Why the async invoker cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsyncInvokeError {
    #[error("cannot read the pending asynchronous events: {0}")]
    Store(#[from] store::StoreError),
}

/// The node's asynchronous invocations: the durable queue and its worker. Cheap to clone.
#[derive(Clone)]
pub struct AsyncInvoker {
    shared: Arc<Shared>,
}

struct Shared {
    context: AsyncContext,
    config: AsyncInvokerConfig,
    /// Each function's settings in the current app.
    settings: Mutex<HashMap<String, EventInvokeSpec>>,
    queue: Mutex<Queue>,
    /// Wakes the dispatcher when an event is queued.
    wake: Notify,
    /// Outbox records an earlier run left, delivered when [`AsyncInvoker::run`] starts.
    leftover_outbox: Mutex<Vec<Vec<u8>>>,
    /// Whether [`AsyncInvoker::run`] was called (it may be, once).
    running: AtomicBool,
    /// The destination writer's backoff, `(first, longest)` in ms: the limits', or shorter in
    /// tests.
    destination_backoff_ms: (u64, u64),
}

/// Events waiting, as `(due ms, key)`.
type Waiting = BTreeSet<(u64, Vec<u8>)>;

struct Queue {
    /// Events waiting for their time. Events in flight are not here.
    waiting: Waiting,
    /// Every event held (waiting or in flight) and their payload bytes, for the limits.
    n_events: usize,
    n_bytes: u64,
}

impl AsyncInvoker {
    /// Opens the queue: reads the events (and undelivered records) a previous run left in the
    /// store. Nothing runs until [`AsyncInvoker::run`].
    pub fn open(
        context: AsyncContext,
        config: AsyncInvokerConfig,
    ) -> Result<AsyncInvoker, AsyncInvokeError> {
        let store = context.tables.store();
        let (waiting, n_bytes) = load_events(store, &*context.report)?;
        let leftover_outbox = load_outbox_keys(store)?;
        let queue = Queue {
            n_events: waiting.len(),
            n_bytes,
            waiting,
        };
        Ok(AsyncInvoker {
            shared: Arc::new(Shared {
                context,
                config,
                settings: Mutex::new(HashMap::new()),
                queue: Mutex::new(queue),
                wake: Notify::new(),
                leftover_outbox: Mutex::new(leftover_outbox),
                running: AtomicBool::new(false),
                destination_backoff_ms: destination::BACKOFF_MS,
            }),
        })
    }

    /// The same queue with a destination backoff of `(first, longest)` ms (tests).
    #[cfg(test)]
    fn with_destination_backoff_ms(mut self, backoff_ms: (u64, u64)) -> AsyncInvoker {
        Arc::get_mut(&mut self.shared)
            .expect("set before the queue is shared")
            .destination_backoff_ms = backoff_ms;
        self
    }

    /// Takes each function's `[function.NAME.async]` settings from the app's new version.
    pub fn apply(&self, spec: &AppSpec) {
        let settings = spec
            .functions
            .values()
            .map(|f| (f.name.clone(), f.event_invoke.clone()))
            .collect();
        *lock(&self.shared.settings) = settings;
    }

    /// How many events the node holds (waiting, retrying or running).
    pub fn n_pending(&self) -> usize {
        lock(&self.shared.queue).n_events
    }

    /// Runs events as they come due, until the returned future is dropped (which abandons the
    /// invocations in flight: they run again at the next start). Call it once.
    pub async fn run(&self) {
        let shared = &self.shared;
        let was_running = shared.running.swap(true, Ordering::SeqCst);
        assert!(!was_running, "AsyncInvoker::run is called once");
        let mut tasks = tokio::task::JoinSet::new();
        let leftover = std::mem::take(&mut *lock(&shared.leftover_outbox));
        for key in leftover {
            tasks.spawn(deliver_stored(Arc::clone(shared), key));
        }
        let slots = Arc::new(Semaphore::new(shared.config.in_flight_max));
        loop {
            let permit = Arc::clone(&slots)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let key = shared.next_due().await;
            let task_shared = Arc::clone(shared);
            tasks.spawn(async move {
                process(&task_shared, key).await;
                drop(permit);
            });
            while let Some(finished) = tasks.try_join_next() {
                if let Err(error) = finished {
                    tracing::error!(%error, "an asynchronous event's task failed");
                }
            }
        }
    }
}

impl AsyncQueue for AsyncInvoker {
    fn enqueue(
        &self,
        event: QueuedEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + '_>> {
        Box::pin(self.shared.enqueue(event))
    }
}

impl Shared {
    async fn enqueue(&self, event: QueuedEvent) -> Result<(), EnqueueError> {
        let size = event.payload.len() as u64;
        self.reserve(size)?;
        let now = now_ms();
        let settings = self.settings_of(&event.function);
        let stored = StoredEvent {
            request_id: event.request_id,
            function: event.function,
            enqueued_ms: now,
            due_ms: now,
            invocations: 0,
            failures: 0,
            throttles: 0,
            settings,
            last_failure: None,
            payload: event.payload,
        };
        let key = stored::event_key(now, &stored.request_id);
        let value = stored.encode();
        let written = {
            let key = key.clone();
            self.store()
                .write(move |txn| txn.put(&key, &value))
                .await
                .and_then(|result| result)
        };
        if let Err(error) = written {
            self.release(size);
            return Err(EnqueueError::Store {
                function: stored.function,
                message: error.to_string(),
            });
        }
        lock(&self.queue).waiting.insert((now, key));
        self.wake.notify_one();
        Ok(())
    }

    /// Counts an event of `size` payload bytes in, or refuses it when the node is full.
    fn reserve(&self, size: u64) -> Result<(), EnqueueError> {
        let mut queue = lock(&self.queue);
        let limit = if queue.n_events >= self.config.pending_events_max {
            Some(format!("at most {} events", self.config.pending_events_max))
        } else if queue.n_bytes + size > self.config.pending_bytes_max {
            Some(format!(
                "at most {} payload bytes",
                self.config.pending_bytes_max
            ))
        } else {
            None
        };
        if let Some(limit) = limit {
            return Err(EnqueueError::Full {
                pending: queue.n_events,
                limit,
            });
        }
        queue.n_events += 1;
        queue.n_bytes += size;
        Ok(())
    }

    /// Counts an event of `size` payload bytes out.
    fn release(&self, size: u64) {
        let mut queue = lock(&self.queue);
        assert!(queue.n_events > 0, "an event released twice");
        queue.n_events -= 1;
        queue.n_bytes = queue.n_bytes.saturating_sub(size);
    }

    /// The function's settings in the current app (Lambda's defaults if it has none yet).
    fn settings_of(&self, function: &str) -> EventInvokeSpec {
        lock(&self.settings)
            .get(function)
            .cloned()
            .unwrap_or(EventInvokeSpec::DEFAULT)
    }

    fn store(&self) -> &Store {
        self.context.tables.store()
    }

    /// Waits for the earliest event to come due and takes it out of the waiting set.
    async fn next_due(&self) -> Vec<u8> {
        loop {
            let first = lock(&self.queue).waiting.first().cloned();
            let Some((due_ms, key)) = first else {
                self.wake.notified().await;
                continue;
            };
            let now = now_ms();
            if due_ms <= now {
                if lock(&self.queue).waiting.remove(&(due_ms, key.clone())) {
                    return key;
                }
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(due_ms - now)) => {}
            }
        }
    }

    /// Puts an event back to wait until `due_ms`.
    fn requeue(&self, due_ms: u64, key: Vec<u8>) {
        lock(&self.queue).waiting.insert((due_ms, key));
        self.wake.notify_one();
    }
}

/// Takes one due event through one attempt and what follows it.
async fn process(shared: &Shared, key: Vec<u8>) {
    let read = shared
        .store()
        .read()
        .and_then(|read| read.get(&key))
        .map(|value| value.as_deref().map(StoredEvent::decode));
    let mut event = match read {
        Ok(Some(Some(event))) => event,
        // Gone: it was finished by an earlier task.
        Ok(None) => return,
        Ok(Some(None)) => {
            // The events area only holds what `StoredEvent::encode` wrote: this one is left
            // where it is, and skipped.
            (shared.context.report)(AsyncReport::Unreadable {
                key: stored::key_text(&key),
                reason: "not an asynchronous event of this release's format".to_owned(),
            });
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read an asynchronous event; trying again later");
            shared.requeue(now_ms() + ASYNC_STORE_RETRY_MS, key);
            return;
        }
    };
    // The function's settings now; its settings when the event came if it left the app.
    let settings = lock(&shared.settings)
        .get(&event.function)
        .cloned()
        .unwrap_or_else(|| event.settings.clone());
    if policy::expired(&event, &settings, now_ms()) {
        finish(
            shared,
            &key,
            event,
            &settings,
            Condition::EventAgeExceeded,
            None,
        )
        .await;
        return;
    }
    let (failure, response) = match attempt(shared, &event).await {
        Ok(response) => (None, Some(response)),
        Err(failure) => (Some(failure), None),
    };
    let retry_delay_ms = u64::try_from(shared.config.retry_delay.as_millis()).unwrap_or(u64::MAX);
    let next = policy::after_attempt(&mut event, failure, &settings, retry_delay_ms, now_ms());
    match next {
        Next::Done => {
            let response = response.expect("a finished attempt has its response");
            finish(
                shared,
                &key,
                event,
                &settings,
                Condition::Success,
                Some(response),
            )
            .await;
        }
        Next::GiveUp(condition) => finish(shared, &key, event, &settings, condition, None).await,
        Next::Retry => retry(shared, key, event).await,
    }
}

/// Runs the event's function once, in the app's current version.
async fn attempt(shared: &Shared, event: &StoredEvent) -> Result<Bytes, Failure> {
    let app = shared.context.snapshot.load_full();
    let Some(function) = app.functions.get(&event.function).cloned() else {
        let arn = runtime::function_arn(&event.function);
        return Err(Failure::new(
            FailureKind::FunctionGone,
            "ResourceNotFoundException",
            &format!("Function not found: {arn} (it left the app after the event came)"),
        ));
    };
    if !function.takes_events() {
        return Err(Failure::new(
            FailureKind::NotInvocable,
            "InvalidParameterValueException",
            &format!(
                "function {} is a wasi:http component: it is invoked through its HTTP routes",
                event.function
            ),
        ));
    }
    let meta = InvokeMeta {
        request_id: event.request_id.clone(),
    };
    let payload = event.payload.clone();
    // Reserved concurrency 0 throttles everything; Lambda then sends events straight to the
    // on-failure destination, without retries.
    let reserved_zero = function.pool().reserved() == Some(0);
    // Its own task, so a panic in a function's host code fails this attempt, not the worker;
    // owned by this one, so an event's task that is dropped (the worker stopped) takes its
    // attempt with it.
    // Owner: this attempt, through `AbortOnDrop`: dropping the attempt aborts the invocation.
    let invocation = AbortOnDrop(tokio::spawn(
        async move { function.invoke(payload, meta).await },
    ))
    .await;
    let invocation = match invocation {
        Ok(invocation) => invocation,
        Err(error) => {
            return Err(Failure::new(
                FailureKind::Function,
                "Runtime.HostFailure",
                &format!("the invocation failed in the host: {error}"),
            ));
        }
    };
    shared.context.observer.invocation_finished(
        &invocation.report,
        invocation.result.as_ref().err(),
        InvocationSource::Async,
    );
    invocation.result.map_err(|error| {
        let kind = match error {
            InvokeError::Throttled { .. } if reserved_zero => FailureKind::Disabled,
            InvokeError::Throttled { .. } => FailureKind::Throttled,
            _ => FailureKind::Function,
        };
        Failure::new(kind, error.error_type(), &error.error_message())
    })
}

/// A spawned task owned by its handle: dropping the handle aborts the task.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Stores the event's new state and puts it back to wait for its next attempt.
async fn retry(shared: &Shared, key: Vec<u8>, event: StoredEvent) {
    let value = event.encode();
    let write_key = key.clone();
    let written = shared
        .store()
        .write(move |txn| txn.put(&write_key, &value))
        .await
        .and_then(|result| result);
    if let Err(error) = written {
        // The stored state is the one before this attempt: at worst it is counted again.
        tracing::warn!(%error, request_id = %event.request_id, "cannot store an asynchronous event's retry");
    }
    let failure = event.last_failure.as_ref();
    (shared.context.report)(AsyncReport::Retrying {
        function: event.function.clone(),
        request_id: event.request_id.clone(),
        invocations: event.invocations,
        error: failure.map_or_else(String::new, |f| {
            format!("{}: {}", f.error_type, f.error_message)
        }),
        delay: Duration::from_millis(event.due_ms.saturating_sub(now_ms())),
    });
    shared.requeue(event.due_ms, key);
}

/// Ends an event: removes it from the store and, if the function has a destination table for
/// this outcome, puts its invocation record into the outbox in the same transaction; then
/// delivers the record.
async fn finish(
    shared: &Shared,
    key: &[u8],
    event: StoredEvent,
    settings: &EventInvokeSpec,
    condition: Condition,
    response: Option<Bytes>,
) {
    let destination = match condition {
        Condition::Success => settings.on_success.as_ref(),
        Condition::RetriesExhausted | Condition::EventAgeExceeded => settings.on_failure.as_ref(),
    };
    let table = match destination {
        Some(TriggerSource::Table(table)) => Some(table.clone()),
        // `manifest::parse` refuses queue destinations and `destination::check` fails the load,
        // so only an event stored under other settings can name one. Its record is kept under
        // that name: writing it fails (no such table), is reported, and is tried again; it is
        // never dropped unrecorded.
        Some(TriggerSource::Queue(queue)) => Some(format!("queue:{queue}")),
        None => None,
    };
    let outbox = table.as_ref().map(|table| {
        let record = record::invocation_record(&event, condition, response.as_ref(), now_ms());
        let entry = OutboxEntry {
            function: event.function.clone(),
            table: table.clone(),
            condition: condition.as_str().to_owned(),
            record: Bytes::from(record.to_string()),
        };
        (entry, record)
    });
    let event_key = key.to_vec();
    let outbox_key = stored::outbox_key(key);
    let outbox_value = outbox.as_ref().map(|(entry, _)| entry.encode());
    let written = {
        let outbox_key = outbox_key.clone();
        shared
            .store()
            .write(move |txn| {
                txn.delete(&event_key)?;
                if let Some(value) = outbox_value {
                    txn.put(&outbox_key, &value)?;
                }
                Ok::<(), store::StoreError>(())
            })
            .await
            .and_then(|result| result)
    };
    if let Err(error) = written {
        // The store still holds the event as it was before this attempt: it runs again.
        tracing::warn!(%error, request_id = %event.request_id, "cannot finish an asynchronous event; trying again later");
        shared.requeue(now_ms() + ASYNC_STORE_RETRY_MS, key.to_vec());
        return;
    }
    shared.release(event.payload.len() as u64);
    // Its outcome is recorded (in the outbox, durably); the record is in its table when
    // `deliver` returns, and only then is it said to be.
    if let Some((entry, record)) = outbox {
        deliver(shared, &outbox_key, &event.request_id, &entry, &record).await;
    }
    if condition != Condition::Success {
        (shared.context.report)(AsyncReport::GivenUp {
            function: event.function.clone(),
            request_id: event.request_id.clone(),
            condition,
            invocations: event.invocations,
            error: event
                .last_failure
                .as_ref()
                .map(|f| format!("{}: {}", f.error_type, f.error_message)),
            destination: table,
        });
    }
}

/// Delivers a record an earlier run left in the outbox. One that cannot be read is reported
/// and left where it is.
async fn deliver_stored(shared: Arc<Shared>, key: Vec<u8>) {
    let read = shared.store().read().and_then(|read| read.get(&key));
    let value = match read {
        Ok(Some(value)) => value,
        Ok(None) => return,
        Err(error) => {
            // Read again at the next start.
            (shared.context.report)(AsyncReport::Unreadable {
                key: stored::key_text(&key),
                reason: format!("cannot read the invocation record from the store: {error}"),
            });
            return;
        }
    };
    let unreadable = |reason: &str| {
        (shared.context.report)(AsyncReport::Unreadable {
            key: stored::key_text(&key),
            reason: reason.to_owned(),
        });
    };
    let Some(entry) = OutboxEntry::decode(&value) else {
        unreadable("not an invocation record of this release's format");
        return;
    };
    let record = match serde_json::from_slice::<serde_json::Value>(&entry.record) {
        Ok(record @ serde_json::Value::Object(_)) => record,
        Ok(_) => return unreadable("the invocation record is not a JSON object"),
        Err(error) => {
            return unreadable(&format!("the invocation record is not JSON: {error}"));
        }
    };
    let request_id = stored::key_text(&key);
    deliver(&shared, &key, &request_id, &entry, &record).await;
}

/// Writes an outbox record into its table, retrying with capped backoff until it is in (each
/// failure reported), then takes it out of the outbox.
async fn deliver(
    shared: &Shared,
    key: &[u8],
    request_id: &str,
    entry: &OutboxEntry,
    record: &serde_json::Value,
) {
    destination::write_until_done(
        &shared.context.tables,
        &entry.table,
        request_id,
        record,
        shared.destination_backoff_ms,
        |attempt, error| {
            (shared.context.report)(AsyncReport::DestinationFailed {
                function: entry.function.clone(),
                request_id: request_id.to_owned(),
                table: entry.table.clone(),
                attempt,
                error,
            });
        },
    )
    .await;
    let key = key.to_vec();
    let removed = shared
        .store()
        .write(move |txn| txn.delete(&key))
        .await
        .and_then(|result| result);
    if let Err(error) = removed {
        // It stays in the outbox and is written again (as the same item) at the next start.
        tracing::warn!(%error, %request_id, "cannot take an invocation record out of the outbox");
    }
}

/// The pending events in the store, as the waiting set, and their payload bytes. An event that
/// cannot be read is reported, left where it is, and skipped.
fn load_events(
    store: &Store,
    report: &(dyn Fn(AsyncReport) + Send + Sync),
) -> Result<(Waiting, u64), AsyncInvokeError> {
    let (start, end) = stored::events_range();
    let read = store.read()?;
    let mut waiting = BTreeSet::new();
    let mut n_bytes = 0;
    for entry in read.range(
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Excluded(&end[..]),
        false,
    )? {
        let (key, value) = entry?;
        let Some((event, payload_start)) = StoredEvent::decode_header(&value) else {
            report(AsyncReport::Unreadable {
                key: stored::key_text(&key),
                reason: "not an asynchronous event of this release's format".to_owned(),
            });
            continue;
        };
        n_bytes += (value.len() - payload_start) as u64;
        waiting.insert((event.due_ms, key));
    }
    Ok((waiting, n_bytes))
}

/// The keys of the records in the outbox.
fn load_outbox_keys(store: &Store) -> Result<Vec<Vec<u8>>, AsyncInvokeError> {
    let (start, end) = stored::outbox_range();
    let read = store.read()?;
    let mut keys = Vec::new();
    for entry in read.range(
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Excluded(&end[..]),
        false,
    )? {
        keys.push(entry?.0);
    }
    Ok(keys)
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
