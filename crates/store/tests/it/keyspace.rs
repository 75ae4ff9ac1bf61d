//! The registry of the keyspace's areas (`store::keyspace`), and a tidy check that it is the
//! only place that assigns an area's byte: every crate takes its prefix from it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use store::keyspace::Area;

#[test]
fn every_area_has_a_prefix_of_its_own() {
    let prefixes: BTreeSet<u8> = Area::ALL.iter().map(|area| area.prefix()).collect();
    assert_eq!(
        prefixes.len(),
        Area::ALL.len(),
        "two areas share a prefix: {:?}",
        Area::ALL
    );
    assert!(!prefixes.contains(&0x00), "0x00 is never assigned");
    let mut sorted = Area::ALL;
    sorted.sort_by_key(|area| area.prefix());
    assert_eq!(sorted, Area::ALL, "Area::ALL lists the areas in byte order");
}

/// Fails when a crate other than `store` declares an area's byte of its own: a `u8` constant
/// named `AREA` or `…_AREA` whose value is not taken from `Area::…`, or a comment that gives an
/// area a byte (`area 0x07`), which is how areas were once assigned.
#[test]
fn tidy_no_crate_but_store_assigns_an_area_byte() {
    let sources = workspace_sources();
    let mut found = Vec::new();
    for (path, text) in &sources {
        for (line_idx, message) in violations(text) {
            let line = text.lines().nth(line_idx).unwrap_or_default().trim();
            found.push(format!(
                "{}:{}: {message}\n    {line}",
                path.display(),
                line_idx + 1
            ));
        }
    }
    assert!(
        found.is_empty(),
        "keyspace areas are assigned in crates/store/src/keyspace.rs only; take the byte from \
         store::keyspace::Area (`const AREA: u8 = Area::Ledger.prefix();`) and name the area, \
         not its byte, in comments:\n{}",
        found.join("\n")
    );
    // The check saw the crates that own areas: each area is used by its owner.
    for area in Area::ALL {
        let used = format!("Area::{area:?}");
        assert!(
            sources.iter().any(|(_, text)| text.contains(&used)),
            "no crate's sources use {used}: is the scan reading crates/*/src?"
        );
    }
}

#[test]
fn tidy_check_finds_what_it_should_and_nothing_else() {
    let text = "\
const AREA: u8 = 0x07;
pub(crate) const QUEUE_AREA: u8 =
    0x08;
pub const LEDGER_AREA: u8 = Area::Ledger.prefix();
const AREA: u8 = store::keyspace::Area::Checkpoints.prefix();
const TTL_SPACE: u8 = 0xFE;
const SORT_NEGATIVE: u8 = 0x01;
//! Queues live in area `0x08` of the keyspace.
/// Schedules: Area 0x09.
// The TTL space is 0xFE; this area is the ledger's.
";
    let lines: Vec<usize> = violations(text).into_iter().map(|(line, _)| line).collect();
    assert_eq!(lines, [0, 1, 7, 8]);
}

/// The `.rs` files under `crates/*/src` of every crate but `store` (paths from the workspace's
/// root), with their text.
fn workspace_sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the store crate is at crates/store in the workspace");
    let crates = root.join("crates");
    let mut files = Vec::new();
    for entry in fs::read_dir(&crates).expect("the crates folder") {
        let dir = entry.expect("an entry of the crates folder").path();
        if dir.file_name().is_some_and(|name| name == "store") {
            continue;
        }
        collect_rs(&dir.join("src"), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("a source file");
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            (relative, text)
        })
        .collect()
}

fn collect_rs(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return; // A crate without `src` (or a file in crates/) has nothing to check.
    };
    for entry in entries {
        let path = entry.expect("an entry of a source folder").path();
        if path.is_dir() {
            collect_rs(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The lines (0-based) of `text` that assign an area's byte, and why.
fn violations(text: &str) -> Vec<(usize, &'static str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (line_idx, line) in lines.iter().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            if comment_assigns_area(line) {
                found.push((line_idx, "a comment gives a keyspace area its byte"));
            }
            continue;
        }
        let Some((name, value)) = u8_constant(line) else {
            continue;
        };
        // rustfmt may put a long value on the next line.
        let value = if value.contains(';') {
            value.to_owned()
        } else {
            format!("{value} {}", lines.get(line_idx + 1).unwrap_or(&""))
        };
        if name.contains("AREA") && !value.contains("Area::") {
            found.push((line_idx, "a constant holds a keyspace area byte of its own"));
        }
    }
    found
}

/// `const NAME: u8 = value` or `static NAME: u8 = value` (any visibility): the name and the text
/// after `=`.
fn u8_constant(line: &str) -> Option<(&str, &str)> {
    let line = match line.strip_prefix("pub") {
        Some(rest) if rest.starts_with('(') => rest.split_once(')')?.1,
        Some(rest) => rest,
        None => line,
    }
    .trim_start();
    let rest = line
        .strip_prefix("const ")
        .or_else(|| line.strip_prefix("static "))?;
    let (name, rest) = rest.split_once(':')?;
    let (kind, value) = rest.split_once('=')?;
    (kind.trim() == "u8").then_some((name.trim(), value.trim()))
}

/// Whether a comment line names an area by a byte: `area 0x07` or ``area `0x07` `` (any case).
fn comment_assigns_area(line: &str) -> bool {
    let line = line.to_ascii_lowercase();
    line.match_indices("area").any(|(at, _)| {
        let after = line[at + "area".len()..].trim_start();
        let after = after.strip_prefix('`').unwrap_or(after);
        after
            .strip_prefix("0x")
            .is_some_and(|byte| byte.starts_with(|c: char| c.is_ascii_hexdigit()))
    })
}
