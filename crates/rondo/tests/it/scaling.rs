//! Per-function scaling: a burst gets an execution environment per concurrent caller and an idle
//! function goes back to none; the limits (`reserved_concurrency`, `limits.concurrency_max`)
//! refuse what is over them with Lambda's errors and reasons, or make the caller wait
//! (`limits.throttle_wait_ms`); and work that does not wait for an answer (asynchronous events,
//! stream records) is delayed by a limit, never lost.
//!
//! The wasm functions are the test handler (`test_handler.wasm`, whose `sleep` action sleeps `ms`
//! milliseconds); the process functions are the Python handlers of `test-programs/python`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::RequestId as _;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, ThrottleReason};
use serde_json::json;

use crate::support::admin::{Metrics, cost, cost_row, metrics, wait_for_concurrency};
use crate::support::dynamo::{Item, Poll, dynamodb, get_n, get_s, s, wait_active};
use crate::support::process::{
    invoke, lambda, log_frame, process_app, python_function, python_program, start, start_with,
};
use crate::support::{App, Dev, get, manifest, test_wasm};

/// How long a function sleeps while it holds its only slot: long enough for the test to make
/// its second call while the first runs, on a busy machine too.
const HOLD_MS: u64 = 2000;
/// How long a test waits for work it expects: a bound, not a speed expectation.
const WAIT_S: u64 = 120;

// ---------------------------------------------------------------------------------------------
// A burst scales up, an idle function scales to zero
// ---------------------------------------------------------------------------------------------

/// Concurrent callers of the burst.
const N_BURST: usize = 6;
/// How long the Python handler sleeps in each invocation of the burst.
const BURST_SLEEP_MS: u64 = 300;
/// `rondo dev --process-idle-s`: how long an idle environment stays warm.
const PROCESS_IDLE_S: u64 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_gets_an_environment_per_caller_and_an_idle_function_none() {
    let manifest = format!(
        "[app]\nname = \"burst\"\n\n{}",
        python_function("sleepy", "py", "faults.sleep", "timeout_ms = 30000")
    );
    let app = process_app(&manifest, &[("py/faults.py", python_program("faults.py"))]);
    let idle_s = PROCESS_IDLE_S.to_string();
    let dev = start_with(&app, &["--process-idle-s", &idle_s]);
    let client = lambda(&dev);
    let rondo_pid = dev.child.id();

    let callers: Vec<_> = (0..N_BURST)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(
                async move { invoke(&client, "sleepy", json!({"ms": BURST_SLEEP_MS})).await },
            )
        })
        .collect();
    // Every caller holds a slot from the moment it is admitted: the gauge reaches the burst.
    wait_for_concurrency(&dev, "sleepy", N_BURST as u32).await;
    let poll = Poll::new(
        format!("{N_BURST} Python environments, children of rondo"),
        Duration::from_secs(WAIT_S),
    );
    let environments = loop {
        let children = live_children(rondo_pid);
        if children.len() >= N_BURST {
            break children;
        }
        poll.tick(&children).await;
    };
    assert_eq!(environments.len(), N_BURST, "{environments:?}");
    // Each environment is a sandbox (its first process is bubblewrap, leading the group) with
    // the Python runtime inside.
    assert!(
        environments.iter().all(|child| child.comm == "bwrap"),
        "{environments:?}"
    );
    let runtimes = Poll::new(
        "a Python runtime in every environment's group",
        Duration::from_secs(WAIT_S),
    );
    loop {
        let processes = live_processes();
        let without_python: Vec<&Proc> = environments
            .iter()
            .filter(|child| {
                !processes
                    .iter()
                    .any(|p| p.pgid == child.pid && p.comm.starts_with("python"))
            })
            .collect();
        if without_python.is_empty() {
            break;
        }
        runtimes.tick(&without_python).await;
    }
    for caller in callers {
        let invoked = caller.await.expect("caller task");
        assert_eq!(invoked.expect_ok(), &json!({"slept_ms": BURST_SLEEP_MS}));
        // No caller found a warm environment: each was a cold start of its own.
        assert!(
            log_frame(&invoked.log, &invoked.request_id).init_duration,
            "{}",
            invoked.log
        );
    }
    let burst_ended = Instant::now();
    let cold_starts =
        |metrics: &Metrics| metrics.value("rondo_cold_starts_total", &[("function", "sleepy")]);
    assert_eq!(cold_starts(&metrics(&dev).await), Some(N_BURST as f64));

    // Past the idle timeout nothing of the function runs: no child, nothing in the
    // environments' process groups.
    let groups: BTreeSet<u32> = environments.iter().map(|child| child.pid).collect();
    let poll = Poll::new(
        "every environment of the idle function to stop",
        Duration::from_secs(WAIT_S),
    );
    loop {
        let left: Vec<Proc> = live_processes()
            .into_iter()
            .filter(|p| p.ppid == rondo_pid || groups.contains(&p.pgid))
            .collect();
        if left.is_empty() {
            break;
        }
        poll.tick(left).await;
    }
    assert!(
        burst_ended.elapsed() >= Duration::from_secs(PROCESS_IDLE_S) - Duration::from_millis(500),
        "the environments stopped after {:?}, before the idle timeout of {PROCESS_IDLE_S} s",
        burst_ended.elapsed()
    );
    let gauge = metrics(&dev)
        .await
        .value("rondo_concurrent_invocations", &[("function", "sleepy")]);
    assert_eq!(gauge, Some(0.0));

    // The next invocation starts from nothing again.
    let invoked = invoke(&client, "sleepy", json!({"ms": 1})).await;
    assert!(log_frame(&invoked.log, &invoked.request_id).init_duration);
    assert_eq!(
        cold_starts(&metrics(&dev).await),
        Some(N_BURST as f64 + 1.0)
    );
}

/// A process as `/proc/PID/stat` describes it.
#[derive(Debug)]
struct Proc {
    pid: u32,
    comm: String,
    ppid: u32,
    pgid: u32,
}

/// The processes that are not zombies (a zombie runs nothing).
fn live_processes() -> Vec<Proc> {
    let entries = std::fs::read_dir("/proc").expect("read /proc");
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            // A process may end between the listing and the read.
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let mut fields = stat[close + 1..].split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?.parse().ok()?;
            let pgid = fields.next()?.parse().ok()?;
            (state != "Z").then(|| Proc {
                pid,
                comm: stat[open + 1..close].to_owned(),
                ppid,
                pgid,
            })
        })
        .collect()
}

fn live_children(parent: u32) -> Vec<Proc> {
    live_processes()
        .into_iter()
        .filter(|p| p.ppid == parent)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Limits refuse with Lambda's errors, or make the caller wait
// ---------------------------------------------------------------------------------------------

/// `solo` has one reserved slot; callers over it are refused at once (`throttle_wait_ms = 0`).
#[tokio::test(flavor = "multi_thread")]
async fn a_reserved_concurrency_of_one_refuses_the_second_caller() {
    let app = handler_app(
        &[("solo", "reserved_concurrency = 1\ntimeout_ms = 30000")],
        "throttle_wait_ms = 0",
    );
    let dev = Dev::start(&app);

    // Through the gateway: API Gateway's throttling answer.
    let first = tokio::spawn(get_url(dev.url(&format!("/solo/sleep?ms={HOLD_MS}"))));
    wait_for_concurrency(&dev, "solo", 1).await;
    let refused = get(&dev.url("/solo/raw")).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.json(), json!({"message": "Too Many Requests"}));
    let first = first.await.expect("first caller");
    assert_eq!(first.0, 200, "{}", first.1);

    // Through the Invoke API: TooManyRequestsException with Lambda's Reason.
    let client = lambda(&dev);
    expect_throttled_while_held(
        &dev,
        &client,
        ("solo", "solo"),
        ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
    )
    .await;

    // The slot is free again: the next caller runs.
    let reply = get(&dev.url("/solo/raw")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let throttles = metrics(&dev)
        .await
        .value("rondo_throttles_total", &[("function", "solo")]);
    assert_eq!(throttles, Some(2.0));
}

/// With no reservation, the node's `concurrency_max` is the limit, shared by every function.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_limit_refuses_any_function_over_it() {
    let app = handler_app(
        &[("first", "timeout_ms = 30000"), ("second", "")],
        "concurrency_max = 1\nthrottle_wait_ms = 0",
    );
    let dev = Dev::start(&app);

    let held = tokio::spawn(get_url(dev.url(&format!("/first/sleep?ms={HOLD_MS}"))));
    wait_for_concurrency(&dev, "first", 1).await;
    let refused = get(&dev.url("/second/raw")).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.json(), json!({"message": "Too Many Requests"}));
    assert_eq!(held.await.expect("first caller").0, 200);

    let client = lambda(&dev);
    expect_throttled_while_held(
        &dev,
        &client,
        ("first", "second"),
        ThrottleReason::ConcurrentInvocationLimitExceeded,
    )
    .await;
}

/// With a long enough `throttle_wait_ms`, the caller over the limit waits for the slot and runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_caller_over_the_limit_waits_for_a_slot_up_to_throttle_wait_ms() {
    let app = handler_app(
        &[("solo", "reserved_concurrency = 1\ntimeout_ms = 30000")],
        "throttle_wait_ms = 10000",
    );
    let dev = Dev::start(&app);

    let url = dev.url(&format!("/solo/sleep?ms={HOLD_MS}"));
    let first = tokio::spawn(async move {
        let reply = get_url(url).await;
        (reply, Instant::now())
    });
    wait_for_concurrency(&dev, "solo", 1).await;
    let second = get(&dev.url("/solo/raw")).await;
    let second_done = Instant::now();
    assert_eq!(second.status, 200, "{}", second.text());
    let ((status, body), first_done) = first.await.expect("first caller");
    assert_eq!(status, 200, "{body}");
    assert!(
        first_done <= second_done,
        "the second caller ran only once the first had finished"
    );
    let throttles = metrics(&dev)
        .await
        .value("rondo_throttles_total", &[("function", "solo")]);
    assert_eq!(throttles, None, "nobody was refused");
}

/// The test handler as each `(name, extra lines)` function, each behind `GET /NAME/{action}`,
/// with `limits` as the `[limits]` lines.
fn handler_app(functions: &[(&str, &str)], limits: &str) -> App {
    let declared: Vec<(&str, &str, &str)> = functions
        .iter()
        .map(|(name, extra)| (*name, "handler.wasm", *extra))
        .collect();
    let routes: Vec<(String, &str)> = functions
        .iter()
        .map(|(name, _)| (format!("GET /{name}/{{action}}"), *name))
        .collect();
    let routes: Vec<(&str, &str)> = routes
        .iter()
        .map(|(route, name)| (route.as_str(), *name))
        .collect();
    let text = format!("{}[limits]\n{limits}\n", manifest(&declared, &routes));
    App::new(&text, &[("handler.wasm", test_wasm("test_handler.wasm"))])
}

/// GETs `url`; answers the status and the body's text (a task's output).
async fn get_url(url: String) -> (u16, String) {
    let reply = get(&url).await;
    (reply.status, reply.text())
}

/// Holds `holder`'s slot with a sleeping invocation through the Invoke API, then invokes
/// `caller` and expects Lambda's throttle: 429 `TooManyRequestsException` with `reason`.
async fn expect_throttled_while_held(
    dev: &Dev,
    client: &aws_sdk_lambda::Client,
    (holder, caller): (&str, &str),
    reason: ThrottleReason,
) {
    let held = {
        let client = client.clone();
        let holder = holder.to_owned();
        tokio::spawn(async move {
            invoke(&client, &holder, json!({"action": "sleep", "ms": HOLD_MS})).await
        })
    };
    wait_for_concurrency(dev, holder, 1).await;
    let result = client
        .invoke()
        .function_name(caller)
        .payload(Blob::new(json!({"action": "raw"}).to_string()))
        .send()
        .await;
    let error = match result {
        Ok(output) => panic!("{caller} over the limit ran: {output:?}"),
        Err(SdkError::ServiceError(error)) => error,
        Err(other) => panic!("not a service error: {other:?}"),
    };
    assert_eq!(error.raw().status().as_u16(), 429);
    match error.into_err() {
        InvokeError::TooManyRequestsException(throttle) => {
            assert_eq!(throttle.reason(), Some(&reason), "{throttle:?}");
            assert!(throttle.retry_after_seconds().is_some(), "{throttle:?}");
        }
        other => panic!("not TooManyRequestsException: {other:?}"),
    }
    held.await.expect("holder").expect_ok();
}

// ---------------------------------------------------------------------------------------------
// Work that does not wait is delayed by a limit, not lost
// ---------------------------------------------------------------------------------------------

/// Events sent at once to a function with one slot.
const N_EVENTS: usize = 5;
/// How long each of them sleeps.
const EVENT_SLEEP_MS: u64 = 300;

#[tokio::test(flavor = "multi_thread")]
async fn events_over_a_reserved_concurrency_wait_and_all_run() {
    let manifest = r#"[app]
name = "async-limit"

[function.sleepy]
wasm = "handler.wasm"
reserved_concurrency = 1
timeout_ms = 30000

[function.sleepy.async]
on_success = "table:successes"
on_failure = "table:failures"

[table.successes]
partition_key = { name = "id", type = "S" }

[table.failures]
partition_key = { name = "id", type = "S" }

[limits]
throttle_wait_ms = 0
"#;
    let app = App::new(
        manifest,
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "successes").await;
    wait_active(&dynamo, "failures").await;

    let sends = (0..N_EVENTS).map(|event_idx| {
        let client = client.clone();
        async move {
            let payload = json!({"action": "sleep", "ms": EVENT_SLEEP_MS, "event": event_idx});
            let output = client
                .invoke()
                .function_name("sleepy")
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(payload.to_string()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("event {event_idx}: {e:?}"));
            assert_eq!(output.status_code(), 202);
            output.request_id().expect("a request id").to_owned()
        }
    });
    let request_ids: BTreeSet<String> = run_at_once(sends).await;
    assert_eq!(request_ids.len(), N_EVENTS);

    let poll = Poll::new("every event's success record", Duration::from_secs(WAIT_S));
    let successes = loop {
        let successes = scan_ids(&dynamo, "successes").await;
        if successes.len() >= N_EVENTS {
            break successes;
        }
        poll.tick((&successes, dev.stderr())).await;
    };
    assert_eq!(successes, request_ids, "one success record per event");
    assert!(scan_ids(&dynamo, "failures").await.is_empty());
    // Each ran exactly once, under the id its caller was told.
    let stdout = dev.stdout();
    for request_id in &request_ids {
        let start = format!("START RequestId: {request_id} ");
        let n_starts = stdout
            .lines()
            .filter(|line| line.starts_with(&start))
            .count();
        assert_eq!(n_starts, 1, "{request_id} in:\n{stdout}");
    }
    // The limit was met: some attempts were refused and tried again later.
    let throttles = metrics(&dev)
        .await
        .value("rondo_throttles_total", &[("function", "sleepy")])
        .unwrap_or(0.0);
    assert!(throttles >= 1.0, "no attempt was throttled:\n{stdout}");
    let row = cost_row(&cost(&dev, "route").await, "(invoke event)").clone();
    assert_eq!(row["requests"], N_EVENTS, "{row:#}");
}

/// The ids of every item of `table`.
async fn scan_ids(client: &aws_sdk_dynamodb::Client, table: &str) -> BTreeSet<String> {
    let output = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
    assert!(output.last_evaluated_key().is_none(), "one page is enough");
    output
        .items()
        .iter()
        .map(|item: &Item| get_s(item, "id").to_owned())
        .collect()
}

/// Runs the futures at once; answers their outputs.
async fn run_at_once<F>(futures: impl Iterator<Item = F>) -> BTreeSet<String>
where
    F: Future<Output = String> + Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = BTreeSet::new();
    for task in tasks {
        outputs.insert(task.await.expect("task"));
    }
    outputs
}

/// Records written to the source table while the function is kept busy.
const N_RECORDS: usize = 12;
/// How long the other callers keep the function busy.
const BUSY_MS: u64 = 4000;
/// How long each of their invocations sleeps.
const BUSY_SLEEP_MS: u64 = 500;

/// A Python module whose handler sleeps on `{"ms": n}` events (`faults.sleep`) and copies the
/// records of a stream event into `COPY_TABLE_NAME` (`stream_handler.copy_records`): one
/// function that direct callers keep busy and a trigger delivers to.
const BUSY_PY: &str = r#"from faults import sleep
from stream_handler import copy_records


def handler(event, context):
    if "Records" in event:
        return copy_records(event, context)
    return sleep(event, context)
"#;

#[tokio::test(flavor = "multi_thread")]
async fn stream_records_over_a_reserved_concurrency_wait_and_all_arrive() {
    let manifest = format!(
        "[app]\nname = \"stream-limit\"\n\n\
         [table.source]\npartition_key = {{ name = \"id\", type = \"S\" }}\nstream = \"NEW_IMAGE\"\n\n\
         [table.copies]\npartition_key = {{ name = \"id\", type = \"S\" }}\n\n\
         [limits]\nthrottle_wait_ms = 0\n\n\
         [[trigger]]\nsource = \"table:source\"\nfunction = \"worker\"\nstarting_position = \"TRIM_HORIZON\"\nbatch_size = 2\n\n\
         {}",
        python_function(
            "worker",
            "py",
            "busy.handler",
            "reserved_concurrency = 1\ntimeout_ms = 30000\nenvironment = { COPY_TABLE_NAME = \"copies\" }"
        )
    );
    let app = process_app(
        &manifest,
        &[
            ("py/faults.py", python_program("faults.py")),
            ("py/stream_handler.py", python_program("stream_handler.py")),
        ],
    );
    std::fs::write(app.path().join("py/busy.py"), BUSY_PY).expect("write busy.py");
    let dev = start(&app);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "copies").await;

    // Another caller keeps the function's one slot busy, invocation after invocation.
    let busy = {
        let client = client.clone();
        tokio::spawn(async move {
            let until = Instant::now() + Duration::from_millis(BUSY_MS);
            let mut n_ran = 0;
            while Instant::now() < until {
                let result = client
                    .invoke()
                    .function_name("worker")
                    .payload(Blob::new(json!({"ms": BUSY_SLEEP_MS}).to_string()))
                    .send()
                    .await;
                match result {
                    Ok(output) => {
                        assert_eq!(output.function_error(), None, "{output:?}");
                        n_ran += 1;
                    }
                    // The trigger holds the slot now and then: this caller is refused then.
                    Err(error) if is_throttle(&error) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(error) => panic!("busy invocation: {error:?}"),
                }
            }
            n_ran
        })
    };
    wait_for_concurrency(&dev, "worker", 1).await;
    let mut keys = BTreeSet::new();
    for record_idx in 0..N_RECORDS {
        let key = format!("k{record_idx:02}");
        dynamo
            .put_item()
            .table_name("source")
            .item("id", s(&key))
            .send()
            .await
            .expect("put item");
        keys.insert(key);
    }
    let n_busy = busy.await.expect("busy caller");
    assert!(
        n_busy >= 2,
        "the function was kept busy ({n_busy} invocations)"
    );

    let poll = Poll::new("every record copied", Duration::from_secs(WAIT_S));
    let copies = loop {
        let copies = scan_items(&dynamo, "copies").await;
        if copies.len() >= N_RECORDS {
            break copies;
        }
        poll.tick((copies.len(), dev.stderr())).await;
    };
    let copied: Vec<&str> = copies.iter().map(|copy| get_s(copy, "key")).collect();
    assert_eq!(copied.len(), N_RECORDS, "each record once: {copied:?}");
    assert_eq!(
        copied
            .iter()
            .map(|key| (*key).to_owned())
            .collect::<BTreeSet<_>>(),
        keys
    );
    // The trigger met the limit and tried again; it gave up on nothing.
    let trigger = cost(&dev, "trigger").await;
    let row = cost_row(&trigger, "table:source->worker");
    assert!(
        row["throttles"].as_u64().is_some_and(|n| n >= 1),
        "the trigger was never throttled: {trigger:#}"
    );
    assert!(!dev.stderr().contains("gave up"), "{}", dev.stderr());
}

fn is_throttle(error: &SdkError<InvokeError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(InvokeError::TooManyRequestsException(_))
    )
}

/// Every item of `table`.
async fn scan_items(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let output = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
    assert!(output.last_evaluated_key().is_none(), "one page is enough");
    output.items().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_to_a_function_reserved_at_zero_go_straight_to_on_failure() {
    let manifest = r#"[app]
name = "async-disabled"

[function.off]
wasm = "handler.wasm"
reserved_concurrency = 0

[function.off.async]
maximum_retry_attempts = 2
on_failure = "table:failures"

[table.failures]
partition_key = { name = "id", type = "S" }
"#;
    let app = App::new(
        manifest,
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    // Retry delays of a minute: a retry would make the record late beyond the poll's limit.
    let dev = Dev::start_with(&app, &["--async-retry-delay-ms", "60000"]);
    let client = lambda(&dev);
    let dynamo = dynamodb(&dev);
    wait_active(&dynamo, "failures").await;
    let output = client
        .invoke()
        .function_name("off")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"action": "echo"}"#))
        .send()
        .await
        .expect("an event is accepted even when the function is throttled");
    assert_eq!(output.status_code(), 202);
    let request_id = output.request_id().expect("a request id").to_owned();

    let poll = Poll::new("the on-failure record", Duration::from_secs(WAIT_S));
    let failures = loop {
        let failures = scan_ids(&dynamo, "failures").await;
        if !failures.is_empty() {
            break failures;
        }
        poll.tick(dev.stderr()).await;
    };
    assert_eq!(failures, BTreeSet::from([request_id.clone()]));
    let item = dynamo
        .get_item()
        .table_name("failures")
        .key("id", AttributeValue::S(request_id.clone()))
        .send()
        .await
        .expect("get the record")
        .item
        .expect("the record");
    let map = |item: &Item, name: &str| match item.get(name) {
        Some(AttributeValue::M(map)) => map.clone(),
        other => panic!("{name}: {other:?} in {item:?}"),
    };
    let context = map(&item, "requestContext");
    assert_eq!(get_s(&context, "condition"), "RetriesExhausted", "{item:?}");
    assert_eq!(get_n(&context, "approximateInvokeCount"), "0", "{item:?}");
    assert_eq!(
        get_n(&map(&item, "responseContext"), "statusCode"),
        "429",
        "{item:?}"
    );
    // It never ran.
    assert!(
        !dev.stdout()
            .contains(&format!("START RequestId: {request_id}"))
    );
}
