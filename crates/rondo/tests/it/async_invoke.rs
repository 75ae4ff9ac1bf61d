//! Asynchronous invocations (`InvocationType: Event`) through the real Lambda client: the
//! caller gets 202 once the event is stored, the function runs later, a failing function is
//! retried `maximum_retry_attempts` times, and Lambda's invocation record lands in the
//! function's `on_failure` or `on_success` table. Events survive SIGKILL.
//!
//! Functions: `tester` and `once` are the test handler (`test_handler.wasm`, which fails on
//! `{"action": "error"}` and answers `{"action": "raw"}` with the event); `recorder` is the tables
//! guest (`test_tables.wasm`), whose `update` action adds 1 to a counter of an item, so the
//! counter says how many times an event ran; `web` is a `wasi:http` component.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::{Value, json};

use crate::lambda_api::{expect_error, lambda};
use crate::support::dynamo::{Item, Poll, dynamodb, get_n, get_s, s, wait_active};
use crate::support::{App, Dev, test_wasm};

/// The node's retry delay in these tests (Lambda's is a minute).
const RETRY_DELAY_MS: &str = "100";
/// How long a test waits for the worker: a bound, not a speed expectation.
const WAIT_S: u64 = 120;
/// Lambda's limit on an asynchronous event's payload.
const ASYNC_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;

const MANIFEST: &str = r#"[app]
name = "async"

[function.tester]
wasm = "handler.wasm"

[function.tester.async]
maximum_retry_attempts = 2
on_failure = "table:failures"
on_success = "table:successes"

[function.once]
wasm = "handler.wasm"

[function.once.async]
maximum_retry_attempts = 1
on_failure = "table:failures"

[function.recorder]
wasm = "tables.wasm"
timeout_ms = 30000

[function.web]
wasm = "http.wasm"

[table.failures]
partition_key = { name = "id", type = "S" }

[table.successes]
partition_key = { name = "id", type = "S" }

[table.log]
partition_key = { name = "id", type = "S" }
"#;

fn app() -> App {
    App::new(
        MANIFEST,
        &[
            ("handler.wasm", test_wasm("test_handler.wasm")),
            ("tables.wasm", test_wasm("test_tables.wasm")),
            ("http.wasm", test_wasm("test_http.wasm")),
        ],
    )
}

fn start(app: &App) -> Dev {
    Dev::start_with(app, &["--async-retry-delay-ms", RETRY_DELAY_MS])
}

/// Invokes `function` asynchronously with `payload`; returns the request id of the 202.
async fn send_event(client: &aws_sdk_lambda::Client, function: &str, payload: &Value) -> String {
    let output = client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Event to {function}: {e:?}"));
    assert_eq!(output.status_code(), 202);
    assert!(
        output
            .payload()
            .is_none_or(|payload| payload.as_ref().is_empty()),
        "an empty body"
    );
    output.request_id().expect("a request id").to_owned()
}

/// The `recorder` event that adds 1 to the counter `n` of item `id` in `log`.
fn count_event(id: &str) -> Value {
    json!({"action": "update", "table": "log", "key": {"id": id}, "counter": "n"})
}

/// Waits for the item `id` of `table` and returns it.
async fn wait_for_item(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Item {
    let poll = Poll::new(format!("item {id} in {table}"), Duration::from_secs(WAIT_S));
    loop {
        let output = client
            .get_item()
            .table_name(table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");
        if let Some(item) = output.item() {
            return item.clone();
        }
        poll.tick(output).await;
    }
}

/// A map attribute of `item`.
fn get_m<'a>(item: &'a Item, name: &str) -> &'a Item {
    match item.get(name) {
        Some(AttributeValue::M(map)) => map,
        other => panic!("attribute {name} is not a map but {other:?} in {item:?}"),
    }
}

/// How many invocations ran under `request_id`, from the START lines of `rondo dev`'s log.
fn n_starts(dev: &Dev, request_id: &str) -> usize {
    let start = format!("START RequestId: {request_id} ");
    dev.stdout()
        .lines()
        .filter(|line| line.starts_with(&start))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_is_accepted_with_202_and_the_function_runs_later() {
    let app = app();
    let dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "log").await;

    let request_id = send_event(&client, "recorder", &count_event("first")).await;
    let item = wait_for_item(&dynamo, "log", "first").await;
    assert_eq!(get_n(&item, "n"), "1");
    // Every attempt runs under the request id the caller was told.
    dev.wait_output("the invocation's log", |stdout, _| {
        stdout.contains(&format!("START RequestId: {request_id} "))
    });

    // `LogType: Tail` is for synchronous invocations: an event is accepted and gets no log.
    let output = client
        .invoke()
        .function_name("recorder")
        .invocation_type(InvocationType::Event)
        .log_type(aws_sdk_lambda::types::LogType::Tail)
        .payload(Blob::new(count_event("tail").to_string()))
        .send()
        .await
        .expect("Event with LogType Tail");
    assert_eq!(output.status_code(), 202);
    assert_eq!(output.log_result(), None);
    wait_for_item(&dynamo, "log", "tail").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_function_is_retried_then_its_record_lands_in_the_on_failure_table() {
    let app = app();
    let dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "failures").await;

    let error_event = json!({"action": "error", "order": 42});
    for (function, n_invocations) in [("tester", 3), ("once", 2)] {
        let request_id = send_event(&client, function, &error_event).await;
        let record = wait_for_item(&dynamo, "failures", &request_id).await;

        let context = get_m(&record, "requestContext");
        assert_eq!(get_s(context, "requestId"), request_id);
        assert_eq!(get_s(context, "condition"), "RetriesExhausted");
        assert_eq!(
            get_s(context, "functionArn"),
            format!("arn:aws:lambda:us-east-1:000000000000:function:{function}:$LATEST")
        );
        assert_eq!(
            get_n(context, "approximateInvokeCount"),
            n_invocations.to_string()
        );
        assert_eq!(get_s(&record, "version"), "1.0");
        assert!(record.contains_key("timestamp"), "{record:?}");
        let request = get_m(&record, "requestPayload");
        assert_eq!(get_s(request, "action"), "error");
        assert_eq!(get_n(request, "order"), "42");
        let response_context = get_m(&record, "responseContext");
        assert_eq!(get_n(response_context, "statusCode"), "200");
        assert_eq!(get_s(response_context, "functionError"), "Unhandled");
        let response = get_m(&record, "responsePayload");
        assert_eq!(get_s(response, "errorType"), "TestError");
        assert_eq!(get_s(response, "errorMessage"), "asked to fail");

        // Exactly 1 + maximum_retry_attempts invocations, all under the caller's request id.
        dev.wait_output("the give-up report", |_, stderr| {
            stderr.contains(&format!("(request {request_id}): gave up"))
        });
        assert_eq!(
            n_starts(&dev, &request_id),
            n_invocations,
            "{}",
            dev.stdout()
        );
    }
    let stderr = dev.stderr();
    assert!(
        stderr.contains("gave up after 3 invocations (RetriesExhausted)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_event_records_its_result_in_the_on_success_table() {
    let app = app();
    let dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "successes").await;

    let request_id = send_event(&client, "tester", &json!({"action": "raw", "n": 7})).await;
    let record = wait_for_item(&dynamo, "successes", &request_id).await;
    let context = get_m(&record, "requestContext");
    assert_eq!(get_s(context, "condition"), "Success");
    assert_eq!(get_n(context, "approximateInvokeCount"), "1");
    let response_context = get_m(&record, "responseContext");
    assert_eq!(get_n(response_context, "statusCode"), "200");
    assert!(!response_context.contains_key("functionError"));
    let response = get_m(&record, "responsePayload");
    assert_eq!(get_s(response, "action"), "raw");
    assert_eq!(get_n(response, "n"), "7");
    assert_eq!(n_starts(&dev, &request_id), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_are_refused_over_1_mb_to_unknown_functions_and_to_wasi_http_components() {
    let app = app();
    let dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "successes").await;

    // `{"action":"raw","pad":"…"}` of exactly `n_bytes` bytes.
    let payload = |n_bytes: usize| {
        let envelope = r#"{"action":"raw","pad":""}"#.len();
        json!({"action": "raw", "pad": "x".repeat(n_bytes - envelope)}).to_string()
    };
    let event = |body: String| {
        client
            .invoke()
            .function_name("tester")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(body))
            .send()
    };
    let largest = payload(ASYNC_PAYLOAD_BYTES_MAX);
    assert_eq!(largest.len(), ASYNC_PAYLOAD_BYTES_MAX);
    let output = event(largest).await.expect("an event of exactly 1 MB");
    assert_eq!(output.status_code(), 202);
    expect_error(
        event(payload(ASYNC_PAYLOAD_BYTES_MAX + 1)).await,
        "RequestTooLargeException",
        413,
    );
    // The synchronous limit is 6 MB: the same payload runs at once.
    let output = client
        .invoke()
        .function_name("tester")
        .payload(Blob::new(payload(ASYNC_PAYLOAD_BYTES_MAX + 1)))
        .send()
        .await
        .expect("a synchronous invocation of 1 MB + 1 byte");
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), None);

    expect_error(
        client
            .invoke()
            .function_name("web")
            .invocation_type(InvocationType::Event)
            .send()
            .await,
        "InvalidParameterValueException",
        400,
    );
    expect_error(
        client
            .invoke()
            .function_name("nobody")
            .invocation_type(InvocationType::Event)
            .send()
            .await,
        "ResourceNotFoundException",
        404,
    );
}

/// Senders of events running at once before the kill.
const N_SENDERS: usize = 4;
/// Acknowledged events to wait for before the kill, so it lands while events are sent and run.
const N_ACKNOWLEDGED_BEFORE_KILL: usize = 200;
/// A bound on each sender, so a server that never dies cannot keep the test running.
const N_EVENTS_PER_SENDER_MAX: usize = 100_000;

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_event_runs_at_least_once_across_sigkill() {
    let app = app();
    let mut dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "log").await;

    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let senders: Vec<_> = (0..N_SENDERS)
        .map(|sender_idx| {
            let client = client.clone();
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(async move {
                for event_idx in 0..N_EVENTS_PER_SENDER_MAX {
                    let id = format!("s{sender_idx}e{event_idx:06}");
                    let sent = client
                        .invoke()
                        .function_name("recorder")
                        .invocation_type(InvocationType::Event)
                        .payload(Blob::new(count_event(&id).to_string()))
                        .send()
                        .await;
                    match sent {
                        Ok(output) if output.status_code() == 202 => {
                            acknowledged.lock().expect("lock").insert(id);
                        }
                        _ => return,
                    }
                }
                panic!("sender {sender_idx} was never stopped");
            })
        })
        .collect();
    // Kill once enough events are acknowledged and some have run, so the kill lands while
    // events are both queued and in flight.
    let poll = Poll::new(
        format!("{N_ACKNOWLEDGED_BEFORE_KILL} acknowledged events and a first run"),
        Duration::from_secs(WAIT_S),
    );
    loop {
        let n_acknowledged = acknowledged.lock().expect("lock").len();
        if n_acknowledged >= N_ACKNOWLEDGED_BEFORE_KILL && !counts(&dynamo).await.is_empty() {
            break;
        }
        poll.tick(n_acknowledged).await;
    }

    // `Child::kill` is SIGKILL: no shutdown code runs.
    dev.child.kill().expect("SIGKILL rondo dev");
    dev.child.wait().expect("reap rondo dev");
    for sender in senders {
        sender.await.expect("sender task");
    }
    drop(dev);
    let acknowledged = acknowledged.lock().expect("lock").clone();

    let dev = start(&app);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "log").await;
    let poll = Poll::new(
        "every acknowledged event to run",
        Duration::from_secs(WAIT_S),
    );
    let counts = loop {
        let counts = counts(&dynamo).await;
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !counts.contains_key(*id))
            .collect();
        if missing.is_empty() {
            break counts;
        }
        poll.tick(format!(
            "{} of {} acknowledged events never ran, e.g. {:?}",
            missing.len(),
            acknowledged.len(),
            missing.first()
        ))
        .await;
    };
    assert!(
        counts.values().all(|n| *n >= 1),
        "every recorded event ran: {counts:?}"
    );
}

/// How many times each event of the `log` table ran, by its id.
async fn counts(client: &aws_sdk_dynamodb::Client) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut start_key = None;
    loop {
        let output = client
            .scan()
            .table_name("log")
            .set_exclusive_start_key(start_key)
            .consistent_read(true)
            .send()
            .await
            .expect("Scan");
        for item in output.items() {
            let n = get_n(item, "n").parse().expect("a count");
            counts.insert(get_s(item, "id").to_owned(), n);
        }
        start_key = output.last_evaluated_key().cloned();
        if start_key.is_none() {
            return counts;
        }
    }
}
