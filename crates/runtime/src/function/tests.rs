//! What a wasm invocation reports about waiting for its code.

use std::path::Path;

use serde_json::json;

use crate::{Function, FunctionConfig, InvokeMeta, Runtime, RuntimeConfig, Tier};

fn load(runtime: &Runtime, tier: Tier) -> Function {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-programs/wasm/test_handler.wasm");
    let wasm = std::fs::read(&path).expect("the test guests are committed");
    let config = FunctionConfig {
        name: "cold-test".to_owned(),
        memory_mb: 128,
        timeout_ms: 10_000,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };
    runtime.load(&config, &wasm, tier).expect("the guest loads")
}

/// The `Init Duration` of each of `n_invocations` invocations of `function`.
async fn init_durations(function: &Function, n_invocations: usize) -> Vec<Option<f64>> {
    let mut durations = Vec::new();
    for invocation_idx in 0..n_invocations {
        let meta = InvokeMeta {
            request_id: format!("cold-test-{invocation_idx}"),
        };
        let event = json!({"action": "raw"}).to_string();
        let invocation = function.invoke(event.as_bytes(), meta).await;
        assert!(invocation.result.is_ok(), "{:?}", invocation.result);
        durations.push(
            invocation
                .report
                .init_duration
                .map(|duration| duration.as_secs_f64() * 1000.0),
        );
    }
    durations
}

/// Issue 13 (defect 8): the first invocation after each load reported the compile time as its
/// `Init Duration` (and so counted as a cold start), though its code was ready before it arrived;
/// an upgrade from baseline to optimized code counted again. A wasm function's code is compiled
/// and pre-instantiated before the function takes any invocation, so no invocation waits for it:
/// none is a cold start.
#[tokio::test]
async fn issue_13_no_wasm_invocation_waits_for_its_code() {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: None,
        connections: None,
    })
    .expect("the runtime starts");
    let baseline = load(&runtime, Tier::Baseline);
    assert_eq!(init_durations(&baseline, 2).await, [None, None]);
    let optimized = load(&runtime, Tier::Optimized);
    assert_eq!(init_durations(&optimized, 2).await, [None, None]);
}
