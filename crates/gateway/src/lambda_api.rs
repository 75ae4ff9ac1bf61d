//! The part of the Lambda API rondo answers on its AWS endpoint: `Invoke`
//! (`POST /2015-03-31/functions/{FunctionName}/invocations`), so `aws lambda invoke`,
//! the AWS SDKs and `rondo invoke` can call any function of the app.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use runtime::{InvokeError, InvokeMeta};

use crate::limits::{INVOKE_PAYLOAD_BYTES_MAX, LOG_TAIL_BYTES};
use crate::routes::percent_decode;
use crate::server::Response;
use crate::snapshot::{Observer, SharedSnapshot};

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

/// Whether this request is addressed to the Lambda API (so the AWS endpoint can dispatch on it).
pub fn is_lambda_request<B>(request: &http::Request<B>) -> bool {
    request.uri().path().starts_with(INVOKE_PREFIX)
}

/// Handles one Lambda API request.
pub async fn handle<B>(
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    request: http::Request<B>,
) -> Response
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = request.uri().path();
    let function_ref = path
        .strip_prefix(INVOKE_PREFIX)
        .and_then(|rest| rest.strip_suffix(INVOKE_SUFFIX))
        .map(|name| percent_decode(name).into_owned());
    let Some(function_ref) = function_ref else {
        return crate::http_api::full(lambda_error(
            http::StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "Unknown operation",
        ));
    };
    if request.method() != http::Method::POST {
        return crate::http_api::full(lambda_error(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "Invoke takes POST",
        ));
    }
    let response = invoke(snapshot, observer, &function_ref, request).await;
    crate::http_api::full(response)
}

async fn invoke<B>(
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    function_ref: &str,
    request: http::Request<B>,
) -> http::Response<Bytes>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let app = snapshot.load_full();
    let (name, qualifier) = parse_function_ref(function_ref);
    let qualifier = qualifier.or_else(|| query_param(request.uri(), "Qualifier"));
    let function = app.functions.get(name);
    let Some(function) = function.filter(|_| qualifier.as_deref().is_none_or(|q| q == "$LATEST"))
    else {
        let arn = runtime::function_arn(function_ref);
        return lambda_error(
            http::StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {arn}"),
        );
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let invocation_type =
        header("x-amz-invocation-type").unwrap_or_else(|| "RequestResponse".to_owned());
    let tail_log = header("x-amz-log-type").is_some_and(|t| t == "Tail");
    match invocation_type.as_str() {
        "RequestResponse" | "DryRun" => {}
        "Event" => {
            return lambda_error(
                http::StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                "InvocationType Event (asynchronous invocation) is not supported by this rondo version",
            );
        }
        other => {
            return lambda_error(
                http::StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                ),
            );
        }
    }
    let payload = match Limited::new(request.into_body(), INVOKE_PAYLOAD_BYTES_MAX)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return lambda_error(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &format!(
                    "Request must be smaller than {INVOKE_PAYLOAD_BYTES_MAX} bytes for the InvokeFunction operation"
                ),
            );
        }
        Err(error) => {
            return lambda_error(
                http::StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &format!("could not read request body: {error}"),
            );
        }
    };
    let payload = if payload.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return lambda_error(
            http::StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {error}"),
        );
    }
    if !function.takes_events() {
        return lambda_error(
            http::StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!(
                "function {name} is a wasi:http component: it is invoked through its HTTP routes"
            ),
        );
    }
    if invocation_type == "DryRun" {
        return with_version(http::Response::builder().status(http::StatusCode::NO_CONTENT))
            .body(Bytes::new())
            .expect("a static response is valid");
    }
    let meta = InvokeMeta {
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let invocation = function.invoke(payload, meta).await;
    observer.invocation_finished(&invocation.report, invocation.result.as_ref().err());
    let mut builder = with_version(http::Response::builder().status(http::StatusCode::OK))
        .header("x-amzn-requestid", invocation.report.request_id.as_str());
    if tail_log {
        let mut log = String::new();
        invocation
            .report
            .write_log(app.billing_granularity_ms, &mut log);
        let tail_start = log.len().saturating_sub(LOG_TAIL_BYTES);
        let tail_start = (tail_start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        let encoded = base64::engine::general_purpose::STANDARD.encode(&log[tail_start..]);
        builder = builder.header("x-amz-log-result", encoded);
    }
    let body = match invocation.result {
        Ok(output) => output,
        Err(InvokeError::Throttled { .. }) => {
            return lambda_error(
                http::StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.",
            );
        }
        Err(error) => {
            builder = builder.header("x-amz-function-error", "Unhandled");
            let body = serde_json::json!({
                "errorMessage": error.error_message(),
                "errorType": error.error_type(),
            });
            Bytes::from(body.to_string())
        }
    };
    builder
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
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

/// A Lambda API error: the status, `X-Amzn-ErrorType`, and `{"Type": "User", "message": ...}`.
fn lambda_error(
    status: http::StatusCode,
    error_type: &str,
    message: &str,
) -> http::Response<Bytes> {
    let body = serde_json::json!({ "Type": "User", "message": message });
    http::Response::builder()
        .status(status)
        .header("x-amzn-errortype", error_type)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .expect("headers built from valid values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_references() {
        assert_eq!(parse_function_ref("hello"), ("hello", None));
        assert_eq!(
            parse_function_ref("hello:$LATEST"),
            ("hello", Some("$LATEST".to_owned()))
        );
        assert_eq!(parse_function_ref("123:function:hello"), ("hello", None));
        assert_eq!(
            parse_function_ref("arn:aws:lambda:us-east-1:123:function:hello:prod"),
            ("hello", Some("prod".to_owned()))
        );
    }
}
