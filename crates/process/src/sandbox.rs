//! Containing execution environments: each one runs in Linux namespaces of its own, as a user
//! of its own, with a read-only view of the system and of its code, a private `/tmp` of a fixed
//! size, and no network unless the function declares outbound access.
//!
//! The chain that starts an environment, each step doing what it is made for:
//!
//! 1. `bwrap` (bubblewrap, from the distribution), run as root: new mount, PID, IPC, UTS and
//!    cgroup namespaces; a root of its own holding the system folders read-only, a few files of
//!    `/etc`, the code at `/var/task`, the runtime's tools at `/var/runtime`, the interpreter's
//!    folder, a size-limited `/tmp`, a fresh `/proc` and `/dev`. It runs as root so that it can
//!    reach folders the sandbox user may not (a code folder under `/root`), and it kills the
//!    sandbox when rondo dies (`--die-with-parent`).
//! 2. `prlimit` (util-linux): Lambda's limits of 1,024 processes and 1,024 open files, no core
//!    dumps, and the address-space backstop, set before anything of the function runs.
//! 3. `setpriv` (util-linux): switches to the environment's own uid and gid (from
//!    [`SANDBOX_UID_FIRST`], never one of the host's accounts), drops every capability, the
//!    bounding set and supplementary groups, and sets `no_new_privs`.
//! 4. `bwrap` again, now unprivileged: a user namespace mapping only that uid, in which no
//!    further user namespace may be made (`--disable-userns`), and the seccomp filter (Lambda's
//!    denials, see [`seccomp_programs`]), then the runtime.
//!
//! The network namespace is made by rondo: a short-lived thread unshares its network namespace,
//! brings its loopback up, binds the Runtime API at `127.0.0.1:9001` (as on Lambda) and a
//! forwarder to rondo's AWS endpoint on the endpoint's own port, and starts step 1 from there, so
//! the sandbox inherits that namespace and both listeners exist before the runtime starts.
//! Nothing else is reachable. A function that declares outbound access shares the host's network
//! instead, and its Runtime API listener checks its peers (`peer.rs`).
//!
//! Needs: rondo running as root (it hands each environment a uid of its own), bubblewrap, and a
//! kernel with user namespaces. Where any is missing, environments run unsandboxed and the node
//! says so at every load. Design and what this does not cover: `docs/design/014-sandbox.md`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use command_fds::{CommandFdExt as _, FdMapping};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

use crate::limits::{
    SANDBOX_OPEN_FILES_MAX, SANDBOX_PROBE_TIMEOUT_MS, SANDBOX_PROCESSES_MAX,
    SANDBOX_RUNTIME_API_PORT, SANDBOX_UID_FIRST, SANDBOX_UIDS,
};

/// Where the function's code is, inside the sandbox (Lambda's `LAMBDA_TASK_ROOT`).
pub(crate) const TASK_ROOT: &str = "/var/task";
/// Where the runtime's tools are, inside the sandbox (Lambda's `LAMBDA_RUNTIME_DIR`).
pub(crate) const RUNTIME_DIR: &str = "/var/runtime";
/// The first fd the seccomp programs reach the inner `bwrap` on (then 4, ...).
const SECCOMP_FD_FIRST: i32 = 3;

/// The system folders shown read-only (or as the symlinks they are on a merged-`/usr` system).
const SYSTEM_FOLDERS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];
/// What of `/etc` a runtime needs: name resolution, certificates, time zones, the dynamic
/// linker's cache. Not the host's accounts, passwords or configuration.
const ETC_ENTRIES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/localtime",
    "/etc/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/mime.types",
];

/// The node's sandbox: the tools found and the seccomp program built once, the uids in use, and
/// the thread that starts sandboxes.
#[derive(Debug)]
pub(crate) struct Sandbox {
    launcher: Launcher,
    bwrap: PathBuf,
    prlimit: PathBuf,
    setpriv: PathBuf,
    /// The seccomp programs, each loaded from an fd of its own (from [`SECCOMP_FD_FIRST`]).
    seccomp: Vec<Vec<u8>>,
    /// The system folders and `/etc` entries, as found on this host.
    system: Vec<SystemEntry>,
    uids: Mutex<UidPool>,
}

#[derive(Debug)]
enum SystemEntry {
    Folder(PathBuf),
    File(PathBuf),
    Symlink { path: PathBuf, target: PathBuf },
}

/// How one function's environments are contained, prepared at load.
#[derive(Debug, Clone)]
pub(crate) struct SandboxPlan {
    /// The code folder on the host, shown read-only at [`TASK_ROOT`].
    pub(crate) code_dir: PathBuf,
    /// The runtime's tools folder on the host, shown read-only at [`RUNTIME_DIR`].
    pub(crate) runtime_dir: Option<PathBuf>,
    /// Folders shown read-only at their own path (the interpreter's).
    pub(crate) read_only: Vec<PathBuf>,
    /// The size of `/tmp`.
    pub(crate) tmp_bytes: u64,
    /// The address-space backstop (`RLIMIT_AS`).
    pub(crate) address_space_bytes: u64,
    pub(crate) network: Network,
}

/// What a sandbox's network is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    /// A namespace of its own: loopback with the Runtime API and a way to rondo's AWS endpoint
    /// (when there is one), nothing else.
    Private { aws_endpoint: Option<SocketAddr> },
    /// The host's network (the function declared outbound access).
    Host,
}

/// A uid one running environment holds; given back when dropped.
pub(crate) struct UidLease {
    uid: u32,
    sandbox: Arc<Sandbox>,
}

impl UidLease {
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        self.sandbox.uids().release(self.uid);
    }
}

/// The sandbox uids in use. A freed uid goes to the back of the line (the next one handed out
/// is the one after the last handed out), so a uid is reused as late as possible.
#[derive(Debug, Default)]
struct UidPool {
    in_use: std::collections::BTreeSet<u32>,
    next: u32,
}

impl UidPool {
    fn take(&mut self) -> Option<u32> {
        if self.in_use.len() >= SANDBOX_UIDS as usize {
            return None;
        }
        loop {
            let index = self.next;
            self.next = (self.next + 1) % SANDBOX_UIDS;
            let uid = SANDBOX_UID_FIRST + index;
            if self.in_use.insert(uid) {
                return Some(uid);
            }
        }
    }

    fn release(&mut self, uid: u32) {
        self.in_use.remove(&uid);
    }
}

impl Sandbox {
    /// Finds out whether this host can run sandboxes, and prepares them; the error says why not,
    /// for the node to say at every load.
    pub(crate) fn detect() -> Result<Sandbox, String> {
        if !rustix::process::geteuid().is_root() {
            return Err(
                "rondo is not running as root, and the sandbox gives each execution \
                        environment a user of its own"
                    .to_owned(),
            );
        }
        let find = |name: &str| {
            find_program(name).ok_or_else(|| match name {
                "bwrap" => {
                    "bubblewrap (`bwrap`) is not installed (Debian: apt-get install bubblewrap)"
                        .to_owned()
                }
                _ => format!("`{name}` (util-linux) is not installed"),
            })
        };
        let sandbox = Sandbox {
            launcher: Launcher::start().map_err(|error| {
                format!("the thread that starts sandboxes cannot start: {error}")
            })?,
            bwrap: find("bwrap")?,
            prlimit: find("prlimit")?,
            setpriv: find("setpriv")?,
            seccomp: seccomp_programs()?,
            system: system_entries(),
            uids: Mutex::new(UidPool::default()),
        };
        sandbox.probe()?;
        Ok(sandbox)
    }

    /// Starts `command` (a [`Sandbox::command_line`]) on the launcher thread: in a network
    /// namespace of its own with the Runtime API and the AWS endpoint's forwarder bound inside, or
    /// in the host's network.
    pub(crate) async fn launch(
        &self,
        command: tokio::process::Command,
        network: Network,
    ) -> io::Result<Launched> {
        self.launcher.launch(command, network).await
    }

    /// Hands out a uid for one environment; `None` when every sandbox uid is in use.
    pub(crate) fn lease_uid(self: &Arc<Self>) -> Option<UidLease> {
        let uid = self.uids().take()?;
        Some(UidLease {
            uid,
            sandbox: Arc::clone(self),
        })
    }

    fn uids(&self) -> std::sync::MutexGuard<'_, UidPool> {
        self.uids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The program and arguments that run `program args` in a sandbox for `plan` as `uid`
    /// (its working folder is [`TASK_ROOT`]), and the fds the child must get (the seccomp
    /// programs' pipes, see [`CommandFdExt::fd_mappings`]).
    pub(crate) fn command_line(
        &self,
        plan: &SandboxPlan,
        uid: u32,
        program: &Path,
        args: &[String],
    ) -> io::Result<(PathBuf, Vec<OsString>, Vec<FdMapping>)> {
        let mut line = Arguments::default();
        line.add([
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "localhost",
        ]);
        let mut folders = Folders::default();
        for entry in &self.system {
            match entry {
                SystemEntry::Folder(path) | SystemEntry::File(path) => {
                    folders.ensure_parents(&mut line, path);
                    line.add(["--ro-bind"]);
                    line.add_paths([path, path]);
                }
                SystemEntry::Symlink { path, target } => {
                    folders.ensure_parents(&mut line, path);
                    line.add(["--symlink"]);
                    line.add_paths([target, path]);
                }
            }
        }
        line.add(["--proc", "/proc", "--dev", "/dev"]);
        for path in &plan.read_only {
            folders.ensure_parents(&mut line, path);
            line.add(["--ro-bind"]);
            line.add_paths([path, path]);
        }
        folders.ensure_parents(&mut line, Path::new(TASK_ROOT));
        line.add(["--ro-bind"]);
        line.add_paths([plan.code_dir.as_path(), Path::new(TASK_ROOT)]);
        if let Some(runtime_dir) = &plan.runtime_dir {
            line.add(["--ro-bind"]);
            line.add_paths([runtime_dir.as_path(), Path::new(RUNTIME_DIR)]);
        }
        line.add([
            "--size",
            &plan.tmp_bytes.to_string(),
            "--perms",
            "1777",
            "--tmpfs",
            "/tmp",
        ]);
        line.add(["--chdir", TASK_ROOT, "--"]);
        // 2. Limits, set while still root, inherited by everything below.
        line.add_paths([self.prlimit.as_path()]);
        line.add([
            format!("--nproc={SANDBOX_PROCESSES_MAX}"),
            format!("--nofile={SANDBOX_OPEN_FILES_MAX}"),
            "--core=0".to_owned(),
            format!("--as={}", plan.address_space_bytes),
            "--".to_owned(),
        ]);
        // 3. The environment's own user, without privileges.
        line.add_paths([self.setpriv.as_path()]);
        line.add([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".to_owned(),
            "--inh-caps=-all".to_owned(),
            "--bounding-set=-all".to_owned(),
            "--no-new-privs".to_owned(),
            "--".to_owned(),
        ]);
        // 4. A user namespace of that user alone, then the seccomp filter, then the runtime.
        line.add_paths([self.bwrap.as_path()]);
        line.add([
            "--unshare-user".to_owned(),
            "--disable-userns".to_owned(),
            "--die-with-parent".to_owned(),
            "--bind".to_owned(),
            "/".to_owned(),
            "/".to_owned(),
            "--chdir".to_owned(),
            TASK_ROOT.to_owned(),
        ]);
        for index in 0..self.seccomp.len() {
            line.add(["--add-seccomp-fd".to_owned(), fd_number(index).to_string()]);
        }
        line.add(["--"]);
        line.add_paths([program]);
        line.add(args.iter().cloned());
        let mut fds = Vec::new();
        for (index, program) in self.seccomp.iter().enumerate() {
            fds.push(FdMapping {
                parent_fd: pipe_holding(program)?,
                child_fd: fd_number(index),
            });
        }
        Ok((self.bwrap.clone(), line.0, fds))
    }

    /// Runs `true` in a sandbox with a network of its own: whatever the host lacks (user
    /// namespaces, permission to make namespaces) fails here, once, with bubblewrap's words.
    fn probe(self: &Sandbox) -> Result<(), String> {
        let Some(program) = find_program("true") else {
            return Err("`true` is not installed".to_owned());
        };
        let code_dir = std::env::temp_dir();
        let plan = SandboxPlan {
            code_dir,
            runtime_dir: None,
            read_only: Vec::new(),
            tmp_bytes: 1024 * 1024,
            address_space_bytes: 1024 * 1024 * 1024,
            network: Network::Private { aws_endpoint: None },
        };
        let fail = |error: io::Error| format!("the sandbox cannot start: {error}");
        let (bwrap, args, fds) = self
            .command_line(&plan, SANDBOX_UID_FIRST + SANDBOX_UIDS - 1, &program, &[])
            .map_err(fail)?;
        let mut command = std::process::Command::new(bwrap);
        command
            .args(args)
            .env_clear()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .fd_mappings(fds)
            .map_err(|error| fail(io::Error::other(error.to_string())))?;
        let output = std::thread::scope(|scope| {
            // Owner: this function, which joins it (a scoped thread: its network namespace is
            // the sandbox's, and dies with it).
            scope
                .spawn(|| {
                    enter_private_network()?;
                    let child = command.spawn()?;
                    wait_with_timeout(child, Duration::from_millis(SANDBOX_PROBE_TIMEOUT_MS))
                })
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the probe's thread panicked")))
        })
        .map_err(fail)?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "the sandbox cannot start ({}): {}",
            output.status,
            stderr.trim()
        ))
    }
}

/// A started sandbox: its first process, and in a network of its own the listeners bound inside
/// it (the Runtime API's, and the AWS endpoint's forwarder's when there is an endpoint).
pub(crate) struct Launched {
    pub(crate) child: tokio::process::Child,
    pub(crate) private: Option<(std::net::TcpListener, Option<std::net::TcpListener>)>,
}

struct LaunchRequest {
    command: tokio::process::Command,
    network: Network,
    runtime: tokio::runtime::Handle,
    reply: tokio::sync::oneshot::Sender<io::Result<Launched>>,
}

/// The one thread that starts every sandbox of a node.
///
/// One long-lived thread, because of two things Linux ties to the thread rather than the
/// process: bubblewrap's `--die-with-parent` (`PR_SET_PDEATHSIG`) fires when the *thread* that
/// started it ends, so a sandbox started from a short-lived thread would be killed at once; and
/// a network namespace is entered per thread, so this thread moves into each new sandbox's
/// namespace to bind its listeners and start it, then back into the host's. The thread ends
/// when the [`Sandbox`] is dropped, and every sandbox it started dies with it.
#[derive(Debug)]
struct Launcher {
    requests: Option<std::sync::mpsc::Sender<LaunchRequest>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Launcher {
    fn start() -> io::Result<Launcher> {
        let host_network = std::fs::File::open("/proc/thread-self/ns/net")?;
        let (requests, received) = std::sync::mpsc::channel::<LaunchRequest>();
        // Owner: the `Launcher`, whose drop closes its channel (the thread then ends) and joins it.
        let thread = std::thread::Builder::new()
            .name("rondo-sandbox-launcher".to_owned())
            .spawn(move || {
                for request in received {
                    let launched = launch_here(&host_network, request.command, request.network, &request.runtime);
                    let broken = matches!(&launched, Err(error) if error.kind() == io::ErrorKind::NotConnected);
                    let _ = request.reply.send(launched);
                    if broken {
                        // Stuck in a sandbox's network namespace: start nothing more.
                        return;
                    }
                }
            })?;
        Ok(Launcher {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    async fn launch(
        &self,
        command: tokio::process::Command,
        network: Network,
    ) -> io::Result<Launched> {
        let stopped = || io::Error::other("the sandbox launcher has stopped");
        let (reply, launched) = tokio::sync::oneshot::channel();
        let request = LaunchRequest {
            command,
            network,
            runtime: tokio::runtime::Handle::current(),
            reply,
        };
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(request)
            .map_err(|_| stopped())?;
        launched.await.map_err(|_| stopped())?
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts `command` on the calling thread (the launcher's), in a new network namespace or the
/// host's. An error of kind `NotConnected` means the thread could not go back to the host's
/// network namespace.
fn launch_here(
    host_network: &std::fs::File,
    mut command: tokio::process::Command,
    network: Network,
    runtime: &tokio::runtime::Handle,
) -> io::Result<Launched> {
    let _runtime = runtime.enter();
    let Network::Private { aws_endpoint } = network else {
        let child = command.spawn()?;
        return Ok(Launched {
            child,
            private: None,
        });
    };
    enter_private_network()?;
    let launched = bind_private_listeners(aws_endpoint).and_then(|(api, aws)| {
        let child = command.spawn()?;
        Ok(Launched {
            child,
            private: Some((api, aws)),
        })
    });
    // The command holds the pipes' write ends: dropped here, the child alone holds them.
    drop(command);
    nix::sched::setns(host_network, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|error| {
        io::Error::new(
            io::ErrorKind::NotConnected,
            format!("cannot return to the host's network namespace: {error}"),
        )
    })?;
    launched
}

/// Builds an argument list.
#[derive(Default)]
struct Arguments(Vec<OsString>);

impl Arguments {
    fn add<S: Into<OsString>>(&mut self, args: impl IntoIterator<Item = S>) {
        self.0.extend(args.into_iter().map(Into::into));
    }

    fn add_paths<P: AsRef<Path>>(&mut self, paths: impl IntoIterator<Item = P>) {
        self.0.extend(
            paths
                .into_iter()
                .map(|path| path.as_ref().as_os_str().to_owned()),
        );
    }
}

/// The folders made so far in the sandbox's root, so each parent of a mount point is made once,
/// world-readable (bubblewrap would otherwise make them readable by root alone).
#[derive(Default)]
struct Folders(std::collections::BTreeSet<PathBuf>);

impl Folders {
    fn ensure_parents(&mut self, line: &mut Arguments, path: &Path) {
        let mut parents: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .filter(|parent| *parent != Path::new("/"))
            .collect();
        parents.reverse();
        for parent in parents {
            if self.0.insert(parent.to_owned()) {
                line.add(["--perms", "0755", "--dir"]);
                line.add_paths([parent]);
            }
        }
    }
}

/// Moves the calling thread into a new network namespace with its loopback up: what it does
/// afterwards happens inside, until it goes back.
fn enter_private_network() -> io::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    loopback_up()
}

/// Brings the loopback interface of the calling thread's network namespace up (a new namespace
/// has it down, without an address), with one netlink request: `ip link set lo up`.
fn loopback_up() -> io::Result<()> {
    use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_route::link::{LinkFlags, LinkMessage};
    use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_ROUTE};

    let index = nix::net::if_::if_nametoindex("lo").map_err(io::Error::from)?;
    let mut link = LinkMessage::default();
    link.header.index = index;
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    let mut request = NetlinkMessage::from(RouteNetlinkMessage::SetLink(link));
    request.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    request.header.sequence_number = 1;
    request.finalize();
    let mut buffer = vec![0; request.buffer_len()];
    request.serialize(&mut buffer);

    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&NetlinkAddr::new(0, 0))?;
    socket.send(&buffer, 0)?;
    let mut reply = Vec::with_capacity(4096);
    let size = socket.recv(&mut reply, 0)?;
    let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply[..size])
        .map_err(|error| io::Error::other(format!("netlink answer: {error}")))?;
    match reply.payload {
        NetlinkPayload::Error(error) => match error.code {
            None => Ok(()),
            Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
        },
        _ => Ok(()),
    }
}

/// Binds the Runtime API (Lambda's `127.0.0.1:9001`) and, when there is an AWS endpoint, a
/// listener on its port, in the calling thread's network namespace.
fn bind_private_listeners(
    aws_endpoint: Option<SocketAddr>,
) -> io::Result<(std::net::TcpListener, Option<std::net::TcpListener>)> {
    let api = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, SANDBOX_RUNTIME_API_PORT))?;
    api.set_nonblocking(true)?;
    let aws = match aws_endpoint {
        Some(endpoint) => {
            let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, endpoint.port()))?;
            listener.set_nonblocking(true)?;
            Some(listener)
        }
        None => None,
    };
    Ok((api, aws))
}

/// Forwards each connection made inside a sandbox to rondo's AWS endpoint until aborted (the
/// environment owns it). The bytes go through as they are: the request is signed for the same
/// host and port.
pub(crate) async fn forward_to_endpoint(listener: tokio::net::TcpListener, endpoint: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inside, _)) = accepted else { continue };
                if connections.len() >= crate::limits::SANDBOX_AWS_CONNECTIONS_MAX {
                    // Over the limit: the connection is closed at once.
                    continue;
                }
                // Owner: this forwarder's `JoinSet`, aborted with it.
                connections.spawn(async move {
                    let Ok(mut outside) = tokio::net::TcpStream::connect(endpoint).await else {
                        return;
                    };
                    let _ = inside.set_nodelay(true);
                    let _ = outside.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The fd the `index`th seccomp program is given on.
fn fd_number(index: usize) -> i32 {
    SECCOMP_FD_FIRST + i32::try_from(index).unwrap_or(0)
}

/// A pipe holding `bytes`, its write end closed (a seccomp program is far smaller than a pipe's
/// buffer, so the write never blocks).
fn pipe_holding(bytes: &[u8]) -> io::Result<OwnedFd> {
    let (read, mut write) = io::pipe()?;
    write.write_all(bytes)?;
    drop(write);
    Ok(read.into())
}

/// An executable in the system's folders (not `PATH`: what the sandbox runs must not depend on
/// who started rondo from where).
fn find_program(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|folder| Path::new(folder).join(name))
        .find(|path| path.is_file())
}

/// The system folders and `/etc` entries this host has, each as what it is.
fn system_entries() -> Vec<SystemEntry> {
    SYSTEM_FOLDERS
        .iter()
        .chain(ETC_ENTRIES)
        .filter_map(|path| {
            let path = Path::new(path);
            let metadata = std::fs::symlink_metadata(path).ok()?;
            if metadata.file_type().is_symlink() {
                let target = std::fs::read_link(path).ok()?;
                return Some(SystemEntry::Symlink {
                    path: path.to_owned(),
                    target,
                });
            }
            if metadata.is_dir() {
                Some(SystemEntry::Folder(path.to_owned()))
            } else {
                Some(SystemEntry::File(path.to_owned()))
            }
        })
        .collect()
}

/// What a sandboxed process may not do, as Lambda's execution environment does not let
/// functions do it: load kernel modules or programs (`bpf`, `kexec`), mount, trace other
/// processes or read their memory, change the system's clock, reboot, use kernel keyrings,
/// make namespaces, inject terminal input (`TIOCSTI`). Each such call fails with `EPERM`;
/// `clone3` fails with `ENOSYS`, so the C library falls back to `clone`, whose namespace flags
/// the filter can see. Everything else is allowed. Calls of another architecture's ABI (32-bit
/// calls on x86_64) kill the process.
fn seccomp_programs() -> Result<Vec<Vec<u8>>, String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => TargetArch::x86_64,
        "aarch64" => TargetArch::aarch64,
        "riscv64" => TargetArch::riscv64,
        other => return Err(format!("no seccomp filter for the {other} architecture")),
    };
    let fail = |error: seccompiler::BackendError| format!("building the seccomp filter: {error}");
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for syscall in denied_syscalls() {
        denied.insert(syscall, Vec::new());
    }
    // clone with any namespace flag; clone's flags are its first argument on every architecture
    // rondo builds for.
    let namespace_flags = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ];
    let mut clone_rules = Vec::new();
    for flag in namespace_flags {
        let flag = u64::from(flag.unsigned_abs());
        let condition = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )
        .map_err(fail)?;
        clone_rules.push(SeccompRule::new(vec![condition]).map_err(fail)?);
    }
    denied.insert(libc::SYS_clone, clone_rules);
    let tiocsti = SeccompCondition::new(
        1,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        u64::from(libc::TIOCSTI as u32),
    )
    .map_err(fail)?;
    denied.insert(
        libc::SYS_ioctl,
        vec![SeccompRule::new(vec![tiocsti]).map_err(fail)?],
    );
    let filter = SeccompFilter::new(
        denied,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(fail)?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(fail)?;
    // One action per filter: two programs, both loaded (the kernel applies every filter, and an
    // error wins over allowing).
    [filter, clone3]
        .into_iter()
        .map(|filter| {
            let program: seccompiler::BpfProgram = filter.try_into().map_err(fail)?;
            let mut bytes = Vec::with_capacity(program.len() * 8);
            for instruction in program {
                bytes.extend_from_slice(&instruction.code.to_ne_bytes());
                bytes.push(instruction.jt);
                bytes.push(instruction.jf);
                bytes.extend_from_slice(&instruction.k.to_ne_bytes());
            }
            Ok(bytes)
        })
        .collect()
}

/// The calls denied outright.
fn denied_syscalls() -> Vec<i64> {
    let mut calls = vec![
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_reboot,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_quotactl,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_mount_setattr,
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([libc::SYS_iopl, libc::SYS_ioperm]);
    calls
}

/// Waits for a child for at most `timeout`, killing it then.
fn wait_with_timeout(
    mut child: std::process::Child,
    timeout: Duration,
) -> io::Result<std::process::Output> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if child.try_wait()?.is_some() {
            return child.wait_with_output();
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "an empty sandbox did not finish in time",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_handed_out_once_and_reused_last() {
        let mut pool = UidPool::default();
        let first = pool.take().expect("a uid");
        let second = pool.take().expect("a uid");
        assert_eq!((first, second), (SANDBOX_UID_FIRST, SANDBOX_UID_FIRST + 1));
        pool.release(first);
        assert_eq!(
            pool.take(),
            Some(SANDBOX_UID_FIRST + 2),
            "a freed uid waits its turn"
        );
    }

    #[test]
    fn the_seccomp_programs_are_whole_instructions() {
        let programs = seccomp_programs().expect("programs for this architecture");
        assert_eq!(programs.len(), 2);
        for program in programs {
            assert!(!program.is_empty());
            assert_eq!(program.len() % 8, 0);
        }
    }

    #[test]
    fn each_parent_of_a_mount_point_is_made_once() {
        let mut folders = Folders::default();
        let mut line = Arguments::default();
        folders.ensure_parents(&mut line, Path::new("/var/task"));
        folders.ensure_parents(&mut line, Path::new("/var/runtime"));
        let line: Vec<String> = line
            .0
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        assert_eq!(line, ["--perms", "0755", "--dir", "/var"]);
    }
}
