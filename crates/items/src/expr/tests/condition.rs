//! The checks DynamoDB runs on a condition after its syntax, each message and their order.

use super::{Env, message_of};

fn check(env: &Env, text: &str, expected: &str) {
    let expected = format!("Invalid FilterExpression: {expected}");
    assert_eq!(message_of(env.filter(text)), expected, "{text}");
}

#[test]
fn redundant_parentheses() {
    let env = Env::new();
    for text in [
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:things), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
        "a=a OR ((a=a OR (a=a OR a=a)))",
        "((a = b))",
        "(((a))) = b",
    ] {
        check(&env, text, "The expression has redundant parentheses;");
    }
}

#[test]
fn parentheses_that_are_not_redundant() {
    let env = Env::standard();
    for text in [
        "(s = :a)",
        "(s = :a) AND (n = :one)",
        "(s = :a AND (n = :one))",
        "((s = :a) OR (n = :one))",
        "(s) = (:a)",
        "(s.x).y = :a",
        "s IN ((:a), :b)",
        "attribute_exists((s))",
    ] {
        assert!(env.filter(text).is_ok(), "{text}: {:?}", env.filter(text));
    }
}

#[test]
fn unknown_functions() {
    let env = Env::new();
    check(
        &env,
        "a=a and whatever((:things)) > a",
        "Invalid function name; function: whatever",
    );
    check(
        &env,
        "attRIbute_exIsts((views), #a)",
        "Invalid function name; function: attRIbute_exIsts",
    );
    check(&env, "Size(a) = b", "Invalid function name; function: Size");
    check(
        &env,
        "if_not_exists(a, b)",
        "Invalid function name; function: if_not_exists",
    );
    check(
        &env,
        "list_append(a, b) = c",
        "Invalid function name; function: list_append",
    );
    check(
        &env,
        "outer(inner(a)) = b",
        "Invalid function name; function: inner",
    );
}

#[test]
fn functions_used_where_they_cannot_stand() {
    let env = Env::new();
    let cases = [
        (
            "a=a and attribute_exists((views), (#a)) > b",
            "attribute_exists",
        ),
        ("attribute_not_exists(things) > b", "attribute_not_exists"),
        ("attribute_type(things, :a) > b", "attribute_type"),
        ("begins_with(things, a) > b", "begins_with"),
        ("contains(:things, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("(size(things))", "size"),
        ("NOT size(things)", "size"),
        ("a = b AND size(things)", "size"),
        (
            "a between b and attribute_exists(things)",
            "attribute_exists",
        ),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
    ];
    for (text, function) in cases {
        check(
            &env,
            text,
            &format!(
                "The function is not allowed to be used this way in an expression; function: {function}"
            ),
        );
    }
}

#[test]
fn reserved_words_must_be_aliased() {
    let env = Env::new();
    check(
        &env,
        "attribute_exists(views, #a)",
        "Attribute name is a reserved keyword; reserved keyword: views",
    );
    check(
        &env,
        ":a < abOrT",
        "Attribute name is a reserved keyword; reserved keyword: abOrT",
    );
    check(
        &env,
        "a.b.status = :x",
        "Attribute name is a reserved keyword; reserved keyword: status",
    );
    check(
        &env,
        "size = :x",
        "Attribute name is a reserved keyword; reserved keyword: size",
    );
    let aliased = Env::standard().name("#s", "status");
    assert!(aliased.filter("#s = :a AND size(#s) > :one").is_ok());
}

#[test]
fn undefined_names_and_values() {
    let env = Env::new();
    let names = [
        (
            "attribute_exists(#Pictures.RearView, :a) and a=a",
            "#Pictures",
        ),
        ("begins_with(Pictures.#RearView)", "#RearView"),
        ("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))", "#P"),
        ("#4g > a", "#4g"),
        ("#_ > a", "#_"),
        ("(a)between(b.c[45].#d)and(:a)", "#d"),
    ];
    for (text, name) in names {
        check(
            &env,
            text,
            &format!(
                "An expression attribute name used in the document path is not defined; attribute name: {name}"
            ),
        );
    }
    let values = [
        ("begins_with(:hello, #a, #b)", ":hello"),
        (":a < :b", ":a"),
        (":_ > a", ":_"),
    ];
    for (text, value) in values {
        check(
            &env,
            text,
            &format!(
                "An expression attribute value used in expression is not defined; attribute value: {value}"
            ),
        );
    }
}

#[test]
fn function_operand_counts() {
    let env = Env::new();
    let cases = [
        ("attribute_exists(things, a) and a=a", "attribute_exists", 2),
        ("attribute_not_exists(things, b)", "attribute_not_exists", 2),
        ("attribute_type(things)", "attribute_type", 1),
        ("begins_with(things)", "begins_with", 1),
        ("begins_with(things, size(a), b)", "begins_with", 3),
        ("contains(things)", "contains", 1),
        ("size(things, a) > b", "size", 2),
    ];
    for (text, function, n_operands) in cases {
        check(
            &env,
            text,
            &format!(
                "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {n_operands}"
            ),
        );
    }
}

#[test]
fn function_operand_types() {
    let cases = [
        (
            "attribute_type(a, size(a)) and a=a and a=:a",
            "attribute_type",
            r#"{"N": "1"}"#,
            "N",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"N": "1"}"#,
            "N",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"B": "YQ=="}"#,
            "B",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"BOOL": true}"#,
            "BOOL",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"NULL": true}"#,
            "NULL",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"L": []}"#,
            "L",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"M": {}}"#,
            "M",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"SS": ["1"]}"#,
            "SS",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"NS": ["1"]}"#,
            "NS",
        ),
        (
            "attribute_type(a, :a)",
            "attribute_type",
            r#"{"BS": ["YQ=="]}"#,
            "BS",
        ),
        (
            "begins_with(a, size(a)) and a=:a",
            "begins_with",
            r#"{"N": "1"}"#,
            "N",
        ),
        ("begins_with(a, :a)", "begins_with", r#"{"N": "1"}"#, "N"),
        (
            "begins_with(a, :a)",
            "begins_with",
            r#"{"BOOL": true}"#,
            "BOOL",
        ),
        (
            "begins_with(a, :a)",
            "begins_with",
            r#"{"NULL": true}"#,
            "NULL",
        ),
        ("begins_with(a, :a)", "begins_with", r#"{"L": []}"#, "L"),
        ("begins_with(a, :a)", "begins_with", r#"{"M": {}}"#, "M"),
        (
            "begins_with(a, :a)",
            "begins_with",
            r#"{"SS": ["1"]}"#,
            "SS",
        ),
        (
            "begins_with(a, :a)",
            "begins_with",
            r#"{"NS": ["1"]}"#,
            "NS",
        ),
        (
            "begins_with(a, :a)",
            "begins_with",
            r#"{"BS": ["YQ=="]}"#,
            "BS",
        ),
        ("begins_with(:a, a)", "begins_with", r#"{"N": "1"}"#, "N"),
        (
            "begins_with(:a, a)",
            "begins_with",
            r#"{"BOOL": true}"#,
            "BOOL",
        ),
        ("size(size(a)) > :a", "size", r#"{"N": "1"}"#, "N"),
        (
            "attribute_not_exists(size(:a))",
            "size",
            r#"{"N": "1"}"#,
            "N",
        ),
        ("size(:a) > a", "size", r#"{"BOOL": true}"#, "BOOL"),
        ("size(:a) > a", "size", r#"{"NULL": true}"#, "NULL"),
        ("a < :a", "<", r#"{"BOOL": true}"#, "BOOL"),
        ("a <= :a", "<=", r#"{"NULL": true}"#, "NULL"),
        (":a > a", ">", r#"{"SS": ["x"]}"#, "SS"),
        ("a >= :a", ">=", r#"{"L": []}"#, "L"),
        ("a BETWEEN :a AND b", "BETWEEN", r#"{"M": {}}"#, "M"),
        (":a BETWEEN a AND b", "BETWEEN", r#"{"BS": ["YQ=="]}"#, "BS"),
    ];
    for (text, function, json, type_name) in cases {
        let env = Env::new().value(":a", json);
        check(
            &env,
            text,
            &format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            ),
        );
    }
}

#[test]
fn attribute_type_needs_a_string_naming_a_type() {
    let env = Env::new().value(":a", r#"{"S": "1"}"#);
    check(
        &env,
        "attribute_type(a, :a)",
        "Invalid attribute type name found; type: 1, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
    );
    check(
        &Env::new(),
        "attribute_type(a, b)",
        "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
    );
    let env = Env::standard();
    for type_name in ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"] {
        let env = env
            .clone()
            .value(":type", &format!(r#"{{"S": "{type_name}"}}"#));
        assert!(
            env.filter("attribute_type(a, :type)").is_ok(),
            "{type_name}"
        );
    }
}

#[test]
fn existence_functions_need_a_path() {
    let env = Env::new().value(":a", r#"{"S": "1"}"#);
    for (text, function) in [
        ("attribute_exists(:a) and a=a", "attribute_exists"),
        ("attribute_not_exists(size(:a))", "attribute_not_exists"),
    ] {
        check(
            &env,
            text,
            &format!(
                "Operator or function requires a document path; operator or function: {function}"
            ),
        );
    }
}

#[test]
fn a_path_compared_with_itself() {
    let env = Env::new().name("#a", "a");
    let cases = [
        ("a = a AND #a = b AND :views > a", "=", "[a]"),
        ("#a <> a", "<>", "[a]"),
        ("a > #a", ">", "[a]"),
        ("((a=a) OR (a=a))", "=", "[a]"),
        ("((a=a) AND (a=a))", "=", "[a]"),
        (
            "contains(ab.bc[1].a, ab.bc[1].#a)",
            "contains",
            "[ab, bc, [1], a]",
        ),
        (
            "attribute_type(ab.bc[1].#a, ab.bc[1].a)",
            "attribute_type",
            "[ab, bc, [1], a]",
        ),
        (
            "begins_with(ab.bc[1].a, ab.bc[1].#a)",
            "begins_with",
            "[ab, bc, [1], a]",
        ),
    ];
    for (text, operator, path) in cases {
        check(
            &env,
            text,
            &format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {path}"
            ),
        );
    }
    // Values may repeat, and a condition may compare values only.
    let env = Env::standard();
    assert!(env.filter(":a = :a").is_ok());
    assert!(env.filter(":one < :two").is_ok());
}

#[test]
fn between_bounds_must_agree_in_type_and_order() {
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"N": "1"}"#);
    check(
        &env,
        "x between :b and :a",
        "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}",
    );
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"S": "b"}"#);
    check(
        &env,
        "x between :b and :a",
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}",
    );
    let env = Env::new()
        .value(":lo", r#"{"N": "10"}"#)
        .value(":hi", r#"{"N": "9.5"}"#);
    check(
        &env,
        "x between :lo and :hi",
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:9.5}",
    );
    let env = Env::new()
        .value(":lo", r#"{"B": "Ag=="}"#)
        .value(":hi", r#"{"B": "AQ=="}"#);
    check(
        &env,
        "x between :lo and :hi",
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {B:Ag==}, upper bound operand: AttributeValue: {B:AQ==}",
    );
    let env = Env::new()
        .value(":lo", r#"{"N": "9"}"#)
        .value(":hi", r#"{"N": "10"}"#);
    assert!(env.filter("x between :lo and :hi").is_ok());
    assert!(env.filter("x between :lo and :lo").is_ok());
}

#[test]
fn in_takes_at_most_a_hundred_operands() {
    let hundred: Vec<String> = (0..100).map(|value_idx| format!(":v{value_idx}")).collect();
    let mut env = Env::new();
    for key in &hundred {
        env = env.value(key, r#"{"S": "x"}"#);
    }
    assert!(
        env.filter(&format!("a IN ({})", hundred.join(", ")))
            .is_ok()
    );
    let env = env.value(":v100", r#"{"S": "x"}"#);
    check(
        &env,
        &format!("a IN ({}, :v100)", hundred.join(", ")),
        "The IN operator is provided with too many operands; number of operands: 101",
    );
}

#[test]
fn at_most_three_hundred_operators() {
    let env = Env::standard();
    let within = vec!["s = :a"; 150].join(" OR ");
    assert!(env.filter(&within).is_ok(), "299 operators");
    let over = vec!["s = :a"; 151].join(" OR ");
    check(
        &env,
        &over,
        "The expression contains too many operators; operator count: 301",
    );
}

#[test]
fn faults_are_reported_in_dynamodb_order() {
    let env = Env::new();
    // Syntax first, even after other faults.
    assert!(message_of(env.filter("((a)) = whatever(b) AND status = =")).contains("Syntax error"));
    // Redundant parentheses before unknown functions.
    check(
        &env,
        "whatever(a) = ((b))",
        "The expression has redundant parentheses;",
    );
    // Unknown functions before misused ones.
    check(
        &env,
        "attribute_exists(a) = whatever(b)",
        "Invalid function name; function: whatever",
    );
    // Misused functions before reserved words.
    check(
        &env,
        "status = attribute_exists(a)",
        "The function is not allowed to be used this way in an expression; function: attribute_exists",
    );
    // Reserved words before undefined placeholders.
    check(
        &env,
        "#a = :a AND status = b",
        "Attribute name is a reserved keyword; reserved keyword: status",
    );
    // The first condition with a fault decides; within it, undefined placeholders come first.
    check(
        &env,
        "size(a, b) = #x AND c = :y",
        "An expression attribute name used in the document path is not defined; attribute name: #x",
    );
    check(
        &env,
        "size(a, b) = a AND c = :y",
        "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2",
    );
    let env = Env::new().value(":t", r#"{"BOOL": true}"#);
    check(
        &env,
        "a < :t AND a = a",
        "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL",
    );
    check(
        &env,
        "a < a AND b < :t",
        "The first operand must be distinct from the remaining operands for this operator or function; operator: <, first operand: [a]",
    );
}

#[test]
fn the_prefix_names_the_expression() {
    let env = Env::new();
    assert_eq!(
        message_of(env.condition("a")),
        "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"a\""
    );
    assert_eq!(
        message_of(env.filter("a")),
        "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"a\""
    );
}
