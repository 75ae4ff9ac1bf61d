//! A handler-world function for stream triggers: it writes down every DynamoDB stream record it
//! is given, so tests can read what was delivered, in which invocation and at which position of
//! the batch, and it fails on request, so tests can drive retries, bisecting and partial batch
//! responses.
//!
//! The event is Lambda's DynamoDB stream event, `{"Records": [..]}`. For each record the function
//! writes one item into the table named by its `LOG_TABLE` configuration:
//!
//! | attribute   | type | value |
//! |-------------|------|-------|
//! | `id`        | S    | `"<SequenceNumber>#<request id>"`: one item per record and invocation |
//! | `seq`       | S    | the record's `dynamodb.SequenceNumber` |
//! | `eventName` | S    | `INSERT`, `MODIFY` or `REMOVE` |
//! | `pk`        | S    | `Keys.pk.S` when the key has a string `pk`, else the JSON text of `Keys` |
//! | `batch`     | N    | the number of records in this invocation |
//! | `request`   | S    | this invocation's request id |
//! | `position`  | N    | the record's index in the batch, from 0 |
//! | `newImage`  | S    | the JSON text of `NewImage` (wire form); absent when the record has none |
//! | `oldImage`  | S    | the JSON text of `OldImage` (wire form); absent when the record has none |
//! | `failed`    | BOOL | `true` on a record this invocation failed; absent otherwise |
//! | `record`    | S    | the JSON text of the whole record, for checks of its shape |
//!
//! A record fails when its `NewImage` has `fail` = `{"BOOL": true}`, and the `FAIL_MODE`
//! configuration says how:
//!
//! - `error`: every record is written down, then the invocation returns the function error
//!   `RecordFailed`, naming the failing sequence numbers.
//! - `partial`: every record is written down, and the invocation answers
//!   `{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}, ..]}` for the failing ones.
//! - absent: no record fails.
//!
//! Otherwise the answer is `{}`. A malformed event is the function error `BadEvent`; a missing
//! `LOG_TABLE` or an unknown `FAIL_MODE` is `BadConfig`; a failed write to the log table is
//! that table error.

use rondo_sdk::tables::{AttributeValue, Item, Table};
use rondo_sdk::{Context, Error, config};
use serde_json::{Value, json};

rondo_sdk::handler!(handle);

/// How records marked `fail` fail the invocation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FailMode {
    /// They do not: every record succeeds.
    Never,
    /// The whole invocation returns a function error.
    Error,
    /// The invocation reports them in `batchItemFailures`.
    Partial,
}

fn handle(event: Value, ctx: &Context) -> Result<Value, Error> {
    let log = Table::new(config::get("LOG_TABLE").ok_or_else(|| bad_config("LOG_TABLE", "set"))?);
    let fail_mode = match config::get("FAIL_MODE").as_deref() {
        None => FailMode::Never,
        Some("error") => FailMode::Error,
        Some("partial") => FailMode::Partial,
        Some(_) => return Err(bad_config("FAIL_MODE", "`error` or `partial`")),
    };
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_event("`Records` must be an array"))?;

    let mut failed_seqs = Vec::new();
    for (position, record) in records.iter().enumerate() {
        let failed = fail_mode != FailMode::Never && is_marked_to_fail(record);
        let entry = log_entry(record, position, records.len(), ctx.request_id(), failed)?;
        if failed {
            failed_seqs.push(sequence_number(record)?.to_owned());
        }
        log.put(entry).send()?;
    }

    match fail_mode {
        FailMode::Error if !failed_seqs.is_empty() => Err(Error::new(
            "RecordFailed",
            format!("records marked to fail: {}", failed_seqs.join(", ")),
        )),
        FailMode::Partial => {
            let failures: Vec<Value> = failed_seqs
                .iter()
                .map(|seq| json!({"itemIdentifier": seq}))
                .collect();
            if failures.is_empty() {
                Ok(json!({}))
            } else {
                Ok(json!({"batchItemFailures": failures}))
            }
        }
        _ => Ok(json!({})),
    }
}

/// The log table's item for one record.
fn log_entry(
    record: &Value,
    position: usize,
    batch: usize,
    request_id: &str,
    failed: bool,
) -> Result<Item, Error> {
    let seq = sequence_number(record)?;
    let event_name = record
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_event("a record's `eventName` must be a string"))?;
    let keys = record
        .pointer("/dynamodb/Keys")
        .ok_or_else(|| bad_event("a record must have `dynamodb.Keys`"))?;
    let pk = match keys.pointer("/pk/S").and_then(Value::as_str) {
        Some(pk) => pk.to_owned(),
        None => keys.to_string(),
    };

    let mut entry = Item::new();
    entry.insert("id".to_owned(), format!("{seq}#{request_id}").into());
    entry.insert("seq".to_owned(), seq.into());
    entry.insert("eventName".to_owned(), event_name.into());
    entry.insert("pk".to_owned(), pk.into());
    entry.insert("batch".to_owned(), AttributeValue::N(batch.to_string()));
    entry.insert("request".to_owned(), request_id.into());
    entry.insert(
        "position".to_owned(),
        AttributeValue::N(position.to_string()),
    );
    for (field, attribute) in [("NewImage", "newImage"), ("OldImage", "oldImage")] {
        if let Some(image) = record.get("dynamodb").and_then(|d| d.get(field)) {
            entry.insert(attribute.to_owned(), image.to_string().into());
        }
    }
    if failed {
        entry.insert("failed".to_owned(), AttributeValue::Bool(true));
    }
    entry.insert("record".to_owned(), record.to_string().into());
    Ok(entry)
}

/// Whether the record's new image has `fail` = `{"BOOL": true}`.
fn is_marked_to_fail(record: &Value) -> bool {
    record.pointer("/dynamodb/NewImage/fail/BOOL") == Some(&Value::Bool(true))
}

fn sequence_number(record: &Value) -> Result<&str, Error> {
    record
        .pointer("/dynamodb/SequenceNumber")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_event("a record's `dynamodb.SequenceNumber` must be a string"))
}

fn bad_event(message: &str) -> Error {
    Error::new("BadEvent", message)
}

fn bad_config(key: &str, expected: &str) -> Error {
    Error::new(
        "BadConfig",
        format!("configuration `{key}` must be {expected}"),
    )
}
