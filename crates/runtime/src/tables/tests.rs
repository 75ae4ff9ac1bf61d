//! The `tables` import end to end inside the runtime: the `test_tables` guest calls a fake
//! [`TableService`] through the import.

use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};

use super::{ServiceError, TableService};
use crate::{
    Function, FunctionConfig, InvokeError, InvokeMeta, Runtime, RuntimeConfig, Tier, limits,
};

/// A table service that records every call and answers each the same way.
struct FakeTables {
    answer: Answer,
    calls: Mutex<Vec<(String, Value)>>,
}

enum Answer {
    Json(Value),
    Error(ServiceError),
    Bytes(Bytes),
    /// Never answers; sets the flag when the runtime drops the pending call.
    Never {
        dropped: Arc<AtomicBool>,
    },
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl TableService for FakeTables {
    fn call(
        &self,
        operation: &str,
        request: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, ServiceError>> + Send + 'static>> {
        let request = serde_json::from_slice(&request).expect("the guest sends JSON");
        self.calls
            .lock()
            .expect("no test thread panicked while holding the lock")
            .push((operation.to_owned(), request));
        match &self.answer {
            Answer::Json(value) => {
                let response = Ok(Bytes::from(value.to_string()));
                Box::pin(async move { response })
            }
            Answer::Error(error) => {
                let error = Err(error.clone());
                Box::pin(async move { error })
            }
            Answer::Bytes(bytes) => {
                let response = Ok(bytes.clone());
                Box::pin(async move { response })
            }
            Answer::Never { dropped } => {
                let flag = DropFlag(Arc::clone(dropped));
                Box::pin(async move {
                    let _flag = flag;
                    std::future::pending().await
                })
            }
        }
    }
}

fn load(wasm_name: &str, tables: Option<Arc<FakeTables>>, timeout_ms: u32) -> Function {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: tables.map(|tables| tables as Arc<dyn TableService>),
        connections: None,
    })
    .expect("the runtime starts");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-programs/wasm")
        .join(wasm_name);
    let wasm = std::fs::read(&path).expect("the test guests are committed");
    let config = FunctionConfig {
        name: "tables-test".to_owned(),
        memory_mb: 256,
        timeout_ms,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };
    runtime
        .load(&config, &wasm, Tier::Baseline)
        .expect("the guest loads")
}

async fn invoke(function: &Function, event: &Value) -> Result<Value, InvokeError> {
    let meta = InvokeMeta {
        request_id: "tables-test".to_owned(),
    };
    let invocation = function.invoke(event.to_string().as_bytes(), meta).await;
    invocation
        .result
        .map(|output| serde_json::from_slice(&output).expect("the guest answers JSON"))
}

/// Invokes the `test_tables` guest on `event` against a service answering `answer` (or none),
/// and checks the calls the service saw and the guest's answer.
async fn check(
    answer: Option<Answer>,
    event: Value,
    expect_calls: &[(&str, Value)],
    expect: Result<Value, InvokeError>,
) {
    let tables = answer.map(|answer| {
        Arc::new(FakeTables {
            answer,
            calls: Mutex::default(),
        })
    });
    let function = load("test_tables.wasm", tables.clone(), 10_000);
    let result = invoke(&function, &event).await;
    let calls = tables.map_or_else(Vec::new, |tables| {
        tables
            .calls
            .lock()
            .expect("no test thread panicked while holding the lock")
            .clone()
    });
    let expect_calls: Vec<(String, Value)> = expect_calls
        .iter()
        .map(|(operation, request)| ((*operation).to_owned(), request.clone()))
        .collect();
    assert_eq!(calls, expect_calls);
    assert_eq!(result, expect);
}

fn table_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

#[tokio::test]
async fn a_raw_call_reaches_the_service_and_its_response_the_guest() {
    check(
        Some(Answer::Json(json!({"Count": 0, "Items": []}))),
        json!({"action": "raw", "operation": "Scan", "request": {"TableName": "carts"}}),
        &[("Scan", json!({"TableName": "carts"}))],
        Ok(json!({"response": {"Count": 0, "Items": []}})),
    )
    .await;
}

#[tokio::test]
async fn the_typed_client_sends_dynamodb_requests() {
    check(
        Some(Answer::Json(
            json!({"Attributes": {"pk": {"S": "a"}, "n": {"N": "2"}}}),
        )),
        json!({"action": "update", "table": "carts", "key": {"pk": "a"}, "counter": "n", "by": 2}),
        &[(
            "UpdateItem",
            json!({
                "TableName": "carts",
                "Key": {"pk": {"S": "a"}},
                "UpdateExpression": "ADD #counter :by",
                "ExpressionAttributeNames": {"#counter": "n"},
                "ExpressionAttributeValues": {":by": {"N": "2"}},
                "ReturnValues": "ALL_NEW",
            }),
        )],
        Ok(json!({"attributes": {"pk": {"S": "a"}, "n": {"N": "2"}}})),
    )
    .await;
}

#[tokio::test]
async fn a_service_error_reaches_the_guest_as_code_and_message() {
    check(
        Some(Answer::Error(ServiceError::new(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        ))),
        json!({
            "action": "put", "table": "carts", "item": {"pk": "a"},
            "condition": "attribute_not_exists(pk)",
        }),
        &[(
            "PutItem",
            json!({
                "TableName": "carts",
                "Item": {"pk": {"S": "a"}},
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValues": "ALL_OLD",
            }),
        )],
        Ok(table_error(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )),
    )
    .await;
}

#[tokio::test]
async fn without_a_service_every_call_is_unavailable() {
    check(
        None,
        json!({"action": "get", "table": "carts", "key": {"pk": "a"}}),
        &[],
        Ok(table_error(
            "ServiceUnavailable",
            "tables are not available on this node",
        )),
    )
    .await;
}

#[tokio::test]
async fn a_request_over_the_limit_is_refused_before_the_service() {
    let padding = "x".repeat(limits::TABLES_REQUEST_BYTES_MAX);
    let request_bytes = padding.len() + r#"{"pad":""}"#.len();
    check(
        Some(Answer::Json(json!({}))),
        json!({"action": "raw", "operation": "PutItem", "request": {"pad": padding}}),
        &[],
        Ok(table_error(
            "ValidationException",
            &format!(
                "PutItem request of {request_bytes} bytes exceeds the limit of {} bytes",
                limits::TABLES_REQUEST_BYTES_MAX
            ),
        )),
    )
    .await;
}

#[tokio::test]
async fn a_response_over_the_limit_is_refused() {
    let response = Bytes::from(vec![b' '; limits::TABLES_RESPONSE_BYTES_MAX + 1]);
    check(
        Some(Answer::Bytes(response)),
        json!({"action": "raw", "operation": "BatchGetItem", "request": {}}),
        &[("BatchGetItem", json!({}))],
        Ok(table_error(
            "ValidationException",
            &format!(
                "BatchGetItem response of {} bytes exceeds the limit of {} bytes; \
                 ask for fewer items per request",
                limits::TABLES_RESPONSE_BYTES_MAX + 1,
                limits::TABLES_RESPONSE_BYTES_MAX
            ),
        )),
    )
    .await;
}

#[tokio::test]
async fn a_response_that_is_not_text_is_an_internal_error() {
    check(
        Some(Answer::Bytes(Bytes::from_static(b"{\"a\":\"\xff\"}"))),
        json!({"action": "raw", "operation": "GetItem", "request": {}}),
        &[("GetItem", json!({}))],
        Ok(table_error(
            "InternalServerError",
            "the table service answered GetItem with invalid UTF-8 at byte 6",
        )),
    )
    .await;
}

#[tokio::test]
async fn the_deadline_fires_while_the_guest_waits_in_a_call() {
    let dropped = Arc::new(AtomicBool::new(false));
    let tables = Arc::new(FakeTables {
        answer: Answer::Never {
            dropped: Arc::clone(&dropped),
        },
        calls: Mutex::default(),
    });
    let timeout_ms = 200;
    let function = load("test_tables.wasm", Some(tables), timeout_ms);
    let event = json!({"action": "get", "table": "carts", "key": {"pk": "a"}});
    let result = invoke(&function, &event).await;
    assert_eq!(result, Err(InvokeError::Timeout { timeout_ms }));
    assert!(
        dropped.load(Ordering::Acquire),
        "the pending call was dropped"
    );
}

#[tokio::test]
async fn a_guest_without_the_import_runs_beside_a_service() {
    let tables = Arc::new(FakeTables {
        answer: Answer::Json(json!({})),
        calls: Mutex::default(),
    });
    let function = load("test_handler.wasm", Some(tables), 10_000);
    let result = invoke(&function, &json!({"action": "counter"})).await;
    assert_eq!(result, Ok(json!({"count": 1})));
}
