//! What rondo's fuzz targets share: how a target reads an HTTP request out of its input
//! ([`request`]), and the fixtures some targets need, built once per process ([`fixtures`]).
//!
//! The targets (`fuzz_targets/*.rs`) stay thin glue: they read their input, call one decoder
//! through its public API, and check what they can of the answer. `cargo xtask fuzz` runs them.

pub mod fixtures;
pub mod request;
