//! The admin API's metering routes, ready to mount:
//!
//! - `GET /rondo/v1/cost?since=…&until=…&by=…&progress=…` ([`handle_cost`]): a [`CostReport`]
//!   as JSON. `since` and `until` are RFC 3339 times or ages before now (`90s`, `30m`, `24h`,
//!   `7d`); `since` defaults to `24h`, `until` to now. `by` is `function` (the default), `route`
//!   or `trigger`. With `progress=1` the body is NDJSON: `{"progress":{"scanned":n,"total":m}}`
//!   lines, then `{"report":…}` (or `{"message":…}` if the summary failed).
//! - `GET /metrics` ([`handle_metrics`]): [`Metrics::render`].
//!
//! A query the API cannot answer gets 400 and `{"message": …}`; a failure of the ledger 500 and
//! the same shape.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{StatusCode, header};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;

use crate::error::QueryError;
use crate::ledger::Ledger;
use crate::limits::PROGRESS_LINES_QUEUED_MAX;
use crate::metrics::{self, Metrics};
use crate::summary::{CostQuery, CostReport, GroupBy, PriceTable, format_rfc3339};

/// The path of the cost report.
pub const COST_PATH: &str = "/rondo/v1/cost";
/// The path of the Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";

/// The body of the admin routes' responses: whole, or streamed (NDJSON progress).
pub type AdminBody = BoxBody<Bytes, Infallible>;

/// One line of the NDJSON cost answer (`progress=1`), as sent and as read back:
/// `{"progress":{"scanned":n,"total":m}}`, `{"report":…}` or `{"message":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostLine {
    /// How far the summary has got: `scanned` store entries of at most `total`.
    Progress {
        /// Entries read so far.
        scanned: u64,
        /// An upper bound of the entries to read; equal to `scanned` on the last progress line.
        total: u64,
    },
    /// The finished report: the last line.
    Report(Box<CostReport>),
    /// Why the summary failed: the last line.
    Message(String),
}

/// A parsed cost query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostRequest {
    /// What to summarize.
    pub query: CostQuery,
    /// Whether to stream progress lines (NDJSON) before the report.
    pub progress: bool,
}

/// Answers `GET /rondo/v1/cost` with `query_string` (the URI's query, without `?`): commits the
/// queued records, then summarizes the ledger on a blocking thread and prices it at `prices`.
pub async fn handle_cost(
    ledger: &Ledger,
    prices: &PriceTable,
    query_string: Option<&str>,
) -> http::Response<AdminBody> {
    let request = match parse_cost_query(query_string.unwrap_or(""), ledger.now()) {
        Ok(request) => request,
        Err(error) => return message(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    if let Err(error) = ledger.flush().await {
        return message(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string());
    }
    if request.progress {
        return stream_cost(ledger.clone(), *prices, request.query);
    }
    let ledger = ledger.clone();
    let prices = *prices;
    // Owner: this request, which awaits it. A summary cannot be interrupted; it is bounded by
    // the ledger's retention, and a client gone meanwhile only leaves its result unread.
    let summary = tokio::task::spawn_blocking(move || {
        ledger.summarize(&request.query, &prices, &mut |_, _| {})
    })
    .await;
    match summary {
        Ok(Ok(report)) => json_response(StatusCode::OK, report_json(&report)),
        Ok(Err(error)) => message(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        Err(join) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the cost summary did not finish: {join}"),
        ),
    }
}

/// Answers `GET /metrics`.
pub fn handle_metrics(metrics: &Metrics) -> http::Response<AdminBody> {
    response(
        StatusCode::OK,
        metrics::CONTENT_TYPE,
        Full::new(Bytes::from(metrics.render())),
    )
}

/// Parses a cost query string (without `?`), taking ages back from `now`.
pub fn parse_cost_query(query_string: &str, now: SystemTime) -> Result<CostRequest, QueryError> {
    let mut since = None;
    let mut until = None;
    let mut by = None;
    let mut progress = None;
    for pair in query_string.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name).ok_or_else(|| QueryError::Encoding {
            name: raw_name.to_owned(),
            value: raw_name.to_owned(),
        })?;
        let value = percent_decode(raw_value).ok_or_else(|| QueryError::Encoding {
            name: name.clone(),
            value: raw_value.to_owned(),
        })?;
        let slot = match name.as_str() {
            "since" => &mut since,
            "until" => &mut until,
            "by" => &mut by,
            "progress" => &mut progress,
            _ => return Err(QueryError::UnknownParameter { name }),
        };
        if slot.replace(value).is_some() {
            return Err(QueryError::RepeatedParameter { name });
        }
    }
    let since = parse_time("since", since.as_deref().unwrap_or("24h"), now)?;
    let until = match until {
        Some(until) => parse_time("until", &until, now)?,
        None => now,
    };
    if since >= until {
        return Err(QueryError::EmptyRange {
            since: format_rfc3339(since),
            until: format_rfc3339(until),
        });
    }
    let by = by.as_deref().unwrap_or("function").parse::<GroupBy>()?;
    let progress = match progress.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(QueryError::InvalidProgress {
                value: other.to_owned(),
            });
        }
    };
    Ok(CostRequest {
        query: CostQuery { since, until, by },
        progress,
    })
}

/// The NDJSON answer: progress lines from the summary's thread, then the report.
fn stream_cost(ledger: Ledger, prices: PriceTable, query: CostQuery) -> http::Response<AdminBody> {
    let (lines, receiver) = mpsc::channel(PROGRESS_LINES_QUEUED_MAX);
    // Owner: the answer's body, which reads its lines to the end. A summary cannot be
    // interrupted; a client gone meanwhile leaves it to finish (bounded by the ledger's
    // retention) sending into a closed channel.
    tokio::task::spawn_blocking(move || {
        let mut progress = |scanned, total| {
            // A slow client misses progress lines, never the report.
            let _ = lines.try_send(ndjson_line(&CostLine::Progress { scanned, total }));
        };
        let last = match ledger.summarize(&query, &prices, &mut progress) {
            Ok(report) => CostLine::Report(Box::new(report)),
            Err(error) => CostLine::Message(error.to_string()),
        };
        // A client that went away does not need the report.
        let _ = lines.blocking_send(ndjson_line(&last));
    });
    response(
        StatusCode::OK,
        "application/x-ndjson",
        ChannelBody { chunks: receiver },
    )
}

/// `since` or `until`: an age before `now` (`90s`, `30m`, `24h`, `7d`) or an RFC 3339 time.
fn parse_time(name: &'static str, text: &str, now: SystemTime) -> Result<SystemTime, QueryError> {
    let invalid = || QueryError::InvalidTime {
        name,
        value: text.to_owned(),
    };
    if let Some(age) = parse_age(text) {
        let age = age.ok_or_else(invalid)?;
        return now
            .checked_sub(age)
            .filter(|time| *time >= SystemTime::UNIX_EPOCH)
            .ok_or(QueryError::AgeTooLong { name, age });
    }
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid())?;
    Ok(SystemTime::from(time))
}

/// `Some(age)` when `text` looks like an age (digits then a unit), `Some(None)` when it
/// overflows, `None` when it is not an age at all.
fn parse_age(text: &str) -> Option<Option<Duration>> {
    let unit_seconds = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds));
    Some(seconds.map(Duration::from_secs))
}

/// Decodes `%XX` escapes; `None` for a broken escape or text that is not UTF-8. A `+` stays a
/// `+` (RFC 3986, not HTML forms), so RFC 3339 offsets pass unencoded.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(after.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &after[2..];
        } else {
            bytes.push(byte);
            rest = after;
        }
    }
    String::from_utf8(bytes).ok()
}

fn report_json(report: &CostReport) -> serde_json::Value {
    serde_json::to_value(report).expect("a cost report is plain data")
}

fn ndjson_line(line: &CostLine) -> Bytes {
    let mut text = serde_json::to_string(line).expect("a cost line is plain data");
    text.push('\n');
    Bytes::from(text)
}

fn json_response(status: StatusCode, value: serde_json::Value) -> http::Response<AdminBody> {
    response(
        status,
        "application/json",
        Full::new(Bytes::from(value.to_string())),
    )
}

fn message(status: StatusCode, text: &str) -> http::Response<AdminBody> {
    json_response(status, json!({ "message": text }))
}

fn response<B>(status: StatusCode, content_type: &'static str, body: B) -> http::Response<AdminBody>
where
    B: http_body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
{
    let mut response = http::Response::new(body.boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// A body of chunks sent from another task or thread (a cost report's lines, a backup's
/// chunks); it ends when the sender is dropped, and dropping it fails the sender's next send.
pub(crate) struct ChannelBody {
    pub(crate) chunks: mpsc::Receiver<Bytes>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.chunks
            .poll_recv(context)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }
}

#[cfg(test)]
mod tests;
