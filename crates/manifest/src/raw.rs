//! The manifest as written: the serde shapes of each section, keeping spans for later errors.
//!
//! Each entry (one function, one route, ...) is deserialised on its own,
//! so one bad entry does not hide the errors of the next, and every error names the entry it is in.
//! Integers are read as `i64` so that range errors come from `lower`, in its words.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde_spanned::Spanned;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};

use crate::error::Sink;

const SECTIONS: &str = "`app`, `function`, `route`, `table`, `trigger`, `websocket`, `queue`, `schedule`, `static`, `billing`, `limits`";

#[derive(Default)]
pub(crate) struct RawManifest {
    pub(crate) app: Option<Entry<RawApp>>,
    pub(crate) functions: Vec<Named<RawFunction>>,
    pub(crate) routes: Vec<Entry<RawRoute>>,
    pub(crate) tables: Vec<Named<RawTable>>,
    pub(crate) triggers: Vec<Entry<RawTrigger>>,
    pub(crate) websocket: Option<Entry<RawWebSocket>>,
    pub(crate) queues: Vec<Named<RawQueue>>,
    pub(crate) schedules: Vec<Named<RawSchedule>>,
    pub(crate) static_files: Option<Entry<RawStatic>>,
    pub(crate) billing: Option<Entry<RawBilling>>,
    pub(crate) limits: Option<Entry<RawLimits>>,
}

/// One table of the manifest: where it is, how errors in it are prefixed, and its contents.
pub(crate) struct Entry<T> {
    /// The table's header (or inline table), where errors about missing fields point.
    pub(crate) span: Range<usize>,
    /// E.g. `function "hello"`.
    pub(crate) context: String,
    /// `None` when it could not be deserialised; that was reported.
    pub(crate) raw: Option<T>,
}

/// An entry of a section keyed by name, like `[function.hello]`.
pub(crate) struct Named<T> {
    pub(crate) name: Spanned<String>,
    pub(crate) entry: Entry<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawApp {
    pub(crate) name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawFunction {
    pub(crate) wasm: Option<Spanned<String>>,
    pub(crate) runtime: Option<Spanned<RawRuntime>>,
    pub(crate) code: Option<Spanned<String>>,
    pub(crate) handler: Option<Spanned<String>>,
    pub(crate) memory_mb: Option<Spanned<i64>>,
    pub(crate) timeout_ms: Option<Spanned<i64>>,
    pub(crate) ephemeral_storage_mb: Option<Spanned<i64>>,
    pub(crate) environment: Option<Spanned<BTreeMap<Spanned<String>, String>>>,
    pub(crate) allowed_outbound_hosts: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) reserved_concurrency: Option<Spanned<i64>>,
    /// `[function.NAME.async]`: how asynchronous invocations are retried and where their
    /// outcomes go.
    #[serde(rename = "async")]
    pub(crate) event_invoke: Option<RawEventInvoke>,
}

/// Lambda's `FunctionEventInvokeConfig`, as `[function.NAME.async]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawEventInvoke {
    pub(crate) maximum_retry_attempts: Option<Spanned<i64>>,
    pub(crate) maximum_event_age_s: Option<Spanned<i64>>,
    pub(crate) on_failure: Option<Spanned<String>>,
    pub(crate) on_success: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawRuntime {
    Provided,
    Python3,
    Nodejs,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRoute {
    pub(crate) route: Spanned<String>,
    pub(crate) function: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTable {
    pub(crate) partition_key: RawKey,
    pub(crate) sort_key: Option<RawKey>,
    pub(crate) stream: Option<RawStreamView>,
    pub(crate) ttl_attribute: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) global_secondary_index: Vec<RawGlobalIndex>,
    #[serde(default)]
    pub(crate) local_secondary_index: Vec<RawLocalIndex>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a key like { name = \"id\", type = \"S\" }"
)]
pub(crate) struct RawKey {
    pub(crate) name: Spanned<String>,
    #[serde(rename = "type")]
    pub(crate) kind: RawKeyType,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKeyType {
    S,
    N,
    B,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RawStreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawGlobalIndex {
    pub(crate) name: Spanned<String>,
    pub(crate) partition_key: RawKey,
    pub(crate) sort_key: Option<RawKey>,
    pub(crate) projection: Option<Spanned<RawProjection>>,
}

/// A local index always shares the table's partition key, so it only names a sort key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawLocalIndex {
    pub(crate) name: Spanned<String>,
    pub(crate) sort_key: RawKey,
    pub(crate) projection: Option<Spanned<RawProjection>>,
}

/// `"ALL"`, `"KEYS_ONLY"` or a list of attribute names; the word is checked in `lower`.
pub(crate) enum RawProjection {
    Word(String),
    Include(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTrigger {
    pub(crate) source: Spanned<String>,
    pub(crate) function: Spanned<String>,
    pub(crate) batch_size: Option<Spanned<i64>>,
    pub(crate) batching_window_ms: Option<Spanned<i64>>,
    pub(crate) starting_position: Option<Spanned<RawStartingPosition>>,
    pub(crate) maximum_retry_attempts: Option<Spanned<i64>>,
    pub(crate) maximum_record_age_s: Option<Spanned<i64>>,
    pub(crate) bisect_batch_on_function_error: Option<Spanned<bool>>,
    pub(crate) parallelization_factor: Option<Spanned<i64>>,
    pub(crate) report_batch_item_failures: Option<bool>,
    #[serde(default)]
    pub(crate) filter_patterns: Vec<Spanned<String>>,
    pub(crate) on_failure: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RawStartingPosition {
    TrimHorizon,
    Latest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawWebSocket {
    pub(crate) path: Spanned<String>,
    pub(crate) route_selection_expression: Option<Spanned<String>>,
    pub(crate) routes: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawQueue {
    pub(crate) visibility_timeout_s: Option<Spanned<i64>>,
    pub(crate) message_retention_s: Option<Spanned<i64>>,
    pub(crate) max_receive_count: Option<Spanned<i64>>,
    pub(crate) dead_letter_queue: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawSchedule {
    pub(crate) expression: Spanned<String>,
    pub(crate) function: Spanned<String>,
    pub(crate) input: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawStatic {
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) dir: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawBilling {
    pub(crate) granularity_ms: Option<Spanned<i64>>,
    pub(crate) price_per_gb_second_usd: Option<Spanned<f64>>,
    pub(crate) price_per_request_usd: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawLimits {
    pub(crate) concurrency_max: Option<Spanned<i64>>,
    pub(crate) request_body_bytes_max: Option<Spanned<i64>>,
    pub(crate) response_bytes_max: Option<Spanned<i64>>,
    pub(crate) throttle_wait_ms: Option<Spanned<i64>>,
    pub(crate) throttle_queue_max: Option<Spanned<i64>>,
    pub(crate) scale_up_per_10s: Option<Spanned<i64>>,
}

/// Reads the TOML document into its sections; `None` if it is not TOML at all.
pub(crate) fn read(text: &str, sink: &mut Sink<'_>) -> Option<RawManifest> {
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => {
            report_syntax_error(text, &error, sink);
            return None;
        }
    };
    let mut manifest = RawManifest::default();
    for (key, value) in document.into_inner() {
        read_section(&mut manifest, key, value, sink);
    }
    Some(manifest)
}

fn report_syntax_error(text: &str, error: &toml::de::Error, sink: &mut Sink<'_>) {
    let span = error.span().unwrap_or(0..0);
    // toml does not say which key is duplicated; its span does.
    let duplicate_key = text
        .get(span.clone())
        .filter(|key| !key.is_empty() && error.message() == "duplicate key");
    let message = match duplicate_key {
        Some(key) => format!("invalid TOML: duplicate key `{key}`"),
        None => format!("invalid TOML: {}", error.message()),
    };
    sink.error(span.start, message);
}

fn read_section(
    manifest: &mut RawManifest,
    key: Spanned<DeString<'_>>,
    value: Spanned<DeValue<'_>>,
    sink: &mut Sink<'_>,
) {
    match key.get_ref().as_ref() {
        "app" => manifest.app = Some(entry(value, "app".to_owned(), sink)),
        "function" => manifest.functions = named(value, "function", sink),
        "route" => manifest.routes = listed(value, "route", "route", sink),
        "table" => manifest.tables = named(value, "table", sink),
        "trigger" => manifest.triggers = listed(value, "trigger", "source", sink),
        "websocket" => manifest.websocket = Some(entry(value, "websocket".to_owned(), sink)),
        "queue" => manifest.queues = named(value, "queue", sink),
        "schedule" => manifest.schedules = named(value, "schedule", sink),
        "static" => manifest.static_files = Some(entry(value, "static".to_owned(), sink)),
        "billing" => manifest.billing = Some(entry(value, "billing".to_owned(), sink)),
        "limits" => manifest.limits = Some(entry(value, "limits".to_owned(), sink)),
        other => sink.error(
            key.span().start,
            format!("unknown section `{other}`, expected one of {SECTIONS}"),
        ),
    }
}

/// A section of named tables, like `[function.NAME]`.
fn named<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    section: &str,
    sink: &mut Sink<'_>,
) -> Vec<Named<T>> {
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        let message = format!("`{section}` must hold named tables, written [{section}.NAME]");
        sink.error(span.start, message);
        return Vec::new();
    };
    let mut entries: Vec<Named<T>> = table
        .into_iter()
        .map(|(name, value)| {
            let name = Spanned::new(name.span(), name.into_inner().into_owned());
            let context = format!("{section} \"{}\"", name.get_ref());
            Named {
                name,
                entry: entry(value, context, sink),
            }
        })
        .collect();
    // toml keeps keys sorted; file order makes later checks report in reading order.
    entries.sort_by_key(|named| named.name.span().start);
    entries
}

/// A section that is an array of tables, like `[[route]]`.
/// Each entry is named after its `label_field` when that is a string, or else by its position.
fn listed<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    section: &str,
    label_field: &str,
    sink: &mut Sink<'_>,
) -> Vec<Entry<T>> {
    let span = value.span();
    let DeValue::Array(array) = value.into_inner() else {
        let message = format!("`{section}` must be an array of tables, written [[{section}]]");
        sink.error(span.start, message);
        return Vec::new();
    };
    array
        .into_iter()
        .enumerate()
        .map(|(entry_idx, value)| {
            let label = value
                .get_ref()
                .as_table()
                .and_then(|table| table.get(label_field));
            let context = match label.and_then(|label| label.get_ref().as_str()) {
                Some(label) => format!("{section} \"{label}\""),
                None => format!("{section} #{}", entry_idx + 1),
            };
            entry(value, context, sink)
        })
        .collect()
}

fn entry<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    context: String,
    sink: &mut Sink<'_>,
) -> Entry<T> {
    let span = value.span();
    let raw = match T::deserialize(ValueDeserializer::from(value)) {
        Ok(raw) => Some(raw),
        Err(error) => {
            let offset = error.span().unwrap_or(span.clone()).start;
            sink.error(
                offset,
                format!("{context}: {}", plain_words(error.message())),
            );
            None
        }
    };
    Entry { span, context, raw }
}

/// serde names Rust types in its messages; say what a manifest writer would.
fn plain_words(message: &str) -> String {
    if message.contains(" as i128") || message.contains(" as u128") {
        return "integer is too large".to_owned();
    }
    message
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("expected a sequence", "expected an array")
        .replace("invalid type: sequence", "invalid type: array")
}

impl<'de> Deserialize<'de> for RawProjection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProjectionVisitor)
    }
}

struct ProjectionVisitor;

impl<'de> Visitor<'de> for ProjectionVisitor {
    type Value = RawProjection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"ALL\", \"KEYS_ONLY\" or a list of attribute names")
    }

    fn visit_str<E: de::Error>(self, word: &str) -> Result<RawProjection, E> {
        Ok(RawProjection::Word(word.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawProjection, A::Error> {
        let mut attributes = Vec::new();
        while let Some(attribute) = seq.next_element::<String>()? {
            attributes.push(attribute);
        }
        Ok(RawProjection::Include(attributes))
    }
}
