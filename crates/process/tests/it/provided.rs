//! `provided` functions: a bootstrap speaking the Runtime API (tests/it/bootstrap.py).

use std::time::Duration;

use bytes::Bytes;
use process::ProcessRuntime;
use runtime::{Invocation, InvokeError, LogSource};
use serde_json::json;

use crate::support::{
    self, ENDPOINT, config, eventually, invoke, is_gone, log_texts, provided, provided_code,
};

const IDLE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn invoke_answers_and_warm_environments_are_reused() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());

    let first = invoke(&function, json!({"action": "pid"})).await;
    let pid = support::json(&first)["pid"].as_u64().expect("a pid");
    assert!(
        first.report.init_duration.is_some(),
        "a cold start reports its init"
    );
    assert!(first.report.peak_memory_bytes > 0);
    assert_eq!(first.report.function_name, "provided-fn");
    assert_eq!(first.report.function_version, "v1");

    let second = invoke(&function, json!({"action": "echo", "n": 2})).await;
    assert_eq!(
        support::json(&second),
        json!({"echo": {"action": "echo", "n": 2}})
    );
    assert_eq!(
        second.report.init_duration, None,
        "a warm start has no init"
    );
    let third = invoke(&function, json!({"action": "pid"})).await;
    assert_eq!(support::json(&third)["pid"].as_u64(), Some(pid));
    assert_eq!(function.environment_count(), 1);
}

#[tokio::test]
async fn concurrent_invocations_get_their_own_environments() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let event = json!({"action": "sleep", "seconds": 0.5});
    let (a, b) = tokio::join!(invoke(&function, event.clone()), invoke(&function, event));
    let (a, b) = (support::json(&a), support::json(&b));
    assert_ne!(a["pid"], b["pid"]);
    assert_eq!(function.environment_count(), 2);
    assert_eq!(function.idle_environment_pids().len(), 2);
}

#[tokio::test]
async fn the_most_recently_used_environment_is_taken_first() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let event = json!({"action": "sleep", "seconds": 0.3});
    let (_, _) = tokio::join!(invoke(&function, event.clone()), invoke(&function, event));
    let idle = function.idle_environment_pids();
    let most_recent = *idle.last().expect("two idle environments");
    let next = invoke(&function, json!({"action": "pid"})).await;
    assert_eq!(
        support::json(&next)["pid"].as_u64(),
        Some(u64::from(most_recent))
    );
}

#[tokio::test]
async fn headers_of_next_carry_the_invocation() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let invocation = invoke(&function, json!({"action": "headers"})).await;
    let headers = support::json(&invocation);
    assert_eq!(
        headers["Lambda-Runtime-Aws-Request-Id"].as_str(),
        Some(invocation.report.request_id.as_str())
    );
    assert_eq!(
        headers["Lambda-Runtime-Invoked-Function-Arn"].as_str(),
        Some(runtime::function_arn("provided-fn").as_str())
    );
    let deadline_ms: u64 = headers["Lambda-Runtime-Deadline-Ms"]
        .as_str()
        .and_then(|value| value.parse().ok())
        .expect("a deadline");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert!(
        deadline_ms > now_ms && deadline_ms <= now_ms + 5_000,
        "{deadline_ms} vs {now_ms}"
    );
    let trace = headers["Lambda-Runtime-Trace-Id"]
        .as_str()
        .expect("a trace id");
    assert!(
        trace.starts_with("Root=1-") && trace.ends_with(";Sampled=0"),
        "{trace}"
    );
}

#[tokio::test]
async fn environment_variables_are_lambdas_and_reserved_ones_win() {
    let code = provided_code();
    let host = support::host(IDLE);
    let mut config = config("env-fn", ProcessRuntime::Provided, code.path());
    config.memory_mb = 256;
    config.environment = vec![
        ("TABLE_NAME".to_owned(), "carts".to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "impostor".to_owned()),
        ("AWS_REGION".to_owned(), "eu-west-3".to_owned()),
        ("TZ".to_owned(), "Europe/Paris".to_owned()),
    ];
    let function = host.load(config).expect("loads");
    let invocation = invoke(&function, json!({"action": "environ"})).await;
    let environ = support::json(&invocation);
    let get = |key: &str| environ[key].as_str().map(str::to_owned);
    assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME").as_deref(), Some("env-fn"));
    assert_eq!(
        get("AWS_LAMBDA_FUNCTION_VERSION").as_deref(),
        Some("$LATEST")
    );
    assert_eq!(
        get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").as_deref(),
        Some("256")
    );
    assert_eq!(get("AWS_REGION").as_deref(), Some(runtime::REGION));
    assert_eq!(get("AWS_DEFAULT_REGION").as_deref(), Some(runtime::REGION));
    assert_eq!(get("AWS_ENDPOINT_URL").as_deref(), Some(ENDPOINT));
    assert_eq!(get("AWS_ACCESS_KEY_ID").as_deref(), Some("test-key"));
    assert_eq!(get("AWS_SECRET_ACCESS_KEY").as_deref(), Some("test-secret"));
    assert_eq!(get("TABLE_NAME").as_deref(), Some("carts"));
    assert_eq!(
        get("TZ").as_deref(),
        Some("Europe/Paris"),
        "TZ is not reserved"
    );
    assert_eq!(get("LANG").as_deref(), Some("en_US.UTF-8"));
    assert_eq!(get("_HANDLER").as_deref(), Some("bootstrap"));
    assert_eq!(
        get("AWS_EXECUTION_ENV"),
        None,
        "provided runtimes have none"
    );
    assert_eq!(
        get("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref(),
        Some("on-demand")
    );
    assert_eq!(
        get("AWS_LAMBDA_LOG_GROUP_NAME").as_deref(),
        Some("/aws/lambda/env-fn")
    );
    let stream = get("AWS_LAMBDA_LOG_STREAM_NAME").expect("a log stream");
    assert!(stream.contains("/[$LATEST]") && stream.len() == "2026/01/01/[$LATEST]".len() + 32);
    assert_eq!(
        get("LAMBDA_TASK_ROOT"),
        Some(code.path().display().to_string())
    );
    let api = get("AWS_LAMBDA_RUNTIME_API").expect("the Runtime API");
    assert!(api.starts_with("127.0.0.1:"), "{api}");
    assert!(get("PATH").is_some_and(|path| path.contains("/usr/bin")));
    assert_eq!(get("HOME"), None, "the environment starts cleared");
    assert_eq!(
        get("CARGO_PKG_NAME"),
        None,
        "the environment starts cleared"
    );
}

#[tokio::test]
async fn a_posted_error_is_the_functions_error_and_the_environment_stays() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let event = json!({"action": "error", "type": "CartNotFound", "message": "no cart 42"});
    let failed = invoke(&function, event).await;
    assert_eq!(
        failed.result.expect_err("an error"),
        InvokeError::Function {
            error_type: "CartNotFound".to_owned(),
            message: "no cart 42".to_owned(),
            stack_trace: Vec::new(),
        }
    );
    let next = invoke(&function, json!({"action": "echo"})).await;
    assert!(next.result.is_ok());
    assert_eq!(
        next.report.init_duration, None,
        "the same environment answers"
    );
}

#[tokio::test]
async fn a_crash_mid_invocation_is_an_exit_error_and_the_next_call_starts_afresh() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let first = invoke(&function, json!({"action": "pid"})).await;
    let pid = support::json(&first)["pid"].as_u64().expect("a pid");

    let crashed = invoke(&function, json!({"action": "crash", "code": 1})).await;
    let request_id = crashed.report.request_id.clone();
    assert_eq!(
        crashed.result.as_ref().expect_err("a crash"),
        &InvokeError::Function {
            error_type: "Runtime.ExitError".to_owned(),
            message: format!(
                "RequestId: {request_id} Error: Runtime exited with error: exit status 1"
            ),
            stack_trace: Vec::new(),
        }
    );
    assert!(log_texts(&crashed).contains(&"about to crash".to_owned()));
    assert_eq!(function.environment_count(), 0);

    let after = invoke(&function, json!({"action": "pid"})).await;
    assert_ne!(support::json(&after)["pid"].as_u64(), Some(pid));
    assert!(after.report.init_duration.is_some());
}

#[tokio::test]
async fn an_init_error_answers_with_the_type_the_runtime_posted() {
    let code = provided_code();
    let host = support::host(IDLE);
    let mut config = config("init-error", ProcessRuntime::Provided, code.path());
    config.environment = vec![("TEST_INIT".to_owned(), "error".to_owned())];
    let function = host.load(config).expect("loads");
    let failed = invoke(&function, json!({})).await;
    assert_eq!(
        failed.result.as_ref().expect_err("an init error"),
        &InvokeError::Function {
            error_type: "Custom.InitFailed".to_owned(),
            message: "cannot init".to_owned(),
            stack_trace: Vec::new(),
        }
    );
    assert!(log_texts(&failed).contains(&"init says hello".to_owned()));
    assert_eq!(function.environment_count(), 0);
}

#[tokio::test]
async fn a_crash_during_init_is_an_exit_error() {
    let code = provided_code();
    let host = support::host(IDLE);
    let mut config = config("init-crash", ProcessRuntime::Provided, code.path());
    config.environment = vec![("TEST_INIT".to_owned(), "crash".to_owned())];
    let function = host.load(config).expect("loads");
    let failed = invoke(&function, json!({})).await;
    let request_id = failed.report.request_id.clone();
    assert_eq!(
        failed.result.expect_err("a crash"),
        InvokeError::Function {
            error_type: "Runtime.ExitError".to_owned(),
            message: format!(
                "RequestId: {request_id} Error: Runtime exited with error: exit status 3"
            ),
            stack_trace: Vec::new(),
        }
    );
    let logs = &failed.report.logs;
    assert!(
        logs.iter()
            .any(|line| line.source == LogSource::Stderr && line.text == "crashing during init")
    );
}

#[tokio::test]
async fn a_timeout_kills_the_process_group_and_the_next_call_works() {
    let code = provided_code();
    let host = support::host(IDLE);
    let mut config = config("timeout-fn", ProcessRuntime::Provided, code.path());
    config.timeout_ms = 500;
    let function = host.load(config).expect("loads");
    let first = invoke(&function, json!({"action": "pid"})).await;
    let pid = support::json(&first)["pid"].as_u64().expect("a pid") as u32;

    let pid_file = code.path().join("child.pid");
    let event = json!({"action": "spawn_and_hang", "pid_file": pid_file});
    let timed_out = invoke(&function, event).await;
    assert_eq!(
        timed_out.result.expect_err("a timeout"),
        InvokeError::Timeout { timeout_ms: 500 }
    );
    let duration = timed_out.report.duration;
    assert!(
        duration >= Duration::from_millis(500) && duration < Duration::from_secs(3),
        "{duration:?}"
    );
    let child: u32 = std::fs::read_to_string(&pid_file)
        .expect("the bootstrap wrote its child's pid")
        .parse()
        .expect("a pid");
    eventually("the environment's processes are gone", || {
        is_gone(pid) && is_gone(child)
    })
    .await;

    let after = invoke(&function, json!({"action": "echo"})).await;
    assert!(after.result.is_ok());
    assert!(after.report.init_duration.is_some(), "a new environment");
}

/// Waits out Lambda's 10 s init limit (`INIT_TIMEOUT_MS`), beside the other tests: it used to run
/// only with `RUN_SLOW_TESTS` set and passed, unrun, otherwise (issue 13, defect 9).
#[tokio::test]
async fn init_that_never_finishes_is_stopped() {
    let code = provided_code();
    let host = support::host(IDLE);
    let mut config = config("init-hang", ProcessRuntime::Provided, code.path());
    config.environment = vec![("TEST_INIT".to_owned(), "hang".to_owned())];
    let function = host.load(config).expect("loads");
    let start = std::time::Instant::now();
    let failed = invoke(&function, json!({})).await;
    let waited = start.elapsed();
    let error = failed.result.expect_err("an init timeout");
    assert_eq!(error.error_type(), "Sandbox.Timedout");
    let limit = Duration::from_millis(process::limits::INIT_TIMEOUT_MS);
    assert!(
        waited >= limit && waited < limit + Duration::from_secs(5),
        "stopped after {waited:?}"
    );
    assert_eq!(function.environment_count(), 0);
}

#[tokio::test]
async fn exceeding_the_memory_limit_is_out_of_memory() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    // Held for a while: the watchdog catches it while it runs.
    let held = invoke(
        &function,
        json!({"action": "allocate", "mb": 300, "hold_s": 2}),
    )
    .await;
    assert_eq!(
        held.result.expect_err("out of memory"),
        InvokeError::OutOfMemory { memory_mb: 128 }
    );
    assert!(
        held.report.duration < Duration::from_secs(2),
        "killed before it answered"
    );
    assert!(held.report.peak_memory_bytes > 128 * 1024 * 1024);
    // Answered at once: the high-water mark catches it at the end.
    let brief = invoke(&function, json!({"action": "allocate", "mb": 300})).await;
    assert_eq!(
        brief.result.expect_err("out of memory").error_type(),
        "Runtime.OutOfMemory"
    );
    assert_eq!(function.environment_count(), 0);
    let within = invoke(&function, json!({"action": "allocate", "mb": 20})).await;
    assert_eq!(support::json(&within), json!({"allocated_mb": 20}));
}

/// The lines of one stream, in order (two pipes keep no order between them).
fn stream(invocation: &Invocation<Bytes>, source: LogSource) -> Vec<&str> {
    let logs = &invocation.report.logs;
    logs.iter()
        .filter(|line| line.source == source)
        .map(|line| line.text.as_str())
        .collect()
}

#[tokio::test]
async fn output_lands_in_the_invocations_log() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let event = json!({"action": "print", "stdout": "to stdout", "stderr": "to stderr"});
    let first = invoke(&function, event.clone()).await;
    assert_eq!(
        stream(&first, LogSource::Stdout),
        ["init says hello", "to stdout", "no newline at the end"]
    );
    assert_eq!(stream(&first, LogSource::Stderr), ["to stderr"]);
    assert_eq!(first.report.logs.len(), 4);
    let second = invoke(&function, event).await;
    assert_eq!(
        stream(&second, LogSource::Stdout),
        ["to stdout", "no newline at the end"],
        "init output only in the first invocation's log"
    );
    assert_eq!(stream(&second, LogSource::Stderr), ["to stderr"]);
}

#[tokio::test]
async fn idle_environments_are_reaped() {
    let code = provided_code();
    let host = support::host(Duration::from_millis(300));
    let function = provided(&host, code.path());
    let event = json!({"action": "sleep", "seconds": 0.2});
    let (a, b) = tokio::join!(invoke(&function, event.clone()), invoke(&function, event));
    let pids =
        [&a, &b].map(|invocation| support::json(invocation)["pid"].as_u64().expect("a pid") as u32);
    assert_eq!(function.environment_count(), 2);
    eventually("both environments are reaped", || {
        function.environment_count() == 0
    })
    .await;
    eventually("their processes are gone", || {
        pids.iter().all(|&pid| is_gone(pid))
    })
    .await;
    let again = invoke(&function, json!({"action": "echo"})).await;
    assert!(
        again.report.init_duration.is_some(),
        "a reaped function starts cold"
    );
}

#[tokio::test]
async fn dropping_the_function_kills_its_environments() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let event = json!({"action": "sleep", "seconds": 0.2});
    let clone = function.clone();
    let (a, b) = tokio::join!(invoke(&function, event.clone()), invoke(&clone, event));
    let pids =
        [&a, &b].map(|invocation| support::json(invocation)["pid"].as_u64().expect("a pid") as u32);
    drop(function);
    assert!(!pids.iter().any(|&pid| is_gone(pid)), "a clone keeps them");
    drop(clone);
    eventually("the processes are gone", || {
        pids.iter().all(|&pid| is_gone(pid))
    })
    .await;
}

#[tokio::test]
async fn a_response_over_6_mb_is_refused_with_413() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let limit = runtime::limits::RESPONSE_BYTES_MAX;
    let too_big = invoke(&function, json!({"action": "big", "bytes": limit + 1})).await;
    assert_eq!(
        too_big.result.expect_err("too large"),
        InvokeError::ResponseTooLarge {
            size_bytes: limit + 1,
            limit_bytes: limit
        }
    );
    let report = support::json(&invoke(&function, json!({"action": "report"})).await);
    assert_eq!(report["big"][0], 413, "the runtime is told");
    assert_eq!(report["big"][1]["errorType"], "RequestEntityTooLarge");
    let at_limit = invoke(&function, json!({"action": "big", "bytes": limit})).await;
    assert_eq!(at_limit.result.expect("at the limit").len(), limit);
    assert_eq!(
        at_limit.report.init_duration, None,
        "the environment stayed"
    );
}

#[tokio::test]
async fn the_runtime_api_refuses_unknown_and_answered_requests() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let probe = support::json(&invoke(&function, json!({"action": "probe"})).await);
    assert_eq!(probe["bad_id_status"], 400);
    assert_eq!(probe["bad_id_body"]["errorType"], "InvalidRequestID");
    let report = support::json(&invoke(&function, json!({"action": "report"})).await);
    assert_eq!(report["again"][0], 403);
    assert_eq!(report["again"][1]["errorType"], "InvalidStateTransition");
    assert_eq!(report["init_error_after_init"], 403);
}

/// Issue 13 (defect 6): any local process could connect to an environment's Runtime API and take
/// its next event. A connection from outside the environment's processes is refused, at once,
/// and the environment's own runtime keeps getting every event.
#[tokio::test]
async fn issue_13_a_process_outside_the_environment_cannot_take_its_events() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let environ = invoke(&function, json!({"action": "environ"})).await;
    let address = support::json(&environ)["AWS_LAMBDA_RUNTIME_API"]
        .as_str()
        .expect("the runtime was told its Runtime API")
        .to_owned();

    // The runtime waits in `next` again; a stranger asks for the next event too.
    let stranger = tokio::spawn(ask_for_next(address));
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..2 {
        let answered = invoke(&function, json!({"action": "echo", "n": n})).await;
        assert_eq!(
            support::json(&answered),
            json!({"echo": {"action": "echo", "n": n}})
        );
    }
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), stranger)
        .await
        .expect("the stranger was answered")
        .expect("the stranger's task does not panic");
    assert_eq!(status, 403, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(body["errorType"], "AccessDeniedException", "{body}");
    assert_eq!(function.environment_count(), 1);
}

/// A process the runtime started (in the environment's process group) may answer for it.
#[tokio::test]
async fn a_child_of_the_runtime_may_use_the_runtime_api() {
    let code = provided_code();
    let host = support::host(IDLE);
    let function = provided(&host, code.path());
    let answered = invoke(&function, json!({"action": "respond_from_child"})).await;
    let child = support::json(&answered)["child"]
        .as_u64()
        .expect("the child's pid");
    assert!(child > 0);
}

/// `GET next` on a connection of the test's own; the answer's status and body.
async fn ask_for_next(address: String) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("the Runtime API listens");
    let request = format!(
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("the answer is read");
    let response = String::from_utf8(response).expect("a text answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}
