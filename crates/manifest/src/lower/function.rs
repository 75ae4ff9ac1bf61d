//! `[function.NAME]`: wasm components and process functions.

use std::collections::BTreeMap;
use std::path::Path;

use serde_spanned::Spanned;

use super::event::destination;
use super::{Declared, Scope, resolve};
use crate::check;
use crate::error::Sink;
use crate::limits;
use crate::raw::{Named, RawEventInvoke, RawFunction, RawRuntime};
use crate::spec::{AppLimits, EventInvokeSpec, FunctionCode, FunctionSpec, ProcessRuntime};

pub(super) fn lower_functions(
    functions: Vec<Named<RawFunction>>,
    dir: &Path,
    limits: &AppLimits,
    declared: &Declared,
    sink: &mut Sink<'_>,
) -> BTreeMap<String, FunctionSpec> {
    check_reserved_total(&functions, limits, sink);
    let mut specs = BTreeMap::new();
    for Named { name, entry } in functions {
        let mut scope = Scope::new(sink, &entry);
        scope.name(&check::FUNCTION_NAME, &name);
        let Some(raw) = &entry.raw else {
            continue;
        };
        if let Some(spec) = lower_function(name.get_ref(), raw, dir, limits, declared, &mut scope) {
            specs.insert(name.into_inner(), spec);
        }
    }
    specs
}

/// Refuses reservations that together exceed `limits.concurrency_max`: the unreserved pool,
/// shared by every other function, cannot be negative. (Lambda keeps at least 100 unreserved;
/// a node may well be smaller than that.)
///
/// Reservations are added up in file order, and each one that leaves the sum over the limit is
/// reported at its value. Reservations out of their own range were reported by
/// `lower_function` and are not counted.
fn check_reserved_total(functions: &[Named<RawFunction>], limits: &AppLimits, sink: &mut Sink<'_>) {
    let concurrency_max = u64::from(limits.concurrency_max);
    let mut reserved_total: u64 = 0;
    for Named { entry, .. } in functions {
        let reserved = entry
            .raw
            .as_ref()
            .and_then(|raw| raw.reserved_concurrency.as_ref());
        let Some(reserved) = reserved else {
            continue;
        };
        let Some(n_reserved) = u64::try_from(*reserved.get_ref())
            .ok()
            .filter(|n_reserved| *n_reserved <= concurrency_max)
        else {
            continue;
        };
        reserved_total += n_reserved;
        if n_reserved > 0 && reserved_total > concurrency_max {
            let message = format!(
                "reserved_concurrency {n_reserved} brings the functions' reservations to {reserved_total}, more than limits.concurrency_max {concurrency_max}"
            );
            Scope::new(sink, entry).error(reserved.span(), message);
        }
    }
}

fn lower_function(
    name: &str,
    raw: &RawFunction,
    dir: &Path,
    limits: &AppLimits,
    declared: &Declared,
    scope: &mut Scope<'_, '_>,
) -> Option<FunctionSpec> {
    let code = lower_code(raw, dir, scope);
    let memory_mb_range = match raw.runtime {
        Some(_) => limits::PROCESS_MEMORY_MB_RANGE,
        None => limits::WASM_MEMORY_MB_RANGE,
    };
    let memory_mb = scope.bounded("memory_mb", raw.memory_mb.as_ref(), memory_mb_range);
    let timeout_ms_range = limits::TIMEOUT_MS_RANGE;
    let timeout_ms = scope.bounded("timeout_ms", raw.timeout_ms.as_ref(), timeout_ms_range);
    let concurrency_range = 0..=i64::from(limits.concurrency_max);
    let reserved_concurrency = scope.bounded(
        "reserved_concurrency",
        raw.reserved_concurrency.as_ref(),
        concurrency_range,
    );
    let allowed_outbound_hosts = lower_outbound_hosts(raw, scope);
    let ephemeral_storage_mb = lower_ephemeral_storage(raw, scope);
    Some(FunctionSpec {
        name: name.to_owned(),
        code: code?,
        memory_mb: memory_mb.unwrap_or(limits::MEMORY_MB_DEFAULT),
        timeout_ms: timeout_ms.unwrap_or(limits::TIMEOUT_MS_DEFAULT),
        environment: lower_environment(raw.environment.as_ref(), scope),
        allowed_outbound_hosts,
        ephemeral_storage_mb,
        reserved_concurrency,
        event_invoke: lower_event_invoke(raw.event_invoke.as_ref(), declared, scope),
    })
}

/// A wasm function is held to its list host by host. A process function's network is all or
/// nothing (its sandbox has a network of its own, or the host's): only `["*"]` is accepted, since
/// any other list would promise what is not kept.
fn lower_outbound_hosts(raw: &RawFunction, scope: &mut Scope<'_, '_>) -> Vec<String> {
    let Some(hosts) = &raw.allowed_outbound_hosts else {
        return Vec::new();
    };
    if raw.runtime.is_some() {
        let all = hosts.get_ref().len() == 1 && hosts.get_ref()[0].get_ref() == "*";
        if !all {
            scope.error(
                hosts.span(),
                "a process function's network is all or nothing: `[\"*\"]` gives it the host's network; leave allowed_outbound_hosts out to keep it offline",
            );
            return Vec::new();
        }
        return vec!["*".to_owned()];
    }
    hosts
        .get_ref()
        .iter()
        .filter_map(|host| {
            check::outbound_host(host.get_ref())
                .map_err(|why| scope.error(host.span(), why))
                .ok()
        })
        .collect()
}

/// Lambda's ephemeral storage: a process function's `/tmp`. A wasm function has no filesystem,
/// so the setting would not be kept.
fn lower_ephemeral_storage(raw: &RawFunction, scope: &mut Scope<'_, '_>) -> u32 {
    let default = limits::EPHEMERAL_STORAGE_MB_DEFAULT;
    let Some(value) = &raw.ephemeral_storage_mb else {
        return default;
    };
    if raw.runtime.is_none() {
        scope.error(
            value.span(),
            "ephemeral_storage_mb applies to process functions only; a wasm function has no filesystem",
        );
        return default;
    }
    scope
        .bounded(
            "ephemeral_storage_mb",
            Some(value),
            limits::EPHEMERAL_STORAGE_MB_RANGE,
        )
        .unwrap_or(default)
}

/// `[function.NAME.async]`, with Lambda's defaults when absent.
fn lower_event_invoke(
    raw: Option<&RawEventInvoke>,
    declared: &Declared,
    scope: &mut Scope<'_, '_>,
) -> EventInvokeSpec {
    let mut spec = EventInvokeSpec::DEFAULT;
    let Some(raw) = raw else {
        return spec;
    };
    let retry_range = limits::EVENT_RETRY_ATTEMPTS_RANGE;
    let retry_attempts = raw.maximum_retry_attempts.as_ref();
    if let Some(attempts) =
        scope.bounded("async.maximum_retry_attempts", retry_attempts, retry_range)
    {
        spec.maximum_retry_attempts = attempts;
    }
    let age_range = limits::EVENT_AGE_S_RANGE;
    let age_s = raw.maximum_event_age_s.as_ref();
    if let Some(age_s) = scope.bounded("async.maximum_event_age_s", age_s, age_range) {
        spec.maximum_event_age_s = age_s;
    }
    spec.on_failure = raw
        .on_failure
        .as_ref()
        .and_then(|target| destination(target, "async.on_failure", declared, scope));
    spec.on_success = raw
        .on_success
        .as_ref()
        .and_then(|target| destination(target, "async.on_success", declared, scope));
    spec
}

fn lower_code(raw: &RawFunction, dir: &Path, scope: &mut Scope<'_, '_>) -> Option<FunctionCode> {
    match (&raw.wasm, &raw.runtime) {
        (Some(wasm), None) => lower_wasm(raw, wasm, dir, scope),
        (None, Some(runtime)) => lower_process(raw, runtime, dir, scope),
        (Some(wasm), Some(runtime)) => {
            let later = if wasm.span().start < runtime.span().start {
                runtime.span()
            } else {
                wasm.span()
            };
            scope.error(later, "`wasm` and `runtime` exclude each other: a function is either a wasm component or a process");
            None
        }
        (None, None) => {
            scope.error_at_header(
                "needs `wasm` (a component file) or `runtime` and `code` (a process)",
            );
            None
        }
    }
}

fn lower_wasm(
    raw: &RawFunction,
    wasm: &Spanned<String>,
    dir: &Path,
    scope: &mut Scope<'_, '_>,
) -> Option<FunctionCode> {
    for (field, value) in [("code", &raw.code), ("handler", &raw.handler)] {
        if let Some(value) = value {
            scope.error(
                value.span(),
                format!("`{field}` is for process functions; a wasm function is its `wasm` file"),
            );
        }
    }
    if wasm.get_ref().is_empty() {
        scope.error(wasm.span(), "wasm must not be empty");
        return None;
    }
    Some(FunctionCode::Wasm {
        path: resolve(dir, wasm.get_ref()),
    })
}

fn lower_process(
    raw: &RawFunction,
    runtime: &Spanned<RawRuntime>,
    dir: &Path,
    scope: &mut Scope<'_, '_>,
) -> Option<FunctionCode> {
    let runtime = match runtime.get_ref() {
        RawRuntime::Provided => ProcessRuntime::Provided,
        RawRuntime::Python3 => ProcessRuntime::Python3,
        RawRuntime::Nodejs => ProcessRuntime::Nodejs,
    };
    let handler = lower_handler(runtime, raw.handler.as_ref(), scope);
    let code = match &raw.code {
        Some(code) if code.get_ref().is_empty() => {
            scope.error(code.span(), "code must not be empty");
            None
        }
        Some(code) => Some(resolve(dir, code.get_ref())),
        None => {
            scope.error_at_header("needs `code`, the folder holding the function's code");
            None
        }
    };
    Some(FunctionCode::Process {
        runtime,
        dir: code?,
        handler: handler?,
    })
}

/// `Some(None)` for `provided`, which takes no handler; `None` if the handler was refused.
fn lower_handler(
    runtime: ProcessRuntime,
    handler: Option<&Spanned<String>>,
    scope: &mut Scope<'_, '_>,
) -> Option<Option<String>> {
    match (runtime, handler) {
        (ProcessRuntime::Provided, None) => Some(None),
        (ProcessRuntime::Provided, Some(handler)) => {
            scope.error(
                handler.span(),
                "runtime \"provided\" runs `bootstrap` from `code` and takes no handler",
            );
            None
        }
        (_, None) => {
            scope.error_at_header(
                "needs `handler`, e.g. `app.handler` (the module, then the function)",
            );
            None
        }
        (_, Some(handler)) => {
            let text = handler.get_ref();
            let handler_ok = text.split_once('.').is_some_and(|(module, function)| {
                !module.is_empty() && !function.is_empty() && !function.ends_with('.')
            });
            if !handler_ok {
                scope.error(
                    handler.span(),
                    format!("handler `{text}` must be `module.function`, e.g. `app.handler`"),
                );
                return None;
            }
            Some(Some(text.clone()))
        }
    }
}

fn lower_environment(
    environment: Option<&Spanned<BTreeMap<Spanned<String>, String>>>,
    scope: &mut Scope<'_, '_>,
) -> BTreeMap<String, String> {
    let Some(environment) = environment else {
        return BTreeMap::new();
    };
    let mut n_bytes = 0;
    for (key, value) in environment.get_ref() {
        if let Err(why) = check::environment_key(key.get_ref()) {
            scope.error(key.span(), why);
        }
        n_bytes += key.get_ref().len() + value.len();
    }
    if n_bytes > limits::ENVIRONMENT_BYTES_MAX {
        let message = format!(
            "environment holds {n_bytes} bytes of keys and values, more than {}",
            limits::ENVIRONMENT_BYTES_MAX
        );
        scope.error(environment.span(), message);
    }
    let entries = environment.get_ref().iter();
    entries
        .map(|(key, value)| (key.get_ref().clone(), value.clone()))
        .collect()
}
