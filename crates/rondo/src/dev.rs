//! `rondo dev`: serve an app on loopback, watch its files, reload on change.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use control::{AppWatcher, ReloadEvent};
use events::{AsyncReport, TriggerEvent};
use node::{Listener, Node, NodeConfig, NodeError, NodeHooks};

use crate::cli::DevArgs;
use crate::printer::{self, LogPrinter};

pub fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = manifest_path(&args.dir);
    let app_dir = manifest_path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let data_dir = args.data.clone().unwrap_or_else(|| app_dir.join(".rondo"));
    let config = NodeConfig {
        manifest_path,
        data_dir,
        tools_dir: tools_dir(&args),
        listen: args.listen,
        aws_listen: args.aws_listen,
        aws_credentials: args.aws_credentials.clone(),
        ttl_sweep_interval: Duration::from_millis(args.ttl_sweep_ms),
        stream_retention: Duration::from_secs(args.stream_retention_s),
        process_idle_timeout: Duration::from_secs(args.process_idle_s),
        async_retry_delay: Duration::from_millis(args.async_retry_delay_ms),
        // The edge's production limits (`gateway::limits`).
        edge: gateway::EdgeLimits::production(),
    };

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rondo-worker")
        // Look for I/O between every two task polls (tokio's default: every 61). A busy wasm
        // guest yields at each 1 ms epoch tick and keeps the workers from parking, so with the
        // default a request to another function waited up to ~61 ms to be read (009).
        .event_interval(EVENT_INTERVAL_POLLS)
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(serve(config, args.quiet, args.no_watch))
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

/// Runs a node until Ctrl-C, printing each invocation's log, and reloads the app when its files
/// change (unless `no_watch`).
async fn serve(config: NodeConfig, quiet: bool, no_watch: bool) -> anyhow::Result<ExitCode> {
    let printer = Arc::new(LogPrinter::start(quiet));
    let hooks = NodeHooks {
        log: Some(Arc::clone(&printer) as Arc<dyn node::InvocationLog>),
        trigger_report: Arc::new(report_trigger),
        async_report: Arc::new(report_async),
    };
    let (node, loaded) = Node::start(config, hooks).await.map_err(start_error)?;
    // Watch before announcing the app, so no change made after the banner is missed.
    let watcher = if no_watch {
        None
    } else {
        let watcher = AppWatcher::start(Arc::clone(node.control()))
            .context("cannot watch the app's files (use --no-watch to run without reloading)")?;
        Some(watcher)
    };

    print_banner(&loaded, node.gateway_addr(), node.aws_addr());
    print_warnings(&loaded.spec);
    print_sandbox_warning(&loaded.spec, node.control());
    let watcher = watcher.map(|watcher| {
        let sources = node.event_sources();
        let control = Arc::clone(node.control());
        // Owner: this function, which aborts it and waits for it to end after Ctrl-C (before
        // the node shuts down), taking the watcher's upgrades with it.
        tokio::spawn(watcher.run(move |event| {
            if let ReloadEvent::Reloaded(loaded) = &event {
                print_warnings(&loaded.spec);
                print_sandbox_warning(&loaded.spec, &control);
                sources.apply(&loaded.spec);
            }
            report_reload(event);
        }))
    });

    wait_for_ctrl_c().await;
    if let Some(watcher) = watcher {
        watcher.abort();
        // Cancelled (or ended by a panic already reported): either way it reports no more.
        let _ = watcher.await;
    }
    printer::info_line(
        "rondo: shutting down, finishing in-flight requests (Ctrl-C again to stop now)",
    );
    // WebSocket clients are closed (1001) and their `$disconnect`s run while the listeners drain.
    let shutdown = node.shutdown_or(wait_for_ctrl_c()).await;
    // What was metered is committed before the store closes.
    if let Err(error) = shutdown.ledger {
        printer::error_line(&format!(
            "rondo: the metering ledger did not close cleanly: {error}"
        ));
    }
    if !shutdown.drained {
        printer::error_line("rondo: stopped with requests still in flight");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A node that did not start, as one line; a listener's error names the flag that moves it.
fn start_error(error: NodeError) -> anyhow::Error {
    match error {
        NodeError::Listen {
            listener,
            addr,
            source,
        } => {
            let flag = match listener {
                Listener::Gateway => "--listen",
                Listener::Aws => "--aws-listen",
            };
            anyhow::Error::new(source).context(format!(
                "cannot listen on {addr} (choose another address with {flag})"
            ))
        }
        other => anyhow::Error::new(other),
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

/// What the manifest declares that this release does not act on, and risky trigger settings.
fn print_warnings(spec: &manifest::AppSpec) {
    for warning in &spec.warnings {
        printer::error_line(&format!("warning: {warning}"));
    }
    for warning in events::warnings(spec) {
        printer::error_line(&format!("warning: {warning}"));
    }
}

/// Process functions running without a sandbox, said at every load that has one.
fn print_sandbox_warning(spec: &manifest::AppSpec, control: &control::Control) {
    let has_processes = spec
        .functions
        .values()
        .any(|function| matches!(function.code, manifest::FunctionCode::Process { .. }));
    if !has_processes {
        return;
    }
    if let Some(Err(reason)) = control.process_sandbox() {
        printer::error_line(&format!(
            "warning: PROCESS FUNCTIONS RUN WITHOUT A SANDBOX, as rondo's own user, able to read \
             its data and the host: {reason}"
        ));
    }
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

fn report_reload(event: ReloadEvent) {
    match event {
        ReloadEvent::Reloaded(loaded) => {
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
