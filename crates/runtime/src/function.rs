//! A loaded function: compiled, linked and pre-instantiated once, then instantiated fresh
//! for every invocation.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::engine::{Runtime, RuntimeInner, Tier};
use crate::host::{GuestContext, HandlerFunctionPre, HostState, MemoryLimiter, OutboundHooks};
use crate::limits;
use crate::logs::{LogBuffer, LogSource};
use crate::outbound::{OutboundPolicy, OutboundRuleError};
use crate::report::{InvokeError, Report};

/// What a function is, as the control plane declares it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub name: String,
    pub memory_mb: u32,
    pub timeout_ms: u32,
    pub environment: Vec<(String, String)>,
    pub allowed_outbound_hosts: Vec<String>,
}

/// The two kinds of component rondo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// rondo's handler world: an event in, a result out (Lambda's model).
    Handler,
    /// A `wasi:http` proxy component: an HTTP request in, an HTTP response out.
    WasiHttp,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("not a WebAssembly component (a core module? build for wasm32-wasip2)")]
    NotAComponent,
    #[error("not a WebAssembly file")]
    NotWasm,
    #[error("invalid component: {0:#}")]
    Compile(wasmtime::Error),
    #[error("cannot link the component: {0:#}")]
    Link(wasmtime::Error),
    #[error(
        "the component exports neither `rondo:function/handler` nor `wasi:http/incoming-handler`"
    )]
    UnknownWorld,
    #[error("memory_mb {memory_mb} is outside 1..={max} for a wasm function", max = limits::WASM_MEMORY_MB_MAX)]
    Memory { memory_mb: u32 },
    #[error(transparent)]
    Outbound(#[from] OutboundRuleError),
}

/// A function ready to run. Cheap to clone; immutable once loaded.
#[derive(Clone)]
pub struct Function {
    pub(crate) inner: Arc<FunctionInner>,
}

pub(crate) struct FunctionInner {
    pub(crate) runtime: Arc<RuntimeInner>,
    pub(crate) tier: Tier,
    pub(crate) name: String,
    pub(crate) version: String,
    /// Lambda's ARN of the function, built once at load.
    pub(crate) arn: String,
    pub(crate) memory_mb: u32,
    pub(crate) timeout_ms: u32,
    pub(crate) environment: Arc<[(String, String)]>,
    /// The component's size and SHA-256, as Lambda describes a deployment package.
    pub(crate) code_size_bytes: u64,
    pub(crate) code_sha256: [u8; 32],
    /// When this code was loaded (compiled or taken from the cache).
    pub(crate) loaded_at: SystemTime,
    pub(crate) outbound: Arc<OutboundPolicy>,
    pub(crate) pre: Pre,
}

pub(crate) enum Pre {
    Handler(HandlerFunctionPre<HostState>),
    WasiHttp(ProxyPre<HostState>),
}

/// The AWS account and region rondo reports in ARNs and events (there is no real account).
pub const ACCOUNT_ID: &str = "000000000000";
pub const REGION: &str = "us-east-1";

/// Lambda's ARN for a function of this node.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

/// The content hash rondo uses as a function's version: the first 16 hex digits of SHA-256.
fn code_version(digest: &[u8; 32]) -> String {
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Runtime {
    /// Compiles (or loads from the cache), links and pre-instantiates a component.
    /// CPU-heavy: run it off the request threads.
    pub fn load(
        &self,
        config: &FunctionConfig,
        wasm: &[u8],
        tier: Tier,
    ) -> Result<Function, LoadError> {
        let loaded_at = SystemTime::now();
        if config.memory_mb == 0 || config.memory_mb > limits::WASM_MEMORY_MB_MAX {
            return Err(LoadError::Memory {
                memory_mb: config.memory_mb,
            });
        }
        let outbound = OutboundPolicy::parse(&config.allowed_outbound_hosts)?;
        check_header(wasm)?;
        let compiler = self.inner.compiler(tier);
        let component = Component::new(&compiler.engine, wasm).map_err(LoadError::Compile)?;
        let instance_pre = compiler
            .linker
            .instantiate_pre(&component)
            .map_err(LoadError::Link)?;
        let pre = match ProxyPre::new(instance_pre.clone()) {
            Ok(proxy) => Pre::WasiHttp(proxy),
            Err(_) => match HandlerFunctionPre::new(instance_pre) {
                Ok(handler) => Pre::Handler(handler),
                Err(_) => return Err(LoadError::UnknownWorld),
            },
        };
        let code_sha256: [u8; 32] = Sha256::digest(wasm).into();
        let inner = FunctionInner {
            runtime: Arc::clone(&self.inner),
            tier,
            name: config.name.clone(),
            version: code_version(&code_sha256),
            arn: function_arn(&config.name),
            memory_mb: config.memory_mb,
            timeout_ms: config.timeout_ms,
            environment: config.environment.clone().into(),
            code_size_bytes: u64::try_from(wasm.len()).expect("a loaded component fits in memory"),
            code_sha256,
            loaded_at,
            outbound: Arc::new(outbound),
            pre,
        };
        Ok(Function {
            inner: Arc::new(inner),
        })
    }
}

fn check_header(wasm: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8] = b"\0asm";
    // Bytes 4..8 are the version and layer: 0x0d 0x00 0x01 0x00 for components,
    // 0x01 0x00 0x00 0x00 for core modules.
    match wasm.get(..8) {
        Some(header) if header.starts_with(MAGIC) && header[6..8] == [1, 0] => Ok(()),
        Some(header) if header.starts_with(MAGIC) => Err(LoadError::NotAComponent),
        _ => Err(LoadError::NotWasm),
    }
}

/// Everything an invocation needs besides its input.
#[derive(Debug, Clone)]
pub struct InvokeMeta {
    pub request_id: String,
}

/// The store of one invocation plus what is needed to judge its end.
pub(crate) struct Run {
    pub(crate) store: Store<HostState>,
    pub(crate) logs: LogBuffer,
    pub(crate) started_at: SystemTime,
    pub(crate) start: Instant,
    pub(crate) deadline: Instant,
}

/// The error a guest is interrupted with when its deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("deadline reached")]
pub(crate) struct DeadlineReached;

impl Function {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn version(&self) -> &str {
        &self.inner.version
    }

    pub fn kind(&self) -> FunctionKind {
        match self.inner.pre {
            Pre::Handler(_) => FunctionKind::Handler,
            Pre::WasiHttp(_) => FunctionKind::WasiHttp,
        }
    }

    pub fn memory_mb(&self) -> u32 {
        self.inner.memory_mb
    }

    pub fn timeout_ms(&self) -> u32 {
        self.inner.timeout_ms
    }

    /// The environment variables (also the configuration) the function runs with.
    pub fn environment(&self) -> &[(String, String)] {
        &self.inner.environment
    }

    /// The component's size in bytes.
    pub fn code_size_bytes(&self) -> u64 {
        self.inner.code_size_bytes
    }

    /// The SHA-256 digest of the component's bytes.
    pub fn code_sha256(&self) -> &[u8; 32] {
        &self.inner.code_sha256
    }

    /// When this code was loaded: the app's load or reload that compiled it (or took it from
    /// the cache), or the upgrade that replaced baseline code with optimized code.
    pub fn loaded_at(&self) -> SystemTime {
        self.inner.loaded_at
    }

    /// The time after which the host abandons an invocation even if the guest is stuck in a host call.
    pub(crate) fn hard_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.inner.timeout_ms) + limits::TIMEOUT_GRACE_MS)
    }

    /// A fresh store for one invocation: new WASI context, new resource table, new limits.
    pub(crate) fn new_run(&self) -> Run {
        let inner = &self.inner;
        let start = Instant::now();
        let deadline = start + Duration::from_millis(u64::from(inner.timeout_ms));
        let logs = LogBuffer::default();
        // The guest sees its own environment and nothing of the host: no arguments, no
        // preopened folder (so no file at all), stdin closed, and no network but outbound HTTP
        // (through `wasi:http` and the outbound policy). `wasi:sockets` is linked, so every use
        // of it is refused here, explicitly rather than by wasmtime's defaults. The clocks are
        // the host's: the wall clock is UTC, the monotonic clock starts with this context.
        // `crates/runtime/tests/sandbox.rs` checks each.
        let wasi = WasiCtx::builder()
            .envs(&inner.environment)
            .stdout(logs.stream(LogSource::Stdout))
            .stderr(logs.stream(LogSource::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                policy: Arc::clone(&inner.outbound),
            },
            limiter: MemoryLimiter::new(inner.memory_mb as usize * 1024 * 1024),
            logs: logs.clone(),
            environment: Arc::clone(&inner.environment),
            tables: inner.runtime.tables.clone(),
            connections: inner.runtime.connections.clone(),
            deadline,
        };
        let mut store = Store::new(&inner.runtime.compiler(inner.tier).engine, state);
        store.limiter(|state| &mut state.limiter);
        // Each epoch tick yields to the executor, so a busy guest never holds a worker thread
        // for long, and the deadline is checked at every tick.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                return Err(DeadlineReached.into());
            }
            Ok(UpdateDeadline::Yield(1))
        });
        Run {
            store,
            logs,
            started_at: SystemTime::now(),
            start,
            deadline,
        }
    }

    pub(crate) fn guest_context(&self, meta: &InvokeMeta, run: &Run) -> GuestContext {
        let remaining = run.deadline.saturating_duration_since(Instant::now());
        let deadline = SystemTime::now() + remaining;
        let deadline_ms = deadline
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        GuestContext {
            request_id: meta.request_id.clone(),
            function_name: self.inner.name.clone(),
            function_version: self.inner.version.clone(),
            invoked_function_arn: self.inner.arn.clone(),
            memory_limit_mb: self.inner.memory_mb,
            deadline_ms,
        }
    }

    /// Turns a wasmtime error of this run into the failure it stands for.
    pub(crate) fn classify(&self, run: &Run, error: &wasmtime::Error) -> InvokeError {
        if error.downcast_ref::<DeadlineReached>().is_some() {
            return InvokeError::Timeout {
                timeout_ms: self.inner.timeout_ms,
            };
        }
        if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return InvokeError::Throttled {
                reason: crate::ThrottleReason::ConcurrentInvocationLimitExceeded,
            };
        }
        if run.store.data().limiter.refused {
            return InvokeError::OutOfMemory {
                memory_mb: self.inner.memory_mb,
            };
        }
        InvokeError::Trap {
            message: format!("{error:#}"),
        }
    }

    /// Closes the run: measures it and collects its log.
    pub(crate) fn finish(&self, meta: InvokeMeta, run: Run) -> Report {
        let duration = run.start.elapsed();
        let peak_memory_bytes = run.store.data().limiter.peak_bytes as u64;
        Report {
            request_id: meta.request_id,
            function_name: self.inner.name.clone(),
            function_version: self.inner.version.clone(),
            memory_mb: self.inner.memory_mb,
            started_at: run.started_at,
            duration,
            // Invariant: a wasm function's code is compiled, linked and pre-instantiated before
            // it takes any invocation (`Runtime::load` returns it ready), so no invocation waits
            // for it: none is a cold start. Each invocation's own instantiation is in its
            // `duration`, like any other part of its run.
            init_duration: None,
            peak_memory_bytes,
            logs: run.logs.finish(),
        }
    }
}
