//! Measures what the sandbox costs a cold start: the same Python handler (awslambdaric), started
//! afresh for each invocation, without a sandbox and in one, alternating, in the same run. Not a
//! test: it prints percentiles and their ratio. Warm invocations do not go through the sandbox's
//! start, so they are not measured here (`warm_overhead` measures them).
//!
//! `cargo run --release -p process --example cold_start [n_cold_starts]` (as root, with
//! bubblewrap installed; otherwise the sandboxed side says why it cannot run).
//!
//! Each cold start is the whole `ProcessFunction::invoke` of a function loaded just before: spawn
//! (and the sandbox's chain), the runtime's init, the event, the answer.

#![expect(
    clippy::print_stdout,
    reason = "an example that prints its measurements"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use process::{ProcessFunctionConfig, ProcessHost, ProcessHostConfig, ProcessRuntime};
use runtime::InvokeMeta;

#[tokio::main]
async fn main() {
    let n_cold_starts: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(50);
    let host = |sandbox| {
        ProcessHost::new(ProcessHostConfig {
            tools_dir: std::env::temp_dir().join("rondo-process-tests-tools"),
            aws_endpoint_url: Some("http://127.0.0.1:4566".to_owned()),
            credentials: ("key".to_owned(), "secret".to_owned()),
            idle_timeout: Duration::from_secs(600),
            sandbox,
        })
    };
    let (plain, sandboxed) = (host(false), host(true));
    let code = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(code.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let handler = "def handler(event, context):\n    return event\n";
    std::fs::write(code.path().join("app.py"), handler).expect("write handler");

    // One start each first: tools install, the sandbox's check, the page cache.
    cold_start(&plain, code.path()).await;
    cold_start(&sandboxed, code.path()).await;
    if let Some(Err(reason)) = sandboxed.sandbox_status() {
        println!("no sandbox on this host: {reason}");
        return;
    }
    let mut plain_ms = Vec::new();
    let mut sandboxed_ms = Vec::new();
    for _ in 0..n_cold_starts {
        plain_ms.push(cold_start(&plain, code.path()).await);
        sandboxed_ms.push(cold_start(&sandboxed, code.path()).await);
    }
    println!("{n_cold_starts} cold starts each of a Python handler (awslambdaric), alternating");
    let plain_p50 = report("unsandboxed", &mut plain_ms);
    let sandboxed_p50 = report("sandboxed", &mut sandboxed_ms);
    println!(
        "sandbox: +{:.2} ms at p50 ({:.2}x)",
        sandboxed_p50 - plain_p50,
        sandboxed_p50 / plain_p50
    );
}

/// Loads the function afresh (so no environment is warm) and times its first invocation, in ms.
async fn cold_start(host: &ProcessHost, code: &std::path::Path) -> f64 {
    let config = ProcessFunctionConfig {
        name: "cold".to_owned(),
        runtime: ProcessRuntime::Python3,
        code_dir: code.to_owned(),
        handler: Some("app.handler".to_owned()),
        memory_mb: 128,
        timeout_ms: 10_000,
        environment: Vec::new(),
        version: "bench".to_owned(),
        ephemeral_storage_mb: 512,
        outbound_network: false,
    };
    let loader = host.clone();
    let function = tokio::task::spawn_blocking(move || loader.load(config))
        .await
        .expect("load does not panic")
        .expect("the function loads");
    let meta = InvokeMeta {
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let started = Instant::now();
    let invocation = function.invoke(Bytes::from_static(b"{}"), meta).await;
    let elapsed = started.elapsed();
    assert!(
        invocation.result.is_ok(),
        "the cold start failed: {:?} {:?}",
        invocation.result,
        invocation.report.logs
    );
    elapsed.as_secs_f64() * 1000.0
}

/// Prints p50, p90 and p99 of `samples_ms`; returns the p50.
fn report(label: &str, samples_ms: &mut [f64]) -> f64 {
    samples_ms.sort_by(f64::total_cmp);
    let at = |q: f64| samples_ms[((samples_ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:>12}: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    at(0.5)
}
