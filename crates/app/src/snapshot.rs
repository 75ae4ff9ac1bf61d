//! The immutable view of the running app that the data plane reads.
//!
//! Invariant: a snapshot never changes after it is built. The control plane builds a new one
//! and swaps it in atomically; requests already running keep the one they started with.
//! It holds data only (functions, routes, limits, specs): what serves it (an HTTP server, a
//! WebSocket connection, a file server) belongs to the gateway and outlives snapshots.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
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

/// The app's WebSocket API as the data plane sees it: its path, its route selection and the
/// function of each route key. The node's open connections are not part of it (they outlive
/// snapshots: the gateway's `websocket::Connections`).
pub struct WebSocketApi {
    path: String,
    /// The `FIELD` of `$request.body.FIELD`, possibly dotted.
    selection_field: String,
    routes: HashMap<String, AppFunction>,
}

impl WebSocketApi {
    /// The API at `path`, choosing routes by `route_selection_expression`
    /// (`$request.body.FIELD`), with `routes` by route key. Every route's function must take
    /// events ([`AppFunction::takes_events`]); the control plane checks that when it loads the app.
    pub fn new(
        path: String,
        route_selection_expression: &str,
        routes: HashMap<String, AppFunction>,
    ) -> WebSocketApi {
        let selection_field = route_selection_expression
            .strip_prefix("$request.body.")
            .unwrap_or(route_selection_expression)
            .to_owned();
        WebSocketApi {
            path,
            selection_field,
            routes,
        }
    }

    /// The path clients connect to.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `FIELD` of the route selection expression `$request.body.FIELD` (possibly dotted).
    pub fn selection_field(&self) -> &str {
        &self.selection_field
    }

    /// The function of a route key (`$connect`, `$default`, a custom key), if routed.
    pub fn route(&self, key: &str) -> Option<&AppFunction> {
        self.routes.get(key)
    }

    /// Every route: route key → function.
    pub fn routes(&self) -> &HashMap<String, AppFunction> {
        &self.routes
    }
}

/// A folder of static files served under a URL path prefix (`[static]`): what to serve, not how
/// (the gateway serves it).
#[derive(Debug, Clone)]
pub struct StaticFiles {
    /// Without a trailing `/`; empty for `/`.
    prefix: String,
    dir: PathBuf,
}

impl StaticFiles {
    /// The files of `dir` under `path` (`/`, or a prefix such as `/assets`).
    pub fn new(path: &str, dir: &Path) -> StaticFiles {
        StaticFiles {
            prefix: path.trim_end_matches('/').to_owned(),
            dir: dir.to_owned(),
        }
    }

    /// The URL path prefix, without a trailing `/` (empty for `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The folder the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a request is one the files answer: a `GET` or `HEAD` under the prefix.
    pub fn serves(&self, method: &http::Method, path: &str) -> bool {
        let reads = method == http::Method::GET || method == http::Method::HEAD;
        reads && self.strip(path).is_some()
    }

    /// The part of `path` after the prefix (empty, or starting with `/`), if it is under it.
    pub fn strip<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(&self.prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}
