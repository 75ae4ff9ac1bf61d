//! One execution environment: a runtime process leading its own process group, the Runtime API
//! listener it talks to, the capture of its output, and its memory limit.
//!
//! Dropping an [`Environment`] kills its whole process group and stops its tasks, so an
//! environment never outlives its owner (the pool, or the invocation using it).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use command_fds::CommandFdExt as _;
use runtime::LogLine;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

use crate::limits::{LOG_DRAIN_TIMEOUT_MS, SANDBOX_RUNTIME_API_PORT};
use crate::logs::LogCapture;
use crate::memory::{self, CgroupParent, EnvironmentCgroup};
use crate::runtime_api::{self, Event, Peers, RuntimeApi, Signal};
use crate::sandbox::{self, Network, Sandbox, SandboxPlan, UidLease};

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
    /// The sandbox environments start in, and how (`None`: unsandboxed, as rondo's user).
    pub(crate) sandbox: Option<(Arc<Sandbox>, SandboxPlan)>,
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
    /// The forwarder to rondo's AWS endpoint of a sandbox with a network of its own.
    forward_task: Option<AbortHandle>,
    /// The uid a sandboxed environment runs as, given back after its processes are killed.
    _uid: Option<UidLease>,
    /// Whether the group's leader is the sandbox's first step rather than the runtime.
    sandboxed: bool,
    /// The runtime's pid in a sandbox, found at the first measurement after init.
    runtime_pid: OnceLock<u32>,
}

impl Environment {
    /// Starts the runtime. `cgroup` is where its memory group goes (the watchdog's limits apply
    /// without one); `name` names that group.
    pub(crate) async fn spawn(
        launch: &Launch,
        cgroup: Option<&CgroupParent>,
        name: &str,
    ) -> io::Result<Environment> {
        let (events_sender, events) = mpsc::channel(1);
        let (signal_sender, signals) = mpsc::unbounded_channel();
        let peers = match &launch.sandbox {
            Some((_, plan)) if matches!(plan.network, Network::Private { .. }) => {
                Peers::PrivateNetwork
            }
            _ => Peers::ProcessGroup,
        };
        let api = Arc::new(RuntimeApi::new(
            &launch.invoked_function_arn,
            events,
            signal_sender.clone(),
            peers,
        ));
        let uid = match &launch.sandbox {
            Some((sandbox, _)) => Some(
                sandbox
                    .lease_uid()
                    .ok_or_else(|| io::Error::other("every sandbox uid is in use"))?,
            ),
            None => None,
        };
        let started = start_process(launch, uid.as_ref()).await?;
        let Started {
            mut child,
            stdout,
            stderr,
            api_listener,
            aws_forward,
        } = started;
        // Owner: this environment (`server_task`), aborted on its drop, and on every failed
        // start below.
        let server = tokio::spawn(runtime_api::serve(api_listener, Arc::clone(&api)));
        let forward = aws_forward.map(|(listener, endpoint)| {
            // Owner: this environment (`forward_task`), aborted on its drop and on every failed
            // start below.
            tokio::spawn(sandbox::forward_to_endpoint(listener, endpoint))
        });
        let abort_started = |server: &JoinHandle<()>, forward: &Option<JoinHandle<()>>| {
            server.abort();
            if let Some(forward) = forward {
                forward.abort();
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
                    abort_started(&server, &forward);
                    return Err(error);
                }
            },
            // A sandbox sets the backstop itself, before the runtime starts.
            None if launch.sandbox.is_some() => None,
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
                abort_started(&server, &forward);
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
            forward_task: forward.map(|forward| forward.abort_handle()),
            _uid: uid,
            sandboxed: launch.sandbox.is_some(),
            runtime_pid: OnceLock::new(),
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
            None => self.runtime_pid().and_then(memory::peak_resident_bytes),
        };
        kernel.unwrap_or(0).max(self.sampled_peak_bytes)
    }

    /// The runtime's pid: the leader's, or in a sandbox the group's largest process (found once,
    /// after the runtime started).
    fn runtime_pid(&self) -> Option<u32> {
        if !self.sandboxed {
            return Some(self.pid);
        }
        if let Some(pid) = self.runtime_pid.get() {
            return Some(*pid);
        }
        let pid = memory::largest_member(self.pid)?;
        Some(*self.runtime_pid.get_or_init(|| pid))
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
        if let Some(forward) = &self.forward_task {
            forward.abort();
        }
        // The uid is given back (`uid`'s drop) once the group was killed.
    }
}

/// A started runtime process and what it talks to.
struct Started {
    child: tokio::process::Child,
    stdout: OwnedFd,
    stderr: OwnedFd,
    /// The Runtime API's listener.
    api_listener: TcpListener,
    /// In a sandbox with a network of its own: the listener inside it for rondo's AWS endpoint,
    /// and the endpoint's address.
    aws_forward: Option<(TcpListener, SocketAddr)>,
}

/// Starts the runtime process from a cleared environment, leading a new process group: directly,
/// or in a sandbox as `uid`.
async fn start_process(launch: &Launch, uid: Option<&UidLease>) -> io::Result<Started> {
    let (stdout_read, stdout_write) = io::pipe()?;
    let (stderr_read, stderr_write) = io::pipe()?;
    let (program, args, fds) = match (&launch.sandbox, uid) {
        (Some((sandbox, plan)), Some(uid)) => {
            sandbox.command_line(plan, uid.uid(), &launch.program, &launch.args)?
        }
        _ => (
            launch.program.clone(),
            launch.args.iter().map(Into::into).collect(),
            Vec::new(),
        ),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(launch.variables.iter().map(|(key, value)| (key, value)))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name())
        .stdin(Stdio::null())
        .stdout(stdout_write)
        .stderr(stderr_write)
        .process_group(0)
        .kill_on_drop(true);
    command
        .fd_mappings(fds)
        .map_err(|error| io::Error::other(error.to_string()))?;
    let started = |child, api_listener, aws_forward| Started {
        child,
        stdout: stdout_read.into(),
        stderr: stderr_read.into(),
        api_listener,
        aws_forward,
    };
    let Some((sandbox, plan)) = &launch.sandbox else {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        command
            .current_dir(&launch.working_dir)
            .env("AWS_LAMBDA_RUNTIME_API", listener.local_addr()?.to_string());
        let child = command.spawn()?;
        // The command holds the pipes' write ends; dropping it leaves them to the child alone,
        // so the read ends see the end of output when the environment ends.
        drop(command);
        return Ok(started(child, listener, None));
    };
    command.current_dir("/");
    match plan.network {
        Network::Private { aws_endpoint } => {
            command.env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("{}:{SANDBOX_RUNTIME_API_PORT}", Ipv4Addr::LOCALHOST),
            );
            let launched = sandbox.launch(command, plan.network).await?;
            let Some((api, aws)) = launched.private else {
                return Err(io::Error::other("a private network without its listeners"));
            };
            let api = TcpListener::from_std(api)?;
            let aws_forward = match (aws, aws_endpoint) {
                (Some(listener), Some(endpoint)) => {
                    Some((TcpListener::from_std(listener)?, endpoint))
                }
                _ => None,
            };
            Ok(started(launched.child, api, aws_forward))
        }
        Network::Host => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            command.env("AWS_LAMBDA_RUNTIME_API", listener.local_addr()?.to_string());
            let launched = sandbox.launch(command, plan.network).await?;
            Ok(started(launched.child, listener, None))
        }
    }
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
