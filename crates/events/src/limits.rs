//! Limits of stream triggers and asynchronous invocations.

/// A batch's records, as JSON, must fit Lambda's synchronous invoke payload (6 MB), with room
/// for the event's envelope.
pub const BATCH_BYTES_MAX: usize = 6 * 1024 * 1024 - 64 * 1024;
/// The first retry of a failed batch waits this long; each further retry twice as long.
pub const RETRY_BACKOFF_MS_MIN: u64 = 100;
/// Retries never wait longer than this.
pub const RETRY_BACKOFF_MS_MAX: u64 = 5_000;

const _: () = assert!(RETRY_BACKOFF_MS_MIN < RETRY_BACKOFF_MS_MAX);

// Destinations (a trigger's on-failure table, an asynchronous invocation's on-failure and
// on-success tables).

/// A record that cannot be written to its destination table is written again after this long,
/// twice as long after each further failure, up to [`DESTINATION_BACKOFF_MS_MAX`]; it is never
/// given up (its batch or event waits for it).
pub const DESTINATION_BACKOFF_MS_MIN: u64 = 1_000;
pub const DESTINATION_BACKOFF_MS_MAX: u64 = 60_000;

const _: () = assert!(DESTINATION_BACKOFF_MS_MIN < DESTINATION_BACKOFF_MS_MAX);

// Asynchronous invocations (`InvocationType: Event`).

/// Most events a node holds at once (waiting, retrying or running); more are refused with 429.
pub const ASYNC_PENDING_EVENTS_MAX: usize = 100_000;
/// Most payload bytes the pending events of a node hold together; more are refused with 429.
pub const ASYNC_PENDING_BYTES_MAX: u64 = 1 << 30;
/// Most asynchronous invocations running at once on a node.
pub const ASYNC_IN_FLIGHT_MAX: usize = 64;
/// The wait before the first retry after a function error (Lambda: about a minute); the
/// second retry waits twice as long. A node option (`rondo dev --async-retry-delay-ms`).
pub const ASYNC_RETRY_DELAY_MS_DEFAULT: u64 = 60_000;
/// A throttled invocation is tried again after this long, twice as long after each further
/// throttle, up to [`ASYNC_THROTTLE_BACKOFF_MS_MAX`] (Lambda: 1 s up to 5 minutes).
pub const ASYNC_THROTTLE_BACKOFF_MS_MIN: u64 = 1_000;
pub const ASYNC_THROTTLE_BACKOFF_MS_MAX: u64 = 300_000;
/// A failed attempt's error type and message are kept for the invocation record, cut to these
/// lengths.
pub const ASYNC_ERROR_TYPE_BYTES_MAX: usize = 256;
pub const ASYNC_ERROR_MESSAGE_BYTES_MAX: usize = 16 * 1024;
/// Everything a stored event holds besides its payload (ids, names, destinations, the last
/// error) fits in this many bytes.
pub const ASYNC_EVENT_HEADER_BYTES_MAX: usize = 32 * 1024;
/// An invocation record larger than this (as JSON) goes to its destination table without its
/// payloads: a DynamoDB item holds at most 400 KB.
pub const ASYNC_RECORD_BYTES_MAX: usize = 350 * 1024;
/// An event whose read or write failed in the store is taken up again after this long.
pub const ASYNC_STORE_RETRY_MS: u64 = 1_000;

const _: () = assert!(ASYNC_THROTTLE_BACKOFF_MS_MIN < ASYNC_THROTTLE_BACKOFF_MS_MAX);
const _: () = assert!(ASYNC_IN_FLIGHT_MAX <= ASYNC_PENDING_EVENTS_MAX);
const _: () = assert!(
    app::ASYNC_PAYLOAD_BYTES_MAX as u64 <= ASYNC_PENDING_BYTES_MAX,
    "the largest event must fit the pending bytes"
);
const _: () = assert!(
    ASYNC_EVENT_HEADER_BYTES_MAX + app::ASYNC_PAYLOAD_BYTES_MAX <= store::limits::VALUE_BYTES_MAX,
    "a stored event is one store value"
);
const _: () = assert!(
    ASYNC_ERROR_TYPE_BYTES_MAX + ASYNC_ERROR_MESSAGE_BYTES_MAX + 4 * 1024
        <= ASYNC_EVENT_HEADER_BYTES_MAX,
    "the header holds the last error plus ids, names and destinations (under 4 KiB)"
);
const _: () = assert!(ASYNC_RECORD_BYTES_MAX <= store::limits::VALUE_BYTES_MAX);
