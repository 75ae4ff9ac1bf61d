//! `rondo dev` as a user meets it: start-up errors, invocation logs, Ctrl-C.

use std::time::Duration;

use crate::support::{App, Dev, get, manifest, rondo, test_wasm, tester_app};

/// Runs `rondo dev` expecting it to fail at start-up; returns its stderr.
fn failing_start(app: &App, extra: &[&str]) -> String {
    let output = rondo()
        .arg("dev")
        .arg(app.path())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--aws-listen",
            "127.0.0.1:0",
            "--no-watch",
        ])
        .args(extra)
        .output()
        .expect("run rondo dev");
    assert!(!output.status.success(), "rondo dev should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_one_line(stderr: &str, needle: &str) {
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr:?}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line, no backtrace: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_module_is_one_line() {
    let app = App::new(&manifest(&[("f", "missing.wasm", "")], &[]), &[]);
    let stderr = failing_start(&app, &[]);
    assert_one_line(&stderr, "function \"f\"");
    assert!(stderr.contains("missing.wasm"), "{stderr}");
}

#[test]
fn invalid_module_is_one_line() {
    let app = App::new(&manifest(&[("f", "bad.wasm", "")], &[]), &[]);
    std::fs::write(app.path().join("bad.wasm"), b"this is not wasm").expect("write");
    assert_one_line(&failing_start(&app, &[]), "not a WebAssembly file");
    // A core module is not a component.
    std::fs::write(app.path().join("bad.wasm"), b"\0asm\x01\0\0\0").expect("write");
    assert_one_line(&failing_start(&app, &[]), "not a WebAssembly component");
}

#[test]
fn a_missing_static_folder_is_one_line() {
    let text = manifest(&[("f", "f.wasm", "")], &[]) + "\n[static]\ndir = \"public\"\n";
    let app = App::new(&text, &[("f.wasm", test_wasm("test_handler.wasm"))]);
    let stderr = failing_start(&app, &[]);
    assert_one_line(&stderr, "[static]");
    assert!(stderr.contains("public"), "{stderr}");
}

/// What the manifest declares but this release does not act on is printed at load, naming
/// the file, line and column, and the app still starts.
#[test]
fn inert_declarations_are_printed_as_warnings() {
    let text = manifest(&[("f", "f.wasm", "")], &[]) + "\n[queue.orders]\n";
    let app = App::new(&text, &[("f.wasm", test_wasm("test_handler.wasm"))]);
    let dev = Dev::start(&app);
    dev.wait_output("the queue's warning", |_, stderr| {
        stderr.lines().any(|line| {
            line.starts_with("warning: ") && line.contains("rondo.toml:9:1: queue \"orders\"")
        })
    });
}

#[test]
fn manifest_errors_name_file_line_and_column() {
    let text = "[app]\nname = \"t\"\n\n[function.f]\nwasm = \"f.wasm\"\ntimeout_ms = 0\n";
    let app = App::new(text, &[]);
    let stderr = failing_start(&app, &[]);
    assert_one_line(
        &stderr,
        "rondo.toml:6:14: function \"f\": timeout_ms must be 1..=900000",
    );
}

#[test]
fn port_in_use_is_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let app = App::new(
        &manifest(&[("f", "f.wasm", "")], &[]),
        &[("f.wasm", test_wasm("test_handler.wasm"))],
    );
    let output = rondo()
        .arg("dev")
        .arg(app.path())
        .args([
            "--listen",
            &address,
            "--aws-listen",
            "127.0.0.1:0",
            "--no-watch",
        ])
        .output()
        .expect("run rondo dev");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    assert!(
        error_lines[0].contains(&address) && error_lines[0].contains("--listen"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invocation_logs_look_like_lambdas() {
    let app = tester_app();
    let dev = Dev::start(&app);
    let first = get(&dev.url("/t/log")).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let second = get(&dev.url("/t/log")).await;
    let first_id = first
        .header("apigw-requestid")
        .expect("request id")
        .to_owned();
    let second_id = second
        .header("apigw-requestid")
        .expect("request id")
        .to_owned();
    dev.wait_output("both invocations' REPORT lines", |stdout, _| {
        stdout.contains(&format!("REPORT RequestId: {first_id}"))
            && stdout.contains(&format!("REPORT RequestId: {second_id}"))
    });
    let stdout = dev.stdout();
    assert!(
        stdout.contains(&format!("START RequestId: {first_id} Version: ")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("END RequestId: {first_id}")),
        "{stdout}"
    );
    let report = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("REPORT RequestId: {id}")))
            .expect("report")
            .to_owned()
    };
    let first_report = report(&first_id);
    for field in [
        "Duration: ",
        "Billed Duration: ",
        "Memory Size: 128 MB",
        "Max Memory Used: ",
    ] {
        assert!(first_report.contains(field), "{field:?} in {first_report}");
    }
    // A wasm function's code is ready before its first invocation: no cold start, no init.
    for id in [&first_id, &second_id] {
        assert!(!report(id).contains("Init Duration"), "{}", report(id));
    }
    // The function's own lines, tagged with the request id and level, between START and END.
    assert!(
        stdout.contains(&format!("\t{first_id}\tINFO\t")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\t{first_id}\tWARN\t")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\t{first_id}\tERROR\t")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_drains_in_flight_requests() {
    let app = tester_app();
    let mut dev = Dev::start(&app);
    let url = dev.url("/t/sleep?ms=2500");
    let in_flight = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    dev.interrupt();
    let reply = in_flight.await.expect("request task");
    assert_eq!(
        reply.status,
        200,
        "the in-flight request finished: {}",
        reply.text()
    );
    let status = dev.child.wait().expect("wait");
    assert!(
        status.success(),
        "rondo dev exits cleanly after draining: {status}"
    );
    // New connections are refused once it has stopped.
    assert!(std::net::TcpStream::connect(dev.gateway.trim_start_matches("http://")).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_code_is_cached_across_restarts() {
    let app = tester_app();
    let cache = app.path().join(".rondo/cache");
    let n_cached = || count_compiled_artifacts(&cache);
    {
        let dev = Dev::start(&app);
        assert_eq!(get(&dev.url("/t/counter")).await.status, 200);
    }
    let after_first = n_cached();
    assert!(
        after_first > 0,
        "the first start wrote compiled code under {}",
        cache.display()
    );
    let dev = Dev::start(&app);
    assert_eq!(get(&dev.url("/t/counter")).await.status, 200);
    assert_eq!(
        n_cached(),
        after_first,
        "a restart reuses the cached code instead of adding more"
    );
}

/// Compiled artifacts under `dir` (wasmtime's cache also keeps `.stats` files and per-process
/// `.cleanup.wip-*` markers, which come and go on their own).
fn count_compiled_artifacts(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                count_compiled_artifacts(&path)
            } else {
                usize::from(!name.contains('.'))
            }
        })
        .sum()
}
