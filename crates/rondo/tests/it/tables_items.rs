//! DynamoDB-compatible tables, one item at a time: PutItem, GetItem, UpdateItem and DeleteItem
//! with conditions, return values, update expressions, projections, and exact numbers.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::support::dynamo::Tables;
use crate::support::dynamo::{
    Item, Values, assert_item, b, bs, create_table, expect_error, get_n, item, l, m, n, ns, s, ss,
};

const TABLE: &str = "things";

/// A running app with one table, `things`, keyed by the string `pk`.
async fn start() -> Tables {
    let tables = Tables::start("");
    create_table(&tables.client, TABLE, &[("pk", "S")]).await;
    tables
}

fn key(pk: &str) -> Item {
    item(&[("pk", s(pk))])
}

async fn get(client: &Client, pk: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(TABLE)
        .set_key(Some(key(pk)))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

async fn put(client: &Client, item: &Item) {
    client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(item.clone()))
        .send()
        .await
        .expect("put item");
}

/// Every attribute type, including the empty values allowed outside keys.
fn every_type(pk: &str) -> Item {
    item(&[
        ("pk", s(pk)),
        ("txt", s("héllo, wörld")),
        ("emptyStr", s("")),
        ("num", n("-12.5")),
        ("bin", b(&[0, 1, 254, 255])),
        ("emptyBin", b(&[])),
        ("strs", ss(&["b", "a"])),
        ("nums", ns(&["3", "1", "2.5"])),
        ("bins", bs(&[&[1], &[2, 3]])),
        (
            "doc",
            m(&[(
                "nested",
                m(&[("deep", l(vec![n("1"), s("x"), AttributeValue::Null(true)]))]),
            )]),
        ),
        (
            "things",
            l(vec![s("a"), n("2"), AttributeValue::Bool(false)]),
        ),
        ("emptyList", l(vec![])),
        ("emptyMap", m(&[])),
        ("flag", AttributeValue::Bool(true)),
        ("nothing", AttributeValue::Null(true)),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn put_get_and_delete_every_attribute_type() {
    let tables = start().await;
    let client = &tables.client;
    let everything = every_type("all");

    let put = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(everything.clone()))
        .send()
        .await
        .expect("put item");
    assert_eq!(put.attributes, None, "ReturnValues defaults to NONE");

    assert_item(
        get(client, "all").await.as_ref(),
        Some(&everything),
        "round trip",
    );
    let eventual = client
        .get_item()
        .table_name(TABLE)
        .key("pk", s("all"))
        .send()
        .await
        .expect("eventually consistent get");
    assert_item(
        eventual.item(),
        Some(&everything),
        "eventually consistent read",
    );

    let miss = client
        .get_item()
        .table_name(TABLE)
        .key("pk", s("nobody"))
        .send()
        .await
        .expect("get a missing item");
    assert!(miss.item.is_none(), "a miss has no Item: {miss:?}");

    let deleted = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("all"))
        .send()
        .await
        .expect("delete item");
    assert_eq!(deleted.attributes, None);
    assert_eq!(get(client, "all").await, None, "deleted");
    client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("all"))
        .send()
        .await
        .expect("deleting a missing item succeeds");
}

#[tokio::test(flavor = "multi_thread")]
async fn put_item_conditions_and_return_values() {
    let tables = start().await;
    let client = &tables.client;
    let first = item(&[("pk", s("p")), ("version", n("1"))]);
    let second = item(&[("pk", s("p")), ("version", n("2"))]);

    let created = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(first.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("create only");
    assert_eq!(created.attributes, None, "no old item on a create");

    // The create-only idiom refuses the second put; the item is unchanged.
    let refused = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(second.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    let error = refused.expect_err("second create").into_service_error();
    let PutItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.message(), Some("The conditional request failed"));
    assert_eq!(failed.item, None, "no item unless asked for");
    assert_eq!(get(client, "p").await, Some(first.clone()));

    // ReturnValuesOnConditionCheckFailure=ALL_OLD puts the item in the exception.
    let refused = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(second.clone()))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n("5"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let error = refused.expect_err("wrong version").into_service_error();
    let PutItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.item, Some(first.clone()));

    let replaced = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(second.clone()))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("conditional replace");
    assert_eq!(replaced.attributes, Some(first));
    assert_eq!(get(client, "p").await, Some(second.clone()));

    let none = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(second.clone()))
        .return_values(ReturnValue::None)
        .send()
        .await
        .expect("put with NONE");
    assert_eq!(none.attributes, None);

    // PutItem only returns NONE or ALL_OLD.
    for refused in [
        ReturnValue::AllNew,
        ReturnValue::UpdatedOld,
        ReturnValue::UpdatedNew,
    ] {
        let result = client
            .put_item()
            .table_name(TABLE)
            .set_item(Some(second.clone()))
            .return_values(refused.clone())
            .send()
            .await;
        expect_error(result, "ValidationException");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_item_conditions_and_return_values() {
    let tables = start().await;
    let client = &tables.client;
    let stored = item(&[("pk", s("d")), ("locked", AttributeValue::Bool(true))]);
    put(client, &stored).await;

    let refused = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("d"))
        .condition_expression("locked = :no")
        .expression_attribute_values(":no", AttributeValue::Bool(false))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let error = refused.expect_err("locked").into_service_error();
    let DeleteItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.item, Some(stored.clone()));
    assert_eq!(get(client, "d").await, Some(stored.clone()), "not deleted");

    let deleted = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("d"))
        .condition_expression("locked = :yes")
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("conditional delete");
    assert_eq!(deleted.attributes, Some(stored));
    assert_eq!(get(client, "d").await, None);

    let missing = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("d"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("delete a missing item");
    assert_eq!(missing.attributes, None);

    // A condition on a missing item is evaluated against an empty item.
    let refused = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("d"))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await;
    expect_error(refused, "ConditionalCheckFailedException");

    let result = client
        .delete_item()
        .table_name(TABLE)
        .key("pk", s("d"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    expect_error(result, "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_item_returns_each_kind_of_values() {
    let tables = start().await;
    let client = &tables.client;
    let base = item(&[
        ("pk", s("rv")),
        ("num", n("1")),
        ("txt", s("x")),
        ("untouched", s("same")),
    ]);
    // SET num = num + 1, SET fresh (new), REMOVE txt.
    let cases = [
        (ReturnValue::None, None),
        (ReturnValue::AllOld, Some(base.clone())),
        (
            ReturnValue::UpdatedOld,
            Some(item(&[("num", n("1")), ("txt", s("x"))])),
        ),
        (
            ReturnValue::AllNew,
            Some(item(&[
                ("pk", s("rv")),
                ("num", n("2")),
                ("fresh", s("new")),
                ("untouched", s("same")),
            ])),
        ),
        (
            ReturnValue::UpdatedNew,
            Some(item(&[("num", n("2")), ("fresh", s("new"))])),
        ),
    ];
    for (return_values, expected) in cases {
        put(client, &base).await;
        let updated = client
            .update_item()
            .table_name(TABLE)
            .key("pk", s("rv"))
            .update_expression("SET num = num + :one, fresh = :new REMOVE txt")
            .expression_attribute_values(":one", n("1"))
            .expression_attribute_values(":new", s("new"))
            .return_values(return_values.clone())
            .send()
            .await
            .expect("update item");
        assert_eq!(
            updated.attributes, expected,
            "ReturnValues {return_values:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_item_upserts_and_checks_conditions() {
    let tables = start().await;
    let client = &tables.client;

    let created = client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("new"))
        .update_expression("SET title = :t ADD visits :one")
        .expression_attribute_values(":t", s("hello"))
        .expression_attribute_values(":one", n("1"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .expect("upsert");
    let expected = item(&[("pk", s("new")), ("title", s("hello")), ("visits", n("1"))]);
    assert_eq!(created.attributes, Some(expected.clone()));
    assert_eq!(get(client, "new").await, Some(expected));

    // Without an update expression, an update of a missing item creates it from its key.
    client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("bare"))
        .send()
        .await
        .expect("update with no expression");
    assert_eq!(get(client, "bare").await, Some(key("bare")));

    // A failing condition creates nothing.
    let refused = client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("ghost"))
        .update_expression("SET title = :t")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":t", s("boo"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let error = refused
        .expect_err("update of a missing item")
        .into_service_error();
    let UpdateItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.item, None, "there was no old item");
    assert_eq!(get(client, "ghost").await, None, "nothing created");

    let stored = item(&[("pk", s("ver")), ("version", n("3"))]);
    put(client, &stored).await;
    let refused = client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("ver"))
        .update_expression("SET version = :next")
        .condition_expression("version = :expected")
        .expression_attribute_values(":next", n("5"))
        .expression_attribute_values(":expected", n("4"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let error = refused.expect_err("stale version").into_service_error();
    let UpdateItemError::ConditionalCheckFailedException(failed) = error else {
        panic!("expected ConditionalCheckFailedException, got {error:?}");
    };
    assert_eq!(failed.item, Some(stored.clone()));
    assert_eq!(get(client, "ver").await, Some(stored));
}

/// One update-expression case: the item before, the expression and its values, the item after.
struct UpdateCase {
    expression: &'static str,
    names: &'static [(&'static str, &'static str)],
    values: Values,
    after: Item,
}

fn update_base() -> Item {
    item(&[
        ("pk", s("u")),
        ("num", n("5")),
        ("txt", s("x")),
        ("things", l(vec![n("1"), n("2"), n("3")])),
        ("doc", m(&[("a", m(&[("b", n("1"))]))])),
        ("tags", ss(&["a", "b"])),
        ("nums", ns(&["1", "2"])),
    ])
}

/// `update_base()` with `changes` applied: `Some(value)` sets, `None` removes.
fn base_with(changes: &[(&str, Option<AttributeValue>)]) -> Item {
    let mut item = update_base();
    for (name, value) in changes {
        match value {
            Some(value) => item.insert((*name).to_owned(), value.clone()),
            None => item.remove(*name),
        };
    }
    item
}

fn update_cases() -> Vec<UpdateCase> {
    let case = |expression,
                values: Vec<(&'static str, AttributeValue)>,
                changes: &[(&str, Option<AttributeValue>)]| {
        UpdateCase {
            expression,
            names: &[],
            values,
            after: base_with(changes),
        }
    };
    vec![
        case(
            "SET num = num + :two",
            vec![(":two", n("2"))],
            &[("num", Some(n("7")))],
        ),
        case(
            "SET num = :ten - num",
            vec![(":ten", n("10"))],
            &[("num", Some(n("5")))],
        ),
        case(
            "SET fresh = if_not_exists(fresh, :zero), num = if_not_exists(num, :zero)",
            vec![(":zero", n("0"))],
            &[("fresh", Some(n("0")))],
        ),
        case(
            "SET things = list_append(things, :more)",
            vec![(":more", l(vec![n("4")]))],
            &[("things", Some(l(vec![n("1"), n("2"), n("3"), n("4")])))],
        ),
        case(
            "SET things = list_append(:more, things)",
            vec![(":more", l(vec![n("0")]))],
            &[("things", Some(l(vec![n("0"), n("1"), n("2"), n("3")])))],
        ),
        case(
            "SET doc.a.c = :v, doc.top = :v",
            vec![(":v", s("v"))],
            &[(
                "doc",
                Some(m(&[
                    ("a", m(&[("b", n("1")), ("c", s("v"))])),
                    ("top", s("v")),
                ])),
            )],
        ),
        case(
            "SET doc.a.b = doc.a.b + :one",
            vec![(":one", n("1"))],
            &[("doc", Some(m(&[("a", m(&[("b", n("2"))]))])))],
        ),
        case(
            "SET things[1] = :v",
            vec![(":v", s("two"))],
            &[("things", Some(l(vec![n("1"), s("two"), n("3")])))],
        ),
        // SET past the end of a list appends.
        case(
            "SET things[10] = :v",
            vec![(":v", s("end"))],
            &[("things", Some(l(vec![n("1"), n("2"), n("3"), s("end")])))],
        ),
        case(
            "SET things[0] = things[2]",
            vec![],
            &[("things", Some(l(vec![n("3"), n("2"), n("3")])))],
        ),
        // REMOVE of a list element shifts the later ones down; a missing attribute is a no-op.
        case(
            "REMOVE things[0], txt, absent",
            vec![],
            &[("things", Some(l(vec![n("2"), n("3")]))), ("txt", None)],
        ),
        case(
            "REMOVE doc.a.b",
            vec![],
            &[("doc", Some(m(&[("a", m(&[]))])))],
        ),
        // ADD: a missing number starts at 0, a missing set is created.
        case(
            "ADD num :two, tally :two",
            vec![(":two", n("2"))],
            &[("num", Some(n("7"))), ("tally", Some(n("2")))],
        ),
        case(
            "ADD tags :more, newTags :more, nums :three",
            vec![(":more", ss(&["c", "a"])), (":three", ns(&["3"]))],
            &[
                ("tags", Some(ss(&["a", "b", "c"]))),
                ("newTags", Some(ss(&["a", "c"]))),
                ("nums", Some(ns(&["1", "2", "3"]))),
            ],
        ),
        // DELETE removes set elements; removing the last one removes the attribute.
        case(
            "DELETE tags :a, nums :all",
            vec![(":a", ss(&["a", "zzz"])), (":all", ns(&["1", "2"]))],
            &[("tags", Some(ss(&["b"]))), ("nums", None)],
        ),
        // Clauses come in any order, each keyword once.
        case(
            "REMOVE txt ADD nums :nine SET num = :one",
            vec![(":nine", ns(&["9"])), (":one", n("1"))],
            &[
                ("txt", None),
                ("nums", Some(ns(&["1", "2", "9"]))),
                ("num", Some(n("1"))),
            ],
        ),
        UpdateCase {
            expression: "SET #name = :v, #doc.#a.#b = :v",
            names: &[("#name", "name"), ("#doc", "doc"), ("#a", "a"), ("#b", "b")],
            values: vec![(":v", s("aliased"))],
            after: base_with(&[
                ("name", Some(s("aliased"))),
                ("doc", Some(m(&[("a", m(&[("b", s("aliased"))]))]))),
            ]),
        },
        // An attribute name with a dot is one name when it is a placeholder.
        UpdateCase {
            expression: "SET #dotted = :v",
            names: &[("#dotted", "a.b")],
            values: vec![(":v", s("flat"))],
            after: base_with(&[("a.b", Some(s("flat")))]),
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn update_expressions_set_remove_add_and_delete() {
    let tables = start().await;
    let client = &tables.client;
    for case in update_cases() {
        put(client, &update_base()).await;
        let mut request = client
            .update_item()
            .table_name(TABLE)
            .key("pk", s("u"))
            .update_expression(case.expression)
            .return_values(ReturnValue::AllNew);
        for (placeholder, name) in case.names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in &case.values {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
        let updated = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.expression));
        assert_item(
            updated.attributes.as_ref(),
            Some(&case.after),
            &format!("ALL_NEW of {}", case.expression),
        );
        assert_item(
            get(client, "u").await.as_ref(),
            Some(&case.after),
            &format!("stored after {}", case.expression),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_expressions_refuse_invalid_updates() {
    let tables = start().await;
    let client = &tables.client;
    put(client, &update_base()).await;
    let cases: [(&str, Values, &str); 8] = [
        (
            "SET absent.child = :v",
            vec![(":v", s("v"))],
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET txt[0] = :v",
            vec![(":v", s("v"))],
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET doc = :v, doc.a = :v",
            vec![(":v", s("v"))],
            "Two document paths",
        ),
        (
            "SET things[0] = :v REMOVE things[0]",
            vec![(":v", s("v"))],
            "Two document paths",
        ),
        (
            "SET doc.a = :v REMOVE doc",
            vec![(":v", s("v"))],
            "Two document paths",
        ),
        (
            "ADD txt :two",
            vec![(":two", n("2"))],
            "An operand in the update expression has an incorrect data type",
        ),
        // Arithmetic is on numbers only.
        ("SET num = num + :txt", vec![(":txt", s("x"))], ""),
        (
            "SET pk = :v",
            vec![(":v", s("other"))],
            "Cannot update attribute pk. This attribute is part of the key",
        ),
    ];
    for (expression, values, needle) in cases {
        let mut request = client
            .update_item()
            .table_name(TABLE)
            .key("pk", s("u"))
            .update_expression(expression);
        for (placeholder, value) in values {
            request = request.expression_attribute_values(placeholder, value);
        }
        let result = request.send().await;
        let message = expect_error(result, "ValidationException");
        assert!(
            message.contains(needle),
            "{expression}: expected {needle:?} in {message:?}"
        );
    }
    let deleted = client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("u"))
        .update_expression("DELETE txt :v")
        .expression_attribute_values(":v", ss(&["x"]))
        .send()
        .await;
    expect_error(deleted, "ValidationException");
    assert_eq!(
        get(client, "u").await,
        Some(update_base()),
        "no refused update changed the item"
    );
}

/// Whether `condition` holds for `stored`, asked through a conditional PutItem that writes the
/// item unchanged. Of `values`, the placeholders the condition mentions are sent (each supplied
/// placeholder must be used).
async fn condition_holds(
    client: &Client,
    stored: &Item,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> bool {
    let mut request = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(stored.clone()))
        .condition_expression(condition);
    for (placeholder, value) in values {
        let mentioned = condition
            .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '_'))
            .any(|word| word == *placeholder);
        if mentioned {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
    }
    match request.send().await {
        Ok(_) => true,
        Err(error) => {
            let error = error.into_service_error();
            assert!(
                error.is_conditional_check_failed_exception(),
                "{condition}: {error:?}"
            );
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn condition_expressions_follow_dynamodb_semantics() {
    let tables = start().await;
    let client = &tables.client;
    let stored = item(&[
        ("pk", s("c")),
        ("num", n("5")),
        ("txt", s("hello")),
        ("things", l(vec![n("1"), s("two")])),
        ("tags", ss(&["a", "b"])),
        ("doc", m(&[("k", s("v"))])),
        ("bin", b(&[1, 2])),
        ("nothing", AttributeValue::Null(true)),
        ("flag", AttributeValue::Bool(true)),
    ]);
    put(client, &stored).await;
    // Placeholders are unique per name; whichever a condition mentions are sent.
    let values = [
        (":zero", n("0")),
        (":one", n("1")),
        (":two", n("2")),
        (":five", n("5")),
        (":fives", s("5")),
        (":ten", n("10")),
        (":twos", s("two")),
        (":ell", s("ell")),
        (":he", s("he")),
        (":a", s("a")),
        (":z", s("z")),
        (":Z", s("Z")),
        (":hello", s("hello")),
        (":nope", s("nope")),
        (":v", s("v")),
        (":bin1", b(&[1])),
        (":yes", AttributeValue::Bool(true)),
        (":typeN", s("N")),
        (":typeS", s("S")),
        (":typeSS", s("SS")),
        (":typeNULL", s("NULL")),
        (":typeBOOL", s("BOOL")),
        (":typeL", s("L")),
        (":typeM", s("M")),
    ];
    let cases = [
        ("num = :five", true),
        ("num = :fives", false), // different types compare false, not an error
        ("num <> :fives", true),
        (
            "num < :ten AND num > :one AND num <= :five AND num >= :five",
            true,
        ),
        ("absent = :five", false),
        ("absent < :five", false),
        ("absent <> :five", true), // <> on a missing attribute is true
        ("absent IN (:five)", false),
        ("num BETWEEN :one AND :ten", true),
        ("num BETWEEN :one AND :two", false),
        ("num IN (:one, :two, :five)", true),
        ("num IN (:one, :two)", false),
        ("txt BETWEEN :a AND :z", true),
        ("txt > :Z", true), // byte order: lower case sorts after upper case
        ("txt < :z", true),
        ("size(txt) = :five", true),
        ("size(things) = :two", true),
        ("size(tags) = :two", true),
        ("size(doc) = :one", true),
        ("size(bin) = :two", true),
        ("size(absent) = :zero", false),
        ("contains(txt, :ell)", true),
        ("contains(tags, :a)", true),
        ("contains(tags, :z)", false),
        ("contains(things, :twos)", true),
        ("contains(things, :one)", true),
        ("contains(num, :five)", false),
        ("begins_with(txt, :he)", true),
        ("begins_with(txt, :ell)", false),
        ("begins_with(bin, :bin1)", true),
        ("attribute_exists(doc.k)", true),
        ("attribute_exists(doc.x)", false),
        ("attribute_not_exists(doc.x)", true),
        ("attribute_exists(things[1])", true),
        ("attribute_exists(things[5])", false),
        ("attribute_exists(nothing)", true),
        ("attribute_type(num, :typeN)", true),
        ("attribute_type(num, :typeS)", false),
        ("attribute_type(tags, :typeSS)", true),
        ("attribute_type(nothing, :typeNULL)", true),
        ("attribute_type(flag, :typeBOOL)", true),
        ("attribute_type(things, :typeL)", true),
        ("attribute_type(doc, :typeM)", true),
        ("doc.k = :v", true),
        ("things[1] = :twos", true),
        ("flag = :yes", true),
        ("NOT num = :five", false),
        ("NOT (num = :one)", true),
        ("num = :one OR txt = :hello", true),
        ("num = :five AND txt = :nope", false),
        // AND binds tighter than OR: true OR (false AND false).
        ("num = :five OR num = :one AND txt = :nope", true),
        ("(num = :five OR num = :one) AND txt = :nope", false),
        ("NOT num = :one AND txt = :hello", true),
    ];
    for (condition, expected) in cases {
        let holds = condition_holds(client, &stored, condition, &values).await;
        assert_eq!(holds, expected, "{condition}");
    }
    assert_eq!(
        get(client, "c").await,
        Some(stored),
        "conditional puts wrote the same item"
    );

    let reversed = client
        .put_item()
        .table_name(TABLE)
        .set_item(Some(key("c")))
        .condition_expression("num BETWEEN :ten AND :one")
        .expression_attribute_values(":ten", n("10"))
        .expression_attribute_values(":one", n("1"))
        .send()
        .await;
    expect_error(reversed, "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn projection_expressions_return_only_the_named_paths() {
    let tables = start().await;
    let client = &tables.client;
    let stored = item(&[
        ("pk", s("proj")),
        ("txt", s("t")),
        ("name", s("reserved words need a placeholder")),
        ("doc", m(&[("k", s("v")), ("other", s("o"))])),
        ("things", l(vec![s("zero"), s("one"), s("two")])),
        ("num", n("1")),
    ]);
    put(client, &stored).await;

    let got = client
        .get_item()
        .table_name(TABLE)
        .key("pk", s("proj"))
        .projection_expression("txt, doc.k, things[1], #n, absent, doc.absent")
        .expression_attribute_names("#n", "name")
        .send()
        .await
        .expect("get with projection");
    let expected = item(&[
        ("txt", s("t")),
        ("name", s("reserved words need a placeholder")),
        ("doc", m(&[("k", s("v"))])),
        ("things", l(vec![s("one")])),
    ]);
    assert_eq!(got.item, Some(expected));

    let keys_only = client
        .get_item()
        .table_name(TABLE)
        .key("pk", s("proj"))
        .projection_expression("pk")
        .send()
        .await
        .expect("get the key only");
    assert_eq!(keys_only.item, Some(key("proj")));

    let scanned = client
        .scan()
        .table_name(TABLE)
        .projection_expression("num")
        .send()
        .await
        .expect("scan with projection");
    assert_eq!(scanned.items(), [item(&[("num", n("1"))])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn numbers_are_exact_and_normalised() {
    let tables = start().await;
    let client = &tables.client;
    let tiny = format!("0.{}1", "0".repeat(129));
    let huge = format!("{}{}", "9".repeat(38), "0".repeat(88));
    let written = item(&[
        ("pk", s("numbers")),
        ("a", n("01.50")),
        ("b", n("-0")),
        ("c", n("1E+3")),
        ("d", n("0.000100")),
        ("e", n("-1.2e-2")),
        ("f", n("12345678901234567890123456789012345678")),
        ("g", n("-1.2345678901234567890123456789012345678")),
        ("h", n(&format!("1{}", "0".repeat(39)))),
        ("i", n("100")),
        ("tiny", n("1E-130")),
        ("huge", n("9.9999999999999999999999999999999999999E+125")),
        ("set", ns(&["01", "2.50"])),
    ]);
    let normalised = item(&[
        ("pk", s("numbers")),
        ("a", n("1.5")),
        ("b", n("0")),
        ("c", n("1000")),
        ("d", n("0.0001")),
        ("e", n("-0.012")),
        ("f", n("12345678901234567890123456789012345678")),
        ("g", n("-1.2345678901234567890123456789012345678")),
        ("h", n(&format!("1{}", "0".repeat(39)))),
        ("i", n("100")),
        ("tiny", n(&tiny)),
        ("huge", n(&huge)),
        ("set", ns(&["1", "2.5"])),
    ]);
    put(client, &written).await;
    assert_item(
        get(client, "numbers").await.as_ref(),
        Some(&normalised),
        "normalised numbers",
    );

    let refused = [
        (
            "123456789012345678901234567890123456789",
            "Attempting to store more than 38 significant digits in a Number",
        ),
        (
            "1.00000000000000000000000000000000000001",
            "Attempting to store more than 38 significant digits in a Number",
        ),
        ("1E126", "Number overflow"),
        ("-1E126", "Number overflow"),
        ("1E-131", "Number underflow"),
        ("abc", ""),
        ("1e", ""),
        ("", ""),
    ];
    for (text, needle) in refused {
        let result = client
            .put_item()
            .table_name(TABLE)
            .item("pk", s("bad"))
            .item("x", n(text))
            .send()
            .await;
        let message = expect_error(result, "ValidationException");
        assert!(
            message.contains(needle),
            "{text:?}: expected {needle:?} in {message:?}"
        );
    }
    // Sets are judged by value: 1 and 1.0 are the same number.
    let duplicate = client
        .put_item()
        .table_name(TABLE)
        .item("pk", s("bad"))
        .item("x", ns(&["1", "1.0"]))
        .send()
        .await;
    expect_error(duplicate, "ValidationException");
    assert_eq!(get(client, "bad").await, None);

    // Arithmetic is exact decimal arithmetic.
    let two_e125 = format!("2{}", "0".repeat(125));
    let cases = [
        (
            "ADD x :y",
            "99999999999999999999999999999999999999",
            "1",
            "100000000000000000000000000000000000000",
        ),
        ("ADD x :y", "0.1", "0.2", "0.3"),
        ("SET x = x - :y", "1", "0.9", "0.1"),
        (
            "SET x = x + :y",
            "12345678901234567890123456789012345678",
            "-12345678901234567890123456789012345677",
            "1",
        ),
        ("SET x = x + :y", "-5", "5", "0"),
        ("ADD x :y", "1E+125", "1E+125", two_e125.as_str()),
    ];
    for (expression, start, operand, expected) in cases {
        put(client, &item(&[("pk", s("math")), ("x", n(start))])).await;
        let updated = client
            .update_item()
            .table_name(TABLE)
            .key("pk", s("math"))
            .update_expression(expression)
            .expression_attribute_values(":y", n(operand))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{start} {expression} with {operand}: {e:?}"));
        let attributes = updated.attributes.expect("UPDATED_NEW");
        assert_eq!(
            get_n(&attributes, "x"),
            expected,
            "{start} {expression} with {operand}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn number_keys_are_normalised() {
    let tables = Tables::start("");
    let client = &tables.client;
    create_table(client, "scores", &[("pk", "S"), ("sk", "N")]).await;

    client
        .put_item()
        .table_name("scores")
        .item("pk", s("p"))
        .item("sk", n("1.50"))
        .item("v", s("first"))
        .send()
        .await
        .expect("put");
    client
        .put_item()
        .table_name("scores")
        .item("pk", s("p"))
        .item("sk", n("01.5000"))
        .item("v", s("second"))
        .send()
        .await
        .expect("put the same key spelled differently");
    let got = client
        .get_item()
        .table_name("scores")
        .key("pk", s("p"))
        .key("sk", n("1.5"))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.item,
        Some(item(&[
            ("pk", s("p")),
            ("sk", n("1.5")),
            ("v", s("second"))
        ]))
    );
    let query = client
        .query()
        .table_name("scores")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .expect("query");
    assert_eq!(query.count(), 1, "one item under two spellings: {query:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn items_over_400_kb_are_refused() {
    let tables = start().await;
    let client = &tables.client;
    let limit_bytes = 400 * 1024;

    let fits = "x".repeat(limit_bytes - 8 * 1024);
    put(client, &item(&[("pk", s("fits")), ("v", s(&fits))])).await;
    let got = get(client, "fits").await.expect("the item that fits");
    assert_eq!(got["v"], s(&fits));

    let too_big = "x".repeat(limit_bytes + 1);
    let result = client
        .put_item()
        .table_name(TABLE)
        .item("pk", s("big"))
        .item("v", s(&too_big))
        .send()
        .await;
    expect_error(result, "ValidationException");
    assert_eq!(get(client, "big").await, None);

    // Growing an item past the limit with an update is refused too.
    let half = "y".repeat(limit_bytes / 2 + 1024);
    put(client, &item(&[("pk", s("grow")), ("a", s(&half))])).await;
    let result = client
        .update_item()
        .table_name(TABLE)
        .key("pk", s("grow"))
        .update_expression("SET b = :half")
        .expression_attribute_values(":half", s(&half))
        .send()
        .await;
    expect_error(result, "ValidationException");
    let grown = get(client, "grow").await.expect("the item");
    assert!(
        !grown.contains_key("b"),
        "the refused update left the item as it was"
    );

    // Attribute names count towards the size.
    let long_name = "n".repeat(1024);
    let result = client
        .put_item()
        .table_name(TABLE)
        .item("pk", s("names"))
        .item(&long_name, s(&"x".repeat(limit_bytes - 512)))
        .send()
        .await;
    expect_error(result, "ValidationException");
}
