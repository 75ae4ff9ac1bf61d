//! The Lambda API's description operations, `GetFunction` and `ListFunctions`, read with the
//! real Lambda client (`aws-sdk-lambda`), and its errors for functions that do not exist.

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::types::{Architecture, LastUpdateStatus, PackageType, State};
use base64::Engine as _;

use crate::support::{App, Dev, manifest, test_wasm};

/// A Lambda client for `dev`'s AWS endpoint, set up as the DynamoDB client of the tables suite
/// (`support::dynamo::dynamodb`): any key, retries off, a bound on each operation.
pub fn lambda(dev: &Dev) -> aws_sdk_lambda::Client {
    lambda_signed_as(dev, "test", "test")
}

/// A Lambda client for `dev`'s AWS endpoint that signs with the given key.
fn lambda_signed_as(dev: &Dev, key_id: &str, secret: &str) -> aws_sdk_lambda::Client {
    crate::support::aws_client!(aws_sdk_lambda, dev, key_id, secret)
}

/// Expects `result` to have failed with the service error `code` and HTTP `status`; returns the
/// error's message.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E>>,
    code: &str,
    status: u16,
) -> String {
    let error = match result {
        Ok(output) => panic!("expected {code}, got success: {output:?}"),
        Err(error) => error,
    };
    assert_eq!(error.code(), Some(code), "error code of {error:?}");
    let actual = error
        .raw_response()
        .map(|response| response.status().as_u16());
    assert_eq!(actual, Some(status), "status of {error:?}");
    error.message().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_function_describes_wasm_functions() {
    let manifest = manifest(
        &[
            (
                "tester",
                "handler.wasm",
                "memory_mb = 256\ntimeout_ms = 1500\nenvironment = { GREETING = \"hi\" }",
            ),
            ("web", "http.wasm", ""),
        ],
        &[],
    );
    let app = App::new(
        &manifest,
        &[
            ("handler.wasm", test_wasm("test_handler.wasm")),
            ("http.wasm", test_wasm("test_http.wasm")),
        ],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let output = client
        .get_function()
        .function_name("tester")
        .send()
        .await
        .expect("GetFunction");
    let configuration = output.configuration().expect("a configuration");
    assert_eq!(configuration.function_name(), Some("tester"));
    assert_eq!(
        configuration.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:tester")
    );
    let runtime = configuration.runtime().map(|runtime| runtime.as_str());
    assert_eq!(runtime, Some("wasm32-wasip2"));
    assert_eq!(configuration.handler(), Some("rondo:function/handler"));
    // Lambda counts whole seconds: 1500 ms is reported as 2.
    assert_eq!(configuration.timeout(), Some(2));
    assert_eq!(configuration.memory_size(), Some(256));
    assert_eq!(configuration.version(), Some("$LATEST"));
    assert_eq!(configuration.state(), Some(&State::Active));
    assert_eq!(
        configuration.last_update_status(),
        Some(&LastUpdateStatus::Successful)
    );
    assert_eq!(configuration.package_type(), Some(&PackageType::Zip));
    let architectures = configuration.architectures();
    assert!(
        matches!(architectures, [Architecture::X8664 | Architecture::Arm64]),
        "{architectures:?}"
    );
    let code_bytes = std::fs::metadata(app.path().join("handler.wasm"))
        .expect("the module")
        .len();
    assert_eq!(
        configuration.code_size(),
        i64::try_from(code_bytes).expect("size")
    );
    let sha256 = configuration.code_sha256().expect("CodeSha256");
    let digest = base64::engine::general_purpose::STANDARD
        .decode(sha256)
        .expect("CodeSha256 is base64");
    assert_eq!(digest.len(), 32, "a SHA-256 digest");
    let last_modified = configuration.last_modified().expect("LastModified");
    assert!(last_modified.ends_with("+0000"), "{last_modified}");
    let variables = configuration
        .environment()
        .and_then(|environment| environment.variables())
        .expect("environment variables");
    assert_eq!(variables.get("GREETING").map(String::as_str), Some("hi"));
    let code = output.code().expect("a code location");
    assert_eq!(code.repository_type(), Some("Local"));
    assert_eq!(code.location(), None, "no download link");

    let output = client
        .get_function()
        .function_name("arn:aws:lambda:us-east-1:000000000000:function:web")
        .send()
        .await
        .expect("GetFunction by ARN");
    let configuration = output.configuration().expect("a configuration");
    assert_eq!(configuration.function_name(), Some("web"));
    assert_eq!(configuration.handler(), Some("wasi:http/incoming-handler"));
    assert_eq!(
        configuration.environment(),
        None,
        "no variables, no Environment"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_functions_pages_through_the_app() {
    let names = ["echo", "alpha", "delta", "bravo", "charlie"];
    let functions: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|name| (*name, "handler.wasm", ""))
        .collect();
    let app = App::new(
        &manifest(&functions, &[]),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let output = client
            .list_functions()
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListFunctions");
        let page: Vec<String> = output
            .functions()
            .iter()
            .map(|function| function.function_name().unwrap_or_default().to_owned())
            .collect();
        pages.push(page);
        marker = output.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end: {pages:?}");
    }
    assert_eq!(
        pages,
        [
            vec!["alpha", "bravo"],
            vec!["charlie", "delta"],
            vec!["echo"]
        ]
    );

    let all: Vec<String> = client
        .list_functions()
        .max_items(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("the paginator")
        .iter()
        .map(|function| function.function_name().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(all, ["alpha", "bravo", "charlie", "delta", "echo"]);

    let output = client.list_functions().send().await.expect("ListFunctions");
    let echo = output
        .functions()
        .iter()
        .find(|function| function.function_name() == Some("echo"))
        .expect("echo is listed");
    assert_eq!(
        echo.runtime().map(|runtime| runtime.as_str()),
        Some("wasm32-wasip2")
    );
    assert_eq!(
        echo.state(),
        None,
        "ListFunctions leaves the state out, as Lambda does"
    );

    expect_error(
        client.list_functions().max_items(0).send().await,
        "InvalidParameterValueException",
        400,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_function_is_not_found() {
    let app = App::new(
        &manifest(&[("tester", "handler.wasm", "")], &[]),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start(&app);
    let client = lambda(&dev);

    let message = expect_error(
        client.get_function().function_name("nobody").send().await,
        "ResourceNotFoundException",
        404,
    );
    assert!(message.contains("function:nobody"), "{message}");
    expect_error(
        client
            .get_function()
            .function_name("tester")
            .qualifier("1")
            .send()
            .await,
        "ResourceNotFoundException",
        404,
    );
    for invocation_type in [
        aws_sdk_lambda::types::InvocationType::RequestResponse,
        aws_sdk_lambda::types::InvocationType::Event,
    ] {
        expect_error(
            client
                .invoke()
                .function_name("nobody")
                .invocation_type(invocation_type)
                .send()
                .await,
            "ResourceNotFoundException",
            404,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_requests_are_checked_on_every_operation() {
    let app = App::new(
        &manifest(
            &[("alpha", "handler.wasm", ""), ("bravo", "handler.wasm", "")],
            &[],
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    );
    let dev = Dev::start_with(&app, &["--aws-credentials", "KEY:SECRET"]);
    let signed = lambda_signed_as(&dev, "KEY", "SECRET");
    let page = signed
        .list_functions()
        .max_items(1)
        .marker("alpha")
        .send()
        .await
        .expect("a signed ListFunctions with a query string");
    let names: Vec<&str> = page
        .functions()
        .iter()
        .filter_map(|function| function.function_name())
        .collect();
    assert_eq!(names, ["bravo"]);
    signed
        .get_function()
        .function_name("alpha")
        .send()
        .await
        .expect("a signed GetFunction");
    let output = signed
        .invoke()
        .function_name("alpha")
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .send()
        .await
        .expect("a signed Event");
    assert_eq!(output.status_code(), 202);

    let forged = lambda_signed_as(&dev, "KEY", "WRONG");
    let refused = forged.list_functions().send().await;
    let status = refused
        .as_ref()
        .err()
        .and_then(|error| error.raw_response())
        .map(|response| response.status().as_u16());
    assert_eq!(status, Some(403), "{refused:?}");
    let refused = forged.get_function().function_name("alpha").send().await;
    assert!(refused.is_err(), "{refused:?}");
}
