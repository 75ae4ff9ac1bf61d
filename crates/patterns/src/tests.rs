use serde_json::{Value, json};

use super::*;

/// Parses `pattern` and asserts whether it matches `record`.
#[track_caller]
fn check(pattern: Value, record: Value, expect: bool) {
    let parsed = Pattern::parse(&pattern.to_string())
        .unwrap_or_else(|err| panic!("pattern {pattern} refused: {err}"));
    assert_eq!(
        parsed.matches(&record),
        expect,
        "pattern {pattern} on record {record}"
    );
}

/// Asserts that `text` is refused with exactly `message`.
#[track_caller]
fn check_error(text: &str, message: &str) {
    match Pattern::parse(text) {
        Ok(pattern) => panic!("pattern {text} accepted: {pattern:?}"),
        Err(err) => assert_eq!(err.message, message, "pattern {text}"),
    }
}

fn order(status: &str, count: &str) -> Value {
    json!({
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": {"S": "order#1"}},
            "NewImage": {
                "pk": {"S": "order#1"},
                "status": {"S": status},
                "count": {"N": count},
                "tags": {"L": [{"S": "red"}, {"S": "big"}]},
                "gift": {"BOOL": false},
            },
            "OldImage": {"pk": {"S": "order#1"}, "status": {"S": "NEW"}},
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    })
}

#[test]
fn exact_strings_are_case_sensitive() {
    check(json!({"a": ["x"]}), json!({"a": "x"}), true);
    check(json!({"a": ["x"]}), json!({"a": "X"}), false);
    check(json!({"a": ["x"]}), json!({"a": "xy"}), false);
    check(json!({"a": ["12"]}), json!({"a": 12}), false);
}

#[test]
fn exact_numbers_compare_by_representation() {
    check(json!({"a": [300]}), json!({"a": 300}), true);
    check(json!({"a": [300]}), json!({"a": 301}), false);
    check(json!({"a": [-1.5]}), json!({"a": -1.5}), true);
    check(json!({"a": [12]}), json!({"a": "12"}), false);
    let pattern = Pattern::parse(r#"{"a": [300]}"#).expect("valid");
    let record: Value = serde_json::from_str(r#"{"a": 300.0}"#).expect("valid");
    assert!(!pattern.matches(&record), "300 must not match 300.0");
}

#[test]
fn booleans_null_and_empty_string() {
    check(json!({"a": [true]}), json!({"a": true}), true);
    check(json!({"a": [true]}), json!({"a": false}), false);
    check(json!({"a": [true]}), json!({"a": "true"}), false);
    check(json!({"a": [null]}), json!({"a": null}), true);
    check(json!({"a": [null]}), json!({}), false);
    check(json!({"a": [null]}), json!({"a": ""}), false);
    check(json!({"a": [""]}), json!({"a": ""}), true);
    check(json!({"a": [""]}), json!({"a": null}), false);
    check(json!({"a": [""]}), json!({}), false);
}

#[test]
fn alternatives_are_or() {
    let pattern = json!({"a": ["x", "y", {"prefix": "z"}]});
    check(pattern.clone(), json!({"a": "x"}), true);
    check(pattern.clone(), json!({"a": "y"}), true);
    check(pattern.clone(), json!({"a": "zz"}), true);
    check(pattern, json!({"a": "w"}), false);
}

#[test]
fn fields_are_and() {
    let pattern = json!({"a": ["x"], "b": {"c": [1]}});
    check(
        pattern.clone(),
        json!({"a": "x", "b": {"c": 1}, "d": 0}),
        true,
    );
    check(pattern.clone(), json!({"a": "x", "b": {"c": 2}}), false);
    check(pattern.clone(), json!({"a": "y", "b": {"c": 1}}), false);
    check(pattern, json!({"a": "x"}), false);
}

#[test]
fn arrays_in_records_match_on_any_element() {
    check(json!({"a": ["x"]}), json!({"a": ["w", "x"]}), true);
    check(json!({"a": ["x"]}), json!({"a": ["w", ["x"]]}), true);
    check(json!({"a": ["x"]}), json!({"a": ["w", "v"]}), false);
    check(json!({"a": ["x"]}), json!({"a": []}), false);
    check(
        json!({"a": [{"numeric": [">", 5]}]}),
        json!({"a": [1, 9]}),
        true,
    );
    // A pattern object on an array of objects: one element must match all of it.
    let pattern = json!({"a": {"b": [1], "c": [2]}});
    check(
        pattern.clone(),
        json!({"a": [{"b": 1, "c": 2}, {"b": 0}]}),
        true,
    );
    check(
        pattern,
        json!({"a": [{"b": 1, "c": 0}, {"b": 0, "c": 2}]}),
        false,
    );
}

#[test]
fn leaves_are_not_objects() {
    check(json!({"a": ["x"]}), json!({"a": {"S": "x"}}), false);
    check(json!({"a": {"b": ["x"]}}), json!({"a": "x"}), false);
    check(
        json!({"a": {"b": ["x"]}}),
        json!({"a": {"b": {"c": "x"}}}),
        false,
    );
}

#[test]
fn exists() {
    check(json!({"a": [{"exists": true}]}), json!({"a": "x"}), true);
    check(json!({"a": [{"exists": true}]}), json!({"a": null}), true);
    check(json!({"a": [{"exists": true}]}), json!({"a": ["x"]}), true);
    check(json!({"a": [{"exists": true}]}), json!({"b": "x"}), false);
    check(json!({"a": [{"exists": true}]}), json!({"a": []}), false);
    check(json!({"a": [{"exists": false}]}), json!({"b": "x"}), true);
    check(json!({"a": [{"exists": false}]}), json!({"a": "x"}), false);
    check(json!({"a": [{"exists": false}]}), json!({"a": []}), true);
    // Exists only sees leaves, as EventBridge's does: an object is not one.
    check(
        json!({"a": [{"exists": true}]}),
        json!({"a": {"b": 1}}),
        false,
    );
    check(
        json!({"a": [{"exists": false}]}),
        json!({"a": {"b": 1}}),
        true,
    );
    // Below a missing or leaf parent, every field is missing.
    check(json!({"a": {"b": [{"exists": false}]}}), json!({}), true);
    check(
        json!({"a": {"b": [{"exists": false}]}}),
        json!({"a": 1}),
        true,
    );
    check(json!({"a": {"b": [{"exists": true}]}}), json!({}), false);
}

#[test]
fn prefix_and_suffix() {
    check(
        json!({"a": [{"prefix": "us-"}]}),
        json!({"a": "us-east-1"}),
        true,
    );
    check(
        json!({"a": [{"prefix": "us-"}]}),
        json!({"a": "eu-west-1"}),
        false,
    );
    check(
        json!({"a": [{"prefix": "us-"}]}),
        json!({"a": "US-east-1"}),
        false,
    );
    check(json!({"a": [{"prefix": "1"}]}), json!({"a": 12}), false);
    check(json!({"a": [{"prefix": ""}]}), json!({"a": "x"}), true);
    check(json!({"a": [{"prefix": "x"}]}), json!({}), false);
    check(
        json!({"a": [{"suffix": ".png"}]}),
        json!({"a": "cat.png"}),
        true,
    );
    check(
        json!({"a": [{"suffix": ".png"}]}),
        json!({"a": "cat.PNG"}),
        false,
    );
    check(
        json!({"a": [{"suffix": ".png"}]}),
        json!({"a": "cat.jpg"}),
        false,
    );
    let prefix_any_case = json!({"a": [{"prefix": {"equals-ignore-case": "EventB"}}]});
    check(prefix_any_case.clone(), json!({"a": "eventbridge"}), true);
    check(prefix_any_case, json!({"a": "event"}), false);
    let suffix_any_case = json!({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]});
    check(suffix_any_case.clone(), json!({"a": "cat.png"}), true);
    check(suffix_any_case, json!({"a": "cat.jpg"}), false);
}

#[test]
fn equals_ignore_case() {
    let pattern = json!({"a": [{"equals-ignore-case": "Paid"}]});
    check(pattern.clone(), json!({"a": "PAID"}), true);
    check(pattern.clone(), json!({"a": "paid"}), true);
    check(pattern.clone(), json!({"a": "paid!"}), false);
    check(pattern, json!({}), false);
    check(
        json!({"a": [{"equals-ignore-case": "ÄRGER"}]}),
        json!({"a": "ärger"}),
        true,
    );
}

#[test]
fn numeric_single_comparisons() {
    let cases = [
        ("=", 10, true, false, false),
        ("<", 10, false, true, false),
        ("<=", 10, true, true, false),
        (">", 10, false, false, true),
        (">=", 10, true, false, true),
    ];
    // Each case: operator, operand, and whether it matches 10, 9.5 and 10.5.
    for (operator, operand, at, below, above) in cases {
        let pattern = json!({"a": [{"numeric": [operator, operand]}]});
        check(pattern.clone(), json!({"a": 10}), at);
        check(pattern.clone(), json!({"a": 9.5}), below);
        check(pattern, json!({"a": 10.5}), above);
    }
    check(
        json!({"a": [{"numeric": ["=", 300]}]}),
        json!({"a": 300.0}),
        true,
    );
    check(
        json!({"a": [{"numeric": ["=", 3.0e2]}]}),
        json!({"a": 300}),
        true,
    );
}

#[test]
fn numeric_ranges() {
    let pattern = json!({"a": [{"numeric": [">", 0, "<=", 5]}]});
    check(pattern.clone(), json!({"a": 0}), false);
    check(pattern.clone(), json!({"a": 0.000001}), true);
    check(pattern.clone(), json!({"a": 5}), true);
    check(pattern.clone(), json!({"a": 5.1}), false);
    check(pattern.clone(), json!({"a": -3}), false);
    check(pattern, json!({}), false);
    let closed = json!({"a": [{"numeric": [">=", -1, "<", 1]}]});
    check(closed.clone(), json!({"a": -1}), true);
    check(closed, json!({"a": 1}), false);
}

#[test]
fn numeric_reads_strings_that_are_numbers() {
    let pattern = json!({"a": [{"numeric": [">", 10]}]});
    check(pattern.clone(), json!({"a": "12"}), true);
    check(pattern.clone(), json!({"a": "1.2E+2"}), true);
    check(pattern.clone(), json!({"a": "9"}), false);
    check(pattern.clone(), json!({"a": "twelve"}), false);
    check(pattern.clone(), json!({"a": "inf"}), false);
    check(pattern.clone(), json!({"a": "NaN"}), false);
    check(pattern.clone(), json!({"a": ""}), false);
    check(pattern.clone(), json!({"a": true}), false);
    check(pattern, json!({"a": null}), false);
}

#[test]
fn anything_but_values() {
    let pattern = json!({"a": [{"anything-but": ["x", "y"]}]});
    check(pattern.clone(), json!({"a": "z"}), true);
    check(pattern.clone(), json!({"a": "x"}), false);
    check(pattern.clone(), json!({"a": "y"}), false);
    check(pattern.clone(), json!({"a": 5}), true);
    check(pattern.clone(), json!({"a": null}), true);
    check(pattern.clone(), json!({}), false);
    check(pattern.clone(), json!({"a": {"b": "z"}}), false);
    // On an array, any element that is not refused matches.
    check(pattern.clone(), json!({"a": ["x", "z"]}), true);
    check(pattern, json!({"a": ["x", "y"]}), false);
    check(
        json!({"a": [{"anything-but": "x"}]}),
        json!({"a": "x"}),
        false,
    );
    check(
        json!({"a": [{"anything-but": "x"}]}),
        json!({"a": "X"}),
        true,
    );
    check(
        json!({"a": [{"anything-but": 100}]}),
        json!({"a": 100}),
        false,
    );
    check(
        json!({"a": [{"anything-but": [100, 200]}]}),
        json!({"a": 150}),
        true,
    );
    check(
        json!({"a": [{"anything-but": [100]}]}),
        json!({"a": "100"}),
        true,
    );
}

#[test]
fn anything_but_operators() {
    let prefix = json!({"a": [{"anything-but": {"prefix": "us-"}}]});
    check(prefix.clone(), json!({"a": "eu-west-1"}), true);
    check(prefix.clone(), json!({"a": "us-east-1"}), false);
    check(prefix, json!({}), false);
    let suffix = json!({"a": [{"anything-but": {"suffix": ".png"}}]});
    check(suffix.clone(), json!({"a": "cat.jpg"}), true);
    check(suffix, json!({"a": "cat.png"}), false);
    let any_case = json!({"a": [{"anything-but": {"equals-ignore-case": ["Init", "DONE"]}}]});
    check(any_case.clone(), json!({"a": "running"}), true);
    check(any_case.clone(), json!({"a": "INIT"}), false);
    check(any_case, json!({"a": "done"}), false);
    let one = json!({"a": [{"anything-but": {"equals-ignore-case": "x"}}]});
    check(one, json!({"a": "X"}), false);
}

#[test]
fn or_combines_sub_patterns() {
    let pattern = json!({
        "kind": ["order"],
        "$or": [{"a": [1]}, {"b": {"c": [{"prefix": "x"}]}}],
    });
    check(pattern.clone(), json!({"kind": "order", "a": 1}), true);
    check(
        pattern.clone(),
        json!({"kind": "order", "b": {"c": "xy"}}),
        true,
    );
    check(
        pattern.clone(),
        json!({"kind": "order", "a": 2, "b": {"c": "y"}}),
        false,
    );
    check(pattern, json!({"kind": "refund", "a": 1}), false);
    let nested = json!({"d": {"$or": [{"e": [1]}, {"f": [{"exists": false}]}]}});
    check(nested.clone(), json!({"d": {"f": 2}}), false);
    check(nested.clone(), json!({"d": {"e": 1, "f": 2}}), true);
    check(nested, json!({}), true);
}

#[test]
fn dynamodb_records() {
    let paid = order("PAID", "12");
    let fresh = order("NEW", "0");
    let status = json!({"dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}});
    check(status.clone(), paid.clone(), true);
    check(status, fresh.clone(), false);
    let count = json!({"dynamodb": {"NewImage": {"count": {"N": [{"numeric": [">", 0]}]}}}});
    check(count.clone(), paid.clone(), true);
    check(count, fresh.clone(), false);
    let changed = json!({
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {"status": {"S": [{"anything-but": "NEW"}]}},
            "OldImage": {"status": {"S": ["NEW"]}},
        },
    });
    check(changed.clone(), paid.clone(), true);
    check(changed, fresh.clone(), false);
    let tagged = json!({"dynamodb": {"NewImage": {"tags": {"L": {"S": ["big"]}}}}});
    check(tagged, paid.clone(), true);
    let gift = json!({"dynamodb": {"NewImage": {"gift": {"BOOL": [false]}}}});
    check(gift, paid.clone(), true);
    let no_old_image = json!({"dynamodb": {"OldImage": {"pk": {"S": [{"exists": false}]}}}});
    check(no_old_image.clone(), paid.clone(), false);
    check(
        no_old_image,
        json!({"eventName": "INSERT", "dynamodb": {}}),
        true,
    );
    let inserts = json!({"eventName": ["INSERT", "REMOVE"]});
    check(inserts, paid, false);
}

#[test]
fn passes_is_or_over_patterns_and_true_when_empty() {
    let record = json!({"a": "x"});
    let x = Pattern::parse(r#"{"a": ["x"]}"#).expect("valid");
    let y = Pattern::parse(r#"{"a": ["y"]}"#).expect("valid");
    assert!(passes(&[], &record));
    assert!(passes(&[y.clone(), x.clone()], &record));
    assert!(passes(std::slice::from_ref(&x), &record));
    assert!(!passes(std::slice::from_ref(&y), &record));
}

#[test]
fn a_duplicated_key_keeps_the_last() {
    let pattern = Pattern::parse(r#"{"a": ["x"], "a": ["y"]}"#).expect("valid");
    assert!(pattern.matches(&json!({"a": "y"})));
    assert!(!pattern.matches(&json!({"a": "x"})));
}

#[test]
fn errors_in_the_pattern_text() {
    check_error("[]", "pattern must be a JSON object, not an array []");
    check_error("\"x\"", "pattern must be a JSON object, not a string \"x\"");
    check_error("null", "pattern must be a JSON object, not null");
    check_error("{}", "empty pattern object at the top level");
    let err = Pattern::parse("{\"a\": [").expect_err("truncated");
    assert!(
        err.message.starts_with("pattern is not valid JSON: "),
        "{err}"
    );
    let long = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(PATTERN_TEXT_BYTES_MAX));
    check_error(
        &long,
        &format!(
            "pattern is {} bytes, more than the 4096 allowed",
            long.len()
        ),
    );
}

#[test]
fn errors_in_the_structure() {
    check_error(
        r#"{"a": "x"}"#,
        "the value at a must be an array of alternatives or a pattern object, not a string \"x\"",
    );
    check_error(
        r#"{"a": {"b": 1}}"#,
        "the value at a.b must be an array of alternatives or a pattern object, not a number 1",
    );
    check_error(r#"{"a": {"b": {}}}"#, "empty pattern object at a.b");
    check_error(r#"{"a": []}"#, "empty array of alternatives at a");
    check_error(
        r#"{"a": [["x"]]}"#,
        "an alternative at a must be a value or an operator object, not an array [\"x\"]",
    );
    let deep = format!(
        "{}[1]{}",
        r#"{"a":"#.repeat(PATTERN_DEPTH_MAX + 1),
        "}".repeat(PATTERN_DEPTH_MAX + 1)
    );
    let err = Pattern::parse(&deep).expect_err("too deep");
    assert!(
        err.message
            .starts_with("pattern nests deeper than 32 objects at a.a."),
        "{err}"
    );
    let deepest = format!(
        "{}[1]{}",
        r#"{"a":"#.repeat(PATTERN_DEPTH_MAX),
        "}".repeat(PATTERN_DEPTH_MAX)
    );
    assert!(Pattern::parse(&deepest).is_ok());
    let many: Vec<u32> = (0..=ALTERNATIVES_MAX as u32).collect();
    check_error(
        &json!({"a": many}).to_string(),
        "257 alternatives at a, more than the 256 allowed",
    );
}

#[test]
fn errors_in_operators() {
    check_error(
        r#"{"a": [{"wildcard": "*.png"}]}"#,
        "unknown operator \"wildcard\" at a",
    );
    check_error(
        r#"{"a": [{}]}"#,
        "an operator object needs exactly one operator at a, found 0 ()",
    );
    check_error(
        r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
        "an operator object needs exactly one operator at a, found 2 (prefix, suffix)",
    );
    check_error(
        r#"{"a": [{"exists": "yes"}]}"#,
        "\"exists\" needs true or false at a, not a string \"yes\"",
    );
    check_error(
        r#"{"a": [{"prefix": 1}]}"#,
        "\"prefix\" needs a string or {\"equals-ignore-case\": string} at a, not a number 1",
    );
    check_error(
        r#"{"a": [{"suffix": {"equals-ignore-case": 1}}]}"#,
        "\"suffix\" needs a string or {\"equals-ignore-case\": string} at a, not an object {\"equals-ignore-case\":1}",
    );
    check_error(
        r#"{"a": [{"equals-ignore-case": ["x"]}]}"#,
        "\"equals-ignore-case\" needs a string at a, not an array [\"x\"]",
    );
}

#[test]
fn errors_in_numeric() {
    let path = r#"{"dynamodb": {"NewImage": {"count": {"N": [{"numeric": NUMERIC}]}}}}"#;
    let check_numeric = |operand: &str, message: &str| {
        check_error(&path.replace("NUMERIC", operand), message);
    };
    let at = "dynamodb.NewImage.count.N";
    check_numeric(
        "[\">\"]",
        &format!("\"numeric\" needs an operator and a number at {at}, not an array [\">\"]"),
    );
    check_numeric(
        "5",
        &format!("\"numeric\" needs an operator and a number at {at}, not a number 5"),
    );
    check_numeric(
        "[\">\", \"5\"]",
        &format!("\"numeric\" needs an operator and a number at {at}, not an array [\">\",\"5\"]"),
    );
    check_numeric(
        "[\">\", 1, \"<\"]",
        &format!(
            "\"numeric\" needs an operator and a number at {at}, not an array [\">\",1,\"<\"]"
        ),
    );
    check_numeric(
        "[\"!=\", 1]",
        &format!("unknown \"numeric\" operator \"!=\" at {at} (use =, <, <=, >, >=)"),
    );
    check_numeric(
        "[\">\", 1, \">\", 2]",
        &format!(
            "\"numeric\" range at {at} needs one lower bound (> or >=) and one upper bound \
             (< or <=), not [\">\",1,\">\",2]"
        ),
    );
    check_numeric(
        "[\"=\", 1, \"<\", 2]",
        &format!(
            "\"numeric\" range at {at} needs one lower bound (> or >=) and one upper bound \
             (< or <=), not [\"=\",1,\"<\",2]"
        ),
    );
    check_numeric(
        "[\">\", 5, \"<\", 5]",
        &format!("\"numeric\" range at {at} is empty: 5 is not below 5"),
    );
    check_numeric(
        "[\">\", 6000000000]",
        &format!("\"numeric\" operand 6000000000 at {at} is outside -5e9..=5e9"),
    );
    // The bounds may come in either order.
    let upper_first = path.replace("NUMERIC", "[\"<\", 5, \">=\", 1]");
    let pattern = Pattern::parse(&upper_first).expect("valid");
    assert!(pattern.matches(&order("PAID", "1")));
    assert!(!pattern.matches(&order("PAID", "5")));
}

#[test]
fn errors_in_anything_but() {
    let expected = "\"anything-but\" needs a string, a number, a non-empty array of them, or an \
                    object with \"prefix\", \"suffix\" or \"equals-ignore-case\" at a, not";
    for (operand, shown) in [
        ("[]", "an array []"),
        ("true", "a boolean true"),
        ("null", "null"),
        ("[\"x\", null]", "an array [\"x\",null]"),
        (
            "{\"numeric\": [\">\", 1]}",
            "an object {\"numeric\":[\">\",1]}",
        ),
        ("{\"prefix\": 1}", "an object {\"prefix\":1}"),
        (
            "{\"equals-ignore-case\": []}",
            "an object {\"equals-ignore-case\":[]}",
        ),
        (
            "{\"equals-ignore-case\": [1]}",
            "an object {\"equals-ignore-case\":[1]}",
        ),
        (
            "{\"prefix\": \"x\", \"suffix\": \"y\"}",
            "an object {\"prefix\":\"x\",\"suffix\":\"y\"}",
        ),
    ] {
        check_error(
            &format!(r#"{{"a": [{{"anything-but": {operand}}}]}}"#),
            &format!("{expected} {shown}"),
        );
    }
}

#[test]
fn errors_in_or() {
    check_error(
        r#"{"$or": [{"a": [1]}]}"#,
        "\"$or\" needs an array of at least two pattern objects at $or, not an array [{\"a\":[1]}]",
    );
    check_error(
        r#"{"$or": {"a": [1]}}"#,
        "\"$or\" needs an array of at least two pattern objects at $or, not an object {\"a\":[1]}",
    );
    check_error(
        r#"{"$or": [{"a": [1]}, ["b"]]}"#,
        "a \"$or\" branch must be a pattern object at $or.[1], not an array [\"b\"]",
    );
    check_error(
        r#"{"x": {"$or": [{"a": [1]}, {"b": "c"}]}}"#,
        "the value at x.$or.[1].b must be an array of alternatives or a pattern object, not a string \"c\"",
    );
}

#[test]
fn limits_relate() {
    // A pattern at the text limit can still reach the other limits, so they are what bites.
    let smallest_alternative_bytes = "1,".len();
    assert!(ALTERNATIVES_MAX * smallest_alternative_bytes < PATTERN_TEXT_BYTES_MAX);
    let smallest_level_bytes = r#"{"a":}"#.len();
    assert!(PATTERN_DEPTH_MAX * smallest_level_bytes < PATTERN_TEXT_BYTES_MAX);
    // serde_json refuses nesting beyond 128 levels; the depth limit must bite first.
    let serde_json_depth_max = 128;
    assert!(PATTERN_DEPTH_MAX < serde_json_depth_max);
}
