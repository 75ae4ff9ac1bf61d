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
//! All read an immutable [`app::AppSnapshot`] that the control plane swaps atomically; nothing
//! on the request path parses configuration or takes a lock shared across requests.

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
