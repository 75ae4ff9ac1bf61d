//! The async invoker: its store format and retry rules on their own, then the whole queue on a
//! real store and tables, running the test components (`test_handler.wasm`).

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use super::policy::{after_attempt, expired};
use super::record::invocation_record;
use super::stored::{event_key, outbox_key};
use super::*;
use crate::limits::{ASYNC_ERROR_MESSAGE_BYTES_MAX, ASYNC_RECORD_BYTES_MAX};
use crate::tests::{NoObserver, TempDir, make_tables, open_tables, snapshot};

const SECOND_MS: u64 = 1000;
/// How long a test waits for the worker: a bound, not a speed expectation.
const WAIT_MAX: Duration = Duration::from_secs(60);

fn event(settings: EventInvokeSpec) -> StoredEvent {
    StoredEvent {
        request_id: "3f2a8c1e-0000-4000-8000-000000000001".to_owned(),
        function: "orders".to_owned(),
        enqueued_ms: 1_700_000_000_000,
        due_ms: 1_700_000_000_000,
        invocations: 0,
        failures: 0,
        throttles: 0,
        settings,
        last_failure: None,
        payload: Bytes::from_static(br#"{"order": 7}"#),
    }
}

fn settings(maximum_retry_attempts: u32, maximum_event_age_s: u32) -> EventInvokeSpec {
    EventInvokeSpec {
        maximum_retry_attempts,
        maximum_event_age_s,
        on_failure: Some(TriggerSource::Table("failures".to_owned())),
        on_success: Some(TriggerSource::Queue("done".to_owned())),
    }
}

// ---------------------------------------------------------------------------------------------
// The store format
// ---------------------------------------------------------------------------------------------

#[test]
fn stored_events_read_back_as_written() {
    let mut failed = event(settings(1, 60));
    failed.invocations = 2;
    failed.failures = 1;
    failed.throttles = 3;
    failed.due_ms += 61_000;
    failed.last_failure = Some(Failure::new(
        FailureKind::Function,
        "TestError",
        "asked to fail",
    ));
    for original in [event(EventInvokeSpec::DEFAULT), failed] {
        let bytes = original.encode();
        assert_eq!(StoredEvent::decode(&bytes).as_ref(), Some(&original));
        let (header, payload_start) = StoredEvent::decode_header(&bytes).expect("a header");
        assert_eq!(&bytes[payload_start..], &original.payload[..]);
        assert_eq!(header.payload, Bytes::new());
        assert_eq!(header.due_ms, original.due_ms);
        // Every cut-short value is refused rather than misread.
        for len in 0..payload_start {
            assert_eq!(
                StoredEvent::decode_header(&bytes[..len]),
                None,
                "{len} bytes"
            );
        }
    }
    assert_eq!(StoredEvent::decode(b"\x02rest"), None, "an unknown version");

    let outbox = OutboxEntry {
        function: "orders".to_owned(),
        table: "failures".to_owned(),
        condition: "RetriesExhausted".to_owned(),
        record: Bytes::from_static(br#"{"version":"1.0"}"#),
    };
    assert_eq!(OutboxEntry::decode(&outbox.encode()), Some(outbox));
}

#[test]
fn keys_sort_by_arrival_and_outbox_keys_mirror_event_keys() {
    let early = event_key(1_000, "b");
    let late = event_key(2_000, "a");
    assert!(early < late);
    let (start, end) = stored::events_range();
    assert!(start.as_slice() <= early.as_slice() && late.as_slice() < end.as_slice());
    let outbox = outbox_key(&early);
    let (start, end) = stored::outbox_range();
    assert!(start.as_slice() <= outbox.as_slice() && outbox.as_slice() < end.as_slice());
    assert_eq!(outbox[2..], early[2..]);
    assert_eq!(stored::key_text(&outbox), "b");
}

#[test]
fn error_texts_are_cut_on_a_character_boundary() {
    let long = "é".repeat(ASYNC_ERROR_MESSAGE_BYTES_MAX);
    let failure = Failure::new(FailureKind::Function, "TestError", &long);
    assert!(failure.error_message.len() <= ASYNC_ERROR_MESSAGE_BYTES_MAX);
    assert!(failure.error_message.len() >= ASYNC_ERROR_MESSAGE_BYTES_MAX - 1);
    assert!(failure.error_message.chars().all(|c| c == 'é'));
}

// ---------------------------------------------------------------------------------------------
// The retry rules
// ---------------------------------------------------------------------------------------------

/// Runs attempts ending in `kinds` (`None`: success) one second apart from the event's arrival,
/// and returns what came after each, with the delay before the next attempt.
fn attempts(settings: &EventInvokeSpec, kinds: &[Option<FailureKind>]) -> Vec<(Next, u64)> {
    const RETRY_DELAY_MS: u64 = 60 * SECOND_MS;
    let mut event = event(settings.clone());
    let mut now_ms = event.enqueued_ms;
    kinds
        .iter()
        .map(|kind| {
            now_ms = now_ms.max(event.due_ms) + SECOND_MS;
            let failure = kind.map(|kind| Failure::new(kind, "E", "m"));
            let next = after_attempt(&mut event, failure, settings, RETRY_DELAY_MS, now_ms);
            (next, event.due_ms.saturating_sub(now_ms))
        })
        .collect()
}

#[test]
fn function_errors_are_retried_after_one_then_two_delays() {
    use FailureKind::Function;
    let outcomes = attempts(&settings(2, 21_600), &[Some(Function); 3]);
    assert_eq!(
        outcomes,
        [
            (Next::Retry, 60 * SECOND_MS),
            (Next::Retry, 120 * SECOND_MS),
            (Next::GiveUp(Condition::RetriesExhausted), 0),
        ]
    );
    let outcomes = attempts(&settings(0, 21_600), &[Some(Function)]);
    assert_eq!(outcomes, [(Next::GiveUp(Condition::RetriesExhausted), 0)]);
    let outcomes = attempts(&settings(1, 21_600), &[Some(Function), None]);
    assert_eq!(outcomes, [(Next::Retry, 60 * SECOND_MS), (Next::Done, 0)]);
}

#[test]
fn throttles_back_off_up_to_five_minutes_without_using_retries() {
    let mut kinds = vec![Some(FailureKind::Throttled); 12];
    kinds.push(Some(FailureKind::Function));
    let outcomes = attempts(&settings(0, 21_600), &kinds);
    let delays: Vec<u64> = outcomes[..12]
        .iter()
        .map(|(_, delay)| delay / SECOND_MS)
        .collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    assert!(outcomes[..12].iter().all(|(next, _)| *next == Next::Retry));
    // The function error that follows is the first: with no retries, it ends the event.
    assert_eq!(outcomes[12].0, Next::GiveUp(Condition::RetriesExhausted));
}

#[test]
fn a_retry_later_than_the_event_age_gives_the_event_up() {
    use FailureKind::{Function, Throttled};
    let outcomes = attempts(&settings(2, 60), &[Some(Function)]);
    assert_eq!(outcomes[0].0, Next::GiveUp(Condition::EventAgeExceeded));
    // Throttles one second after each due time: at 1, 3, 6, 11, 20 and 37 s each next attempt
    // (1, 2, 4, 8, 16, 32 s later) is within 120 s; after the one at 70 s (64 s later) it is not.
    let outcomes = attempts(&settings(2, 120), &[Some(Throttled); 7]);
    let nexts: Vec<Next> = outcomes.iter().map(|(next, _)| *next).collect();
    let mut expected = vec![Next::Retry; 6];
    expected.push(Next::GiveUp(Condition::EventAgeExceeded));
    assert_eq!(nexts, expected);

    let young = event(settings(2, 60));
    let deadline_ms = young.enqueued_ms + 60 * SECOND_MS;
    assert!(!expired(&young, &young.settings, deadline_ms));
    assert!(expired(&young, &young.settings, deadline_ms + 1));
}

#[test]
fn a_function_that_cannot_run_the_event_fails_it_at_once() {
    for kind in [FailureKind::FunctionGone, FailureKind::NotInvocable] {
        let mut event = event(settings(2, 21_600));
        let failure = Failure::new(kind, "E", "m");
        let settings = event.settings.clone();
        let next = after_attempt(&mut event, Some(failure), &settings, 1, 0);
        assert_eq!(next, Next::GiveUp(Condition::RetriesExhausted));
        assert_eq!(event.invocations, 0, "{kind:?} runs nothing");
    }
}

// ---------------------------------------------------------------------------------------------
// The invocation record
// ---------------------------------------------------------------------------------------------

#[test]
fn invocation_records_have_lambdas_shape() {
    let now_ms = 1_700_000_123_456;
    let mut succeeded = event(EventInvokeSpec::DEFAULT);
    succeeded.invocations = 1;
    let response = Bytes::from_static(br#"{"ok": true}"#);
    let record = invocation_record(&succeeded, Condition::Success, Some(&response), now_ms);
    let expected = json!({
        "version": "1.0",
        "timestamp": "2023-11-14T22:15:23.456Z",
        "requestContext": {
            "requestId": succeeded.request_id,
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST",
            "condition": "Success",
            "approximateInvokeCount": 1,
        },
        "requestPayload": {"order": 7},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"ok": true},
    });
    assert_eq!(record, expected);

    let mut failed = succeeded.clone();
    failed.invocations = 3;
    failed.last_failure = Some(Failure::new(
        FailureKind::Function,
        "TestError",
        "asked to fail",
    ));
    let record = invocation_record(&failed, Condition::RetriesExhausted, None, now_ms);
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(
        record["responsePayload"],
        json!({"errorMessage": "asked to fail", "errorType": "TestError"})
    );

    let mut gone = succeeded.clone();
    gone.last_failure = Some(Failure::new(
        FailureKind::FunctionGone,
        "ResourceNotFoundException",
        "gone",
    ));
    let record = invocation_record(&gone, Condition::RetriesExhausted, None, now_ms);
    assert_eq!(record["responseContext"], json!({"statusCode": 404}));

    let never_tried = event(EventInvokeSpec::DEFAULT);
    let record = invocation_record(&never_tried, Condition::EventAgeExceeded, None, now_ms);
    assert_eq!(record.get("responseContext"), None);
    assert_eq!(record.get("responsePayload"), None);
}

#[test]
fn an_invocation_record_too_large_for_an_item_loses_its_payloads() {
    let mut large = event(EventInvokeSpec::DEFAULT);
    large.payload = Bytes::from(json!({"text": "x".repeat(ASYNC_RECORD_BYTES_MAX)}).to_string());
    let small_response = Bytes::from_static(br#""fine""#);
    let record = invocation_record(&large, Condition::Success, Some(&small_response), 0);
    assert_eq!(record.get("requestPayload"), None);
    assert_eq!(record.get("responsePayload"), None);
    assert!(record.to_string().len() <= ASYNC_RECORD_BYTES_MAX);

    let large_response = Bytes::from(json!("y".repeat(ASYNC_RECORD_BYTES_MAX)).to_string());
    let record = invocation_record(
        &event(EventInvokeSpec::DEFAULT),
        Condition::Success,
        Some(&large_response),
        0,
    );
    assert_eq!(record["requestPayload"], json!({"order": 7}));
    assert_eq!(record.get("responsePayload"), None);
}

// ---------------------------------------------------------------------------------------------
// The queue on a store, with real functions
// ---------------------------------------------------------------------------------------------

const MANIFEST: &str = r#"
[app]
name = "async"

[function.tester]
wasm = "test_handler.wasm"

[function.tester.async]
maximum_retry_attempts = 2
on_failure = "table:failures"
on_success = "table:successes"

[function.quiet]
wasm = "test_handler.wasm"

[function.quiet.async]
maximum_retry_attempts = 0

[table.failures]
partition_key = { name = "id", type = "S" }

[table.successes]
partition_key = { name = "id", type = "S" }
"#;

/// A node: a store, its tables, the app's functions and an async invoker (not yet running).
struct Node {
    invoker: AsyncInvoker,
    tables: Tables,
    reports: Arc<Mutex<Vec<AsyncReport>>>,
    dir: TempDir,
}

impl Node {
    /// Opens the node in `dir`, with `functions` (name → component) and `pending_events_max`.
    async fn open(dir: TempDir, functions: &[(&str, &str)], pending_events_max: usize) -> Node {
        let tables = open_tables(&dir.0).await;
        let spec =
            manifest::parse(MANIFEST, "rondo.toml", Path::new("/app")).expect("the manifest");
        make_tables(&tables, &spec).await;
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&reports);
        let context = AsyncContext {
            tables: tables.clone(),
            snapshot: snapshot(
                None,
                &functions
                    .iter()
                    .map(|(name, wasm)| (*name, *wasm, &[][..]))
                    .collect::<Vec<_>>(),
            ),
            observer: Arc::new(NoObserver),
            report: Arc::new(move |report| lock(&sink).push(report)),
        };
        let config = AsyncInvokerConfig {
            retry_delay: Duration::from_millis(10),
            pending_events_max,
            pending_bytes_max: 1 << 30,
            in_flight_max: 4,
        };
        let invoker = AsyncInvoker::open(context, config)
            .expect("open the queue")
            .with_destination_backoff_ms((1, 5));
        invoker.apply(&spec);
        Node {
            invoker,
            tables,
            reports,
            dir,
        }
    }

    async fn enqueue(&self, function: &str, payload: Value) -> Result<String, EnqueueError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = QueuedEvent {
            request_id: request_id.clone(),
            function: function.to_owned(),
            payload: Bytes::from(payload.to_string()),
        };
        self.invoker.enqueue(event).await.map(|()| request_id)
    }

    /// The items of `table`, once it holds `n_items` (waiting for the worker at most [`WAIT_MAX`]).
    async fn wait_for_items(&self, table: &str, n_items: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let request = json!({ "TableName": table }).to_string();
            let scanned = self
                .tables
                .handle("Scan", request.as_bytes())
                .await
                .expect("scan");
            let items = scanned["Items"].as_array().cloned().unwrap_or_default();
            if items.len() >= n_items {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "{table} holds {items:?}; reports: {:?}",
                lock(&self.reports)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_until_empty(&self) {
        let deadline = Instant::now() + WAIT_MAX;
        while self.invoker.n_pending() > 0 {
            assert!(
                Instant::now() < deadline,
                "events still pending; reports: {:?}",
                lock(&self.reports)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A record item's attribute, as plain JSON.
fn attribute<'a>(item: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(item, |value, name| {
        let value = &value[*name];
        value
            .get("M")
            .or_else(|| value.get("S"))
            .or_else(|| value.get("N"))
            .unwrap_or(value)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_event_is_retried_then_recorded_in_the_on_failure_table() {
    let node = Node::open(TempDir::new(), &[("tester", "test_handler.wasm")], 100).await;
    let worker = tokio::spawn({
        let invoker = node.invoker.clone();
        async move { invoker.run().await }
    });
    let request_id = node
        .enqueue("tester", json!({"action": "error"}))
        .await
        .expect("queued");
    let items = node.wait_for_items("failures", 1).await;
    node.wait_until_empty().await;

    let [item] = items.as_slice() else {
        panic!("one record: {items:?}")
    };
    assert_eq!(attribute(item, &["id"]), &json!(request_id));
    assert_eq!(
        attribute(item, &["requestContext", "requestId"]),
        &json!(request_id)
    );
    assert_eq!(
        attribute(item, &["requestContext", "condition"]),
        &json!("RetriesExhausted")
    );
    assert_eq!(
        attribute(item, &["requestContext", "approximateInvokeCount"]),
        &json!("3")
    );
    assert_eq!(
        attribute(item, &["requestPayload", "action"]),
        &json!("error")
    );
    assert_eq!(
        attribute(item, &["responseContext", "functionError"]),
        &json!("Unhandled")
    );
    assert_eq!(
        attribute(item, &["responsePayload", "errorType"]),
        &json!("TestError")
    );

    // The record can be in its table a moment before the worker reports that it gave up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reports = loop {
        let reports = lock(&node.reports).clone();
        let given_up = reports
            .iter()
            .any(|r| matches!(r, AsyncReport::GivenUp { .. }));
        if given_up || Instant::now() >= deadline {
            break reports;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    worker.abort();
    let retries = reports
        .iter()
        .filter(|r| matches!(r, AsyncReport::Retrying { .. }))
        .count();
    assert_eq!(retries, 2, "{reports:?}");
    assert!(
        matches!(
            reports.last(),
            Some(AsyncReport::GivenUp { condition: Condition::RetriesExhausted, invocations: 3, destination: Some(table), .. })
                if table == "failures"
        ),
        "{reports:?}"
    );
    assert!(node.wait_for_items("successes", 0).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_event_is_recorded_in_the_on_success_table() {
    let node = Node::open(TempDir::new(), &[("tester", "test_handler.wasm")], 100).await;
    let worker = tokio::spawn({
        let invoker = node.invoker.clone();
        async move { invoker.run().await }
    });
    let request_id = node
        .enqueue("tester", json!({"action": "raw", "n": 5}))
        .await
        .expect("queued");
    let items = node.wait_for_items("successes", 1).await;
    worker.abort();
    let [item] = items.as_slice() else {
        panic!("one record: {items:?}")
    };
    assert_eq!(attribute(item, &["id"]), &json!(request_id));
    assert_eq!(
        attribute(item, &["requestContext", "condition"]),
        &json!("Success")
    );
    assert_eq!(
        attribute(item, &["requestContext", "approximateInvokeCount"]),
        &json!("1")
    );
    assert_eq!(
        attribute(item, &["responseContext", "statusCode"]),
        &json!("200")
    );
    assert_eq!(attribute(item, &["responsePayload", "n"]), &json!("5"));
    assert!(lock(&node.reports).is_empty(), "a success reports nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_for_a_function_that_left_the_app_is_given_up() {
    // `quiet` is in the manifest (no retries, no destination) but not in the running app.
    let node = Node::open(TempDir::new(), &[("tester", "test_handler.wasm")], 100).await;
    let worker = tokio::spawn({
        let invoker = node.invoker.clone();
        async move { invoker.run().await }
    });
    let request_id = node.enqueue("quiet", json!({})).await.expect("queued");
    node.wait_until_empty().await;
    worker.abort();
    let reports = lock(&node.reports).clone();
    let [
        AsyncReport::GivenUp {
            request_id: given_up,
            condition,
            invocations,
            error,
            destination,
            ..
        },
    ] = reports.as_slice()
    else {
        panic!("one event given up: {reports:?}");
    };
    assert_eq!(given_up, &request_id);
    assert_eq!(
        (*condition, *invocations, destination),
        (Condition::RetriesExhausted, 0, &None)
    );
    let error = error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("ResourceNotFoundException: Function not found"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_events_are_bounded_and_survive_a_restart() {
    let node = Node::open(TempDir::new(), &[], 2).await;
    let raw = |n: u32| json!({"action": "raw", "n": n});
    node.enqueue("tester", raw(1)).await.expect("queued");
    node.enqueue("tester", raw(2)).await.expect("queued");
    let refused = node.enqueue("tester", raw(3)).await;
    assert!(
        matches!(refused, Err(EnqueueError::Full { pending: 2, .. })),
        "{refused:?}"
    );
    assert_eq!(node.invoker.n_pending(), 2);

    // The same store opened again (nothing ran): both events are still there, and still count.
    let Node {
        invoker,
        tables,
        dir,
        ..
    } = node;
    drop((invoker, tables));
    let reopened = Node::open(dir, &[("tester", "test_handler.wasm")], 2).await;
    assert_eq!(reopened.invoker.n_pending(), 2);
    assert!(reopened.enqueue("tester", raw(3)).await.is_err());
    let worker = tokio::spawn({
        let invoker = reopened.invoker.clone();
        async move { invoker.run().await }
    });
    let items = reopened.wait_for_items("successes", 2).await;
    worker.abort();
    let mut ns: Vec<&Value> = items
        .iter()
        .map(|item| attribute(item, &["requestPayload", "n"]))
        .collect();
    ns.sort_by_key(|n| n.to_string());
    assert_eq!(ns, [&json!("1"), &json!("2")]);
}

/// The keys of the store's entries in `range` (the events or the outbox), as text.
fn keys_in(tables: &Tables, (start, end): ([u8; 2], [u8; 2])) -> Vec<String> {
    let read = tables.store().read().expect("read the store");
    read.range(
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Excluded(&end[..]),
        false,
    )
    .expect("range")
    .map(|entry| stored::key_text(&entry.expect("an entry").0))
    .collect()
}

/// Waits until `condition` holds of the reports (at most [`WAIT_MAX`]).
async fn wait_for_reports(node: &Node, what: &str, condition: impl Fn(&[AsyncReport]) -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        if condition(&lock(&node.reports)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}; reports: {:?}",
            lock(&node.reports)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A record whose table cannot take it is never dropped: it is written again and again, each
/// failure reported, stays in the store across a restart, and lands once the table is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_cannot_be_written_stays_in_the_store_across_a_restart() {
    const N_FAILURES: usize = 12;
    let node = Node::open(TempDir::new(), &[("tester", "test_handler.wasm")], 100).await;
    let request = json!({ "TableName": "failures" }).to_string();
    node.tables
        .handle("DeleteTable", request.as_bytes())
        .await
        .expect("DeleteTable");
    let worker = tokio::spawn({
        let invoker = node.invoker.clone();
        async move { invoker.run().await }
    });
    let request_id = node
        .enqueue("tester", json!({"action": "error"}))
        .await
        .expect("queued");
    wait_for_reports(&node, "repeated destination failures", |reports| {
        reports
            .iter()
            .filter(|r| matches!(r, AsyncReport::DestinationFailed { .. }))
            .count()
            >= N_FAILURES
    })
    .await;
    worker.abort();
    let _ = worker.await;
    assert_eq!(
        keys_in(&node.tables, stored::outbox_range()),
        std::slice::from_ref(&request_id)
    );
    assert!(
        !lock(&node.reports)
            .iter()
            .any(|r| matches!(r, AsyncReport::GivenUp { .. })),
        "not said to be in its table: {:?}",
        lock(&node.reports)
    );

    // Restarted: the table is made again (the manifest still declares it), and the record lands.
    let Node {
        invoker,
        tables,
        dir,
        ..
    } = node;
    drop((invoker, tables));
    let reopened = Node::open(dir, &[("tester", "test_handler.wasm")], 100).await;
    let worker = tokio::spawn({
        let invoker = reopened.invoker.clone();
        async move { invoker.run().await }
    });
    let items = reopened.wait_for_items("failures", 1).await;
    assert_eq!(attribute(&items[0], &["id"]), &json!(request_id));
    let deadline = Instant::now() + WAIT_MAX;
    while !keys_in(&reopened.tables, stored::outbox_range()).is_empty() {
        assert!(Instant::now() < deadline, "the outbox empties");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.abort();
}

/// A stored event or outbox record that does not decode is reported with its key and left in
/// place; the queue opens, runs the rest, and does not panic.
#[tokio::test(flavor = "multi_thread")]
async fn unreadable_stored_values_are_reported_and_left_in_place() {
    let node = Node::open(TempDir::new(), &[], 100).await;
    let not_json = OutboxEntry {
        function: "tester".to_owned(),
        table: "failures".to_owned(),
        condition: "Success".to_owned(),
        record: Bytes::from_static(b"{not json"),
    };
    let entries = [
        (outbox_key(&event_key(1, "bad-record")), not_json.encode()),
        (outbox_key(&event_key(2, "bad-entry")), b"\x07?".to_vec()),
        (event_key(3, "bad-event"), b"\x01short".to_vec()),
    ];
    let write = entries.clone();
    node.tables
        .store()
        .write(move |txn| {
            for (key, value) in &write {
                txn.put(key, value)?;
            }
            Ok::<(), store::StoreError>(())
        })
        .await
        .and_then(|result| result)
        .expect("write the entries");
    let Node {
        invoker,
        tables,
        dir,
        ..
    } = node;
    drop((invoker, tables));

    let node = Node::open(dir, &[("tester", "test_handler.wasm")], 100).await;
    assert_eq!(
        node.invoker.n_pending(),
        0,
        "the unreadable event is not queued"
    );
    let worker = tokio::spawn({
        let invoker = node.invoker.clone();
        async move { invoker.run().await }
    });
    // The queue still works.
    node.enqueue("tester", json!({"action": "raw", "n": 1}))
        .await
        .expect("queued");
    node.wait_for_items("successes", 1).await;
    wait_for_reports(&node, "the three unreadable values", |reports| {
        let keys: BTreeSet<&str> = reports
            .iter()
            .filter_map(|r| match r {
                AsyncReport::Unreadable { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        keys == BTreeSet::from(["bad-record", "bad-entry", "bad-event"])
    })
    .await;
    assert!(!worker.is_finished(), "the worker runs on");
    worker.abort();
    let read = node.tables.store().read().expect("read");
    for (key, value) in &entries {
        assert_eq!(
            read.get(key).expect("get").as_deref(),
            Some(&value[..]),
            "left in place"
        );
    }
}
