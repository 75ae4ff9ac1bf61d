//! Loading an app: manifest → `AppSpec` → loaded functions → `AppSnapshot`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use gateway::{AppSnapshot, RouteTable, SharedSnapshot};
use manifest::{AppSpec, FunctionCode, FunctionSpec};
use runtime::{Function, FunctionConfig, LoadError, Runtime, Tier};
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
    #[error(
        "function \"{function}\": process functions (runtime = ...) are not supported by this rondo version"
    )]
    ProcessFunction { function: String },
    #[error("{0}")]
    Table(#[from] tables::ManifestError),
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
    runtime: Runtime,
    /// The node's table service: the manifest's tables are made so on every load.
    tables: Option<Tables>,
    manifest_path: PathBuf,
    snapshot: SharedSnapshot,
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

#[derive(Clone)]
struct Entry {
    function: Function,
    /// What it takes to compile the optimized code, while `function` runs baseline code.
    pending: Option<(FunctionConfig, Arc<[u8]>)>,
}

impl Control {
    /// Loads the app for the first time, with optimized code. Fails if the app cannot be loaded.
    /// Blocking: call it off the async threads (it compiles, and waits for table changes).
    pub fn start(
        runtime: Runtime,
        tables: Option<Tables>,
        manifest_path: &Path,
    ) -> Result<(Control, Loaded), LoadAppError> {
        let mut current = Current::default();
        let loaded = load(
            &runtime,
            tables.as_ref(),
            manifest_path,
            &mut current,
            Tier::Optimized,
        )?;
        let snapshot = build_snapshot(&loaded.spec, &current);
        let control = Control {
            runtime,
            tables,
            manifest_path: manifest_path.to_owned(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
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
            &self.runtime,
            self.tables.as_ref(),
            &self.manifest_path,
            &mut current,
            tier,
        )?;
        self.snapshot
            .store(Arc::new(build_snapshot(&loaded.spec, &current)));
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
            let function =
                self.runtime
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
                    function,
                    pending: None,
                };
                n_functions_compiled += 1;
            }
        }
        let Some(spec) = current.spec.clone().filter(|_| n_functions_compiled > 0) else {
            return Ok(None);
        };
        self.snapshot
            .store(Arc::new(build_snapshot(&spec, &current)));
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
}

fn load(
    runtime: &Runtime,
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

    let mut functions = HashMap::new();
    let mut keys_by_name = HashMap::new();
    let mut n_functions_compiled = 0;
    for function in spec.functions.values() {
        let (key, entry, compiled) = load_function(runtime, function, &current.functions, tier)?;
        n_functions_compiled += usize::from(compiled);
        keys_by_name.insert(function.name.clone(), key);
        functions.insert(key, entry);
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

/// The request path's view of the app: routes and functions, resolved.
fn build_snapshot(spec: &AppSpec, current: &Current) -> AppSnapshot {
    let function = |name: &str| {
        let key = current
            .keys_by_name
            .get(name)
            .expect("every declared function was loaded");
        current.functions[key].function.clone()
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
    AppSnapshot {
        routes: RouteTable::new(routes),
        functions,
        request_body_bytes_max: usize::try_from(spec.limits.request_body_bytes_max)
            .unwrap_or(usize::MAX),
        billing_granularity_ms: spec.billing.granularity_ms,
    }
}

/// Loads one function, or reuses the already loaded one when nothing that goes into it changed.
fn load_function(
    runtime: &Runtime,
    function: &FunctionSpec,
    loaded: &HashMap<[u8; 32], Entry>,
    tier: Tier,
) -> Result<([u8; 32], Entry, bool), LoadAppError> {
    let FunctionCode::Wasm { path } = &function.code else {
        return Err(LoadAppError::ProcessFunction {
            function: function.name.clone(),
        });
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
    let new = runtime
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
            function: new,
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
