//! Process functions: unmodified Lambda code run as native processes that speak the Lambda
//! Runtime API. The Rust function is a `lambda_runtime` binary (`test-programs/lambda-rust`, run
//! as `bootstrap`); the Python ones are handlers written as for AWS Lambda
//! (`test-programs/python`), run through awslambdaric with boto3, which rondo installs itself.
//!
//! Each behaviour is checked through Lambda's three doors: a gateway route (API Gateway's
//! payload 2.0 event and its 500 and 504 answers), `rondo invoke --log`, and the Invoke API with
//! the Rust SDK (`LogType: Tail`, `X-Amz-Function-Error`, Lambda's error object).

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::support::dynamo::{Poll, dynamodb, get_s, item, n, s};
use crate::support::process::{
    cli_invoke, invoke, lambda, lambda_bootstrap, log_frame, process_app, python_function,
    python_program, replace_file, rust_function, start,
};
use crate::support::{App, get, rondo};

/// The timeout of the functions that are made to run past it.
const SHORT_TIMEOUT_MS: u64 = 1000;
/// How long the sleeping handlers sleep when they should be stopped: far past the timeout.
const OVERSLEEP_MS: u64 = 20_000;

/// One app with every behaviour: the Rust binary under several configurations, and each
/// Python handler as its own function. Every function `NAME` has the route `GET /NAME/{action}`
/// (the Rust binary reads its action from the path; each Python handler does one thing).
fn faults_app() -> App {
    // A generous timeout for the functions that should not time out, even on a busy machine.
    let roomy = "timeout_ms = 30000";
    let short = format!("timeout_ms = {SHORT_TIMEOUT_MS}");
    let echo_extra = format!("{roomy}\nmemory_mb = 256\nenvironment = {{ GREETING = \"hi\" }}");
    let rust_functions = [
        ("rust", echo_extra.clone()),
        ("rust-timeout", short.clone()),
        (
            "rust-init-crash",
            format!("{roomy}\nenvironment = {{ CRASH_AT_INIT = \"1\" }}"),
        ),
    ];
    let python_functions = [
        ("py-echo", "faults.echo", echo_extra),
        ("py-sleep", "faults.sleep", short),
        ("py-error", "faults.error", roomy.to_owned()),
        ("py-crash", "faults.crash", roomy.to_owned()),
        ("py-log", "faults.log", roomy.to_owned()),
        ("py-init-error", "init_error.handler", roomy.to_owned()),
        ("py-import-error", "import_error.handler", roomy.to_owned()),
    ];
    let mut manifest = String::from("[app]\nname = \"faults\"\n\n");
    let mut names = Vec::new();
    for (name, extra) in &rust_functions {
        manifest.push_str(&rust_function(name, "rust", extra));
        names.push(*name);
    }
    for (name, handler, extra) in &python_functions {
        manifest.push_str(&python_function(name, "py", handler, extra));
        names.push(*name);
    }
    for name in names {
        manifest.push_str(&format!(
            "[[route]]\nroute = \"GET /{name}/{{action}}\"\nfunction = \"{name}\"\n\n"
        ));
    }
    process_app(
        &manifest,
        &[
            ("rust/bootstrap", lambda_bootstrap()),
            ("py/faults.py", python_program("faults.py")),
            ("py/init_error.py", python_program("init_error.py")),
            ("py/import_error.py", python_program("import_error.py")),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Context, warm reuse
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_runtime_binary_runs_with_lambdas_context() {
    sees_lambdas_context("rust", json!({"action": "echo", "n": 1})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_handler_runs_with_lambdas_context() {
    sees_lambdas_context("py-echo", json!({"action": "echo", "n": 1})).await;
}

async fn sees_lambdas_context(function: &str, event: Value) {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);

    let before_ms = now_ms();
    let invoked = invoke(&client, function, event.clone()).await;
    let result = invoked.expect_ok();
    assert_eq!(result["event"], event);
    assert_eq!(result["requestId"], invoked.request_id.as_str());
    assert_eq!(result["functionName"], function);
    assert_eq!(result["functionVersion"], "$LATEST");
    assert_eq!(result["memoryMb"], 256);
    assert!(
        result["invokedFunctionArn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:lambda:") && arn.ends_with(function)),
        "{result}"
    );
    // The Rust runtime hands over the deadline, Python's context the time left (read after the
    // cold start, so this estimate of the deadline is early by the start's length).
    let deadline_ms = match result.get("deadlineMs") {
        Some(deadline) => deadline.as_u64().expect("a number"),
        None => before_ms + result["remainingMs"].as_u64().expect("remainingMs"),
    };
    let cold_start_allowance_ms = 5_000;
    assert!(
        deadline_ms <= now_ms() + 30_000
            && deadline_ms + cold_start_allowance_ms >= before_ms + 30_000,
        "the deadline {deadline_ms} is the function's timeout (30 s) after the invocation at {before_ms}"
    );
    let env = &result["env"];
    assert_eq!(env["AWS_ENDPOINT_URL"], dev.aws.as_str(), "{env}");
    assert_eq!(env["AWS_REGION"], "us-east-1", "{env}");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], function, "{env}");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256", "{env}");
    assert_eq!(env["GREETING"], "hi", "{env}");
    assert!(env["AWS_LAMBDA_RUNTIME_API"].is_string(), "{env}");
    assert!(log_frame(&invoked.log, &invoked.request_id).init_duration);

    // Through a route the event is API Gateway's payload 2.0, and a plain JSON result is the body.
    let reply = get(&dev.url(&format!("/{function}/echo?x=1"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let result = reply.json();
    assert_eq!(result["event"]["version"], "2.0", "{result}");
    assert_eq!(result["event"]["rawPath"], format!("/{function}/echo"));
    assert_eq!(result["event"]["queryStringParameters"], json!({"x": "1"}));
    assert_eq!(result["functionName"], function);

    let cli = cli_invoke(&dev, function, &event);
    assert!(cli.success, "{cli:#?}");
    assert_eq!(cli.result["event"], event);
    assert_eq!(cli.result["functionName"], function);
    let request_id = cli.result["requestId"].as_str().expect("requestId");
    log_frame(&cli.stderr, request_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_environment_serves_the_next_invocations() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);
    for function in ["rust", "py-echo"] {
        let event = json!({"action": "echo"});
        let first = invoke(&client, function, event.clone()).await;
        let second = invoke(&client, function, event.clone()).await;
        assert!(log_frame(&first.log, &first.request_id).init_duration);
        assert!(
            !log_frame(&second.log, &second.request_id).init_duration,
            "{function}: a warm start reports no Init Duration:\n{}",
            second.log
        );
        let (first, second) = (first.expect_ok(), second.expect_ok());
        assert_eq!(first["pid"], second["pid"], "{function}: one environment");
        assert_eq!(
            (&first["invocations"], &second["invocations"]),
            (&json!(1), &json!(2))
        );

        // A route reaches the same warm environment.
        let reply = get(&dev.url(&format!("/{function}/echo"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let third = reply.json();
        assert_eq!(third["pid"], first["pid"], "{function}: one environment");
        assert_eq!(third["invocations"], 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_function_past_its_timeout_is_stopped_and_its_environment_replaced() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);
    for function in ["rust-timeout", "py-sleep"] {
        let event = json!({"action": "sleep", "ms": OVERSLEEP_MS});
        let started = Instant::now();
        let invoked = invoke(&client, function, event.clone()).await;
        let message = invoked.expect_error("Sandbox.Timedout");
        assert!(
            message.contains("timed out after 1.00 seconds"),
            "{function}: {message}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(OVERSLEEP_MS / 2),
            "{function}: stopped at its timeout, not when the handler finished"
        );
        log_frame(&invoked.log, &invoked.request_id);

        let reply = get(&dev.url(&format!("/{function}/sleep?ms={OVERSLEEP_MS}"))).await;
        assert_eq!(reply.status, 504, "{function}: {}", reply.text());
        assert_eq!(
            reply.json(),
            json!({"message": "Endpoint request timed out"})
        );

        let cli = cli_invoke(&dev, function, &event);
        assert!(!cli.success, "{cli:#?}");
        assert_eq!(cli.result["errorType"], "Sandbox.Timedout", "{cli:#?}");
        assert!(cli.stderr.contains("REPORT RequestId: "), "{cli:#?}");

        // The timed-out environment was thrown away: the next invocation starts a fresh one.
        let invoked = invoke(&client, function, json!({"action": "sleep", "ms": 1})).await;
        assert_eq!(invoked.expect_ok(), &json!({"slept_ms": 1}));
        assert!(
            log_frame(&invoked.log, &invoked.request_id).init_duration,
            "{function}: a fresh environment after a timeout:\n{}",
            invoked.log
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_at_init_fails_every_invocation() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);
    let cases = [
        // The binary exits before its runtime starts: Lambda reports the exit.
        ("rust-init-crash", "Runtime.ExitError", "exit status 3"),
        // awslambdaric posts the exception raised at import to /runtime/init/error.
        ("py-init-error", "InitFailure", "failed at import"),
        (
            "py-import-error",
            "Runtime.ImportModuleError",
            "Unable to import module 'import_error': No module named 'rondo_missing_dependency'",
        ),
    ];
    for (function, error_type, message_part) in cases {
        // Each invocation tries the init again, and fails the same way.
        for _ in 0..2 {
            let invoked = invoke(&client, function, json!({"action": "echo"})).await;
            let message = invoked.expect_error(error_type);
            assert!(message.contains(message_part), "{function}: {message}");
            log_frame(&invoked.log, &invoked.request_id);
        }

        let reply = get(&dev.url(&format!("/{function}/echo"))).await;
        assert_eq!(reply.status, 500, "{function}: {}", reply.text());
        assert_eq!(reply.json(), json!({"message": "Internal Server Error"}));

        let cli = cli_invoke(&dev, function, &json!({"action": "echo"}));
        assert!(!cli.success, "{cli:#?}");
        assert_eq!(cli.result["errorType"], error_type, "{cli:#?}");
    }
    // What the failed inits printed reaches the developer.
    dev.wait_output("the init output", |stdout, stderr| {
        let seen = |text: &str| stdout.contains(text) || stderr.contains(text);
        seen("crashing at init") && seen("InitFailure: failed at import")
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_during_an_invocation_fails_it_and_the_next_starts_afresh() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);
    let cases = [
        (
            "rust",
            json!({"action": "exit", "code": 5}),
            "exit status 5",
        ),
        ("py-crash", json!({}), "exit status 1"),
    ];
    for (function, event, message_part) in cases {
        let invoked = invoke(&client, function, event.clone()).await;
        let message = invoked.expect_error("Runtime.ExitError");
        assert!(message.contains(message_part), "{function}: {message}");
        log_frame(&invoked.log, &invoked.request_id);

        let reply = get(&dev.url(&format!("/{function}/exit?code=5"))).await;
        assert_eq!(reply.status, 500, "{function}: {}", reply.text());
        assert_eq!(reply.json(), json!({"message": "Internal Server Error"}));

        let cli = cli_invoke(&dev, function, &event);
        assert!(!cli.success, "{cli:#?}");
        assert_eq!(cli.result["errorType"], "Runtime.ExitError", "{cli:#?}");
    }

    // The crashed environment is gone; the next invocation starts a new one and is served.
    let invoked = invoke(&client, "rust", json!({"action": "echo"})).await;
    invoked.expect_ok();
    assert!(log_frame(&invoked.log, &invoked.request_id).init_duration);
    let invoked = invoke(&client, "py-crash", json!({})).await;
    invoked.expect_error("Runtime.ExitError");
    assert!(
        log_frame(&invoked.log, &invoked.request_id).init_duration,
        "a crashed environment is not reused:\n{}",
        invoked.log
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_from_the_handler_is_a_function_error_and_keeps_the_environment() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);

    let warm = invoke(&client, "rust", json!({"action": "echo"})).await;
    let pid = warm.expect_ok()["pid"].clone();
    let invoked = invoke(&client, "rust", json!({"action": "error"})).await;
    assert_eq!(invoked.expect_error("TestError"), "asked to fail");
    assert!(!log_frame(&invoked.log, &invoked.request_id).init_duration);
    let invoked = invoke(&client, "rust", json!({"action": "panic"})).await;
    assert_eq!(invoked.function_error.as_deref(), Some("Unhandled"));
    let message = invoked.payload["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("asked to panic"), "{invoked:#?}");
    let after = invoke(&client, "rust", json!({"action": "echo"})).await;
    assert_eq!(after.expect_ok()["pid"], pid, "errors keep the environment");

    // Python's error is the exception's class and message; a raise keeps the environment too.
    for cold in [true, false] {
        let invoked = invoke(&client, "py-error", json!({})).await;
        assert_eq!(invoked.expect_error("TestError"), "asked to fail");
        // The traceback awslambdaric posted is passed on, as Lambda does.
        let stack_trace = invoked.payload["stackTrace"].as_array();
        assert!(
            stack_trace.is_some_and(|lines| lines
                .iter()
                .any(|line| line.as_str().is_some_and(|l| l.contains("faults.py")))),
            "{invoked:#?}"
        );
        let frame = log_frame(&invoked.log, &invoked.request_id);
        assert_eq!(frame.init_duration, cold, "{}", invoked.log);
        assert!(
            frame.body.contains("TestError: asked to fail"),
            "{}",
            invoked.log
        );
    }

    for function in ["rust", "py-error"] {
        let reply = get(&dev.url(&format!("/{function}/error"))).await;
        assert_eq!(reply.status, 500, "{function}: {}", reply.text());
        assert_eq!(reply.json(), json!({"message": "Internal Server Error"}));

        let cli = cli_invoke(&dev, function, &json!({"action": "error"}));
        assert!(!cli.success, "{cli:#?}");
        assert_eq!(cli.result["errorType"], "TestError", "{cli:#?}");
        assert_eq!(cli.result["errorMessage"], "asked to fail", "{cli:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_function_prints_is_its_log() {
    let app = faults_app();
    let dev = start(&app);
    let client = lambda(&dev);
    let cases: [(&str, &[&str]); 2] = [
        ("rust", &["stdout line", "stderr line"]),
        ("py-log", &["stdout line", "stderr line", "logging line"]),
    ];
    for (function, lines) in cases {
        let invoked = invoke(&client, function, json!({"action": "log"})).await;
        invoked.expect_ok();
        let id = &invoked.request_id;
        let frame = log_frame(&invoked.log, id);
        for line in lines {
            let line = format!("{line} {id}");
            assert!(frame.body.contains(&line), "{line:?} in:\n{}", invoked.log);
            // `rondo dev` prints every invocation's log too.
            dev.wait_output("the function's lines", |stdout, _| stdout.contains(&line));
        }

        let reply = get(&dev.url(&format!("/{function}/log"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        dev.wait_output("the lines of the routed invocation", |stdout, _| {
            lines.iter().all(|line| stdout.matches(line).count() >= 2)
        });

        let cli = cli_invoke(&dev, function, &json!({"action": "log"}));
        assert!(cli.success, "{cli:#?}");
        for line in lines {
            assert!(cli.stderr.contains(line), "{line:?} in {cli:#?}");
        }
        assert!(cli.stderr.contains("REPORT RequestId: "), "{cli:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tables, triggers, reload
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_python_handler_writes_and_reads_a_table_with_boto3() {
    let manifest = format!(
        "[app]\nname = \"boto\"\n\n[table.items]\npartition_key = {{ name = \"id\", type = \"S\" }}\n\n{}",
        python_function(
            "writer",
            "py",
            "tables_handler.handler",
            "timeout_ms = 30000\nenvironment = { TABLE_NAME = \"items\" }"
        )
    );
    let app = process_app(
        &manifest,
        &[("py/tables_handler.py", python_program("tables_handler.py"))],
    );
    let dev = start(&app);
    let written = json!({
        "id": "boto-1",
        "count": 42,
        "tags": ["a", "b"],
        "nested": {"k": "v"},
        "flag": true,
    });
    let invoked = invoke(&lambda(&dev), "writer", json!({"item": written})).await;
    assert_eq!(invoked.expect_ok(), &json!({"item": written}));

    let read = dynamodb(&dev)
        .get_item()
        .table_name("items")
        .key("id", s("boto-1"))
        .consistent_read(true)
        .send()
        .await
        .expect("get item");
    let expected = item(&[
        ("id", s("boto-1")),
        ("count", n("42")),
        (
            "tags",
            aws_sdk_dynamodb::types::AttributeValue::L(vec![s("a"), s("b")]),
        ),
        (
            "nested",
            aws_sdk_dynamodb::types::AttributeValue::M(item(&[("k", s("v"))])),
        ),
        ("flag", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
    ]);
    assert_eq!(read.item(), Some(&expected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_function_is_a_stream_triggers_target() {
    let manifest = format!(
        "[app]\nname = \"copier\"\n\n\
         [table.source]\npartition_key = {{ name = \"id\", type = \"S\" }}\nstream = \"NEW_IMAGE\"\n\n\
         [table.copies]\npartition_key = {{ name = \"id\", type = \"S\" }}\n\n\
         {}\
         [[trigger]]\nsource = \"table:source\"\nfunction = \"copier\"\nstarting_position = \"TRIM_HORIZON\"\n",
        python_function(
            "copier",
            "py",
            "stream_handler.copy_records",
            "timeout_ms = 30000\nenvironment = { COPY_TABLE_NAME = \"copies\" }"
        )
    );
    let app = process_app(
        &manifest,
        &[("py/stream_handler.py", python_program("stream_handler.py"))],
    );
    let dev = start(&app);
    let client = dynamodb(&dev);
    const N_ITEMS: usize = 3;
    for item_idx in 0..N_ITEMS {
        client
            .put_item()
            .table_name("source")
            .item("id", s(&format!("k{item_idx}")))
            .item("n", n(&item_idx.to_string()))
            .send()
            .await
            .expect("put item");
    }

    let poll = Poll::new(
        "every change copied by the trigger",
        Duration::from_secs(60),
    );
    let copies = loop {
        let scanned = client
            .scan()
            .table_name("copies")
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        if scanned.items().len() >= N_ITEMS {
            break scanned.items().to_vec();
        }
        poll.tick((scanned.items(), dev.stderr())).await;
    };
    assert_eq!(copies.len(), N_ITEMS, "one copy per change: {copies:#?}");
    let mut keys: Vec<&str> = copies.iter().map(|copy| get_s(copy, "key")).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["k0", "k1", "k2"]);
    for copy in &copies {
        assert_eq!(get_s(copy, "eventName"), "INSERT", "{copy:?}");
        let key = get_s(copy, "key");
        let index = key.trim_start_matches('k');
        let expected_image = item(&[("id", s(key)), ("n", n(index))]);
        assert_eq!(
            copy.get("newImage"),
            Some(&aws_sdk_dynamodb::types::AttributeValue::M(expected_image)),
            "{copy:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_python_handler_runs_the_new_code_next() {
    let version = |text: &str| {
        format!("def handler(event, context):\n    return {{\"version\": \"{text}\"}}\n")
    };
    let manifest = format!(
        "[app]\nname = \"edited\"\n\n{}",
        python_function("edited", "py", "edited.handler", "timeout_ms = 30000")
    );
    let app = process_app(&manifest, &[]);
    std::fs::create_dir_all(app.path().join("py")).expect("code folder");
    std::fs::write(app.path().join("py/edited.py"), version("first")).expect("write handler");
    let dev = start(&app);
    let client = lambda(&dev);
    let invoked = invoke(&client, "edited", json!({})).await;
    assert_eq!(invoked.expect_ok(), &json!({"version": "first"}));

    replace_file(&app, "py/edited.py", &version("second, edited"));
    let poll = Poll::new("the edited handler to answer", Duration::from_secs(30));
    let invoked = loop {
        let invoked = invoke(&client, "edited", json!({})).await;
        let answer = invoked.expect_ok().clone();
        if answer == json!({"version": "second, edited"}) {
            break invoked;
        }
        assert_eq!(
            answer,
            json!({"version": "first"}),
            "the old or the new code"
        );
        poll.tick(answer).await;
    };
    assert!(
        log_frame(&invoked.log, &invoked.request_id).init_duration,
        "the new code runs in a new environment:\n{}",
        invoked.log
    );
    assert!(dev.stderr().contains("reloaded"), "{}", dev.stderr());
}

#[test]
fn a_handler_naming_a_missing_module_fails_the_load() {
    let manifest = format!(
        "[app]\nname = \"missing\"\n\n{}",
        python_function("missing", "py", "no_such_module.handler", "")
    );
    let app = process_app(&manifest, &[("py/faults.py", python_program("faults.py"))]);
    let tools = crate::support::process::tools_dir();
    let mut child = rondo()
        .arg("dev")
        .arg(app.path())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--aws-listen",
            "127.0.0.1:0",
            "--tools",
        ])
        .arg(&tools)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn rondo");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for rondo") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rondo dev served an app whose handler names a missing module");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("no_such_module.handler") && stderr.contains("no_such_module.py"),
        "the error names the handler and the missing file: {stderr}"
    );
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since_epoch.as_millis()).expect("milliseconds fit in u64")
}
