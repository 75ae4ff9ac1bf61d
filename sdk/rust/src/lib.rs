//! Write rondo functions in Rust.
//!
//! A rondo function built with this SDK is a WebAssembly component of the `handler-function` world
//! (`wit/handler.wit`): it receives an event and a [`Context`], and returns a result or an [`Error`],
//! the way a Lambda handler does.
//! Write a plain function and export it with [`handler!`]; the SDK parses the event, calls the function
//! and serializes what it returns.
//!
//! The event and the result are any serde types, so one macro serves two levels:
//!
//! - **JSON**: take a [`serde_json::Value`] (or any `T: DeserializeOwned`) and return anything `Serialize`.
//! - **HTTP**: take an [`http::Request`] (API Gateway HTTP API payload format 2.0) and return an
//!   [`http::Response`], which the gateway turns into the HTTP response.
//!
//! # Example: an HTTP function
//!
//! ```no_run
//! use rondo_sdk::http::{Request, Response};
//! use rondo_sdk::{Context, Error, config, log};
//!
//! rondo_sdk::handler!(hello);
//!
//! fn hello(request: Request, _ctx: &Context) -> Result<Response, Error> {
//!     let name = request.path_param("name").unwrap_or("world");
//!     let greeting = config::get("GREETING").unwrap_or_else(|| "Hello".to_owned());
//!     log::info(format_args!("greeting {name}"));
//!     Response::json(200, &serde_json::json!({ "message": format!("{greeting}, {name}!") }))
//! }
//! # fn main() {}
//! ```
//!
//! # Example: a JSON function
//!
//! ```no_run
//! use rondo_sdk::{Context, Error};
//! use serde_json::{Value, json};
//!
//! rondo_sdk::handler!(double);
//!
//! fn double(event: Value, ctx: &Context) -> Result<Value, Error> {
//!     let n = event["n"].as_i64().ok_or_else(|| Error::new("BadInput", "`n` must be an integer"))?;
//!     Ok(json!({ "doubled": n * 2, "requestId": ctx.request_id() }))
//! }
//! # fn main() {}
//! ```
//!
//! # Tables
//!
//! [`tables`] reaches the app's DynamoDB-compatible tables in-process: a typed [`tables::Table`]
//! client for items, keys, updates and queries, and [`tables::call`] for any other operation.
//!
//! # WebSockets
//!
//! A function behind a route of the app's WebSocket API takes a [`websocket::Event`]: a client
//! connecting, sending a message, or gone, with its connection id. [`connections`] pushes messages
//! to a client by that id, from any function, as API Gateway's `@connections` API does:
//!
//! ```no_run
//! use rondo_sdk::connections::{self, ConnectionError};
//! use rondo_sdk::websocket::{Event, EventType};
//! use rondo_sdk::{Context, Error};
//! use serde_json::{Value, json};
//!
//! rondo_sdk::handler!(chat);
//!
//! fn chat(event: Event, _ctx: &Context) -> Result<Value, Error> {
//!     if event.request_context.event_type == EventType::Message {
//!         let reply = json!({ "heard": event.body_text()? });
//!         match connections::post_json(&event.request_context.connection_id, &reply) {
//!             Ok(()) | Err(ConnectionError::Gone) => {}
//!             Err(error) => return Err(error.into()),
//!         }
//!     }
//!     Ok(json!({ "statusCode": 200 }))
//! }
//! # fn main() {}
//! ```
//!
//! # Building
//!
//! A function crate is a `cdylib` built for `wasm32-wasip2`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//! ```
//!
//! `cargo build --release --target wasm32-wasip2` then writes the component to
//! `target/wasm32-wasip2/release/<crate>.wasm`.
//!
//! # Failures
//!
//! Returning `Err(Error)` is a handled function error: the caller sees
//! `{"errorType": .., "errorMessage": ..}` (an HTTP route answers 500).
//! A panic traps the instance; the invocation fails the same way, but without your message.
//!
//! # Testing on the host
//!
//! Handlers are plain functions, so unit tests can call them natively with [`Context::for_tests`].
//! Off wasm, [`log`] writes to stderr, [`config`] reads environment variables, [`tables`]
//! answers every call with `ServiceUnavailable` and [`connections`] with
//! [`ConnectionError::Unavailable`](connections::ConnectionError::Unavailable).

#![deny(unsafe_code)]

pub mod config;
pub mod connections;
pub mod http;
pub mod log;
pub mod tables;
pub mod websocket;

mod base64;
mod context;
mod error;

pub use context::Context;
pub use error::Error;

use __private::bindings;

/// Exports `$handler` as the function's entry point.
///
/// `$handler` is a path to a function with the signature
/// `fn(E, &Context) -> Result<R, X>`, where `E: serde::de::DeserializeOwned`,
/// `R: serde::Serialize` and `X: Into<Error>`.
/// Invoke the macro once per crate, at module level.
///
/// The event is parsed from its JSON text into `E`; an event that does not parse fails the
/// invocation with `errorType` `InvalidEvent`. `R` is serialized back to JSON text.
///
/// ```no_run
/// rondo_sdk::handler!(ping);
///
/// fn ping(_event: serde_json::Value, _ctx: &rondo_sdk::Context) -> Result<&'static str, rondo_sdk::Error> {
///     Ok("pong")
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! handler {
    ($handler:path) => {
        const _: () = {
            struct RondoHandler;

            impl $crate::__private::Guest for RondoHandler {
                fn handle(
                    event: ::std::vec::Vec<u8>,
                    context: $crate::__private::WitContext,
                ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::__private::FunctionError>
                {
                    $crate::__private::run(&event, context, $handler)
                }
            }

            // Only a wasm component has these exports; on the host (unit tests, `cargo test` of a
            // function crate) the symbols' names, like `rondo:function/handler@0.1.0#handle`,
            // would not even link into a `cdylib`.
            #[cfg(target_arch = "wasm32")]
            const _: () = {
                $crate::__private::export!(
                    RondoHandler with_types_in $crate::__private::bindings
                );
            };
            // Keeps the handler "used" on the host, where nothing exports it.
            #[cfg(not(target_arch = "wasm32"))]
            const _: () = {
                let _ = <RondoHandler as $crate::__private::Guest>::handle;
            };
        };
    };
}

/// Support for [`handler!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    // JUSTIFICATION: wit-bindgen's generated canonical-ABI glue (lifting and lowering values across the
    // component boundary, the exported `extern "C"` entry points) is `unsafe` by nature.
    // The generated code is the only `unsafe` in this crate and is not edited by hand.
    #[allow(
        unsafe_code,
        unused_qualifications,
        clippy::all,
        reason = "generated by wit-bindgen"
    )]
    pub mod bindings {
        wit_bindgen::generate!({
            world: "handler-function",
            path: "../../wit",
            pub_export_macro: true,
            export_macro_name: "export",
            default_bindings_module: "rondo_sdk::__private::bindings",
        });
    }

    pub use bindings::export;
    pub use bindings::exports::rondo::function::handler::Guest;
    pub use bindings::rondo::function::types::{Context as WitContext, FunctionError};

    use crate::{Context, Error};

    /// Runs one invocation: parses the event, calls the handler, serializes its result.
    pub fn run<E, R, X, F>(
        event: &[u8],
        context: WitContext,
        handler: F,
    ) -> Result<Vec<u8>, FunctionError>
    where
        E: DeserializeOwned,
        R: Serialize,
        X: Into<Error>,
        F: FnOnce(E, &Context) -> Result<R, X>,
    {
        let context = Context::from_wit(context);
        let event: E = serde_json::from_slice(event).map_err(|err| {
            Error::new(
                "InvalidEvent",
                format!("the event does not match the handler's event type: {err}"),
            )
        })?;
        let result = handler(event, &context).map_err(Into::into)?;
        let bytes = serde_json::to_vec(&result).map_err(|err| {
            Error::new(
                "InvalidResult",
                format!("the handler's result cannot be serialized to JSON: {err}"),
            )
        })?;
        Ok(bytes)
    }
}
