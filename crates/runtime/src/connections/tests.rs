//! The `connections` import end to end inside the runtime: the `test_handler` guest calls a fake
//! [`ConnectionService`] through the import, by way of the SDK.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Value, json};

use super::{ConnectionError, ConnectionInfo, ConnectionService};
use crate::{Function, FunctionConfig, InvokeMeta, Runtime, RuntimeConfig, Tier, limits};

/// A connection service that records every call and answers each the same way.
struct FakeConnections {
    /// `None`: every call succeeds (`get` answers [`info`]).
    error: Option<ConnectionError>,
    calls: Mutex<Vec<Call>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Post(String, Bytes),
    Get(String),
    Delete(String),
}

impl FakeConnections {
    fn answer<T>(&self, call: Call, success: T) -> Result<T, ConnectionError> {
        self.calls
            .lock()
            .expect("no test thread panicked while holding the lock")
            .push(call);
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(success),
        }
    }
}

impl ConnectionService for FakeConnections {
    fn post(&self, connection_id: &str, data: Bytes) -> Result<(), ConnectionError> {
        self.answer(Call::Post(connection_id.to_owned(), data), ())
    }

    fn get(&self, connection_id: &str) -> Result<ConnectionInfo, ConnectionError> {
        self.answer(Call::Get(connection_id.to_owned()), info())
    }

    fn delete(&self, connection_id: &str) -> Result<(), ConnectionError> {
        self.answer(Call::Delete(connection_id.to_owned()), ())
    }
}

/// What the fake answers to `get`.
fn info() -> ConnectionInfo {
    ConnectionInfo {
        connected_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_773_480_413_512),
        last_active_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_773_480_428_091),
        source_ip: "203.0.113.7".to_owned(),
        user_agent: "curl/8.5.0".to_owned(),
    }
}

fn load(connections: Option<Arc<FakeConnections>>) -> Function {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: None,
        connections: connections.map(|connections| connections as Arc<dyn ConnectionService>),
    })
    .expect("the runtime starts");
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-programs/wasm/test_handler.wasm");
    let wasm = std::fs::read(&path).expect("the test guests are committed");
    let config = FunctionConfig {
        name: "connections-test".to_owned(),
        memory_mb: 256,
        timeout_ms: 10_000,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };
    runtime
        .load(&config, &wasm, Tier::Baseline)
        .expect("the guest loads")
}

/// Invokes the `test_handler` guest on `event` against a service answering `error` (or
/// succeeding), or against none, and checks the calls the service saw and the guest's answer.
async fn check(
    service: Option<Option<ConnectionError>>,
    event: Value,
    expect_calls: &[Call],
    expect: Value,
) {
    let connections = service.map(|error| {
        Arc::new(FakeConnections {
            error,
            calls: Mutex::default(),
        })
    });
    let function = load(connections.clone());
    let meta = InvokeMeta {
        request_id: "connections-test".to_owned(),
    };
    let invocation = function.invoke(event.to_string().as_bytes(), meta).await;
    let output = invocation.result.expect("the guest answers");
    let answer: Value = serde_json::from_slice(&output).expect("the guest answers JSON");
    let calls = connections.map_or_else(Vec::new, |connections| {
        connections
            .calls
            .lock()
            .expect("no test thread panicked while holding the lock")
            .clone()
    });
    assert_eq!(calls, expect_calls);
    assert_eq!(answer, expect);
}

fn guest_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn post(connection_id: &str, data: impl Into<Bytes>) -> Call {
    Call::Post(connection_id.to_owned(), data.into())
}

#[tokio::test]
async fn a_post_reaches_the_service_with_its_bytes() {
    check(
        Some(None),
        json!({"action": "push", "connectionId": "Q1x9HdtNoAMCJ2w=", "data": "hello ☕"}),
        &[post("Q1x9HdtNoAMCJ2w=", "hello ☕")],
        json!({"pushed": true}),
    )
    .await;
}

#[tokio::test]
async fn post_json_sends_the_json_text() {
    check(
        Some(None),
        json!({"action": "push", "connectionId": "c1", "json": {"count": 2}}),
        &[post("c1", r#"{"count":2}"#)],
        json!({"pushed": true}),
    )
    .await;
}

#[tokio::test]
async fn a_websocket_event_pushes_to_its_sender() {
    check(
        Some(None),
        json!({
            "action": "push", "data": "echo",
            "requestContext": {"eventType": "MESSAGE", "connectionId": "sender="},
        }),
        &[post("sender=", "echo")],
        json!({"pushed": true}),
    )
    .await;
}

#[tokio::test]
async fn gone_reaches_the_guest_as_its_variant() {
    check(
        Some(Some(ConnectionError::Gone("c1".to_owned()))),
        json!({"action": "push", "connectionId": "c1", "data": "hi"}),
        &[post("c1", "hi")],
        guest_error("GoneException", "the connection is closed or never existed"),
    )
    .await;
}

#[tokio::test]
async fn a_full_queue_reaches_the_guest_as_limit_exceeded() {
    check(
        Some(Some(ConnectionError::LimitExceeded(
            "c1 has 64 messages queued".to_owned(),
        ))),
        json!({"action": "push", "connectionId": "c1", "data": "hi"}),
        &[post("c1", "hi")],
        guest_error(
            "LimitExceededException",
            "the client is not reading and its queue of messages is full",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_failing_service_reaches_the_guest_as_unavailable_with_its_reason() {
    check(
        Some(Some(ConnectionError::Unavailable(
            "the WebSocket API is shutting down".to_owned(),
        ))),
        json!({"action": "disconnect", "connectionId": "c1"}),
        &[Call::Delete("c1".to_owned())],
        guest_error(
            "ServiceUnavailableException",
            "the WebSocket API is shutting down",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_message_at_the_limit_reaches_the_service() {
    let data = vec![b'x'; limits::CONNECTIONS_MESSAGE_BYTES_MAX];
    check(
        Some(None),
        json!({"action": "push", "connectionId": "c1", "bytes": limits::CONNECTIONS_MESSAGE_BYTES_MAX}),
        &[post("c1", data)],
        json!({"pushed": true}),
    )
    .await;
}

#[tokio::test]
async fn a_message_over_the_limit_never_reaches_the_service() {
    check(
        Some(None),
        json!({"action": "push", "connectionId": "c1", "bytes": limits::CONNECTIONS_MESSAGE_BYTES_MAX + 1}),
        &[],
        guest_error("PayloadTooLargeException", "the message is larger than 128 KiB"),
    )
    .await;
}

#[tokio::test]
async fn an_id_longer_than_any_connection_s_is_gone_without_asking() {
    let connection_id = "c".repeat(limits::CONNECTION_ID_BYTES_MAX + 1);
    check(
        Some(None),
        json!({"action": "connection", "connectionId": connection_id}),
        &[],
        guest_error("GoneException", "the connection is closed or never existed"),
    )
    .await;
}

#[tokio::test]
async fn get_answers_the_connection_s_times_in_unix_milliseconds() {
    check(
        Some(None),
        json!({"action": "connection", "connectionId": "c1"}),
        &[Call::Get("c1".to_owned())],
        json!({"connection": {
            "connectedAtMs": 1_773_480_413_512_u64,
            "lastActiveAtMs": 1_773_480_428_091_u64,
            "sourceIp": "203.0.113.7",
            "userAgent": "curl/8.5.0",
        }}),
    )
    .await;
}

#[tokio::test]
async fn delete_reaches_the_service() {
    check(
        Some(None),
        json!({"action": "disconnect", "connectionId": "c1"}),
        &[Call::Delete("c1".to_owned())],
        json!({"disconnected": true}),
    )
    .await;
}

#[tokio::test]
async fn without_a_service_every_call_is_unavailable() {
    for event in [
        json!({"action": "push", "connectionId": "c1", "data": "hi"}),
        json!({"action": "connection", "connectionId": "c1"}),
        json!({"action": "disconnect", "connectionId": "c1"}),
    ] {
        check(
            None,
            event,
            &[],
            guest_error(
                "ServiceUnavailableException",
                "no WebSocket API on this node",
            ),
        )
        .await;
    }
}
