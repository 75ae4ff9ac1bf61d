//! DynamoDB Streams: the records every committed change writes, read back through the real
//! DynamoDB Streams client (ListStreams, DescribeStream, GetShardIterator, GetRecords).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    BillingMode, ConditionCheck, Delete, KeyType, Put, StreamSpecification, TimeToLiveStatus,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType, StreamStatus};

use crate::support::dynamo::{
    Item, Poll, Tables, attribute_definition, canonical_item, create_table, delete_request,
    expect_error, expect_validation, item, key_schema_element, n, put_request, s, sign, ss,
    tables_app, unsigned_dynamodb_request, wait_active,
};
use crate::support::streams::{dynamodb_streams, image};
use crate::support::{Dev, send};

/// The four stream view types, as DynamoDB spells them.
const VIEW_TYPES: [&str; 4] = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"];

/// The most pages a test reads from one shard before it decides that the shard never runs dry.
const PAGES_PER_READ_MAX: usize = 1000;

/// The fewest digits of a sequence number (DynamoDB's are 21 to 40 digits long).
const SEQUENCE_NUMBER_DIGITS_MIN: usize = 21;

/// The most digits of a sequence number.
const SEQUENCE_NUMBER_DIGITS_MAX: usize = 40;

/// A running app serving tables, with a DynamoDB client and a DynamoDB Streams client for it.
/// Fields drop in order: the streams client, then the server and its folder.
struct Fixture {
    streams: aws_sdk_dynamodbstreams::Client,
    tables: Tables,
}

impl Fixture {
    /// Starts `rondo dev` on an app declaring only `tables` (`[table.*]` text, maybe empty).
    fn start(tables: &str) -> Fixture {
        Fixture::start_with(tables, &[])
    }

    /// Starts `rondo dev` with extra arguments on an app declaring only `tables`.
    fn start_with(tables: &str, extra: &[&str]) -> Fixture {
        let tables = Tables::start_with(tables, extra);
        let streams = dynamodb_streams(&tables.dev);
        Fixture { streams, tables }
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.tables.client
    }
}

fn now_s() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit i64")
}

fn stream_specification(view_type: &str) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(view_type))
        .build()
        .expect("stream specification")
}

fn stream_disabled() -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(false)
        .build()
        .expect("stream specification")
}

/// Creates an on-demand table with a stream of `view_type` through CreateTable's
/// StreamSpecification; `keys` as for [`create_table`]. Returns the stream's ARN.
async fn create_table_with_stream(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    keys: &[(&str, &str)],
    view_type: &str,
) -> String {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(stream_specification(view_type));
    for (key_idx, (attribute, attribute_type)) in keys.iter().enumerate() {
        let key_type = if key_idx == 0 {
            KeyType::Hash
        } else {
            KeyType::Range
        };
        request = request
            .attribute_definitions(attribute_definition(attribute, attribute_type))
            .key_schema(key_schema_element(attribute, key_type));
    }
    let created = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
    let description = created.table_description().expect("TableDescription");
    let arn = description
        .latest_stream_arn()
        .unwrap_or_else(|| {
            panic!("CreateTable with a stream answers LatestStreamArn: {description:?}")
        })
        .to_owned();
    wait_active(client, name).await;
    assert_eq!(latest_stream_arn(client, name).await, arn);
    arn
}

/// Enables a stream of `view_type` on `table` with UpdateTable; returns the new stream's ARN.
async fn enable_stream(client: &aws_sdk_dynamodb::Client, table: &str, view_type: &str) -> String {
    client
        .update_table()
        .table_name(table)
        .stream_specification(stream_specification(view_type))
        .send()
        .await
        .unwrap_or_else(|e| panic!("enable a {view_type} stream on {table}: {e:?}"));
    wait_active(client, table).await;
    latest_stream_arn(client, table).await
}

/// The table's `LatestStreamArn`, checked against its `LatestStreamLabel`, its
/// `StreamSpecification` and the ARN's form `arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/L`.
async fn latest_stream_arn(client: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe table {table}: {e:?}"));
    let description = described.table().expect("Table");
    assert_eq!(
        description
            .stream_specification()
            .map(|specification| specification.stream_enabled()),
        Some(true),
        "StreamSpecification of {description:?}"
    );
    let arn = description
        .latest_stream_arn()
        .unwrap_or_else(|| panic!("LatestStreamArn missing: {description:?}"));
    let label = description
        .latest_stream_label()
        .unwrap_or_else(|| panic!("LatestStreamLabel missing: {description:?}"));
    assert!(
        !label.is_empty(),
        "empty LatestStreamLabel: {description:?}"
    );
    assert_eq!(
        arn,
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/{label}"),
        "LatestStreamArn of {table}"
    );
    arn.to_owned()
}

/// Every shard of the stream, through DescribeStream's pages of shards.
async fn shards(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> Vec<Shard> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    for _ in 0..PAGES_PER_READ_MAX {
        let described = streams
            .describe_stream()
            .stream_arn(arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe stream {arn}: {e:?}"));
        let description = described.stream_description().expect("StreamDescription");
        shards.extend(description.shards().iter().cloned());
        match description.last_evaluated_shard_id() {
            Some(last) => start = Some(last.to_owned()),
            None => return shards,
        }
    }
    panic!("DescribeStream {arn} kept answering LastEvaluatedShardId");
}

fn shard_id(shard: &Shard) -> &str {
    shard
        .shard_id()
        .unwrap_or_else(|| panic!("a shard without ShardId: {shard:?}"))
}

/// A shard iterator of `kind` (at or after `sequence_number` where the kind takes one).
async fn iterator(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard_id: &str,
    kind: ShardIteratorType,
    sequence_number: Option<&str>,
) -> String {
    let answer = streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard_id)
        .shard_iterator_type(kind.clone())
        .set_sequence_number(sequence_number.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetShardIterator {kind:?} {sequence_number:?}: {e:?}"));
    let iterator = answer
        .shard_iterator()
        .unwrap_or_else(|| panic!("GetShardIterator without ShardIterator: {answer:?}"));
    assert!(
        !iterator.is_empty() && iterator.len() <= 2048,
        "a shard iterator is 1 to 2048 characters: {iterator:?}"
    );
    iterator.to_owned()
}

/// One GetRecords page: the records and the next iterator (none once a closed shard is read to
/// its end).
async fn get_page(
    streams: &aws_sdk_dynamodbstreams::Client,
    iterator: &str,
    limit: Option<i32>,
) -> (Vec<Record>, Option<String>) {
    let answer = streams
        .get_records()
        .shard_iterator(iterator)
        .set_limit(limit)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetRecords (limit {limit:?}): {e:?}"));
    let next = answer.next_shard_iterator().map(str::to_owned);
    if let Some(next) = &next {
        assert!(!next.is_empty(), "an empty NextShardIterator: {answer:?}");
    }
    (answer.records().to_vec(), next)
}

/// One GetRecords page of an open shard: the records and the next iterator, which it always gives.
async fn page(
    streams: &aws_sdk_dynamodbstreams::Client,
    iterator: &str,
    limit: Option<i32>,
) -> (Vec<Record>, String) {
    let (records, next) = get_page(streams, iterator, limit).await;
    let next = next.unwrap_or_else(|| {
        panic!("an open shard's page has NextShardIterator; records: {records:?}")
    });
    (records, next)
}

/// Reads from `iterator` until a page comes back empty or without a next iterator; returns the
/// records and the iterator that continues after them, if any.
async fn read_from(
    streams: &aws_sdk_dynamodbstreams::Client,
    iterator: String,
) -> (Vec<Record>, Option<String>) {
    let mut records = Vec::new();
    let mut iterator = iterator;
    for _ in 0..PAGES_PER_READ_MAX {
        let (page, next) = get_page(streams, &iterator, None).await;
        let empty = page.is_empty();
        records.extend(page);
        match next {
            Some(next) if !empty => iterator = next,
            next => return (records, next),
        }
    }
    panic!("a shard did not run dry after {PAGES_PER_READ_MAX} pages");
}

/// The records of one shard from its start.
async fn read_shard(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard_id: &str,
) -> Vec<Record> {
    let start = iterator(streams, arn, shard_id, ShardIteratorType::TrimHorizon, None).await;
    read_from(streams, start).await.0
}

/// Every record of the stream by shard id, each shard's records checked to have increasing
/// sequence numbers from the shard's StartingSequenceNumber on.
async fn read_stream(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
) -> BTreeMap<String, Vec<Record>> {
    let mut by_shard = BTreeMap::new();
    for shard in shards(streams, arn).await {
        let id = shard_id(&shard).to_owned();
        let records = read_shard(streams, arn, &id).await;
        let starting = shard
            .sequence_number_range()
            .and_then(|range| range.starting_sequence_number())
            .unwrap_or_else(|| panic!("a shard without StartingSequenceNumber: {shard:?}"));
        assert_sequence_number(starting);
        let mut previous: Option<&str> = None;
        for record in &records {
            let sequence_number = sequence_number(record);
            assert!(
                !sequence_less(sequence_number, starting),
                "record {sequence_number} before its shard's StartingSequenceNumber {starting}"
            );
            if let Some(previous) = previous {
                assert!(
                    sequence_less(previous, sequence_number),
                    "sequence numbers must increase within shard {id}: {previous} then {sequence_number}"
                );
            }
            previous = Some(sequence_number);
        }
        assert!(
            by_shard.insert(id.clone(), records).is_none(),
            "shard {id} described twice"
        );
    }
    by_shard
}

/// The records of the stream, shard after shard (in order within each shard only).
async fn read_all(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> Vec<Record> {
    read_stream(streams, arn)
        .await
        .into_values()
        .flatten()
        .collect()
}

/// Polls the stream until it holds at least `count` records; returns them by shard.
async fn wait_records(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    count: usize,
    what: &str,
) -> BTreeMap<String, Vec<Record>> {
    let poll = Poll::new(what, Duration::from_secs(60));
    loop {
        let by_shard = read_stream(streams, arn).await;
        if by_shard.values().map(Vec::len).sum::<usize>() >= count {
            return by_shard;
        }
        poll.tick(&by_shard).await;
    }
}

fn stream_record(record: &Record) -> &aws_sdk_dynamodbstreams::types::StreamRecord {
    record
        .dynamodb()
        .unwrap_or_else(|| panic!("a record without dynamodb: {record:?}"))
}

fn sequence_number(record: &Record) -> &str {
    stream_record(record)
        .sequence_number()
        .unwrap_or_else(|| panic!("a record without SequenceNumber: {record:?}"))
}

fn keys_of(record: &Record) -> Item {
    image(
        stream_record(record)
            .keys()
            .unwrap_or_else(|| panic!("a record without Keys: {record:?}")),
    )
}

fn event_name(record: &Record) -> &str {
    record
        .event_name()
        .unwrap_or_else(|| panic!("a record without eventName: {record:?}"))
        .as_str()
}

#[track_caller]
fn assert_sequence_number(sequence_number: &str) {
    assert!(
        (SEQUENCE_NUMBER_DIGITS_MIN..=SEQUENCE_NUMBER_DIGITS_MAX).contains(&sequence_number.len())
            && sequence_number.bytes().all(|byte| byte.is_ascii_digit()),
        "a sequence number is a string of {SEQUENCE_NUMBER_DIGITS_MIN} to \
         {SEQUENCE_NUMBER_DIGITS_MAX} digits: {sequence_number:?}"
    );
}

/// Whether sequence number `a` is less than `b`, compared as numbers.
fn sequence_less(a: &str, b: &str) -> bool {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    (a.len(), a) < (b.len(), b)
}

/// The records whose Keys are `key`, which must all be in one shard, in that shard's order.
fn records_of(by_shard: &BTreeMap<String, Vec<Record>>, key: &Item) -> Vec<Record> {
    let key = canonical_item(key);
    let mut found: Vec<(&str, Vec<Record>)> = Vec::new();
    for (shard, records) in by_shard {
        let mine: Vec<Record> = records
            .iter()
            .filter(|record| canonical_item(&keys_of(record)) == key)
            .cloned()
            .collect();
        if !mine.is_empty() {
            found.push((shard, mine));
        }
    }
    assert!(
        found.len() <= 1,
        "the records of one item are in one shard, but {key:?} is in {:?}",
        found.iter().map(|(shard, _)| shard).collect::<Vec<_>>()
    );
    found.pop().map(|(_, records)| records).unwrap_or_default()
}

/// One change of an item as its stream record should describe it.
struct Change {
    event_name: &'static str,
    keys: Item,
    old: Option<Item>,
    new: Option<Item>,
}

fn insert(keys: Item, new: Item) -> Change {
    Change {
        event_name: "INSERT",
        keys,
        old: None,
        new: Some(new),
    }
}

fn modify(keys: Item, old: Item, new: Item) -> Change {
    Change {
        event_name: "MODIFY",
        keys,
        old: Some(old),
        new: Some(new),
    }
}

fn remove(keys: Item, old: Item) -> Change {
    Change {
        event_name: "REMOVE",
        keys,
        old: Some(old),
        new: None,
    }
}

/// Checks the fields every record has, whatever its change: eventID, eventVersion, eventSource,
/// awsRegion, and dynamodb's ApproximateCreationDateTime, SequenceNumber, SizeBytes, StreamViewType.
#[track_caller]
fn assert_envelope(record: &Record, view_type: &str) {
    assert!(
        record.event_id().is_some_and(|id| !id.is_empty()),
        "eventID of {record:?}"
    );
    assert_eq!(
        record.event_version(),
        Some("1.1"),
        "eventVersion of {record:?}"
    );
    assert_eq!(
        record.event_source(),
        Some("aws:dynamodb"),
        "eventSource of {record:?}"
    );
    assert_eq!(
        record.aws_region(),
        Some("us-east-1"),
        "awsRegion of {record:?}"
    );
    let dynamodb = stream_record(record);
    let created_s = dynamodb
        .approximate_creation_date_time()
        .unwrap_or_else(|| panic!("ApproximateCreationDateTime missing: {record:?}"))
        .secs();
    let now = now_s();
    assert!(
        (now - 600..=now + 1).contains(&created_s),
        "ApproximateCreationDateTime {created_s} is not about now ({now}): {record:?}"
    );
    assert_sequence_number(sequence_number(record));
    assert!(
        dynamodb.size_bytes().is_some_and(|size| size > 0),
        "SizeBytes of {record:?}"
    );
    assert_eq!(
        dynamodb.stream_view_type().map(|view| view.as_str()),
        Some(view_type),
        "StreamViewType of {record:?}"
    );
}

/// Checks that `record` describes `change`, made by a user (no userIdentity), with the images
/// a stream of `view_type` carries.
#[track_caller]
fn assert_change(record: &Record, view_type: &str, change: &Change, what: &str) {
    assert_envelope(record, view_type);
    assert_eq!(
        event_name(record),
        change.event_name,
        "{what}: eventName of {record:?}"
    );
    assert!(
        record.user_identity().is_none(),
        "{what}: a user's change has no userIdentity: {record:?}"
    );
    assert_images(record, view_type, change, what);
}

#[track_caller]
fn assert_images(record: &Record, view_type: &str, change: &Change, what: &str) {
    let dynamodb = stream_record(record);
    assert_eq!(
        canonical_item(&keys_of(record)),
        canonical_item(&change.keys),
        "{what}: Keys of {record:?}"
    );
    let (with_new, with_old) = match view_type {
        "KEYS_ONLY" => (false, false),
        "NEW_IMAGE" => (true, false),
        "OLD_IMAGE" => (false, true),
        "NEW_AND_OLD_IMAGES" => (true, true),
        other => panic!("not a view type: {other}"),
    };
    let expected_new = change.new.as_ref().filter(|_| with_new).map(canonical_item);
    let expected_old = change.old.as_ref().filter(|_| with_old).map(canonical_item);
    assert_eq!(
        dynamodb.new_image().map(|new| canonical_item(&image(new))),
        expected_new,
        "{what}: NewImage of a {view_type} record"
    );
    assert_eq!(
        dynamodb.old_image().map(|old| canonical_item(&image(old))),
        expected_old,
        "{what}: OldImage of a {view_type} record"
    );
}

/// Checks that the records are exactly `changes`, in order.
#[track_caller]
fn assert_changes(records: &[Record], view_type: &str, changes: &[Change], what: &str) {
    assert_eq!(
        records.iter().map(event_name).collect::<Vec<_>>(),
        changes
            .iter()
            .map(|change| change.event_name)
            .collect::<Vec<_>>(),
        "{what}: the records' eventNames, in order; records: {records:#?}"
    );
    for (record_idx, (record, change)) in records.iter().zip(changes).enumerate() {
        assert_change(
            record,
            view_type,
            change,
            &format!("{what}, record {record_idx}"),
        );
    }
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, item: Item) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {item:?} into {table}: {e:?}"));
}

async fn delete(client: &aws_sdk_dynamodb::Client, table: &str, key: Item) {
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(key.clone()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {key:?} from {table}: {e:?}"));
}

/// Event ids are unique across all the records given.
#[track_caller]
fn assert_unique_event_ids<'a>(records: impl IntoIterator<Item = &'a Record>) {
    let mut seen = HashSet::new();
    for record in records {
        let id = record.event_id().unwrap_or_default();
        assert!(seen.insert(id.to_owned()), "eventID {id} twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn put_update_and_delete_write_records_with_the_images_of_each_view_type() {
    let fixture = Fixture::start("");
    let client = fixture.client();
    let streams = &fixture.streams;

    let key1 = item(&[("cartId", s("c1")), ("line", n("1"))]);
    let key2 = item(&[("cartId", s("c2")), ("line", n("2"))]);
    let v1 = item(&[
        ("cartId", s("c1")),
        ("line", n("1")),
        ("qty", n("1")),
        ("tags", ss(&["a", "b"])),
    ]);
    let v2 = item(&[("cartId", s("c1")), ("line", n("1")), ("qty", n("2"))]);
    let v3 = item(&[
        ("cartId", s("c1")),
        ("line", n("1")),
        ("note", s("replaced")),
    ]);
    let other = item(&[("cartId", s("c2")), ("line", n("2")), ("qty", n("7"))]);

    let mut modify_sizes = HashMap::new();
    let mut all_records = Vec::new();
    for view_type in VIEW_TYPES {
        let table = format!("carts_{}", view_type.to_lowercase());
        let arn =
            create_table_with_stream(client, &table, &[("cartId", "S"), ("line", "N")], view_type)
                .await;

        put(client, &table, v1.clone()).await;
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(key1.clone()))
            .update_expression("SET qty = qty + :one REMOVE tags")
            .expression_attribute_values(":one", n("1"))
            .send()
            .await
            .expect("update");
        put(client, &table, v3.clone()).await;
        put(client, &table, other.clone()).await;
        delete(client, &table, key1.clone()).await;

        // The records are readable once the writes are acknowledged: they commit together.
        let by_shard = read_stream(streams, &arn).await;
        let total: usize = by_shard.values().map(Vec::len).sum();
        assert_eq!(
            total, 5,
            "{view_type}: one record per change: {by_shard:#?}"
        );
        let c1 = records_of(&by_shard, &key1);
        assert_changes(
            &c1,
            view_type,
            &[
                insert(key1.clone(), v1.clone()),
                modify(key1.clone(), v1.clone(), v2.clone()),
                modify(key1.clone(), v2.clone(), v3.clone()),
                remove(key1.clone(), v3.clone()),
            ],
            &format!("{view_type} c1"),
        );
        assert_changes(
            &records_of(&by_shard, &key2),
            view_type,
            &[insert(key2.clone(), other.clone())],
            &format!("{view_type} c2"),
        );
        modify_sizes.insert(
            view_type,
            stream_record(&c1[1]).size_bytes().unwrap_or_default(),
        );
        all_records.extend(by_shard.into_values().flatten());
    }
    assert_unique_event_ids(&all_records);

    // SizeBytes counts the images a record carries.
    let both = modify_sizes["NEW_AND_OLD_IMAGES"];
    for view_type in ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"] {
        assert!(
            modify_sizes[view_type] < both,
            "SizeBytes of a {view_type} MODIFY ({}) is below NEW_AND_OLD_IMAGES's ({both})",
            modify_sizes[view_type]
        );
    }
    assert!(
        modify_sizes["KEYS_ONLY"] < modify_sizes["NEW_IMAGE"],
        "{modify_sizes:?}"
    );
}

const CARTS_WITH_STREAM: &str = r#"
[table.carts]
partition_key = { name = "id", type = "S" }
stream = "NEW_AND_OLD_IMAGES"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn writes_that_change_nothing_write_no_record() {
    let fixture = Fixture::start(CARTS_WITH_STREAM);
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "carts").await;
    let arn = latest_stream_arn(client, "carts").await;

    let key_a = item(&[("id", s("a"))]);
    let a = item(&[("id", s("a")), ("v", n("1")), ("tags", ss(&["x", "y"]))]);
    put(client, "carts", a.clone()).await;

    let only_the_insert = async |what: &str| {
        let records = read_all(streams, &arn).await;
        assert_eq!(
            records.iter().map(event_name).collect::<Vec<_>>(),
            ["INSERT"],
            "no record for {what}: {records:#?}"
        );
    };
    put(client, "carts", a.clone()).await;
    only_the_insert("the same item put again").await;
    put(
        client,
        "carts",
        item(&[("id", s("a")), ("v", n("1.0")), ("tags", ss(&["x", "y"]))]),
    )
    .await;
    only_the_insert("the same item put again, with 1 written as 1.0").await;
    put(
        client,
        "carts",
        item(&[("id", s("a")), ("v", n("1")), ("tags", ss(&["y", "x"]))]),
    )
    .await;
    only_the_insert("the same item put again, its string set in another order").await;
    client
        .update_item()
        .table_name("carts")
        .set_key(Some(key_a.clone()))
        .update_expression("SET v = :one REMOVE #gone")
        .expression_attribute_names("#gone", "gone")
        .expression_attribute_values(":one", n("1"))
        .send()
        .await
        .expect("no-op update");
    only_the_insert("an update to the value the item has, and the removal of a missing attribute")
        .await;
    client
        .update_item()
        .table_name("carts")
        .set_key(Some(key_a.clone()))
        .update_expression("SET tags = :tags")
        .expression_attribute_values(":tags", ss(&["y", "x"]))
        .send()
        .await
        .expect("no-op update of a set");
    only_the_insert("an update setting the set it has, in another order").await;
    // Failed conditions.
    expect_error(
        client
            .put_item()
            .table_name("carts")
            .set_item(Some(item(&[("id", s("a")), ("v", n("2"))])))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await,
        "ConditionalCheckFailedException",
    );
    expect_error(
        client
            .update_item()
            .table_name("carts")
            .set_key(Some(key_a.clone()))
            .update_expression("SET v = :two")
            .condition_expression("v = :five")
            .expression_attribute_values(":two", n("2"))
            .expression_attribute_values(":five", n("5"))
            .send()
            .await,
        "ConditionalCheckFailedException",
    );
    expect_error(
        client
            .delete_item()
            .table_name("carts")
            .set_key(Some(key_a.clone()))
            .condition_expression("v = :five")
            .expression_attribute_values(":five", n("5"))
            .send()
            .await,
        "ConditionalCheckFailedException",
    );
    only_the_insert("a put, an update and a delete whose conditions failed").await;
    delete(client, "carts", item(&[("id", s("missing"))])).await;
    only_the_insert("a delete of a missing item").await;
    // A cancelled transaction: its put of a new item must leave no record either.
    let new_item = TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name("carts")
                .set_item(Some(item(&[("id", s("c"))])))
                .build()
                .expect("put"),
        )
        .build();
    let failing_check = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name("carts")
                .set_key(Some(key_a.clone()))
                .condition_expression("v = :five")
                .expression_attribute_values(":five", n("5"))
                .build()
                .expect("condition check"),
        )
        .build();
    expect_error(
        client
            .transact_write_items()
            .transact_items(new_item)
            .transact_items(failing_check)
            .send()
            .await,
        "TransactionCanceledException",
    );
    only_the_insert("a cancelled transaction").await;
    // A batch that puts the same item again (its set in another order) and deletes a missing one.
    let batch = client
        .batch_write_item()
        .request_items(
            "carts",
            vec![
                put_request(item(&[
                    ("id", s("a")),
                    ("v", n("1")),
                    ("tags", ss(&["y", "x"])),
                ])),
                delete_request(item(&[("id", s("gone"))])),
            ],
        )
        .send()
        .await
        .expect("no-op batch");
    assert!(
        batch.unprocessed_items().is_none_or(HashMap::is_empty),
        "{batch:?}"
    );
    only_the_insert("a batch of a put of the same item and a delete of a missing one").await;

    delete(client, "carts", key_a.clone()).await;
    let records = read_all(streams, &arn).await;
    assert_changes(
        &records,
        "NEW_AND_OLD_IMAGES",
        &[
            insert(key_a.clone(), a.clone()),
            remove(key_a.clone(), a.clone()),
        ],
        "only the put and the delete that changed the item",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shard_iterators_start_at_the_horizon_the_latest_record_or_a_sequence_number() {
    let fixture = Fixture::start("");
    let client = fixture.client();
    let streams = &fixture.streams;
    create_table(client, "orders", &[("customer", "S"), ("n", "N")]).await;
    let arn = enable_stream(client, "orders", "NEW_IMAGE").await;

    let order = |number: u32| item(&[("customer", s("ada")), ("n", n(&number.to_string()))]);
    for number in 1..=3 {
        put(client, "orders", order(number)).await;
    }
    // All three records are in the shard of partition key "ada".
    let by_shard = read_stream(streams, &arn).await;
    let (shard, records) = by_shard
        .iter()
        .find(|(_, records)| !records.is_empty())
        .expect("a shard with records");
    assert_eq!(records.len(), 3, "{by_shard:#?}");
    let numbers = |records: &[Record]| -> Vec<String> {
        records
            .iter()
            .map(|record| {
                let keys = keys_of(record);
                crate::support::dynamo::get_n(&keys, "n").to_owned()
            })
            .collect()
    };
    assert_eq!(numbers(records), ["1", "2", "3"]);
    let sequence: Vec<String> = records
        .iter()
        .map(|r| sequence_number(r).to_owned())
        .collect();

    // Every shard, with or without records, is open: its pages carry a next iterator.
    for other in by_shard.keys() {
        let start = iterator(streams, &arn, other, ShardIteratorType::TrimHorizon, None).await;
        page(streams, &start, None).await;
    }

    let arn_ref = arn.as_str();
    let read = |kind: ShardIteratorType, sequence_number: Option<String>| async move {
        let start = iterator(streams, arn_ref, shard, kind, sequence_number.as_deref()).await;
        read_from(streams, start).await
    };
    let (from_horizon, after_all) = read(ShardIteratorType::TrimHorizon, None).await;
    assert_eq!(numbers(&from_horizon), ["1", "2", "3"], "TRIM_HORIZON");
    let (at_first, _) = read(
        ShardIteratorType::AtSequenceNumber,
        Some(sequence[0].clone()),
    )
    .await;
    assert_eq!(
        numbers(&at_first),
        ["1", "2", "3"],
        "AT_SEQUENCE_NUMBER of the first"
    );
    let (at_second, _) = read(
        ShardIteratorType::AtSequenceNumber,
        Some(sequence[1].clone()),
    )
    .await;
    assert_eq!(
        numbers(&at_second),
        ["2", "3"],
        "AT_SEQUENCE_NUMBER of the second"
    );
    let (after_second, _) = read(
        ShardIteratorType::AfterSequenceNumber,
        Some(sequence[1].clone()),
    )
    .await;
    assert_eq!(
        numbers(&after_second),
        ["3"],
        "AFTER_SEQUENCE_NUMBER of the second"
    );
    let (after_last, _) = read(
        ShardIteratorType::AfterSequenceNumber,
        Some(sequence[2].clone()),
    )
    .await;
    assert_eq!(
        numbers(&after_last),
        Vec::<String>::new(),
        "AFTER_SEQUENCE_NUMBER of the last"
    );

    let latest = iterator(streams, &arn, shard, ShardIteratorType::Latest, None).await;
    let (nothing_yet, _) = page(streams, &latest, None).await;
    assert!(
        nothing_yet.is_empty(),
        "LATEST starts after the last record: {nothing_yet:#?}"
    );

    put(client, "orders", order(4)).await;
    let (from_latest, _) = page(streams, &latest, None).await;
    assert_eq!(
        numbers(&from_latest),
        ["4"],
        "LATEST, taken before the fourth write"
    );
    let after_all = after_all.expect("an open shard continues after its last record");
    let (continued, _) = page(streams, &after_all, None).await;
    assert_eq!(
        numbers(&continued),
        ["4"],
        "the iterator after an empty page"
    );
    let (after_third, _) = read(
        ShardIteratorType::AfterSequenceNumber,
        Some(sequence[2].clone()),
    )
    .await;
    assert_eq!(
        numbers(&after_third),
        ["4"],
        "AFTER_SEQUENCE_NUMBER of the third"
    );

    // The sequence-number types need one.
    expect_error(
        streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .send()
            .await,
        "ValidationException",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_records_pages_with_limit_and_next_shard_iterator() {
    let fixture = Fixture::start(CARTS_WITH_STREAM);
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "carts").await;
    let arn = latest_stream_arn(client, "carts").await;

    let key = item(&[("id", s("paged"))]);
    for version in 0..7 {
        put(
            client,
            "carts",
            item(&[("id", s("paged")), ("version", n(&version.to_string()))]),
        )
        .await;
    }
    let by_shard = read_stream(streams, &arn).await;
    let all = records_of(&by_shard, &key);
    assert_eq!(all.len(), 7, "{by_shard:#?}");
    let shard = by_shard
        .iter()
        .find(|(_, records)| !records.is_empty())
        .map(|(shard, _)| shard.clone())
        .expect("a shard with records");

    let mut iterator_now =
        iterator(streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let mut sizes = Vec::new();
    let mut paged = Vec::new();
    loop {
        let (records, next) = page(streams, &iterator_now, Some(3)).await;
        assert_ne!(next, "", "NextShardIterator");
        iterator_now = next;
        if records.is_empty() {
            break;
        }
        assert!(sizes.len() < 7, "paging does not end: {sizes:?}");
        sizes.push(records.len());
        paged.extend(records);
    }
    assert_eq!(sizes, [3, 3, 1], "pages of Limit 3 over 7 records");
    let ids = |records: &[Record]| -> Vec<String> {
        records
            .iter()
            .map(|record| record.event_id().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&paged),
        ids(&all),
        "the pages, one after the other, are the shard"
    );

    // The largest Limit takes everything in one page.
    let start = iterator(streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let (records, _) = page(streams, &start, Some(1000)).await;
    assert_eq!(ids(&records), ids(&all), "one page of Limit 1000");
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_and_batches_write_one_record_per_changed_item() {
    let fixture = Fixture::start(CARTS_WITH_STREAM);
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "carts").await;
    let arn = latest_stream_arn(client, "carts").await;

    let key = |id: &str| item(&[("id", s(id))]);
    let versioned = |id: &str, v: &str| item(&[("id", s(id)), ("v", n(v))]);
    for id in ["y", "z", "w", "u"] {
        put(client, "carts", versioned(id, "1")).await;
    }

    let put_x = Put::builder()
        .table_name("carts")
        .set_item(Some(versioned("x", "1")))
        .build()
        .expect("put");
    let update_y = Update::builder()
        .table_name("carts")
        .set_key(Some(key("y")))
        .update_expression("SET v = :two")
        .expression_attribute_values(":two", n("2"))
        .build()
        .expect("update");
    let delete_z = Delete::builder()
        .table_name("carts")
        .set_key(Some(key("z")))
        .build()
        .expect("delete");
    let check_w = ConditionCheck::builder()
        .table_name("carts")
        .set_key(Some(key("w")))
        .condition_expression("attribute_exists(id)")
        .build()
        .expect("condition check");
    let put_u_again = Put::builder()
        .table_name("carts")
        .set_item(Some(versioned("u", "1")))
        .build()
        .expect("put");
    client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put_x).build())
        .transact_items(TransactWriteItem::builder().update(update_y).build())
        .transact_items(TransactWriteItem::builder().delete(delete_z).build())
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(check_w)
                .build(),
        )
        .transact_items(TransactWriteItem::builder().put(put_u_again).build())
        .send()
        .await
        .expect("transaction");

    let batch = client
        .batch_write_item()
        .request_items(
            "carts",
            vec![
                put_request(versioned("b1", "1")),
                put_request(versioned("b2", "1")),
                put_request(versioned("y", "2")),
                delete_request(key("x")),
                delete_request(key("nope")),
            ],
        )
        .send()
        .await
        .expect("batch");
    assert!(
        batch.unprocessed_items().is_none_or(HashMap::is_empty),
        "{batch:?}"
    );

    let by_shard = read_stream(streams, &arn).await;
    let view = "NEW_AND_OLD_IMAGES";
    let expected: [(&str, Vec<Change>); 7] = [
        ("w", vec![insert(key("w"), versioned("w", "1"))]),
        ("u", vec![insert(key("u"), versioned("u", "1"))]),
        (
            "y",
            vec![
                insert(key("y"), versioned("y", "1")),
                modify(key("y"), versioned("y", "1"), versioned("y", "2")),
            ],
        ),
        (
            "z",
            vec![
                insert(key("z"), versioned("z", "1")),
                remove(key("z"), versioned("z", "1")),
            ],
        ),
        (
            "x",
            vec![
                insert(key("x"), versioned("x", "1")),
                remove(key("x"), versioned("x", "1")),
            ],
        ),
        ("b1", vec![insert(key("b1"), versioned("b1", "1"))]),
        ("b2", vec![insert(key("b2"), versioned("b2", "1"))]),
    ];
    let mut count = 0;
    for (id, changes) in &expected {
        assert_changes(&records_of(&by_shard, &key(id)), view, changes, id);
        count += changes.len();
    }
    let total: usize = by_shard.values().map(Vec::len).sum();
    assert_eq!(
        total, count,
        "no other records (none for w's check, u's same put, nope): {by_shard:#?}"
    );
    assert_unique_event_ids(by_shard.values().flatten());
}

#[tokio::test(flavor = "multi_thread")]
async fn ttl_deletions_write_remove_records_by_the_service() {
    let fixture = Fixture::start_with(
        r#"
[table.sessions]
partition_key = { name = "id", type = "S" }
ttl_attribute = "expiresAt"
stream = "NEW_AND_OLD_IMAGES"
"#,
        &["--ttl-sweep-ms", "200"],
    );
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "sessions").await;
    let arn = latest_stream_arn(client, "sessions").await;
    let poll = Poll::new("TTL to be ENABLED", Duration::from_secs(30));
    loop {
        let described = client
            .describe_time_to_live()
            .table_name("sessions")
            .send()
            .await
            .expect("describe ttl");
        let status = described
            .time_to_live_description()
            .and_then(|description| description.time_to_live_status());
        if status == Some(&TimeToLiveStatus::Enabled) {
            break;
        }
        poll.tick(described).await;
    }

    let expired_key = item(&[("id", s("expired"))]);
    let expired = item(&[
        ("id", s("expired")),
        ("expiresAt", n(&(now_s() - 60).to_string())),
    ]);
    let kept_key = item(&[("id", s("kept"))]);
    let kept = item(&[
        ("id", s("kept")),
        ("expiresAt", n(&(now_s() + 3600).to_string())),
    ]);
    put(client, "sessions", expired.clone()).await;
    put(client, "sessions", kept.clone()).await;
    delete(client, "sessions", kept_key.clone()).await;

    let by_shard = wait_records(streams, &arn, 4, "the TTL deletion's REMOVE record").await;
    let view = "NEW_AND_OLD_IMAGES";
    // The user's own delete is not the service's.
    assert_changes(
        &records_of(&by_shard, &kept_key),
        view,
        &[
            insert(kept_key.clone(), kept.clone()),
            remove(kept_key.clone(), kept.clone()),
        ],
        "kept",
    );
    let records = records_of(&by_shard, &expired_key);
    assert_eq!(
        records.len(),
        2,
        "INSERT then the TTL's REMOVE: {records:#?}"
    );
    assert_change(
        &records[0],
        view,
        &insert(expired_key.clone(), expired.clone()),
        "expired",
    );
    let ttl_remove = &records[1];
    assert_envelope(ttl_remove, view);
    assert_eq!(event_name(ttl_remove), "REMOVE", "{ttl_remove:?}");
    assert_images(
        ttl_remove,
        view,
        &remove(expired_key.clone(), expired.clone()),
        "TTL",
    );
    let identity = ttl_remove
        .user_identity()
        .unwrap_or_else(|| panic!("a TTL deletion carries userIdentity: {ttl_remove:?}"));
    assert_eq!(identity.r#type(), Some("Service"), "{identity:?}");
    assert_eq!(
        identity.principal_id(),
        Some("dynamodb.amazonaws.com"),
        "{identity:?}"
    );
    let total: usize = by_shard.values().map(Vec::len).sum();
    assert_eq!(total, 4, "{by_shard:#?}");
}

/// The stream's status, as DescribeStream tells it.
async fn stream_status(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> StreamStatus {
    let described = streams
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe stream {arn}: {e:?}"));
    described
        .stream_description()
        .and_then(|description| description.stream_status())
        .unwrap_or_else(|| panic!("StreamStatus missing: {described:?}"))
        .clone()
}

/// Every stream ListStreams lists (for `table`, if given), one page of `limit` after another.
async fn list_streams(
    streams: &aws_sdk_dynamodbstreams::Client,
    table: Option<&str>,
    limit: Option<i32>,
) -> Vec<aws_sdk_dynamodbstreams::types::Stream> {
    let mut listed = Vec::new();
    let mut start: Option<String> = None;
    for _ in 0..PAGES_PER_READ_MAX {
        let answer = streams
            .list_streams()
            .set_table_name(table.map(str::to_owned))
            .set_limit(limit)
            .set_exclusive_start_stream_arn(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("list streams of {table:?}: {e:?}"));
        if let Some(limit) = limit {
            let limit = usize::try_from(limit).expect("a positive limit");
            assert!(answer.streams().len() <= limit, "{answer:?}");
        }
        listed.extend(answer.streams().iter().cloned());
        match answer.last_evaluated_stream_arn() {
            Some(last) => start = Some(last.to_owned()),
            None => return listed,
        }
    }
    panic!("ListStreams kept answering LastEvaluatedStreamArn");
}

fn arns(streams: &[aws_sdk_dynamodbstreams::types::Stream]) -> Vec<String> {
    let mut arns: Vec<String> = streams
        .iter()
        .map(|stream| stream.stream_arn().expect("StreamArn").to_owned())
        .collect();
    arns.sort();
    arns
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_stream_stays_readable_and_enabling_again_makes_a_new_stream() {
    let fixture = Fixture::start("");
    let client = fixture.client();
    let streams = &fixture.streams;
    create_table(client, "feed", &[("id", "S")]).await;
    let first = enable_stream(client, "feed", "NEW_IMAGE").await;
    assert_eq!(stream_status(streams, &first).await, StreamStatus::Enabled);

    let key = |id: &str| item(&[("id", s(id))]);
    let a = item(&[("id", s("a")), ("v", n("1"))]);
    put(client, "feed", a.clone()).await;

    client
        .update_table()
        .table_name("feed")
        .stream_specification(stream_disabled())
        .send()
        .await
        .expect("disable the stream");
    wait_active(client, "feed").await;
    let poll = Poll::new("the stream to be DISABLED", Duration::from_secs(30));
    loop {
        let status = stream_status(streams, &first).await;
        if status == StreamStatus::Disabled {
            break;
        }
        poll.tick(status).await;
    }
    put(client, "feed", item(&[("id", s("b"))])).await;
    // The disabled stream's shards are closed: reading one to its end ends (no NextShardIterator),
    // and a closed shard's EndingSequenceNumber is its last record's.
    for shard in shards(streams, &first).await {
        let id = shard_id(&shard);
        let start = iterator(streams, &first, id, ShardIteratorType::TrimHorizon, None).await;
        let (records, next) = read_from(streams, start).await;
        assert_eq!(
            next, None,
            "NextShardIterator at the end of closed shard {id}"
        );
        if let Some(last) = records.last() {
            let ending = shard
                .sequence_number_range()
                .and_then(|range| range.ending_sequence_number());
            assert_eq!(
                ending,
                Some(sequence_number(last)),
                "EndingSequenceNumber of closed shard {shard:?}"
            );
        }
    }
    assert_changes(
        &read_all(streams, &first).await,
        "NEW_IMAGE",
        &[insert(key("a"), a.clone())],
        "the disabled stream",
    );
    assert_eq!(
        arns(&list_streams(streams, Some("feed"), None).await),
        [first.as_str()],
        "a disabled stream is still listed"
    );

    let second = enable_stream(client, "feed", "KEYS_ONLY").await;
    assert_ne!(second, first, "enabling again makes a new stream");
    assert_eq!(stream_status(streams, &second).await, StreamStatus::Enabled);
    assert_eq!(stream_status(streams, &first).await, StreamStatus::Disabled);
    let c = item(&[("id", s("c")), ("v", n("3"))]);
    put(client, "feed", c.clone()).await;
    assert_changes(
        &read_all(streams, &second).await,
        "KEYS_ONLY",
        &[insert(key("c"), c.clone())],
        "the new stream has only the change after it was enabled",
    );
    assert_eq!(
        read_all(streams, &first).await.len(),
        1,
        "the disabled stream takes no more records"
    );
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(arns(&list_streams(streams, Some("feed"), None).await), both);
}

const THREE_TABLES: &str = r#"
[table.alpha]
partition_key = { name = "id", type = "S" }
stream = "KEYS_ONLY"

[table.beta]
partition_key = { name = "pk", type = "N" }
sort_key = { name = "sk", type = "S" }
stream = "NEW_IMAGE"

[table.gamma]
partition_key = { name = "id", type = "S" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn list_streams_and_describe_stream() {
    let fixture = Fixture::start(THREE_TABLES);
    let client = fixture.client();
    let streams = &fixture.streams;
    for table in ["alpha", "beta", "gamma"] {
        wait_active(client, table).await;
    }
    let alpha = latest_stream_arn(client, "alpha").await;
    let beta = latest_stream_arn(client, "beta").await;

    let listed = list_streams(streams, None, None).await;
    let mut expected = vec![alpha.clone(), beta.clone()];
    expected.sort();
    assert_eq!(arns(&listed), expected, "every stream, none for gamma");
    for stream in &listed {
        let arn = stream.stream_arn().expect("StreamArn");
        let table = stream.table_name().expect("TableName");
        let label = stream.stream_label().expect("StreamLabel");
        assert_eq!(
            arn,
            format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/{label}"),
            "{stream:?}"
        );
    }
    assert_eq!(
        arns(&list_streams(streams, None, Some(1)).await),
        expected,
        "pages of one"
    );
    assert_eq!(
        arns(&list_streams(streams, Some("beta"), None).await),
        [beta.as_str()]
    );
    assert_eq!(
        arns(&list_streams(streams, Some("gamma"), None).await),
        Vec::<String>::new()
    );

    let described = streams
        .describe_stream()
        .stream_arn(&beta)
        .send()
        .await
        .expect("describe stream");
    let description = described.stream_description().expect("StreamDescription");
    assert_eq!(description.stream_arn(), Some(beta.as_str()));
    assert!(
        description
            .stream_label()
            .is_some_and(|label| beta.ends_with(&format!("/stream/{label}"))),
        "{description:?}"
    );
    assert_eq!(description.stream_status(), Some(&StreamStatus::Enabled));
    assert_eq!(
        description.stream_view_type().map(|view| view.as_str()),
        Some("NEW_IMAGE")
    );
    assert_eq!(description.table_name(), Some("beta"));
    let key_schema: Vec<(&str, &str)> = description
        .key_schema()
        .iter()
        .map(|element| (element.attribute_name(), element.key_type().as_str()))
        .collect();
    assert_eq!(key_schema, [("pk", "HASH"), ("sk", "RANGE")]);
    let shards = shards(streams, &beta).await;
    assert!(shards.len() > 1, "a stream has several shards: {shards:?}");
    let ids: HashSet<&str> = shards.iter().map(shard_id).collect();
    assert_eq!(ids.len(), shards.len(), "shard ids are unique: {shards:?}");
    for shard in &shards {
        let starting = shard
            .sequence_number_range()
            .and_then(|range| range.starting_sequence_number())
            .unwrap_or_else(|| panic!("StartingSequenceNumber of {shard:?}"));
        assert_sequence_number(starting);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_spread_over_shards_by_partition_key_in_order_per_item() {
    let fixture = Fixture::start(THREE_TABLES);
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "beta").await;
    let arn = latest_stream_arn(client, "beta").await;

    const ITEMS: usize = 40;
    const ROUNDS: usize = 4;
    let key = |pk: usize| item(&[("pk", n(&pk.to_string())), ("sk", s("line"))]);
    let version = |pk: usize, round: usize| {
        let mut version = key(pk);
        version.insert("round".to_owned(), n(&round.to_string()));
        version
    };
    // Rounds interleave the items, so that each shard holds several items' changes mixed.
    for round in 0..ROUNDS {
        for pk in 0..ITEMS {
            put(client, "beta", version(pk, round)).await;
        }
    }

    let by_shard = read_stream(streams, &arn).await;
    let total: usize = by_shard.values().map(Vec::len).sum();
    assert_eq!(total, ITEMS * ROUNDS);
    let used = by_shard
        .values()
        .filter(|records| !records.is_empty())
        .count();
    assert!(
        used > 1,
        "{ITEMS} partition keys spread over more than one shard: {used}"
    );
    for pk in 0..ITEMS {
        let changes: Vec<Change> = (0..ROUNDS)
            .map(|round| {
                let new = version(pk, round);
                if round == 0 {
                    insert(key(pk), new)
                } else {
                    modify(key(pk), version(pk, round - 1), new)
                }
            })
            .collect();
        assert_changes(
            &records_of(&by_shard, &key(pk)),
            "NEW_IMAGE",
            &changes,
            &format!("pk {pk}"),
        );
    }
    assert_unique_event_ids(by_shard.values().flatten());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_streams_shards_and_bad_iterators_are_refused() {
    let fixture = Fixture::start(CARTS_WITH_STREAM);
    let client = fixture.client();
    let streams = &fixture.streams;
    wait_active(client, "carts").await;
    let arn = latest_stream_arn(client, "carts").await;
    put(client, "carts", item(&[("id", s("a"))])).await;

    for unknown in [
        "arn:aws:dynamodb:us-east-1:000000000000:table/carts/stream/2000-01-01T00:00:00.000"
            .to_owned(),
        "arn:aws:dynamodb:us-east-1:000000000000:table/nope/stream/2000-01-01T00:00:00.000"
            .to_owned(),
        format!("{arn}0"),
    ] {
        expect_error(
            streams.describe_stream().stream_arn(&unknown).send().await,
            "ResourceNotFoundException",
        );
        let shard = shards(streams, &arn)
            .await
            .first()
            .map(|shard| shard_id(shard).to_owned());
        expect_error(
            streams
                .get_shard_iterator()
                .stream_arn(&unknown)
                .shard_id(shard.expect("a shard"))
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await,
            "ResourceNotFoundException",
        );
    }
    expect_error(
        streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id("shardId-00000000000000000000-nope")
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await,
        "ResourceNotFoundException",
    );

    expect_validation(
        streams.get_records().shard_iterator("garbage").send().await,
        "Invalid ShardIterator",
    );
    let by_shard = read_stream(streams, &arn).await;
    let shard = by_shard
        .iter()
        .find(|(_, records)| !records.is_empty())
        .map(|(shard, _)| shard.clone())
        .expect("the shard of item a");
    let valid = iterator(streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    for limit in [0, 1001] {
        expect_error(
            streams
                .get_records()
                .shard_iterator(&valid)
                .limit(limit)
                .send()
                .await,
            "ValidationException",
        );
    }

    // On the wire: awsJson1_0 with DynamoDBStreams_20120810 targets, DynamoDB's error shape.
    let raw = |body: String| {
        let mut request = unsigned_dynamodb_request(
            &fixture.tables.dev.aws,
            Some("DynamoDBStreams_20120810.GetRecords"),
            body.as_bytes(),
        );
        sign(&mut request, "test", "test", body.as_bytes());
        send(request)
    };
    let reply = raw(r#"{"ShardIterator":"garbage"}"#.to_owned()).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let error = reply.json();
    assert!(
        error["__type"]
            .as_str()
            .is_some_and(|error_type| error_type.ends_with("#ValidationException")),
        "{error}"
    );

    // A record on the wire: numbers where DynamoDB has numbers, strings where it has strings.
    let reply = raw(serde_json::json!({ "ShardIterator": valid }).to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let answer = reply.json();
    assert!(answer["NextShardIterator"].is_string(), "{answer}");
    let record = &answer["Records"][0];
    assert_eq!(record["eventName"], "INSERT", "{answer}");
    assert!(record["eventID"].is_string(), "{record}");
    assert!(
        record["dynamodb"]["ApproximateCreationDateTime"].is_number(),
        "{record}"
    );
    assert!(record["dynamodb"]["SequenceNumber"].is_string(), "{record}");
    assert!(record["dynamodb"]["SizeBytes"].is_u64(), "{record}");
    assert_eq!(
        record["dynamodb"]["Keys"],
        serde_json::json!({"id": {"S": "a"}}),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn records_survive_a_restart() {
    let app = tables_app(CARTS_WITH_STREAM);
    let key_a = item(&[("id", s("a"))]);
    let (arn, before) = {
        let dev = Dev::start(&app);
        let client = crate::support::dynamo::dynamodb(&dev);
        let streams = dynamodb_streams(&dev);
        wait_active(&client, "carts").await;
        let arn = latest_stream_arn(&client, "carts").await;
        put(&client, "carts", item(&[("id", s("a")), ("v", n("1"))])).await;
        put(&client, "carts", item(&[("id", s("a")), ("v", n("2"))])).await;
        put(&client, "carts", item(&[("id", s("b"))])).await;
        let before = read_stream(&streams, &arn).await;
        assert_eq!(
            before.values().map(Vec::len).sum::<usize>(),
            3,
            "{before:#?}"
        );
        // Dropping `dev` kills it with SIGKILL: no shutdown code runs.
        (arn, before)
    };

    let dev = Dev::start(&app);
    let client = crate::support::dynamo::dynamodb(&dev);
    let streams = dynamodb_streams(&dev);
    wait_active(&client, "carts").await;
    assert_eq!(
        latest_stream_arn(&client, "carts").await,
        arn,
        "the same stream after a restart"
    );
    let after = read_stream(&streams, &arn).await;
    let summary =
        |by_shard: &BTreeMap<String, Vec<Record>>| -> Vec<(String, String, String, String)> {
            by_shard
                .iter()
                .flat_map(|(shard, records)| {
                    records.iter().map(move |record| {
                        (
                            shard.clone(),
                            record.event_id().unwrap_or_default().to_owned(),
                            event_name(record).to_owned(),
                            sequence_number(record).to_owned(),
                        )
                    })
                })
                .collect()
        };
    assert_eq!(
        summary(&after),
        summary(&before),
        "the records after a restart"
    );

    // New changes continue the item's shard with greater sequence numbers.
    let last_before = records_of(&before, &key_a)
        .last()
        .map(|record| sequence_number(record).to_owned())
        .expect("a's records");
    delete(&client, "carts", key_a.clone()).await;
    let records = records_of(&read_stream(&streams, &arn).await, &key_a);
    assert_eq!(
        records.iter().map(event_name).collect::<Vec<_>>(),
        ["INSERT", "MODIFY", "REMOVE"]
    );
    let last = sequence_number(&records[2]);
    assert!(
        sequence_less(&last_before, last),
        "{last_before} then {last}"
    );
}
