//! API Gateway's management API (`apigatewaymanagementapi`, REST-JSON, signed as `execute-api`):
//! `PostToConnection`, `GetConnection` and `DeleteConnection` on `/@connections/{connectionId}`.
//!
//! The AWS endpoint serves it; on AWS the endpoint is `https://{api-id}.execute-api.{region}.
//! amazonaws.com/{stage}`, so a path may carry a stage segment first (`/local/@connections/…`).

use app::routes::percent_decode;
use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use runtime::{ConnectionError, ConnectionService};
use serde_json::json;

use super::registry::Connections;
use crate::limits::WEBSOCKET_MESSAGE_BYTES_MAX;

const PATH_MARKER: &str = "/@connections/";

/// The connection id a management API path names, decoded (`L0SM9cOFvHcCIhw%3D` →
/// `L0SM9cOFvHcCIhw=`); `None` when the path is not the management API's.
pub fn connection_id(path: &str) -> Option<String> {
    let start = path.find(PATH_MARKER)?;
    let (stage, rest) = path.split_at(start);
    // Nothing, or one stage segment, before the marker.
    let stage_ok = stage.is_empty() || (stage.starts_with('/') && !stage[1..].contains('/'));
    let raw_id = &rest[PATH_MARKER.len()..];
    if !stage_ok || raw_id.is_empty() || raw_id.contains('/') {
        return None;
    }
    Some(percent_decode(raw_id).into_owned())
}

/// Whether a request is for the management API.
pub fn is_management_request<B>(request: &http::Request<B>) -> bool {
    connection_id(request.uri().path()).is_some()
}

/// Answers one management API request whose body has been read (posting at most
/// [`WEBSOCKET_MESSAGE_BYTES_MAX`] bytes; the caller reads one byte more to tell).
pub fn handle(
    connections: &Connections,
    method: &Method,
    connection_id: &str,
    body: Bytes,
) -> Response<Bytes> {
    let answer = match *method {
        Method::POST => connections
            .post(connection_id, body)
            .map(|()| empty(StatusCode::OK)),
        Method::GET => connections.get(connection_id).map(|info| {
            let body = json!({
                "connectedAt": iso8601(info.connected_at),
                "identity": { "sourceIp": info.source_ip, "userAgent": info.user_agent },
                "lastActiveAt": iso8601(info.last_active_at),
            });
            json_response(StatusCode::OK, None, body.to_string())
        }),
        Method::DELETE => connections
            .delete(connection_id)
            .map(|()| empty(StatusCode::NO_CONTENT)),
        _ => {
            return error(
                StatusCode::FORBIDDEN,
                "ForbiddenException",
                &format!("{method} is not an operation of /@connections/{{connectionId}}"),
            );
        }
    };
    answer.unwrap_or_else(|refused| connection_error(&refused))
}

/// The management API's answer to a refused call.
pub fn connection_error(refused: &ConnectionError) -> Response<Bytes> {
    let status = match refused {
        ConnectionError::Gone(_) => StatusCode::GONE,
        ConnectionError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ConnectionError::LimitExceeded(_) => StatusCode::TOO_MANY_REQUESTS,
        ConnectionError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    // The error's text leads with its code, which `x-amzn-ErrorType` already carries.
    let text = refused.to_string();
    let message = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, message)| message);
    error(status, refused.code(), message)
}

/// A request body over the message limit.
pub fn payload_too_large(size_at_least: usize) -> Response<Bytes> {
    connection_error(&ConnectionError::PayloadTooLarge {
        size: size_at_least,
        limit: WEBSOCKET_MESSAGE_BYTES_MAX,
    })
}

/// An error in REST-JSON's shape: the status, `x-amzn-ErrorType` and `{"message": …}`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json_response(
        status,
        Some(code),
        json!({ "message": message }).to_string(),
    )
}

fn json_response(status: StatusCode, error_type: Option<&str>, body: String) -> Response<Bytes> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    if let Some(code) = error_type {
        builder = builder.header("x-amzn-errortype", code);
    }
    builder
        .body(Bytes::from(body))
        .expect("a response of valid parts is valid")
}

fn empty(status: StatusCode) -> Response<Bytes> {
    json_response(status, None, String::new())
}

/// `2026-11-27T18:34:19.236Z`, as the management API writes times.
fn iso8601(time: std::time::SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(time)
        .format(format)
        .expect("a utc time with a four-digit year always formats")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn paths_name_a_decoded_connection_with_or_without_a_stage() {
        let id = Some("L0SM9cOFvHcCIhw=".to_owned());
        assert_eq!(connection_id("/@connections/L0SM9cOFvHcCIhw%3D"), id);
        assert_eq!(connection_id("/local/@connections/L0SM9cOFvHcCIhw="), id);
        assert_eq!(connection_id("/a/b/@connections/x"), None);
        assert_eq!(connection_id("/@connections/"), None);
        assert_eq!(connection_id("/@connections/x/y"), None);
        assert_eq!(connection_id("/2015-03-31/functions/f/invocations"), None);
    }

    #[test]
    fn the_three_operations_and_gone() {
        let connections = Connections::new();
        let _open = connections.register(
            "c=",
            SystemTime::now(),
            "10.0.0.1".to_owned(),
            "ua".to_owned(),
        );
        let posted = handle(&connections, &Method::POST, "c=", Bytes::from_static(b"hi"));
        assert_eq!(posted.status(), StatusCode::OK);
        let got = handle(&connections, &Method::GET, "c=", Bytes::new());
        assert_eq!(got.status(), StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(got.body()).unwrap();
        assert_eq!(body["identity"]["sourceIp"], "10.0.0.1");
        assert!(
            body["connectedAt"].as_str().unwrap().ends_with('Z'),
            "{body}"
        );
        let deleted = handle(&connections, &Method::DELETE, "c=", Bytes::new());
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = handle(&connections, &Method::POST, "c=", Bytes::from_static(b"hi"));
        assert_eq!(gone.status(), StatusCode::GONE);
        assert_eq!(gone.headers()["x-amzn-errortype"], "GoneException");
        let body: serde_json::Value = serde_json::from_slice(gone.body()).unwrap();
        assert_eq!(body["message"], "the connection c= is gone");
    }

    /// Issue 13, defect 5: a post past the outbox's byte bound answers 429
    /// `LimitExceededException`, though far fewer messages than the count bound wait.
    #[test]
    fn issue_13_posting_past_the_byte_bound_answers_429_limit_exceeded() {
        let mut limits = crate::websocket::WebSocketLimits::production();
        limits.outbox_bytes_max = WEBSOCKET_MESSAGE_BYTES_MAX;
        let connections = Connections::with_limits(limits);
        let _open = connections.register("c=", SystemTime::now(), "ip".to_owned(), "ua".to_owned());
        let message = Bytes::from(vec![b'x'; WEBSOCKET_MESSAGE_BYTES_MAX]);
        let posted = handle(&connections, &Method::POST, "c=", message.clone());
        assert_eq!(posted.status(), StatusCode::OK);
        let refused = handle(&connections, &Method::POST, "c=", message);
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            refused.headers()["x-amzn-errortype"],
            "LimitExceededException"
        );
    }

    #[test]
    fn times_are_iso8601_with_milliseconds() {
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_588_277_433_236);
        assert_eq!(iso8601(time), "2020-04-30T20:10:33.236Z");
    }
}
