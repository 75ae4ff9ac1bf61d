//! One execution environment: a runtime process leading its own process group, the Runtime API
//! listener it talks to, the capture of its output, and its memory limit.
//!
//! Dropping an [`Environment`] kills its whole process group and stops its tasks, so an
//! environment never outlives its owner (the pool, or the invocation using it).

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::LogLine;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

use crate::limits::LOG_DRAIN_TIMEOUT_MS;
use crate::logs::LogCapture;
use crate::memory::{self, CgroupParent, EnvironmentCgroup};
use crate::runtime_api::{self, Event, RuntimeApi, Signal};

/// How to start an environment of one function; prepared once, at load.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) working_dir: PathBuf,
    /// Every variable the process gets, in order (a later one wins), except the two that are
    /// the environment's own (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_LOG_STREAM_NAME`).
    pub(crate) variables: Vec<(String, String)>,
    pub(crate) invoked_function_arn: String,
    pub(crate) memory_mb: u32,
    /// Lambda's name for the runtime (`provided.al2023`, `python3.11`).
    pub(crate) lambda_runtime: String,
}

/// A running execution environment.
pub(crate) struct Environment {
    pid: u32,
    spawned_at: Instant,
    memory_limit_bytes: u64,
    events: mpsc::Sender<Event>,
    signals: mpsc::UnboundedReceiver<Signal>,
    logs: Arc<LogCapture>,
    log_task: JoinHandle<()>,
    server_task: AbortHandle,
    exit_task: AbortHandle,
    cgroup: Option<EnvironmentCgroup>,
    sampled_peak_bytes: u64,
}

impl Environment {
    /// Starts the runtime. `cgroup` is where its memory group goes (the watchdog's limits apply
    /// without one); `name` names that group.
    pub(crate) async fn spawn(
        launch: &Launch,
        cgroup: Option<&CgroupParent>,
        name: &str,
    ) -> io::Result<Environment> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (events_sender, events) = mpsc::channel(1);
        let (signal_sender, signals) = mpsc::unbounded_channel();
        let api = Arc::new(RuntimeApi::new(
            &launch.invoked_function_arn,
            events,
            signal_sender.clone(),
        ));
        // Owner: this environment (`server_task`), aborted on its drop, and on every failed
        // start below.
        let server = tokio::spawn(runtime_api::serve(listener, Arc::clone(&api)));
        let started = start_process(launch, &address.to_string());
        let (mut child, stdout, stderr) = match started {
            Ok(started) => started,
            Err(error) => {
                server.abort();
                return Err(error);
            }
        };
        let spawned_at = Instant::now();
        let pid = child
            .id()
            .expect("a child that was not waited for has a pid");
        // The child leads a group of its own (`process_group(0)`), whose id is its pid.
        api.set_process_group(pid);
        let cgroup = match cgroup {
            Some(parent) => match place_in_cgroup(parent, name, launch.memory_mb, pid) {
                Ok(group) => Some(group),
                Err(error) => {
                    memory::kill_group(pid);
                    let _ = child.start_kill();
                    server.abort();
                    return Err(error);
                }
            },
            None => {
                let limit = memory::address_space_limit_bytes(launch.memory_mb);
                if let Err(error) = memory::limit_address_space(pid, limit) {
                    tracing::warn!(pid, %error, "cannot limit an environment's address space");
                }
                None
            }
        };
        let logs = match LogCapture::new(stdout, stderr) {
            Ok(logs) => logs,
            Err(error) => {
                memory::kill_group(pid);
                server.abort();
                return Err(error);
            }
        };
        // Owner: this environment (`log_task`, `exit_task`): `kill` waits briefly for the last
        // logs, and its drop aborts both.
        let log_task = tokio::spawn(Arc::clone(&logs).run());
        let exit_task = tokio::spawn(async move {
            let status = child.wait().await.map_err(|error| error.to_string());
            let _ = signal_sender.send(Signal::Exited(status));
        });
        Ok(Environment {
            pid,
            spawned_at,
            memory_limit_bytes: u64::from(launch.memory_mb) * 1024 * 1024,
            events: events_sender,
            signals,
            logs,
            log_task,
            server_task: server.abort_handle(),
            exit_task: exit_task.abort_handle(),
            cgroup,
            sampled_peak_bytes: 0,
        })
    }

    /// The pid of the environment's leader, which is also its process group id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Whether the kernel enforces the memory limit (a cgroup); otherwise the watchdog does.
    pub(crate) fn has_cgroup(&self) -> bool {
        self.cgroup.is_some()
    }

    /// Hands an event to the runtime's (current or next) `next`. False if the environment
    /// cannot take it (its API is gone, or an earlier event was never taken).
    pub(crate) fn deliver(&self, event: Event) -> bool {
        self.events.try_send(event).is_ok()
    }

    /// Waits for the environment's next signal; `None` once it can send none.
    pub(crate) async fn signal(&mut self) -> Option<Signal> {
        self.signals.recv().await
    }

    /// Whether an idle environment can take an invocation: nothing happened to it while idle
    /// (the only thing that can is its end).
    pub(crate) fn is_usable(&mut self) -> bool {
        matches!(
            self.signals.try_recv(),
            Err(mpsc::error::TryRecvError::Empty)
        )
    }

    /// Samples the resident memory of the whole process group; true when it is over the limit.
    pub(crate) fn over_memory(&mut self) -> bool {
        let resident_bytes = memory::group_resident_bytes(self.pid);
        self.sampled_peak_bytes = self.sampled_peak_bytes.max(resident_bytes);
        resident_bytes > self.memory_limit_bytes
    }

    /// The most memory the environment has held: the kernel's count where there is one, else
    /// the leader's high-water mark or the watchdog's largest sample of the group.
    pub(crate) fn peak_memory_bytes(&self) -> u64 {
        let kernel = match &self.cgroup {
            Some(group) => group.peak_bytes(),
            None => memory::peak_resident_bytes(self.pid),
        };
        kernel.unwrap_or(0).max(self.sampled_peak_bytes)
    }

    /// Whether the environment is past its memory limit at its peak (checked at each invocation's end).
    pub(crate) fn peak_over_limit(&self) -> bool {
        self.cgroup.is_none() && self.peak_memory_bytes() > self.memory_limit_bytes
    }

    /// Whether the kernel killed a process of the environment for exceeding its memory.
    pub(crate) fn oom_killed(&self) -> bool {
        self.cgroup
            .as_ref()
            .is_some_and(EnvironmentCgroup::oom_killed)
    }

    /// What the environment printed since the last call.
    pub(crate) fn take_logs(&self) -> Vec<LogLine> {
        self.logs.take()
    }

    /// Kills the environment and returns what it printed, waiting briefly for its last output.
    pub(crate) async fn kill(mut self) -> Vec<LogLine> {
        memory::kill_group(self.pid);
        let drain = Duration::from_millis(LOG_DRAIN_TIMEOUT_MS);
        // The pipes close once every process of the group is gone; a process that left the
        // group may hold them open, hence the bound.
        let _ = tokio::time::timeout(drain, &mut self.log_task).await;
        self.logs.take()
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        memory::kill_group(self.pid);
        self.server_task.abort();
        self.exit_task.abort();
        self.log_task.abort();
    }
}

/// Starts the runtime process from a cleared environment, leading a new process group.
fn start_process(
    launch: &Launch,
    runtime_api_address: &str,
) -> io::Result<(
    tokio::process::Child,
    std::os::fd::OwnedFd,
    std::os::fd::OwnedFd,
)> {
    let (stdout_read, stdout_write) = io::pipe()?;
    let (stderr_read, stderr_write) = io::pipe()?;
    let mut command = tokio::process::Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(&launch.working_dir)
        .env_clear()
        .envs(launch.variables.iter().map(|(key, value)| (key, value)))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api_address)
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name())
        .stdin(Stdio::null())
        .stdout(stdout_write)
        .stderr(stderr_write)
        .process_group(0)
        .kill_on_drop(true);
    let child = command.spawn()?;
    // The command holds the pipes' write ends; dropping it leaves them to the child alone, so
    // the read ends see the end of output when the environment ends.
    drop(command);
    Ok((child, stdout_read.into(), stderr_read.into()))
}

fn place_in_cgroup(
    parent: &CgroupParent,
    name: &str,
    memory_mb: u32,
    pid: u32,
) -> io::Result<EnvironmentCgroup> {
    let group = parent.create(name, memory_mb)?;
    group.add(pid)?;
    Ok(group)
}

/// Lambda's log stream name: `YYYY/MM/DD/[$LATEST]` and 32 hex digits.
fn log_stream_name() -> String {
    let format = time::macros::format_description!("[year]/[month]/[day]");
    let date = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default();
    format!("{date}/[$LATEST]{}", uuid::Uuid::new_v4().simple())
}
