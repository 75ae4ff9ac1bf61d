//! Every limit the gateway enforces, in one place, with units in the names.

/// How long shutdown waits for in-flight requests before it gives up on them.
pub const SHUTDOWN_DRAIN_MS_MAX: u64 = 30_000;

/// API Gateway's payload limit: the default largest request body.
pub const REQUEST_BODY_BYTES_MAX_DEFAULT: usize = 10 * 1024 * 1024;

/// Lambda's synchronous payload limit, for the Invoke API's request body.
pub const INVOKE_PAYLOAD_BYTES_MAX: usize = 6 * 1024 * 1024;

/// The last bytes of an invocation's log returned by `LogType: Tail`.
pub const LOG_TAIL_BYTES: usize = 4 * 1024;

// How the limits relate, checked at compile time.
const _: () = assert!(INVOKE_PAYLOAD_BYTES_MAX <= REQUEST_BODY_BYTES_MAX_DEFAULT);
const _: () = assert!(LOG_TAIL_BYTES < INVOKE_PAYLOAD_BYTES_MAX);
