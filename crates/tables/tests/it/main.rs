//! The tables crate through its public API, on a store in a temporary folder.

mod corrupt;
mod support;
