//! The workload of `bench tables`: the table, its items, and the DynamoDB JSON bodies sent.
//!
//! Every body is built before the clock starts, from a fixed seed, so both servers receive the
//! same requests in the same order and the load generator only copies bytes.

use bytes::Bytes;

/// The benchmark table's name.
pub const TABLE_NAME: &str = "bench";

/// Partition keys the PutItem load spreads its writes over.
pub const PUT_PARTITIONS_N: u32 = 100_000;

/// Partitions the Query load reads, each holding [`QUERY_SORT_KEYS_N`] items.
pub const QUERY_PARTITIONS_N: u32 = 100;

/// Items in each Query partition; also the `Limit` of every Query, so each answer has them all.
pub const QUERY_SORT_KEYS_N: u32 = 10;

/// Items in one BatchWriteItem while loading (DynamoDB's maximum).
pub const BATCH_ITEMS_MAX: usize = 25;

/// Distinct request bodies built per operation; connections cycle through them.
pub const BODIES_PER_OPERATION_N: usize = 16_384;

/// The size of every item by DynamoDB's rule (attribute names plus values), in bytes.
pub const ITEM_BYTES: usize = 200;

/// Stands in each PutItem body for the item's version, which the load generator writes over with
/// a number new to each request, so that every PutItem changes its item: a server may skip
/// writing an item equal to the stored one, and the same bodies are sent many times.
pub const VERSION_PLACEHOLDER: &[u8; 10] = b"##########";

/// The version of the loaded items (as wide as [`VERSION_PLACEHOLDER`]).
const LOADED_VERSION: &str = "0000000000";

/// The seed of the key sequence, fixed so that every run sends the same requests.
const SEED: u64 = 0x5eed_7ab1_e5be_9c11;

/// The partition keys written by PutItem and read by GetItem: `p#000000` and up.
fn put_key(key_idx: u32) -> String {
    format!("p#{key_idx:06}")
}

fn query_key(partition_idx: u32) -> String {
    format!("q#{partition_idx:03}")
}

/// An item of exactly [`ITEM_BYTES`] by DynamoDB's size rule, in wire form.
///
/// Attributes: `pk` (S), `sk` (S), `ver` (S, ten characters) and `payload` (S), which pads the
/// item to size.
fn item_json(partition_key: &str, sort_key: &str, version: &str, key_idx: u32) -> String {
    assert_eq!(version.len(), VERSION_PLACEHOLDER.len());
    let fixed_bytes = "pk".len()
        + partition_key.len()
        + "sk".len()
        + sort_key.len()
        + "ver".len()
        + version.len()
        + "payload".len();
    let payload_len = ITEM_BYTES - fixed_bytes;
    let fill = char::from(b'a' + (key_idx % 26) as u8);
    let payload: String = std::iter::repeat_n(fill, payload_len).collect();
    format!(
        r#"{{"pk":{{"S":"{partition_key}"}},"sk":{{"S":"{sort_key}"}},"ver":{{"S":"{version}"}},"payload":{{"S":"{payload}"}}}}"#
    )
}

/// The CreateTable body: `pk` (S) partition key and `sk` (S) sort key, on-demand billing.
pub fn create_table() -> Bytes {
    Bytes::from(format!(
        r#"{{"TableName":"{TABLE_NAME}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"sk","AttributeType":"S"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"sk","KeyType":"RANGE"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
    ))
}

/// The DescribeTable body, to wait until the table is `ACTIVE`.
pub fn describe_table() -> Bytes {
    Bytes::from(format!(r#"{{"TableName":"{TABLE_NAME}"}}"#))
}

/// BatchWriteItem bodies that load the first `get_keys_n` PutItem keys (read back by GetItem)
/// and every Query partition.
pub fn load_batches(get_keys_n: u32) -> Vec<Bytes> {
    let get_items =
        (0..get_keys_n).map(|key_idx| item_json(&put_key(key_idx), "0", LOADED_VERSION, key_idx));
    let query_items = (0..QUERY_PARTITIONS_N).flat_map(|partition_idx| {
        (0..QUERY_SORT_KEYS_N).map(move |sort_idx| {
            item_json(
                &query_key(partition_idx),
                &format!("s#{sort_idx:02}"),
                LOADED_VERSION,
                partition_idx * QUERY_SORT_KEYS_N + sort_idx,
            )
        })
    });
    let items: Vec<String> = get_items.chain(query_items).collect();
    items
        .chunks(BATCH_ITEMS_MAX)
        .map(|chunk| {
            let requests: Vec<String> = chunk
                .iter()
                .map(|item| format!(r#"{{"PutRequest":{{"Item":{item}}}}}"#))
                .collect();
            Bytes::from(format!(
                r#"{{"RequestItems":{{"{TABLE_NAME}":[{}]}}}}"#,
                requests.join(",")
            ))
        })
        .collect()
}

/// PutItem bodies, keys drawn uniformly from [`PUT_PARTITIONS_N`] partitions.
pub fn put_items() -> Vec<Bytes> {
    keys(PUT_PARTITIONS_N)
        .map(|key_idx| {
            let version = std::str::from_utf8(VERSION_PLACEHOLDER).expect("ASCII");
            let item = item_json(&put_key(key_idx), "0", version, key_idx);
            Bytes::from(format!(r#"{{"TableName":"{TABLE_NAME}","Item":{item}}}"#))
        })
        .collect()
}

/// GetItem bodies, keys drawn uniformly from the `get_keys_n` loaded ones.
pub fn get_items(get_keys_n: u32) -> Vec<Bytes> {
    keys(get_keys_n)
        .map(|key_idx| {
            Bytes::from(format!(
                r#"{{"TableName":"{TABLE_NAME}","Key":{{"pk":{{"S":"{}"}},"sk":{{"S":"0"}}}}}}"#,
                put_key(key_idx)
            ))
        })
        .collect()
}

/// Query bodies: all of one partition (`pk = :p`, `Limit` = [`QUERY_SORT_KEYS_N`]).
pub fn queries() -> Vec<Bytes> {
    keys(QUERY_PARTITIONS_N)
        .map(|partition_idx| {
            Bytes::from(format!(
                r#"{{"TableName":"{TABLE_NAME}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"{}"}}}},"Limit":{QUERY_SORT_KEYS_N}}}"#,
                query_key(partition_idx)
            ))
        })
        .collect()
}

/// [`BODIES_PER_OPERATION_N`] key indexes in `0..keys_n` from a xorshift generator.
fn keys(keys_n: u32) -> impl Iterator<Item = u32> {
    assert!(keys_n > 0, "a key range cannot be empty");
    let mut state = SEED;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % u64::from(keys_n)) as u32
    })
    .take(BODIES_PER_OPERATION_N)
}

#[cfg(test)]
mod tests;
