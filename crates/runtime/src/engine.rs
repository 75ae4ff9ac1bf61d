//! The one wasmtime engine of a node: its configuration, its linker and its epoch ticker.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, Thread};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::host::{HandlerFunction, HostState};
use crate::limits;

/// How the runtime is set up; chosen by the caller, no defaults hidden here.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled code is cached, keyed by the content hash of the component and the engine
    /// settings. `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Instance slots of the pooling allocator (at most [`limits::INSTANCES_MAX`]).
    pub instances_max: u32,
}

/// Owns the engine every function of the node is compiled for and instantiated in.
/// Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) ticker: Ticker,
    pub(crate) instances_max: u32,
}

impl Runtime {
    pub fn new(config: &RuntimeConfig) -> anyhow::Result<Runtime> {
        let instances_max = config.instances_max.clamp(1, limits::INSTANCES_MAX);
        let mut engine_config = Config::new();
        engine_config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .memory_init_cow(true)
            .max_wasm_stack(limits::WASM_STACK_BYTES_MAX)
            .async_stack_size(limits::ASYNC_STACK_BYTES)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
                instances_max,
            )));
        if let Some(dir) = &config.cache_dir {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            let cache = wasmtime::Cache::new(cache_config)
                .with_context(|| format!("cannot use compiled-code cache at {}", dir.display()))?;
            engine_config.cache(Some(cache));
        }
        let engine = Engine::new(&engine_config).context("cannot create the wasm engine")?;
        let linker = new_linker(&engine)?;
        let ticker = Ticker::start(engine.clone());
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                ticker,
                instances_max,
            }),
        })
    }

    pub fn instances_max(&self) -> u32 {
        self.inner.instances_max
    }
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

/// Advances the engine's epoch every [`limits::EPOCH_TICK_MS`] while any invocation runs,
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
    fn start(engine: Engine) -> Ticker {
        let shared = Arc::new(TickerShared {
            running: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared_in_thread = Arc::clone(&shared);
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
                    engine.increment_epoch();
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
