//! The app manifest: `rondo.toml` text in, a validated and normalised [`AppSpec`] out.
//!
//! Parsing goes in three steps, each in its own module.
//! `raw` reads the TOML into serde shapes, one section at a time, so one bad entry does not hide the next.
//! `lower` validates those shapes, checks the references between sections, applies defaults and resolves paths.
//! `error` collects every problem as a `file:line:column: message` diagnostic, in file order.
//!
//! Anything declared that rondo does not act on yet is either refused (a declaration that would make
//! events never fire or be dropped: schedules, queue triggers, queue destinations, an outbound-host
//! list on a process function) or loads with a warning in [`AppSpec::warnings`] (a `[queue.NAME]`,
//! `limits.response_bytes_max`); nothing is ignored silently.
//!
//! The crate does no IO: the caller reads the file and says where it lives.

mod check;
mod error;
mod limits;
mod lower;
mod raw;
mod route;
mod spec;

use std::path::Path;

pub use error::{Diagnostic, ManifestError};
pub use route::*;
pub use spec::*;

use error::Sink;

/// Parses, validates and normalises the text of a `rondo.toml`.
///
/// `file_name` is what diagnostics print (e.g. `rondo.toml` or a path).
/// `dir` is the folder holding the manifest: relative paths are joined to it, without touching the filesystem.
/// On failure every problem found is reported, not just the first.
/// On success, [`AppSpec::warnings`] lists what is declared but not acted on yet, for the caller to show.
pub fn parse(text: &str, file_name: &str, dir: &Path) -> Result<AppSpec, ManifestError> {
    let mut sink = Sink::new(text);
    let spec = raw::read(text, &mut sink).map(|manifest| lower::lower(manifest, dir, &mut sink));
    let warnings = sink.finish(file_name)?;
    let mut spec = spec.expect("a manifest that could not be read has reported why");
    spec.warnings = warnings;
    Ok(spec)
}
