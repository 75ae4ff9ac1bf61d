use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::ensure;

use super::{LockEntry, TARGET, check, check_rebuild, format_lock, parse_lock};
use crate::repo_root;

/// Fails when a committed guest component is stale, so `cargo test` catches a guest whose sources
/// changed without `cargo xtask build-guests`, with no wasm toolchain installed.
#[test]
fn committed_guests_are_fresh() -> anyhow::Result<()> {
    check(&repo_root())
}

/// Rebuilds every guest into a scratch target folder and compares the bytes with the committed
/// components (`cargo xtask check-guests --rebuild` does the same). Run on purpose:
/// `cargo test -p xtask -- --ignored`; without the wasm target it fails and says so.
#[test]
#[ignore = "rebuilds every guest (a few minutes) and needs the wasm32-wasip2 target; run with `cargo test -p xtask -- --ignored`"]
fn committed_guests_match_a_rebuild() -> anyhow::Result<()> {
    ensure!(
        target_installed(),
        "the {TARGET} target is not installed: `rustup target add {TARGET}`"
    );
    check_rebuild(&repo_root())
}

#[test]
fn lock_round_trips() -> anyhow::Result<()> {
    let entry = |name: &str| LockEntry {
        output: format!("dir/{name}.wasm"),
        inputs_sha256: format!("{name}-inputs"),
        output_sha256: format!("{name}-output"),
    };
    let lock = BTreeMap::from([("a".to_owned(), entry("a")), ("b-c".to_owned(), entry("b"))]);
    assert_eq!(parse_lock(&format_lock(&lock))?, lock);
    Ok(())
}

#[test]
fn lock_errors_name_the_line() {
    let check_error = |text: &str, expect: &str| {
        let error = parse_lock(text).expect_err("the lock text is invalid");
        assert_eq!(format!("{error:#}"), expect);
    };
    check_error(
        "wasm = \"x\"\n",
        "line 1: `wasm = \"x\"` comes before any `[package]` header",
    );
    check_error(
        "[a]\nwasm: x\n",
        "line 2: expected `[package]` or `key = \"value\"`, found `wasm: x`",
    );
    check_error(
        "[a]\nwasm = x\n",
        "line 2: expected a quoted value, found `x`",
    );
    check_error("[a]\nwasm = \"x\"\n", "[a] has no `inputs`");
}

/// Whether the wasm target's standard library is installed, so guests can be built here.
fn target_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let libdir = String::from_utf8_lossy(&output.stdout);
            Path::new(libdir.trim()).is_dir()
        }
        _ => false,
    }
}
