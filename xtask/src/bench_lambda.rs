//! `cargo xtask bench lambda`: process functions (Lambda's Runtime API, native and Python) from
//! the caller's side: cold start, warm invocation overhead and invocations per second, next to
//! the machine's HTTP limit measured by the same client in the same run.
//!
//! rondo runs in release (`rondo dev --quiet --no-watch`) with an app of two kinds of function,
//! each answering at once:
//!
//! - native: the `lambda_runtime` binary of `test-programs/lambda-rust` (the example
//!   `lambda-bootstrap`, built `--release`) as `bootstrap`, invoked with `{"action": "ping"}`;
//! - Python: `test-programs/python/bench.py` (which imports boto3 at module level, as handlers
//!   do) through awslambdaric, with the tools rondo installs under `<temp>/rondo-bench/tools`.
//!
//! Measured, in this order:
//!
//! - Cold start: spawn → first response, as the Invoke API round trip of a function's first
//!   invocation. The app declares [`Config::cold_n`] identical fresh functions per kind, each
//!   invoked once, one after another, on a warm connection; the `REPORT` line's `Init Duration`
//!   (from `LogType: Tail`) must be there, or the sample is an error.
//! - Language start-up, for contrast, timed right before each cold start so both see the same
//!   load on the machine: the wall time of `python3 -c "import awslambdaric, boto3"` with the
//!   tools on `PYTHONPATH` (ending in `os._exit(0)`: a cold start ends at the first response,
//!   with the interpreter still alive, so its teardown is left out), and of executing the native
//!   binary up to its first statement (`CRASH_AT_INIT=1` makes it exit there). A bare
//!   `python3 -c pass` is timed once more, apart.
//!   Cold start minus start-up is the median of the pairs' differences.
//! - Warm overhead: the Invoke round trip p50 and p99 at one caller, on one keep-alive
//!   connection, after warm-up. The handlers do nothing, so the round trip is the overhead.
//! - Throughput: invocations per second with 1, 4 and 16 callers (one connection each).
//!
//! The HTTP limit is the plain hyper server of `bench http` (`GET /`), driven by the same client.
//! The client runs on one thread; the command runs itself again from a release build of xtask
//! when started from a debug one, so the client costs little of the machine's CPU.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};

use crate::bench::{Listener, Server, micros, run, start_rondo_dev};

/// The event of every invocation: the native binary's action that answers at once (the Python
/// handler answers at once whatever the event).
const PING_EVENT: &str = r#"{"action":"ping"}"#;

/// Python's start-up for contrast: the runtime interface client and boto3 imported, and out
/// without the interpreter's teardown (a cold start ends with the interpreter alive).
const PYTHON_STARTUP_CODE: &str = "import os, awslambdaric, boto3; os._exit(0)";

/// Concurrent callers of the throughput runs.
const CALLERS: [usize; 3] = [1, 4, 16];

/// The targets: warm p50 overhead, and cold start over the language's own start-up.
const WARM_P50_TARGET_US: f64 = 500.0;
const COLD_OVER_STARTUP_TARGET_MS: f64 = 5.0;

/// The sizes of one run.
struct Config {
    /// Fresh functions per kind, each invoked once: the cold start samples.
    cold_n: usize,
    /// Runs of the bare `python3 -c pass`.
    startup_n: usize,
    /// Sequential invocations before the latency samples.
    warmup_n: usize,
    /// Sequential invocations timed at one caller.
    latency_n: usize,
    /// Load before each throughput run, so every environment it needs exists.
    throughput_warmup: Duration,
    /// Length of each throughput run.
    throughput_run: Duration,
}

const FULL: Config = Config {
    cold_n: 20,
    startup_n: 20,
    warmup_n: 200,
    latency_n: 3_000,
    throughput_warmup: Duration::from_secs(2),
    throughput_run: Duration::from_secs(10),
};

const QUICK: Config = Config {
    cold_n: 5,
    startup_n: 5,
    warmup_n: 50,
    latency_n: 500,
    throughput_warmup: Duration::from_secs(1),
    throughput_run: Duration::from_secs(3),
};

/// The two kinds of process function measured.
#[derive(Clone, Copy)]
enum Kind {
    Native,
    Python,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Native, Kind::Python];

    fn label(self) -> &'static str {
        match self {
            Kind::Native => "native (lambda_runtime, release)",
            Kind::Python => "Python (awslambdaric + boto3)",
        }
    }

    /// The name of the warm function, and the prefix of the fresh ones.
    fn function(self) -> &'static str {
        match self {
            Kind::Native => "native",
            Kind::Python => "python",
        }
    }
}

/// Runs the benchmark and prints its tables; `quick` makes every run smaller.
pub fn lambda(root: &Path, quick: bool) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return crate::bench::rerun_in_release(root, "lambda", quick);
    }
    let config = if quick { QUICK } else { FULL };
    let work = std::env::temp_dir().join("rondo-bench");
    std::fs::create_dir_all(&work)?;
    println!("building rondo and the native function (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo", "--bin", "rondo"])
        .args(["--example", "lambda-bootstrap"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let bootstrap = root.join("target/release/examples/lambda-bootstrap");
    let hyper = crate::bench::build_hyper(&work)?;
    let tools = work.join("tools");
    let app = write_app(&work.join("app-lambda"), root, &bootstrap, config.cold_n)?;

    println!("starting rondo dev (the first run installs awslambdaric and boto3 first)...");
    let (_rondo, aws) = start_rondo(&rondo, &app, &tools)?;
    let hyper_address = format!("127.0.0.1:{}", crate::bench::free_port()?);
    let mut hyper_server = Server(
        Command::new(&hyper)
            .arg(&hyper_address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the hyper baseline")?,
    );
    crate::bench::wait_for_port(&hyper_address, &mut hyper_server.0)?;
    let hyper_address: SocketAddr = hyper_address.parse()?;
    print_load_average();

    let startup = Startup::find(&tools, &bootstrap)?;
    println!("bare python3 -c pass ({} runs)...", config.startup_n);
    let python_bare_ms = startup.median_bare_python_ms(config.startup_n)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's runtime")?;
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, measure(aws, hyper_address, &startup, &config))?;
    print_results(python_bare_ms, &results, &config);
    Ok(())
}

/// The manifest: per kind, the warm function and `cold_n` fresh ones, all on one code folder.
fn manifest(cold_n: usize) -> String {
    let mut text = String::from("[app]\nname = \"bench-lambda\"\n\n");
    for kind in Kind::ALL {
        let names = std::iter::once(kind.function().to_owned())
            .chain((0..cold_n).map(|cold_idx| format!("{}-cold-{cold_idx}", kind.function())));
        for name in names {
            let code = match kind {
                Kind::Native => "runtime = \"provided\"\ncode = \"native\"".to_owned(),
                Kind::Python => {
                    "runtime = \"python3\"\ncode = \"python\"\nhandler = \"bench.handler\""
                        .to_owned()
                }
            };
            text.push_str(&format!(
                "[function.{name}]\n{code}\ntimeout_ms = 30000\n\n"
            ));
        }
    }
    text
}

/// Writes the app into a fresh `dir` (so its data folder starts empty).
fn write_app(dir: &Path, root: &Path, bootstrap: &Path, cold_n: usize) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("native"))?;
    std::fs::create_dir_all(dir.join("python"))?;
    std::fs::copy(bootstrap, dir.join("native/bootstrap"))
        .with_context(|| format!("copying {}", bootstrap.display()))?;
    std::fs::copy(
        root.join("test-programs/python/bench.py"),
        dir.join("python/bench.py"),
    )?;
    std::fs::write(dir.join("rondo.toml"), manifest(cold_n))?;
    Ok(dir.to_owned())
}

/// Starts `rondo dev` on ephemeral ports with the bench's tools folder and reads its AWS
/// endpoint from the banner.
fn start_rondo(rondo: &Path, app: &Path, tools: &Path) -> anyhow::Result<(Server, SocketAddr)> {
    let extra_args = [
        OsStr::new("--process-idle-s"),
        OsStr::new("3600"),
        OsStr::new("--tools"),
        tools.as_os_str(),
    ];
    start_rondo_dev(rondo, app, &extra_args, Listener::AwsEndpoint, |_| {})
}

fn print_load_average() {
    // Other work on the machine skews the numbers: show it, to judge a run by.
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average: {}", load_average.trim());
}

/// How each language starts on its own: the commands timed next to the cold starts.
struct Startup {
    python: PathBuf,
    python_tools: PathBuf,
    bootstrap: PathBuf,
}

impl Startup {
    /// Finds the interpreter rondo runs and the tools it installed.
    fn find(tools: &Path, bootstrap: &Path) -> anyhow::Result<Startup> {
        let (python, version) = real_python()?;
        let python_tools = tools.join(format!("python{version}"));
        if !python_tools.join("awslambdaric").is_dir() {
            bail!(
                "no awslambdaric in {} (rondo installs its tools there)",
                python_tools.display()
            );
        }
        Ok(Startup {
            python,
            python_tools,
            bootstrap: bootstrap.to_owned(),
        })
    }

    fn python_command(&self, code: &str) -> Command {
        let mut command = Command::new(&self.python);
        command
            .args(["-c", code])
            .env("PYTHONPATH", &self.python_tools);
        command
    }

    /// Times one start-up of `kind`'s language, in milliseconds.
    fn time_once_ms(&self, kind: Kind) -> anyhow::Result<f64> {
        match kind {
            Kind::Python => wall_ms(self.python_command(PYTHON_STARTUP_CODE), true),
            // The binary exits with status 3 at its first statement when asked to crash at init.
            Kind::Native => {
                let mut command = Command::new(&self.bootstrap);
                command.env_clear().env("CRASH_AT_INIT", "1");
                wall_ms(command, false)
            }
        }
    }

    fn median_bare_python_ms(&self, runs_n: usize) -> anyhow::Result<f64> {
        let mut times_ms = Vec::with_capacity(runs_n);
        for _ in 0..runs_n {
            times_ms.push(wall_ms(self.python_command("pass"), true)?);
        }
        Ok(percentile(&mut times_ms, 0.5))
    }
}

/// The interpreter behind `python3` (not a shim, as rondo runs it) and its `major.minor`.
fn real_python() -> anyhow::Result<(PathBuf, String)> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
        ])
        .output()
        .context("running python3")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(executable), Some(version)) => Ok((PathBuf::from(executable), version.to_owned())),
        _ => bail!("python3 did not say where it is: {text}"),
    }
}

/// The wall time of running `command` to its end, in milliseconds.
fn wall_ms(mut command: Command, must_succeed: bool) -> anyhow::Result<f64> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if must_succeed && !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(elapsed_ms)
}

/// One keep-alive HTTP/1.1 connection, one request in flight.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// What came back.
struct Answer {
    status: u16,
    function_error: bool,
    log: Option<String>,
}

impl Connection {
    /// Connects (with `TCP_NODELAY`) and runs the connection as a local task.
    async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let (sender, host) = crate::bench::open_http1(address).await?;
        Ok(Connection { sender, host })
    }

    /// Invokes `function` with the ping event; `tail` asks for the log tail.
    async fn invoke(&mut self, function: &str, tail: bool) -> anyhow::Result<Answer> {
        let request = hyper::Request::post(format!("/2015-03-31/functions/{function}/invocations"))
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("x-amz-log-type", if tail { "Tail" } else { "None" })
            .body(Full::new(Bytes::from_static(PING_EVENT.as_bytes())))
            .context("cannot build a request")?;
        self.send(request).await
    }

    /// `GET /` (the hyper baseline).
    async fn get(&mut self) -> anyhow::Result<Answer> {
        let request = hyper::Request::get("/")
            .header(HOST, self.host.clone())
            .body(Full::new(Bytes::new()))
            .context("cannot build a request")?;
        self.send(request).await
    }

    async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> anyhow::Result<Answer> {
        self.sender.ready().await.context("connection lost")?;
        let response = self
            .sender
            .send_request(request)
            .await
            .context("no answer")?;
        let status = response.status().as_u16();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let log = response
            .headers()
            .get("x-amz-log-result")
            .and_then(|value| value.to_str().ok())
            .and_then(decode_base64)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .context("answer cut short")?
            .to_bytes();
        if status != 200 || function_error {
            bail!(
                "answered {status}{}: {}",
                if function_error {
                    " (function error)"
                } else {
                    ""
                },
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(Answer {
            status,
            function_error,
            log,
        })
    }
}

/// What one target (a kind of function, or hyper) measured.
struct Measured {
    /// The cold starts (none for hyper).
    cold: Cold,
    /// Warm round trips at one caller, microseconds, sorted.
    warm_us: Vec<f64>,
    /// Requests per second at each of [`CALLERS`].
    per_s: Vec<f64>,
}

/// A target of the warm and throughput runs.
#[derive(Clone, Copy)]
enum Target {
    Hyper,
    Function(Kind),
}

impl Target {
    fn address(self, aws: SocketAddr, hyper: SocketAddr) -> SocketAddr {
        match self {
            Target::Hyper => hyper,
            Target::Function(_) => aws,
        }
    }

    async fn call(self, connection: &mut Connection) -> anyhow::Result<Answer> {
        match self {
            Target::Hyper => connection.get().await,
            Target::Function(kind) => connection.invoke(kind.function(), false).await,
        }
    }
}

struct Results {
    hyper: Measured,
    native: Measured,
    python: Measured,
}

async fn measure(
    aws: SocketAddr,
    hyper: SocketAddr,
    startup: &Startup,
    config: &Config,
) -> anyhow::Result<Results> {
    let mut measured = Vec::new();
    for target in [
        Target::Hyper,
        Target::Function(Kind::Native),
        Target::Function(Kind::Python),
    ] {
        let cold = match target {
            Target::Hyper => Cold::default(),
            Target::Function(kind) => {
                println!(
                    "{}: {} cold starts, each after a start-up of the language alone...",
                    kind.label(),
                    config.cold_n
                );
                cold_starts(aws, kind, startup, config.cold_n).await?
            }
        };
        let address = target.address(aws, hyper);
        println!("  warm round trips, 1 caller ({})...", config.latency_n);
        let warm_us = warm_round_trips(address, target, config).await?;
        let mut per_s = Vec::new();
        for callers_n in CALLERS {
            println!(
                "  throughput, {callers_n} caller(s), {:?}...",
                config.throughput_run
            );
            per_s.push(throughput(address, target, callers_n, config).await?);
        }
        measured.push(Measured {
            cold,
            warm_us,
            per_s,
        });
    }
    let mut measured = measured.into_iter();
    let mut next = || measured.next().context("one result per target");
    Ok(Results {
        hyper: next()?,
        native: next()?,
        python: next()?,
    })
}

/// Cold start samples in milliseconds, each sorted.
#[derive(Default)]
struct Cold {
    /// Spawn → first response: the first invocation's round trip.
    round_trip_ms: Vec<f64>,
    /// The `Init Duration` rondo reported for it.
    init_duration_ms: Vec<f64>,
    /// The language's own start-up, timed just before.
    startup_ms: Vec<f64>,
    /// Each round trip minus the start-up timed just before it.
    over_startup_ms: Vec<f64>,
}

/// Invokes each fresh function of `kind` once, one after another, on one warm connection, each
/// right after timing the language's own start-up.
async fn cold_starts(
    aws: SocketAddr,
    kind: Kind,
    startup: &Startup,
    cold_n: usize,
) -> anyhow::Result<Cold> {
    let mut connection = Connection::open(aws).await?;
    let mut cold = Cold::default();
    for cold_idx in 0..cold_n {
        // Blocking the one client thread is fine here: nothing else is in flight.
        let startup_ms = startup.time_once_ms(kind)?;
        let function = format!("{}-cold-{cold_idx}", kind.function());
        let started = Instant::now();
        let answer = connection
            .invoke(&function, true)
            .await
            .with_context(|| format!("invoking {function}"))?;
        let round_trip_ms = started.elapsed().as_secs_f64() * 1000.0;
        let log = answer.log.unwrap_or_default();
        let init = init_duration_ms(&log).with_context(|| {
            format!("{function}'s first invocation reported no Init Duration:\n{log}")
        })?;
        cold.round_trip_ms.push(round_trip_ms);
        cold.init_duration_ms.push(init);
        cold.startup_ms.push(startup_ms);
        cold.over_startup_ms.push(round_trip_ms - startup_ms);
    }
    for samples in [
        &mut cold.round_trip_ms,
        &mut cold.init_duration_ms,
        &mut cold.startup_ms,
        &mut cold.over_startup_ms,
    ] {
        samples.sort_by(f64::total_cmp);
    }
    Ok(cold)
}

/// `Init Duration: X ms` of a `REPORT` line.
fn init_duration_ms(log: &str) -> Option<f64> {
    let rest = &log[log.find("Init Duration: ")? + "Init Duration: ".len()..];
    rest.split(' ').next()?.parse().ok()
}

/// Decodes standard base64 (with padding), as `X-Amz-Log-Result` carries the log tail; `None`
/// when `text` is not base64. (Small enough not to add a dependency to xtask for it.)
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let sextet = |byte: u8| match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text {
        buffer = (buffer << 6) | u32::from(sextet(*byte)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(bytes)
}

/// Sequential calls on one connection: warm-up, then `latency_n` timed ones (µs, sorted).
async fn warm_round_trips(
    address: SocketAddr,
    target: Target,
    config: &Config,
) -> anyhow::Result<Vec<f64>> {
    let mut connection = Connection::open(address).await?;
    for _ in 0..config.warmup_n {
        target.call(&mut connection).await?;
    }
    let mut round_trips_us = Vec::with_capacity(config.latency_n);
    for _ in 0..config.latency_n {
        let started = Instant::now();
        let answer = target.call(&mut connection).await?;
        round_trips_us.push(started.elapsed().as_secs_f64() * 1e6);
        debug_assert!(answer.status == 200 && !answer.function_error);
    }
    round_trips_us.sort_by(f64::total_cmp);
    Ok(round_trips_us)
}

/// Calls per second with `callers_n` callers, each on its own connection, calling back to back:
/// a warm-up of the same shape first, so every environment the run needs exists.
async fn throughput(
    address: SocketAddr,
    target: Target,
    callers_n: usize,
    config: &Config,
) -> anyhow::Result<f64> {
    let mut connections = Vec::with_capacity(callers_n);
    for _ in 0..callers_n {
        connections.push(Connection::open(address).await?);
    }
    let (connections, _) = load(connections, target, config.throughput_warmup).await?;
    let (_, calls_n) = load(connections, target, config.throughput_run).await?;
    Ok(calls_n as f64 / config.throughput_run.as_secs_f64())
}

/// Every connection calls back to back for `length`; returns the connections and the calls made.
async fn load(
    connections: Vec<Connection>,
    target: Target,
    length: Duration,
) -> anyhow::Result<(Vec<Connection>, u64)> {
    let until = Instant::now() + length;
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            tokio::task::spawn_local(async move {
                let mut calls_n = 0u64;
                while Instant::now() < until {
                    target.call(&mut connection).await?;
                    calls_n += 1;
                }
                anyhow::Ok((connection, calls_n))
            })
        })
        .collect();
    let mut connections = Vec::with_capacity(tasks.len());
    let mut calls_n = 0;
    for task in tasks {
        let (connection, task_calls_n) = task.await.context("a caller panicked")??;
        connections.push(connection);
        calls_n += task_calls_n;
    }
    Ok((connections, calls_n))
}

fn print_results(python_bare_ms: f64, results: &Results, config: &Config) {
    let Results {
        hyper,
        native,
        python,
    } = results;
    let median = |values: &[f64]| percentile_sorted(values, 0.5);
    let max = |values: &[f64]| values.last().copied().unwrap_or(f64::NAN);
    let (native_cold, python_cold) = (&native.cold, &python.cold);
    println!();
    println!("| | {} | {} |", Kind::Native.label(), Kind::Python.label());
    println!("|---|---|---|");
    println!(
        "| language start-up alone, median of {} | exec to first statement {:.2} ms | `python3 -c \"{PYTHON_STARTUP_CODE}\"` {:.1} ms (bare `python3 -c pass`: {:.1} ms) |",
        config.cold_n,
        median(&native_cold.startup_ms),
        median(&python_cold.startup_ms),
        python_bare_ms
    );
    println!(
        "| cold start, spawn → first response (Invoke round trip), median / max of {} | {:.2} / {:.2} ms | {:.1} / {:.1} ms |",
        config.cold_n,
        median(&native_cold.round_trip_ms),
        max(&native_cold.round_trip_ms),
        median(&python_cold.round_trip_ms),
        max(&python_cold.round_trip_ms)
    );
    println!(
        "| `Init Duration` reported, median | {:.2} ms | {:.1} ms |",
        median(&native_cold.init_duration_ms),
        median(&python_cold.init_duration_ms)
    );
    let native_over = median(&native_cold.over_startup_ms);
    let python_over = median(&python_cold.over_startup_ms);
    println!(
        "| cold start − language start-up (median of the pairs) | {native_over:+.2} ms | {python_over:+.1} ms |"
    );
    println!(
        "| warm Invoke round trip, 1 caller, p50 / p99 ({} calls) | {} / {} | {} / {} |",
        config.latency_n,
        micros(percentile_sorted(&native.warm_us, 0.5)),
        micros(percentile_sorted(&native.warm_us, 0.99)),
        micros(percentile_sorted(&python.warm_us, 0.5)),
        micros(percentile_sorted(&python.warm_us, 0.99)),
    );
    let hyper_p50 = percentile_sorted(&hyper.warm_us, 0.5);
    println!(
        "| hyper `GET /` round trip, same client, p50 / p99 | {} / {} | |",
        micros(hyper_p50),
        micros(percentile_sorted(&hyper.warm_us, 0.99)),
    );
    println!();
    println!(
        "| callers | hyper req/s | native invocations/s | Python invocations/s | native / hyper | Python / hyper |"
    );
    println!("|---|---|---|---|---|---|");
    for (caller_idx, callers_n) in CALLERS.iter().enumerate() {
        let (h, n, p) = (
            hyper.per_s[caller_idx],
            native.per_s[caller_idx],
            python.per_s[caller_idx],
        );
        println!(
            "| {callers_n} | {h:.0} | {n:.0} | {p:.0} | {:.2} | {:.2} |",
            n / h,
            p / h
        );
    }
    println!();
    for (kind, measured, over_startup_ms) in [
        (Kind::Native, native, native_over),
        (Kind::Python, python, python_over),
    ] {
        let p50 = percentile_sorted(&measured.warm_us, 0.5);
        println!(
            "{}: warm p50 {} ({:.1}x hyper's {}, {} over it): {}; cold start {over_startup_ms:+.1} ms over the language's start-up: {}",
            kind.label(),
            micros(p50),
            p50 / hyper_p50,
            micros(hyper_p50),
            micros(p50 - hyper_p50),
            verdict(p50 <= WARM_P50_TARGET_US, "p50 ≤ 0.5 ms"),
            verdict(
                over_startup_ms <= COLD_OVER_STARTUP_TARGET_MS,
                "≤ start-up + 5 ms"
            ),
        );
    }
}

fn verdict(met: bool, target: &str) -> String {
    if met {
        format!("target {target} met")
    } else {
        format!("target {target} NOT met")
    }
}

/// The `q` quantile of sorted values.
fn percentile_sorted(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let idx = ((values.len() as f64 - 1.0) * q).round() as usize;
    values[idx.min(values.len() - 1)]
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile_sorted(values, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_init_duration_of_a_report_line() {
        let log = "START RequestId: a Version: 1\nEND RequestId: a\nREPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\tInit Duration: 12.34 ms\n";
        assert_eq!(init_duration_ms(log), Some(12.34));
        assert_eq!(
            init_duration_ms("REPORT RequestId: a\tDuration: 1.00 ms"),
            None
        );
    }

    #[test]
    fn the_manifest_declares_a_warm_and_fresh_functions_per_kind() {
        let text = manifest(2);
        for name in [
            "native",
            "native-cold-0",
            "native-cold-1",
            "python",
            "python-cold-0",
            "python-cold-1",
        ] {
            assert!(text.contains(&format!("[function.{name}]\n")), "{text}");
        }
        assert_eq!(text.matches("handler = \"bench.handler\"").count(), 3);
    }

    #[test]
    fn decodes_base64() {
        assert_eq!(decode_base64("UkVQT1JU").as_deref(), Some(&b"REPORT"[..]));
        assert_eq!(decode_base64("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(decode_base64("TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn quantiles_of_sorted_values() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile_sorted(&values, 0.5), 3.0);
        assert_eq!(percentile_sorted(&values, 0.99), 5.0);
        assert!(percentile_sorted(&[], 0.5).is_nan());
    }
}
