//! Limits of stream triggers.

/// A batch's records, as JSON, must fit Lambda's synchronous invoke payload (6 MB), with room
/// for the event's envelope.
pub const BATCH_BYTES_MAX: usize = 6 * 1024 * 1024 - 64 * 1024;
/// The first retry of a failed batch waits this long; each further retry twice as long.
pub const RETRY_BACKOFF_MS_MIN: u64 = 100;
/// Retries never wait longer than this.
pub const RETRY_BACKOFF_MS_MAX: u64 = 5_000;

const _: () = assert!(RETRY_BACKOFF_MS_MIN < RETRY_BACKOFF_MS_MAX);
