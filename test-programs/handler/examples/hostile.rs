//! A hostile handler-world guest: each action is an attempt to reach what a function must not see
//! (the host's files, sockets, name resolution, the host's environment and time zone, stdin), and
//! answers what it reached, or the error that stopped it. `crates/runtime/tests/sandbox.rs` drives
//! it and asserts every attempt is refused.
//!
//! An example of `test-handler` (built as its own component by `cargo xtask build-guests`, into
//! `test-programs/wasm/test_hostile.wasm`) rather than more actions of `test_handler.wasm`: `std::fs`
//! and `std::net` add a good 100 KiB, which every other test and benchmark loading the handler
//! guest would pay for.
//!
//! The action is the event's top-level `"action"`; parameters are top-level string fields.
//!
//! | action    | behaviour |
//! |-----------|-----------|
//! | `read_file` | reads the file at `path`; `{"bytes": n}` |
//! | `list_dir` | lists the folder at `path`; `{"names": [..]}` |
//! | `write_file` | creates (or truncates) the file at `path` and writes `hostile` to it; `{"written": 7}` |
//! | `connect` | opens a TCP connection to `addr` (`ip:port`) and writes `hostile` on it; `{"connected": true}` |
//! | `listen`  | binds a TCP listener to `addr`; `{"listening": "ip:port"}` |
//! | `udp`     | binds a UDP socket to `0.0.0.0:0` and sends `hostile` to `addr`; `{"sent": 7}` |
//! | `resolve` | resolves the name `host` (port 443); `{"addresses": [..]}` |
//! | `env_all` | `{"env": {..}, "args": [..], "cwd": ..}`: everything `wasi:cli/environment` tells |
//! | `config`  | `{"config": {..}}`: the `config` import's pairs |
//! | `clocks`  | the wall clock (`wallMs`, Unix ms), the monotonic clock's reading (`monotonicNs`, and `monotonic` as std prints it), and how long a 5 ms sleep took by each (`sleptNs`, `wallSleptNs`) |
//! | `stdin`   | reads stdin to its end; `{"bytes": n}` |
//! | `random`  | `{"hash": n}`: a fixed value hashed with a fresh `RandomState` (keys from the host's randomness) |
//! | `counter` | `{"count": n}`, n counted per instance (a fresh instance answers 1) |
//! | other     | function error `UnknownAction` |
//!
//! A refused attempt answers `{"error": {"kind": .., "message": .., "os": ..}}` (`kind` is the
//! `std::io::ErrorKind` debug name, `os` the raw OS error or null) as a successful invocation, so
//! tests read the refusal directly.

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, RandomState};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream, ToSocketAddrs as _, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rondo_sdk::{Context, Error, config};
use serde_json::{Value, json};

rondo_sdk::handler!(handle);

/// Invocations this instance has run; lives as long as the instance.
static N_INVOCATIONS: AtomicU64 = AtomicU64::new(0);

fn handle(event: Value, _ctx: &Context) -> Result<Value, Error> {
    let n_invocations = N_INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let action = param_str(&event, "action")?;
    match action {
        "read_file" => {
            let path = param_str(&event, "path")?;
            Ok(io_answer(
                std::fs::read(path).map(|bytes| json!({"bytes": bytes.len()})),
            ))
        }
        "list_dir" => {
            let path = param_str(&event, "path")?;
            Ok(io_answer(
                list_dir(path).map(|names| json!({"names": names})),
            ))
        }
        "write_file" => {
            let path = param_str(&event, "path")?;
            Ok(io_answer(
                std::fs::write(path, b"hostile").map(|()| json!({"written": 7})),
            ))
        }
        "connect" => {
            let addr = param_str(&event, "addr")?;
            Ok(io_answer(
                connect(addr).map(|()| json!({"connected": true})),
            ))
        }
        "listen" => {
            let addr = param_str(&event, "addr")?;
            Ok(io_answer(TcpListener::bind(addr).and_then(|listener| {
                Ok(json!({"listening": listener.local_addr()?.to_string()}))
            })))
        }
        "udp" => {
            let addr = param_str(&event, "addr")?;
            Ok(io_answer(
                send_udp(addr).map(|n_bytes| json!({"sent": n_bytes})),
            ))
        }
        "resolve" => {
            let host = param_str(&event, "host")?;
            Ok(io_answer((host, 443).to_socket_addrs().map(|addrs| {
                let addrs: Vec<String> = addrs.map(|addr| addr.ip().to_string()).collect();
                json!({"addresses": addrs})
            })))
        }
        "env_all" => {
            let env: BTreeMap<String, String> = std::env::vars().collect();
            let args: Vec<String> = std::env::args().collect();
            let cwd = std::env::current_dir()
                .map(|cwd| Value::String(cwd.display().to_string()))
                .unwrap_or_else(|error| io_error(&error));
            Ok(json!({"env": env, "args": args, "cwd": cwd}))
        }
        "clocks" => Ok(clocks()?),
        "stdin" => {
            let mut bytes = Vec::new();
            Ok(io_answer(
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map(|n_bytes| json!({"bytes": n_bytes})),
            ))
        }
        "random" => Ok(json!({"hash": RandomState::new().hash_one("rondo")})),
        "config" => Ok(json!({"config": config::all()})),
        "counter" => Ok(json!({"count": n_invocations})),
        other => Err(Error::new(
            "UnknownAction",
            format!("unknown action: {other}"),
        )),
    }
}

/// Parameter `name`, a string, from a top-level field.
fn param_str<'a>(event: &'a Value, name: &str) -> Result<&'a str, Error> {
    event[name]
        .as_str()
        .ok_or_else(|| Error::new("BadParameter", format!("the event has no string `{name}`")))
}

/// What a hostile attempt reached, or the error that stopped it, as JSON.
fn io_answer(result: std::io::Result<Value>) -> Value {
    result.unwrap_or_else(|error| json!({"error": io_error(&error)}))
}

fn io_error(error: &std::io::Error) -> Value {
    json!({
        "kind": format!("{:?}", error.kind()),
        "message": error.to_string(),
        "os": error.raw_os_error(),
    })
}

fn list_dir(path: &str) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn connect(addr: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"hostile")?;
    stream.flush()
}

fn send_udp(addr: &str) -> std::io::Result<usize> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.send_to(b"hostile", addr)
}

/// The monotonic clock's reading at `instant`, in nanoseconds. std keeps an `Instant` opaque;
/// on `wasm32-wasip2` its debug form is `Instant { tv_sec: S, tv_nsec: N }`, the reading of
/// `wasi:clocks/monotonic-clock` it was made from. `None` if a toolchain prints it otherwise.
fn reading_ns(instant: Instant) -> Option<u64> {
    let text = format!("{instant:?}");
    let field = |name: &str| -> Option<u64> {
        let after = text.split(name).nth(1)?.trim_start_matches(": ");
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    field("tv_sec")?
        .checked_mul(1_000_000_000)?
        .checked_add(field("tv_nsec")?)
}

/// The wall clock, the monotonic clock and a short sleep as each of them measures it.
fn clocks() -> Result<Value, Error> {
    const SLEEP: Duration = Duration::from_millis(5);
    let wall = SystemTime::now();
    let monotonic = Instant::now();
    std::thread::sleep(SLEEP);
    let slept = monotonic.elapsed();
    let wall_slept = wall.elapsed().unwrap_or_default();
    let wall_ms = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|error| Error::new("ClockError", error.to_string()))?
        .as_millis();
    Ok(json!({
        "wallMs": u64::try_from(wall_ms).unwrap_or(u64::MAX),
        "monotonic": format!("{monotonic:?}"),
        "monotonicNs": reading_ns(monotonic),
        "sleptNs": u64::try_from(slept.as_nanos()).unwrap_or(u64::MAX),
        "wallSleptNs": u64::try_from(wall_slept.as_nanos()).unwrap_or(u64::MAX),
    }))
}
