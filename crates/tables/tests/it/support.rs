//! A table service on a fresh store, and direct access to the store beneath it.

use std::ops::Bound;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use store::{Store, StoreOptions};
use tables::{ApiResult, Tables, TablesConfig};
use tempfile::TempDir;

/// A table service on a store in a temporary folder.
pub struct Fixture {
    pub dir: TempDir,
    pub store: Store,
    pub tables: Tables,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = open_store(dir.path());
        let tables = Tables::open(store.clone(), config()).expect("the tables open");
        Fixture { dir, store, tables }
    }

    /// Answers a DynamoDB operation, which must succeed.
    pub async fn ok(&self, operation: &str, request: Value) -> Value {
        self.call(operation, request)
            .await
            .unwrap_or_else(|error| panic!("{operation} fails: {error}"))
    }

    /// Answers a DynamoDB operation.
    pub async fn call(&self, operation: &str, request: Value) -> ApiResult<Value> {
        let body = serde_json::to_vec(&request).expect("JSON");
        self.tables.handle(operation, &body).await
    }

    /// Answers a DynamoDB Streams operation.
    pub async fn call_streams(&self, operation: &str, request: Value) -> ApiResult<Value> {
        let body = serde_json::to_vec(&request).expect("JSON");
        self.tables.handle_streams(operation, &body).await
    }

    /// Writes `value` under `key` directly into the store, as damage would.
    pub async fn put_raw(&self, key: &[u8], value: &[u8]) {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.store
            .write(move |txn| txn.put(&key, &value))
            .await
            .expect("the write commits")
            .expect("the put succeeds");
    }

    /// The keys in the store that start with `prefix`, in order.
    pub fn keys_with_prefix(&self, prefix: &[u8]) -> Vec<Vec<u8>> {
        let read = self.store.read().expect("a snapshot");
        read.range(Bound::Included(prefix), Bound::Unbounded, false)
            .expect("a range")
            .map(|entry| entry.expect("an entry").0)
            .take_while(|key| key.starts_with(prefix))
            .collect()
    }

    /// Closes the tables and the store, and opens the tables again on the same folder.
    pub fn reopen(self) -> (TempDir, ApiResult<Tables>) {
        let Fixture { dir, store, tables } = self;
        drop(tables);
        drop(store);
        let store = open_store(dir.path());
        let tables = Tables::open(store, config());
        (dir, tables)
    }
}

fn open_store(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).expect("the store opens")
}

fn config() -> TablesConfig {
    TablesConfig {
        region: "us-east-1".to_owned(),
        account_id: "000000000000".to_owned(),
        ttl_sweep_interval: Duration::from_secs(60),
        stream_retention: Duration::from_secs(24 * 3600),
    }
}
