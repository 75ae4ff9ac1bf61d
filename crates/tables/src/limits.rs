//! DynamoDB's limits, as rondo enforces them (aws-semantics §4.7).

/// A request body larger than this is refused before parsing (BatchWriteItem's documented 16 MB).
pub const REQUEST_BYTES_MAX: usize = 16 * 1024 * 1024;
/// A Query or Scan page stops after reading this many bytes of items (before the filter).
pub const PAGE_BYTES_MAX: usize = 1024 * 1024;
/// Keys in one BatchGetItem.
pub const BATCH_GET_KEYS_MAX: usize = 100;
/// Put and delete requests in one BatchWriteItem.
pub const BATCH_WRITE_REQUESTS_MAX: usize = 25;
/// Actions in one TransactWriteItems or TransactGetItems.
pub const TRANSACT_ACTIONS_MAX: usize = 100;
/// The aggregate size of the items in one transaction.
pub const TRANSACT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// How long a ClientRequestToken makes TransactWriteItems idempotent.
pub const TRANSACT_TOKEN_TTL_SECS: u64 = 10 * 60;
/// Length of a ClientRequestToken.
pub const TRANSACT_TOKEN_CHARS_MAX: usize = 36;
/// Global secondary indexes per table (DynamoDB's default quota).
pub const GSIS_MAX: usize = 20;
/// Local secondary indexes per table.
pub const LSIS_MAX: usize = 5;
/// Projected non-key attributes over all indexes of a table.
pub const PROJECTED_ATTRIBUTES_MAX: usize = 100;
/// Table and index names: length bounds.
pub const NAME_CHARS_MIN: usize = 3;
pub const NAME_CHARS_MAX: usize = 255;
/// Partition key values, in bytes.
pub const PARTITION_KEY_BYTES_MAX: usize = 2048;
/// Sort key values, in bytes.
pub const SORT_KEY_BYTES_MAX: usize = 1024;
/// ListTables page size bounds.
pub const LIST_TABLES_LIMIT_MAX: usize = 100;
/// Tables per node (DynamoDB's default quota per account and region is 2,500).
pub const TABLES_MAX: usize = 2500;
/// Parallel scan segments.
pub const TOTAL_SEGMENTS_MAX: u32 = 1_000_000;
/// TTL values further in the past than this are ignored, as DynamoDB ignores them.
pub const TTL_PAST_SECS_MAX: i64 = 5 * 365 * 24 * 3600;
/// The TTL sweeper deletes at most this many items per transaction.
pub const TTL_DELETES_PER_COMMIT: usize = 256;
/// Background work (index backfill, dropping a deleted table's data) touches at most this many keys per commit.
pub const BACKGROUND_KEYS_PER_COMMIT: usize = 1000;

/// Shards of each stream; an item's records all go to the shard of its partition key.
pub const STREAM_SHARDS: u16 = 4;
/// Records per GetRecords.
pub const GET_RECORDS_LIMIT_MAX: usize = 1000;
/// Streams per ListStreams page.
pub const LIST_STREAMS_LIMIT_MAX: usize = 100;
/// A shard iterator expires this long after it was issued.
pub const SHARD_ITERATOR_TTL_SECS: u64 = 15 * 60;

// How the limits relate, checked at compile time.
const _: () = assert!(PAGE_BYTES_MAX < REQUEST_BYTES_MAX);
const _: () = assert!(BATCH_WRITE_REQUESTS_MAX < BATCH_GET_KEYS_MAX);
const _: () = assert!(TRANSACT_BYTES_MAX < REQUEST_BYTES_MAX);
const _: () = assert!(SORT_KEY_BYTES_MAX < PARTITION_KEY_BYTES_MAX);
const _: () = assert!(NAME_CHARS_MIN < NAME_CHARS_MAX);
