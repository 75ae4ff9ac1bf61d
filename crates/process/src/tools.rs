//! The tools rondo installs for process functions: Lambda's Python runtime interface client
//! (`awslambdaric`) and boto3, which Lambda's Python runtime provides and handlers rely on.
//!
//! They go into `<tools_dir>/python<major.minor>/` with `pip install --target`, once: a folder
//! holding a marker with the exact requirements is complete. Installs go into a fresh temporary
//! folder that is renamed into place, so two loads racing (in one rondo or two) both end with a
//! complete folder, and an interrupted install leaves nothing that looks complete.

use std::fs;
use std::io::{self, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ProcessLoadError;
use crate::limits::{
    PYTHON_PROBE_TIMEOUT_MS, TOOLS_INSTALL_ERROR_LINES_MAX, TOOLS_INSTALL_TIMEOUT_MS,
};

/// What is installed for Python functions, pinned so every node runs the same code.
pub(crate) const PYTHON_REQUIREMENTS: &[&str] = &["awslambdaric==4.2.2", "boto3==1.44.8"];

/// The file in a complete tools folder, holding the requirements it was installed with.
const MARKER_FILE: &str = ".rondo-tools";

/// Serialises installs within this process, so racing loads do not install twice over; the
/// rename still makes racing processes safe.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// The Python interpreter process functions run on.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    /// The interpreter itself (not a shim: environments start with a cleared environment).
    pub(crate) executable: PathBuf,
    /// `3.11`.
    pub(crate) version: String,
    /// Where the interpreter's own files live (`sys.base_prefix`): a sandbox shows this folder.
    pub(crate) prefix: PathBuf,
}

/// Asks the `python3` on the path for its real executable and version.
pub(crate) fn find_python() -> Result<Python, ProcessLoadError> {
    let mut command = Command::new("python3");
    command.args([
        "-c",
        "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2]); print(sys.base_prefix)",
    ]);
    let not_found = |reason: String| ProcessLoadError::PythonNotFound { reason };
    let (status, output) =
        run_with_timeout(command, Duration::from_millis(PYTHON_PROBE_TIMEOUT_MS))
            .map_err(|error| not_found(error.to_string()))?;
    let output = String::from_utf8_lossy(&output);
    if !status.success() {
        return Err(not_found(format!(
            "python3 failed ({status}): {}",
            output.trim()
        )));
    }
    let mut lines = output.lines();
    match (lines.next(), lines.next(), lines.next()) {
        (Some(executable), Some(version), Some(prefix))
            if !executable.is_empty() && prefix.starts_with('/') =>
        {
            Ok(Python {
                executable: PathBuf::from(executable),
                version: version.trim().to_owned(),
                prefix: PathBuf::from(prefix),
            })
        }
        _ => Err(not_found(format!(
            "unexpected answer from python3: {}",
            output.trim()
        ))),
    }
}

/// Makes sure the Python tools are installed for `python` under `tools_dir`; returns their folder.
pub(crate) fn ensure_python_tools(
    tools_dir: &Path,
    python: &Python,
) -> Result<PathBuf, ProcessLoadError> {
    let folder = tools_dir.join(format!("python{}", python.version));
    let marker = PYTHON_REQUIREMENTS.join("\n");
    if is_complete(&folder, &marker) {
        return Ok(folder);
    }
    let _guard = INSTALL_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Another load may have installed them while this one waited.
    if is_complete(&folder, &marker) {
        return Ok(folder);
    }
    let io_error = |path: &Path, source: io::Error| ProcessLoadError::Io {
        path: path.to_owned(),
        source,
    };
    fs::create_dir_all(tools_dir).map_err(|source| io_error(tools_dir, source))?;
    let staging = tools_dir.join(format!(".{}.{}", unique_suffix(), "installing"));
    let installed = install(python, &staging, &marker);
    if let Err(error) = installed {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    if let Err(error) = fs::rename(&staging, &folder) {
        // Someone else's complete install got there first, or a stale folder is in the way.
        if is_complete(&folder, &marker) {
            let _ = fs::remove_dir_all(&staging);
            return Ok(folder);
        }
        let stale = tools_dir.join(format!(".{}.stale", unique_suffix()));
        if fs::rename(&folder, &stale).is_err() || fs::rename(&staging, &folder).is_err() {
            let _ = fs::remove_dir_all(&staging);
            return Err(io_error(&folder, error));
        }
        let _ = fs::remove_dir_all(&stale);
    }
    Ok(folder)
}

fn is_complete(folder: &Path, marker: &str) -> bool {
    fs::read_to_string(folder.join(MARKER_FILE)).is_ok_and(|found| found == marker)
}

/// Runs pip into `staging` and writes the marker last.
fn install(python: &Python, staging: &Path, marker: &str) -> Result<(), ProcessLoadError> {
    let mut command = Command::new(&python.executable);
    command
        .args(["-m", "pip", "install", "--target"])
        .arg(staging)
        .args([
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-conflicts",
            "--progress-bar",
            "off",
        ])
        .args(PYTHON_REQUIREMENTS);
    let failed = |output: String| ProcessLoadError::ToolsInstall {
        path: staging.to_owned(),
        output,
    };
    let timeout = Duration::from_millis(TOOLS_INSTALL_TIMEOUT_MS);
    let (status, output) =
        run_with_timeout(command, timeout).map_err(|error| failed(error.to_string()))?;
    if !status.success() {
        return Err(failed(last_lines(&output, TOOLS_INSTALL_ERROR_LINES_MAX)));
    }
    fs::write(staging.join(MARKER_FILE), marker).map_err(|source| ProcessLoadError::Io {
        path: staging.join(MARKER_FILE),
        source,
    })
}

/// Runs a command to its end (or kills it after `timeout`), with stdout and stderr together.
fn run_with_timeout(mut command: Command, timeout: Duration) -> io::Result<(ExitStatus, Vec<u8>)> {
    let (mut reader, writer) = io::pipe()?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let mut child = command.spawn()?;
    drop(command);
    // Owner: this function, which joins it below once the command's group is killed (which
    // closes the pipe it reads).
    let collector = std::thread::spawn(move || {
        let mut output = Vec::new();
        let _ = reader.read_to_end(&mut output);
        output
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            crate::memory::kill_group(child.id());
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("did not finish within {} s", timeout.as_secs()),
            ));
        }
        // `load` runs on a blocking thread; a short sleep between checks costs nothing there.
        std::thread::sleep(Duration::from_millis(50));
    };
    // What the command started and left running would hold the pipe open.
    crate::memory::kill_group(child.id());
    let output = collector.join().unwrap_or_default();
    Ok((status, output))
}

fn last_lines(output: &[u8], n_lines: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n_lines)..].join("\n")
}

/// A name part no other install (in this process or another) uses at the same time.
fn unique_suffix() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines(b"only", 5), "only");
    }

    #[test]
    fn a_folder_is_complete_only_with_the_same_marker() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!is_complete(dir.path(), "x==1"));
        fs::write(dir.path().join(MARKER_FILE), "x==1").expect("write");
        assert!(is_complete(dir.path(), "x==1"));
        assert!(!is_complete(dir.path(), "x==2"));
    }

    #[test]
    fn a_command_that_runs_too_long_is_killed() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let started = Instant::now();
        let error = run_with_timeout(command, Duration::from_millis(200)).expect_err("timeout");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
