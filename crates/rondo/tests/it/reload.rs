//! Dev mode reloads: new code and new configuration serve without a failed request; a broken
//! change keeps the previous version serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{App, Dev, client, get, manifest, send_with, test_wasm};

async fn wait_until_body(dev: &Dev, path: &str, condition: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = get(&dev.url(path)).await;
        if condition(&reply.text()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw the change on {path}; last answer: {}\nstderr:\n{}",
            reply.text(),
            dev.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn new_code_serves_without_a_failed_request() {
    let wasi_http = std::fs::read(test_wasm("test_http.wasm")).expect("read");
    let handler = std::fs::read(test_wasm("test_handler.wasm")).expect("read");
    let app = App::new(
        &manifest(&[("app", "app.wasm", "")], &[("GET /{action}", "app")]),
        &[],
    );
    app.replace("app.wasm", &wasi_http);
    let dev = Arc::new(Dev::start(&app));

    let stop = Arc::new(AtomicBool::new(false));
    let n_requests = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::new();
    for _ in 0..4 {
        let (dev, stop, n_requests) =
            (Arc::clone(&dev), Arc::clone(&stop), Arc::clone(&n_requests));
        streams.push(tokio::spawn(async move {
            let client = client();
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::get(dev.url("/echo"))
                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                    .expect("request");
                let reply = send_with(&client, request).await;
                assert_eq!(
                    reply.status,
                    200,
                    "a request failed during the swap: {}",
                    reply.text()
                );
                n_requests.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The wasi:http echo answers with the method; the handler-world echo with the 2.0 event.
    wait_until_body(&dev, "/echo", |body| body.contains("\"method\"")).await;
    app.replace("app.wasm", &handler);
    wait_until_body(&dev, "/echo", |body| body.contains("\"routeKey\"")).await;
    // And back, writing in place this time (a partial file must not take the old one down).
    std::fs::write(app.path().join("app.wasm"), &wasi_http).expect("write");
    wait_until_body(&dev, "/echo", |body| body.contains("\"method\"")).await;
    stop.store(true, Ordering::Relaxed);
    for stream in streams {
        stream.await.expect("request stream");
    }
    assert!(n_requests.load(Ordering::Relaxed) > 0);
    assert!(dev.stderr().contains("reloaded app"), "{}", dev.stderr());
    // Once the files stop changing, so do the reloads (reading a module is not a change):
    // the count of reloads settles instead of growing for ever.
    let n_reloads = || dev.stderr().matches("reloaded app").count();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = n_reloads();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = n_reloads();
        if now == last {
            break;
        }
        last = now;
        assert!(
            Instant::now() < deadline,
            "reloads go on without changes: {}",
            dev.stderr()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_changes_apply_and_broken_ones_are_refused() {
    let with_greeting = |greeting: &str| {
        manifest(
            &[(
                "tester",
                "handler.wasm",
                &format!("environment = {{ GREETING = \"{greeting}\" }}"),
            )],
            &[("GET /t/{action}", "tester")],
        )
    };
    let app = App::new(
        &with_greeting("one"),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    wait_until_body(&dev, "/t/env", |body| body.contains("\"one\"")).await;

    app.replace("rondo.toml", with_greeting("two").as_bytes());
    wait_until_body(&dev, "/t/env", |body| body.contains("\"two\"")).await;

    app.replace(
        "rondo.toml",
        b"[app]\nname = \"test\"\n[function.tester]\nwasm = \"handler.wasm\"\ntimeout_ms = -5\n",
    );
    dev.wait_output("the manifest error", |_, stderr| {
        stderr.contains("rondo.toml:5:14")
    });
    assert!(
        dev.stderr().contains("kept the previous version serving"),
        "{}",
        dev.stderr()
    );
    let reply = get(&dev.url("/t/env")).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("\"two\""), "{}", reply.text());

    app.replace("rondo.toml", with_greeting("three").as_bytes());
    wait_until_body(&dev, "/t/env", |body| body.contains("\"three\"")).await;
    app.replace("handler.wasm", b"not wasm any more");
    dev.wait_output("the module error", |_, stderr| {
        stderr.contains("not a WebAssembly file")
    });
    assert_eq!(
        get(&dev.url("/t/env")).await.status,
        200,
        "the old code keeps serving"
    );
}
