//! Memory limits and measurements of environments.
//!
//! Two ways to hold an environment to its `memory_mb`, chosen once per host:
//! - cgroup v2, where the unified hierarchy has the memory controller and rondo may create a
//!   child group of its own: each environment gets a group with `memory.max` = its memory and
//!   `memory.swap.max` = 0, and the kernel kills it at the limit (`memory.events` says so).
//! - Otherwise a watchdog: while an invocation or an init runs, the resident memory of the
//!   environment's process group is sampled from `/proc`, and at each invocation's end the
//!   leader's high-water mark (`VmHWM`) is checked; over the limit, the group is killed.
//!   An address-space limit (`RLIMIT_AS`) on the leader is the backstop for what grows faster
//!   than the watchdog samples.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustix::process::{Pid, Resource, Rlimit};

use crate::limits::{ADDRESS_SPACE_HEADROOM_MB, ADDRESS_SPACE_MEMORY_FACTOR};

const MIB: u64 = 1024 * 1024;

/// The `RLIMIT_AS` of an environment of `memory_mb`.
pub(crate) fn address_space_limit_bytes(memory_mb: u32) -> u64 {
    (u64::from(memory_mb) * ADDRESS_SPACE_MEMORY_FACTOR + ADDRESS_SPACE_HEADROOM_MB) * MIB
}

/// Sets the address-space limit of a running process (inherited by the processes it starts).
pub(crate) fn limit_address_space(pid: u32, limit_bytes: u64) -> io::Result<()> {
    let pid = Pid::from_raw(pid_as_i32(pid)?).ok_or(io::ErrorKind::InvalidInput)?;
    let limit = Rlimit {
        current: Some(limit_bytes),
        maximum: Some(limit_bytes),
    };
    rustix::process::prlimit(Some(pid), Resource::As, limit)?;
    Ok(())
}

/// Kills every process of the group led by `pgid` (the environment's leader).
pub(crate) fn kill_group(pgid: u32) {
    let Ok(raw) = pid_as_i32(pgid) else { return };
    if let Some(pid) = Pid::from_raw(raw) {
        // The group may be gone already; there is nothing else to do then.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

fn pid_as_i32(pid: u32) -> io::Result<i32> {
    i32::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// The high-water mark of one process's resident memory (`VmHWM`), in bytes.
pub(crate) fn peak_resident_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, "VmHWM:").map(|kib| kib * 1024)
}

/// The processes of the group `pgid`.
pub(crate) fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // A process may exit between the listing and the read; it holds nothing then.
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parse_stat_group(&stat))
                == Some(pgid)
        })
        .collect()
}

/// The process of the group `pgid` that has held the most memory: in a sandbox, the runtime
/// (the group's leader is the sandbox's first step).
pub(crate) fn largest_member(pgid: u32) -> Option<u32> {
    group_members(pgid)
        .into_iter()
        .filter_map(|pid| Some((peak_resident_bytes(pid)?, pid)))
        .max()
        .map(|(_, pid)| pid)
}

/// The resident memory of every process in the group `pgid`, in bytes.
pub(crate) fn group_resident_bytes(pgid: u32) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let page_bytes = rustix::param::page_size() as u64;
    let mut total_pages = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        // A process may exit between the listing and the read; it then holds no memory.
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((group, rss_pages)) = parse_stat_group_and_rss(&stat)
            && group == pgid
        {
            total_pages += rss_pages;
        }
    }
    total_pages * page_bytes
}

/// A `Name:   123 kB` field of `/proc/<pid>/status`.
fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .split_whitespace()
        .next()
        .and_then(|value| value.parse().ok())
}

/// The process group (field 5) of a `/proc/<pid>/stat` line.
pub(crate) fn parse_stat_group(stat: &str) -> Option<u32> {
    parse_stat_group_and_rss(stat).map(|(group, _)| group)
}

/// The process group (field 5) and resident pages (field 24) of a `/proc/<pid>/stat` line.
/// The command name (field 2) may hold spaces and parentheses, so fields are counted from the
/// last `)`.
fn parse_stat_group_and_rss(stat: &str) -> Option<(u32, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (the state).
    let group = fields.get(5 - 3)?.parse().ok()?;
    let rss_pages = fields.get(24 - 3)?.parse().ok()?;
    Some((group, rss_pages))
}

/// A cgroup v2 folder under which rondo creates one group per environment.
#[derive(Debug)]
pub(crate) struct CgroupParent {
    path: PathBuf,
}

/// One environment's cgroup: removed (after killing what is left in it) when dropped.
#[derive(Debug)]
pub(crate) struct EnvironmentCgroup {
    path: PathBuf,
}

impl CgroupParent {
    /// Finds out whether rondo can limit environments with cgroup v2: the unified hierarchy
    /// mounted at `mount` offers the memory controller, it can be enabled for the children of
    /// rondo's own group (`self_cgroup` is the text of `/proc/self/cgroup`), and a child group
    /// with a `memory.max` can be created. `None` means the watchdog enforces memory instead.
    pub(crate) fn detect(mount: &Path, self_cgroup: &str, name: &str) -> Option<CgroupParent> {
        let controllers = fs::read_to_string(mount.join("cgroup.controllers")).ok()?;
        if !controllers.split_whitespace().any(|word| word == "memory") {
            return None;
        }
        let own = self_cgroup
            .lines()
            .find_map(|line| line.strip_prefix("0::"))?
            .trim_start_matches('/');
        let own_dir = mount.join(own);
        let subtree = fs::read_to_string(own_dir.join("cgroup.subtree_control")).ok()?;
        if !subtree.split_whitespace().any(|word| word == "memory") {
            fs::write(own_dir.join("cgroup.subtree_control"), "+memory").ok()?;
        }
        let path = own_dir.join(name);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
        let parent = CgroupParent { path };
        // Environments' groups are children of this one: it delegates memory to them.
        let delegated = fs::write(parent.path.join("cgroup.subtree_control"), "+memory").is_ok();
        if !delegated || !parent.path.join("memory.max").exists() {
            let _ = fs::remove_dir(&parent.path);
            return None;
        }
        Some(parent)
    }

    /// Creates an environment's group holding at most `memory_mb` of memory and no swap.
    pub(crate) fn create(&self, name: &str, memory_mb: u32) -> io::Result<EnvironmentCgroup> {
        let path = self.path.join(name);
        fs::create_dir(&path)?;
        let group = EnvironmentCgroup { path };
        let memory_bytes = u64::from(memory_mb) * MIB;
        fs::write(group.path.join("memory.max"), memory_bytes.to_string())?;
        // Swap would let an environment use more than its memory, only slower.
        if group.path.join("memory.swap.max").exists() {
            fs::write(group.path.join("memory.swap.max"), "0")?;
        }
        Ok(group)
    }
}

impl Drop for CgroupParent {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
    }
}

impl EnvironmentCgroup {
    /// Moves a process (and the processes it starts from then on) into the group.
    pub(crate) fn add(&self, pid: u32) -> io::Result<()> {
        fs::write(self.path.join("cgroup.procs"), pid.to_string())
    }

    /// Whether the kernel killed a process of the group for exceeding `memory.max`.
    pub(crate) fn oom_killed(&self) -> bool {
        fs::read_to_string(self.path.join("memory.events"))
            .ok()
            .and_then(|events| {
                events.lines().find_map(|line| {
                    line.strip_prefix("oom_kill ")
                        .and_then(|count| count.trim().parse::<u64>().ok())
                })
            })
            .is_some_and(|count| count > 0)
    }

    /// The group's peak memory (`memory.peak`, Linux 5.19 and later).
    pub(crate) fn peak_bytes(&self) -> Option<u64> {
        fs::read_to_string(self.path.join("memory.peak"))
            .ok()
            .and_then(|peak| peak.trim().parse().ok())
    }
}

impl Drop for EnvironmentCgroup {
    fn drop(&mut self) {
        // `cgroup.kill` (Linux 5.14) also reaches processes that left the process group.
        let _ = fs::write(self.path.join("cgroup.kill"), "1");
        let _ = fs::remove_dir(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_stat_fields_are_read() {
        let status = "Name:\tpython3\nVmPeak:\t  55712 kB\nVmHWM:\t   49204 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(49204));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
        let stat = "4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 \
                    100 8192000 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat_group_and_rss(stat), Some((4240, 321)));
        assert_eq!(parse_stat_group_and_rss("4242 (cut"), None);
    }

    #[test]
    fn own_process_is_measured() {
        let own = std::process::id();
        assert!(peak_resident_bytes(own).is_some_and(|bytes| bytes > 0));
        let own_group = u32::try_from(rustix::process::getpgrp().as_raw_nonzero().get())
            .expect("a process group id is positive");
        assert!(group_resident_bytes(own_group) > 0);
    }

    #[test]
    fn address_space_limit_grows_with_memory() {
        assert_eq!(address_space_limit_bytes(128), (128 * 4 + 2048) * MIB);
        assert!(address_space_limit_bytes(10_240) > 10_240 * MIB);
    }

    /// A cgroup v2 mount imitated by a folder: the files rondo reads and writes.
    fn fake_mount(controllers: &str) -> tempfile::TempDir {
        let mount = tempfile::tempdir().expect("temp dir");
        fs::write(mount.path().join("cgroup.controllers"), controllers).expect("write");
        let own = mount.path().join("svc");
        fs::create_dir(&own).expect("mkdir");
        fs::write(own.join("cgroup.subtree_control"), "").expect("write");
        mount
    }

    #[test]
    fn no_memory_controller_means_no_cgroup() {
        let mount = fake_mount("cpu io");
        assert!(CgroupParent::detect(mount.path(), "0::/svc\n", "rondo").is_none());
    }

    #[test]
    fn a_group_without_memory_files_is_not_used() {
        // A plain folder gets no `memory.max` when created, as a cgroup without the controller.
        let mount = fake_mount("cpu memory");
        assert!(CgroupParent::detect(mount.path(), "0::/svc\n", "rondo").is_none());
        assert_eq!(
            fs::read_to_string(mount.path().join("svc/cgroup.subtree_control")).expect("read"),
            "+memory"
        );
    }

    #[test]
    fn environment_groups_hold_the_limit() {
        let mount = tempfile::tempdir().expect("temp dir");
        let parent = CgroupParent {
            path: mount.path().to_owned(),
        };
        let group = parent.create("env-1", 128).expect("create");
        let dir = mount.path().join("env-1");
        assert_eq!(
            fs::read_to_string(dir.join("memory.max")).expect("read"),
            (128 * MIB).to_string()
        );
        assert!(!group.oom_killed());
        fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .expect("write");
        assert!(group.oom_killed());
        fs::write(dir.join("memory.peak"), "1048576\n").expect("write");
        assert_eq!(group.peak_bytes(), Some(MIB));
        group.add(42).expect("add");
        assert_eq!(
            fs::read_to_string(dir.join("cgroup.procs")).expect("read"),
            "42"
        );
    }
}
