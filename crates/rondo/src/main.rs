//! `rondo`: a self-hostable serverless cloud in one binary.
//!
//! This crate is the only one that reads command-line arguments and environment variables and
//! prints to the terminal. Everything it does is wiring: the work is in the library crates.

mod backup;
mod cli;
mod client;
mod cost;
mod dev;
mod invoke;
mod printer;

use std::process::ExitCode;

use clap::Parser as _;

/// Each invocation allocates its store, WASI context and buffers anew: mimalloc's thread-local
/// free lists make that measurably cheaper than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    init_tracing();
    let result = match args.command {
        cli::Command::Dev(dev_args) => dev::run(dev_args),
        cli::Command::Invoke(invoke_args) => invoke::run(invoke_args),
        cli::Command::Cost(cost_args) => cost::run(cost_args),
        cli::Command::Backup(backup_args) => backup::run_backup(backup_args),
        cli::Command::Restore(restore_args) => backup::run_restore(restore_args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, the whole chain of causes, no backtrace.
            printer::error_line(&format!("error: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Internal diagnostics (not invocation logs) go to stderr, filtered by `RONDO_LOG` (default `warn`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RONDO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
