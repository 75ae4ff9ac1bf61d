//! Loading an app: manifest → `AppSpec` → loaded functions → `AppSnapshot`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::concurrency::{Pools, ScalingConfig};
use app::{AppFunction, AppSnapshot, Code, RouteTable, SharedSnapshot, StaticFiles, WebSocketApi};
use arc_swap::ArcSwap;
use manifest::{AppSpec, FunctionCode, FunctionSpec, ProcessRuntime};
use process::{ProcessFunctionConfig, ProcessHost, ProcessLoadError};
use runtime::{FunctionConfig, LoadError, Runtime, Tier};
use sha2::{Digest, Sha256};
use tables::Tables;

/// Why an app (or a new version of it) could not be loaded. One line each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadAppError {
    #[error("{path}: cannot read the manifest: {source}")]
    ReadManifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error("function \"{function}\": {path}: cannot read the module: {source}")]
    ReadModule {
        function: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("function \"{function}\": {path}: {source}")]
    Module {
        function: String,
        path: PathBuf,
        source: LoadError,
    },
    #[error("function \"{function}\": compiling optimized code failed: {source}")]
    Upgrade { function: String, source: LoadError },
    #[error("function \"{function}\": {source}")]
    Process {
        function: String,
        source: ProcessLoadError,
    },
    #[error("[static] dir {}: {reason}", path.display())]
    StaticDir { path: PathBuf, reason: String },
    #[error(
        "WebSocket route `{route}`: function \"{function}\" is a wasi:http component; WebSocket routes need a function that takes events (the handler world, or a process function)"
    )]
    WebSocketRoute { route: String, function: String },
    #[error("function \"{function}\": {path}: cannot read the code folder: {source}")]
    ReadCode {
        function: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Table(#[from] tables::ManifestError),
    #[error("{0}")]
    Destination(#[from] events::destination::DestinationError),
}

/// The result of a successful load.
pub struct Loaded {
    pub spec: AppSpec,
    /// Functions compiled anew (the others were carried over unchanged).
    pub n_functions_compiled: usize,
    /// Functions now running baseline code, waiting for [`Control::upgrade`].
    pub n_functions_baseline: usize,
    /// What loading changed in the manifest's tables ("table carts: created").
    pub table_changes: Vec<String>,
    pub duration: Duration,
}

/// Owns the running app: the runtime, the snapshot the request path reads, and the
/// functions of the current version (reused by the next load when unchanged).
pub struct Control {
    engines: Engines,
    /// The node's table service: the manifest's tables are made so on every load.
    tables: Option<Tables>,
    manifest_path: PathBuf,
    snapshot: SharedSnapshot,
    /// Every function's concurrency pool; they outlive app versions.
    pools: Pools,
    current: Mutex<Current>,
}

#[derive(Default)]
struct Current {
    spec: Option<AppSpec>,
    /// Loaded functions by the hash of everything that went into loading them.
    functions: HashMap<[u8; 32], Entry>,
    /// Function name to its key in `functions`, for the current spec.
    keys_by_name: HashMap<String, [u8; 32]>,
}

/// What runs the app's functions: the wasm runtime and the process host.
pub struct Engines {
    pub runtime: Runtime,
    pub processes: ProcessHost,
}

#[derive(Clone)]
struct Entry {
    function: Code,
    /// What it takes to compile the optimized code, while `function` runs baseline code.
    pending: Option<(FunctionConfig, Arc<[u8]>)>,
}

impl Control {
    /// Loads the app for the first time, with optimized code. Fails if the app cannot be loaded.
    /// Blocking: call it off the async threads (it compiles, and waits for table changes).
    pub fn start(
        engines: Engines,
        tables: Option<Tables>,
        manifest_path: &Path,
    ) -> Result<(Control, Loaded), LoadAppError> {
        let mut current = Current::default();
        let loaded = load(
            &engines,
            tables.as_ref(),
            manifest_path,
            &mut current,
            Tier::Optimized,
        )?;
        let pools = Pools::new();
        let snapshot = build_snapshot(&loaded.spec, &current, &pools, &engines);
        let control = Control {
            engines,
            tables,
            manifest_path: manifest_path.to_owned(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            pools,
            current: Mutex::new(current),
        };
        Ok((control, loaded))
    }

    /// Loads the app again and swaps the new version in; changed functions are compiled at
    /// `tier`. On error nothing changes.
    /// Blocking and CPU-heavy (it may compile): call it off the request threads.
    pub fn reload(&self, tier: Tier) -> Result<Loaded, LoadAppError> {
        let mut current = self.lock();
        let loaded = load(
            &self.engines,
            self.tables.as_ref(),
            &self.manifest_path,
            &mut current,
            tier,
        )?;
        self.snapshot.store(Arc::new(build_snapshot(
            &loaded.spec,
            &current,
            &self.pools,
            &self.engines,
        )));
        Ok(loaded)
    }

    /// Compiles optimized code for every function running baseline code and swaps it in.
    /// Compiles without holding the control lock, so a reload can proceed meanwhile; code that a
    /// newer reload replaced in the meantime is dropped. Returns `None` when nothing changed.
    pub fn upgrade(&self) -> Result<Option<Loaded>, LoadAppError> {
        let start = Instant::now();
        let pending: Vec<([u8; 32], FunctionConfig, Arc<[u8]>)> = self
            .lock()
            .functions
            .iter()
            .filter_map(|(key, entry)| {
                let (config, wasm) = entry.pending.as_ref()?;
                Some((*key, config.clone(), Arc::clone(wasm)))
            })
            .collect();
        let mut compiled = Vec::with_capacity(pending.len());
        for (key, config, wasm) in pending {
            let function = self
                .engines
                .runtime
                .load(&config, &wasm, Tier::Optimized)
                .map_err(|source| LoadAppError::Upgrade {
                    function: config.name.clone(),
                    source,
                })?;
            compiled.push((key, function));
        }
        let mut current = self.lock();
        let mut n_functions_compiled = 0;
        for (key, function) in compiled {
            if let Some(entry) = current.functions.get_mut(&key)
                && entry.pending.is_some()
            {
                *entry = Entry {
                    function: Code::Wasm(function),
                    pending: None,
                };
                n_functions_compiled += 1;
            }
        }
        let Some(spec) = current.spec.clone().filter(|_| n_functions_compiled > 0) else {
            return Ok(None);
        };
        self.snapshot.store(Arc::new(build_snapshot(
            &spec,
            &current,
            &self.pools,
            &self.engines,
        )));
        let duration = start.elapsed();
        Ok(Some(Loaded {
            spec,
            n_functions_compiled,
            n_functions_baseline: 0,
            table_changes: Vec::new(),
            duration,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .expect("control state lock is never poisoned")
    }

    /// Whether process functions run sandboxed on this node, once one was loaded: `Err` says why
    /// they do not, for the caller to say at every load.
    pub fn process_sandbox(&self) -> Option<Result<(), String>> {
        self.engines.processes.sandbox_status()
    }

    /// The snapshot the request path reads.
    pub fn snapshot(&self) -> &SharedSnapshot {
        &self.snapshot
    }

    /// The files whose change means a new version of the app: the manifest and every module.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let current = self.lock();
        let mut files = vec![self.manifest_path.clone()];
        if let Some(spec) = &current.spec {
            files.extend(
                spec.functions
                    .values()
                    .filter_map(|function| match &function.code {
                        FunctionCode::Wasm { path } => Some(path.clone()),
                        FunctionCode::Process { .. } => None,
                    }),
            );
        }
        files
    }

    /// The process functions' code folders: a change to a file in one (other than what
    /// [`is_generated`] says a runtime writes itself) means a new version of the app.
    pub fn watched_code_dirs(&self) -> Vec<PathBuf> {
        let current = self.lock();
        let Some(spec) = &current.spec else {
            return Vec::new();
        };
        spec.functions
            .values()
            .filter_map(|function| match &function.code {
                FunctionCode::Process { dir, .. } => Some(dir.clone()),
                FunctionCode::Wasm { .. } => None,
            })
            .collect()
    }
}

fn load(
    engines: &Engines,
    tables: Option<&Tables>,
    manifest_path: &Path,
    current: &mut Current,
    tier: Tier,
) -> Result<Loaded, LoadAppError> {
    let start = Instant::now();
    let text =
        std::fs::read_to_string(manifest_path).map_err(|source| LoadAppError::ReadManifest {
            path: manifest_path.to_owned(),
            source,
        })?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let file_name = manifest_path.display().to_string();
    let spec = manifest::parse(&text, &file_name, dir)?;
    // Every on-failure and on-success table must have a key the destination writer can fill.
    events::destination::check(&spec)?;

    let mut functions = HashMap::new();
    let mut keys_by_name = HashMap::new();
    let mut n_functions_compiled = 0;
    for function in spec.functions.values() {
        let (key, entry, compiled) = load_function(engines, function, &current.functions, tier)?;
        n_functions_compiled += usize::from(compiled);
        keys_by_name.insert(function.name.clone(), key);
        functions.insert(key, entry);
    }
    if let Some(files) = &spec.static_files {
        // Served from disk at each request, but a folder that is not there is a mistake to
        // report now, not a 404 to puzzle over later.
        match std::fs::metadata(&files.dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(LoadAppError::StaticDir {
                    path: files.dir.clone(),
                    reason: "not a folder".to_owned(),
                });
            }
            Err(error) => {
                return Err(LoadAppError::StaticDir {
                    path: files.dir.clone(),
                    reason: error.to_string(),
                });
            }
        }
    }
    if let Some(websocket) = &spec.websocket {
        for (route, name) in &websocket.routes {
            let entry = &functions[&keys_by_name[name]];
            if let Code::Wasm(function) = &entry.function
                && function.kind() == runtime::FunctionKind::WasiHttp
            {
                return Err(LoadAppError::WebSocketRoute {
                    route: route.clone(),
                    function: name.clone(),
                });
            }
        }
    }
    let n_functions_baseline = functions
        .values()
        .filter(|entry| entry.pending.is_some())
        .count();
    // Tables last: a module that does not load leaves the tables as they were.
    let table_changes = match tables {
        Some(tables) => {
            let specs: Vec<manifest::TableSpec> = spec.tables.values().cloned().collect();
            tokio::runtime::Handle::current().block_on(tables.apply_manifest(&specs))?
        }
        None => Vec::new(),
    };
    current.functions = functions;
    current.keys_by_name = keys_by_name;
    current.spec = Some(spec.clone());
    Ok(Loaded {
        spec,
        n_functions_compiled,
        n_functions_baseline,
        table_changes,
        duration: start.elapsed(),
    })
}

/// The request path's view of the app: routes and functions, resolved, each function with its
/// concurrency pool.
fn build_snapshot(
    spec: &AppSpec,
    current: &Current,
    pools: &Pools,
    engines: &Engines,
) -> AppSnapshot {
    let limits = &spec.limits;
    let scaling = ScalingConfig {
        concurrency_max: limits.concurrency_max,
        throttle_wait: Duration::from_millis(u64::from(limits.throttle_wait_ms)),
        queue_max: limits.throttle_queue_max,
        scale_up_per_10s: limits.scale_up_per_10s,
        // Instances of a wasm function do not outlive their invocation, but the pool paces
        // both kinds alike: by the time a process environment would be reaped.
        warm_window: engines.processes.idle_timeout(),
    };
    let reservations: Vec<(String, Option<u32>)> = spec
        .functions
        .values()
        .map(|function| (function.name.clone(), function.reserved_concurrency))
        .collect();
    let pools = pools.configure(scaling, &reservations);
    let function = |name: &str| {
        let key = current
            .keys_by_name
            .get(name)
            .expect("every declared function was loaded");
        let pool = Arc::clone(&pools[name]);
        AppFunction::new(
            current.functions[key].function.clone(),
            pool,
            scaling.throttle_wait,
        )
    };
    let routes = spec
        .routes
        .iter()
        .map(|route| {
            (
                route.key.clone(),
                route.key_text.clone(),
                function(&route.function),
            )
        })
        .collect();
    let functions = spec
        .functions
        .keys()
        .map(|name| (name.clone(), function(name)))
        .collect();
    let websocket = spec.websocket.as_ref().map(|websocket| {
        let routes = websocket
            .routes
            .iter()
            .map(|(route, name)| (route.clone(), function(name)))
            .collect();
        WebSocketApi::new(
            websocket.path.clone(),
            &websocket.route_selection_expression,
            routes,
        )
    });
    let static_files = spec
        .static_files
        .as_ref()
        .map(|files| StaticFiles::new(&files.path, &files.dir));
    AppSnapshot {
        routes: RouteTable::new(routes),
        functions,
        request_body_bytes_max: usize::try_from(spec.limits.request_body_bytes_max)
            .unwrap_or(usize::MAX),
        billing: spec.billing.clone(),
        websocket,
        static_files,
    }
}

/// Loads one function, or reuses the already loaded one when nothing that goes into it changed.
fn load_function(
    engines: &Engines,
    function: &FunctionSpec,
    loaded: &HashMap<[u8; 32], Entry>,
    tier: Tier,
) -> Result<([u8; 32], Entry, bool), LoadAppError> {
    let path = match &function.code {
        FunctionCode::Wasm { path } => path,
        FunctionCode::Process {
            runtime,
            dir,
            handler,
        } => {
            return load_process_function(
                &engines.processes,
                function,
                *runtime,
                dir,
                handler,
                loaded,
            );
        }
    };
    let wasm = std::fs::read(path).map_err(|source| LoadAppError::ReadModule {
        function: function.name.clone(),
        path: path.clone(),
        source,
    })?;
    let config = FunctionConfig {
        name: function.name.clone(),
        memory_mb: function.memory_mb,
        timeout_ms: function.timeout_ms,
        environment: function
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        allowed_outbound_hosts: function.allowed_outbound_hosts.clone(),
    };
    let key = load_key(&config, &wasm);
    if let Some(existing) = loaded.get(&key) {
        return Ok((key, existing.clone(), false));
    }
    let new = engines
        .runtime
        .load(&config, &wasm, tier)
        .map_err(|source| LoadAppError::Module {
            function: function.name.clone(),
            path: path.clone(),
            source,
        })?;
    let pending = (tier == Tier::Baseline).then(|| (config, Arc::from(wasm)));
    Ok((
        key,
        Entry {
            function: Code::Wasm(new),
            pending,
        },
        true,
    ))
}

fn load_key(config: &FunctionConfig, wasm: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(wasm);
    // Debug output of the config covers every field, so any change makes a new key.
    hasher.update(format!("{config:?}").as_bytes());
    hasher.finalize().into()
}

/// Loads one process function, or reuses the loaded one (and its warm environments) when
/// neither its configuration nor any file of its code folder changed.
fn load_process_function(
    processes: &ProcessHost,
    function: &FunctionSpec,
    runtime: ProcessRuntime,
    dir: &Path,
    handler: &Option<String>,
    loaded: &HashMap<[u8; 32], Entry>,
) -> Result<([u8; 32], Entry, bool), LoadAppError> {
    let fingerprint = code_fingerprint(dir).map_err(|source| LoadAppError::ReadCode {
        function: function.name.clone(),
        path: dir.to_owned(),
        source,
    })?;
    let config = ProcessFunctionConfig {
        name: function.name.clone(),
        runtime: match runtime {
            ProcessRuntime::Provided => process::ProcessRuntime::Provided,
            ProcessRuntime::Python3 => process::ProcessRuntime::Python3,
            ProcessRuntime::Nodejs => process::ProcessRuntime::Nodejs,
        },
        code_dir: dir.to_owned(),
        handler: handler.clone(),
        memory_mb: function.memory_mb,
        timeout_ms: function.timeout_ms,
        environment: function
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ephemeral_storage_mb: function.ephemeral_storage_mb,
        outbound_network: !function.allowed_outbound_hosts.is_empty(),
        version: fingerprint
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    };
    let mut hasher = Sha256::new();
    hasher.update(format!("{config:?}").as_bytes());
    let key: [u8; 32] = hasher.finalize().into();
    if let Some(existing) = loaded.get(&key) {
        return Ok((key, existing.clone(), false));
    }
    let new = processes
        .load(config)
        .map_err(|source| LoadAppError::Process {
            function: function.name.clone(),
            source,
        })?;
    let entry = Entry {
        function: Code::Process(new),
        pending: None,
    };
    Ok((key, entry, true))
}

/// A hash of a code folder's file names, sizes and modification times: it changes when any
/// file does. At most [`CODE_FILES_MAX`] files are looked at (a deployment package, not a disk).
fn code_fingerprint(dir: &Path) -> std::io::Result<[u8; 32]> {
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_owned()];
    'walk: while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            if is_generated(&entry.path()) {
                continue;
            }
            let metadata = entry.metadata()?;
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                let modified = metadata
                    .modified()
                    .ok()
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .unwrap_or_default();
                entries.push((entry.path(), metadata.len(), modified));
            }
            if entries.len() >= CODE_FILES_MAX {
                break 'walk;
            }
        }
    }
    entries.sort();
    let mut hasher = Sha256::new();
    for (path, size, modified) in entries {
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update(size.to_le_bytes());
        hasher.update(modified.as_nanos().to_le_bytes());
    }
    Ok(hasher.finalize().into())
}

/// The most files of a process function's code folder that go into its fingerprint.
const CODE_FILES_MAX: usize = 10_000;

/// Whether a path in a code folder is something rondo or a runtime writes rather than the
/// developer: hidden files and folders (`.rondo`, `.git`) and Python's bytecode cache. Such a
/// change is not a new version (else importing a module would reload the app, forever).
pub(crate) fn is_generated(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            name.starts_with('.') || name == "__pycache__" || name.ends_with(".pyc")
        })
}
