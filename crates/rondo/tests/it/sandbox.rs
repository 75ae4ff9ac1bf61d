//! A hostile Python handler run by `rondo dev`: it cannot read rondo's store, kill rondo or reach
//! its gateway, while rondo keeps serving everything else. (The sandbox's every wall is tested in
//! crates/process/tests/it/sandbox.rs; this is the same attack on the whole node.)

use serde_json::{Value, json};

use crate::support::get;
use crate::support::process::{invoke, lambda, process_app, python_function, start};
use crate::support::{manifest, repo, test_wasm};

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_function_cannot_touch_the_node_that_runs_it() {
    let mut text = manifest(
        &[("normal", "handler.wasm", "")],
        &[("GET /normal/{action}", "normal")],
    );
    text.push_str(&python_function(
        "hostile",
        "hostile",
        "hostile.handler",
        "timeout_ms = 30000",
    ));
    let app = process_app(
        &text,
        &[
            (
                "hostile/hostile.py",
                repo().join("crates/process/tests/it/hostile.py"),
            ),
            ("handler.wasm", test_wasm("test_handler.wasm")),
        ],
    );
    let mut dev = start(&app);
    let client = lambda(&dev);
    let attack = |event: Value| {
        let client = client.clone();
        async move { invoke(&client, "hostile", event).await.expect_ok().clone() }
    };

    let me = attack(json!({"attack": "whoami"})).await;
    assert_ne!(me["uid"], 0, "the function does not run as root: {me}");
    assert!(
        !dev.stderr().contains("WITHOUT A SANDBOX"),
        "this host runs sandboxes: {}",
        dev.stderr()
    );

    // rondo's store: every file of its data folder.
    let data = app.path().join(".rondo");
    let files: Vec<_> = walk(&data);
    assert!(!files.is_empty(), "the node has a data folder");
    for file in files {
        let answer = attack(json!({"attack": "read", "path": file})).await;
        assert_eq!(answer["ok"], false, "reading {file}: {answer}");
    }
    // rondo itself.
    let kill = attack(json!({"attack": "kill", "pid": dev.child.id()})).await;
    assert_eq!(kill["ok"], false, "killing rondo: {kill}");
    // rondo's gateway, on the host's loopback.
    let port: u16 = dev
        .gateway
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("the gateway's port");
    let connect = attack(json!({"attack": "connect", "host": "127.0.0.1", "port": port})).await;
    assert_eq!(connect["ok"], false, "reaching the gateway: {connect}");

    // rondo serves on.
    assert!(dev.child.try_wait().expect("rondo's status").is_none());
    let reply = get(&dev.url("/normal/echo")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// Every file under `folder`, as text paths.
fn walk(folder: &std::path::Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)
                .expect("read the data folder")
                .flatten()
            {
                pending.push(entry.path());
            }
        } else {
            files.push(path.display().to_string());
        }
    }
    files
}
