//! The one writer of destination records: a trigger's on-failure record and an asynchronous
//! invocation's record both become an item of their destination table through [`write`] (one
//! attempt) or [`write_until_done`] (retried with capped backoff until it is in).
//!
//! The item is the record's top-level fields as attributes (JSON objects as maps, arrays as
//! lists), plus the table's key:
//!
//! - the partition key, which must be a string (`S`), gets the record's id: a fresh id per
//!   failed batch for a trigger, the event's request id for an asynchronous invocation (so a
//!   record written twice, after a crash, is one item);
//! - the sort key, if the table has one, gets the record's `timestamp`: as its text
//!   (`2026-01-02T03:04:05.678Z`, which sorts by time) when it is a string (`S`), as milliseconds
//!   since the epoch when it is a number (`N`).
//!
//! The key attributes are set last: a record field with a key's name is replaced by the key's
//! value (the record's own fields are Lambda's: `version`, `timestamp`, `requestContext`, …).
//! Which tables qualify is checked when the app is loaded ([`check`]): a binary key, or a
//! numeric partition key, fails the load naming the trigger or function, the table and the key.

use std::time::Duration;

use manifest::{AppSpec, KeyType, TableSpec, TriggerSource};
use serde_json::{Value, json};
use tables::Tables;

use crate::attribute::to_attribute;
use crate::limits::{DESTINATION_BACKOFF_MS_MAX, DESTINATION_BACKOFF_MS_MIN};

/// A destination the writer cannot fill, found when the app is loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{owner}: destination table \"{table}\": {reason}")]
pub struct DestinationError {
    /// `trigger table:SOURCE -> FUNCTION` or `function "NAME": async.on_failure`.
    pub owner: String,
    pub table: String,
    pub reason: String,
}

/// Checks every destination of the app (triggers' `on_failure`, functions' `async.on_failure`
/// and `async.on_success`): it must be a table of the app whose key the writer can fill.
pub fn check(spec: &AppSpec) -> Result<(), DestinationError> {
    let mut destinations: Vec<(String, &TriggerSource)> = Vec::new();
    for trigger in &spec.triggers {
        if let Some(destination) = &trigger.on_failure {
            let source = match &trigger.source {
                TriggerSource::Table(name) => format!("table:{name}"),
                TriggerSource::Queue(name) => format!("queue:{name}"),
            };
            destinations.push((
                format!("trigger {source} -> {}: on_failure", trigger.function),
                destination,
            ));
        }
    }
    for function in spec.functions.values() {
        for (field, destination) in [
            ("async.on_failure", &function.event_invoke.on_failure),
            ("async.on_success", &function.event_invoke.on_success),
        ] {
            if let Some(destination) = destination {
                destinations.push((
                    format!("function \"{}\": {field}", function.name),
                    destination,
                ));
            }
        }
    }
    for (owner, destination) in destinations {
        let error = |table: &str, reason: String| DestinationError {
            owner: owner.clone(),
            table: table.to_owned(),
            reason,
        };
        let table = match destination {
            TriggerSource::Table(table) => table,
            // `manifest::parse` refuses queue destinations; should one get here, it fails too.
            TriggerSource::Queue(queue) => {
                return Err(error(queue, "queue destinations are not built".to_owned()));
            }
        };
        let Some(spec) = spec.tables.get(table) else {
            return Err(error(table, "is not a table of the app".to_owned()));
        };
        check_keys(spec).map_err(|reason| error(table, reason))?;
    }
    Ok(())
}

/// Whether the writer can fill the table's key: a string partition key, and a string or
/// numeric sort key if any.
fn check_keys(table: &TableSpec) -> Result<(), String> {
    let partition = &table.partition_key;
    if partition.kind != KeyType::S {
        return Err(format!(
            "its partition key \"{}\" is of type {:?}; a destination's partition key must be a string (S), which receives the record's id",
            partition.name, partition.kind
        ));
    }
    if let Some(sort) = &table.sort_key
        && sort.kind == KeyType::B
    {
        return Err(format!(
            "its sort key \"{}\" is of type B; a destination's sort key must be a string (S) or a number (N), which receives the record's timestamp",
            sort.name
        ));
    }
    Ok(())
}

/// Lambda's record timestamp: UTC, milliseconds, `Z` (`2026-01-02T03:04:05.678Z`).
pub(crate) fn timestamp(time_ms: u64) -> String {
    let nanos = i128::from(time_ms) * 1_000_000;
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_default()
}

/// Reads what [`timestamp`] wrote back as milliseconds since the epoch.
fn timestamp_ms(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 24
        || [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .any(|(at, c)| bytes[*at] != *c)
    {
        return None;
    }
    let number = |from: usize, to: usize| text.get(from..to)?.parse::<u32>().ok();
    let month = time::Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(number(0, 4)?).ok()?,
        month,
        u8::try_from(number(8, 10)?).ok()?,
    )
    .ok()?;
    let time = time::Time::from_hms_milli(
        u8::try_from(number(11, 13)?).ok()?,
        u8::try_from(number(14, 16)?).ok()?,
        u8::try_from(number(17, 19)?).ok()?,
        u16::try_from(number(20, 23)?).ok()?,
    )
    .ok()?;
    let nanos = date.with_time(time).assume_utc().unix_timestamp_nanos();
    u64::try_from(nanos / 1_000_000).ok()
}

/// Writes `record` (a JSON object with a `timestamp` made by [`timestamp`]) as an item of
/// `table` under `id`: one attempt.
pub(crate) async fn write(
    tables: &Tables,
    table: &str,
    id: &str,
    record: &Value,
) -> Result<(), String> {
    let Value::Object(fields) = record else {
        return Err("the record is not a JSON object".to_owned());
    };
    let request = json!({ "TableName": table }).to_string();
    let described = tables
        .handle("DescribeTable", request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let described = &described["Table"];
    let key_type = |name: &str| {
        described["AttributeDefinitions"]
            .as_array()
            .and_then(|definitions| {
                definitions
                    .iter()
                    .find(|d| d["AttributeName"] == name)
                    .and_then(|d| d["AttributeType"].as_str())
            })
            .unwrap_or("")
            .to_owned()
    };
    let mut item: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| (name.clone(), to_attribute(value)))
        .collect();
    // The key last, so no field of the record replaces it.
    for key in described["KeySchema"].as_array().into_iter().flatten() {
        let name = key["AttributeName"].as_str().unwrap_or_default();
        let kind = key_type(name);
        let value = match (key["KeyType"].as_str(), kind.as_str()) {
            (Some("HASH"), "S") => json!({ "S": id }),
            (Some("RANGE"), "S" | "N") => {
                let text = record["timestamp"].as_str().unwrap_or_default();
                let time_ms = timestamp_ms(text)
                    .ok_or_else(|| format!("the record's timestamp {text:?} is not a time"))?;
                if kind == "S" {
                    json!({ "S": text })
                } else {
                    json!({ "N": time_ms.to_string() })
                }
            }
            (role, kind) => {
                return Err(format!(
                    "table {table}'s key \"{name}\" ({}, type {kind}) cannot hold a record's id or time",
                    role.unwrap_or("?")
                ));
            }
        };
        item.insert(name.to_owned(), value);
    }
    let request = json!({ "TableName": table, "Item": item }).to_string();
    tables
        .handle("PutItem", request.as_bytes())
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Writes the record until it is in, waiting [`DESTINATION_BACKOFF_MS_MIN`] after the first
/// failure and twice as long after each further one, up to [`DESTINATION_BACKOFF_MS_MAX`];
/// `failed(attempt, error)` is told about each failure. Never gives up: its caller's event is
/// not done until its record is written.
pub(crate) async fn write_until_done(
    tables: &Tables,
    table: &str,
    id: &str,
    record: &Value,
    backoff_ms: (u64, u64),
    mut failed: impl FnMut(u32, String),
) {
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let Err(error) = write(tables, table, id, record).await else {
            return;
        };
        failed(attempt, error);
        let (min, max) = backoff_ms;
        let wait_ms = min
            .saturating_mul(1 << attempt.saturating_sub(1).min(20))
            .min(max);
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    }
}

/// The writer's backoff: [`DESTINATION_BACKOFF_MS_MIN`] to [`DESTINATION_BACKOFF_MS_MAX`].
pub(crate) const BACKOFF_MS: (u64, u64) = (DESTINATION_BACKOFF_MS_MIN, DESTINATION_BACKOFF_MS_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_as_written() {
        for time_ms in [0, 1_700_000_123_456, 1_767_323_045_678] {
            assert_eq!(timestamp_ms(&timestamp(time_ms)), Some(time_ms));
        }
        assert_eq!(timestamp(1_700_000_123_456), "2023-11-14T22:15:23.456Z");
        for bad in [
            "",
            "2023-11-14T22:15:23Z",
            "2023-13-14T22:15:23.456Z",
            "x".repeat(24).as_str(),
        ] {
            assert_eq!(timestamp_ms(bad), None, "{bad}");
        }
    }

    fn app(tables: &str, destination: &str) -> AppSpec {
        let text = format!(
            r#"[app]
name = "destinations"

[table.carts]
partition_key = {{ name = "pk", type = "S" }}
stream = "NEW_IMAGE"

{tables}

[function.f]
wasm = "f.wasm"

[function.f.async]
on_success = "table:{destination}"

[[trigger]]
source = "table:carts"
function = "f"
maximum_retry_attempts = 1
on_failure = "table:{destination}"
"#
        );
        manifest::parse(&text, "rondo.toml", std::path::Path::new("/app")).expect("the manifest")
    }

    #[test]
    fn a_destination_needs_a_key_the_writer_can_fill() {
        let ok = [
            r#"[table.dest]
partition_key = { name = "id", type = "S" }"#,
            r#"[table.dest]
partition_key = { name = "id", type = "S" }
sort_key = { name = "at", type = "N" }"#,
            r#"[table.dest]
partition_key = { name = "id", type = "S" }
sort_key = { name = "timestamp", type = "S" }"#,
        ];
        for tables in ok {
            assert_eq!(check(&app(tables, "dest")), Ok(()), "{tables}");
        }
        let numeric_partition = r#"[table.dest]
partition_key = { name = "id", type = "N" }"#;
        let error = check(&app(numeric_partition, "dest")).expect_err("a numeric partition key");
        assert_eq!(error.owner, "trigger table:carts -> f: on_failure");
        assert_eq!(error.table, "dest");
        assert!(
            error
                .to_string()
                .contains("partition key \"id\" is of type N"),
            "{error}"
        );
        let binary_sort = r#"[table.dest]
partition_key = { name = "id", type = "S" }
sort_key = { name = "at", type = "B" }"#;
        let error = check(&app(binary_sort, "dest")).expect_err("a binary sort key");
        assert!(
            error.to_string().contains("sort key \"at\" is of type B"),
            "{error}"
        );

        let mut spec = app(ok[0], "dest");
        spec.triggers.clear();
        spec.tables
            .get_mut("dest")
            .expect("dest")
            .partition_key
            .kind = KeyType::B;
        let error = check(&spec).expect_err("an async destination");
        assert_eq!(error.owner, "function \"f\": async.on_success");
    }
}
