//! Diagnostics: what is wrong with a manifest, or declared but not acted on yet, and where.

use std::fmt;

/// Why a manifest was refused: one or more diagnostics, in file order.
///
/// Its `Display` prints one diagnostic per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.diagnostics))]
pub struct ManifestError {
    // Invariant: never empty.
    diagnostics: Vec<Diagnostic>,
}

/// One problem in a manifest, located at the start of the offending value
/// (or of the key, for unknown fields, or of the table header, for missing fields).
/// The same shape serves as a warning ([`AppSpec::warnings`](crate::AppSpec::warnings)).
///
/// Displays as `rondo.toml:12:9: function "cart-status": timeout_ms must be 1..=900000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

/// Collects problems and warnings as byte offsets while the manifest is read and lowered.
pub(crate) struct Sink<'t> {
    text: &'t str,
    problems: Vec<(usize, String)>,
    warnings: Vec<(usize, String)>,
}

impl ManifestError {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl Diagnostic {
    /// The file name the caller passed to `parse`.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based, counted in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, starting with the section it is in, e.g. `function "hello": ...`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Diagnostic {
            file,
            line,
            column,
            message,
        } = self;
        write!(f, "{file}:{line}:{column}: {message}")
    }
}

impl<'t> Sink<'t> {
    pub(crate) fn new(text: &'t str) -> Sink<'t> {
        Sink {
            text,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a problem at a byte offset into the manifest text.
    pub(crate) fn error(&mut self, offset: usize, message: String) {
        self.problems.push((offset, message));
    }

    /// Records a declaration that loads but is not acted on, at a byte offset into the manifest text.
    pub(crate) fn warning(&mut self, offset: usize, message: String) {
        self.warnings.push((offset, message));
    }

    /// The 1-based line holding a byte offset, for messages that point at a second place.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        position(self.text, offset).0
    }

    /// Turns the problems, if any, into an error; else gives the warnings.
    /// Both are sorted by position.
    pub(crate) fn finish(self, file_name: &str) -> Result<Vec<Diagnostic>, ManifestError> {
        if self.problems.is_empty() {
            return Ok(diagnostics(self.text, file_name, self.warnings));
        }
        let diagnostics = diagnostics(self.text, file_name, self.problems);
        Err(ManifestError { diagnostics })
    }
}

fn diagnostics(text: &str, file_name: &str, mut messages: Vec<(usize, String)>) -> Vec<Diagnostic> {
    // A stable sort keeps messages at one offset in the order they were found.
    messages.sort_by_key(|(offset, _)| *offset);
    messages
        .into_iter()
        .map(|(offset, message)| {
            let (line, column) = position(text, offset);
            Diagnostic {
                file: file_name.to_owned(),
                line,
                column,
                message,
            }
        })
        .collect()
}

fn lines(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(Diagnostic::to_string).collect();
    lines.join("\n")
}

/// The 1-based line and character column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline_idx| newline_idx + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
