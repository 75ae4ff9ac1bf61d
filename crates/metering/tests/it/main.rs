//! The metering crate through its public API, on a store in a temporary folder.

mod admin;
mod ledger;
mod support;
