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

/// API Gateway's WebSocket frame size: a larger frame closes the connection with code 1009.
pub const WEBSOCKET_FRAME_BYTES_MAX: usize = 32 * 1024;

/// API Gateway's WebSocket message size, both from a client (a message of several frames) and
/// posted to one through `@connections`.
pub const WEBSOCKET_MESSAGE_BYTES_MAX: usize = 128 * 1024;

/// API Gateway's idle timeout: a connection with no message either way for this long is closed.
pub const WEBSOCKET_IDLE_S_MAX: u64 = 10 * 60;

/// API Gateway's connection lifetime: every connection is closed after this long.
pub const WEBSOCKET_LIFETIME_S_MAX: u64 = 2 * 60 * 60;

/// Open WebSocket connections per node. API Gateway sets no such limit; a node has file
/// descriptors and memory, so past this a new connection is refused with 429.
pub const WEBSOCKET_CONNECTIONS_MAX: usize = 100_000;

/// Messages queued for one client that it has not yet read. Past this, posting to it answers
/// `LimitExceededException`: the client is not keeping up.
pub const WEBSOCKET_OUTBOX_MESSAGES_MAX: usize = 1024;

/// Messages of one connection whose route invocations run at once; the next message is read
/// when one finishes, so a client cannot start invocations faster than they end.
pub const WEBSOCKET_MESSAGES_IN_FLIGHT_MAX: usize = 16;

const _: () = assert!(WEBSOCKET_FRAME_BYTES_MAX <= WEBSOCKET_MESSAGE_BYTES_MAX);
const _: () =
    assert!(WEBSOCKET_MESSAGE_BYTES_MAX == runtime::limits::CONNECTIONS_MESSAGE_BYTES_MAX);
