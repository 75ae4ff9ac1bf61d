//! ExpressionAttributeNames and ExpressionAttributeValues: their own checks, and which of them
//! a request's expressions used.

use std::collections::HashMap;

use super::value;
use crate::AttributeValue;
use crate::expr::{ExprKind, Placeholders, parse_condition, parse_projection, parse_update};

/// Each key `#k` names the attribute `k`.
fn names(keys: &[&str]) -> HashMap<String, String> {
    keys.iter()
        .map(|key| ((*key).to_owned(), key.trim_start_matches('#').to_owned()))
        .collect()
}

fn values(keys: &[&str]) -> HashMap<String, AttributeValue> {
    keys.iter()
        .map(|key| ((*key).to_owned(), value(r#"{"S": "x"}"#)))
        .collect()
}

fn new_error(
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> String {
    match Placeholders::new(names, values) {
        Ok(_) => "(no error)".to_owned(),
        Err(error) => error.message,
    }
}

#[test]
fn maps_must_not_be_empty() {
    let no_names = HashMap::new();
    let no_values = HashMap::new();
    assert_eq!(
        new_error(Some(&no_names), Some(&no_values)),
        "ExpressionAttributeNames must not be empty"
    );
    assert_eq!(
        new_error(None, Some(&no_values)),
        "ExpressionAttributeValues must not be empty"
    );
    assert_eq!(
        new_error(Some(&names(&["#a"])), Some(&no_values)),
        "ExpressionAttributeValues must not be empty"
    );
    assert!(Placeholders::new(None, None).is_ok());
}

#[test]
fn keys_must_be_placeholders() {
    for key in ["a", "#", "#a-b", "#a b", ":a", "##a"] {
        assert_eq!(
            new_error(Some(&names(&["#ok", key])), None),
            format!("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""),
        );
    }
    for key in ["b", ":", ":a.b", "#a"] {
        assert_eq!(
            new_error(None, Some(&values(&[":ok", key]))),
            format!("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""),
        );
    }
    assert!(
        Placeholders::new(
            Some(&names(&["#a", "#_", "#0", "#aZ_9"])),
            Some(&values(&[":a", ":_1"]))
        )
        .is_ok()
    );
}

#[test]
fn every_placeholder_must_be_used_by_some_expression() {
    let names = names(&["#a", "#b", "#c"]);
    let values = values(&[":a", ":b", ":c"]);
    let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("valid maps");
    parse_condition("#a = :a", ExprKind::Condition, &mut ph).expect("valid condition");
    parse_update("SET #b = :b", &mut ph).expect("valid update");
    assert_eq!(
        ph.finish().map_err(|error| error.message),
        Err(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}"
                .to_owned()
        )
    );

    let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("valid maps");
    parse_update("SET #a = :a REMOVE #b", &mut ph).expect("valid update");
    parse_projection("#c", &mut ph).expect("valid projection");
    assert_eq!(
        ph.finish().map_err(|error| error.message),
        Err(
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b, :c}"
                .to_owned()
        )
    );

    let mut ph = Placeholders::new(Some(&names), Some(&values)).expect("valid maps");
    parse_update("SET #a = :a, #b = if_not_exists(#c, :b), y = :c", &mut ph).expect("valid update");
    assert_eq!(ph.finish(), Ok(()));

    let ph = Placeholders::new(Some(&names), None).expect("valid maps");
    assert_eq!(
        ph.finish().map_err(|error| error.message),
        Err(
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b, #c}"
                .to_owned()
        )
    );
}
