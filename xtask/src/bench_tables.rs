//! `cargo xtask bench tables`: rondo's tables against dynalite (a DynamoDB implementation on
//! LevelDB, for Node.js), the same load in the same run.
//!
//! Both servers get the same setup through the DynamoDB API (CreateTable, then BatchWriteItem
//! loads), then PutItem, GetItem and Query at several connection counts, measured by the load
//! generator in `load` (one client thread, keep-alive connections, pre-built bodies).
//! dynalite is installed with npm under `<temp>/rondo-bench/dynalite`, and everything listens on
//! 127.0.0.1 only.
//!
//! The load generator must not be the bottleneck, so the command runs itself again from a release
//! build of xtask when started from a debug one (as `cargo xtask` does).

mod load;
mod workload;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::bench::{
    Listener, Server, SpawnQuiet, clock_ticks_per_s, cpu_ticks, free_port, micros, run,
    start_rondo_dev, wait_for_port,
};
use load::{Measured, Operation, Phases};

/// The dynalite release measured against (the newest on the npm registry at the time of writing).
const DYNALITE_VERSION: &str = "4.0.0";

/// Connection counts each operation is measured at.
const CONNECTIONS: [usize; 3] = [1, 16, 64];

/// Connections used to load the table before the measurements.
const LOAD_CONNECTIONS_N: usize = 16;

/// Keys loaded for GetItem to read back: every one of the PutItem keys, or fewer in a quick run.
const GET_KEYS_N: u32 = workload::PUT_PARTITIONS_N;
const GET_KEYS_QUICK_N: u32 = 10_000;

/// How long a server may take to print its address, or a table to become ACTIVE.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The issue's targets, checked in the summary.
const THROUGHPUT_RATIO_TARGET: f64 = 3.0;
const GET_P50_TARGET_US: f64 = 200.0;

/// The settings of one run.
struct Config {
    phases: Phases,
    get_keys_n: u32,
}

/// Runs the benchmark and prints its tables; `quick` shortens every phase.
pub fn tables(root: &Path, quick: bool) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return crate::bench::rerun_in_release(root, "tables", quick);
    }
    let config = if quick {
        Config {
            phases: Phases {
                warmup: Duration::from_secs(1),
                measure: Duration::from_secs(3),
            },
            get_keys_n: GET_KEYS_QUICK_N,
        }
    } else {
        Config {
            phases: Phases {
                warmup: Duration::from_secs(2),
                measure: Duration::from_secs(10),
            },
            get_keys_n: GET_KEYS_N,
        }
    };
    let work = std::env::temp_dir().join("rondo-bench");
    std::fs::create_dir_all(&work)?;
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let dynalite = install_dynalite(&work)?;
    let bodies = Bodies::build(config.get_keys_n);

    println!("measuring dynalite {DYNALITE_VERSION} (LevelDB on disk, writes not synced)...");
    let dynalite_data = fresh_dir(&work.join("dynalite-data"))?;
    let dynalite_results = {
        let port = free_port()?;
        let mut server = Server(
            Command::new("node")
                .arg(&dynalite)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg("--path")
                .arg(&dynalite_data)
                .args(["--createTableMs", "0"])
                .spawn_quiet()?,
        );
        let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        wait_for_port(&address.to_string(), &mut server.0)?;
        measure_server(&server, address, &bodies, &config)?
    };

    println!("measuring rondo dev (tables on redb, every commit fsynced)...");
    let app = write_app(&work.join("app-tables"))?;
    let rondo_results = {
        let (server, address) = start_rondo(&rondo, &app)?;
        measure_server(&server, address, &bodies, &config)?
    };

    print_results(&dynalite_results, &rondo_results);
    Ok(())
}

/// The request bodies of every phase, built once and sent to both servers.
struct Bodies {
    load: Vec<bytes::Bytes>,
    put: Vec<bytes::Bytes>,
    get: Vec<bytes::Bytes>,
    query: Vec<bytes::Bytes>,
}

impl Bodies {
    fn build(get_keys_n: u32) -> Bodies {
        Bodies {
            load: workload::load_batches(get_keys_n),
            put: workload::put_items(),
            get: workload::get_items(get_keys_n),
            query: workload::queries(),
        }
    }
}

/// One measured operation at one connection count, on one server.
struct Row {
    operation: Operation,
    connections_n: usize,
    measured: Measured,
    cpu_us_per_op: f64,
}

fn measure_server(
    server: &Server,
    address: SocketAddr,
    bodies: &Bodies,
    config: &Config,
) -> anyhow::Result<Vec<Row>> {
    // Other work on the machine skews the numbers: show it, to judge a run by.
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average before: {}", load_average.trim());
    create_table(address)?;
    let load_start = Instant::now();
    load::send_all(
        address,
        Operation::BatchWriteItem,
        &bodies.load,
        LOAD_CONNECTIONS_N,
    )
    .context("loading the table")?;
    let items_n = config.get_keys_n + workload::QUERY_PARTITIONS_N * workload::QUERY_SORT_KEYS_N;
    let load_s = load_start.elapsed().as_secs_f64();
    println!(
        "  loaded {items_n} items with BatchWriteItem in {load_s:.1} s ({:.0} items/s)",
        f64::from(items_n) / load_s
    );
    let query = Operation::Query {
        items_n: workload::QUERY_SORT_KEYS_N,
    };
    let plan = [
        (Operation::PutItem, &bodies.put),
        (Operation::GetItem, &bodies.get),
        (query, &bodies.query),
    ];
    let pid = server.0.id();
    let mut rows = Vec::new();
    for (operation, bodies) in plan {
        for connections_n in CONNECTIONS {
            let ticks_before = cpu_ticks(pid)?;
            let client_ticks_before = cpu_ticks(std::process::id())?;
            let measured = load::measure(address, operation, bodies, connections_n, config.phases)?;
            let ticks = cpu_ticks(pid)? - ticks_before;
            let client_ticks = cpu_ticks(std::process::id())? - client_ticks_before;
            // The CPU time covers the warm-up too; so does the count it is divided by.
            let cpu_us_per_op =
                ticks as f64 / clock_ticks_per_s() * 1e6 / (measured.n_ok_total.max(1) as f64);
            let client_cpu_us_per_op = client_ticks as f64 / clock_ticks_per_s() * 1e6
                / (measured.n_ok_total.max(1) as f64);
            println!(
                "  {:<8} c{connections_n:<3} {:>8.0} ops/s  p50 {:>9}  p99 {:>9}  errors {}  (CPU per op: server {:.0} µs, load generator {:.0} µs)",
                operation.name(),
                measured.ops_per_s(),
                micros(measured.quantile_us(0.5)),
                micros(measured.quantile_us(0.99)),
                measured.n_errors,
                cpu_us_per_op,
                client_cpu_us_per_op,
            );
            if let Some(error) = &measured.first_error {
                println!("    first error: {error}");
            }
            rows.push(Row {
                operation,
                connections_n,
                measured,
                cpu_us_per_op,
            });
        }
    }
    Ok(rows)
}

/// CreateTable, then DescribeTable until the table is ACTIVE.
fn create_table(address: SocketAddr) -> anyhow::Result<()> {
    load::send_all(
        address,
        Operation::CreateTable,
        &[workload::create_table()],
        1,
    )
    .context("creating the table")?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let answer = load::send_all(
            address,
            Operation::DescribeTable,
            &[workload::describe_table()],
            1,
        )?;
        if String::from_utf8_lossy(&answer).contains(r#""TableStatus":"ACTIVE""#) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the table did not become ACTIVE within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn print_results(dynalite: &[Row], rondo: &[Row]) {
    println!();
    println!(
        "| operation | connections | dynalite ops/s | p50 | p99 | rondo ops/s | p50 | p99 | rondo/dynalite ops/s | server CPU per op (dynalite / rondo) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (d, r) in dynalite.iter().zip(rondo) {
        debug_assert_eq!(
            (d.operation, d.connections_n),
            (r.operation, r.connections_n)
        );
        println!(
            "| {} | {} | {:.0} | {} | {} | {:.0} | {} | {} | {:.2}× | {:.0} µs / {:.0} µs |",
            d.operation.name(),
            d.connections_n,
            d.measured.ops_per_s(),
            micros(d.measured.quantile_us(0.5)),
            micros(d.measured.quantile_us(0.99)),
            r.measured.ops_per_s(),
            micros(r.measured.quantile_us(0.5)),
            micros(r.measured.quantile_us(0.99)),
            r.measured.ops_per_s() / d.measured.ops_per_s(),
            d.cpu_us_per_op,
            r.cpu_us_per_op,
        );
    }
    let errors_n: u64 = dynalite
        .iter()
        .chain(rondo)
        .map(|row| row.measured.n_errors)
        .sum();
    println!();
    println!("errors (wrong or failed answers in the measured windows): {errors_n}");
    println!(
        "rondo answers a write once it is fsynced; dynalite writes to LevelDB without syncing"
    );
    let at = |rows: &[Row], name: &str, connections_n: usize| {
        rows.iter()
            .find(|row| row.operation.name() == name && row.connections_n == connections_n)
            .map(|row| (row.measured.ops_per_s(), row.measured.quantile_us(0.5)))
    };
    let most = CONNECTIONS[CONNECTIONS.len() - 1];
    for name in ["PutItem", "GetItem"] {
        if let (Some((d, _)), Some((r, _))) = (at(dynalite, name, most), at(rondo, name, most)) {
            let ratio = r / d;
            let verdict = if ratio >= THROUGHPUT_RATIO_TARGET {
                "met"
            } else {
                "not met"
            };
            println!(
                "{name} throughput at c{most}: rondo {ratio:.2}× dynalite's (target ≥ {THROUGHPUT_RATIO_TARGET}×: {verdict})"
            );
        }
    }
    if let Some((_, p50_us)) = at(rondo, "GetItem", 1) {
        let verdict = if p50_us <= GET_P50_TARGET_US {
            "met"
        } else {
            "not met"
        };
        println!(
            "rondo GetItem p50 at c1: {} round trip on loopback, an upper bound of the server-side time (target ≤ {}: {verdict})",
            micros(p50_us),
            micros(GET_P50_TARGET_US),
        );
    }
}

/// Installs dynalite with npm (once; later runs reuse it) and returns its `cli.js`.
fn install_dynalite(work: &Path) -> anyhow::Result<PathBuf> {
    let dir = work.join("dynalite");
    let cli = dir.join("node_modules/dynalite/cli.js");
    let installed = dir.join("node_modules/dynalite/package.json");
    let version_tag = format!(r#""version": "{DYNALITE_VERSION}""#);
    let is_current =
        std::fs::read_to_string(&installed).is_ok_and(|text| text.contains(&version_tag));
    if is_current {
        return Ok(cli);
    }
    println!(
        "installing dynalite {DYNALITE_VERSION} with npm into {}...",
        dir.display()
    );
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"rondo-bench-dynalite","private":true}"#,
    )?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            &format!("dynalite@{DYNALITE_VERSION}"),
        ])
        .current_dir(&dir))
    .context("installing dynalite needs Node.js and npm")?;
    Ok(cli)
}

/// A table-only app: the table itself is created through CreateTable, as on dynalite.
fn write_app(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = fresh_dir(dir)?;
    std::fs::write(dir.join("rondo.toml"), "[app]\nname = \"bench-tables\"\n")?;
    Ok(dir)
}

/// Starts `rondo dev` on ephemeral ports and reads its AWS endpoint from the banner.
fn start_rondo(rondo: &Path, app: &Path) -> anyhow::Result<(Server, SocketAddr)> {
    start_rondo_dev(rondo, app, &[], Listener::AwsEndpoint, |_| {})
}

/// An empty directory at `dir`, removing what a previous run left there.
fn fresh_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_owned())
}
