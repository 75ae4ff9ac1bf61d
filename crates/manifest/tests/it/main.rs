//! The manifest's conformance suite, driven by data folders.
//!
//! Each `test_data/valid/NAME.toml` must parse, and its `AppSpec` (as `{:#?}`, without its warnings) must equal `NAME.snap`;
//! its warnings, one per line, must equal `NAME.warn`, and a case without warnings has no `NAME.warn`.
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
        let mut spec = match parse(&case) {
            Ok(spec) => spec,
            Err(error) => panic!("{} should parse, but:\n{error}", case.display()),
        };
        let warnings = std::mem::take(&mut spec.warnings);
        expect_file![case.with_extension("snap")].assert_eq(&format!("{spec:#?}\n"));
        let warnings_path = case.with_extension("warn");
        if warnings.is_empty() && !update_expect() {
            assert!(
                !warnings_path.exists(),
                "{} gives no warnings, but {} expects some",
                case.display(),
                warnings_path.display()
            );
        } else if warnings.is_empty() {
            let _ = fs::remove_file(&warnings_path);
        } else {
            let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            expect_file![warnings_path].assert_eq(&format!("{}\n", lines.join("\n")));
        }
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
    for (folder, extensions) in [("valid", &["snap", "warn"][..]), ("invalid", &["err"][..])] {
        for path in files(folder) {
            let is_expectation = path
                .extension()
                .is_some_and(|ext| extensions.iter().any(|extension| ext == *extension));
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

/// The reference's complete example stays valid, and declares nothing that is not acted on.
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
    let spec = match manifest::parse(example, "manifest.md", Path::new(APP_DIR)) {
        Ok(spec) => spec,
        Err(error) => panic!("the example in docs/manifest.md does not parse:\n{error}"),
    };
    let warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.is_empty(),
        "the example in docs/manifest.md warns:\n{}",
        warnings.join("\n")
    );
}

/// Every example app's manifest loads, and declares nothing that is not acted on.
#[test]
fn examples_parse_without_warnings() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let entries =
        fs::read_dir(&examples).unwrap_or_else(|error| panic!("{}: {error}", examples.display()));
    let mut n_examples = 0;
    for entry in entries {
        let path = entry.expect("directory entry").path().join("rondo.toml");
        if !path.exists() {
            continue;
        }
        n_examples += 1;
        let text = fs::read_to_string(&path).expect("the example's manifest is readable");
        let spec = match manifest::parse(&text, FILE_NAME, Path::new(APP_DIR)) {
            Ok(spec) => spec,
            Err(error) => panic!("{} does not parse:\n{error}", path.display()),
        };
        let warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings.is_empty(),
            "{} warns:\n{}",
            path.display(),
            warnings.join("\n")
        );
    }
    assert!(n_examples > 0, "no examples in {}", examples.display());
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

/// `expect-test`'s switch for rewriting expected files.
fn update_expect() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
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
