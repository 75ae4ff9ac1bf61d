//! Runs invocations of WebAssembly functions.
//!
//! A [`Runtime`] owns the node's one wasmtime engine (pooling allocator, copy-on-write memory
//! images, epoch interruption, an on-disk cache of compiled code). [`Runtime::load`] turns a
//! component into a [`Function`]: compiled, linked and pre-instantiated once. Each invocation
//! then gets a fresh instance in a fresh store, so no state survives between invocations, and
//! a trap, a timeout or a memory blow-up ends that invocation only.
//!
//! A cold start is an invocation that waited for its function's code to be made ready, and its
//! `Init Duration` ([`Report::init_duration`]) is how long it waited. A wasm function takes no
//! invocation before `Runtime::load` has made its code ready, so no wasm invocation is a cold
//! start: not the first after a load, nor the first after an upgrade from baseline to optimized
//! code. Compile time is the control plane's (the old code serves meanwhile); the fresh
//! instance each invocation gets is part of that invocation's duration.
//!
//! The runtime knows nothing about routes, triggers or tables: it is handed an event (or an HTTP
//! request) and gives back an [`Invocation`]. Capabilities beyond WASI, such as the app's tables,
//! are handed to it as traits ([`TableService`], [`ConnectionService`]).

mod connections;
mod engine;
mod function;
mod host;
mod invoke;
pub mod limits;
mod logs;
mod outbound;
mod report;
mod tables;

pub use connections::{ConnectionError, ConnectionInfo, ConnectionService};
pub use engine::{Runtime, RuntimeConfig, Tier};
pub use function::{
    ACCOUNT_ID, Function, FunctionConfig, FunctionKind, InvokeMeta, LoadError, REGION, function_arn,
};
pub use logs::{LineSplitter, LogLine, LogLines, LogSource};
pub use outbound::{OutboundPolicy, OutboundRuleError};
pub use report::{Invocation, InvokeError, Report, ThrottleReason};
pub use tables::{ServiceError, TableService};
