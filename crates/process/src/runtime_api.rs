//! The Lambda Runtime API, as one execution environment sees it at `AWS_LAMBDA_RUNTIME_API`.
//!
//! Each environment has its own listener on `127.0.0.1:0`, so a connection tells which
//! environment speaks and no request id of another environment is ever in reach.
//! A listener serves only connections opened by the environment's own processes (`peer.rs`);
//! any other gets `403 AccessDeniedException` to every request and never reaches the events.
//! The invoker hands an event to the waiting `next` through a channel; the runtime's answers
//! come back to the invoker as [`Signal`]s through another. Neither side polls.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::limits::{ERROR_BODY_BYTES_MAX, ERROR_MESSAGE_CHARS_MAX, RESPONSE_BYTES_MAX};
use crate::peer;

/// The path prefix of the Runtime API's version.
const PREFIX: &str = "/2018-06-01/runtime/";

/// One invocation, as handed to the runtime's `next`.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) request_id: String,
    pub(crate) body: Bytes,
    /// The deadline as Unix epoch milliseconds.
    pub(crate) deadline_ms: u64,
    pub(crate) trace_id: String,
}

/// What the environment tells its invoker.
#[derive(Debug)]
pub(crate) enum Signal {
    /// The runtime called `next` for the first time: init is over.
    InitDone(Instant),
    InitError(PostedError),
    Response(Bytes),
    /// The runtime posted a response over the limit (it was told 413).
    ResponseTooLarge {
        size_bytes: usize,
    },
    FunctionError(PostedError),
    /// The environment's main process ended.
    Exited(Result<ExitStatus, String>),
}

/// An error a runtime posted to `/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedError {
    /// The body's `errorType`, else the `Lambda-Runtime-Function-Error-Type` header, else
    /// `Unhandled`; never empty.
    pub error_type: String,
    pub message: String,
    /// The body's `stackTrace`: its lines, as the runtime gave them.
    pub stack_trace: Vec<String>,
}

/// Whose connections a Runtime API listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peers {
    /// The listener is on the host's loopback: only connections held by the environment's
    /// process group (`peer.rs`).
    ProcessGroup,
    /// The listener is in the sandbox's own network namespace, which only the environment's
    /// processes are in: every connection.
    PrivateNetwork,
}

/// The state the Runtime API handlers of one environment share.
pub(crate) struct RuntimeApi {
    invoked_function_arn: HeaderValue,
    peers: Peers,
    /// The environment's process group, once its leader runs: only its processes are served.
    process_group: watch::Sender<Option<u32>>,
    state: Mutex<ApiState>,
    events: tokio::sync::Mutex<mpsc::Receiver<Event>>,
    signals: mpsc::UnboundedSender<Signal>,
}

#[derive(Default)]
struct ApiState {
    /// The runtime called `next` at least once.
    initialized: bool,
    /// The runtime reported an init error; it gets no event.
    init_failed: bool,
    /// The request the runtime holds and has not answered yet.
    current: Option<String>,
    /// The request it answered last (answering it again is a state error, not an unknown id).
    answered: Option<String>,
}

/// Why a body could not be read.
enum BodyError {
    TooLarge { size_bytes: usize },
    Broken,
}

impl RuntimeApi {
    pub(crate) fn new(
        invoked_function_arn: &str,
        events: mpsc::Receiver<Event>,
        signals: mpsc::UnboundedSender<Signal>,
        peers: Peers,
    ) -> RuntimeApi {
        RuntimeApi {
            peers,
            invoked_function_arn: HeaderValue::from_str(invoked_function_arn)
                .unwrap_or_else(|_| HeaderValue::from_static("")),
            process_group: watch::Sender::new(None),
            state: Mutex::new(ApiState::default()),
            events: tokio::sync::Mutex::new(events),
            signals,
        }
    }

    /// Names the environment's process group (its leader's pid).
    pub(crate) fn set_process_group(&self, pgid: u32) {
        let previous = self.process_group.send_replace(Some(pgid));
        debug_assert!(previous.is_none(), "an environment has one process group");
    }

    /// Whether the connection from `client` to `server` comes from the environment's processes.
    /// A connection made before the leader's pid is known (the runtime may connect before the
    /// spawn returns here) waits for it; if the spawn fails, the listener ends with the waiting.
    async fn is_own(&self, client: SocketAddr, server: SocketAddr) -> bool {
        if self.peers == Peers::PrivateNetwork {
            return true;
        }
        let mut process_group = self.process_group.subscribe();
        let pgid = match process_group.wait_for(Option::is_some).await {
            Ok(pgid) => pgid.expect("waited until the group is known"),
            Err(_) => return false,
        };
        // Owner: this check, which awaits it (a short read of the process table).
        tokio::task::spawn_blocking(move || peer::is_held_by_group(client, server, pgid))
            .await
            .unwrap_or(false)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ApiState> {
        self.state
            .lock()
            .expect("the runtime API lock is never poisoned: nothing panics while holding it")
    }

    fn signal(&self, signal: Signal) {
        // The invoker may be gone (its invocation was cancelled); the environment dies with it.
        let _ = self.signals.send(signal);
    }
}

/// Serves the Runtime API on `listener` until the task is aborted (which ends every connection).
pub(crate) async fn serve(listener: TcpListener, api: Arc<RuntimeApi>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, client)) = accepted else { continue };
                let Ok(server) = stream.local_addr() else { continue };
                // Small requests and answers: never wait to coalesce them.
                let _ = stream.set_nodelay(true);
                let api = Arc::clone(&api);
                connections.spawn(serve_connection(stream, client, server, api));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    client: SocketAddr,
    server: SocketAddr,
    api: Arc<RuntimeApi>,
) {
    let is_own = api.is_own(client, server).await;
    if !is_own {
        tracing::warn!(%client, "refused a Runtime API connection from outside the environment");
    }
    let service = service_fn(move |request| {
        let api = Arc::clone(&api);
        async move {
            let response = if is_own {
                handle(&api, request).await
            } else {
                stranger(&request)
            };
            Ok::<_, Infallible>(response)
        }
    });
    // Title case writes Lambda's spelling (`Lambda-Runtime-Aws-Request-Id`): header names are
    // case-insensitive, but a shell bootstrap grepping for them may not be.
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Answers one Runtime API request.
pub(crate) async fn handle(api: &RuntimeApi, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return not_found(&path);
    };
    match (request.method().clone(), route) {
        (Method::GET, "invocation/next") => next(api).await,
        (Method::POST, "init/error") => init_error(api, request).await,
        (Method::POST, route) => {
            let Some(route) = route.strip_prefix("invocation/") else {
                return not_found(&path);
            };
            if let Some(request_id) = route.strip_suffix("/response") {
                let request_id = request_id.to_owned();
                response(api, &request_id, request).await
            } else if let Some(request_id) = route.strip_suffix("/error") {
                let request_id = request_id.to_owned();
                invocation_error(api, &request_id, request).await
            } else {
                not_found(&path)
            }
        }
        _ => not_found(&path),
    }
}

async fn next(api: &RuntimeApi) -> Response<Full<Bytes>> {
    {
        let mut state = api.lock();
        if let Some(current) = &state.current {
            let message =
                format!("the runtime asked for the next event before answering request {current}");
            return error_response(StatusCode::FORBIDDEN, "InvalidStateTransition", &message);
        }
        if state.init_failed {
            let message = "the runtime reported an init error; it gets no event";
            return error_response(StatusCode::FORBIDDEN, "InvalidStateTransition", message);
        }
        if !state.initialized {
            state.initialized = true;
            api.signal(Signal::InitDone(Instant::now()));
        }
    }
    let event = {
        let mut events = api.events.lock().await;
        events.recv().await
    };
    let Some(event) = event else {
        let message = "the execution environment is shutting down";
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            message,
        );
    };
    api.lock().current = Some(event.request_id.clone());
    let mut response = Response::new(Full::new(event.body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&event.request_id) {
        headers.insert("lambda-runtime-aws-request-id", value);
    }
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(event.deadline_ms),
    );
    if !api.invoked_function_arn.is_empty() {
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            api.invoked_function_arn.clone(),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&event.trace_id) {
        headers.insert("lambda-runtime-trace-id", value);
    }
    response
}

/// A refused Runtime API request: its status, Lambda's `errorType` and a message.
struct Refusal {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl Refusal {
    fn into_response(self) -> Response<Full<Bytes>> {
        error_response(self.status, self.error_type, &self.message)
    }
}

/// Checks that `request_id` is the request the runtime holds.
fn check_current(api: &RuntimeApi, request_id: &str) -> Result<(), Refusal> {
    let state = api.lock();
    if state.current.as_deref() == Some(request_id) {
        return Ok(());
    }
    if state.answered.as_deref() == Some(request_id) {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            error_type: "InvalidStateTransition",
            message: format!("request {request_id} was already answered"),
        });
    }
    Err(Refusal {
        status: StatusCode::BAD_REQUEST,
        error_type: "InvalidRequestID",
        message: format!("invalid request id {request_id}"),
    })
}

/// Marks `request_id` answered, if it still is the current request (two answers may race).
fn answer(api: &RuntimeApi, request_id: &str, signal: Signal) -> Result<(), Refusal> {
    let mut state = api.lock();
    if state.current.as_deref() != Some(request_id) {
        drop(state);
        return check_current(api, request_id);
    }
    state.current = None;
    state.answered = Some(request_id.to_owned());
    api.signal(signal);
    Ok(())
}

// The handlers below read the body before judging the request, even one they refuse: a body
// left unread ends the keep-alive connection, and the runtime would write its next request
// into a closed socket.

async fn response(
    api: &RuntimeApi,
    request_id: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let signal = match read_body(request, RESPONSE_BYTES_MAX).await {
        Ok(body) => Signal::Response(body),
        Err(BodyError::TooLarge { size_bytes }) => Signal::ResponseTooLarge { size_bytes },
        Err(BodyError::Broken) => {
            let message = "the response body could not be read";
            return error_response(StatusCode::BAD_REQUEST, "InvalidRequestBody", message);
        }
    };
    let too_large = matches!(signal, Signal::ResponseTooLarge { .. });
    if let Err(refused) = answer(api, request_id, signal) {
        return refused.into_response();
    }
    if too_large {
        let message = format!("the response exceeds the limit of {RESPONSE_BYTES_MAX} bytes");
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &message,
        );
    }
    accepted()
}

async fn invocation_error(
    api: &RuntimeApi,
    request_id: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let posted = match read_posted_error(request).await {
        Ok(posted) => posted,
        Err(refused) => return refused.into_response(),
    };
    if let Err(refused) = answer(api, request_id, Signal::FunctionError(posted)) {
        return refused.into_response();
    }
    accepted()
}

async fn init_error(api: &RuntimeApi, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let posted = match read_posted_error(request).await {
        Ok(posted) => posted,
        Err(refused) => return refused.into_response(),
    };
    {
        let mut state = api.lock();
        if state.initialized || state.init_failed {
            let message = "init errors can only be reported before the first `next`";
            return error_response(StatusCode::FORBIDDEN, "InvalidStateTransition", message);
        }
        state.init_failed = true;
    }
    api.signal(Signal::InitError(posted));
    accepted()
}

/// Reads an error post: Lambda's `{"errorMessage", "errorType", "stackTrace"}` body, with the
/// `Lambda-Runtime-Function-Error-Type` header as the type when the body names none.
async fn read_posted_error(request: Request<Incoming>) -> Result<PostedError, Refusal> {
    let header_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match read_body(request, ERROR_BODY_BYTES_MAX).await {
        Ok(body) => Ok(parse_posted_error(&body, header_type)),
        Err(BodyError::TooLarge { .. }) => Err(Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error_type: "RequestEntityTooLarge",
            message: format!("an error body may hold at most {ERROR_BODY_BYTES_MAX} bytes"),
        }),
        Err(BodyError::Broken) => Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            error_type: "InvalidRequestBody",
            message: "the error body could not be read".to_owned(),
        }),
    }
}

/// Reads an error body a runtime posted (Lambda's `{"errorType", "errorMessage", "stackTrace"}`,
/// or anything else, kept as the message) with the error type header it came with. It takes any
/// bytes: a body that is not Lambda's shape is still an error, never a refusal.
pub fn parse_posted_error(body: &[u8], header_type: Option<String>) -> PostedError {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|json| json.get(name))
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    let error_type = field("errorType")
        .filter(|error_type| !error_type.is_empty())
        .or(header_type.filter(|error_type| !error_type.is_empty()))
        .unwrap_or_else(|| "Unhandled".to_owned());
    let message = match (&json, field("errorMessage")) {
        (_, Some(message)) => message,
        (Some(_), None) => String::new(),
        // Not Lambda's shape: the body itself is the best message there is.
        (None, None) => String::from_utf8_lossy(body)
            .chars()
            .take(ERROR_MESSAGE_CHARS_MAX)
            .collect(),
    };
    let stack_trace = json
        .as_ref()
        .and_then(|json| json.get("stackTrace"))
        .and_then(|value| value.as_array())
        .map(|lines| {
            lines
                .iter()
                .filter_map(|line| line.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    PostedError {
        error_type,
        message,
        stack_trace,
    }
}

/// Reads a body of at most `limit_bytes`. A larger body is read to its end all the same (and
/// counted), so the runtime's connection stays usable.
async fn read_body(request: Request<Incoming>, limit_bytes: usize) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut body = request.into_body();
    let mut collected: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0).min(limit_bytes));
    let mut size_bytes = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size_bytes = size_bytes.saturating_add(data.len());
        if size_bytes <= limit_bytes {
            collected.extend_from_slice(&data);
        } else {
            collected = Vec::new();
        }
    }
    if size_bytes > limit_bytes {
        return Err(BodyError::TooLarge { size_bytes });
    }
    Ok(Bytes::from(collected))
}

/// The answer to every request of a connection from outside the environment.
fn stranger(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let message = format!(
        "{} {}: this Runtime API serves its execution environment's processes only",
        request.method(),
        request.uri().path()
    );
    error_response(StatusCode::FORBIDDEN, "AccessDeniedException", &message)
}

fn accepted() -> Response<Full<Bytes>> {
    json_response(
        StatusCode::ACCEPTED,
        Bytes::from_static(br#"{"status":"OK"}"#),
    )
}

fn not_found(path: &str) -> Response<Full<Bytes>> {
    let message = format!("no Runtime API resource at {path}");
    error_response(StatusCode::NOT_FOUND, "InvalidRequest", &message)
}

/// The Runtime API's error shape: `{"errorMessage": ..., "errorType": ...}`.
fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    json_response(status, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, header: Option<&str>, expect: (&str, &str)) {
        let posted = parse_posted_error(body.as_bytes(), header.map(str::to_owned));
        assert_eq!(
            (posted.error_type.as_str(), posted.message.as_str()),
            expect
        );
    }

    #[test]
    fn posted_errors_are_read_like_lambda_reads_them() {
        check(
            r#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}"#,
            Some("Runtime.Other"),
            ("ValueError", "boom"),
        );
        check(
            r#"{"errorMessage":"no type"}"#,
            Some("Runtime.ImportModuleError"),
            ("Runtime.ImportModuleError", "no type"),
        );
        check(r#"{"errorMessage":"bare"}"#, None, ("Unhandled", "bare"));
        check("not json at all", None, ("Unhandled", "not json at all"));
        check("{}", Some("X"), ("X", ""));
    }

    #[test]
    fn an_empty_error_type_header_is_no_type() {
        // Found while writing the runtime_api fuzz target (its invariant: every error has a type):
        // an empty header gave an error without one.
        check(r#"{"errorMessage":"m"}"#, Some(""), ("Unhandled", "m"));
        check(
            r#"{"errorType":"","errorMessage":"m"}"#,
            Some(""),
            ("Unhandled", "m"),
        );
    }
}
