//! `cargo xtask fuzz [--seconds N] [--target NAME]`: builds rondo's libFuzzer targets (`fuzz/`,
//! one cargo-fuzz workspace, one build for all of them), then runs each for N seconds of fuzzing,
//! or only the target NAME, and prints per target the inputs run per second and the coverage
//! libFuzzer reached (`cov:`, edges; `ft:`, features). Fails when any target found an input that
//! panics or hangs; libFuzzer saves it under `fuzz/artifacts/<target>/`.
//!
//! The targets are built without a sanitizer, and then cargo-fuzz passes rustc only stable flags
//! (`-Cpasses=sancov-module` and `-Cllvm-args` for libFuzzer's coverage), so the stable toolchain
//! builds them as they are. When no cargo-fuzz is found, it is installed under `<temp>/rondo-tools`.
//! The build goes to `target/fuzz` (its flags differ from the workspace's, so it cannot share
//! `target/debug`), with the root `Cargo.lock` copied into `fuzz/` first. Each target's libFuzzer
//! output goes to `target/fuzz/logs/<target>.log`.
//!
//! What the build instruments: cargo-fuzz puts libFuzzer's coverage flags in `RUSTFLAGS`, so
//! every crate would get them, wasmtime and Cranelift included, which the gateway links but no
//! target exercises. The two targets that load a wasm function then ran 5 to 10 times slower
//! (libFuzzer scans every counter after each input) and reported wasmtime's start-up as their
//! coverage (87,000 edges instead of 8,000), so the build runs rustc through this program as
//! `RUSTC_WRAPPER`
//! ([`rustc_wrapper`]), which takes the coverage flags (and the single codegen unit that goes
//! with them) off every dependency except rondo's own crates and the parsers they hand outside
//! bytes to ([`INSTRUMENTED_DEPENDENCIES`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// How long libFuzzer runs each target when `--seconds` is not given.
const SECONDS_DEFAULT: u64 = 60;

/// The cargo-fuzz release installed when none is found.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// One input running longer than this counts as a hang, which libFuzzer reports like a crash.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// Set in the fuzz build's environment: xtask's binary then runs as cargo's `RUSTC_WRAPPER`.
pub(crate) const RUSTC_WRAPPER_VARIABLE: &str = "RONDO_FUZZ_RUSTC_WRAPPER";

/// The crates from crates.io that keep libFuzzer's instrumentation: the parsers rondo hands
/// outside bytes to (JSON, TOML, HTTP heads, WebSocket frames, base64, dates). rondo's own crates
/// (path dependencies) always keep it; every other dependency is built without it.
const INSTRUMENTED_DEPENDENCIES: &[&str] = &[
    "base64",
    "form_urlencoded",
    "http",
    "percent_encoding",
    "serde_json",
    "time",
    "toml",
    "toml_datetime",
    "toml_parser",
    "tungstenite",
];

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug, PartialEq, Eq)]
struct Settings {
    seconds: u64,
    /// Only this target; all of them when `None`.
    target: Option<String>,
}

/// What one target's run reached, read from libFuzzer's output.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stats {
    /// `stat::number_of_executed_units`.
    runs: Option<u64>,
    /// `stat::average_exec_per_sec`.
    execs_per_second: Option<u64>,
    /// `cov:` of the last status line: coverage edges.
    cov: Option<u64>,
    /// `ft:` of the last status line: coverage features.
    ft: Option<u64>,
    /// `corp:` of the last status line: inputs in the corpus.
    corpus: Option<u64>,
}

/// Builds the targets, runs them; fails when one of them found an input that panics or hangs.
pub(crate) fn fuzz(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let settings = parse_args(args)?;
    let fuzz_dir = root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    let targets = match &settings.target {
        Some(target) if all.contains(target) => vec![target.clone()],
        Some(target) => bail!("no fuzz target `{target}`; the targets: {}", all.join(", ")),
        None => all,
    };
    let cargo_fuzz = cargo_fuzz()?;
    let target_dir = root.join("target").join("fuzz");

    let started = Instant::now();
    build(&cargo_fuzz, root, &fuzz_dir, &target_dir)?;
    let build_s = started.elapsed().as_secs_f64();
    println!("built the fuzz targets in {build_s:.0} s");

    let binaries = target_dir.join(host_triple()?).join("release");
    let logs = target_dir.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut results = Vec::new();
    for target in &targets {
        let outcome = run_target(&binaries, &fuzz_dir, &logs, target, settings.seconds)?;
        results.push((target.as_str(), outcome));
    }

    println!();
    println!(
        "{:<22} {:>10} {:>9} {:>7} {:>7} {:>7}  result",
        "target", "runs", "execs/s", "cov", "ft", "corpus"
    );
    for (target, (stats, failed)) in &results {
        let show = |value: Option<u64>| value.map_or_else(|| "?".to_owned(), |v| v.to_string());
        println!(
            "{target:<22} {:>10} {:>9} {:>7} {:>7} {:>7}  {}",
            show(stats.runs),
            show(stats.execs_per_second),
            show(stats.cov),
            show(stats.ft),
            show(stats.corpus),
            if *failed { "FAILED" } else { "ok" }
        );
    }
    println!(
        "{} target(s), {} s each, {:.0} s in all with the build",
        results.len(),
        settings.seconds,
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, (_, failed))| *failed)
        .map(|(target, _)| *target)
        .collect();
    if !failed.is_empty() {
        bail!(
            "fuzz target(s) failed: {}; libFuzzer saved the inputs under {} (logs: {})",
            failed.join(", "),
            fuzz_dir.join("artifacts").display(),
            logs.display()
        );
    }
    println!("no panic or hang");
    Ok(())
}

fn parse_args(args: &[&str]) -> anyhow::Result<Settings> {
    const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--target NAME]";
    let mut settings = Settings {
        seconds: SECONDS_DEFAULT,
        target: None,
    };
    let mut rest = args;
    loop {
        match rest {
            [] => return Ok(settings),
            ["--seconds", seconds, tail @ ..] => {
                settings.seconds = match seconds.parse::<u64>() {
                    Ok(seconds) if seconds > 0 => seconds,
                    _ => {
                        bail!("--seconds takes a whole number of seconds above 0, not `{seconds}`")
                    }
                };
                rest = tail;
            }
            ["--target", target, tail @ ..] => {
                settings.target = Some((*target).to_owned());
                rest = tail;
            }
            _ => bail!(USAGE),
        }
    }
}

/// The targets: one per file of `fuzz/fuzz_targets/`, by name.
fn targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|extension| extension == "rs")
            && let Some(stem) = path.file_stem()
        {
            targets.push(stem.to_string_lossy().into_owned());
        }
    }
    targets.sort();
    Ok(targets)
}

/// One build of every target.
fn build(cargo_fuzz: &Path, root: &Path, fuzz_dir: &Path, target_dir: &Path) -> anyhow::Result<()> {
    // The targets are built with the versions the product is built with: the root lockfile,
    // copied (gitignored in fuzz/); cargo adds what only the fuzz workspace uses (libFuzzer's
    // crates) and drops what it does not.
    let lockfile = fuzz_dir.join("Cargo.lock");
    std::fs::copy(root.join("Cargo.lock"), &lockfile)
        .with_context(|| format!("copying the root Cargo.lock to {}", lockfile.display()))?;
    let mut command = Command::new(cargo_fuzz);
    command
        .current_dir(fuzz_dir)
        // No sanitizer: the code under test forbids `unsafe`, so AddressSanitizer (which also
        // needs nightly's `-Zsanitizer`) would only slow it down; a panic is what this looks
        // for, and libFuzzer catches those by itself.
        .args(["build", "--sanitizer", "none", "--target-dir"])
        .arg(target_dir)
        .env("RUSTC_WRAPPER", wrapper(target_dir)?)
        .env(RUSTC_WRAPPER_VARIABLE, "1");
    println!(
        "building the fuzz targets ({} build in {})",
        cargo_fuzz.display(),
        fuzz_dir.display()
    );
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Runs one target for `seconds`; its stats, and whether it failed.
fn run_target(
    binaries: &Path,
    fuzz_dir: &Path,
    logs: &Path,
    target: &str,
    seconds: u64,
) -> anyhow::Result<(Stats, bool)> {
    // libFuzzer adds the inputs it finds interesting to its first corpus folder: a working
    // folder, kept between runs so that each run starts where the last one stopped, while the
    // committed seeds stay as they are.
    let work = std::env::temp_dir()
        .join("rondo-fuzz")
        .join("corpus")
        .join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for dir in [&work, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;

    let mut command = Command::new(binaries.join(target));
    command.arg(&work);
    let seeds = fuzz_dir.join("corpus").join(target);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1");
    let dict = fuzz_dir.join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        command.arg(format!("-dict={}", dict.display()));
    }
    command
        .stdout(log.try_clone().context("sharing the log file")?)
        .stderr(log);
    println!(
        "fuzzing {target} for {seconds} s (log: {})",
        log_path.display()
    );
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    let output = std::fs::read_to_string(&log_path)
        .with_context(|| format!("reading {}", log_path.display()))?;
    let failed = !status.success();
    if failed {
        // The panic and the input that caused it are near the end.
        let lines: Vec<&str> = output.lines().collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        println!("{target} failed ({status}):\n{}", tail.join("\n"));
    }
    Ok((stats(&output), failed))
}

/// A copy of this program for cargo to run as `RUSTC_WRAPPER` (a copy, so that a rebuild of
/// xtask while the fuzz build runs cannot pull it away).
fn wrapper(target_dir: &Path) -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe().context("finding xtask's own binary")?;
    std::fs::create_dir_all(target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;
    let copy = target_dir.join("rustc-wrapper");
    std::fs::copy(&this, &copy).with_context(|| format!("copying xtask to {}", copy.display()))?;
    Ok(copy)
}

/// Runs rustc as cargo asked (`args`: rustc's path, then its arguments), without libFuzzer's
/// instrumentation unless the crate is one of rondo's or in [`INSTRUMENTED_DEPENDENCIES`].
/// Exits with rustc's status.
pub(crate) fn rustc_wrapper(args: &[String]) -> anyhow::Result<()> {
    let (rustc, args) = args
        .split_first()
        .context("run as RUSTC_WRAPPER without a rustc to run")?;
    let args = rustc_args(args);
    let status = Command::new(rustc)
        .args(&args)
        .status()
        .with_context(|| format!("running {rustc}"))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// `args` as rustc gets them: unchanged for an instrumented crate, without the coverage flags
/// and the single codegen unit for the others.
fn rustc_args(args: &[String]) -> Vec<&str> {
    let crate_name = args
        .iter()
        .position(|arg| arg == "--crate-name")
        .and_then(|idx| args.get(idx + 1))
        .map(String::as_str);
    // A crate from a registry or a git checkout is a dependency; a path crate is rondo's.
    let from_elsewhere = args.iter().any(|arg| {
        !arg.starts_with('-')
            && arg.ends_with(".rs")
            && (arg.contains("/registry/src/") || arg.contains("/git/checkouts/"))
    });
    let instrumented =
        !from_elsewhere || crate_name.is_some_and(|name| INSTRUMENTED_DEPENDENCIES.contains(&name));
    let coverage_flag = |arg: &str| {
        arg == "-Cpasses=sancov-module"
            || arg == "-Ccodegen-units=1"
            || arg.starts_with("-Cllvm-args=-sanitizer-coverage")
            || arg == "-Cllvm-args=-simplifycfg-branch-fold-threshold=0"
    };
    args.iter()
        .map(String::as_str)
        .filter(|arg| instrumented || !coverage_flag(arg))
        .collect()
}

/// Reads libFuzzer's final stats and the last status line (`#N ... cov: C ft: F corp: K/…`).
fn stats(output: &str) -> Stats {
    let mut stats = Stats::default();
    for line in output.lines() {
        if let Some(value) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.runs = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("stat::average_exec_per_sec:") {
            stats.execs_per_second = value.trim().parse().ok();
        } else if line.starts_with('#') {
            let mut words = line.split_whitespace();
            while let Some(word) = words.next() {
                let field = match word {
                    "cov:" => &mut stats.cov,
                    "ft:" => &mut stats.ft,
                    "corp:" => &mut stats.corpus,
                    _ => continue,
                };
                // `corp: 12/3456b`: the count before the slash.
                let value = words.next().and_then(|v| v.split('/').next());
                if let Some(value) = value.and_then(|v| v.parse().ok()) {
                    *field = Some(value);
                }
            }
        }
    }
    stats
}

/// The host's target triple (`rustc -vV`), under which cargo-fuzz puts the binaries.
fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
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
    fn seconds_and_target_flags() {
        let settings = |seconds, target: Option<&str>| Settings {
            seconds,
            target: target.map(str::to_owned),
        };
        assert_eq!(parse_args(&[]).ok(), Some(settings(SECONDS_DEFAULT, None)));
        assert_eq!(
            parse_args(&["--seconds", "5"]).ok(),
            Some(settings(5, None))
        );
        assert_eq!(
            parse_args(&["--target", "sigv4", "--seconds", "3"]).ok(),
            Some(settings(3, Some("sigv4")))
        );
        assert!(parse_args(&["--seconds", "0"]).is_err());
        assert!(parse_args(&["--seconds", "x"]).is_err());
        assert!(parse_args(&["--seconds"]).is_err());
        assert!(parse_args(&["--target"]).is_err());
        assert!(parse_args(&["5"]).is_err());
    }

    #[test]
    fn only_rondos_crates_and_its_parsers_keep_the_instrumentation() {
        let args = |name: &str, source: &str| -> Vec<String> {
            [
                "--crate-name",
                name,
                "--edition=2024",
                source,
                "-Cpasses=sancov-module",
                "-Cllvm-args=-sanitizer-coverage-level=4",
                "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
                "--cfg",
                "fuzzing",
                "-Ccodegen-units=1",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let registry = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
        let rondo = args("items", "crates/items/src/lib.rs");
        assert_eq!(rustc_args(&rondo).len(), rondo.len());
        let parser = args(
            "serde_json",
            &format!("{registry}/serde_json-1.0/src/lib.rs"),
        );
        assert_eq!(rustc_args(&parser).len(), parser.len());
        let engine = args(
            "cranelift_codegen",
            &format!("{registry}/cranelift/src/lib.rs"),
        );
        assert_eq!(
            rustc_args(&engine),
            vec![
                "--crate-name",
                "cranelift_codegen",
                "--edition=2024",
                &format!("{registry}/cranelift/src/lib.rs"),
                "--cfg",
                "fuzzing"
            ]
        );
    }

    #[test]
    fn stats_from_libfuzzer_output() {
        let output = "\
INFO: Seed: 1234
#2\tINITED cov: 100 ft: 120 corp: 3/60b exec/s: 0 rss: 40Mb
#4096\tpulse  cov: 150 ft: 200 corp: 9/300b lim: 43 exec/s: 2048 rss: 41Mb
#9000\tDONE   cov: 160 ft: 230 corp: 11/340b lim: 43 exec/s: 3000 rss: 41Mb
Done 9000 runs in 3 second(s)
stat::number_of_executed_units: 9000
stat::average_exec_per_sec:     3000
stat::new_units_added:          8
";
        assert_eq!(
            stats(output),
            Stats {
                runs: Some(9000),
                execs_per_second: Some(3000),
                cov: Some(160),
                ft: Some(230),
                corpus: Some(11),
            }
        );
    }
}
