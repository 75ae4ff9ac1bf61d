//! An environment's stdout and stderr, split into lines for the invocations' logs.
//!
//! A task reads both pipes as output arrives, so a chatty function never blocks on a full pipe.
//! When an invocation ends, [`LogCapture::take`] first reads whatever is still in the pipes: a
//! runtime writes its output before it posts the response, so everything it printed during the
//! invocation is in the pipe (or already read) by the time the response arrives. Output written
//! while no invocation runs (during init, or between invocations) lands in the next invocation's
//! log.

use std::io;
use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::{Arc, Mutex};

use runtime::{LineSplitter, LogLine, LogLines, LogSource};
use tokio::net::unix::pipe;

/// The output of one environment, read from its stdout and stderr pipes.
pub(crate) struct LogCapture {
    stdout: pipe::Receiver,
    stderr: pipe::Receiver,
    state: Mutex<CaptureState>,
}

#[derive(Default)]
struct CaptureState {
    lines: LogLines,
    stdout: StreamState,
    stderr: StreamState,
}

#[derive(Default)]
struct StreamState {
    /// Cuts the output into lines; holds what waits for its newline.
    splitter: LineSplitter,
    closed: bool,
}

/// Bytes read from a pipe at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

impl LogCapture {
    /// Takes the read ends of the environment's stdout and stderr pipes.
    pub(crate) fn new(stdout: OwnedFd, stderr: OwnedFd) -> io::Result<Arc<LogCapture>> {
        Ok(Arc::new(LogCapture {
            stdout: pipe::Receiver::from_owned_fd(stdout)?,
            stderr: pipe::Receiver::from_owned_fd(stderr)?,
            state: Mutex::new(CaptureState::default()),
        }))
    }

    /// Reads both pipes until both are closed (every process holding them has exited).
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            let (stdout_open, stderr_open) = {
                let state = self.lock();
                (!state.stdout.closed, !state.stderr.closed)
            };
            if !stdout_open && !stderr_open {
                return;
            }
            tokio::select! {
                ready = self.stdout.readable(), if stdout_open => {
                    self.after_readable(LogSource::Stdout, ready);
                }
                ready = self.stderr.readable(), if stderr_open => {
                    self.after_readable(LogSource::Stderr, ready);
                }
            }
        }
    }

    /// Everything written since the last call, as lines; the next call starts a fresh log.
    pub(crate) fn take(&self) -> Vec<LogLine> {
        let mut state = self.lock();
        // Straight from the pipes: the reactor may not have seen the newest output yet.
        self.read_available(&mut state, LogSource::Stdout, read_now);
        self.read_available(&mut state, LogSource::Stderr, read_now);
        state.end_partial_lines();
        state.lines.take()
    }

    fn after_readable(&self, source: LogSource, ready: io::Result<()>) {
        let mut state = self.lock();
        match ready {
            Ok(()) => self.read_available(&mut state, source, pipe::Receiver::try_read),
            Err(_) => state.stream(source).closed = true,
        }
    }

    /// Reads what the pipe holds now with `read`, without waiting.
    fn read_available(
        &self,
        state: &mut CaptureState,
        source: LogSource,
        read: fn(&pipe::Receiver, &mut [u8]) -> io::Result<usize>,
    ) {
        let receiver = match source {
            LogSource::Stderr => &self.stderr,
            _ => &self.stdout,
        };
        let mut buffer = [0u8; READ_CHUNK_BYTES];
        while !state.stream(source).closed {
            match read(receiver, &mut buffer) {
                Ok(0) => state.stream(source).closed = true,
                Ok(n_bytes) => state.write(source, &buffer[..n_bytes]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => state.stream(source).closed = true,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CaptureState> {
        self.state
            .lock()
            .expect("the log capture lock is never poisoned: nothing panics while holding it")
    }
}

/// Reads from the pipe itself, whatever the reactor knows of its readiness (the pipe is
/// non-blocking, so an empty pipe answers `WouldBlock`).
fn read_now(receiver: &pipe::Receiver, buffer: &mut [u8]) -> io::Result<usize> {
    rustix::io::read(receiver.as_fd(), buffer).map_err(io::Error::from)
}

impl CaptureState {
    fn stream(&mut self, source: LogSource) -> &mut StreamState {
        match source {
            LogSource::Stderr => &mut self.stderr,
            _ => &mut self.stdout,
        }
    }

    /// Turns unterminated output into lines of their own.
    fn end_partial_lines(&mut self) {
        self.stdout
            .splitter
            .finish(LogSource::Stdout, &mut self.lines);
        self.stderr
            .splitter
            .finish(LogSource::Stderr, &mut self.lines);
    }

    /// Appends output, turning each completed line (or each piece of a line over
    /// [`LOG_LINE_BYTES_MAX`](crate::limits::LOG_LINE_BYTES_MAX)) into a log line.
    fn write(&mut self, source: LogSource, bytes: &[u8]) {
        let CaptureState {
            lines,
            stdout,
            stderr,
        } = self;
        let stream = match source {
            LogSource::Stderr => stderr,
            _ => stdout,
        };
        stream.splitter.write(source, bytes, lines);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::limits::{INVOCATION_LOG_BYTES_MAX, LOG_LINE_BYTES_MAX};

    fn check(writes: &[(LogSource, &[u8])], expect: &[(LogSource, &str)]) {
        let mut state = CaptureState::default();
        for (source, bytes) in writes {
            state.write(*source, bytes);
        }
        state.end_partial_lines();
        let got: Vec<(LogSource, &str)> = state
            .lines
            .lines()
            .iter()
            .map(|line| (line.source, line.text.as_str()))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn output_is_split_into_lines_per_stream() {
        check(
            &[
                (LogSource::Stdout, b"one\ntw"),
                (LogSource::Stderr, b"err\r\n"),
                (LogSource::Stdout, b"o\n\nthree"),
            ],
            &[
                (LogSource::Stdout, "one"),
                (LogSource::Stderr, "err"),
                (LogSource::Stdout, "two"),
                (LogSource::Stdout, ""),
                (LogSource::Stdout, "three"),
            ],
        );
    }

    #[test]
    fn a_line_without_end_is_cut() {
        let long = vec![b'x'; LOG_LINE_BYTES_MAX + 1];
        let mut state = CaptureState::default();
        state.write(LogSource::Stdout, &long);
        assert_eq!(state.lines.lines().len(), 1);
        assert_eq!(state.lines.lines()[0].text.len(), LOG_LINE_BYTES_MAX);
        assert_eq!(state.stdout.splitter.pending_bytes(), 1);
    }

    #[test]
    fn output_past_the_limit_is_dropped_with_one_notice() {
        let line = vec![b'y'; 1000];
        let mut state = CaptureState::default();
        for _ in 0..(INVOCATION_LOG_BYTES_MAX / 1000 + 10) {
            state.write(LogSource::Stdout, &line);
            state.write(LogSource::Stdout, b"\n");
        }
        let notices = state
            .lines
            .lines()
            .iter()
            .filter(|line| line.source == LogSource::Warn)
            .count();
        assert_eq!(notices, 1);
        assert_eq!(
            state.lines.lines().len(),
            INVOCATION_LOG_BYTES_MAX / 1000 + 1
        );
    }

    #[tokio::test]
    async fn take_reads_what_is_in_the_pipe_and_starts_afresh() {
        let (out_read, mut out_write) = io::pipe().expect("pipe");
        let (err_read, err_write) = io::pipe().expect("pipe");
        let capture = LogCapture::new(out_read.into(), err_read.into()).expect("capture");
        out_write.write_all(b"first\nsecond").expect("write");
        let lines = capture.take();
        let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        assert!(capture.take().is_empty());
        drop(out_write);
        drop(err_write);
        // With both write ends gone the reader task ends.
        tokio::time::timeout(std::time::Duration::from_secs(5), capture.run())
            .await
            .expect("the reader ends when the pipes close");
    }
}
