//! A function's execution environments: idle ones on a stack (the most recently used is taken
//! first, so a trickle of invocations keeps one environment warm and lets the others expire),
//! a count of all of them against the cap, and a reaper that stops environments idle too long.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use runtime::InvokeError;
use tokio::task::AbortHandle;

use crate::environment::{Environment, Launch};
use crate::limits::ENVIRONMENTS_PER_FUNCTION_MAX;
use crate::memory::CgroupParent;
use crate::{HostInner, ProcessFunctionConfig};

/// A loaded function: its launch, its environments. Dropping it kills them all.
pub(crate) struct FunctionInner {
    host: Arc<HostInner>,
    config: ProcessFunctionConfig,
    launch: Launch,
    pool: Mutex<Pool>,
    /// Numbers environments, to name their cgroups.
    n_spawned: AtomicU64,
}

struct Pool {
    /// Idle environments, least recently used first.
    // Invariant: ordered by `idle_since`, oldest first.
    idle: Vec<Idle>,
    /// Idle, starting and busy environments together.
    n_environments: u32,
    /// The reaper task running for this pool, if any. The pool owns it: dropping the pool (the
    /// function's last handle gone) aborts it at once, rather than at its next wake.
    reaper: Option<AbortHandle>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.take() {
            reaper.abort();
        }
    }
}

struct Idle {
    environment: Environment,
    idle_since: Instant,
}

/// The right to use one environment slot for one invocation: a warm environment, or room to
/// start one. Dropped without [`Lease::release`], the environment (if any) is killed and its
/// slot freed, so a cancelled invocation leaks neither processes nor slots.
pub(crate) struct Lease<'a> {
    function: &'a Arc<FunctionInner>,
    pub(crate) environment: Option<Environment>,
    /// The slot moved on to an idle environment.
    released: bool,
}

impl FunctionInner {
    pub(crate) fn new(
        host: Arc<HostInner>,
        config: ProcessFunctionConfig,
        launch: Launch,
    ) -> FunctionInner {
        FunctionInner {
            host,
            config,
            launch,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                n_environments: 0,
                reaper: None,
            }),
            n_spawned: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &ProcessFunctionConfig {
        &self.config
    }

    pub(crate) fn launch(&self) -> &Launch {
        &self.launch
    }

    /// Where the function's environments' cgroups go, if memory is limited by cgroups.
    pub(crate) fn cgroup_parent(&self) -> Option<&CgroupParent> {
        self.host.cgroup.get().and_then(Option::as_ref)
    }

    /// A name for the next environment's cgroup.
    pub(crate) fn next_environment_name(&self) -> String {
        let number = self.n_spawned.fetch_add(1, Ordering::Relaxed);
        format!("{}-{number}", self.config.name)
    }

    pub(crate) fn idle_pids(&self) -> Vec<u32> {
        self.lock()
            .idle
            .iter()
            .map(|idle| idle.environment.pid())
            .collect()
    }

    pub(crate) fn environment_count(&self) -> u32 {
        self.lock().n_environments
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool
            .lock()
            .expect("the pool lock is never poisoned: nothing panics while holding it")
    }
}

/// Takes the most recently used idle environment, or room for a new one, or throttles.
pub(crate) fn acquire(function: &Arc<FunctionInner>) -> Result<Lease<'_>, InvokeError> {
    let mut dead = Vec::new();
    let leased = {
        let mut pool = function.lock();
        loop {
            match pool.idle.pop() {
                Some(Idle {
                    mut environment, ..
                }) => {
                    if environment.is_usable() {
                        break Ok(Some(environment));
                    }
                    // It ended while idle: its slot is free again.
                    pool.n_environments -= 1;
                    dead.push(environment);
                }
                None if pool.n_environments >= ENVIRONMENTS_PER_FUNCTION_MAX => {
                    break Err(InvokeError::Throttled {
                        reason: runtime::ThrottleReason::ConcurrentInvocationLimitExceeded,
                    });
                }
                None => {
                    pool.n_environments += 1;
                    break Ok(None);
                }
            }
        }
    };
    // Killing happens outside the lock.
    drop(dead);
    leased.map(|environment| Lease {
        function,
        environment,
        released: false,
    })
}

impl Lease<'_> {
    /// Puts the environment back as the most recently used one.
    pub(crate) fn release(mut self) {
        let Some(environment) = self.environment.take() else {
            return;
        };
        // The slot stays taken: it moves to the idle environment.
        self.released = true;
        let function = self.function;
        let mut pool = function.lock();
        pool.idle.push(Idle {
            environment,
            idle_since: Instant::now(),
        });
        if pool.reaper.is_none() {
            // Spawned under the lock, so the handle is stored before the reaper can look at the
            // pool (and clear it when it ends).
            let idle_timeout = function.host.config.idle_timeout;
            // Owner: the function's pool, which aborts it when dropped (`Pool::reaper`).
            let reaper = tokio::spawn(reap(Arc::downgrade(function), idle_timeout));
            pool.reaper = Some(reaper.abort_handle());
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Kill first, then free the slot: the cap counts processes that may still be running.
        drop(self.environment.take());
        self.function.lock().n_environments -= 1;
    }
}

/// Stops the function's environments once idle for `idle_timeout`, sleeping until the oldest
/// one is due; ends when none is idle (the next release starts another) or the function is gone.
async fn reap(function: Weak<FunctionInner>, idle_timeout: Duration) {
    loop {
        let next_due = {
            let Some(function) = function.upgrade() else {
                return;
            };
            let mut pool = function.lock();
            debug_assert!(pool.idle.is_sorted_by_key(|idle| idle.idle_since));
            let now = Instant::now();
            let n_expired = pool
                .idle
                .iter()
                .take_while(|idle| now.duration_since(idle.idle_since) >= idle_timeout)
                .count();
            let expired: Vec<Idle> = pool.idle.drain(..n_expired).collect();
            pool.n_environments -= u32::try_from(n_expired).expect("at most the cap expires");
            let next_due = pool
                .idle
                .first()
                .map(|oldest| oldest.idle_since + idle_timeout);
            if next_due.is_none() {
                pool.reaper = None;
            }
            drop(pool);
            drop(expired);
            next_due
        };
        match next_due {
            Some(due) => tokio::time::sleep_until(due.into()).await,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_pool_ends_its_reaper_at_once() {
        // A reaper asleep until its next due time, standing in for one with hours to wait.
        let reaper = tokio::spawn(std::future::pending::<()>());
        let pool = Pool {
            idle: Vec::new(),
            n_environments: 0,
            reaper: Some(reaper.abort_handle()),
        };
        drop(pool);
        let ended = tokio::time::timeout(Duration::from_secs(5), reaper)
            .await
            .expect("the reaper ends right after its pool is dropped");
        assert!(ended.expect_err("the reaper was aborted").is_cancelled());
    }
}
