//! The `connections` capability: handler-world functions push messages to the app's WebSocket
//! clients through the `rondo:function/connections` import, in-process, as other code does through
//! API Gateway's `@connections` API (`PostToConnection`, `GetConnection`, `DeleteConnection`).
//!
//! The runtime knows nothing about WebSockets: it is handed a [`ConnectionService`] (the gateway's
//! connection registry) and passes each call through. Every call is quick and never waits on the
//! client: a message is queued for the connection's writer, or refused. What the runtime adds is
//! its limits: a message over [`limits::CONNECTIONS_MESSAGE_BYTES_MAX`] is refused as too large,
//! and a connection id over [`limits::CONNECTION_ID_BYTES_MAX`] as gone, before either reaches the
//! service.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::limits;

/// The app's WebSocket connections, as the runtime sees them.
///
/// The gateway implements it over its connection registry and hands it to the runtime in
/// [`RuntimeConfig::connections`](crate::RuntimeConfig::connections).
pub trait ConnectionService: Send + Sync + 'static {
    /// Queues `data` as one message to the connection (a text frame when it is UTF-8, else
    /// binary). Answers once it is queued, not once the client has it.
    fn post(&self, connection_id: &str, data: Bytes) -> Result<(), ConnectionError>;
    /// What is known about the connection.
    fn get(&self, connection_id: &str) -> Result<ConnectionInfo, ConnectionError>;
    /// Closes the connection (its `$disconnect` route still runs).
    fn delete(&self, connection_id: &str) -> Result<(), ConnectionError>;
}

/// Why a connection call failed: the management API's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// `GoneException` (410): the connection is closed, or never existed. Forget its id.
    #[error("GoneException: the connection {0} is gone")]
    Gone(String),
    /// `PayloadTooLargeException` (413): the message is larger than the limit.
    #[error(
        "PayloadTooLargeException: the message of {size} bytes exceeds the limit of {limit} bytes"
    )]
    PayloadTooLarge { size: usize, limit: usize },
    /// `LimitExceededException` (429): the connection's outgoing queue is full; the client is
    /// not reading.
    #[error("LimitExceededException: {0}")]
    LimitExceeded(String),
    /// No WebSocket API on this node, or another failure.
    #[error("ServiceUnavailable: {0}")]
    Unavailable(String),
}

impl ConnectionError {
    /// The management API's exception name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::Gone(_) => "GoneException",
            ConnectionError::PayloadTooLarge { .. } => "PayloadTooLargeException",
            ConnectionError::LimitExceeded(_) => "LimitExceededException",
            ConnectionError::Unavailable(_) => "ServiceUnavailableException",
        }
    }
}

/// `GetConnection`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub connected_at: SystemTime,
    /// The last message received from the client or sent to it.
    pub last_active_at: SystemTime,
    pub source_ip: String,
    pub user_agent: String,
}

/// Runs one `connections.post` of a guest against `service`.
pub(crate) fn post(
    service: Option<&Arc<dyn ConnectionService>>,
    connection_id: &str,
    data: Vec<u8>,
) -> Result<(), ConnectionError> {
    let service = available(service)?;
    check_id(connection_id)?;
    if data.len() > limits::CONNECTIONS_MESSAGE_BYTES_MAX {
        return Err(ConnectionError::PayloadTooLarge {
            size: data.len(),
            limit: limits::CONNECTIONS_MESSAGE_BYTES_MAX,
        });
    }
    service.post(connection_id, Bytes::from(data))
}

/// Runs one `connections.get` of a guest against `service`.
pub(crate) fn get(
    service: Option<&Arc<dyn ConnectionService>>,
    connection_id: &str,
) -> Result<ConnectionInfo, ConnectionError> {
    let service = available(service)?;
    check_id(connection_id)?;
    service.get(connection_id)
}

/// Runs one `connections.delete` of a guest against `service`.
pub(crate) fn delete(
    service: Option<&Arc<dyn ConnectionService>>,
    connection_id: &str,
) -> Result<(), ConnectionError> {
    let service = available(service)?;
    check_id(connection_id)?;
    service.delete(connection_id)
}

/// Milliseconds since the Unix epoch, as the guest receives times (0 before it, saturating far
/// after it).
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The service, or `Unavailable` when this node has none.
fn available(
    service: Option<&Arc<dyn ConnectionService>>,
) -> Result<&Arc<dyn ConnectionService>, ConnectionError> {
    service.ok_or_else(|| ConnectionError::Unavailable("no WebSocket API on this node".to_owned()))
}

/// No connection has an id longer than the limit, so such an id is gone without asking.
fn check_id(connection_id: &str) -> Result<(), ConnectionError> {
    if connection_id.len() > limits::CONNECTION_ID_BYTES_MAX {
        return Err(ConnectionError::Gone(connection_id.to_owned()));
    }
    Ok(())
}
