use std::cell::RefCell;
use std::fmt::Debug;

use serde_json::{Value, json};

use super::{AttributeValue, Error, Item, Page, Result, ReturnValues, Table, call, item};

/// What the fake service saw and what it answers; one per test thread.
struct Fake {
    answer: Result<String>,
    requests: Vec<(String, Value)>,
}

thread_local! {
    static FAKE: RefCell<Option<Fake>> = const { RefCell::new(None) };
}

/// Stands in for the `tables` import in unit tests.
pub(super) fn fake_transport(operation: &str, request: &str) -> Result<String> {
    FAKE.with_borrow_mut(|fake| {
        let fake = fake
            .as_mut()
            .expect("the test sets the fake's answer first");
        let request = serde_json::from_str(request).expect("the client sends JSON");
        fake.requests.push((operation.to_owned(), request));
        fake.answer.clone()
    })
}

/// Runs `send` against a fake service answering `answer`, and checks the one request it sent
/// (`operation` and its JSON) and what it returned.
fn check<T: Debug + PartialEq>(
    send: impl FnOnce() -> T,
    answer: Result<Value>,
    operation: &str,
    request: Value,
    expect: T,
) {
    FAKE.set(Some(Fake {
        answer: answer.map(|value| value.to_string()),
        requests: Vec::new(),
    }));
    let returned = send();
    let requests = FAKE
        .take()
        .map(|fake| fake.requests)
        .expect("the fake is still there");
    assert_eq!(requests, [(operation.to_owned(), request)]);
    assert_eq!(returned, expect);
}

/// Checks the wire form of `value` and that it parses back to `value`.
fn check_wire(value: AttributeValue, expect: &str) {
    assert_eq!(
        serde_json::to_string(&value).expect("values serialize"),
        expect
    );
    let parsed: AttributeValue = serde_json::from_str(expect).expect("the wire form parses");
    assert_eq!(parsed, value);
}

fn check_invalid(wire: &str, expect: &str) {
    let error = serde_json::from_str::<AttributeValue>(wire).expect_err("the wire form is invalid");
    assert_eq!(error.to_string(), expect, "{wire}");
}

fn cart_key() -> Item {
    item([("pk", "cart#1".into()), ("sk", "item#tea".into())])
}

#[test]
fn every_type_has_dynamodb_wire_form() {
    check_wire(AttributeValue::S("tea".to_owned()), r#"{"S":"tea"}"#);
    check_wire(AttributeValue::N("-1.50".to_owned()), r#"{"N":"-1.50"}"#);
    check_wire(AttributeValue::B(b"foobar".to_vec()), r#"{"B":"Zm9vYmFy"}"#);
    check_wire(AttributeValue::B(Vec::new()), r#"{"B":""}"#);
    check_wire(
        AttributeValue::Ss(vec!["a".to_owned(), "b".to_owned()]),
        r#"{"SS":["a","b"]}"#,
    );
    check_wire(
        AttributeValue::Ns(vec!["1".to_owned(), "2.5".to_owned()]),
        r#"{"NS":["1","2.5"]}"#,
    );
    check_wire(
        AttributeValue::Bs(vec![b"f".to_vec(), b"fo".to_vec()]),
        r#"{"BS":["Zg==","Zm8="]}"#,
    );
    check_wire(
        AttributeValue::M(item([("n", 1.into()), ("s", "x".into())])),
        r#"{"M":{"n":{"N":"1"},"s":{"S":"x"}}}"#,
    );
    check_wire(
        AttributeValue::L(vec![AttributeValue::Null, true.into()]),
        r#"{"L":[{"NULL":true},{"BOOL":true}]}"#,
    );
    check_wire(AttributeValue::M(Item::new()), r#"{"M":{}}"#);
    check_wire(AttributeValue::L(Vec::new()), r#"{"L":[]}"#);
}

#[test]
fn invalid_wire_forms_are_refused() {
    check_invalid(r#"{"NULL":false}"#, "NULL must be true at line 1 column 14");
    check_invalid(
        r#"{"B":"Zm9v!"}"#,
        r#"binary value "Zm9v!" is not base64: invalid character at byte 4 at line 1 column 13"#,
    );
    check_invalid(
        r#"{"BS":["Zg==","?"]}"#,
        r#"binary value "?" is not base64: invalid character at byte 0 at line 1 column 19"#,
    );
    check_invalid(
        r#"{"X":"a"}"#,
        "unknown variant `X`, expected one of `S`, `N`, `B`, `SS`, `NS`, `BS`, `M`, `L`, `NULL`, `BOOL` at line 1 column 4",
    );
    check_invalid(
        r#"{}"#,
        "an attribute value is empty; it needs exactly one type key at line 1 column 2",
    );
    check_invalid(
        r#"{"S":"a","N":"1"}"#,
        "an attribute value has more than one type key: S and N at line 1 column 12",
    );
    check_invalid(
        r#"{"N":1}"#,
        "invalid type: integer `1`, expected a string at line 1 column 6",
    );
    check_invalid(
        r#""a""#,
        "invalid type: string \"a\", expected an attribute value: an object with exactly one type key at line 1 column 3",
    );
}

#[test]
fn plain_values_convert_to_attribute_values() {
    assert_eq!(AttributeValue::from("a"), AttributeValue::S("a".to_owned()));
    assert_eq!(
        AttributeValue::from(String::from("a")),
        AttributeValue::S("a".to_owned())
    );
    assert_eq!(
        AttributeValue::from(-7_i32),
        AttributeValue::N("-7".to_owned())
    );
    assert_eq!(
        AttributeValue::from(i64::MIN),
        AttributeValue::N("-9223372036854775808".to_owned())
    );
    assert_eq!(
        AttributeValue::from(u64::MAX),
        AttributeValue::N("18446744073709551615".to_owned())
    );
    assert_eq!(AttributeValue::from(false), AttributeValue::Bool(false));
    assert_eq!(
        AttributeValue::from(&b"\x00\xff"[..]),
        AttributeValue::B(vec![0, 255])
    );
    let document = AttributeValue::from(json!({
        "name": "tea", "count": 2, "price": 1.25, "tags": ["green", null], "gift": false,
    }));
    check_wire(
        document,
        r#"{"M":{"count":{"N":"2"},"gift":{"BOOL":false},"name":{"S":"tea"},"price":{"N":"1.25"},"tags":{"L":[{"S":"green"},{"NULL":true}]}}}"#,
    );
}

#[test]
fn accessors_answer_only_for_their_type() {
    let number = AttributeValue::from(42);
    assert_eq!(number.as_n(), Some("42"));
    assert_eq!(number.as_i64(), Some(42));
    assert_eq!(number.as_u64(), Some(42));
    assert_eq!(number.as_s(), None);
    let fraction = AttributeValue::N("1.5".to_owned());
    assert_eq!(fraction.as_i64(), None);
    assert_eq!(AttributeValue::from(-1).as_u64(), None);
    assert_eq!(AttributeValue::from("42").as_i64(), None);
    assert_eq!(AttributeValue::from(vec![7]).as_b(), Some(&[7][..]));
    assert_eq!(AttributeValue::from(true).as_bool(), Some(true));
    assert!(AttributeValue::Null.is_null());
    assert!(!AttributeValue::from(false).is_null());
    let list = AttributeValue::from(vec![AttributeValue::from(1)]);
    assert_eq!(list.as_l().map(<[_]>::len), Some(1));
    assert_eq!(AttributeValue::from(cart_key()).as_m(), Some(&cart_key()));
}

#[test]
fn get_answers_the_item_or_none() {
    let request =
        json!({"TableName": "carts", "Key": {"pk": {"S": "cart#1"}, "sk": {"S": "item#tea"}}});
    check(
        || Table::new("carts").get(cart_key()),
        Ok(json!({"Item": {"pk": {"S": "cart#1"}, "count": {"N": "3"}}})),
        "GetItem",
        request.clone(),
        Ok(Some(item([("pk", "cart#1".into()), ("count", 3.into())]))),
    );
    check(
        || Table::new("carts").get(cart_key()),
        Ok(json!({})),
        "GetItem",
        request,
        Ok(None),
    );
}

#[test]
fn put_sends_the_item_and_its_condition() {
    let line = item([("pk", "cart#1".into()), ("count", 0.into())]);
    check(
        || Table::new("carts").put(line.clone()).send(),
        Ok(json!({})),
        "PutItem",
        json!({"TableName": "carts", "Item": {"pk": {"S": "cart#1"}, "count": {"N": "0"}}}),
        Ok(None),
    );
    check(
        || {
            Table::new("carts")
                .put(line.clone())
                .condition("attribute_not_exists(#pk)")
                .name("#pk", "pk")
                .return_values(ReturnValues::AllOld)
                .send()
        },
        Err(Error::new(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )),
        "PutItem",
        json!({
            "TableName": "carts",
            "Item": {"pk": {"S": "cart#1"}, "count": {"N": "0"}},
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ReturnValues": "ALL_OLD",
        }),
        Err(Error::new(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )),
    );
}

#[test]
fn update_sends_its_expression_and_answers_the_attributes() {
    check(
        || {
            Table::new("carts")
                .update(cart_key())
                .expression("ADD #c :one")
                .condition("attribute_exists(pk) AND #c < :max")
                .name("#c", "count")
                .value(":one", 1)
                .value(":max", 10_u32)
                .return_values(ReturnValues::UpdatedNew)
                .send()
        },
        Ok(json!({"Attributes": {"count": {"N": "4"}}})),
        "UpdateItem",
        json!({
            "TableName": "carts",
            "Key": {"pk": {"S": "cart#1"}, "sk": {"S": "item#tea"}},
            "UpdateExpression": "ADD #c :one",
            "ConditionExpression": "attribute_exists(pk) AND #c < :max",
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": "10"}},
            "ReturnValues": "UPDATED_NEW",
        }),
        Ok(Some(item([("count", 4.into())]))),
    );
}

#[test]
fn delete_answers_the_old_item_when_asked() {
    check(
        || {
            Table::new("carts")
                .delete(cart_key())
                .return_values(ReturnValues::AllOld)
                .send()
        },
        Ok(json!({"Attributes": {"pk": {"S": "cart#1"}}})),
        "DeleteItem",
        json!({
            "TableName": "carts",
            "Key": {"pk": {"S": "cart#1"}, "sk": {"S": "item#tea"}},
            "ReturnValues": "ALL_OLD",
        }),
        Ok(Some(item([("pk", "cart#1".into())]))),
    );
}

#[test]
fn query_sends_every_option_and_answers_a_page() {
    check(
        || {
            Table::new("carts")
                .query("pk = :pk AND begins_with(sk, :prefix)")
                .index("by-status")
                .filter("#s = :open")
                .name("#s", "status")
                .value(":pk", "cart#1")
                .value(":prefix", "item#")
                .value(":open", "open")
                .limit(2)
                .scan_index_forward(false)
                .exclusive_start_key(cart_key())
                .send()
        },
        Ok(json!({
            "Items": [{"sk": {"S": "item#b"}}, {"sk": {"S": "item#a"}}],
            "Count": 2,
            "ScannedCount": 2,
            "LastEvaluatedKey": {"pk": {"S": "cart#1"}, "sk": {"S": "item#a"}},
        })),
        "Query",
        json!({
            "TableName": "carts",
            "IndexName": "by-status",
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "#s = :open",
            "Limit": 2,
            "ScanIndexForward": false,
            "ExclusiveStartKey": {"pk": {"S": "cart#1"}, "sk": {"S": "item#tea"}},
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":pk": {"S": "cart#1"}, ":prefix": {"S": "item#"}, ":open": {"S": "open"},
            },
        }),
        Ok(Page {
            items: vec![
                item([("sk", "item#b".into())]),
                item([("sk", "item#a".into())]),
            ],
            last_evaluated_key: Some(item([("pk", "cart#1".into()), ("sk", "item#a".into())])),
        }),
    );
    check(
        || {
            Table::new("carts")
                .query("pk = :pk")
                .value(":pk", "none")
                .send()
        },
        Ok(json!({"Count": 0, "ScannedCount": 0})),
        "Query",
        json!({
            "TableName": "carts",
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "none"}},
        }),
        Ok(Page {
            items: Vec::new(),
            last_evaluated_key: None,
        }),
    );
}

#[test]
fn raw_calls_pass_json_through() {
    let request =
        json!({"RequestItems": {"carts": [{"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}});
    check(
        || call("BatchWriteItem", &request),
        Ok(json!({"UnprocessedItems": {}})),
        "BatchWriteItem",
        request.clone(),
        Ok(json!({"UnprocessedItems": {}})),
    );
    check(
        || call("BatchWriteItem", &request),
        Err(Error::new(
            "ResourceNotFoundException",
            "Requested resource not found",
        )),
        "BatchWriteItem",
        request.clone(),
        Err(Error::new(
            "ResourceNotFoundException",
            "Requested resource not found",
        )),
    );
}

#[test]
fn a_response_of_the_wrong_shape_is_an_invalid_response() {
    check(
        || Table::new("carts").get(cart_key()),
        Ok(json!({"Item": {"pk": {"S": 1}}})),
        "GetItem",
        json!({"TableName": "carts", "Key": {"pk": {"S": "cart#1"}, "sk": {"S": "item#tea"}}}),
        Err(Error::new(
            "InvalidResponse",
            "the GetItem response does not parse: invalid type: integer `1`, expected a string at line 1 column 20",
        )),
    );
}

#[test]
fn errors_classify_by_code_and_become_function_errors() {
    let error = Error::new(
        "ConditionalCheckFailedException",
        "The conditional request failed",
    );
    assert!(error.is_conditional_check_failed());
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "ConditionalCheckFailedException: The conditional request failed"
    );
    assert!(Error::new("ResourceNotFoundException", "").is_resource_not_found());
    assert!(Error::new("ValidationException", "").is_validation());
    assert!(Error::new("TransactionCanceledException", "").is_transaction_canceled());
    assert!(Error::new("ThrottlingException", "").is_retryable());
    assert!(!Error::new("ValidationException", "").is_retryable());

    let function_error = crate::Error::from(error);
    assert_eq!(
        function_error.error_type(),
        "ConditionalCheckFailedException"
    );
    assert_eq!(function_error.message(), "The conditional request failed");
}
