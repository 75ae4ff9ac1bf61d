//! The store's one error type.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What went wrong in a store operation; each variant names the operation and the offending value.
///
/// It is `Clone` because one failed group commit is reported to every caller in the group.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store's folder could not be created.
    #[error("cannot create the store folder {dir}: {source}")]
    CreateDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: Arc<std::io::Error>,
    },
    /// Another store handle (in this process or another) has the store open.
    #[error(
        "the store in {dir} is already open (by another process, or another Store::open in this one)"
    )]
    Locked {
        /// The store's folder.
        dir: PathBuf,
    },
    /// The engine could not open the store's files.
    #[error("cannot open the store in {dir}: {source}")]
    Open {
        /// The store's folder.
        dir: PathBuf,
        /// The engine's error.
        source: EngineError,
    },
    /// An option passed to [`Store::open`](crate::Store::open) is out of range.
    #[error("store option {name} = {value} is outside 1..={max}")]
    InvalidOption {
        /// The option's field name in [`StoreOptions`](crate::StoreOptions).
        name: &'static str,
        /// The value given.
        value: usize,
        /// The largest value accepted.
        max: usize,
    },
    /// A read (a snapshot, a get or a range) failed in the engine.
    #[error("cannot read from the store: {source}")]
    Read {
        /// The engine's error.
        source: EngineError,
    },
    /// A group's writes could not be applied to the engine, so the group was not committed.
    #[error("cannot write to the store: {source}")]
    Write {
        /// The engine's error.
        source: EngineError,
    },
    /// The engine failed to commit a group; none of its transactions took effect.
    #[error("cannot commit a group of write transactions: {source}")]
    Commit {
        /// The engine's error.
        source: EngineError,
    },
    /// A key is longer than [`KEY_BYTES_MAX`](crate::limits::KEY_BYTES_MAX).
    #[error("key {key} is {key_bytes} bytes, over the limit of {max} bytes")]
    KeyTooLarge {
        /// The key's first bytes, escaped.
        key: String,
        /// The key's length.
        key_bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A value is longer than [`VALUE_BYTES_MAX`](crate::limits::VALUE_BYTES_MAX).
    #[error("value for key {key} is {value_bytes} bytes, over the limit of {max} bytes")]
    ValueTooLarge {
        /// The key's first bytes, escaped.
        key: String,
        /// The value's length.
        value_bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A transaction's write set grew past
    /// [`TRANSACTION_BYTES_MAX`](crate::limits::TRANSACTION_BYTES_MAX).
    #[error(
        "writing key {key} would make the transaction's writes {transaction_bytes} bytes, over the limit of {max} bytes"
    )]
    TransactionTooLarge {
        /// The key whose write went over, its first bytes escaped.
        key: String,
        /// The size the write set would have had.
        transaction_bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The writer thread is gone (it panicked), so no write can be carried out.
    #[error("the store's writer thread has stopped")]
    WriterStopped,
    /// A stored entry is not what its owner writes there: the value (or the key) does not
    /// decode. Made by the store's callers, which know their encodings, with
    /// [`StoreError::corrupt`].
    #[error("the entry under key {key} in the store is corrupt: {reason}")]
    Corrupt {
        /// The entry's key, its first bytes escaped.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// The entry under `key` cannot be read as what its owner writes there, because of `reason`
    /// (`"expected 8 bytes, found 3"`).
    ///
    /// Reading stored data checks it: a value that does not decode is this error, never a
    /// default or a zero.
    pub fn corrupt(key: &[u8], reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            key: show_key(key),
            reason: reason.into(),
        }
    }
}

/// An error from the storage engine, shared so that it can be handed to several callers.
#[derive(Clone)]
pub struct EngineError(Arc<dyn Error + Send + Sync>);

impl EngineError {
    pub(crate) fn new(error: impl Error + Send + Sync + 'static) -> EngineError {
        EngineError(Arc::new(error))
    }
}

impl fmt::Debug for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Error for EngineError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// How many of a key's bytes an error message shows.
const KEY_SHOWN_BYTES_MAX: usize = 64;

/// A key for an error message: its first bytes with non-printable bytes escaped, in quotes.
pub(crate) fn show_key(key: &[u8]) -> String {
    let shown = &key[..key.len().min(KEY_SHOWN_BYTES_MAX)];
    let mut text = String::with_capacity(shown.len() + 5);
    text.push('"');
    text.extend(shown.escape_ascii().map(char::from));
    if shown.len() < key.len() {
        text.push_str("...");
    }
    text.push('"');
    text
}
