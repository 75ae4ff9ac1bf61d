//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! Each command is a module; `main` only parses the command line and dispatches.
//! To add a command, add a module, a `match` arm in `run`, and a line in `HELP`.

#![expect(
    clippy::print_stdout,
    reason = "xtask is a command-line tool: printing is its output"
)]

mod bench;
mod bench_cart;
mod bench_lambda;
mod bench_scaling;
mod bench_tables;
mod bench_triggers;
mod fuzz;
mod guests;
mod soak;

use std::path::{Path, PathBuf};

use anyhow::bail;

const HELP: &str = "\
usage: cargo xtask <command>

commands:
  build-guests              build the wasm guests (needs `rustup target add wasm32-wasip2`),
                            copy them to their committed paths and record them in guests.lock
  check-guests [--rebuild]  check that the committed guests match their sources (guests.lock);
                            --rebuild also rebuilds them and compares the bytes
  bench cart [--quick]      the cart example end to end: add request -> pushed count at the
                            cart's WebSocket client (p50, p99) and adds/s at 1, 16 and 64
                            concurrent carts, next to a hyper + tungstenite server as the limit
  bench http [--quick]      rondo against `wasmtime serve` and plain hyper on the same wasi:http
                            hello component, plus a handler-world hello and the edit -> serving
                            latency of dev mode; peers are built under <temp>/rondo-bench
  bench lambda [--quick]    process functions (native lambda_runtime and Python) on rondo dev:
                            cold start against the language's own start-up, warm Invoke
                            overhead (p50, p99) and invocations/s at 1, 4 and 16 callers, next
                            to a plain hyper server as the HTTP limit
  bench scaling [--quick]   how rondo scales on one node: a burst of N concurrent invocations
                            from zero (wasm 100, 500, 1000; Python 20), a fast function's p99
                            next to a CPU-bound one (unlimited and reserved), and an app of
                            10,000 functions (load time, memory, first invocations)
  bench tables [--quick]    rondo's tables against dynalite (installed with npm under
                            <temp>/rondo-bench): PutItem, GetItem and Query at 1, 16 and 64
                            connections, with a Rust load generator
  bench triggers [--quick]  commit -> handler start latency through a stream trigger (p50, p99,
                            p99.9) and records/s through one and eight triggers, on rondo dev
  fuzz [--seconds N] [--target NAME]
                            build the libFuzzer targets (fuzz/: the decoders of outside bytes)
                            and run each, or only NAME, for N seconds (default 60); prints
                            execs/s and coverage per target, fails on a crash; installs
                            cargo-fuzz under <temp>/rondo-tools when it is missing
  soak --minutes N [--out DIR]
                            mixed load (gateway requests, WebSocket pushes, DynamoDB, stream
                            triggers, async Invoke) on the wasm cart and the Python cart for N
                            minutes; samples memory, fds, threads, tasks and p99, judges them flat
                            after warm-up, writes soak.csv and soak.svg to DIR (default
                            <temp>/rondo-soak/out), fails on growth, errors or a p99 drift
  help                      print this text
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(fuzz::RUSTC_WRAPPER_VARIABLE).is_some() {
        return fuzz::rustc_wrapper(&args);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&repo_root(), &args)
}

fn run(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    match args {
        ["build-guests"] => guests::build(root),
        ["check-guests"] => {
            guests::check(root)?;
            println!("guests are fresh");
            Ok(())
        }
        ["check-guests", "--rebuild"] => {
            guests::check(root)?;
            guests::check_rebuild(root)?;
            println!("guests are fresh and match a rebuild");
            Ok(())
        }
        ["bench", "cart"] => bench_cart::cart(root, false),
        ["bench", "cart", "--quick"] => bench_cart::cart(root, true),
        ["bench", "http"] => bench::http(root, false),
        ["bench", "http", "--quick"] => bench::http(root, true),
        ["bench", "lambda"] => bench_lambda::lambda(root, false),
        ["bench", "lambda", "--quick"] => bench_lambda::lambda(root, true),
        ["bench", "scaling"] => bench_scaling::scaling(root, false),
        ["bench", "scaling", "--quick"] => bench_scaling::scaling(root, true),
        ["bench", "tables"] => bench_tables::tables(root, false),
        ["bench", "tables", "--quick"] => bench_tables::tables(root, true),
        ["bench", "triggers"] => bench_triggers::triggers(root, false),
        ["bench", "triggers", "--quick"] => bench_triggers::triggers(root, true),
        ["fuzz", rest @ ..] => fuzz::fuzz(root, rest),
        ["soak", rest @ ..] => soak::soak(root, rest),
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            Ok(())
        }
        _ => bail!("unknown command line `{}`\n\n{HELP}", args.join(" ")),
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn repo_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask's manifest directory is inside the workspace root")
        .to_path_buf()
}
