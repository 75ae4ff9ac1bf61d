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

#[tokio::test(flavor = "multi_thread")]
async fn sandboxes_die_with_a_killed_rondo() {
    let text = format!(
        "[app]\nname = \"orphans\"\n\n{}",
        python_function("hostile", "hostile", "hostile.handler", "")
    );
    let app = process_app(
        &text,
        &[(
            "hostile/hostile.py",
            repo().join("crates/process/tests/it/hostile.py"),
        )],
    );
    let mut dev = start(&app);
    let client = lambda(&dev);
    let me = invoke(&client, "hostile", json!({"attack": "whoami"})).await;
    assert_ne!(me.expect_ok()["uid"], 0);
    let rondo = dev.child.id();
    let sandboxed = descendants(rondo);
    assert!(
        sandboxed.len() >= 3,
        "the warm environment's sandbox is running: {sandboxed:?}"
    );

    // SIGKILL: no destructor runs; the sandbox's first bubblewrap dies with its parent thread.
    dev.child.kill().expect("kill rondo");
    dev.child.wait().expect("reap rondo");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let alive: Vec<u32> = sandboxed
            .iter()
            .copied()
            .filter(|pid| is_running(*pid))
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sandbox processes outlived rondo: {alive:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Every process below `pid` (its children, theirs, and so on).
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            let parent = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, of)| *of == parent)
                .map(|(child, _)| *child),
        );
        index += 1;
    }
    found.remove(0);
    found
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}
