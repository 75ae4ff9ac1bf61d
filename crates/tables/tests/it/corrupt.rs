//! Issue 13: a stored value that does not decode is an error naming its key (DynamoDB's
//! `InternalServerError`), never read as 0 or as absent.
//!
//! Each test writes a malformed value straight into the store under the real key, then calls a
//! public operation that reads it.

use serde_json::{Value, json};
use store::keyspace::Area;
use tables::{ApiResult, ErrorCode};

use crate::support::Fixture;

const META: u8 = Area::TablesMeta.prefix();
const DATA: u8 = Area::TablesData.prefix();
const RECORDS: u8 = Area::StreamRecords.prefix();

/// A value no stored counter, id, item or JSON document has.
const GARBAGE: &[u8] = b"\xFF\x00\x07";

/// `result` is DynamoDB's `InternalServerError`, and its message names `key`.
fn check<T: std::fmt::Debug>(result: ApiResult<T>, key: &[u8]) {
    let shown = format!("key \"{}\"", key.escape_ascii());
    let error = result.expect_err("a corrupt stored value is an error");
    assert_eq!(error.code, ErrorCode::InternalServerError, "{error}");
    assert!(
        error.message.contains(&shown),
        "the message names {shown}: {}",
        error.message
    );
}

fn table_request(name: &str, stream: bool) -> Value {
    let mut request = json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    if stream {
        request["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    }
    request
}

fn put_request(table: &str, pk: &str) -> Value {
    json!({"TableName": table, "Item": {"pk": {"S": pk}, "n": {"N": "1"}}})
}

/// `[META, area byte, id u64 BE]`.
fn meta_key(kind: u8, id: u64) -> Vec<u8> {
    let mut key = vec![META, kind];
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// A fixture with one table `cart` (the first table: id 1), with a stream (the first: id 1) when
/// `stream`.
async fn with_table(stream: bool) -> Fixture {
    let fixture = Fixture::new();
    fixture
        .ok("CreateTable", table_request("cart", stream))
        .await;
    fixture
}

#[tokio::test]
async fn issue_13_a_corrupt_last_table_id_fails_create_table() {
    let fixture = Fixture::new();
    let key = [META, b's'];
    fixture.put_raw(&key, GARBAGE).await;
    check(
        fixture
            .call("CreateTable", table_request("cart", false))
            .await,
        &key,
    );
}

#[tokio::test]
async fn issue_13_a_corrupt_item_counter_fails_describe_table_and_put_item() {
    let fixture = with_table(false).await;
    let mut key = meta_key(b'n', 1);
    key.push(0);
    fixture.put_raw(&key, GARBAGE).await;
    check(
        fixture
            .call("DescribeTable", json!({"TableName": "cart"}))
            .await,
        &key,
    );
    check(
        fixture.call("PutItem", put_request("cart", "a")).await,
        &key,
    );
}

#[tokio::test]
async fn issue_13_a_corrupt_table_definition_fails_the_open_and_writes() {
    let fixture = with_table(false).await;
    let mut key = vec![META, b'c'];
    key.extend_from_slice(b"cart");
    fixture.put_raw(&key, GARBAGE).await;
    check(
        fixture.call("PutItem", put_request("cart", "a")).await,
        &key,
    );
    let (_dir, reopened) = fixture.reopen();
    check(reopened.map(|_| ()), &key);
}

#[tokio::test]
async fn issue_13_a_corrupt_last_stream_id_fails_create_table_with_a_stream() {
    let fixture = Fixture::new();
    let key = [META, b'r'];
    fixture.put_raw(&key, GARBAGE).await;
    check(
        fixture
            .call("CreateTable", table_request("cart", true))
            .await,
        &key,
    );
}

#[tokio::test]
async fn issue_13_a_corrupt_stream_sequence_fails_writes_and_the_streams_api() {
    let fixture = with_table(true).await;
    let key = meta_key(b'q', 1);
    fixture.put_raw(&key, GARBAGE).await;
    check(
        fixture.call("PutItem", put_request("cart", "a")).await,
        &key,
    );
    check(fixture.tables.stream_info("cart"), &key);
    let arn = stream_arn(&fixture).await;
    let describe = fixture
        .call_streams("DescribeStream", json!({"StreamArn": arn}))
        .await;
    check(describe, &key);
}

#[tokio::test]
async fn issue_13_a_corrupt_stream_record_fails_get_records_and_read_shard() {
    let fixture = with_table(true).await;
    fixture.ok("PutItem", put_request("cart", "a")).await;
    let [key] =
        <[Vec<u8>; 1]>::try_from(fixture.keys_with_prefix(&[RECORDS])).expect("one stream record");
    let shard = u16::from_be_bytes([key[9], key[10]]);
    fixture.put_raw(&key, GARBAGE).await;
    check(read_shard(&fixture, shard), &key);
    check(get_records(&fixture, shard).await, &key);
}

#[tokio::test]
async fn issue_13_a_stream_record_without_its_time_fails_read_shard() {
    let fixture = with_table(true).await;
    fixture.ok("PutItem", put_request("cart", "a")).await;
    let [key] =
        <[Vec<u8>; 1]>::try_from(fixture.keys_with_prefix(&[RECORDS])).expect("one stream record");
    let shard = u16::from_be_bytes([key[9], key[10]]);
    fixture.put_raw(&key, br#"{"dynamodb": {}}"#).await;
    check(read_shard(&fixture, shard), &key);
}

#[tokio::test]
async fn issue_13_a_corrupt_item_fails_get_item_scan_and_put_item() {
    let fixture = with_table(false).await;
    fixture.ok("PutItem", put_request("cart", "a")).await;
    let mut prefix = vec![DATA];
    prefix.extend_from_slice(&1u64.to_be_bytes());
    let [key] = <[Vec<u8>; 1]>::try_from(fixture.keys_with_prefix(&prefix)).expect("one item");
    fixture.put_raw(&key, GARBAGE).await;
    let get = json!({"TableName": "cart", "Key": {"pk": {"S": "a"}}});
    check(fixture.call("GetItem", get).await, &key);
    check(
        fixture.call("Scan", json!({"TableName": "cart"})).await,
        &key,
    );
    check(
        fixture.call("PutItem", put_request("cart", "a")).await,
        &key,
    );
}

#[tokio::test]
async fn issue_13_a_corrupt_transaction_token_fails_the_retry() {
    let fixture = with_table(false).await;
    let request = json!({
        "ClientRequestToken": "token-1",
        "TransactItems": [{"Put": put_request("cart", "a")}],
    });
    fixture.ok("TransactWriteItems", request.clone()).await;
    let mut key = vec![META, b't'];
    key.extend_from_slice(b"token-1");
    fixture.put_raw(&key, GARBAGE).await;
    check(fixture.call("TransactWriteItems", request).await, &key);
}

async fn stream_arn(fixture: &Fixture) -> String {
    let table = fixture
        .ok("DescribeTable", json!({"TableName": "cart"}))
        .await;
    table["Table"]["LatestStreamArn"]
        .as_str()
        .expect("the table has a stream")
        .to_owned()
}

fn read_shard(fixture: &Fixture, shard: u16) -> ApiResult<usize> {
    let stream = fixture
        .tables
        .stream_info("cart")
        .expect("stream info")
        .expect("a stream");
    let records = fixture.tables.read_shard(&stream, shard, 0, 100, 1 << 20)?;
    Ok(records.len())
}

async fn get_records(fixture: &Fixture, shard: u16) -> ApiResult<Value> {
    let stream = fixture
        .tables
        .stream_info("cart")
        .expect("stream info")
        .expect("a stream");
    let iterator = fixture
        .call_streams(
            "GetShardIterator",
            json!({
                "StreamArn": stream.arn,
                "ShardId": stream.shard_ids[usize::from(shard)],
                "ShardIteratorType": "TRIM_HORIZON",
            }),
        )
        .await
        .expect("an iterator");
    fixture
        .call_streams(
            "GetRecords",
            json!({"ShardIterator": iterator["ShardIterator"]}),
        )
        .await
}
