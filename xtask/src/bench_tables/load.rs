//! The load generator: N keep-alive HTTP/1.1 connections, each sending DynamoDB JSON requests
//! back to back (one in flight per connection) and timing each one.
//!
//! It runs on one client thread (a current-thread tokio runtime) so that most of the machine's
//! two cores are left to the server being measured. Every answer is checked: a status other than
//! 200, or a body without what the operation must return, counts as an error.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;

use super::workload::VERSION_PLACEHOLDER;

/// The last version written into a PutItem body; process-wide, so that no two requests of a run
/// (on any connection, in any measurement) put the same item twice.
static LAST_VERSION: AtomicU64 = AtomicU64::new(0);

/// A DynamoDB operation and what its answer must hold to count as a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateTable,
    DescribeTable,
    BatchWriteItem,
    PutItem,
    GetItem,
    Query { items_n: u32 },
}

impl Operation {
    /// The operation's name, as in `X-Amz-Target`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateTable => "CreateTable",
            Operation::DescribeTable => "DescribeTable",
            Operation::BatchWriteItem => "BatchWriteItem",
            Operation::PutItem => "PutItem",
            Operation::GetItem => "GetItem",
            Operation::Query { .. } => "Query",
        }
    }

    /// Whether a 200 answer's body is the answer the workload expects: GetItem finds its item,
    /// Query returns the whole partition, BatchWriteItem leaves nothing unprocessed.
    fn accepts(self, body: &[u8]) -> bool {
        match self {
            Operation::GetItem => contains(body, br#""Item":"#),
            Operation::Query { items_n } => {
                contains(body, format!(r#""Count":{items_n}"#).as_bytes())
            }
            Operation::BatchWriteItem => contains(body, br#""UnprocessedItems":{}"#),
            Operation::CreateTable | Operation::DescribeTable | Operation::PutItem => true,
        }
    }
}

/// How long one measurement runs.
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    /// Requests sent and answered before the measurement starts, then discarded.
    pub warmup: Duration,
    /// The measured window.
    pub measure: Duration,
}

/// What one measurement saw.
#[derive(Debug)]
pub struct Measured {
    /// Requests answered with the expected answer inside the measured window.
    pub n_ok: u64,
    /// Requests answered otherwise (or failed on the connection) inside the measured window.
    pub n_errors: u64,
    /// Requests answered with the expected answer from the start of the warm-up to the end.
    pub n_ok_total: u64,
    /// The first wrong answer seen (warm-up included), for the report.
    pub first_error: Option<String>,
    /// Each successful request's time from sending to the end of the answer, in microseconds,
    /// sorted.
    pub latencies_us: Vec<u32>,
    pub window: Duration,
}

impl Measured {
    pub fn ops_per_s(&self) -> f64 {
        self.n_ok as f64 / self.window.as_secs_f64()
    }

    /// The `q` quantile of the latencies (0.5 = median), in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        assert!((0.0..=1.0).contains(&q), "quantile {q} is not in 0..=1");
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[idx])
    }
}

/// Sends `bodies` (cycled) over `connections_n` connections for `phases.warmup` and then
/// `phases.measure`, and returns what the measured window saw.
pub fn measure(
    address: SocketAddr,
    operation: Operation,
    bodies: &[Bytes],
    connections_n: usize,
    phases: Phases,
) -> anyhow::Result<Measured> {
    assert!(!bodies.is_empty(), "no request bodies to send");
    assert!(connections_n > 0, "no connections");
    runtime()?.block_on(async {
        let headers = Headers::new(address, operation);
        let start = Instant::now();
        let measure_start = start + phases.warmup;
        let end = measure_start + phases.measure;
        let mut tasks = Vec::with_capacity(connections_n);
        for connection_idx in 0..connections_n {
            let sender = connect(address).await?;
            // Spread the connections over the bodies, so they do not all send the same key.
            let offset = connection_idx * bodies.len() / connections_n;
            let bodies: Vec<Bytes> = bodies[offset..]
                .iter()
                .chain(&bodies[..offset])
                .cloned()
                .collect();
            let headers = headers.clone();
            tasks.push(tokio::task::spawn_local(async move {
                drive(sender, headers, bodies, measure_start, end).await
            }));
        }
        let mut measured = Measured {
            n_ok: 0,
            n_errors: 0,
            n_ok_total: 0,
            first_error: None,
            latencies_us: Vec::new(),
            window: phases.measure,
        };
        for task in tasks {
            let connection = task.await.context("a load connection panicked")?;
            measured.n_ok += connection.latencies_us.len() as u64;
            measured.n_errors += connection.n_errors;
            measured.n_ok_total += connection.n_ok_total;
            measured.latencies_us.extend(connection.latencies_us);
            measured.first_error = measured.first_error.or(connection.first_error);
        }
        measured.latencies_us.sort_unstable();
        Ok(measured)
    })
}

/// Sends every body once, over `connections_n` connections, and fails on the first wrong answer.
/// Returns the last answer's body.
pub fn send_all(
    address: SocketAddr,
    operation: Operation,
    bodies: &[Bytes],
    connections_n: usize,
) -> anyhow::Result<Bytes> {
    assert!(connections_n > 0, "no connections");
    runtime()?.block_on(async {
        let headers = Headers::new(address, operation);
        let chunk_len = bodies.len().div_ceil(connections_n).max(1);
        let mut tasks = Vec::new();
        for chunk in bodies.chunks(chunk_len) {
            let mut sender = connect(address).await?;
            let headers = headers.clone();
            let chunk = chunk.to_vec();
            tasks.push(tokio::task::spawn_local(async move {
                let mut last = Bytes::new();
                for body in chunk {
                    last = send(&mut sender, &headers, body)
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
                anyhow::Ok(last)
            }));
        }
        let mut last = Bytes::new();
        for task in tasks {
            last = task.await.context("a load connection panicked")??;
        }
        Ok(last)
    })
}

/// A current-thread runtime whose futures run inside a `LocalSet`, so that the connections can be
/// spawned as local tasks on the one client thread.
struct LocalRuntime {
    runtime: tokio::runtime::Runtime,
}

impl LocalRuntime {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        tokio::task::LocalSet::new().block_on(&self.runtime, future)
    }
}

fn runtime() -> anyhow::Result<LocalRuntime> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the load generator's runtime")?;
    Ok(LocalRuntime { runtime })
}

/// The headers every request of one operation carries.
#[derive(Clone)]
struct Headers {
    operation: Operation,
    host: HeaderValue,
    target: HeaderValue,
    date: HeaderValue,
    authorization: HeaderValue,
}

impl Headers {
    /// Headers of a SigV4-signed request. The signature is well-formed but not computed: both
    /// servers are run in their accept-any-credentials mode, where it is not checked.
    fn new(address: SocketAddr, operation: Operation) -> Headers {
        let now = time::OffsetDateTime::from(SystemTime::now());
        let date = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDRONDOBENCH/{}/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        let value = |text: &str| HeaderValue::from_str(text).expect("ASCII without controls");
        Headers {
            operation,
            host: value(&address.to_string()),
            target: value(&format!("DynamoDB_20120810.{}", operation.name())),
            date: value(&date),
            authorization: value(&authorization),
        }
    }
}

/// One connection's results.
struct ConnectionResult {
    latencies_us: Vec<u32>,
    n_ok_total: u64,
    n_errors: u64,
    first_error: Option<String>,
}

async fn drive(
    mut sender: SendRequest<Full<Bytes>>,
    headers: Headers,
    bodies: Vec<Bytes>,
    measure_start: Instant,
    end: Instant,
) -> ConnectionResult {
    let mut result = ConnectionResult {
        latencies_us: Vec::new(),
        n_ok_total: 0,
        n_errors: 0,
        first_error: None,
    };
    for body in bodies.iter().cycle() {
        let body = with_new_version(body);
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let answer = send(&mut sender, &headers, body).await;
        let done = Instant::now();
        let in_window = sent >= measure_start && done <= end;
        result.n_ok_total += u64::from(answer.is_ok());
        match answer {
            Ok(_) if in_window => {
                let micros = done.duration_since(sent).as_micros();
                result
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok(_) => {}
            Err(error) => {
                result.n_errors += u64::from(in_window);
                result.first_error.get_or_insert(error);
                if sender.is_closed() {
                    break;
                }
            }
        }
    }
    result
}

/// Sends one request and checks its answer; the error is a description of the wrong answer.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    headers: &Headers,
    body: Bytes,
) -> Result<Bytes, String> {
    let operation_name = headers.operation.name();
    let request = hyper::Request::post("/")
        .header(HOST, headers.host.clone())
        .header(CONTENT_TYPE, "application/x-amz-json-1.0")
        .header("x-amz-target", headers.target.clone())
        .header("x-amz-date", headers.date.clone())
        .header(AUTHORIZATION, headers.authorization.clone())
        .body(Full::new(body))
        .map_err(|error| format!("cannot build a request: {error}"))?;
    sender
        .ready()
        .await
        .map_err(|error| format!("connection lost: {error}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("{operation_name}: no answer: {error}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("{operation_name}: answer cut short: {error}"))?
        .to_bytes();
    if status != hyper::StatusCode::OK || !headers.operation.accepts(&body) {
        return Err(format!(
            "{operation_name}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    Ok(body)
}

async fn connect(address: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("HTTP handshake with {address}"))?;
    tokio::task::spawn_local(async move {
        // The connection ends when the server closes it; the requests on it report that.
        let _ = connection.await;
    });
    if sender.is_closed() {
        bail!("{address} closed the connection at once");
    }
    Ok(sender)
}

/// `body` with its [`VERSION_PLACEHOLDER`], if it has one, replaced by a new version; other
/// bodies are returned as they are.
fn with_new_version(body: &Bytes) -> Bytes {
    let Some(offset) = find(body, VERSION_PLACEHOLDER) else {
        return body.clone();
    };
    let version = LAST_VERSION.fetch_add(1, Ordering::Relaxed) + 1;
    let digits = format!("{version:010}");
    debug_assert_eq!(digits.len(), VERSION_PLACEHOLDER.len());
    let mut bytes = BytesMut::from(&body[..]);
    bytes[offset..offset + digits.len()].copy_from_slice(digits.as_bytes());
    bytes.freeze()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests;
