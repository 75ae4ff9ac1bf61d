//! The state each instance's store carries, and the host side of the handler world's imports.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::connections::{self, ConnectionError, ConnectionInfo, ConnectionService};
use crate::limits::TABLE_ELEMENTS_MAX;
use crate::logs::{LogBuffer, LogSource};
use crate::outbound::OutboundPolicy;
use crate::tables::{self, TableService};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "handler-function",
    // The table service awaits its durable commit; a deadline passing meanwhile traps.
    imports: { "rondo:function/tables.call": async | trappable },
    exports: { default: async },
});

pub(crate) use rondo::function::types::Context as GuestContext;

/// Everything one instance can reach. Built fresh for every invocation.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: OutboundHooks,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: LogBuffer,
    pub(crate) environment: Arc<[(String, String)]>,
    pub(crate) tables: Option<Arc<dyn TableService>>,
    pub(crate) connections: Option<Arc<dyn ConnectionService>>,
    /// When the invocation times out; host calls that wait stop waiting then.
    pub(crate) deadline: Instant,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl rondo::function::types::Host for HostState {}

impl rondo::function::log::Host for HostState {
    fn log(&mut self, level: rondo::function::log::Level, message: String) {
        use rondo::function::log::Level;
        let source = match level {
            Level::Trace => LogSource::Trace,
            Level::Debug => LogSource::Debug,
            Level::Info => LogSource::Info,
            Level::Warn => LogSource::Warn,
            Level::Error => LogSource::Error,
        };
        self.logs.push_line(source, &message);
    }
}

impl rondo::function::config::Host for HostState {
    fn get(&mut self, key: String) -> Option<String> {
        self.environment
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    fn get_all(&mut self) -> Vec<(String, String)> {
        self.environment.to_vec()
    }
}

impl rondo::function::tables::Host for HostState {
    async fn call(
        &mut self,
        operation: String,
        request: String,
    ) -> wasmtime::Result<Result<String, rondo::function::tables::ServiceError>> {
        let answer = tables::call(self.tables.as_ref(), self.deadline, &operation, request).await?;
        Ok(
            answer.map_err(|error| rondo::function::tables::ServiceError {
                code: error.code,
                message: error.message,
            }),
        )
    }
}

impl rondo::function::connections::Host for HostState {
    fn post(
        &mut self,
        connection_id: String,
        data: Vec<u8>,
    ) -> Result<(), rondo::function::connections::ConnectionError> {
        connections::post(self.connections.as_ref(), &connection_id, data).map_err(guest_error)
    }

    fn get(
        &mut self,
        connection_id: String,
    ) -> Result<
        rondo::function::connections::ConnectionInfo,
        rondo::function::connections::ConnectionError,
    > {
        connections::get(self.connections.as_ref(), &connection_id)
            .map(guest_info)
            .map_err(guest_error)
    }

    fn delete(
        &mut self,
        connection_id: String,
    ) -> Result<(), rondo::function::connections::ConnectionError> {
        connections::delete(self.connections.as_ref(), &connection_id).map_err(guest_error)
    }
}

fn guest_error(error: ConnectionError) -> rondo::function::connections::ConnectionError {
    use rondo::function::connections::ConnectionError as Guest;
    match error {
        ConnectionError::Gone(_) => Guest::Gone,
        ConnectionError::PayloadTooLarge { .. } => Guest::PayloadTooLarge,
        ConnectionError::LimitExceeded(_) => Guest::LimitExceeded,
        ConnectionError::Unavailable(reason) => Guest::Unavailable(reason),
    }
}

fn guest_info(info: ConnectionInfo) -> rondo::function::connections::ConnectionInfo {
    rondo::function::connections::ConnectionInfo {
        connected_at_ms: connections::unix_ms(info.connected_at),
        last_active_at_ms: connections::unix_ms(info.last_active_at),
        source_ip: info.source_ip,
        user_agent: info.user_agent,
    }
}

/// Outbound HTTP goes only where the function's manifest allows.
pub(crate) struct OutboundHooks {
    pub(crate) policy: Arc<OutboundPolicy>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<HyperOutgoingBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<HyperOutgoingBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        if !self.policy.allows(request.uri()) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let defaults = wasmtime_wasi_http::default_hooks();
        defaults.send_request(request, options, fut)
    }
}

/// Caps an instance's linear memory at its function's `memory_mb` and remembers the peak,
/// and whether the guest asked for more than it may have.
pub(crate) struct MemoryLimiter {
    pub(crate) limit_bytes: usize,
    pub(crate) used_bytes: usize,
    pub(crate) peak_bytes: usize,
    pub(crate) refused: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limit_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit_bytes,
            used_bytes: 0,
            peak_bytes: 0,
            refused: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let used = self.used_bytes.saturating_add(growth);
        if used > self.limit_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.used_bytes = used;
        self.peak_bytes = self.peak_bytes.max(used);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }
}
