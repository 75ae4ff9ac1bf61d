//! Test support: starting `rondo dev` on ephemeral ports, an HTTP client, app folders.

#![allow(dead_code, reason = "each test uses the part it needs")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An AWS SDK client (`$sdk` is the SDK's crate) for `dev`'s AWS endpoint that signs with the
/// given key. Retries are off, so an error shows as itself, and each operation has a bound.
macro_rules! aws_client {
    ($sdk:ident, $dev:expr, $key_id:expr, $secret:expr) => {{
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        use $sdk::config::retry::RetryConfig;
        use $sdk::config::timeout::TimeoutConfig;
        use $sdk::config::{Credentials, Region};

        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = $sdk::Config::builder()
            .behavior_version_latest()
            .endpoint_url(&$dev.aws)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new($key_id, $secret, None, None, "test"))
            .retry_config(RetryConfig::disabled())
            // A bound, not a speed expectation: a hung server fails the test instead of hanging it.
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(std::time::Duration::from_secs(120))
                    .build(),
            )
            .http_client(http_client)
            .build();
        $sdk::Client::from_conf(config)
    }};
}
pub(crate) use aws_client;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A built test component, committed under `test-programs/wasm/`.
pub fn test_wasm(name: &str) -> PathBuf {
    repo().join("test-programs/wasm").join(name)
}

/// An app folder in a temporary directory, with the given manifest and wasm files copied in.
pub struct App {
    pub dir: tempfile::TempDir,
}

impl App {
    pub fn new(manifest: &str, files: &[(&str, PathBuf)]) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("rondo.toml"), manifest).expect("write manifest");
        for (name, source) in files {
            std::fs::copy(source, dir.path().join(name))
                .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        }
        App { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces a file the way build tools do: write a new file, then rename it over the old one.
    pub fn replace(&self, name: &str, contents: &[u8]) {
        let temp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&temp, contents).expect("write temp");
        std::fs::rename(&temp, self.dir.path().join(name)).expect("rename");
    }
}

/// A running `rondo dev`. Killed on drop.
pub struct Dev {
    pub child: Child,
    pub gateway: String,
    pub aws: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

pub fn rondo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rondo"))
}

impl Dev {
    pub fn start(app: &App) -> Dev {
        Dev::start_with(app, &[])
    }

    pub fn start_with(app: &App, extra: &[&str]) -> Dev {
        Dev::start_within(app, extra, Duration::from_secs(60))
    }

    /// Starts `rondo dev` as [`Dev::start_with`] does, waiting at most `limit` for it to serve:
    /// a first load may install runtime tools before it does.
    pub fn start_within(app: &App, extra: &[&str], limit: Duration) -> Dev {
        let data = app.path().join(".rondo");
        let mut child = rondo()
            .arg("dev")
            .arg(app.path())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--aws-listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(&data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rondo");
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + limit;
        loop {
            let text = stderr.lock().expect("lock").clone();
            let gateway = address_after(&text, "gateway");
            let aws = address_after(&text, "aws endpoint");
            if let (Some(gateway), Some(aws)) = (gateway, aws) {
                return Dev {
                    child,
                    gateway,
                    aws,
                    stdout,
                    stderr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("rondo dev exited with {status}: {text}");
            }
            assert!(Instant::now() < deadline, "rondo dev did not start: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// Waits until the captured stdout or stderr satisfies `condition`.
    pub fn wait_output(&self, what: &str, condition: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !condition(&self.stdout(), &self.stderr()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address printed after `label` in `rondo dev`'s banner (`http://...`).
pub fn address_after(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix(label)
                .map(|rest| rest.trim().to_owned())
        })
        .filter(|address| address.starts_with("http://"))
}

/// Collects what `stream` prints, line by line, on a thread of its own.
pub fn capture(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().expect("lock");
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

/// A response as a test looks at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub async fn send(request: http::Request<Full<Bytes>>) -> Reply {
    send_with(&client(), request).await
}

pub async fn send_with(
    client: &Client<HttpConnector, Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Reply {
    let response = client.request(request).await.expect("request failed");
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

pub async fn get(url: &str) -> Reply {
    send(
        http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .expect("request"),
    )
    .await
}

pub async fn post(url: &str, body: impl Into<Bytes>) -> Reply {
    send(
        http::Request::post(url)
            .body(Full::new(body.into()))
            .expect("request"),
    )
    .await
}

/// A manifest declaring one function per `(name, wasm, extra lines)` and the given routes.
pub fn manifest(functions: &[(&str, &str, &str)], routes: &[(&str, &str)]) -> String {
    let mut text = String::from("[app]\nname = \"test\"\n\n");
    for (name, wasm, extra) in functions {
        text.push_str(&format!(
            "[function.{name}]\nwasm = \"{wasm}\"\n{extra}\n\n"
        ));
    }
    for (route, function) in routes {
        text.push_str(&format!(
            "[[route]]\nroute = \"{route}\"\nfunction = \"{function}\"\n\n"
        ));
    }
    text
}

/// The test-handler component as one function, `tester`, behind `GET /t/{action}`.
pub fn tester_app() -> App {
    App::new(
        &manifest(
            &[("tester", "handler.wasm", "")],
            &[("GET /t/{action}", "tester")],
        ),
        &[("handler.wasm", test_wasm("test_handler.wasm"))],
    )
}

/// DynamoDB: the tables suite drives the AWS endpoint with the real SDK, and with raw signed
/// requests where the SDK cannot say something (bad JSON, an unknown operation).
pub mod dynamo {
    use std::collections::HashMap;
    use std::fmt::Debug;
    use std::time::{Duration, Instant};

    use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, ScalarAttributeType,
        TableDescription, TableStatus,
    };
    use bytes::Bytes;
    use http_body_util::Full;

    use super::{App, Dev, Reply};

    /// An item, a key, or a map of expression attribute values.
    pub type Item = HashMap<String, AttributeValue>;

    /// Expression attribute values as `(placeholder, value)` pairs, in a test's table of cases.
    pub type Values = Vec<(&'static str, AttributeValue)>;

    /// A DynamoDB client for `dev`'s AWS endpoint. Any key is accepted unless `rondo dev` was given
    /// `--aws-credentials`.
    pub fn dynamodb(dev: &Dev) -> aws_sdk_dynamodb::Client {
        dynamodb_signed_as(dev, "test", "test")
    }

    /// A DynamoDB client for `dev`'s AWS endpoint that signs with the given key.
    /// Retries are off, so an error shows as itself.
    pub fn dynamodb_signed_as(dev: &Dev, key_id: &str, secret: &str) -> aws_sdk_dynamodb::Client {
        super::aws_client!(aws_sdk_dynamodb, dev, key_id, secret)
    }

    /// An app that declares only the given `[table.*]` text (which may be empty): no functions.
    pub fn tables_app(tables: &str) -> App {
        App::new(&format!("[app]\nname = \"tables\"\n\n{tables}"), &[])
    }

    /// A running app serving tables, with a client for it.
    /// Fields drop in order: the client, then the server, then the app's folder.
    pub struct Tables {
        pub client: aws_sdk_dynamodb::Client,
        pub dev: Dev,
        pub app: App,
    }

    impl Tables {
        /// Starts `rondo dev` on an app declaring only `tables` (see [`tables_app`]).
        pub fn start(tables: &str) -> Tables {
            Tables::start_with(tables, &[])
        }

        /// Starts `rondo dev` with extra arguments on an app declaring only `tables`.
        pub fn start_with(tables: &str, extra: &[&str]) -> Tables {
            let app = tables_app(tables);
            let dev = Dev::start_with(&app, extra);
            let client = dynamodb(&dev);
            Tables { client, dev, app }
        }
    }

    /// A raw DynamoDB request (`X-Amz-Target: DynamoDB_20120810.{operation}`), signed as the SDK signs.
    pub fn dynamodb_request(
        endpoint: &str,
        operation: &str,
        body: &[u8],
    ) -> http::Request<Full<Bytes>> {
        let target = format!("DynamoDB_20120810.{operation}");
        let mut request = unsigned_dynamodb_request(endpoint, Some(&target), body);
        sign(&mut request, "test", "test", body);
        request
    }

    /// A raw DynamoDB request with the given `X-Amz-Target` (or none), without a signature.
    pub fn unsigned_dynamodb_request(
        endpoint: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::post(format!("{endpoint}/"))
            .header("content-type", "application/x-amz-json-1.0");
        if let Some(target) = target {
            request = request.header("x-amz-target", target);
        }
        request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request")
    }

    /// Signs `request` (whose body is `body`) with SigV4 for DynamoDB in us-east-1.
    pub fn sign(request: &mut http::Request<Full<Bytes>>, key_id: &str, secret: &str, body: &[u8]) {
        sign_at(request, key_id, secret, body, std::time::SystemTime::now());
    }

    /// Signs `request` as [`sign`] does, as if at `time`.
    pub fn sign_at(
        request: &mut http::Request<Full<Bytes>>,
        key_id: &str,
        secret: &str,
        body: &[u8],
        time: std::time::SystemTime,
    ) {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};

        let identity =
            aws_sdk_dynamodb::config::Credentials::new(key_id, secret, None, None, "test").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("dynamodb")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let uri = request.uri().to_string();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = value.to_str().expect("ASCII header");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect();
        let signable = SignableRequest::new(
            "POST",
            uri,
            headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("signable request");
        let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
            .expect("sign")
            .into_parts();
        instructions.apply_to_request_http1x(request);
    }

    /// Checks the parts of a DynamoDB reply every client relies on, and returns its JSON body:
    /// the content type, a request id, and `x-amz-crc32` correct if present (botocore checks it).
    pub fn dynamodb_reply_json(reply: &Reply) -> serde_json::Value {
        assert_eq!(
            reply.header("content-type"),
            Some("application/x-amz-json-1.0"),
            "content type of {}",
            reply.text()
        );
        assert!(
            reply
                .header("x-amzn-requestid")
                .is_some_and(|id| !id.is_empty()),
            "x-amzn-RequestId missing: {:?}",
            reply.headers
        );
        if let Some(crc) = reply.header("x-amz-crc32") {
            assert_eq!(
                crc,
                crc32(&reply.body).to_string(),
                "x-amz-crc32 does not match the body {}",
                reply.text()
            );
        }
        reply.json()
    }

    /// Checks a raw DynamoDB error reply: status 400 and `{"__type": "<namespace>#<code>", "message": ...}`.
    /// `error_type` is the whole `__type`, e.g. `com.amazon.coral.validate#ValidationException`.
    /// Returns the message.
    pub fn assert_dynamodb_error(reply: &Reply, error_type: &str) -> String {
        let body = dynamodb_reply_json(reply);
        assert_eq!(reply.status, 400, "status of {body}");
        assert_eq!(body["__type"], error_type, "error type of {body}");
        // Clients accept `message` or `Message`.
        let message = body
            .get("message")
            .or_else(|| body.get("Message"))
            .and_then(|message| message.as_str());
        message
            .unwrap_or_else(|| panic!("error without a message: {body}"))
            .to_owned()
    }

    /// CRC-32 (IEEE), as DynamoDB's `x-amz-crc32` header carries it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
        !crc
    }

    /// A bounded polling loop: `tick` waits a moment, and fails the test once the deadline passes.
    pub struct Poll {
        what: String,
        deadline: Instant,
    }

    impl Poll {
        /// Polls for `what` for at most `limit`.
        pub fn new(what: impl Into<String>, limit: Duration) -> Poll {
            Poll {
                what: what.into(),
                deadline: Instant::now() + limit,
            }
        }

        /// Waits before the next attempt; panics with `last` (the last state seen) past the deadline.
        pub async fn tick(&self, last: impl Debug) {
            assert!(
                Instant::now() < self.deadline,
                "timed out waiting for {}; last seen: {last:#?}",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A BatchWriteItem put of `item`.
    pub fn put_request(item: Item) -> aws_sdk_dynamodb::types::WriteRequest {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .expect("put request"),
            )
            .build()
    }

    /// A BatchWriteItem delete of `key`.
    pub fn delete_request(key: Item) -> aws_sdk_dynamodb::types::WriteRequest {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .expect("delete request"),
            )
            .build()
    }

    /// A string.
    pub fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    /// A number, as its decimal text.
    pub fn n(value: &str) -> AttributeValue {
        AttributeValue::N(value.to_owned())
    }

    /// A binary value.
    pub fn b(value: &[u8]) -> AttributeValue {
        AttributeValue::B(Blob::new(value))
    }

    /// A string set.
    pub fn ss(values: &[&str]) -> AttributeValue {
        AttributeValue::Ss(values.iter().map(|value| (*value).to_owned()).collect())
    }

    /// A number set.
    pub fn ns(values: &[&str]) -> AttributeValue {
        AttributeValue::Ns(values.iter().map(|value| (*value).to_owned()).collect())
    }

    /// A binary set.
    pub fn bs(values: &[&[u8]]) -> AttributeValue {
        AttributeValue::Bs(values.iter().map(|value| Blob::new(*value)).collect())
    }

    /// A list.
    pub fn l(values: Vec<AttributeValue>) -> AttributeValue {
        AttributeValue::L(values)
    }

    /// A map.
    pub fn m(attributes: &[(&str, AttributeValue)]) -> AttributeValue {
        AttributeValue::M(item(attributes))
    }

    /// An item (or key, or expression attribute values) from name/value pairs.
    pub fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    /// A string attribute of `item`; panics naming it when it is missing or not a string.
    pub fn get_s<'a>(item: &'a Item, name: &str) -> &'a str {
        match item.get(name) {
            Some(AttributeValue::S(value)) => value,
            other => panic!("attribute {name} is not a string but {other:?} in {item:?}"),
        }
    }

    /// A number attribute of `item`, as its text; panics naming it when it is missing or not a number.
    pub fn get_n<'a>(item: &'a Item, name: &str) -> &'a str {
        match item.get(name) {
            Some(AttributeValue::N(value)) => value,
            other => panic!("attribute {name} is not a number but {other:?} in {item:?}"),
        }
    }

    /// `value` with every set sorted, at any depth: set order is not significant in DynamoDB.
    pub fn canonical(value: &AttributeValue) -> AttributeValue {
        match value {
            AttributeValue::Ss(values) => {
                let mut values = values.clone();
                values.sort();
                AttributeValue::Ss(values)
            }
            AttributeValue::Ns(values) => {
                let mut values = values.clone();
                values.sort();
                AttributeValue::Ns(values)
            }
            AttributeValue::Bs(values) => {
                let mut values = values.clone();
                values.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
                AttributeValue::Bs(values)
            }
            AttributeValue::L(values) => AttributeValue::L(values.iter().map(canonical).collect()),
            AttributeValue::M(attributes) => AttributeValue::M(canonical_item(attributes)),
            other => other.clone(),
        }
    }

    /// `item` with every set sorted, for comparing items.
    pub fn canonical_item(item: &Item) -> Item {
        item.iter()
            .map(|(name, value)| (name.clone(), canonical(value)))
            .collect()
    }

    /// Asserts that two optional items are equal, sets compared without regard to order.
    pub fn assert_item(actual: Option<&Item>, expected: Option<&Item>, what: &str) {
        assert_eq!(
            actual.map(canonical_item),
            expected.map(canonical_item),
            "{what}"
        );
    }

    /// Expects `result` to have failed with the service error `code` and HTTP status 400;
    /// returns the error's message.
    #[track_caller]
    pub fn expect_error<T: Debug, E: ProvideErrorMetadata + Debug>(
        result: Result<T, SdkError<E>>,
        code: &str,
    ) -> String {
        let error = match result {
            Ok(output) => panic!("expected {code}, got success: {output:?}"),
            Err(error) => error,
        };
        assert_eq!(error.code(), Some(code), "error code of {error:?}");
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        assert_eq!(status, Some(400), "status of {error:?}");
        error.message().unwrap_or_default().to_owned()
    }

    /// Expects `result` to have failed with `ValidationException` whose message contains `needle`.
    #[track_caller]
    pub fn expect_validation<T: Debug, E: ProvideErrorMetadata + Debug>(
        result: Result<T, SdkError<E>>,
        needle: &str,
    ) {
        let message = expect_error(result, "ValidationException");
        assert!(
            message.contains(needle),
            "expected {needle:?} in the message {message:?}"
        );
    }

    /// Creates an on-demand table with the given key (`(name, type)`, partition key first,
    /// then an optional sort key) and waits until it is ACTIVE.
    pub async fn create_table(
        client: &aws_sdk_dynamodb::Client,
        name: &str,
        keys: &[(&str, &str)],
    ) {
        assert!(
            matches!(keys.len(), 1 | 2),
            "a key has one or two attributes"
        );
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest);
        for (key_idx, (attribute, attribute_type)) in keys.iter().enumerate() {
            let key_type = if key_idx == 0 {
                KeyType::Hash
            } else {
                KeyType::Range
            };
            request = request
                .attribute_definitions(attribute_definition(attribute, attribute_type))
                .key_schema(key_schema_element(attribute, key_type));
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
        wait_active(client, name).await;
    }

    /// An attribute definition: `attribute_type` is "S", "N" or "B".
    pub fn attribute_definition(name: &str, attribute_type: &str) -> AttributeDefinition {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::from(attribute_type))
            .build()
            .expect("attribute definition")
    }

    /// One element of a key schema.
    pub fn key_schema_element(name: &str, key_type: KeyType) -> KeySchemaElement {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("key schema element")
    }

    /// Polls DescribeTable until the table and all its global secondary indexes are ACTIVE
    /// (as the SDKs' `table_exists` waiter does, plus the indexes); returns the description.
    pub async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str) -> TableDescription {
        let poll = Poll::new(
            format!("table {name} to be ACTIVE"),
            Duration::from_secs(60),
        );
        loop {
            let described = client.describe_table().table_name(name).send().await;
            if let Ok(output) = &described
                && let Some(table) = output.table()
            {
                let indexes_active = table.global_secondary_indexes().iter().all(|index| {
                    index.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active)
                        && index.backfilling() != Some(true)
                });
                if table.table_status() == Some(&TableStatus::Active) && indexes_active {
                    return table.clone();
                }
            }
            poll.tick(described).await;
        }
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}

/// DynamoDB Streams: the streams suite reads rondo's streams with the real DynamoDB Streams client,
/// which is a separate client (and has its own `AttributeValue`) on the same AWS endpoint.
pub mod streams {
    use std::collections::HashMap;

    use aws_sdk_dynamodbstreams::types::AttributeValue;

    use super::Dev;
    use super::dynamo::Item;

    /// A DynamoDB Streams client for `dev`'s AWS endpoint, set up as [`super::dynamo::dynamodb`]:
    /// any key, retries off, a bound on each operation.
    pub fn dynamodb_streams(dev: &Dev) -> aws_sdk_dynamodbstreams::Client {
        super::aws_client!(aws_sdk_dynamodbstreams, dev, "test", "test")
    }

    /// A streams attribute value as the DynamoDB client's type, to compare with items written.
    pub fn to_dynamo(value: &AttributeValue) -> aws_sdk_dynamodb::types::AttributeValue {
        use aws_sdk_dynamodb::types::AttributeValue as Dynamo;
        match value {
            AttributeValue::S(value) => Dynamo::S(value.clone()),
            AttributeValue::N(value) => Dynamo::N(value.clone()),
            AttributeValue::B(value) => Dynamo::B(value.clone()),
            AttributeValue::Bool(value) => Dynamo::Bool(*value),
            AttributeValue::Null(value) => Dynamo::Null(*value),
            AttributeValue::Ss(values) => Dynamo::Ss(values.clone()),
            AttributeValue::Ns(values) => Dynamo::Ns(values.clone()),
            AttributeValue::Bs(values) => Dynamo::Bs(values.clone()),
            AttributeValue::L(values) => Dynamo::L(values.iter().map(to_dynamo).collect()),
            AttributeValue::M(attributes) => Dynamo::M(image(attributes)),
            other => panic!("an attribute value this SDK release does not know: {other:?}"),
        }
    }

    /// A record's `Keys`, `NewImage` or `OldImage` as an item of the DynamoDB client.
    pub fn image(attributes: &HashMap<String, AttributeValue>) -> Item {
        attributes
            .iter()
            .map(|(name, value)| (name.clone(), to_dynamo(value)))
            .collect()
    }
}

/// Process functions: apps whose functions are native processes (the Rust `lambda_runtime`
/// binary of `test-programs/lambda-rust`, the Python handlers of `test-programs/python`), a
/// Lambda client, and reading what Lambda's three surfaces say about an invocation.
pub mod process {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;
    use std::time::Duration;

    use aws_sdk_lambda::operation::RequestId as _;
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::LogType;
    use base64::Engine as _;
    use serde_json::Value;

    use super::{App, Dev, repo, rondo};

    /// How long a first start may take: loading a Python function installs the runtime tools
    /// (awslambdaric and boto3, with pip) when the shared tools folder lacks them.
    const TOOLS_INSTALL_WAIT_S: u64 = 360;

    /// The one tools folder of every `rondo dev` of the suite, so the Python tools are installed
    /// once per machine, not once per test.
    pub fn tools_dir() -> PathBuf {
        std::env::temp_dir().join("rondo-test-tools")
    }

    /// A Python handler file of `test-programs/python`.
    pub fn python_program(file: &str) -> PathBuf {
        repo().join("test-programs/python").join(file)
    }

    /// The `lambda_runtime` binary of `test-programs/lambda-rust`, the example `lambda-bootstrap`
    /// of this package. `cargo test` builds examples, but not when it is told which tests to build
    /// (`--test it`), so the first call builds it with the profile and target folder of the suite
    /// (a quick no-op when it is fresh).
    pub fn lambda_bootstrap() -> PathBuf {
        static BUILT: OnceLock<PathBuf> = OnceLock::new();
        BUILT.get_or_init(build_lambda_bootstrap).clone()
    }

    fn build_lambda_bootstrap() -> PathBuf {
        // The suite's `rondo` is <target>/<profile dir>/rondo; the example lands beside it.
        let rondo_binary = Path::new(env!("CARGO_BIN_EXE_rondo"));
        let profile_dir = rondo_binary.parent().expect("rondo is in a profile folder");
        let target_dir = profile_dir
            .parent()
            .expect("a profile folder is in a target folder");
        let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") => "dev",
            Some(name) => name,
            None => panic!("no profile folder name in {}", profile_dir.display()),
        };
        let output = Command::new(env!("CARGO"))
            .args([
                "build",
                "--package",
                "rondo",
                "--example",
                "lambda-bootstrap",
            ])
            .args(["--profile", profile, "--target-dir"])
            .arg(target_dir)
            .current_dir(repo())
            .output()
            .expect("run cargo");
        assert!(
            output.status.success(),
            "building the example lambda-bootstrap failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = profile_dir.join("examples/lambda-bootstrap");
        assert!(binary.is_file(), "{} was not built", binary.display());
        binary
    }

    /// The manifest lines of a `provided` function whose code folder is `code` (holding the
    /// `lambda_runtime` binary as `bootstrap`), with `extra` lines.
    pub fn rust_function(name: &str, code: &str, extra: &str) -> String {
        format!("[function.{name}]\nruntime = \"provided\"\ncode = \"{code}\"\n{extra}\n\n")
    }

    /// The manifest lines of a `python3` function running `handler` from the code folder `code`.
    pub fn python_function(name: &str, code: &str, handler: &str, extra: &str) -> String {
        format!(
            "[function.{name}]\nruntime = \"python3\"\ncode = \"{code}\"\nhandler = \"{handler}\"\n{extra}\n\n"
        )
    }

    /// An app with the given manifest and files copied in at the given paths inside it (folders
    /// are made; an executable stays executable).
    pub fn process_app(manifest: &str, files: &[(&str, PathBuf)]) -> App {
        let app = App::new(manifest, &[]);
        for (destination, source) in files {
            let destination = app.path().join(destination);
            let folder = destination.parent().expect("a file is in a folder");
            std::fs::create_dir_all(folder).expect("make the code folder");
            std::fs::copy(source, &destination)
                .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        }
        app
    }

    /// Replaces the file at `path` inside the app the way editors and build tools do: a new
    /// hidden file beside it, renamed over it.
    pub fn replace_file(app: &App, path: &str, contents: &str) {
        let destination = app.path().join(path);
        let file_name = destination
            .file_name()
            .and_then(|name| name.to_str())
            .expect("a file name");
        let temp = destination.with_file_name(format!(".{file_name}.tmp"));
        std::fs::write(&temp, contents).expect("write temp");
        std::fs::rename(&temp, &destination).expect("rename");
    }

    /// Starts `rondo dev` with the suite's shared tools folder. The first start of the run also
    /// waits for the Python tools to be installed (once, by rondo itself, with a Python app of its
    /// own), so no test pays for it against its own bounds.
    pub fn start(app: &App) -> Dev {
        start_with(app, &[])
    }

    /// Starts `rondo dev` as [`start`] does, with extra arguments.
    pub fn start_with(app: &App, extra: &[&str]) -> Dev {
        static TOOLS_READY: OnceLock<()> = OnceLock::new();
        TOOLS_READY.get_or_init(|| {
            bubblewrap();
            let warm_up = process_app(
                &format!(
                    "[app]\nname = \"tools\"\n\n{}",
                    python_function("echo", "py", "faults.echo", "")
                ),
                &[("py/faults.py", python_program("faults.py"))],
            );
            drop(start_dev(
                &warm_up,
                &[],
                Duration::from_secs(TOOLS_INSTALL_WAIT_S),
            ));
        });
        start_dev(app, extra, Duration::from_secs(60))
    }

    /// bubblewrap, which rondo's sandbox of process functions needs (with root), installed with
    /// apt-get when missing: without it process functions would run unsandboxed (rondo warns).
    pub fn bubblewrap() {
        const BWRAP: &str = "/usr/bin/bwrap";
        if Path::new(BWRAP).is_file() {
            return;
        }
        let _lock = super::browser::lock(&std::env::temp_dir().join("rondo-test-apt.lock"));
        if Path::new(BWRAP).is_file() {
            return;
        }
        let install = ["install", "-y", "--no-install-recommends", "bubblewrap"];
        let installed = super::browser::apt_get(&install).or_else(|_| {
            super::browser::apt_get(&["update"])?;
            super::browser::apt_get(&install)
        });
        if let Err(error) = installed {
            panic!(
                "process functions run in bubblewrap sandboxes, and installing it failed ({error}); \
                 install Debian's package: `sudo apt-get install bubblewrap`"
            );
        }
    }

    fn start_dev(app: &App, extra: &[&str], limit: Duration) -> Dev {
        let tools = tools_dir();
        let tools = tools.to_str().expect("the temp folder's path is UTF-8");
        let mut args = vec!["--tools", tools];
        args.extend_from_slice(extra);
        Dev::start_within(app, &args, limit)
    }

    /// A Lambda client for `dev`'s AWS endpoint, set up as the DynamoDB client of the suite:
    /// any key, retries off, a bound on each operation.
    pub fn lambda(dev: &Dev) -> aws_sdk_lambda::Client {
        super::aws_client!(aws_sdk_lambda, dev, "test", "test")
    }

    /// What the Invoke API said about one invocation.
    #[derive(Debug)]
    pub struct Invoked {
        /// `x-amzn-RequestId`: the invocation's request id.
        pub request_id: String,
        /// `X-Amz-Function-Error` (`Unhandled` when the function failed).
        pub function_error: Option<String>,
        /// The result, or the error object `{errorType, errorMessage, ...}`.
        pub payload: Value,
        /// The log tail (`X-Amz-Log-Result`), decoded.
        pub log: String,
    }

    /// Invokes `function` with `event` through the Lambda client, asking for the log tail.
    pub async fn invoke(client: &aws_sdk_lambda::Client, function: &str, event: Value) -> Invoked {
        let output = client
            .invoke()
            .function_name(function)
            .log_type(LogType::Tail)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("invoke {function}: {e:?}"));
        assert_eq!(output.status_code(), 200, "status of {output:?}");
        let payload = output.payload().map(|blob| blob.as_ref()).unwrap_or(b"");
        let payload = serde_json::from_slice(payload).unwrap_or_else(|e| {
            panic!(
                "the payload of {function} is not JSON ({e}): {}",
                String::from_utf8_lossy(payload)
            )
        });
        let log = output.log_result().expect("a log tail was asked for");
        let log = base64::engine::general_purpose::STANDARD
            .decode(log)
            .expect("the log tail is base64");
        Invoked {
            request_id: output.request_id().expect("x-amzn-RequestId").to_owned(),
            function_error: output.function_error().map(str::to_owned),
            payload,
            log: String::from_utf8(log).expect("the log tail is UTF-8"),
        }
    }

    impl Invoked {
        /// Asserts a function error of `error_type` (`X-Amz-Function-Error: Unhandled`, Lambda's
        /// error object in the payload); returns the error message.
        #[track_caller]
        pub fn expect_error(&self, error_type: &str) -> String {
            assert_eq!(
                self.function_error.as_deref(),
                Some("Unhandled"),
                "{self:#?}"
            );
            assert_eq!(self.payload["errorType"], error_type, "{self:#?}");
            self.payload["errorMessage"]
                .as_str()
                .unwrap_or_else(|| panic!("no errorMessage: {self:#?}"))
                .to_owned()
        }

        /// Asserts success: no function error.
        #[track_caller]
        pub fn expect_ok(&self) -> &Value {
            assert_eq!(self.function_error, None, "{self:#?}");
            &self.payload
        }
    }

    /// One invocation's log, as [`log_frame`] reads it.
    #[derive(Debug)]
    pub struct LogFrame {
        /// The lines between `START` and `END`: the function's own output.
        pub body: String,
        /// Whether the `REPORT` line has `Init Duration` (a cold start).
        pub init_duration: bool,
    }

    /// Checks that `log` holds one invocation's log as Lambda writes it: `START`, `END` and a
    /// `REPORT` with Lambda's fields for `request_id`, in that order.
    #[track_caller]
    pub fn log_frame(log: &str, request_id: &str) -> LogFrame {
        let position = |needle: String| {
            log.find(&needle)
                .unwrap_or_else(|| panic!("no {needle:?} in the log:\n{log}"))
        };
        let start_at = position(format!("START RequestId: {request_id}"));
        let end_at = position(format!("END RequestId: {request_id}"));
        let report_at = position(format!("REPORT RequestId: {request_id}"));
        assert!(
            start_at < end_at && end_at < report_at,
            "out of order:\n{log}"
        );
        let report = log[report_at..].lines().next().unwrap_or_default();
        for field in [
            "\tDuration: ",
            "\tBilled Duration: ",
            "\tMemory Size: ",
            "\tMax Memory Used: ",
        ] {
            assert!(report.contains(field), "no {field:?} in {report:?}");
        }
        let body_at = log[start_at..end_at]
            .find('\n')
            .map_or(end_at, |newline| start_at + newline + 1);
        LogFrame {
            body: log[body_at..end_at].to_owned(),
            init_duration: report.contains("\tInit Duration: "),
        }
    }

    /// What `rondo invoke --log` printed and how it ended.
    #[derive(Debug)]
    pub struct CliInvoked {
        pub success: bool,
        /// The result, or the error object.
        pub result: Value,
        /// The log tail and any error line.
        pub stderr: String,
    }

    /// Runs `rondo invoke FUNCTION --payload EVENT --log` against `dev`.
    pub fn cli_invoke(dev: &Dev, function: &str, event: &Value) -> CliInvoked {
        let output = rondo()
            .args(["invoke", function, "--log", "--payload"])
            .arg(event.to_string())
            .args(["--endpoint", &dev.aws])
            .output()
            .expect("run rondo invoke");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let result = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("rondo invoke printed no JSON ({e}): {stdout}\nstderr:\n{stderr}")
        });
        CliInvoked {
            success: output.status.success(),
            result,
            stderr,
        }
    }
}

/// rondo's admin API on the AWS endpoint: the Prometheus metrics (`GET /metrics`), read with a
/// small checker of the text format, and the cost report (`GET /rondo/v1/cost`).
pub mod admin {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde_json::Value;

    use super::dynamo::Poll;
    use super::{Dev, get};

    /// One sample line: `name{label="value",...} value`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Sample {
        pub name: String,
        pub labels: BTreeMap<String, String>,
        pub value: f64,
    }

    /// What `GET /metrics` answered, with every sample line parsed.
    #[derive(Debug)]
    pub struct Metrics {
        pub content_type: String,
        pub text: String,
        pub samples: Vec<Sample>,
        /// Each family's type, from its `# TYPE` line.
        pub types: BTreeMap<String, String>,
    }

    impl Metrics {
        /// The value of the sample `name` whose labels are exactly `labels`.
        pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let labels: BTreeMap<String, String> = labels
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect();
            self.samples
                .iter()
                .find(|sample| sample.name == name && sample.labels == labels)
                .map(|sample| sample.value)
        }

        /// The samples named `name`.
        pub fn samples_named<'m>(&'m self, name: &'m str) -> impl Iterator<Item = &'m Sample> {
            self.samples
                .iter()
                .filter(move |sample| sample.name == name)
        }
    }

    /// Scrapes `dev`'s metrics; fails the test on a status other than 200 or a line that does
    /// not parse.
    pub async fn metrics(dev: &Dev) -> Metrics {
        let reply = get(&format!("{}/metrics", dev.aws)).await;
        assert_eq!(reply.status, 200, "GET /metrics: {}", reply.text());
        let text = reply.text();
        let (samples, types) =
            parse_metrics(&text).unwrap_or_else(|error| panic!("{error} in:\n{text}"));
        Metrics {
            content_type: reply.header("content-type").unwrap_or_default().to_owned(),
            text,
            samples,
            types,
        }
    }

    /// Polls the gauge `rondo_concurrent_invocations` of `function` until it reads `n`.
    pub async fn wait_for_concurrency(dev: &Dev, function: &str, n: u32) {
        let poll = Poll::new(
            format!("{n} invocations of {function} in flight"),
            Duration::from_secs(60),
        );
        loop {
            let metrics = metrics(dev).await;
            let in_flight =
                metrics.value("rondo_concurrent_invocations", &[("function", function)]);
            if in_flight == Some(f64::from(n)) {
                return;
            }
            poll.tick(in_flight).await;
        }
    }

    /// The cost report (`GET /rondo/v1/cost?by=BY`, the last 24 hours) as JSON.
    pub async fn cost(dev: &Dev, by: &str) -> Value {
        let reply = get(&format!("{}/rondo/v1/cost?by={by}", dev.aws)).await;
        assert_eq!(reply.status, 200, "GET /rondo/v1/cost: {}", reply.text());
        reply.json()
    }

    /// The row `name` of a cost report; fails the test, showing the report, when there is none.
    #[track_caller]
    pub fn cost_row<'r>(report: &'r Value, name: &str) -> &'r Value {
        report["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["name"] == name))
            .unwrap_or_else(|| panic!("no row {name:?} in the cost report {report:#}"))
    }

    /// Parses the Prometheus text format (0.0.4, or OpenMetrics' `# EOF` ending): comments
    /// `# HELP`, `# TYPE`, `# UNIT` and `# EOF`, and sample lines whose family has a `# TYPE`.
    pub fn parse_metrics(text: &str) -> Result<(Vec<Sample>, BTreeMap<String, String>), String> {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for (line_idx, line) in text.lines().enumerate() {
            let at = |what: &str| format!("line {}: {what}: {line:?}", line_idx + 1);
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("TYPE"), Some(family), Some(kind)) => {
                        types.insert(family.to_owned(), kind.to_owned());
                    }
                    (Some("HELP" | "UNIT"), Some(_), _) | (Some("EOF"), None, None) => {}
                    _ => return Err(at("an unknown comment")),
                }
                continue;
            }
            let sample = parse_sample(line).map_err(|error| at(&error))?;
            let family_typed = std::iter::once(sample.name.as_str())
                .chain(
                    ["_total", "_bucket", "_count", "_sum", "_created"]
                        .iter()
                        .filter_map(|suffix| sample.name.strip_suffix(suffix)),
                )
                .any(|family| types.contains_key(family));
            if !family_typed {
                return Err(at("a sample before its family's # TYPE"));
            }
            samples.push(sample);
        }
        Ok((samples, types))
    }

    fn parse_sample(line: &str) -> Result<Sample, String> {
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        let name_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
        if !name_ok {
            return Err("no metric name".to_owned());
        }
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after_brace) = rest.strip_prefix('{') {
            rest = parse_labels(after_brace, &mut labels)?;
        }
        let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
        let mut fields = rest.split(' ');
        let value = fields.next().ok_or("no value")?;
        let value: f64 = value.parse().map_err(|_| format!("bad value {value:?}"))?;
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<f64>()
                .map_err(|_| format!("bad timestamp {timestamp:?}"))?;
        }
        if fields.next().is_some() {
            return Err("text after the value".to_owned());
        }
        Ok(Sample {
            name: name.to_owned(),
            labels,
            value,
        })
    }

    /// Parses `key="value",...}` (after the `{`); returns what follows the `}`.
    fn parse_labels<'l>(
        mut rest: &'l str,
        labels: &mut BTreeMap<String, String>,
    ) -> Result<&'l str, String> {
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                return Ok(after);
            }
            let (key, after_key) = rest.split_once("=\"").ok_or("a label without =\"")?;
            let key_ok = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !key_ok {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let value_end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in label {key}")),
                    },
                    Some((idx, '"')) => break idx,
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("label {key} is not closed")),
                }
            };
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            rest = &after_key[value_end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }

    #[test]
    fn the_checker_reads_samples_and_refuses_malformed_lines() {
        let text = "# HELP a_total A.\n# TYPE a counter\na_total{f=\"x\\\"y\",g=\"\"} 3\nb 1\n";
        let error = parse_metrics(text).expect_err("b has no # TYPE");
        assert!(error.contains("line 4"), "{error}");
        let (samples, types) =
            parse_metrics("# TYPE a counter\na_total{f=\"x\\\"y\"} 3\n# EOF\n").expect("parses");
        assert_eq!(types["a"], "counter");
        assert_eq!(samples[0].labels["f"], "x\"y");
        assert_eq!(samples[0].value, 3.0);
        for bad in [
            "a_total{f=\"x} 3",
            "a_total{f=x} 3",
            "a_total 3 4 5",
            "a_total{f=\"1\"}3",
        ] {
            assert!(
                parse_metrics(&format!("# TYPE a counter\n{bad}\n")).is_err(),
                "{bad} must not parse"
            );
        }
    }
}

/// The target folder of the suite's build: the suite's `rondo` is `<target>/<profile>/rondo`.
pub fn target_dir() -> PathBuf {
    let rondo_binary = Path::new(env!("CARGO_BIN_EXE_rondo"));
    rondo_binary
        .parent()
        .and_then(Path::parent)
        .expect("rondo is in a profile folder of a target folder")
        .to_path_buf()
}

/// An example app copied into a temporary `examples` folder, with the other examples beside it.
/// Fields drop in order: the app's folder, then the folder of the examples.
pub struct Example {
    pub app: App,
    _examples: tempfile::TempDir,
}

/// The example app `examples/NAME`, copied into a temporary folder so that what `rondo dev`
/// writes (its data folder, Python's caches) lands there and not in the repository. The other
/// examples are copied beside it, since an example may use another's files (`cart-python`
/// serves the page of `cart` as `../cart/public`). Leaves out what earlier runs or builds left
/// in the examples' folders.
pub fn example_app(name: &str) -> Example {
    let examples = repo().join("examples");
    assert!(
        examples.join(name).join("rondo.toml").is_file(),
        "no example app at {}",
        examples.join(name).display()
    );
    let copies = tempfile::tempdir().expect("temp dir");
    // The app's own folder is a temporary directory of its own, so `App` owns it; its name
    // differs from the example's, which no path of an example depends on.
    let app_dir = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(copies.path())
        .expect("temp dir");
    for entry in std::fs::read_dir(&examples).expect("read examples") {
        let source = entry.expect("read examples").path();
        let Some(file_name) = source.file_name() else {
            continue;
        };
        if !source.is_dir() {
            continue;
        }
        let destination = if file_name == name {
            app_dir.path().to_path_buf()
        } else {
            let sibling = copies.path().join(file_name);
            std::fs::create_dir(&sibling).expect("make an example's folder");
            sibling
        };
        copy_tree(&source, &destination);
    }
    Example {
        app: App { dir: app_dir },
        _examples: copies,
    }
}

/// Copies the folder `source` into `destination` (which exists), without the folders that runs
/// and builds write.
fn copy_tree(source: &Path, destination: &Path) {
    const LEFT_OUT: [&str; 4] = [".rondo", "target", "node_modules", "__pycache__"];
    let entries =
        std::fs::read_dir(source).unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
        let name = entry.file_name();
        if LEFT_OUT.iter().any(|left_out| name == *left_out) {
            continue;
        }
        let from = entry.path();
        let to = destination.join(&name);
        if from.is_dir() {
            std::fs::create_dir(&to).unwrap_or_else(|e| panic!("make {}: {e}", to.display()));
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
    }
}

/// Browser tests: Node scripts under `tests/browser/` drive Debian's Chromium with
/// playwright-core (no browser download). The first use in a run installs what is missing:
/// Chromium with apt-get, and playwright-core with `npm ci` into `<target>/browser-tests/`.
pub mod browser {
    use std::fs::File;
    use std::os::unix::process::CommandExt as _;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use super::{capture, repo, target_dir};

    /// Debian's `chromium` package installs the browser here.
    pub const CHROMIUM: &str = "/usr/bin/chromium";

    /// The oldest Node.js that the pinned playwright-core runs on.
    const NODE_MAJOR_MIN: u32 = 20;

    /// How long one script may run: a bound, not a speed expectation. The scripts bound their
    /// own steps well below it.
    const SCRIPT_WAIT_S: u64 = 300;

    /// What a script printed and how it ended.
    #[derive(Debug)]
    pub struct ScriptRun {
        pub success: bool,
        pub stdout: String,
        pub stderr: String,
    }

    /// Installs what the scripts need (Chromium, playwright-core) unless it is there already,
    /// so a test can do it before it starts what it measures or waits for.
    pub fn install() {
        chromium();
        scripts_dir();
    }

    /// Runs `node <script> <args>` from the prepared scripts folder, with Chromium installed;
    /// stops it (and the browser it started) past [`SCRIPT_WAIT_S`].
    pub fn run_script(script: &str, args: &[&str]) -> ScriptRun {
        let chromium = chromium();
        let dir = scripts_dir();
        let mut child = Command::new("node")
            .arg(dir.join(script))
            .args(args)
            .env("CHROMIUM", chromium)
            .current_dir(dir)
            // Its own process group, so a stop also reaches the browser's processes.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node");
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + Duration::from_secs(SCRIPT_WAIT_S);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The capturing threads end with the streams; give them a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let mut stderr = stderr.lock().expect("lock").clone();
        if status.is_none() {
            stderr.push_str(&format!("(stopped after {SCRIPT_WAIT_S} s)\n"));
        }
        let stdout = stdout.lock().expect("lock").clone();
        ScriptRun {
            success: status.is_some_and(|status| status.success()),
            stdout,
            stderr,
        }
    }

    /// The path of the artifact `file_name` under `<target>/artifacts/` (the folder is made).
    pub fn artifact(file_name: &str) -> PathBuf {
        let dir = target_dir().join("artifacts");
        std::fs::create_dir_all(&dir).expect("make the artifacts folder");
        dir.join(file_name)
    }

    /// The Chromium binary, installed with apt-get when missing: once per run, and under a
    /// machine-wide lock so that test processes running side by side install it once.
    pub fn chromium() -> &'static Path {
        static READY: OnceLock<()> = OnceLock::new();
        READY.get_or_init(|| {
            if Path::new(CHROMIUM).is_file() {
                return;
            }
            let _lock = lock(&std::env::temp_dir().join("rondo-test-chromium.lock"));
            if Path::new(CHROMIUM).is_file() {
                return;
            }
            if let Err(error) = install_chromium() {
                panic!(
                    "the browser tests need Chromium at {CHROMIUM}, and installing it failed \
                     ({error}); install Debian's package: `sudo apt-get install chromium`"
                );
            }
            assert!(
                Path::new(CHROMIUM).is_file(),
                "apt-get installed chromium, but there is no {CHROMIUM}"
            );
        });
        Path::new(CHROMIUM)
    }

    /// `apt-get install chromium`, as root or through `sudo -n`; `apt-get update` first when
    /// the install fails (an empty or old package list).
    fn install_chromium() -> Result<(), String> {
        let install = ["install", "-y", "--no-install-recommends", "chromium"];
        apt_get(&install).or_else(|_| {
            apt_get(&["update"])?;
            apt_get(&install)
        })
    }

    pub(super) fn apt_get(args: &[&str]) -> Result<(), String> {
        let mut command = if is_root() {
            Command::new("apt-get")
        } else {
            // -n: fail rather than wait for a password nobody types.
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        let output = command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {command:?}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "{command:?} failed with {}: {}",
            output.status,
            stderr.trim()
        ))
    }

    /// Whether this process runs as root (effective user id 0).
    fn is_root() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    }

    /// The folder the scripts run from: `tests/browser/` copied under `<target>/browser-tests/`
    /// with its `node_modules` installed by `npm ci` (again only when package-lock.json changed).
    fn scripts_dir() -> PathBuf {
        static READY: OnceLock<PathBuf> = OnceLock::new();
        READY.get_or_init(prepare_scripts).clone()
    }

    fn prepare_scripts() -> PathBuf {
        check_node();
        let source = repo().join("crates/rondo/tests/browser");
        let dir = target_dir().join("browser-tests");
        std::fs::create_dir_all(&dir).expect("make the browser-tests folder");
        let _lock = lock(&dir.join(".lock"));
        let wanted_lock =
            std::fs::read(source.join("package-lock.json")).expect("read package-lock.json");
        let installed_record = dir.join(".installed-package-lock.json");
        let installed = std::fs::read(&installed_record).ok().as_ref() == Some(&wanted_lock)
            && dir.join("node_modules").is_dir();
        if !installed {
            for file in ["package.json", "package-lock.json", ".npmrc"] {
                std::fs::copy(source.join(file), dir.join(file))
                    .unwrap_or_else(|e| panic!("copy {file}: {e}"));
            }
            let output = Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .expect("run npm (the browser tests need Node.js with npm)");
            assert!(
                output.status.success(),
                "npm ci in {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::write(&installed_record, &wanted_lock).expect("record the install");
        }
        // The scripts are copied every time, so an edit is run at once.
        for entry in std::fs::read_dir(&source).expect("read tests/browser") {
            let path = entry.expect("read tests/browser").path();
            if path.extension().is_some_and(|extension| extension == "mjs") {
                let name = path.file_name().expect("a file name");
                std::fs::copy(&path, dir.join(name))
                    .unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
            }
        }
        dir
    }

    /// Fails the test, saying what to install, unless Node.js new enough for playwright-core
    /// is on the PATH.
    fn check_node() {
        let version = Command::new("node")
            .arg("--version")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
        let major = version.as_deref().and_then(|version| {
            version
                .strip_prefix('v')?
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        });
        assert!(
            major.is_some_and(|major| major >= NODE_MAJOR_MIN),
            "the browser tests need Node.js {NODE_MAJOR_MIN} or later with npm on the PATH \
             (found {version:?})"
        );
    }

    /// Holds an exclusive lock on the file `path` (made if missing) until dropped.
    pub(super) fn lock(path: &Path) -> File {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open the lock file {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        file
    }
}

/// WebSocket APIs: a client of the gateway's WebSocket path (tokio-tungstenite), and API
/// Gateway's management API (`@connections`) on the AWS endpoint, through the real SDK client or
/// as raw signed requests.
pub mod websocket {
    use std::time::Duration;

    use bytes::Bytes;
    use futures_util::{SinkExt as _, StreamExt as _};
    use http_body_util::Full;
    use serde_json::Value;
    use tokio::net::TcpStream;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::{self, Message};
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    use super::Dev;

    /// How long a client waits for a frame it expects: a bound, not a speed expectation.
    pub const FRAME_WAIT_S: u64 = 60;

    /// A client's connection.
    pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

    /// The `ws://` URL of `path_and_query` on `dev`'s gateway.
    pub fn ws_url(dev: &Dev, path_and_query: &str) -> String {
        let authority = dev
            .gateway
            .strip_prefix("http://")
            .expect("the gateway's address is http://");
        format!("ws://{authority}{path_and_query}")
    }

    /// An upgrade request for `path_and_query` on `dev`'s gateway, with the WebSocket headers and
    /// `headers` besides.
    pub fn upgrade_request(
        dev: &Dev,
        path_and_query: &str,
        headers: &[(&'static str, &str)],
    ) -> http::Request<()> {
        let mut request = ws_url(dev, path_and_query)
            .into_client_request()
            .expect("a ws:// URL is a client request");
        for (name, value) in headers {
            let value = http::HeaderValue::from_str(value).expect("a header value");
            request.headers_mut().append(*name, value);
        }
        request
    }

    /// Opens a connection; the error carries a refused upgrade's response
    /// (`tungstenite::Error::Http`).
    pub async fn try_connect(request: http::Request<()>) -> Result<Socket, tungstenite::Error> {
        let connecting = tokio_tungstenite::connect_async(request);
        let (socket, _response) =
            tokio::time::timeout(Duration::from_secs(FRAME_WAIT_S), connecting)
                .await
                .expect("the upgrade was answered in time")?;
        Ok(socket)
    }

    /// Opens a connection to `path_and_query`; fails the test when the upgrade is refused.
    pub async fn connect(dev: &Dev, path_and_query: &str) -> Socket {
        try_connect(upgrade_request(dev, path_and_query, &[]))
            .await
            .unwrap_or_else(|e| panic!("connect to {path_and_query}: {}", refusal(&e)))
    }

    /// What a failed upgrade says: the status and body of a refusal, else the error.
    pub fn refusal(error: &tungstenite::Error) -> String {
        match error {
            tungstenite::Error::Http(response) => {
                let body = response.body().as_deref().unwrap_or_default();
                format!(
                    "{} {}",
                    response.status(),
                    String::from_utf8_lossy(body).into_owned()
                )
            }
            other => other.to_string(),
        }
    }

    /// The status of a refused upgrade; fails the test when the upgrade was accepted or failed
    /// otherwise.
    #[track_caller]
    pub fn refused_status(result: Result<Socket, tungstenite::Error>) -> u16 {
        match result {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("the upgrade failed without an HTTP answer: {other}"),
            Ok(_) => panic!("the upgrade was accepted"),
        }
    }

    /// Sends a text frame.
    pub async fn send_text(socket: &mut Socket, text: &str) {
        socket
            .send(Message::text(text))
            .await
            .unwrap_or_else(|e| panic!("send {text:?}: {e}"));
    }

    /// Sends a binary frame.
    pub async fn send_binary(socket: &mut Socket, bytes: &[u8]) {
        socket
            .send(Message::binary(bytes.to_vec()))
            .await
            .unwrap_or_else(|e| panic!("send {bytes:?}: {e}"));
    }

    /// The next text or binary frame (pings and pongs are skipped); fails the test on a close,
    /// the end of the connection, or no frame in time.
    pub async fn next_data(socket: &mut Socket) -> Message {
        let wait = Duration::from_secs(FRAME_WAIT_S);
        loop {
            let next = tokio::time::timeout(wait, socket.next())
                .await
                .expect("a frame arrived in time");
            match next {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return message,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => panic!("closed by the server: {frame:?}"),
                Some(Err(error)) => panic!("the connection failed: {error}"),
                None => panic!("the connection ended"),
            }
        }
    }

    /// The next frame, which must be text.
    pub async fn next_text(socket: &mut Socket) -> String {
        match next_data(socket).await {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be text holding JSON.
    pub async fn next_json(socket: &mut Socket) -> Value {
        let text = next_text(socket).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Reads until the server closes the connection; returns its close frame (`None` when it
    /// sent a close without one). Fails the test on a data frame, on a connection that ends
    /// without a close frame, or when nothing ends in time.
    pub async fn server_close(socket: &mut Socket) -> Option<CloseFrame> {
        let wait = Duration::from_secs(FRAME_WAIT_S);
        loop {
            let next = tokio::time::timeout(wait, socket.next())
                .await
                .expect("the server closed the connection in time");
            match next {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(data)) => panic!("expected a close, got {data:?}"),
                Some(Err(error)) => panic!("the connection failed before a close frame: {error}"),
                None => panic!("the connection ended without a close frame"),
            }
        }
    }

    /// Closes the connection from the client's side with `code` and `reason`, and waits for the
    /// server's answering close.
    pub async fn close(socket: &mut Socket, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        socket.close(Some(frame)).await.expect("send the close");
        let wait = Duration::from_secs(FRAME_WAIT_S);
        loop {
            let next = tokio::time::timeout(wait, socket.next())
                .await
                .expect("the server answered the close in time");
            match next {
                Some(Ok(_)) => {}
                Some(Err(tungstenite::Error::ConnectionClosed)) | None => return,
                Some(Err(error)) => panic!("closing failed: {error}"),
            }
        }
    }

    /// A client of API Gateway's management API on `dev`'s AWS endpoint, set up as the suite's
    /// other SDK clients: any key, retries off, a bound on each operation.
    pub fn management(dev: &Dev) -> aws_sdk_apigatewaymanagement::Client {
        super::aws_client!(aws_sdk_apigatewaymanagement, dev, "test", "test")
    }

    /// A raw management API request (`path` is e.g. `/@connections/ID%3D`), signed with SigV4 for
    /// `execute-api` in us-east-1 as the SDK signs.
    pub fn management_request(
        endpoint: &str,
        method: http::Method,
        path: &str,
        body: &[u8],
    ) -> http::Request<Full<Bytes>> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};

        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(format!("{endpoint}{path}"))
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let identity = aws_sdk_apigatewaymanagement::config::Credentials::new(
            "test", "test", None, None, "test",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("execute-api")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let uri = request.uri().to_string();
        let signable = SignableRequest::new(
            method.as_str(),
            uri,
            std::iter::empty(),
            SignableBody::Bytes(body),
        )
        .expect("signable request");
        let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
            .expect("sign")
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        request
    }

    /// A connection id as it goes into a URL path: API Gateway's ids end in `=`.
    pub fn encode_id(connection_id: &str) -> String {
        let mut encoded = String::new();
        for byte in connection_id.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        encoded
    }
}
