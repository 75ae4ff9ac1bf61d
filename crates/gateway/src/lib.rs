//! rondo's HTTP surfaces that invoke functions.
//!
//! - [`http_api`]: API Gateway's HTTP API: routes matched with its priority rules
//!   ([`app::RouteTable`]), handler-world functions called with payload format 2.0 ([`payload`]),
//!   `wasi:http` functions handed the request itself.
//! - [`websocket`]: API Gateway's WebSocket API (`$connect`, `$disconnect`, routes by a
//!   selection expression) and its `@connections` management API, served on the AWS endpoint.
//! - [`static_files`]: a folder of files under a URL path (`[static]`).
//! - [`lambda_api`]: Lambda's `Invoke` operation, served on the AWS endpoint.
//! - [`endpoints`]: the two listeners' request handlers: the gateway, and the AWS endpoint that
//!   dispatches to the AWS APIs (after checking SigV4 signatures, [`sigv4`]), the tables' JSON
//!   APIs and the admin API; [`server`] is the one server loop both run on.
//!
//! The edge's timeouts and caps are configuration handed in where a node starts
//! ([`EdgeLimits`]): [`server::ServerConfig`] per listener, [`body::BodyBudget`] for the node's
//! buffered request bodies, [`websocket::WebSocketLimits`] in the connection registry.
//! Production values live in [`limits`].
//!
//! All read an immutable [`app::AppSnapshot`] that the control plane swaps atomically; nothing
//! on the request path parses configuration or takes a lock shared across requests.

pub mod body;
pub mod endpoints;
pub mod http_api;
pub mod lambda_api;
pub mod limits;
pub mod payload;
pub mod responses;
pub mod server;
pub mod sigv4;
pub mod static_files;
pub mod websocket;

/// Every timeout and cap of the edge, as a node starts its servers with them.
/// [`EdgeLimits::production`] has the values of [`limits`]; tests use small ones.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    /// Each listener's server loop: header-read and idle timeouts, connection cap, drain.
    pub server: server::ServerConfig,
    /// Request bodies: the read deadline and the node's budget of buffered bytes.
    pub bodies: body::BodyConfig,
    /// The WebSocket API: outboxes, send and idle timeouts, connections (held by the registry).
    pub websocket: websocket::WebSocketLimits,
}

impl EdgeLimits {
    /// The limits a node serves with.
    pub fn production() -> EdgeLimits {
        EdgeLimits {
            server: server::ServerConfig::production(),
            bodies: body::BodyConfig::production(),
            websocket: websocket::WebSocketLimits::production(),
        }
    }
}
