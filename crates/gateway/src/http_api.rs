//! The API Gateway HTTP API: a request is matched to a route and handed to its function,
//! as a payload format 2.0 event (handler world) or as the request itself (`wasi:http`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use app::{AppFunction, InvocationSource, Observer, SharedSnapshot};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use runtime::{InvokeError, InvokeMeta};

use crate::body::{BodyBudget, BodyError};
use crate::payload::{self, RequestInfo};
use crate::websocket::{self, Connections};
use crate::{responses, static_files};

/// A boxed error of a response body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The gateway's responses: whole ones, and static files streamed from disk.
pub type GatewayResponse = http::Response<UnsyncBoxBody<Bytes, BoxError>>;

/// Handles one request against the snapshot current when it arrived.
///
/// The WebSocket API's path takes upgrades (whose clients join `connections`, the node's
/// registry); then the routes are matched; a request no route takes may be a static file.
/// A routed request's body is read within `bodies`, the node's budget, before the invocation.
pub async fn handle(
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    connections: &Connections,
    bodies: &BodyBudget,
    request: http::Request<Incoming>,
    peer: SocketAddr,
) -> GatewayResponse {
    // Hold this snapshot for the whole request: a swap in the meantime does not affect it.
    let app = snapshot.load_full();
    if let Some(api) = &app.websocket
        && request.uri().path() == api.path()
    {
        return full(websocket::accept(snapshot, api, observer, connections, request, peer).await);
    }
    let (parts, body) = request.into_parts();
    let Some(found) = app.routes.find(&parts.method, parts.uri.path()) else {
        return match &app.static_files {
            Some(files) if files.serves(&parts.method, parts.uri.path()) => {
                static_files::serve(files, parts).await
            }
            _ => full(responses::not_found()),
        };
    };
    // Held to the end of the request: its bytes count against the node's budget until then.
    let buffered = match bodies.read(body, app.request_body_bytes_max).await {
        Ok(buffered) => buffered,
        Err(error) => return full(body_error_response(&error)),
    };
    let body = buffered.bytes.clone();
    let request_id = uuid::Uuid::new_v4().to_string();
    let function = found.value;
    let meta = InvokeMeta {
        request_id: request_id.clone(),
    };
    let source = InvocationSource::Route(found.route_key);
    let response = if function.takes_requests() {
        let request = http::Request::from_parts(parts, body);
        serve_wasi_http(function, observer, source, request, meta).await
    } else {
        let info = RequestInfo {
            request_id: &request_id,
            route_key: found.route_key,
            path_parameters: &found.path_parameters,
            source_ip: peer.ip(),
            time: SystemTime::now(),
            domain_name: host_of(&parts),
            api_id: "rondo",
            account_id: runtime::ACCOUNT_ID,
        };
        let event = payload::request_event(&parts, &body, &info);
        invoke_handler(function, observer, source, Bytes::from(event), meta).await
    };
    let mut response = full(response);
    if let Ok(value) = http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

async fn invoke_handler(
    function: &AppFunction,
    observer: &Arc<dyn Observer>,
    source: InvocationSource<'_>,
    event: Bytes,
    meta: InvokeMeta,
) -> http::Response<Bytes> {
    let invocation = function.invoke(event, meta).await;
    observer.invocation_finished(&invocation.report, invocation.result.as_ref().err(), source);
    match invocation.result {
        Ok(output) => match payload::response_from_function(&output) {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(
                    function = function.name(),
                    request_id = invocation.report.request_id,
                    "malformed function response: {error}"
                );
                responses::internal_error()
            }
        },
        Err(error) => error_response(&error),
    }
}

async fn serve_wasi_http(
    function: &AppFunction,
    observer: &Arc<dyn Observer>,
    source: InvocationSource<'_>,
    request: http::Request<Bytes>,
    meta: InvokeMeta,
) -> http::Response<Bytes> {
    let invocation = function.serve_http(request, meta).await;
    observer.invocation_finished(&invocation.report, invocation.result.as_ref().err(), source);
    match invocation.result {
        Ok(response) => response,
        Err(error) => error_response(&error),
    }
}

/// The gateway's answer to a failed invocation, as API Gateway gives it.
pub(crate) fn error_response(error: &InvokeError) -> http::Response<Bytes> {
    match error {
        InvokeError::Timeout { .. } => responses::timed_out(),
        InvokeError::Throttled { .. } => responses::too_many_requests(),
        InvokeError::ResponseTooLarge { .. } => responses::bad_gateway(),
        _ => responses::internal_error(),
    }
}

/// API Gateway's answer to a body that could not be read.
fn body_error_response(error: &BodyError) -> http::Response<Bytes> {
    match error {
        BodyError::TooLarge { .. } => responses::payload_too_large(),
        BodyError::TimedOut(_) => responses::request_timeout(),
        BodyError::Busy(_) => responses::too_many_requests(),
        // The client went away or sent a malformed body.
        _ => responses::bad_request(),
    }
}

fn host_of(parts: &http::request::Parts) -> &str {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.host())
        .unwrap_or("localhost")
}

pub(crate) fn full(response: http::Response<Bytes>) -> GatewayResponse {
    response.map(|body| {
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync()
    })
}
