//! Dev mode: reload the app when its manifest or a function's code changes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use runtime::Tier;

use crate::loader::{Control, LoadAppError, Loaded, is_generated};

/// Changes arriving this close together are one change (an editor or a build writes in bursts).
const DEBOUNCE_MS: u64 = 10;

/// Events the watcher sends so far: an event-channel overflow only delays a reload.
const EVENTS_QUEUED_MAX: usize = 1024;

/// What a reload attempt came to.
pub enum ReloadEvent {
    Reloaded(Box<Loaded>),
    /// The functions that were running baseline code now run optimized code.
    Optimized(Box<Loaded>),
    /// The new version was refused; the previous one keeps serving.
    Failed(LoadAppError),
    /// The file watcher itself failed; reloading has stopped.
    WatcherFailed(notify::Error),
}

/// The app's files, watched. Created before the app is served, so that no change made after
/// `rondo dev` announced itself can be missed.
pub struct AppWatcher {
    control: Arc<Control>,
    watcher: notify::RecommendedWatcher,
    receiver: mpsc::Receiver<PathBuf>,
    watched_dirs: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
    /// Process functions' code folders, watched recursively.
    code_dirs: HashSet<PathBuf>,
}

impl AppWatcher {
    /// Starts watching the folders of the app's files now.
    pub fn start(control: Arc<Control>) -> notify::Result<AppWatcher> {
        let (sender, receiver) = mpsc::channel::<PathBuf>(EVENTS_QUEUED_MAX);
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && is_change(&event.kind)
            {
                for path in event.paths {
                    // A full queue already holds a pending reload; dropping this path loses nothing.
                    let _ = sender.try_send(path);
                }
            }
        };
        let watcher = notify::recommended_watcher(handler)?;
        let mut app_watcher = AppWatcher {
            control,
            watcher,
            receiver,
            watched_dirs: HashSet::new(),
            files: HashSet::new(),
            code_dirs: HashSet::new(),
        };
        app_watcher.rewatch()?;
        Ok(app_watcher)
    }

    /// Reloads on every change until the future is dropped, reporting every attempt to `report`.
    /// Dropping the future also aborts the upgrades still under way: nothing reports after it.
    pub async fn run(mut self, report: impl Fn(ReloadEvent) + Send + Sync + 'static) {
        let control = Arc::clone(&self.control);
        let report = Arc::new(report);
        // The upgrades to optimized code, owned here so that they end with the watcher.
        let mut upgrades = JoinSet::new();
        while let Some(path) = self.receiver.recv().await {
            reap_upgrades(&mut upgrades);
            let mut relevant = self.is_relevant(&path);
            // Collect the rest of the burst.
            let quiet = Duration::from_millis(DEBOUNCE_MS);
            while let Ok(Some(path)) = tokio::time::timeout(quiet, self.receiver.recv()).await {
                relevant |= self.is_relevant(&path);
            }
            if !relevant {
                continue;
            }
            reload(&control, &report, &mut upgrades).await;
            if let Err(error) = self.rewatch() {
                return report(ReloadEvent::WatcherFailed(error));
            }
        }
    }

    /// Watches the folders holding the app's files (folders, not files: tools often replace a
    /// file by renaming a new one over it, which a watch on the old file would miss).
    fn rewatch(&mut self) -> notify::Result<()> {
        self.files.clear();
        for file in self.control.watched_files() {
            let file = absolute(file);
            if let Some(dir) = file.parent()
                && self.watched_dirs.insert(dir.to_owned())
            {
                self.watcher.watch(dir, RecursiveMode::NonRecursive)?;
            }
            self.files.insert(file);
        }
        let code_dirs: HashSet<PathBuf> = self
            .control
            .watched_code_dirs()
            .into_iter()
            .map(absolute)
            .collect();
        for dir in code_dirs.difference(&self.code_dirs) {
            self.watcher.watch(dir, RecursiveMode::Recursive)?;
        }
        for dir in self.code_dirs.difference(&code_dirs) {
            // A folder that is gone cannot be unwatched; nothing is lost either way.
            let _ = self.watcher.unwatch(dir);
        }
        self.code_dirs = code_dirs;
        Ok(())
    }

    fn is_relevant(&self, path: &Path) -> bool {
        self.files.contains(path)
            || self.code_dirs.iter().any(|dir| {
                path.strip_prefix(dir)
                    .is_ok_and(|inside| !inside.iter().any(|part| is_generated(Path::new(part))))
            })
    }
}

/// Reading a file (as every reload does) raises access events, and metadata changes carry no
/// new content; a close after writing is a change (the surest sign a write is complete).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(access) => *access == AccessKind::Close(AccessMode::Write),
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
    }
}

/// Changed code serves first as baseline code (compiled in a fraction of the time), then as
/// optimized code as soon as that is compiled. The upgrade runs beside the watcher (a task in
/// `upgrades`), so the next change is picked up without waiting for it. A newer reload does not
/// cancel an older upgrade: its compile cannot be stopped, and it only replaces code still
/// pending, so what it reports is true.
async fn reload(
    control: &Arc<Control>,
    report: &Arc<impl Fn(ReloadEvent) + Send + Sync + 'static>,
    upgrades: &mut JoinSet<()>,
) {
    let reloaded = blocking(control, |control| control.reload(Tier::Baseline)).await;
    let needs_upgrade = matches!(&reloaded, Ok(loaded) if loaded.n_functions_baseline > 0);
    report(match reloaded {
        Ok(loaded) => ReloadEvent::Reloaded(Box::new(loaded)),
        Err(error) => ReloadEvent::Failed(error),
    });
    if needs_upgrade {
        let (control, report) = (Arc::clone(control), Arc::clone(report));
        upgrades.spawn(async move {
            match blocking(&control, Control::upgrade).await {
                Ok(Some(loaded)) => report(ReloadEvent::Optimized(Box::new(loaded))),
                Ok(None) => {}
                Err(error) => report(ReloadEvent::Failed(error)),
            }
        });
    }
}

/// Forgets the upgrades that have ended; a panic in one is the watcher's.
fn reap_upgrades(upgrades: &mut JoinSet<()>) {
    while let Some(ended) = upgrades.try_join_next() {
        if let Err(join_error) = ended
            && join_error.is_panic()
        {
            std::panic::resume_unwind(join_error.into_panic());
        }
    }
}

/// Runs a control-plane step on a blocking thread (it compiles) and returns its result.
async fn blocking<T: Send + 'static>(
    control: &Arc<Control>,
    step: impl FnOnce(&Control) -> T + Send + 'static,
) -> T {
    let control = Arc::clone(control);
    // Owner: the caller, which awaits it. The step cannot be interrupted: a caller dropped
    // meanwhile (the watcher stopped) leaves it to finish on its own, its result unreported.
    match tokio::task::spawn_blocking(move || step(&control)).await {
        Ok(result) => result,
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}
