//! The manifest's conformance suite, driven by data folders.
//!
//! Each `test_data/valid/NAME.toml` must parse, and its `AppSpec` (as `{:#?}`) must equal `NAME.snap`.
//! Each `test_data/invalid/NAME.toml` must fail, and its error text must equal `NAME.err`.
//! Adding a case is adding a `.toml`: run with `UPDATE_EXPECT=1` to write its expected file,
//! then read that file; never edit one by hand.

use std::fs;
use std::path::{Path, PathBuf};

use expect_test::expect_file;

/// What diagnostics print as the file name.
const FILE_NAME: &str = "rondo.toml";
/// Where the cases pretend to live, so that snapshots hold the same paths on every machine.
const APP_DIR: &str = "/app";

#[test]
fn valid() {
    for case in cases("valid") {
        let actual = match parse(&case) {
            Ok(spec) => format!("{spec:#?}\n"),
            Err(error) => panic!("{} should parse, but:\n{error}", case.display()),
        };
        expect_file![case.with_extension("snap")].assert_eq(&actual);
    }
}

#[test]
fn invalid() {
    for case in cases("invalid") {
        let error = match parse(&case) {
            Ok(spec) => panic!("{} should fail, but parsed as:\n{spec:#?}", case.display()),
            Err(error) => error,
        };
        let lines: Vec<String> = error
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines.join("\n"),
            error.to_string(),
            "the error prints its diagnostics"
        );
        expect_file![case.with_extension("err")].assert_eq(&format!("{error}\n"));
    }
}

/// Every expected file belongs to a case, so a renamed case leaves nothing stale behind.
#[test]
fn no_orphan_expectations() {
    for (folder, extension) in [("valid", "snap"), ("invalid", "err")] {
        for path in files(folder) {
            let is_expectation = path.extension().is_some_and(|ext| ext == extension);
            let is_case = path.extension().is_some_and(|ext| ext == "toml");
            assert!(
                is_expectation || is_case,
                "unexpected file {}",
                path.display()
            );
            if is_expectation {
                let case = path.with_extension("toml");
                assert!(
                    case.exists(),
                    "{} has no case {}",
                    path.display(),
                    case.display()
                );
            }
        }
    }
}

/// The reference's complete example stays valid.
#[test]
fn docs_example_parses() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/manifest.md");
    let docs = fs::read_to_string(&docs).expect("docs/manifest.md is readable");
    let (_, example) = docs
        .split_once("## A complete example")
        .expect("docs/manifest.md has a complete example");
    let example = example
        .split("```toml\n")
        .nth(1)
        .expect("the example is a toml block");
    let example = example.split("```").next().expect("the block is closed");
    let parsed = manifest::parse(example, "manifest.md", Path::new(APP_DIR));
    if let Err(error) = parsed {
        panic!("the example in docs/manifest.md does not parse:\n{error}");
    }
}

/// A cheap stand-in for fuzzing: no prefix of any case makes the parser panic.
#[test]
fn prefixes_never_panic() {
    for case in cases("valid").into_iter().chain(cases("invalid")) {
        let text = fs::read_to_string(&case).expect("cases are readable");
        let boundaries = text.char_indices().map(|(char_idx, _)| char_idx);
        for end in boundaries.step_by(3) {
            let _ = manifest::parse(&text[..end], FILE_NAME, Path::new(APP_DIR));
        }
    }
}

fn parse(case: &Path) -> Result<manifest::AppSpec, manifest::ManifestError> {
    let text = fs::read_to_string(case).expect("cases are readable");
    manifest::parse(&text, FILE_NAME, Path::new(APP_DIR))
}

fn cases(folder: &str) -> Vec<PathBuf> {
    let cases: Vec<PathBuf> = files(folder)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    assert!(!cases.is_empty(), "no cases in test_data/{folder}");
    cases
}

fn files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(folder);
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    files
}
