//! Stream triggers survive SIGKILL: the server is killed while items are written and a trigger
//! delivers their records, then restarted on the same folder. Every committed change must reach
//! the function at least once, in order per partition key, and the only duplicates allowed are
//! the records of the batch that was in flight in each shard when the server died.
//!
//! The function is `test-programs/trigger` (`test_trigger.wasm`), which writes one item per
//! record and invocation into the table its `LOG_TABLE` names. Before the kill that is `log`;
//! the restarted app is the same app except that `LOG_TABLE` is `log_after`, so the test knows
//! which deliveries happened before the kill and which after it (request ids are random). The
//! trigger's checkpoint is named after the table and the function only, so it carries over.
//!
//! The committed changes are read back from the stream itself (DynamoDB Streams API), which also
//! says which shard holds each record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::Select;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use serde_json::Value;

use crate::support::dynamo::{Item, Poll, dynamodb, get_n, get_s, n, s, wait_active};
use crate::support::streams::dynamodb_streams;
use crate::support::{App, Dev, test_wasm};

/// Writer tasks; each owns [`KEYS_PER_WRITER`] partition keys, so the order in which one key's
/// changes commit is the order its writer sent them in.
const N_WRITERS: usize = 10;
const KEYS_PER_WRITER: usize = 2;
/// Sort keys per partition key: the first changes of a key are inserts, later ones modify.
const N_LINES: u64 = 4;
/// The trigger's `batch_size`.
const BATCH_SIZE: usize = 10;
/// Acknowledged writes to wait for before the kill, so the kill lands while writers are busy.
const N_ACKNOWLEDGED_BEFORE_KILL: usize = 2_000;
/// A bound on each writer, so a server that never dies cannot keep a test running.
const N_OPERATIONS_PER_WRITER_MAX: usize = 1_000_000;
/// The most GetRecords pages read from one shard before deciding it never runs dry.
const PAGES_PER_SHARD_MAX: usize = 10_000;
/// How long to wait for the writes before the kill: a bound, not a speed expectation.
const WRITES_WAIT_S: u64 = 300;
/// How long to wait for every record to be delivered after the restart: a bound, not a speed
/// expectation.
const DELIVERY_WAIT_S: u64 = 600;

const LOG_BEFORE: &str = "log";
const LOG_AFTER: &str = "log_after";

/// The app, with the function writing its log into `log_table`. The function's timeout is far
/// above what a batch needs, so a slow machine does not turn into retried batches.
fn manifest(log_table: &str) -> String {
    format!(
        r#"[app]
name = "triggers-crash"

[table.carts]
partition_key = {{ name = "pk", type = "S" }}
sort_key = {{ name = "sk", type = "S" }}
stream = "NEW_AND_OLD_IMAGES"

[table.{LOG_BEFORE}]
partition_key = {{ name = "id", type = "S" }}

[table.{LOG_AFTER}]
partition_key = {{ name = "id", type = "S" }}

[function.status]
wasm = "trigger.wasm"
timeout_ms = 60000
environment = {{ LOG_TABLE = "{log_table}" }}

[[trigger]]
source = "table:carts"
function = "status"
starting_position = "TRIM_HORIZON"
batch_size = {BATCH_SIZE}
"#
    )
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn every_committed_change_reaches_the_function_across_sigkill() {
    let app = App::new(
        &manifest(LOG_BEFORE),
        &[("trigger.wasm", test_wasm("test_trigger.wasm"))],
    );
    let mut dev = Dev::start(&app);
    let client = dynamodb(&dev);
    for table in ["carts", LOG_BEFORE, LOG_AFTER] {
        wait_active(&client, table).await;
    }

    let n_acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..N_WRITERS)
        .map(|writer_idx| {
            tokio::spawn(write_until_failure(
                client.clone(),
                writer_idx,
                Arc::clone(&n_acknowledged),
            ))
        })
        .collect();
    // Kill once enough writes are acknowledged and the trigger has delivered something, so the
    // kill lands while both run.
    let poll = Poll::new(
        format!("{N_ACKNOWLEDGED_BEFORE_KILL} acknowledged writes and a first delivery"),
        Duration::from_secs(WRITES_WAIT_S),
    );
    loop {
        let acknowledged = n_acknowledged.load(Ordering::SeqCst);
        if acknowledged >= N_ACKNOWLEDGED_BEFORE_KILL {
            let logged = count(&client, LOG_BEFORE).await;
            if logged > 0 {
                break;
            }
        }
        poll.tick(acknowledged).await;
    }

    // `Child::kill` is SIGKILL: no shutdown code runs.
    dev.child.kill().expect("SIGKILL rondo dev");
    dev.child.wait().expect("reap rondo dev");
    let mut writes = Vec::new();
    for writer in writers {
        writes.push(writer.await.expect("writer task"));
    }
    drop(dev);

    std::fs::write(app.path().join("rondo.toml"), manifest(LOG_AFTER)).expect("write manifest");
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);
    let streams = dynamodb_streams(&dev);
    let carts = wait_active(&client, "carts").await;
    for table in [LOG_BEFORE, LOG_AFTER] {
        wait_active(&client, table).await;
    }
    let arn = carts
        .latest_stream_arn()
        .unwrap_or_else(|| panic!("carts has no stream: {carts:?}"))
        .to_owned();

    // One more change per key, after the restart: once these are delivered, every shard's
    // consumer has moved past everything written before them, so the logs are complete.
    let stream = read_stream(&streams, &arn).await;
    let mut markers = Writes::default();
    for (pk, counter) in stream.last_counters() {
        let change = Change {
            pk,
            sk: "marker".to_owned(),
            counter: counter + 1,
        };
        assert!(write(&client, &change).await, "write {change:?}");
        markers.acknowledged.push(change);
    }
    writes.push(markers);
    let stream = read_stream(&streams, &arn).await;
    let problems = commit_problems(&stream, &writes);
    assert!(
        problems.is_empty(),
        "the stream disagrees with the acknowledged writes:\n{}",
        problems.join("\n")
    );

    let before = read_log(&client, LOG_BEFORE).await;
    let poll = Poll::new(
        "every committed change to be delivered",
        Duration::from_secs(DELIVERY_WAIT_S),
    );
    let after = loop {
        let after = read_log(&client, LOG_AFTER).await;
        let delivered: BTreeSet<u128> = before.iter().chain(&after).map(|d| d.seq).collect();
        let missing = stream
            .records()
            .filter(|record| !delivered.contains(&record.seq))
            .count();
        if missing == 0 {
            break after;
        }
        poll.tick(format!("{missing} records not delivered")).await;
    };

    let problems = delivery_problems(&stream, &before, &after);
    assert!(
        problems.is_empty(),
        "deliveries across the kill ({} records, {} delivered before it, {} after):\n{}",
        stream.records().count(),
        before.len(),
        after.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// One change of an item: its key and the per-partition-key counter written into it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    pk: String,
    sk: String,
    counter: u64,
}

/// What one writer knows: the changes acknowledged, in order, and the one in flight when the
/// server died (it may or may not have committed).
#[derive(Debug, Default)]
struct Writes {
    acknowledged: Vec<Change>,
    in_flight: Option<Change>,
}

/// Writes the writer's keys in turn until the first failure: a PutItem for the first change of
/// each line, then UpdateItem and PutItem replacing it in turn, each with the key's next counter.
async fn write_until_failure(
    client: Client,
    writer_idx: usize,
    n_acknowledged: Arc<AtomicUsize>,
) -> Writes {
    let pks: Vec<String> = (0..KEYS_PER_WRITER)
        .map(|key_idx| format!("cart{:02}", writer_idx + key_idx * N_WRITERS))
        .collect();
    let mut counters = [0u64; KEYS_PER_WRITER];
    let mut writes = Writes::default();
    for op_idx in 0..N_OPERATIONS_PER_WRITER_MAX {
        let key_idx = op_idx % KEYS_PER_WRITER;
        counters[key_idx] += 1;
        let counter = counters[key_idx];
        let change = Change {
            pk: pks[key_idx].clone(),
            sk: format!("line{}", counter % N_LINES),
            counter,
        };
        if !write(&client, &change).await {
            writes.in_flight = Some(change);
            return writes;
        }
        writes.acknowledged.push(change);
        n_acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    panic!("writer {writer_idx} was never stopped");
}

/// Writes one change; whether it was acknowledged.
async fn write(client: &Client, change: &Change) -> bool {
    let counter = n(&change.counter.to_string());
    if change.counter > N_LINES && change.counter.is_multiple_of(2) {
        client
            .update_item()
            .table_name("carts")
            .key("pk", s(&change.pk))
            .key("sk", s(&change.sk))
            .update_expression("SET #counter = :counter")
            .expression_attribute_names("#counter", "counter")
            .expression_attribute_values(":counter", counter)
            .send()
            .await
            .is_ok()
    } else {
        client
            .put_item()
            .table_name("carts")
            .item("pk", s(&change.pk))
            .item("sk", s(&change.sk))
            .item("counter", counter)
            .send()
            .await
            .is_ok()
    }
}

// ---------------------------------------------------------------------------------------------
// The stream: what was committed
// ---------------------------------------------------------------------------------------------

/// One committed change, as its stream record tells it.
#[derive(Debug, Clone)]
struct Committed {
    seq: u128,
    pk: String,
    sk: String,
    counter: u64,
}

/// The stream's records, shard by shard, each shard in sequence-number order.
#[derive(Debug)]
struct Stream {
    shards: Vec<Vec<Committed>>,
}

impl Stream {
    fn records(&self) -> impl Iterator<Item = &Committed> {
        self.shards.iter().flatten()
    }

    /// Each partition key's highest counter.
    fn last_counters(&self) -> BTreeMap<String, u64> {
        let mut last = BTreeMap::new();
        for record in self.records() {
            let counter = last.entry(record.pk.clone()).or_insert(0);
            *counter = record.counter.max(*counter);
        }
        last
    }
}

/// Every record of the stream, through DescribeStream, GetShardIterator (TRIM_HORIZON) and
/// GetRecords until a page comes back empty (nothing is written meanwhile).
async fn read_stream(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> Stream {
    let described = streams
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe stream {arn}: {e:?}"));
    let description = described.stream_description().expect("StreamDescription");
    assert!(
        description.last_evaluated_shard_id().is_none(),
        "more shards than one page: {description:?}"
    );
    let mut shards = Vec::new();
    for shard in description.shards() {
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
        let mut records: Vec<Committed> = Vec::new();
        for page_idx in 0.. {
            assert!(
                page_idx < PAGES_PER_SHARD_MAX,
                "shard {shard_id} did not run dry"
            );
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRecords {shard_id}: {e:?}"));
            if page.records().is_empty() {
                break;
            }
            records.extend(page.records().iter().map(committed));
            match page.next_shard_iterator {
                Some(next) => iterator = next,
                None => break,
            }
        }
        for pair in records.windows(2) {
            assert!(
                pair[0].seq < pair[1].seq,
                "sequence numbers go down in shard {shard_id}: {pair:?}"
            );
        }
        shards.push(records);
    }
    Stream { shards }
}

fn committed(record: &aws_sdk_dynamodbstreams::types::Record) -> Committed {
    let body = record.dynamodb().expect("dynamodb");
    let seq = body.sequence_number().expect("SequenceNumber");
    let image = body
        .new_image()
        .unwrap_or_else(|| panic!("a record without NewImage: {record:?}"));
    let string = |name: &str| match image.get(name) {
        Some(StreamValue::S(value)) => value.clone(),
        other => panic!("{name} is {other:?} in {record:?}"),
    };
    let counter = match image.get("counter") {
        Some(StreamValue::N(value)) => value.parse().expect("counter"),
        other => panic!("counter is {other:?} in {record:?}"),
    };
    Committed {
        seq: seq.parse().expect("a numeric sequence number"),
        pk: string("pk"),
        sk: string("sk"),
        counter,
    }
}

/// Where the stream disagrees with the writers: per partition key, the records in sequence-number
/// order must carry the counters 1, 2, 3, … (commit order is send order), hold every acknowledged
/// change, and nothing else but a writer's change in flight at the kill.
fn commit_problems(stream: &Stream, writes: &[Writes]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut shard_of: HashMap<&str, usize> = HashMap::new();
    let mut by_pk: BTreeMap<&str, Vec<&Committed>> = BTreeMap::new();
    for (shard_idx, records) in stream.shards.iter().enumerate() {
        for record in records {
            if *shard_of.entry(record.pk.as_str()).or_insert(shard_idx) != shard_idx {
                problems.push(format!("{} has records in two shards", record.pk));
            }
            by_pk.entry(record.pk.as_str()).or_default().push(record);
        }
    }
    let mut expected: HashMap<(&str, u64), (&Change, bool)> = HashMap::new();
    for writer in writes {
        for change in &writer.acknowledged {
            expected.insert((change.pk.as_str(), change.counter), (change, true));
        }
        if let Some(change) = &writer.in_flight {
            expected
                .entry((change.pk.as_str(), change.counter))
                .or_insert((change, false));
        }
    }
    for (pk, mut records) in by_pk {
        records.sort_by_key(|record| record.seq);
        let counters: Vec<u64> = records.iter().map(|record| record.counter).collect();
        if !counters.iter().copied().eq(1..=counters.len() as u64) {
            problems.push(format!(
                "{pk}: counters in sequence-number order are {counters:?}, not 1, 2, 3, …"
            ));
        }
        for record in records {
            match expected.get(&(pk, record.counter)) {
                Some((change, _)) if change.sk == record.sk => {}
                _ => problems.push(format!("{record:?} was never written")),
            }
        }
    }
    let committed: BTreeSet<(&str, u64, &str)> = stream
        .records()
        .map(|record| (record.pk.as_str(), record.counter, record.sk.as_str()))
        .collect();
    for (change, acknowledged) in expected.values() {
        if *acknowledged
            && !committed.contains(&(change.pk.as_str(), change.counter, change.sk.as_str()))
        {
            problems.push(format!("{change:?} was acknowledged but has no record"));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The logs: what was delivered
// ---------------------------------------------------------------------------------------------

/// One delivery of one record, as the function wrote it down.
#[derive(Debug, Clone)]
struct Delivery {
    seq: u128,
    request: String,
    position: usize,
    batch: usize,
    pk: String,
    counter: u64,
}

/// Every delivery written into `table`.
async fn read_log(client: &Client, table: &str) -> Vec<Delivery> {
    scan(client, table)
        .await
        .iter()
        .map(|item| {
            let image: Value = serde_json::from_str(get_s(item, "newImage"))
                .unwrap_or_else(|e| panic!("newImage of {item:?}: {e}"));
            let counter = image["counter"]["N"]
                .as_str()
                .and_then(|counter| counter.parse().ok())
                .unwrap_or_else(|| panic!("newImage without a counter: {item:?}"));
            Delivery {
                seq: get_s(item, "seq").parse().expect("seq"),
                request: get_s(item, "request").to_owned(),
                position: get_n(item, "position").parse().expect("position"),
                batch: get_n(item, "batch").parse().expect("batch"),
                pk: get_s(item, "pk").to_owned(),
                counter,
            }
        })
        .collect()
}

async fn scan(client: &Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
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

async fn count(client: &Client, table: &str) -> usize {
    let mut total = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e:?}"));
        total += usize::try_from(page.count()).expect("a count");
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return total,
        }
    }
}

/// Where the deliveries break the trigger's promises. With one batch in flight per shard and the
/// checkpoint moved only after a batch succeeded, per shard:
///
/// - every invocation holds consecutive records of one shard, in order, at most `BATCH_SIZE`;
///   the function logs its records one after another, so an invocation cut short by the kill
///   logged a prefix of its batch, and only the last one before the kill can be cut short;
/// - the deliveries before the kill are a prefix of the shard, each record once;
/// - the deliveries after it are a suffix of the shard, each record once;
/// - together they cover the shard (nothing committed is lost), and where they overlap (the
///   duplicates) is one contiguous run of at most `BATCH_SIZE` records that ends at the last
///   record delivered before the kill: the batch in flight, redelivered from its checkpoint.
///
/// Since each partition key's records are in one shard in commit order (see
/// [`commit_problems`]), this is "at least once, in order per partition key".
fn delivery_problems(stream: &Stream, before: &[Delivery], after: &[Delivery]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut place: HashMap<u128, (usize, usize)> = HashMap::new();
    for (shard_idx, records) in stream.shards.iter().enumerate() {
        for (record_idx, record) in records.iter().enumerate() {
            place.insert(record.seq, (shard_idx, record_idx));
        }
    }

    // Per run and shard, the indexes of the records delivered.
    let mut delivered: [Vec<Vec<usize>>; 2] = [
        vec![Vec::new(); stream.shards.len()],
        vec![Vec::new(); stream.shards.len()],
    ];
    for (run_idx, (run, deliveries)) in [("before the kill", before), ("after the restart", after)]
        .into_iter()
        .enumerate()
    {
        let mut invocations: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
        for delivery in deliveries {
            let Some(&(shard_idx, record_idx)) = place.get(&delivery.seq) else {
                problems.push(format!(
                    "{run}: delivered a record the stream does not hold: {delivery:?}"
                ));
                continue;
            };
            let record = &stream.shards[shard_idx][record_idx];
            if (record.pk.as_str(), record.counter) != (delivery.pk.as_str(), delivery.counter) {
                problems.push(format!(
                    "{run}: {delivery:?} does not match its stream record {record:?}"
                ));
            }
            delivered[run_idx][shard_idx].push(record_idx);
            invocations
                .entry(&delivery.request)
                .or_default()
                .push(delivery);
        }
        // Per shard, the last record of an invocation cut short (before the kill only).
        let mut cut_short: HashMap<usize, usize> = HashMap::new();
        for (request, mut batch) in invocations {
            batch.sort_by_key(|delivery| delivery.position);
            let Some(&(shard_idx, first_idx)) = batch.first().and_then(|d| place.get(&d.seq))
            else {
                continue;
            };
            let size = batch[0].batch;
            let consecutive = batch.iter().enumerate().all(|(idx, delivery)| {
                delivery.position == idx
                    && delivery.batch == size
                    && place.get(&delivery.seq) == Some(&(shard_idx, first_idx + idx))
            });
            if !consecutive || size > BATCH_SIZE {
                problems.push(format!(
                    "{run}: invocation {request} is not a batch of at most {BATCH_SIZE} \
                     consecutive records of one shard, in order: {batch:?}"
                ));
            } else if batch.len() < size {
                let last_idx = first_idx + batch.len() - 1;
                if run_idx == 1 || cut_short.insert(shard_idx, last_idx).is_some() {
                    problems.push(format!(
                        "{run}: invocation {request} logged {} of its {size} records: {batch:?}",
                        batch.len()
                    ));
                }
            }
        }
        for (shard_idx, indexes) in delivered[run_idx].iter_mut().enumerate() {
            indexes.sort_unstable();
            let n_delivered = indexes.len();
            indexes.dedup();
            if indexes.len() != n_delivered {
                problems.push(format!(
                    "{run}: shard {shard_idx}: {} deliveries of {} records; duplicates within one run",
                    n_delivered,
                    indexes.len()
                ));
            }
            if let Some(&last_idx) = indexes.last()
                && cut_short
                    .get(&shard_idx)
                    .is_some_and(|cut_idx| *cut_idx != last_idx)
            {
                problems.push(format!(
                    "{run}: shard {shard_idx}: an invocation was cut short before record \
                     {last_idx}, the last delivered"
                ));
            }
        }
    }

    for (shard_idx, records) in stream.shards.iter().enumerate() {
        let before = &delivered[0][shard_idx];
        let after = &delivered[1][shard_idx];
        // Before the kill: records 0..n_before. After the restart: first_after..len.
        let n_before = before.len();
        if before.iter().copied().ne(0..n_before) {
            problems.push(format!(
                "shard {shard_idx}: the deliveries before the kill are not the shard's first \
                 {n_before} records: {before:?}"
            ));
        }
        let first_after = records.len() - after.len();
        if after.iter().copied().ne(first_after..records.len()) {
            problems.push(format!(
                "shard {shard_idx}: the deliveries after the restart are not the shard's last \
                 {} records: {after:?}",
                after.len()
            ));
        }
        if first_after > n_before {
            let lost: Vec<&Committed> = records[n_before..first_after].iter().collect();
            problems.push(format!(
                "shard {shard_idx}: records never delivered (lost across the kill): {lost:?}"
            ));
        }
        let n_twice = n_before.saturating_sub(first_after);
        if n_twice > BATCH_SIZE {
            problems.push(format!(
                "shard {shard_idx}: {n_twice} records delivered before and after the kill \
                 (records {first_after}..{n_before}); at most one batch ({BATCH_SIZE}) may be"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The checks themselves, on made-up deliveries: they find loss and excess duplicates
// ---------------------------------------------------------------------------------------------

/// One shard of `n` records of key `k`, sequence numbers 100, 101, …
fn one_shard(n_records: usize) -> Stream {
    let records = (0..n_records)
        .map(|idx| Committed {
            seq: 100 + idx as u128,
            pk: "k".to_owned(),
            sk: "line".to_owned(),
            counter: idx as u64 + 1,
        })
        .collect();
    Stream {
        shards: vec![records],
    }
}

/// The deliveries of invocations, each `(request, first record, batch size, records logged)`.
fn invocations(stream: &Stream, batches: &[(&str, usize, usize, usize)]) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for &(request, first, size, logged) in batches {
        for position in 0..logged {
            let record = &stream.shards[0][first + position];
            deliveries.push(Delivery {
                seq: record.seq,
                request: request.to_owned(),
                position,
                batch: size,
                pk: record.pk.clone(),
                counter: record.counter,
            });
        }
    }
    deliveries
}

#[test]
fn the_checks_pass_a_redelivered_batch_in_flight() {
    let stream = one_shard(25);
    // The third batch was cut short by the kill after 3 of its 10 records.
    let before = invocations(
        &stream,
        &[("a", 0, 10, 10), ("b", 10, 10, 10), ("c", 20, 5, 3)],
    );
    let after = invocations(&stream, &[("d", 20, 5, 5)]);
    assert_eq!(
        delivery_problems(&stream, &before, &after),
        Vec::<String>::new()
    );
}

#[test]
fn the_checks_find_a_lost_record_and_too_many_duplicates() {
    let stream = one_shard(25);
    let before = invocations(&stream, &[("a", 0, 10, 10), ("b", 10, 10, 3)]);
    let skipped = invocations(&stream, &[("c", 14, 10, 10), ("d", 24, 1, 1)]);
    let problems = delivery_problems(&stream, &before, &skipped);
    assert!(
        problems.iter().any(|problem| problem.contains("lost")),
        "{problems:?}"
    );

    let from_start = invocations(
        &stream,
        &[("c", 0, 10, 10), ("d", 10, 10, 10), ("e", 20, 5, 5)],
    );
    let problems = delivery_problems(&stream, &before, &from_start);
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("13 records delivered before and after")),
        "{problems:?}"
    );
}

#[test]
fn the_checks_find_a_batch_out_of_order() {
    let stream = one_shard(4);
    let mut before = invocations(&stream, &[("a", 0, 4, 4)]);
    before.swap(1, 2);
    (before[1].position, before[2].position) = (1, 2);
    let problems = delivery_problems(&stream, &before, &[]);
    assert!(
        problems.iter().any(|problem| problem.contains("in order")),
        "{problems:?}"
    );
}
