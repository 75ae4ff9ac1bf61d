//! Loading a process function: check its code, install its runtime's tools, and prepare how its
//! environments start (program, arguments, Lambda's environment variables).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::environment::Launch;
use crate::memory::CgroupParent;
use crate::{HostInner, ProcessFunctionConfig, ProcessLoadError, ProcessRuntime, limits, tools};

/// Lambda's `PATH`, after the language runtime's own folder.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin/:/bin";

/// Checks `config` and prepares its environments' launch.
pub(crate) fn prepare(
    host: &HostInner,
    config: &ProcessFunctionConfig,
) -> Result<Launch, ProcessLoadError> {
    if !(limits::MEMORY_MB_MIN..=limits::MEMORY_MB_MAX).contains(&config.memory_mb) {
        return Err(ProcessLoadError::Memory {
            memory_mb: config.memory_mb,
        });
    }
    if config.timeout_ms == 0 {
        return Err(ProcessLoadError::Timeout);
    }
    if !config.code_dir.is_dir() {
        return Err(ProcessLoadError::MissingCode {
            path: config.code_dir.clone(),
        });
    }
    let start = match config.runtime {
        ProcessRuntime::Provided => provided(config)?,
        ProcessRuntime::Python3 => python(host, config)?,
        ProcessRuntime::Nodejs => return Err(ProcessLoadError::NodejsUnsupported),
    };
    host.cgroup.get_or_init(detect_cgroup);
    Ok(Launch {
        variables: variables(host, config, &start),
        program: start.program,
        args: start.args,
        working_dir: config.code_dir.clone(),
        invoked_function_arn: runtime::function_arn(&config.name),
        memory_mb: config.memory_mb,
        lambda_runtime: start.lambda_runtime,
    })
}

/// How one runtime starts, before the variables every runtime gets.
struct Start {
    program: PathBuf,
    args: Vec<String>,
    /// Folders put before the system's on `PATH`.
    path_prefix: Option<PathBuf>,
    /// Variables only this runtime gets (`AWS_EXECUTION_ENV`, `PYTHONPATH`, ...).
    runtime_variables: Vec<(String, String)>,
    /// Lambda's name for the runtime.
    lambda_runtime: String,
}

fn provided(config: &ProcessFunctionConfig) -> Result<Start, ProcessLoadError> {
    let bootstrap = config.code_dir.join("bootstrap");
    let metadata =
        std::fs::metadata(&bootstrap).map_err(|_| ProcessLoadError::MissingBootstrap {
            path: bootstrap.clone(),
        })?;
    let executable = metadata.is_file() && metadata.permissions().mode() & 0o111 != 0;
    if !executable {
        return Err(ProcessLoadError::BootstrapNotExecutable { path: bootstrap });
    }
    Ok(Start {
        program: bootstrap,
        args: Vec::new(),
        path_prefix: None,
        runtime_variables: Vec::new(),
        lambda_runtime: "provided.al2023".to_owned(),
    })
}

fn python(host: &HostInner, config: &ProcessFunctionConfig) -> Result<Start, ProcessLoadError> {
    let handler = config
        .handler
        .as_deref()
        .ok_or(ProcessLoadError::MissingHandler { runtime: "python3" })?;
    check_python_module(&config.code_dir, handler)?;
    let python = find_python_once(host)?;
    let tools = tools::ensure_python_tools(&host.config.tools_dir, &python)?;
    let python_path =
        std::env::join_paths([config.code_dir.as_path(), tools.as_path()]).map_err(|_| {
            ProcessLoadError::Io {
                path: config.code_dir.clone(),
                source: std::io::Error::other("the path cannot be put on PYTHONPATH"),
            }
        })?;
    let runtime_variables = vec![
        (
            "AWS_EXECUTION_ENV".to_owned(),
            format!("AWS_Lambda_python{}", python.version),
        ),
        (
            "PYTHONPATH".to_owned(),
            python_path.to_string_lossy().into_owned(),
        ),
        (
            "LAMBDA_RUNTIME_DIR".to_owned(),
            tools.to_string_lossy().into_owned(),
        ),
    ];
    Ok(Start {
        lambda_runtime: format!("python{}", python.version),
        path_prefix: python.executable.parent().map(Path::to_owned),
        program: python.executable,
        args: vec![
            "-m".to_owned(),
            "awslambdaric".to_owned(),
            handler.to_owned(),
        ],
        runtime_variables,
    })
}

fn find_python_once(host: &HostInner) -> Result<tools::Python, ProcessLoadError> {
    let mut found = host
        .python
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(python) = &*found {
        return Ok(python.clone());
    }
    let python = tools::find_python()?;
    *found = Some(python.clone());
    Ok(python)
}

/// Checks that `module.function`'s module is a file of the code folder, as `awslambdaric`
/// imports it: `a.b.f` and `a/b.f` both name `a/b.py` (or the package `a/b/`).
pub(crate) fn check_python_module(code_dir: &Path, handler: &str) -> Result<(), ProcessLoadError> {
    let invalid = || ProcessLoadError::InvalidHandler {
        handler: handler.to_owned(),
    };
    let (module, function) = handler.rsplit_once('.').ok_or_else(invalid)?;
    if module.is_empty() || function.is_empty() {
        return Err(invalid());
    }
    let relative: PathBuf = module.split(['.', '/']).collect();
    let file = code_dir.join(&relative).with_extension("py");
    let package = code_dir.join(&relative).join("__init__.py");
    if file.is_file() || package.is_file() {
        return Ok(());
    }
    Err(ProcessLoadError::MissingHandlerModule {
        handler: handler.to_owned(),
        path: file,
    })
}

/// Every variable an environment of the function gets, in the order they are set: Lambda's
/// unreserved defaults, then the function's own, then the reserved ones, which win.
fn variables(
    host: &HostInner,
    config: &ProcessFunctionConfig,
    start: &Start,
) -> Vec<(String, String)> {
    let host_config = &host.config;
    let path = match &start.path_prefix {
        Some(prefix) => format!("{}:{SYSTEM_PATH}", prefix.display()),
        None => SYSTEM_PATH.to_owned(),
    };
    let mut variables: Vec<(String, String)> = vec![
        ("TZ".to_owned(), ":UTC".to_owned()),
        ("LANG".to_owned(), "en_US.UTF-8".to_owned()),
        ("PATH".to_owned(), path),
    ];
    if let Some(endpoint) = &host_config.aws_endpoint_url {
        variables.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.clone()));
    }
    variables.extend(config.environment.iter().cloned());
    let handler = config
        .handler
        .clone()
        .unwrap_or_else(|| "bootstrap".to_owned());
    let reserved = [
        ("_HANDLER", handler),
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        ("AWS_REGION", runtime::REGION.to_owned()),
        ("AWS_DEFAULT_REGION", runtime::REGION.to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_ACCESS_KEY_ID", host_config.credentials.0.clone()),
        ("AWS_SECRET_ACCESS_KEY", host_config.credentials.1.clone()),
        ("LAMBDA_TASK_ROOT", config.code_dir.display().to_string()),
    ];
    variables.extend(reserved.map(|(key, value)| (key.to_owned(), value)));
    variables.extend(start.runtime_variables.iter().cloned());
    variables
}

/// Finds out once per host whether cgroup v2 can hold environments' memory.
fn detect_cgroup() -> Option<CgroupParent> {
    let self_cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let name = format!(
        "rondo-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let parent = CgroupParent::detect(Path::new("/sys/fs/cgroup"), &self_cgroup, &name);
    match &parent {
        Some(_) => tracing::info!("process functions' memory is limited by cgroup v2"),
        None => tracing::info!(
            "no usable cgroup v2 memory controller: process functions' memory is limited by a watchdog"
        ),
    }
    parent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(files: &[&str], handler: &str, expect: Result<(), &str>) {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, "").expect("write");
        }
        let got = check_python_module(dir.path(), handler).map_err(|error| error.to_string());
        let root = dir.path().display().to_string();
        let expect = expect.map_err(|message| message.replace("$ROOT", &root));
        assert_eq!(got, expect);
    }

    #[test]
    fn handler_modules_are_found_as_awslambdaric_finds_them() {
        check(&["app.py"], "app.handler", Ok(()));
        check(&["pkg/mod.py"], "pkg.mod.handler", Ok(()));
        check(&["pkg/mod.py"], "pkg/mod.handler", Ok(()));
        check(&["pkg/__init__.py"], "pkg.handler", Ok(()));
        check(
            &["app.py"],
            "main.handler",
            Err("$ROOT/main.py: not found (handler `main.handler` names the module in this file)"),
        );
        check(
            &["app.py"],
            "app",
            Err("handler `app` is not `module.function`"),
        );
        check(
            &["app.py"],
            "app.",
            Err("handler `app.` is not `module.function`"),
        );
    }
}
