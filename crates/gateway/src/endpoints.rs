//! The two listeners' request handlers: the gateway (the app's routes, its WebSocket API and
//! static files) and the AWS endpoint (the AWS APIs rondo answers: DynamoDB's and DynamoDB
//! Streams' JSON protocol by `X-Amz-Target`, Lambda's Invoke, GetFunction and ListFunctions, and
//! `@connections`, each after its SigV4 check; and rondo's admin API, unsigned, but for the
//! store's backup, which is all data and signed like DynamoDB's API).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::{AsyncQueue, Observer, SharedSnapshot};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tables::{ApiError, ErrorCode, Tables};

use crate::body::{BodyBudget, BodyError};
use crate::http_api::{self, GatewayResponse};
use crate::lambda_api;
use crate::limits::{INVOKE_PAYLOAD_BYTES_MAX, WEBSOCKET_MESSAGE_BYTES_MAX};
use crate::sigv4::{self, AuthPolicy, Service};
use crate::websocket::{Connections, management};

type Response = http::Response<Full<Bytes>>;

/// The `X-Amz-Target` prefix of DynamoDB's operations.
const DYNAMODB_TARGET_PREFIX: &str = "DynamoDB_20120810.";
/// The `X-Amz-Target` prefix of DynamoDB Streams' operations (same endpoint, separate client).
const STREAMS_TARGET_PREFIX: &str = "DynamoDBStreams_20120810.";
const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// The services behind the AWS endpoint, besides the app's functions, and who may call them.
#[derive(Clone)]
pub struct AwsServices {
    pub tables: Tables,
    pub auth: AuthPolicy,
    /// Takes Lambda's asynchronous invocations (`InvocationType: Event`); `None` refuses them.
    pub async_queue: Option<Arc<dyn AsyncQueue>>,
    /// The admin API's sources; `None` answers it with 404.
    pub admin: Option<Admin>,
    /// The WebSocket connections `@connections` reaches; `None` answers it with 410 `GoneException`.
    pub connections: Option<Connections>,
    /// The node's budget of buffered request bodies, shared with the gateway.
    pub bodies: BodyBudget,
}

/// What the admin API reports from: the metering ledger and the node's metrics.
#[derive(Clone)]
pub struct Admin {
    pub ledger: metering::Ledger,
    pub metrics: Arc<metering::Metrics>,
    /// Every trigger's iterator age per shard, `(trigger, shard, age)`, read at each scrape.
    pub iterator_ages: Arc<dyn Fn() -> Vec<(String, String, Duration)> + Send + Sync>,
}

/// The AWS endpoint's responses: most are whole, a cost report with progress is streamed.
pub type AwsResponse = http::Response<metering::admin::AdminBody>;

/// The gateway: every request goes to the app's routes (WebSocket clients join `connections`;
/// bodies are read within `bodies`, the node's budget).
pub async fn gateway_endpoint(
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    connections: Connections,
    bodies: BodyBudget,
    request: http::Request<Incoming>,
    peer: SocketAddr,
) -> GatewayResponse {
    http_api::handle(&snapshot, &observer, &connections, &bodies, request, peer).await
}

/// The AWS endpoint: dispatches on the request's shape to the API it belongs to.
pub async fn aws_endpoint(
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    services: Arc<AwsServices>,
    request: http::Request<Incoming>,
) -> AwsResponse {
    if request.method() == http::Method::GET {
        let path = request.uri().path();
        if path == metering::admin::METRICS_PATH || path == metering::admin::COST_PATH {
            return admin(&snapshot, services.admin.as_ref(), &request).await;
        }
        if path == metering::backup::BACKUP_PATH {
            return backup(&services, request);
        }
    }
    aws_api(snapshot, observer, services, request)
        .await
        .map(BodyExt::boxed)
}

/// rondo's admin API: the node's metrics (Prometheus) and its cost report.
async fn admin(
    snapshot: &SharedSnapshot,
    admin: Option<&Admin>,
    request: &http::Request<Incoming>,
) -> AwsResponse {
    let Some(admin) = admin else {
        return json_response(
            http::StatusCode::NOT_FOUND,
            r#"{"message":"this node keeps no metering"}"#.to_owned(),
        )
        .map(BodyExt::boxed);
    };
    let app = snapshot.load();
    if request.uri().path() == metering::admin::METRICS_PATH {
        for (name, function) in &app.functions {
            admin
                .metrics
                .set_concurrency(name, function.pool().in_flight());
        }
        let ages = (admin.iterator_ages)();
        admin.metrics.set_iterator_ages(
            ages.iter()
                .map(|(trigger, shard, age)| (trigger.as_str(), shard.as_str(), *age)),
        );
        return metering::admin::handle_metrics(&admin.metrics);
    }
    let prices = metering::PriceTable::from_nano_usd(
        app.billing.price_per_gb_second_nano_usd,
        app.billing.price_per_request_nano_usd,
    );
    metering::admin::handle_cost(&admin.ledger, &prices, request.uri().query()).await
}

/// The store's backup: all data, so signed like DynamoDB's API and refused in its shape.
fn backup(services: &AwsServices, request: http::Request<Incoming>) -> AwsResponse {
    let (parts, _body) = request.into_parts();
    if let Err(refused) = sigv4::verify(
        &services.auth,
        Service::DynamoDb,
        &parts,
        b"",
        SystemTime::now(),
    ) {
        return dynamodb_auth_error(&refused).map(BodyExt::boxed);
    }
    metering::backup::handle(services.tables.store())
}

/// The AWS APIs proper: Lambda's and `@connections` (by path) and the JSON APIs (by `X-Amz-Target`).
async fn aws_api(
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    services: Arc<AwsServices>,
    request: http::Request<Incoming>,
) -> Response {
    if let Some(connection_id) = management::connection_id(request.uri().path()) {
        return connections_api(&services, &connection_id, request)
            .await
            .map(Full::new);
    }
    if lambda_api::is_lambda_request(&request) {
        let async_queue = services.async_queue.as_deref();
        let (parts, body) = request.into_parts();
        let limit = INVOKE_PAYLOAD_BYTES_MAX;
        // Held to the end of the request: its bytes count against the node's budget until then.
        let buffered = match services.bodies.read(body, limit).await {
            Ok(buffered) => buffered,
            Err(error) => return lambda_body_error(&error),
        };
        if let Err(refused) = sigv4::verify(
            &services.auth,
            Service::Lambda,
            &parts,
            &buffered.bytes,
            SystemTime::now(),
        ) {
            return lambda_error(refused.status, refused.code, &refused.message);
        }
        let request = http::Request::from_parts(parts, Full::new(buffered.bytes.clone()));
        return lambda_api::handle(&snapshot, &observer, async_queue, request).await;
    }
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let api = target.as_deref().and_then(|t| {
        t.strip_prefix(DYNAMODB_TARGET_PREFIX)
            .map(|op| (JsonApi::DynamoDb, op.to_owned()))
            .or_else(|| {
                t.strip_prefix(STREAMS_TARGET_PREFIX)
                    .map(|op| (JsonApi::Streams, op.to_owned()))
            })
    });
    match api {
        Some((api, operation)) => dynamodb(&services, api, &operation, request).await,
        None => json_error(&ApiError::new(
            ErrorCode::UnknownOperation,
            match target {
                Some(target) => format!("Unknown operation: {target}"),
                None => "No X-Amz-Target header and no Lambda API path: rondo cannot tell which operation this is".to_owned(),
            },
        )),
    }
}

/// One `@connections` request: read the body (bounded by the message limit), check the
/// signature (as `execute-api`), then post, get or delete.
async fn connections_api(
    services: &AwsServices,
    connection_id: &str,
    request: http::Request<Incoming>,
) -> http::Response<Bytes> {
    let (parts, body) = request.into_parts();
    let limit = WEBSOCKET_MESSAGE_BYTES_MAX;
    let body = match services.bodies.read(body, limit).await {
        Ok(buffered) => buffered.bytes,
        Err(BodyError::TooLarge { .. }) => return management::payload_too_large(limit + 1),
        Err(error @ BodyError::TimedOut(_)) => {
            let message = error.to_string();
            return management::error(
                http::StatusCode::REQUEST_TIMEOUT,
                "RequestTimeoutException",
                &message,
            );
        }
        Err(error @ BodyError::Busy(_)) => {
            let message = error.to_string();
            return management::error(
                http::StatusCode::TOO_MANY_REQUESTS,
                "LimitExceededException",
                &message,
            );
        }
        Err(error) => {
            return management::error(
                http::StatusCode::BAD_REQUEST,
                "BadRequestException",
                &error.to_string(),
            );
        }
    };
    if let Err(refused) = sigv4::verify(
        &services.auth,
        Service::ExecuteApi,
        &parts,
        &body,
        SystemTime::now(),
    ) {
        return management::error(refused.status, refused.code, &refused.message);
    }
    match &services.connections {
        Some(connections) => management::handle(connections, &parts.method, connection_id, body),
        None => {
            management::connection_error(&runtime::ConnectionError::Gone(connection_id.to_owned()))
        }
    }
}

/// The two JSON APIs of the tables: DynamoDB's and DynamoDB Streams'.
#[derive(Clone, Copy)]
enum JsonApi {
    DynamoDb,
    Streams,
}

/// One DynamoDB or DynamoDB Streams request: read the body (bounded), check the signature, run
/// the operation, answer in awsJson1_0.
async fn dynamodb(
    services: &AwsServices,
    api: JsonApi,
    operation: &str,
    request: http::Request<Incoming>,
) -> Response {
    let (parts, body) = request.into_parts();
    // Held to the end of the request: its bytes count against the node's budget until then.
    let buffered = match services
        .bodies
        .read(body, tables::limits::REQUEST_BYTES_MAX)
        .await
    {
        Ok(buffered) => buffered,
        Err(error) => return dynamodb_body_error(&error),
    };
    let body = &buffered.bytes;
    if let Err(refused) = sigv4::verify(
        &services.auth,
        Service::DynamoDb,
        &parts,
        body,
        SystemTime::now(),
    ) {
        return dynamodb_auth_error(&refused);
    }
    let answer = match api {
        JsonApi::DynamoDb => services.tables.handle(operation, body).await,
        JsonApi::Streams => services.tables.handle_streams(operation, body).await,
    };
    match answer {
        Ok(answer) => json_response(http::StatusCode::OK, answer.to_string()),
        Err(error) => json_error(&error),
    }
}

/// DynamoDB's answer to a request whose signature was refused.
fn dynamodb_auth_error(refused: &sigv4::AuthError) -> Response {
    let body = serde_json::json!({
        "__type": format!("com.amazon.coral.service#{}", refused.code),
        "message": refused.message,
    });
    json_response(refused.status, body.to_string())
}

/// DynamoDB's answer to a body that could not be read: the JSON protocol's error shape, with the
/// type SDKs retry for a throttle (`ThrottlingException`) when the node's budget is full.
fn dynamodb_body_error(error: &BodyError) -> Response {
    let (status, type_name) = match error {
        BodyError::TooLarge { .. } => {
            return json_error(&ApiError::validation(format!(
                "Request size exceeded {} bytes",
                tables::limits::REQUEST_BYTES_MAX
            )));
        }
        BodyError::TimedOut(_) => (
            http::StatusCode::REQUEST_TIMEOUT,
            "com.amazon.coral.service#RequestTimeoutException",
        ),
        BodyError::Busy(_) => (
            http::StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        ),
        _ => {
            return json_error(&ApiError::serialization(error.to_string()));
        }
    };
    let body = serde_json::json!({ "__type": type_name, "message": error.to_string() });
    json_response(status, body.to_string())
}

/// Lambda's answer to a body that could not be read.
fn lambda_body_error(error: &BodyError) -> Response {
    let message = error.to_string();
    match error {
        BodyError::TooLarge { limit } => lambda_error(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            &format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        ),
        BodyError::TimedOut(_) => lambda_error(
            http::StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            &message,
        ),
        BodyError::Busy(_) => lambda_error(
            http::StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            &message,
        ),
        _ => lambda_error(
            http::StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &message,
        ),
    }
}

fn json_error(error: &ApiError) -> Response {
    let status = http::StatusCode::from_u16(error.code.status())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, error.body().to_string())
}

fn json_response(status: http::StatusCode, body: String) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, AMZ_JSON)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(body)))
        .expect("a response of static parts is valid")
}

/// A Lambda API error read before the Lambda API itself sees the request: the status,
/// `X-Amzn-ErrorType` and a JSON message.
fn lambda_error(status: http::StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "Type": "User", "message": message });
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-amzn-errortype", code)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response of static parts is valid")
}
