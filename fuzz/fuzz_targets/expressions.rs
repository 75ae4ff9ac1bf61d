//! Arbitrary bytes, if they are UTF-8, go to every expression parser with one fixed set of
//! placeholders; whatever parses is evaluated or applied against a few fixed items. Nothing may
//! panic: a parse error or a failed update is a normal outcome, a panic is a bug.

#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use items::expr::{
    ExprKind, Placeholders, parse_condition, parse_key_condition, parse_projection, parse_update,
};
use items::{AttributeValue, Item, Number};
use libfuzzer_sys::fuzz_target;

/// ExpressionAttributeNames: `#a`..`#e`, naming attributes the items have (and `status`, a
/// reserved word that needs a placeholder).
static NAMES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    [
        ("#a", "a"),
        ("#b", "n"),
        ("#c", "l"),
        ("#d", "m"),
        ("#e", "status"),
    ]
    .into_iter()
    .map(|(key, name)| (key.to_owned(), name.to_owned()))
    .collect()
});

/// ExpressionAttributeValues: `:a`..`:e`, one of each kind of operand the grammar treats
/// differently (a string that is also a type name, a number, a set, a list, a map).
static VALUES: LazyLock<HashMap<String, AttributeValue>> = LazyLock::new(|| {
    HashMap::from([
        (":a".to_owned(), AttributeValue::S("S".to_owned())),
        (":b".to_owned(), number("1")),
        (
            ":c".to_owned(),
            AttributeValue::Ss(vec!["a".to_owned(), "b".to_owned()]),
        ),
        (
            ":d".to_owned(),
            AttributeValue::L(vec![AttributeValue::S("x".to_owned()), number("2")]),
        ),
        (
            ":e".to_owned(),
            AttributeValue::M(Item::from([("x".to_owned(), number("1"))])),
        ),
    ])
});

/// The items conditions are evaluated on and updates and projections applied to: an empty one,
/// one with an attribute of every type, and one whose attributes have the other types, so that a
/// path meets each type somewhere.
static ITEMS: LazyLock<Vec<Item>> = LazyLock::new(|| {
    let nested = Item::from([
        ("x".to_owned(), number("1")),
        (
            "y".to_owned(),
            AttributeValue::L(vec![AttributeValue::Null, AttributeValue::Bool(true)]),
        ),
    ]);
    let full = Item::from([
        ("a".to_owned(), AttributeValue::S("S".to_owned())),
        ("n".to_owned(), number("5")),
        ("b".to_owned(), AttributeValue::B(vec![1, 2, 3])),
        ("s".to_owned(), AttributeValue::S(String::new())),
        (
            "ss".to_owned(),
            AttributeValue::Ss(vec!["a".to_owned(), "c".to_owned()]),
        ),
        (
            "ns".to_owned(),
            AttributeValue::Ns(vec![Number::from_i64(3)]),
        ),
        ("bs".to_owned(), AttributeValue::Bs(vec![vec![1], vec![2]])),
        (
            "l".to_owned(),
            AttributeValue::L(vec![
                number("1"),
                AttributeValue::S("x".to_owned()),
                AttributeValue::M(nested.clone()),
            ]),
        ),
        ("m".to_owned(), AttributeValue::M(nested.clone())),
        ("status".to_owned(), AttributeValue::Bool(false)),
        ("z".to_owned(), AttributeValue::Null),
    ]);
    let swapped = Item::from([
        ("a".to_owned(), AttributeValue::L(Vec::new())),
        ("n".to_owned(), AttributeValue::S("5".to_owned())),
        ("l".to_owned(), AttributeValue::M(nested)),
        (
            "m".to_owned(),
            AttributeValue::Ns(vec![Number::from_i64(1)]),
        ),
        ("status".to_owned(), AttributeValue::Null),
    ]);
    vec![Item::new(), full, swapped]
});

fn number(text: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(text).expect("the fuzz target's numbers are valid"))
}

fn placeholders() -> Placeholders<'static> {
    Placeholders::new(Some(&NAMES), Some(&VALUES))
        .expect("the fuzz target's placeholders are valid")
}

fn exercise(text: &str) {
    let items = &*ITEMS;

    let mut ph = placeholders();
    if let Ok(condition) = parse_condition(text, ExprKind::Condition, &mut ph) {
        for item in items {
            let _ = condition.eval(item);
        }
    }
    let _ = ph.finish();

    let mut ph = placeholders();
    if let Ok(update) = parse_update(text, &mut ph) {
        let _ = update.paths();
        for item in items {
            let mut item = item.clone();
            let _ = update.apply(&mut item);
        }
    }
    let _ = ph.finish();

    let mut ph = placeholders();
    if let Ok(projection) = parse_projection(text, &mut ph) {
        for item in items {
            let _ = projection.apply(item);
        }
    }
    let _ = ph.finish();

    let mut ph = placeholders();
    let _ = parse_key_condition(text, &mut ph);
    let _ = ph.finish();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        exercise(text);
    }
});
