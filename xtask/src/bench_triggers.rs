//! `cargo xtask bench triggers`: how soon a committed change starts its trigger's function, and
//! how many stream records per second triggers deliver.
//!
//! rondo runs in release (`rondo dev` on a fresh data folder) with an app of source tables
//! (`pk` S, stream `NEW_IMAGE`), a `seen` table and the function `test_trigger_bench.wasm`, which
//! reads the wall clock as its first statement and writes, for each record, an item keyed by the
//! record's `pk` with that time (`startedUs`) into `seen`. The client and rondo run on the same
//! machine, so their wall clocks are one clock and the timestamps compare.
//!
//! - Latency: one trigger with `batch_size = 1`; one connection puts items one at a time and
//!   notes when each PutItem was sent and when its answer arrived. The commit lies between the
//!   two, so `startedUs - sent` is an upper bound of commit → handler start and
//!   `startedUs - acked` a lower bound (negative when the handler started before the client read
//!   the answer).
//! - Throughput: one trigger, then eight triggers on eight tables, with the default batch size
//!   (100); the records are written with BatchWriteItem over [`WRITE_CONNECTIONS_N`] connections
//!   as fast as rondo takes them, and the rate is the records divided by the time from the first
//!   write to the start of the last record's handler.
//!
//! There is no peer to run: no local emulator publishes a figure, and AWS Lambda reads a
//! DynamoDB stream by polling each shard four times a second, which adds 0–250 ms before a batch.
//!
//! The command runs itself again from a release build of xtask when started from a debug one, so
//! the client costs little of the machine's CPU.

mod client;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::bench::{Server, micros, run};
use client::Client;

/// The function every trigger invokes, as committed by `cargo xtask build-guests`.
const FUNCTION_WASM: &str = "test-programs/wasm/test_trigger_bench.wasm";

/// The table the function writes its observations into.
const SEEN_TABLE: &str = "seen";

/// Triggers (and source tables) of the second throughput run.
const MANY_TRIGGERS_N: usize = 8;

/// The batch size of the throughput runs: Lambda's default for streams.
const THROUGHPUT_BATCH_SIZE: u32 = 100;

/// Connections writing the records of a throughput run.
const WRITE_CONNECTIONS_N: usize = 16;

/// Items in one BatchWriteItem (DynamoDB's maximum).
const BATCH_WRITE_ITEMS_MAX: usize = 25;

/// The padding attribute of every written item, so records are of a common small size.
const PAYLOAD_BYTES: usize = 100;

/// How long rondo may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the records written in a run may take to reach the function: a bound, not a speed
/// expectation.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(300);

/// How often the count of `seen` is read while waiting for deliveries. Only when the wait ends
/// depends on it; the measurements come from the function's own timestamps.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The issue's targets for commit → handler start.
const P50_TARGET_US: i64 = 1_000;
const P99_TARGET_US: i64 = 10_000;

/// AWS Lambda polls each shard of a DynamoDB stream four times per second.
const AWS_POLLS_PER_S: u32 = 4;

/// The sizes of one run.
struct Config {
    latency_warmup_n: usize,
    latency_n: usize,
    throughput_records_n: usize,
}

const FULL: Config = Config {
    latency_warmup_n: 300,
    latency_n: 5_000,
    throughput_records_n: 50_000,
};

const QUICK: Config = Config {
    latency_warmup_n: 50,
    latency_n: 500,
    throughput_records_n: 8_000,
};

/// Runs the benchmark and prints its tables; `quick` makes every run smaller.
pub fn triggers(root: &Path, quick: bool) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return crate::bench::rerun_in_release(root, "triggers", quick);
    }
    let config = if quick { QUICK } else { FULL };
    let work = std::env::temp_dir().join("rondo-bench");
    std::fs::create_dir_all(&work)?;
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let wasm = std::fs::read(root.join(FUNCTION_WASM))
        .with_context(|| format!("reading {FUNCTION_WASM}"))?;

    println!(
        "latency: 1 trigger, batch_size 1, {} PutItems one at a time after {} of warm-up...",
        config.latency_n, config.latency_warmup_n
    );
    let latency = {
        let app = write_app(&work.join("app-triggers-latency"), &wasm, 1, 1)?;
        let (_server, address) = start_rondo(&rondo, &app)?;
        print_load_average();
        block_on(measure_latency(
            address,
            config.latency_warmup_n,
            config.latency_n,
        ))??
    };
    print_latency(&latency);

    let mut throughputs = Vec::new();
    for tables_n in [1, MANY_TRIGGERS_N] {
        println!(
            "throughput: {tables_n} trigger(s), batch_size {THROUGHPUT_BATCH_SIZE}, {} records written with BatchWriteItem over {WRITE_CONNECTIONS_N} connections...",
            config.throughput_records_n
        );
        let app = write_app(
            &work.join(format!("app-triggers-throughput-{tables_n}")),
            &wasm,
            tables_n,
            THROUGHPUT_BATCH_SIZE,
        )?;
        let (_server, address) = start_rondo(&rondo, &app)?;
        print_load_average();
        let throughput = block_on(measure_throughput(
            address,
            tables_n,
            config.throughput_records_n,
        ))??;
        print_throughput_line(&throughput);
        throughputs.push(throughput);
    }

    print_summary(&latency, &throughputs);
    Ok(())
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

/// The wall clock in microseconds since the Unix epoch, as the function reads it.
fn now_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// The name of the `table_idx`-th source table.
fn source_table(table_idx: usize) -> String {
    format!("src{table_idx}")
}

/// The manifest of an app with `tables_n` source tables, each with a trigger of `batch_size`
/// invoking the one function, and the `seen` table.
fn manifest(tables_n: usize, batch_size: u32) -> String {
    let mut text = format!(
        "[app]\nname = \"bench-triggers\"\n\n\
         [function.probe]\nwasm = \"probe.wasm\"\nenvironment = {{ LOG_TABLE = \"{SEEN_TABLE}\" }}\n\n\
         [table.{SEEN_TABLE}]\npartition_key = {{ name = \"id\", type = \"S\" }}\n"
    );
    for table_idx in 0..tables_n {
        let table = source_table(table_idx);
        text.push_str(&format!(
            "\n[table.{table}]\npartition_key = {{ name = \"pk\", type = \"S\" }}\nstream = \"NEW_IMAGE\"\n\n\
             [[trigger]]\nsource = \"table:{table}\"\nfunction = \"probe\"\nbatch_size = {batch_size}\nstarting_position = \"LATEST\"\n"
        ));
    }
    text
}

/// Writes the app into a fresh `dir` (so its data folder starts empty).
fn write_app(dir: &Path, wasm: &[u8], tables_n: usize, batch_size: u32) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("probe.wasm"), wasm)?;
    std::fs::write(dir.join("rondo.toml"), manifest(tables_n, batch_size))?;
    Ok(dir.to_owned())
}

/// Starts `rondo dev` on ephemeral ports and reads its AWS endpoint from the banner; later lines
/// on stderr (trigger failures, say) are passed on to this process's stderr, except the ones
/// every run prints.
#[expect(
    clippy::print_stderr,
    reason = "rondo's own messages are passed on as a command-line tool's output"
)]
fn start_rondo(rondo: &Path, app: &Path) -> anyhow::Result<(Server, SocketAddr)> {
    crate::bench::start_rondo_dev(
        rondo,
        app,
        &[],
        crate::bench::Listener::AwsEndpoint,
        |line| {
            if !is_expected_message(line) {
                // A trigger failure in a benchmark is worth seeing.
                eprintln!("  rondo: {line}");
            }
        },
    )
}

/// Whether a line rondo prints on stderr is one every run of this app prints: a table created,
/// or the warning about triggers without retry limits (the benchmark's function never fails).
fn is_expected_message(line: &str) -> bool {
    line.trim_start().starts_with("table ") || line.contains("no maximum_retry_attempts")
}

fn print_load_average() {
    // Other work on the machine skews the numbers: show it, to judge a run by.
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average before: {}", load_average.trim());
}

/// A source item: its key and a fixed padding.
fn item(pk: &str) -> Value {
    json!({ "pk": { "S": pk }, "payload": { "S": "x".repeat(PAYLOAD_BYTES) } })
}

/// What the function wrote for one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    started_us: i64,
    batch: u32,
}

/// Reads every item of `seen` with Scan, page by page.
async fn read_seen(client: &mut Client) -> anyhow::Result<HashMap<String, Seen>> {
    let mut seen = HashMap::new();
    let mut start_key: Option<Value> = None;
    loop {
        let mut request = json!({ "TableName": SEEN_TABLE });
        if let Some(key) = start_key.take() {
            request["ExclusiveStartKey"] = key;
        }
        let page = client.call("Scan", &request).await?;
        parse_seen_page(&page, &mut seen)?;
        match page.get("LastEvaluatedKey") {
            Some(key) => start_key = Some(key.clone()),
            None => return Ok(seen),
        }
    }
}

/// Adds the items of one Scan answer of `seen` to `seen`.
fn parse_seen_page(page: &Value, seen: &mut HashMap<String, Seen>) -> anyhow::Result<()> {
    let items = page
        .get("Items")
        .and_then(Value::as_array)
        .context("a Scan answer without `Items`")?;
    for item in items {
        let text = |name: &str, kind: &str| {
            item.pointer(&format!("/{name}/{kind}"))
                .and_then(Value::as_str)
                .with_context(|| format!("an item of `{SEEN_TABLE}` without `{name}`: {item}"))
        };
        let id = text("id", "S")?;
        let started_us = text("startedUs", "N")?
            .parse()
            .with_context(|| format!("`startedUs` of {id} is not an integer"))?;
        let batch = text("batch", "N")?
            .parse()
            .with_context(|| format!("`batch` of {id} is not an integer"))?;
        seen.insert(id.to_owned(), Seen { started_us, batch });
    }
    Ok(())
}

/// The item count of `table` (rondo's counters are exact and current).
async fn item_count(client: &mut Client, table: &str) -> anyhow::Result<u64> {
    let answer = client
        .call("DescribeTable", &json!({ "TableName": table }))
        .await?;
    answer
        .pointer("/Table/ItemCount")
        .and_then(Value::as_u64)
        .with_context(|| format!("DescribeTable of {table} has no ItemCount: {answer}"))
}

/// Waits until `seen` holds `count` items.
async fn wait_for_seen(client: &mut Client, count: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let now = item_count(client, SEEN_TABLE).await?;
        if now >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("after {DELIVERY_TIMEOUT:?} the function had seen {now} of {count} records");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until the trigger of each of the `tables_n` source tables delivers: puts a `ready-N`
/// item into each (again, until the function writes it down; a trigger starting at `LATEST` skips
/// what was written before it started). Leaves `seen` holding `tables_n` items.
async fn wait_until_delivering(client: &mut Client, tables_n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    for table_idx in 0..tables_n {
        let table = source_table(table_idx);
        let pk = format!("ready-{table_idx}");
        loop {
            client
                .call("PutItem", &json!({ "TableName": table, "Item": item(&pk) }))
                .await?;
            let asked = Instant::now();
            while asked.elapsed() < Duration::from_millis(500) {
                let answer = client
                    .call(
                        "GetItem",
                        &json!({ "TableName": SEEN_TABLE, "Key": { "id": { "S": pk } } }),
                    )
                    .await?;
                if answer.get("Item").is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if asked.elapsed() < Duration::from_millis(500) {
                break;
            }
            if Instant::now() > deadline {
                bail!("the trigger of {table} delivered nothing within {START_TIMEOUT:?}");
            }
        }
    }
    Ok(())
}

/// One PutItem of the latency run, timed by the wall clock.
struct Timed {
    pk: String,
    sent_us: i64,
    acked_us: i64,
}

/// What the latency run measured, in microseconds, each sorted.
struct Latency {
    /// acked - sent: the PutItem round trip.
    round_trip_us: Vec<i64>,
    /// startedUs - sent: an upper bound of commit → handler start.
    after_sent_us: Vec<i64>,
    /// startedUs - acked: a lower bound of commit → handler start.
    after_ack_us: Vec<i64>,
    /// Records that reached the function in a batch of more than one.
    batched_n: usize,
}

async fn measure_latency(
    address: SocketAddr,
    warmup_n: usize,
    measured_n: usize,
) -> anyhow::Result<Latency> {
    let mut client = Client::connect(address).await?;
    wait_until_delivering(&mut client, 1).await?;
    let table = source_table(0);
    let put_body =
        |pk: &str| Bytes::from(json!({ "TableName": table, "Item": item(pk) }).to_string());
    for idx in 0..warmup_n {
        client
            .call_raw("PutItem", put_body(&format!("warm-{idx:06}")))
            .await?;
    }
    let mut timed = Vec::with_capacity(measured_n);
    for idx in 0..measured_n {
        let pk = format!("lat-{idx:06}");
        let body = put_body(&pk);
        let sent_us = now_us();
        client.call_raw("PutItem", body).await?;
        let acked_us = now_us();
        timed.push(Timed {
            pk,
            sent_us,
            acked_us,
        });
    }
    wait_for_seen(&mut client, (1 + warmup_n + measured_n) as u64).await?;
    let seen = read_seen(&mut client).await?;
    let mut latency = Latency {
        round_trip_us: Vec::with_capacity(measured_n),
        after_sent_us: Vec::with_capacity(measured_n),
        after_ack_us: Vec::with_capacity(measured_n),
        batched_n: 0,
    };
    for put in &timed {
        let record = seen
            .get(&put.pk)
            .with_context(|| format!("the function never saw {}", put.pk))?;
        latency.round_trip_us.push(put.acked_us - put.sent_us);
        latency.after_sent_us.push(record.started_us - put.sent_us);
        latency.after_ack_us.push(record.started_us - put.acked_us);
        latency.batched_n += usize::from(record.batch > 1);
    }
    latency.round_trip_us.sort_unstable();
    latency.after_sent_us.sort_unstable();
    latency.after_ack_us.sort_unstable();
    Ok(latency)
}

/// What one throughput run measured.
struct Throughput {
    tables_n: usize,
    records_n: usize,
    /// From the first write to the last write's answer.
    write_s: f64,
    /// From the first write to the start of the last record's handler.
    deliver_s: f64,
    /// The mean number of records per invocation.
    mean_batch: f64,
}

impl Throughput {
    fn records_per_s(&self) -> f64 {
        self.records_n as f64 / self.deliver_s
    }

    fn writes_per_s(&self) -> f64 {
        self.records_n as f64 / self.write_s
    }
}

/// The BatchWriteItem bodies writing `records_n` records spread evenly over `tables_n` source
/// tables, the tables taking turns, and the keys they write.
fn throughput_bodies(tables_n: usize, records_n: usize) -> (Vec<Bytes>, Vec<String>) {
    let per_table_n = records_n / tables_n;
    let chunks_n = per_table_n.div_ceil(BATCH_WRITE_ITEMS_MAX);
    let mut bodies = Vec::with_capacity(chunks_n * tables_n);
    let mut keys = Vec::with_capacity(per_table_n * tables_n);
    for chunk_idx in 0..chunks_n {
        for table_idx in 0..tables_n {
            let start = chunk_idx * BATCH_WRITE_ITEMS_MAX;
            let end = (start + BATCH_WRITE_ITEMS_MAX).min(per_table_n);
            let requests: Vec<Value> = (start..end)
                .map(|record_idx| {
                    let pk = format!("t{table_idx}-{record_idx:07}");
                    let request = json!({ "PutRequest": { "Item": item(&pk) } });
                    keys.push(pk);
                    request
                })
                .collect();
            let body = json!({ "RequestItems": { source_table(table_idx): requests } });
            bodies.push(Bytes::from(body.to_string()));
        }
    }
    (bodies, keys)
}

async fn measure_throughput(
    address: SocketAddr,
    tables_n: usize,
    records_n: usize,
) -> anyhow::Result<Throughput> {
    let mut client = Client::connect(address).await?;
    wait_until_delivering(&mut client, tables_n).await?;
    let (bodies, keys) = throughput_bodies(tables_n, records_n);
    let mut writers = Vec::with_capacity(WRITE_CONNECTIONS_N);
    for _ in 0..WRITE_CONNECTIONS_N {
        writers.push(Client::connect(address).await?);
    }
    let first_write_us = now_us();
    let mut tasks = Vec::with_capacity(WRITE_CONNECTIONS_N);
    for (writer_idx, mut writer) in writers.into_iter().enumerate() {
        // Connection i sends bodies i, i + 16, ...: every table is written from the start.
        let own: Vec<Bytes> = bodies
            .iter()
            .skip(writer_idx)
            .step_by(WRITE_CONNECTIONS_N)
            .cloned()
            .collect();
        tasks.push(tokio::task::spawn_local(async move {
            for body in own {
                let answer = writer.call_raw("BatchWriteItem", body).await?;
                if !answer
                    .windows(br#""UnprocessedItems":{}"#.len())
                    .any(|window| window == br#""UnprocessedItems":{}"#)
                {
                    bail!(
                        "BatchWriteItem left items unprocessed: {}",
                        String::from_utf8_lossy(&answer[..answer.len().min(300)])
                    );
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("a writer panicked")??;
    }
    let last_ack_us = now_us();
    wait_for_seen(&mut client, (tables_n + keys.len()) as u64).await?;
    let seen = read_seen(&mut client).await?;
    let mut last_start_us = first_write_us;
    let mut batch_sum = 0.0;
    for pk in &keys {
        let record = seen
            .get(pk)
            .with_context(|| format!("the function never saw {pk}"))?;
        last_start_us = last_start_us.max(record.started_us);
        // Each record adds 1/batch of an invocation: the sum is the number of invocations.
        batch_sum += 1.0 / f64::from(record.batch.max(1));
    }
    Ok(Throughput {
        tables_n,
        records_n: keys.len(),
        write_s: (last_ack_us - first_write_us) as f64 / 1e6,
        deliver_s: (last_start_us - first_write_us) as f64 / 1e6,
        mean_batch: keys.len() as f64 / batch_sum.max(1.0),
    })
}

/// The `q` quantile (0.5 = median) of sorted values, by nearest rank.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    assert!((0.0..=1.0).contains(&q), "quantile {q} is not in 0..=1");
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0;
    };
    sorted[(last as f64 * q).round() as usize]
}

/// Microseconds, signed, as [`micros`] writes them.
fn signed_micros(us: i64) -> String {
    if us < 0 {
        format!("−{}", micros(us.unsigned_abs() as f64))
    } else {
        micros(us as f64)
    }
}

fn latency_row(name: &str, sorted: &[i64]) -> String {
    format!(
        "| {name} | {} | {} | {} | {} |",
        signed_micros(quantile(sorted, 0.5)),
        signed_micros(quantile(sorted, 0.99)),
        signed_micros(quantile(sorted, 0.999)),
        signed_micros(quantile(sorted, 1.0)),
    )
}

fn print_latency(latency: &Latency) {
    println!(
        "  {} records; handler start − sent p50 {}, − acked p50 {}; PutItem round trip p50 {}",
        latency.after_sent_us.len(),
        signed_micros(quantile(&latency.after_sent_us, 0.5)),
        signed_micros(quantile(&latency.after_ack_us, 0.5)),
        signed_micros(quantile(&latency.round_trip_us, 0.5)),
    );
}

fn print_throughput_line(throughput: &Throughput) {
    println!(
        "  {} records: written in {:.2} s ({:.0}/s), last handler started {:.2} s after the first write: {:.0} records/s; mean batch {:.1}",
        throughput.records_n,
        throughput.write_s,
        throughput.writes_per_s(),
        throughput.deliver_s,
        throughput.records_per_s(),
        throughput.mean_batch,
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

fn print_summary(latency: &Latency, throughputs: &[Throughput]) {
    println!();
    println!(
        "Commit → handler start, 1 trigger, batch_size 1, {} records (µs; the commit lies between the PutItem's send and its answer):",
        latency.after_sent_us.len()
    );
    println!();
    println!("| what | p50 | p99 | p99.9 | max |");
    println!("|---|---|---|---|---|");
    println!(
        "{}",
        latency_row(
            "handler start − PutItem sent (upper bound)",
            &latency.after_sent_us
        )
    );
    println!(
        "{}",
        latency_row(
            "handler start − PutItem answer read (\"after ack\", lower bound)",
            &latency.after_ack_us
        )
    );
    println!(
        "{}",
        latency_row(
            "PutItem round trip (answer read − sent)",
            &latency.round_trip_us
        )
    );
    if latency.batched_n > 0 {
        println!(
            "({} records arrived in a batch of more than one: batch_size was not 1?)",
            latency.batched_n
        );
    }
    println!();
    println!(
        "Throughput, batch_size {THROUGHPUT_BATCH_SIZE}, records written with BatchWriteItem over {WRITE_CONNECTIONS_N} connections:"
    );
    println!();
    println!(
        "| triggers | records | written/s | delivered records/s (first write → last handler start) | last handler start after last write answer | mean batch |"
    );
    println!("|---|---|---|---|---|---|");
    for throughput in throughputs {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} ms | {:.1} |",
            throughput.tables_n,
            throughput.records_n,
            throughput.writes_per_s(),
            throughput.records_per_s(),
            (throughput.deliver_s - throughput.write_s) * 1e3,
            throughput.mean_batch,
        );
    }
    println!();
    let reference_ms = 1000 / AWS_POLLS_PER_S;
    println!(
        "reference: AWS Lambda polls each DynamoDB stream shard {AWS_POLLS_PER_S} times per second, which adds 0–{reference_ms} ms before a record's batch starts; no local emulator publishes a figure, so there is no peer in this run"
    );
    let p50 = quantile(&latency.after_sent_us, 0.5);
    let p99 = quantile(&latency.after_sent_us, 0.99);
    let p50_lower = quantile(&latency.after_ack_us, 0.5);
    let p99_lower = quantile(&latency.after_ack_us, 0.99);
    println!(
        "commit → handler start p50 ≤ {}: {} (upper bound {}, lower bound {})",
        micros(P50_TARGET_US as f64),
        verdict(p50 <= P50_TARGET_US),
        signed_micros(p50),
        signed_micros(p50_lower),
    );
    println!(
        "commit → handler start p99 ≤ {}: {} (upper bound {}, lower bound {})",
        micros(P99_TARGET_US as f64),
        verdict(p99 <= P99_TARGET_US),
        signed_micros(p99),
        signed_micros(p99_lower),
    );
}

#[cfg(test)]
mod tests;
