//! One invocation: take an environment (starting one and waiting out its init when none is
//! idle), hand it the event, wait for its answer under the deadline and the memory limit, and
//! report. An environment that answered goes back to the pool; one that crashed, timed out or
//! ran out of memory is killed with its whole process group.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use runtime::{Invocation, InvokeError, InvokeMeta, LogLine, Report};
use tokio::time::MissedTickBehavior;

use crate::environment::Environment;
use crate::limits::{INIT_TIMEOUT_MS, MEMORY_POLL_INTERVAL_MS, RESPONSE_BYTES_MAX};
use crate::pool::{self, FunctionInner, Lease};
use crate::runtime_api::{Event, PostedError, Signal};

/// What an invocation gathers besides its result.
#[derive(Default)]
struct Run {
    logs: Vec<LogLine>,
    init_duration: Option<Duration>,
    peak_memory_bytes: u64,
    /// When the event was handed over: the invocation's duration runs from here (init excluded).
    delivered_at: Option<Instant>,
}

/// What becomes of the environment after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// It answered and can take the next invocation.
    Keep,
    /// It is dead or in an unknown state: kill it.
    Discard,
}

/// How waiting on an environment ended.
enum Waited {
    Signal(Signal),
    DeadlinePassed,
    OutOfMemory,
    /// The environment's Runtime API is gone (it cannot signal any more).
    Lost,
}

pub(crate) async fn invoke(
    function: &Arc<FunctionInner>,
    event: Bytes,
    meta: InvokeMeta,
) -> Invocation<Bytes> {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut run = Run::default();
    let result = run_invocation(function, event, &meta, &mut run).await;
    let config = function.config();
    let report = Report {
        request_id: meta.request_id,
        function_name: config.name.clone(),
        function_version: config.version.clone(),
        memory_mb: config.memory_mb,
        started_at,
        duration: run.delivered_at.unwrap_or(start).elapsed(),
        init_duration: run.init_duration,
        peak_memory_bytes: run.peak_memory_bytes,
        logs: run.logs,
    };
    Invocation { report, result }
}

async fn run_invocation(
    function: &Arc<FunctionInner>,
    event: Bytes,
    meta: &InvokeMeta,
    run: &mut Run,
) -> Result<Bytes, InvokeError> {
    let mut lease = pool::acquire(function)?;
    let cold = lease.environment.is_none();
    if cold {
        let launch = function.launch();
        let name = function.next_environment_name();
        let environment = Environment::spawn(launch, function.cgroup_parent(), &name)
            .await
            .map_err(|error| InvokeError::Function {
                error_type: "Runtime.InvalidEntrypoint".to_owned(),
                message: format!(
                    "RequestId: {} Error: cannot start {}: {error}",
                    meta.request_id,
                    launch.program.display()
                ),
                stack_trace: Vec::new(),
            })?;
        lease.environment = Some(environment);
    }
    let environment = lease
        .environment
        .as_mut()
        .expect("a lease holds an environment once one is started");
    let (mut result, mut ending) = if cold {
        match init(function, environment, meta, run).await {
            Ok(()) => deliver_and_wait(function, environment, event, meta, run).await,
            Err(error) => (Err(error), Ending::Discard),
        }
    } else {
        deliver_and_wait(function, environment, event, meta, run).await
    };
    run.peak_memory_bytes = environment.peak_memory_bytes();
    if ending == Ending::Keep && environment.peak_over_limit() {
        // The watchdog samples; the high-water mark catches what grew and shrank between samples.
        result = Err(InvokeError::OutOfMemory {
            memory_mb: function.config().memory_mb,
        });
        ending = Ending::Discard;
    }
    run.logs = finish(lease, ending).await;
    result
}

/// Returns the environment to the pool or kills it; gives back what it printed.
async fn finish(mut lease: Lease<'_>, ending: Ending) -> Vec<LogLine> {
    let environment = lease
        .environment
        .take()
        .expect("a finished invocation's lease holds its environment");
    match ending {
        Ending::Keep => {
            let logs = environment.take_logs();
            lease.environment = Some(environment);
            lease.release();
            logs
        }
        Ending::Discard => {
            let logs = environment.kill().await;
            drop(lease);
            logs
        }
    }
}

/// Waits for a new environment's first `next`, under the init limit.
async fn init(
    function: &FunctionInner,
    environment: &mut Environment,
    meta: &InvokeMeta,
    run: &mut Run,
) -> Result<(), InvokeError> {
    let deadline = environment.spawned_at() + Duration::from_millis(INIT_TIMEOUT_MS);
    match wait(environment, deadline).await {
        Waited::Signal(Signal::InitDone(at)) => {
            run.init_duration = Some(at.duration_since(environment.spawned_at()));
            Ok(())
        }
        Waited::Signal(Signal::InitError(posted)) => Err(function_error(posted)),
        Waited::Signal(Signal::Exited(status)) => {
            Err(exit_error(function, environment, meta, status))
        }
        Waited::Signal(other) => Err(protocol_error(&format!("{other:?} during init"))),
        Waited::DeadlinePassed => Err(InvokeError::Function {
            error_type: "Sandbox.Timedout".to_owned(),
            message: format!(
                "RequestId: {} Error: init timed out after {:.2} seconds",
                meta.request_id,
                Duration::from_millis(INIT_TIMEOUT_MS).as_secs_f64()
            ),
            stack_trace: Vec::new(),
        }),
        Waited::OutOfMemory => Err(out_of_memory(function)),
        Waited::Lost => Err(protocol_error("the Runtime API ended during init")),
    }
}

/// Hands the event over and waits for the answer, under the function's timeout.
async fn deliver_and_wait(
    function: &FunctionInner,
    environment: &mut Environment,
    body: Bytes,
    meta: &InvokeMeta,
    run: &mut Run,
) -> (Result<Bytes, InvokeError>, Ending) {
    let config = function.config();
    let timeout = Duration::from_millis(u64::from(config.timeout_ms));
    let delivered_at = Instant::now();
    run.delivered_at = Some(delivered_at);
    let event = Event {
        request_id: meta.request_id.clone(),
        body,
        deadline_ms: epoch_ms(SystemTime::now() + timeout),
        trace_id: trace_id(),
    };
    if !environment.deliver(event) {
        let error = protocol_error("the environment could not take the event");
        return (Err(error), Ending::Discard);
    }
    match wait(environment, delivered_at + timeout).await {
        Waited::Signal(Signal::Response(body)) => (Ok(body), Ending::Keep),
        Waited::Signal(Signal::ResponseTooLarge { size_bytes }) => {
            let error = InvokeError::ResponseTooLarge {
                size_bytes,
                limit_bytes: RESPONSE_BYTES_MAX,
            };
            (Err(error), Ending::Keep)
        }
        Waited::Signal(Signal::FunctionError(posted)) => {
            (Err(function_error(posted)), Ending::Keep)
        }
        Waited::Signal(Signal::Exited(status)) => {
            let error = exit_error(function, environment, meta, status);
            (Err(error), Ending::Discard)
        }
        Waited::Signal(other) => {
            let error = protocol_error(&format!("{other:?} during an invocation"));
            (Err(error), Ending::Discard)
        }
        Waited::DeadlinePassed => {
            let error = InvokeError::Timeout {
                timeout_ms: config.timeout_ms,
            };
            (Err(error), Ending::Discard)
        }
        Waited::OutOfMemory => (Err(out_of_memory(function)), Ending::Discard),
        Waited::Lost => {
            let error = protocol_error("the Runtime API ended during an invocation");
            (Err(error), Ending::Discard)
        }
    }
}

/// Waits for the environment's next signal until `deadline`, sampling its memory meanwhile
/// when no cgroup holds it.
async fn wait(environment: &mut Environment, deadline: Instant) -> Waited {
    let deadline = tokio::time::sleep_until(deadline.into());
    tokio::pin!(deadline);
    if environment.has_cgroup() {
        return tokio::select! {
            biased;
            signal = environment.signal() => signal.map_or(Waited::Lost, Waited::Signal),
            () = &mut deadline => Waited::DeadlinePassed,
        };
    }
    let period = Duration::from_millis(MEMORY_POLL_INTERVAL_MS);
    let mut watchdog = tokio::time::interval_at((Instant::now() + period).into(), period);
    watchdog.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            signal = environment.signal() => return signal.map_or(Waited::Lost, Waited::Signal),
            () = &mut deadline => return Waited::DeadlinePassed,
            _ = watchdog.tick() => {}
        }
        if environment.over_memory() {
            return Waited::OutOfMemory;
        }
    }
}

fn function_error(posted: PostedError) -> InvokeError {
    InvokeError::Function {
        error_type: posted.error_type,
        message: posted.message,
        stack_trace: posted.stack_trace,
    }
}

fn out_of_memory(function: &FunctionInner) -> InvokeError {
    InvokeError::OutOfMemory {
        memory_mb: function.config().memory_mb,
    }
}

fn protocol_error(what: &str) -> InvokeError {
    InvokeError::Protocol {
        message: what.to_owned(),
    }
}

/// Lambda's answer when the runtime process ends: `Runtime.ExitError` (or the memory limit,
/// when the kernel killed it for that).
fn exit_error(
    function: &FunctionInner,
    environment: &Environment,
    meta: &InvokeMeta,
    status: Result<ExitStatus, String>,
) -> InvokeError {
    if environment.oom_killed() {
        return out_of_memory(function);
    }
    let id = &meta.request_id;
    let message = match status {
        Ok(status) if status.success() => {
            format!("RequestId: {id} Error: Runtime exited without providing a reason")
        }
        Ok(status) => {
            format!(
                "RequestId: {id} Error: Runtime exited with error: {}",
                describe_exit(status)
            )
        }
        Err(error) => format!("RequestId: {id} Error: Runtime exited with error: {error}"),
    };
    InvokeError::Function {
        error_type: "Runtime.ExitError".to_owned(),
        message,
        stack_trace: Vec::new(),
    }
}

/// An exit status as Lambda words it: `exit status 1`, `signal: killed`.
fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let Some(signal) = status.signal() else {
        return status.to_string();
    };
    let name = match signal {
        1 => "hangup",
        2 => "interrupt",
        4 => "illegal instruction",
        6 => "aborted",
        7 => "bus error",
        8 => "floating point exception",
        9 => "killed",
        11 => "segmentation fault",
        13 => "broken pipe",
        15 => "terminated",
        _ => return format!("signal: {signal}"),
    };
    let core = if status.core_dumped() {
        " (core dumped)"
    } else {
        ""
    };
    format!("signal: {name}{core}")
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// An X-Ray trace header for one invocation: `Root=1-<epoch s hex>-<96 random bits>;Parent=<64 random bits>;Sampled=0`.
fn trace_id() -> String {
    let epoch_s = epoch_ms(SystemTime::now()) / 1000;
    let random = uuid::Uuid::new_v4().as_u128();
    let root = random >> 32;
    let parent = uuid::Uuid::new_v4().as_u64_pair().0;
    format!("Root=1-{epoch_s:08x}-{root:024x};Parent={parent:016x};Sampled=0")
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;

    use super::*;

    #[test]
    fn exits_are_worded_like_lambda() {
        assert_eq!(describe_exit(ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(describe_exit(ExitStatus::from_raw(9)), "signal: killed");
        assert_eq!(
            describe_exit(ExitStatus::from_raw(11 | 0x80)),
            "signal: segmentation fault (core dumped)"
        );
        assert_eq!(describe_exit(ExitStatus::from_raw(40)), "signal: 40");
    }

    #[test]
    fn trace_ids_have_xrays_shape() {
        let id = trace_id();
        let parts: Vec<&str> = id.split(';').collect();
        assert_eq!(parts.len(), 3, "{id}");
        let root: Vec<&str> = parts[0].trim_start_matches("Root=").split('-').collect();
        assert_eq!(root[0], "1");
        assert_eq!(root[1].len(), 8);
        assert_eq!(root[2].len(), 24);
        assert_eq!(parts[1].trim_start_matches("Parent=").len(), 16);
        assert_eq!(parts[2], "Sampled=0");
        assert_ne!(trace_id(), id);
    }
}
