//! The two kinds of function an app holds, behind one type the request path invokes.

use std::time::SystemTime;

use bytes::Bytes;
use process::{ProcessFunction, ProcessRuntime};
use runtime::{Function, FunctionKind, Invocation, InvokeMeta};

/// A function of the running app: a WebAssembly component or a process function.
/// Cheap to clone; immutable once loaded.
#[derive(Clone)]
pub enum AppFunction {
    Wasm(Function),
    Process(ProcessFunction),
}

/// What the Lambda API says about a function (`GetFunction`, `ListFunctions`): the parts of
/// Lambda's `FunctionConfiguration` rondo knows, borrowed from the loaded function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDescription<'a> {
    /// Lambda's `Runtime`: `wasm32-wasip2` for components (Lambda has no value for them), or
    /// the Lambda runtime a process function stands for.
    pub runtime: &'static str,
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
    pub fn name(&self) -> &str {
        match self {
            AppFunction::Wasm(function) => function.name(),
            AppFunction::Process(function) => function.name(),
        }
    }

    /// Whether it takes events (Lambda's model), rather than HTTP requests (`wasi:http`).
    pub fn takes_events(&self) -> bool {
        match self {
            AppFunction::Wasm(function) => function.kind() == FunctionKind::Handler,
            AppFunction::Process(_) => true,
        }
    }

    /// What the Lambda API reports about the function.
    pub fn description(&self) -> FunctionDescription<'_> {
        match self {
            AppFunction::Wasm(function) => FunctionDescription {
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
            AppFunction::Process(function) => {
                let config = function.config();
                FunctionDescription {
                    runtime: match config.runtime {
                        ProcessRuntime::Provided => "provided.al2023",
                        ProcessRuntime::Python3 => "python3.12",
                        ProcessRuntime::Nodejs => "nodejs20.x",
                    },
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

    /// Runs the function on one event. A `wasi:http` component refuses (it takes requests).
    pub async fn invoke(&self, event: Bytes, meta: InvokeMeta) -> Invocation<Bytes> {
        match self {
            AppFunction::Wasm(function) => function.invoke(&event, meta).await,
            AppFunction::Process(function) => function.invoke(event, meta).await,
        }
    }
}
