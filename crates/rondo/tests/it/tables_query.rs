//! DynamoDB-compatible tables, reading many items: Query (key conditions, order, Limit before
//! the filter, pagination, Select COUNT, secondary indexes), Scan (parallel segments) and the
//! 1 MB page.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, Select,
};

use crate::support::dynamo::{
    Item, Poll, Tables, Values, attribute_definition, b, create_table, expect_error,
    expect_validation, get_n, get_s, item, key_schema_element, n, s, wait_active,
};

/// Puts `items` into `table`.
async fn put_all(client: &Client, table: &str, items: &[Item]) {
    for item in items {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {item:?}: {e:?}"));
    }
}

/// A query's key condition, with its values and, optionally, the rest of the request.
struct QueryRequest<'a> {
    table: &'a str,
    index: Option<&'a str>,
    key_condition: &'a str,
    filter: Option<&'a str>,
    values: Vec<(&'a str, AttributeValue)>,
    forward: bool,
    limit: Option<i32>,
}

impl<'a> QueryRequest<'a> {
    fn new(table: &'a str, key_condition: &'a str, values: Vec<(&'a str, AttributeValue)>) -> Self {
        QueryRequest {
            table,
            index: None,
            key_condition,
            filter: None,
            values,
            forward: true,
            limit: None,
        }
    }
}

/// One page of `request`, starting after `start`.
async fn query_page(
    client: &Client,
    request: &QueryRequest<'_>,
    start: Option<Item>,
) -> aws_sdk_dynamodb::operation::query::QueryOutput {
    let mut builder = client
        .query()
        .table_name(request.table)
        .set_index_name(request.index.map(str::to_owned))
        .key_condition_expression(request.key_condition)
        .set_filter_expression(request.filter.map(str::to_owned))
        .scan_index_forward(request.forward)
        .set_limit(request.limit)
        .set_exclusive_start_key(start);
    for (placeholder, value) in &request.values {
        builder = builder.expression_attribute_values(*placeholder, value.clone());
    }
    builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("query {}: {e:?}", request.key_condition))
}

/// Every page of `request`: the items in order, the number of pages, and the sum of ScannedCount.
async fn query_all(client: &Client, request: &QueryRequest<'_>) -> (Vec<Item>, usize, i32) {
    let mut items = Vec::new();
    let mut start = None;
    let mut n_pages = 0;
    let mut scanned = 0;
    loop {
        let page = query_page(client, request, start).await;
        n_pages += 1;
        scanned += page.scanned_count();
        assert_eq!(
            usize::try_from(page.count()).expect("count"),
            page.items().len(),
            "Count is the number of items on the page"
        );
        if let Some(limit) = request.limit {
            assert!(page.scanned_count() <= limit, "page over Limit: {page:?}");
        }
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return (items, n_pages, scanned),
        }
        assert!(n_pages < 1000, "the query does not end");
    }
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|item| get_n(item, "sk").to_owned())
        .collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn key_conditions_select_ranges_in_numeric_order() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "events", &[("pk", "S"), ("sk", "N")]).await;
    // Put in an order that is neither numeric nor textual.
    let sks = ["10", "2", "-5", "100", "0.5", "3", "20", "1"];
    let mut items: Vec<Item> = sks
        .iter()
        .map(|sk| item(&[("pk", s("p")), ("sk", n(sk))]))
        .collect();
    items.push(item(&[("pk", s("q")), ("sk", n("1"))]));
    put_all(client, "events", &items).await;

    let ascending = ["-5", "0.5", "1", "2", "3", "10", "20", "100"];
    let p = || (":p", s("p"));
    let cases: Vec<(&str, Values, &[&str])> = vec![
        ("pk = :p", vec![p()], &ascending),
        ("pk = :p AND sk = :v", vec![p(), (":v", n("10"))], &["10"]),
        (
            "pk = :p AND sk < :v",
            vec![p(), (":v", n("3"))],
            &["-5", "0.5", "1", "2"],
        ),
        (
            "pk = :p AND sk <= :v",
            vec![p(), (":v", n("3"))],
            &["-5", "0.5", "1", "2", "3"],
        ),
        (
            "pk = :p AND sk > :v",
            vec![p(), (":v", n("3"))],
            &["10", "20", "100"],
        ),
        (
            "pk = :p AND sk >= :v",
            vec![p(), (":v", n("3"))],
            &["3", "10", "20", "100"],
        ),
        (
            "pk = :p AND sk BETWEEN :lo AND :hi",
            vec![p(), (":lo", n("1")), (":hi", n("10"))],
            &["1", "2", "3", "10"],
        ),
        // The sort key condition may come first, and keywords are case-insensitive.
        (
            "sk > :v and pk = :p",
            vec![p(), (":v", n("19.99"))],
            &["20", "100"],
        ),
        ("pk = :q", vec![(":q", s("q"))], &["1"]),
        ("pk = :p AND sk = :v", vec![p(), (":v", n("4"))], &[]),
    ];
    for (condition, values, expected) in cases {
        let mut request = QueryRequest::new("events", condition, values);
        let (found, _, _) = query_all(client, &request).await;
        assert_eq!(sort_keys(&found), strings(expected), "{condition}");

        request.forward = false;
        let (found, _, _) = query_all(client, &request).await;
        let mut descending = strings(expected);
        descending.reverse();
        assert_eq!(
            sort_keys(&found),
            descending,
            "{condition}, ScanIndexForward=false"
        );
    }

    let query = client
        .query()
        .table_name("events")
        .key_condition_expression("#k = :p")
        .expression_attribute_names("#k", "pk")
        .expression_attribute_values(":p", s("q"))
        .send()
        .await
        .expect("query with a name placeholder");
    assert_eq!(query.items(), [item(&[("pk", s("q")), ("sk", n("1"))])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_conditions_refuse_what_dynamodb_refuses() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "events", &[("pk", "S"), ("sk", "N")]).await;
    let cases: [(&str, Vec<(&str, AttributeValue)>); 9] = [
        ("sk = :v", vec![(":v", n("1"))]),
        ("pk < :p", vec![(":p", s("p"))]),
        ("pk = :p AND sk <> :v", vec![(":p", s("p")), (":v", n("1"))]),
        ("pk = :p OR sk = :v", vec![(":p", s("p")), (":v", n("1"))]),
        (
            "pk = :p AND NOT sk = :v",
            vec![(":p", s("p")), (":v", n("1"))],
        ),
        (
            "pk = :p AND begins_with(sk, :v)",
            vec![(":p", s("p")), (":v", n("1"))],
        ),
        (
            "pk = :p AND note = :v",
            vec![(":p", s("p")), (":v", n("1"))],
        ),
        (
            "pk = :p AND sk > :v AND sk < :v",
            vec![(":p", s("p")), (":v", n("1"))],
        ),
        (
            "pk = :p AND sk BETWEEN :hi AND :lo",
            vec![(":p", s("p")), (":hi", n("9")), (":lo", n("1"))],
        ),
    ];
    for (condition, values) in cases {
        let mut request = client
            .query()
            .table_name("events")
            .key_condition_expression(condition);
        for (placeholder, value) in values {
            request = request.expression_attribute_values(placeholder, value);
        }
        let result = request.send().await;
        let message = expect_error(result, "ValidationException");
        assert!(!message.is_empty(), "{condition}");
    }

    let bad_start = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .exclusive_start_key("pk", s("p"))
        .send()
        .await;
    expect_validation(bad_start, "The provided starting key is invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn string_and_binary_sort_keys_use_byte_order() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "words", &[("pk", "S"), ("sk", "S")]).await;
    // U+FFFD sorts before U+1F600 in UTF-8 but after it in UTF-16: the order must be UTF-8's.
    let words = [
        "b", "a", "B", "aa", "Z", "z", "~", "é", "\u{FFFD}", "😀", "a b", "ab", "A",
    ];
    let items: Vec<Item> = words
        .iter()
        .map(|word| item(&[("pk", s("w")), ("sk", s(word))]))
        .collect();
    put_all(client, "words", &items).await;
    let mut expected = strings(&words);
    expected.sort(); // Rust orders strings by their UTF-8 bytes.
    let words_of = |items: &[Item]| -> Vec<String> {
        items
            .iter()
            .map(|item| get_s(item, "sk").to_owned())
            .collect()
    };

    let request = QueryRequest::new("words", "pk = :w", vec![(":w", s("w"))]);
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(words_of(&found), expected);

    let request = QueryRequest::new(
        "words",
        "pk = :w AND begins_with(sk, :a)",
        vec![(":w", s("w")), (":a", s("a"))],
    );
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(words_of(&found), ["a", "a b", "aa", "ab"]);

    let request = QueryRequest::new(
        "words",
        "pk = :w AND sk BETWEEN :lo AND :hi",
        vec![(":w", s("w")), (":lo", s("Z")), (":hi", s("aa"))],
    );
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(words_of(&found), ["Z", "a", "a b", "aa"]);

    create_table(client, "blobs", &[("pk", "S"), ("sk", "B")]).await;
    let blobs: [&[u8]; 8] = [
        &[0x80],
        &[0xff, 0x00],
        &[0x01],
        &[0x00, 0x00],
        &[0x7f],
        &[0xff],
        &[0x00],
        &[0x00, 0x01],
    ];
    let items: Vec<Item> = blobs
        .iter()
        .map(|blob| item(&[("pk", s("b")), ("sk", b(blob))]))
        .collect();
    put_all(client, "blobs", &items).await;
    let mut expected: Vec<Vec<u8>> = blobs.iter().map(|blob| blob.to_vec()).collect();
    expected.sort(); // unsigned bytes, shorter first on a common prefix
    let blobs_of = |items: &[Item]| -> Vec<Vec<u8>> {
        items
            .iter()
            .map(|item| match &item["sk"] {
                AttributeValue::B(blob) => blob.as_ref().to_vec(),
                other => panic!("sk is not binary: {other:?}"),
            })
            .collect()
    };
    let request = QueryRequest::new("blobs", "pk = :b", vec![(":b", s("b"))]);
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(blobs_of(&found), expected);

    let request = QueryRequest::new(
        "blobs",
        "pk = :b AND begins_with(sk, :ff)",
        vec![(":b", s("b")), (":ff", b(&[0xff]))],
    );
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(blobs_of(&found), [vec![0xff], vec![0xff, 0x00]]);

    let request = QueryRequest::new(
        "blobs",
        "pk = :b AND sk > :x",
        vec![(":b", s("b")), (":x", b(&[0x7f]))],
    );
    let (found, _, _) = query_all(client, &request).await;
    assert_eq!(blobs_of(&found), [vec![0x80], vec![0xff], vec![0xff, 0x00]]);
}

/// Ten items in partition `p` with sort keys 1..=10; `tag` is `hit` on 8, 9 and 10 only.
async fn ten_items(client: &Client) {
    create_table(client, "events", &[("pk", "S"), ("sk", "N")]).await;
    let items: Vec<Item> = (1..=10)
        .map(|sk| {
            let tag = if sk >= 8 { "hit" } else { "miss" };
            item(&[("pk", s("p")), ("sk", n(&sk.to_string())), ("tag", s(tag))])
        })
        .collect();
    put_all(client, "events", &items).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_applies_before_the_filter() {
    let tables = Tables::start("");
    let client = &tables.client;
    ten_items(client).await;
    let mut request = QueryRequest::new(
        "events",
        "pk = :p",
        vec![(":p", s("p")), (":hit", s("hit"))],
    );
    request.filter = Some("tag = :hit");
    request.limit = Some(3);

    // The first page reads three items, none of which passes the filter: an empty page that
    // still says where to go on.
    let first = query_page(client, &request, None).await;
    assert_eq!(first.scanned_count(), 3, "{first:?}");
    assert_eq!(first.count(), 0, "{first:?}");
    assert!(first.items().is_empty(), "{first:?}");
    assert_eq!(
        first.last_evaluated_key,
        Some(item(&[("pk", s("p")), ("sk", n("3"))])),
        "LastEvaluatedKey is the key of the last item read"
    );

    let (found, n_pages, scanned) = query_all(client, &request).await;
    assert_eq!(sort_keys(&found), ["8", "9", "10"]);
    assert_eq!(scanned, 10, "every item is read once");
    assert!(
        n_pages >= 4,
        "ten items read three at a time: {n_pages} pages"
    );

    // Without a Limit, ScannedCount counts before the filter and Count after it.
    request.limit = None;
    let page = query_page(client, &request, None).await;
    assert_eq!((page.scanned_count(), page.count()), (10, 3), "{page:?}");
    assert_eq!(page.last_evaluated_key, None);

    // Scan works the same way.
    let scan = client
        .scan()
        .table_name("events")
        .filter_expression("tag = :hit")
        .expression_attribute_values(":hit", s("hit"))
        .limit(4)
        .send()
        .await
        .expect("scan");
    assert_eq!(scan.scanned_count(), 4, "{scan:?}");
    assert!(scan.count() <= 4, "{scan:?}");
    assert!(scan.last_evaluated_key.is_some(), "{scan:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pagination_returns_every_item_once_in_both_directions() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "events", &[("pk", "S"), ("sk", "N")]).await;
    let items: Vec<Item> = (1..=25)
        .map(|sk| item(&[("pk", s("p")), ("sk", n(&sk.to_string()))]))
        .collect();
    put_all(client, "events", &items).await;
    let expected: Vec<String> = (1..=25).map(|sk: i32| sk.to_string()).collect();

    for limit in [1, 4, 5, 24, 25, 26] {
        let mut request = QueryRequest::new("events", "pk = :p", vec![(":p", s("p"))]);
        request.limit = Some(limit);
        let (found, _, _) = query_all(client, &request).await;
        assert_eq!(sort_keys(&found), expected, "Limit {limit}");

        request.forward = false;
        let (found, _, _) = query_all(client, &request).await;
        let mut descending = expected.clone();
        descending.reverse();
        assert_eq!(sort_keys(&found), descending, "Limit {limit}, backwards");
    }

    // A page boundary inside a BETWEEN range resumes inside the range.
    let mut request = QueryRequest::new(
        "events",
        "pk = :p AND sk BETWEEN :lo AND :hi",
        vec![(":p", s("p")), (":lo", n("10")), (":hi", n("20"))],
    );
    request.limit = Some(3);
    let (found, n_pages, _) = query_all(client, &request).await;
    let expected: Vec<String> = (10..=20).map(|sk: i32| sk.to_string()).collect();
    assert_eq!(sort_keys(&found), expected);
    assert!(n_pages >= 4, "{n_pages}");
}

#[tokio::test(flavor = "multi_thread")]
async fn select_count_returns_counts_without_items() {
    let tables = Tables::start("");
    let client = &tables.client;
    ten_items(client).await;

    let counted = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .select(Select::Count)
        .send()
        .await
        .expect("count");
    assert_eq!((counted.count(), counted.scanned_count()), (10, 10));
    assert!(
        counted.items().is_empty(),
        "COUNT returns no items: {counted:?}"
    );

    let filtered = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .filter_expression("tag = :hit")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":hit", s("hit"))
        .select(Select::Count)
        .send()
        .await
        .expect("count with a filter");
    assert_eq!((filtered.count(), filtered.scanned_count()), (3, 10));
    assert!(filtered.items().is_empty(), "{filtered:?}");

    let scanned = client
        .scan()
        .table_name("events")
        .select(Select::Count)
        .send()
        .await
        .expect("scan count");
    assert_eq!(scanned.count(), 10);
    assert!(scanned.items().is_empty(), "{scanned:?}");

    let specific = client
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .select(Select::SpecificAttributes)
        .projection_expression("tag")
        .limit(1)
        .send()
        .await
        .expect("specific attributes");
    assert_eq!(specific.items(), [item(&[("tag", s("miss"))])]);
}

/// The `orders` table: key (customer, orderId); GSI `byState` (orderState, amount) projecting
/// `note`; sparse GSI `byCoupon` (coupon), keys only; LSI `byAmount` (customer, amount), keys only.
async fn orders(client: &Client) {
    let gsi = |name: &str, keys: &[(&str, KeyType)], projection: Projection| {
        let mut builder = GlobalSecondaryIndex::builder()
            .index_name(name)
            .projection(projection);
        for (attribute, key_type) in keys {
            builder = builder.key_schema(key_schema_element(attribute, key_type.clone()));
        }
        builder.build().expect("gsi")
    };
    client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("customer", "S"))
        .attribute_definitions(attribute_definition("orderId", "S"))
        .attribute_definitions(attribute_definition("orderState", "S"))
        .attribute_definitions(attribute_definition("amount", "N"))
        .attribute_definitions(attribute_definition("coupon", "S"))
        .key_schema(key_schema_element("customer", KeyType::Hash))
        .key_schema(key_schema_element("orderId", KeyType::Range))
        .global_secondary_indexes(gsi(
            "byState",
            &[("orderState", KeyType::Hash), ("amount", KeyType::Range)],
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .non_key_attributes("note")
                .build(),
        ))
        .global_secondary_indexes(gsi(
            "byCoupon",
            &[("coupon", KeyType::Hash)],
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        ))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("byAmount")
                .key_schema(key_schema_element("customer", KeyType::Hash))
                .key_schema(key_schema_element("amount", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .expect("lsi"),
        )
        .send()
        .await
        .expect("create orders");
    wait_active(client, "orders").await;
    let order = |customer: &str,
                 id: &str,
                 state: Option<&str>,
                 amount: &str,
                 extra: &[(&str, AttributeValue)]| {
        let mut order = item(&[
            ("customer", s(customer)),
            ("orderId", s(id)),
            ("amount", n(amount)),
            ("extra", s("not projected")),
        ]);
        if let Some(state) = state {
            order.insert("orderState".to_owned(), s(state));
        }
        order.extend(item(extra));
        order
    };
    put_all(
        client,
        "orders",
        &[
            order("c1", "o1", Some("open"), "30", &[("note", s("n1"))]),
            order("c1", "o2", Some("open"), "10", &[("coupon", s("SAVE"))]),
            order("c1", "o3", Some("closed"), "25", &[]),
            order("c2", "o4", Some("open"), "20", &[("coupon", s("SAVE"))]),
            order("c2", "o5", None, "5", &[]),
        ],
    )
    .await;
}

/// Queries an index until it returns `n_expected` items (GSIs are eventually consistent).
async fn query_index_until(
    client: &Client,
    request: &QueryRequest<'_>,
    n_expected: usize,
) -> Vec<Item> {
    let poll = Poll::new(
        format!("{} items from {:?}", n_expected, request.index),
        Duration::from_secs(30),
    );
    loop {
        let (found, _, _) = query_all(client, request).await;
        if found.len() == n_expected {
            return found;
        }
        poll.tick(found).await;
    }
}

fn order_ids(items: &[Item]) -> Vec<&str> {
    items.iter().map(|item| get_s(item, "orderId")).collect()
}

fn attribute_names(item: &Item) -> BTreeSet<&str> {
    item.keys().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn query_global_and_local_secondary_indexes() {
    let tables = Tables::start("");
    let client = &tables.client;
    orders(client).await;

    let mut by_state = QueryRequest::new("orders", "orderState = :s", vec![(":s", s("open"))]);
    by_state.index = Some("byState");
    let found = query_index_until(client, &by_state, 3).await;
    assert_eq!(
        order_ids(&found),
        ["o2", "o4", "o1"],
        "ordered by the index's sort key"
    );
    let with_note = found
        .iter()
        .find(|item| get_s(item, "orderId") == "o1")
        .expect("o1");
    assert_eq!(
        attribute_names(with_note),
        BTreeSet::from(["amount", "customer", "note", "orderId", "orderState"]),
        "INCLUDE projects the keys and the listed attributes"
    );
    assert_eq!(with_note["note"], s("n1"));
    let without_note = found
        .iter()
        .find(|item| get_s(item, "orderId") == "o2")
        .expect("o2");
    assert_eq!(
        attribute_names(without_note),
        BTreeSet::from(["amount", "customer", "orderId", "orderState"])
    );

    // The index key need not be unique, and an index page's LastEvaluatedKey holds the table's
    // key and the index's key.
    by_state.limit = Some(1);
    let page = query_page(client, &by_state, None).await;
    let last = page.last_evaluated_key.expect("LastEvaluatedKey");
    assert_eq!(
        attribute_names(&last),
        BTreeSet::from(["amount", "customer", "orderId", "orderState"]),
        "{last:?}"
    );
    let (paged, _, _) = query_all(client, &by_state).await;
    assert_eq!(order_ids(&paged), ["o2", "o4", "o1"]);
    by_state.limit = None;
    by_state.forward = false;
    let (backwards, _, _) = query_all(client, &by_state).await;
    assert_eq!(order_ids(&backwards), ["o1", "o4", "o2"]);

    // A sparse index holds only the items that have its key.
    let mut by_coupon = QueryRequest::new("orders", "coupon = :c", vec![(":c", s("SAVE"))]);
    by_coupon.index = Some("byCoupon");
    let mut found = query_index_until(client, &by_coupon, 2).await;
    found.sort_by(|a, b| get_s(a, "orderId").cmp(get_s(b, "orderId")));
    assert_eq!(
        found,
        [
            item(&[
                ("customer", s("c1")),
                ("orderId", s("o2")),
                ("coupon", s("SAVE"))
            ]),
            item(&[
                ("customer", s("c2")),
                ("orderId", s("o4")),
                ("coupon", s("SAVE"))
            ]),
        ],
        "KEYS_ONLY projects the table's and the index's keys"
    );
    let scan = client
        .scan()
        .table_name("orders")
        .index_name("byState")
        .send()
        .await
        .expect("scan an index");
    assert_eq!(scan.count(), 4, "o5 has no orderState: {scan:?}");

    // A local index: same partition, another order; strongly consistent reads are allowed.
    let local = client
        .query()
        .table_name("orders")
        .index_name("byAmount")
        .key_condition_expression("customer = :c AND amount > :min")
        .expression_attribute_values(":c", s("c1"))
        .expression_attribute_values(":min", n("15"))
        .consistent_read(true)
        .send()
        .await
        .expect("query a local index");
    assert_eq!(
        local.items(),
        [
            item(&[
                ("customer", s("c1")),
                ("orderId", s("o3")),
                ("amount", n("25"))
            ]),
            item(&[
                ("customer", s("c1")),
                ("orderId", s("o1")),
                ("amount", n("30"))
            ]),
        ]
    );

    let consistent = client
        .query()
        .table_name("orders")
        .index_name("byState")
        .key_condition_expression("orderState = :s")
        .expression_attribute_values(":s", s("open"))
        .consistent_read(true)
        .send()
        .await;
    expect_validation(
        consistent,
        "Consistent reads are not supported on global secondary indexes",
    );
    let unknown = client
        .query()
        .table_name("orders")
        .index_name("byNothing")
        .key_condition_expression("orderState = :s")
        .expression_attribute_values(":s", s("open"))
        .send()
        .await;
    expect_error(unknown, "ValidationException");
    let wrong_key = client
        .query()
        .table_name("orders")
        .index_name("byState")
        .key_condition_expression("customer = :c")
        .expression_attribute_values(":c", s("c1"))
        .send()
        .await;
    expect_error(wrong_key, "ValidationException");

    // Changing an item's index key moves it in the index; deleting it removes it.
    client
        .update_item()
        .table_name("orders")
        .key("customer", s("c1"))
        .key("orderId", s("o3"))
        .update_expression("SET orderState = :open")
        .expression_attribute_values(":open", s("open"))
        .send()
        .await
        .expect("reopen o3");
    by_state.forward = true;
    let found = query_index_until(client, &by_state, 4).await;
    assert_eq!(order_ids(&found), ["o2", "o4", "o3", "o1"]);
    client
        .delete_item()
        .table_name("orders")
        .key("customer", s("c2"))
        .key("orderId", s("o4"))
        .send()
        .await
        .expect("delete o4");
    let found = query_index_until(client, &by_state, 3).await;
    assert_eq!(order_ids(&found), ["o2", "o3", "o1"]);
    let mut closed = QueryRequest::new("orders", "orderState = :s", vec![(":s", s("closed"))]);
    closed.index = Some("byState");
    query_index_until(client, &closed, 0).await;
}

/// Every item of a scan of `segment` (of `total_segments`), page by page.
async fn scan_segment(
    client: &Client,
    table: &str,
    segment: i32,
    total_segments: i32,
) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .segment(segment)
            .total_segments(total_segments)
            .limit(5)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan a segment");
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return items,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_paginate_filter_and_split_into_segments() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "grid", &[("pk", "S"), ("sk", "N")]).await;
    let mut items = Vec::new();
    for partition in 0..10 {
        for sk in 0..5 {
            items.push(item(&[
                ("pk", s(&format!("p{partition}"))),
                ("sk", n(&sk.to_string())),
                ("odd", AttributeValue::Bool(sk % 2 == 1)),
            ]));
        }
    }
    put_all(client, "grid", &items).await;
    let key_of = |item: &Item| (get_s(item, "pk").to_owned(), get_n(item, "sk").to_owned());
    let all: BTreeSet<(String, String)> = items.iter().map(key_of).collect();

    // Filtered, in pages of 7.
    let mut found = Vec::new();
    let mut scanned = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("grid")
            .filter_expression("odd = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .limit(7)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        assert!(page.scanned_count() <= 7, "{page:?}");
        scanned += page.scanned_count();
        found.extend(page.items().iter().map(key_of));
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    assert_eq!(scanned, 50);
    let odd: BTreeSet<_> = items
        .iter()
        .filter(|item| item["odd"] == AttributeValue::Bool(true))
        .map(key_of)
        .collect();
    assert_eq!(found.len(), odd.len(), "no item twice");
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), odd);

    // Parallel scan: the segments together hold every item exactly once.
    for total_segments in [1, 4, 7] {
        let mut seen: HashMap<(String, String), i32> = HashMap::new();
        for segment in 0..total_segments {
            for item in scan_segment(client, "grid", segment, total_segments).await {
                if let Some(other) = seen.insert(key_of(&item), segment) {
                    panic!("{item:?} in segments {other} and {segment} of {total_segments}");
                }
            }
        }
        let keys: BTreeSet<_> = seen.into_keys().collect();
        assert_eq!(keys, all, "{total_segments} segments");
    }

    let segment_only = client.scan().table_name("grid").segment(1).send().await;
    expect_error(segment_only, "ValidationException");
    let total_only = client
        .scan()
        .table_name("grid")
        .total_segments(4)
        .send()
        .await;
    expect_error(total_only, "ValidationException");
    let out_of_range = client
        .scan()
        .table_name("grid")
        .segment(4)
        .total_segments(4)
        .send()
        .await;
    expect_error(out_of_range, "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_stop_at_one_megabyte() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "big", &[("pk", "S"), ("sk", "N")]).await;
    let value_bytes = 100 * 1024;
    let n_items = 25;
    let chunk = "x".repeat(value_bytes);
    let items: Vec<Item> = (0..n_items)
        .map(|sk| {
            item(&[
                ("pk", s("p")),
                ("sk", n(&sk.to_string())),
                ("chunk", s(&chunk)),
            ])
        })
        .collect();
    put_all(client, "big", &items).await;
    // A page holds at most 1 MB of items, plus the one that crosses the line.
    let items_per_page_max = 1024 * 1024 / value_bytes + 1;

    let request = QueryRequest::new("big", "pk = :p", vec![(":p", s("p"))]);
    let mut start = None;
    let mut found = Vec::new();
    let mut n_pages = 0;
    loop {
        let page = query_page(client, &request, start).await;
        n_pages += 1;
        assert!(
            page.items().len() <= items_per_page_max,
            "a page of {} items of 100 KB",
            page.items().len()
        );
        found.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
        assert!(n_pages <= n_items, "the query does not end");
    }
    assert!(n_pages >= 3, "2.5 MB in {n_pages} pages");
    let expected: Vec<String> = (0..n_items).map(|sk| sk.to_string()).collect();
    assert_eq!(sort_keys(&found), expected);

    let mut start = None;
    let mut n_scanned = 0;
    let mut n_pages = 0;
    loop {
        let page = client
            .scan()
            .table_name("big")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        n_pages += 1;
        assert!(
            page.items().len() <= items_per_page_max,
            "{} items",
            page.items().len()
        );
        n_scanned += page.items().len();
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
        assert!(n_pages <= n_items, "the scan does not end");
    }
    assert!(n_pages >= 3, "2.5 MB in {n_pages} pages");
    assert_eq!(n_scanned, n_items);

    // The cap applies to the data read, so a filter that matches nothing still pages.
    let filtered = client
        .query()
        .table_name("big")
        .key_condition_expression("pk = :p")
        .filter_expression("chunk = :nothing")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":nothing", s("nothing"))
        .send()
        .await
        .expect("filtered query");
    assert_eq!(filtered.count(), 0);
    assert!(
        filtered.last_evaluated_key.is_some(),
        "the first MB ends the page: {}",
        filtered.scanned_count()
    );
}
