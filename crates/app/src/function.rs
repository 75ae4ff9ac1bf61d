//! The two kinds of function an app holds, behind one type the request path invokes, with
//! the concurrency pool every invocation of the function takes a slot from.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use process::ProcessFunction;
use runtime::{
    Function, FunctionKind, Invocation, InvokeError, InvokeMeta, Report, ThrottleReason,
};

use crate::concurrency::{FunctionPool, ScalingConfig};

/// A function of the running app, ready to invoke. Cheap to clone; immutable once loaded.
#[derive(Clone)]
pub struct AppFunction {
    code: Code,
    pool: Arc<FunctionPool>,
    /// How long an invocation over a limit waits for a slot before it is refused.
    throttle_wait: Duration,
}

/// What runs a function: a WebAssembly component or a process function.
#[derive(Clone)]
pub enum Code {
    Wasm(Function),
    Process(ProcessFunction),
}

/// What the Lambda API says about a function (`GetFunction`, `ListFunctions`): the parts of
/// Lambda's `FunctionConfiguration` rondo knows, borrowed from the loaded function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDescription<'a> {
    /// Lambda's `Runtime`: `wasm32-wasip2` for components (Lambda has no value for them), or
    /// the Lambda runtime a process function stands for.
    pub runtime: &'a str,
    /// Lambda's `Handler`: the world a component exports, or a process function's
    /// `module.function` (`bootstrap` for `provided`).
    pub handler: &'a str,
    /// The code's size and SHA-256, when rondo has them (wasm components).
    pub code: Option<CodeDigest<'a>>,
    pub memory_mb: u32,
    pub timeout_ms: u32,
    pub environment: &'a [(String, String)],
    /// When the loaded code was loaded, when rondo knows it (wasm components).
    pub loaded_at: Option<SystemTime>,
}

/// A deployment package's size and digest, as Lambda reports them.
#[derive(Debug, Clone, Copy)]
pub struct CodeDigest<'a> {
    pub size_bytes: u64,
    pub sha256: &'a [u8; 32],
}

/// The `Runtime` rondo reports for wasm components. Lambda's enum has no value for them.
pub const WASM_RUNTIME: &str = "wasm32-wasip2";

impl AppFunction {
    /// The function `code`, counted against `pool`.
    pub fn new(code: Code, pool: Arc<FunctionPool>, throttle_wait: Duration) -> AppFunction {
        AppFunction {
            code,
            pool,
            throttle_wait,
        }
    }

    /// The function with a pool of its own and no limit but `concurrency_max` (tests, tools).
    pub fn unlimited(code: Code, concurrency_max: u32) -> AppFunction {
        let config = ScalingConfig {
            concurrency_max,
            throttle_wait: Duration::ZERO,
            queue_max: 0,
            scale_up_per_10s: concurrency_max,
            warm_window: Duration::ZERO,
        };
        let pool = FunctionPool::unlimited(code.name(), config);
        AppFunction::new(code, pool, Duration::ZERO)
    }

    pub fn name(&self) -> &str {
        self.code.name()
    }

    pub fn code(&self) -> &Code {
        &self.code
    }

    /// The function's concurrency pool (its in-flight count is its concurrency).
    pub fn pool(&self) -> &Arc<FunctionPool> {
        &self.pool
    }

    /// Whether it takes events (Lambda's model), rather than HTTP requests (`wasi:http`).
    pub fn takes_events(&self) -> bool {
        match &self.code {
            Code::Wasm(function) => function.kind() == FunctionKind::Handler,
            Code::Process(_) => true,
        }
    }

    /// Whether it is a `wasi:http` component, which takes HTTP requests ([`AppFunction::serve_http`]).
    pub fn takes_requests(&self) -> bool {
        !self.takes_events()
    }

    /// What the Lambda API reports about the function.
    pub fn description(&self) -> FunctionDescription<'_> {
        match &self.code {
            Code::Wasm(function) => FunctionDescription {
                runtime: WASM_RUNTIME,
                handler: match function.kind() {
                    FunctionKind::Handler => "rondo:function/handler",
                    FunctionKind::WasiHttp => "wasi:http/incoming-handler",
                },
                code: Some(CodeDigest {
                    size_bytes: function.code_size_bytes(),
                    sha256: function.code_sha256(),
                }),
                memory_mb: function.memory_mb(),
                timeout_ms: function.timeout_ms(),
                environment: function.environment(),
                loaded_at: Some(function.loaded_at()),
            },
            Code::Process(function) => {
                let config = function.config();
                FunctionDescription {
                    runtime: function.lambda_runtime(),
                    handler: config.handler.as_deref().unwrap_or("bootstrap"),
                    code: None,
                    memory_mb: config.memory_mb,
                    timeout_ms: config.timeout_ms,
                    environment: &config.environment,
                    loaded_at: None,
                }
            }
        }
    }

    /// Runs the function on one event, once it has a slot of its pool (else the invocation is
    /// throttled: it did not run). A `wasi:http` component refuses (it takes requests).
    pub async fn invoke(&self, event: Bytes, meta: InvokeMeta) -> Invocation<Bytes> {
        let _slot = match self.pool.acquire(self.throttle_wait).await {
            Ok(slot) => slot,
            Err(reason) => return self.throttled(meta, reason),
        };
        match &self.code {
            Code::Wasm(function) => function.invoke(&event, meta).await,
            Code::Process(function) => function.invoke(event, meta).await,
        }
    }

    /// Runs a `wasi:http` component on one request, once it has a slot of its pool.
    /// Any other function refuses (it takes events).
    pub async fn serve_http(
        &self,
        request: http::Request<Bytes>,
        meta: InvokeMeta,
    ) -> Invocation<http::Response<Bytes>> {
        let _slot = match self.pool.acquire(self.throttle_wait).await {
            Ok(slot) => slot,
            Err(reason) => return self.throttled(meta, reason),
        };
        match &self.code {
            Code::Wasm(function) => function.serve_http(request, meta).await,
            Code::Process(_) => Invocation {
                report: self.empty_report(meta),
                result: Err(InvokeError::Protocol {
                    message: "a process function takes events, not HTTP requests".to_owned(),
                }),
            },
        }
    }

    fn throttled<T>(&self, meta: InvokeMeta, reason: ThrottleReason) -> Invocation<T> {
        Invocation {
            report: self.empty_report(meta),
            result: Err(InvokeError::Throttled { reason }),
        }
    }

    /// The report of an invocation that never ran.
    fn empty_report(&self, meta: InvokeMeta) -> Report {
        Report {
            request_id: meta.request_id,
            function_name: self.name().to_owned(),
            function_version: self.code.version().to_owned(),
            memory_mb: self.description().memory_mb,
            started_at: SystemTime::now(),
            duration: Duration::ZERO,
            init_duration: None,
            peak_memory_bytes: 0,
            logs: Vec::new(),
        }
    }
}

impl Code {
    pub fn name(&self) -> &str {
        match self {
            Code::Wasm(function) => function.name(),
            Code::Process(function) => function.name(),
        }
    }

    /// The version rondo reports for the code (a content hash).
    pub fn version(&self) -> &str {
        match self {
            Code::Wasm(function) => function.version(),
            Code::Process(function) => &function.config().version,
        }
    }
}
