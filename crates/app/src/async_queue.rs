//! Lambda's internal queue for asynchronous invocations (`InvocationType: Event`), as a contract:
//! the gateway's Invoke API hands events to an [`AsyncQueue`]; `events::AsyncInvoker` implements
//! it (stores each event, runs it later, retries it and reports its outcome).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// Lambda's payload limit for asynchronous invocations (`InvocationType: Event`): 1 MB since
/// 2025 (256 KB before).
pub const ASYNC_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;

/// Where `Invoke` with `InvocationType: Event` puts an event: a durable queue whose worker
/// invokes the function later, retries it and reports its outcome. `events::AsyncInvoker`
/// implements it; without one, asynchronous invocations are refused.
pub trait AsyncQueue: Send + Sync + 'static {
    /// Stores the event; resolves once it is durable (the caller is then told 202).
    fn enqueue(
        &self,
        event: QueuedEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + '_>>;
}

/// One asynchronous invocation, as the Invoke API accepted it.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    /// The request id the caller was told (`x-amzn-RequestId`); every attempt runs under it.
    pub request_id: String,
    /// The function's name (not an ARN), as the app names it.
    pub function: String,
    /// The event: JSON, at most [`ASYNC_PAYLOAD_BYTES_MAX`] bytes.
    pub payload: Bytes,
}

/// Why an event was not queued.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EnqueueError {
    /// The node holds as many pending events (or event bytes) as it may.
    #[error("the node's asynchronous event queue is full: {pending} events are waiting ({limit})")]
    Full {
        pending: usize,
        /// The limit that was reached, e.g. `at most 100000 events`.
        limit: String,
    },
    /// The event could not be written to the store.
    #[error("cannot store the event for function {function}: {message}")]
    Store { function: String, message: String },
}
