//! `cargo xtask bench scaling`: how rondo scales on one node, in three parts.
//!
//! - Burst: N concurrent invocations of one function, from zero (a fresh `rondo dev` per N), the
//!   handler sleeping long enough that all N overlap. Measured: when rondo's in-flight gauge
//!   (`rondo_concurrent_invocations`, read from `GET /metrics` on the AWS endpoint) first showed
//!   all N holding a slot, and an upper bound of when the last handler started: the last
//!   answer's arrival minus the sleep. Wasm at N = 100, 500 and 1000 (the node's default
//!   `concurrency_max`), and a Python process function at N = 20. The reference is Lambda's
//!   documented scaling rate (1,000 new execution environments per 10 s per function, so any
//!   N ≤ 1000 may start at once) and its documented cold start (under 100 ms to over 1 s).
//! - Noisy neighbour: the p99 latency of a fast function (`counter`) called through the
//!   gateway by 1 and 4 callers, alone and while a CPU-bound function (`loop`, until its
//!   timeout) is kept busy by many callers; once with that function unlimited, once with its
//!   `reserved_concurrency` at 2 (the machine's cores). The target is a p99 ratio ≤ 1.5×.
//! - Many functions: an app of 10,000 functions (the same component under different names, a
//!   route each): start → banner time with an empty and with a filled compiled-code cache,
//!   rondo's resident memory (`VmRSS`), and the latency of the first invocation of 100 distinct
//!   functions (and of their second, for contrast).
//!
//! Everything runs the release `rondo dev --quiet --no-watch` on 127.0.0.1; the client is this
//! process (one thread), which reruns itself from a release build when started from a debug one.

mod burst;
mod client;
mod many;
mod neighbour;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::bench::{Server, run};

/// The guest every wasm function of the benchmark runs: its action comes from the route.
const HANDLER_WASM: &str = "test-programs/wasm/test_handler.wasm";

/// The Python handlers of the process-function burst (`faults.sleep`).
const PYTHON_HANDLERS: &str = "test-programs/python/faults.py";

/// How long rondo may take to print its banner: an app of 10,000 functions loads for about a
/// minute, and the first Python run installs the runtime's tools first.
const START_TIMEOUT: Duration = Duration::from_secs(600);

/// How often the start-up wait checks that rondo is still running.
const START_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The sizes of one run.
struct Config {
    /// Concurrent invocations of each wasm burst.
    wasm_burst_sizes: &'static [usize],
    /// Concurrent invocations of the Python burst.
    python_burst_n: usize,
    /// Fast requests before each measured window of the noisy-neighbour runs.
    neighbour_warmup: Duration,
    /// Each measured window of the noisy-neighbour runs.
    neighbour_window: Duration,
    /// Functions of the many-functions app.
    functions_n: usize,
    /// Distinct functions whose first invocation is timed.
    first_invocations_n: usize,
}

const FULL: Config = Config {
    wasm_burst_sizes: &[100, 500, 1000],
    python_burst_n: 20,
    neighbour_warmup: Duration::from_secs(1),
    neighbour_window: Duration::from_secs(5),
    functions_n: 10_000,
    first_invocations_n: 100,
};

const QUICK: Config = Config {
    wasm_burst_sizes: &[100, 1000],
    python_burst_n: 20,
    neighbour_warmup: Duration::from_millis(300),
    neighbour_window: Duration::from_secs(2),
    functions_n: 1_000,
    first_invocations_n: 100,
};

/// Runs the benchmark and prints its tables; `quick` makes the runs shorter and the app of many
/// functions smaller.
pub fn scaling(root: &Path, quick: bool) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return crate::bench::rerun_in_release(root, "scaling", quick);
    }
    let config = if quick { QUICK } else { FULL };
    let work = std::env::temp_dir().join("rondo-bench");
    std::fs::create_dir_all(&work)?;
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo", "--bin", "rondo"])
        .current_dir(root))?;
    let bench = Bench {
        rondo: root.join("target/release/rondo"),
        tools: work.join("tools"),
        handler_wasm: std::fs::read(root.join(HANDLER_WASM))
            .with_context(|| format!("reading {HANDLER_WASM}"))?,
        python_handlers: std::fs::read(root.join(PYTHON_HANDLERS))
            .with_context(|| format!("reading {PYTHON_HANDLERS}"))?,
        work,
    };
    print_machine();

    let bursts = burst::run_all(&bench, &config)?;
    burst::print(&bursts);
    let neighbours = neighbour::run_all(&bench, &config)?;
    neighbour::print(&neighbours);
    let many = many::run(&bench, &config)?;
    many::print(&many);
    Ok(())
}

/// What every part needs: the binary, the guests, and where to put apps.
struct Bench {
    rondo: PathBuf,
    /// Where rondo installs the Python runtime's tools (shared with `bench lambda`).
    tools: PathBuf,
    handler_wasm: Vec<u8>,
    python_handlers: Vec<u8>,
    /// `<temp>/rondo-bench`: apps are written in folders below it.
    work: PathBuf,
}

impl Bench {
    /// Writes a fresh app folder `name` (its data folder starts empty) with the handler
    /// component as `handler.wasm`, the Python handlers in `python/`, and `manifest`.
    fn write_app(&self, name: &str, manifest: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("python"))?;
        std::fs::write(dir.join("handler.wasm"), &self.handler_wasm)?;
        std::fs::write(dir.join("python/faults.py"), &self.python_handlers)?;
        std::fs::write(dir.join("rondo.toml"), manifest)?;
        Ok(dir)
    }

    /// Starts `rondo dev` on the app in `app`.
    fn start(&self, app: &Path) -> anyhow::Result<Rondo> {
        start_rondo(&self.rondo, app, &self.tools)
    }
}

/// A running `rondo dev` (killed when dropped) and what its banner said.
struct Rondo {
    server: Server,
    gateway: SocketAddr,
    aws: SocketAddr,
    /// From spawning the process to reading the banner's first line.
    to_banner: Duration,
    /// The load time the banner reports (manifest, code and tables, without the process start).
    reported_load_ms: f64,
}

impl Rondo {
    fn pid(&self) -> u32 {
        self.server.0.id()
    }
}

/// One line of rondo's stderr, as the start-up wait reads it.
enum StartLine {
    Banner { at: Instant, load_ms: f64 },
    Gateway(String),
    Aws(String),
    Other(String),
}

/// Starts `rondo dev --quiet --no-watch` on ephemeral ports and waits for its banner. Lines of
/// stderr after the banner, other than the route list, are passed on to this process's stderr;
/// lines before it are quoted if rondo exits or never prints it.
#[expect(
    clippy::print_stderr,
    reason = "rondo's own messages are passed on as a command-line tool's output"
)]
fn start_rondo(rondo: &Path, app: &Path, tools: &Path) -> anyhow::Result<Rondo> {
    let spawned_at = Instant::now();
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
            "--tools",
        ])
        .arg(tools)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", rondo.display()))?;
    let stderr = child.stderr.take().context("rondo's stderr is piped")?;
    let mut server = Server(child);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut announced = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let parsed = parse_start_line(&line, Instant::now());
            if let StartLine::Other(text) = &parsed
                && announced
            {
                if !text.trim_start().starts_with("route ") {
                    eprintln!("  rondo: {text}");
                }
                continue;
            }
            announced |= matches!(parsed, StartLine::Aws(_));
            let _ = sender.send(parsed);
        }
    });
    let announced = wait_for_banner(&receiver, &mut server, spawned_at + START_TIMEOUT)?;
    let address = |text: &str| -> anyhow::Result<SocketAddr> {
        text.parse()
            .with_context(|| format!("rondo printed {text:?}, not an address"))
    };
    Ok(Rondo {
        gateway: address(&announced.gateway)?,
        aws: address(&announced.aws)?,
        server,
        to_banner: announced.banner_at.duration_since(spawned_at),
        reported_load_ms: announced.load_ms,
    })
}

/// What rondo's banner said, and when its first line was read.
struct Announced {
    banner_at: Instant,
    load_ms: f64,
    gateway: String,
    aws: String,
}

/// Reads start-up lines until the banner and both addresses are known; fails if rondo exits
/// first or `deadline` passes, quoting what it printed.
fn wait_for_banner(
    receiver: &mpsc::Receiver<StartLine>,
    server: &mut Server,
    deadline: Instant,
) -> anyhow::Result<Announced> {
    let mut banner = None;
    let mut gateway: Option<String> = None;
    let mut aws: Option<String> = None;
    let mut before_banner = Vec::new();
    loop {
        if let (Some((banner_at, load_ms)), Some(gateway), Some(aws)) = (banner, &gateway, &aws) {
            return Ok(Announced {
                banner_at,
                load_ms,
                gateway: gateway.clone(),
                aws: aws.clone(),
            });
        }
        match receiver.recv_timeout(START_POLL_INTERVAL) {
            Ok(StartLine::Banner { at, load_ms }) => banner = Some((at, load_ms)),
            Ok(StartLine::Gateway(address)) => gateway = Some(address),
            Ok(StartLine::Aws(address)) => aws = Some(address),
            Ok(StartLine::Other(text)) => before_banner.push(text),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.0.wait()?;
                bail!(
                    "rondo dev exited with {status} before its banner:\n{}",
                    before_banner.join("\n")
                );
            }
        }
        if Instant::now() > deadline {
            bail!(
                "rondo dev printed no banner within {START_TIMEOUT:?}:\n{}",
                before_banner.join("\n")
            );
        }
    }
}

/// Reads one line of rondo's stderr at start-up: the banner's first line
/// (`rondo dev: app "NAME" loaded in 12.3 ms (...)`), its two addresses, or anything else.
fn parse_start_line(line: &str, at: Instant) -> StartLine {
    let trimmed = line.trim();
    if let Some(address) = trimmed.strip_prefix("gateway") {
        return StartLine::Gateway(address.trim().trim_start_matches("http://").to_owned());
    }
    if let Some(address) = trimmed.strip_prefix("aws endpoint") {
        return StartLine::Aws(address.trim().trim_start_matches("http://").to_owned());
    }
    let load_ms = trimmed
        .strip_prefix("rondo dev: app ")
        .and_then(|rest| rest.split_once(" loaded in "))
        .and_then(|(_, rest)| rest.split_once(" ms"))
        .and_then(|(number, _)| number.parse::<f64>().ok());
    match load_ms {
        Some(load_ms) => StartLine::Banner { at, load_ms },
        None => StartLine::Other(line.to_owned()),
    }
}

/// The resident memory of process `pid`, in KiB (`VmRSS` of `/proc/PID/status`).
fn vm_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_vm_rss_kib(&status).with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// The resident memory of process `pid` and of all its descendants (a process function's
/// environments), in KiB, and the number of descendants. Processes that end meanwhile are skipped.
fn tree_rss_kib(pid: u32) -> anyhow::Result<(u64, usize)> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").context("reading /proc")? {
        let Some(child) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        if let Some(parent) = parse_parent_pid(&stat) {
            parents.push((child, parent));
        }
    }
    let descendants = descendants(pid, &parents);
    let mut total_kib = vm_rss_kib(pid)?;
    for &descendant in &descendants {
        total_kib += vm_rss_kib(descendant).unwrap_or(0);
    }
    Ok((total_kib, descendants.len()))
}

/// The parent's pid in a `/proc/PID/stat` line (the field after the state, after the name).
fn parse_parent_pid(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every descendant of `root`, given `(pid, parent pid)` pairs.
fn descendants(root: u32, parents: &[(u32, u32)]) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(child, _) in parents.iter().filter(|(_, p)| *p == parent) {
            found.push(child);
            frontier.push(child);
        }
    }
    found
}

fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

/// Runs `future` on a current-thread runtime inside a `LocalSet`, so connections can be local
/// tasks on the one client thread.
fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's runtime")?;
    Ok(tokio::task::LocalSet::new().block_on(&runtime, future))
}

/// The `q` quantile (0.5 = median) of sorted values, by nearest rank; 0 when there are none.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    assert!((0.0..=1.0).contains(&q), "quantile {q} is not in 0..=1");
    debug_assert!(sorted.is_sorted(), "quantile of unsorted values");
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0;
    };
    sorted[(last as f64 * q).round() as usize]
}

/// Whole microseconds of `duration`.
fn as_us(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    println!("machine: {cores} cores ({cpu})");
}

/// Prints the load average: other work on the machine skews the numbers.
fn print_load_average() {
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average before: {}", load_average.trim());
}

#[cfg(test)]
mod tests;
