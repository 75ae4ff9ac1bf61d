//! Log lines that belong to the current invocation.
//!
//! The platform prints them between the invocation's START and END lines, tagged with its request id.
//! Anything that implements [`Display`] is a message, so `format_args!` avoids a temporary `String`:
//!
//! ```no_run
//! # let n_items = 3;
//! rondo_sdk::log::info("cart updated");
//! rondo_sdk::log::warn(format_args!("{n_items} items are out of stock"));
//! ```
//!
//! Off wasm (host unit tests) the lines go to stderr.

use std::fmt::Display;

/// How severe a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Logs `message` at `level`.
pub fn log(level: Level, message: impl Display) {
    write(level, &message.to_string());
}

/// Logs `message` at [`Level::Trace`].
pub fn trace(message: impl Display) {
    log(Level::Trace, message);
}

/// Logs `message` at [`Level::Debug`].
pub fn debug(message: impl Display) {
    log(Level::Debug, message);
}

/// Logs `message` at [`Level::Info`].
pub fn info(message: impl Display) {
    log(Level::Info, message);
}

/// Logs `message` at [`Level::Warn`].
pub fn warn(message: impl Display) {
    log(Level::Warn, message);
}

/// Logs `message` at [`Level::Error`].
pub fn error(message: impl Display) {
    log(Level::Error, message);
}

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    use crate::bindings::rondo::function::log::{Level as WitLevel, log};

    let level = match level {
        Level::Trace => WitLevel::Trace,
        Level::Debug => WitLevel::Debug,
        Level::Info => WitLevel::Info,
        Level::Warn => WitLevel::Warn,
        Level::Error => WitLevel::Error,
    };
    log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
#[expect(
    clippy::print_stderr,
    reason = "host stand-in for the platform's log import"
)]
fn write(level: Level, message: &str) {
    eprintln!("{level:?} {message}");
}
