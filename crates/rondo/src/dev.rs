//! `rondo dev`: serve an app on loopback, watch its files, reload on change.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use app::Observer;
use control::{AppWatcher, Control, Engines, ReloadEvent};
use events::{
    AsyncContext, AsyncInvoker, AsyncInvokerConfig, AsyncReport, TriggerContext, TriggerEvent,
    Triggers,
};
use gateway::endpoints::{Admin, AwsServices};
use gateway::websocket::Connections;
use metering::{Ledger, LedgerConfig, Metrics};
use process::{ProcessHost, ProcessHostConfig};
use runtime::{Runtime, RuntimeConfig};
use tables::{Tables, TablesConfig};
use tokio::net::TcpListener;

use crate::cli::DevArgs;
use crate::observer::NodeObserver;
use crate::printer::{self, LogPrinter};

pub fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = manifest_path(&args.dir);
    let app_dir = manifest_path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let data_dir = args.data.clone().unwrap_or_else(|| app_dir.join(".rondo"));
    // The compiled-code cache wants an absolute path; a relative app folder is the common case.
    let data_dir = std::path::absolute(&data_dir)
        .with_context(|| format!("cannot resolve the data folder {}", data_dir.display()))?;
    let cache_dir = data_dir.join("cache");
    std::fs::create_dir_all(&cache_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let store_dir = data_dir.join("store");

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rondo-worker")
        // Look for I/O between every two task polls (tokio's default: every 61). A busy wasm
        // guest yields at each 1 ms epoch tick and keeps the workers from parking, so with the
        // default a request to another function waited up to ~61 ms to be read (009).
        .event_interval(EVENT_INTERVAL_POLLS)
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(serve(args, manifest_path, cache_dir, store_dir))
}

/// Task polls between two looks for I/O on a worker of `rondo dev`'s runtime.
const EVENT_INTERVAL_POLLS: u32 = 2;

fn manifest_path(dir_or_file: &Path) -> PathBuf {
    if dir_or_file.is_dir() {
        dir_or_file.join("rondo.toml")
    } else {
        dir_or_file.to_owned()
    }
}

async fn serve(
    args: DevArgs,
    manifest_path: PathBuf,
    cache_dir: PathBuf,
    store_dir: PathBuf,
) -> anyhow::Result<ExitCode> {
    let store = store::Store::open(&store_dir, store::StoreOptions::default())
        .with_context(|| format!("cannot open the data store in {}", store_dir.display()))?;
    let tables = Tables::open(
        store,
        TablesConfig {
            region: runtime::REGION.to_owned(),
            account_id: runtime::ACCOUNT_ID.to_owned(),
            ttl_sweep_interval: std::time::Duration::from_millis(args.ttl_sweep_ms),
            stream_retention: std::time::Duration::from_secs(args.stream_retention_s),
        },
    )
    .map_err(|error| anyhow::anyhow!("cannot read the tables' catalog: {error}"))?;
    // The node's WebSocket clients: reached by wasm functions' `connections` import, by
    // `@connections` on the AWS endpoint, and added to by the gateway.
    // The edge's production limits (`gateway::limits`): both listeners' servers, one budget of
    // buffered request bodies, and the WebSocket registry's.
    let edge = gateway::EdgeLimits::production();
    let connections = Connections::with_limits(edge.websocket.clone());
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(cache_dir),
        instances_max: runtime::limits::INSTANCES_MAX,
        tables: Some(Arc::new(control::FunctionTables(tables.clone()))),
        connections: Some(Arc::new(connections.clone())),
    })?;
    // Bound before the app loads: process functions are told the AWS endpoint's address.
    let gateway_listener = bind(args.listen, "--listen").await?;
    let aws_listener = bind(args.aws_listen, "--aws-listen").await?;
    let gateway_addr = gateway_listener.local_addr()?;
    let aws_addr = aws_listener.local_addr()?;
    let processes = ProcessHost::new(ProcessHostConfig {
        tools_dir: tools_dir(&args),
        aws_endpoint_url: Some(format!("http://{aws_addr}")),
        credentials: args.aws_credentials.first().cloned().unwrap_or_else(|| {
            // Any request is accepted without --aws-credentials; SDKs still want a key to sign with.
            ("rondo".to_owned(), "rondo".to_owned())
        }),
        idle_timeout: std::time::Duration::from_secs(args.process_idle_s),
    });
    let (control, loaded) = {
        let tables = tables.clone();
        let manifest_path = manifest_path.clone();
        let engines = Engines { runtime, processes };
        tokio::task::spawn_blocking(move || Control::start(engines, Some(tables), &manifest_path))
            .await
            .context("loading the app panicked")??
    };
    let control = Arc::new(control);
    // Watch before announcing the app, so no change made after the banner is missed.
    let watcher = if args.no_watch {
        None
    } else {
        let watcher = AppWatcher::start(Arc::clone(&control))
            .context("cannot watch the app's files (use --no-watch to run without reloading)")?;
        Some(watcher)
    };

    print_banner(&loaded, gateway_addr, aws_addr);

    let printer = Arc::new(LogPrinter::start(
        args.quiet,
        loaded.spec.billing.granularity_ms,
    ));
    let metrics = Arc::new(Metrics::new());
    let ledger = Ledger::open(tables.store().clone(), ledger_config(), &metrics)
        .map_err(|error| anyhow::anyhow!("cannot open the metering ledger: {error}"))?;
    let observer: Arc<dyn Observer> = Arc::new(NodeObserver::new(
        Arc::clone(&printer),
        Arc::clone(&metrics),
        ledger.clone(),
        Arc::clone(control.snapshot()),
    ));
    let (shutdown_sender, shutdown) = tokio::sync::watch::channel(false);

    let snapshot = Arc::clone(control.snapshot());
    let gateway_observer = Arc::clone(&observer);
    let gateway_connections = connections.clone();
    let bodies = gateway::body::BodyBudget::new(edge.bodies.clone());
    let server_config = edge.server.clone();
    let drain_timeout = edge.server.drain_timeout;
    let gateway_server_config = edge.server;
    let gateway_bodies = bodies.clone();
    let gateway_shutdown = wait_for(shutdown.clone());
    let gateway = tokio::spawn(async move {
        gateway::server::serve(
            gateway_listener,
            &gateway_server_config,
            move |request, peer| {
                gateway::endpoints::gateway_endpoint(
                    Arc::clone(&snapshot),
                    Arc::clone(&gateway_observer),
                    gateway_connections.clone(),
                    gateway_bodies.clone(),
                    request,
                    peer,
                )
            },
            gateway_shutdown,
        )
        .await
    });
    let async_invoker = AsyncInvoker::open(
        AsyncContext {
            tables: tables.clone(),
            snapshot: Arc::clone(control.snapshot()),
            observer: Arc::clone(&observer),
            report: Arc::new(report_async),
        },
        AsyncInvokerConfig {
            retry_delay: std::time::Duration::from_millis(args.async_retry_delay_ms),
            pending_events_max: events::limits::ASYNC_PENDING_EVENTS_MAX,
            pending_bytes_max: events::limits::ASYNC_PENDING_BYTES_MAX,
            in_flight_max: events::limits::ASYNC_IN_FLIGHT_MAX,
        },
    )
    .context("cannot open the queue of asynchronous invocations")?;
    start_async(&async_invoker, &loaded.spec);
    let triggers = Arc::new(Triggers::new(TriggerContext {
        tables: tables.clone(),
        snapshot: Arc::clone(control.snapshot()),
        observer: Arc::clone(&observer),
        report: Arc::new(report_trigger),
    }));
    let snapshot = Arc::clone(control.snapshot());
    let aws_observer = Arc::clone(&observer);
    let services = Arc::new(AwsServices {
        tables: tables.clone(),
        auth: auth_policy(&args.aws_credentials),
        async_queue: Some(Arc::new(async_invoker.clone())),
        admin: Some(Admin {
            ledger: ledger.clone(),
            metrics: Arc::clone(&metrics),
            iterator_ages: {
                let triggers = Arc::clone(&triggers);
                Arc::new(move || triggers.iterator_ages().snapshot())
            },
        }),
        connections: Some(connections.clone()),
        bodies,
    });
    let aws_shutdown = wait_for(shutdown.clone());
    let aws = tokio::spawn(async move {
        gateway::server::serve(
            aws_listener,
            &server_config,
            move |request, _peer| {
                gateway::endpoints::aws_endpoint(
                    Arc::clone(&snapshot),
                    Arc::clone(&aws_observer),
                    Arc::clone(&services),
                    request,
                )
            },
            aws_shutdown,
        )
        .await
    });
    start_triggers(&triggers, &loaded.spec);
    let watcher = watcher.map(|watcher| {
        let printer = Arc::clone(&printer);
        let triggers = Arc::clone(&triggers);
        let async_invoker = async_invoker.clone();
        tokio::spawn(watcher.run(move |event| {
            if let ReloadEvent::Reloaded(loaded) = &event {
                start_triggers(&triggers, &loaded.spec);
                start_async(&async_invoker, &loaded.spec);
            }
            report_reload(&printer, event);
        }))
    });

    let background = {
        let tables = tables.clone();
        tokio::spawn(async move { tables.run_background().await })
    };
    let async_worker = tokio::spawn(async move { async_invoker.run().await });

    wait_for_ctrl_c().await;
    background.abort();
    // Events in flight are abandoned: they stay in the store and run again at the next start.
    async_worker.abort();
    triggers.stop().await;
    printer::info_line(
        "rondo: shutting down, finishing in-flight requests (Ctrl-C again to stop now)",
    );
    let _ = shutdown_sender.send(true);
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    // WebSocket clients are closed (1001) and their `$disconnect`s run while the listeners drain.
    let drained = tokio::select! {
        (gateway, aws, websockets) = async {
            tokio::join!(gateway, aws, connections.close_all(drain_timeout))
        } => {
            gateway.unwrap_or(false) && aws.unwrap_or(false) && websockets
        }
        () = wait_for_ctrl_c() => false,
    };
    // What was metered is committed before the store closes.
    if let Err(error) = ledger.shutdown().await {
        printer::error_line(&format!(
            "rondo: the metering ledger did not close cleanly: {error}"
        ));
    }
    if !drained {
        printer::error_line("rondo: stopped with requests still in flight");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
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

/// Where runtime tools (Python's runtime interface client and boto3) are installed:
/// `--tools`, else `$XDG_CACHE_HOME/rondo/tools`, else `~/.cache/rondo/tools`, else in the data folder.
fn tools_dir(args: &DevArgs) -> PathBuf {
    if let Some(dir) = &args.tools {
        return dir.clone();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    match cache {
        Some(cache) => cache.join("rondo").join("tools"),
        None => args
            .data
            .clone()
            .unwrap_or_else(|| args.dir.join(".rondo"))
            .join("tools"),
    }
}

async fn bind(addr: std::net::SocketAddr, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (choose another address with {flag})"))
}

async fn wait_for(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn wait_for_ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling: run until killed.
        std::future::pending::<()>().await;
    }
}

fn print_banner(
    loaded: &control::Loaded,
    gateway: std::net::SocketAddr,
    aws: std::net::SocketAddr,
) {
    let spec = &loaded.spec;
    let mut text = format!(
        "rondo dev: app \"{}\" loaded in {:.1} ms ({} functions, {} routes, {} tables)\n  gateway       http://{gateway}\n  aws endpoint  http://{aws}\n",
        spec.name,
        loaded.duration.as_secs_f64() * 1000.0,
        spec.functions.len(),
        spec.routes.len(),
        spec.tables.len(),
    );
    for change in &loaded.table_changes {
        text.push_str(&format!("  {change}\n"));
    }
    for route in &spec.routes {
        text.push_str(&format!(
            "  route  {} -> {}\n",
            route.key_text, route.function
        ));
    }
    if let Some(websocket) = &spec.websocket {
        for (route, function) in &websocket.routes {
            text.push_str(&format!(
                "  websocket  ws://{gateway}{} {route} -> {function}\n",
                websocket.path
            ));
        }
    }
    if let Some(files) = &spec.static_files {
        text.push_str(&format!(
            "  static  {} -> {}\n",
            files.path,
            files.dir.display()
        ));
    }
    printer::info_line(text.trim_end());
}

/// Runs the app's triggers (restarting changed ones) and warns about risky settings.
fn start_triggers(triggers: &Triggers, spec: &manifest::AppSpec) {
    // What the manifest declares that this release does not act on.
    for warning in &spec.warnings {
        printer::error_line(&format!("warning: {warning}"));
    }
    for warning in events::warnings(spec) {
        printer::error_line(&format!("warning: {warning}"));
    }
    triggers.apply(spec);
}

/// Takes the app's asynchronous invocation settings.
fn start_async(invoker: &AsyncInvoker, spec: &manifest::AppSpec) {
    invoker.apply(spec);
}

/// Asynchronous invocations that failed, printed as trigger failures are.
fn report_async(report: AsyncReport) {
    let line = match report {
        AsyncReport::Retrying {
            function,
            request_id,
            invocations,
            error,
            delay,
        } => format!(
            "async {function} (request {request_id}): attempt failed after {invocations} invocations: {error}; trying again in {:.1} s",
            delay.as_secs_f64()
        ),
        AsyncReport::GivenUp {
            function,
            request_id,
            condition,
            invocations,
            error,
            destination,
        } => format!(
            "async {function} (request {request_id}): gave up after {invocations} invocations ({}){}; {}",
            condition.as_str(),
            error.map(|e| format!(": {e}")).unwrap_or_default(),
            match destination {
                Some(table) => format!("its invocation record is in table {table}"),
                None => "no on_failure destination, the event is dropped".to_owned(),
            }
        ),
        AsyncReport::DestinationFailed {
            function,
            request_id,
            table,
            attempt,
            error,
        } => format!(
            "async {function} (request {request_id}): cannot write the invocation record to table {table} (attempt {attempt}): {error}; it stays in the store and is written again"
        ),
        AsyncReport::Unreadable { key, reason } => format!(
            "error: async: the stored value {key} cannot be read ({reason}); it is left in the store and skipped"
        ),
        other => format!("async: {other:?}"),
    };
    printer::error_line(&line);
}

/// Trigger failures, printed so they are seen: a failing batch blocks its shard.
fn report_trigger(event: TriggerEvent) {
    match event {
        TriggerEvent::Invalid { error } => printer::error_line(&format!("error: {error}")),
        TriggerEvent::BatchFailed {
            trigger,
            shard,
            records,
            attempt,
            error,
            iterator_age,
        } => printer::error_line(&format!(
            "trigger {trigger}: batch of {records} records from {shard} failed (attempt {attempt}, iterator age {:.1} s): {error}",
            iterator_age.as_secs_f64()
        )),
        TriggerEvent::DestinationFailed {
            trigger,
            shard,
            table,
            attempt,
            error,
        } => printer::error_line(&format!(
            "trigger {trigger}: cannot write a failed batch's description from {shard} to table {table} (attempt {attempt}): {error}; the shard waits and the write is tried again"
        )),
        TriggerEvent::CheckpointUnreadable {
            trigger,
            shard,
            error,
        } => printer::error_line(&format!(
            "trigger {trigger}: cannot read the checkpoint of {shard}: {error}; the shard delivers nothing until it can, and reads it again"
        )),
        TriggerEvent::Discarded {
            trigger,
            shard,
            records,
            condition,
            destination,
        } => printer::error_line(&format!(
            "trigger {trigger}: gave up on a batch of {records} records from {shard} ({condition}); {}",
            match destination {
                Some(table) => format!("its description is in table {table}"),
                None => "no on_failure destination, the records are skipped".to_owned(),
            }
        )),
    }
}

fn report_reload(printer: &LogPrinter, event: ReloadEvent) {
    match event {
        ReloadEvent::Reloaded(loaded) => {
            printer.set_billing_granularity_ms(loaded.spec.billing.granularity_ms);
            let baseline = if loaded.n_functions_baseline > 0 {
                ", baseline code"
            } else {
                ""
            };
            printer::info_line(&format!(
                "rondo: reloaded app \"{}\" in {:.1} ms ({} of {} functions compiled{baseline})",
                loaded.spec.name,
                loaded.duration.as_secs_f64() * 1000.0,
                loaded.n_functions_compiled,
                loaded.spec.functions.len(),
            ));
            for change in &loaded.table_changes {
                printer::info_line(&format!("  {change}"));
            }
        }
        ReloadEvent::Optimized(loaded) => {
            printer::info_line(&format!(
                "rondo: optimized code for {} functions serving ({:.1} ms)",
                loaded.n_functions_compiled,
                loaded.duration.as_secs_f64() * 1000.0,
            ));
        }
        ReloadEvent::Failed(error) => {
            printer::error_line(&format!(
                "error: {error}\nrondo: kept the previous version serving"
            ));
        }
        ReloadEvent::WatcherFailed(error) => {
            printer::error_line(&format!(
                "error: watching the app's files failed: {error}; reloading stopped"
            ));
        }
    }
}

fn auth_policy(credentials: &[(String, String)]) -> gateway::sigv4::AuthPolicy {
    if credentials.is_empty() {
        gateway::sigv4::AuthPolicy::AcceptAny
    } else {
        gateway::sigv4::AuthPolicy::Verify(Arc::new(credentials.iter().cloned().collect()))
    }
}
