//! The running app as the data plane sees it, with no HTTP stack: what the gateway serves
//! requests against and what events runs triggers and queued invocations against.
//!
//! - [`AppFunction`]: a function ready to invoke ([`Code`]: a wasm component or a process
//!   function), with its concurrency pool ([`concurrency`]).
//! - [`AppSnapshot`]: the immutable view of the app (routes matched by [`RouteTable`], functions,
//!   limits, the WebSocket API's routes, the static files' folder) that the control plane swaps
//!   atomically ([`SharedSnapshot`]); [`Observer`] is told about every invocation and its
//!   [`InvocationSource`].
//! - [`AsyncQueue`]: where the Invoke API puts asynchronous invocations.
//!
//! Invariant: the data plane reads one snapshot per request or batch and never parses
//! configuration or takes a lock shared between requests.

mod async_queue;
pub mod concurrency;
mod function;
pub mod routes;
mod snapshot;

pub use async_queue::{ASYNC_PAYLOAD_BYTES_MAX, AsyncQueue, EnqueueError, QueuedEvent};
pub use function::{AppFunction, Code, CodeDigest, FunctionDescription, WASM_RUNTIME};
pub use routes::{RouteMatch, RouteTable};
pub use snapshot::{
    AppSnapshot, InvocationSource, Observer, SharedSnapshot, StaticFiles, WebSocketApi,
};
