//! One trigger at work: a supervisor per trigger follows its table's current stream, and a task
//! per shard delivers that shard's records in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use manifest::{StartingPosition, TriggerSource, TriggerSpec};
use runtime::{InvokeError, InvokeMeta};
use serde_json::{Value, json};
use tables::{ShardRecord, StreamInfo};
use tokio::task::JoinSet;

use app::InvocationSource;

use crate::TriggerContext;
use crate::checkpoint::{self, Place};
use crate::destination;
use crate::limits::{BATCH_BYTES_MAX, RETRY_BACKOFF_MS_MAX, RETRY_BACKOFF_MS_MIN};
use patterns::Pattern;

/// What a trigger reports to the operator.
#[derive(Debug, Clone)]
pub enum TriggerEvent {
    /// A trigger of the manifest cannot run (a bad filter pattern).
    Invalid { error: String },
    /// A batch failed and will be retried (or bisected).
    BatchFailed {
        trigger: String,
        shard: String,
        records: usize,
        attempt: u32,
        error: String,
        /// How old the batch's newest record is: how far behind the shard is.
        iterator_age: Duration,
    },
    /// A batch's description could not be written to the on-failure table. The shard waits:
    /// the write is tried again (with capped backoff) until it is in, and only then does the
    /// checkpoint move past the batch.
    DestinationFailed {
        trigger: String,
        shard: String,
        table: String,
        attempt: u32,
        error: String,
    },
    /// A shard's checkpoint cannot be read (the store failed, or the stored value is corrupt:
    /// the error names its key). The shard delivers nothing, since it cannot know where to
    /// resume; it reads the checkpoint again after a backoff, and reports each failure.
    CheckpointUnreadable {
        trigger: String,
        shard: String,
        error: String,
    },
    /// A batch failed for good: its description is in the on-failure table `destination`
    /// (reported once it is written), or, with no destination, the records are skipped.
    Discarded {
        trigger: String,
        shard: String,
        records: usize,
        condition: &'static str,
        destination: Option<String>,
    },
}

/// A trigger, ready to run.
pub struct Plan {
    /// Unique within the app; names the trigger's checkpoints.
    pub name: String,
    table: String,
    function: String,
    batch_size: usize,
    window: Duration,
    starting_position: StartingPosition,
    maximum_retry_attempts: Option<u32>,
    maximum_record_age_s: Option<u32>,
    bisect: bool,
    /// Concurrent batches per shard (1..=10); each item's records stay in one lane, in order.
    parallelization_factor: u8,
    report_batch_item_failures: bool,
    patterns: Vec<Pattern>,
    on_failure: Option<String>,
    ages: Arc<crate::IteratorAges>,
    /// Live tasks of all triggers, for [`crate::Triggers::n_tasks`].
    tasks: Arc<AtomicUsize>,
}

/// Counts a task alive from its first poll until its future is dropped (it ended, or was
/// aborted).
pub(crate) struct TaskGuard(Arc<AtomicUsize>);

impl TaskGuard {
    fn new(tasks: &Arc<AtomicUsize>) -> TaskGuard {
        tasks.fetch_add(1, Ordering::SeqCst);
        TaskGuard(Arc::clone(tasks))
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Plan {
    pub fn new(
        spec: &TriggerSpec,
        taken: &[String],
        ages: Arc<crate::IteratorAges>,
        tasks: Arc<AtomicUsize>,
    ) -> Result<Plan, String> {
        let TriggerSource::Table(table) = &spec.source else {
            return Err("only table triggers run in this release".to_owned());
        };
        let base = format!("table:{table}->{}", spec.function);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        let patterns = spec
            .filter_patterns
            .iter()
            .map(|text| {
                Pattern::parse(text)
                    .map_err(|e| format!("trigger {name}: filter pattern {text}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let on_failure = match &spec.on_failure {
            None => None,
            Some(TriggerSource::Table(table)) => Some(table.clone()),
            // `manifest::parse` refuses queue destinations; should one get here, the trigger
            // does not run rather than drop what fails.
            Some(TriggerSource::Queue(queue)) => {
                return Err(format!(
                    "trigger {name}: on_failure queue:{queue}: queue destinations are not built"
                ));
            }
        };
        Ok(Plan {
            name,
            table: table.clone(),
            function: spec.function.clone(),
            batch_size: spec.batch_size.max(1) as usize,
            window: Duration::from_millis(u64::from(spec.batching_window_ms)),
            starting_position: spec.starting_position,
            maximum_retry_attempts: spec.maximum_retry_attempts,
            maximum_record_age_s: spec.maximum_record_age_s,
            bisect: spec.bisect_batch_on_function_error,
            parallelization_factor: u8::try_from(spec.parallelization_factor.clamp(1, 10))
                .unwrap_or(1),
            report_batch_item_failures: spec.report_batch_item_failures,
            patterns,
            on_failure,
            ages,
            tasks,
        })
    }
}

/// Follows the table's current stream: runs one task per shard (and lane), and starts over when
/// the stream is replaced (disabled and enabled again), until `stop` says true (or closes).
/// Returns only once every shard task it started has ended.
pub async fn supervise(
    plan: Arc<Plan>,
    context: TriggerContext,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _alive = TaskGuard::new(&plan.tasks);
    // The supervisor owns its shard tasks: aborted with it, or shut down (aborted and awaited)
    // below.
    let mut shards = JoinSet::new();
    tokio::select! {
        () = follow(&plan, &context, &mut shards) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
    shards.shutdown().await;
}

/// The supervisor's work: starts the shard tasks of the current stream into `shards`, and
/// replaces them when the stream is replaced.
async fn follow(plan: &Arc<Plan>, context: &TriggerContext, shards: &mut JoinSet<()>) {
    let mut commits = context.tables.store().commits();
    loop {
        let stream = match context.tables.stream_info(&plan.table) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(trigger = %plan.name, %error, "cannot read the stream");
                None
            }
        };
        let Some(stream) = stream else {
            if commits.changed().await.is_err() {
                return;
            }
            continue;
        };
        let stream = Arc::new(stream);
        let lanes = plan.parallelization_factor;
        for shard in 0..stream.shards {
            for lane in 0..lanes {
                let place = Place {
                    stream: stream.id,
                    shard,
                    lane: (lanes > 1).then_some((lanes, lane)),
                };
                shards.spawn(run_shard(
                    Arc::clone(plan),
                    context.clone(),
                    Arc::clone(&stream),
                    place,
                ));
            }
        }
        // Watch for the stream being replaced.
        loop {
            if commits.changed().await.is_err() {
                return;
            }
            let current = context.tables.stream_info(&plan.table).ok().flatten();
            if current.as_ref().map(|s| s.id) != Some(stream.id) {
                break;
            }
        }
        shards.shutdown().await;
    }
}

/// How a batch ended.
enum Outcome {
    Success,
    /// The function reported these records (by sequence number) as failed.
    Partial(u64),
    Failed {
        error: String,
        function_error: &'static str,
    },
}

/// Records of one lane of a shard from `from` on: at most `batch_size` of the lane's records,
/// and the sequence number of the last record looked at (records of other lanes are passed
/// over, so the lane's checkpoint can move past them).
fn read_lane(
    context: &TriggerContext,
    stream: &StreamInfo,
    place: Place,
    from: u64,
    batch_size: usize,
) -> Result<(Vec<ShardRecord>, Option<u64>), tables::ApiError> {
    let Some((lanes, lane)) = place.lane else {
        let records =
            context
                .tables
                .read_shard(stream, place.shard, from, batch_size, BATCH_BYTES_MAX)?;
        let last = records.last().map(|r| r.sequence);
        return Ok((records, last));
    };
    let chunk = batch_size.saturating_mul(usize::from(lanes));
    let mut mine = Vec::new();
    let mut bytes = 0;
    let mut last = None;
    let mut from = from;
    loop {
        let records =
            context
                .tables
                .read_shard(stream, place.shard, from, chunk, BATCH_BYTES_MAX)?;
        let exhausted = records.len() < chunk;
        for record in records {
            // The table's hash picked the shard (hash % shards); the lane takes the next bits.
            let record_lane = (record.partition_hash / u32::from(stream.shards)) % u32::from(lanes);
            if record_lane == u32::from(lane) {
                if mine.len() == batch_size
                    || bytes + record.size > BATCH_BYTES_MAX && !mine.is_empty()
                {
                    return Ok((mine, last));
                }
                bytes += record.size;
                last = Some(record.sequence);
                mine.push(record);
            } else {
                last = Some(record.sequence);
            }
            from = record_sequence_after(last);
        }
        if exhausted {
            return Ok((mine, last));
        }
    }
}

fn record_sequence_after(last: Option<u64>) -> u64 {
    last.map_or(0, |l| l + 1)
}

async fn run_shard(
    plan: Arc<Plan>,
    context: TriggerContext,
    stream: Arc<StreamInfo>,
    place: Place,
) {
    let _alive = TaskGuard::new(&plan.tasks);
    let shard = place.shard;
    let shard_id = stream
        .shard_ids
        .get(usize::from(shard))
        .cloned()
        .unwrap_or_default();
    let lane_name = match place.lane {
        Some((_, lane)) => format!("{shard_id}/{lane}"),
        None => shard_id.clone(),
    };
    let store = context.tables.store().clone();
    let mut commits = store.commits();
    let mut next = loop {
        match checkpoint::load(&store, &plan.name, place) {
            Ok(Some(next)) => break next,
            Ok(None) => {
                let start = match plan.starting_position {
                    StartingPosition::TrimHorizon => 0,
                    StartingPosition::Latest => stream.latest + 1,
                };
                // Fix LATEST now, so a restart does not skip what was written meanwhile.
                if let Err(error) = checkpoint::save(&store, &plan.name, place, start).await {
                    tracing::warn!(trigger = %plan.name, %error, "cannot save the checkpoint");
                }
                break start;
            }
            Err(error) => {
                // Never guess a starting point: that would skip records or deliver them again.
                (context.report)(TriggerEvent::CheckpointUnreadable {
                    trigger: plan.name.clone(),
                    shard: lane_name.clone(),
                    error: error.to_string(),
                });
                tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS_MAX)).await;
            }
        }
    };
    loop {
        // Mark what has been seen before reading, so a commit in between wakes the wait below.
        commits.borrow_and_update();
        let (mut records, mut last) =
            match read_lane(&context, &stream, place, next, plan.batch_size) {
                Ok(read) => read,
                Err(error) => {
                    tracing::warn!(trigger = %plan.name, %error, "cannot read the stream");
                    tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS_MAX)).await;
                    continue;
                }
            };
        plan.ages.set(&plan.name, &lane_name, age(&records));
        if records.is_empty() {
            if let Some(last) = last {
                // Only other lanes' records: pass over them.
                next = last + 1;
                continue;
            }
            if commits.changed().await.is_err() {
                return;
            }
            continue;
        }
        if records.len() < plan.batch_size && !plan.window.is_zero() {
            // The batching window: wait for a full batch or the end of the window.
            let deadline = tokio::time::Instant::now() + plan.window;
            while records.len() < plan.batch_size {
                tokio::select! {
                    changed = commits.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep_until(deadline) => break,
                }
                if let Ok((more, more_last)) =
                    read_lane(&context, &stream, place, next, plan.batch_size)
                    && !more.is_empty()
                {
                    records = more;
                    last = more_last;
                }
            }
        }
        let last = last.unwrap_or(next);
        let batch: Vec<ShardRecord> = records
            .into_iter()
            .filter(|r| patterns::passes(&plan.patterns, &r.record))
            .collect();
        if !batch.is_empty() {
            deliver(&plan, &context, &stream, &shard_id, place, batch).await;
        }
        next = last + 1;
        if let Err(error) = checkpoint::save(&store, &plan.name, place, next).await {
            tracing::warn!(trigger = %plan.name, %error, "cannot save the checkpoint");
        }
    }
}

/// Delivers one batch until it succeeds or is given up: retries with capped backoff, splits it
/// in two on function errors when bisecting, honours partial batch responses, and hands what
/// fails for good to the on-failure destination. Moves the checkpoint past each part that is done.
async fn deliver(
    plan: &Plan,
    context: &TriggerContext,
    stream: &StreamInfo,
    shard_id: &str,
    place: Place,
    batch: Vec<ShardRecord>,
) {
    let store = context.tables.store();
    let mut pending: VecDeque<(Vec<ShardRecord>, u32)> = VecDeque::from([(batch, 0)]);
    while let Some((mut batch, mut attempts)) = pending.pop_front() {
        let mut throttles = 0;
        loop {
            let (outcome, request_id) = invoke(plan, context, &batch).await;
            let partial = matches!(outcome, Outcome::Partial(_));
            if !matches!(&outcome, Outcome::Failed { function_error, .. } if *function_error == "Throttled")
            {
                throttles = 0;
            }
            let (error, function_error) = match outcome {
                Outcome::Success => break,
                Outcome::Partial(lowest) => {
                    // Everything before the lowest failed record succeeded.
                    let _ = checkpoint::save(store, &plan.name, place, lowest).await;
                    batch.retain(|r| r.sequence >= lowest);
                    ("the function reported failed records".to_owned(), "Handled")
                }
                Outcome::Failed {
                    error,
                    function_error,
                } => {
                    if function_error == "Throttled" {
                        // Throttles retry without counting, as on Lambda, backing off while
                        // they last (from the shortest wait to the longest).
                        throttles += 1;
                        backoff(throttles).await;
                        continue;
                    }
                    (error, function_error)
                }
            };
            // Splitting a failed batch does not count as a retry, as on Lambda: halves are
            // tried (and split again) until the failing records stand alone.
            let split = plan.bisect && !partial && batch.len() > 1;
            if !split {
                attempts += 1;
            }
            (context.report)(TriggerEvent::BatchFailed {
                trigger: plan.name.clone(),
                shard: shard_id.to_owned(),
                records: batch.len(),
                attempt: attempts.max(1),
                error: error.clone(),
                iterator_age: age(&batch),
            });
            let condition = if plan
                .maximum_record_age_s
                .is_some_and(|max| age_secs(&batch) > u64::from(max))
            {
                Some("RecordAgeExceeded")
            } else if !split
                && plan
                    .maximum_retry_attempts
                    .is_some_and(|max| attempts > max)
            {
                Some("RetryAttemptsExhausted")
            } else {
                None
            };
            if let Some(condition) = condition {
                on_failure(
                    plan,
                    context,
                    stream,
                    shard_id,
                    &batch,
                    condition,
                    attempts.max(1),
                    &request_id,
                    function_error,
                )
                .await;
                break;
            }
            if split {
                let second = batch.split_off(batch.len() / 2);
                pending.push_front((second, attempts));
                pending.push_front((batch, attempts));
                break;
            }
            backoff(attempts).await;
        }
        // The part that succeeded or was given up is done: the next one starts here.
        if let Some(next) = pending
            .front()
            .and_then(|(b, _)| b.first())
            .map(|r| r.sequence)
        {
            let _ = checkpoint::save(store, &plan.name, place, next).await;
        }
    }
}

/// The iterator age of a batch: how old its newest record is (zero for no records).
fn age(batch: &[ShardRecord]) -> Duration {
    let newest = batch.iter().map(|r| r.created).max();
    newest.map_or(Duration::ZERO, |created| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(Duration::from_secs(created))
    })
}

fn age_secs(batch: &[ShardRecord]) -> u64 {
    let oldest = batch.iter().map(|r| r.created).min().unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    now.saturating_sub(oldest)
}

async fn backoff(attempts: u32) {
    let ms = RETRY_BACKOFF_MS_MIN
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(16))
        .min(RETRY_BACKOFF_MS_MAX);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Invokes the function with Lambda's DynamoDB event for `batch`.
async fn invoke(plan: &Plan, context: &TriggerContext, batch: &[ShardRecord]) -> (Outcome, String) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let app = context.snapshot.load_full();
    let Some(function) = app.functions.get(&plan.function) else {
        return (
            Outcome::Failed {
                error: format!("function {} is not in the running app", plan.function),
                function_error: "Unhandled",
            },
            request_id,
        );
    };
    let event = json!({ "Records": batch.iter().map(|r| &r.record).collect::<Vec<_>>() });
    let payload = Bytes::from(event.to_string());
    let invocation = function
        .invoke(
            payload,
            InvokeMeta {
                request_id: request_id.clone(),
            },
        )
        .await;
    context.observer.invocation_finished(
        &invocation.report,
        invocation.result.as_ref().err(),
        InvocationSource::Trigger(&plan.name),
    );
    let outcome = match invocation.result {
        Ok(response) => judge_response(plan, batch, &response),
        Err(InvokeError::Throttled { .. }) => Outcome::Failed {
            error: "throttled".to_owned(),
            function_error: "Throttled",
        },
        Err(error @ InvokeError::Function { .. }) => Outcome::Failed {
            error: error.to_string(),
            function_error: "Handled",
        },
        Err(error) => Outcome::Failed {
            error: error.to_string(),
            function_error: "Unhandled",
        },
    };
    (outcome, request_id)
}

/// The `itemIdentifier` of each entry of a function's `batchItemFailures` (Lambda's partial batch
/// response), in order; an entry without a string identifier gives `""`. `None` when the
/// response is not JSON or has no `batchItemFailures` list, which means the whole batch
/// succeeded.
///
/// Public for the fuzz targets (`fuzz/fuzz_targets/function_responses.rs`).
pub fn batch_item_failures(response: &[u8]) -> Option<Vec<String>> {
    let value = serde_json::from_slice::<Value>(response).ok()?;
    let failures = value.get("batchItemFailures")?.as_array()?;
    let identifiers = failures.iter().map(|failure| {
        let identifier = failure.get("itemIdentifier").and_then(Value::as_str);
        identifier.unwrap_or("").to_owned()
    });
    Some(identifiers.collect())
}

/// Reads a successful response: with partial batch responses on, `batchItemFailures` names the
/// failed records; an identifier that is empty or names no record of the batch fails it all.
fn judge_response(plan: &Plan, batch: &[ShardRecord], response: &[u8]) -> Outcome {
    if !plan.report_batch_item_failures {
        return Outcome::Success;
    }
    let Some(identifiers) = batch_item_failures(response) else {
        return Outcome::Success;
    };
    let mut lowest: Option<u64> = None;
    for identifier in &identifiers {
        let identifier = identifier.as_str();
        let matched = batch.iter().find(|r| {
            r.record["dynamodb"]["SequenceNumber"].as_str() == Some(identifier)
                && !identifier.is_empty()
        });
        match matched {
            Some(record) => {
                lowest = Some(lowest.map_or(record.sequence, |l| l.min(record.sequence)))
            }
            None => {
                return Outcome::Failed {
                    error: format!(
                        "batchItemFailures names no record of the batch: {identifier:?}"
                    ),
                    function_error: "Handled",
                };
            }
        }
    }
    match lowest {
        Some(lowest) => Outcome::Partial(lowest),
        None => Outcome::Success,
    }
}

/// Hands a batch that failed for good to the on-failure destination (a table): Lambda's
/// on-failure record, metadata only, written by the destination writer until it is in. The
/// caller moves the checkpoint past the batch only after this returns.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the record needs all of it"
)]
async fn on_failure(
    plan: &Plan,
    context: &TriggerContext,
    stream: &StreamInfo,
    shard_id: &str,
    batch: &[ShardRecord],
    condition: &'static str,
    attempts: u32,
    request_id: &str,
    function_error: &str,
) {
    let sequence = |r: Option<&ShardRecord>| {
        r.and_then(|r| {
            r.record["dynamodb"]["SequenceNumber"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default()
    };
    let arrival = |r: Option<&ShardRecord>| {
        r.map(|r| destination::timestamp(r.created.saturating_mul(1000)))
            .unwrap_or_default()
    };
    let record = json!({
        "requestContext": {
            "requestId": request_id,
            "functionArn": runtime::function_arn(&plan.function),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error,
        },
        "version": "1.0",
        "timestamp": destination::timestamp(now_ms()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": sequence(batch.first()),
            "endSequenceNumber": sequence(batch.last()),
            "approximateArrivalOfFirstRecord": arrival(batch.first()),
            "approximateArrivalOfLastRecord": arrival(batch.last()),
            "batchSize": batch.len(),
            "streamArn": stream.arn,
        },
    });
    let destination = plan.on_failure.clone();
    if let Some(table) = &destination {
        // One id for every attempt, so a write that went in but was not acknowledged is the
        // same item when written again.
        let id = uuid::Uuid::new_v4().to_string();
        destination::write_until_done(
            &context.tables,
            table,
            &id,
            &record,
            destination::BACKOFF_MS,
            |attempt, error| {
                (context.report)(TriggerEvent::DestinationFailed {
                    trigger: plan.name.clone(),
                    shard: shard_id.to_owned(),
                    table: table.clone(),
                    attempt,
                    error,
                });
            },
        )
        .await;
    }
    (context.report)(TriggerEvent::Discarded {
        trigger: plan.name.clone(),
        shard: shard_id.to_owned(),
        records: batch.len(),
        condition,
        destination,
    });
}

fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
