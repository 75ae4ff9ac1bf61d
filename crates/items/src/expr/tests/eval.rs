//! Evaluating conditions: every comparator, function and connective, case by case.

use super::{Env, item};
use crate::Item;

/// The item every case is evaluated against.
fn sample() -> Item {
    item(
        r#"{
            "s": {"S": "abc"},
            "uni": {"S": "é😀"},
            "n": {"N": "7"},
            "neg": {"N": "-3.5"},
            "b": {"B": "AQID"},
            "t": {"BOOL": true},
            "z": {"NULL": true},
            "ss": {"SS": ["a", "b"]},
            "ss2": {"SS": ["b", "a"]},
            "ns": {"NS": ["1", "2"]},
            "bs": {"BS": ["AQ==", "Ag=="]},
            "l": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"x": {"N": "1"}}}]},
            "m": {"M": {"x": {"N": "1"}, "y": {"L": [{"S": "deep"}]}}},
            "blank": {"S": ""}
        }"#,
    )
}

fn check(cases: &[(&str, bool)]) {
    let env = Env::standard();
    let item = sample();
    for &(text, expected) in cases {
        let condition = match env.condition(text) {
            Ok(condition) => condition,
            Err(message) => panic!("{text}: {message}"),
        };
        assert_eq!(condition.eval(&item), expected, "{text}");
    }
}

#[test]
fn equality_is_by_type_and_value() {
    check(&[
        ("s = :str", true),
        ("s = :a", false),
        ("s = :n5", false),
        ("n = :seven", true),
        ("ss = :ss_ba", true),
        ("ss = ss2", true),
        ("ss = :ss_a", false),
        ("l[0] = :a", true),
        ("l[2] = :map_x1", true),
        ("m.x = :one", true),
        ("t = :t", true),
        ("t = :f", false),
        ("z = :null", true),
        ("blank = :empty_s", true),
    ]);
}

#[test]
fn inequality_is_true_for_other_types_and_missing_attributes() {
    check(&[
        ("s <> :str", false),
        ("s <> :a", true),
        ("s <> :n5", true),
        ("absent <> :a", true),
        ("m.nope <> :a", true),
        ("ss <> :ss_ba", false),
    ]);
}

#[test]
fn a_missing_attribute_makes_comparisons_false() {
    check(&[
        ("absent = :a", false),
        ("absent < :a", false),
        ("absent <= :a", false),
        ("absent > :a", false),
        ("absent >= :a", false),
        ("absent BETWEEN :a AND :b", false),
        ("absent IN (:a, :b)", false),
        ("l[5] = :a", false),
        ("s.x = :a", false),
        ("m[0] = :a", false),
    ]);
}

#[test]
fn numbers_order_by_value() {
    check(&[
        ("n < :n10", true),
        ("n <= :seven", true),
        ("n > :n5", true),
        ("n >= :n10", false),
        ("neg < :zero", true),
        ("neg > :n5", false),
        (":one < :two", true),
    ]);
}

#[test]
fn strings_and_binaries_order_by_bytes() {
    check(&[
        ("s < :abd", true),
        ("s > :ab", true),
        ("s > :upper", true),
        ("s >= :str", true),
        ("s < :str", false),
        ("b > :bin12", true),
        ("b < :bin23", true),
    ]);
}

#[test]
fn other_types_and_mixed_types_do_not_order() {
    check(&[
        ("s < :n5", false),
        ("s > :n5", false),
        ("n < :str", false),
        ("t < z", false),
        ("t >= t2", false),
        ("ss < ss2", false),
        ("l > m", false),
    ]);
}

#[test]
fn between_includes_its_bounds() {
    check(&[
        ("n BETWEEN :n5 AND :n10", true),
        ("n BETWEEN :seven AND :n10", true),
        ("n BETWEEN :n5 AND :seven", true),
        ("n BETWEEN :zero AND :n5", false),
        ("s BETWEEN :ab AND :abd", true),
        ("s BETWEEN :a AND :ab", false),
        ("s BETWEEN :n5 AND :n10", false),
        ("b BETWEEN :bin12 AND :bin23", true),
        ("t BETWEEN t AND t", false),
    ]);
}

#[test]
fn in_is_equality_with_any_operand() {
    check(&[
        ("n IN (:n5, :seven)", true),
        ("n IN (:n5, :n10)", false),
        ("s IN (:str)", true),
        ("ss IN (:ss_a, :ss_ba)", true),
        ("s IN (:n5, :a)", false),
        ("l[1] IN (:one)", true),
        ("s IN (m.nope, :str)", true),
    ]);
}

#[test]
fn existence() {
    check(&[
        ("attribute_exists(s)", true),
        ("attribute_exists(absent)", false),
        ("attribute_not_exists(absent)", true),
        ("attribute_not_exists(s)", false),
        ("attribute_exists(m.x)", true),
        ("attribute_exists(m.y[0])", true),
        ("attribute_exists(m.y[1])", false),
        ("attribute_exists(l[2].x)", true),
        ("attribute_exists(s.x)", false),
        ("attribute_exists(z)", true),
    ]);
}

#[test]
fn attribute_type_matches_the_stored_type() {
    check(&[
        ("attribute_type(s, :type_s)", true),
        ("attribute_type(n, :type_s)", false),
        ("attribute_type(n, :type_n)", true),
        ("attribute_type(z, :type_null)", true),
        ("attribute_type(l, :type_l)", true),
        ("attribute_type(absent, :type_s)", false),
        ("attribute_type(m.x, :type_n)", true),
    ]);
}

#[test]
fn begins_with_works_on_strings_and_binaries() {
    check(&[
        ("begins_with(s, :ab)", true),
        ("begins_with(s, :str)", true),
        ("begins_with(s, :bc)", false),
        ("begins_with(s, :empty_s)", true),
        ("begins_with(b, :bin12)", true),
        ("begins_with(b, :bin23)", false),
        ("begins_with(n, :ab)", false),
        ("begins_with(absent, :ab)", false),
        ("begins_with(s, b)", false),
        ("begins_with(:str, :ab)", true),
    ]);
}

#[test]
fn contains_looks_into_strings_binaries_sets_and_lists() {
    check(&[
        ("contains(s, :bc)", true),
        ("contains(s, :abd)", false),
        ("contains(b, :bin23)", true),
        ("contains(b, :bin12)", true),
        ("contains(ss, :a)", true),
        ("contains(ss, :c)", false),
        ("contains(ns, :one)", true),
        ("contains(ns, :three)", false),
        ("contains(bs, :bin1)", true),
        ("contains(l, :a)", true),
        ("contains(l, :one)", true),
        ("contains(l, :map_x1)", true),
        ("contains(l, :b)", false),
        ("contains(n, :seven)", false),
        ("contains(ss, :ss_a)", false),
        ("contains(absent, :a)", false),
        ("contains(m, :one)", false),
    ]);
}

#[test]
fn size_counts_characters_bytes_and_members() {
    check(&[
        ("size(s) = :three", true),
        ("size(uni) = :two", true),
        ("size(b) = :three", true),
        ("size(ss) = :two", true),
        ("size(ns) = :two", true),
        ("size(bs) = :two", true),
        ("size(l) = :three", true),
        ("size(m) = :two", true),
        ("size(m.y) = :one", true),
        ("size(blank) = :zero", true),
        ("size(:str) = :three", true),
        ("size(s) > :two", true),
        ("size(s) BETWEEN :one AND :three", true),
        ("size(s) IN (:one, :three)", true),
        ("size(n) = :one", false),
        ("size(t) >= :zero", false),
        ("size(z) >= :zero", false),
        ("size(absent) >= :zero", false),
        ("size(absent) <> :one", true),
    ]);
}

#[test]
fn connectives_and_their_precedence() {
    check(&[
        ("s = :str AND n = :n5", false),
        ("s = :str AND n = :seven", true),
        ("s = :str OR n = :n5", true),
        ("s = :a OR n = :n5", false),
        ("NOT s = :str", false),
        ("NOT s = :a", true),
        ("NOT NOT s = :str", true),
        ("NOT (s = :str AND n = :n5)", true),
        // AND binds tighter than OR.
        ("s = :str OR n = :n5 AND t = :f", true),
        ("(s = :str OR n = :n5) AND t = :f", false),
        // NOT binds tighter than AND.
        ("NOT s = :n5 AND n = :n5", false),
        ("NOT (s = :n5 AND n = :n5)", true),
        ("s = :a OR s = :b OR s = :str", true),
        ("s = :str AND n = :seven AND t = :t AND z = :null", true),
    ]);
}

#[test]
fn conditions_on_a_missing_item() {
    let env = Env::standard();
    let nothing = Item::new();
    for (text, expected) in [
        ("attribute_not_exists(pk)", true),
        ("attribute_exists(pk)", false),
        ("pk = :a", false),
        ("pk <> :a", true),
        ("NOT pk = :a", true),
        (":a = :a", true),
    ] {
        let condition = env.condition(text).expect("valid condition");
        assert_eq!(condition.eval(&nothing), expected, "{text}");
    }
}

#[test]
fn names_through_aliases() {
    let env = Env::standard().name("#st", "status").name("#dot", "a.b");
    let item = item(r#"{"status": {"S": "a"}, "a.b": {"N": "1"}, "a": {"M": {"b": {"N": "2"}}}}"#);
    let eval = |text: &str| env.condition(text).expect("valid condition").eval(&item);
    assert!(eval("#st = :a"));
    // An alias is one name, dots and all.
    assert!(eval("#dot = :one"));
    assert!(eval("a.b = :two"));
}
