//! A function that times out, traps, exhausts its memory or loops forever fails that invocation
//! only: the node keeps serving everything else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;

use crate::support::{App, Dev, client, get, manifest, send_with, test_wasm};

#[tokio::test(flavor = "multi_thread")]
async fn bad_functions_fail_alone_while_normal_traffic_succeeds() {
    let manifest = manifest(
        &[
            ("normal", "handler.wasm", ""),
            ("sleepy", "handler.wasm", "timeout_ms = 200"),
            ("looping", "handler.wasm", "timeout_ms = 300"),
            ("hungry", "handler.wasm", "memory_mb = 32"),
            ("crashing", "handler.wasm", ""),
        ],
        &[
            ("GET /normal/{action}", "normal"),
            ("GET /sleepy/{action}", "sleepy"),
            ("GET /looping/{action}", "looping"),
            ("GET /hungry/{action}", "hungry"),
            ("GET /crashing/{action}", "crashing"),
        ],
    );
    let app = App::new(
        &manifest,
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Arc::new(Dev::start(&app));

    // A steady stream of normal requests for as long as the bad ones run.
    let stop = Arc::new(AtomicBool::new(false));
    let n_ok = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::new();
    for _ in 0..4 {
        let (dev, stop, n_ok) = (Arc::clone(&dev), Arc::clone(&stop), Arc::clone(&n_ok));
        streams.push(tokio::spawn(async move {
            let client = client();
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::get(dev.url("/normal/counter"))
                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                    .expect("request");
                let reply = send_with(&client, request).await;
                assert_eq!(
                    reply.status,
                    200,
                    "a normal request failed: {}",
                    reply.text()
                );
                assert_eq!(reply.json(), json!({"count": 1}));
                n_ok.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let bad = [
        (
            "/sleepy/sleep?ms=5000",
            504,
            json!({"message": "Endpoint request timed out"}),
        ),
        (
            "/looping/loop",
            504,
            json!({"message": "Endpoint request timed out"}),
        ),
        (
            "/hungry/oom",
            500,
            json!({"message": "Internal Server Error"}),
        ),
        (
            "/crashing/panic",
            500,
            json!({"message": "Internal Server Error"}),
        ),
    ];
    let mut bad_calls = Vec::new();
    for round in 0..3 {
        for (path, status, body) in bad.clone() {
            let url = dev.url(path);
            bad_calls.push(tokio::spawn(async move {
                let reply = get(&url).await;
                assert_eq!(
                    (reply.status, reply.json()),
                    (status, body),
                    "{path} (round {round})"
                );
            }));
        }
    }
    for call in bad_calls {
        call.await.expect("bad call task");
    }
    stop.store(true, Ordering::Relaxed);
    for stream in streams {
        stream.await.expect("normal stream task");
    }
    assert!(n_ok.load(Ordering::Relaxed) > 0);

    // The log names each failure with Lambda's error type.
    dev.wait_output("the failures in the log", |stdout, _| {
        ["Sandbox.Timedout", "Runtime.OutOfMemory", "Runtime.Trap"]
            .iter()
            .all(|error_type| stdout.contains(error_type))
    });
    // And the node still serves.
    assert_eq!(get(&dev.url("/normal/counter")).await.status, 200);
}
