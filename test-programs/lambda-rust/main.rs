//! A Lambda function written exactly as for AWS Lambda's `provided.al2023` runtime, with the
//! `lambda_runtime` crate: the end-to-end tests copy the built binary into an app as `bootstrap`
//! and run it as a process function. It is built natively as the example `lambda-bootstrap` of
//! the `rondo` package (`target/<profile>/examples/lambda-bootstrap`), not as a guest.
//!
//! The action comes from a top-level `"action"` field (a plain JSON event such as
//! `{"action": "echo"}`) or from `pathParameters.action` (an API Gateway payload 2.0 event, for a
//! route such as `GET /p/{action}`). Parameters (`ms`, `code`) come from top-level fields or from
//! `queryStringParameters`.
//!
//! | action  | behaviour |
//! |---------|-----------|
//! | `ping`  | answers `{"pong": true}` at once (the benchmark's handler) |
//! | `echo`  | the event and the invocation's context: request id, function name, version, memory, deadline, ARN, the environment, the process id and how many invocations this process has run |
//! | `error` | function error `TestError` / `asked to fail` |
//! | `sleep` | sleeps `ms` milliseconds (default 60000), then answers `{"slept_ms": ms}` |
//! | `panic` | panics inside the handler (the runtime reports it as a function error) |
//! | `exit`  | exits the process with `code` (default 7) mid-invocation, without answering |
//! | `log`   | prints `stdout line <request id>` to stdout and `stderr line <request id>` to stderr; `{"logged": 2}` |
//! | other   | function error `UnknownAction` |
//!
//! With the environment variable `CRASH_AT_INIT=1` the process prints `crashing at init` to
//! stderr and exits with status 3 before the runtime starts, so no invocation is ever served.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "printing is what the log action is for"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The exit status of a crash at init (`CRASH_AT_INIT=1`).
const INIT_CRASH_STATUS: i32 = 3;
/// The exit status of the `exit` action when the event names none.
const EXIT_STATUS_DEFAULT: i32 = 7;
/// How long the `sleep` action sleeps when the event names no `ms`: longer than any test timeout.
const SLEEP_MS_DEFAULT: u64 = 60_000;

/// Invocations this process has run; lives as long as the execution environment.
static N_INVOCATIONS: AtomicU64 = AtomicU64::new(0);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::var("CRASH_AT_INIT").is_ok_and(|value| value == "1") {
        eprintln!("crashing at init");
        std::process::exit(INIT_CRASH_STATUS);
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let n_invocations = N_INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let (payload, context) = event.into_parts();
    let action = text_param(&payload, "action")
        .ok_or_else(|| diagnostic("UnknownAction", "the event names no action".to_owned()))?;
    match action.as_str() {
        "ping" => Ok(json!({"pong": true})),
        "echo" => Ok(json!({
            "event": payload,
            "requestId": context.request_id,
            "functionName": context.env_config.function_name,
            "functionVersion": context.env_config.version,
            "memoryMb": context.env_config.memory,
            "deadlineMs": context.deadline,
            "invokedFunctionArn": context.invoked_function_arn,
            "env": std::env::vars().collect::<BTreeMap<String, String>>(),
            "pid": std::process::id(),
            "invocations": n_invocations,
        })),
        "error" => Err(diagnostic("TestError", "asked to fail".to_owned())),
        "sleep" => {
            let ms = number_param(&payload, "ms")?.unwrap_or(SLEEP_MS_DEFAULT);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({"slept_ms": ms}))
        }
        "panic" => panic!("asked to panic"),
        "exit" => {
            let code = number_param(&payload, "code")?
                .map_or(Ok(EXIT_STATUS_DEFAULT), i32::try_from)
                .map_err(|_| diagnostic("BadParameter", "code is not an exit status".to_owned()))?;
            std::process::exit(code)
        }
        "log" => {
            println!("stdout line {}", context.request_id);
            eprintln!("stderr line {}", context.request_id);
            Ok(json!({"logged": 2}))
        }
        other => Err(diagnostic(
            "UnknownAction",
            format!("no action named {other:?}"),
        )),
    }
}

/// A text parameter: a top-level field, else a path parameter, else a query string parameter.
fn text_param(event: &Value, name: &str) -> Option<String> {
    [
        &event[name],
        &event["pathParameters"][name],
        &event["queryStringParameters"][name],
    ]
    .into_iter()
    .find_map(Value::as_str)
    .map(str::to_owned)
}

/// A number parameter: a top-level number, or a top-level or query string text of digits.
fn number_param(event: &Value, name: &str) -> Result<Option<u64>, Diagnostic> {
    if let Some(number) = event[name].as_u64() {
        return Ok(Some(number));
    }
    let Some(text) = [&event[name], &event["queryStringParameters"][name]]
        .into_iter()
        .find_map(Value::as_str)
    else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| {
        diagnostic(
            "BadParameter",
            format!("{name} {text:?} is not a whole number"),
        )
    })
}

fn diagnostic(error_type: &str, message: String) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: message,
    }
}
