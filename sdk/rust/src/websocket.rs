//! WebSocket functions: the event API Gateway's WebSocket API sends to a route's function.
//!
//! A function behind a WebSocket route (`$connect`, `$disconnect`, `$default` or a custom route
//! key) receives an [`Event`]: the client's connection id and, for a message, its body. Answer
//! `{"statusCode": 200}`; a `$connect` answering anything other than 2xx refuses the client.
//! Push to a client with [`connections`](crate::connections).
//!
//! ```no_run
//! use rondo_sdk::websocket::{Event, EventType};
//! use rondo_sdk::{Context, Error, log};
//! use serde_json::{Value, json};
//!
//! rondo_sdk::handler!(on_event);
//!
//! fn on_event(event: Event, _ctx: &Context) -> Result<Value, Error> {
//!     let context = &event.request_context;
//!     match context.event_type {
//!         EventType::Connect if event.query("token").is_none() => {
//!             return Ok(json!({ "statusCode": 401 }));
//!         }
//!         EventType::Connect => log::info(format_args!("{} connected", context.connection_id)),
//!         EventType::Message => log::info(format_args!("{} says {}", context.connection_id, event.body_text()?)),
//!         EventType::Disconnect => log::info(format_args!("{} left", context.connection_id)),
//!     }
//!     Ok(json!({ "statusCode": 200 }))
//! }
//! # fn main() {}
//! ```
//!
//! Fields are camelCase on the wire as API Gateway sends them; fields this module does not know
//! are ignored, and descriptive fields the gateway leaves out (`domainName`, `identity`, …)
//! deserialize as empty.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::http::{body_bytes, nullable};

/// The event of one WebSocket route: a client connecting, sending a message, or gone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Which route, which connection, which API.
    pub request_context: RequestContext,
    /// The upgrade request's headers, as the client sent them (`CONNECT` only).
    #[serde(default)]
    pub headers: Option<HashMap<String, String>>,
    /// The upgrade request's decoded query parameters (`CONNECT` only).
    #[serde(default)]
    pub query_string_parameters: Option<HashMap<String, String>>,
    /// The message: its text, or base64 of a binary message (`MESSAGE` only).
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64 (the client sent a binary frame).
    #[serde(default, deserialize_with = "nullable")]
    pub is_base64_encoded: bool,
}

/// What kind of WebSocket event an [`Event`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    /// A client is connecting (`$connect`); answering non-2xx refuses it.
    Connect,
    /// A client sent a message (a custom route or `$default`).
    Message,
    /// A client is gone (`$disconnect`); best effort, after the connection closed.
    Disconnect,
}

/// The `requestContext` of a WebSocket event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// The route that matched: `"$connect"`, `"$disconnect"`, `"$default"` or a custom key.
    pub route_key: String,
    pub event_type: EventType,
    /// The client's connection; pass it to [`connections`](crate::connections) to push to it.
    pub connection_id: String,
    /// When the client connected, in milliseconds since the Unix epoch.
    #[serde(default, deserialize_with = "nullable")]
    pub connected_at: i64,
    /// The message's id (`MESSAGE` only).
    #[serde(default)]
    pub message_id: Option<String>,
    /// `"IN"`: the message came from the client (`MESSAGE` only).
    #[serde(default)]
    pub message_direction: Option<String>,
    /// The host name clients connect to.
    #[serde(default, deserialize_with = "nullable")]
    pub domain_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub stage: String,
    #[serde(default, deserialize_with = "nullable")]
    pub api_id: String,
    /// The id of this event's request.
    #[serde(default, deserialize_with = "nullable")]
    pub request_id: String,
    #[serde(default)]
    pub extended_request_id: Option<String>,
    /// When the event happened, as `"09/Apr/2015:12:34:56 +0000"`.
    #[serde(default)]
    pub request_time: Option<String>,
    /// When the event happened, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub request_time_epoch: Option<i64>,
    /// Who the client is.
    #[serde(default, deserialize_with = "nullable")]
    pub identity: Identity,
    /// What the `$connect` route's authorizer returned, if it has one.
    #[serde(default)]
    pub authorizer: Option<serde_json::Value>,
    /// The close code the connection ended with (`DISCONNECT` only).
    #[serde(default)]
    pub disconnect_status_code: Option<u16>,
    /// The close reason the connection ended with (`DISCONNECT` only).
    #[serde(default)]
    pub disconnect_reason: Option<String>,
}

/// The client of a WebSocket event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The client's IP address.
    #[serde(default, deserialize_with = "nullable")]
    pub source_ip: String,
    /// The client's `User-Agent` header.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl Event {
    /// The decoded value of query parameter `name` of the upgrade request (`CONNECT` only).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_string_parameters
            .as_ref()?
            .get(name)
            .map(String::as_str)
    }

    /// The value of header `name` of the upgrade request, matched case-insensitively
    /// (`CONNECT` only).
    pub fn header(&self, name: &str) -> Option<&str> {
        let headers = self.headers.as_ref()?;
        if let Some(value) = headers.get(name) {
            return Some(value);
        }
        let (_, value) = headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))?;
        Some(value)
    }

    /// The message's bytes, base64-decoded if `is_base64_encoded`; empty if there is no body.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, Error> {
        body_bytes(self.body.as_deref(), self.is_base64_encoded)
    }

    /// The message as UTF-8 text; fails with `Utf8Error` if it is not.
    pub fn body_text(&self) -> Result<Cow<'_, str>, Error> {
        match self.body_bytes()? {
            Cow::Borrowed(bytes) => Ok(Cow::Borrowed(std::str::from_utf8(bytes)?)),
            Cow::Owned(bytes) => Ok(Cow::Owned(String::from_utf8(bytes)?)),
        }
    }

    /// The message parsed as JSON into `T`; fails with `JsonError` if it does not parse.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(&self.body_bytes()?)?)
    }
}
