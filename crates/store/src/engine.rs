//! The boundary between the store's transactions and a storage engine.
//!
//! An engine offers exactly what the store needs: snapshots to read from, and one write
//! transaction at a time that the writer thread fills with a group and then commits or aborts.
//! Every engine-specific type stays behind these traits, so a second engine (PostgreSQL, see
//! `docs/design/002-store.md`) is one more implementation and no caller changes.

mod redb;

use std::ops::Bound;

use crate::StoreError;

pub(crate) use self::redb::RedbEngine;

/// An iterator over key/value pairs in key order (ascending, or descending when reversed).
pub(crate) type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// What the writer tells the engine to do with a group's engine transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupEnd {
    /// Make the group's writes durable.
    Commit,
    /// Nothing was written: drop the transaction without a commit (and without an fsync).
    Abort,
}

/// A storage engine.
pub(crate) trait Engine: Send + Sync + 'static {
    /// A snapshot of everything committed so far.
    fn read(&self) -> Result<Box<dyn EngineRead + Send + Sync>, StoreError>;

    /// Begins a write transaction, hands it to `group`, then commits it (durably: it has reached
    /// the disk when this returns) or aborts it as `group` says. If `group` fails, the
    /// transaction is aborted and its error returned.
    fn write_group(
        &self,
        group: &mut dyn FnMut(&mut dyn EngineWrite) -> Result<GroupEnd, StoreError>,
    ) -> Result<GroupEnd, StoreError>;
}

/// Reads from a snapshot or from the write transaction.
pub(crate) trait EngineRead {
    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// The entries with keys between `start` and `end`, lazily. The bounds never describe an
    /// empty or inverted range: the caller has checked them with [`is_empty_range`].
    fn range<'a>(
        &'a self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Entries<'a>, StoreError>;
}

/// The engine's write transaction, as the writer thread sees it.
pub(crate) trait EngineWrite: EngineRead {
    /// Stores `value` under `key`, replacing any value there.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key` and its value, if present.
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError>;
}

/// Whether no key can lie between `start` and `end`. Engines and `BTreeMap` may panic on such
/// bounds (an inverted range), so callers answer them with an empty iterator instead.
pub(crate) fn is_empty_range(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(start), Bound::Included(end)) => start > end,
        (Bound::Included(start), Bound::Excluded(end))
        | (Bound::Excluded(start), Bound::Included(end))
        | (Bound::Excluded(start), Bound::Excluded(end)) => start >= end,
    }
}
