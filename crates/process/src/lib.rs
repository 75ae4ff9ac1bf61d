//! Runs process functions: unmodified Lambda code (a `bootstrap` executable, or a Python
//! handler through the official runtime interface client) in warm execution environments
//! that speak the Lambda Runtime API.
//!
//! A [`ProcessHost`] is node-wide: it knows where runtime tools live and what every environment
//! is told about the node (the AWS endpoint, region, credentials). [`ProcessHost::load`] gives a
//! [`ProcessFunction`], which keeps a pool of execution environments: one invocation at a time
//! per environment, reused while warm (the most recently used first), reaped when idle.
//! Dropping the last clone of a [`ProcessFunction`] kills every environment it has.
//!
//! Design and decisions: `docs/design/006-process-functions.md`.

mod environment;
mod invoke;
pub mod limits;
mod load;
mod logs;
mod memory;
mod peer;
mod pool;
mod runtime_api;
mod sandbox;
mod tools;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use runtime::{Invocation, InvokeMeta};

/// How the Runtime API reads an error a runtime posts (public for the fuzz targets, `fuzz/`).
pub use crate::runtime_api::{PostedError, parse_posted_error};

use crate::memory::CgroupParent;
use crate::pool::FunctionInner;
use crate::sandbox::Sandbox;

/// The process runtimes rondo knows, with Lambda's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRuntime {
    /// An executable named `bootstrap` in the code folder (`provided.al2023` on Lambda).
    Provided,
    /// A `module.function` handler run by `awslambdaric`.
    Python3,
    /// A `module.function` handler run by Node's runtime interface client.
    /// Refused at load: see [`ProcessLoadError::NodejsUnsupported`].
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
    /// Contain each environment in a sandbox of its own (`docs/design/014-sandbox.md`) when the
    /// host can; where it cannot, [`ProcessHost::sandbox_status`] says why.
    pub sandbox: bool,
}

/// One process function, as the control plane declares it.
#[derive(Debug, Clone)]
pub struct ProcessFunctionConfig {
    /// The function's name (Lambda's `FunctionName`).
    pub name: String,
    pub runtime: ProcessRuntime,
    /// The code folder (Lambda's unpacked deployment package).
    pub code_dir: PathBuf,
    /// `module.function` for Python and Node; `None` for `provided`.
    pub handler: Option<String>,
    /// The memory limit of each environment, in MB (`128..=10240`).
    pub memory_mb: u32,
    /// The time one invocation may take, in milliseconds.
    pub timeout_ms: u32,
    /// The function's environment variables; Lambda's reserved variables win over them.
    pub environment: Vec<(String, String)>,
    /// The version rondo reports for this code (a content hash), as wasm functions report theirs.
    pub version: String,
    /// The size of the environment's `/tmp` in a sandbox, in MB (Lambda's ephemeral storage).
    pub ephemeral_storage_mb: u32,
    /// The environment may use the host's network (else a sandbox has none but the Runtime API
    /// and rondo's AWS endpoint).
    pub outbound_network: bool,
}

/// The node's process-function host. Cheap to clone.
#[derive(Clone)]
pub struct ProcessHost {
    inner: Arc<HostInner>,
}

/// A process function ready to be invoked. Cheap to clone; the last clone dropped kills its
/// environments.
#[derive(Clone)]
pub struct ProcessFunction {
    inner: Arc<FunctionInner>,
}

/// Why a process function cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessLoadError {
    #[error("{path}: the code folder does not exist")]
    MissingCode { path: PathBuf },
    #[error(
        "{path}: not found (a `provided` function's code folder holds an executable `bootstrap`)"
    )]
    MissingBootstrap { path: PathBuf },
    #[error("{path}: `bootstrap` is not an executable file (chmod +x it)")]
    BootstrapNotExecutable { path: PathBuf },
    #[error("a {runtime} function needs a handler (`module.function`)")]
    MissingHandler { runtime: &'static str },
    #[error("handler `{handler}` is not `module.function`")]
    InvalidHandler { handler: String },
    #[error("{path}: not found (handler `{handler}` names the module in this file)")]
    MissingHandlerModule { handler: String, path: PathBuf },
    #[error("python3 not found: {reason} (python3 functions need python3 on the PATH)")]
    PythonNotFound { reason: String },
    #[error(
        "installing the Python runtime interface client and boto3 into {path} failed:\n{output}"
    )]
    ToolsInstall { path: PathBuf, output: String },
    #[error(
        "nodejs functions are not supported yet: Node's runtime interface client (npm \
         `aws-lambda-ric`) compiles native code when installed, which needs cmake, autoconf, \
         automake, libtool, make and g++ (its 4.x releases also need Node.js 22 or newer), more \
         than a stock Debian has; use `provided` with a bootstrap, or python3"
    )]
    NodejsUnsupported,
    #[error("memory_mb {memory_mb} is outside {min}..={max} for a process function", min = limits::MEMORY_MB_MIN, max = limits::MEMORY_MB_MAX)]
    Memory { memory_mb: u32 },
    #[error("timeout_ms must be at least 1")]
    Timeout,
    #[error(
        "ephemeral_storage_mb {ephemeral_storage_mb} is outside {min}..={max}",
        min = limits::EPHEMERAL_STORAGE_MB_MIN,
        max = limits::EPHEMERAL_STORAGE_MB_MAX
    )]
    EphemeralStorage { ephemeral_storage_mb: u32 },
    #[error(
        "{path}: not readable by the function's sandbox user (as on Lambda, the code must be \
         readable by others: files 644, folders 755; `chmod -R o+rX` the code folder)"
    )]
    NotReadableBySandbox { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) struct HostInner {
    config: ProcessHostConfig,
    /// The interpreter found by the first Python load (kept: asking costs a process start).
    python: Mutex<Option<tools::Python>>,
    /// Where environments' cgroups go, found out at the first load; `None`: the watchdog.
    cgroup: OnceLock<Option<CgroupParent>>,
    /// The sandbox, found out at the first load; the error says why there is none.
    sandbox: OnceLock<Result<Arc<Sandbox>, String>>,
}

impl ProcessHost {
    pub fn new(config: ProcessHostConfig) -> ProcessHost {
        ProcessHost {
            inner: Arc::new(HostInner {
                config,
                python: Mutex::new(None),
                cgroup: OnceLock::new(),
                sandbox: OnceLock::new(),
            }),
        }
    }

    /// Checks the function's code (and installs the runtime's tools when missing) and returns a
    /// handle; no environment starts until the first invocation. Blocking: call it off the
    /// async threads.
    pub fn load(&self, config: ProcessFunctionConfig) -> Result<ProcessFunction, ProcessLoadError> {
        let launch = load::prepare(&self.inner, &config)?;
        Ok(ProcessFunction {
            inner: Arc::new(FunctionInner::new(Arc::clone(&self.inner), config, launch)),
        })
    }

    /// How long an idle environment stays warm.
    pub fn idle_timeout(&self) -> Duration {
        self.inner.config.idle_timeout
    }

    /// Whether environments' memory is limited by cgroup v2 (else by the watchdog); known after
    /// the first load.
    pub fn uses_cgroups(&self) -> Option<bool> {
        self.inner.cgroup.get().map(Option::is_some)
    }

    /// Whether environments run sandboxed, known after the first load: `Err` says why they do
    /// not (the node says it at every load). `None` before any process function was loaded.
    pub fn sandbox_status(&self) -> Option<Result<(), String>> {
        if !self.inner.config.sandbox {
            return Some(Err("the sandbox is turned off".to_owned()));
        }
        let status = self.inner.sandbox.get()?;
        Some(status.as_ref().map(|_| ()).map_err(Clone::clone))
    }
}

impl ProcessFunction {
    pub fn name(&self) -> &str {
        &self.inner.config().name
    }

    /// Lambda's name for the function's runtime: `provided.al2023`, or `python3.NN` for the
    /// interpreter that runs it.
    pub fn lambda_runtime(&self) -> &str {
        &self.inner.launch().lambda_runtime
    }

    /// What the function was loaded with (for GetFunction and ListFunctions).
    pub fn config(&self) -> &ProcessFunctionConfig {
        self.inner.config()
    }

    /// Runs one invocation in a warm environment (starting one if none is idle).
    pub async fn invoke(&self, event: Bytes, meta: InvokeMeta) -> Invocation<Bytes> {
        invoke::invoke(&self.inner, event, meta).await
    }

    /// The pids of the function's environments' leaders (each also its process group id):
    /// idle ones, most recently used last. For tests and diagnostics.
    pub fn idle_environment_pids(&self) -> Vec<u32> {
        self.inner.idle_pids()
    }

    /// How many environments the function has: idle, starting and busy.
    pub fn environment_count(&self) -> u32 {
        self.inner.environment_count()
    }
}
