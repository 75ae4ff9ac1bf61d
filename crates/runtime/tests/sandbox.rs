//! Hostile wasm guests (issue 14): the `test_hostile` guest tries to reach what a function must not
//! see (the host's files, sockets, name resolution, the host's environment, the host's time zone,
//! stdin) and the runtime must refuse each attempt, then go on serving.
//!
//! What the runtime links: all of WASI 0.2 (`wasmtime_wasi::p2`: filesystem, sockets, clocks,
//! random, cli), `wasi:http` and the handler world. A guest that uses `std::fs` or `std::net`
//! therefore loads (the guest imports `wasi:filesystem` and `wasi:sockets`), and the refusal comes
//! from each instance's `WasiCtx`: no preopened folder, TCP, UDP and name lookup disabled, every
//! socket address denied. A component importing an interface the runtime does not link at all
//! fails at load, naming it.
//!
//! The guest reports each refusal as data (`{"error": {"kind", "message", "os"}}`), so the tests
//! assert the exact `std::io::ErrorKind` std on `wasm32-wasip2` maps WASI's error to.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use runtime::{Function, FunctionConfig, InvokeMeta, LoadError, Runtime, RuntimeConfig, Tier};
use serde_json::{Value, json};

/// The handler-world guest of hostile actions (`test-programs/handler/examples/hostile.rs`).
const GUEST: &str = "test_hostile.wasm";

fn guest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-programs/wasm")
        .join(GUEST)
}

fn guest_bytes() -> Vec<u8> {
    std::fs::read(guest_path()).expect("the test guests are committed")
}

fn runtime() -> Runtime {
    Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: None,
        connections: None,
    })
    .expect("the runtime starts")
}

/// The declared `environment` of the hostile function.
fn declared_environment() -> Vec<(String, String)> {
    vec![
        ("TABLE_NAME".to_owned(), "carts".to_owned()),
        ("GREETING".to_owned(), "hello from the manifest".to_owned()),
    ]
}

/// The declared `environment` as the guest reports it: a JSON object.
fn declared_config() -> Value {
    declared_environment()
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect()
}

fn config() -> FunctionConfig {
    FunctionConfig {
        name: "hostile".to_owned(),
        memory_mb: 128,
        timeout_ms: 10_000,
        environment: declared_environment(),
        allowed_outbound_hosts: Vec::new(),
    }
}

fn load() -> Function {
    runtime()
        .load(&config(), &guest_bytes(), Tier::Optimized)
        .expect("the guest loads")
}

/// Invokes `function` on `event` and returns its (successful) JSON answer.
async fn call(function: &Function, event: Value) -> Value {
    let meta = InvokeMeta {
        request_id: format!("hostile-{}", event["action"]),
    };
    let invocation = function.invoke(event.to_string().as_bytes(), meta).await;
    let output = invocation
        .result
        .unwrap_or_else(|error| panic!("{event} failed as an invocation: {error:?}"));
    serde_json::from_slice(&output).expect("the guest answers JSON")
}

/// The `std::io::ErrorKind` (as its debug name) an attempt was refused with; panics, naming what
/// it reached, if the attempt succeeded.
fn refusal(answer: &Value, attempt: &str) -> String {
    let Some(kind) = answer["error"]["kind"].as_str() else {
        panic!("{attempt} was not refused: {answer}");
    };
    kind.to_owned()
}

/// After the hostile attempts the function still serves: a fresh instance answers normally.
async fn assert_still_serves(function: &Function) {
    let answer = call(function, json!({"action": "counter"})).await;
    assert_eq!(answer, json!({"count": 1}), "a fresh instance serves");
    let answer = call(function, json!({"action": "config"})).await;
    assert_eq!(answer["config"], declared_config(), "{answer}");
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("rondo-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stand-in for an app folder (its `rondo.toml`) and rondo's data folder in it (`.rondo`, the
/// default, with a store file): files a function must not read.
fn data_folder() -> TempDir {
    let dir = TempDir::new("hostile-data");
    std::fs::write(dir.0.join("rondo.toml"), "[app]\nname = \"secret\"\n").expect("a file");
    std::fs::create_dir_all(dir.0.join(".rondo")).expect("a folder");
    std::fs::write(dir.0.join(".rondo/store.redb"), b"the store").expect("a file");
    dir
}

/// No preopened folder: no path names anything, absolute or relative, so every read, listing and
/// write fails with `ENOENT` (wasi-libc finds no preopen to resolve it in), whatever the host has
/// there: its files, the component's own file, the app's folder, rondo's data folder.
#[tokio::test]
async fn the_guest_sees_no_files() {
    let function = load();
    let data = data_folder();
    let module = guest_path()
        .canonicalize()
        .expect("the guest's path resolves")
        .display()
        .to_string();
    let app_path = data.0.display().to_string();
    let data_path = data.0.join(".rondo").display().to_string();
    let manifest_path = data.0.join("rondo.toml").display().to_string();
    let store_path = data.0.join(".rondo/store.redb").display().to_string();
    let planted_path = data.0.join("planted").display().to_string();
    // The host reads these: what the guest is refused exists.
    for path in ["/etc/passwd", &module, &manifest_path, &store_path] {
        std::fs::read(path).unwrap_or_else(|error| panic!("the host reads {path}: {error}"));
    }

    let unreadable = [
        "/etc/passwd",
        "/etc/localtime",
        "/proc/self/environ",
        &module,
        &manifest_path,
        &store_path,
        "rondo.toml",
        "./test_hostile.wasm",
        "../../../etc/passwd",
    ];
    for path in unreadable {
        let answer = call(&function, json!({"action": "read_file", "path": path})).await;
        assert_eq!(refusal(&answer, &format!("reading {path}")), "NotFound");
    }
    for path in ["/", ".", "..", "/tmp", "/etc", &app_path, &data_path] {
        let answer = call(&function, json!({"action": "list_dir", "path": path})).await;
        assert_eq!(refusal(&answer, &format!("listing {path}")), "NotFound");
    }
    for path in ["/tmp/hostile", "hostile", &planted_path] {
        let answer = call(&function, json!({"action": "write_file", "path": path})).await;
        assert_eq!(refusal(&answer, &format!("writing {path}")), "NotFound");
    }
    assert!(!data.0.join("planted").exists(), "nothing was written");
    assert!(!Path::new("hostile").exists(), "nothing was written");
    assert_still_serves(&function).await;
}

/// `wasi:sockets` is linked (the guest imports it, and loads), and every use is refused: a TCP
/// connection to the test's own loopback listener or to the outside, a TCP listener, a UDP
/// socket, and name resolution. Nothing reaches the test's sockets.
#[tokio::test]
async fn the_guest_opens_no_socket_and_resolves_no_name() {
    let bytes = guest_bytes();
    for interface in [
        "wasi:sockets/tcp@0.2",
        "wasi:sockets/udp@0.2",
        "wasi:sockets/ip-name-lookup@0.2",
    ] {
        assert!(
            contains(&bytes, interface.as_bytes()),
            "the guest imports {interface}"
        );
    }
    let function = load();
    let tcp = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    tcp.set_nonblocking(true).expect("non-blocking");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    udp.set_nonblocking(true).expect("non-blocking");
    let tcp_addr = tcp.local_addr().expect("an address").to_string();
    let udp_addr = udp.local_addr().expect("an address").to_string();

    // WASI's `access-denied`, which std reports as `PermissionDenied` (WASI errno 2, EACCES).
    for addr in [tcp_addr.as_str(), "1.1.1.1:443", "[::1]:80"] {
        let answer = call(&function, json!({"action": "connect", "addr": addr})).await;
        assert_eq!(
            refusal(&answer, &format!("connecting to {addr}")),
            "PermissionDenied"
        );
    }
    for addr in ["127.0.0.1:0", "0.0.0.0:8080"] {
        let answer = call(&function, json!({"action": "listen", "addr": addr})).await;
        assert_eq!(
            refusal(&answer, &format!("listening on {addr}")),
            "PermissionDenied"
        );
    }
    for addr in [udp_addr.as_str(), "1.1.1.1:53"] {
        let answer = call(&function, json!({"action": "udp", "addr": addr})).await;
        assert_eq!(
            refusal(&answer, &format!("sending to {addr}")),
            "PermissionDenied"
        );
    }
    // WASI's `permanent-resolver-failure`; the host resolves nothing (an IP literal is only parsed
    // by the guest, so it is no lookup and not tried here).
    for host in ["localhost", "example.com"] {
        let answer = call(&function, json!({"action": "resolve", "host": host})).await;
        assert_eq!(
            refusal(&answer, &format!("resolving {host}")),
            "Uncategorized"
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Non-recoverable"), "{answer}");
    }

    assert_eq!(
        tcp.accept()
            .map(|(_, peer)| peer)
            .map_err(|error| error.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "nothing connected to the test's listener"
    );
    let mut buffer = [0_u8; 64];
    assert_eq!(
        udp.recv_from(&mut buffer)
            .map(|(_, peer)| peer)
            .map_err(|error| error.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "nothing reached the test's UDP socket"
    );
    assert_still_serves(&function).await;
}

/// Set in the child: a variable of the host process the guest must not see, and its value.
const HOST_SECRET_VAR: &str = "RONDO_SANDBOX_HOST_SECRET";
const HOST_SECRET_VALUE: &str = "the-host-process-only-3f9a";
/// This test's name, to run it alone in the child.
const ENV_TEST_NAME: &str = "the_guest_sees_exactly_its_declared_environment";

/// The guest's environment is exactly the function's declared `environment`: nothing of the
/// host's (the test runs itself again as a child with a distinctive variable set, since setting
/// one in this process needs `unsafe`), no arguments, `/` as its working folder (wasi-libc's
/// default: rondo gives none), and the `config` import agrees.
#[tokio::test]
async fn the_guest_sees_exactly_its_declared_environment() {
    if let Some(value) = std::env::var_os(HOST_SECRET_VAR) {
        assert_eq!(value, HOST_SECRET_VALUE);
        check_the_guest_environment().await;
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args(["--exact", ENV_TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(HOST_SECRET_VAR, HOST_SECRET_VALUE)
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test:\n{stdout}"
    );
}

async fn check_the_guest_environment() {
    let function = load();
    let answer = call(&function, json!({"action": "env_all"})).await;
    assert_eq!(answer["env"], declared_config(), "{answer}");
    assert_eq!(answer["env"].get(HOST_SECRET_VAR), None);
    for (name, _) in std::env::vars() {
        assert_eq!(answer["env"].get(&name), None, "the host's {name} leaked");
    }
    assert_eq!(answer["args"], json!([]));
    assert_eq!(answer["cwd"], json!("/"));
    let answer = call(&function, json!({"action": "config"})).await;
    assert_eq!(answer["config"], declared_config());
    assert_still_serves(&function).await;
}

/// The clocks are the host's, as on Lambda: the wall clock is the real time (UTC; WASI has no
/// time zone, rondo links no `wasi:clocks/timezone`, and neither `TZ` nor `/etc/localtime`
/// reaches the guest, so the host's zone is not visible); the monotonic clock starts with each
/// instance, so it tells nothing of the host's uptime or of other invocations. Both advance.
#[tokio::test]
async fn the_guest_sees_utc_wall_time_and_its_own_monotonic_clock() {
    let function = load();
    let before_ms = unix_ms(SystemTime::now());
    let event = json!({"action": "clocks"}).to_string();
    let meta = InvokeMeta {
        request_id: "hostile-clocks".to_owned(),
    };
    let invocation = function.invoke(event.as_bytes(), meta).await;
    let after_ms = unix_ms(SystemTime::now());
    let output = invocation.result.expect("the clocks are read");
    let answer: Value = serde_json::from_slice(&output).expect("the guest answers JSON");
    let wall_ms = answer["wallMs"].as_u64().expect("wallMs");
    assert!(
        (before_ms..=after_ms).contains(&wall_ms),
        "the guest's wall clock {wall_ms} is the host's ({before_ms}..={after_ms})"
    );
    // The instance's WASI context, and with it the monotonic clock's zero, is made after the
    // invocation's start, so the guest's reading is below the invocation's duration.
    let monotonic_ns = answer["monotonicNs"]
        .as_u64()
        .unwrap_or_else(|| panic!("the guest reads its monotonic clock: {answer}"));
    let duration_ns = u64::try_from(invocation.report.duration.as_nanos()).expect("fits");
    assert!(
        monotonic_ns < duration_ns,
        "the monotonic clock ({monotonic_ns} ns) starts with the instance, within the invocation \
         ({duration_ns} ns): {answer}"
    );
    for field in ["sleptNs", "wallSleptNs"] {
        let slept_ns = answer[field].as_u64().expect("a duration");
        assert!(
            slept_ns >= 5_000_000,
            "{field}: a 5 ms sleep took {slept_ns} ns"
        );
    }
    let answer = call(&function, json!({"action": "env_all"})).await;
    assert_eq!(answer["env"].get("TZ"), None);
    let answer = call(
        &function,
        json!({"action": "read_file", "path": "/etc/localtime"}),
    )
    .await;
    assert_eq!(refusal(&answer, "reading /etc/localtime"), "NotFound");
    assert_still_serves(&function).await;
}

fn unix_ms(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).expect("after 1970");
    u64::try_from(since_epoch.as_millis()).expect("milliseconds fit")
}

/// stdin is closed: it reads as empty (the event arrives through `handle`, nothing through stdin).
/// Randomness is fresh per instance, from the host's generator: two instances hash with
/// different keys, so nothing random repeats from one invocation to the next.
#[tokio::test]
async fn the_guest_reads_nothing_on_stdin_and_gets_fresh_randomness() {
    let function = load();
    let answer = call(&function, json!({"action": "stdin"})).await;
    assert_eq!(answer, json!({"bytes": 0}));
    let first = call(&function, json!({"action": "random"})).await;
    let second = call(&function, json!({"action": "random"})).await;
    assert!(first["hash"].is_u64(), "{first}");
    assert_ne!(first, second, "each instance gets its own random keys");
    assert_still_serves(&function).await;
}

/// A component importing an interface the runtime does not link fails at load with an error that
/// names the interface (it never runs). Made from the hostile guest by renaming one import, to a
/// name of the same length so the component stays valid: `wasi:cli/environment@0.2.6` becomes
/// `wasi:clocks/timezone@0.2.6` (the host's time zone), and `wasi:sockets/tcp@0.2.6` becomes
/// `wasi:sockets/tcp@0.3.0` (a WASI 0.3 interface; rondo links WASI 0.2).
#[test]
fn a_component_importing_an_unlinked_interface_fails_at_load() {
    let runtime = runtime();
    let bytes = guest_bytes();
    let renames = [
        ("wasi:cli/environment@0.2.6", "wasi:clocks/timezone@0.2.6"),
        ("wasi:sockets/tcp@0.2.6", "wasi:sockets/tcp@0.3.0"),
    ];
    for (import, unlinked) in renames {
        assert!(
            contains(&bytes, import.as_bytes()),
            "the guest imports {import}"
        );
        let patched = replace_all(&bytes, import.as_bytes(), unlinked.as_bytes());
        let error = match runtime.load(&config(), &patched, Tier::Optimized) {
            Ok(_) => panic!("a component importing {unlinked} loaded"),
            Err(error) => error,
        };
        assert!(matches!(error, LoadError::Link(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot link the component: ") && message.contains(unlinked),
            "{message}"
        );
    }
    // The unpatched guest loads: the refusal is the import's.
    runtime
        .load(&config(), &bytes, Tier::Optimized)
        .expect("the guest loads");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `bytes` with every occurrence of `from` replaced by `to`, of the same length.
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "a rename keeps the length");
    let mut patched = bytes.to_vec();
    let mut start = 0;
    while let Some(offset) = patched[start..]
        .windows(from.len())
        .position(|window| window == from)
    {
        let at = start + offset;
        patched[at..at + to.len()].copy_from_slice(to);
        start = at + to.len();
    }
    patched
}
