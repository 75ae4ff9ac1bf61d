//! Metering seen from outside: the billed duration of the REPORT lines and of the cost report
//! follows `billing.granularity_ms`; the ledger survives a restart; `rondo cost` agrees with the
//! invocation log per function and per route; and `GET /metrics` is Prometheus text whose
//! counters agree with what ran.
//!
//! Every function is the test handler (`test_handler.wasm`): `raw` answers the event, `error`
//! fails, `sleep` sleeps `ms` milliseconds.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::operation::RequestId as _;
use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};

use crate::support::admin::{cost, cost_row, metrics, wait_for_concurrency};
use crate::support::process::{Invoked, invoke, lambda};
use crate::support::{App, Dev, get, manifest, rondo, test_wasm};

// ---------------------------------------------------------------------------------------------
// Billed duration
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn billed_durations_round_up_to_100_ms_when_configured() {
    let app = billing_app("[billing]\ngranularity_ms = 100\n");
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let mut billed_total_ms = 0;
    for ms in [5, 5, 150] {
        let invoked = invoke(&client, "quick", json!({"action": "sleep", "ms": ms})).await;
        invoked.expect_ok();
        let report = report_of(&invoked.log, &invoked.request_id);
        assert!(
            report.billed_ms.is_multiple_of(100),
            "billed {} ms for {ms} ms of sleep",
            report.billed_ms
        );
        report.expect_billed(100);
        billed_total_ms += report.billed_ms;
        if ms == 5 {
            assert_eq!(report.billed_ms, 100, "{}", invoked.log);
        }
    }
    // A route's REPORT line, in rondo's log, is billed alike.
    let reply = get(&dev.url("/quick/sleep?ms=5")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let request_id = reply.header("apigw-requestid").expect("a request id");
    let log = wait_for_report(&dev, request_id);
    let report = report_of(&log, request_id);
    assert_eq!(report.billed_ms, 100, "{log}");
    billed_total_ms += report.billed_ms;

    let report = cost(&dev, "function").await;
    let row = cost_row(&report, "quick");
    assert_eq!(row["requests"], 4, "{row:#}");
    assert_eq!(row["billed_duration_ms"], billed_total_ms, "{row:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn billed_durations_round_up_to_the_millisecond_by_default() {
    let app = billing_app("");
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let mut billed_total_ms = 0;
    for ms in [0, 5, 20] {
        let invoked = invoke(&client, "quick", json!({"action": "sleep", "ms": ms})).await;
        invoked.expect_ok();
        let report = report_of(&invoked.log, &invoked.request_id);
        report.expect_billed(1);
        billed_total_ms += report.billed_ms;
    }
    let report = cost(&dev, "function").await;
    let row = cost_row(&report, "quick");
    assert_eq!(row["requests"], 3, "{row:#}");
    assert_eq!(row["billed_duration_ms"], billed_total_ms, "{row:#}");
}

/// The test handler as `quick`, behind `GET /quick/{action}`, with `billing` appended.
fn billing_app(billing: &str) -> App {
    let text = manifest(
        &[("quick", "handler.wasm", "timeout_ms = 30000")],
        &[("GET /quick/{action}", "quick")],
    );
    App::new(
        &format!("{text}{billing}"),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    )
}

/// The numbers of one REPORT line.
#[derive(Debug)]
struct ReportLine {
    line: String,
    /// `Duration`, as printed (two decimals).
    duration_ms: f64,
    /// `Billed Duration`.
    billed_ms: u64,
}

impl ReportLine {
    /// Asserts that the billed duration is the duration rounded up to a multiple of
    /// `granularity_ms`. The printed duration is rounded to 1/100 ms, so either rounding of the
    /// duration it stands for is accepted.
    #[track_caller]
    fn expect_billed(&self, granularity_ms: u64) {
        let candidates: BTreeSet<u64> = [self.duration_ms - 0.005, self.duration_ms + 0.005]
            .into_iter()
            .map(|ms| {
                let steps = (ms.max(0.001) / granularity_ms as f64).ceil() as u64;
                steps * granularity_ms
            })
            .collect();
        assert!(
            candidates.contains(&self.billed_ms),
            "billed {} ms, expected one of {candidates:?}: {}",
            self.billed_ms,
            self.line
        );
    }
}

/// The REPORT line of `request_id` in `log`.
#[track_caller]
fn report_of(log: &str, request_id: &str) -> ReportLine {
    let prefix = format!("REPORT RequestId: {request_id}\t");
    let line = log
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no REPORT line for {request_id} in:\n{log}"));
    let field = |name: &str| {
        line.split('\t')
            .find_map(|part| part.strip_prefix(name))
            .and_then(|value| value.strip_suffix(" ms"))
            .unwrap_or_else(|| panic!("no {name:?} in {line:?}"))
    };
    ReportLine {
        line: line.to_owned(),
        duration_ms: field("Duration: ").parse().expect("a duration"),
        billed_ms: field("Billed Duration: ")
            .parse()
            .expect("a billed duration"),
    }
}

/// Waits for `request_id`'s REPORT line in rondo's log; answers the log.
fn wait_for_report(dev: &Dev, request_id: &str) -> String {
    let prefix = format!("REPORT RequestId: {request_id}\t");
    dev.wait_output("the REPORT line", |stdout, _| stdout.contains(&prefix));
    dev.stdout()
}

// ---------------------------------------------------------------------------------------------
// The ledger and `rondo cost`
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_survives_a_restart() {
    const N_BEFORE: u64 = 4;
    let app = App::new(
        &manifest(
            &[("tester", "handler.wasm", "")],
            &[("GET /t/{action}", "tester")],
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let mut dev = Dev::start(&app);
    for _ in 0..N_BEFORE {
        let reply = get(&dev.url("/t/raw")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    // Stopped as a user stops it: Ctrl-C, in-flight work drained, the ledger closed.
    dev.interrupt();
    let status = dev.child.wait().expect("wait for rondo dev");
    assert!(status.success(), "{status}: {}", dev.stderr());
    drop(dev);

    let dev = Dev::start(&app);
    let report = cli_cost(&dev, "function");
    assert_eq!(
        cost_row(&report, "tester")["requests"],
        N_BEFORE,
        "{report:#}"
    );
    // Recording goes on where it stopped.
    let reply = get(&dev.url("/t/raw")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let report = cli_cost(&dev, "function");
    assert_eq!(
        cost_row(&report, "tester")["requests"],
        N_BEFORE + 1,
        "{report:#}"
    );
}

/// One way the load reaches a function: a route's URL, or the Invoke API.
#[derive(Clone, Copy)]
enum Door {
    Route {
        key: &'static str,
        path: &'static str,
    },
    Invoke,
}

#[tokio::test(flavor = "multi_thread")]
async fn rondo_cost_agrees_with_the_invocation_log() {
    let app = App::new(
        &manifest(
            &[
                ("hello", "handler.wasm", ""),
                ("greet", "handler.wasm", "memory_mb = 256"),
            ],
            &[
                ("GET /hello/{action}", "hello"),
                ("GET /hi", "hello"),
                ("GET /greet/{action}", "greet"),
            ],
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let load: [(&str, Door, usize); 5] = [
        (
            "hello",
            Door::Route {
                key: "GET /hello/{action}",
                path: "/hello/raw",
            },
            5,
        ),
        (
            "hello",
            Door::Route {
                key: "GET /hi",
                path: "/hi?action=raw",
            },
            3,
        ),
        ("hello", Door::Invoke, 4),
        (
            "greet",
            Door::Route {
                key: "GET /greet/{action}",
                path: "/greet/raw",
            },
            2,
        ),
        ("greet", Door::Invoke, 6),
    ];
    // Every invocation at once; each answers the request id it ran under.
    let mut tasks = Vec::new();
    for (function, door, n) in load {
        for _ in 0..n {
            let client = client.clone();
            let url = match door {
                Door::Route { path, .. } => Some(dev.url(path)),
                Door::Invoke => None,
            };
            tasks.push(tokio::spawn(async move {
                let request_id = match url {
                    Some(url) => {
                        let reply = get(&url).await;
                        assert_eq!(reply.status, 200, "{url}: {}", reply.text());
                        reply
                            .header("apigw-requestid")
                            .expect("a request id")
                            .to_owned()
                    }
                    None => invoke_raw(&client, function).await,
                };
                (function, request_id)
            }));
        }
    }
    let mut request_ids: BTreeMap<String, &str> = BTreeMap::new();
    for task in tasks {
        let (function, request_id) = task.await.expect("invocation task");
        assert!(request_ids.insert(request_id, function).is_none());
    }

    // The log: one REPORT line per invocation, each of a request id the load was answered with.
    let n_invocations: usize = load.iter().map(|(_, _, n)| n).sum();
    dev.wait_output("a REPORT line per invocation", |stdout, _| {
        report_ids(stdout).len() >= n_invocations
    });
    let mut reports_per_function: BTreeMap<&str, u64> = BTreeMap::new();
    for request_id in report_ids(&dev.stdout()) {
        let function = request_ids
            .get(&request_id)
            .unwrap_or_else(|| panic!("a REPORT line of an unknown request {request_id}"));
        *reports_per_function.entry(function).or_default() += 1;
    }
    assert_eq!(
        reports_per_function,
        BTreeMap::from([("greet", 8), ("hello", 12)])
    );

    let by_function = cli_cost(&dev, "function");
    for (function, n_reports) in &reports_per_function {
        assert_eq!(
            cost_row(&by_function, function)["requests"],
            *n_reports,
            "{by_function:#}"
        );
    }
    assert_eq!(by_function["total"]["requests"], n_invocations);
    assert_eq!(
        by_function["rows"].as_array().map(Vec::len),
        Some(2),
        "{by_function:#}"
    );

    let by_route = cli_cost(&dev, "route");
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, door, n) in load {
        let row = match door {
            Door::Route { key, .. } => key,
            Door::Invoke => "(invoke)",
        };
        *expected.entry(row).or_default() += n;
    }
    let rows: BTreeMap<&str, u64> = by_route["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            (
                row["name"].as_str().expect("a row name"),
                row["requests"].as_u64().expect("requests"),
            )
        })
        .collect();
    let expected: BTreeMap<&str, u64> = expected
        .into_iter()
        .map(|(row, n)| (row, n as u64))
        .collect();
    assert_eq!(rows, expected, "{by_route:#}");
}

/// Invokes `function` with `{"action": "raw"}` through the Invoke API; answers the request id.
async fn invoke_raw(client: &aws_sdk_lambda::Client, function: &str) -> String {
    let output = client
        .invoke()
        .function_name(function)
        .payload(Blob::new(json!({"action": "raw"}).to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("invoke {function}: {e:?}"));
    assert_eq!(output.function_error(), None, "{output:?}");
    output.request_id().expect("a request id").to_owned()
}

/// The request ids of the REPORT lines in `log`, in order.
fn report_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| line.strip_prefix("REPORT RequestId: "))
        .filter_map(|rest| rest.split('\t').next())
        .map(str::to_owned)
        .collect()
}

/// Runs `rondo cost --by BY --json` against `dev`; answers the report.
fn cli_cost(dev: &Dev, by: &str) -> Value {
    let output = rondo()
        .args(["cost", "--json", "--by", by, "--endpoint", &dev.aws])
        .output()
        .expect("run rondo cost");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "rondo cost failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("rondo cost --json printed no JSON ({e}): {stdout}"))
}

// ---------------------------------------------------------------------------------------------
// Prometheus metrics
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_prometheus_text_that_counts_what_ran() {
    let app = App::new(
        &format!(
            "{}[limits]\nthrottle_wait_ms = 0\n",
            manifest(
                &[
                    ("alpha", "handler.wasm", ""),
                    ("beta", "handler.wasm", ""),
                    (
                        "slow",
                        "handler.wasm",
                        "reserved_concurrency = 1\ntimeout_ms = 30000"
                    ),
                ],
                &[
                    ("GET /alpha/{action}", "alpha"),
                    ("GET /slow/{action}", "slow"),
                ],
            )
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    for action in ["raw", "raw", "error", "raw"] {
        get(&dev.url(&format!("/alpha/{action}"))).await;
    }
    for _ in 0..2 {
        let invoked: Invoked = invoke(&client, "beta", json!({"action": "raw"})).await;
        invoked.expect_ok();
    }
    let url = dev.url("/slow/sleep?ms=1000");
    let held = tokio::spawn(async move { get(&url).await });
    wait_for_concurrency(&dev, "slow", 1).await;
    let refused = get(&dev.url("/slow/raw")).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(held.await.expect("holder").status, 200);

    let metrics = metrics(&dev).await;
    assert!(
        metrics
            .content_type
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        metrics.content_type
    );
    // No `rondo_cold_starts_total`: this app's wasm functions have no cold start, and a family
    // without samples is not written (its type is checked in the metering crate's tests).
    for (family, kind) in [
        ("rondo_invocations_total", "counter"),
        ("rondo_throttles_total", "counter"),
        ("rondo_invocation_duration_seconds", "histogram"),
        ("rondo_concurrent_invocations", "gauge"),
    ] {
        assert_eq!(
            metrics.types.get(family).map(String::as_str),
            Some(kind),
            "{}",
            metrics.text
        );
    }
    let invocations = |function: &str, outcome: &str| {
        metrics.value(
            "rondo_invocations_total",
            &[("function", function), ("outcome", outcome)],
        )
    };
    assert_eq!(invocations("alpha", "success"), Some(3.0));
    assert_eq!(invocations("alpha", "error"), Some(1.0));
    assert_eq!(invocations("beta", "success"), Some(2.0));
    assert_eq!(invocations("slow", "success"), Some(1.0));
    assert!(
        metrics
            .samples_named("rondo_invocations_total")
            .all(|sample| sample.labels["outcome"] != "throttled"),
        "a throttle is no invocation:\n{}",
        metrics.text
    );
    let per_function = |name: &str, function: &str| metrics.value(name, &[("function", function)]);
    assert_eq!(per_function("rondo_throttles_total", "slow"), Some(1.0));
    assert_eq!(
        per_function("rondo_throttles_total", "alpha").unwrap_or(0.0),
        0.0
    );
    for (function, n_ran) in [("alpha", 4.0), ("beta", 2.0), ("slow", 1.0)] {
        // A wasm function's code is ready before its first invocation: none is a cold start.
        assert_eq!(
            per_function("rondo_cold_starts_total", function).unwrap_or(0.0),
            0.0,
            "{function}"
        );
        assert_eq!(
            per_function("rondo_invocation_duration_seconds_count", function),
            Some(n_ran),
            "{function}"
        );
        let infinite_bucket = metrics.value(
            "rondo_invocation_duration_seconds_bucket",
            &[("function", function), ("le", "+Inf")],
        );
        assert_eq!(infinite_bucket, Some(n_ran), "{function}");
        let billed = per_function("rondo_billed_gb_seconds_total", function);
        assert!(
            billed.is_some_and(|gb_s| gb_s > 0.0),
            "{function}: {billed:?}"
        );
    }
    let slow_seconds = per_function("rondo_invocation_duration_seconds_sum", "slow");
    assert!(
        slow_seconds.is_some_and(|s| s >= 1.0),
        "slow slept a second: {slow_seconds:?}"
    );
    assert_eq!(
        per_function("rondo_concurrent_invocations", "slow"),
        Some(0.0)
    );
}
