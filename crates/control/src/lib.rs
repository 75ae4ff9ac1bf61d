//! The control plane: turns a manifest into a running app and keeps it current.
//!
//! [`Control`] reads `rondo.toml`, loads each function's code through the runtime, builds an
//! immutable [`app::AppSnapshot`] and swaps it in atomically. Functions whose code and
//! configuration did not change are carried over as they are (no recompilation). In dev mode a
//! watcher reloads the app when the manifest or a function's code changes; a broken change is
//! reported and the previous version keeps serving.
//!
//! Invariant: only this crate replaces the snapshot the request path reads.

mod functions_tables;
mod loader;
mod watch;

pub use functions_tables::FunctionTables;
pub use loader::{Control, Engines, LoadAppError, Loaded};
pub use watch::{AppWatcher, ReloadEvent};
