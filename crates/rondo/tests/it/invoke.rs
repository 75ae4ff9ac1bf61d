//! `rondo invoke` and the Lambda Invoke API on the AWS endpoint.

use serde_json::json;

use crate::support::{App, Dev, manifest, rondo, send, test_wasm};

fn app() -> App {
    let manifest = manifest(
        &[
            (
                "tester",
                "handler.wasm",
                "environment = { GREETING = \"hi\" }",
            ),
            ("web", "http.wasm", ""),
        ],
        &[],
    );
    App::new(
        &manifest,
        &[
            ("handler.wasm", test_wasm("test_handler.wasm")),
            ("http.wasm", test_wasm("test_http.wasm")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rondo_invoke_prints_the_result() {
    let app = app();
    let dev = Dev::start(&app);
    let output = rondo()
        .args([
            "invoke",
            "tester",
            "--payload",
            r#"{"action": "env"}"#,
            "--endpoint",
            &dev.aws,
        ])
        .output()
        .expect("run rondo invoke");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON result");
    assert_eq!(result["env"]["GREETING"], "hi");
    assert_eq!(result["config"]["GREETING"], "hi");

    let output = rondo()
        .args([
            "invoke",
            "tester",
            "--payload",
            r#"{"action": "error"}"#,
            "--endpoint",
            &dev.aws,
        ])
        .output()
        .expect("run rondo invoke");
    assert!(!output.status.success());
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON error");
    assert_eq!(
        result,
        json!({"errorType": "TestError", "errorMessage": "asked to fail"})
    );

    let output = rondo()
        .args(["invoke", "nobody", "--endpoint", &dev.aws])
        .output()
        .expect("run rondo invoke");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_api_speaks_lambdas_wire_protocol() {
    let app = app();
    let dev = Dev::start(&app);
    let invoke = |name: &str, body: &'static str, headers: &[(&str, &str)]| {
        let mut request = http::Request::post(format!(
            "{}/2015-03-31/functions/{name}/invocations",
            dev.aws
        ));
        for (key, value) in headers {
            request = request.header(*key, *value);
        }
        request
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .expect("request")
    };

    let reply = send(invoke("tester", r#"{"action": "context"}"#, &[])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-amz-executed-version"), Some("$LATEST"));
    assert!(reply.header("x-amz-function-error").is_none());
    assert_eq!(reply.json()["functionName"], "tester", "{}", reply.text());

    let reply = send(invoke(
        "tester",
        r#"{"action": "panic"}"#,
        &[("x-amz-log-type", "Tail")],
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(reply.json()["errorType"], "Runtime.Trap");
    let log = reply.header("x-amz-log-result").expect("log tail");
    use base64::Engine as _;
    let log = base64::engine::general_purpose::STANDARD
        .decode(log)
        .expect("base64");
    let log = String::from_utf8(log).expect("utf-8");
    assert!(
        log.contains("START RequestId:") && log.contains("REPORT RequestId:"),
        "{log}"
    );

    let reply = send(invoke("tester", "not json", &[])).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.header("x-amzn-errortype"),
        Some("InvalidRequestContentException")
    );

    let reply = send(invoke("missing", "{}", &[])).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(reply.json()["Type"], "User");

    let reply = send(invoke(
        "tester",
        "{}",
        &[("x-amz-invocation-type", "DryRun")],
    ))
    .await;
    assert_eq!(reply.status, 204);

    let reply = send(invoke("web", "{}", &[])).await;
    assert_eq!(
        reply.status, 400,
        "a wasi:http function is called through routes"
    );
}
