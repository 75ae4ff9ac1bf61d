//! Every limit the gateway enforces, in one place, with units in the names.
//!
//! The edge's timeouts and caps are the production values of the configuration structs the
//! servers are started with ([`crate::server::ServerConfig`], [`crate::body::BodyConfig`],
//! [`crate::websocket::WebSocketLimits`], gathered in [`crate::EdgeLimits`]), so tests can start
//! a server with small values; nothing else reads these constants on the request path.

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

// ---------------------------------------------------------------------------------------------
// The HTTP server: per connection and per listener.
// ---------------------------------------------------------------------------------------------

/// How long a client has to send a request's whole head (request line and headers), from the
/// moment the server waits for it. hyper starts this clock also when an HTTP/1.1 keep-alive
/// connection waits for its next request, so it is HTTP/1.1's keep-alive idle timeout too.
pub const HTTP_HEADER_READ_TIMEOUT_MS: u64 = 30_000;

/// A connection with no request in flight for this long is closed (gracefully: HTTP/2 sends
/// `GOAWAY`). Covers HTTP/2, which has no header-read timeout, and anything hyper's HTTP/1.1
/// timer does not.
pub const HTTP_IDLE_TIMEOUT_MS: u64 = 60_000;

/// How often HTTP/2 pings a connection with requests in flight, and how long it waits for the
/// answer before closing it as dead.
pub const HTTP2_KEEP_ALIVE_INTERVAL_MS: u64 = 20_000;
pub const HTTP2_KEEP_ALIVE_TIMEOUT_MS: u64 = 20_000;

/// Open connections per listener. Past this the listener stops accepting: new clients wait in
/// the kernel's accept queue (and, when it is full, in their connect) until a connection ends.
/// WebSocket connections leave this count at the upgrade and are bounded by
/// [`WEBSOCKET_CONNECTIONS_MAX`] instead.
pub const HTTP_CONNECTIONS_PER_LISTENER_MAX: usize = 4_096;

/// How long a whole request body may take to arrive, from the handler's first read to its end.
/// A body that trickles in or stalls past this is answered 408.
pub const REQUEST_BODY_READ_MS_MAX: u64 = 60_000;

/// Request-body bytes the node buffers at once, over both listeners: a body takes its size (or,
/// without `Content-Length`, its limit) from this budget before it is read, and gives it back
/// when its request is answered.
pub const BUFFERED_BODY_BYTES_MAX: usize = 256 * 1024 * 1024;

/// How long a request waits for room in [`BUFFERED_BODY_BYTES_MAX`] before it is refused
/// (429 on the gateway, the API's throttling error on the AWS endpoint).
pub const BODY_BUDGET_WAIT_MS: u64 = 1_000;

const _: () = assert!(HTTP_HEADER_READ_TIMEOUT_MS <= HTTP_IDLE_TIMEOUT_MS);
const _: () = assert!(HTTP2_KEEP_ALIVE_INTERVAL_MS < HTTP_IDLE_TIMEOUT_MS);
const _: () = assert!(BODY_BUDGET_WAIT_MS < REQUEST_BODY_READ_MS_MAX);
// Every body the edge accepts fits in the budget on its own, so a request is never refused
// only for its size when the node is otherwise idle...
const _: () = assert!(REQUEST_BODY_BYTES_MAX_DEFAULT <= BUFFERED_BODY_BYTES_MAX);
const _: () = assert!(tables::limits::REQUEST_BYTES_MAX <= BUFFERED_BODY_BYTES_MAX);
// ...and the budget is a tokio semaphore, whose permits are counted in `u32`.
const _: () = assert!(BUFFERED_BODY_BYTES_MAX <= u32::MAX as usize);

// ---------------------------------------------------------------------------------------------
// The WebSocket API.
// ---------------------------------------------------------------------------------------------

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

/// Bytes queued for one client that it has not yet read, whatever the number of messages. Past
/// this, posting to it answers `LimitExceededException`.
pub const WEBSOCKET_OUTBOX_BYTES_MAX: usize = 1024 * 1024;

/// How long writing one message (or the close) to a client may take. A client that stops
/// reading fills its socket's buffers, the write waits, and past this the connection is closed
/// (close code 1001, "Send timeout") and `$disconnect` runs.
pub const WEBSOCKET_SEND_TIMEOUT_MS: u64 = 10_000;

/// Messages of one connection whose route invocations run at once; the next message is read
/// when one finishes, so a client cannot start invocations faster than they end.
pub const WEBSOCKET_MESSAGES_IN_FLIGHT_MAX: usize = 16;

/// How long a closed connection's task waits for its messages' route invocations still running
/// before it aborts them. Each is bounded by its function's timeout (Lambda's largest is
/// 15 minutes), so this only cuts an invocation that outlives its own deadline.
pub const WEBSOCKET_ROUTES_DRAIN_MS_MAX: u64 = 15 * 60 * 1000 + 10_000;

const _: () = assert!(WEBSOCKET_FRAME_BYTES_MAX <= WEBSOCKET_MESSAGE_BYTES_MAX);
const _: () =
    assert!(WEBSOCKET_MESSAGE_BYTES_MAX == runtime::limits::CONNECTIONS_MESSAGE_BYTES_MAX);
// One message of the largest size always fits in an empty outbox.
const _: () = assert!(WEBSOCKET_MESSAGE_BYTES_MAX <= WEBSOCKET_OUTBOX_BYTES_MAX);
const _: () = assert!(WEBSOCKET_OUTBOX_MESSAGES_MAX > 0);
// A client that stops reading is closed by the send timeout well before it would idle out.
const _: () = assert!(WEBSOCKET_SEND_TIMEOUT_MS < WEBSOCKET_IDLE_S_MAX * 1000);
