//! Update expressions: the checks after the syntax, and applying every kind of action.

use super::{Env, item, message_of};
use crate::Item;
use crate::expr::{Path, PathElem};

fn check_error(env: &Env, text: &str, expected: &str) {
    let expected = format!("Invalid UpdateExpression: {expected}");
    assert_eq!(message_of(env.update(text)), expected, "{text}");
}

/// Applies `text` to `before` and compares with `after` (all items in DynamoDB's JSON form).
fn check_apply(text: &str, before: &str, after: &str) {
    let update = Env::standard()
        .update(text)
        .unwrap_or_else(|message| panic!("{text}: {message}"));
    let mut item = item(before);
    update
        .apply(&mut item)
        .unwrap_or_else(|error| panic!("{text}: {error}"));
    assert_eq!(item, super::item(after), "{text}");
}

fn check_apply_error(text: &str, before: &str, expected: &str) {
    let update = Env::standard()
        .update(text)
        .unwrap_or_else(|message| panic!("{text}: {message}"));
    let mut item = item(before);
    let result = update.apply(&mut item).map_err(|error| error.message);
    assert_eq!(message_of(result), expected, "{text}");
}

#[test]
fn each_clause_at_most_once() {
    let env = Env::new().value(":a", r#"{"S": "a"}"#).name("#a", "a");
    for (text, keyword) in [
        ("set a = #a set c = :a", "SET"),
        ("remove #a set a = b remove e", "REMOVE"),
        ("add #a :a set a = b add e :a", "ADD"),
        ("delete #a :a set a = b delete e :a", "DELETE"),
    ] {
        check_error(
            &env,
            text,
            &format!("The \"{keyword}\" section can only be used once in an update expression;"),
        );
    }
}

#[test]
fn reserved_words_unknown_functions_and_placeholders() {
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"S": "a"}"#)
        .name("#a", "a")
        .name("#b", "b");
    check_error(
        &env,
        " set #c = :c set abOrt = :a ",
        "Attribute name is a reserved keyword; reserved keyword: abOrt",
    );
    check_error(
        &env,
        " remove Absolute ",
        "Attribute name is a reserved keyword; reserved keyword: Absolute",
    );
    check_error(
        &env,
        "SET a = if_not_exists(b, name)",
        "Attribute name is a reserved keyword; reserved keyword: name",
    );
    check_error(
        &env,
        "set #c = if_not_exist(:c) set c = d",
        "Invalid function name; function: if_not_exist",
    );
    check_error(
        &env,
        "set a = size(b)",
        "Invalid function name; function: size",
    );
    check_error(
        &env,
        "set a = list_append(b, outer(inner(c)))",
        "Invalid function name; function: inner",
    );
    check_error(
        &env,
        "SET #c = if_not_exists(:c)",
        "An expression attribute name used in the document path is not defined; attribute name: #c",
    );
    check_error(
        &env,
        "SET #a = if_not_exists(:c)",
        "An expression attribute value used in expression is not defined; attribute value: :c",
    );
    check_error(
        &env,
        "ADD a :zz SET #zz = :a",
        "An expression attribute name used in the document path is not defined; attribute name: #zz",
    );
}

#[test]
fn overlapping_and_conflicting_paths() {
    let env = Env::new()
        .name("#c", "c")
        .name("#d", "[3]")
        .name("#v", "val")
        .value(":a", r#"{"S": "a"}"#);
    let overlaps = [
        (
            "set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)",
            "[c, [1], a]",
            "[c]",
        ),
        ("set #c[3].#d = a, #c[3] = a", "[c, [3], [3]]", "[c, [3]]"),
        ("SET #v = :a, #v = :a", "[val]", "[val]"),
        ("SET a = :a REMOVE a", "[a]", "[a]"),
        ("REMOVE a.b ADD a :a", "[a, b]", "[a]"),
    ];
    for (text, one, two) in overlaps {
        check_error(
            &env,
            text,
            &format!(
                "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
            ),
        );
    }
    let conflicts = [
        (
            "set #c[3].#d = a, #c.#d[3] = if_not_exists(a)",
            "[c, [3], [3]]",
            "[c, [3], [3]]",
        ),
        ("remove a.#c set a[1] = a", "[a, c]", "[a, [1]]"),
    ];
    for (text, one, two) in conflicts {
        check_error(
            &env,
            text,
            &format!(
                "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
            ),
        );
    }
    // Siblings do not overlap.
    assert!(
        env.update("SET a.b = :a, a.c = :a, l[0] = :a, l[1] = :a")
            .is_ok()
    );
}

#[test]
fn add_and_delete_operand_types() {
    let cases = [
        (
            "set b = list_append(:b, a), c = if_not_exists(a) add a.b :a",
            r#"{"S": "a"}"#,
            "ADD",
            "STRING",
        ),
        ("delete a.b :a", r#"{"S": "a"}"#, "DELETE", "STRING"),
        ("add a.b :a", r#"{"NULL": true}"#, "ADD", "NULL"),
        ("delete a.b :a", r#"{"NULL": true}"#, "DELETE", "NULL"),
        ("add a.b :a", r#"{"BOOL": false}"#, "ADD", "BOOLEAN"),
        ("delete a.b :a", r#"{"BOOL": false}"#, "DELETE", "BOOLEAN"),
        ("add a.b :a", r#"{"B": "YQ=="}"#, "ADD", "BINARY"),
        ("delete a.b :a", r#"{"B": "YQ=="}"#, "DELETE", "BINARY"),
        (
            "add a.b :a",
            r#"{"M": {"a": {"L": [{"N": "1"}]}}}"#,
            "ADD",
            "MAP",
        ),
        (
            "delete a.b :a",
            r#"{"M": {"a": {"L": [{"N": "1"}]}}}"#,
            "DELETE",
            "MAP",
        ),
        ("add a.b :a", r#"{"L": [{"N": "1"}]}"#, "ADD", "LIST"),
        ("delete a.b :a", r#"{"L": [{"N": "1"}]}"#, "DELETE", "LIST"),
        ("delete a.b :a", r#"{"N": "1"}"#, "DELETE", "NUMBER"),
    ];
    for (text, json, operator, type_name) in cases {
        let env = Env::new().value(":a", json).value(":b", r#"{"L": []}"#);
        check_error(
            &env,
            text,
            &format!(
                "Incorrect operand type for operator or function; operator: {operator}, operand type: {type_name}"
            ),
        );
    }
}

#[test]
fn function_operand_counts_paths_and_types() {
    let env = Env::new()
        .value(":a", r#"{"S": "a"}"#)
        .value(":b", r#"{"N": "1"}"#)
        .value(":c", r#"{"B": "YQ=="}"#)
        .value(":d", r#"{"BOOL": true}"#)
        .value(":e", r#"{"NULL": true}"#)
        .value(":f", r#"{"SS": ["a"]}"#)
        .value(":g", r#"{"NS": ["1"]}"#)
        .value(":h", r#"{"BS": ["YQ=="]}"#)
        .value(":i", r#"{"M": {}}"#)
        .value(":j", r#"{"L": []}"#);
    for (text, function, n_operands) in [
        ("set a = if_not_exists(c)", "if_not_exists", 1),
        ("set a = list_append(c)", "list_append", 1),
        ("set a = list_append(a, b, c)", "list_append", 3),
    ] {
        check_error(
            &env,
            text,
            &format!(
                "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {n_operands}"
            ),
        );
    }
    for text in [
        "set a = if_not_exists(:a, c)",
        "set a = if_not_exists(if_not_exists(a, b), c)",
    ] {
        check_error(
            &env,
            text,
            "Operator or function requires a document path; operator or function: if_not_exists",
        );
    }
    let types = [
        ("set a = list_append(:a, a)", "list_append", "S"),
        ("set a = list_append(a, :b)", "list_append", "N"),
        ("set a = list_append(:c, a)", "list_append", "B"),
        ("set a = list_append(:d, a)", "list_append", "BOOL"),
        ("set a = list_append(:e, a)", "list_append", "NULL"),
        ("set a = list_append(:f, a)", "list_append", "SS"),
        ("set a = list_append(:g, a)", "list_append", "NS"),
        ("set a = list_append(:h, a)", "list_append", "BS"),
        ("set a = list_append(:i, a)", "list_append", "M"),
        ("set a = a + :a", "+", "S"),
        ("set a = :a + :c", "+", "S"),
        ("set a = :c + a", "+", "B"),
        ("set a = a + :d", "+", "BOOL"),
        ("set a = a + :e", "+", "NULL"),
        ("set a = a + :f", "+", "SS"),
        ("set a = a + :g", "+", "NS"),
        ("set a = a + :h", "+", "BS"),
        ("set a = a + :i", "+", "M"),
        ("set a = a + :j", "+", "L"),
        ("set a = a - :a", "-", "S"),
        ("set a = :c - a", "-", "B"),
        ("set a = a - :j", "-", "L"),
        ("set a = list_append(:j, :b) + :b", "list_append", "N"),
    ];
    for (text, function, type_name) in types {
        check_error(
            &env,
            text,
            &format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            ),
        );
    }
}

#[test]
fn at_most_three_hundred_operators() {
    let env = Env::standard();
    let actions: Vec<String> = (0..300)
        .map(|action_idx| format!("a{action_idx} = :a"))
        .collect();
    assert!(env.update(&format!("SET {}", actions.join(", "))).is_ok());
    let actions: Vec<String> = (0..150)
        .map(|action_idx| format!("a{action_idx} = a + :one"))
        .collect();
    check_error(
        &env,
        &format!("SET {}, b = :a", actions.join(", ")),
        "The expression contains too many operators; operator count: 301",
    );
}

#[test]
fn paths_lists_targets_in_text_order() {
    let env = Env::standard().name("#st", "status");
    let update = env
        .update("REMOVE x.y[2] SET #st = :a, b = b + :one ADD c :one DELETE d :ss_a")
        .expect("valid update");
    let attr = |name: &str| PathElem::Attr(name.to_owned());
    assert_eq!(
        update.paths(),
        vec![
            Path(vec![attr("x"), attr("y"), PathElem::Index(2)]),
            Path(vec![attr("status")]),
            Path(vec![attr("b")]),
            Path(vec![attr("c")]),
            Path(vec![attr("d")]),
        ]
    );
}

#[test]
fn set_assigns_values_and_paths() {
    check_apply("SET a = :a", r#"{}"#, r#"{"a": {"S": "a"}}"#);
    check_apply("SET a = :a", r#"{"a": {"N": "1"}}"#, r#"{"a": {"S": "a"}}"#);
    check_apply(
        "SET a = b",
        r#"{"b": {"N": "1"}}"#,
        r#"{"a": {"N": "1"}, "b": {"N": "1"}}"#,
    );
    check_apply(
        "SET a = (b)",
        r#"{"b": {"N": "1"}}"#,
        r#"{"a": {"N": "1"}, "b": {"N": "1"}}"#,
    );
    check_apply(
        "SET m.x = :two, m.added = :a",
        r#"{"m": {"M": {"x": {"N": "1"}}}}"#,
        r#"{"m": {"M": {"x": {"N": "2"}, "added": {"S": "a"}}}}"#,
    );
    check_apply(
        "SET m.l[0].x = :two",
        r#"{"m": {"M": {"l": {"L": [{"M": {}}]}}}}"#,
        r#"{"m": {"M": {"l": {"L": [{"M": {"x": {"N": "2"}}}]}}}}"#,
    );
}

#[test]
fn right_hand_sides_see_the_item_before_the_update() {
    check_apply(
        "SET a = b, b = a",
        r#"{"a": {"N": "1"}, "b": {"N": "2"}}"#,
        r#"{"a": {"N": "2"}, "b": {"N": "1"}}"#,
    );
    check_apply(
        "SET b = a REMOVE a",
        r#"{"a": {"N": "1"}}"#,
        r#"{"b": {"N": "1"}}"#,
    );
    check_apply(
        "SET l[0] = l[1], l[1] = l[0]",
        r#"{"l": {"L": [{"S": "x"}, {"S": "y"}]}}"#,
        r#"{"l": {"L": [{"S": "y"}, {"S": "x"}]}}"#,
    );
}

#[test]
fn set_on_lists_replaces_or_appends() {
    let abc = r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}}"#;
    check_apply(
        "SET l[1] = :str",
        abc,
        r#"{"l": {"L": [{"S": "a"}, {"S": "abc"}, {"S": "c"}]}}"#,
    );
    check_apply(
        "SET l[3] = :str",
        abc,
        r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "abc"}]}}"#,
    );
    check_apply(
        "SET l[50] = :str",
        abc,
        r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "abc"}]}}"#,
    );
    check_apply(
        "SET l[9] = :one, l[7] = :two",
        abc,
        r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"N": "2"}, {"N": "1"}]}}"#,
    );
    check_apply(
        "SET l[0] = :a",
        r#"{"l": {"L": []}}"#,
        r#"{"l": {"L": [{"S": "a"}]}}"#,
    );
}

#[test]
fn set_needs_the_parent_to_exist_with_the_right_type() {
    let invalid = "The document path provided in the update expression is invalid for update";
    check_apply_error("SET absent.nested.deep = :a", r#"{}"#, invalid);
    check_apply_error("SET m.x.y = :a", r#"{"m": {"M": {}}}"#, invalid);
    check_apply_error("SET s.x = :a", r#"{"s": {"S": "abc"}}"#, invalid);
    check_apply_error("SET l.x = :a", r#"{"l": {"L": []}}"#, invalid);
    check_apply_error("SET m[0] = :a", r#"{"m": {"M": {}}}"#, invalid);
    check_apply_error("SET l[5].x = :a", r#"{"l": {"L": []}}"#, invalid);
}

#[test]
fn remove_deletes_attributes_keys_and_elements() {
    check_apply(
        "REMOVE a",
        r#"{"a": {"N": "1"}, "b": {"N": "2"}}"#,
        r#"{"b": {"N": "2"}}"#,
    );
    check_apply(
        "REMOVE absent",
        r#"{"b": {"N": "2"}}"#,
        r#"{"b": {"N": "2"}}"#,
    );
    check_apply(
        "REMOVE m.x, m.absent",
        r#"{"m": {"M": {"x": {"N": "1"}, "keep": {"S": "stay"}}}}"#,
        r#"{"m": {"M": {"keep": {"S": "stay"}}}}"#,
    );
    let abcd = r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "d"}]}}"#;
    check_apply(
        "REMOVE l[1]",
        abcd,
        r#"{"l": {"L": [{"S": "a"}, {"S": "c"}, {"S": "d"}]}}"#,
    );
    check_apply(
        "REMOVE l[0], l[1]",
        abcd,
        r#"{"l": {"L": [{"S": "c"}, {"S": "d"}]}}"#,
    );
    check_apply(
        "REMOVE l[2], l[0]",
        abcd,
        r#"{"l": {"L": [{"S": "b"}, {"S": "d"}]}}"#,
    );
    check_apply("REMOVE l[9]", abcd, abcd);
    check_apply("REMOVE l[0], l[3], l[1], l[2]", abcd, r#"{"l": {"L": []}}"#);
    check_apply_error(
        "REMOVE absent.x",
        r#"{}"#,
        "The document path provided in the update expression is invalid for update",
    );
}

#[test]
fn list_indexes_refer_to_the_list_before_the_update() {
    let abc = r#"{"l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}}"#;
    check_apply(
        "SET l[1] = :str REMOVE l[0]",
        abc,
        r#"{"l": {"L": [{"S": "abc"}, {"S": "c"}]}}"#,
    );
    check_apply(
        "SET l[5] = :str REMOVE l[0]",
        abc,
        r#"{"l": {"L": [{"S": "b"}, {"S": "c"}, {"S": "abc"}]}}"#,
    );
    check_apply(
        "REMOVE l[0] SET l[2] = :str",
        abc,
        r#"{"l": {"L": [{"S": "b"}, {"S": "abc"}]}}"#,
    );
    let nested = r#"{"l": {"L": [{"L": [{"S": "a"}]}, {"L": [{"S": "b"}]}]}}"#;
    check_apply(
        "REMOVE l[0] SET l[1][3] = :str",
        nested,
        r#"{"l": {"L": [{"L": [{"S": "b"}, {"S": "abc"}]}]}}"#,
    );
}

#[test]
fn arithmetic_on_numbers() {
    check_apply(
        "SET n = n + :n5",
        r#"{"n": {"N": "7"}}"#,
        r#"{"n": {"N": "12"}}"#,
    );
    check_apply(
        "SET n = n - :n10",
        r#"{"n": {"N": "7"}}"#,
        r#"{"n": {"N": "-3"}}"#,
    );
    check_apply("SET n = :n5 + :seven", r#"{}"#, r#"{"n": {"N": "12"}}"#);
    check_apply(
        "SET n = :tiny + :one",
        r#"{}"#,
        r#"{"n": {"N": "1.0000000000000000000000000000000000001"}}"#,
    );
    check_apply(
        "SET m.c = m.c + :one",
        r#"{"m": {"M": {"c": {"N": "14"}}}}"#,
        r#"{"m": {"M": {"c": {"N": "15"}}}}"#,
    );
    check_apply_error(
        "SET n = s + :n5",
        r#"{"s": {"S": "abc"}}"#,
        "An operand in the update expression has an incorrect data type",
    );
    check_apply_error(
        "SET n = absent + :n5",
        r#"{}"#,
        "The provided expression refers to an attribute that does not exist in the item",
    );
    check_apply_error(
        "SET n = :huge + :huge",
        r#"{}"#,
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
    );
    check_apply_error(
        "SET n = :tiny + :huge",
        r#"{}"#,
        "Attempting to store more than 38 significant digits in a Number",
    );
}

#[test]
fn if_not_exists_and_list_append() {
    check_apply(
        "SET x = if_not_exists(x, :n5)",
        r#"{}"#,
        r#"{"x": {"N": "5"}}"#,
    );
    check_apply(
        "SET x = if_not_exists(x, :n5)",
        r#"{"x": {"N": "7"}}"#,
        r#"{"x": {"N": "7"}}"#,
    );
    check_apply(
        "SET x = if_not_exists(x, :zero) + :one",
        r#"{}"#,
        r#"{"x": {"N": "1"}}"#,
    );
    check_apply(
        "SET x = if_not_exists(x, :zero) + :one",
        r#"{"x": {"N": "1"}}"#,
        r#"{"x": {"N": "2"}}"#,
    );
    check_apply(
        "SET x = if_not_exists(y, z)",
        r#"{"z": {"S": "a"}}"#,
        r#"{"x": {"S": "a"}, "z": {"S": "a"}}"#,
    );
    let l = r#"{"l": {"L": [{"S": "a"}]}}"#;
    check_apply(
        "SET l = list_append(l, :list)",
        l,
        r#"{"l": {"L": [{"S": "a"}, {"S": "x"}]}}"#,
    );
    check_apply(
        "SET l = list_append(:list, l)",
        l,
        r#"{"l": {"L": [{"S": "x"}, {"S": "a"}]}}"#,
    );
    check_apply(
        "SET k = list_append(if_not_exists(k, :empty_list), :list)",
        r#"{}"#,
        r#"{"k": {"L": [{"S": "x"}]}}"#,
    );
    check_apply_error(
        "SET l = list_append(s, :list)",
        r#"{"s": {"S": "a"}}"#,
        "An operand in the update expression has an incorrect data type",
    );
    check_apply_error(
        "SET l = list_append(absent, :list)",
        r#"{}"#,
        "The provided expression refers to an attribute that does not exist in the item",
    );
    check_apply_error(
        "SET x = if_not_exists(y, z)",
        r#"{}"#,
        "The provided expression refers to an attribute that does not exist in the item",
    );
}

#[test]
fn add_to_numbers_and_sets() {
    check_apply("ADD n :n5", r#"{"n": {"N": "7"}}"#, r#"{"n": {"N": "12"}}"#);
    check_apply("ADD n :n5", r#"{}"#, r#"{"n": {"N": "5"}}"#);
    check_apply(
        "ADD m.c :one",
        r#"{"m": {"M": {}}}"#,
        r#"{"m": {"M": {"c": {"N": "1"}}}}"#,
    );
    check_apply(
        "ADD ss :ss_c",
        r#"{"ss": {"SS": ["a", "b"]}}"#,
        r#"{"ss": {"SS": ["a", "b", "c"]}}"#,
    );
    check_apply(
        "ADD ss :ss_a",
        r#"{"ss": {"SS": ["a", "b"]}}"#,
        r#"{"ss": {"SS": ["a", "b"]}}"#,
    );
    check_apply("ADD ss :ss_ab", r#"{}"#, r#"{"ss": {"SS": ["a", "b"]}}"#);
    check_apply(
        "ADD ns :ns_1",
        r#"{"ns": {"NS": ["1", "2"]}}"#,
        r#"{"ns": {"NS": ["1", "2"]}}"#,
    );
    check_apply(
        "ADD ns :ns_3",
        r#"{"ns": {"NS": ["1"]}}"#,
        r#"{"ns": {"NS": ["1", "3"]}}"#,
    );
    check_apply(
        "ADD bs :bs_1",
        r#"{"bs": {"BS": ["Ag=="]}}"#,
        r#"{"bs": {"BS": ["Ag==", "AQ=="]}}"#,
    );
    check_apply(
        "ADD l[5] :one",
        r#"{"l": {"L": []}}"#,
        r#"{"l": {"L": [{"N": "1"}]}}"#,
    );
    let wrong = "An operand in the update expression has an incorrect data type";
    check_apply_error("ADD s :n5", r#"{"s": {"S": "abc"}}"#, wrong);
    check_apply_error("ADD ns :ss_a", r#"{"ns": {"NS": ["1"]}}"#, wrong);
    check_apply_error("ADD n :ss_a", r#"{"n": {"N": "1"}}"#, wrong);
    check_apply_error(
        "ADD n :huge",
        r#"{"n": {"N": "9.9999999999999999999999999999999999999E+125"}}"#,
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
    );
    check_apply_error(
        "ADD absent.n :one",
        r#"{}"#,
        "The document path provided in the update expression is invalid for update",
    );
}

#[test]
fn delete_from_sets() {
    check_apply(
        "DELETE ss :ss_a",
        r#"{"ss": {"SS": ["a", "b"]}}"#,
        r#"{"ss": {"SS": ["b"]}}"#,
    );
    check_apply(
        "DELETE ss :ss_ba",
        r#"{"ss": {"SS": ["a", "b"]}, "k": {"N": "1"}}"#,
        r#"{"k": {"N": "1"}}"#,
    );
    check_apply(
        "DELETE ss :ss_c",
        r#"{"ss": {"SS": ["a", "b"]}}"#,
        r#"{"ss": {"SS": ["a", "b"]}}"#,
    );
    check_apply("DELETE ss :ss_a", r#"{}"#, r#"{}"#);
    check_apply(
        "DELETE ns :ns_1",
        r#"{"ns": {"NS": ["1", "2"]}}"#,
        r#"{"ns": {"NS": ["2"]}}"#,
    );
    check_apply(
        "DELETE m.ss :ss_a",
        r#"{"m": {"M": {"ss": {"SS": ["a"]}}}}"#,
        r#"{"m": {"M": {}}}"#,
    );
    check_apply(
        "DELETE l[0] :ss_a",
        r#"{"l": {"L": [{"SS": ["a"]}, {"S": "b"}]}}"#,
        r#"{"l": {"L": [{"S": "b"}]}}"#,
    );
    let wrong = "An operand in the update expression has an incorrect data type";
    check_apply_error("DELETE s :ss_a", r#"{"s": {"S": "a"}}"#, wrong);
    check_apply_error("DELETE ns :ss_a", r#"{"ns": {"NS": ["1"]}}"#, wrong);
}

#[test]
fn an_update_creates_an_item_from_nothing() {
    let update = Env::standard()
        .update("SET a = :a, n = if_not_exists(n, :zero) + :one ADD c :one, ss :ss_a REMOVE gone")
        .expect("valid update");
    let mut created = Item::new();
    update.apply(&mut created).expect("applies");
    assert_eq!(
        created,
        item(r#"{"a": {"S": "a"}, "n": {"N": "1"}, "c": {"N": "1"}, "ss": {"SS": ["a"]}}"#)
    );
}
