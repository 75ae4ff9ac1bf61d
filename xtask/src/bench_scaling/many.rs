//! Part (c): an app of many functions on one node.
//!
//! Every function is the same component under its own name, behind its own route
//! (`GET /f00042/{action}`). rondo is started twice on the app: first with an empty
//! compiled-code cache (one compilation, then every other function loads from the cache), then
//! again with the cache filled.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::Connection;
use super::{Bench, Config, Rondo, as_us, block_on, print_load_average, quantile, vm_rss_kib};
use crate::bench::micros;

/// One start of rondo on the app.
pub struct Start {
    /// From spawning rondo to its banner.
    to_banner: Duration,
    /// The load time the banner reports.
    reported_load_ms: f64,
    /// rondo's resident memory right after the banner, in KiB.
    rss_kib: u64,
}

impl Start {
    fn of(rondo: &Rondo) -> anyhow::Result<Start> {
        Ok(Start {
            to_banner: rondo.to_banner,
            reported_load_ms: rondo.reported_load_ms,
            rss_kib: vm_rss_kib(rondo.pid())?,
        })
    }
}

pub struct Many {
    functions_n: usize,
    /// The first start, with an empty compiled-code cache.
    cold_cache: Start,
    /// The second start, with the cache the first one filled.
    warm_cache: Start,
    /// Round trips of the first invocation of each sampled function, sorted, in µs.
    first_us: Vec<u64>,
    /// Round trips of their second invocation, sorted, in µs.
    second_us: Vec<u64>,
    /// rondo's resident memory after those invocations, in KiB.
    rss_after_invocations_kib: u64,
}

/// Loads the app of `config.functions_n` functions twice and times first invocations.
pub fn run(bench: &Bench, config: &Config) -> anyhow::Result<Many> {
    let functions_n = config.functions_n;
    let app = bench.write_app("app-scaling-many", &manifest(functions_n))?;
    println!("many functions: starting rondo dev on {functions_n} functions (empty code cache)...");
    print_load_average();
    let sample = sample(functions_n, config.first_invocations_n);
    let (cold_cache, first_us, second_us, rss_after_invocations_kib) = {
        let rondo = bench.start(&app)?;
        let start = Start::of(&rondo)?;
        print_start(&start);
        let (first_us, second_us) = block_on(invoke_each_twice(rondo.gateway, &sample))??;
        let rss_kib = vm_rss_kib(rondo.pid())?;
        (start, first_us, second_us, rss_kib)
    };
    println!(
        "  first invocation of {} functions: p50 {}; second: p50 {}",
        sample.len(),
        micros(quantile(&first_us, 0.5) as f64),
        micros(quantile(&second_us, 0.5) as f64),
    );
    println!("many functions: starting rondo dev again (code cache filled)...");
    print_load_average();
    let warm_cache = {
        let rondo = bench.start(&app)?;
        Start::of(&rondo)?
    };
    print_start(&warm_cache);
    Ok(Many {
        functions_n,
        cold_cache,
        warm_cache,
        first_us,
        second_us,
        rss_after_invocations_kib,
    })
}

/// The name of the `function_idx`-th function; its route is `GET /NAME/{action}`.
fn function_name(function_idx: usize) -> String {
    format!("f{function_idx:05}")
}

/// The app: `functions_n` functions of the handler component, a route each.
pub(super) fn manifest(functions_n: usize) -> String {
    let mut text = String::from("[app]\nname = \"bench-many\"\n");
    for function_idx in 0..functions_n {
        let name = function_name(function_idx);
        text.push_str(&format!(
            "\n[function.{name}]\nwasm = \"handler.wasm\"\n\n\
             [[route]]\nroute = \"GET /{name}/{{action}}\"\nfunction = \"{name}\"\n"
        ));
    }
    text
}

/// `sample_n` function indexes spread evenly over `functions_n`, each once.
pub(super) fn sample(functions_n: usize, sample_n: usize) -> Vec<usize> {
    let sample_n = sample_n.min(functions_n);
    (0..sample_n)
        .map(|idx| idx * functions_n / sample_n)
        .collect()
}

/// Invokes each sampled function once, then each again, one request at a time on one
/// connection; returns both passes' round trips, sorted.
async fn invoke_each_twice(
    gateway: SocketAddr,
    sample: &[usize],
) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let mut connection = Connection::open(gateway).await?;
    let mut passes = [Vec::new(), Vec::new()];
    for pass in &mut passes {
        for &function_idx in sample {
            let path = format!("/{}/counter", function_name(function_idx));
            let sent = Instant::now();
            connection.get_ok(&path).await?;
            pass.push(as_us(sent.elapsed()));
        }
        pass.sort_unstable();
    }
    let [first, second] = passes;
    Ok((first, second))
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn print_start(start: &Start) {
    println!(
        "  banner after {:.2} s (rondo reports {:.2} s of loading); VmRSS {}",
        start.to_banner.as_secs_f64(),
        start.reported_load_ms / 1000.0,
        mib(start.rss_kib),
    );
}

pub fn print(many: &Many) {
    let n = many.functions_n;
    println!();
    println!("{n} functions on one node (the same component under {n} names, a route each):");
    println!();
    println!("| what | value | per function |");
    println!("|---|---|---|");
    for (label, start) in [
        ("empty code cache", &many.cold_cache),
        ("code cache filled", &many.warm_cache),
    ] {
        println!(
            "| start → banner, {label} (rondo's own load time) | {:.2} s ({:.2} s) | {} |",
            start.to_banner.as_secs_f64(),
            start.reported_load_ms / 1000.0,
            micros(start.to_banner.as_secs_f64() * 1e6 / n as f64),
        );
        println!(
            "| VmRSS after the banner, {label} | {} | {:.0} KiB |",
            mib(start.rss_kib),
            start.rss_kib as f64 / n as f64,
        );
    }
    println!(
        "| VmRSS after the invocations below | {} | |",
        mib(many.rss_after_invocations_kib)
    );
    let p50_first = quantile(&many.first_us, 0.5);
    let p50_second = quantile(&many.second_us, 0.5);
    println!(
        "| first invocation of {} distinct functions, p50 / p99 | {} / {} | |",
        many.first_us.len(),
        micros(p50_first as f64),
        micros(quantile(&many.first_us, 0.99) as f64),
    );
    println!(
        "| their second invocation, p50 / p99 | {} / {} | |",
        micros(p50_second as f64),
        micros(quantile(&many.second_us, 0.99) as f64),
    );
    println!();
    println!(
        "first invocation ÷ second: {:.2}× at p50 (round trips through the gateway on one keep-alive connection)",
        p50_first as f64 / p50_second.max(1) as f64
    );
}
