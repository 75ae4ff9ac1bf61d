//! Loading an app: manifest → `AppSpec` → loaded functions → `AppSnapshot`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use gateway::{AppSnapshot, RouteTable, SharedSnapshot};
use manifest::{AppSpec, FunctionCode, FunctionSpec};
use runtime::{Function, FunctionConfig, LoadError, Runtime};
use sha2::{Digest, Sha256};

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
    #[error(
        "function \"{function}\": process functions (runtime = ...) are not supported by this rondo version"
    )]
    ProcessFunction { function: String },
}

/// The result of a successful load.
pub struct Loaded {
    pub spec: AppSpec,
    /// Functions compiled anew (the others were carried over unchanged).
    pub n_functions_compiled: usize,
    pub duration: Duration,
}

/// Owns the running app: the runtime, the snapshot the request path reads, and the
/// functions of the current version (reused by the next load when unchanged).
pub struct Control {
    runtime: Runtime,
    manifest_path: PathBuf,
    snapshot: SharedSnapshot,
    current: Mutex<Current>,
}

#[derive(Default)]
struct Current {
    spec: Option<AppSpec>,
    /// Loaded functions by the hash of everything that went into loading them.
    functions: HashMap<[u8; 32], Function>,
}

impl Control {
    /// Loads the app for the first time. Fails if the app cannot be loaded.
    pub fn start(
        runtime: Runtime,
        manifest_path: &Path,
    ) -> Result<(Control, Loaded), LoadAppError> {
        let mut current = Current::default();
        let (snapshot, loaded) = load(&runtime, manifest_path, &mut current)?;
        let control = Control {
            runtime,
            manifest_path: manifest_path.to_owned(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            current: Mutex::new(current),
        };
        Ok((control, loaded))
    }

    /// Loads the app again and swaps the new version in. On error nothing changes.
    /// Blocking and CPU-heavy (it may compile): call it off the request threads.
    pub fn reload(&self) -> Result<Loaded, LoadAppError> {
        let mut current = self
            .current
            .lock()
            .expect("control state lock is never poisoned");
        let (snapshot, loaded) = load(&self.runtime, &self.manifest_path, &mut current)?;
        self.snapshot.store(Arc::new(snapshot));
        Ok(loaded)
    }

    /// The snapshot the request path reads.
    pub fn snapshot(&self) -> &SharedSnapshot {
        &self.snapshot
    }

    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The files whose change means a new version of the app: the manifest and every module.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let current = self
            .current
            .lock()
            .expect("control state lock is never poisoned");
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

    pub fn current_spec(&self) -> Option<AppSpec> {
        let current = self
            .current
            .lock()
            .expect("control state lock is never poisoned");
        current.spec.clone()
    }
}

fn load(
    runtime: &Runtime,
    manifest_path: &Path,
    current: &mut Current,
) -> Result<(AppSnapshot, Loaded), LoadAppError> {
    let start = Instant::now();
    let text =
        std::fs::read_to_string(manifest_path).map_err(|source| LoadAppError::ReadManifest {
            path: manifest_path.to_owned(),
            source,
        })?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let file_name = manifest_path.display().to_string();
    let spec = manifest::parse(&text, &file_name, dir)?;

    let mut loaded_functions = HashMap::new();
    let mut by_name = HashMap::new();
    let mut n_functions_compiled = 0;
    for function in spec.functions.values() {
        let (key, loaded, compiled) = load_function(runtime, function, &current.functions)?;
        n_functions_compiled += usize::from(compiled);
        by_name.insert(function.name.clone(), loaded.clone());
        loaded_functions.insert(key, loaded);
    }
    let routes = spec
        .routes
        .iter()
        .map(|route| {
            let function = by_name
                .get(&route.function)
                .expect("the manifest checks that routes name declared functions")
                .clone();
            (route.key.clone(), route.key_text.clone(), function)
        })
        .collect();
    let snapshot = AppSnapshot {
        routes: RouteTable::new(routes),
        functions: by_name,
        request_body_bytes_max: usize::try_from(spec.limits.request_body_bytes_max)
            .unwrap_or(usize::MAX),
        billing_granularity_ms: spec.billing.granularity_ms,
    };
    current.functions = loaded_functions;
    current.spec = Some(spec.clone());
    let loaded = Loaded {
        spec,
        n_functions_compiled,
        duration: start.elapsed(),
    };
    Ok((snapshot, loaded))
}

/// Loads one function, or reuses the already loaded one when nothing that goes into it changed.
fn load_function(
    runtime: &Runtime,
    function: &FunctionSpec,
    loaded: &HashMap<[u8; 32], Function>,
) -> Result<([u8; 32], Function, bool), LoadAppError> {
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
        .load(&config, &wasm)
        .map_err(|source| LoadAppError::Module {
            function: function.name.clone(),
            path: path.clone(),
            source,
        })?;
    Ok((key, new, true))
}

fn load_key(config: &FunctionConfig, wasm: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(wasm);
    // Debug output of the config covers every field, so any change makes a new key.
    hasher.update(format!("{config:?}").as_bytes());
    hasher.finalize().into()
}
