//! One invocation's usage: what the ledger stores and the metrics count.

use std::fmt;
use std::time::{Duration, SystemTime};

use runtime::{InvokeError, Report};

/// What one invocation used, as metered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// When the invocation started.
    pub time: SystemTime,
    /// The function's name.
    pub function: String,
    /// What invoked it.
    pub source: Source,
    /// How long this invocation waited for its code to be made ready (a cold start: a process
    /// function's new execution environment), in microseconds; 0 when it waited for none, which
    /// is always the case for wasm functions, whose code is ready before they take invocations.
    pub init_us: u64,
    /// The invocation's run time, in microseconds.
    pub duration_us: u64,
    /// The billed duration: the run time rounded up to the app's billing granularity. 0 for a
    /// throttled invocation, which is not billed.
    pub billed_ms: u64,
    /// The function's configured memory.
    pub memory_mb: u32,
    /// The most memory the invocation used.
    pub peak_memory_bytes: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether this invocation was the first of a newly loaded function.
    pub cold: bool,
}

/// What invoked a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// An API Gateway route; the text is the route key (`GET /hello/{name}`, `$default`).
    Route(String),
    /// An event source; the text names it and its function (`table:carts->cart-status`).
    Trigger(String),
    /// Lambda's Invoke API, synchronously (`RequestResponse`).
    Invoke,
    /// Lambda's Invoke API, asynchronously (`Event`).
    Async,
}

/// How an invocation ended. Every invocation has exactly one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The handler returned a result.
    Success,
    /// The handler returned an error, or a result the platform could not pass on (too large):
    /// Lambda's function errors.
    Error,
    /// The sandbox failed: the guest trapped or broke its world's protocol.
    Crash,
    /// The invocation ran past its timeout.
    Timeout,
    /// The invocation needed more memory than its function is configured with.
    OutOfMemory,
    /// The invocation was refused for lack of concurrency; it did not run and is not billed.
    Throttled,
}

impl UsageRecord {
    /// The usage of the invocation `report` describes, which ended with `error` (or succeeded),
    /// billed at `granularity_ms` (the manifest's `billing.granularity_ms`).
    ///
    /// The billed duration is the one the invocation's REPORT line shows
    /// ([`Report::billed_duration_ms`]), except that a throttled invocation is not billed.
    pub fn from_report(
        report: &Report,
        error: Option<&InvokeError>,
        source: Source,
        granularity_ms: u32,
    ) -> UsageRecord {
        let outcome = Outcome::from_result(error);
        let billed_ms = match outcome {
            Outcome::Throttled => 0,
            _ => report.billed_duration_ms(granularity_ms),
        };
        UsageRecord {
            time: report.started_at,
            function: report.function_name.clone(),
            source,
            init_us: report.init_duration.map_or(0, micros),
            duration_us: micros(report.duration),
            billed_ms,
            memory_mb: report.memory_mb,
            peak_memory_bytes: report.peak_memory_bytes,
            outcome,
            cold: report.init_duration.is_some(),
        }
    }

    /// Configured memory × billed duration, in megabyte-milliseconds: the exact integer behind
    /// [`UsageRecord::gb_seconds`].
    pub fn mb_ms(&self) -> u64 {
        u64::from(self.memory_mb).saturating_mul(self.billed_ms)
    }

    /// Gigabyte-seconds: memory (GB, of 1024 MB) × billed duration (s).
    pub fn gb_seconds(&self) -> f64 {
        mb_ms_to_gb_seconds(u128::from(self.mb_ms()))
    }
}

impl Source {
    /// The source's text: the route key or trigger description; empty for the Invoke API.
    pub fn text(&self) -> &str {
        match self {
            Source::Route(text) | Source::Trigger(text) => text,
            Source::Invoke | Source::Async => "",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Route(route) => write!(f, "route {route}"),
            Source::Trigger(trigger) => write!(f, "trigger {trigger}"),
            Source::Invoke => f.write_str("Invoke API"),
            Source::Async => f.write_str("Invoke API (Event)"),
        }
    }
}

impl Outcome {
    /// Every outcome, in the order of [`Outcome::index`].
    pub const ALL: [Outcome; 6] = [
        Outcome::Success,
        Outcome::Error,
        Outcome::Crash,
        Outcome::Timeout,
        Outcome::OutOfMemory,
        Outcome::Throttled,
    ];

    /// The outcome of an invocation that ended with `error`, or succeeded (`None`).
    pub fn from_result(error: Option<&InvokeError>) -> Outcome {
        match error {
            None => Outcome::Success,
            Some(InvokeError::Function { .. } | InvokeError::ResponseTooLarge { .. }) => {
                Outcome::Error
            }
            Some(InvokeError::Timeout { .. }) => Outcome::Timeout,
            Some(InvokeError::OutOfMemory { .. }) => Outcome::OutOfMemory,
            Some(InvokeError::Throttled { .. }) => Outcome::Throttled,
            // A trap, a protocol violation, and any failure the runtime learns to tell apart
            // later: the sandbox did not end the invocation normally.
            Some(_) => Outcome::Crash,
        }
    }

    /// The outcome's name in metrics labels and reports (`out_of_memory`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::Crash => "crash",
            Outcome::Timeout => "timeout",
            Outcome::OutOfMemory => "out_of_memory",
            Outcome::Throttled => "throttled",
        }
    }

    /// The outcome's position in [`Outcome::ALL`].
    pub fn index(self) -> usize {
        match self {
            Outcome::Success => 0,
            Outcome::Error => 1,
            Outcome::Crash => 2,
            Outcome::Timeout => 3,
            Outcome::OutOfMemory => 4,
            Outcome::Throttled => 5,
        }
    }

    /// Whether the invocation ran and failed (Lambda's `Errors` metric): not a success, and not
    /// a throttle, which never ran.
    pub fn is_error(self) -> bool {
        !matches!(self, Outcome::Success | Outcome::Throttled)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Megabyte-milliseconds as gigabyte-seconds (1 GB = 1024 MB).
pub(crate) fn mb_ms_to_gb_seconds(mb_ms: u128) -> f64 {
    // Precision: f64 is exact for integers below 2^53; sums beyond that lose digits far below
    // anything a report prints.
    mb_ms as f64 / (1024.0 * 1000.0)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
