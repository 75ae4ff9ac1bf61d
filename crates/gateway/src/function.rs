//! The two kinds of function an app holds, behind one type the request path invokes.

use bytes::Bytes;
use process::ProcessFunction;
use runtime::{Function, FunctionKind, Invocation, InvokeMeta};

/// A function of the running app: a WebAssembly component or a process function.
/// Cheap to clone; immutable once loaded.
#[derive(Clone)]
pub enum AppFunction {
    Wasm(Function),
    Process(ProcessFunction),
}

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

    /// Runs the function on one event. A `wasi:http` component refuses (it takes requests).
    pub async fn invoke(&self, event: Bytes, meta: InvokeMeta) -> Invocation<Bytes> {
        match self {
            AppFunction::Wasm(function) => function.invoke(&event, meta).await,
            AppFunction::Process(function) => function.invoke(event, meta).await,
        }
    }
}
