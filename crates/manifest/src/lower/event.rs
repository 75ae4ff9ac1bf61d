//! `[[trigger]]`, `[queue.NAME]` and `[schedule.NAME]`: what invokes functions besides HTTP.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_spanned::Spanned;

use super::{Declared, Scope};
use crate::check;
use crate::error::Sink;
use crate::limits;
use crate::raw::{Entry, Named, RawQueue, RawSchedule, RawStartingPosition, RawTrigger};
use crate::spec::{
    QueueSpec, ScheduleSpec, StartingPosition, TableSpec, TriggerSource, TriggerSpec,
};

const SCHEDULE_INPUT_DEFAULT: &str = "{}";

pub(super) fn lower_triggers(
    triggers: Vec<Entry<RawTrigger>>,
    declared: &Declared,
    tables: &BTreeMap<String, TableSpec>,
    sink: &mut Sink<'_>,
) -> Vec<TriggerSpec> {
    let mut specs = Vec::new();
    for entry in &triggers {
        let mut scope = Scope::new(sink, entry);
        let Some(raw) = &entry.raw else {
            continue;
        };
        if let Some(spec) = lower_trigger(raw, declared, tables, &mut scope) {
            specs.push(spec);
        }
    }
    specs
}

fn lower_trigger(
    raw: &RawTrigger,
    declared: &Declared,
    tables: &BTreeMap<String, TableSpec>,
    scope: &mut Scope<'_, '_>,
) -> Option<TriggerSpec> {
    declared.check_function(scope, &raw.function);
    let source = trigger_source(&raw.source, "source", declared, scope);
    let is_queue = matches!(source, Some(TriggerSource::Queue(_)));
    match &source {
        Some(TriggerSource::Table(table)) => require_stream(&raw.source, table, tables, scope),
        Some(TriggerSource::Queue(_)) => {
            // Nothing sends to a queue yet, so the trigger would never fire.
            scope.error(raw.source.span(), "queue triggers are not supported yet");
            refuse_table_only_fields(raw, scope);
        }
        None => {}
    }
    let batch_size_default = if is_queue {
        limits::QUEUE_BATCH_SIZE_DEFAULT
    } else {
        limits::TABLE_BATCH_SIZE_DEFAULT
    };
    let batch_size = scope.bounded(
        "batch_size",
        raw.batch_size.as_ref(),
        limits::BATCH_SIZE_RANGE,
    );
    let batching_window_ms = scope.bounded(
        "batching_window_ms",
        raw.batching_window_ms.as_ref(),
        limits::BATCHING_WINDOW_MS_RANGE,
    );
    let maximum_retry_attempts = scope.bounded(
        "maximum_retry_attempts",
        raw.maximum_retry_attempts.as_ref(),
        limits::MAXIMUM_RETRY_ATTEMPTS_RANGE,
    );
    let parallelization_factor = scope.bounded(
        "parallelization_factor",
        raw.parallelization_factor.as_ref(),
        limits::PARALLELIZATION_FACTOR_RANGE,
    );
    // A queue trigger's `on_failure` was refused above, as a field of table triggers only.
    let on_failure = raw.on_failure.as_ref().filter(|_| !is_queue);
    let on_failure =
        on_failure.and_then(|target| destination(target, "on_failure", declared, scope));
    let starting_position = match raw.starting_position.as_ref().map(Spanned::get_ref) {
        Some(RawStartingPosition::TrimHorizon) => StartingPosition::TrimHorizon,
        Some(RawStartingPosition::Latest) | None => StartingPosition::Latest,
    };
    let bisect = raw.bisect_batch_on_function_error.as_ref();
    Some(TriggerSpec {
        source: source?,
        function: raw.function.get_ref().clone(),
        batch_size: batch_size.unwrap_or(batch_size_default),
        batching_window_ms: batching_window_ms.unwrap_or(0),
        starting_position,
        maximum_retry_attempts,
        maximum_record_age_s: maximum_record_age_s(raw.maximum_record_age_s.as_ref(), scope),
        bisect_batch_on_function_error: bisect.is_some_and(|bisect| *bisect.get_ref()),
        parallelization_factor: parallelization_factor
            .unwrap_or(limits::PARALLELIZATION_FACTOR_DEFAULT),
        report_batch_item_failures: raw.report_batch_item_failures.unwrap_or(false),
        filter_patterns: filter_patterns(&raw.filter_patterns, scope),
        on_failure,
    })
}

/// Lambda reads a table's changes from its stream, so a table trigger needs one.
fn require_stream(
    source: &Spanned<String>,
    table: &str,
    tables: &BTreeMap<String, TableSpec>,
    scope: &mut Scope<'_, '_>,
) {
    // A declared table missing from `tables` was invalid, and that was reported.
    let has_no_stream = tables
        .get(table)
        .is_some_and(|table| table.stream.is_none());
    if has_no_stream {
        let message = format!(
            "table \"{table}\" has no stream; set `stream` on the table to trigger from it"
        );
        scope.error(source.span(), message);
    }
}

/// Parses `table:NAME` or `queue:NAME` and checks that the name is declared.
pub(super) fn trigger_source(
    text: &Spanned<String>,
    field: &str,
    declared: &Declared,
    scope: &mut Scope<'_, '_>,
) -> Option<TriggerSource> {
    let (source, is_declared) = match text.get_ref().split_once(':') {
        Some(("table", name)) => (
            TriggerSource::Table(name.to_owned()),
            declared.tables.contains(name),
        ),
        Some(("queue", name)) => (
            TriggerSource::Queue(name.to_owned()),
            declared.queues.contains(name),
        ),
        _ => {
            scope.error(
                text.span(),
                format!("{field} must be `table:NAME` or `queue:NAME`"),
            );
            return None;
        }
    };
    if !is_declared {
        let (kind, name) = match &source {
            TriggerSource::Table(name) => ("table", name),
            TriggerSource::Queue(name) => ("queue", name),
        };
        scope.error(text.span(), format!("{kind} \"{name}\" is not declared"));
        return None;
    }
    Some(source)
}

/// Parses a destination of failed batches or asynchronous outcomes: a declared table.
///
/// A queue is refused until queues are built, as the records sent there would be dropped.
pub(super) fn destination(
    text: &Spanned<String>,
    field: &str,
    declared: &Declared,
    scope: &mut Scope<'_, '_>,
) -> Option<TriggerSource> {
    match trigger_source(text, field, declared, scope)? {
        TriggerSource::Table(table) => Some(TriggerSource::Table(table)),
        TriggerSource::Queue(_) => {
            let message =
                format!("{field}: queue destinations are not supported yet; use `table:NAME`");
            scope.error(text.span(), message);
            None
        }
    }
}

/// Lambda accepts these for stream sources only; a queue retries through its dead-letter queue.
fn refuse_table_only_fields(raw: &RawTrigger, scope: &mut Scope<'_, '_>) {
    let fields: [(&str, Option<Range<usize>>); 6] = [
        (
            "starting_position",
            raw.starting_position.as_ref().map(Spanned::span),
        ),
        (
            "maximum_retry_attempts",
            raw.maximum_retry_attempts.as_ref().map(Spanned::span),
        ),
        (
            "maximum_record_age_s",
            raw.maximum_record_age_s.as_ref().map(Spanned::span),
        ),
        (
            "bisect_batch_on_function_error",
            raw.bisect_batch_on_function_error
                .as_ref()
                .map(Spanned::span),
        ),
        (
            "parallelization_factor",
            raw.parallelization_factor.as_ref().map(Spanned::span),
        ),
        ("on_failure", raw.on_failure.as_ref().map(Spanned::span)),
    ];
    for (field, span) in fields {
        if let Some(span) = span {
            let message = format!(
                "`{field}` applies to table triggers only; a queue retries through its dead_letter_queue"
            );
            scope.error(span, message);
        }
    }
}

/// `-1` (Lambda's spelling of "no limit") and absence both mean no limit.
fn maximum_record_age_s(age: Option<&Spanned<i64>>, scope: &mut Scope<'_, '_>) -> Option<u32> {
    let age = age?;
    let range = limits::MAXIMUM_RECORD_AGE_S_RANGE;
    match *age.get_ref() {
        -1 => None,
        seconds if range.contains(&seconds) => u32::try_from(seconds).ok(),
        _ => {
            let message = format!(
                "maximum_record_age_s must be -1 (no limit) or {}..={}",
                range.start(),
                range.end()
            );
            scope.error(age.span(), message);
            None
        }
    }
}

fn filter_patterns(patterns: &[Spanned<String>], scope: &mut Scope<'_, '_>) -> Vec<String> {
    for pattern in patterns {
        if let Err(why) = check::json_object(pattern.get_ref()) {
            scope.error(pattern.span(), format!("filter pattern {why}"));
        } else if let Err(why) = patterns::Pattern::parse(pattern.get_ref()) {
            scope.error(pattern.span(), format!("filter pattern: {why}"));
        }
    }
    patterns
        .iter()
        .map(|pattern| pattern.get_ref().clone())
        .collect()
}

pub(super) fn lower_queues(
    queues: Vec<Named<RawQueue>>,
    declared: &Declared,
    sink: &mut Sink<'_>,
) -> BTreeMap<String, QueueSpec> {
    let mut specs = BTreeMap::new();
    for Named { name, entry } in queues {
        let mut scope = Scope::new(sink, &entry);
        scope.name(&check::QUEUE_NAME, &name);
        // Queue triggers and queue destinations are refused, so nothing can use a queue yet.
        scope.warning_at_header(
            "queues are not supported yet: nothing sends to it or reads from it",
        );
        let Some(raw) = &entry.raw else {
            continue;
        };
        let spec = lower_queue(name.get_ref(), raw, declared, &mut scope);
        specs.insert(name.into_inner(), spec);
    }
    specs
}

fn lower_queue(
    name: &str,
    raw: &RawQueue,
    declared: &Declared,
    scope: &mut Scope<'_, '_>,
) -> QueueSpec {
    let visibility_range = limits::VISIBILITY_TIMEOUT_S_RANGE;
    let retention_range = limits::MESSAGE_RETENTION_S_RANGE;
    let receive_range = limits::MAX_RECEIVE_COUNT_RANGE;
    let visibility_timeout_s = scope.bounded(
        "visibility_timeout_s",
        raw.visibility_timeout_s.as_ref(),
        visibility_range,
    );
    let message_retention_s = scope.bounded(
        "message_retention_s",
        raw.message_retention_s.as_ref(),
        retention_range,
    );
    let max_receive_count = scope.bounded(
        "max_receive_count",
        raw.max_receive_count.as_ref(),
        receive_range,
    );
    match (&raw.max_receive_count, &raw.dead_letter_queue) {
        (Some(count), None) => scope.error(
            count.span(),
            "max_receive_count needs a dead_letter_queue to move messages to",
        ),
        (None, Some(queue)) => scope.error(
            queue.span(),
            "dead_letter_queue needs max_receive_count, the receives before a message moves there",
        ),
        _ => {}
    }
    if let Some(queue) = &raw.dead_letter_queue {
        if queue.get_ref() == name {
            scope.error(queue.span(), "dead_letter_queue must be another queue");
        } else if !declared.queues.contains(queue.get_ref()) {
            scope.error(
                queue.span(),
                format!("queue \"{}\" is not declared", queue.get_ref()),
            );
        }
    }
    QueueSpec {
        name: name.to_owned(),
        visibility_timeout_s: visibility_timeout_s.unwrap_or(limits::VISIBILITY_TIMEOUT_S_DEFAULT),
        message_retention_s: message_retention_s.unwrap_or(limits::MESSAGE_RETENTION_S_DEFAULT),
        max_receive_count,
        dead_letter_queue: raw
            .dead_letter_queue
            .as_ref()
            .map(|queue| queue.get_ref().clone()),
    }
}

pub(super) fn lower_schedules(
    schedules: Vec<Named<RawSchedule>>,
    declared: &Declared,
    sink: &mut Sink<'_>,
) -> BTreeMap<String, ScheduleSpec> {
    let mut specs = BTreeMap::new();
    for Named { name, entry } in schedules {
        let mut scope = Scope::new(sink, &entry);
        scope.name(&check::SCHEDULE_NAME, &name);
        // Nothing runs schedules yet, so the function would never be invoked. The rest is
        // still checked, so that one load shows everything to fix.
        scope.error_at_header("schedules are not supported yet");
        let Some(raw) = &entry.raw else {
            continue;
        };
        if let Err(why) = check::schedule_expression(raw.expression.get_ref()) {
            scope.error(raw.expression.span(), why);
        }
        declared.check_function(&mut scope, &raw.function);
        if let Some(input) = &raw.input
            && let Err(why) = check::json(input.get_ref())
        {
            scope.error(input.span(), format!("input {why}"));
        }
        let spec = ScheduleSpec {
            name: name.get_ref().clone(),
            expression: raw.expression.get_ref().clone(),
            function: raw.function.get_ref().clone(),
            input: raw
                .input
                .as_ref()
                .map_or(SCHEDULE_INPUT_DEFAULT.to_owned(), |input| {
                    input.get_ref().clone()
                }),
        };
        specs.insert(name.into_inner(), spec);
    }
    specs
}
