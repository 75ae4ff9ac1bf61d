//! `rondo cost`: the usage and cost of a running app, from its admin API
//! (`GET /rondo/v1/cost`, answered by `metering::admin`).
//!
//! The report is asked for with progress lines; when the summary takes a while and stderr is a
//! terminal, a progress bar shows how far it has got.

#![expect(
    clippy::print_stdout,
    reason = "the cost report is this command's output"
)]

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use indicatif::{ProgressBar, ProgressStyle};
use metering::CostReport;
use metering::admin::{COST_PATH, CostLine};

use crate::cli::CostArgs;
use crate::client;

/// A summary that has not finished after this long gets a progress bar.
const PROGRESS_BAR_DELAY: Duration = Duration::from_millis(300);

/// The longest line of the answer accepted (a report with a row per route or trigger).
const LINE_BYTES_MAX: usize = 64 * 1024 * 1024;

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = tokio.block_on(fetch(&args))?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).context("cannot write the report")?;
        println!("{json}");
    } else {
        print!("{}", report.render_table());
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the running rondo for the report, showing progress while it comes.
async fn fetch(args: &CostArgs) -> anyhow::Result<CostReport> {
    let endpoint = args.endpoint.trim_end_matches('/');
    let mut query = format!(
        "since={}&by={}&progress=1",
        percent_encode(&args.since),
        args.by.as_str()
    );
    if let Some(until) = &args.until {
        query.push_str(&format!("&until={}", percent_encode(until)));
    }
    let uri = format!("{endpoint}{COST_PATH}?{query}");
    let request = http::Request::get(&uri)
        .body(Empty::<Bytes>::new())
        .with_context(|| format!("invalid --endpoint {endpoint}"))?;
    let started = Instant::now();
    let response = client::send(request, endpoint).await?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = body
            .collect()
            .await
            .context("reading the response failed")?
            .to_bytes();
        anyhow::bail!("{}", error_message(status, &text));
    }
    let mut progress = Progress::new(started);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the response failed")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.extend_from_slice(&data);
        while let Some(end) = buffer.iter().position(|&byte| byte == b'\n') {
            let line = buffer.split_to(end + 1);
            match parse_line(&line[..end])? {
                CostLine::Progress { scanned, total } => progress.update(scanned, total),
                CostLine::Report(report) => {
                    progress.finish();
                    return Ok(*report);
                }
                CostLine::Message(message) => {
                    progress.finish();
                    anyhow::bail!("the cost summary failed: {message}");
                }
            }
        }
        anyhow::ensure!(
            buffer.len() <= LINE_BYTES_MAX,
            "the answer has a line over {LINE_BYTES_MAX} bytes"
        );
    }
    progress.finish();
    anyhow::bail!("the answer ended before the report (did rondo stop?)")
}

fn parse_line(line: &[u8]) -> anyhow::Result<CostLine> {
    serde_json::from_slice(line).with_context(|| {
        format!(
            "unexpected line in the answer: {}",
            String::from_utf8_lossy(line)
        )
    })
}

/// The admin API's `{"message": …}`, or the body as it is.
fn error_message(status: http::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(Message { message }) => message,
        Err(_) => format!("HTTP {status}: {}", String::from_utf8_lossy(body)),
    }
}

/// The progress bar, drawn only on a terminal and once the summary has taken a while.
struct Progress {
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(started: Instant) -> Progress {
        Progress { started, bar: None }
    }

    fn update(&mut self, scanned: u64, total: u64) {
        let long = self.started.elapsed() >= PROGRESS_BAR_DELAY;
        if self.bar.is_none() && long && std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template(
                "summing usage {bar:40} {pos}/{len} entries ({elapsed})",
            )
            .expect("the template is valid");
            self.bar = Some(ProgressBar::new(total).with_style(style));
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(scanned);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
