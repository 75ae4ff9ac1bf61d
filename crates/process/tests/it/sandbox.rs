//! A hostile Python handler in rondo's sandbox: reading rondo's data, the host's secrets and
//! another function's code, killing rondo, reaching the network, a fork bomb, filling `/tmp`,
//! making namespaces and mounting all fail, and the host (this test process) keeps going.
//!
//! The sandbox needs root and bubblewrap; these tests install bubblewrap when it is missing and
//! fail, saying why, where the host cannot run sandboxes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use process::{ProcessHost, ProcessHostConfig, ProcessRuntime, limits};
use serde_json::{Value, json};

use crate::support::{self, config, invoke};

/// Installs bubblewrap with apt-get when it is missing (the sandbox's first and last steps).
fn ensure_bubblewrap() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if Path::new("/usr/bin/bwrap").exists() {
            return;
        }
        let status = std::process::Command::new("apt-get")
            .args(["install", "-y", "-q", "bubblewrap"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("apt-get runs (the sandbox tests install bubblewrap)");
        assert!(status.success(), "apt-get install bubblewrap failed");
    });
}

/// A host that sandboxes, whose AWS endpoint is `endpoint`.
fn sandboxed_host(endpoint: &str) -> ProcessHost {
    ensure_bubblewrap();
    ProcessHost::new(ProcessHostConfig {
        tools_dir: support::tools_dir(),
        aws_endpoint_url: Some(endpoint.to_owned()),
        credentials: ("test-key".to_owned(), "test-secret".to_owned()),
        idle_timeout: Duration::from_secs(60),
        sandbox: true,
    })
}

/// A code folder readable by others (as Lambda requires) holding `files`.
fn readable_code(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A stand-in for rondo's AWS endpoint: answers each line with `pong`.
fn endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

fn serve_pongs(listener: TcpListener) {
    // Owner: the test process; it answers until the test binary exits.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_ok() {
                let mut stream = stream;
                let _ = stream.write_all(b"pong\n");
            }
        }
    });
}

async fn attack(function: &process::ProcessFunction, event: Value) -> Value {
    support::json(&invoke(function, event).await)
}

fn refused(answer: &Value, what: &str) {
    assert_eq!(
        answer["ok"], false,
        "{what} must fail in the sandbox: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_handler_gets_nothing_and_the_host_keeps_going() {
    let (listener, url) = endpoint();
    let endpoint_port = listener.local_addr().expect("address").port();
    serve_pongs(listener);
    let host = sandboxed_host(&url);

    // What the handler must not reach: rondo's data folder, another function's code.
    let data = tempfile::tempdir().expect("data folder");
    let store = data.path().join("store.redb");
    std::fs::write(&store, "every item of every table").expect("write store");
    let other = readable_code(&[("secret.py", "API_KEY = 'other function'")]);

    let code = readable_code(&[("hostile.py", include_str!("hostile.py"))]);
    let mut hostile = config("hostile", ProcessRuntime::Python3, code.path());
    hostile.handler = Some("hostile.handler".to_owned());
    hostile.timeout_ms = 60_000;
    // The fork bomb's children are small, but the watchdog counts each one's resident pages.
    hostile.memory_mb = 4096;
    let function = support::load(&host, hostile).await;
    assert_eq!(
        host.sandbox_status(),
        Some(Ok(())),
        "this host must run sandboxes (root, bubblewrap, user namespaces)"
    );

    // Who it is: a uid of its own, not root; Lambda's paths.
    let me = attack(&function, json!({"attack": "whoami"})).await;
    let uid = me["uid"].as_u64().expect("a uid");
    assert!(
        uid >= u64::from(limits::SANDBOX_UID_FIRST),
        "runs as a sandbox uid, not the host's: {me}"
    );
    assert_eq!(me["gid"], me["uid"]);
    assert_eq!(me["groups"], json!([]));
    assert_eq!(me["task_root"], "/var/task");
    assert_eq!(me["cwd"], "/var/task");
    assert_eq!(me["hostname"], "localhost");

    // Files: rondo's store, the host's passwords, another function's code, the host's root.
    for path in [
        store.display().to_string(),
        "/etc/shadow".to_owned(),
        other.path().join("secret.py").display().to_string(),
        "/root/.bash_history".to_owned(),
    ] {
        let answer = attack(&function, json!({"attack": "read", "path": path})).await;
        refused(&answer, &format!("reading {path}"));
    }
    let root = attack(&function, json!({"attack": "list", "path": "/"})).await;
    let names: Vec<&str> = root["value"]
        .as_array()
        .expect("the root lists")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in ["home", "srv", "opt", "mnt", "media"] {
        assert!(!names.contains(&name), "/{name} is not shown: {root}");
    }
    // `/root` is there only when the interpreter lives under it (pyenv's), holding only that.
    if names.contains(&"root") {
        let home = attack(&function, json!({"attack": "list", "path": "/root"})).await;
        assert_eq!(home["value"], json!([".pyenv"]), "{home}");
    }
    let processes = attack(&function, json!({"attack": "list", "path": "/proc"})).await;
    let pids = processes["value"]
        .as_array()
        .expect("/proc lists")
        .iter()
        .filter(|name| {
            name.as_str()
                .is_some_and(|name| name.parse::<u32>().is_ok())
        })
        .count();
    assert!(pids < 10, "only the sandbox's own processes: {processes}");
    let code_write = attack(
        &function,
        json!({"attack": "write", "path": "/var/task/hostile.py"}),
    )
    .await;
    refused(&code_write, "changing its own code");

    // Signals: this process (rondo's stand-in) is not even visible.
    let kill = attack(
        &function,
        json!({"attack": "kill", "pid": std::process::id()}),
    )
    .await;
    refused(&kill, "killing rondo");

    // The network: nothing but the AWS endpoint, reached through the sandbox's forwarder.
    let aws = attack(
        &function,
        json!({"attack": "connect", "host": "127.0.0.1", "port": endpoint_port}),
    )
    .await;
    assert_eq!(
        aws["value"], "pong\n",
        "the AWS endpoint is reachable: {aws}"
    );
    let host_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let host_port = host_listener.local_addr().expect("address").port();
    let local = attack(
        &function,
        json!({"attack": "connect", "host": "127.0.0.1", "port": host_port}),
    )
    .await;
    refused(&local, "reaching another port of the host");
    let outside = attack(
        &function,
        json!({"attack": "connect", "host": "192.0.2.1", "port": 80}),
    )
    .await;
    refused(&outside, "reaching the outside");

    // The kernel: no namespaces, no mounts.
    refused(
        &attack(&function, json!({"attack": "unshare"})).await,
        "making a user namespace",
    );
    refused(
        &attack(&function, json!({"attack": "mount"})).await,
        "mounting",
    );

    // A fork bomb stops at Lambda's process limit.
    let bomb = attack(&function, json!({"attack": "fork_bomb"})).await;
    let children = bomb["children"].as_u64().expect("a count");
    assert!(
        children < u64::from(limits::SANDBOX_PROCESSES_MAX),
        "the fork bomb is stopped: {bomb}"
    );
    assert_eq!(bomb["refused"], "EAGAIN", "{bomb}");
    assert!(
        std::process::Command::new("true")
            .status()
            .expect("the host still starts processes")
            .success()
    );

    // /tmp fills up at its size and no further.
    let fill = attack(&function, json!({"attack": "fill_tmp"})).await;
    let written = fill["written"].as_u64().expect("bytes");
    let limit = u64::from(limits::EPHEMERAL_STORAGE_MB_DEFAULT) * 1024 * 1024;
    assert!(
        written <= limit && written + 2 * 1024 * 1024 >= limit,
        "{written} bytes went into a /tmp of {limit}: {fill}"
    );
    assert_eq!(fill["refused"], "ENOSPC", "{fill}");

    // And it still answers.
    let again = attack(&function, json!({"attack": "whoami"})).await;
    assert_eq!(again["uid"], me["uid"], "the same warm environment");
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_run_as_different_users_and_a_function_with_outbound_access_shares_the_network()
 {
    let (listener, url) = endpoint();
    serve_pongs(listener);
    let host = sandboxed_host(&url);
    let code = readable_code(&[("hostile.py", include_str!("hostile.py"))]);
    let mut online = config("online", ProcessRuntime::Python3, code.path());
    online.handler = Some("hostile.handler".to_owned());
    online.outbound_network = true;
    let online = support::load(&host, online).await;
    let host_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let host_port = host_listener.local_addr().expect("address").port();
    serve_pongs(host_listener);
    let reached = attack(
        &online,
        json!({"attack": "connect", "host": "127.0.0.1", "port": host_port}),
    )
    .await;
    assert_eq!(reached["value"], "pong\n", "{reached}");
    let first = attack(&online, json!({"attack": "whoami"})).await;

    let mut offline = config("offline", ProcessRuntime::Python3, code.path());
    offline.handler = Some("hostile.handler".to_owned());
    let offline = support::load(&host, offline).await;
    let second = attack(&offline, json!({"attack": "whoami"})).await;
    assert_ne!(
        first["uid"], second["uid"],
        "each environment has a uid of its own"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn code_the_sandbox_user_cannot_read_is_refused_at_load() {
    let (_listener, url) = endpoint();
    let host = sandboxed_host(&url);
    let code = readable_code(&[("app.py", "def handler(event, context):\n    return 1\n")]);
    std::fs::set_permissions(
        code.path().join("app.py"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let mut function = config("private", ProcessRuntime::Python3, code.path());
    function.handler = Some("app.handler".to_owned());
    let host2 = host.clone();
    let error = tokio::task::spawn_blocking(move || host2.load(function))
        .await
        .expect("load does not panic")
        .err()
        .expect("the load fails");
    let message = error.to_string();
    assert!(
        message.contains("app.py: not readable by the function's sandbox user"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_folder_named_by_a_relative_path_runs_in_the_sandbox() {
    // `rondo dev examples/cart-python` names its code folders relative to where rondo runs, and
    // the sandbox starts in `/`.
    let (_listener, url) = endpoint();
    let host = sandboxed_host(&url);
    // A folder in the target folder, named from the test's working folder (the crate's): from
    // `/`, the same relative path names nothing.
    let code = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let handler = "def handler(event, context):\n    return event\n";
    std::fs::write(code.path().join("app.py"), handler).expect("write");
    std::fs::set_permissions(code.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cwd = std::env::current_dir().expect("the working folder");
    let shared = cwd
        .ancestors()
        .find(|ancestor| code.path().starts_with(ancestor))
        .expect("a common ancestor");
    let up: std::path::PathBuf = cwd
        .strip_prefix(shared)
        .expect("below it")
        .components()
        .map(|_| "..")
        .collect();
    let relative = up.join(code.path().strip_prefix(shared).expect("below it"));
    assert!(
        !Path::new("/").join(&relative).exists(),
        "names nothing from /"
    );
    assert!(
        relative.is_relative() && relative.is_dir(),
        "{}",
        relative.display()
    );
    let mut function = config("relative", ProcessRuntime::Python3, &relative);
    function.handler = Some("app.handler".to_owned());
    let function = support::load(&host, function).await;
    assert_eq!(attack(&function, json!({"n": 1})).await, json!({"n": 1}));
}
