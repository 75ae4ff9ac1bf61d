//! Backup and restore: `rondo backup` takes a consistent snapshot of a running node's store
//! while items are being written, `rondo restore` makes a new data folder from it, and a node
//! started on that folder has everything the snapshot had: every item acknowledged before the
//! backup began (and the table is a prefix of the writes: nothing after a missing one), the
//! stream records in order, the trigger's checkpoints (nothing delivered again), the pending
//! asynchronous invocation (it runs after the restore) and the ledger.
//!
//! The node is started with `--aws-credentials`, so the backup must be signed: unsigned or
//! badly signed requests are refused in DynamoDB's error shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::json;

use crate::lambda_api::lambda;
use crate::support::admin::{cost, cost_row};
use crate::support::dynamo::{
    Item, Poll, dynamodb, get_n, get_s, n, put_request, s, sign, wait_active,
};
use crate::support::streams::dynamodb_streams;
use crate::support::{App, Dev, rondo, send, test_wasm};

/// The key the nodes accept and the clients sign with.
const CREDENTIALS: &str = "test:test";
/// The first node's wait before retrying the failed asynchronous event: long enough that the
/// event is still pending when the backup is taken and the node is stopped.
const RETRY_DELAY_MS: &str = "15000";
/// How long the test waits for what it expects: a bound, not a speed expectation.
const WAIT_S: u64 = 120;
/// Items in `load` before the writes that run during the backup.
const N_PREFILLED: usize = 2000;
/// Changes to `carts` delivered (and checkpointed) before the backup.
const N_CARTS: usize = 20;

const MANIFEST: &str = r#"[app]
name = "backup"

[table.carts]
partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }
stream = "NEW_AND_OLD_IMAGES"

[table.log]
partition_key = { name = "id", type = "S" }

[table.load]
partition_key = { name = "pk", type = "S" }
stream = "NEW_AND_OLD_IMAGES"

[table.failures]
partition_key = { name = "id", type = "S" }

[function.status]
wasm = "trigger.wasm"
environment = { LOG_TABLE = "log" }

[[trigger]]
source = "table:carts"
function = "status"
starting_position = "TRIM_HORIZON"

[function.tester]
wasm = "handler.wasm"

[function.tester.async]
maximum_retry_attempts = 1
on_failure = "table:failures"
"#;

fn app() -> App {
    App::new(
        MANIFEST,
        &[
            ("trigger.wasm", test_wasm("test_trigger.wasm")),
            ("handler.wasm", test_wasm("test_handler.wasm")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_write_load_restores_items_streams_checkpoints_events_and_the_ledger() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let backup_file = work.path().join("node.backup");
    let first_app = app();
    let first = Dev::start_with(
        &first_app,
        &[
            "--aws-credentials",
            CREDENTIALS,
            "--async-retry-delay-ms",
            RETRY_DELAY_MS,
        ],
    );
    let client = dynamodb(&first);
    wait_active(&client, "load").await;

    // Trigger deliveries, all checkpointed before the backup.
    for idx in 0..N_CARTS {
        put_cart(&client, &format!("cart{}", idx % 4), &format!("line{idx}")).await;
    }
    wait_for_deliveries(&client, N_CARTS).await;
    // The checkpoint moves right after the invocation that wrote the log returns.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // An asynchronous event whose first attempt fails: its retry waits in the store.
    let event = lambda(&first)
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(json!({"action": "error"}).to_string()))
        .send()
        .await
        .expect("Event to tester");
    assert_eq!(event.status_code(), 202);
    let request_id = event.request_id().expect("a request id").to_owned();
    first.wait_output("the event's first attempt", |stdout, _| {
        stdout.contains(&format!("REPORT RequestId: {request_id}"))
    });
    // A cost report commits the ledger's queued records: the backup has every invocation so far.
    let costs_before = wait_for_cost_row(&first, "tester").await;

    refuses_unsigned_and_badly_signed_backups(&first).await;

    prefill_load(&client).await;
    let writer = Writer::start(client.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked_before = writer.acked();
    let output = run_rondo(&[
        "backup",
        "--to",
        path_text(&backup_file),
        "--endpoint",
        &first.aws,
        "--aws-credentials",
        CREDENTIALS,
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked_after = writer.stop().await;
    assert!(output.status.success(), "rondo backup: {}", text(&output));
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(report.starts_with("backed up "), "{report}");
    assert!(
        report.contains(" records, ") && report.contains(" MB/s"),
        "{report}"
    );
    assert!(backup_file.exists(), "the backup is in place");
    assert!(
        !work.path().join("node.backup.tmp").exists(),
        "no temporary file left"
    );
    assert!(
        acked_after > acked_before,
        "writes went on during the backup: {acked_before} then {acked_after}"
    );
    drop(client);
    drop(first);

    // Restores that must not happen, each a one-line error.
    let refused = run_rondo(&[
        "restore",
        path_text(&backup_file),
        "--data",
        path_text(&first_app.path().join(".rondo")),
    ])
    .await;
    assert_one_line_error(&refused, "already holds a store");
    restores_nothing_from_a_damaged_file(&backup_file, work.path()).await;

    let second_app = app();
    let data = second_app.path().join(".rondo");
    let output = run_rondo(&[
        "restore",
        path_text(&backup_file),
        "--data",
        path_text(&data),
    ])
    .await;
    assert!(output.status.success(), "rondo restore: {}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with("restored "),
        "{}",
        text(&output)
    );
    let second = Dev::start_with(&second_app, &["--aws-credentials", CREDENTIALS]);
    let client = dynamodb(&second);

    // The ledger came back: every invocation of the first node is in the second's report.
    let costs_after = cost(&second, "function").await;
    for function in ["status", "tester"] {
        let before = cost_row(&costs_before, function)["requests"].as_u64();
        let after = cost_row(&costs_after, function)["requests"].as_u64();
        assert!(before >= Some(1), "{costs_before:#}");
        assert!(
            after >= before,
            "{function}: {costs_before:#} then {costs_after:#}"
        );
    }

    items_are_a_prefix_of_the_writes(&client, acked_before, acked_after).await;
    stream_records_are_in_order(&second, &client).await;

    // The checkpoints came back: a new change is delivered, and none of the old ones again.
    put_cart(&client, "cart0", "after-restore").await;
    wait_for_deliveries(&client, N_CARTS + 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = scan_all(&client, "log").await;
    let mut per_sequence_number: BTreeMap<String, usize> = BTreeMap::new();
    for delivery in &log {
        *per_sequence_number
            .entry(get_s(delivery, "seq").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_sequence_number.len(), N_CARTS + 1, "{log:#?}");
    assert!(
        per_sequence_number.values().all(|count| *count == 1),
        "a change delivered twice: {per_sequence_number:?}"
    );
    assert_eq!(
        cost_row(&cost(&second, "function").await, "status")["requests"].as_u64(),
        cost_row(&costs_before, "status")["requests"]
            .as_u64()
            .map(|before| before + 1),
        "one invocation for the one new change"
    );

    // The pending event came back and ran: its second attempt failed too, which ends it in
    // the on-failure table, counting the first node's attempt.
    let record = wait_for_item(&client, "failures", &request_id).await;
    let context = match record.get("requestContext") {
        Some(aws_sdk_dynamodb::types::AttributeValue::M(context)) => context,
        other => panic!("requestContext is {other:?} in {record:?}"),
    };
    assert_eq!(get_s(context, "condition"), "RetriesExhausted");
    assert_eq!(get_n(context, "approximateInvokeCount"), "2");
    assert!(
        second
            .stdout()
            .contains(&format!("START RequestId: {request_id} ")),
        "the event ran on the restored node: {}",
        second.stdout()
    );
}

/// Unsigned, wrongly signed and unknown-key requests for the backup get DynamoDB's 400s.
async fn refuses_unsigned_and_badly_signed_backups(dev: &Dev) {
    let url = format!("{}/rondo/v1/backup", dev.aws);
    let cases: [(Option<(&str, &str)>, &str); 3] = [
        (None, "MissingAuthenticationTokenException"),
        (Some(("test", "wrong")), "InvalidSignatureException"),
        (Some(("nobody", "test")), "UnrecognizedClientException"),
    ];
    for (key, error_type) in cases {
        let mut request = http::Request::get(&url)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("a request");
        if let Some((key_id, secret)) = key {
            sign(&mut request, key_id, secret, b"");
        }
        let reply = send(request).await;
        assert_eq!(reply.status, 400, "{key:?}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/x-amz-json-1.0")
        );
        let body = reply.json();
        assert_eq!(
            body["__type"],
            format!("com.amazon.coral.service#{error_type}"),
            "{key:?}: {body}"
        );
    }
}

/// A truncated and a corrupted copy of the backup are refused, one line each naming the byte,
/// and leave the data folder without a store.
async fn restores_nothing_from_a_damaged_file(backup_file: &Path, work: &Path) {
    let bytes = std::fs::read(backup_file).expect("read the backup");
    let truncated = work.join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    let corrupted = work.join("corrupted.backup");
    std::fs::write(&corrupted, &flipped).expect("write");
    for (file, expected) in [(&truncated, "truncated"), (&corrupted, "corrupt at byte ")] {
        let data = work.join(format!("data-{expected}"));
        let output = run_rondo(&["restore", path_text(file), "--data", path_text(&data)]).await;
        let line = assert_one_line_error(&output, expected);
        assert!(line.contains("byte "), "{line}");
        assert!(!data.join("store").exists(), "no store after: {line}");
        assert!(
            !data.join(".restoring").exists(),
            "no staging folder after: {line}"
        );
    }
}

/// Checks that `output` failed with one line `error: …` containing `expected`; answers it.
fn assert_one_line_error(output: &Output, expected: &str) -> String {
    assert!(!output.status.success(), "{}", text(output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(expected), "{expected:?} in {stderr}");
    stderr.trim_end().to_owned()
}

/// The restored `load` holds every prefilled item, and of the items written during the backup
/// exactly the first `count`, with every acknowledged-before one in (one more than acknowledged
/// after is allowed: a write in flight when the writer stopped).
async fn items_are_a_prefix_of_the_writes(client: &Client, acked_before: u64, acked_after: u64) {
    let items = scan_all(client, "load").await;
    let mut prefilled = 0;
    let mut written = BTreeSet::new();
    for item in &items {
        let pk = get_s(item, "pk");
        if pk.starts_with('p') {
            prefilled += 1;
        } else {
            let idx: u64 = pk[1..].parse().expect("k<number>");
            written.insert(idx);
        }
    }
    assert_eq!(prefilled, N_PREFILLED);
    let count = written.len() as u64;
    let gaps: Vec<u64> = (0..count).filter(|idx| !written.contains(idx)).collect();
    assert!(
        gaps.is_empty(),
        "the writes restored are a prefix: missing {gaps:?} of {count}"
    );
    assert!(
        (acked_before..=acked_after + 1).contains(&count),
        "{count} writes restored; {acked_before} acknowledged before the backup, {acked_after} by the end"
    );
}

/// The restored stream of `load` has one INSERT per item, in sequence-number order per shard,
/// and the writes of each shard in the order they were made.
async fn stream_records_are_in_order(dev: &Dev, client: &Client) {
    let streams = dynamodb_streams(dev);
    let described = client
        .describe_table()
        .table_name("load")
        .send()
        .await
        .expect("DescribeTable");
    let arn = described
        .table()
        .and_then(|table| table.latest_stream_arn())
        .expect("a stream")
        .to_owned();
    let stream = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("DescribeStream");
    let shards = stream
        .stream_description()
        .map(|description| description.shards().to_vec())
        .unwrap_or_default();
    let mut keys = BTreeSet::new();
    for shard in shards {
        let shard_id = shard.shard_id().expect("a shard id");
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator()
            .map(str::to_owned);
        let mut last: Option<(usize, String)> = None;
        let mut last_write: Option<u64> = None;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("GetRecords");
            for record in page.records() {
                let change = record.dynamodb().expect("a change");
                let sequence_number = change.sequence_number().expect("a sequence number");
                let position = (sequence_number.len(), sequence_number.to_owned());
                assert!(
                    last.as_ref() < Some(&position),
                    "in order: {last:?} then {position:?}"
                );
                last = Some(position);
                assert_eq!(
                    record.event_name().map(|name| name.as_str()),
                    Some("INSERT")
                );
                let key = change.keys().and_then(|keys| keys.get("pk")).expect("pk");
                let key = key.as_s().expect("a string key").clone();
                if let Some(idx) = key.strip_prefix('k') {
                    let idx: u64 = idx.parse().expect("k<number>");
                    assert!(
                        last_write < Some(idx),
                        "writes in order: {last_write:?}, {idx}"
                    );
                    last_write = Some(idx);
                }
                assert!(keys.insert(key), "one record per item");
            }
            iterator = if page.records().is_empty() {
                None
            } else {
                page.next_shard_iterator().map(str::to_owned)
            };
        }
    }
    let items: BTreeSet<String> = scan_all(client, "load")
        .await
        .iter()
        .map(|item| get_s(item, "pk").to_owned())
        .collect();
    let records_only: Vec<&String> = keys.difference(&items).collect();
    let items_only: Vec<&String> = items.difference(&keys).collect();
    assert!(
        records_only.is_empty() && items_only.is_empty(),
        "a stream record for every item and no other: records without an item {records_only:?}, items without a record {items_only:?}"
    );
    // The table's counters (another area of the store) agree with its items.
    let item_count = described.table().and_then(|table| table.item_count());
    assert_eq!(item_count, Some(items.len() as i64), "ItemCount");
}

/// Writes `load` items `k000000`, `k000001`, … one after another until stopped, counting those
/// acknowledged: each is written only after the one before it was.
struct Writer {
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(client: Client) -> Writer {
        let acked = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let acked = Arc::clone(&acked);
            let stop = Arc::clone(&stop);
            async move {
                let mut idx = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    client
                        .put_item()
                        .table_name("load")
                        .item("pk", s(&format!("k{idx:06}")))
                        .item("n", n(&idx.to_string()))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("PutItem k{idx:06}: {e:?}"));
                    idx += 1;
                    acked.store(idx, Ordering::SeqCst);
                }
            }
        });
        Writer { acked, stop, task }
    }

    fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the writer ran to its stop");
        self.acked.load(Ordering::SeqCst)
    }
}

async fn prefill_load(client: &Client) {
    for chunk_start in (0..N_PREFILLED).step_by(25) {
        let requests = (chunk_start..chunk_start + 25)
            .map(|idx| {
                put_request(Item::from([
                    ("pk".to_owned(), s(&format!("p{idx:05}"))),
                    ("pad".to_owned(), s(&"x".repeat(2000))),
                ]))
            })
            .collect();
        let output = client
            .batch_write_item()
            .request_items("load", requests)
            .send()
            .await
            .expect("BatchWriteItem");
        assert!(
            output
                .unprocessed_items()
                .is_none_or(|unprocessed| unprocessed.is_empty()),
            "{output:?}"
        );
    }
}

/// The cost report by function, once it has a row for `function`.
async fn wait_for_cost_row(dev: &Dev, function: &str) -> serde_json::Value {
    let poll = Poll::new(
        format!("a cost row for {function}"),
        Duration::from_secs(WAIT_S),
    );
    loop {
        let report = cost(dev, "function").await;
        let rows = report["rows"].as_array().cloned().unwrap_or_default();
        if rows.iter().any(|row| row["name"] == function) {
            return report;
        }
        poll.tick(report).await;
    }
}

async fn put_cart(client: &Client, pk: &str, sk: &str) {
    client
        .put_item()
        .table_name("carts")
        .item("pk", s(pk))
        .item("sk", s(sk))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem {pk}/{sk}: {e:?}"));
}

/// Waits until the trigger's log holds `count` distinct records.
async fn wait_for_deliveries(client: &Client, count: usize) {
    let poll = Poll::new(format!("{count} deliveries"), Duration::from_secs(WAIT_S));
    loop {
        let log = scan_all(client, "log").await;
        let seqs: BTreeSet<&str> = log.iter().map(|item| get_s(item, "seq")).collect();
        if seqs.len() >= count {
            return;
        }
        poll.tick(seqs.len()).await;
    }
}

async fn wait_for_item(client: &Client, table: &str, id: &str) -> Item {
    let poll = Poll::new(format!("item {id} in {table}"), Duration::from_secs(WAIT_S));
    loop {
        let output = client
            .get_item()
            .table_name(table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");
        if let Some(item) = output.item() {
            return item.clone();
        }
        poll.tick(output).await;
    }
}

async fn scan_all(client: &Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start_key = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Scan {table}: {e:?}"));
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start_key = Some(key.clone()),
            _ => return items,
        }
    }
}

/// Runs `rondo ARGS` to its end without holding up the runtime (the writer goes on).
async fn run_rondo(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || rondo().args(&args).output().expect("run rondo"))
        .await
        .expect("rondo ran")
}

fn path_text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn text(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
