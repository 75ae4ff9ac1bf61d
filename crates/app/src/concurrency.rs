//! Per-function scaling limits: how many invocations of each function run at once, and how
//! fast that number may grow (Lambda's concurrency and scaling model, §2.2 and §2.4).
//!
//! - A function with `reserved_concurrency` has a pool of its own of that size: guaranteed to
//!   it, and its cap. Every other function shares the unreserved pool: the node-wide limit
//!   minus every reservation.
//! - A function's concurrency may rise above its warm level (the most it ran at once recently)
//!   by [`ScalingConfig::scale_up_per_10s`] new instances every 10 seconds, refilled
//!   continuously (Lambda: 1,000 execution environments every 10 s per function).
//! - A caller over a limit waits in a bounded queue, up to a short time, for a slot; then it is
//!   refused with the [`ThrottleReason`] that names the limit, as Lambda's `Reason` does.
//!
//! [`Pools`] outlives app versions: the control plane reconfigures it on every load, so
//! invocations in flight across a reload keep counting against the same function.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::ThrottleReason;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The node's scaling limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingConfig {
    /// Invocations running at once across the node (Lambda's account concurrency).
    pub concurrency_max: u32,
    /// How long a caller over a limit waits for a slot before it is refused.
    pub throttle_wait: Duration,
    /// Callers that may wait for a slot of one function at once; more are refused at once.
    pub queue_max: u32,
    /// New instances per 10 s beyond a function's warm level.
    pub scale_up_per_10s: u32,
    /// How long a function's warm level outlasts its last invocation (its instances' idle time).
    pub warm_window: Duration,
}

/// The node's concurrency pools, by function name.
pub struct Pools {
    state: Mutex<PoolsState>,
}

struct PoolsState {
    /// The configuration the pools were made with; `None` before the first app version.
    config: Option<ScalingConfig>,
    /// The unreserved pool, shared by every function without a reservation.
    unreserved: Arc<Semaphore>,
    unreserved_size: u32,
    functions: HashMap<String, Arc<FunctionPool>>,
}

/// One function's limits and live counts. Cheap to share; the request path holds an `Arc`.
pub struct FunctionPool {
    name: String,
    slots: Arc<Semaphore>,
    reserved: Option<u32>,
    config: ScalingConfig,
    in_flight: AtomicU32,
    waiting: AtomicU32,
    scale: Mutex<ScaleState>,
}

/// The token bucket that paces growth beyond the warm level.
struct ScaleState {
    tokens: f64,
    refilled_at: Instant,
    warm: u32,
    warm_until: Instant,
}

/// A running invocation's slot; dropping it frees the slot.
pub struct Slot {
    pool: Arc<FunctionPool>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for Pools {
    fn default() -> Self {
        Pools::new()
    }
}

impl Pools {
    /// No pools yet: [`Pools::configure`] makes them.
    pub fn new() -> Pools {
        Pools {
            state: Mutex::new(PoolsState {
                config: None,
                unreserved: Arc::new(Semaphore::new(0)),
                unreserved_size: 0,
                functions: HashMap::new(),
            }),
        }
    }

    /// Makes the pools match an app version: `functions` names every function with its
    /// reservation. Returns each function's pool. Unchanged functions keep their pool (and
    /// its counts); a changed reservation or limit gives new semaphores, so invocations
    /// already running finish on the old ones and, for a moment, both count.
    pub fn configure(
        &self,
        config: ScalingConfig,
        functions: &[(String, Option<u32>)],
    ) -> HashMap<String, Arc<FunctionPool>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let reserved_total: u32 = functions.iter().filter_map(|(_, r)| *r).sum();
        let unreserved_size = config.concurrency_max.saturating_sub(reserved_total);
        let config_changed = state.config != Some(config);
        let node_changed = config_changed || state.unreserved_size != unreserved_size;
        if node_changed {
            state.config = Some(config);
            state.unreserved = Arc::new(Semaphore::new(unreserved_size as usize));
            state.unreserved_size = unreserved_size;
        }
        let mut pools = HashMap::with_capacity(functions.len());
        for (name, reserved) in functions {
            let keep = state.functions.get(name).filter(|pool| {
                !config_changed
                    && pool.reserved == *reserved
                    && (reserved.is_some() || !node_changed)
            });
            let pool = match keep {
                Some(pool) => Arc::clone(pool),
                None => {
                    let slots = match reserved {
                        Some(size) => Arc::new(Semaphore::new(*size as usize)),
                        None => Arc::clone(&state.unreserved),
                    };
                    Arc::new(FunctionPool::new(name.clone(), slots, *reserved, config))
                }
            };
            pools.insert(name.clone(), pool);
        }
        state.functions = pools.clone();
        pools
    }
}

impl FunctionPool {
    fn new(
        name: String,
        slots: Arc<Semaphore>,
        reserved: Option<u32>,
        config: ScalingConfig,
    ) -> Self {
        let now = Instant::now();
        FunctionPool {
            name,
            slots,
            reserved,
            config,
            in_flight: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            scale: Mutex::new(ScaleState {
                tokens: f64::from(config.scale_up_per_10s),
                refilled_at: now,
                warm: 0,
                warm_until: now,
            }),
        }
    }

    /// A pool for one function with no limits beyond `concurrency_max` (tests, tools).
    pub fn unlimited(name: &str, config: ScalingConfig) -> Arc<FunctionPool> {
        let slots = Arc::new(Semaphore::new(config.concurrency_max as usize));
        Arc::new(FunctionPool::new(name.to_owned(), slots, None, config))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function's reserved concurrency, if it has one.
    pub fn reserved(&self) -> Option<u32> {
        self.reserved
    }

    /// Invocations running now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Takes a slot, waiting up to `wait` (and only if fewer than `queue_max` already wait).
    pub async fn acquire(self: &Arc<Self>, wait: Duration) -> Result<Slot, ThrottleReason> {
        let deadline = Instant::now() + wait;
        let permit = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait_for_permit(deadline).await?,
        };
        // Pace growth beyond the warm level; the permit is held meanwhile (the slot is ours).
        loop {
            match self.try_scale() {
                Ok(()) => break,
                Err(retry_in) => {
                    let now = Instant::now();
                    if now + retry_in > deadline {
                        return Err(ThrottleReason::FunctionInvocationRateLimitExceeded);
                    }
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
        Ok(Slot {
            pool: Arc::clone(self),
            _permit: permit,
        })
    }

    async fn wait_for_permit(
        &self,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, ThrottleReason> {
        let over = if self.reserved.is_some() {
            ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
        } else {
            ThrottleReason::ConcurrentInvocationLimitExceeded
        };
        // A full queue refuses at once, for the limit that made the queue.
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.config.queue_max {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(over);
        }
        let acquired = tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was replaced and closed: over the limit either way.
            _ => Err(over),
        }
    }

    /// Counts the new invocation in; `Err(wait)` when it would grow past the warm level with
    /// no scaling token left (the next token comes in `wait`).
    fn try_scale(&self) -> Result<(), Duration> {
        let mut scale = self.scale.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let rate_per_s = f64::from(self.config.scale_up_per_10s) / 10.0;
        let elapsed = now.duration_since(scale.refilled_at).as_secs_f64();
        scale.tokens =
            (scale.tokens + elapsed * rate_per_s).min(f64::from(self.config.scale_up_per_10s));
        scale.refilled_at = now;
        let in_flight = self.in_flight.load(Ordering::Acquire);
        if now >= scale.warm_until {
            // Idle long enough for its instances to be gone: only what runs now is warm.
            scale.warm = in_flight;
        }
        let wanted = in_flight + 1;
        if wanted > scale.warm {
            if scale.tokens < 1.0 {
                let missing = 1.0 - scale.tokens;
                return Err(
                    Duration::from_secs_f64(missing / rate_per_s.max(f64::MIN_POSITIVE))
                        .max(Duration::from_millis(1)),
                );
            }
            scale.tokens -= 1.0;
            scale.warm = wanted;
        }
        scale.warm_until = now + self.config.warm_window;
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    fn config() -> ScalingConfig {
        ScalingConfig {
            concurrency_max: 4,
            throttle_wait: Duration::from_millis(20),
            queue_max: 2,
            scale_up_per_10s: 1000,
            warm_window: Duration::from_secs(60),
        }
    }

    fn pools(functions: &[(&str, Option<u32>)]) -> (Pools, HashMap<String, Arc<FunctionPool>>) {
        let pools = Pools::new();
        let list: Vec<(String, Option<u32>)> = functions
            .iter()
            .map(|(n, r)| ((*n).to_owned(), *r))
            .collect();
        let by_name = pools.configure(config(), &list);
        (pools, by_name)
    }

    #[tokio::test]
    async fn a_reservation_caps_the_function_and_is_kept_from_the_others() {
        let (_pools, by_name) = pools(&[("reserved", Some(1)), ("a", None), ("b", None)]);
        let wait = Duration::from_millis(10);
        let held = by_name["reserved"].acquire(wait).await.expect("first slot");
        assert_eq!(
            by_name["reserved"].acquire(wait).await.err(),
            Some(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
        );
        // The unreserved pool has 4 - 1 = 3 slots, shared by a and b.
        let a1 = by_name["a"].acquire(wait).await.expect("a1");
        let a2 = by_name["a"].acquire(wait).await.expect("a2");
        let b1 = by_name["b"].acquire(wait).await.expect("b1");
        assert_eq!(
            by_name["b"].acquire(wait).await.err(),
            Some(ThrottleReason::ConcurrentInvocationLimitExceeded)
        );
        assert_eq!(by_name["a"].in_flight(), 2);
        drop(a1);
        assert_eq!(by_name["a"].in_flight(), 1);
        let _b2 = by_name["b"].acquire(wait).await.expect("a slot freed by a");
        drop((held, a2, b1));
    }

    #[tokio::test]
    async fn a_waiting_caller_gets_a_slot_freed_before_its_deadline() {
        let (_pools, by_name) = pools(&[("f", Some(1))]);
        let held = by_name["f"].acquire(Duration::ZERO).await.expect("slot");
        let pool = Arc::clone(&by_name["f"]);
        let waiter =
            tokio::spawn(async move { pool.acquire(Duration::from_secs(5)).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.expect("waiter ran"));
    }

    #[tokio::test]
    async fn the_wait_queue_is_bounded() {
        let (_pools, by_name) = pools(&[("f", Some(1))]);
        let _held = by_name["f"].acquire(Duration::ZERO).await.expect("slot");
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let pool = Arc::clone(&by_name["f"]);
            waiters.push(tokio::spawn(async move {
                pool.acquire(Duration::from_secs(1)).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The third caller finds the queue full: refused on the first poll, without waiting.
        let third = by_name["f"].acquire(Duration::from_secs(1));
        let mut third = std::pin::pin!(third);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match third.as_mut().poll(&mut context) {
            std::task::Poll::Ready(Err(reason)) => assert_eq!(
                reason,
                ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
            ),
            _ => panic!("a caller beyond the queue must be refused at once"),
        }
        for waiter in waiters {
            assert_eq!(
                waiter.await.expect("ran").err(),
                Some(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
            );
        }
    }

    #[tokio::test]
    async fn growth_beyond_the_warm_level_is_paced() {
        let pool = FunctionPool::unlimited(
            "f",
            ScalingConfig {
                concurrency_max: 100,
                scale_up_per_10s: 2,
                ..config()
            },
        );
        let wait = Duration::from_millis(10);
        let first = pool.acquire(wait).await.expect("token 1");
        let second = pool.acquire(wait).await.expect("token 2");
        // No token left (one comes every 5 s): a third instance at once is refused.
        assert_eq!(
            pool.acquire(wait).await.err(),
            Some(ThrottleReason::FunctionInvocationRateLimitExceeded)
        );
        // Within the warm level, slots are reused without tokens.
        drop(second);
        let again = pool.acquire(wait).await.expect("warm slot");
        drop((first, again));
        assert_eq!(pool.in_flight(), 0);
    }

    #[tokio::test]
    async fn reconfiguring_keeps_unchanged_pools() {
        let (pools, before) = pools(&[("a", Some(2)), ("b", None)]);
        let _slot = before["a"].acquire(Duration::ZERO).await.expect("slot");
        let after = pools.configure(
            config(),
            &[("a".to_owned(), Some(2)), ("b".to_owned(), None)],
        );
        assert!(Arc::ptr_eq(&before["a"], &after["a"]));
        assert_eq!(after["a"].in_flight(), 1);
        let changed = pools.configure(
            config(),
            &[("a".to_owned(), Some(1)), ("b".to_owned(), None)],
        );
        assert!(!Arc::ptr_eq(&before["a"], &changed["a"]));
    }
}
