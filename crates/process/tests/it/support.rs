//! What the tests share: hosts, code folders, invoking, and watching processes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use process::{
    ProcessFunction, ProcessFunctionConfig, ProcessHost, ProcessHostConfig, ProcessRuntime,
};
use runtime::{Invocation, InvokeMeta};
use serde_json::Value;

/// The endpoint every test environment is told.
pub const ENDPOINT: &str = "http://127.0.0.1:4566";

/// The tools folder all tests share, so the Python tools are installed once per machine.
pub fn tools_dir() -> PathBuf {
    std::env::temp_dir().join("rondo-process-tests-tools")
}

pub fn host(idle_timeout: Duration) -> ProcessHost {
    ProcessHost::new(ProcessHostConfig {
        tools_dir: tools_dir(),
        aws_endpoint_url: Some(ENDPOINT.to_owned()),
        credentials: ("test-key".to_owned(), "test-secret".to_owned()),
        idle_timeout,
        // These tests are about the Runtime API and the pool; sandboxes have tests of their own
        // (sandbox.rs), and the test bootstrap is a script for the host's Python.
        sandbox: false,
    })
}

/// The interpreter the test bootstrap runs on (an absolute path: environments get Lambda's
/// `PATH`, not the test's).
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let output = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 runs");
        String::from_utf8(output.stdout)
            .expect("a path")
            .trim()
            .to_owned()
    })
}

/// A code folder holding the test bootstrap (tests/it/bootstrap.py).
pub fn provided_code() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = format!("#!{}\n{}", python(), include_str!("bootstrap.py"));
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(&bootstrap, script).expect("write bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A code folder holding the given Python files.
pub fn python_code(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write module");
    }
    dir
}

pub fn config(name: &str, runtime: ProcessRuntime, code_dir: &Path) -> ProcessFunctionConfig {
    ProcessFunctionConfig {
        name: name.to_owned(),
        runtime,
        code_dir: code_dir.to_owned(),
        handler: None,
        memory_mb: 128,
        timeout_ms: 5_000,
        environment: Vec::new(),
        version: "v1".to_owned(),
        ephemeral_storage_mb: 512,
        outbound_network: false,
    }
}

/// Loads a function off the async threads, as the control plane does.
pub async fn load(host: &ProcessHost, config: ProcessFunctionConfig) -> ProcessFunction {
    let host = host.clone();
    tokio::task::spawn_blocking(move || host.load(config))
        .await
        .expect("load does not panic")
        .expect("the function loads")
}

pub fn provided(host: &ProcessHost, code: &Path) -> ProcessFunction {
    host.load(config("provided-fn", ProcessRuntime::Provided, code))
        .expect("the function loads")
}

pub async fn invoke(function: &ProcessFunction, event: Value) -> Invocation<Bytes> {
    let meta = InvokeMeta {
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    function.invoke(Bytes::from(event.to_string()), meta).await
}

/// The JSON a successful invocation answered.
pub fn json(invocation: &Invocation<Bytes>) -> Value {
    match &invocation.result {
        Ok(body) => serde_json::from_slice(body).expect("the function answers JSON"),
        Err(error) => panic!(
            "the invocation failed: {error:?}\nlogs: {:?}",
            invocation.report.logs
        ),
    }
}

/// Whether a process is gone (or a zombie about to be reaped).
pub fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// Waits (a few seconds at most) until `condition` holds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn log_texts(invocation: &Invocation<Bytes>) -> Vec<String> {
    invocation
        .report
        .logs
        .iter()
        .map(|line| line.text.clone())
        .collect()
}
