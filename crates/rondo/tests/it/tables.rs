//! DynamoDB-compatible tables, control plane: CreateTable, DescribeTable, ListTables, UpdateTable,
//! DeleteTable, time to live, and tables declared in the manifest.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, StreamSpecification,
    StreamViewType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::support::dynamo::{
    Item, Poll, Tables, attribute_definition, create_table, expect_error, expect_validation, get_s,
    item, key_schema_element, n, s, wait_active,
};

/// The key schema as `(attribute, key type)` pairs, in order.
fn key_schema(elements: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, KeyType)> {
    elements
        .iter()
        .map(|element| {
            (
                element.attribute_name().to_owned(),
                element.key_type().clone(),
            )
        })
        .collect()
}

fn hash_range(hash: &str, range: &str) -> Vec<(String, KeyType)> {
    vec![
        (hash.to_owned(), KeyType::Hash),
        (range.to_owned(), KeyType::Range),
    ]
}

/// The attribute definitions as sorted `(name, type)` pairs.
fn attribute_types(table: &TableDescription) -> Vec<(String, String)> {
    let mut types: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|definition| {
            (
                definition.attribute_name().to_owned(),
                definition.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    types.sort();
    types
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn projection(projection_type: ProjectionType, non_key: &[&str]) -> Projection {
    let mut builder = Projection::builder().projection_type(projection_type);
    for attribute in non_key {
        builder = builder.non_key_attributes(*attribute);
    }
    builder.build()
}

fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .expect("provisioned throughput")
}

fn stream(enabled: bool, view: Option<StreamViewType>) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(enabled)
        .set_stream_view_type(view)
        .build()
        .expect("stream specification")
}

fn stream_enabled(table: &TableDescription) -> bool {
    table
        .stream_specification()
        .is_some_and(|specification| specification.stream_enabled())
}

fn now_s() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit i64")
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

async fn put(client: &Client, table: &str, item: Item) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put item");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_describe_and_delete_a_table() {
    let tables = Tables::start("");
    let client = &tables.client;

    let created = client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("customer", "S"))
        .attribute_definitions(attribute_definition("placedAt", "N"))
        .key_schema(key_schema_element("customer", KeyType::Hash))
        .key_schema(key_schema_element("placedAt", KeyType::Range))
        .send()
        .await
        .expect("create table");
    let created = created.table_description().expect("TableDescription");
    assert_eq!(created.table_name(), Some("orders"));
    assert!(
        matches!(
            created.table_status(),
            Some(TableStatus::Creating | TableStatus::Active)
        ),
        "a new table is CREATING or ACTIVE: {created:?}"
    );

    let table = wait_active(client, "orders").await;
    assert_eq!(table.table_name(), Some("orders"));
    assert_eq!(
        key_schema(table.key_schema()),
        hash_range("customer", "placedAt")
    );
    assert_eq!(
        attribute_types(&table),
        pairs(&[("customer", "S"), ("placedAt", "N")])
    );
    assert_eq!(table.item_count(), Some(0), "{table:?}");
    let arn = table.table_arn().expect("TableArn").to_owned();
    assert!(
        arn.starts_with("arn:aws:dynamodb:") && arn.ends_with(":table/orders"),
        "table ARN {arn}"
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|summary| summary.billing_mode()),
        Some(&BillingMode::PayPerRequest),
        "{table:?}"
    );
    assert!(!stream_enabled(&table), "no stream asked for: {table:?}");
    assert!(table.latest_stream_arn().is_none(), "{table:?}");
    assert!(table.global_secondary_indexes().is_empty(), "{table:?}");
    assert!(table.local_secondary_indexes().is_empty(), "{table:?}");

    // DescribeTable takes the ARN as well as the name.
    let by_arn = client
        .describe_table()
        .table_name(&arn)
        .send()
        .await
        .expect("describe by ARN");
    assert_eq!(
        by_arn.table().and_then(|table| table.table_name()),
        Some("orders")
    );

    let again = client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("customer", "S"))
        .key_schema(key_schema_element("customer", KeyType::Hash))
        .send()
        .await;
    expect_error(again, "ResourceInUseException");

    put(
        client,
        "orders",
        item(&[("customer", s("ada")), ("placedAt", n("1"))]),
    )
    .await;
    let deleted = client
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("delete table");
    assert_eq!(
        deleted
            .table_description()
            .and_then(|table| table.table_name()),
        Some("orders")
    );

    let poll = Poll::new("the deleted table to disappear", Duration::from_secs(60));
    loop {
        let described = client.describe_table().table_name("orders").send().await;
        if described.is_err() {
            let message = expect_error(described, "ResourceNotFoundException");
            assert!(
                message.contains("Requested resource not found"),
                "{message}"
            );
            break;
        }
        poll.tick(described).await;
    }
    let get_deleted = client
        .get_item()
        .table_name("orders")
        .key("customer", s("ada"))
        .key("placedAt", n("1"))
        .send()
        .await;
    expect_error(get_deleted, "ResourceNotFoundException");
    let delete_again = client.delete_table().table_name("orders").send().await;
    expect_error(delete_again, "ResourceNotFoundException");

    // A table created again under the same name starts empty.
    create_table(client, "orders", &[("customer", "S"), ("placedAt", "N")]).await;
    let old = get(
        client,
        "orders",
        item(&[("customer", s("ada")), ("placedAt", n("1"))]),
    )
    .await;
    assert_eq!(old, None, "the old table's item survived its deletion");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_a_provisioned_table_with_indexes_and_a_stream() {
    let tables = Tables::start("");
    let client = &tables.client;

    let by_user = GlobalSecondaryIndex::builder()
        .index_name("byUser")
        .key_schema(key_schema_element("userId", KeyType::Hash))
        .key_schema(key_schema_element("createdAt", KeyType::Range))
        .projection(projection(ProjectionType::All, &[]))
        .provisioned_throughput(throughput(3, 4))
        .build()
        .expect("gsi");
    let by_state = GlobalSecondaryIndex::builder()
        .index_name("byState")
        .key_schema(key_schema_element("cartState", KeyType::Hash))
        .projection(projection(ProjectionType::Include, &["amount", "userId"]))
        .provisioned_throughput(throughput(1, 1))
        .build()
        .expect("gsi");
    let by_price = LocalSecondaryIndex::builder()
        .index_name("byPrice")
        .key_schema(key_schema_element("cartId", KeyType::Hash))
        .key_schema(key_schema_element("price", KeyType::Range))
        .projection(projection(ProjectionType::KeysOnly, &[]))
        .build()
        .expect("lsi");
    client
        .create_table()
        .table_name("carts")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(5, 7))
        .attribute_definitions(attribute_definition("cartId", "S"))
        .attribute_definitions(attribute_definition("itemId", "S"))
        .attribute_definitions(attribute_definition("userId", "S"))
        .attribute_definitions(attribute_definition("createdAt", "N"))
        .attribute_definitions(attribute_definition("cartState", "S"))
        .attribute_definitions(attribute_definition("price", "N"))
        .key_schema(key_schema_element("cartId", KeyType::Hash))
        .key_schema(key_schema_element("itemId", KeyType::Range))
        .global_secondary_indexes(by_user)
        .global_secondary_indexes(by_state)
        .local_secondary_indexes(by_price)
        .stream_specification(stream(true, Some(StreamViewType::NewAndOldImages)))
        .send()
        .await
        .expect("create table");

    let table = wait_active(client, "carts").await;
    let arn = table.table_arn().expect("TableArn").to_owned();
    assert_eq!(
        key_schema(table.key_schema()),
        hash_range("cartId", "itemId")
    );
    assert_eq!(
        attribute_types(&table),
        pairs(&[
            ("cartId", "S"),
            ("cartState", "S"),
            ("createdAt", "N"),
            ("itemId", "S"),
            ("price", "N"),
            ("userId", "S"),
        ])
    );
    let provisioned = table
        .provisioned_throughput()
        .expect("ProvisionedThroughput");
    assert_eq!(provisioned.read_capacity_units(), Some(5), "{table:?}");
    assert_eq!(provisioned.write_capacity_units(), Some(7), "{table:?}");
    let billing = table
        .billing_mode_summary()
        .and_then(|summary| summary.billing_mode());
    assert!(
        matches!(billing, None | Some(BillingMode::Provisioned)),
        "billing mode of a provisioned table: {billing:?}"
    );

    let mut gsis = table.global_secondary_indexes().to_vec();
    gsis.sort_by(|a, b| a.index_name().cmp(&b.index_name()));
    let names: Vec<_> = gsis.iter().map(|index| index.index_name()).collect();
    assert_eq!(names, [Some("byState"), Some("byUser")], "{table:?}");
    let (state, user) = (&gsis[0], &gsis[1]);
    assert_eq!(
        key_schema(user.key_schema()),
        hash_range("userId", "createdAt")
    );
    assert_eq!(
        user.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    assert_eq!(
        key_schema(state.key_schema()),
        vec![("cartState".to_owned(), KeyType::Hash)]
    );
    let state_projection = state.projection().expect("projection");
    assert_eq!(
        state_projection.projection_type(),
        Some(&ProjectionType::Include)
    );
    let mut included = state_projection.non_key_attributes().to_vec();
    included.sort();
    assert_eq!(included, ["amount", "userId"]);
    for index in &gsis {
        let name = index.index_name().expect("name");
        assert_eq!(
            index.index_status(),
            Some(&aws_sdk_dynamodb::types::IndexStatus::Active)
        );
        assert_eq!(
            index.index_arn(),
            Some(format!("{arn}/index/{name}").as_str())
        );
        assert_eq!(index.item_count(), Some(0), "{index:?}");
    }

    let lsis = table.local_secondary_indexes();
    assert_eq!(lsis.len(), 1, "{table:?}");
    let lsi = &lsis[0];
    assert_eq!(lsi.index_name(), Some("byPrice"));
    assert_eq!(key_schema(lsi.key_schema()), hash_range("cartId", "price"));
    assert_eq!(
        lsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    assert_eq!(
        lsi.index_arn(),
        Some(format!("{arn}/index/byPrice").as_str())
    );

    let specification = table.stream_specification().expect("StreamSpecification");
    assert!(specification.stream_enabled());
    assert_eq!(
        specification.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
    let stream_arn = table.latest_stream_arn().expect("LatestStreamArn");
    let label = stream_arn
        .strip_prefix(&format!("{arn}/stream/"))
        .unwrap_or_else(|| panic!("stream ARN {stream_arn} is not under {arn}/stream/"));
    assert_eq!(table.latest_stream_label(), Some(label));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_table_refuses_invalid_definitions() {
    let tables = Tables::start("");
    let client = &tables.client;
    let hash = |name: &str| key_schema_element(name, KeyType::Hash);

    let short_name = client
        .create_table()
        .table_name("ab")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk", "S"))
        .key_schema(hash("pk"))
        .send()
        .await;
    expect_validation(
        short_name,
        "Member must have length greater than or equal to 3",
    );

    let without_throughput = client
        .create_table()
        .table_name("provisioned")
        .billing_mode(BillingMode::Provisioned)
        .attribute_definitions(attribute_definition("pk", "S"))
        .key_schema(hash("pk"))
        .send()
        .await;
    expect_error(without_throughput, "ValidationException");

    let unused_definition = client
        .create_table()
        .table_name("unused")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk", "S"))
        .attribute_definitions(attribute_definition("other", "S"))
        .key_schema(hash("pk"))
        .send()
        .await;
    expect_error(unused_definition, "ValidationException");

    let undefined_key = client
        .create_table()
        .table_name("undefined")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk", "S"))
        .key_schema(hash("id"))
        .send()
        .await;
    expect_error(undefined_key, "ValidationException");

    let range_first = client
        .create_table()
        .table_name("rangefirst")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk", "S"))
        .attribute_definitions(attribute_definition("sk", "S"))
        .key_schema(key_schema_element("sk", KeyType::Range))
        .key_schema(hash("pk"))
        .send()
        .await;
    expect_error(range_first, "ValidationException");

    let lsi_without_sort_key = client
        .create_table()
        .table_name("nosortkey")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk", "S"))
        .attribute_definitions(attribute_definition("other", "S"))
        .key_schema(hash("pk"))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("byOther")
                .key_schema(hash("pk"))
                .key_schema(key_schema_element("other", KeyType::Range))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .expect("lsi"),
        )
        .send()
        .await;
    expect_error(lsi_without_sort_key, "ValidationException");

    let listed = client.list_tables().send().await.expect("list tables");
    assert!(
        listed.table_names().is_empty(),
        "a refused table was created: {listed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_tables_pages_in_ascending_order() {
    let tables = Tables::start("");
    let client = &tables.client;
    for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
        create_table(client, name, &[("pk", "S")]).await;
    }
    let all = ["alpha", "bravo", "charlie", "delta", "echo"];

    let listed = client.list_tables().send().await.expect("list tables");
    assert_eq!(listed.table_names(), all);
    assert_eq!(listed.last_evaluated_table_name(), None);

    let mut names = Vec::new();
    let mut start: Option<String> = None;
    let mut n_pages = 0;
    loop {
        let page = client
            .list_tables()
            .limit(2)
            .set_exclusive_start_table_name(start.clone())
            .send()
            .await
            .expect("list tables page");
        n_pages += 1;
        assert!(
            page.table_names().len() <= 2,
            "page over the limit: {page:?}"
        );
        names.extend(page.table_names().iter().cloned());
        match page.last_evaluated_table_name() {
            Some(last) => {
                assert_eq!(
                    page.table_names().last().map(String::as_str),
                    Some(last),
                    "LastEvaluatedTableName is the page's last name"
                );
                start = Some(last.to_owned());
            }
            None => break,
        }
        assert!(n_pages < 10, "ListTables does not end: {names:?}");
    }
    assert_eq!(names, all);
    assert!(n_pages >= 3, "five tables in pages of two: {n_pages} pages");

    // The start name need not be a table: the listing resumes after it.
    let after = client
        .list_tables()
        .exclusive_start_table_name("bzz")
        .limit(2)
        .send()
        .await
        .expect("list after bzz");
    assert_eq!(after.table_names(), ["charlie", "delta"]);
    assert_eq!(after.last_evaluated_table_name(), Some("delta"));

    expect_error(
        client.list_tables().limit(0).send().await,
        "ValidationException",
    );
    expect_error(
        client.list_tables().limit(101).send().await,
        "ValidationException",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_table_adds_a_backfilled_index_and_removes_it() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "tasks", &[("pk", "S")]).await;
    for (id, holder) in [
        ("t1", Some("ann")),
        ("t2", Some("bob")),
        ("t3", None),
        ("t4", Some("ann")),
    ] {
        let mut task = item(&[("pk", s(id)), ("title", s(&format!("task {id}")))]);
        if let Some(holder) = holder {
            task.insert("holder".to_owned(), s(holder));
        }
        put(client, "tasks", task).await;
    }

    let updated = client
        .update_table()
        .table_name("tasks")
        .attribute_definitions(attribute_definition("holder", "S"))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("byHolder")
                        .key_schema(key_schema_element("holder", KeyType::Hash))
                        .projection(projection(ProjectionType::All, &[]))
                        .build()
                        .expect("create index action"),
                )
                .build(),
        )
        .send()
        .await
        .expect("add an index");
    let described = updated.table_description().expect("TableDescription");
    assert!(
        described
            .global_secondary_indexes()
            .iter()
            .any(|index| index.index_name() == Some("byHolder")),
        "UpdateTable describes the new index: {described:?}"
    );

    let table = wait_active(client, "tasks").await;
    assert_eq!(table.global_secondary_indexes().len(), 1, "{table:?}");
    let query = client
        .query()
        .table_name("tasks")
        .index_name("byHolder")
        .key_condition_expression("holder = :h")
        .expression_attribute_values(":h", s("ann"))
        .send()
        .await
        .expect("query the new index");
    let mut ids: Vec<&str> = query.items().iter().map(|i| get_s(i, "pk")).collect();
    ids.sort();
    assert_eq!(ids, ["t1", "t4"], "the index was backfilled: {query:?}");
    assert_eq!(
        query.items().iter().find(|i| get_s(i, "pk") == "t1"),
        Some(&item(&[
            ("pk", s("t1")),
            ("title", s("task t1")),
            ("holder", s("ann"))
        ])),
        "an ALL projection carries the whole item"
    );

    // Writes after the backfill reach the index too (eventually: GSIs are eventually consistent).
    put(
        client,
        "tasks",
        item(&[("pk", s("t5")), ("holder", s("bob"))]),
    )
    .await;
    let poll = Poll::new("t5 in the index", Duration::from_secs(30));
    loop {
        let query = client
            .query()
            .table_name("tasks")
            .index_name("byHolder")
            .key_condition_expression("holder = :h")
            .expression_attribute_values(":h", s("bob"))
            .send()
            .await
            .expect("query the index");
        if query.count() == 2 {
            break;
        }
        poll.tick(query).await;
    }

    client
        .update_table()
        .table_name("tasks")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("byHolder")
                        .build()
                        .expect("delete index action"),
                )
                .build(),
        )
        .send()
        .await
        .expect("remove the index");
    let poll = Poll::new("the index to be removed", Duration::from_secs(60));
    loop {
        let table = wait_active(client, "tasks").await;
        if table.global_secondary_indexes().is_empty() {
            break;
        }
        poll.tick(table).await;
    }
    let query = client
        .query()
        .table_name("tasks")
        .index_name("byHolder")
        .key_condition_expression("holder = :h")
        .expression_attribute_values(":h", s("ann"))
        .send()
        .await;
    expect_error(query, "ValidationException");
    let kept = get(client, "tasks", item(&[("pk", s("t1"))])).await;
    assert!(kept.is_some(), "removing an index keeps the items");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_table_enables_and_disables_the_stream() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "feed", &[("pk", "S")]).await;

    let enable = |view: StreamViewType| {
        client
            .update_table()
            .table_name("feed")
            .stream_specification(stream(true, Some(view)))
            .send()
    };
    let disable = || {
        client
            .update_table()
            .table_name("feed")
            .stream_specification(stream(false, None))
            .send()
    };

    // Disabling a stream the table does not have is refused.
    expect_error(disable().await, "ValidationException");

    enable(StreamViewType::NewImage)
        .await
        .expect("enable stream");
    let table = wait_active(client, "feed").await;
    assert!(stream_enabled(&table), "{table:?}");
    assert_eq!(
        table
            .stream_specification()
            .and_then(|specification| specification.stream_view_type()),
        Some(&StreamViewType::NewImage)
    );
    let first_arn = table
        .latest_stream_arn()
        .expect("LatestStreamArn")
        .to_owned();
    let table_arn = table.table_arn().expect("TableArn");
    assert!(
        first_arn.starts_with(&format!("{table_arn}/stream/")),
        "{first_arn}"
    );

    // A table has one stream at a time; its view type is changed by disabling and enabling.
    expect_error(
        enable(StreamViewType::KeysOnly).await,
        "ResourceInUseException",
    );

    disable().await.expect("disable stream");
    let table = wait_active(client, "feed").await;
    assert!(!stream_enabled(&table), "{table:?}");
    expect_error(disable().await, "ValidationException");

    enable(StreamViewType::KeysOnly)
        .await
        .expect("enable stream again");
    let table = wait_active(client, "feed").await;
    assert!(stream_enabled(&table), "{table:?}");
    assert_eq!(
        table
            .stream_specification()
            .and_then(|specification| specification.stream_view_type()),
        Some(&StreamViewType::KeysOnly)
    );
    let second_arn = table.latest_stream_arn().expect("LatestStreamArn");
    assert_ne!(second_arn, first_arn, "each enable creates a new stream");
}

#[tokio::test(flavor = "multi_thread")]
async fn time_to_live_is_described_and_updated() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "sessions", &[("id", "S")]).await;
    let describe = || client.describe_time_to_live().table_name("sessions").send();

    let described = describe().await.expect("describe ttl");
    let status = described
        .time_to_live_description()
        .and_then(|description| description.time_to_live_status());
    assert_eq!(status, Some(&TimeToLiveStatus::Disabled), "{described:?}");

    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name("expiresAt")
        .build()
        .expect("ttl specification");
    let updated = client
        .update_time_to_live()
        .table_name("sessions")
        .time_to_live_specification(specification.clone())
        .send()
        .await
        .expect("enable ttl");
    assert_eq!(
        updated.time_to_live_specification(),
        Some(&specification),
        "UpdateTimeToLive echoes the specification"
    );
    let poll = Poll::new("TTL to be ENABLED", Duration::from_secs(30));
    loop {
        let described = describe().await.expect("describe ttl");
        let description = described.time_to_live_description().expect("description");
        if description.time_to_live_status() == Some(&TimeToLiveStatus::Enabled) {
            assert_eq!(description.attribute_name(), Some("expiresAt"));
            break;
        }
        assert_eq!(
            description.time_to_live_status(),
            Some(&TimeToLiveStatus::Enabling),
            "{described:?}"
        );
        poll.tick(described).await;
    }

    let specification = TimeToLiveSpecification::builder()
        .enabled(false)
        .attribute_name("expiresAt")
        .build()
        .expect("ttl specification");
    let updated = client
        .update_time_to_live()
        .table_name("sessions")
        .time_to_live_specification(specification.clone())
        .send()
        .await
        .expect("disable ttl");
    assert_eq!(updated.time_to_live_specification(), Some(&specification));
    let described = describe().await.expect("describe ttl");
    let status = described
        .time_to_live_description()
        .and_then(|description| description.time_to_live_status());
    assert!(
        matches!(
            status,
            Some(TimeToLiveStatus::Disabling | TimeToLiveStatus::Disabled)
        ),
        "{described:?}"
    );

    let missing = client
        .describe_time_to_live()
        .table_name("nonexistent")
        .send()
        .await;
    expect_error(missing, "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread")]
async fn ttl_deletes_expired_items_and_leaves_the_rest() {
    let tables = Tables::start_with(
        "[table.sessions]\npartition_key = { name = \"id\", type = \"S\" }\nttl_attribute = \"expiresAt\"\n",
        &["--ttl-sweep-ms", "200"],
    );
    let client = &tables.client;
    wait_active(client, "sessions").await;
    // The manifest's ttl_attribute enables TTL.
    let poll = Poll::new("TTL to be ENABLED", Duration::from_secs(30));
    let description = loop {
        let described = client
            .describe_time_to_live()
            .table_name("sessions")
            .send()
            .await
            .expect("describe ttl");
        let description = described
            .time_to_live_description()
            .expect("description")
            .clone();
        if description.time_to_live_status() == Some(&TimeToLiveStatus::Enabled) {
            break description;
        }
        poll.tick(described).await;
    };
    assert_eq!(description.attribute_name(), Some("expiresAt"));

    let now = now_s();
    let six_years_s = 6 * 366 * 24 * 3600;
    let kept = [
        item(&[("id", s("no-ttl"))]),
        item(&[("id", s("text")), ("expiresAt", s(&(now - 60).to_string()))]),
        item(&[
            ("id", s("future")),
            ("expiresAt", n(&(now + 3600).to_string())),
        ]),
        item(&[("id", s("far-future")), ("expiresAt", n("32503680000"))]),
        // Milliseconds by mistake: a time far in the future, in seconds.
        item(&[
            ("id", s("millis")),
            ("expiresAt", n(&(now * 1000).to_string())),
        ]),
        // More than five years in the past is taken as not an expiry time at all.
        item(&[
            ("id", s("ancient")),
            ("expiresAt", n(&(now - six_years_s).to_string())),
        ]),
        item(&[
            ("id", s("list")),
            ("expiresAt", AttributeValue::L(vec![n("1")])),
        ]),
    ];
    for item in &kept {
        put(client, "sessions", item.clone()).await;
    }

    // Two expired items, one after the other, so at least two sweeps have seen the kept items.
    for id in ["expired-1", "expired-2"] {
        let expired = item(&[("id", s(id)), ("expiresAt", n(&(now - 60).to_string()))]);
        put(client, "sessions", expired).await;
        let poll = Poll::new(format!("TTL to delete {id}"), Duration::from_secs(60));
        loop {
            let found = get(client, "sessions", item(&[("id", s(id))])).await;
            if found.is_none() {
                break;
            }
            poll.tick(found).await;
        }
    }

    for expected in &kept {
        let key = item(&[("id", expected["id"].clone())]);
        let found = get(client, "sessions", key).await;
        assert_eq!(
            found.as_ref(),
            Some(expected),
            "TTL must leave {expected:?} alone"
        );
    }
}

const CARTS_MANIFEST: &str = r#"
[table.carts]
partition_key = { name = "cartId", type = "S" }
sort_key = { name = "itemId", type = "S" }
stream = "NEW_IMAGE"

[[table.carts.global_secondary_index]]
name = "byUser"
partition_key = { name = "userId", type = "S" }
projection = "KEYS_ONLY"

[[table.carts.local_secondary_index]]
name = "byPrice"
sort_key = { name = "price", type = "N" }
projection = ["qty"]

[table.events]
partition_key = { name = "n", type = "N" }
"#;

const BY_STATE_INDEX: &str = r#"
[[table.carts.global_secondary_index]]
name = "byState"
partition_key = { name = "cartState", type = "S" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn manifest_tables_are_created_at_load_and_updated_on_change() {
    let tables = Tables::start(CARTS_MANIFEST);
    let client = &tables.client;

    let carts = wait_active(client, "carts").await;
    wait_active(client, "events").await;
    let listed = client.list_tables().send().await.expect("list tables");
    assert_eq!(listed.table_names(), ["carts", "events"]);

    assert_eq!(
        key_schema(carts.key_schema()),
        hash_range("cartId", "itemId")
    );
    let gsis = carts.global_secondary_indexes();
    assert_eq!(gsis.len(), 1, "{carts:?}");
    assert_eq!(gsis[0].index_name(), Some("byUser"));
    assert_eq!(
        key_schema(gsis[0].key_schema()),
        vec![("userId".to_owned(), KeyType::Hash)]
    );
    assert_eq!(
        gsis[0].projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    let lsis = carts.local_secondary_indexes();
    assert_eq!(lsis.len(), 1, "{carts:?}");
    assert_eq!(lsis[0].index_name(), Some("byPrice"));
    assert_eq!(
        key_schema(lsis[0].key_schema()),
        hash_range("cartId", "price")
    );
    let lsi_projection = lsis[0].projection().expect("projection");
    assert_eq!(
        lsi_projection.projection_type(),
        Some(&ProjectionType::Include),
        "an array projection is INCLUDE"
    );
    assert_eq!(lsi_projection.non_key_attributes(), ["qty"]);
    assert!(stream_enabled(&carts), "{carts:?}");
    assert_eq!(
        carts
            .stream_specification()
            .and_then(|specification| specification.stream_view_type()),
        Some(&StreamViewType::NewImage)
    );
    assert!(carts.latest_stream_arn().is_some(), "{carts:?}");

    let lines = [
        ("c1", "i1", "open"),
        ("c1", "i2", "paid"),
        ("c2", "i1", "open"),
    ];
    for (cart, line, state) in lines {
        put(
            client,
            "carts",
            item(&[
                ("cartId", s(cart)),
                ("itemId", s(line)),
                ("cartState", s(state)),
                ("userId", s("u1")),
            ]),
        )
        .await;
    }

    // Add an index to the manifest while the app runs.
    tables.app.replace(
        "rondo.toml",
        format!("[app]\nname = \"tables\"\n\n{CARTS_MANIFEST}{BY_STATE_INDEX}").as_bytes(),
    );
    let poll = Poll::new("the manifest's new index", Duration::from_secs(60));
    loop {
        let table = wait_active(client, "carts").await;
        let has_index = table
            .global_secondary_indexes()
            .iter()
            .any(|index| index.index_name() == Some("byState"));
        if has_index {
            break;
        }
        poll.tick((table, tables.dev.stderr())).await;
    }
    let query = client
        .query()
        .table_name("carts")
        .index_name("byState")
        .key_condition_expression("cartState = :s")
        .expression_attribute_values(":s", s("open"))
        .send()
        .await
        .expect("query the new index");
    let mut found: Vec<(&str, &str)> = query
        .items()
        .iter()
        .map(|i| (get_s(i, "cartId"), get_s(i, "itemId")))
        .collect();
    found.sort();
    assert_eq!(found, [("c1", "i1"), ("c2", "i1")], "{query:?}");

    let scan = client
        .scan()
        .table_name("carts")
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    assert_eq!(scan.count(), 3, "reloading the manifest keeps the items");
}
