//! The end-to-end suite: runs the `rondo` binary over loopback and drives it like a user,
//! with real HTTP clients, real files and real signals.

mod async_invoke;
mod backup;
mod cart;
mod dev;
mod disk_full;
mod gateway;
mod invoke;
mod isolation;
mod kill_matrix;
mod lambda_api;
mod metering;
mod process;
mod reload;
mod sandbox;
mod scaling;
mod streams;
mod support;
mod tables;
mod tables_auth;
mod tables_batch;
mod tables_crash;
mod tables_errors;
mod tables_items;
mod tables_query;
mod tables_wasm;
mod triggers;
mod triggers_crash;
mod websocket;
