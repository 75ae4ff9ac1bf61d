//! Read snapshots and write transactions.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::iter::Peekable;
use std::ops::Bound;

use crate::StoreError;
use crate::engine::{self, EngineRead, EngineWrite, Entries};
use crate::error::show_key;
use crate::limits::{KEY_BYTES_MAX, TRANSACTION_BYTES_MAX, VALUE_BYTES_MAX};

/// A consistent read-only snapshot of everything committed when it was taken.
///
/// Later commits do not change what it sees. Hold it briefly: the engine keeps the pages it
/// reads until it is dropped.
pub struct ReadTxn {
    snapshot: Box<dyn EngineRead + Send + Sync>,
}

/// The entries of a key range, read lazily, in key order or reverse key order.
pub struct Range<'txn> {
    entries: Entries<'txn>,
}

/// One write transaction, handed to the function passed to [`Store::write`](crate::Store::write).
///
/// It reads the store as left by the transactions committed and grouped before it, plus its own
/// writes. Its writes are kept aside until the function returns `Ok`; they then join the group.
///
/// If any of its methods fails, the whole transaction fails: its writes are discarded and `write`
/// returns that error, whatever the function returns (as a PostgreSQL transaction is aborted by
/// its first failed statement).
pub struct WriteTxn<'group> {
    group: &'group mut dyn EngineWrite,
    /// This transaction's writes: `Some(value)` for a put, `None` for a delete.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The bytes of every key and value in `writes`.
    writes_bytes: usize,
    /// The first error any method returned.
    failure: OnceCell<StoreError>,
}

impl ReadTxn {
    pub(crate) fn new(snapshot: Box<dyn EngineRead + Send + Sync>) -> ReadTxn {
        ReadTxn { snapshot }
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.snapshot.get(key)
    }

    /// The entries with keys in `[start, end)` (as the bounds say), ascending, or descending when
    /// `reverse`. Entries are read as the iterator advances. Inverted bounds give no entries.
    pub fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Range<'_>, StoreError> {
        let entries = if engine::is_empty_range(start, end) {
            Box::new(std::iter::empty())
        } else {
            self.snapshot.range(start, end, reverse)?
        };
        Ok(Range { entries })
    }
}

impl fmt::Debug for ReadTxn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadTxn").finish_non_exhaustive()
    }
}

impl Iterator for Range<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next()
    }
}

impl fmt::Debug for Range<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Range").finish_non_exhaustive()
    }
}

impl<'group> WriteTxn<'group> {
    pub(crate) fn new(group: &'group mut dyn EngineWrite) -> WriteTxn<'group> {
        WriteTxn {
            group,
            writes: BTreeMap::new(),
            writes_bytes: 0,
            failure: OnceCell::new(),
        }
    }

    /// The value stored under `key`, including this transaction's own writes.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(written) => Ok(written.clone()),
            None => self.group.get(key).map_err(|error| self.fail(error)),
        }
    }

    /// The entries with keys in `[start, end)` (as the bounds say), ascending, or descending when
    /// `reverse`, including this transaction's own writes. Entries are read as the iterator
    /// advances. Inverted bounds give no entries.
    pub fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Range<'_>, StoreError> {
        if engine::is_empty_range(start, end) {
            return Ok(Range {
                entries: Box::new(std::iter::empty()),
            });
        }
        let stored = self
            .group
            .range(start, end, reverse)
            .map_err(|error| self.fail(error))?
            .inspect(|entry| {
                if let Err(error) = entry {
                    self.fail(error.clone());
                }
            });
        let written = self.writes.range::<[u8], _>((start, end));
        let written: Writes<'_> = if reverse {
            Box::new(written.rev())
        } else {
            Box::new(written)
        };
        Ok(Range {
            entries: Box::new(Merge {
                stored: stored.peekable(),
                written: written.peekable(),
                reverse,
            }),
        })
    }

    /// Stores `value` under `key`, replacing any value there.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let result = self.check_put(key, value);
        if let Err(error) = result {
            return Err(self.fail(error));
        }
        self.record(key, Some(value));
        Ok(())
    }

    /// Removes `key` and its value, if present. A key longer than
    /// [`KEY_BYTES_MAX`](crate::limits::KEY_BYTES_MAX) cannot be stored, so deleting one does
    /// nothing.
    pub fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if key.len() <= KEY_BYTES_MAX {
            let result = self.check_size(key, None);
            if let Err(error) = result {
                return Err(self.fail(error));
            }
            self.record(key, None);
        }
        // A longer key cannot have been stored: there is nothing to delete.
        Ok(())
    }

    /// The first error this transaction's methods returned, if any.
    pub(crate) fn take_failure(&mut self) -> Option<StoreError> {
        self.failure.take()
    }

    /// Whether the transaction wrote anything.
    pub(crate) fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The bytes of every key and value this transaction wrote.
    pub(crate) fn writes_bytes(&self) -> usize {
        self.writes_bytes
    }

    /// Applies this transaction's writes to the group's engine transaction.
    pub(crate) fn apply(self) -> Result<(), StoreError> {
        for (key, value) in &self.writes {
            match value {
                Some(value) => self.group.put(key, value)?,
                None => self.group.delete(key)?,
            }
        }
        Ok(())
    }

    fn check_put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if key.len() > KEY_BYTES_MAX {
            return Err(StoreError::KeyTooLarge {
                key: show_key(key),
                key_bytes: key.len(),
                max: KEY_BYTES_MAX,
            });
        }
        if value.len() > VALUE_BYTES_MAX {
            return Err(StoreError::ValueTooLarge {
                key: show_key(key),
                value_bytes: value.len(),
                max: VALUE_BYTES_MAX,
            });
        }
        self.check_size(key, Some(value))
    }

    /// Checks that writing `value` under `key` keeps the write set within its limit.
    fn check_size(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let transaction_bytes =
            self.writes_bytes - self.written_bytes(key) + entry_bytes(key, value);
        if transaction_bytes > TRANSACTION_BYTES_MAX {
            return Err(StoreError::TransactionTooLarge {
                key: show_key(key),
                transaction_bytes,
                max: TRANSACTION_BYTES_MAX,
            });
        }
        Ok(())
    }

    /// The bytes this transaction's write of `key`, if any, takes.
    fn written_bytes(&self, key: &[u8]) -> usize {
        self.writes
            .get(key)
            .map_or(0, |value| entry_bytes(key, value.as_deref()))
    }

    fn record(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.writes_bytes = self.writes_bytes - self.written_bytes(key) + entry_bytes(key, value);
        self.writes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        debug_assert!(self.writes_bytes <= TRANSACTION_BYTES_MAX);
    }

    /// Records `error` as the transaction's failure (keeping the first one) and returns it.
    fn fail(&self, error: StoreError) -> StoreError {
        // Only the first failure is kept: it is the cause of any later one.
        let _ = self.failure.set(error.clone());
        error
    }
}

impl fmt::Debug for WriteTxn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteTxn")
            .field("writes", &self.writes.len())
            .field("writes_bytes", &self.writes_bytes)
            .finish_non_exhaustive()
    }
}

fn entry_bytes(key: &[u8], value: Option<&[u8]>) -> usize {
    key.len() + value.map_or(0, <[u8]>::len)
}

/// A transaction's own writes in one direction: `Some(value)` for a put, `None` for a delete.
type Writes<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

/// The entries of the group's engine transaction merged with a transaction's own writes, which
/// win on equal keys. Both inputs run in the same direction.
struct Merge<'a, S: Iterator> {
    stored: Peekable<S>,
    written: Peekable<Writes<'a>>,
    reverse: bool,
}

impl<S> Iterator for Merge<'_, S>
where
    S: Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
{
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.stored.peek(), self.written.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((stored_key, _))), Some((written_key, _))) => {
                    let order = stored_key.as_slice().cmp(written_key.as_slice());
                    if self.reverse { order.reverse() } else { order }
                }
            };
            if order == Ordering::Less {
                return self.stored.next();
            }
            if order == Ordering::Equal {
                // The transaction's own write replaces the stored entry.
                self.stored.next();
            }
            let (key, value) = self.written.next()?;
            if let Some(value) = value {
                return Some(Ok((key.clone(), value.clone())));
            }
            // A delete hides the stored entry; go on to the next key.
        }
    }
}
