//! Part (a): a burst of N concurrent invocations of one function, from zero.
//!
//! Each burst runs on a fresh `rondo dev`, so the function starts with no warm level and a full
//! scaling bucket. The client opens N connections first, then sends one request on each at once;
//! the handler sleeps, so every invocation that started holds its slot until the sleep ends.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::client::Connection;
use super::{Bench, Config, block_on, print_load_average, tree_rss_kib};
use crate::bench::{clock_ticks_per_s, cpu_ticks};

/// The function of every burst app.
const FUNCTION: &str = "burst";

/// How long a wasm burst's handler sleeps: long enough for a burst of 1,000 to overlap.
const WASM_SLEEP_MS: u64 = 2_000;

/// How long a Python burst's handler sleeps: its environments start one process each, on two
/// cores, before the handler runs.
const PYTHON_SLEEP_MS: u64 = 5_000;

/// The functions' timeout, well past the sleep.
const TIMEOUT_MS: u32 = 30_000;

/// The node's concurrency limit in the burst apps: the default, and the largest burst.
const CONCURRENCY_MAX: usize = 1_000;

/// How often the in-flight gauge is read during a burst.
const GAUGE_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The pause between opening the connections and the burst, so rondo has accepted them all.
const SETTLE: Duration = Duration::from_millis(200);

/// Lambda's scaling rate: new execution environments per function every 10 s.
const LAMBDA_SCALE_UP_PER_10S: usize = 1_000;

/// Lambda's cold start as AWS's operator guide states it ("Lambda execution environments"):
/// from under 100 ms to over 1 s.
const LAMBDA_COLD_START_LOW_MS: f64 = 100.0;
const LAMBDA_COLD_START_HIGH_MS: f64 = 1_000.0;

/// When, as a share of the sleep, the memory of rondo and its processes is read during a burst:
/// every handler that started by then still sleeps, and none has answered.
const MEMORY_READ_SHARE_OF_SLEEP: f64 = 0.9;

/// The prefix of the in-flight gauge's sample for one function.
const GAUGE_NAME: &str = "rondo_concurrent_invocations";

/// What runs the burst's function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Wasm,
    Python,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Wasm => "wasm (test_handler)",
            Kind::Python => "Python (awslambdaric)",
        }
    }

    fn sleep_ms(self) -> u64 {
        match self {
            Kind::Wasm => WASM_SLEEP_MS,
            Kind::Python => PYTHON_SLEEP_MS,
        }
    }
}

/// What one burst measured. Times count from the moment the client started sending.
pub struct Burst {
    kind: Kind,
    n: usize,
    sleep_ms: u64,
    /// Answers with status 200.
    ok_n: usize,
    /// Every other outcome ("429", "no answer", ...) and how often it happened.
    failures: BTreeMap<String, usize>,
    /// Until the client had handed the last request to its connection.
    sent: Duration,
    /// Until a read of the gauge (its answer's arrival) showed all N invocations in flight.
    all_in_flight: Option<Duration>,
    /// The most invocations in flight any read of the gauge showed.
    gauge_max: u32,
    /// rondo's own CPU time (user + system) from the start until the gauge showed all N.
    cpu_until_all_in_flight: Option<Duration>,
    /// The resident memory of rondo and its processes before the burst, and while the handlers
    /// sleep, in KiB; and how many processes rondo had then.
    rss_before_kib: u64,
    rss_sleeping_kib: u64,
    processes_sleeping_n: usize,
    /// The first and last 200 answer's arrival.
    first_answer: Duration,
    last_answer: Duration,
}

impl Burst {
    fn last_start_bound(&self) -> Duration {
        last_start_bound(self.last_answer, self.sleep_ms)
    }

    fn answers_show_overlap(&self) -> bool {
        self.ok_n == self.n && answers_show_overlap(self.last_answer, self.sleep_ms)
    }
}

/// An upper bound of when the last handler started: every answer comes at least the sleep after
/// its handler started.
pub(super) fn last_start_bound(last_answer: Duration, sleep_ms: u64) -> Duration {
    last_answer.saturating_sub(Duration::from_millis(sleep_ms))
}

/// Whether answers that all came by `last_answer` prove that every handler ran at once: the last
/// one started (at the latest) before the first could have ended (at the earliest, the sleep
/// after the burst began).
pub(super) fn answers_show_overlap(last_answer: Duration, sleep_ms: u64) -> bool {
    last_start_bound(last_answer, sleep_ms) < Duration::from_millis(sleep_ms)
}

/// Every burst of a run, and why the Python one was not measured, if it was not.
pub struct Bursts {
    rows: Vec<Burst>,
    python_skipped: Option<String>,
}

/// Runs each wasm burst, then the Python burst, each on a fresh `rondo dev`.
pub fn run_all(bench: &Bench, config: &Config) -> anyhow::Result<Bursts> {
    let mut rows = Vec::new();
    for &n in config.wasm_burst_sizes {
        println!(
            "burst: {n} concurrent invocations of a wasm function sleeping {WASM_SLEEP_MS} ms..."
        );
        rows.push(run_one(bench, Kind::Wasm, n)?);
    }
    let n = config.python_burst_n;
    println!(
        "burst: {n} concurrent invocations of a Python function sleeping {PYTHON_SLEEP_MS} ms (the first run installs awslambdaric)..."
    );
    let python_skipped = match run_one(bench, Kind::Python, n) {
        Ok(burst) => {
            rows.push(burst);
            None
        }
        Err(error) => {
            println!("  not measured: {error:#}");
            Some(format!("{error:#}"))
        }
    };
    Ok(Bursts {
        rows,
        python_skipped,
    })
}

fn run_one(bench: &Bench, kind: Kind, n: usize) -> anyhow::Result<Burst> {
    let app = bench.write_app("app-scaling-burst", &manifest(kind))?;
    let rondo = bench.start(&app)?;
    print_load_average();
    let burst = block_on(measure(rondo.gateway, rondo.aws, rondo.pid(), kind, n))??;
    print_line(&burst);
    Ok(burst)
}

/// The burst app: one function of `kind` behind `GET /burst/{action}`.
pub(super) fn manifest(kind: Kind) -> String {
    let code = match kind {
        Kind::Wasm => "wasm = \"handler.wasm\"".to_owned(),
        Kind::Python => {
            "runtime = \"python3\"\ncode = \"python\"\nhandler = \"faults.sleep\"".to_owned()
        }
    };
    format!(
        "[app]\nname = \"bench-burst\"\n\n\
         [function.{FUNCTION}]\n{code}\ntimeout_ms = {TIMEOUT_MS}\n\n\
         [[route]]\nroute = \"GET /{FUNCTION}/{{action}}\"\nfunction = \"{FUNCTION}\"\n\n\
         [limits]\nconcurrency_max = {CONCURRENCY_MAX}\n"
    )
}

async fn measure(
    gateway: SocketAddr,
    aws: SocketAddr,
    pid: u32,
    kind: Kind,
    n: usize,
) -> anyhow::Result<Burst> {
    let sleep_ms = kind.sleep_ms();
    let path = format!("/{FUNCTION}/sleep?ms={sleep_ms}");
    let mut connections = Vec::with_capacity(n);
    for _ in 0..n {
        connections.push(Connection::open(gateway).await?);
    }
    let mut metrics = Connection::open(aws).await?;
    let before = read_gauge(&mut metrics).await?;
    anyhow::ensure!(
        before == 0,
        "{before} invocations in flight before the burst"
    );
    tokio::time::sleep(SETTLE).await;
    let (rss_before_kib, _) = tree_rss_kib(pid)?;

    let start = Instant::now();
    let cpu_ticks_at_start = cpu_ticks(pid)?;
    let mut tasks = Vec::with_capacity(n);
    for mut connection in connections {
        let path = path.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let sent = start.elapsed();
            let answer = connection.get(&path).await;
            (sent, start.elapsed(), answer)
        }));
    }
    let memory = tokio::task::spawn_local(async move {
        let read_at = start + Duration::from_millis(sleep_ms).mul_f64(MEMORY_READ_SHARE_OF_SLEEP);
        tokio::time::sleep_until(read_at.into()).await;
        tree_rss_kib(pid)
    });
    let done = Rc::new(Cell::new(false));
    let watcher = tokio::task::spawn_local(watch_gauge(metrics, pid, n, start, Rc::clone(&done)));
    let mut outcomes = Vec::with_capacity(n);
    for task in tasks {
        outcomes.push(task.await.context("a caller panicked")?);
    }
    done.set(true);
    let watched = watcher.await.context("the gauge watcher panicked")??;
    let (rss_sleeping_kib, processes_sleeping_n) =
        memory.await.context("the memory reader panicked")??;
    let cpu_until_all_in_flight = watched.all_in_flight.map(|(_, ticks)| {
        Duration::from_secs_f64(
            ticks.saturating_sub(cpu_ticks_at_start) as f64 / clock_ticks_per_s(),
        )
    });

    let mut burst = Burst {
        kind,
        n,
        sleep_ms,
        ok_n: 0,
        failures: BTreeMap::new(),
        sent: Duration::ZERO,
        all_in_flight: watched.all_in_flight.map(|(at, _)| at),
        gauge_max: watched.gauge_max,
        cpu_until_all_in_flight,
        rss_before_kib,
        rss_sleeping_kib,
        processes_sleeping_n,
        first_answer: Duration::MAX,
        last_answer: Duration::ZERO,
    };
    for (sent, answered, answer) in outcomes {
        burst.sent = burst.sent.max(sent);
        match answer {
            Ok((status, _)) if status == hyper::StatusCode::OK => {
                burst.ok_n += 1;
                burst.first_answer = burst.first_answer.min(answered);
                burst.last_answer = burst.last_answer.max(answered);
            }
            Ok((status, _)) => *burst.failures.entry(status.to_string()).or_default() += 1,
            Err(error) => *burst.failures.entry(format!("{error:#}")).or_default() += 1,
        }
    }
    if burst.ok_n == 0 {
        burst.first_answer = Duration::ZERO;
    }
    Ok(burst)
}

/// What the gauge showed during a burst.
struct Watched {
    /// When a read first showed all N (that answer's arrival), with rondo's CPU ticks then.
    all_in_flight: Option<(Duration, u64)>,
    gauge_max: u32,
}

/// Reads the gauge until it shows `n` in flight or `done` is set.
async fn watch_gauge(
    mut metrics: Connection,
    pid: u32,
    n: usize,
    start: Instant,
    done: Rc<Cell<bool>>,
) -> anyhow::Result<Watched> {
    let mut gauge_max = 0;
    while !done.get() {
        let in_flight = read_gauge(&mut metrics).await?;
        gauge_max = gauge_max.max(in_flight);
        if in_flight as usize >= n {
            let at = start.elapsed();
            return Ok(Watched {
                all_in_flight: Some((at, cpu_ticks(pid)?)),
                gauge_max,
            });
        }
        tokio::time::sleep(GAUGE_POLL_INTERVAL).await;
    }
    Ok(Watched {
        all_in_flight: None,
        gauge_max,
    })
}

/// The burst function's invocations in flight, from rondo's metrics.
async fn read_gauge(metrics: &mut Connection) -> anyhow::Result<u32> {
    let body = metrics.get_ok("/metrics").await?;
    let text = String::from_utf8_lossy(&body);
    gauge_value(&text, FUNCTION)
        .with_context(|| format!("no {GAUGE_NAME} sample for {FUNCTION} in the metrics"))
}

/// The value of `rondo_concurrent_invocations{function="FUNCTION"}` in Prometheus's text format.
pub(super) fn gauge_value(text: &str, function: &str) -> Option<u32> {
    let sample = format!("{GAUGE_NAME}{{function=\"{function}\"}} ");
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(sample.as_str()))?;
    value.trim().parse().ok()
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

/// When the gauge showed all N in flight, or the most it showed.
fn all_in_flight_text(burst: &Burst) -> String {
    burst
        .all_in_flight
        .map_or_else(|| format!("never (max {})", burst.gauge_max), ms)
}

/// The memory of rondo and its processes while all handlers sleep, and what each invocation
/// added to it.
fn memory_text(burst: &Burst) -> String {
    let added_kib = burst.rss_sleeping_kib.saturating_sub(burst.rss_before_kib);
    let processes = if burst.processes_sleeping_n > 0 {
        format!(", {} processes", burst.processes_sleeping_n)
    } else {
        String::new()
    };
    format!(
        "{:.0} MiB (+{:.0} KiB per invocation{processes})",
        burst.rss_sleeping_kib as f64 / 1024.0,
        added_kib as f64 / burst.n.max(1) as f64,
    )
}

fn print_line(burst: &Burst) {
    let cpu = burst
        .cpu_until_all_in_flight
        .map_or_else(String::new, |cpu| format!(" (rondo CPU {})", ms(cpu)));
    println!(
        "  {} of {} answered 200{}; all in flight after {}{cpu}; answers from {} to {}; all sent within {}; memory while sleeping {}",
        burst.ok_n,
        burst.n,
        failures_text(burst),
        all_in_flight_text(burst),
        ms(burst.first_answer),
        ms(burst.last_answer),
        ms(burst.sent),
        memory_text(burst),
    );
}

fn failures_text(burst: &Burst) -> String {
    burst
        .failures
        .iter()
        .map(|(what, count)| format!(", {count} × {what}"))
        .collect()
}

/// What Lambda's scaling rate adds for a burst of `n` beyond the first 1,000 environments.
pub(super) fn lambda_rate_extra_s(n: usize) -> f64 {
    n.saturating_sub(LAMBDA_SCALE_UP_PER_10S) as f64 * 10.0 / LAMBDA_SCALE_UP_PER_10S as f64
}

pub fn print(bursts: &Bursts) {
    println!();
    println!(
        "Burst from zero: N concurrent invocations of one function, one connection each (times from the first request sent):"
    );
    println!();
    println!(
        "| function | N | answered 200 | all N in flight (gauge) | rondo CPU until then | last handler start ≤ (last answer − sleep) | all N overlapped | memory while all sleep | Lambda's rate adds | last start ÷ Lambda's fastest cold start ({LAMBDA_COLD_START_LOW_MS:.0} ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for burst in &bursts.rows {
        let overlap = match (burst.answers_show_overlap(), burst.all_in_flight.is_some()) {
            (true, _) => "yes (answers and gauge)",
            (false, true) => "yes (gauge)",
            (false, false) => "not shown",
        };
        let cpu = burst
            .cpu_until_all_in_flight
            .map_or_else(|| "—".to_owned(), ms);
        let last_start = burst.last_start_bound();
        println!(
            "| {} | {} | {}{} | {} | {cpu} | {} | {overlap} | {} | {:.0} s | {:.2}× |",
            burst.kind.label(),
            burst.n,
            burst.ok_n,
            failures_text(burst),
            all_in_flight_text(burst),
            ms(last_start),
            memory_text(burst),
            lambda_rate_extra_s(burst.n),
            last_start.as_secs_f64() * 1000.0 / LAMBDA_COLD_START_LOW_MS,
        );
    }
    if let Some(reason) = &bursts.python_skipped {
        println!("| Python (awslambdaric) | — | not measured: {reason} | | | | | | | |");
    }
    println!();
    println!(
        "reference: Lambda adds {LAMBDA_SCALE_UP_PER_10S} execution environments per function every 10 s, so a burst of N ≤ {LAMBDA_SCALE_UP_PER_10S} may start at once (beyond that, (N − {LAMBDA_SCALE_UP_PER_10S}) / 100 s more); each new environment is a cold start, from under {LAMBDA_COLD_START_LOW_MS:.0} ms to over {LAMBDA_COLD_START_HIGH_MS:.0} ms by AWS's operator guide, so Lambda has all N running about {LAMBDA_COLD_START_LOW_MS:.0}–{LAMBDA_COLD_START_HIGH_MS:.0} ms after the burst at best"
    );
    println!(
        "the gauge counts an invocation from the moment it holds a concurrency slot (a process function's environment may still be starting); the answer bound includes the answer's way back; memory is read at {:.0}% of the sleep",
        MEMORY_READ_SHARE_OF_SLEEP * 100.0
    );
}
