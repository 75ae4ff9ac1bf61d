//! The end-to-end suite: runs the `rondo` binary over loopback and drives it like a user,
//! with real HTTP clients, real files and real signals.

mod dev;
mod gateway;
mod invoke;
mod isolation;
mod reload;
mod support;
