//! The two listeners' request handlers: the gateway (the app's routes) and the AWS endpoint
//! (the AWS APIs rondo answers; today Lambda's Invoke).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gateway::{Observer, SharedSnapshot};
use http_body_util::Full;
use hyper::body::Incoming;

type Response = http::Response<Full<Bytes>>;

/// The gateway: every request goes to the app's routes.
pub async fn gateway_endpoint(
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    request: http::Request<Incoming>,
    peer: SocketAddr,
) -> Response {
    gateway::http_api::handle(&snapshot, &observer, request, peer).await
}

/// The AWS endpoint: dispatches on the request's shape to the AWS API it belongs to.
pub async fn aws_endpoint(
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    request: http::Request<Incoming>,
) -> Response {
    if gateway::lambda_api::is_lambda_request(&request) {
        return gateway::lambda_api::handle(&snapshot, &observer, request).await;
    }
    let body = serde_json::json!({
        "__type": "com.amazon.coral.service#UnknownOperationException",
        "message": "this rondo version answers the Lambda Invoke API only",
    });
    http::Response::builder()
        .status(http::StatusCode::BAD_REQUEST)
        .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a static response is valid")
}
