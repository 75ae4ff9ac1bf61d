//! The function of `cargo xtask bench triggers`: it notes when each stream record reached it, so
//! the benchmark can compare that moment with when the record's change was written.
//!
//! Its first statement reads the wall clock (WASI's clock is the host's real time, so the number
//! compares with the benchmark client's clock on the same machine). The event, Lambda's DynamoDB
//! stream event `{"Records": [..]}`, has already been parsed by the SDK by then: a few
//! microseconds for a small batch.
//!
//! For each record it then writes one item into the table named by its `LOG_TABLE`
//! configuration, with `BatchWriteItem` in chunks of 25 (DynamoDB's maximum), so that its own
//! writes cost few commits and hold the trigger back as little as possible:
//!
//! | attribute   | type | value |
//! |-------------|------|-------|
//! | `id`        | S    | the record's `dynamodb.Keys.pk.S` |
//! | `startedUs` | N    | the wall clock at the start of the invocation, in µs since the Unix epoch |
//! | `batch`     | N    | the number of records in this invocation |
//!
//! It answers `{}`. A malformed event (a record without a string `pk` key) is the function error
//! `BadEvent`; a missing `LOG_TABLE` is `BadConfig`; a failed write is that table error.

use std::time::{SystemTime, UNIX_EPOCH};

use rondo_sdk::tables;
use rondo_sdk::{Context, Error, config};
use serde_json::{Value, json};

rondo_sdk::handler!(handle);

/// Items in one `BatchWriteItem` (DynamoDB's maximum).
const BATCH_WRITE_ITEMS_MAX: usize = 25;

/// How many times the unprocessed items of one `BatchWriteItem` are sent again before the
/// invocation fails.
const UNPROCESSED_RETRIES_MAX: u32 = 10;

fn handle(event: Value, _ctx: &Context) -> Result<Value, Error> {
    let started_us = now_us();
    let log_table = config::get("LOG_TABLE")
        .ok_or_else(|| Error::new("BadConfig", "configuration `LOG_TABLE` must be set"))?;
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_event("`Records` must be an array"))?;
    let started_us = started_us.to_string();
    let batch = records.len().to_string();
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let pk = record
            .pointer("/dynamodb/Keys/pk/S")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_event("a record must have a string `dynamodb.Keys.pk`"))?;
        let item = json!({
            "id": { "S": pk },
            "startedUs": { "N": started_us },
            "batch": { "N": batch },
        });
        entries.push(json!({ "PutRequest": { "Item": item } }));
    }
    for chunk in entries.chunks(BATCH_WRITE_ITEMS_MAX) {
        write_all(&log_table, chunk.to_vec())?;
    }
    Ok(json!({}))
}

/// Sends `requests` to `table` with `BatchWriteItem`, again for whatever comes back unprocessed.
fn write_all(table: &str, mut requests: Vec<Value>) -> Result<(), Error> {
    for _ in 0..=UNPROCESSED_RETRIES_MAX {
        let answer = tables::call(
            "BatchWriteItem",
            &json!({ "RequestItems": { table: requests } }),
        )?;
        match answer.pointer(&format!("/UnprocessedItems/{table}")) {
            Some(Value::Array(unprocessed)) if !unprocessed.is_empty() => {
                requests = unprocessed.clone();
            }
            _ => return Ok(()),
        }
    }
    Err(Error::new(
        "Unprocessed",
        format!(
            "{} items were still unprocessed after {UNPROCESSED_RETRIES_MAX} retries",
            requests.len()
        ),
    ))
}

/// The wall clock in microseconds since the Unix epoch (0 if the clock is before it).
fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_micros())
        .unwrap_or(0)
}

fn bad_event(message: &str) -> Error {
    Error::new("BadEvent", message)
}
