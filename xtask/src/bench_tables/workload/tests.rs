use serde_json::Value;

use super::*;

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body).expect("a body is JSON")
}

/// DynamoDB's item size for string attributes: each name's length plus its value's length.
fn item_size_bytes(item: &Value) -> usize {
    let attributes = item.as_object().expect("an item is an object");
    attributes
        .iter()
        .map(|(name, value)| {
            let text = value["S"].as_str().expect("every attribute is a string");
            name.len() + text.len()
        })
        .sum()
}

#[test]
fn items_have_the_stated_size() {
    for body in put_items().iter().take(100) {
        assert_eq!(item_size_bytes(&json(body)["Item"]), ITEM_BYTES);
        let version = json(body)["Item"]["ver"]["S"].clone();
        assert_eq!(
            version.as_str().map(str::as_bytes),
            Some(&VERSION_PLACEHOLDER[..])
        );
    }
    for batch in load_batches(50) {
        for request in json(&batch)["RequestItems"][TABLE_NAME]
            .as_array()
            .expect("puts")
        {
            assert_eq!(item_size_bytes(&request["PutRequest"]["Item"]), ITEM_BYTES);
        }
    }
}

#[test]
fn batches_load_every_get_key_and_every_query_partition() {
    let get_keys_n = 60;
    let batches = load_batches(get_keys_n);
    let mut keys = std::collections::BTreeSet::new();
    for batch in &batches {
        let requests = json(batch)["RequestItems"][TABLE_NAME].clone();
        let requests = requests.as_array().expect("puts").clone();
        assert!(requests.len() <= BATCH_ITEMS_MAX);
        for request in requests {
            let item = &request["PutRequest"]["Item"];
            let key = (item["pk"]["S"].to_string(), item["sk"]["S"].to_string());
            assert!(keys.insert(key), "a key is loaded twice");
        }
    }
    let items_n = get_keys_n + QUERY_PARTITIONS_N * QUERY_SORT_KEYS_N;
    assert_eq!(keys.len(), items_n as usize);
    for body in get_items(get_keys_n) {
        let key = &json(&body)["Key"];
        let key = (key["pk"]["S"].to_string(), key["sk"]["S"].to_string());
        assert!(
            keys.contains(&key),
            "GetItem reads {key:?}, which is not loaded"
        );
    }
    for body in queries() {
        let partition = json(&body)["ExpressionAttributeValues"][":p"]["S"].to_string();
        let loaded = keys.iter().filter(|(pk, _)| *pk == partition).count();
        assert_eq!(loaded, QUERY_SORT_KEYS_N as usize);
        assert_eq!(json(&body)["Limit"], QUERY_SORT_KEYS_N);
    }
}

#[test]
fn keys_are_the_same_every_run_and_spread_over_the_range() {
    let first: Vec<u32> = keys(PUT_PARTITIONS_N).collect();
    let second: Vec<u32> = keys(PUT_PARTITIONS_N).collect();
    assert_eq!(first, second);
    assert_eq!(first.len(), BODIES_PER_OPERATION_N);
    assert!(first.iter().all(|&key| key < PUT_PARTITIONS_N));
    let distinct: std::collections::BTreeSet<u32> = first.iter().copied().collect();
    // 16,384 draws from 100,000 keys: almost all distinct if the generator spreads them.
    assert!(
        distinct.len() > BODIES_PER_OPERATION_N * 9 / 10,
        "{} distinct",
        distinct.len()
    );
    let low_half = first
        .iter()
        .filter(|&&key| key < PUT_PARTITIONS_N / 2)
        .count();
    assert!(
        (BODIES_PER_OPERATION_N * 45 / 100..BODIES_PER_OPERATION_N * 55 / 100).contains(&low_half)
    );
}

#[test]
fn table_requests_name_the_table() {
    assert_eq!(json(&create_table())["TableName"], TABLE_NAME);
    assert_eq!(json(&describe_table())["TableName"], TABLE_NAME);
    let key_schema = json(&create_table())["KeySchema"].clone();
    assert_eq!(key_schema[0]["AttributeName"], "pk");
    assert_eq!(key_schema[1]["AttributeName"], "sk");
}
