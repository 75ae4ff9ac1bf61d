//! Loading a process function: check its code, install its runtime's tools, and prepare how its
//! environments start (program, arguments, Lambda's environment variables).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::environment::Launch;
use crate::memory::{self, CgroupParent};
use crate::sandbox::{self, Network, Sandbox, SandboxPlan};
use crate::{HostInner, ProcessFunctionConfig, ProcessLoadError, ProcessRuntime, limits, tools};

/// Entries of a code folder checked for the sandbox user's read access; a larger folder is
/// checked this far (Lambda's unpacked package is at most 250 MB).
const READABLE_CHECK_ENTRIES_MAX: usize = 100_000;

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
    if !(limits::EPHEMERAL_STORAGE_MB_MIN..=limits::EPHEMERAL_STORAGE_MB_MAX)
        .contains(&config.ephemeral_storage_mb)
    {
        return Err(ProcessLoadError::EphemeralStorage {
            ephemeral_storage_mb: config.ephemeral_storage_mb,
        });
    }
    if !config.code_dir.is_dir() {
        return Err(ProcessLoadError::MissingCode {
            path: config.code_dir.clone(),
        });
    }
    // bubblewrap starts in `/`: the code folder is named by its absolute path (an app given as
    // a relative folder has relative code folders).
    let code_dir =
        std::fs::canonicalize(&config.code_dir).map_err(|source| ProcessLoadError::Io {
            path: config.code_dir.clone(),
            source,
        })?;
    let sandbox = host_sandbox(host);
    let seen = match sandbox {
        Some(_) => {
            check_readable_by_others(&config.code_dir)?;
            Seen::Sandboxed
        }
        None => Seen::Host,
    };
    let start = match config.runtime {
        ProcessRuntime::Provided => provided(config, seen)?,
        ProcessRuntime::Python3 => python(host, config, seen)?,
        ProcessRuntime::Nodejs => return Err(ProcessLoadError::NodejsUnsupported),
    };
    host.cgroup.get_or_init(detect_cgroup);
    let sandbox = sandbox.map(|sandbox| {
        let plan = SandboxPlan {
            code_dir: code_dir.clone(),
            runtime_dir: start.runtime_dir.clone(),
            read_only: start.read_only.clone(),
            tmp_bytes: u64::from(config.ephemeral_storage_mb) * 1024 * 1024,
            address_space_bytes: memory::address_space_limit_bytes(config.memory_mb),
            network: if config.outbound_network {
                Network::Host
            } else {
                Network::Private {
                    aws_endpoint: aws_endpoint_address(host),
                }
            },
        };
        (sandbox, plan)
    });
    Ok(Launch {
        variables: variables(host, config, &start, seen),
        program: start.program,
        args: start.args,
        working_dir: config.code_dir.clone(),
        invoked_function_arn: runtime::function_arn(&config.name),
        memory_mb: config.memory_mb,
        lambda_runtime: start.lambda_runtime,
        sandbox,
    })
}

/// Where the function's files are as its processes see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// At their host paths (no sandbox).
    Host,
    /// At Lambda's paths inside the sandbox (`/var/task`, `/var/runtime`).
    Sandboxed,
}

/// The host's sandbox, found out at the first load (and logged then), if the node wants one and
/// the host can run it.
fn host_sandbox(host: &HostInner) -> Option<Arc<Sandbox>> {
    if !host.config.sandbox {
        return None;
    }
    let found = host.sandbox.get_or_init(|| {
        let found = Sandbox::detect().map(Arc::new);
        match &found {
            Ok(_) => tracing::info!("process functions run in sandboxes"),
            Err(reason) => tracing::warn!(%reason, "process functions run without a sandbox"),
        }
        found
    });
    found.as_ref().ok().cloned()
}

/// The address of rondo's AWS endpoint (`http://HOST:PORT`), which a sandbox reaches through a
/// forwarder; `None` without one, or when it is not a numeric address.
fn aws_endpoint_address(host: &HostInner) -> Option<std::net::SocketAddr> {
    let url = host.config.aws_endpoint_url.as_deref()?;
    let authority = url.strip_prefix("http://")?.trim_end_matches('/');
    authority.parse().ok()
}

/// Checks that the sandbox user (one of "others") can read every file and enter every folder of
/// the code folder, as Lambda requires of a deployment package.
fn check_readable_by_others(code_dir: &Path) -> Result<(), ProcessLoadError> {
    let mut pending = vec![code_dir.to_owned()];
    let mut checked = 0_usize;
    while let Some(path) = pending.pop() {
        checked += 1;
        if checked > READABLE_CHECK_ENTRIES_MAX {
            break;
        }
        let metadata = std::fs::symlink_metadata(&path).map_err(|source| ProcessLoadError::Io {
            path: path.clone(),
            source,
        })?;
        let mode = metadata.permissions().mode();
        let readable = if metadata.is_dir() {
            mode & 0o005 == 0o005
        } else if metadata.is_file() {
            mode & 0o004 != 0
        } else {
            // Symlinks are followed by the reader, devices and sockets are not code.
            true
        };
        if !readable {
            return Err(ProcessLoadError::NotReadableBySandbox { path });
        }
        if metadata.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(|source| ProcessLoadError::Io {
                path: path.clone(),
                source,
            })?;
            pending.extend(entries.filter_map(|entry| entry.ok().map(|entry| entry.path())));
        }
    }
    Ok(())
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
    /// The runtime's tools folder on the host (`/var/runtime` in a sandbox).
    runtime_dir: Option<PathBuf>,
    /// Host folders the runtime needs to see at their own path (the interpreter's).
    read_only: Vec<PathBuf>,
}

/// The code folder as the function's processes see it.
fn task_root(config: &ProcessFunctionConfig, seen: Seen) -> PathBuf {
    match seen {
        Seen::Host => config.code_dir.clone(),
        Seen::Sandboxed => PathBuf::from(sandbox::TASK_ROOT),
    }
}

fn provided(config: &ProcessFunctionConfig, seen: Seen) -> Result<Start, ProcessLoadError> {
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
        program: task_root(config, seen).join("bootstrap"),
        args: Vec::new(),
        path_prefix: None,
        runtime_variables: Vec::new(),
        lambda_runtime: "provided.al2023".to_owned(),
        runtime_dir: None,
        read_only: Vec::new(),
    })
}

fn python(
    host: &HostInner,
    config: &ProcessFunctionConfig,
    seen: Seen,
) -> Result<Start, ProcessLoadError> {
    let handler = config
        .handler
        .as_deref()
        .ok_or(ProcessLoadError::MissingHandler { runtime: "python3" })?;
    check_python_module(&config.code_dir, handler)?;
    let python = find_python_once(host)?;
    let tools = tools::ensure_python_tools(&host.config.tools_dir, &python)?;
    let seen_tools = match seen {
        Seen::Host => tools.clone(),
        Seen::Sandboxed => PathBuf::from(sandbox::RUNTIME_DIR),
    };
    let python_path =
        std::env::join_paths([task_root(config, seen), seen_tools.clone()]).map_err(|_| {
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
            seen_tools.to_string_lossy().into_owned(),
        ),
    ];
    // The system folders are in every sandbox; an interpreter elsewhere (pyenv's, under a home
    // folder) is shown at its own path.
    let read_only = if python.prefix.starts_with("/usr") || python.prefix == Path::new("/") {
        Vec::new()
    } else {
        vec![python.prefix.clone()]
    };
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
        runtime_dir: Some(tools),
        read_only,
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
    seen: Seen,
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
        (
            "LAMBDA_TASK_ROOT",
            task_root(config, seen).display().to_string(),
        ),
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
