//! `python3` functions: real handlers run by awslambdaric, with boto3 at hand.

use std::time::Duration;

use process::{ProcessFunction, ProcessHost, ProcessRuntime};
use runtime::InvokeError;
use serde_json::json;

use crate::support::{self, ENDPOINT, config, invoke, log_texts, python_code};

const APP: &str = r#"
import os

import boto3

print("module loaded")


def handler(event, context):
    if event.get("action") == "raise":
        raise ValueError("bad value " + str(event.get("n")))
    print("handling", event.get("n"))
    dynamodb = boto3.resource("dynamodb")
    return {
        "echo": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "dynamodb_endpoint": dynamodb.meta.client.meta.endpoint_url,
        "dynamodb_region": dynamodb.meta.client.meta.region_name,
    }
"#;

async fn python_function(
    host: &ProcessHost,
    files: &[(&str, &str)],
    handler: &str,
) -> (tempfile::TempDir, ProcessFunction) {
    let code = python_code(files);
    let mut config = config("python-fn", ProcessRuntime::Python3, code.path());
    config.handler = Some(handler.to_owned());
    let function = support::load(host, config).await;
    (code, function)
}

#[tokio::test]
async fn a_handler_answers_with_boto3_pointed_at_rondo() {
    let host = support::host(Duration::from_secs(60));
    let (_code, function) = python_function(&host, &[("app.py", APP)], "app.handler").await;
    let first = invoke(&function, json!({"n": 1})).await;
    let answer = support::json(&first);
    assert_eq!(answer["echo"], json!({"n": 1}));
    assert_eq!(
        answer["request_id"].as_str(),
        Some(first.report.request_id.as_str())
    );
    assert_eq!(answer["function_name"], "python-fn");
    assert_eq!(
        answer["arn"].as_str(),
        Some(runtime::function_arn("python-fn").as_str())
    );
    let remaining = answer["remaining_ms"].as_u64().expect("remaining time");
    assert!(remaining > 0 && remaining <= 5_000, "{remaining}");
    assert!(
        answer["execution_env"]
            .as_str()
            .is_some_and(|env| env.starts_with("AWS_Lambda_python3."))
    );
    assert_eq!(answer["dynamodb_endpoint"], ENDPOINT);
    assert_eq!(answer["dynamodb_region"], runtime::REGION);
    assert!(first.report.init_duration.is_some());
    let logs = log_texts(&first);
    assert!(logs.iter().any(|line| line == "module loaded"), "{logs:?}");
    assert!(logs.iter().any(|line| line == "handling 1"), "{logs:?}");

    let second = invoke(&function, json!({"n": 2})).await;
    assert_eq!(support::json(&second)["pid"], answer["pid"]);
    assert_eq!(second.report.init_duration, None);
    assert!(
        !log_texts(&second)
            .iter()
            .any(|line| line == "module loaded")
    );
}

#[tokio::test]
async fn an_exception_is_the_functions_error() {
    let host = support::host(Duration::from_secs(60));
    let (_code, function) = python_function(&host, &[("app.py", APP)], "app.handler").await;
    let failed = invoke(&function, json!({"action": "raise", "n": 7})).await;
    let InvokeError::Function {
        error_type,
        message,
        stack_trace,
    } = failed.result.expect_err("an exception")
    else {
        panic!("an exception is a function error");
    };
    assert_eq!(
        (error_type.as_str(), message.as_str()),
        ("ValueError", "bad value 7")
    );
    // awslambdaric posts the traceback; it is kept, line by line.
    assert!(
        stack_trace.iter().any(|line| line.contains("app.py")),
        "{stack_trace:?}"
    );
    let next = invoke(&function, json!({"n": 8})).await;
    assert!(next.result.is_ok());
    assert_eq!(next.report.init_duration, None);
}

#[tokio::test]
async fn a_module_that_fails_to_import_is_an_import_module_error() {
    let host = support::host(Duration::from_secs(60));
    let broken =
        "import a_module_that_does_not_exist\n\ndef handler(event, context):\n    return 1\n";
    let (_code, function) =
        python_function(&host, &[("broken.py", broken)], "broken.handler").await;
    let failed = invoke(&function, json!({})).await;
    let error = failed.result.expect_err("an init error");
    assert_eq!(error.error_type(), "Runtime.ImportModuleError");
    assert!(
        error
            .error_message()
            .contains("a_module_that_does_not_exist"),
        "{error:?}"
    );
    assert_eq!(function.environment_count(), 0);
}
