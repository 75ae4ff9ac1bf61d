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

pub struct AppSnapshot {
    pub routes: RouteTable<AppFunction>,
    /// Every function of the app by name, for the Invoke API.
    pub functions: HashMap<String, AppFunction>,
    pub request_body_bytes_max: usize,
    /// Billed durations are rounded up to a multiple of this.
    pub billing_granularity_ms: u32,
}

/// Where the request path publishes the snapshot it reads.
pub type SharedSnapshot = Arc<ArcSwap<AppSnapshot>>;

/// Told about every finished invocation (for logs and metrics). Called on the request path:
/// implementations must not block.
pub trait Observer: Send + Sync + 'static {
    fn invocation_finished(&self, report: &Report, error: Option<&InvokeError>);
}
