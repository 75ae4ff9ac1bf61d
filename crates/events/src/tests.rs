//! Stream triggers on a real store and tables, running `test_trigger.wasm`, which writes one item
//! per record and invocation into the `log` table (`id` = `<SequenceNumber>#<request id>`, with
//! the record's `batch` size and the whole record): what each plan delivered, and when.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::{AppFunction, AppSnapshot, Code, InvocationSource, Observer, RouteTable, SharedSnapshot};
use bytes::Bytes;
use runtime::{
    FunctionConfig, InvokeError, Report, Runtime, RuntimeConfig, ServiceError, TableService, Tier,
};
use serde_json::{Value, json};
use store::Store;
use tables::Tables;

use crate::{TriggerContext, TriggerEvent, Triggers};

/// How long a test waits for what it expects: a bound, not a speed expectation.
const WAIT_MAX: Duration = Duration::from_secs(60);
/// How long a test waits, once what it expects has arrived, for anything that should not come.
const SETTLE: Duration = Duration::from_millis(500);

/// A folder under the system's temporary folder, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("rondo-events-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) struct NoObserver;

impl Observer for NoObserver {
    fn invocation_finished(
        &self,
        _report: &Report,
        _error: Option<&InvokeError>,
        _source: InvocationSource<'_>,
    ) {
    }
}

/// The functions' `tables` import, on the node's tables (as `control::FunctionTables`).
struct FunctionTables(Tables);

impl TableService for FunctionTables {
    fn call(
        &self,
        operation: &str,
        request: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, ServiceError>> + Send + 'static>> {
        let tables = self.0.clone();
        let operation = operation.to_owned();
        Box::pin(async move {
            match tables.handle(&operation, &request).await {
                Ok(answer) => Ok(Bytes::from(answer.to_string())),
                Err(error) => Err(ServiceError::new(error.code.name(), error.message)),
            }
        })
    }
}

/// Opens a store and its tables in `dir`, waiting while a node stopped just before still holds
/// the store (its aborted tasks ending).
pub(crate) async fn open_tables(dir: &Path) -> Tables {
    let deadline = Instant::now() + WAIT_MAX;
    let store = loop {
        match Store::open(&dir.join("store"), store::StoreOptions::default()) {
            Ok(store) => break store,
            Err(store::StoreError::Locked { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(error) => panic!("open the store: {error}"),
        }
    };
    Tables::open(
        store,
        tables::TablesConfig {
            region: runtime::REGION.to_owned(),
            account_id: runtime::ACCOUNT_ID.to_owned(),
            ttl_sweep_interval: Duration::from_secs(60),
            stream_retention: Duration::from_secs(86_400),
        },
    )
    .expect("open the tables")
}

/// Makes the manifest's tables so.
pub(crate) async fn make_tables(tables: &Tables, spec: &manifest::AppSpec) {
    let specs: Vec<manifest::TableSpec> = spec.tables.values().cloned().collect();
    tables
        .apply_manifest(&specs)
        .await
        .expect("make the tables");
}

/// An app snapshot of `functions` (name, committed test component, environment), each loaded
/// with baseline code and reaching `tables` through its `tables` import.
/// A test function: its name, its committed component and its environment.
pub(crate) type TestFunction<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

pub(crate) fn snapshot(tables: Option<&Tables>, functions: &[TestFunction<'_>]) -> SharedSnapshot {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 8,
        tables: tables.map(|t| Arc::new(FunctionTables(t.clone())) as Arc<dyn TableService>),
        connections: None,
    })
    .expect("the runtime starts");
    let functions = functions
        .iter()
        .map(|(name, wasm, environment)| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../test-programs/wasm")
                .join(wasm);
            let wasm = std::fs::read(&path).expect("the test guests are committed");
            let config = FunctionConfig {
                name: (*name).to_owned(),
                memory_mb: 64,
                timeout_ms: 5000,
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
                (*name).to_owned(),
                AppFunction::unlimited(Code::Wasm(function), 64),
            )
        })
        .collect();
    let app = AppSnapshot {
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
    };
    SharedSnapshot::new(Arc::new(app).into())
}

/// The app: `carts` with a stream, the `log` and `failures` tables, the `status` function, and
/// the given `[[trigger]]` sections.
fn manifest(triggers: &str) -> manifest::AppSpec {
    let text = format!(
        r#"[app]
name = "triggers"

[table.carts]
partition_key = {{ name = "pk", type = "S" }}
sort_key = {{ name = "sk", type = "S" }}
stream = "NEW_AND_OLD_IMAGES"

[table.log]
partition_key = {{ name = "id", type = "S" }}

[table.failures]
partition_key = {{ name = "id", type = "S" }}

# Keyed by names the on-failure record has as fields, with a numeric sort key.
[table.keyed]
partition_key = {{ name = "version", type = "S" }}
sort_key = {{ name = "timestamp", type = "N" }}

[function.status]
wasm = "trigger.wasm"

{triggers}
"#
    );
    manifest::parse(&text, "rondo.toml", Path::new("/app")).expect("the manifest")
}

/// A trigger from `carts` to `status` delivering the records whose `kind` is `kind`, from the
/// stream's start, `batch_size` at a time (waiting up to 100 ms for a batch to fill).
fn trigger(kind: &str, batch_size: u32) -> String {
    format!(
        r#"[[trigger]]
source = "table:carts"
function = "status"
starting_position = "TRIM_HORIZON"
batch_size = {batch_size}
batching_window_ms = 100
maximum_retry_attempts = 0
filter_patterns = ['{{"dynamodb": {{"NewImage": {{"kind": {{"S": ["{kind}"]}}}}}}}}']
"#
    )
}

struct Node {
    tables: Tables,
    triggers: Triggers,
    reports: Arc<Mutex<Vec<TriggerEvent>>>,
    _dir: TempDir,
}

impl Node {
    async fn open() -> Node {
        Node::open_with(&[("LOG_TABLE", "log")]).await
    }

    /// A node whose `status` function has `environment`.
    async fn open_with(environment: &[(&str, &str)]) -> Node {
        let dir = TempDir::new();
        let tables = open_tables(&dir.0).await;
        make_tables(&tables, &manifest("")).await;
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&reports);
        let triggers = Triggers::new(TriggerContext {
            tables: tables.clone(),
            snapshot: snapshot(
                Some(&tables),
                &[("status", "test_trigger.wasm", environment)],
            ),
            observer: Arc::new(NoObserver),
            report: Arc::new(move |event| {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(event);
            }),
        });
        Node {
            tables,
            triggers,
            reports,
            _dir: dir,
        }
    }

    fn reports(&self) -> Vec<TriggerEvent> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Scans `table`.
    async fn scan(&self, table: &str) -> Vec<Value> {
        let request = json!({ "TableName": table }).to_string();
        let scanned = self
            .tables
            .handle("Scan", request.as_bytes())
            .await
            .expect("scan");
        scanned["Items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `condition` holds of the reports.
    async fn wait_for_reports(&self, what: &str, condition: impl Fn(&[TriggerEvent]) -> bool) {
        let deadline = Instant::now() + WAIT_MAX;
        while !condition(&self.reports()) {
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; reports {:?}",
                self.reports()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Writes one item per `(sk, kind)` under the partition key `cart`, in one transaction (so
    /// one shard reads them together, in this order).
    async fn write(&self, items: &[(&str, &str)]) {
        let puts: Vec<Value> = items
            .iter()
            .map(|(sk, kind)| {
                json!({ "Put": { "TableName": "carts", "Item": {
                    "pk": {"S": "cart"}, "sk": {"S": sk}, "kind": {"S": kind},
                }}})
            })
            .collect();
        let request = json!({ "TransactItems": puts }).to_string();
        self.tables
            .handle("TransactWriteItems", request.as_bytes())
            .await
            .expect("TransactWriteItems");
    }

    /// The log: `(sort key, batch size)` per record and invocation.
    async fn log(&self) -> Vec<(String, u64)> {
        let request = json!({ "TableName": "log" }).to_string();
        let scanned = self
            .tables
            .handle("Scan", request.as_bytes())
            .await
            .expect("scan");
        let mut log: Vec<(String, u64)> = scanned["Items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let record: Value =
                    serde_json::from_str(item["record"]["S"].as_str().expect("a record"))
                        .expect("the record is JSON");
                let sk = record["dynamodb"]["Keys"]["sk"]["S"]
                    .as_str()
                    .expect("a sort key")
                    .to_owned();
                let batch = item["batch"]["N"]
                    .as_str()
                    .and_then(|n| n.parse().ok())
                    .expect("a batch size");
                (sk, batch)
            })
            .collect();
        log.sort();
        log
    }

    /// Waits until the log holds every sort key of `sks`; answers the log.
    async fn wait_for(&self, sks: &[&str]) -> Vec<(String, u64)> {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let log = self.log().await;
            if sks.iter().all(|sk| log.iter().any(|(s, _)| s == sk)) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {sks:?}; log {log:?}; reports {:?}",
                self.reports.lock().unwrap_or_else(|e| e.into_inner())
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// After a reload changes a trigger's filter and batch size, only the new plan delivers; after
/// a reload removes it, nothing does.
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_or_removed_trigger_stops_delivering_under_its_old_plan() {
    let node = Node::open().await;
    node.triggers.apply(&manifest(&trigger("a", 1)));
    node.write(&[("a0", "a")]).await;
    let log = node.wait_for(&["a0"]).await;
    assert_eq!(
        log,
        [("a0".to_owned(), 1)],
        "the first plan: kind a, one at a time"
    );

    // The new plan takes kind b, three at a time (the log's batch size counts the records
    // that pass the filter). An old shard task still running would deliver a1 and a2.
    node.triggers.apply(&manifest(&trigger("b", 3)));
    node.write(&[
        ("b1", "b"),
        ("b2", "b"),
        ("b3", "b"),
        ("a1", "a"),
        ("a2", "a"),
    ])
    .await;
    node.wait_for(&["b1", "b2", "b3"]).await;
    tokio::time::sleep(SETTLE).await;
    let log = node.log().await;
    let after: Vec<&(String, u64)> = log.iter().filter(|(sk, _)| sk != "a0").collect();
    assert_eq!(
        after,
        [
            &("b1".to_owned(), 3),
            &("b2".to_owned(), 3),
            &("b3".to_owned(), 3)
        ],
        "only the new plan delivers: {log:?}"
    );

    // Removed: nothing delivers.
    node.triggers.apply(&manifest(""));
    node.write(&[("a3", "a"), ("b4", "b")]).await;
    tokio::time::sleep(SETTLE).await;
    let removed = node.log().await;
    assert_eq!(removed, log, "a removed trigger delivers nothing");
}

/// Waits until `n_tasks` trigger tasks are alive (`None`: more than none).
async fn wait_for_tasks(triggers: &Triggers, n_tasks: Option<usize>) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let live = triggers.n_tasks();
        if n_tasks.map_or(live > 0, |n| live == n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{live} tasks alive, waiting for {n_tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every task a trigger starts has an owner that stops it: once `stop` returns none is alive,
/// and a plan replaced or removed by `apply` leaves none behind.
#[tokio::test(flavor = "multi_thread")]
async fn no_trigger_task_outlives_its_plan() {
    let node = Node::open().await;
    let lanes = |kind: &str| trigger(kind, 2) + "parallelization_factor = 3\n";
    node.triggers.apply(&manifest(&lanes("a")));
    wait_for_tasks(&node.triggers, None).await;
    // One supervisor, and a task per shard and lane.
    let per_plan = node.triggers.n_tasks();
    assert!(per_plan >= 4, "{per_plan} tasks");
    node.write(&[("a0", "a")]).await;
    node.wait_for(&["a0"]).await;

    // Replaced several times in a row: one plan's tasks at the end, not the sum.
    node.triggers.apply(&manifest(&lanes("b")));
    node.triggers.apply(&manifest(&lanes("c")));
    node.triggers.apply(&manifest(&lanes("a")));
    wait_for_tasks(&node.triggers, Some(per_plan)).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(node.triggers.n_tasks(), per_plan);

    // Two triggers, then none.
    node.triggers
        .apply(&manifest(&format!("{}\n{}", lanes("a"), lanes("b"))));
    wait_for_tasks(&node.triggers, Some(2 * per_plan)).await;
    node.triggers.apply(&manifest(""));
    wait_for_tasks(&node.triggers, Some(0)).await;

    // `stop` returns once every task has ended.
    node.triggers.apply(&manifest(&lanes("a")));
    wait_for_tasks(&node.triggers, Some(per_plan)).await;
    node.triggers.stop().await;
    assert_eq!(node.triggers.n_tasks(), 0, "no task alive after stop");
}

/// A trigger whose records marked `fail` fail their invocation, with no retry, and whose
/// failed batches go to `destination`.
fn failing_trigger(destination: &str) -> String {
    format!(
        r#"[[trigger]]
source = "table:carts"
function = "status"
starting_position = "TRIM_HORIZON"
batch_size = 1
maximum_retry_attempts = 0
on_failure = "table:{destination}"
"#
    )
}

impl Node {
    /// Writes the `carts` item `sk`, marked to fail when `fail`.
    async fn put(&self, sk: &str, fail: bool) {
        let mut item = json!({ "pk": {"S": "cart"}, "sk": {"S": sk} });
        if fail {
            item["fail"] = json!({ "BOOL": true });
        }
        let request = json!({ "TableName": "carts", "Item": item }).to_string();
        self.tables
            .handle("PutItem", request.as_bytes())
            .await
            .expect("PutItem");
    }

    async fn wait_for_items(&self, table: &str, n_items: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let items = self.scan(table).await;
            if items.len() >= n_items {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "{table} holds {items:?}; reports {:?}",
                self.reports()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The on-failure record's key is the table's, whatever its names: a record field named like a
/// key (`version`, `timestamp`) does not replace it, and a numeric sort key gets the time.
#[tokio::test(flavor = "multi_thread")]
async fn on_failure_records_fill_the_destinations_key() {
    let node = Node::open_with(&[("LOG_TABLE", "log"), ("FAIL_MODE", "error")]).await;
    node.triggers.apply(&manifest(&failing_trigger("keyed")));
    node.put("bad0", true).await;
    node.wait_for_items("keyed", 1).await;
    node.put("bad1", true).await;
    let items = node.wait_for_items("keyed", 2).await;
    assert_eq!(items.len(), 2, "two batches, two records: {items:?}");
    for item in &items {
        let id = item["version"]["S"].as_str().expect("a string id");
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "an id, not the record's version: {item}"
        );
        let time_ms: u64 = item["timestamp"]["N"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .expect("a numeric timestamp");
        assert!(time_ms > 1_700_000_000_000, "{item}");
        assert_eq!(
            item["requestContext"]["M"]["condition"]["S"],
            "RetryAttemptsExhausted"
        );
    }
    let discarded = node
        .reports()
        .iter()
        .filter(
            |r| matches!(r, TriggerEvent::Discarded { destination: Some(t), .. } if t == "keyed"),
        )
        .count();
    assert_eq!(discarded, 2, "{:?}", node.reports());
}

/// A failed batch whose record cannot be written holds its shard: the write is tried again
/// (each failure reported), nothing after the batch is delivered, and it is not said to be
/// in the table; once the table is back the record lands and the shard moves on.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_record_that_cannot_be_written_holds_the_shard() {
    let node = Node::open_with(&[("LOG_TABLE", "log"), ("FAIL_MODE", "error")]).await;
    let request = json!({ "TableName": "failures" }).to_string();
    node.tables
        .handle("DeleteTable", request.as_bytes())
        .await
        .expect("DeleteTable");
    node.triggers.apply(&manifest(&failing_trigger("failures")));
    node.put("bad", true).await;
    node.put("good", false).await;
    node.wait_for_reports("two failed writes", |reports| {
        reports
            .iter()
            .filter(|r| matches!(r, TriggerEvent::DestinationFailed { table, .. } if table == "failures"))
            .count()
            >= 2
    })
    .await;
    let log = node.log().await;
    assert!(
        log.iter().all(|(sk, _)| sk == "bad"),
        "nothing after the batch is delivered: {log:?}"
    );
    assert!(
        !node
            .reports()
            .iter()
            .any(|r| matches!(r, TriggerEvent::Discarded { .. })),
        "{:?}",
        node.reports()
    );

    make_tables(&node.tables, &manifest("")).await;
    node.wait_for(&["good"]).await;
    let failures = node.wait_for_items("failures", 1).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        node.reports().iter().any(
            |r| matches!(r, TriggerEvent::Discarded { destination: Some(t), .. } if t == "failures")
        ),
        "{:?}",
        node.reports()
    );
}

/// A checkpoint that cannot be read stops its shard loudly: the trigger reports it (naming the
/// key) and delivers nothing, rather than guessing where to resume.
#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_checkpoint_is_reported_and_delivers_nothing() {
    let node = Node::open().await;
    node.triggers.apply(&manifest(&trigger("a", 1)));
    node.write(&[("a0", "a")]).await;
    let before = node.wait_for(&["a0"]).await;
    node.triggers.stop().await;

    // Every checkpoint becomes three bytes instead of eight.
    let store = node.tables.store().clone();
    let prefix = [store::keyspace::Area::Checkpoints.prefix()];
    store
        .write(move |txn| -> Result<(), store::StoreError> {
            let keys: Vec<Vec<u8>> = txn
                .range(
                    std::ops::Bound::Included(&prefix[..]),
                    std::ops::Bound::Excluded(&[prefix[0] + 1][..]),
                    false,
                )?
                .map(|entry| entry.map(|(key, _)| key))
                .collect::<Result<_, _>>()?;
            assert!(!keys.is_empty(), "the trigger saved a checkpoint");
            for key in keys {
                txn.put(&key, b"bad")?;
            }
            Ok(())
        })
        .await
        .expect("the store writes")
        .expect("the checkpoints are rewritten");

    node.triggers.apply(&manifest(&trigger("a", 1)));
    node.write(&[("a1", "a")]).await;
    node.wait_for_reports("an unreadable checkpoint", |reports| {
        reports.iter().any(|report| {
            matches!(report, TriggerEvent::CheckpointUnreadable { error, .. } if error.contains("\\x04"))
        })
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        node.log().await,
        before,
        "nothing is delivered from a guessed place"
    );
}
