//! Per-invocation log capture: the guest's stdout, stderr and `log` import all land in one
//! bounded buffer, split into lines, and are handed back with the invocation's report.
//! Both bounds hold whatever the guest writes: the log keeps at most
//! [`INVOCATION_LOG_BYTES_MAX`] bytes, and output waiting for its newline at most
//! [`LOG_LINE_BYTES_MAX`] per stream ([`LineSplitter`]).

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::limits::{INVOCATION_LOG_BYTES_MAX, LOG_LINE_BYTES_MAX};

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    Stdout,
    Stderr,
    /// The handler world's `log` import, at a level.
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogSource {
    /// The level word Lambda's runtimes print (`INFO`, `WARN`, ...); stdout/stderr print none.
    pub fn level(self) -> Option<&'static str> {
        match self {
            LogSource::Stdout | LogSource::Stderr => None,
            LogSource::Trace => Some("TRACE"),
            LogSource::Debug => Some("DEBUG"),
            LogSource::Info => Some("INFO"),
            LogSource::Warn => Some("WARN"),
            LogSource::Error => Some("ERROR"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub source: LogSource,
    pub text: String,
}

/// The log of one invocation, shared by the streams that write into it.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer {
    inner: Arc<Mutex<LogState>>,
}

#[derive(Default)]
struct LogState {
    lines: LogLines,
    stdout: LineSplitter,
    stderr: LineSplitter,
}

impl LogBuffer {
    pub(crate) fn push_line(&self, source: LogSource, text: &str) {
        let mut state = self
            .inner
            .lock()
            .expect("log buffer lock is never poisoned");
        state.lines.push(source, text);
    }

    fn write_stream(&self, source: LogSource, bytes: &[u8]) {
        let mut state = self
            .inner
            .lock()
            .expect("log buffer lock is never poisoned");
        let LogState {
            lines,
            stdout,
            stderr,
        } = &mut *state;
        let splitter = match source {
            LogSource::Stderr => stderr,
            _ => stdout,
        };
        splitter.write(source, bytes, lines);
    }

    /// Ends the capture: flushes unterminated output and returns the lines.
    pub(crate) fn finish(&self) -> Vec<LogLine> {
        let mut state = self
            .inner
            .lock()
            .expect("log buffer lock is never poisoned");
        let LogState {
            lines,
            stdout,
            stderr,
        } = &mut *state;
        stdout.finish(LogSource::Stdout, lines);
        stderr.finish(LogSource::Stderr, lines);
        lines.take()
    }

    pub(crate) fn stream(&self, source: LogSource) -> LogStream {
        LogStream {
            buffer: self.clone(),
            source,
        }
    }
}

/// The lines of one invocation's log, bounded: past [`INVOCATION_LOG_BYTES_MAX`] bytes, lines
/// are dropped and one notice says so. Shared by every kind of function's log capture.
#[derive(Debug, Default)]
pub struct LogLines {
    lines: Vec<LogLine>,
    bytes_total: usize,
    truncated: bool,
}

impl LogLines {
    /// Adds a line, or drops it once the log is full.
    pub fn push(&mut self, source: LogSource, text: &str) {
        if self.truncated {
            return;
        }
        if self.bytes_total + text.len() > INVOCATION_LOG_BYTES_MAX {
            self.truncated = true;
            self.lines.push(LogLine {
                source: LogSource::Warn,
                text: format!(
                    "log output truncated: an invocation may log at most {INVOCATION_LOG_BYTES_MAX} bytes"
                ),
            });
            return;
        }
        self.bytes_total += text.len();
        self.lines.push(LogLine {
            source,
            text: text.to_owned(),
        });
    }

    /// The lines so far; the log starts afresh (empty, with its whole budget).
    pub fn take(&mut self) -> Vec<LogLine> {
        self.bytes_total = 0;
        self.truncated = false;
        std::mem::take(&mut self.lines)
    }

    /// The lines so far.
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }
}

/// One output stream (stdout or stderr) cut into lines.
///
/// Output waits for its newline, but never more than [`LOG_LINE_BYTES_MAX`] bytes of it: a longer
/// line is cut into lines of at most that many bytes (before a UTF-8 character the cut would
/// split), so however much a function prints without a newline, the splitter holds at most one
/// line of it. Each byte is copied once. Shared by every kind of function's log capture.
#[derive(Debug, Default)]
pub struct LineSplitter {
    /// Output after the last newline.
    // Invariant: at most `LOG_LINE_BYTES_MAX` bytes.
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Adds output of `source`, pushing each completed (or cut) line to `lines`.
    pub fn write(&mut self, source: LogSource, bytes: &[u8], lines: &mut LogLines) {
        let mut rest = bytes;
        while let Some(&first) = rest.first() {
            // A full line is cut only once more of it arrives: its newline may be next.
            if self.partial.len() == LOG_LINE_BYTES_MAX && first != b'\n' {
                self.cut(source, lines);
            }
            let room = LOG_LINE_BYTES_MAX - self.partial.len();
            let window = &rest[..rest.len().min(room + 1)];
            match window.iter().position(|&byte| byte == b'\n') {
                Some(newline_idx) => {
                    self.partial.extend_from_slice(&rest[..newline_idx]);
                    let line = String::from_utf8_lossy(&self.partial);
                    lines.push(source, line.trim_end_matches('\r'));
                    self.partial.clear();
                    rest = &rest[newline_idx + 1..];
                }
                None => {
                    let n_taken = rest.len().min(room);
                    self.partial.extend_from_slice(&rest[..n_taken]);
                    rest = &rest[n_taken..];
                }
            }
            debug_assert!(self.partial.len() <= LOG_LINE_BYTES_MAX);
        }
    }

    /// Ends the stream: output without a newline becomes a line of its own.
    pub fn finish(&mut self, source: LogSource, lines: &mut LogLines) {
        if !self.partial.is_empty() {
            lines.push(source, &String::from_utf8_lossy(&self.partial));
            self.partial.clear();
        }
    }

    /// Bytes held that are not a line yet (at most [`LOG_LINE_BYTES_MAX`]).
    pub fn pending_bytes(&self) -> usize {
        self.partial.len()
    }

    /// Pushes the held output as a line, keeping back a character it would split.
    fn cut(&mut self, source: LogSource, lines: &mut LogLines) {
        let end_idx = char_boundary_before_end(&self.partial);
        lines.push(source, &String::from_utf8_lossy(&self.partial[..end_idx]));
        self.partial.drain(..end_idx);
    }
}

/// Where to cut `bytes` so that a UTF-8 character they end in the middle of stays whole: the
/// start of that character, or the end when the last character is complete (or the bytes are not
/// UTF-8 there, or the character would be all that is left).
fn char_boundary_before_end(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for n_back in 1..=len.min(4) {
        let byte = bytes[len - n_back];
        let is_continuation = byte & 0b1100_0000 == 0b1000_0000;
        if is_continuation {
            continue;
        }
        let char_len = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let is_split = char_len > n_back && n_back < len;
        return if is_split { len - n_back } else { len };
    }
    len
}

/// The guest's stdout or stderr. Writes never block and never fail: past the byte limit
/// output is dropped (a guest must not trap because it logged too much).
#[derive(Clone)]
pub(crate) struct LogStream {
    buffer: LogBuffer,
    source: LogSource,
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.buffer.write_stream(self.source, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.buffer.write_stream(self.source, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
