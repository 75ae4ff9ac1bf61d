//! Plain JSON as DynamoDB attribute values, for the records that on-failure and on-success
//! destinations receive as table items.

use serde_json::{Value, json};

/// Plain JSON as a DynamoDB attribute value: objects become maps, arrays lists.
pub(crate) fn to_attribute(value: &Value) -> Value {
    match value {
        Value::Null => json!({ "NULL": true }),
        Value::Bool(b) => json!({ "BOOL": b }),
        Value::Number(n) => json!({ "N": n.to_string() }),
        Value::String(s) => json!({ "S": s }),
        Value::Array(items) => json!({ "L": items.iter().map(to_attribute).collect::<Vec<_>>() }),
        Value::Object(fields) => json!({
            "M": fields
                .iter()
                .map(|(k, v)| (k.clone(), to_attribute(v)))
                .collect::<serde_json::Map<_, _>>()
        }),
    }
}
