//! The part of the Lambda API rondo answers on its AWS endpoint, so `aws lambda`, the AWS SDKs
//! and `rondo invoke` can call and describe any function of the app:
//!
//! - `Invoke` (`POST /2015-03-31/functions/{FunctionName}/invocations`): synchronous
//!   (`RequestResponse`), `DryRun`, and asynchronous (`Event`), which hands the event to an
//!   [`AsyncQueue`] and answers 202 once the event is stored durably;
//! - `GetFunction` (`GET /2015-03-31/functions/{FunctionName}`);
//! - `ListFunctions` (`GET /2015-03-31/functions`, paginated with `Marker` and `MaxItems`).

use std::sync::Arc;
use std::time::SystemTime;

use app::routes::percent_decode;
use app::{
    AppFunction, AppSnapshot, FunctionDescription, InvocationSource, Observer, SharedSnapshot,
};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use runtime::{InvokeError, InvokeMeta};
use serde_json::{Map, Value, json};

use app::{ASYNC_PAYLOAD_BYTES_MAX, AsyncQueue, EnqueueError, QueuedEvent};

use crate::limits::{INVOKE_PAYLOAD_BYTES_MAX, LOG_TAIL_BYTES};
use crate::server::Response;

/// `ListFunctions` returns at most this many functions per page, whatever `MaxItems` says.
pub const LIST_PAGE_ITEMS_MAX: usize = 50;
/// The largest `MaxItems` Lambda's model accepts.
const MAX_ITEMS_MAX: usize = 10_000;
/// What a throttled caller is told to wait before trying again (`Retry-After`), in seconds.
const RETRY_AFTER_S: u32 = 1;

const _: () = assert!(ASYNC_PAYLOAD_BYTES_MAX < INVOKE_PAYLOAD_BYTES_MAX);
const _: () = assert!(LIST_PAGE_ITEMS_MAX <= MAX_ITEMS_MAX);

const FUNCTIONS_PATH: &str = "/2015-03-31/functions";
const INVOKE_SUFFIX: &str = "/invocations";

/// Whether this request is addressed to the Lambda API (so the AWS endpoint can dispatch on it).
pub fn is_lambda_request<B>(request: &http::Request<B>) -> bool {
    let path = request.uri().path();
    path.strip_prefix(FUNCTIONS_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The Lambda operation a request names.
enum Operation {
    ListFunctions,
    GetFunction(String),
    Invoke(String),
}

/// Handles one Lambda API request. `async_queue` takes asynchronous invocations; `None` refuses
/// them (a node without a store).
pub async fn handle<B>(
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    async_queue: Option<&dyn AsyncQueue>,
    request: http::Request<B>,
) -> Response
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let response = match operation(request.method(), request.uri().path()) {
        Ok(Operation::ListFunctions) => list_functions(&snapshot.load_full(), request.uri()),
        Ok(Operation::GetFunction(function_ref)) => {
            get_function(&snapshot.load_full(), &function_ref, request.uri())
        }
        Ok(Operation::Invoke(function_ref)) => {
            invoke(snapshot, observer, async_queue, &function_ref, request).await
        }
        Err(error) => Err(error),
    };
    response
        .unwrap_or_else(LambdaError::into_response)
        .map(Full::new)
}

/// Routes a request by method and path, or answers why it names no operation.
fn operation(method: &http::Method, path: &str) -> Result<Operation, LambdaError> {
    let unknown = || {
        LambdaError::new(
            http::StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "Unknown operation",
        )
    };
    let wrong_method = |operation: &str, takes: &http::Method| {
        LambdaError::new(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            format!("{operation} takes {takes}"),
        )
    };
    let rest = path.strip_prefix(FUNCTIONS_PATH).ok_or_else(unknown)?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        if method != http::Method::GET {
            return Err(wrong_method("ListFunctions", &http::Method::GET));
        }
        return Ok(Operation::ListFunctions);
    }
    if let Some(name) = rest
        .strip_suffix(INVOKE_SUFFIX)
        .filter(|n| !n.contains('/'))
    {
        if method != http::Method::POST {
            return Err(wrong_method("Invoke", &http::Method::POST));
        }
        return Ok(Operation::Invoke(percent_decode(name).into_owned()));
    }
    if rest.contains('/') {
        return Err(unknown());
    }
    if method != http::Method::GET {
        return Err(wrong_method("GetFunction", &http::Method::GET));
    }
    Ok(Operation::GetFunction(percent_decode(rest).into_owned()))
}

/// The function a reference names in this app, or Lambda's 404. Only `$LATEST` exists.
fn find_function<'a>(
    app: &'a AppSnapshot,
    function_ref: &str,
    uri: &http::Uri,
) -> Result<&'a AppFunction, LambdaError> {
    let (name, qualifier) = parse_function_ref(function_ref);
    let qualifier = qualifier.or_else(|| query_param(uri, "Qualifier"));
    app.functions
        .get(name)
        .filter(|_| qualifier.as_deref().is_none_or(|q| q == "$LATEST"))
        .ok_or_else(|| {
            let arn = runtime::function_arn(function_ref);
            LambdaError::new(
                http::StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                format!("Function not found: {arn}"),
            )
        })
}

/// How an `Invoke` request asks to be run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

async fn invoke<B>(
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    async_queue: Option<&dyn AsyncQueue>,
    function_ref: &str,
    request: http::Request<B>,
) -> Result<http::Response<Bytes>, LambdaError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let app = snapshot.load_full();
    let function = find_function(&app, function_ref, request.uri())?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let invocation_type = match header("x-amz-invocation-type").as_deref() {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(LambdaError::new(
                http::StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                ),
            ));
        }
    };
    // `LogType: Tail` applies to synchronous invocations only; Lambda ignores it otherwise.
    let tail_log = header("x-amz-log-type").is_some_and(|t| t == "Tail")
        && invocation_type == InvocationType::RequestResponse;
    let queue = match invocation_type {
        InvocationType::Event => Some(async_queue.ok_or_else(|| {
            LambdaError::new(
                http::StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                "InvocationType Event (asynchronous invocation) needs a data store, and this node has none",
            )
        })?),
        InvocationType::RequestResponse | InvocationType::DryRun => None,
    };
    let payload_bytes_max = match invocation_type {
        InvocationType::Event => ASYNC_PAYLOAD_BYTES_MAX,
        InvocationType::RequestResponse | InvocationType::DryRun => INVOKE_PAYLOAD_BYTES_MAX,
    };
    let payload = read_payload(request.into_body(), payload_bytes_max).await?;
    if !function.takes_events() {
        let name = function.name();
        return Err(LambdaError::new(
            http::StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!(
                "function {name} is a wasi:http component: it is invoked through its HTTP routes"
            ),
        ));
    }
    if invocation_type == InvocationType::DryRun {
        let builder = http::Response::builder().status(http::StatusCode::NO_CONTENT);
        let response = with_version(builder).body(Bytes::new());
        return Ok(response.expect("a static response is valid"));
    }
    match queue {
        Some(queue) => enqueue(queue, function.name(), payload).await,
        None => invoke_now(&app, observer, function, payload, tail_log).await,
    }
}

/// Reads the request's payload: at most `bytes_max` bytes of JSON (`{}` when empty).
async fn read_payload<B>(body: B, bytes_max: usize) -> Result<Bytes, LambdaError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let payload = match Limited::new(body, bytes_max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(LambdaError::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                format!(
                    "Request must be smaller than {bytes_max} bytes for the InvokeFunction operation"
                ),
            ));
        }
        Err(error) => {
            return Err(LambdaError::new(
                http::StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("could not read request body: {error}"),
            ));
        }
    };
    let payload = if payload.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return Err(LambdaError::new(
            http::StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {error}"),
        ));
    }
    Ok(payload)
}

/// An asynchronous invocation: 202 once the event is durable, with its request id.
async fn enqueue(
    queue: &dyn AsyncQueue,
    function: &str,
    payload: Bytes,
) -> Result<http::Response<Bytes>, LambdaError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = QueuedEvent {
        request_id: request_id.clone(),
        function: function.to_owned(),
        payload,
    };
    match queue.enqueue(event).await {
        Ok(()) => Ok(http::Response::builder()
            .status(http::StatusCode::ACCEPTED)
            .header("x-amzn-requestid", request_id)
            .body(Bytes::new())
            .expect("headers built from valid values")),
        Err(error @ EnqueueError::Full { .. }) => Err(LambdaError {
            reason: Some("ConcurrentInvocationLimitExceeded"),
            ..LambdaError::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                error.to_string(),
            )
        }),
        Err(error) => Err(LambdaError::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            error.to_string(),
        )),
    }
}

/// A synchronous invocation: runs the function and answers with its result.
async fn invoke_now(
    app: &AppSnapshot,
    observer: &Arc<dyn Observer>,
    function: &AppFunction,
    payload: Bytes,
    tail_log: bool,
) -> Result<http::Response<Bytes>, LambdaError> {
    let meta = InvokeMeta {
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let invocation = function.invoke(payload, meta).await;
    observer.invocation_finished(
        &invocation.report,
        invocation.result.as_ref().err(),
        InvocationSource::Invoke,
    );
    let mut builder = with_version(http::Response::builder().status(http::StatusCode::OK))
        .header("x-amzn-requestid", invocation.report.request_id.as_str());
    if tail_log {
        let mut log = String::new();
        invocation
            .report
            .write_log(app.billing.granularity_ms, &mut log);
        let tail_start = log.len().saturating_sub(LOG_TAIL_BYTES);
        let tail_start = (tail_start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        let encoded = base64::engine::general_purpose::STANDARD.encode(&log[tail_start..]);
        builder = builder.header("x-amz-log-result", encoded);
    }
    let body = match invocation.result {
        Ok(output) => output,
        Err(InvokeError::Throttled { reason }) => {
            return Err(LambdaError {
                reason: Some(reason.as_str()),
                ..LambdaError::new(
                    http::StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequestsException",
                    "Rate Exceeded.",
                )
            });
        }
        Err(error) => {
            builder = builder.header("x-amz-function-error", "Unhandled");
            let mut body = json!({
                "errorMessage": error.error_message(),
                "errorType": error.error_type(),
            });
            // What the runtime posted, passed on as Lambda does.
            if let InvokeError::Function { stack_trace, .. } = &error
                && !stack_trace.is_empty()
            {
                body["stackTrace"] = json!(stack_trace);
            }
            Bytes::from(body.to_string())
        }
    };
    Ok(builder
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("headers built from valid values"))
}

/// `GetFunction`: the function's configuration, and where its code is.
fn get_function(
    app: &AppSnapshot,
    function_ref: &str,
    uri: &http::Uri,
) -> Result<http::Response<Bytes>, LambdaError> {
    let function = find_function(app, function_ref, uri)?;
    let mut configuration = function_configuration(function.name(), &function.description());
    // Only GetFunction reports the state fields; ListFunctions leaves them out, as on Lambda.
    configuration.insert("State".to_owned(), json!("Active"));
    configuration.insert("LastUpdateStatus".to_owned(), json!("Successful"));
    // The code is a file on this node: there is no repository and no download link to give.
    let body = json!({
        "Configuration": configuration,
        "Code": { "RepositoryType": "Local" },
    });
    Ok(json_response(&body))
}

/// `ListFunctions`: the app's functions in name order, a page at a time. The marker is the
/// name of the last function of the previous page.
fn list_functions(
    app: &AppSnapshot,
    uri: &http::Uri,
) -> Result<http::Response<Bytes>, LambdaError> {
    let page_items_max = match query_param(uri, "MaxItems") {
        None => LIST_PAGE_ITEMS_MAX,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_ITEMS_MAX).contains(&n) => n.min(LIST_PAGE_ITEMS_MAX),
            _ => {
                return Err(LambdaError::new(
                    http::StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    format!(
                        "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must be a number in 1..={MAX_ITEMS_MAX}"
                    ),
                ));
            }
        },
    };
    let marker = query_param(uri, "Marker");
    let mut names: Vec<&String> = app
        .functions
        .keys()
        .filter(|name| marker.as_ref().is_none_or(|marker| *name > marker))
        .collect();
    names.sort();
    let has_more = names.len() > page_items_max;
    names.truncate(page_items_max);
    let functions: Vec<Value> = names
        .iter()
        .map(|name| {
            let function = &app.functions[*name];
            Value::Object(function_configuration(name, &function.description()))
        })
        .collect();
    let mut body = json!({ "Functions": functions });
    if has_more && let Some(last) = names.last() {
        body["NextMarker"] = json!(last);
    }
    Ok(json_response(&body))
}

/// Lambda's `FunctionConfiguration` for the app's function `name` (the members ListFunctions
/// returns).
fn function_configuration(name: &str, function: &FunctionDescription<'_>) -> Map<String, Value> {
    let mut configuration = Map::new();
    let mut set = |key: &str, value: Value| {
        configuration.insert(key.to_owned(), value);
    };
    set("FunctionName", json!(name));
    set("FunctionArn", json!(runtime::function_arn(name)));
    set("Runtime", json!(function.runtime));
    set("Handler", json!(function.handler));
    set("Description", json!(""));
    // Lambda counts whole seconds; rondo's millisecond timeouts are rounded up.
    set("Timeout", json!(function.timeout_ms.div_ceil(1000).max(1)));
    set("MemorySize", json!(function.memory_mb));
    set("Version", json!("$LATEST"));
    set("PackageType", json!("Zip"));
    set("Architectures", json!([architecture()]));
    set("TracingConfig", json!({ "Mode": "PassThrough" }));
    if let Some(code) = function.code {
        set("CodeSize", json!(code.size_bytes));
        let sha256 = base64::engine::general_purpose::STANDARD.encode(code.sha256);
        set("CodeSha256", json!(sha256));
    }
    if let Some(loaded_at) = function.loaded_at {
        set("LastModified", json!(lambda_timestamp(loaded_at)));
    }
    if !function.environment.is_empty() {
        let variables: Map<String, Value> = function
            .environment
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        set("Environment", json!({ "Variables": variables }));
    }
    configuration
}

/// Lambda's name for the node's processor architecture (the only values it has).
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x86_64",
    }
}

/// A time as Lambda writes `LastModified`: `2024-05-01T12:34:56.789+0000`.
fn lambda_timestamp(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    time::OffsetDateTime::from(time)
        .format(&format)
        .expect("a UTC time formats")
}

fn json_response(body: &Value) -> http::Response<Bytes> {
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .expect("headers built from valid values")
}

fn with_version(builder: http::response::Builder) -> http::response::Builder {
    // rondo has no published versions yet: every invocation runs `$LATEST`, as Lambda names it.
    builder.header("x-amz-executed-version", "$LATEST")
}

/// Splits `name`, `name:qualifier`, `acct:function:name[:qualifier]` or a full ARN
/// (`arn:aws:lambda:region:acct:function:name[:qualifier]`) into name and qualifier.
fn parse_function_ref(text: &str) -> (&str, Option<String>) {
    let parts: Vec<&str> = text.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => (*name, None),
        ["arn", _, "lambda", _, _, "function", name, qualifier] => (*name, Some(*qualifier)),
        [_, "function", name] => (*name, None),
        [_, "function", name, qualifier] => (*name, Some(*qualifier)),
        [name, qualifier] => (*name, Some(*qualifier)),
        _ => (text, None),
    };
    (name, qualifier.map(str::to_owned))
}

fn query_param(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v).into_owned())
}

/// A Lambda API error: the status, `X-Amzn-ErrorType`, and `{"Type": "User", "message": ...}`;
/// a throttle also carries Lambda's `Reason` and a `Retry-After` header.
#[derive(Debug)]
struct LambdaError {
    status: http::StatusCode,
    error_type: &'static str,
    message: String,
    /// `TooManyRequestsException`'s `Reason`.
    reason: Option<&'static str>,
}

impl LambdaError {
    fn new(
        status: http::StatusCode,
        error_type: &'static str,
        message: impl Into<String>,
    ) -> LambdaError {
        LambdaError {
            status,
            error_type,
            message: message.into(),
            reason: None,
        }
    }

    fn into_response(self) -> http::Response<Bytes> {
        let mut body = json!({ "Type": "User", "message": self.message });
        let mut builder = http::Response::builder()
            .status(self.status)
            .header("x-amzn-errortype", self.error_type)
            .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(reason) = self.reason {
            body["Reason"] = json!(reason);
            builder = builder.header(http::header::RETRY_AFTER, RETRY_AFTER_S);
        }
        builder
            .body(Bytes::from(body.to_string()))
            .expect("headers built from valid values")
    }
}

#[cfg(test)]
mod tests;
