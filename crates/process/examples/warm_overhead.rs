//! Measures warm invocations of process functions: the whole `ProcessFunction::invoke` round
//! trip (event handed to the waiting `next`, the runtime's answer, the report), sequentially,
//! on one warm environment. Not a test: it prints percentiles.
//!
//! `cargo run -p process --example warm_overhead [n_invocations]`
//!
//! Two runtimes: the `provided` bootstrap of the integration tests (a Python script speaking the
//! Runtime API with http.client) and a Python handler run by awslambdaric. The Python tools are
//! installed into the integration tests' tools folder when missing.

#![expect(
    clippy::print_stdout,
    reason = "an example that prints its measurements"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use process::{
    ProcessFunction, ProcessFunctionConfig, ProcessHost, ProcessHostConfig, ProcessRuntime,
};
use runtime::InvokeMeta;

const WARMUP: usize = 200;

#[tokio::main]
async fn main() {
    let n_invocations: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(5_000);
    let host = ProcessHost::new(ProcessHostConfig {
        tools_dir: std::env::temp_dir().join("rondo-process-tests-tools"),
        aws_endpoint_url: Some("http://127.0.0.1:4566".to_owned()),
        credentials: ("key".to_owned(), "secret".to_owned()),
        idle_timeout: Duration::from_secs(600),
        // The bootstrap here is a script for the host's Python, which a sandbox does not show.
        sandbox: false,
    });
    let code = tempfile::tempdir().expect("temp dir");

    let provided_dir = code.path().join("provided");
    std::fs::create_dir(&provided_dir).expect("mkdir");
    let bootstrap = provided_dir.join("bootstrap");
    let script = format!(
        "#!{}\n{}",
        python_executable(),
        include_str!("../tests/it/bootstrap.py")
    );
    std::fs::write(&bootstrap, script).expect("write bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let provided = load(
        &host,
        "provided",
        ProcessRuntime::Provided,
        &provided_dir,
        None,
    )
    .await;

    let python_dir = code.path().join("python");
    std::fs::create_dir(&python_dir).expect("mkdir");
    let handler = "def handler(event, context):\n    return event\n";
    std::fs::write(python_dir.join("app.py"), handler).expect("write handler");
    let python = load(
        &host,
        "python",
        ProcessRuntime::Python3,
        &python_dir,
        Some("app.handler"),
    )
    .await;

    println!("{n_invocations} sequential warm invocations each (after {WARMUP} to warm up)");
    measure(
        "provided (Python http.client bootstrap)",
        &provided,
        n_invocations,
    )
    .await;
    measure("python3 (awslambdaric)", &python, n_invocations).await;
}

async fn load(
    host: &ProcessHost,
    name: &str,
    runtime: ProcessRuntime,
    code_dir: &std::path::Path,
    handler: Option<&str>,
) -> ProcessFunction {
    let config = ProcessFunctionConfig {
        name: name.to_owned(),
        runtime,
        code_dir: code_dir.to_owned(),
        handler: handler.map(str::to_owned),
        memory_mb: 128,
        timeout_ms: 10_000,
        environment: Vec::new(),
        version: "bench".to_owned(),
        ephemeral_storage_mb: 512,
        outbound_network: false,
    };
    let host = host.clone();
    tokio::task::spawn_blocking(move || host.load(config))
        .await
        .expect("load does not panic")
        .expect("the function loads")
}

async fn measure(label: &str, function: &ProcessFunction, n_invocations: usize) {
    let event = Bytes::from_static(br#"{"action":"echo","n":1}"#);
    let mut round_trips = Vec::with_capacity(n_invocations);
    for index in 0..WARMUP + n_invocations {
        let meta = InvokeMeta {
            request_id: format!("00000000-0000-4000-8000-{index:012}"),
        };
        let start = Instant::now();
        let invocation = function.invoke(event.clone(), meta).await;
        let elapsed = start.elapsed();
        invocation.result.expect("the invocation succeeds");
        if index >= WARMUP {
            round_trips.push(elapsed);
        }
    }
    round_trips.sort();
    let percentile =
        |p: usize| round_trips[(round_trips.len() * p / 100).min(round_trips.len() - 1)];
    println!(
        "{label}: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        percentile(50),
        percentile(90),
        percentile(99),
        round_trips.last().copied().unwrap_or_default()
    );
}

fn python_executable() -> String {
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(output.stdout)
        .expect("a path")
        .trim()
        .to_owned()
}
