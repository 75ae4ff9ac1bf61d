//! A handler-world function whose behaviour is chosen by the event, so integration tests can declare
//! this one component under several functions (with different limits) and drive each case by request.
//!
//! The action comes from the first of: `pathParameters.action` (an API Gateway payload 2.0 event, for
//! a route such as `GET /t/{action}`), `queryStringParameters.action`, or a top-level `"action"` field
//! (a plain JSON event such as `{"action": "echo"}`).
//! Parameters (`code`, `ms`, `bytes`) come from `queryStringParameters`, or else from top-level fields.
//!
//! | action    | behaviour |
//! |-----------|-----------|
//! | `echo`    | 200 response whose JSON body is the whole event |
//! | `raw`     | the event unchanged, as plain JSON (no `statusCode`) |
//! | `status`  | status `code` (default 201), header `x-test: yes`, two cookies, body `made` |
//! | `binary`  | bytes 0..=255, base64 with `isBase64Encoded`, `application/octet-stream` |
//! | `error`   | function error `TestError` / `asked to fail` |
//! | `panic`   | panics (a trap) |
//! | `loop`    | spins forever |
//! | `sleep`   | sleeps `ms` milliseconds (default 60000) |
//! | `oom`     | allocates and keeps 1 MiB chunks until memory runs out |
//! | `counter` | `{"count": n}`, n counted per instance (a fresh instance answers 1) |
//! | `env`     | `{"env": {..environment variables..}, "config": {..config pairs..}}` |
//! | `log`     | logs info, warn and error lines, prints to stdout and stderr; `{"logged": 3}` |
//! | `print`   | prints `bytes` (default 1000) `x` characters to stdout without a newline, in 64 KiB writes; `{"printed": n}` |
//! | `big`     | a text body of `bytes` (default 7000000) `x` characters |
//! | `context` | the invocation context's fields |
//! | `push`    | posts to connection `connectionId` the text `data`, or `json` as JSON, or `bytes` `x` characters; `{"pushed": true}` |
//! | `connection` | `{"connection": {connectedAtMs, lastActiveAtMs, sourceIp, userAgent}}` of connection `connectionId` |
//! | `disconnect` | closes connection `connectionId`; `{"disconnected": true}` |
//! | other     | function error `UnknownAction` |
//!
//! `connectionId` defaults to the event's `requestContext.connectionId` (a WebSocket event's
//! sender). A failed connection call answers `{"error": {"code": .., "message": ..}}` (a successful
//! invocation, so tests read the error directly).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rondo_sdk::connections::{self, ConnectionError};
use rondo_sdk::http::Response;
use rondo_sdk::{Context, Error, config, log};
use serde_json::{Value, json};

rondo_sdk::handler!(handle);

/// Invocations this instance has run; lives as long as the instance.
static N_INVOCATIONS: AtomicU64 = AtomicU64::new(0);

fn handle(event: Value, ctx: &Context) -> Result<Value, Error> {
    let n_invocations = N_INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let action =
        action(&event).ok_or_else(|| Error::new("UnknownAction", "the event names no action"))?;
    match action.as_str() {
        "echo" => Ok(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": event.to_string(),
        })),
        "raw" => Ok(event),
        "status" => {
            let code = param_u64(&event, "code")?.unwrap_or(201);
            let code = u16::try_from(code)
                .map_err(|_| Error::new("BadParameter", format!("code {code} is too big")))?;
            let response = Response::text(code, "made")
                .with_header("x-test", "yes")
                .with_cookie("first=1; Path=/")
                .with_cookie("second=2; HttpOnly");
            Ok(serde_json::to_value(response)?)
        }
        "binary" => {
            let bytes: Vec<u8> = (0..=255).collect();
            Ok(serde_json::to_value(Response::binary(
                200,
                "application/octet-stream",
                &bytes,
            ))?)
        }
        "error" => Err(Error::new("TestError", "asked to fail")),
        "panic" => panic!("asked to panic"),
        "loop" => spin_forever(),
        "sleep" => {
            let ms = param_u64(&event, "ms")?.unwrap_or(60_000);
            std::thread::sleep(Duration::from_millis(ms));
            Ok(json!({"sleptMs": ms}))
        }
        "oom" => exhaust_memory(),
        "counter" => Ok(json!({"count": n_invocations})),
        "env" => {
            let env: BTreeMap<String, String> = std::env::vars().collect();
            Ok(json!({"env": env, "config": config::all()}))
        }
        "log" => Ok(log_lines()),
        "print" => {
            let n_bytes = param_u64(&event, "bytes")?.unwrap_or(1000);
            print_without_newline(n_bytes)?;
            Ok(json!({"printed": n_bytes}))
        }
        "big" => {
            let n_bytes = param_u64(&event, "bytes")?.unwrap_or(7_000_000);
            let n_bytes = usize::try_from(n_bytes)
                .map_err(|_| Error::new("BadParameter", format!("bytes {n_bytes} is too big")))?;
            Ok(serde_json::to_value(Response::text(
                200,
                "x".repeat(n_bytes),
            ))?)
        }
        "context" => Ok(json!({
            "requestId": ctx.request_id(),
            "functionName": ctx.function_name(),
            "functionVersion": ctx.function_version(),
            "invokedFunctionArn": ctx.invoked_function_arn(),
            "memoryLimitMb": ctx.memory_limit_mb(),
            "deadlineMs": ctx.deadline_ms(),
            "remainingTimeMs": ctx.remaining_time_ms(),
        })),
        "push" => push(&event),
        "connection" => {
            let connection_id = connection_id(&event)?;
            Ok(answer(connections::get(connection_id).map(|info| {
                json!({"connection": {
                    "connectedAtMs": info.connected_at_ms,
                    "lastActiveAtMs": info.last_active_at_ms,
                    "sourceIp": info.source_ip,
                    "userAgent": info.user_agent,
                }})
            })))
        }
        "disconnect" => {
            let connection_id = connection_id(&event)?;
            Ok(answer(
                connections::delete(connection_id).map(|()| json!({"disconnected": true})),
            ))
        }
        other => Err(Error::new(
            "UnknownAction",
            format!("unknown action: {other}"),
        )),
    }
}

fn action(event: &Value) -> Option<String> {
    let candidates = [
        &event["pathParameters"]["action"],
        &event["queryStringParameters"]["action"],
        &event["action"],
    ];
    candidates
        .into_iter()
        .find_map(|value| value.as_str())
        .map(str::to_owned)
}

/// Parameter `name` from the query string, or else from a top-level field (a string or a number).
fn param_u64(event: &Value, name: &str) -> Result<Option<u64>, Error> {
    let query_value = &event["queryStringParameters"][name];
    let value = if query_value.is_null() {
        &event[name]
    } else {
        query_value
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => number.as_u64().map(Some).ok_or_else(|| {
            Error::new(
                "BadParameter",
                format!("{name} must be a whole number, not {number}"),
            )
        }),
        Value::String(text) => Ok(Some(text.parse()?)),
        other => Err(Error::new(
            "BadParameter",
            format!("{name} must be a whole number, not {other}"),
        )),
    }
}

fn push(event: &Value) -> Result<Value, Error> {
    let connection_id = connection_id(event)?;
    let pushed = if let Some(data) = event["data"].as_str() {
        connections::post(connection_id, data)
    } else if let Some(message) = event.get("json") {
        connections::post_json(connection_id, message)
    } else {
        let n_bytes = param_u64(event, "bytes")?
            .ok_or_else(|| Error::new("BadParameter", "push needs `data`, `json` or `bytes`"))?;
        let n_bytes = usize::try_from(n_bytes)
            .map_err(|_| Error::new("BadParameter", format!("bytes {n_bytes} is too big")))?;
        connections::post(connection_id, vec![b'x'; n_bytes])
    };
    Ok(answer(pushed.map(|()| json!({"pushed": true}))))
}

/// The connection a connection action is about: `connectionId`, or the WebSocket event's sender.
fn connection_id(event: &Value) -> Result<&str, Error> {
    event["connectionId"]
        .as_str()
        .or_else(|| event["requestContext"]["connectionId"].as_str())
        .ok_or_else(|| Error::new("BadParameter", "the event names no connectionId"))
}

/// A connection call's answer: its JSON, or the error it met as JSON.
fn answer(result: Result<Value, ConnectionError>) -> Value {
    result.unwrap_or_else(|error| {
        let error = Error::from(error);
        json!({"error": {"code": error.error_type(), "message": error.message()}})
    })
}

fn spin_forever() -> ! {
    let mut n_spins: u64 = 0;
    loop {
        n_spins = black_box(n_spins.wrapping_add(1));
    }
}

fn exhaust_memory() -> ! {
    const CHUNK_BYTES: usize = 1 << 20;
    const PAGE_BYTES: usize = 4096;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0_u8; CHUNK_BYTES];
        // Write every page so the memory is really used, whatever the allocator does with zeroed memory.
        for byte_idx in (0..CHUNK_BYTES).step_by(PAGE_BYTES) {
            chunk[byte_idx] = 1;
        }
        chunks.push(black_box(chunk));
    }
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the test checks that stdout and stderr are captured"
)]
fn log_lines() -> Value {
    log::info("test-handler info line");
    log::warn("test-handler warn line");
    log::error("test-handler error line");
    println!("test-handler stdout line");
    eprintln!("test-handler stderr line");
    json!({"logged": 3})
}

/// Writes `n_bytes` `x` characters to stdout and no newline, from one small buffer, so the guest
/// holds 64 KiB however much it prints: what piles up is the host's business.
fn print_without_newline(n_bytes: u64) -> Result<(), Error> {
    let chunk = vec![b'x'; 64 * 1024];
    let mut stdout = std::io::stdout().lock();
    let mut n_left = n_bytes;
    while n_left > 0 {
        let n_now = usize::try_from(n_left).map_or(chunk.len(), |n_left| n_left.min(chunk.len()));
        stdout.write_all(&chunk[..n_now])?;
        n_left -= u64::try_from(n_now).expect("a chunk is 64 KiB");
    }
    stdout.flush()?;
    Ok(())
}
