//! Micro-benchmark of the invocation path without HTTP: a fresh instance per invocation.
//!
//! `cargo bench -p runtime --bench instantiate` prints, for the handler world and for a
//! `wasi:http` component: the time of one whole invocation (new store and WASI context,
//! instantiation from the pre-instantiated component, the call, teardown), and the first
//! invocation right after a function is loaded (the "first request after deploy").

#![expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use runtime::{Function, FunctionConfig, InvokeMeta, Runtime, RuntimeConfig, Tier};

const N_INVOCATIONS: usize = 20_000;
const N_LOADS: usize = 20;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let handler_wasm = std::fs::read(root.join("test-programs/wasm/test_handler.wasm"))
        .expect("read test_handler.wasm");
    let http_wasm =
        std::fs::read(root.join("test-programs/wasm/test_http.wasm")).expect("read test_http.wasm");
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 100,
        tables: None,
        connections: None,
    })
    .expect("runtime");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let config = FunctionConfig {
        name: "bench".to_owned(),
        memory_mb: 128,
        timeout_ms: 3000,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };

    let handler = runtime
        .load(&config, &handler_wasm, Tier::Optimized)
        .expect("load handler");
    let event = br#"{"action":"counter"}"#;
    let mut samples = tokio.block_on(async {
        let mut samples = Vec::with_capacity(N_INVOCATIONS);
        for _ in 0..N_INVOCATIONS {
            let start = Instant::now();
            let invocation = handler.invoke(event, meta()).await;
            samples.push(start.elapsed());
            assert!(invocation.result.is_ok(), "{:?}", invocation.result);
        }
        samples
    });
    report("handler world: fresh instance + call", &mut samples);

    let http = runtime
        .load(&config, &http_wasm, Tier::Optimized)
        .expect("load wasi:http");
    let mut samples = tokio.block_on(async {
        let mut samples = Vec::with_capacity(N_INVOCATIONS);
        for _ in 0..N_INVOCATIONS {
            let start = Instant::now();
            let invocation = http.serve_http(get(), meta()).await;
            samples.push(start.elapsed());
            assert!(invocation.result.is_ok(), "{:?}", invocation.result);
        }
        samples
    });
    report(
        "wasi:http: fresh instance + request + buffered response",
        &mut samples,
    );

    for tier in [Tier::Optimized, Tier::Baseline] {
        let mut loads = Vec::new();
        let mut firsts = Vec::new();
        let mut invocations = Vec::new();
        for round in 0..N_LOADS {
            let mut wasm = handler_wasm.clone();
            // A custom section makes it new code, as a deploy of changed code would be.
            wasm.extend_from_slice(&[0, 7, 5, b'r', b'o', b'u', b'n', b'd']);
            wasm.push(round as u8);
            let start = Instant::now();
            let function: Function = runtime.load(&config, &wasm, tier).expect("load");
            loads.push(start.elapsed());
            tokio.block_on(async {
                for idx in 0..100 {
                    let start = Instant::now();
                    let invocation = function.invoke(event, meta()).await;
                    if idx == 0 {
                        firsts.push(start.elapsed())
                    } else {
                        invocations.push(start.elapsed())
                    }
                    assert!(invocation.result.is_ok());
                }
            });
        }
        report(
            &format!("{tier:?}: load (compile, link, pre-instantiate) of new code"),
            &mut loads,
        );
        report(
            &format!("{tier:?}: first invocation after a load"),
            &mut firsts,
        );
        report(&format!("{tier:?}: later invocations"), &mut invocations);
    }
}

fn meta() -> InvokeMeta {
    InvokeMeta {
        request_id: "bench".to_owned(),
    }
}

fn get() -> http::Request<Bytes> {
    http::Request::get("http://localhost/")
        .body(Bytes::new())
        .expect("request")
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: n={} p50 {:.1} µs  p99 {:.1} µs",
        samples.len(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
}
