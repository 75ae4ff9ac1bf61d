//! The wasmtime engines of a node (optimizing and baseline), their linker and the epoch ticker.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, Thread};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::connections::ConnectionService;
use crate::host::{HandlerFunction, HostState};
use crate::limits;
use crate::tables::TableService;

/// How the runtime is set up; chosen by the caller, no defaults hidden here.
#[derive(Clone)]
pub struct RuntimeConfig {
    /// Where compiled code is cached, keyed by the content hash of the component and the engine
    /// settings. `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Instance slots of the pooling allocator (at most [`limits::INSTANCES_MAX`]).
    pub instances_max: u32,
    /// The app's tables, reached by handler-world functions through the `tables` import.
    /// `None`: every call answers `ServiceUnavailable`.
    pub tables: Option<Arc<dyn TableService>>,
    /// The app's WebSocket connections, reached by handler-world functions through the
    /// `connections` import. `None`: every call answers `unavailable`.
    pub connections: Option<Arc<dyn ConnectionService>>,
}

impl fmt::Debug for RuntimeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeConfig")
            .field("cache_dir", &self.cache_dir)
            .field("instances_max", &self.instances_max)
            .field("tables", &self.tables.as_ref().map(|_| "TableService"))
            .field(
                "connections",
                &self.connections.as_ref().map(|_| "ConnectionService"),
            )
            .finish()
    }
}

/// How much effort compiling a function gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Winch, wasmtime's baseline compiler: compiles several times faster, runs somewhat slower.
    /// Used to put changed code in service quickly in dev mode, until the optimized code is ready.
    Baseline,
    /// Cranelift, the optimizing compiler: what every function runs on in the end.
    Optimized,
}

/// Owns the engines every function of the node is compiled for and instantiated in.
/// Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) optimized: Compiler,
    pub(crate) baseline: Compiler,
    pub(crate) ticker: Ticker,
    pub(crate) tables: Option<Arc<dyn TableService>>,
    pub(crate) connections: Option<Arc<dyn ConnectionService>>,
}

/// One engine and the linker of its host functions.
pub(crate) struct Compiler {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
}

impl Runtime {
    pub fn new(config: &RuntimeConfig) -> anyhow::Result<Runtime> {
        let instances_max = config.instances_max.clamp(1, limits::INSTANCES_MAX);
        let mut optimized_config = base_config();
        optimized_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
            instances_max,
        )));
        if let Some(dir) = &config.cache_dir {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            let cache = wasmtime::Cache::new(cache_config)
                .with_context(|| format!("cannot use compiled-code cache at {}", dir.display()))?;
            optimized_config.cache(Some(cache));
        }
        // Baseline code lives for the moment it takes to compile the optimized code: it gets
        // no slot pool (no address space reserved up front) and no cache.
        let mut baseline_config = base_config();
        baseline_config.strategy(wasmtime::Strategy::Winch);
        let optimized = Compiler::new(&optimized_config)?;
        let baseline = Compiler::new(&baseline_config)?;
        let ticker = Ticker::start(vec![optimized.engine.clone(), baseline.engine.clone()]);
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                optimized,
                baseline,
                ticker,
                tables: config.tables.clone(),
                connections: config.connections.clone(),
            }),
        })
    }
}

impl RuntimeInner {
    pub(crate) fn compiler(&self, tier: Tier) -> &Compiler {
        match tier {
            Tier::Baseline => &self.baseline,
            Tier::Optimized => &self.optimized,
        }
    }
}

impl Compiler {
    fn new(config: &Config) -> anyhow::Result<Compiler> {
        let engine = Engine::new(config).context("cannot create the wasm engine")?;
        let linker = new_linker(&engine)?;
        Ok(Compiler { engine, linker })
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .max_wasm_stack(limits::WASM_STACK_BYTES_MAX)
        .async_stack_size(limits::ASYNC_STACK_BYTES);
    config
}

fn pooling_config(instances_max: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances_max)
        .total_core_instances(instances_max * 8)
        .total_memories(instances_max * 2)
        .total_tables(instances_max * 4)
        .total_stacks(instances_max)
        .max_core_instances_per_component(limits::CORE_INSTANCES_PER_COMPONENT_MAX)
        .max_memories_per_component(limits::MEMORIES_PER_COMPONENT_MAX)
        .max_tables_per_component(limits::TABLES_PER_COMPONENT_MAX)
        .max_memory_size(limits::WASM_MEMORY_MB_MAX as usize * 1024 * 1024)
        // Returning an instance's memory to the kernel costs a TLB shootdown across cores;
        // batching lets one `process_madvise` call cover many instances.
        .decommit_batch_size(limits::DECOMMIT_BATCH_SIZE);
    pool
}

fn new_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("cannot link wasi")?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .context("cannot link wasi:http")?;
    HandlerFunction::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
        &mut linker,
        |state| state,
    )
    .context("cannot link the handler world")?;
    Ok(linker)
}

/// Advances the engines' epochs every [`limits::EPOCH_TICK_MS`] while any invocation runs,
/// and sleeps (parked, no CPU) while none does.
pub(crate) struct Ticker {
    shared: Arc<TickerShared>,
    thread: Thread,
}

struct TickerShared {
    running: AtomicUsize,
    stopped: AtomicBool,
}

impl Ticker {
    fn start(engines: Vec<Engine>) -> Ticker {
        let shared = Arc::new(TickerShared {
            running: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared_in_thread = Arc::clone(&shared);
        // Owner: the `Ticker`, whose drop sets `stopped` and unparks the thread, which then
        // ends (not joined: it ends within one tick).
        let handle = thread::Builder::new()
            .name("rondo-epoch".to_owned())
            .spawn(move || {
                let shared = shared_in_thread;
                while !shared.stopped.load(Ordering::Acquire) {
                    if shared.running.load(Ordering::Acquire) == 0 {
                        thread::park();
                        continue;
                    }
                    thread::sleep(Duration::from_millis(limits::EPOCH_TICK_MS));
                    for engine in &engines {
                        engine.increment_epoch();
                    }
                }
            })
            .expect("spawning the epoch thread only fails when the OS is out of threads");
        Ticker {
            shared,
            thread: handle.thread().clone(),
        }
    }

    /// Marks an invocation as running until the guard is dropped.
    pub(crate) fn enter(&self) -> TickerGuard {
        if self.shared.running.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        TickerGuard {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

pub(crate) struct TickerGuard {
    shared: Arc<TickerShared>,
}

impl Drop for TickerGuard {
    fn drop(&mut self) {
        self.shared.running.fetch_sub(1, Ordering::AcqRel);
    }
}
