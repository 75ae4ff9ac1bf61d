//! Every limit the store enforces, in one place, with units in the names.
//!
//! The group and queue limits are the defaults of [`StoreOptions`](crate::StoreOptions) and the
//! largest values it accepts; the key, value and transaction limits are fixed.

/// Largest key, in bytes. A DynamoDB index entry's key holds the index's own partition and sort
/// key (at most 2048 + 1024 bytes) followed by the item's (the same again), plus a short prefix:
/// about 6 KiB at worst.
pub const KEY_BYTES_MAX: usize = 8 * 1024;

/// Largest value, in bytes. The largest value rondo stores is a stream record that carries an
/// item's old and new image (DynamoDB items are at most 400 KB each).
pub const VALUE_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Largest write set of one transaction (the bytes of every key it puts or deletes and of every
/// value it puts). The write set is held in memory until the transaction ends.
pub const TRANSACTION_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Most transactions one group commit carries (one engine transaction, one fsync).
pub const GROUP_TRANSACTIONS_MAX: usize = 256;

/// Once the write sets of a group add up to this many bytes, the group commits without taking
/// more transactions. A group therefore holds less than `GROUP_BYTES_MAX + TRANSACTION_BYTES_MAX`.
pub const GROUP_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most transactions waiting for the writer. A caller that finds the queue full waits for room
/// (an async caller without blocking its thread), so waiting work never grows without bound.
pub const QUEUE_TRANSACTIONS_MAX: usize = 1024;

/// Most bytes of keys and values one transaction of a restore writes
/// ([`backup::restore`](crate::backup::restore)): a restore commits in batches this size, so it
/// holds about this much in memory whatever the backup's size.
pub const RESTORE_BATCH_BYTES_MAX: usize = 8 * 1024 * 1024;

// How the limits relate, checked at compile time.
const _: () = assert!(
    KEY_BYTES_MAX + VALUE_BYTES_MAX <= TRANSACTION_BYTES_MAX,
    "a transaction must hold at least one put of the largest key and value"
);
const _: () = assert!(
    TRANSACTION_BYTES_MAX <= GROUP_BYTES_MAX,
    "a group must hold the largest transaction"
);
const _: () = assert!(
    GROUP_TRANSACTIONS_MAX <= QUEUE_TRANSACTIONS_MAX,
    "a full queue must be able to fill a group"
);
const _: () = assert!(
    RESTORE_BATCH_BYTES_MAX + KEY_BYTES_MAX + VALUE_BYTES_MAX <= TRANSACTION_BYTES_MAX,
    "a restore's batch, with the largest entry it may end on, fits one transaction"
);
