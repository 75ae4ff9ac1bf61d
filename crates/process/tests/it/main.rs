//! The process crate's integration tests: real execution environments on loopback.

mod load;
mod provided;
mod python;
mod sandbox;
mod support;
