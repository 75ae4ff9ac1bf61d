//! `cargo xtask bench http`: rondo against `wasmtime serve` and a plain hyper server (the HTTP
//! limit of the machine), in one run, on the same `wasi:http` hello component.
//!
//! Peers are built or installed under `<temp>/rondo-bench/`, never in the repository.
//! The load generator is `wrk` (installed with apt-get when missing and running as root).
//! Everything listens on 127.0.0.1 only.
//!
//! Rates count successful responses only: wrk's own `Requests/sec` counts every response, so a
//! server answering errors fast would look fast. Failed responses (status 400 or more, as wrk
//! counts them; it cannot tell 3xx from 2xx without slowing every response, and each URL answers
//! 200 before and after its runs) and socket errors are reported apart, loudly, and make the
//! bench fail after printing its numbers.

use std::io::{BufRead as _, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The version of `wasmtime serve` compared against: the newest that builds with rustc 1.95.
const WASMTIME_VERSION: &str = "48.0.8";

/// Pause between two edits in the edit -> serving measurement.
const EDIT_INTERVAL_MS: u64 = 500;

const HYPER_CARGO_TOML: &str = r#"[package]
name = "hyper-hello"
version = "0.1.0"
edition = "2021"

[dependencies]
hyper = { version = "1", features = ["server", "http1"] }
hyper-util = { version = "0.1", features = ["tokio"] }
http-body-util = "0.1"
tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }

[profile.release]
codegen-units = 1
lto = "thin"

[workspace]
"#;

const HYPER_MAIN_RS: &str = r#"//! The HTTP limit: hyper answering every request with the hello body, no wasm.
use std::convert::Infallible;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).expect("usage: hyper-hello ADDR");
    let listener = TcpListener::bind(&addr).await.expect("bind");
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!\n")));
                response.headers_mut().insert("content-type", "text/plain".parse().expect("valid"));
                Ok::<_, Infallible>(response)
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
"#;

/// How long each measured wrk run lasts.
struct Durations {
    warmup_s: u32,
    run_s: u32,
}

pub fn http(root: &Path, quick: bool) -> anyhow::Result<()> {
    let durations = if quick {
        Durations {
            warmup_s: 1,
            run_s: 3,
        }
    } else {
        Durations {
            warmup_s: 3,
            run_s: 10,
        }
    };
    let work = std::env::temp_dir().join("rondo-bench");
    std::fs::create_dir_all(&work)?;
    ensure_wrk()?;
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "rondo"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let hyper = build_hyper(&work)?;
    let wasmtime = install_wasmtime(&work)?;

    let http_wasm = root.join("test-programs/wasm/test_http.wasm");
    let hello_wasm = root.join("examples/hello/hello.wasm");
    let http_app = write_app(&work.join("app-wasi-http"), &http_wasm, "$default")?;
    let handler_app = write_app(&work.join("app-handler"), &hello_wasm, "GET /hello/{name}")?;

    let mut results = Vec::new();
    let port = free_port()?;
    let address = format!("127.0.0.1:{port}");
    let url = format!("http://{address}/");
    results.push(measure(
        "hyper hello (HTTP limit)",
        &url,
        &durations,
        || Command::new(&hyper).arg(&address).spawn_quiet(),
    )?);
    results.push(measure(
        "wasmtime serve (wasi:http hello)",
        &url,
        &durations,
        || {
            Command::new(&wasmtime)
                .args(["serve", "-Scli", "--addr", &address])
                .arg(&http_wasm)
                .spawn_quiet()
        },
    )?);
    results.push(measure(
        "rondo dev (wasi:http hello)",
        &url,
        &durations,
        || rondo_dev(&rondo, &http_app, &address),
    )?);
    let hello_url = format!("http://{address}/hello/world");
    results.push(measure(
        "rondo dev (handler-world hello)",
        &hello_url,
        &durations,
        || rondo_dev(&rondo, &handler_app, &address),
    )?);
    print_table(&results);
    let failures = failures(&results);
    if !failures.is_empty() {
        warn_loudly(&failures);
    }
    reload_latency(&rondo, &work, root)?;
    if !failures.is_empty() {
        bail!(
            "bench http saw failed requests ({}): its numbers are not fit to record",
            failures.join("; ")
        );
    }
    Ok(())
}

struct Measured {
    name: &'static str,
    c64: WrkResult,
    c1: WrkResult,
    cpu_us_per_request: f64,
}

#[derive(Default)]
struct WrkResult {
    /// Successful responses per second of the run.
    successes_per_s: f64,
    /// Latency percentiles over every response (failed ones too).
    p50_us: f64,
    p99_us: f64,
    /// Responses read, whatever their status.
    n_responses: u64,
    /// Responses with a status of 400 or more (wrk's "Non-2xx or 3xx responses").
    n_failed_responses: u64,
    /// Connect, read and write errors and timeouts: requests that got no response.
    n_socket_errors: u64,
}

impl WrkResult {
    /// What went wrong in the run, or `None` when every request succeeded.
    fn failure(&self) -> Option<String> {
        let is_clean = self.n_failed_responses == 0 && self.n_socket_errors == 0;
        (!is_clean).then(|| {
            format!(
                "{} of {} responses failed (status 400 or more), {} socket errors",
                self.n_failed_responses, self.n_responses, self.n_socket_errors
            )
        })
    }
}

fn measure(
    name: &'static str,
    url: &str,
    durations: &Durations,
    start: impl Fn() -> anyhow::Result<Child>,
) -> anyhow::Result<Measured> {
    println!("measuring {name}...");
    let mut server = Server(start()?);
    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    wait_for_port(&address, &mut server.0)?;
    check_answers_200(name, &address, url)?;
    wrk(url, 2, 64, durations.warmup_s)?;
    let cpu_before = cpu_ticks(server.0.id())?;
    let c64 = wrk(url, 2, 64, durations.run_s)?;
    let cpu_after = cpu_ticks(server.0.id())?;
    let c1 = wrk(url, 1, 1, durations.run_s)?;
    let ticks_per_s = clock_ticks_per_s();
    let cpu_s = (cpu_after - cpu_before) as f64 / ticks_per_s;
    let cpu_us_per_request = cpu_s * 1e6 / c64.n_responses.max(1) as f64;
    check_answers_200(name, &address, url)?;
    for (run, result) in [("c64", &c64), ("c1", &c1)] {
        if let Some(failure) = result.failure() {
            println!("  !!! {name}, {run}: {failure}");
        }
    }
    Ok(Measured {
        name,
        c64,
        c1,
        cpu_us_per_request,
    })
}

/// Fails unless `url` answers 200 on a fresh connection.
fn check_answers_200(name: &str, address: &str, url: &str) -> anyhow::Result<()> {
    let (status, _) = http_get(address, path_of(url))?;
    if status != 200 {
        bail!("{name}: {url} answered {status}, not 200");
    }
    Ok(())
}

/// One line per run that saw failed requests, naming the server and the run.
fn failures(results: &[Measured]) -> Vec<String> {
    results
        .iter()
        .flat_map(|r| {
            [("c64", &r.c64), ("c1", &r.c1)]
                .into_iter()
                .filter_map(move |(run, result)| {
                    Some(format!("{} {run}: {}", r.name, result.failure()?))
                })
        })
        .collect()
}

fn warn_loudly(failures: &[String]) {
    println!();
    println!("!!! FAILED REQUESTS: the rates above count successful responses only, but a run");
    println!("!!! with failures measures something else (error paths, dropped connections).");
    for failure in failures {
        println!("!!!   {failure}");
    }
    println!("!!! Do not record these numbers.");
    println!();
}

fn print_table(results: &[Measured]) {
    println!();
    println!(
        "| server | c64 2xx/s | c64 p50 | c64 p99 | c1 2xx/s | c1 p50 | c1 p99 | server CPU per request | failed (non-2xx + socket errors) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let n_failed = r.c64.n_failed_responses
            + r.c64.n_socket_errors
            + r.c1.n_failed_responses
            + r.c1.n_socket_errors;
        let failed = if n_failed == 0 {
            "none".to_owned()
        } else {
            format!("**{n_failed}**")
        };
        println!(
            "| {} | {:.0} | {} | {} | {:.0} | {} | {} | {:.1} µs | {failed} |",
            r.name,
            r.c64.successes_per_s,
            micros(r.c64.p50_us),
            micros(r.c64.p99_us),
            r.c1.successes_per_s,
            micros(r.c1.p50_us),
            micros(r.c1.p99_us),
            r.cpu_us_per_request,
        );
    }
    let by_name = |prefix: &str| results.iter().find(|r| r.name.starts_with(prefix));
    let (Some(wasmtime), Some(hyper)) = (by_name("wasmtime"), by_name("hyper")) else {
        return;
    };
    println!();
    for r in results.iter().filter(|r| r.name.starts_with("rondo")) {
        println!(
            "{}: {:.2}x wasmtime serve's throughput (c64), {:.2}x its per-request CPU; hyper does {:.2}x rondo",
            r.name,
            r.c64.successes_per_s / wasmtime.c64.successes_per_s,
            r.cpu_us_per_request / wasmtime.cpu_us_per_request,
            hyper.c64.successes_per_s / r.c64.successes_per_s,
        );
    }
}

pub(crate) fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// Dev mode's promise: a new module serves soon after it is written. Rewrites the module 20
/// times (each time with a different custom section, so it is new code) and measures the time
/// from the rename until a request is answered by the new version, and that first request.
fn reload_latency(rondo: &Path, work: &Path, root: &Path) -> anyhow::Result<()> {
    println!();
    println!("measuring edit -> new code serving (rondo dev, 20 rewrites of the module)...");
    let wasm = std::fs::read(root.join("test-programs/wasm/test_handler.wasm"))?;
    let app = write_app(
        &work.join("app-reload"),
        &root.join("test-programs/wasm/test_handler.wasm"),
        "GET /t/{action}",
    )?;
    let address = format!("127.0.0.1:{}", free_port()?);
    let mut server = Server(rondo_dev(rondo, &app, &address)?);
    wait_for_port(&address, &mut server.0)?;
    let version = |body: &str| -> Option<String> {
        let start = body.find("\"functionVersion\":\"")? + "\"functionVersion\":\"".len();
        Some(body[start..].split('"').next()?.to_owned())
    };
    let (_, body) = http_get(&address, "/t/context")?;
    let mut current = version(&body).context("no functionVersion in the context answer")?;
    let mut to_serving_ms = Vec::new();
    let mut first_request_ms = Vec::new();
    for round in 0..20u32 {
        let mut bytes = wasm.clone();
        append_custom_section(&mut bytes, "rondo-bench", &round.to_le_bytes());
        let temp = app.join(".app.wasm.tmp");
        std::fs::write(&temp, &bytes)?;
        let written = Instant::now();
        std::fs::rename(&temp, app.join("app.wasm"))?;
        loop {
            let request_start = Instant::now();
            let (status, body) = http_get(&address, "/t/context")?;
            let new_version = version(&body).filter(|v| *v != current);
            if let (200, Some(new_version)) = (status, new_version) {
                to_serving_ms.push(written.elapsed().as_secs_f64() * 1000.0);
                first_request_ms.push(request_start.elapsed().as_secs_f64() * 1000.0);
                current = new_version;
                // Edits come at a person's pace: let the optimized code of this round (compiled
                // in the background) finish before the next edit.
                std::thread::sleep(Duration::from_millis(EDIT_INTERVAL_MS));
                break;
            }
            if written.elapsed() > Duration::from_secs(10) {
                bail!("the new module never served");
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    println!(
        "edit -> new code serving: p50 {:.1} ms, max {:.1} ms; first request on the new code: p50 {:.2} ms (a fresh connection each)",
        percentile(&mut to_serving_ms, 0.5),
        percentile(&mut to_serving_ms, 1.0),
        percentile(&mut first_request_ms, 0.5),
    );
    Ok(())
}

fn append_custom_section(bytes: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut section = Vec::new();
    leb128(&mut section, name.len() as u64);
    section.extend_from_slice(name.as_bytes());
    section.extend_from_slice(payload);
    bytes.push(0);
    leb128(bytes, section.len() as u64);
    bytes.extend_from_slice(&section);
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let idx = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(idx).copied().unwrap_or(f64::NAN)
}

fn rondo_dev(rondo: &Path, app: &Path, address: &str) -> anyhow::Result<Child> {
    let aws = format!("127.0.0.1:{}", free_port()?);
    Command::new(rondo)
        .arg("dev")
        .arg(app)
        .args(["--listen", address, "--aws-listen", &aws, "--quiet"])
        .spawn_quiet()
}

fn write_app(dir: &Path, wasm: &Path, route: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::copy(wasm, dir.join("app.wasm"))
        .with_context(|| format!("copy {}", wasm.display()))?;
    let manifest = format!(
        "[app]\nname = \"bench\"\n\n[function.app]\nwasm = \"app.wasm\"\n\n[[route]]\nroute = \"{route}\"\nfunction = \"app\"\n"
    );
    std::fs::write(dir.join("rondo.toml"), manifest)?;
    // Start each run with an empty compiled-code cache, as a fresh checkout would.
    let _ = std::fs::remove_dir_all(dir.join(".rondo"));
    Ok(dir.to_owned())
}

pub(crate) fn build_hyper(work: &Path) -> anyhow::Result<PathBuf> {
    let dir = work.join("hyper-hello");
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), HYPER_CARGO_TOML)?;
    std::fs::write(dir.join("src/main.rs"), HYPER_MAIN_RS)?;
    println!("building the hyper baseline...");
    run(Command::new("cargo")
        .args(["build", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target")))?;
    Ok(dir.join("target/release/hyper-hello"))
}

fn install_wasmtime(work: &Path) -> anyhow::Result<PathBuf> {
    let root = work.join(format!("wasmtime-{WASMTIME_VERSION}"));
    let binary = root.join("bin/wasmtime");
    if binary.exists() {
        return Ok(binary);
    }
    println!(
        "installing wasmtime-cli {WASMTIME_VERSION} into {} (about 11 minutes on 2 cores)...",
        root.display()
    );
    run(Command::new("cargo")
        .args([
            "install",
            "wasmtime-cli",
            "--version",
            WASMTIME_VERSION,
            "--locked",
            "--root",
        ])
        .arg(&root))?;
    Ok(binary)
}

fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    println!("installing wrk with apt-get...");
    run(Command::new("apt-get").args(["install", "-y", "wrk"]))
        .context("wrk is missing and apt-get could not install it (install it, then run again)")
}

fn wrk(url: &str, threads: u32, connections: u32, seconds: u32) -> anyhow::Result<WrkResult> {
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".to_owned(),
            url.to_owned(),
        ])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_wrk(&text).with_context(|| format!("cannot read wrk's output:\n{text}"))
}

/// Reads wrk's report. The rate is computed from its counts (`N requests in T`, less the failed
/// responses), not taken from its `Requests/sec`, which counts failed responses too.
fn parse_wrk(text: &str) -> Option<WrkResult> {
    let mut result = WrkResult::default();
    let mut run_us = 0.0;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => result.p50_us = duration_us(value)?,
            ["99%", value] => result.p99_us = duration_us(value)?,
            [count, "requests", "in", time, ..] => {
                result.n_responses = count.parse().ok()?;
                run_us = duration_us(time.trim_end_matches(','))?;
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                result.n_failed_responses = count.parse().ok()?;
            }
            ["Socket", "errors:", ..] => {
                result.n_socket_errors = line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    if run_us <= 0.0 {
        return None;
    }
    let n_successes = result.n_responses.saturating_sub(result.n_failed_responses);
    result.successes_per_s = n_successes as f64 / (run_us / 1e6);
    Some(result)
}

fn duration_us(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// User + system CPU time of a process, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

pub(crate) fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn wait_for_port(address: &str, child: &mut Child) -> anyhow::Result<()> {
    let address: SocketAddr = address.parse()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited with {status} before listening on {address}");
        }
        if Instant::now() > deadline {
            bail!("nothing listened on {address} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn path_of(url: &str) -> &str {
    let rest = url.trim_start_matches("http://");
    rest.find('/').map(|idx| &rest[idx..]).unwrap_or("/")
}

/// One GET on a fresh connection; returns the status and the body.
fn http_get(address: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// A server process, killed when dropped.
pub(crate) struct Server(pub(crate) Child);

/// How long `rondo dev` may take to print its banner: a first load may install the Python tools
/// (pip) before it.
const RONDO_START_TIMEOUT: Duration = Duration::from_secs(600);

/// The address a `rondo dev` banner line gives: `gateway` or `aws endpoint`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listener {
    Gateway,
    AwsEndpoint,
}

impl Listener {
    fn banner_label(self) -> &'static str {
        match self {
            Listener::Gateway => "gateway",
            Listener::AwsEndpoint => "aws endpoint",
        }
    }
}

/// Starts `rondo dev --quiet --no-watch` on `app` on ephemeral ports, with `extra_args` (a tools
/// folder, say), and reads the address of `listener` from its banner. Every stderr line after that
/// one goes to `after_banner` (stderr is drained to the end either way, so rondo never blocks on a
/// full pipe); if rondo exits before its banner, the error quotes what it printed.
pub(crate) fn start_rondo_dev(
    rondo: &Path,
    app: &Path,
    extra_args: &[&std::ffi::OsStr],
    listener: Listener,
    after_banner: impl Fn(&str) + Send + 'static,
) -> anyhow::Result<(Server, SocketAddr)> {
    let mut child = Command::new(rondo)
        .arg("dev")
        .arg(app)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--aws-listen",
            "127.0.0.1:0",
            "--quiet",
            "--no-watch",
        ])
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", rondo.display()))?;
    let stderr = child.stderr.take().context("rondo's stderr is piped")?;
    let server = Server(child);
    let label = listener.banner_label();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut announced = false;
        let mut before_banner = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if announced {
                after_banner(&line);
            } else if let Some(address) = line.trim().strip_prefix(label) {
                let address = address.trim().trim_start_matches("http://").to_owned();
                let _ = sender.send(Ok(address));
                announced = true;
            } else {
                before_banner.push_str(&line);
                before_banner.push('\n');
            }
        }
        if !announced {
            // rondo ended without its banner: say why.
            let _ = sender.send(Err(before_banner));
        }
    });
    let address = match receiver.recv_timeout(RONDO_START_TIMEOUT) {
        Ok(Ok(address)) => address,
        Ok(Err(output)) => bail!("rondo dev exited before serving:\n{output}"),
        Err(_) => bail!("rondo dev printed no `{label}` line within {RONDO_START_TIMEOUT:?}"),
    };
    let address = address
        .parse()
        .with_context(|| format!("rondo's {label} {address:?} is not an address"))?;
    Ok((server, address))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) trait SpawnQuiet {
    fn spawn_quiet(&mut self) -> anyhow::Result<Child>;
}

impl SpawnQuiet for Command {
    fn spawn_quiet(&mut self) -> anyhow::Result<Child> {
        self.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {self:?}"))
    }
}

/// Builds xtask in release and runs `bench <name>` from that build, so the load generator
/// (this process) is optimized code too.
pub(crate) fn rerun_in_release(root: &Path, name: &str, quick: bool) -> anyhow::Result<()> {
    println!("building xtask (release) for the load generator...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "xtask"])
        .current_dir(root))?;
    let mut command = Command::new(root.join("target/release/xtask"));
    command.args(["bench", name]);
    if quick {
        command.arg("--quick");
    }
    run(&mut command)
}

/// Opens one keep-alive HTTP/1.1 connection to `address` (with `TCP_NODELAY`), runs it as a
/// local task (inside a `LocalSet`), and returns its sender and the `Host` header value to send.
pub(crate) async fn open_http1<B>(
    address: SocketAddr,
) -> anyhow::Result<(
    hyper::client::conn::http1::SendRequest<B>,
    hyper::header::HeaderValue,
)>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {address}"))?;
    tokio::task::spawn_local(async move {
        // The connection ends when either side closes it; the requests on it report that.
        let _ = connection.await;
    });
    let host = hyper::header::HeaderValue::from_str(&address.to_string())
        .context("an address is a valid header value")?;
    Ok((sender, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 2s test @ http://127.0.0.1:3100/\n  2 threads and 64 connections\n  Latency Distribution\n     50%    5.20ms\n     75%  700.00us\n     90%    1.10s\n     99%   30.05ms\n  22813 requests in 2.00s, 3.13MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  11401.78\n";
        let result = parse_wrk(text).expect("parsed");
        assert_eq!(result.successes_per_s, (22813.0 - 3.0) / 2.0);
        assert_eq!(result.p50_us, 5200.0);
        assert_eq!(result.p99_us, 30050.0);
        assert_eq!(result.n_responses, 22813);
        assert_eq!(result.n_failed_responses, 3);
        assert_eq!(result.n_socket_errors, 0);
        assert!(result.failure().is_some());
    }

    /// Issue 13 (defect 8): wrk's `Requests/sec` counts every response, failed ones too. The rate
    /// the bench reports counts successes only.
    #[test]
    fn issue_13_the_rate_counts_successes_only() {
        let text = "Running 2s test @ http://127.0.0.1:3100/\n  2 threads and 64 connections\n  Latency Distribution\n     50%    5.20ms\n     99%   30.05ms\n  20000 requests in 2.00s, 3.13MB read\n  Socket errors: connect 0, read 2, write 0, timeout 5\n  Non-2xx or 3xx responses: 15000\nRequests/sec:  10000.00\n";
        let result = parse_wrk(text).expect("parsed");
        assert_eq!(result.successes_per_s, 2500.0);
        assert_eq!(result.n_failed_responses, 15000);
        assert_eq!(result.n_socket_errors, 7);
        assert_eq!(
            result.failure().as_deref(),
            Some("15000 of 20000 responses failed (status 400 or more), 7 socket errors")
        );
    }

    #[test]
    fn custom_sections_are_well_formed() {
        let mut bytes = Vec::new();
        append_custom_section(&mut bytes, "ab", &[1, 2, 3]);
        assert_eq!(bytes, [0, 6, 2, b'a', b'b', 1, 2, 3]);
        let mut big = Vec::new();
        leb128(&mut big, 300);
        assert_eq!(big, [0xac, 0x02]);
    }
}
