//! The app's WebSocket clients, reached in-process: what API Gateway's `@connections` API
//! (`PostToConnection`, `GetConnection`, `DeleteConnection`) does over HTTP.
//!
//! A client's connection id arrives in every event of its WebSocket routes
//! ([`websocket::Event`](crate::websocket::Event)'s `request_context.connection_id`); keep it (in a
//! table, say) to push to the client later from any function.
//!
//! ```no_run
//! use rondo_sdk::connections::{self, ConnectionError};
//! use rondo_sdk::websocket::Event;
//! use rondo_sdk::{Context, Error};
//! use serde_json::{Value, json};
//!
//! rondo_sdk::handler!(echo);
//!
//! fn echo(event: Event, _ctx: &Context) -> Result<Value, Error> {
//!     let connection_id = &event.request_context.connection_id;
//!     let text = event.body_text()?;
//!     match connections::post_json(connection_id, &json!({ "echo": text })) {
//!         // The client left meanwhile: nothing to tell it.
//!         Ok(()) | Err(ConnectionError::Gone) => {}
//!         Err(error) => return Err(error.into()),
//!     }
//!     Ok(json!({ "statusCode": 200 }))
//! }
//! # fn main() {}
//! ```
//!
//! A posted message is queued for the client, not yet read by it: a call answers at once.
//! Messages are at most 128 KiB.
//! Off wasm (host unit tests) every call fails with [`ConnectionError::Unavailable`].

#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;

/// Why a connection call failed: the management API's errors.
///
/// `?` turns it into a function [`Error`](crate::Error) whose `errorType` is [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// `GoneException`: the connection is closed, or never existed. Forget its id.
    Gone,
    /// `PayloadTooLargeException`: the message is larger than 128 KiB.
    PayloadTooLarge,
    /// `LimitExceededException`: the client is not reading and its queue of messages is full.
    LimitExceeded,
    /// No WebSocket API on this node, or another failure; the text says which.
    Unavailable(String),
    /// The message given to [`post_json`] does not serialize to JSON (a map with non-string keys,
    /// say); nothing was sent. The text is serde's reason.
    InvalidMessage(String),
}

impl ConnectionError {
    /// The management API's exception name for the error (`"GoneException"`), or
    /// `"InvalidMessage"` for a message that does not serialize.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::Gone => "GoneException",
            ConnectionError::PayloadTooLarge => "PayloadTooLargeException",
            ConnectionError::LimitExceeded => "LimitExceededException",
            ConnectionError::Unavailable(_) => "ServiceUnavailableException",
            ConnectionError::InvalidMessage(_) => "InvalidMessage",
        }
    }

    /// What went wrong, without the code.
    fn message(&self) -> String {
        match self {
            ConnectionError::Gone => "the connection is closed or never existed".to_owned(),
            ConnectionError::PayloadTooLarge => "the message is larger than 128 KiB".to_owned(),
            ConnectionError::LimitExceeded => {
                "the client is not reading and its queue of messages is full".to_owned()
            }
            ConnectionError::Unavailable(reason) => reason.clone(),
            ConnectionError::InvalidMessage(reason) => {
                format!("the message does not serialize to JSON: {reason}")
            }
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ConnectionError {}

impl From<ConnectionError> for crate::Error {
    fn from(error: ConnectionError) -> crate::Error {
        crate::Error::new(error.code(), error.message())
    }
}

/// `GetConnection`'s answer: what is known about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// When the client connected, in milliseconds since the Unix epoch.
    pub connected_at_ms: u64,
    /// The last message from or to the client, in milliseconds since the Unix epoch.
    pub last_active_at_ms: u64,
    /// The client's IP address.
    pub source_ip: String,
    /// The client's `User-Agent` header, or empty.
    pub user_agent: String,
}

/// Queues `data` as one message to the client of `connection_id`: a text frame when it is
/// UTF-8, else a binary frame.
pub fn post(connection_id: &str, data: impl AsRef<[u8]>) -> Result<(), ConnectionError> {
    imp::post(connection_id, data.as_ref())
}

/// Queues `message`, serialized as JSON text, as one text message to the client of
/// `connection_id`.
pub fn post_json<T: Serialize + ?Sized>(
    connection_id: &str,
    message: &T,
) -> Result<(), ConnectionError> {
    let data = serde_json::to_vec(message)
        .map_err(|error| ConnectionError::InvalidMessage(error.to_string()))?;
    imp::post(connection_id, &data)
}

/// What is known about the connection `connection_id`.
pub fn get(connection_id: &str) -> Result<ConnectionInfo, ConnectionError> {
    imp::get(connection_id)
}

/// Closes the connection `connection_id`; its `$disconnect` route still runs.
pub fn delete(connection_id: &str) -> Result<(), ConnectionError> {
    imp::delete(connection_id)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{ConnectionError, ConnectionInfo};
    use crate::bindings::rondo::function::connections::{self as wit, ConnectionError as WitError};

    pub(super) fn post(connection_id: &str, data: &[u8]) -> Result<(), ConnectionError> {
        wit::post(connection_id, data).map_err(from_wit)
    }

    pub(super) fn get(connection_id: &str) -> Result<ConnectionInfo, ConnectionError> {
        let info = wit::get(connection_id).map_err(from_wit)?;
        Ok(ConnectionInfo {
            connected_at_ms: info.connected_at_ms,
            last_active_at_ms: info.last_active_at_ms,
            source_ip: info.source_ip,
            user_agent: info.user_agent,
        })
    }

    pub(super) fn delete(connection_id: &str) -> Result<(), ConnectionError> {
        wit::delete(connection_id).map_err(from_wit)
    }

    fn from_wit(error: WitError) -> ConnectionError {
        match error {
            WitError::Gone => ConnectionError::Gone,
            WitError::PayloadTooLarge => ConnectionError::PayloadTooLarge,
            WitError::LimitExceeded => ConnectionError::LimitExceeded,
            WitError::Unavailable(reason) => ConnectionError::Unavailable(reason),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{ConnectionError, ConnectionInfo};

    pub(super) fn post(_connection_id: &str, _data: &[u8]) -> Result<(), ConnectionError> {
        Err(unavailable())
    }

    pub(super) fn get(_connection_id: &str) -> Result<ConnectionInfo, ConnectionError> {
        Err(unavailable())
    }

    pub(super) fn delete(_connection_id: &str) -> Result<(), ConnectionError> {
        Err(unavailable())
    }

    fn unavailable() -> ConnectionError {
        ConnectionError::Unavailable(
            "WebSocket connections are reachable only from a function running in rondo".to_owned(),
        )
    }
}
