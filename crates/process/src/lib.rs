//! Runs process functions: unmodified Lambda code (a `bootstrap` executable, or a Python
//! handler through the official runtime interface client) in warm execution environments
//! that speak the Lambda Runtime API.
//!
//! A [`ProcessHost`] is node-wide: it knows where runtime tools live and what every environment
//! is told about the node (the AWS endpoint, region, credentials). [`ProcessHost::load`] gives a
//! [`ProcessFunction`], which keeps a pool of execution environments: one invocation at a time
//! per environment, reused while warm, reaped when idle.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use runtime::{Invocation, InvokeMeta};

/// The process runtimes rondo knows, with Lambda's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRuntime {
    /// An executable named `bootstrap` in the code folder (`provided.al2023` on Lambda).
    Provided,
    /// A `module.function` handler run by `awslambdaric`.
    Python3,
    /// A `module.function` handler run by Node's runtime interface client.
    Nodejs,
}

/// What every environment of the node is told, and where tools live.
#[derive(Debug, Clone)]
pub struct ProcessHostConfig {
    /// Where runtime tools (the Python runtime interface client, boto3) are installed when missing.
    pub tools_dir: PathBuf,
    /// `AWS_ENDPOINT_URL` given to every environment (rondo's AWS endpoint), if there is one.
    pub aws_endpoint_url: Option<String>,
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` given to every environment.
    pub credentials: (String, String),
    /// An environment idle this long is stopped.
    pub idle_timeout: Duration,
}

/// One process function, as the control plane declares it.
#[derive(Debug, Clone)]
pub struct ProcessFunctionConfig {
    pub name: String,
    pub runtime: ProcessRuntime,
    /// The code folder (Lambda's unpacked deployment package).
    pub code_dir: PathBuf,
    /// `module.function` for Python and Node; `None` for `provided`.
    pub handler: Option<String>,
    pub memory_mb: u32,
    pub timeout_ms: u32,
    pub environment: Vec<(String, String)>,
    /// The version rondo reports for this code (a content hash), as wasm functions report theirs.
    pub version: String,
}

/// The node's process-function host.
#[derive(Clone)]
pub struct ProcessHost {
    config: std::sync::Arc<ProcessHostConfig>,
}

/// A process function ready to be invoked. Cheap to clone.
#[derive(Clone)]
pub struct ProcessFunction {
    config: std::sync::Arc<ProcessFunctionConfig>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessLoadError {
    #[error("{path}: the code folder does not exist")]
    MissingCode { path: PathBuf },
}

impl ProcessHost {
    pub fn new(config: ProcessHostConfig) -> ProcessHost {
        ProcessHost {
            config: std::sync::Arc::new(config),
        }
    }

    /// Checks the function's code and returns a handle; no environment starts until the first invocation.
    pub fn load(&self, config: ProcessFunctionConfig) -> Result<ProcessFunction, ProcessLoadError> {
        let _ = &self.config;
        Ok(ProcessFunction {
            config: std::sync::Arc::new(config),
        })
    }
}

impl ProcessFunction {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// What the function was loaded with (for GetFunction and ListFunctions).
    pub fn config(&self) -> &ProcessFunctionConfig {
        &self.config
    }

    /// Runs one invocation in a warm environment (starting one if none is idle).
    pub async fn invoke(&self, _event: Bytes, _meta: InvokeMeta) -> Invocation<Bytes> {
        unimplemented!("skeleton: the process runtime is being written")
    }
}
