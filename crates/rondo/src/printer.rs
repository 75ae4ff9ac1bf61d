//! Everything rondo prints goes through here: invocation logs go to stdout through a writer
//! thread (the request path never waits on the terminal), messages go to stderr.

#![expect(
    clippy::print_stderr,
    reason = "this module is where rondo talks to the terminal"
)]

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};

use node::InvocationLog;
use runtime::{InvokeError, Report};

/// Invocation logs waiting for the terminal; past this they are dropped and counted.
const LOG_QUEUE_DEPTH_MAX: usize = 16 * 1024;

pub fn error_line(line: &str) {
    eprintln!("{line}");
}

pub fn info_line(line: &str) {
    eprintln!("{line}");
}

/// Prints each invocation's log as Lambda writes it to CloudWatch.
pub struct LogPrinter {
    sender: SyncSender<String>,
    dropped: AtomicU64,
    quiet: bool,
}

impl LogPrinter {
    pub fn start(quiet: bool) -> LogPrinter {
        let (sender, receiver) = mpsc::sync_channel::<String>(LOG_QUEUE_DEPTH_MAX);
        // Owner: the `LogPrinter`, through its queue's sender: dropping it ends the thread once
        // the logs queued are printed (the process exiting first cuts them short).
        std::thread::Builder::new()
            .name("rondo-log".to_owned())
            .spawn(move || {
                let stdout = std::io::stdout();
                while let Ok(text) = receiver.recv() {
                    let mut out = stdout.lock();
                    let _ = out.write_all(text.as_bytes());
                    // Write whatever else is already waiting in the same go.
                    while let Ok(more) = receiver.try_recv() {
                        let _ = out.write_all(more.as_bytes());
                    }
                    let _ = out.flush();
                }
            })
            .expect("spawning the log thread only fails when the OS is out of threads");
        LogPrinter {
            sender,
            dropped: AtomicU64::new(0),
            quiet,
        }
    }

    fn send(&self, text: String) {
        match self.sender.try_send(text) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    error_line(&format!(
                        "warning: the terminal is too slow: {dropped} invocation logs dropped"
                    ));
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

impl InvocationLog for LogPrinter {
    /// Prints an invocation's log (START, its lines, END, REPORT, its billed duration at the
    /// app's granularity), or one line for an invocation a limit refused (it never started).
    fn invocation(
        &self,
        report: &Report,
        error: Option<&InvokeError>,
        billing_granularity_ms: u32,
    ) {
        if self.quiet {
            return;
        }
        if let Some(InvokeError::Throttled { reason }) = error {
            self.send(format!(
                "{}\tWARN\tfunction \"{}\" throttled ({})\n",
                report.request_id,
                report.function_name,
                reason.as_str()
            ));
            return;
        }
        let mut text = String::with_capacity(256);
        report.write_log(billing_granularity_ms, &mut text);
        if let Some(error) = error {
            let detail = serde_json::json!({
                "errorType": error.error_type(),
                "errorMessage": error.error_message(),
            });
            // Lambda writes an unhandled error into the log before END; rondo adds the function.
            let line = format!(
                "{}\tERROR\tfunction \"{}\" failed: {detail}\n",
                report.request_id, report.function_name
            );
            let end = text.find("END RequestId").unwrap_or(text.len());
            text.insert_str(end, &line);
        }
        self.send(text);
    }
}
