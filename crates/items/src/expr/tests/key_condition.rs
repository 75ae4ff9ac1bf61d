//! Key condition expressions: the shapes DynamoDB allows and its messages for the others.

use super::{Env, message_of, value};
use crate::expr::SortCondition;

fn check(env: &Env, text: &str, expected: &[(&str, SortCondition)]) {
    let parsed = env
        .key_condition(text)
        .unwrap_or_else(|message| panic!("{text}: {message}"));
    let expected: Vec<(String, SortCondition)> = expected
        .iter()
        .map(|(name, condition)| ((*name).to_owned(), condition.clone()))
        .collect();
    assert_eq!(parsed.conditions, expected, "{text}");
}

fn check_error(env: &Env, text: &str, expected: &str) {
    assert_eq!(message_of(env.key_condition(text)), expected, "{text}");
}

#[test]
fn accepted_shapes() {
    let env = Env::standard().name("#pk", "pk").name("#sk", "sk");
    let a = || value(r#"{"S": "a"}"#);
    let n5 = || value(r#"{"N": "5"}"#);
    let n10 = || value(r#"{"N": "10"}"#);
    check(&env, "pk = :a", &[("pk", SortCondition::Eq(a()))]);
    check(&env, "#pk = :a", &[("pk", SortCondition::Eq(a()))]);
    check(&env, ":a = pk", &[("pk", SortCondition::Eq(a()))]);
    check(
        &env,
        "pk = :a AND sk = :n5",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Eq(n5())),
        ],
    );
    check(
        &env,
        "pk = :a and sk < :n5",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Lt(n5())),
        ],
    );
    check(
        &env,
        "pk = :a AND sk <= :n5",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Le(n5())),
        ],
    );
    check(
        &env,
        "pk = :a AND sk > :n5",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Gt(n5())),
        ],
    );
    check(
        &env,
        "pk = :a AND sk >= :n5",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Ge(n5())),
        ],
    );
    check(
        &env,
        ":n5 < sk AND pk = :a",
        &[
            ("sk", SortCondition::Gt(n5())),
            ("pk", SortCondition::Eq(a())),
        ],
    );
    check(
        &env,
        ":n5 >= #sk AND pk = :a",
        &[
            ("sk", SortCondition::Le(n5())),
            ("pk", SortCondition::Eq(a())),
        ],
    );
    check(
        &env,
        "pk = :a AND sk BETWEEN :n5 AND :n10",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::Between(n5(), n10())),
        ],
    );
    check(
        &env,
        "pk = :a AND begins_with(sk, :ab)",
        &[
            ("pk", SortCondition::Eq(a())),
            ("sk", SortCondition::BeginsWith(value(r#"{"S": "ab"}"#))),
        ],
    );
    for text in [
        "(#pk = :a) AND (#sk = :n5)",
        "(#pk = :a AND #sk = :n5)",
        "(#pk = :a AND (#sk = :n5))",
    ] {
        check(
            &env,
            text,
            &[
                ("pk", SortCondition::Eq(a())),
                ("sk", SortCondition::Eq(n5())),
            ],
        );
    }
}

#[test]
fn operators_a_key_condition_cannot_use() {
    let env = Env::new();
    for (text, operator) in [
        ("a > b and size(b) > c or a > c", "OR"),
        ("a in (b, size(c), d)", "IN"),
        ("attribute_exists(a)", "attribute_exists"),
        ("attribute_not_exists(a)", "attribute_not_exists"),
        ("contains(a.d, b)", "contains"),
        ("not a > b", "NOT"),
        ("a <> b", "<>"),
    ] {
        check_error(
            &env,
            text,
            &format!("Invalid operator used in KeyConditionExpression: {operator}"),
        );
    }
    let env = Env::new().value(":a", r#"{"S": "S"}"#);
    check_error(
        &env,
        "attribute_type(a, :a)",
        "Invalid operator used in KeyConditionExpression: attribute_type",
    );
}

#[test]
fn conditions_a_key_condition_cannot_hold() {
    let env = Env::new()
        .value(":a", r#"{"S": "1"}"#)
        .value(":b", r#"{"S": "1"}"#);
    for (text, operator) in [
        (":a between size(b) and size(a) and b > :b", "BETWEEN"),
        ("begins_with(:a, b) and a > :b", "begins_with"),
    ] {
        check_error(
            &env,
            text,
            &format!(
                "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
            ),
        );
    }
    let env = Env::new();
    for text in [
        "size(b) > a AND a.b > b AND b > c",
        "a > size(b.d)",
        "a between size(b) and size(a)",
    ] {
        check_error(
            &env,
            text,
            "KeyConditionExpressions cannot contain nested operations",
        );
    }
    for text in [
        "b > a.b",
        "b between c[1] and d",
        "a between b and size(a)",
        "begins_with(a, b)",
    ] {
        check_error(
            &env,
            text,
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        );
    }
    for text in ["b.d > a AND c.d > e.f", "a.d > c", "b[0] > a"] {
        check_error(
            &env,
            text,
            "KeyConditionExpressions cannot have conditions on nested attributes",
        );
    }
    let env = Env::new()
        .value(":a", r#"{"N": "1"}"#)
        .value(":b", r#"{"N": "1"}"#);
    for text in [":b > :a AND a < :b", ":a > b AND :a < :b"] {
        check_error(
            &env,
            text,
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        );
    }
    for text in [
        "b > :a AND b < :a and c = :a and d = :a",
        "(a > :a and b > :a) and (b > :a and c > :a)",
    ] {
        check_error(
            &env,
            text,
            "KeyConditionExpressions must only contain one condition per key",
        );
    }
    let env = Env::new().value(":a", r#"{"S": "a"}"#);
    for text in [
        ":a = a and b = :a and :a = c",
        "(a > :a and b > :a) and (c > :a and d > :a) and (e > :a and f > :a)",
    ] {
        check_error(&env, text, "Conditions can be of length 1 or 2 only");
    }
}

#[test]
fn values_must_suit_their_operator() {
    let env = Env::standard();
    for (text, operator, type_name) in [
        ("pk = :t", "EQ", "BOOL"),
        ("pk = :list", "EQ", "L"),
        ("pk = :a AND sk = :map_x1", "EQ", "M"),
        ("pk = :null", "EQ", "NULL"),
    ] {
        check_error(
            &env,
            text,
            &format!(
                "One or more parameter values were invalid: ComparisonOperator {operator} is not valid for {type_name} AttributeValue type"
            ),
        );
    }
    check_error(
        &env,
        "pk = :a AND begins_with(sk, :n5)",
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
    );
    check_error(
        &env,
        "pk = :a AND sk > :t",
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: >, operand type: BOOL",
    );
    assert!(
        env.key_condition("pk = :ss_a").is_ok(),
        "EQ takes sets; the key schema refuses them later"
    );
}

#[test]
fn condition_checks_come_first_with_the_prefix() {
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"N": "1"}"#);
    check_error(
        &env,
        "a between :b and :a",
        "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}",
    );
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"S": "b"}"#);
    check_error(
        &env,
        "a between :b and :a",
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}",
    );
    for text in ["things are not gonna be ok", "a > 4", "(size(a))[0] > a"] {
        assert!(
            message_of(env.key_condition(text))
                .starts_with("Invalid KeyConditionExpression: Syntax error; "),
            "{text}"
        );
    }
    check_error(
        &Env::new(),
        "attribute_type(a, b)",
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
    );
    check_error(
        &Env::new(),
        "status = :s",
        "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
    );
}
