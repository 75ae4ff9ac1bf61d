//! What one invocation produced: its outcome, its measurements and its log,
//! and the Lambda-style START/END/REPORT lines that describe it.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::logs::LogLine;

/// The result of one invocation, with `T` the success value (response bytes, or an HTTP response).
#[derive(Debug)]
pub struct Invocation<T> {
    pub report: Report,
    pub result: Result<T, InvokeError>,
}

/// Measurements and log of one invocation; everything the log lines and metering need.
#[derive(Debug, Clone)]
pub struct Report {
    pub request_id: String,
    pub function_name: String,
    pub function_version: String,
    pub memory_mb: u32,
    pub started_at: SystemTime,
    /// From the start of instantiation to the end of the handler.
    pub duration: Duration,
    /// Set on a cold start, an invocation that waited for its function's code to be made ready:
    /// how long it waited (`Init Duration`; metering counts these as cold starts). A process
    /// function's invocation that starts an execution environment waits for its init; a wasm
    /// function's code is ready before it takes any invocation, so a wasm invocation has none,
    /// also after a reload or an upgrade from baseline to optimized code.
    pub init_duration: Option<Duration>,
    pub peak_memory_bytes: u64,
    pub logs: Vec<LogLine>,
}

/// Why an invocation did not produce a result. A failure of one invocation only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The handler returned an error value (Lambda's handled function error).
    #[error("{error_type}: {message}")]
    Function {
        error_type: String,
        message: String,
        /// The `stackTrace` the function reported, as its lines (empty when it gave none).
        stack_trace: Vec<String>,
    },
    /// The guest trapped (a panic, an `unreachable`, an out-of-bounds access).
    #[error("the function trapped: {message}")]
    Trap { message: String },
    #[error("Task timed out after {:.2} seconds", *timeout_ms as f64 / 1000.0)]
    Timeout { timeout_ms: u32 },
    #[error("the function exceeded its memory limit of {memory_mb} MB")]
    OutOfMemory { memory_mb: u32 },
    /// A concurrency or scaling limit refused the invocation: it did not run.
    #[error("Rate Exceeded. ({})", reason.as_str())]
    Throttled { reason: ThrottleReason },
    #[error("response of {size_bytes} bytes exceeds the limit of {limit_bytes} bytes")]
    ResponseTooLarge {
        size_bytes: usize,
        limit_bytes: usize,
    },
    /// The component broke the protocol of its world (e.g. a `wasi:http` handler that never responded).
    #[error("invalid function behaviour: {message}")]
    Protocol { message: String },
}

/// Which limit refused an invocation: the `Reason` of Lambda's `TooManyRequestsException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The node's concurrency (Lambda's account concurrency), or its instance slots.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency.
    ReservedFunctionConcurrentInvocationLimitExceeded,
    /// The function's scaling rate (new instances per 10 s).
    FunctionInvocationRateLimitExceeded,
}

impl ThrottleReason {
    /// Lambda's spelling of the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::ConcurrentInvocationLimitExceeded => {
                "ConcurrentInvocationLimitExceeded"
            }
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
            ThrottleReason::FunctionInvocationRateLimitExceeded => {
                "FunctionInvocationRateLimitExceeded"
            }
        }
    }
}

impl InvokeError {
    /// Lambda's `errorType` for this failure.
    pub fn error_type(&self) -> &str {
        match self {
            InvokeError::Function { error_type, .. } => error_type,
            InvokeError::Trap { .. } => "Runtime.Trap",
            InvokeError::Timeout { .. } => "Sandbox.Timedout",
            InvokeError::OutOfMemory { .. } => "Runtime.OutOfMemory",
            InvokeError::Throttled { .. } => "TooManyRequestsException",
            InvokeError::ResponseTooLarge { .. } => "Function.ResponseSizeTooLarge",
            InvokeError::Protocol { .. } => "Runtime.InvalidResponse",
        }
    }

    /// Lambda's `errorMessage` for this failure.
    pub fn error_message(&self) -> String {
        match self {
            InvokeError::Function { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

impl Report {
    /// The billed duration: the duration rounded up to a multiple of `granularity_ms` (at least one).
    pub fn billed_duration_ms(&self, granularity_ms: u32) -> u64 {
        let granularity_us = u128::from(granularity_ms.max(1)) * 1000;
        let duration_us = self.duration.as_micros().max(1);
        let billed_us = duration_us.div_ceil(granularity_us) * granularity_us;
        u64::try_from(billed_us / 1000).unwrap_or(u64::MAX)
    }

    /// Writes the invocation's log as Lambda prints it to CloudWatch:
    /// `START`, the function's lines (`time\trequest id\tLEVEL\ttext`), `END` and `REPORT`.
    pub fn write_log(&self, granularity_ms: u32, out: &mut String) {
        let id = &self.request_id;
        let _ = writeln!(
            out,
            "START RequestId: {id} Version: {}",
            self.function_version
        );
        let time = format_rfc3339_millis(self.started_at);
        for line in &self.logs {
            match line.source.level() {
                Some(level) => {
                    let _ = writeln!(out, "{time}\t{id}\t{level}\t{}", line.text);
                }
                None => {
                    let _ = writeln!(out, "{}", line.text);
                }
            }
        }
        let _ = writeln!(out, "END RequestId: {id}");
        let peak_mb = self.peak_memory_bytes.div_ceil(1024 * 1024);
        let _ = write!(
            out,
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {peak_mb} MB",
            self.duration.as_secs_f64() * 1000.0,
            self.billed_duration_ms(granularity_ms),
            self.memory_mb,
        );
        if let Some(init) = self.init_duration {
            let _ = write!(
                out,
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            );
        }
        out.push('\n');
    }
}

/// `2026-11-27T09:43:23.123Z`, the timestamp Lambda's runtimes put on each log line.
fn format_rfc3339_millis(at: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(at)
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogSource;

    fn report(duration_us: u64, init: Option<Duration>) -> Report {
        Report {
            request_id: "req-1".to_owned(),
            function_name: "hello".to_owned(),
            function_version: "abc".to_owned(),
            memory_mb: 128,
            started_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_236_603_123),
            duration: Duration::from_micros(duration_us),
            init_duration: init,
            peak_memory_bytes: 1024 * 1024 + 1,
            logs: vec![
                LogLine {
                    source: LogSource::Info,
                    text: "hi".to_owned(),
                },
                LogLine {
                    source: LogSource::Stdout,
                    text: "plain".to_owned(),
                },
            ],
        }
    }

    #[test]
    fn billed_duration_rounds_up_to_the_granularity() {
        assert_eq!(report(210, None).billed_duration_ms(1), 1);
        assert_eq!(report(1000, None).billed_duration_ms(1), 1);
        assert_eq!(report(1001, None).billed_duration_ms(1), 2);
        assert_eq!(report(1001, None).billed_duration_ms(100), 100);
        assert_eq!(report(100_001, None).billed_duration_ms(100), 200);
        assert_eq!(report(0, None).billed_duration_ms(1), 1);
    }

    #[test]
    fn log_lines_look_like_lambdas() {
        let mut out = String::new();
        report(210, Some(Duration::from_micros(3120))).write_log(1, &mut out);
        let expect = "START RequestId: req-1 Version: abc\n\
            2025-11-27T09:43:23.123Z\treq-1\tINFO\thi\n\
            plain\n\
            END RequestId: req-1\n\
            REPORT RequestId: req-1\tDuration: 0.21 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 2 MB\tInit Duration: 3.12 ms\n";
        assert_eq!(out, expect);
    }
}
