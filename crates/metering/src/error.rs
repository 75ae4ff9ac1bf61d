//! The errors of the ledger and of the admin API's queries.

use std::time::Duration;

use store::StoreError;

/// What went wrong in the ledger; each variant names the offending value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A field of [`LedgerConfig`](crate::LedgerConfig) is out of range.
    #[error("ledger option {name} = {value} is outside {allowed}")]
    InvalidConfig {
        /// The field's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        allowed: String,
    },
    /// [`Ledger::open`](crate::Ledger::open) was called outside a tokio runtime, where its
    /// writer task cannot run.
    #[error("the ledger must be opened inside a tokio runtime")]
    NoRuntime,
    /// The store failed.
    #[error("metering ledger: {0}")]
    Store(#[from] StoreError),
    /// An entry of the ledger's area of the store cannot be decoded.
    #[error("metering ledger: the entry under key {key} cannot be decoded")]
    Corrupt {
        /// The entry's key, escaped.
        key: String,
    },
    /// The ledger's writer has stopped (after [`Ledger::shutdown`](crate::Ledger::shutdown)).
    #[error("the metering ledger's writer has stopped")]
    Stopped,
}

/// A cost query the admin API cannot answer; each variant names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A parameter the cost query does not have.
    #[error("unknown parameter {name:?}: the cost query takes since, until, by and progress")]
    UnknownParameter {
        /// The parameter's name.
        name: String,
    },
    /// A parameter given twice.
    #[error("parameter {name:?} is given more than once")]
    RepeatedParameter {
        /// The parameter's name.
        name: String,
    },
    /// A parameter whose percent-encoding is broken or whose text is not UTF-8.
    #[error("parameter {name:?} is not valid percent-encoded UTF-8: {value:?}")]
    Encoding {
        /// The parameter's name.
        name: String,
        /// Its raw text.
        value: String,
    },
    /// `since` or `until` is neither an RFC 3339 time nor an age like `24h`.
    #[error(
        "{name} = {value:?} is neither an RFC 3339 time (2026-11-27T09:00:00Z) nor an age (90s, 30m, 24h, 7d)"
    )]
    InvalidTime {
        /// `since` or `until`.
        name: &'static str,
        /// The text given.
        value: String,
    },
    /// `since` is not before `until`.
    #[error("since ({since}) must be before until ({until})")]
    EmptyRange {
        /// `since`, as RFC 3339.
        since: String,
        /// `until`, as RFC 3339.
        until: String,
    },
    /// `by` is not one of the groupings.
    #[error("by = {value:?} is not one of function, route, trigger")]
    InvalidGroupBy {
        /// The text given.
        value: String,
    },
    /// `progress` is not `0` or `1`.
    #[error("progress = {value:?} is not 0 or 1")]
    InvalidProgress {
        /// The text given.
        value: String,
    },
    /// An age too long to subtract from the current time.
    #[error("{name} = {age:?} reaches before the Unix epoch")]
    AgeTooLong {
        /// `since` or `until`.
        name: &'static str,
        /// The age.
        age: Duration,
    },
}
