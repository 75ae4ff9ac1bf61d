//! Lambda's invocation record for a destination, and how it becomes an item of a table.
//!
//! The record (Lambda's shape, §2.5 of the AWS digest):
//!
//! ```text
//! {"version": "1.0", "timestamp": "2026-01-02T03:04:05.678Z",
//!  "requestContext": {"requestId", "functionArn": "…:function:NAME:$LATEST", "condition",
//!                     "approximateInvokeCount"},
//!  "requestPayload": <the event>,
//!  "responseContext": {"statusCode", "executedVersion": "$LATEST", "functionError": "Unhandled"},
//!  "responsePayload": <the result, or {"errorMessage", "errorType"}>}
//! ```
//!
//! In a table, the record is one item: its top-level fields as attributes (JSON objects as
//! maps, as the triggers' on-failure records are written), under the event's request id in
//! the table's partition key, so writing it twice writes the same item.

use bytes::Bytes;
use serde_json::{Value, json};
use tables::Tables;

use super::policy::Condition;
use super::stored::{FailureKind, StoredEvent};
use crate::attribute::to_attribute;
use crate::limits::ASYNC_RECORD_BYTES_MAX;

/// The invocation record of an event that ended with `condition` at `now_ms`; `response` is
/// the function's result when it succeeded.
pub(super) fn invocation_record(
    event: &StoredEvent,
    condition: Condition,
    response: Option<&Bytes>,
    now_ms: u64,
) -> Value {
    let mut record = json!({
        "version": "1.0",
        "timestamp": timestamp(now_ms),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": format!("{}:$LATEST", runtime::function_arn(&event.function)),
            "condition": condition.as_str(),
            "approximateInvokeCount": event.invocations,
        },
        "requestPayload": json_or_text(&event.payload),
    });
    match (response, &event.last_failure) {
        (Some(response), _) => {
            record["responseContext"] = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
            record["responsePayload"] = json_or_text(response);
        }
        (None, Some(failure)) => {
            let mut context = json!({ "statusCode": failure.kind.status() });
            if matches!(failure.kind, FailureKind::Function | FailureKind::Throttled) {
                context["executedVersion"] = json!("$LATEST");
            }
            if failure.kind == FailureKind::Function {
                context["functionError"] = json!("Unhandled");
            }
            record["responseContext"] = context;
            record["responsePayload"] = json!({
                "errorMessage": failure.error_message,
                "errorType": failure.error_type,
            });
        }
        // Given up before any attempt (it waited too long): there is no response.
        (None, None) => {}
    }
    fit(record)
}

/// Drops the payloads of a record too large for a table item: the response first, then the
/// request.
fn fit(mut record: Value) -> Value {
    for field in ["responsePayload", "requestPayload"] {
        if record.to_string().len() <= ASYNC_RECORD_BYTES_MAX {
            break;
        }
        if let Value::Object(fields) = &mut record {
            fields.remove(field);
        }
    }
    record
}

/// The bytes as JSON, or as a JSON string when they are not JSON.
fn json_or_text(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Lambda's record timestamp: UTC, milliseconds, `Z`.
fn timestamp(now_ms: u64) -> String {
    let nanos = i128::from(now_ms) * 1_000_000;
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_default()
}

/// Writes `record` as an item of `table`, keyed by `request_id` in the table's partition key,
/// which must be a string and the table's whole key.
pub(super) async fn put(
    tables: &Tables,
    table: &str,
    request_id: &str,
    record: &Value,
) -> Result<(), String> {
    let request = json!({ "TableName": table }).to_string();
    let described = tables
        .handle("DescribeTable", request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let key_name = string_partition_key(&described["Table"]).ok_or_else(|| {
        format!(
            "destination table {table} must be keyed by one string attribute (a partition key of type S and no sort key)"
        )
    })?;
    let mut item = serde_json::Map::new();
    if let Value::Object(fields) = record {
        for (name, value) in fields {
            item.insert(name.clone(), to_attribute(value));
        }
    }
    item.insert(key_name, json!({ "S": request_id }));
    let request = json!({ "TableName": table, "Item": item }).to_string();
    tables
        .handle("PutItem", request.as_bytes())
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The name of the table's key when it is one string partition key.
fn string_partition_key(table: &Value) -> Option<String> {
    let [key] = table["KeySchema"].as_array()?.as_slice() else {
        return None;
    };
    let name = key["AttributeName"].as_str()?;
    let is_string = table["AttributeDefinitions"]
        .as_array()?
        .iter()
        .any(|d| d["AttributeName"] == name && d["AttributeType"] == "S");
    is_string.then(|| name.to_owned())
}
