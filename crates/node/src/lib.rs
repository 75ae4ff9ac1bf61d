//! A node: one app served from one data folder, wired from the library crates.
//!
//! [`Node::start`] opens the store, loads the app through the control plane, starts the two
//! listeners (the gateway and the AWS endpoint), the app's triggers, the worker of asynchronous
//! invocations, the tables' background work and the metering ledger; [`Node::shutdown`] stops
//! all of it (dropping the [`Node`] aborts it instead). The node reads no arguments or environment
//! variables and prints nothing: what it has to tell goes to its [`NodeHooks`]. `rondo dev` is a
//! node plus terminal output and file watching; tests start one in-process.

pub mod backup;

mod observer;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::{Observer, SharedSnapshot};
use control::{Control, Engines, LoadAppError, Loaded};
use events::{
    AsyncContext, AsyncInvoker, AsyncInvokerConfig, AsyncReport, TriggerContext, TriggerEvent,
    Triggers,
};
use gateway::EdgeLimits;
use gateway::body::BodyBudget;
use gateway::endpoints::{Admin, AwsServices};
use gateway::sigv4::AuthPolicy;
use gateway::websocket::Connections;
use manifest::AppSpec;
use metering::{Ledger, LedgerConfig, LedgerError, Metrics};
use process::{ProcessHost, ProcessHostConfig};
use runtime::{Runtime, RuntimeConfig};
use tables::{Tables, TablesConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use observer::InvocationLog;

use observer::NodeObserver;

/// What a node serves, where, and with which settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The app's manifest (`rondo.toml`).
    pub manifest_path: PathBuf,
    /// Where the node keeps its state: the store (`store/`) and the compiled-code cache
    /// (`cache/`). Created when missing.
    pub data_dir: PathBuf,
    /// Where runtime tools for process functions (Python's) are installed when missing.
    pub tools_dir: PathBuf,
    /// Where the gateway listens; port 0 takes a free one ([`Node::gateway_addr`] tells it).
    pub listen: SocketAddr,
    /// Where the AWS endpoint listens; port 0 takes a free one ([`Node::aws_addr`] tells it).
    pub aws_listen: SocketAddr,
    /// The access keys (id, secret) whose SigV4 signatures the AWS endpoint accepts; empty
    /// accepts any request.
    pub aws_credentials: Vec<(String, String)>,
    /// How often expired items (TTL) are deleted.
    pub ttl_sweep_interval: Duration,
    /// How long stream records are kept.
    pub stream_retention: Duration,
    /// How long an idle execution environment of a process function stays warm.
    pub process_idle_timeout: Duration,
    /// The wait before the first retry of a failed asynchronous invocation.
    pub async_retry_delay: Duration,
    /// The edge's timeouts and caps.
    pub edge: EdgeLimits,
}

/// What the node tells its owner while it runs.
#[derive(Clone)]
pub struct NodeHooks {
    /// Every invocation, once metered (`rondo dev` prints its log); `None` keeps nothing.
    pub log: Option<Arc<dyn InvocationLog>>,
    /// Trigger failures (a failing batch blocks its shard).
    pub trigger_report: Arc<dyn Fn(TriggerEvent) + Send + Sync>,
    /// Failed asynchronous invocations.
    pub async_report: Arc<dyn Fn(AsyncReport) + Send + Sync>,
}

impl NodeHooks {
    /// Hooks that keep nothing (tests).
    pub fn silent() -> NodeHooks {
        NodeHooks {
            log: None,
            trigger_report: Arc::new(|_| {}),
            async_report: Arc::new(|_| {}),
        }
    }
}

/// Why a node did not start. One line each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error("cannot create the data folder {}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the data store in {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: store::StoreError,
    },
    #[error("cannot read the tables' catalog: {0}")]
    Tables(String),
    /// The wasm runtime could not be set up.
    #[error(transparent)]
    Runtime(anyhow::Error),
    #[error("cannot listen on {addr}")]
    Listen {
        /// Which of the two listeners.
        listener: Listener,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Load(#[from] LoadAppError),
    #[error("loading the app panicked")]
    LoadPanicked,
    #[error("cannot open the metering ledger: {0}")]
    Ledger(LedgerError),
    #[error("cannot open the queue of asynchronous invocations: {0}")]
    AsyncQueue(String),
}

/// The node's two listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Gateway,
    Aws,
}

/// How a shutdown went.
#[derive(Debug)]
pub struct Shutdown {
    /// Whether every in-flight request finished (and every WebSocket client was closed) in time.
    pub drained: bool,
    /// Whether what was metered was committed before the store closed.
    pub ledger: Result<(), LedgerError>,
}

/// A running node. Dropping it aborts everything it runs; [`Node::shutdown`] stops it in order.
pub struct Node {
    control: Arc<Control>,
    gateway_addr: SocketAddr,
    aws_addr: SocketAddr,
    sources: EventSources,
    connections: Connections,
    ledger: Ledger,
    drain_timeout: Duration,
    stop: watch::Sender<bool>,
    tasks: Tasks,
}

/// The node's tasks. Each is aborted when the node is dropped.
struct Tasks {
    gateway: JoinHandle<bool>,
    aws: JoinHandle<bool>,
    /// The tables' background work (index fills, TTL, dropped tables).
    background: JoinHandle<()>,
    async_worker: JoinHandle<()>,
}

/// What runs the app's events besides requests: its triggers and its asynchronous invocations.
/// Cheap to clone; every clone drives the same ones.
#[derive(Clone)]
pub struct EventSources {
    triggers: Arc<Triggers>,
    async_invoker: AsyncInvoker,
}

/// What [`Node::start`] opens before the app loads.
struct State {
    tables: Tables,
    connections: Connections,
    runtime: Runtime,
    gateway_listener: TcpListener,
    aws_listener: TcpListener,
}

impl Node {
    /// Starts a node: opens the store, loads the app (with optimized code), starts listening,
    /// runs the app's triggers and asynchronous invocations. Returns the node and what was
    /// loaded. Call it inside a multi-threaded tokio runtime.
    pub async fn start(config: NodeConfig, hooks: NodeHooks) -> Result<(Node, Loaded), NodeError> {
        let state = open(&config).await?;
        let gateway_addr = local_addr(&state.gateway_listener, Listener::Gateway, config.listen)?;
        let aws_addr = local_addr(&state.aws_listener, Listener::Aws, config.aws_listen)?;
        let processes = ProcessHost::new(ProcessHostConfig {
            tools_dir: config.tools_dir.clone(),
            aws_endpoint_url: Some(format!("http://{aws_addr}")),
            credentials: config.aws_credentials.first().cloned().unwrap_or_else(|| {
                // Any request is accepted without credentials; SDKs still want a key to sign with.
                ("rondo".to_owned(), "rondo".to_owned())
            }),
            idle_timeout: config.process_idle_timeout,
            sandbox: true,
        });
        let (control, loaded) = {
            let tables = state.tables.clone();
            let manifest_path = config.manifest_path.clone();
            let engines = Engines {
                runtime: state.runtime,
                processes,
            };
            // Owner: `Node::start`, which awaits it (the load cannot be interrupted).
            tokio::task::spawn_blocking(move || {
                Control::start(engines, Some(tables), &manifest_path)
            })
            .await
            .map_err(|_| NodeError::LoadPanicked)??
        };
        let control = Arc::new(control);
        let metrics = Arc::new(Metrics::new());
        let ledger = Ledger::open(state.tables.store().clone(), ledger_config(), &metrics)
            .map_err(NodeError::Ledger)?;
        let observer: Arc<dyn Observer> = Arc::new(NodeObserver {
            log: hooks.log.clone(),
            metrics: Arc::clone(&metrics),
            ledger: ledger.clone(),
            snapshot: Arc::clone(control.snapshot()),
        });
        let sources = EventSources::open(&config, &hooks, &state.tables, &control, &observer)?;
        sources.apply(&loaded.spec);
        let (stop, stopped) = watch::channel(false);
        let bodies = BodyBudget::new(config.edge.bodies.clone());
        let gateway = serve_gateway(
            &config,
            state.gateway_listener,
            control.snapshot(),
            &observer,
            &state.connections,
            &bodies,
            stopped.clone(),
        );
        let services = AwsServices {
            tables: state.tables.clone(),
            auth: auth_policy(&config.aws_credentials),
            async_queue: Some(Arc::new(sources.async_invoker.clone())),
            admin: Some(Admin {
                ledger: ledger.clone(),
                metrics,
                iterator_ages: sources.iterator_ages(),
            }),
            connections: Some(state.connections.clone()),
            bodies,
        };
        let aws = serve_aws(
            &config,
            state.aws_listener,
            control.snapshot(),
            &observer,
            Arc::new(services),
            stopped,
        );
        let background = {
            let tables = state.tables.clone();
            // Owner: the node (`Tasks::background`), aborted by `shutdown` and on drop.
            tokio::spawn(async move { tables.run_background().await })
        };
        let async_worker = {
            let async_invoker = sources.async_invoker.clone();
            // Owner: the node (`Tasks::async_worker`), aborted by `shutdown` and on drop.
            tokio::spawn(async move { async_invoker.run().await })
        };
        let node = Node {
            control,
            gateway_addr,
            aws_addr,
            sources,
            connections: state.connections,
            ledger,
            drain_timeout: config.edge.server.drain_timeout,
            stop,
            tasks: Tasks {
                gateway,
                aws,
                background,
                async_worker,
            },
        };
        Ok((node, loaded))
    }

    /// Where the gateway listens.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// Where the AWS endpoint listens.
    pub fn aws_addr(&self) -> SocketAddr {
        self.aws_addr
    }

    /// The control plane: reloads the app (a watcher drives it in `rondo dev`).
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// The app's triggers and asynchronous invocations, to apply a reloaded app's settings to.
    pub fn event_sources(&self) -> EventSources {
        self.sources.clone()
    }

    /// Stops the node in order: triggers, asynchronous invocations (in-flight events stay in
    /// the store and run again at the next start) and background work first; then the
    /// listeners stop accepting and drain in-flight requests while WebSocket clients are closed;
    /// then the ledger commits what was metered.
    pub async fn shutdown(self) -> Shutdown {
        self.shutdown_or(std::future::pending()).await
    }

    /// [`Node::shutdown`], except that the drain ends early when `stop_now` resolves (a second
    /// Ctrl-C); the ledger is committed either way.
    pub async fn shutdown_or(mut self, stop_now: impl Future<Output = ()>) -> Shutdown {
        self.tasks.background.abort();
        self.tasks.async_worker.abort();
        self.sources.triggers.stop().await;
        let _ = self.stop.send(true);
        let tasks = &mut self.tasks;
        let drained = tokio::select! {
            (gateway, aws, websockets) = async {
                tokio::join!(
                    &mut tasks.gateway,
                    &mut tasks.aws,
                    self.connections.close_all(self.drain_timeout),
                )
            } => gateway.unwrap_or(false) && aws.unwrap_or(false) && websockets,
            () = stop_now => false,
        };
        let ledger = self.ledger.shutdown().await;
        Shutdown { drained, ledger }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Aborting a finished task does nothing, so this is also right after a shutdown.
        self.tasks.gateway.abort();
        self.tasks.aws.abort();
        self.tasks.background.abort();
        self.tasks.async_worker.abort();
    }
}

impl EventSources {
    fn open(
        config: &NodeConfig,
        hooks: &NodeHooks,
        tables: &Tables,
        control: &Control,
        observer: &Arc<dyn Observer>,
    ) -> Result<EventSources, NodeError> {
        let async_invoker = AsyncInvoker::open(
            AsyncContext {
                tables: tables.clone(),
                snapshot: Arc::clone(control.snapshot()),
                observer: Arc::clone(observer),
                report: Arc::clone(&hooks.async_report),
            },
            AsyncInvokerConfig {
                retry_delay: config.async_retry_delay,
                pending_events_max: events::limits::ASYNC_PENDING_EVENTS_MAX,
                pending_bytes_max: events::limits::ASYNC_PENDING_BYTES_MAX,
                in_flight_max: events::limits::ASYNC_IN_FLIGHT_MAX,
            },
        )
        .map_err(|error| NodeError::AsyncQueue(error.to_string()))?;
        let triggers = Arc::new(Triggers::new(TriggerContext {
            tables: tables.clone(),
            snapshot: Arc::clone(control.snapshot()),
            observer: Arc::clone(observer),
            report: Arc::clone(&hooks.trigger_report),
        }));
        Ok(EventSources {
            triggers,
            async_invoker,
        })
    }

    /// Every trigger's iterator age per shard, read at each metrics scrape.
    fn iterator_ages(&self) -> Arc<dyn Fn() -> Vec<(String, String, Duration)> + Send + Sync> {
        let triggers = Arc::clone(&self.triggers);
        Arc::new(move || triggers.iterator_ages().snapshot())
    }

    /// Takes an app's asynchronous invocation settings and runs its table triggers, restarting
    /// the ones that changed (their checkpoints are in the store, so each resumes where it was).
    pub fn apply(&self, spec: &AppSpec) {
        self.async_invoker.apply(spec);
        self.triggers.apply(spec);
    }
}

/// Opens what the app's load needs: the data folder, the store and its tables, the wasm
/// runtime, and both listeners (bound before the app loads: process functions are told the AWS
/// endpoint's address).
async fn open(config: &NodeConfig) -> Result<State, NodeError> {
    let data_dir_error = |source| NodeError::DataDir {
        path: config.data_dir.clone(),
        source,
    };
    // The compiled-code cache wants an absolute path; a relative data folder is the common case.
    let data_dir = std::path::absolute(&config.data_dir).map_err(data_dir_error)?;
    let cache_dir = data_dir.join("cache");
    std::fs::create_dir_all(&cache_dir).map_err(data_dir_error)?;
    let store_dir = backup::store_dir(&data_dir);
    let store =
        store::Store::open(&store_dir, store::StoreOptions::default()).map_err(|source| {
            NodeError::Store {
                path: store_dir.clone(),
                source,
            }
        })?;
    let tables = Tables::open(
        store,
        TablesConfig {
            region: runtime::REGION.to_owned(),
            account_id: runtime::ACCOUNT_ID.to_owned(),
            ttl_sweep_interval: config.ttl_sweep_interval,
            stream_retention: config.stream_retention,
        },
    )
    .map_err(|error| NodeError::Tables(error.to_string()))?;
    // The node's WebSocket clients: reached by wasm functions' `connections` import, by
    // `@connections` on the AWS endpoint, and added to by the gateway.
    let connections = Connections::with_limits(config.edge.websocket.clone());
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(cache_dir),
        instances_max: runtime::limits::INSTANCES_MAX,
        tables: Some(Arc::new(control::FunctionTables(tables.clone()))),
        connections: Some(Arc::new(connections.clone())),
    })
    .map_err(NodeError::Runtime)?;
    let gateway_listener = bind(config.listen, Listener::Gateway).await?;
    let aws_listener = bind(config.aws_listen, Listener::Aws).await?;
    Ok(State {
        tables,
        connections,
        runtime,
        gateway_listener,
        aws_listener,
    })
}

/// Serves the app's routes, WebSocket API and static files on `listener` until `stopped`.
/// Resolves to whether every in-flight request finished within the drain.
fn serve_gateway(
    config: &NodeConfig,
    listener: TcpListener,
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    connections: &Connections,
    bodies: &BodyBudget,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<bool> {
    let server_config = config.edge.server.clone();
    let snapshot = Arc::clone(snapshot);
    let observer = Arc::clone(observer);
    let connections = connections.clone();
    let bodies = bodies.clone();
    // Owner: the node (`Tasks::gateway`): `shutdown` stops it and awaits its drain; a drop
    // aborts it.
    tokio::spawn(async move {
        gateway::server::serve(
            listener,
            &server_config,
            move |request, peer| {
                gateway::endpoints::gateway_endpoint(
                    Arc::clone(&snapshot),
                    Arc::clone(&observer),
                    connections.clone(),
                    bodies.clone(),
                    request,
                    peer,
                )
            },
            wait_for(stopped),
        )
        .await
    })
}

/// Serves the AWS endpoint on `listener` until `stopped`.
fn serve_aws(
    config: &NodeConfig,
    listener: TcpListener,
    snapshot: &SharedSnapshot,
    observer: &Arc<dyn Observer>,
    services: Arc<AwsServices>,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<bool> {
    let server_config = config.edge.server.clone();
    let snapshot = Arc::clone(snapshot);
    let observer = Arc::clone(observer);
    // Owner: the node (`Tasks::aws`): `shutdown` stops it and awaits its drain; a drop aborts
    // it.
    tokio::spawn(async move {
        gateway::server::serve(
            listener,
            &server_config,
            move |request, _peer| {
                gateway::endpoints::aws_endpoint(
                    Arc::clone(&snapshot),
                    Arc::clone(&observer),
                    Arc::clone(&services),
                    request,
                )
            },
            wait_for(stopped),
        )
        .await
    })
}

/// The metering ledger's settings: its documented defaults.
fn ledger_config() -> LedgerConfig {
    use metering::limits;
    LedgerConfig {
        raw_retention: limits::RAW_RETENTION_DEFAULT,
        raw_records_max: limits::RAW_RECORDS_DEFAULT,
        bucket: limits::BUCKET_DEFAULT,
        bucket_retention: limits::BUCKET_RETENTION_DEFAULT,
        rollup_interval: limits::ROLLUP_INTERVAL_DEFAULT,
        clock: Arc::new(metering::SystemClock),
    }
}

fn auth_policy(credentials: &[(String, String)]) -> AuthPolicy {
    if credentials.is_empty() {
        AuthPolicy::AcceptAny
    } else {
        AuthPolicy::Verify(Arc::new(credentials.iter().cloned().collect()))
    }
}

async fn bind(addr: SocketAddr, listener: Listener) -> Result<TcpListener, NodeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Listen {
            listener,
            addr,
            source,
        })
}

fn local_addr(
    bound: &TcpListener,
    listener: Listener,
    addr: SocketAddr,
) -> Result<SocketAddr, NodeError> {
    bound.local_addr().map_err(|source| NodeError::Listen {
        listener,
        addr,
        source,
    })
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
