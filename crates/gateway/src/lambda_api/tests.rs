//! The Lambda API through `handle`, on an app of two test components: `tester` (the handler
//! world) and `web` (a `wasi:http` component), with a recording `AsyncQueue`.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use app::{Code, RouteTable};
use arc_swap::ArcSwap;
use http_body_util::{BodyExt, Full};
use runtime::{FunctionConfig, Report, Runtime, RuntimeConfig, Tier};

use super::*;

/// Queues events in memory, or refuses them as a full node does.
struct RecordingQueue {
    events: Mutex<Vec<QueuedEvent>>,
    full: bool,
}

impl AsyncQueue for RecordingQueue {
    fn enqueue(
        &self,
        event: QueuedEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + '_>> {
        Box::pin(async move {
            if self.full {
                return Err(EnqueueError::Full {
                    pending: 7,
                    limit: "at most 7 events".to_owned(),
                });
            }
            self.events.lock().expect("lock").push(event);
            Ok(())
        })
    }
}

struct NoObserver;

impl Observer for NoObserver {
    fn invocation_finished(
        &self,
        _report: &Report,
        _error: Option<&InvokeError>,
        _source: InvocationSource<'_>,
    ) {
    }
}

/// A reply as a test looks at it.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks that this is Lambda's error `error_type` with `status`; returns its message.
    #[track_caller]
    fn error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status, status, "status of {}", self.json());
        assert_eq!(self.header("x-amzn-errortype"), Some(error_type));
        let body = self.json();
        assert_eq!(body["Type"], "User");
        body["message"].as_str().expect("a message").to_owned()
    }
}

/// The components, loaded once for all tests (with baseline code: it compiles fastest).
fn functions() -> &'static HashMap<String, AppFunction> {
    static FUNCTIONS: OnceLock<HashMap<String, AppFunction>> = OnceLock::new();
    FUNCTIONS.get_or_init(|| {
        let runtime = Runtime::new(&RuntimeConfig {
            cache_dir: None,
            instances_max: 2,
            tables: None,
            connections: None,
        })
        .expect("the runtime starts");
        let load = |name: &str, wasm: &str, timeout_ms: u32, environment: &[(&str, &str)]| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../test-programs/wasm")
                .join(wasm);
            let wasm = std::fs::read(&path).expect("the test guests are committed");
            let config = FunctionConfig {
                name: name.to_owned(),
                memory_mb: 256,
                timeout_ms,
                environment: environment
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                allowed_outbound_hosts: Vec::new(),
            };
            let function = runtime
                .load(&config, &wasm, Tier::Baseline)
                .expect("the guest loads");
            (
                name.to_owned(),
                AppFunction::unlimited(Code::Wasm(function), 64),
            )
        };
        HashMap::from([
            load("tester", "test_handler.wasm", 1500, &[("GREETING", "hi")]),
            load("web", "test_http.wasm", 3000, &[]),
        ])
    })
}

fn snapshot(names: &[&str]) -> SharedSnapshot {
    let functions = names
        .iter()
        .map(|name| {
            // Names other than the components' own stand for more handler functions.
            let function = functions().get(*name).unwrap_or(&functions()["tester"]);
            ((*name).to_owned(), function.clone())
        })
        .collect();
    Arc::new(ArcSwap::from_pointee(AppSnapshot {
        routes: RouteTable::new(Vec::new()),
        functions,
        request_body_bytes_max: 1 << 20,
        billing: manifest::BillingSpec {
            granularity_ms: 1,
            price_per_gb_second_nano_usd: 16_667,
            price_per_request_nano_usd: 200,
        },
        websocket: None,
        static_files: None,
    }))
}

async fn call(
    snapshot: &SharedSnapshot,
    queue: Option<&RecordingQueue>,
    request: http::request::Builder,
    body: impl Into<Bytes>,
) -> Reply {
    let request = request.body(Full::new(body.into())).expect("request");
    let observer: Arc<dyn Observer> = Arc::new(NoObserver);
    let queue = queue.map(|queue| queue as &dyn AsyncQueue);
    let response = handle(snapshot, &observer, queue, request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(uri: &str) -> http::request::Builder {
    http::Request::get(uri)
}

fn event(function: &str) -> http::request::Builder {
    http::Request::post(format!("{FUNCTIONS_PATH}/{function}/invocations"))
        .header("x-amz-invocation-type", "Event")
}

fn queue() -> RecordingQueue {
    RecordingQueue {
        events: Mutex::new(Vec::new()),
        full: false,
    }
}

#[tokio::test]
async fn an_event_is_queued_and_answered_202() {
    let app = snapshot(&["tester"]);
    let queue = queue();
    let reply = call(
        &app,
        Some(&queue),
        event("tester").header("x-amz-log-type", "Tail"),
        r#"{"action": "echo"}"#,
    )
    .await;
    assert_eq!(reply.status, 202);
    assert!(reply.body.is_empty(), "an empty body");
    // `LogType: Tail` is for synchronous invocations only.
    assert_eq!(reply.header("x-amz-log-result"), None);
    let events = queue.events.lock().expect("lock");
    let [queued] = events.as_slice() else {
        panic!("one event queued: {events:?}");
    };
    assert_eq!(
        reply.header("x-amzn-requestid"),
        Some(queued.request_id.as_str())
    );
    assert_eq!(queued.function, "tester");
    assert_eq!(queued.payload, r#"{"action": "echo"}"#);
}

#[tokio::test]
async fn an_event_names_the_function_by_arn_and_gets_an_empty_payload_as_an_object() {
    let app = snapshot(&["tester"]);
    let queue = queue();
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:tester:$LATEST";
    let reply = call(&app, Some(&queue), event(&arn.replace('$', "%24")), "").await;
    assert_eq!(reply.status, 202);
    let events = queue.events.lock().expect("lock");
    assert_eq!(events[0].function, "tester");
    assert_eq!(events[0].payload, "{}");
}

#[tokio::test]
async fn an_event_is_refused_before_it_is_queued() {
    let app = snapshot(&["tester", "web"]);
    let queue = queue();
    let too_large = format!(r#"{{"x": "{}"}}"#, "x".repeat(ASYNC_PAYLOAD_BYTES_MAX));
    let cases: [(&str, String, u16, &str); 4] = [
        ("nobody", "{}".to_owned(), 404, "ResourceNotFoundException"),
        ("tester", too_large, 413, "RequestTooLargeException"),
        (
            "tester",
            "{not json".to_owned(),
            400,
            "InvalidRequestContentException",
        ),
        (
            "web",
            "{}".to_owned(),
            400,
            "InvalidParameterValueException",
        ),
    ];
    for (function, body, status, error_type) in cases {
        let reply = call(&app, Some(&queue), event(function), body).await;
        reply.error(status, error_type);
    }
    assert!(queue.events.lock().expect("lock").is_empty());

    // Without a queue (a node without a store) Event is refused.
    let reply = call(&app, None, event("tester"), "{}").await;
    let message = reply.error(400, "InvalidParameterValueException");
    assert!(message.contains("Event"), "{message}");
}

#[tokio::test]
async fn a_full_queue_throttles_the_caller() {
    let app = snapshot(&["tester"]);
    let full = RecordingQueue {
        events: Mutex::new(Vec::new()),
        full: true,
    };
    let reply = call(&app, Some(&full), event("tester"), "{}").await;
    let message = reply.error(429, "TooManyRequestsException");
    assert!(message.contains("at most 7 events"), "{message}");
    assert_eq!(reply.json()["Reason"], "ConcurrentInvocationLimitExceeded");
    assert_eq!(reply.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn a_payload_over_the_async_limit_may_still_be_invoked_synchronously() {
    let app = snapshot(&["tester"]);
    let body = format!(
        r#"{{"action": "raw", "x": "{}"}}"#,
        "x".repeat(ASYNC_PAYLOAD_BYTES_MAX)
    );
    let request = http::Request::post(format!("{FUNCTIONS_PATH}/tester/invocations"))
        .header("x-amz-invocation-type", "DryRun");
    let reply = call(&app, Some(&queue()), request, body).await;
    assert_eq!(reply.status, 204);
}

#[tokio::test]
async fn get_function_describes_a_component() {
    let app = snapshot(&["tester"]);
    for path in [
        "tester",
        "tester%3A%24LATEST",
        "000000000000%3Afunction%3Atester",
    ] {
        let reply = call(&app, None, get(&format!("{FUNCTIONS_PATH}/{path}")), "").await;
        assert_eq!(reply.status, 200, "{}", reply.json());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        let configuration = &body["Configuration"];
        let Some(Code::Wasm(tester)) = functions().get("tester").map(AppFunction::code) else {
            panic!("tester is a component");
        };
        let sha256 = base64::engine::general_purpose::STANDARD.encode(tester.code_sha256());
        let last_modified = configuration["LastModified"]
            .as_str()
            .expect("LastModified");
        let expected = json!({
            "FunctionName": "tester",
            "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:tester",
            "Runtime": "wasm32-wasip2",
            "Handler": "rondo:function/handler",
            "Description": "",
            "Timeout": 2,
            "MemorySize": 256,
            "Version": "$LATEST",
            "PackageType": "Zip",
            "Architectures": [architecture()],
            "TracingConfig": {"Mode": "PassThrough"},
            "CodeSize": tester.code_size_bytes(),
            "CodeSha256": sha256,
            "LastModified": last_modified,
            "Environment": {"Variables": {"GREETING": "hi"}},
            "State": "Active",
            "LastUpdateStatus": "Successful",
        });
        assert_eq!(configuration, &expected);
        assert_eq!(body["Code"], json!({"RepositoryType": "Local"}));
        // `2026-01-02T03:04:05.678+0000`
        let shape_ok = last_modified.len() == 28 && last_modified.ends_with("+0000");
        assert!(shape_ok, "LastModified {last_modified}");
    }
}

#[tokio::test]
async fn get_function_of_an_unknown_function_or_version_is_not_found() {
    let app = snapshot(&["tester"]);
    for uri in [
        format!("{FUNCTIONS_PATH}/nobody"),
        format!("{FUNCTIONS_PATH}/tester?Qualifier=7"),
        format!("{FUNCTIONS_PATH}/tester%3Aprod"),
    ] {
        let reply = call(&app, None, get(&uri), "").await;
        let message = reply.error(404, "ResourceNotFoundException");
        assert!(
            message.starts_with("Function not found: arn:aws:lambda:"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn list_functions_pages_in_name_order() {
    let names = ["e", "a", "d", "b", "c"];
    let app = snapshot(&names);
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut n_pages = 0;
    loop {
        let mut uri = format!("{FUNCTIONS_PATH}/?MaxItems=2");
        if let Some(marker) = &marker {
            uri.push_str(&format!("&Marker={marker}"));
        }
        let reply = call(&app, None, get(&uri), "").await;
        assert_eq!(reply.status, 200);
        let body = reply.json();
        let page = body["Functions"].as_array().expect("Functions");
        assert!(page.len() <= 2);
        for function in page {
            seen.push(
                function["FunctionName"]
                    .as_str()
                    .expect("a name")
                    .to_owned(),
            );
            assert_eq!(
                function.get("State"),
                None,
                "ListFunctions leaves State out"
            );
        }
        n_pages += 1;
        match body.get("NextMarker").and_then(Value::as_str) {
            Some(next) => marker = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(n_pages, 3);
}

#[tokio::test]
async fn list_functions_caps_a_page_and_checks_max_items() {
    let names: Vec<String> = (0..LIST_PAGE_ITEMS_MAX + 3)
        .map(|i| format!("f{i:03}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let app = snapshot(&names);
    for uri in [
        FUNCTIONS_PATH.to_owned(),
        format!("{FUNCTIONS_PATH}?MaxItems=10000"),
    ] {
        let reply = call(&app, None, get(&uri), "").await;
        let body = reply.json();
        assert_eq!(
            body["Functions"].as_array().map(Vec::len),
            Some(LIST_PAGE_ITEMS_MAX)
        );
        assert_eq!(
            body["NextMarker"],
            format!("f{:03}", LIST_PAGE_ITEMS_MAX - 1)
        );
    }
    for max_items in ["0", "10001", "many"] {
        let uri = format!("{FUNCTIONS_PATH}?MaxItems={max_items}");
        let reply = call(&app, None, get(&uri), "").await;
        reply.error(400, "InvalidParameterValueException");
    }
}

#[tokio::test]
async fn requests_are_routed_by_method_and_path() {
    let app = snapshot(&["tester"]);
    let cases = [
        (http::Method::POST, format!("{FUNCTIONS_PATH}/"), 405),
        (
            http::Method::DELETE,
            format!("{FUNCTIONS_PATH}/tester"),
            405,
        ),
        (
            http::Method::GET,
            format!("{FUNCTIONS_PATH}/tester/invocations"),
            405,
        ),
        (
            http::Method::GET,
            format!("{FUNCTIONS_PATH}/tester/policy"),
            404,
        ),
    ];
    for (method, uri, status) in cases {
        let request = http::Request::builder().method(method).uri(&uri);
        let reply = call(&app, None, request, "").await;
        reply.error(status, "UnknownOperationException");
    }
    let is_lambda =
        |path: &str| is_lambda_request(&http::Request::get(path).body(()).expect("request"));
    assert!(is_lambda("/2015-03-31/functions"));
    assert!(is_lambda("/2015-03-31/functions/"));
    assert!(is_lambda("/2015-03-31/functions/f/invocations"));
    assert!(!is_lambda("/2015-03-31/functionsX"));
    assert!(!is_lambda("/"));
}

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
