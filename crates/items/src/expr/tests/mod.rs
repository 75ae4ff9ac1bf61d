//! Tests of the expression language through its public API, case by case.
//!
//! Expected messages come from DynamoDB's behaviour as recorded by dynalite's test suite and by
//! conformance captures against the live service; where those say nothing, from AWS's
//! documentation.

mod condition;
mod eval;
mod fuzz;
mod key_condition;
mod placeholders;
mod projection;
mod syntax;
mod update;

use std::collections::HashMap;

use crate::expr::{
    Condition, ExprKind, KeyCondition, Placeholders, Projection, Update, parse_condition,
    parse_key_condition, parse_projection, parse_update,
};
use crate::{AttributeValue, Item, item_from_json};

/// The ExpressionAttributeNames and ExpressionAttributeValues of one test request.
#[derive(Default, Clone)]
struct Env {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Env {
    fn new() -> Env {
        Env::default()
    }

    /// The values most evaluation tests use.
    fn standard() -> Env {
        Env::new()
            .value(":str", r#"{"S": "abc"}"#)
            .value(":a", r#"{"S": "a"}"#)
            .value(":b", r#"{"S": "b"}"#)
            .value(":c", r#"{"S": "c"}"#)
            .value(":ab", r#"{"S": "ab"}"#)
            .value(":bc", r#"{"S": "bc"}"#)
            .value(":abd", r#"{"S": "abd"}"#)
            .value(":upper", r#"{"S": "ABC"}"#)
            .value(":empty_s", r#"{"S": ""}"#)
            .value(":zero", r#"{"N": "0"}"#)
            .value(":one", r#"{"N": "1"}"#)
            .value(":two", r#"{"N": "2"}"#)
            .value(":three", r#"{"N": "3"}"#)
            .value(":n5", r#"{"N": "5"}"#)
            .value(":seven", r#"{"N": "7.0"}"#)
            .value(":n10", r#"{"N": "10"}"#)
            .value(":bin12", r#"{"B": "AQI="}"#)
            .value(":bin1", r#"{"B": "AQ=="}"#)
            .value(":bin23", r#"{"B": "AgM="}"#)
            .value(":t", r#"{"BOOL": true}"#)
            .value(":f", r#"{"BOOL": false}"#)
            .value(":null", r#"{"NULL": true}"#)
            .value(":ss_ab", r#"{"SS": ["a", "b"]}"#)
            .value(":ss_ba", r#"{"SS": ["b", "a"]}"#)
            .value(":ss_a", r#"{"SS": ["a"]}"#)
            .value(":ss_c", r#"{"SS": ["c"]}"#)
            .value(":ns_1", r#"{"NS": ["1.0"]}"#)
            .value(":ns_3", r#"{"NS": ["3"]}"#)
            .value(":bs_1", r#"{"BS": ["AQ=="]}"#)
            .value(":list", r#"{"L": [{"S": "x"}]}"#)
            .value(":empty_list", r#"{"L": []}"#)
            .value(":map_x1", r#"{"M": {"x": {"N": "1"}}}"#)
            .value(":type_s", r#"{"S": "S"}"#)
            .value(":type_n", r#"{"S": "N"}"#)
            .value(":type_null", r#"{"S": "NULL"}"#)
            .value(":type_l", r#"{"S": "L"}"#)
            .value(
                ":huge",
                r#"{"N": "9.9999999999999999999999999999999999999E+125"}"#,
            )
            .value(
                ":tiny",
                r#"{"N": "0.0000000000000000000000000000000000001"}"#,
            )
    }

    fn name(mut self, key: &str, name: &str) -> Env {
        self.names.insert(key.to_owned(), name.to_owned());
        self
    }

    /// Adds `key` with a value in DynamoDB's JSON form.
    fn value(mut self, key: &str, json: &str) -> Env {
        self.values.insert(key.to_owned(), value(json));
        self
    }

    fn placeholders(&self) -> Placeholders<'_> {
        let names = (!self.names.is_empty()).then_some(&self.names);
        let values = (!self.values.is_empty()).then_some(&self.values);
        Placeholders::new(names, values).expect("test placeholders are valid")
    }

    fn condition(&self, text: &str) -> Result<Condition, String> {
        parse_condition(text, ExprKind::Condition, &mut self.placeholders()).map_err(|e| e.message)
    }

    fn filter(&self, text: &str) -> Result<Condition, String> {
        parse_condition(text, ExprKind::Filter, &mut self.placeholders()).map_err(|e| e.message)
    }

    fn update(&self, text: &str) -> Result<Update, String> {
        parse_update(text, &mut self.placeholders()).map_err(|e| e.message)
    }

    fn projection(&self, text: &str) -> Result<Projection, String> {
        parse_projection(text, &mut self.placeholders()).map_err(|e| e.message)
    }

    fn key_condition(&self, text: &str) -> Result<KeyCondition, String> {
        parse_key_condition(text, &mut self.placeholders()).map_err(|e| e.message)
    }
}

fn value(json: &str) -> AttributeValue {
    let json = serde_json::from_str(json).expect("test JSON is valid");
    AttributeValue::from_json(&json).expect("test value is valid")
}

fn item(json: &str) -> Item {
    let json = serde_json::from_str(json).expect("test JSON is valid");
    item_from_json(&json).expect("test item is valid")
}

/// The message a parse gave, or a note that it did not fail.
fn message_of<T: std::fmt::Debug>(result: Result<T, String>) -> String {
    match result {
        Ok(parsed) => format!("(no error: {parsed:?})"),
        Err(message) => message,
    }
}
