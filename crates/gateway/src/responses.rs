//! The gateway's own answers, written as API Gateway HTTP APIs write them: a small JSON body
//! `{"message":"..."}` with `content-type: application/json`.
//!
//! Clients and SDKs written against AWS match on these exact status codes and bodies, so the text
//! is copied, not paraphrased. None of them says why a request failed; the reason goes to the log.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

/// No route matched and the app has no `$default` route.
///
/// AWS: "If no routes match a request, API Gateway returns `{"message":"Not Found"}`" (404).
pub fn not_found() -> Response<Bytes> {
    message(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#)
}

/// The request could not be read (a malformed body, or the client went away mid-request).
///
/// API Gateway's answer to a request it cannot parse.
pub fn bad_request() -> Response<Bytes> {
    message(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#)
}

/// The request body is over the payload limit.
///
/// AWS answers an oversized request with 413 and this body rather than invoking the function.
pub fn payload_too_large() -> Response<Bytes> {
    message(
        StatusCode::PAYLOAD_TOO_LARGE,
        r#"{"message":"Request Entity Too Large"}"#,
    )
}

/// The function failed: it trapped, returned a function error, or returned output that is not a
/// valid format 2.0 response (`payload::PayloadError`).
///
/// AWS HTTP APIs answer every one of these with this exact 500.
pub fn internal_error() -> Response<Bytes> {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"message":"Internal Server Error"}"#,
    )
}

/// The function answered, but its response cannot be delivered (it is over the response limit).
///
/// The status follows rondo's spec (502: the upstream's answer was unusable, as Lambda reports an
/// oversized result). The body is AWS's integration-failure text, because HTTP APIs never send a
/// `Bad Gateway` message and clients already handle this one.
pub fn bad_gateway() -> Response<Bytes> {
    message(
        StatusCode::BAD_GATEWAY,
        r#"{"message":"Internal Server Error"}"#,
    )
}

/// The function ran past its `timeout_ms`.
///
/// 504 `{"message":"Endpoint request timed out"}`, API Gateway's gateway-timeout response.
/// An HTTP API answers 503 when its own 30 s integration timeout passes first; rondo's timeout is
/// the function's, and a distinct 504 tells a client that the function, not the platform, was
/// too slow (docs/design/001-foundation.md).
pub fn timed_out() -> Response<Bytes> {
    message(
        StatusCode::GATEWAY_TIMEOUT,
        r#"{"message":"Endpoint request timed out"}"#,
    )
}

/// 408 `{"message":"Request Timeout"}`: the request's body did not arrive within the edge's
/// deadline (`REQUEST_BODY_READ_MS_MAX`). The connection closes after it, the rest of the body
/// unread.
pub fn request_timeout() -> Response<Bytes> {
    message(
        StatusCode::REQUEST_TIMEOUT,
        r#"{"message":"Request Timeout"}"#,
    )
}

/// The request was throttled (a function's concurrency limit, the gateway's rate limit, or the
/// node's budget of buffered request bodies).
///
/// AWS's throttling answer, 429 with this body, which SDK retry logic recognises.
pub fn too_many_requests() -> Response<Bytes> {
    message(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"message":"Too Many Requests"}"#,
    )
}

/// A request to the WebSocket API's path that is not a WebSocket upgrade (version 13).
pub fn upgrade_required() -> Response<Bytes> {
    message(
        StatusCode::UPGRADE_REQUIRED,
        r#"{"message":"Upgrade Required"}"#,
    )
}

fn message(status: StatusCode, body: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(body.as_bytes()));
    *response.status_mut() = status;
    let json = HeaderValue::from_static("application/json");
    response.headers_mut().insert(header::CONTENT_TYPE, json);
    response
}
