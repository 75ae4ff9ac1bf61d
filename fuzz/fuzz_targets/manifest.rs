//! `rondo.toml` as `manifest::parse` reads it: any UTF-8 text, in a folder that does not exist (the
//! manifest does no IO). An error is a normal outcome and must point into the text; a panic is a
//! bug. Whatever parses must parse the same way again.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = Path::new("/nonexistent/app");
    match manifest::parse(text, "rondo.toml", dir) {
        Ok(spec) => {
            let again = manifest::parse(text, "rondo.toml", dir);
            assert_eq!(
                format!("{spec:?}"),
                format!("{:?}", again.expect("parsed once, parses again")),
                "the same text gives the same AppSpec"
            );
        }
        Err(error) => {
            // A diagnostic points into the text (or just past its last line).
            let n_lines = text.lines().count().max(1);
            for diagnostic in error.diagnostics() {
                assert_eq!(diagnostic.file(), "rondo.toml");
                let line_ok = (1..=n_lines + 1).contains(&diagnostic.line());
                assert!(
                    line_ok && diagnostic.column() >= 1,
                    "{diagnostic} is in the text"
                );
            }
        }
    }
});
