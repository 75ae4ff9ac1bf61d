//! DynamoDB-compatible tables, errors: each refusal with DynamoDB's code, and the wire shape of
//! errors checked on raw requests, including bodies and targets the SDK would never send.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ExpectedAttributeValue, KeysAndAttributes};

use crate::support::dynamo::{
    Tables, assert_dynamodb_error, b, create_table, dynamodb_reply_json, dynamodb_request,
    expect_error, expect_validation, item, m, n, s,
};
use crate::support::send;

const VALIDATION: &str = "com.amazon.coral.validate#ValidationException";
const SERIALIZATION: &str = "com.amazon.coral.service#SerializationException";
const UNKNOWN_OPERATION: &str = "com.amazon.coral.service#UnknownOperationException";
const DYNAMODB: &str = "com.amazonaws.dynamodb.v20120810";

/// A running app with the table `tbl`, keyed by the string `pk` and the number `sk`.
async fn start() -> Tables {
    let tables = Tables::start("");
    create_table(&tables.client, "tbl", &[("pk", "S"), ("sk", "N")]).await;
    tables
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_tables_are_resource_not_found() {
    let tables = start().await;
    let client = &tables.client;
    let table = "nonexistent";
    let messages = [
        expect_error(
            client.describe_table().table_name(table).send().await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .get_item()
                .table_name(table)
                .key("pk", s("a"))
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .put_item()
                .table_name(table)
                .item("pk", s("a"))
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .update_item()
                .table_name(table)
                .key("pk", s("a"))
                .update_expression("SET v = :v")
                .expression_attribute_values(":v", s("v"))
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .delete_item()
                .table_name(table)
                .key("pk", s("a"))
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s("a"))
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client.scan().table_name(table).send().await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .update_table()
                .table_name(table)
                .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                .send()
                .await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client.delete_table().table_name(table).send().await,
            "ResourceNotFoundException",
        ),
        expect_error(
            client
                .batch_get_item()
                .request_items(
                    table,
                    KeysAndAttributes::builder()
                        .keys(item(&[("pk", s("a"))]))
                        .build()
                        .expect("keys"),
                )
                .send()
                .await,
            "ResourceNotFoundException",
        ),
    ];
    for message in messages {
        assert!(
            message.contains("Requested resource not found"),
            "{message}"
        );
    }
    let listed = client.list_tables().send().await.expect("list tables");
    assert_eq!(
        listed.table_names(),
        ["tbl"],
        "no table was created on the way"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_and_invalid_table_names_are_refused() {
    let tables = start().await;
    let client = &tables.client;
    let create = |name: &str| {
        client
            .create_table()
            .table_name(name)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(crate::support::dynamo::attribute_definition("pk", "S"))
            .key_schema(crate::support::dynamo::key_schema_element(
                "pk",
                aws_sdk_dynamodb::types::KeyType::Hash,
            ))
            .send()
    };
    expect_error(create("tbl").await, "ResourceInUseException");
    expect_error(create("bad name!").await, "ValidationException");
    expect_error(create(&"x".repeat(256)).await, "ValidationException");
    create(&"x".repeat(255))
        .await
        .expect("a 255-character name");
    create("a-b_c.D9").await.expect("every allowed character");
}

/// Sends the UpdateItem of `tbl`'s item `("a", 1)` that `f` completes, and returns its
/// ValidationException message.
async fn update_error(
    client: &Client,
    f: impl FnOnce(
        aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> String {
    let request = client
        .update_item()
        .table_name("tbl")
        .key("pk", s("a"))
        .key("sk", n("1"));
    expect_error(f(request).send().await, "ValidationException")
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_expressions_are_validation_errors() {
    let tables = start().await;
    let client = &tables.client;

    // Syntax errors name the expression that holds them.
    let message = update_error(client, |r| {
        r.update_expression("SET = :v")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.starts_with("Invalid UpdateExpression:"),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("v = ")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.starts_with("Invalid ConditionExpression:"),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v SET w = :v")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.starts_with("Invalid UpdateExpression:"),
        "each clause once: {message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.contains("The expression can not be empty;"),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("unknown_function(v)")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.starts_with("Invalid ConditionExpression:"),
        "{message}"
    );
    // Function names are case-sensitive.
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("ATTRIBUTE_EXISTS(v)")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.starts_with("Invalid ConditionExpression:"),
        "{message}"
    );

    let query = client
        .query()
        .table_name("tbl")
        .key_condition_expression("pk == :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await;
    let message = expect_error(query, "ValidationException");
    assert!(
        message.starts_with("Invalid KeyConditionExpression:"),
        "{message}"
    );
    let scan = client
        .scan()
        .table_name("tbl")
        .filter_expression("v = :v AND")
        .expression_attribute_values(":v", s("a"))
        .send()
        .await;
    let message = expect_error(scan, "ValidationException");
    assert!(
        message.starts_with("Invalid FilterExpression:"),
        "{message}"
    );
    let get = client
        .get_item()
        .table_name("tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .projection_expression("a,,b")
        .send()
        .await;
    let message = expect_error(get, "ValidationException");
    assert!(
        message.starts_with("Invalid ProjectionExpression:"),
        "{message}"
    );

    // Reserved words need a placeholder, in every kind of expression.
    update_error(client, |r| {
        r.update_expression("SET status = :v")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("attribute_exists(name)")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    let get = client
        .get_item()
        .table_name("tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .projection_expression("size")
        .send()
        .await;
    expect_error(get, "ValidationException");
    client
        .update_item()
        .table_name("tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .update_expression("SET #s = :v")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":v", s("v"))
        .send()
        .await
        .expect("a reserved word behind a placeholder");

    // Placeholder hygiene.
    let message = update_error(client, |r| {
        r.update_expression("SET #x = :v")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(
        message.contains(
            "An expression attribute name used in the document path is not defined; attribute name: #x"
        ),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .expression_attribute_values(":v", s("v"))
            .expression_attribute_names("#x", "x")
    })
    .await;
    assert!(
        message.contains(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"
        ),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :v")
            .expression_attribute_values(":v", s("v"))
            .expression_attribute_values(":y", s("y"))
    })
    .await;
    assert!(
        message.contains("unused in expressions") && message.contains(":y"),
        "{message}"
    );
    let message = update_error(client, |r| {
        r.update_expression("SET v = :nope")
            .expression_attribute_values(":v", s("v"))
    })
    .await;
    assert!(message.contains(":nope"), "{message}");
    // A legacy parameter beside an expression is refused. (DynamoDB says "Can not use both
    // expression and non-expression parameters in the same request"; rondo, which refuses the
    // legacy parameters altogether, says so instead, so only the code is checked.)
    update_error(client, |r| {
        r.update_expression("SET v = :v")
            .condition_expression("v = :v")
            .expression_attribute_values(":v", s("v"))
            .expected("v", ExpectedAttributeValue::builder().exists(false).build())
    })
    .await;

    // IN takes at most 100 operands.
    let placeholders: Vec<String> = (0..101).map(|i| format!(":v{i}")).collect();
    let condition = format!("v IN ({})", placeholders.join(", "));
    let mut request = client
        .put_item()
        .table_name("tbl")
        .item("pk", s("a"))
        .item("sk", n("1"))
        .condition_expression(condition);
    for placeholder in &placeholders {
        request = request.expression_attribute_values(placeholder, s(placeholder));
    }
    expect_error(request.send().await, "ValidationException");

    let got = client
        .get_item()
        .table_name("tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.item,
        Some(item(&[("pk", s("a")), ("sk", n("1")), ("status", s("v"))])),
        "only the valid update was applied"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_must_match_the_schema() {
    let tables = start().await;
    let client = &tables.client;
    let mismatch = "The provided key element does not match the schema";
    let get = |key: Vec<(&str, AttributeValue)>| {
        let mut request = client.get_item().table_name("tbl");
        for (name, value) in key {
            request = request.key(name, value);
        }
        request.send()
    };

    expect_validation(get(vec![("pk", n("1")), ("sk", n("1"))]).await, mismatch);
    expect_validation(get(vec![("pk", s("a")), ("sk", s("1"))]).await, mismatch);
    expect_validation(get(vec![("pk", s("a"))]).await, mismatch);
    expect_validation(
        get(vec![("pk", s("a")), ("sk", n("1")), ("extra", s("x"))]).await,
        mismatch,
    );
    let delete = client
        .delete_item()
        .table_name("tbl")
        .key("pk", b(b"a"))
        .key("sk", n("1"))
        .send()
        .await;
    expect_validation(delete, mismatch);
    let update = client
        .update_item()
        .table_name("tbl")
        .key("sk", n("1"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("v"))
        .send()
        .await;
    expect_validation(update, mismatch);

    let put = |attributes: Vec<(&str, AttributeValue)>| {
        let mut request = client.put_item().table_name("tbl");
        for (name, value) in attributes {
            request = request.item(name, value);
        }
        request.send()
    };
    expect_error(put(vec![("pk", s("a"))]).await, "ValidationException");
    expect_error(
        put(vec![("pk", s("a")), ("sk", s("1"))]).await,
        "ValidationException",
    );
    expect_error(
        put(vec![("pk", s("")), ("sk", n("1"))]).await,
        "ValidationException",
    );
    expect_error(
        get(vec![("pk", s("")), ("sk", n("1"))]).await,
        "ValidationException",
    );

    // Key lengths: a partition key up to 2048 bytes, a sort key up to 1024 bytes.
    create_table(client, "strings", &[("pk", "S"), ("sk", "S")]).await;
    let put_strings = |pk: String, sk: String| {
        client
            .put_item()
            .table_name("strings")
            .item("pk", s(&pk))
            .item("sk", s(&sk))
            .send()
    };
    put_strings("p".repeat(2048), "s".repeat(1024))
        .await
        .expect("keys at their longest");
    expect_error(
        put_strings("p".repeat(2049), "s".to_owned()).await,
        "ValidationException",
    );
    expect_error(
        put_strings("p".to_owned(), "s".repeat(1025)).await,
        "ValidationException",
    );
    expect_error(
        put_strings("p".to_owned(), String::new()).await,
        "ValidationException",
    );

    create_table(client, "binary", &[("pk", "B")]).await;
    let empty_binary = client
        .put_item()
        .table_name("binary")
        .item("pk", b(&[]))
        .send()
        .await;
    expect_error(empty_binary, "ValidationException");

    // Documents nest at most 32 levels deep.
    let nested = |depth: usize| (0..depth).fold(s("leaf"), |inner, _| m(&[("d", inner)]));
    put(vec![
        ("pk", s("shallow")),
        ("sk", n("1")),
        ("doc", nested(8)),
    ])
    .await
    .expect("a document 8 levels deep");
    expect_error(
        put(vec![("pk", s("deep")), ("sk", n("1")), ("doc", nested(40))]).await,
        "ValidationException",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_requests_get_dynamodb_error_shapes() {
    let tables = start().await;
    let endpoint = &tables.dev.aws;
    let raw =
        |operation: &str, body: &str| send(dynamodb_request(endpoint, operation, body.as_bytes()));

    let reply = raw("DescribeTable", r#"{"TableName": "tbl"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = dynamodb_reply_json(&reply);
    assert_eq!(body["Table"]["TableName"], "tbl", "{body}");

    let reply = raw("GetItem", "{not json").await;
    assert_dynamodb_error(&reply, SERIALIZATION);

    let reply = raw("FlyToTheMoon", r#"{"TableName": "tbl"}"#).await;
    assert_dynamodb_error(&reply, UNKNOWN_OPERATION);
    let mut wrong_service = crate::support::dynamo::unsigned_dynamodb_request(
        endpoint,
        Some("DynamoDBStreams_20120810.NotAnOperation"),
        b"{}",
    );
    crate::support::dynamo::sign(&mut wrong_service, "test", "test", b"{}");
    let reply = send(wrong_service).await;
    assert_dynamodb_error(&reply, UNKNOWN_OPERATION);

    let reply = raw("DescribeTable", r#"{"TableName": "nonexistent"}"#).await;
    let message = assert_dynamodb_error(&reply, &format!("{DYNAMODB}#ResourceNotFoundException"));
    assert!(
        message.contains("Requested resource not found"),
        "{message}"
    );

    let reply = raw("DescribeTable", r#"{"TableName": "ab"}"#).await;
    let message = assert_dynamodb_error(&reply, VALIDATION);
    assert!(
        message.contains("Member must have length greater than or equal to 3"),
        "{message}"
    );

    // AttributeValues the SDK cannot express.
    let refused_values = [
        (r#"{"S": "a", "N": "1"}"#, "Supplied AttributeValue"),
        (r#"{}"#, "Supplied AttributeValue"),
        (r#"{"NULL": false}"#, ""),
        (r#"{"SS": []}"#, ""),
        (r#"{"SS": ["a", "a"]}"#, ""),
        (r#"{"NS": ["1", "1.0"]}"#, ""),
        (r#"{"BS": ["AA==", "AA=="]}"#, ""),
    ];
    for (value, needle) in refused_values {
        let body = format!(
            r#"{{"TableName": "tbl", "Item": {{"pk": {{"S": "a"}}, "sk": {{"N": "1"}}, "v": {value}}}}}"#
        );
        let reply = raw("PutItem", &body).await;
        let message = assert_dynamodb_error(&reply, VALIDATION);
        assert!(message.contains(needle), "{value}: {message}");
    }

    // A refused condition carries the item when asked to.
    let reply = raw(
        "PutItem",
        r#"{"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "old"}}}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = raw(
        "PutItem",
        r#"{"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}"#,
    )
    .await;
    let message = assert_dynamodb_error(
        &reply,
        &format!("{DYNAMODB}#ConditionalCheckFailedException"),
    );
    assert_eq!(message, "The conditional request failed");
    assert_eq!(
        reply.json()["Item"],
        serde_json::json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "old"}})
    );

    let reply = raw(
        "GetItem",
        r#"{"TableName": "tbl", "Key": {"pk": {"S": "nobody"}, "sk": {"N": "1"}}}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = dynamodb_reply_json(&reply);
    assert!(
        body.get("Item").is_none(),
        "a miss has no Item, not even null: {body}"
    );

    // Whatever arrives, the answer is a 400 in DynamoDB's shape, never a 500, and the server
    // goes on serving.
    let deep_json = "[".repeat(100_000);
    let garbage = [
        "",
        "null",
        "[]",
        "\"text\"",
        r#"{"TableName": 5}"#,
        r#"{"TableName": ["t"]}"#,
        r#"{"TableName": "tbl", "Key": "x"}"#,
        r#"{"TableName": "tbl", "Key": {"pk": "x"}}"#,
        r#"{"TableName": "tbl", "Key": {"pk": {"S": 1}, "sk": {"N": 1}}}"#,
        r#"{"TableName": "tbl", "Key": {"pk": {"B": "not base64!"}, "sk": {"N": "1"}}}"#,
        r#"{"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConsistentRead": "yes"}"#,
        &deep_json,
    ];
    for body in garbage {
        let reply = raw("GetItem", body).await;
        let json = dynamodb_reply_json(&reply);
        let shown: String = body.chars().take(80).collect();
        assert_eq!(reply.status, 400, "{shown}: {json}");
        let error_type = json["__type"].as_str().unwrap_or_default();
        assert!(
            error_type == SERIALIZATION || error_type == VALIDATION,
            "{shown}: {json}"
        );
    }
    let reply = raw("DescribeTable", r#"{"TableName": "tbl"}"#).await;
    assert_eq!(reply.status, 200, "the server survived: {}", reply.text());
}
