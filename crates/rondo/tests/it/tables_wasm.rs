//! Wasm functions reach the app's tables through the `tables` host import, in-process: the same
//! table the AWS endpoint serves, with the same operations and errors.

use serde_json::{Value, json};

use crate::support::dynamo::{dynamodb, s};
use crate::support::{App, Dev, post, test_wasm};

fn app() -> App {
    let manifest = r#"[app]
name = "wasm-tables"

[function.store]
wasm = "tables.wasm"

[table.carts]
partition_key = { name = "cartId", type = "S" }
sort_key = { name = "itemId", type = "S" }
"#;
    App::new(manifest, &[("tables.wasm", test_wasm("test_tables.wasm"))])
}

async fn invoke(dev: &Dev, event: Value) -> Value {
    let reply = post(
        &format!("{}/2015-03-31/functions/store/invocations", dev.aws),
        event.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.header("x-amz-function-error").is_none(),
        "{}",
        reply.text()
    );
    reply.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasm_function_reads_and_writes_a_table() {
    let app = app();
    let dev = Dev::start(&app);

    // Written by the function, read through the AWS endpoint.
    let key = json!({"cartId": "c1", "itemId": "apple"});
    invoke(&dev, json!({"action": "put", "table": "carts", "item": {"cartId": "c1", "itemId": "apple", "quantity": 2}})).await;
    let item = dynamodb(&dev)
        .get_item()
        .table_name("carts")
        .key("cartId", s("c1"))
        .key("itemId", s("apple"))
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the function's item is in the table");
    assert_eq!(item["quantity"].as_n().expect("a number"), "2");

    // Counted up by the function (an UpdateItem with ADD), read back by the function.
    let updated = invoke(
        &dev,
        json!({"action": "update", "table": "carts", "key": key, "counter": "quantity", "by": 3}),
    )
    .await;
    assert_eq!(
        updated["attributes"]["quantity"],
        json!({"N": "5"}),
        "{updated}"
    );
    let got = invoke(&dev, json!({"action": "get", "table": "carts", "key": key})).await;
    assert_eq!(got["item"]["quantity"], json!({"N": "5"}), "{got}");

    // Written through the AWS endpoint, queried by the function.
    dynamodb(&dev)
        .put_item()
        .table_name("carts")
        .item("cartId", s("c1"))
        .item("itemId", s("pear"))
        .send()
        .await
        .expect("PutItem");
    let page = invoke(&dev, json!({"action": "query", "table": "carts", "keyCondition": "cartId = :c", "values": {":c": "c1"}})).await;
    let items: Vec<&Value> = page["items"].as_array().expect("items").iter().collect();
    assert_eq!(items.len(), 2, "{page}");
    assert_eq!(items[0]["itemId"], json!({"S": "apple"}));
    assert_eq!(items[1]["itemId"], json!({"S": "pear"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasm_function_gets_dynamodb_errors() {
    let app = app();
    let dev = Dev::start(&app);

    let missing = invoke(
        &dev,
        json!({"action": "get", "table": "nope", "key": {"id": "x"}}),
    )
    .await;
    assert_eq!(
        missing["error"]["code"], "ResourceNotFoundException",
        "{missing}"
    );

    invoke(
        &dev,
        json!({"action": "put", "table": "carts", "item": {"cartId": "c2", "itemId": "kiwi"}}),
    )
    .await;
    let refused = invoke(
        &dev,
        json!({"action": "put", "table": "carts", "item": {"cartId": "c2", "itemId": "kiwi"},
               "condition": "attribute_not_exists(cartId)"}),
    )
    .await;
    assert_eq!(
        refused["error"]["code"], "ConditionalCheckFailedException",
        "{refused}"
    );

    let raw = invoke(
        &dev,
        json!({"action": "raw", "operation": "Query", "request": {"TableName": "carts", "KeyConditionExpression": "itemId = :i",
               "ExpressionAttributeValues": {":i": {"S": "kiwi"}}}}),
    )
    .await;
    assert_eq!(raw["error"]["code"], "ValidationException", "{raw}");
    assert!(
        raw["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cartId")),
        "{raw}"
    );
}
