//! DynamoDB-compatible tables, many items per request: BatchWriteItem, BatchGetItem,
//! TransactWriteItems and TransactGetItems.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Get, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update, WriteRequest,
};

use crate::support::dynamo::{
    Item, Tables, canonical_item, create_table, delete_request, expect_error, expect_validation,
    item, n, put_request, s,
};

fn keys(keys: Vec<Item>) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .build()
        .expect("keys and attributes")
}

async fn get(client: &Client, table: &str, key: Item) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

async fn count(client: &Client, table: &str) -> i32 {
    client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("scan count")
        .count()
}

/// Items sorted by their canonical debug text, to compare lists whose order is not guaranteed.
fn sorted(items: &[Item]) -> Vec<String> {
    let mut texts: Vec<String> = items
        .iter()
        .map(|item| {
            let mut attributes: Vec<_> = canonical_item(item).into_iter().collect();
            attributes.sort_by(|a, b| a.0.cmp(&b.0));
            format!("{attributes:?}")
        })
        .collect();
    texts.sort();
    texts
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_write_and_get_across_two_tables() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "people", &[("id", "S")]).await;
    create_table(client, "visits", &[("who", "S"), ("n", "N")]).await;
    let person = |id: &str| {
        item(&[
            ("id", s(id)),
            ("nick", s(&format!("nick-{id}"))),
            ("age", n("40")),
        ])
    };
    let visit = |who: &str, number: &str| item(&[("who", s(who)), ("n", n(number))]);
    client
        .put_item()
        .table_name("people")
        .set_item(Some(person("gone")))
        .send()
        .await
        .expect("put");

    let written = client
        .batch_write_item()
        .request_items(
            "people",
            vec![
                put_request(person("ann")),
                put_request(person("bob")),
                delete_request(item(&[("id", s("gone"))])),
            ],
        )
        .request_items(
            "visits",
            vec![
                put_request(visit("ann", "1")),
                put_request(visit("ann", "2")),
                delete_request(visit("nobody", "9")),
            ],
        )
        .send()
        .await
        .expect("batch write");
    let unprocessed = written.unprocessed_items.unwrap_or_default();
    assert!(unprocessed.values().all(Vec::is_empty), "{unprocessed:?}");
    assert_eq!(
        get(client, "people", item(&[("id", s("gone"))])).await,
        None
    );
    assert_eq!(count(client, "visits").await, 2);

    let read = client
        .batch_get_item()
        .request_items(
            "people",
            keys(vec![
                item(&[("id", s("ann"))]),
                item(&[("id", s("bob"))]),
                item(&[("id", s("gone"))]),
                item(&[("id", s("nobody"))]),
            ]),
        )
        .request_items(
            "visits",
            KeysAndAttributes::builder()
                .keys(visit("ann", "1"))
                .keys(visit("ann", "2"))
                .projection_expression("#n")
                .expression_attribute_names("#n", "n")
                .consistent_read(true)
                .build()
                .expect("keys and attributes"),
        )
        .send()
        .await
        .expect("batch get");
    let unprocessed = read.unprocessed_keys.clone().unwrap_or_default();
    assert!(unprocessed.is_empty(), "{unprocessed:?}");
    let responses = read.responses.unwrap_or_default();
    assert_eq!(
        sorted(&responses["people"]),
        sorted(&[person("ann"), person("bob")]),
        "missing keys are left out"
    );
    assert_eq!(
        sorted(&responses["visits"]),
        sorted(&[item(&[("n", n("1"))]), item(&[("n", n("2"))])]),
        "ProjectionExpression applies per table"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_limits_and_refusals() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "pairs", &[("k", "S")]).await;
    let entry = |key: usize| item(&[("k", s(&format!("k{key}")))]);
    let puts = |range: std::ops::Range<usize>| -> Vec<WriteRequest> {
        range.map(|key| put_request(entry(key))).collect()
    };

    let too_many = client
        .batch_write_item()
        .request_items("pairs", puts(0..26))
        .send()
        .await;
    expect_error(too_many, "ValidationException");
    assert_eq!(
        count(client, "pairs").await,
        0,
        "a refused batch writes nothing"
    );

    client
        .batch_write_item()
        .request_items("pairs", puts(0..25))
        .send()
        .await
        .expect("25 writes");
    assert_eq!(count(client, "pairs").await, 25);

    let duplicates = client
        .batch_write_item()
        .request_items(
            "pairs",
            vec![put_request(entry(100)), delete_request(entry(100))],
        )
        .send()
        .await;
    expect_validation(duplicates, "Provided list of item keys contains duplicates");

    let missing_table = client
        .batch_write_item()
        .request_items("pairs", puts(200..201))
        .request_items("nonexistent", puts(0..1))
        .send()
        .await;
    expect_error(missing_table, "ResourceNotFoundException");
    assert_eq!(
        get(client, "pairs", entry(200)).await,
        None,
        "the whole batch fails"
    );

    let mut oversized = entry(300);
    oversized.insert("v".to_owned(), s(&"x".repeat(400 * 1024 + 1)));
    let too_big = client
        .batch_write_item()
        .request_items(
            "pairs",
            vec![put_request(entry(301)), put_request(oversized)],
        )
        .send()
        .await;
    expect_error(too_big, "ValidationException");
    assert_eq!(
        get(client, "pairs", entry(301)).await,
        None,
        "the whole batch fails"
    );

    let wrong_type = client
        .batch_write_item()
        .request_items("pairs", vec![put_request(item(&[("k", n("1"))]))])
        .send()
        .await;
    expect_error(wrong_type, "ValidationException");
    let wrong_key = client
        .batch_write_item()
        .request_items("pairs", vec![delete_request(item(&[("k", n("1"))]))])
        .send()
        .await;
    expect_validation(
        wrong_key,
        "The provided key element does not match the schema",
    );

    let hundred: Vec<Item> = (0..100).map(entry).collect();
    let read = client
        .batch_get_item()
        .request_items("pairs", keys(hundred))
        .send()
        .await
        .expect("100 keys");
    let n_read = read
        .responses
        .unwrap_or_default()
        .get("pairs")
        .map_or(0, Vec::len);
    let n_unprocessed = read
        .unprocessed_keys
        .unwrap_or_default()
        .get("pairs")
        .map_or(0, |keys| keys.keys().len());
    assert_eq!(n_read + n_unprocessed, 25, "25 of the 100 keys exist");

    let too_many: Vec<Item> = (0..101).map(entry).collect();
    let result = client
        .batch_get_item()
        .request_items("pairs", keys(too_many))
        .send()
        .await;
    expect_error(result, "ValidationException");

    let result = client
        .batch_get_item()
        .request_items("pairs", keys(vec![entry(1), entry(2), entry(1)]))
        .send()
        .await;
    expect_validation(result, "Provided list of item keys contains duplicates");

    let result = client
        .batch_get_item()
        .request_items(
            "pairs",
            keys(vec![item(&[("k", s("k1")), ("extra", s("x"))])]),
        )
        .send()
        .await;
    expect_validation(result, "The provided key element does not match the schema");

    let result = client
        .batch_get_item()
        .request_items("nonexistent", keys(vec![entry(1)]))
        .send()
        .await;
    expect_error(result, "ResourceNotFoundException");
}

fn account(id: &str, balance: &str) -> Item {
    item(&[("id", s(id)), ("balance", n(balance))])
}

fn id_key(id: &str) -> Item {
    item(&[("id", s(id))])
}

fn condition_check(id: &str, condition: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name("accounts")
                .set_key(Some(id_key(id)))
                .condition_expression(condition)
                .build()
                .expect("condition check"),
        )
        .build()
}

fn put_action(item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name("accounts")
                .set_item(Some(item))
                .build()
                .expect("put"),
        )
        .build()
}

fn delete_action(id: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name("accounts")
                .set_key(Some(id_key(id)))
                .build()
                .expect("delete"),
        )
        .build()
}

/// An update of account `id` with `expression`, `condition` (if any) and the value `:amount`.
fn update_action(
    id: &str,
    expression: &str,
    condition: Option<&str>,
    amount: &str,
) -> UpdateBuilder {
    Update::builder()
        .table_name("accounts")
        .set_key(Some(id_key(id)))
        .update_expression(expression)
        .set_condition_expression(condition.map(str::to_owned))
        .expression_attribute_values(":amount", n(amount))
}

fn update(update: UpdateBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(update.build().expect("update"))
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn transact_write_items_is_all_or_nothing() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "accounts", &[("id", "S")]).await;
    for stored in [
        account("a", "100"),
        account("b", "0"),
        account("c", "7"),
        account("d", "1"),
    ] {
        client
            .put_item()
            .table_name("accounts")
            .set_item(Some(stored))
            .send()
            .await
            .expect("put");
    }

    client
        .transact_write_items()
        .transact_items(condition_check("c", "attribute_exists(id)"))
        .transact_items(update(update_action(
            "a",
            "SET balance = balance - :amount",
            Some("balance >= :amount"),
            "30",
        )))
        .transact_items(update(update_action(
            "b",
            "ADD balance :amount",
            None,
            "30",
        )))
        .transact_items(put_action(account("e", "5")))
        .transact_items(delete_action("d"))
        .send()
        .await
        .expect("transaction");
    assert_eq!(
        get(client, "accounts", id_key("a")).await,
        Some(account("a", "70"))
    );
    assert_eq!(
        get(client, "accounts", id_key("b")).await,
        Some(account("b", "30"))
    );
    assert_eq!(
        get(client, "accounts", id_key("e")).await,
        Some(account("e", "5"))
    );
    assert_eq!(get(client, "accounts", id_key("d")).await, None);

    // The second action's condition fails: nothing is written, and the reasons come in
    // request order with the literal code "None" for the others.
    let overdraw = update_action(
        "a",
        "SET balance = balance - :amount",
        Some("balance >= :amount"),
        "1000",
    )
    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let result = client
        .transact_write_items()
        .transact_items(put_action(account("f", "1")))
        .transact_items(update(overdraw))
        .transact_items(delete_action("b"))
        .transact_items(condition_check("c", "attribute_exists(id)"))
        .send()
        .await;
    let error = result.expect_err("overdraw").into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = &error else {
        panic!("expected TransactionCanceledException, got {error:?}");
    };
    let codes: Vec<Option<&str>> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code())
        .collect();
    assert_eq!(
        codes,
        [
            Some("None"),
            Some("ConditionalCheckFailed"),
            Some("None"),
            Some("None")
        ],
        "{cancelled:?}"
    );
    assert_eq!(
        cancelled.cancellation_reasons()[1].item(),
        Some(&account("a", "70")),
        "ALL_OLD puts the item in its reason"
    );
    let message = cancelled.message().unwrap_or_default();
    assert!(
        message.contains("[None, ConditionalCheckFailed, None, None]"),
        "{message}"
    );
    assert_eq!(get(client, "accounts", id_key("f")).await, None);
    assert_eq!(
        get(client, "accounts", id_key("a")).await,
        Some(account("a", "70"))
    );
    assert_eq!(
        get(client, "accounts", id_key("b")).await,
        Some(account("b", "30"))
    );

    let same_item = client
        .transact_write_items()
        .transact_items(condition_check("a", "attribute_exists(id)"))
        .transact_items(update(update_action("a", "ADD balance :amount", None, "1")))
        .send()
        .await;
    expect_error(same_item, "ValidationException");
    assert_eq!(
        get(client, "accounts", id_key("a")).await,
        Some(account("a", "70"))
    );

    let missing_table = client
        .transact_write_items()
        .transact_items(put_action(account("g", "1")))
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("nonexistent")
                        .set_item(Some(account("g", "1")))
                        .build()
                        .expect("put"),
                )
                .build(),
        )
        .send()
        .await;
    expect_error(missing_table, "ResourceNotFoundException");
    assert_eq!(get(client, "accounts", id_key("g")).await, None);

    let mut too_many = client.transact_write_items();
    for key_idx in 0..101 {
        too_many = too_many.transact_items(condition_check(
            &format!("x{key_idx}"),
            "attribute_not_exists(id)",
        ));
    }
    expect_error(too_many.send().await, "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn transact_write_items_honours_the_client_request_token() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "accounts", &[("id", "S")]).await;
    let deposit = |amount: &str| {
        client
            .transact_write_items()
            .client_request_token("deposit-0001")
            .transact_items(update(update_action(
                "a",
                "ADD balance :amount",
                None,
                amount,
            )))
            .send()
    };

    deposit("10").await.expect("first deposit");
    deposit("10")
        .await
        .expect("the same request again succeeds");
    assert_eq!(
        get(client, "accounts", id_key("a")).await,
        Some(account("a", "10")),
        "a repeated token does not apply the transaction twice"
    );

    expect_error(deposit("20").await, "IdempotentParameterMismatchException");
    assert_eq!(
        get(client, "accounts", id_key("a")).await,
        Some(account("a", "10"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn transact_get_items_answers_in_request_order() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "accounts", &[("id", "S")]).await;
    create_table(client, "people", &[("id", "S")]).await;
    for (table, stored) in [
        ("accounts", account("a", "1")),
        ("accounts", account("b", "2")),
        (
            "people",
            item(&[("id", s("a")), ("nick", s("ann")), ("age", n("40"))]),
        ),
    ] {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(stored))
            .send()
            .await
            .expect("put");
    }
    let get_action = |table: &str, id: &str, projection: Option<&str>| {
        TransactGetItem::builder()
            .get(
                Get::builder()
                    .table_name(table)
                    .set_key(Some(id_key(id)))
                    .set_projection_expression(projection.map(str::to_owned))
                    .build()
                    .expect("get"),
            )
            .build()
    };
    let read = client
        .transact_get_items()
        .transact_items(get_action("accounts", "b", None))
        .transact_items(get_action("accounts", "zzz", None))
        .transact_items(get_action("people", "a", Some("nick")))
        .transact_items(get_action("accounts", "a", None))
        .send()
        .await
        .expect("transact get");
    let items: Vec<Option<&HashMap<String, AttributeValue>>> = read
        .responses()
        .iter()
        .map(|response| response.item())
        .collect();
    assert_eq!(
        items,
        [
            Some(&account("b", "2")),
            None,
            Some(&item(&[("nick", s("ann"))])),
            Some(&account("a", "1")),
        ]
    );

    let missing_table = client
        .transact_get_items()
        .transact_items(get_action("nonexistent", "a", None))
        .send()
        .await;
    expect_error(missing_table, "ResourceNotFoundException");
}
