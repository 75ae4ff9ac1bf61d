//! Per-invocation log capture: the guest's stdout, stderr and `log` import all land in one
//! bounded buffer, split into lines, and are handed back with the invocation's report.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::limits::INVOCATION_LOG_BYTES_MAX;

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
    /// Unterminated output of stdout and stderr, waiting for its newline.
    stdout_partial: Vec<u8>,
    stderr_partial: Vec<u8>,
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
        let partial = match source {
            LogSource::Stderr => std::mem::take(&mut state.stderr_partial),
            _ => std::mem::take(&mut state.stdout_partial),
        };
        let mut pending = partial;
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(offset) = pending[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&pending[start..start + offset]).into_owned();
            state.lines.push(source, line.trim_end_matches('\r'));
            start += offset + 1;
        }
        let rest = pending[start..].to_vec();
        match source {
            LogSource::Stderr => state.stderr_partial = rest,
            _ => state.stdout_partial = rest,
        }
    }

    /// Ends the capture: flushes unterminated output and returns the lines.
    pub(crate) fn finish(&self) -> Vec<LogLine> {
        let mut state = self
            .inner
            .lock()
            .expect("log buffer lock is never poisoned");
        for source in [LogSource::Stdout, LogSource::Stderr] {
            let partial = match source {
                LogSource::Stderr => std::mem::take(&mut state.stderr_partial),
                _ => std::mem::take(&mut state.stdout_partial),
            };
            if !partial.is_empty() {
                let line = String::from_utf8_lossy(&partial).into_owned();
                state.lines.push(source, &line);
            }
        }
        state.lines.take()
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
