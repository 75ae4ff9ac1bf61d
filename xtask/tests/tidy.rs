//! Tidy checks on the structure of the tree: what ARCHITECTURE.md states about the crates'
//! dependencies is what their `Cargo.toml` files say.
//!
//! ARCHITECTURE.md's "Dependency direction" section holds one fenced block in which each line
//! names host crates (those of `crates/`, and `xtask`) and every internal crate it depends on:
//!
//! ```text
//! events → { app, manifest, patterns, runtime, store, tables }   (a comment)
//! runtime, store → { }
//! ```
//!
//! Text after the closing brace is a comment. Normal and build dependencies count; development
//! dependencies (tests, benches) may reach further.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Every host crate (those under `crates/`, and `xtask`), by package name, with its manifest.
fn host_crates(root: &Path) -> BTreeMap<String, toml::Table> {
    let mut crates = BTreeMap::new();
    let entries = std::fs::read_dir(root.join("crates")).expect("crates/ is readable");
    let folders = entries
        .map(|entry| entry.expect("crates/ is readable").path())
        .chain([root.join("xtask")]);
    for folder in folders {
        let path = folder.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let manifest: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = manifest["package"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no package name", path.display()))
            .to_owned();
        crates.insert(name, manifest);
    }
    crates
}

/// The dependencies of a manifest (normal and build) that are crates of the workspace.
fn internal_dependencies(
    manifest: &toml::Table,
    sections: &[&str],
    names: &BTreeSet<String>,
) -> BTreeSet<String> {
    sections
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(toml::Value::as_table))
        .flat_map(|table| table.keys())
        .filter(|name| names.contains(*name))
        .cloned()
        .collect()
}

/// The graph ARCHITECTURE.md states, by crate, each with the line it came from.
fn stated_graph(architecture: &str) -> BTreeMap<String, (BTreeSet<String>, String)> {
    let section = architecture
        .split("\n## Dependency direction")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"Dependency direction\" section");
    let block = section
        .split("```")
        .nth(1)
        .expect("the section holds a fenced block");
    let mut graph = BTreeMap::new();
    for line in block.lines().skip(1) {
        let Some((left, right)) = line.split_once('→') else {
            continue;
        };
        let crate_names: Vec<String> = left.split(',').map(|name| name.trim().to_owned()).collect();
        let Some(inner) = right
            .trim()
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
            .map(|(inner, _comment)| inner)
        else {
            // The guests' line (`test-programs, examples → sdk → wit`) is checked by
            // `guests_do_not_depend_on_host_crates`.
            continue;
        };
        let dependencies: BTreeSet<String> = inner
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        for crate_name in crate_names {
            let previous =
                graph.insert(crate_name.clone(), (dependencies.clone(), line.to_owned()));
            assert!(
                previous.is_none(),
                "ARCHITECTURE.md: {crate_name} has two lines in the dependency graph"
            );
        }
    }
    graph
}

#[test]
fn crate_dependencies_match_architecture() {
    let root = root();
    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let stated = stated_graph(&architecture);
    let crates = host_crates(&root);
    let names: BTreeSet<String> = crates.keys().cloned().collect();
    let mut problems = Vec::new();
    for (name, manifest) in &crates {
        let actual =
            internal_dependencies(manifest, &["dependencies", "build-dependencies"], &names);
        match stated.get(name) {
            None => problems.push(format!(
                "{name} is not in ARCHITECTURE.md's dependency graph; add `{name} → {{ {} }}`",
                actual.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
            Some((expected, line)) if *expected != actual => {
                let missing: Vec<_> = actual.difference(expected).cloned().collect();
                let extra: Vec<_> = expected.difference(&actual).cloned().collect();
                problems.push(format!(
                    "{name}: ARCHITECTURE.md says `{}`, but Cargo.toml depends on [{}] that it does not name and not on [{}] that it names",
                    line.trim(),
                    missing.join(", "),
                    extra.join(", ")
                ));
            }
            Some(_) => {}
        }
    }
    for name in stated.keys() {
        if !names.contains(name) {
            problems.push(format!(
                "ARCHITECTURE.md's dependency graph names {name}, which is no host crate"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Guests and examples are built for wasm and published apart: nothing under `sdk/`,
/// `test-programs/` or `examples/` depends on a crate of `crates/` (ARCHITECTURE.md's boundary).
#[test]
fn guests_do_not_depend_on_host_crates() {
    let root = root();
    let names: BTreeSet<String> = host_crates(&root).into_keys().collect();
    let mut problems = Vec::new();
    for folder in ["sdk", "test-programs", "examples"] {
        for manifest_path in cargo_manifests(&root.join(folder)) {
            let text = std::fs::read_to_string(&manifest_path).expect("a readable Cargo.toml");
            let manifest: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
            let sections = ["dependencies", "build-dependencies", "dev-dependencies"];
            for dependency in internal_dependencies(&manifest, &sections, &names) {
                problems.push(format!(
                    "{} depends on the host crate {dependency}",
                    manifest_path
                        .strip_prefix(&root)
                        .unwrap_or(&manifest_path)
                        .display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `Cargo.toml` under `dir`, skipping build output.
fn cargo_manifests(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, |path| {
        path.file_name().is_some_and(|name| name == "Cargo.toml")
    })
}

/// Every file under `dir` that `wanted` takes, sorted, skipping build output and installed
/// packages.
fn files_under(dir: &Path, wanted: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "node_modules" {
                    pending.push(path);
                }
            } else if wanted(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A test that cannot run everywhere is `#[ignore = "why"]`, never an early `return` behind an
/// environment variable: a skipped test must show as skipped, not as passed (house style, rule
/// 31; issue 13, defect 9). Flags every test function that reads an environment variable and
/// returns early.
#[test]
fn no_test_skips_itself_behind_an_environment_variable() {
    let root = root();
    let mut problems = Vec::new();
    for folder in ["crates", "xtask"] {
        for path in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let relative = path.strip_prefix(&root).unwrap_or(&path).display();
            for (line_idx, name) in tests_skipping_behind_a_variable(&text) {
                problems.push(format!(
                    "{relative}:{}: test `{name}` returns early behind an environment variable; \
                     mark it #[ignore = \"why\"] instead",
                    line_idx + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The test functions of `text` (a line starting with `#[test]` or `#[tokio::test`, then its
/// `fn`, up to the brace closing its body) that read an environment variable and have a guard
/// that only returns: their first line's index and their name. A test that re-runs itself as a
/// child and does the child's work under a variable (the store's crash test) is not a skip.
fn tests_skipping_behind_a_variable(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut line_idx = 0;
    while line_idx < lines.len() {
        let trimmed = lines[line_idx].trim_start();
        let is_test_attribute =
            trimmed.starts_with("#[test]") || trimmed.starts_with("#[tokio::test");
        line_idx += 1;
        if !is_test_attribute {
            continue;
        }
        let Some(fn_offset) = lines[line_idx..]
            .iter()
            .position(|line| line.contains("fn "))
        else {
            break;
        };
        let fn_idx = line_idx + fn_offset;
        let name: String = lines[fn_idx]
            .split("fn ")
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i32;
        let mut has_opened = false;
        let mut end_idx = fn_idx;
        for (idx, line) in lines.iter().enumerate().skip(fn_idx) {
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        has_opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            end_idx = idx;
            if has_opened && depth <= 0 {
                break;
            }
        }
        let body = &lines[fn_idx..=end_idx];
        let reads_variable = body.iter().any(|line| line.contains("env::var"));
        if reads_variable && has_guard_return(body) {
            found.push((fn_idx, name));
        }
        line_idx = end_idx + 1;
    }
    found
}

/// Whether `body` holds an `if` or `let ... else` block whose only statement is a `return`.
fn has_guard_return(body: &[&str]) -> bool {
    let opens_guard = |line: &str| {
        let line = line.trim();
        (line.starts_with("if ") || line.starts_with("let ")) && line.ends_with('{')
    };
    let is_inline_guard = |line: &str| {
        let line = line.trim();
        (line.starts_with("if ") || line.starts_with("let ")) && line.contains("{ return")
    };
    body.iter().any(|line| is_inline_guard(line))
        || body.windows(3).any(|window| {
            opens_guard(window[0])
                && window[1].trim_start().starts_with("return")
                && window[2].trim() == "}"
        })
}

/// Every `.rs` file under `dir`, skipping build output.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, |path| {
        path.extension().is_some_and(|extension| extension == "rs")
    })
}

/// The ways of starting a task or thread that leave it running on its own unless something
/// keeps its handle: the free functions, and a thread builder (whose `.spawn(` follows).
/// `JoinSet::spawn` (`tasks.spawn(…)`) is owned by construction and not listed.
const SPAWN_FORMS: [&str; 5] = [
    "tokio::spawn(",
    "tokio::task::spawn(",
    "spawn_blocking(",
    "thread::spawn(",
    "thread::Builder::new()",
];

/// How many lines before a spawn its `// Owner:` comment may start.
const OWNER_COMMENT_LINES_BEFORE: usize = 4;

/// ARCHITECTURE.md: "Every spawned task has an owner that stops it; nothing runs detached."
/// Every spawn in the crates' non-test code says what owns and stops the task, in a comment line
/// starting with `// Owner:` at most four lines before it, so a new detached task is a decision
/// someone wrote down rather than an accident.
#[test]
fn every_spawn_names_its_owner() {
    let root = root();
    let mut problems = Vec::new();
    for path in rust_files(&root.join("crates")) {
        let relative = path.strip_prefix(&root).unwrap_or(&path);
        let in_src = relative
            .components()
            .nth(2)
            .is_some_and(|c| c.as_os_str() == "src");
        let is_test_file = path.file_name().is_some_and(|name| name == "tests.rs")
            || relative
                .components()
                .skip(3)
                .any(|c| c.as_os_str() == "tests");
        if !in_src || is_test_file {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        for line_idx in spawns_without_owner(&text) {
            problems.push(format!(
                "{}:{}: a task or thread is spawned without naming its owner; add a comment line \
                 `// Owner: <what owns and stops it, and when>` at most \
                 {OWNER_COMMENT_LINES_BEFORE} lines before it",
                relative.display(),
                line_idx + 1
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The indices of the lines of `text` that spawn (see [`SPAWN_FORMS`]) with no `// Owner:`
/// comment line in the lines before them, skipping comments and `#[cfg(test)] mod tests { … }`
/// blocks (up to the closing brace at the indentation of their `mod` line, as rustfmt writes it).
fn spawns_without_owner(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut line_idx = 0;
    while line_idx < lines.len() {
        let line = lines[line_idx];
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && let Some(next) = lines.get(line_idx + 1)
            && next.trim_start().starts_with("mod tests {")
        {
            let indent = &next[..next.len() - next.trim_start().len()];
            let close = format!("{indent}}}");
            line_idx += 2;
            while line_idx < lines.len() && lines[line_idx] != close {
                line_idx += 1;
            }
            line_idx += 1;
            continue;
        }
        let is_comment = trimmed.starts_with("//");
        if !is_comment && SPAWN_FORMS.iter().any(|form| line.contains(form)) {
            let from = line_idx.saturating_sub(OWNER_COMMENT_LINES_BEFORE);
            let has_owner = lines[from..line_idx]
                .iter()
                .any(|before| before.trim_start().starts_with("// Owner:"));
            if !has_owner {
                found.push(line_idx);
            }
        }
        line_idx += 1;
    }
    found
}

#[test]
fn spawns_are_found_outside_tests_only() {
    let text = "\
fn a() {
    // Owner: the caller, which awaits it.
    let task = tokio::spawn(work());
    // tokio::spawn(in_a_comment());
    tasks.spawn(owned_by_the_set());
}

#[cfg(test)]
mod tests {
    fn b() {
        tokio::spawn(in_a_test());
    }
}

fn c() {
    tokio::task::spawn_blocking(|| {});
    let thread = std::thread::Builder::new().spawn(|| {});
}
";
    assert_eq!(spawns_without_owner(text), [15, 16]);
}
