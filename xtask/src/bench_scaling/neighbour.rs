//! Part (b): the latency of a fast function next to a CPU-bound one on the same node.
//!
//! The app has two functions of the same component: `fast` (action `counter`, answers at once)
//! and `hog` (action `loop`, spins until its timeout). The fast function's callers measure its
//! round trips through the gateway, first alone, then while [`HOG_CALLERS_N`] callers keep the
//! hog busy (each calls it again as soon as an answer comes, a timeout or a throttle).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::client::Connection;
use super::{Bench, Config, as_us, block_on, print_load_average, quantile};
use crate::bench::micros;

/// The hog's timeout: each of its invocations spins this long.
const HOG_TIMEOUT_MS: u32 = 1_000;

/// Callers keeping the hog busy.
const HOG_CALLERS_N: usize = 16;

/// The hog's reservation in the limited run: the machine's two cores.
const HOG_RESERVED: u32 = 2;

/// How long the hog runs before the fast function is measured next to it.
const HOG_RAMP: Duration = Duration::from_millis(1_500);

/// Callers of the fast function, one measured window each.
const FAST_CALLERS: [usize; 2] = [1, 4];

/// The target: the fast function's p99 next to the hog at most this many times its p99 alone.
const P99_RATIO_TARGET: f64 = 1.5;

/// How the hog is limited in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HogLimit {
    Unlimited,
    Reserved(u32),
}

impl HogLimit {
    fn label(self) -> String {
        match self {
            HogLimit::Unlimited => "unlimited".to_owned(),
            HogLimit::Reserved(n) => format!("reserved_concurrency = {n}"),
        }
    }
}

/// The fast function's round trips in one window, sorted, in µs.
pub struct Window {
    round_trips_us: Vec<u64>,
    /// Answers other than 200.
    errors_n: usize,
}

impl Window {
    fn p50_us(&self) -> u64 {
        quantile(&self.round_trips_us, 0.5)
    }

    fn p99_us(&self) -> u64 {
        quantile(&self.round_trips_us, 0.99)
    }
}

/// One row: the fast function at one caller count, alone and next to the hog.
pub struct Row {
    limit: HogLimit,
    callers_n: usize,
    alone: Window,
    busy: Window,
    /// The hog's invocations in flight at the end of the busy window.
    hog_in_flight: u32,
}

impl Row {
    fn p99_ratio(&self) -> f64 {
        self.busy.p99_us() as f64 / self.alone.p99_us().max(1) as f64
    }
}

/// What the hog's callers got during one run: answers by status.
pub struct HogAnswers {
    limit: HogLimit,
    by_status: BTreeMap<u16, usize>,
}

pub struct Neighbours {
    rows: Vec<Row>,
    hogs: Vec<HogAnswers>,
}

/// Runs the fast function alone and next to the hog, with the hog unlimited and then reserved.
pub fn run_all(bench: &Bench, config: &Config) -> anyhow::Result<Neighbours> {
    let mut neighbours = Neighbours {
        rows: Vec::new(),
        hogs: Vec::new(),
    };
    for limit in [HogLimit::Unlimited, HogLimit::Reserved(HOG_RESERVED)] {
        println!(
            "noisy neighbour: fast function alone, then next to a looping one ({}, {HOG_CALLERS_N} callers)...",
            limit.label()
        );
        let app = bench.write_app("app-scaling-neighbour", &manifest(limit))?;
        let rondo = bench.start(&app)?;
        print_load_average();
        let (rows, hog) = block_on(measure(rondo.gateway, rondo.aws, limit, config))??;
        for row in &rows {
            println!(
                "  {} caller(s): p99 {} alone, {} next to the hog ({:.2}×); hog in flight: {}",
                row.callers_n,
                micros(row.alone.p99_us() as f64),
                micros(row.busy.p99_us() as f64),
                row.p99_ratio(),
                row.hog_in_flight,
            );
        }
        neighbours.rows.extend(rows);
        neighbours.hogs.push(hog);
    }
    Ok(neighbours)
}

/// The app: `fast` and `hog`, the same component, each behind its own route.
pub(super) fn manifest(limit: HogLimit) -> String {
    let reserved = match limit {
        HogLimit::Unlimited => String::new(),
        HogLimit::Reserved(n) => format!("reserved_concurrency = {n}\n"),
    };
    format!(
        "[app]\nname = \"bench-neighbour\"\n\n\
         [function.fast]\nwasm = \"handler.wasm\"\n\n\
         [function.hog]\nwasm = \"handler.wasm\"\ntimeout_ms = {HOG_TIMEOUT_MS}\n{reserved}\n\
         [[route]]\nroute = \"GET /fast/{{action}}\"\nfunction = \"fast\"\n\n\
         [[route]]\nroute = \"GET /hog/{{action}}\"\nfunction = \"hog\"\n"
    )
}

async fn measure(
    gateway: SocketAddr,
    aws: SocketAddr,
    limit: HogLimit,
    config: &Config,
) -> anyhow::Result<(Vec<Row>, HogAnswers)> {
    let mut alone = Vec::new();
    for callers_n in FAST_CALLERS {
        alone.push(fast_window(gateway, callers_n, config).await?);
    }

    let stop = Rc::new(Cell::new(false));
    let by_status = Rc::new(RefCell::new(BTreeMap::new()));
    let mut hog_callers = Vec::with_capacity(HOG_CALLERS_N);
    for _ in 0..HOG_CALLERS_N {
        let mut connection = Connection::open(gateway).await?;
        let stop = Rc::clone(&stop);
        let by_status = Rc::clone(&by_status);
        hog_callers.push(tokio::task::spawn_local(async move {
            while !stop.get() {
                let (status, _) = connection.get("/hog/loop").await?;
                *by_status.borrow_mut().entry(status.as_u16()).or_default() += 1;
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(HOG_RAMP).await;
    let mut metrics = Connection::open(aws).await?;
    let mut rows = Vec::new();
    for (callers_n, alone) in FAST_CALLERS.into_iter().zip(alone) {
        let busy = fast_window(gateway, callers_n, config).await?;
        let body = metrics.get_ok("/metrics").await?;
        let hog_in_flight = super::burst::gauge_value(&String::from_utf8_lossy(&body), "hog")
            .context("no in-flight gauge for the hog in the metrics")?;
        rows.push(Row {
            limit,
            callers_n,
            alone,
            busy,
            hog_in_flight,
        });
    }
    stop.set(true);
    for caller in hog_callers {
        caller.await.context("a hog caller panicked")??;
    }
    let by_status = by_status.take();
    Ok((rows, HogAnswers { limit, by_status }))
}

/// `callers_n` callers of the fast function, each on its own connection, one request in flight:
/// a warm-up, then a measured window.
async fn fast_window(
    gateway: SocketAddr,
    callers_n: usize,
    config: &Config,
) -> anyhow::Result<Window> {
    let warmup_end = Instant::now() + config.neighbour_warmup;
    let window_end = warmup_end + config.neighbour_window;
    let mut callers = Vec::with_capacity(callers_n);
    for _ in 0..callers_n {
        let mut connection = Connection::open(gateway).await?;
        callers.push(tokio::task::spawn_local(async move {
            let mut round_trips_us = Vec::new();
            let mut errors_n = 0;
            loop {
                let sent = Instant::now();
                if sent >= window_end {
                    break;
                }
                let (status, _) = connection.get("/fast/counter").await?;
                if sent < warmup_end {
                    continue;
                }
                if status == hyper::StatusCode::OK {
                    round_trips_us.push(as_us(sent.elapsed()));
                } else {
                    errors_n += 1;
                }
            }
            anyhow::Ok((round_trips_us, errors_n))
        }));
    }
    let mut window = Window {
        round_trips_us: Vec::new(),
        errors_n: 0,
    };
    for caller in callers {
        let (round_trips_us, errors_n) = caller.await.context("a fast caller panicked")??;
        window.round_trips_us.extend(round_trips_us);
        window.errors_n += errors_n;
    }
    window.round_trips_us.sort_unstable();
    Ok(window)
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= P99_RATIO_TARGET {
        "met"
    } else {
        "not met"
    }
}

pub fn print(neighbours: &Neighbours) {
    println!();
    println!(
        "Noisy neighbour: the fast function's round trips through the gateway, alone and while {HOG_CALLERS_N} callers keep a looping function busy (timeout {HOG_TIMEOUT_MS} ms):"
    );
    println!();
    println!(
        "| looping function | fast callers | requests alone / next to it | p50 alone | p99 alone | p50 next to it | p99 next to it | p99 ratio | ≤ {P99_RATIO_TARGET}× | looping invocations in flight |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &neighbours.rows {
        let errors = row.alone.errors_n + row.busy.errors_n;
        let errors = if errors > 0 {
            format!(" ({errors} not 200)")
        } else {
            String::new()
        };
        println!(
            "| {} | {} | {} / {}{errors} | {} | {} | {} | {} | {:.2}× | {} | {} |",
            row.limit.label(),
            row.callers_n,
            row.alone.round_trips_us.len(),
            row.busy.round_trips_us.len(),
            micros(row.alone.p50_us() as f64),
            micros(row.alone.p99_us() as f64),
            micros(row.busy.p50_us() as f64),
            micros(row.busy.p99_us() as f64),
            row.p99_ratio(),
            verdict(row.p99_ratio()),
            row.hog_in_flight,
        );
    }
    println!();
    for hog in &neighbours.hogs {
        let answers: Vec<String> = hog
            .by_status
            .iter()
            .map(|(status, count)| format!("{count} × {status}"))
            .collect();
        println!(
            "looping function ({}): its callers got {} (504: ran to its timeout; 429: throttled after waiting for a slot)",
            hog.limit.label(),
            answers.join(", ")
        );
    }
}
