//! Fixtures built once per fuzzing process: a tokio runtime, a table service on a fresh store, an
//! app with one handler-world function. Their state lives as long as the process, so an input
//! runs against what earlier inputs left (tables they created, items they wrote); the setup
//! itself is the same every run.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use app::{
    AppFunction, AppSnapshot, AsyncQueue, Code, EnqueueError, InvocationSource, Observer,
    QueuedEvent, RouteTable, SharedSnapshot, WebSocketApi,
};
use arc_swap::ArcSwap;
use runtime::{FunctionConfig, InvokeError, Report, Runtime, RuntimeConfig, Tier};
use store::{Store, StoreOptions};
use tables::{Tables, TablesConfig};

/// The access key id the SigV4 target's policy knows, and its secret.
pub const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A single-threaded runtime the async decoders run on (`block_on`).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds")
    });
    &RUNTIME
}

/// A table service on a store in a fresh folder (`<temp>/rondo-fuzz/tables-<target>`, emptied
/// when the process starts), with two tables: `tab` (a string partition key `pk`, a
/// numeric sort key `sk`, an index `by_g` on `g`, a stream of new and old images) and `h` (a
/// binary partition key `pk` only), and a few items in `tab`, so that its stream has records.
pub fn tables() -> &'static Tables {
    static TABLES: LazyLock<Tables> = LazyLock::new(|| {
        let dir = fresh_dir("tables");
        let store = Store::open(&dir, StoreOptions::default()).expect("the store opens");
        let config = TablesConfig {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            ttl_sweep_interval: Duration::from_secs(60),
            stream_retention: Duration::from_secs(24 * 3600),
        };
        let tables = Tables::open(store, config).expect("the tables open");
        runtime().block_on(async {
            for (operation, request) in SETUP {
                if let Err(error) = tables.handle(operation, request.as_bytes()).await {
                    panic!("the fixture's {operation} failed: {error:?}");
                }
            }
        });
        tables
    });
    &TABLES
}

const SETUP: &[(&str, &str)] = &[
    (
        "CreateTable",
        r#"{"TableName":"tab","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},
              {"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"g","AttributeType":"S"}],
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
            "GlobalSecondaryIndexes":[{"IndexName":"by_g",
              "KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}],
            "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}}"#,
    ),
    (
        "CreateTable",
        r#"{"TableName":"hash","BillingMode":"PAY_PER_REQUEST",
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"B"}],
            "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#,
    ),
    (
        "PutItem",
        r#"{"TableName":"tab","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"},
            "l":{"L":[{"N":"1"},{"S":"s"}]},"m":{"M":{"x":{"BOOL":true}}},"ss":{"SS":["a","b"]}}}"#,
    ),
    (
        "PutItem",
        r#"{"TableName":"tab","Item":{"pk":{"S":"a"},"sk":{"N":"2"},"n":{"N":"-1.5e3"}}}"#,
    ),
    (
        "UpdateItem",
        r#"{"TableName":"tab","Key":{"pk":{"S":"a"},"sk":{"N":"2"}},
            "UpdateExpression":"SET n = n + :one","ExpressionAttributeValues":{":one":{"N":"1"}}}"#,
    ),
    (
        "DeleteItem",
        r#"{"TableName":"tab","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}"#,
    ),
];

/// An app of one handler-world function, `tester` (`test-programs/wasm/test_handler.wasm`,
/// baseline code), with a WebSocket API whose selection expression is `$request.body.action`
/// and whose routes `echo`, `1`, `true`, `$default` and `$connect` all go to `tester`.
pub fn app() -> &'static Arc<AppSnapshot> {
    static APP: LazyLock<Arc<AppSnapshot>> = LazyLock::new(|| {
        let tester = function();
        let routes = ["echo", "1", "true", "$default", "$connect"]
            .into_iter()
            .map(|key| (key.to_owned(), tester.clone()))
            .collect();
        let websocket = WebSocketApi::new("/ws".to_owned(), "$request.body.action", routes);
        Arc::new(AppSnapshot {
            routes: RouteTable::new(Vec::new()),
            functions: HashMap::from([("tester".to_owned(), tester)]),
            request_body_bytes_max: 1 << 20,
            billing: manifest::BillingSpec {
                granularity_ms: 1,
                price_per_gb_second_nano_usd: 16_667,
                price_per_request_nano_usd: 200,
            },
            websocket: Some(websocket),
            static_files: None,
        })
    });
    &APP
}

/// [`app`] as the request path holds it.
pub fn snapshot() -> &'static SharedSnapshot {
    static SNAPSHOT: LazyLock<SharedSnapshot> =
        LazyLock::new(|| Arc::new(ArcSwap::new(Arc::clone(app()))));
    &SNAPSHOT
}

/// [`app`]'s WebSocket API.
pub fn websocket_api() -> &'static WebSocketApi {
    app()
        .websocket
        .as_ref()
        .expect("the fixture has a WebSocket API")
}

/// Takes every event and forgets it, as a queue with room does.
pub struct AcceptingQueue;

impl AsyncQueue for AcceptingQueue {
    fn enqueue(
        &self,
        _event: QueuedEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
}

/// Ignores every invocation.
pub struct NoObserver;

impl Observer for NoObserver {
    fn invocation_finished(
        &self,
        _report: &Report,
        _error: Option<&InvokeError>,
        _source: InvocationSource<'_>,
    ) {
    }
}

fn function() -> AppFunction {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: None,
        connections: None,
    })
    .expect("the runtime starts");
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-programs/wasm/test_handler.wasm");
    let wasm = std::fs::read(&path).expect("the test guests are committed");
    let config = FunctionConfig {
        name: "tester".to_owned(),
        memory_mb: 64,
        timeout_ms: 1000,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };
    let function = runtime
        .load(&config, &wasm, Tier::Baseline)
        .expect("the test guest loads");
    AppFunction::unlimited(Code::Wasm(function), 64)
}

/// `<temp>/rondo-fuzz/<name>-<target>`, emptied: one folder per fuzz target (the running
/// program's name), so that runs of one target reuse it instead of leaving folders behind.
fn fresh_dir(name: &str) -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "target".to_owned());
    let dir = std::env::temp_dir()
        .join("rondo-fuzz")
        .join(format!("{name}-{target}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the fixture's folder is made");
    dir
}

/// The markers the DynamoDB Streams target replaces with real ids, because a fuzzer cannot guess them:
/// `@arn` (the stream ARN of table `tab`, which has its creation time in it), `@shard` (its first
/// shard's id) and `@iterator` (a shard iterator from `TRIM_HORIZON` of that shard, fresh: an
/// iterator expires after 15 minutes).
pub fn substitute_stream_ids(body: &[u8]) -> Vec<u8> {
    static STREAM: LazyLock<(String, String)> = LazyLock::new(|| {
        let described = stream_call("DescribeStream", &serde_json::json!({ "StreamArn": arn() }));
        let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .expect("the stream has a shard")
            .to_owned();
        (arn(), shard)
    });
    fn arn() -> String {
        let listed = stream_call("ListStreams", &serde_json::json!({ "TableName": "tab" }));
        listed["Streams"][0]["StreamArn"]
            .as_str()
            .expect("table tab has a stream")
            .to_owned()
    }
    let (arn, shard) = &*STREAM;
    let mut filled = replace(body, b"@arn", arn.as_bytes());
    filled = replace(&filled, b"@shard", shard.as_bytes());
    if contains(&filled, b"@iterator") {
        let request = serde_json::json!({
            "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON",
        });
        let iterator = stream_call("GetShardIterator", &request);
        let iterator = iterator["ShardIterator"].as_str().expect("an iterator");
        filled = replace(&filled, b"@iterator", iterator.as_bytes());
    }
    filled
}

fn stream_call(operation: &str, request: &serde_json::Value) -> serde_json::Value {
    let body = request.to_string();
    let answer = runtime().block_on(tables().handle_streams(operation, body.as_bytes()));
    answer.unwrap_or_else(|error| panic!("the fixture's {operation} failed: {error:?}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest
        .windows(needle.len())
        .position(|window| window == needle)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}
