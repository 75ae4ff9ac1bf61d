//! The kill matrix: `rondo dev` is killed with SIGKILL at random moments under mixed load, then
//! restarted on the same data folder, round after round; after each restart every durable
//! promise is checked against what the clients were told before the kill.
//!
//! The load, all at once:
//! - HTTP requests through the gateway to a wasm function that writes a table (the cart
//!   example's `add-to-cart`: `POST /carts/{cartId}/items`, one new cart per request);
//! - direct writes through the AWS SDK (PutItem), each key's writes carrying a counter that grows
//!   in the order they were sent;
//! - a stream trigger on that table whose function (`test_trigger.wasm`) writes down every record
//!   it is given into `deliveries` before it returns;
//! - asynchronous invocations (`Invoke` with `InvocationType: Event`) of a function
//!   (`test_tables.wasm`) that puts one item per event into `events`.
//!
//! One round in three also kills the restarted node again during its recovery (the trigger
//! redelivering, pending events running), with no load.
//!
//! After each restart, the invariants (design note 013):
//! 1. every acknowledged write is in the table (an HTTP 200, a PutItem answered);
//! 2. the stream holds a record of every acknowledged write and nothing never written, and each
//!    key's records are in the order of its writes;
//! 3. no trigger checkpoint is ahead of delivery: every record of the stream reaches the function
//!    (what it wrote down before the kill plus what it is given after the restart), so none was
//!    skipped by a checkpoint that moved before its batch was delivered;
//! 4. every accepted asynchronous event (202) runs: before the kill, or after the restart;
//! 5. the metering ledger agrees with the REPORT lines printed: per function,
//!    flushed ≤ ledger ≤ REPORT lines, where flushed is what a cost report (which flushes the
//!    ledger) counted before the kill, and REPORT − ledger ≤ the REPORT lines printed between
//!    that report and the kill (the ledger's batch not yet committed when the kill came).
//!
//! The kill moments come from a seeded generator; the seed is printed, and
//! `RONDO_KILL_MATRIX_SEED=<seed>` replays the same moments (the machine's timing still varies).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::lambda_api::lambda;
use crate::support::dynamo::{Item, dynamodb, n, s, wait_active};
use crate::support::streams::dynamodb_streams;
use crate::support::{App, Dev, client, repo, test_wasm};

/// Kill-and-restart rounds.
const N_ROUNDS: usize = 20;
/// Load before the kill, in milliseconds: each round picks a moment in this range.
const LOAD_MS_MIN: u64 = 200;
const LOAD_MS_MAX: u64 = 900;
/// The least time between the cost report taken under load and the kill, so that the invocations
/// the report flushed have printed their REPORT lines (the ledger takes a record just before the
/// log printer does).
const COST_TO_KILL_MS_MIN: u64 = 100;
/// How long a live node's log printer may take to print what its ledger took: a bound, not a
/// speed expectation.
const PRINTER_WAIT_S: u64 = 10;
/// One round in this many also kills the restarted node during its recovery, at a moment below
/// `RECOVERY_KILL_MS_MAX` after it serves.
const RECOVERY_KILL_ONE_IN: u64 = 3;
const RECOVERY_KILL_MS_MAX: u64 = 300;
/// Workers of each kind.
const N_HTTP_WORKERS: usize = 2;
const N_DIRECT_WRITERS: usize = 2;
const KEYS_PER_DIRECT_WRITER: usize = 2;
const N_EVENT_WORKERS: usize = 1;
/// Items (lines) per direct key: later writes of a key replace earlier lines.
const N_LINES: u64 = 4;
/// A bound on each worker, so that a server that never dies cannot keep a test running.
const N_OPERATIONS_PER_WORKER_MAX: usize = 100_000;
/// How long to wait after a restart for the trigger and the asynchronous events to catch up: a
/// bound, not a speed expectation.
const CATCH_UP_WAIT_S: u64 = 120;
/// The most GetRecords pages read from one shard before deciding it never runs dry.
const PAGES_PER_SHARD_MAX: usize = 10_000;

/// Each function's `memory_mb`, which its REPORT lines show (`Memory Size: N MB`): that is how
/// REPORT lines are told apart by function.
const FUNCTIONS: [(&str, u64); 3] = [("add-to-cart", 64), ("status", 96), ("store", 128)];

fn manifest() -> String {
    let [(http, http_mb), (trigger, trigger_mb), (events, events_mb)] = FUNCTIONS;
    format!(
        r#"[app]
name = "kill-matrix"

[function.{http}]
wasm = "add-to-cart.wasm"
memory_mb = {http_mb}
timeout_ms = 60000

[function.{trigger}]
wasm = "trigger.wasm"
memory_mb = {trigger_mb}
timeout_ms = 60000
environment = {{ LOG_TABLE = "deliveries" }}

[function.{events}]
wasm = "tables.wasm"
memory_mb = {events_mb}
timeout_ms = 60000

[[route]]
route = "POST /carts/{{cartId}}/items"
function = "{http}"

[table.carts]
partition_key = {{ name = "cartId", type = "S" }}
sort_key = {{ name = "itemId", type = "S" }}
stream = "NEW_IMAGE"

[table.deliveries]
partition_key = {{ name = "id", type = "S" }}

[table.events]
partition_key = {{ name = "id", type = "S" }}

[[trigger]]
source = "table:carts"
function = "{trigger}"
starting_position = "TRIM_HORIZON"
batch_size = 100
"#
    )
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::print_stderr,
    reason = "the seed (to replay a failure) and each round's numbers are the test's record; libtest shows them with the output"
)]
async fn every_promise_holds_after_each_sigkill_under_mixed_load() {
    let seed = seed();
    eprintln!("kill matrix: seed {seed} (replay with RONDO_KILL_MATRIX_SEED={seed})");
    let mut rng = SplitMix64(seed);
    let app = App::new(
        &manifest(),
        &[
            (
                "add-to-cart.wasm",
                repo().join("examples/cart/add-to-cart.wasm"),
            ),
            ("trigger.wasm", test_wasm("test_trigger.wasm")),
            ("tables.wasm", test_wasm("test_tables.wasm")),
        ],
    );
    let started = Instant::now();
    let mut dev = Dev::start(&app);
    for table in ["carts", "deliveries", "events"] {
        wait_active(&dynamodb(&dev), table).await;
    }
    let mut history = History::default();
    for round in 0..N_ROUNDS {
        let round_started = Instant::now();
        let load_ms = LOAD_MS_MIN + rng.below(LOAD_MS_MAX - LOAD_MS_MIN);
        let cost_ms = rng.below(load_ms - COST_TO_KILL_MS_MIN);
        let workers = start_load(&dev, round, &history);

        tokio::time::sleep(Duration::from_millis(cost_ms)).await;
        let reports_before_cost = count_reports(&dev.stdout());
        let flushed = ledger_counts(&dev).await;
        tokio::time::sleep(Duration::from_millis(load_ms - cost_ms)).await;
        // `Child::kill` is SIGKILL: no shutdown code runs.
        dev.child.kill().expect("SIGKILL rondo dev");
        dev.child.wait().expect("reap rondo dev");
        let mut done = Vec::new();
        for worker in workers {
            done.push(worker.await.expect("a worker task"));
        }
        // The capture threads read the pipes to their end once the process is gone.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let reports_at_kill = count_reports(&dev.stdout());
        history.end_round(done, &flushed, &reports_before_cost, &reports_at_kill);
        drop(dev);

        dev = Dev::start(&app);
        // Some rounds kill the restarted node again while it recovers: while the trigger
        // redelivers its last batch, the asynchronous events left pending run, and the ledger
        // takes their records.
        let recovery_kill_ms =
            (rng.below(RECOVERY_KILL_ONE_IN) == 0).then(|| rng.below(RECOVERY_KILL_MS_MAX));
        if let Some(recovery_kill_ms) = recovery_kill_ms {
            tokio::time::sleep(Duration::from_millis(recovery_kill_ms)).await;
            dev.child.kill().expect("SIGKILL rondo dev");
            dev.child.wait().expect("reap rondo dev");
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Nothing flushed the ledger: every REPORT line of this node may lack its record.
            let reports = count_reports(&dev.stdout());
            history.end_round(Vec::new(), &BTreeMap::new(), &BTreeMap::new(), &reports);
            drop(dev);
            dev = Dev::start(&app);
        }
        let checked = check(&dev, &history).await;
        assert!(
            checked.problems.is_empty(),
            "round {round} (seed {seed}, killed after {load_ms} ms, then {recovery_kill_ms:?} ms \
             into the recovery):\n{}",
            checked.problems.join("\n")
        );
        eprintln!(
            "round {round}: killed after {load_ms} ms, then {recovery_kill_ms:?} ms into the \
             recovery; {} HTTP adds, {} direct writes, {} events \
             acknowledged so far; {} stream records; ledger/REPORT lines {:?}; round took {:.1} s",
            history.http_adds.len(),
            history
                .direct
                .values()
                .map(|key| key.acknowledged.len())
                .sum::<usize>(),
            history.events.len(),
            checked.n_records,
            checked.metered,
            round_started.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "kill matrix: {N_ROUNDS} rounds in {:.1} s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
}

/// The seed of the kill moments: `RONDO_KILL_MATRIX_SEED`, or else the clock.
fn seed() -> u64 {
    match std::env::var("RONDO_KILL_MATRIX_SEED") {
        Ok(seed) => seed.parse().expect("RONDO_KILL_MATRIX_SEED is a u64"),
        Err(_) => {
            let since_epoch = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("the clock is past 1970");
            u64::try_from(since_epoch.as_nanos() % u128::from(u64::MAX)).expect("below u64::MAX")
        }
    }
}

/// SplitMix64: a small, seeded generator (Steele, Lea and Flood), enough to pick kill moments.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// What the clients were told
// ---------------------------------------------------------------------------------------------

/// Everything the clients were told across the rounds so far.
#[derive(Default)]
struct History {
    /// Carts an HTTP add was acknowledged for (one line, `tea`, each).
    http_adds: BTreeSet<String>,
    /// Direct writes, by partition key.
    direct: BTreeMap<String, DirectKey>,
    /// Ids of accepted asynchronous events.
    events: BTreeSet<String>,
    /// Per function: the most the ledger ever reported (it only grows), the REPORT lines of
    /// processes that are gone, and how many REPORT lines may lack a ledger record (printed after
    /// a flushing cost report and before a kill).
    ledger_flushed: BTreeMap<String, u64>,
    reports_before: BTreeMap<String, u64>,
    reports_unflushed: BTreeMap<String, u64>,
    /// Unexpected answers the workers got.
    problems: Vec<String>,
}

/// One key's direct writes: each carries the key's next counter, on line `counter % N_LINES`.
#[derive(Debug, Default)]
struct DirectKey {
    acknowledged: Vec<u64>,
    /// Writes that got no answer (a kill): each may or may not have committed.
    unknown: Vec<u64>,
}

impl DirectKey {
    fn next_counter(&self) -> u64 {
        let last = self.acknowledged.iter().chain(&self.unknown).max();
        last.map_or(1, |last| last + 1)
    }
}

/// What one worker saw in one round.
#[derive(Default)]
struct Done {
    http_adds: Vec<String>,
    direct: BTreeMap<String, DirectKey>,
    events: Vec<String>,
    problems: Vec<String>,
}

impl History {
    fn end_round(
        &mut self,
        done: Vec<Done>,
        flushed: &BTreeMap<String, u64>,
        reports_before_cost: &BTreeMap<String, u64>,
        reports_at_kill: &BTreeMap<String, u64>,
    ) {
        for done in done {
            self.http_adds.extend(done.http_adds);
            self.events.extend(done.events);
            self.problems.extend(done.problems);
            for (pk, key) in done.direct {
                let history = self.direct.entry(pk).or_default();
                history.acknowledged.extend(key.acknowledged);
                history.unknown.extend(key.unknown);
            }
        }
        for (function, _) in FUNCTIONS {
            let count = |counts: &BTreeMap<String, u64>| counts.get(function).copied().unwrap_or(0);
            let most = self.ledger_flushed.entry(function.to_owned()).or_insert(0);
            *most = (*most).max(count(flushed));
            *self
                .reports_unflushed
                .entry(function.to_owned())
                .or_insert(0) += count(reports_at_kill) - count(reports_before_cost);
            *self.reports_before.entry(function.to_owned()).or_insert(0) += count(reports_at_kill);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The load
// ---------------------------------------------------------------------------------------------

/// Starts every worker of one round; each runs until the server stops answering.
fn start_load(dev: &Dev, round: usize, history: &History) -> Vec<tokio::task::JoinHandle<Done>> {
    let mut workers = Vec::new();
    for worker_idx in 0..N_HTTP_WORKERS {
        let url = dev.url("/carts");
        workers.push(tokio::spawn(http_adds(url, round, worker_idx)));
    }
    let dynamodb = dynamodb(dev);
    for writer_idx in 0..N_DIRECT_WRITERS {
        let keys: Vec<(String, u64)> = (0..KEYS_PER_DIRECT_WRITER)
            .map(|key_idx| {
                let pk = format!("direct-{writer_idx}-{key_idx}");
                let next = history.direct.get(&pk).map_or(1, DirectKey::next_counter);
                (pk, next)
            })
            .collect();
        workers.push(tokio::spawn(direct_writes(dynamodb.clone(), keys)));
    }
    let lambda = lambda(dev);
    for worker_idx in 0..N_EVENT_WORKERS {
        workers.push(tokio::spawn(async_events(
            lambda.clone(),
            round,
            worker_idx,
        )));
    }
    workers
}

/// `POST /carts/{cartId}/items` for a new cart each time.
async fn http_adds(base_url: String, round: usize, worker_idx: usize) -> Done {
    let client = client();
    let mut done = Done::default();
    for op_idx in 0..N_OPERATIONS_PER_WORKER_MAX {
        let cart = format!("http-{round}-{worker_idx}-{op_idx}");
        let request = http::Request::post(format!("{base_url}/{cart}/items"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                json!({"itemId": "tea", "quantity": 1}).to_string(),
            )))
            .expect("a request");
        let Ok(response) = client.request(request).await else {
            return done;
        };
        let status = response.status();
        let Ok(body) = response.into_body().collect().await else {
            return done;
        };
        if status != 200 {
            let body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
            done.problems.push(format!(
                "POST /carts/{cart}/items answered {status}: {body}"
            ));
            return done;
        }
        done.http_adds.push(cart);
    }
    panic!("HTTP worker {worker_idx} was never stopped");
}

/// PutItem on the writer's keys in turn, each with the key's next counter.
async fn direct_writes(client: Client, keys: Vec<(String, u64)>) -> Done {
    let mut done = Done::default();
    let mut next: Vec<u64> = keys.iter().map(|(_, next)| *next).collect();
    for op_idx in 0..N_OPERATIONS_PER_WORKER_MAX {
        let key_idx = op_idx % keys.len();
        let pk = &keys[key_idx].0;
        let counter = next[key_idx];
        next[key_idx] += 1;
        let written = client
            .put_item()
            .table_name("carts")
            .item("cartId", s(pk))
            .item("itemId", s(&format!("line{}", counter % N_LINES)))
            .item("counter", n(&counter.to_string()))
            .send()
            .await;
        let key = done.direct.entry(pk.clone()).or_default();
        match written {
            Ok(_) => key.acknowledged.push(counter),
            Err(SdkError::ServiceError(error)) => {
                done.problems
                    .push(format!("PutItem {pk} {counter} failed: {error:?}"));
                return done;
            }
            Err(_) => {
                key.unknown.push(counter);
                return done;
            }
        }
    }
    panic!("a direct writer was never stopped");
}

/// `Invoke` with `InvocationType: Event`, each event putting one item with its own id.
async fn async_events(client: aws_sdk_lambda::Client, round: usize, worker_idx: usize) -> Done {
    let mut done = Done::default();
    for op_idx in 0..N_OPERATIONS_PER_WORKER_MAX {
        let id = format!("event-{round}-{worker_idx}-{op_idx}");
        let event = json!({"action": "put", "table": "events", "item": {"id": id}});
        let invoked = client
            .invoke()
            .function_name(FUNCTIONS[2].0)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(event.to_string()))
            .send()
            .await;
        match invoked {
            Ok(output) if output.status_code() == 202 => done.events.push(id),
            Ok(output) => {
                done.problems
                    .push(format!("Invoke (Event) {id} answered {output:?}"));
                return done;
            }
            Err(SdkError::ServiceError(error)) => {
                done.problems
                    .push(format!("Invoke (Event) {id} failed: {error:?}"));
                return done;
            }
            Err(_) => return done,
        }
    }
    panic!("an event worker was never stopped");
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// What the checks after one restart found.
struct Checked {
    problems: Vec<String>,
    n_records: usize,
    /// Per function: (invocations in the ledger, REPORT lines printed).
    metered: BTreeMap<String, (u64, u64)>,
}

/// Checks every invariant against `history` on the restarted server.
async fn check(dev: &Dev, history: &History) -> Checked {
    let mut problems = history.problems.clone();
    let client = dynamodb(dev);
    let carts = wait_active(&client, "carts").await;
    let arn = carts
        .latest_stream_arn()
        .unwrap_or_else(|| panic!("carts has no stream: {carts:?}"))
        .to_owned();

    // 1. Every acknowledged write is in the table.
    let items = scan(&client, "carts", None).await;
    problems.extend(table_problems(&items, history));

    // 2. The stream: complete, nothing invented, in order per key.
    let records = read_stream(&dynamodb_streams(dev), &arn).await;
    problems.extend(stream_problems(&records, history));

    // 3. and 4. Every record reaches the trigger's function; every accepted event runs.
    problems.extend(catch_up_problem(&client, &records, history).await);

    // 5. The ledger against the REPORT lines.
    let (ledger_problems, metered) = ledger_problems(dev, history).await;
    problems.extend(ledger_problems);
    Checked {
        problems,
        n_records: records.len(),
        metered,
    }
}

/// Waits (bounded) until every stream record is in `deliveries` and every accepted event's item
/// is in `events`; what is still missing at the deadline.
async fn catch_up_problem(
    client: &Client,
    records: &[Record],
    history: &History,
) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(CATCH_UP_WAIT_S);
    loop {
        let delivered: BTreeSet<u128> = scan(client, "deliveries", Some("seq"))
            .await
            .iter()
            .map(|item| string(item, "seq").parse().expect("a numeric seq"))
            .collect();
        let ran: BTreeSet<String> = scan(client, "events", None)
            .await
            .iter()
            .map(|item| string(item, "id"))
            .collect();
        let undelivered: Vec<u128> = records
            .iter()
            .map(|record| record.seq)
            .filter(|seq| !delivered.contains(seq))
            .collect();
        let not_run: Vec<&String> = history.events.difference(&ran).collect();
        if undelivered.is_empty() && not_run.is_empty() {
            return None;
        }
        if Instant::now() > deadline {
            return Some(format!(
                "{} stream records never delivered (a checkpoint ahead of delivery?), the first \
                 {:?}; {} accepted events never run, the first {:?}",
                undelivered.len(),
                undelivered.first(),
                not_run.len(),
                not_run.first()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks the ledger against the REPORT lines (design note 013): per function,
/// flushed ≤ ledger ≤ REPORT and REPORT − ledger ≤ unflushed. Also returns, per function, the
/// ledger's count and the REPORT lines.
async fn ledger_problems(
    dev: &Dev,
    history: &History,
) -> (Vec<String>, BTreeMap<String, (u64, u64)>) {
    // Its reader flushes the ledger, and this node is alive: the printer writes what the ledger
    // took soon after it took it, so wait (bounded) for the lines.
    let ledger = ledger_counts(dev).await;
    let printed_by = |reports: &BTreeMap<String, u64>, function: &str| {
        history.reports_before.get(function).copied().unwrap_or(0)
            + reports.get(function).copied().unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(PRINTER_WAIT_S);
    let reports = loop {
        let reports = count_reports(&dev.stdout());
        let caught_up = FUNCTIONS.iter().all(|(function, _)| {
            ledger.get(*function).copied().unwrap_or(0) <= printed_by(&reports, function)
        });
        if caught_up || Instant::now() > deadline {
            break reports;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut problems = Vec::new();
    let mut metered = BTreeMap::new();
    for (function, _) in FUNCTIONS {
        let count = |counts: &BTreeMap<String, u64>| counts.get(function).copied().unwrap_or(0);
        let in_ledger = count(&ledger);
        let printed = printed_by(&reports, function);
        let flushed = count(&history.ledger_flushed);
        let unflushed = count(&history.reports_unflushed);
        metered.insert(function.to_owned(), (in_ledger, printed));
        if in_ledger < flushed {
            problems.push(format!(
                "{function}: the ledger counts {in_ledger} invocations, fewer than the {flushed} \
                 a cost report counted before a kill"
            ));
        }
        if in_ledger > printed {
            problems.push(format!(
                "{function}: the ledger counts {in_ledger} invocations, more than the {printed} \
                 REPORT lines printed (or a log printer was kept from running for \
                 {COST_TO_KILL_MS_MIN} ms before a kill)"
            ));
        }
        if printed - in_ledger.min(printed) > unflushed {
            problems.push(format!(
                "{function}: {printed} REPORT lines printed, {in_ledger} in the ledger: more \
                 missing than the {unflushed} printed between a cost report and a kill"
            ));
        }
    }
    (problems, metered)
}

fn table_problems(items: &[Item], history: &History) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stored: BTreeMap<(String, String), Option<u64>> = BTreeMap::new();
    for item in items {
        let counter = item
            .get("counter")
            .map(|counter| counter.as_n().expect("a number").parse().expect("a u64"));
        stored.insert((string(item, "cartId"), string(item, "itemId")), counter);
    }
    for cart in &history.http_adds {
        if !stored.contains_key(&(cart.clone(), "tea".to_owned())) {
            problems.push(format!(
                "the acknowledged HTTP add to {cart} is not in the table"
            ));
        }
    }
    for (pk, key) in &history.direct {
        for line in 0..N_LINES {
            let Some(last) = key
                .acknowledged
                .iter()
                .filter(|counter| *counter % N_LINES == line)
                .max()
            else {
                continue;
            };
            let stored = stored
                .get(&(pk.clone(), format!("line{line}")))
                .copied()
                .flatten();
            let written = |counter: u64| {
                key.acknowledged.contains(&counter) || key.unknown.contains(&counter)
            };
            match stored {
                Some(stored) if stored >= *last && written(stored) => {}
                other => problems.push(format!(
                    "{pk} line{line} holds counter {other:?}, but {last} was acknowledged there"
                )),
            }
        }
    }
    problems
}

/// One stream record: its sequence number, key and, for direct writes, counter.
#[derive(Debug)]
struct Record {
    seq: u128,
    shard: usize,
    cart: String,
    counter: Option<u64>,
}

fn stream_problems(records: &[Record], history: &History) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_cart: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in records {
        by_cart
            .entry(record.cart.as_str())
            .or_default()
            .push(record);
    }
    for cart in &history.http_adds {
        if !by_cart.contains_key(cart.as_str()) {
            problems.push(format!(
                "the acknowledged HTTP add to {cart} has no stream record"
            ));
        }
    }
    for (pk, key) in &history.direct {
        let mut records = by_cart.get(pk.as_str()).cloned().unwrap_or_default();
        records.sort_by_key(|record| record.seq);
        if records
            .windows(2)
            .any(|pair| pair[0].shard != pair[1].shard)
        {
            problems.push(format!("{pk} has records in more than one shard"));
        }
        let counters: Vec<u64> = records.iter().filter_map(|record| record.counter).collect();
        if counters.windows(2).any(|pair| pair[0] >= pair[1]) {
            problems.push(format!(
                "{pk}: counters in sequence-number order are {counters:?}, not increasing"
            ));
        }
        for counter in &key.acknowledged {
            if !counters.contains(counter) {
                problems.push(format!("{pk}: acknowledged write {counter} has no record"));
            }
        }
        for counter in &counters {
            if !key.acknowledged.contains(counter) && !key.unknown.contains(counter) {
                problems.push(format!("{pk}: a record of write {counter}, never sent"));
            }
        }
    }
    problems
}

/// Every record of the stream, shard by shard, through GetRecords until a page comes back empty.
async fn read_stream(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> Vec<Record> {
    let described = streams
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe stream {arn}: {e:?}"));
    let description = described.stream_description().expect("StreamDescription");
    let mut records = Vec::new();
    for (shard_idx, shard) in description.shards().iter().enumerate() {
        let shard_id = shard.shard_id().expect("ShardId");
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetShardIterator {shard_id}: {e:?}"))
            .shard_iterator
            .expect("ShardIterator");
        for page_idx in 0.. {
            assert!(page_idx < PAGES_PER_SHARD_MAX, "{shard_id} never ran dry");
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRecords {shard_id}: {e:?}"));
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                records.push(stream_record(record, shard_idx));
            }
            match page.next_shard_iterator {
                Some(next) => iterator = next,
                None => break,
            }
        }
    }
    records
}

fn stream_record(record: &aws_sdk_dynamodbstreams::types::Record, shard: usize) -> Record {
    let body = record.dynamodb().expect("dynamodb");
    let image = body
        .new_image()
        .unwrap_or_else(|| panic!("a record without NewImage: {record:?}"));
    let cart = match image.get("cartId") {
        Some(StreamValue::S(cart)) => cart.clone(),
        other => panic!("cartId is {other:?} in {record:?}"),
    };
    let counter = match image.get("counter") {
        Some(StreamValue::N(counter)) => Some(counter.parse().expect("a u64 counter")),
        _ => None,
    };
    Record {
        seq: body
            .sequence_number()
            .expect("SequenceNumber")
            .parse()
            .expect("a numeric sequence number"),
        shard,
        cart,
        counter,
    }
}

/// Every item of `table` (only `projection` when given), read with consistent reads.
async fn scan(client: &Client, table: &str, projection: Option<&str>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_projection_expression(projection.map(str::to_owned))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return items,
        }
    }
}

fn string(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .unwrap_or_else(|| panic!("{name} is not a string in {item:?}"))
        .clone()
}

/// Invocations per function in the ledger (`GET /rondo/v1/cost?by=function`, which flushes the
/// ledger first); functions with none are absent.
async fn ledger_counts(dev: &Dev) -> BTreeMap<String, u64> {
    let request = http::Request::get(format!("{}/rondo/v1/cost?by=function", dev.aws))
        .body(Full::new(Bytes::new()))
        .expect("a request");
    let response = client().request(request).await.expect("GET /rondo/v1/cost");
    assert_eq!(response.status(), 200, "GET /rondo/v1/cost");
    let body = response.into_body().collect().await.expect("a body");
    let report: Value = serde_json::from_slice(&body.to_bytes()).expect("a JSON cost report");
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {report:#}"))
        .iter()
        .map(|row| {
            let name = row["name"].as_str().expect("a row name").to_owned();
            (name, row["requests"].as_u64().expect("requests"))
        })
        .collect()
}

/// REPORT lines in `stdout`, by function (told apart by their `Memory Size`).
fn count_reports(stdout: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in stdout.lines().filter(|line| line.starts_with("REPORT ")) {
        let memory_mb: u64 = line
            .split('\t')
            .find_map(|field| field.strip_prefix("Memory Size: "))
            .and_then(|size| size.strip_suffix(" MB"))
            .and_then(|size| size.parse().ok())
            .unwrap_or_else(|| panic!("a REPORT line without Memory Size: {line}"));
        let (function, _) = FUNCTIONS
            .iter()
            .find(|(_, mb)| *mb == memory_mb)
            .unwrap_or_else(|| panic!("no function has {memory_mb} MB: {line}"));
        *counts.entry((*function).to_owned()).or_insert(0) += 1;
    }
    counts
}
