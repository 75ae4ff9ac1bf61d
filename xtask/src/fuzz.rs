//! `cargo xtask fuzz [--seconds N]`: runs the expression parser's libFuzzer target
//! (`crates/items/fuzz`, target `expressions`) for N seconds of fuzzing, after its build.
//!
//! The target is built without a sanitizer, and then cargo-fuzz passes rustc only stable flags
//! (`-Cpasses=sancov-module` and `-Cllvm-args` for libFuzzer's coverage), so the stable toolchain
//! builds it as it is. When no cargo-fuzz is found, it is installed under `<temp>/rondo-tools`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// How long libFuzzer runs when `--seconds` is not given.
const SECONDS_DEFAULT: u64 = 60;

/// The fuzz target's name (`crates/items/fuzz/fuzz_targets/expressions.rs`).
const TARGET: &str = "expressions";

/// The cargo-fuzz release installed when none is found.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// One input running longer than this counts as a hang, which libFuzzer reports like a crash.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// Runs the target; fails when libFuzzer finds an input that panics or hangs.
pub(crate) fn fuzz(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let seconds = parse_seconds(args)?;
    let cargo_fuzz = cargo_fuzz()?;
    let fuzz_dir = root.join("crates/items/fuzz");
    let seeds = fuzz_dir.join("corpus").join(TARGET);
    // libFuzzer adds the inputs it finds interesting to its first corpus folder: a working
    // folder, kept between runs so that each run starts where the last one stopped, while the
    // committed seeds stay as they are.
    let work = std::env::temp_dir().join("rondo-fuzz").join(TARGET);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;

    let mut command = Command::new(&cargo_fuzz);
    command
        .current_dir(&fuzz_dir)
        // No sanitizer: the code under test forbids `unsafe`, so AddressSanitizer (which also
        // needs nightly's `-Zsanitizer`) would only slow it down; a panic is what this looks
        // for, and libFuzzer catches those by itself.
        .args(["run", "--sanitizer", "none", TARGET])
        .arg(&work)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!(
            "-dict={}",
            fuzz_dir.join(format!("{TARGET}.dict")).display()
        ))
        .arg("-print_final_stats=1");
    println!(
        "fuzzing for {seconds} s ({} run in {}); corpus {} + {}",
        cargo_fuzz.display(),
        fuzz_dir.display(),
        seeds.display(),
        work.display()
    );
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!(
            "the fuzz target failed ({status}); libFuzzer saved the input that did it under {}",
            fuzz_dir.join("artifacts").join(TARGET).display()
        );
    }
    println!("no panic or hang in {seconds} s of fuzzing");
    Ok(())
}

fn parse_seconds(args: &[&str]) -> anyhow::Result<u64> {
    match args {
        [] => Ok(SECONDS_DEFAULT),
        ["--seconds", seconds] => match seconds.parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(seconds),
            _ => bail!("--seconds takes a whole number of seconds above 0, not `{seconds}`"),
        },
        _ => bail!("usage: cargo xtask fuzz [--seconds N]"),
    }
}

/// cargo-fuzz from PATH, or the one installed under `<temp>/rondo-tools`, installing it there
/// when neither is present.
fn cargo_fuzz() -> anyhow::Result<PathBuf> {
    let on_path = PathBuf::from("cargo-fuzz");
    if runs(&on_path) {
        return Ok(on_path);
    }
    let tools = std::env::temp_dir().join("rondo-tools");
    let installed = tools.join("bin").join("cargo-fuzz");
    if runs(&installed) {
        return Ok(installed);
    }
    println!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} under {} (cargo install --locked)...",
        tools.display()
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut install = Command::new(cargo);
    install
        .args(["install", "cargo-fuzz", "--locked", "--version"])
        .arg(format!("={CARGO_FUZZ_VERSION}"))
        .arg("--root")
        .arg(&tools);
    let status = install
        .status()
        .with_context(|| format!("running {install:?}"))?;
    if !status.success() {
        bail!("{install:?} failed with {status}");
    }
    Ok(installed)
}

/// Whether `program --version` runs and succeeds.
fn runs(program: &Path) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_default_and_flag() {
        assert_eq!(parse_seconds(&[]).ok(), Some(SECONDS_DEFAULT));
        assert_eq!(parse_seconds(&["--seconds", "5"]).ok(), Some(5));
        assert!(parse_seconds(&["--seconds", "0"]).is_err());
        assert!(parse_seconds(&["--seconds", "x"]).is_err());
        assert!(parse_seconds(&["--seconds"]).is_err());
        assert!(parse_seconds(&["5"]).is_err());
    }
}
