//! DynamoDB-compatible tables on the store.
//!
//! [`Tables`] answers DynamoDB's JSON protocol: `handle("PutItem", body)` returns the response
//! body or an [`ApiError`] in DynamoDB's shape. The HTTP framing (X-Amz-Target dispatch,
//! SigV4) lives in the AWS endpoint; wasm functions reach the same entry point through a host
//! import, without HTTP.
//!
//! Every change of an item, its index entries, its TTL queue entry and its table's counters is
//! one store transaction (see `write.rs`), group-committed with other writers and acknowledged
//! only once durable. Table definitions live in the store too (`catalog.rs`) and are mirrored in
//! memory so the request path never parses them. Background work (index backfill, TTL expiry,
//! dropping deleted tables) runs in [`Tables::run_background`].

mod background;
mod batch;
mod catalog;
mod ddl;
mod error;
mod items_api;
mod keys;
pub mod limits;
mod manifest_tables;
mod query;
mod request;
mod schema;
mod stored;
mod streams;
mod transact;
mod write;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use store::Store;
use tokio::sync::Notify;

pub use error::{ApiError, ApiResult, ErrorCode};
pub use manifest_tables::ManifestError;
pub use streams::{ShardRecord, StreamInfo};

use crate::catalog::Catalog;

/// Node-wide settings of the table service.
#[derive(Debug, Clone)]
pub struct TablesConfig {
    /// The region and account that ARNs name.
    pub region: String,
    pub account_id: String,
    /// How often expired items are looked for. DynamoDB deletes them within days; rondo's
    /// default is a minute, and tests make it shorter.
    pub ttl_sweep_interval: Duration,
    /// How long stream records are kept (DynamoDB keeps them 24 hours).
    pub stream_retention: Duration,
}

/// The table service of one node. Cheap to clone.
#[derive(Clone)]
pub struct Tables {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    catalog: Catalog,
    config: TablesConfig,
    /// Wakes the background worker when there is new work (an index to fill, a table to drop).
    work: Notify,
    /// Serializes control-plane operations (they are rare; data-plane operations never take it).
    ddl: tokio::sync::Mutex<()>,
}

/// The operations rondo's tables answer, by their `X-Amz-Target` suffix.
pub const OPERATIONS: &[&str] = &[
    "CreateTable",
    "DescribeTable",
    "ListTables",
    "DeleteTable",
    "UpdateTable",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

impl Tables {
    /// Opens the table service on a store: loads the catalog.
    pub fn open(store: Store, config: TablesConfig) -> ApiResult<Tables> {
        let catalog = Catalog::load(&store)?;
        Ok(Tables {
            inner: Arc::new(Inner {
                store,
                catalog,
                config,
                work: Notify::new(),
                ddl: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Answers one DynamoDB operation. `body` is the request's JSON.
    pub async fn handle(&self, operation: &str, body: &[u8]) -> ApiResult<Value> {
        if body.len() > limits::REQUEST_BYTES_MAX {
            return Err(ApiError::validation(format!(
                "Request size exceeded {} bytes",
                limits::REQUEST_BYTES_MAX
            )));
        }
        let request: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::serialization(format!("The request body is not valid JSON: {e}"))
        })?;
        let request = request::Obj::root(&request)?;
        let inner = &self.inner;
        match operation {
            "CreateTable" => ddl::create_table(inner, request).await,
            "DescribeTable" => ddl::describe_table(inner, request),
            "ListTables" => ddl::list_tables(inner, request),
            "DeleteTable" => ddl::delete_table(inner, request).await,
            "UpdateTable" => ddl::update_table(inner, request).await,
            "UpdateTimeToLive" => ddl::update_time_to_live(inner, request).await,
            "DescribeTimeToLive" => ddl::describe_time_to_live(inner, request),
            "PutItem" => items_api::put_item(inner, request).await,
            "GetItem" => items_api::get_item(inner, request),
            "UpdateItem" => items_api::update_item(inner, request).await,
            "DeleteItem" => items_api::delete_item(inner, request).await,
            "Query" => query::query(inner, request),
            "Scan" => query::scan(inner, request),
            "BatchGetItem" => batch::batch_get_item(inner, request),
            "BatchWriteItem" => batch::batch_write_item(inner, request).await,
            "TransactWriteItems" => transact::transact_write_items(inner, request).await,
            "TransactGetItems" => transact::transact_get_items(inner, request),
            other => Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Unknown operation: {other}"),
            )),
        }
    }

    /// Answers one DynamoDB Streams operation (`X-Amz-Target: DynamoDBStreams_20120810.<op>`).
    pub async fn handle_streams(&self, operation: &str, body: &[u8]) -> ApiResult<Value> {
        let request: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::serialization(format!("The request body is not valid JSON: {e}"))
        })?;
        let request = request::Obj::root(&request)?;
        let inner = &self.inner;
        match operation {
            "ListStreams" => streams::list_streams(inner, request),
            "DescribeStream" => streams::describe_stream(inner, request),
            "GetShardIterator" => streams::get_shard_iterator(inner, request),
            "GetRecords" => streams::get_records(inner, request),
            other => Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Unknown operation: {other}"),
            )),
        }
    }

    /// Creates the manifest's tables that do not exist and updates those that changed
    /// (indexes, stream, TTL). Returns one line per change made.
    pub async fn apply_manifest(
        &self,
        specs: &[manifest::TableSpec],
    ) -> Result<Vec<String>, ManifestError> {
        manifest_tables::apply(&self.inner, specs).await
    }

    /// Runs background work until the returned future is dropped: filling new indexes and TTL
    /// queues, expiring items, dropping deleted tables' data.
    pub async fn run_background(&self) {
        background::run(Arc::clone(&self.inner)).await;
    }

    /// The table's current stream, if it has one.
    pub fn stream_info(&self, table: &str) -> ApiResult<Option<StreamInfo>> {
        streams::stream_info(&self.inner, table)
    }

    /// Records of one shard of a stream, from sequence number `from` on (for triggers).
    pub fn read_shard(
        &self,
        stream: &StreamInfo,
        shard: u16,
        from: u64,
        limit: usize,
        bytes_max: usize,
    ) -> ApiResult<Vec<ShardRecord>> {
        streams::read_shard(&self.inner, stream, shard, from, limit, bytes_max)
    }

    /// The store the tables live on (triggers keep their checkpoints there too).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The table names, in order.
    pub fn table_names(&self) -> Vec<String> {
        self.inner.catalog.all().keys().cloned().collect()
    }
}

impl Inner {
    fn table_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.config.region, self.config.account_id
        )
    }
}
