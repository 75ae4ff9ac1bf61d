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
//! In a table, the record is one item, written by [`crate::destination`] (as the triggers'
//! on-failure records are) under the event's request id, so writing it twice writes the same
//! item.

use bytes::Bytes;
use serde_json::{Value, json};

use super::policy::Condition;
use super::stored::{FailureKind, StoredEvent};
use crate::destination;
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
        "timestamp": destination::timestamp(now_ms),
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
