//! Validates the raw sections, checks the references between them, applies defaults and resolves paths.
//!
//! Every problem is reported to the sink and lowering goes on, so one run shows them all.
//! A value that failed its check is replaced by its default; the caller discards the result if anything was reported.

mod event;
mod function;
mod route;
mod table;

use std::collections::BTreeSet;
use std::fmt::Display;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use serde_spanned::Spanned;

use crate::check::{self, NameRule};
use crate::error::Sink;
use crate::limits;
use crate::raw::{Entry, Named, RawApp, RawBilling, RawLimits, RawManifest, RawStatic};
use crate::spec::{AppLimits, AppSpec, BillingSpec, StaticFilesSpec};

/// Reports problems inside one entry, prefixed with its context, e.g. `function "hello": `.
pub(crate) struct Scope<'a, 't> {
    sink: &'a mut Sink<'t>,
    context: &'a str,
    /// Where the entry's table starts; problems with no value of their own point here.
    header: usize,
}

/// The names each section declares, whether or not their entries were valid,
/// so that one bad function does not also make every route to it an error.
pub(crate) struct Declared {
    functions: BTreeSet<String>,
    tables: BTreeSet<String>,
    queues: BTreeSet<String>,
}

pub(crate) fn lower(raw: RawManifest, dir: &Path, sink: &mut Sink<'_>) -> AppSpec {
    let declared = Declared {
        functions: names(&raw.functions),
        tables: names(&raw.tables),
        queues: names(&raw.queues),
    };
    let name = lower_app(raw.app, sink);
    let limits = raw
        .limits
        .map(|entry| lower_limits(entry, sink))
        .unwrap_or(limits::APP_LIMITS_DEFAULT);
    let tables = table::lower_tables(raw.tables, sink);
    AppSpec {
        name,
        dir: dir.to_path_buf(),
        functions: function::lower_functions(raw.functions, dir, &limits, &declared, sink),
        routes: route::lower_routes(raw.routes, &declared, sink),
        triggers: event::lower_triggers(raw.triggers, &declared, &tables, sink),
        tables,
        websocket: raw
            .websocket
            .and_then(|entry| route::lower_websocket(entry, &declared, sink)),
        queues: event::lower_queues(raw.queues, &declared, sink),
        schedules: event::lower_schedules(raw.schedules, &declared, sink),
        static_files: raw
            .static_files
            .and_then(|entry| lower_static(entry, dir, sink)),
        billing: lower_billing(raw.billing, sink),
        limits,
        // Filled by `parse` from the sink, once every section has been lowered.
        warnings: Vec::new(),
    }
}

impl<'a, 't> Scope<'a, 't> {
    pub(crate) fn new<T>(sink: &'a mut Sink<'t>, entry: &'a Entry<T>) -> Scope<'a, 't> {
        Scope {
            sink,
            context: &entry.context,
            header: entry.span.start,
        }
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Display) {
        self.sink
            .error(span.start, format!("{}: {message}", self.context));
    }

    /// For problems with no value to point at, such as a missing field.
    pub(crate) fn error_at_header(&mut self, message: impl Display) {
        self.sink
            .error(self.header, format!("{}: {message}", self.context));
    }

    /// For a declaration that loads but is not acted on yet.
    pub(crate) fn warning(&mut self, span: Range<usize>, message: impl Display) {
        self.sink
            .warning(span.start, format!("{}: {message}", self.context));
    }

    /// For a whole entry that loads but is not acted on yet.
    pub(crate) fn warning_at_header(&mut self, message: impl Display) {
        self.sink
            .warning(self.header, format!("{}: {message}", self.context));
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.sink.line_of(offset)
    }

    /// Checks an optional integer against its range; `None` if it is absent or was refused.
    pub(crate) fn bounded<T: TryFrom<i64>>(
        &mut self,
        field: &str,
        value: Option<&Spanned<i64>>,
        range: RangeInclusive<i64>,
    ) -> Option<T> {
        let value = value?;
        let number = *value.get_ref();
        let checked = T::try_from(number).ok().filter(|_| range.contains(&number));
        if checked.is_none() {
            let message = format!("{field} must be {}..={}", range.start(), range.end());
            self.error(value.span(), message);
        }
        checked
    }

    /// Checks the name of a named entry, pointing at the name itself.
    pub(crate) fn name(&mut self, rule: &NameRule, name: &Spanned<String>) {
        if let Err(why) = check::name(rule, name.get_ref()) {
            self.error(name.span(), why);
        }
    }
}

impl Declared {
    pub(crate) fn check_function(&self, scope: &mut Scope<'_, '_>, function: &Spanned<String>) {
        if !self.functions.contains(function.get_ref()) {
            let message = format!("function \"{}\" is not declared", function.get_ref());
            scope.error(function.span(), message);
        }
    }
}

fn names<T>(entries: &[Named<T>]) -> BTreeSet<String> {
    entries
        .iter()
        .map(|named| named.name.get_ref().clone())
        .collect()
}

fn lower_app(app: Option<Entry<RawApp>>, sink: &mut Sink<'_>) -> String {
    let Some(entry) = app else {
        sink.error(
            0,
            "missing section [app], which holds the app's `name`".to_owned(),
        );
        return String::new();
    };
    let mut scope = Scope::new(sink, &entry);
    let Some(raw) = &entry.raw else {
        return String::new();
    };
    scope.name(&check::APP_NAME, &raw.name);
    raw.name.get_ref().clone()
}

fn lower_limits(entry: Entry<RawLimits>, sink: &mut Sink<'_>) -> AppLimits {
    let mut scope = Scope::new(sink, &entry);
    let raw = entry.raw.as_ref();
    let field =
        |pick: fn(&RawLimits) -> &Option<Spanned<i64>>| raw.and_then(|raw| pick(raw).as_ref());
    let bytes_range = limits::BYTES_MAX_RANGE;
    AppLimits {
        concurrency_max: scope
            .bounded(
                "concurrency_max",
                field(|raw| &raw.concurrency_max),
                limits::CONCURRENCY_MAX_RANGE,
            )
            .unwrap_or(limits::CONCURRENCY_MAX_DEFAULT),
        request_body_bytes_max: scope
            .bounded(
                "request_body_bytes_max",
                field(|raw| &raw.request_body_bytes_max),
                bytes_range.clone(),
            )
            .unwrap_or(limits::REQUEST_BODY_BYTES_MAX_DEFAULT),
        response_bytes_max: lower_response_bytes_max(
            &mut scope,
            field(|raw| &raw.response_bytes_max),
            bytes_range,
        ),
        throttle_wait_ms: scope
            .bounded(
                "throttle_wait_ms",
                field(|raw| &raw.throttle_wait_ms),
                limits::THROTTLE_WAIT_MS_RANGE,
            )
            .unwrap_or(limits::THROTTLE_WAIT_MS_DEFAULT),
        throttle_queue_max: scope
            .bounded(
                "throttle_queue_max",
                field(|raw| &raw.throttle_queue_max),
                limits::THROTTLE_QUEUE_MAX_RANGE,
            )
            .unwrap_or(limits::THROTTLE_QUEUE_MAX_DEFAULT),
        scale_up_per_10s: scope
            .bounded(
                "scale_up_per_10s",
                field(|raw| &raw.scale_up_per_10s),
                limits::SCALE_UP_PER_10S_RANGE,
            )
            .unwrap_or(limits::SCALE_UP_PER_10S_DEFAULT),
    }
}

/// Checked and kept for when it acts; until then the runtime's fixed limit applies, and the
/// writer is told so.
fn lower_response_bytes_max(
    scope: &mut Scope<'_, '_>,
    value: Option<&Spanned<i64>>,
    range: RangeInclusive<i64>,
) -> u64 {
    let Some(value) = value else {
        return limits::RESPONSE_BYTES_MAX_DEFAULT;
    };
    let message = format!(
        "response_bytes_max is not applied yet: a function's response is limited to {} bytes (Lambda's 6 MiB)",
        limits::RESPONSE_BYTES_MAX_DEFAULT
    );
    scope.warning(value.span(), message);
    scope
        .bounded("response_bytes_max", Some(value), range)
        .unwrap_or(limits::RESPONSE_BYTES_MAX_DEFAULT)
}

fn lower_billing(billing: Option<Entry<RawBilling>>, sink: &mut Sink<'_>) -> BillingSpec {
    let mut spec = BillingSpec {
        granularity_ms: limits::GRANULARITY_MS_DEFAULT,
        price_per_gb_second_nano_usd: limits::PRICE_PER_GB_SECOND_NANO_USD_DEFAULT,
        price_per_request_nano_usd: limits::PRICE_PER_REQUEST_NANO_USD_DEFAULT,
    };
    let Some(entry) = billing else {
        return spec;
    };
    let mut scope = Scope::new(sink, &entry);
    let Some(raw) = &entry.raw else {
        return spec;
    };
    if let Some(granularity_ms) = &raw.granularity_ms {
        match *granularity_ms.get_ref() {
            1 => spec.granularity_ms = 1,
            100 => spec.granularity_ms = 100,
            _ => scope.error(granularity_ms.span(), "granularity_ms must be 1 or 100"),
        }
    }
    if let Some(nano_usd) = price(
        &mut scope,
        "price_per_gb_second_usd",
        &raw.price_per_gb_second_usd,
    ) {
        spec.price_per_gb_second_nano_usd = nano_usd;
    }
    if let Some(nano_usd) = price(
        &mut scope,
        "price_per_request_usd",
        &raw.price_per_request_usd,
    ) {
        spec.price_per_request_nano_usd = nano_usd;
    }
    spec
}

fn price(scope: &mut Scope<'_, '_>, field: &str, usd: &Option<Spanned<f64>>) -> Option<u64> {
    let usd = usd.as_ref()?;
    check::nano_usd(*usd.get_ref())
        .map_err(|why| scope.error(usd.span(), format!("{field} {why}")))
        .ok()
}

fn lower_static(
    entry: Entry<RawStatic>,
    dir: &Path,
    sink: &mut Sink<'_>,
) -> Option<StaticFilesSpec> {
    let mut scope = Scope::new(sink, &entry);
    let raw = entry.raw.as_ref()?;
    let path = match &raw.path {
        Some(path) => {
            url_path(&mut scope, "path", path);
            path.get_ref().clone()
        }
        None => "/".to_owned(),
    };
    if raw.dir.get_ref().is_empty() {
        scope.error(raw.dir.span(), "dir must not be empty");
    }
    Some(StaticFilesSpec {
        path,
        dir: resolve(dir, raw.dir.get_ref()),
    })
}

/// Joins a manifest path to the manifest's folder, dropping `.` components; `..` stays, as the filesystem is not consulted.
pub(crate) fn resolve(dir: &Path, path: &str) -> PathBuf {
    dir.join(path).components().collect()
}

/// A URL path prefix: starts with `/`, no spaces, no route parameters.
pub(crate) fn url_path(scope: &mut Scope<'_, '_>, field: &str, path: &Spanned<String>) {
    let text = path.get_ref();
    let path_ok = text.starts_with('/')
        && !text.contains(|c: char| c.is_whitespace() || c == '{' || c == '}');
    if !path_ok {
        scope.error(
            path.span(),
            format!("{field} must start with `/` and hold no spaces or `{{}}`"),
        );
    }
}
