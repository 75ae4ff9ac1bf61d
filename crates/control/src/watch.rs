//! Dev mode: reload the app when its manifest or a function's code changes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::loader::{Control, LoadAppError, Loaded};

/// Changes arriving this close together are one change (an editor or a build writes in bursts).
const DEBOUNCE_MS: u64 = 10;

/// Events the watcher sends so far: an event-channel overflow only delays a reload.
const EVENTS_QUEUED_MAX: usize = 1024;

/// What a reload attempt came to.
pub enum ReloadEvent {
    Reloaded(Box<Loaded>),
    /// The new version was refused; the previous one keeps serving.
    Failed(LoadAppError),
    /// The file watcher itself failed; reloading has stopped.
    WatcherFailed(notify::Error),
}

/// Watches the app's files until the returned future is dropped, reloading on change and
/// reporting every attempt to `report`.
pub async fn watch(control: Arc<Control>, report: impl Fn(ReloadEvent) + Send + 'static) {
    let (sender, mut receiver) = mpsc::channel::<PathBuf>(EVENTS_QUEUED_MAX);
    let handler = move |event: notify::Result<notify::Event>| {
        // Reading a file (as every reload does) raises access events, and metadata changes carry
        // no new content; a close after writing is a change (the surest sign a write is complete).
        let is_change = |kind: &EventKind| match kind {
            EventKind::Access(access) => *access == AccessKind::Close(AccessMode::Write),
            EventKind::Modify(ModifyKind::Metadata(_)) => false,
            _ => true,
        };
        if let Ok(event) = event
            && is_change(&event.kind)
        {
            for path in event.paths {
                // A full queue already holds a pending reload; dropping this path loses nothing.
                let _ = sender.try_send(path);
            }
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => return report(ReloadEvent::WatcherFailed(error)),
    };
    let mut watched_dirs = HashSet::new();
    let mut files = HashSet::new();
    if let Err(error) = rewatch(&control, &mut watcher, &mut watched_dirs, &mut files) {
        return report(ReloadEvent::WatcherFailed(error));
    }
    while let Some(path) = receiver.recv().await {
        let mut relevant = files.contains(&path);
        // Collect the rest of the burst.
        let quiet = Duration::from_millis(DEBOUNCE_MS);
        while let Ok(Some(path)) = tokio::time::timeout(quiet, receiver.recv()).await {
            relevant |= files.contains(&path);
        }
        if !relevant {
            continue;
        }
        let control_for_load = Arc::clone(&control);
        let result = tokio::task::spawn_blocking(move || control_for_load.reload()).await;
        let event = match result {
            Ok(Ok(loaded)) => ReloadEvent::Reloaded(Box::new(loaded)),
            Ok(Err(error)) => ReloadEvent::Failed(error),
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        };
        report(event);
        if let Err(error) = rewatch(&control, &mut watcher, &mut watched_dirs, &mut files) {
            return report(ReloadEvent::WatcherFailed(error));
        }
    }
}

/// Watches the folders holding the app's files (folders, not files: tools often replace a file
/// by renaming a new one over it, which a watch on the old file would miss).
fn rewatch(
    control: &Control,
    watcher: &mut impl Watcher,
    watched_dirs: &mut HashSet<PathBuf>,
    files: &mut HashSet<PathBuf>,
) -> notify::Result<()> {
    files.clear();
    for file in control.watched_files() {
        let file = absolute(file);
        if let Some(dir) = file.parent()
            && watched_dirs.insert(dir.to_owned())
        {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
        files.insert(file);
    }
    Ok(())
}

fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}
