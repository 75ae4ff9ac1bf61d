//! Building the wasm guests and checking that the committed components are fresh.
//!
//! The guests' `.wasm` files are committed, so running the host's tests needs no wasm toolchain.
//! `guests.lock` (at the workspace root) records, for each guest, a sha256 over its inputs and the
//! sha256 of its component. `check` recomputes both and names any guest whose sources changed since
//! it was built, or whose committed component is not the one that was built.
//!
//! A guest's inputs are its own crate folder, the SDK and the WIT when it uses them, and the
//! guest-relevant parts of the root `Cargo.toml` (the `# guest` dependency block and
//! `[profile.guest]`). `Cargo.lock` is deliberately left out: it changes with every host dependency.
//! A `cargo update` of a guest dependency is therefore caught only by `check-guests --rebuild`.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use sha2::{Digest, Sha256};

/// One wasm guest: how to build it and where its component is committed.
struct Guest {
    /// The cargo package, also the guest's name in `guests.lock` unless the guest is an example.
    package: &'static str,
    /// An example target of `package` (a `cdylib`) that is the guest instead of the package's
    /// library; its name is then the guest's name in `guests.lock`.
    example: Option<&'static str>,
    /// The file cargo writes to `<target>/wasm32-wasip2/guest/` (`examples/` for an example).
    artifact: &'static str,
    /// Where the component is committed, relative to the workspace root.
    output: &'static str,
    /// Folders whose files are the guest's inputs, relative to the workspace root.
    input_dirs: &'static [&'static str],
}

const GUESTS: &[Guest] = &[
    Guest {
        package: "hello",
        example: None,
        artifact: "hello.wasm",
        output: "examples/hello/hello.wasm",
        input_dirs: &["wit", "sdk/rust", "examples/hello/function"],
    },
    Guest {
        package: "add-to-cart",
        example: None,
        artifact: "add_to_cart.wasm",
        output: "examples/cart/add-to-cart.wasm",
        input_dirs: &[
            "wit",
            "sdk/rust",
            "examples/cart/shared",
            "examples/cart/functions/add-to-cart",
        ],
    },
    Guest {
        package: "display-cart",
        example: None,
        artifact: "display_cart.wasm",
        output: "examples/cart/display-cart.wasm",
        input_dirs: &[
            "wit",
            "sdk/rust",
            "examples/cart/shared",
            "examples/cart/functions/display-cart",
        ],
    },
    Guest {
        package: "cart-status",
        example: None,
        artifact: "cart_status.wasm",
        output: "examples/cart/cart-status.wasm",
        input_dirs: &[
            "wit",
            "sdk/rust",
            "examples/cart/shared",
            "examples/cart/functions/cart-status",
        ],
    },
    Guest {
        package: "test-handler",
        example: None,
        artifact: "test_handler.wasm",
        output: "test-programs/wasm/test_handler.wasm",
        input_dirs: &["wit", "sdk/rust", "test-programs/handler"],
    },
    Guest {
        package: "test-http",
        example: None,
        artifact: "test_http.wasm",
        output: "test-programs/wasm/test_http.wasm",
        input_dirs: &["test-programs/http"],
    },
    Guest {
        package: "test-tables",
        example: None,
        artifact: "test_tables.wasm",
        output: "test-programs/wasm/test_tables.wasm",
        input_dirs: &["wit", "sdk/rust", "test-programs/tables"],
    },
    Guest {
        package: "test-trigger",
        example: None,
        artifact: "test_trigger.wasm",
        output: "test-programs/wasm/test_trigger.wasm",
        input_dirs: &["wit", "sdk/rust", "test-programs/trigger"],
    },
    Guest {
        package: "test-trigger-bench",
        example: None,
        artifact: "test_trigger_bench.wasm",
        output: "test-programs/wasm/test_trigger_bench.wasm",
        input_dirs: &["wit", "sdk/rust", "test-programs/trigger-bench"],
    },
    Guest {
        package: "test-handler",
        example: Some("test-hostile"),
        artifact: "test_hostile.wasm",
        output: "test-programs/wasm/test_hostile.wasm",
        input_dirs: &["wit", "sdk/rust", "test-programs/handler"],
    },
];

impl Guest {
    /// The guest's name in `guests.lock`: its example's, or else its package's.
    fn name(&self) -> &'static str {
        self.example.unwrap_or(self.package)
    }
}

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";
const LOCK_FILE: &str = "guests.lock";
const REBUILD_HINT: &str = "rebuild with `cargo xtask build-guests` (needs `rustup target add wasm32-wasip2`), \
     then commit the .wasm files and guests.lock";

/// What `guests.lock` records about one guest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LockEntry {
    output: String,
    inputs_sha256: String,
    output_sha256: String,
}

/// Builds every guest, copies the components to their committed paths and rewrites `guests.lock`.
pub(crate) fn build(root: &Path) -> anyhow::Result<()> {
    let target_dir = root.join("target");
    let artifacts = cargo_build(root, &target_dir)?;
    let mut lock = BTreeMap::new();
    for (guest, artifact) in GUESTS.iter().zip(&artifacts) {
        let output = root.join(guest.output);
        if let Some(parent) = output.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::copy(artifact, &output)
            .with_context(|| format!("copying {} to {}", artifact.display(), output.display()))?;
        let entry = LockEntry {
            output: guest.output.to_owned(),
            inputs_sha256: inputs_sha256(root, guest)?,
            output_sha256: file_sha256(&output)?,
        };
        let n_bytes = fs::metadata(&output)
            .with_context(|| format!("reading {}", output.display()))?
            .len();
        println!(
            "{:<40} {:>9} bytes  sha256 {}",
            guest.output, n_bytes, entry.output_sha256
        );
        lock.insert(guest.name().to_owned(), entry);
    }
    let lock_path = root.join(LOCK_FILE);
    fs::write(&lock_path, format_lock(&lock))
        .with_context(|| format!("writing {}", lock_path.display()))?;
    println!("wrote {LOCK_FILE}");
    Ok(())
}

/// Fails, naming each stale guest, unless every committed component matches `guests.lock` and its
/// sources. Needs no wasm toolchain.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let lock_path = root.join(LOCK_FILE);
    let lock_text = fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}; {REBUILD_HINT}", lock_path.display()))?;
    let lock =
        parse_lock(&lock_text).with_context(|| format!("parsing {}", lock_path.display()))?;
    let mut problems = Vec::new();
    for guest in GUESTS {
        if let Some(problem) = check_guest(root, guest, lock.get(guest.name()))? {
            problems.push(format!("  - {}: {problem}", guest.name()));
        }
    }
    ensure!(
        problems.is_empty(),
        "stale guest components:\n{}\n{REBUILD_HINT}",
        problems.join("\n")
    );
    Ok(())
}

/// Rebuilds every guest into a scratch target directory and compares the bytes with the committed
/// components, which catches what `check` cannot: a changed toolchain or `Cargo.lock`.
pub(crate) fn check_rebuild(root: &Path) -> anyhow::Result<()> {
    let target_dir = root.join("target").join("guest-rebuild-check");
    let artifacts = cargo_build(root, &target_dir)?;
    let mut problems = Vec::new();
    for (guest, artifact) in GUESTS.iter().zip(&artifacts) {
        let rebuilt =
            fs::read(artifact).with_context(|| format!("reading {}", artifact.display()))?;
        let committed_path = root.join(guest.output);
        let committed = fs::read(&committed_path)
            .with_context(|| format!("reading {}", committed_path.display()))?;
        if rebuilt != committed {
            problems.push(format!(
                "  - {}: a rebuild differs from {}",
                guest.name(),
                guest.output
            ));
        }
    }
    ensure!(
        problems.is_empty(),
        "guest components do not match a rebuild:\n{}\n{REBUILD_HINT}",
        problems.join("\n")
    );
    Ok(())
}

fn check_guest(
    root: &Path,
    guest: &Guest,
    entry: Option<&LockEntry>,
) -> anyhow::Result<Option<String>> {
    let Some(entry) = entry else {
        return Ok(Some(format!("not recorded in {LOCK_FILE}")));
    };
    if entry.output != guest.output {
        return Ok(Some(format!(
            "{LOCK_FILE} records {}, expected {}",
            entry.output, guest.output
        )));
    }
    if inputs_sha256(root, guest)? != entry.inputs_sha256 {
        return Ok(Some(format!(
            "its sources changed since {} was built",
            guest.output
        )));
    }
    let output = root.join(guest.output);
    if !output.is_file() {
        return Ok(Some(format!("{} is missing", guest.output)));
    }
    if file_sha256(&output)? != entry.output_sha256 {
        return Ok(Some(format!(
            "{} is not the component {LOCK_FILE} records",
            guest.output
        )));
    }
    Ok(None)
}

/// Runs `cargo build` for every guest into `target_dir` and returns the artifacts in `GUESTS` order:
/// once for the libraries, once for the guests that are examples.
fn cargo_build(root: &Path, target_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let rustflags = encoded_rustflags(root)?;
    let mut libraries = cargo_build_command(root, target_dir, &rustflags);
    let mut examples = cargo_build_command(root, target_dir, &rustflags);
    for guest in GUESTS {
        match guest.example {
            None => libraries.args(["--package", guest.package]),
            Some(example) => examples.args(["--package", guest.package, "--example", example]),
        };
    }
    run_cargo_build(libraries)?;
    if GUESTS.iter().any(|guest| guest.example.is_some()) {
        run_cargo_build(examples)?;
    }
    let out_dir = target_dir.join(TARGET).join(PROFILE);
    Ok(GUESTS
        .iter()
        .map(|guest| match guest.example {
            None => out_dir.join(guest.artifact),
            Some(_) => out_dir.join("examples").join(guest.artifact),
        })
        .collect())
}

fn cargo_build_command(root: &Path, target_dir: &Path, rustflags: &str) -> Command {
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags);
    command
}

fn run_cargo_build(mut command: Command) -> anyhow::Result<()> {
    println!("building guests: {command:?}");
    let status = command.status().context("running cargo")?;
    ensure!(
        status.success(),
        "building the guests failed ({status}); is the target installed? `rustup target add {TARGET}`"
    );
    Ok(())
}

/// The guests' only rustflags: path remappings, so the components do not depend on where the
/// repository or the cargo home is (paths appear in panic messages). They replace any
/// `RUSTFLAGS` or `build.rustflags` of the environment, which would make builds differ.
fn encoded_rustflags(root: &Path) -> anyhow::Result<String> {
    let mut remaps = vec![format!("--remap-path-prefix={}=/rondo", root.display())];
    if let Some(cargo_home) = cargo_home() {
        let registry_src = cargo_home.join("registry").join("src");
        // One folder per registry (`index.crates.io-<hash>`); all map to one name.
        if let Ok(entries) = fs::read_dir(&registry_src) {
            let mut registries = Vec::new();
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {}", registry_src.display()))?;
                registries.push(entry.path());
            }
            registries.sort();
            for registry in registries {
                remaps.push(format!(
                    "--remap-path-prefix={}=/cargo/registry",
                    registry.display()
                ));
            }
        }
        let git_checkouts = cargo_home.join("git").join("checkouts");
        remaps.push(format!(
            "--remap-path-prefix={}=/cargo/git",
            git_checkouts.display()
        ));
    }
    Ok(remaps.join("\x1f"))
}

/// sha256 over the guest's inputs: each file's relative path and contents, in path order, after
/// the guest-relevant excerpt of the root `Cargo.toml`.
fn inputs_sha256(root: &Path, guest: &Guest) -> anyhow::Result<String> {
    let mut files = Vec::new();
    for dir in guest.input_dirs {
        collect_files(root, &root.join(dir), &mut files)?;
    }
    files.sort();
    files.dedup();
    let mut hasher = Sha256::new();
    hasher.update(b"rondo guest inputs v1\0");
    hash_entry(
        &mut hasher,
        "Cargo.toml (guest excerpt)",
        guest_manifest_excerpt(root)?.as_bytes(),
    );
    for relative in &files {
        let path = root.join(relative);
        let contents = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        // A checkout with CRLF line endings builds the same component, so it hashes the same.
        let contents = String::from_utf8(contents)
            .map(|text| text.replace("\r\n", "\n").into_bytes())
            .unwrap_or_else(|err| err.into_bytes());
        hash_entry(&mut hasher, relative, &contents);
    }
    Ok(hex(&hasher.finalize()))
}

fn hash_entry(hasher: &mut Sha256, name: &str, contents: &[u8]) {
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update((contents.len() as u64).to_le_bytes());
    hasher.update(contents);
}

/// Adds the files under `dir` to `files` as `/`-separated paths relative to `root`, skipping
/// `target` folders and `.wasm` files (build outputs, never inputs).
fn collect_files(root: &Path, dir: &Path, files: &mut Vec<String>) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .with_context(|| format!("inspecting {}", path.display()))?;
        let name = entry.file_name();
        if file_type.is_dir() {
            if name != "target" {
                collect_files(root, &path, files)?;
            }
            continue;
        }
        if path
            .extension()
            .is_some_and(|extension| extension == "wasm")
        {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .with_context(|| format!("{} is outside the workspace", path.display()))?;
        let components: Vec<String> = relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect();
        files.push(components.join("/"));
    }
    Ok(())
}

/// The parts of the root `Cargo.toml` that shape guest builds: `[profile.guest]` and the
/// dependency lines after the `# guest` comment in `[workspace.dependencies]`, without comments.
fn guest_manifest_excerpt(root: &Path) -> anyhow::Result<String> {
    let path = root.join("Cargo.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut excerpt = String::new();
    let mut table = "";
    let mut in_guest_block = false;
    let (mut found_profile, mut found_dependencies) = (false, false);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line;
            in_guest_block = false;
            continue;
        }
        if table == "[workspace.dependencies]" && line == "# guest" {
            in_guest_block = true;
            found_dependencies = true;
            continue;
        }
        let is_content = !line.is_empty() && !line.starts_with('#');
        if is_content && (in_guest_block || table == "[profile.guest]") {
            found_profile |= table == "[profile.guest]";
            let _ = writeln!(excerpt, "{table} {line}");
        }
    }
    ensure!(
        found_profile && found_dependencies,
        "{} needs a [profile.guest] table and a `# guest` block in [workspace.dependencies]: \
         xtask fingerprints guest builds with them",
        path.display()
    );
    Ok(excerpt)
}

fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

fn format_lock(lock: &BTreeMap<String, LockEntry>) -> String {
    let mut text = String::from(
        "# Generated by `cargo xtask build-guests`; checked by `cargo xtask check-guests` and `cargo test`.\n\
         # inputs: sha256 over the guest's sources (see xtask/src/guests.rs); output: sha256 of the component.\n",
    );
    for (package, entry) in lock {
        let _ = write!(
            text,
            "\n[{package}]\nwasm = \"{}\"\ninputs = \"{}\"\noutput = \"{}\"\n",
            entry.output, entry.inputs_sha256, entry.output_sha256
        );
    }
    text
}

/// Parses what `format_lock` writes: `[package]` headers and `key = "value"` lines.
fn parse_lock(text: &str) -> anyhow::Result<BTreeMap<String, LockEntry>> {
    let mut tables: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        let line = line.trim();
        let line_number = line_idx + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(package) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            tables.push((package.to_owned(), BTreeMap::new()));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {line_number}: expected `[package]` or `key = \"value\"`, found `{line}`");
        };
        let value = value.trim();
        let Some(value) = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        else {
            bail!("line {line_number}: expected a quoted value, found `{value}`");
        };
        let Some((_, fields)) = tables.last_mut() else {
            bail!("line {line_number}: `{line}` comes before any `[package]` header");
        };
        fields.insert(key.trim().to_owned(), value.to_owned());
    }
    let mut lock = BTreeMap::new();
    for (package, mut fields) in tables {
        let mut take = |key: &str| {
            fields
                .remove(key)
                .with_context(|| format!("[{package}] has no `{key}`"))
        };
        let entry = LockEntry {
            output: take("wasm")?,
            inputs_sha256: take("inputs")?,
            output_sha256: take("output")?,
        };
        lock.insert(package, entry);
    }
    Ok(lock)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn cargo_home() -> Option<PathBuf> {
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(cargo_home));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo"))
}
