//! Every limit and default of metering, in one place, with units in the names.

use std::time::Duration;

/// Most usage records waiting for the ledger's writer. [`Ledger::record`](crate::Ledger::record)
/// never waits: a record that finds the queue full is dropped and counted
/// (`rondo_metering_dropped_total`).
pub const QUEUE_RECORDS_MAX: usize = 16 * 1024;

/// The writer commits the records it has gathered once the first of them has waited this long.
pub const FLUSH_INTERVAL_MS: u64 = 50;

/// The writer commits at once when it has gathered this many records (one store transaction).
pub const FLUSH_RECORDS_MAX: usize = 1024;

/// Most raw records one rollup transaction folds into buckets, or buckets it deletes.
pub const ROLLUP_BATCH_ENTRIES_MAX: usize = 4096;

/// Default of [`LedgerConfig::raw_retention`](crate::LedgerConfig::raw_retention): raw records
/// younger than this stay exact.
pub const RAW_RETENTION_DEFAULT: Duration = Duration::from_secs(60 * 60);

/// Default of [`LedgerConfig::raw_records_max`](crate::LedgerConfig::raw_records_max).
pub const RAW_RECORDS_DEFAULT: u64 = 1_000_000;

/// The largest [`LedgerConfig::raw_records_max`](crate::LedgerConfig::raw_records_max)
/// accepted. A raw record takes about 100 bytes in the store, so this is about 1 GB.
pub const RAW_RECORDS_MAX: u64 = 10_000_000;

/// Default of [`LedgerConfig::bucket`](crate::LedgerConfig::bucket): hourly sums.
pub const BUCKET_DEFAULT: Duration = Duration::from_secs(60 * 60);

/// The shortest bucket accepted.
pub const BUCKET_MIN: Duration = Duration::from_secs(1);

/// The longest bucket accepted.
pub const BUCKET_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Default of [`LedgerConfig::bucket_retention`](crate::LedgerConfig::bucket_retention): a bit
/// over a year, so that a year's bill can be compared with the last.
pub const BUCKET_RETENTION_DEFAULT: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// Default of [`LedgerConfig::rollup_interval`](crate::LedgerConfig::rollup_interval).
pub const ROLLUP_INTERVAL_DEFAULT: Duration = Duration::from_secs(60);

/// A function name longer than this is cut (at a character boundary) before it is stored. The
/// manifest allows at most 64.
pub const FUNCTION_NAME_BYTES_MAX: usize = 255;

/// A source's text (a route key, a trigger's description) longer than this is cut (at a
/// character boundary) before it is stored.
pub const SOURCE_TEXT_BYTES_MAX: usize = 1024;

/// A cost summary reports its progress every this many store entries.
pub const PROGRESS_INTERVAL_ENTRIES: u64 = 10_000;

/// Most NDJSON progress lines the admin API holds for a slow client; further ones are skipped
/// (the final report is always sent).
pub const PROGRESS_LINES_QUEUED_MAX: usize = 16;

// How the limits relate, checked at compile time.
/// The bytes of one chunk of a backup's streamed body (`GET /rondo/v1/backup`).
pub const BACKUP_CHUNK_BYTES: usize = 256 * 1024;

/// Chunks of a backup waiting for the client: with the chunk the walk fills, what a backup
/// holds in memory, however large the store (a slow client slows the walk instead).
pub const BACKUP_CHUNKS_QUEUED_MAX: usize = 4;

const _: () = assert!(
    FLUSH_RECORDS_MAX <= QUEUE_RECORDS_MAX,
    "a full queue must be able to fill a write batch"
);
const _: () = assert!(
    RAW_RECORDS_DEFAULT <= RAW_RECORDS_MAX,
    "the default bound must be accepted"
);
const _: () = assert!(
    BUCKET_MIN.as_secs() <= BUCKET_DEFAULT.as_secs()
        && BUCKET_DEFAULT.as_secs() <= BUCKET_MAX.as_secs(),
    "the default bucket must be accepted"
);
const _: () = assert!(
    RAW_RETENTION_DEFAULT.as_secs() < BUCKET_RETENTION_DEFAULT.as_secs(),
    "raw records must be rolled up before buckets of their age are deleted"
);
// A bucket key holds a 12-byte prefix, a function name and a source text: it must fit a store key.
const _: () = assert!(
    12 + FUNCTION_NAME_BYTES_MAX + SOURCE_TEXT_BYTES_MAX <= store::limits::KEY_BYTES_MAX,
    "a bucket key must fit in a store key"
);
