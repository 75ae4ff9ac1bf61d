//! The immutable view of the running app that the request path reads.
//!
//! Invariant: a snapshot never changes after it is built. The control plane builds a new one
//! and swaps it in atomically; requests already running keep the one they started with.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use runtime::{InvokeError, Report};

use crate::function::AppFunction;

use crate::routes::RouteTable;
use crate::static_files::StaticFiles;
use crate::websocket::WebSocketApi;

pub struct AppSnapshot {
    pub routes: RouteTable<AppFunction>,
    /// Every function of the app by name, for the Invoke API.
    pub functions: HashMap<String, AppFunction>,
    pub request_body_bytes_max: usize,
    /// How invocations are billed: the granularity of billed durations, and the prices.
    pub billing: manifest::BillingSpec,
    /// The app's WebSocket API, if it declares one.
    pub websocket: Option<WebSocketApi>,
    /// The app's static files, if it declares a folder of them.
    pub static_files: Option<StaticFiles>,
}

/// Where the request path publishes the snapshot it reads.
pub type SharedSnapshot = Arc<ArcSwap<AppSnapshot>>;

/// Told about every finished invocation, and every throttled one (for logs, metrics and
/// metering). Called on the request path: implementations must not block.
pub trait Observer: Send + Sync + 'static {
    fn invocation_finished(
        &self,
        report: &Report,
        error: Option<&InvokeError>,
        source: InvocationSource<'_>,
    );
}

/// What caused an invocation (metering reports cost by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationSource<'a> {
    /// An HTTP route, by its route key (`GET /carts/{id}`).
    Route(&'a str),
    /// An event-source mapping, by its name.
    Trigger(&'a str),
    /// The Invoke API, synchronously.
    Invoke,
    /// The Invoke API with `InvocationType: Event`.
    Async,
}
