//! `cargo xtask soak --minutes N [--out DIR]`: mixed load on two `rondo dev` nodes for N minutes,
//! watching that the nodes' resources stay flat and their answers stay right and quick.
//!
//! The nodes run in release on fresh copies of `examples/cart` (wasm functions) and
//! `examples/cart-python` (Python process functions), each on 127.0.0.1 ephemeral ports with its
//! data folder in a temporary directory. The load, paced rather than flat out (a soak looks for
//! leaks and drift, not for the peak), on each node:
//!
//! - carts: a WebSocket client per cart and an adder posting `POST /carts/{id}/items` and reading
//!   `GET /carts/{id}` through the gateway; each add's count must reach the cart's client as a
//!   push (the `carts` stream's trigger runs `cart-status`), checked at the end;
//! - WebSocket churn: a client connects, asks its cart's status, and leaves (`$connect`,
//!   `$disconnect`);
//! - DynamoDB: PutItem, GetItem and now and then a Query on the `carts` table through the AWS
//!   endpoint, over a bounded set of keys (so the data does not grow), each write a stream record;
//! - async Invoke: `cart-status` with a stream batch and `X-Amz-Invocation-Type: Event` (202).
//!
//! Every few seconds it samples each node: resident memory (`VmRSS`), open descriptors, threads,
//! tokio's alive tasks (`rondo_tokio_alive_tasks` from `GET /metrics`), the node's child processes
//! (Python functions) and their memory, and the window's request latencies and errors. At the end
//! it reads every failed or throttled invocation from `GET /metrics`, judges the run, prints the
//! verdict, writes `soak.csv` and `soak.svg` into the output folder, and fails when the verdict is
//! a failure.
//!
//! The verdict: after a warm-up (the first 20 % of the run), the mean of the last 20 % of the
//! samples must be within 10 % (plus a small absolute slack for small counts) of the mean of the
//! first 20 %, for memory, descriptors, threads and tasks; there must be no unexpected error (the
//! load provokes none); and the p99 of the last 20 % must be within 3x (or 5 ms more) of the
//! p99 of the first 20 %.

mod chart;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::header::HOST;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::{Listener, Server, run, start_rondo_dev};

/// How often each node is sampled; each sample closes a latency window.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// The bound on every request, WebSocket answer and connect: a slower one is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long, once the load stopped, a cart's client may wait for its last count.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// The share of the run counted as warm-up, and of the rest compared at each end.
const WARMUP_SHARE: f64 = 0.2;
const ENDS_SHARE: f64 = 0.2;

/// How much a resource's mean may grow from the first to the last fifth.
const GROWTH_MAX: f64 = 0.10;

/// How much the p99 may grow from the first to the last fifth: a factor, or an absolute step,
/// whichever allows more (sub-millisecond p99s on a shared machine move by milliseconds).
const P99_FACTOR_MAX: f64 = 3.0;
const P99_STEP_MAX_US: u64 = 5_000;

/// The shortest run: the verdict needs a few samples after the warm-up.
const MINUTES_MIN: f64 = 0.5;

/// The DynamoDB workers write over this many carts each, so the table does not grow.
const DYNAMODB_CARTS_N: u64 = 50;

/// One node's load: how many of each worker, and their pace (the pause after each round).
struct Load {
    carts_n: usize,
    cart_pause: Duration,
    churn_pause: Duration,
    dynamodb_n: usize,
    dynamodb_pause: Duration,
    invoke_pause: Duration,
}

/// The wasm cart: cheap functions, a brisker pace.
const CART_LOAD: Load = Load {
    carts_n: 4,
    cart_pause: Duration::from_millis(40),
    churn_pause: Duration::from_millis(1000),
    dynamodb_n: 2,
    dynamodb_pause: Duration::from_millis(40),
    invoke_pause: Duration::from_millis(200),
};

/// The Python cart: each invocation is a message to a Python process, so a gentler pace.
const PYTHON_LOAD: Load = Load {
    carts_n: 2,
    cart_pause: Duration::from_millis(150),
    churn_pause: Duration::from_millis(2000),
    dynamodb_n: 1,
    dynamodb_pause: Duration::from_millis(100),
    invoke_pause: Duration::from_millis(500),
};

/// Runs the soak: `args` are what follows `soak` on the command line.
pub fn soak(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let options = Options::parse(root, args)?;
    if cfg!(debug_assertions) {
        return rerun_in_release(root, args);
    }
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let work = std::env::temp_dir().join("rondo-soak");
    let fresh = fresh_dir(&work.join("apps"))?;
    let cart_app = fresh.join("cart");
    let python_app = fresh.join("cart-python");
    copy_tree(&root.join("examples/cart"), &cart_app)?;
    copy_tree(&root.join("examples/cart-python"), &python_app)?;
    // Shared with `bench lambda` and `bench scaling`: the Python tools install once.
    let tools = std::env::temp_dir().join("rondo-bench").join("tools");
    let cart = Node::start("cart", &rondo, &cart_app, &[], CART_LOAD)?;
    let python = Node::start(
        "cart-python",
        &rondo,
        &python_app,
        &[OsStr::new("--tools"), tools.as_os_str()],
        PYTHON_LOAD,
    )?;
    let nodes = [cart, python];
    for node in &nodes {
        println!(
            "{}: rondo dev (pid {}) gateway {}, aws endpoint {}",
            node.name,
            node.pid(),
            node.gateway,
            node.aws
        );
    }
    let load_before = load_average();
    println!(
        "soaking for {:.1} min, sampling every {:?}; load average before: {load_before}",
        options.minutes, SAMPLE_INTERVAL
    );
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's runtime")?;
    let run_for = Duration::from_secs_f64(options.minutes * 60.0);
    let outcome =
        tokio::task::LocalSet::new().block_on(&runtime, drive_all(&nodes, run_for, started));
    let load_after = load_average();
    let report = Report {
        options: &options,
        ran: started.elapsed(),
        load_before,
        load_after,
        outcome,
    };
    report.write_files()?;
    report.print_and_judge()
}

/// The checked command line.
struct Options {
    minutes: f64,
    out: PathBuf,
}

impl Options {
    fn parse(root: &Path, args: &[&str]) -> anyhow::Result<Options> {
        let mut minutes = None;
        let mut out = std::env::temp_dir().join("rondo-soak").join("out");
        let mut rest = args;
        while let [flag, value, tail @ ..] = rest {
            match *flag {
                "--minutes" => {
                    let parsed: f64 = value
                        .parse()
                        .with_context(|| format!("--minutes {value:?} is not a number"))?;
                    minutes = Some(parsed);
                }
                "--out" => out = root.join(value),
                _ => bail!("soak: unknown option {flag:?}"),
            }
            rest = tail;
        }
        if let [extra, ..] = rest {
            bail!("soak: {extra:?} lacks a value");
        }
        let minutes = minutes.context("soak: --minutes N is required")?;
        if !(minutes >= MINUTES_MIN && minutes.is_finite()) {
            bail!("soak: --minutes must be at least {MINUTES_MIN}, got {minutes}");
        }
        Ok(Options { minutes, out })
    }
}

/// Builds xtask in release and runs `soak` from that build, so the load generator is optimized.
fn rerun_in_release(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    println!("building xtask (release) for the load generator...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "xtask"])
        .current_dir(root))?;
    run(Command::new(root.join("target/release/xtask"))
        .arg("soak")
        .args(args)
        .current_dir(root))
}

/// One `rondo dev` and its load.
struct Node {
    name: &'static str,
    server: Server,
    gateway: SocketAddr,
    aws: SocketAddr,
    load: Load,
}

impl Node {
    fn start(
        name: &'static str,
        rondo: &Path,
        app: &Path,
        extra_args: &[&OsStr],
        load: Load,
    ) -> anyhow::Result<Node> {
        // The gateway's banner line comes first; the AWS endpoint's is the next one.
        let (sender, receiver) = mpsc::channel();
        let sender = std::sync::Mutex::new(sender);
        let (server, gateway) =
            start_rondo_dev(rondo, app, extra_args, Listener::Gateway, move |line| {
                if let Some(address) = line.trim().strip_prefix("aws endpoint") {
                    let address = address.trim().trim_start_matches("http://").to_owned();
                    if let Ok(sender) = sender.lock() {
                        let _ = sender.send(address);
                    }
                } else if !is_banner_line(line) {
                    print_rondo_line(name, line);
                }
            })?;
        let aws = receiver
            .recv_timeout(Duration::from_secs(30))
            .with_context(|| format!("{name}: rondo dev printed no `aws endpoint` line"))?;
        let aws = aws
            .parse()
            .with_context(|| format!("{name}: {aws:?} is not an address"))?;
        Ok(Node {
            name,
            server,
            gateway,
            aws,
            load,
        })
    }

    fn pid(&self) -> u32 {
        self.server.0.id()
    }
}

/// Whether a line rondo prints on stderr is one of its banner's.
fn is_banner_line(line: &str) -> bool {
    let line = line.trim_start();
    ["table ", "route ", "websocket ", "static ", "trigger "]
        .iter()
        .any(|start| line.starts_with(start))
}

#[expect(
    clippy::print_stderr,
    reason = "rondo's own messages are passed on as a command-line tool's output"
)]
fn print_rondo_line(name: &str, line: &str) {
    eprintln!("  {name}: {line}");
}

fn load_average() -> String {
    // The machine is shared: the load beside the run is part of its result.
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn fresh_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_owned())
}

/// Copies an example without what builds and earlier runs left in it.
fn copy_tree(source: &Path, destination: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(destination)?;
    for entry in
        std::fs::read_dir(source).with_context(|| format!("reading {}", source.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".rondo" || name == "target" || name == "__pycache__" {
            continue;
        }
        let from = entry.path();
        let to = destination.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(())
}

/// What the load saw on one node within the current window, and in all.
#[derive(Default)]
struct Tally {
    window_latency_us: Vec<u64>,
    window_errors_n: u64,
    ops_n: u64,
    errors_n: u64,
    /// The first errors' messages, by kind of operation.
    first_errors: BTreeMap<&'static str, Vec<String>>,
    pushes_n: u64,
}

const FIRST_ERRORS_KEPT: usize = 3;

impl Tally {
    fn record(&mut self, kind: &'static str, started: Instant, result: anyhow::Result<()>) {
        self.ops_n += 1;
        match result {
            Ok(()) => self.window_latency_us.push(micros_since(started)),
            Err(error) => self.error(kind, &error),
        }
    }

    fn error(&mut self, kind: &'static str, error: &anyhow::Error) {
        self.errors_n += 1;
        self.window_errors_n += 1;
        let kept = self.first_errors.entry(kind).or_default();
        if kept.len() < FIRST_ERRORS_KEPT {
            kept.push(format!("{error:#}"));
        }
    }
}

type Shared = Rc<RefCell<Tally>>;

fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// One node's sample.
#[derive(Clone, Debug)]
struct Sample {
    elapsed_s: f64,
    rss_kb: u64,
    fds_n: u64,
    threads_n: u64,
    /// `None` when the node's metrics did not answer.
    tasks_n: Option<u64>,
    children_n: u64,
    children_rss_kb: u64,
    ops_n: u64,
    errors_n: u64,
    p50_us: u64,
    p99_us: u64,
}

/// What a panel or a check reads from a sample (`None`: not sampled).
type Measure = fn(&Sample) -> Option<f64>;

/// What the run produced, per node.
struct NodeOutcome {
    name: &'static str,
    samples: Vec<Sample>,
    /// Each window's latencies, sorted, in the order of `samples`.
    windows: Vec<Vec<u64>>,
    tally: Tally,
    /// `(function, outcome) → n` of invocations that did not succeed, from `/metrics`.
    failed_invocations: BTreeMap<String, f64>,
}

/// Runs every node's load and the sampler until `run_for` has passed, then checks the pushes
/// and reads the metrics.
async fn drive_all(nodes: &[Node], run_for: Duration, started: Instant) -> Vec<NodeOutcome> {
    let until = started + run_for;
    let tallies: Vec<Shared> = nodes.iter().map(|_| Shared::default()).collect();
    let mut workers = tokio::task::JoinSet::new();
    for (node, tally) in nodes.iter().zip(&tallies) {
        spawn_workers(&mut workers, node, tally, until);
    }
    let mut samples: Vec<Vec<Sample>> = nodes.iter().map(|_| Vec::new()).collect();
    let mut windows: Vec<Vec<Vec<u64>>> = nodes.iter().map(|_| Vec::new()).collect();
    let mut next = started + SAMPLE_INTERVAL;
    while next <= until {
        tokio::time::sleep_until(next.into()).await;
        for (node_idx, node) in nodes.iter().enumerate() {
            let (sample, window) = take_sample(node, &tallies[node_idx], started).await;
            samples[node_idx].push(sample);
            windows[node_idx].push(window);
        }
        print_progress(nodes, &samples);
        next += SAMPLE_INTERVAL;
    }
    // The workers stop by themselves at `until`, then wait (bounded) for their last pushes.
    while workers.join_next().await.is_some() {}
    let mut outcomes = Vec::new();
    for ((node, tally), (samples, windows)) in nodes
        .iter()
        .zip(tallies)
        .zip(samples.into_iter().zip(windows))
    {
        let failed_invocations = match failed_invocations(node.aws).await {
            Ok(failed) => failed,
            Err(error) => {
                tally.borrow_mut().error("metrics", &error);
                BTreeMap::new()
            }
        };
        outcomes.push(NodeOutcome {
            name: node.name,
            samples,
            windows,
            tally: tally.take(),
            failed_invocations,
        });
    }
    outcomes
}

fn spawn_workers(
    workers: &mut tokio::task::JoinSet<()>,
    node: &Node,
    tally: &Shared,
    until: Instant,
) {
    let load = &node.load;
    for cart_idx in 0..load.carts_n {
        let cart_id = format!("soak-{cart_idx}");
        let (gateway, tally, pause) = (node.gateway, Rc::clone(tally), load.cart_pause);
        // Owner: `workers`, joined by `drive_all`; the worker ends at `until`.
        workers.spawn_local(cart_worker(gateway, cart_id, tally, pause, until));
    }
    let (gateway, churn_tally, pause) = (node.gateway, Rc::clone(tally), load.churn_pause);
    // Owner: `workers`, joined by `drive_all`; the worker ends at `until`.
    workers.spawn_local(churn_worker(gateway, churn_tally, pause, until));
    for worker_idx in 0..load.dynamodb_n {
        let (aws, tally, pause) = (node.aws, Rc::clone(tally), load.dynamodb_pause);
        // Owner: `workers`, joined by `drive_all`; the worker ends at `until`.
        workers.spawn_local(dynamodb_worker(aws, worker_idx, tally, pause, until));
    }
    let (aws, invoke_tally, pause) = (node.aws, Rc::clone(tally), load.invoke_pause);
    // Owner: `workers`, joined by `drive_all`; the worker ends at `until`.
    workers.spawn_local(invoke_worker(aws, invoke_tally, pause, until));
}

/// One cart: its client watches the pushes while its adder adds and reads; at the end the last
/// count must have been pushed.
async fn cart_worker(
    gateway: SocketAddr,
    cart_id: String,
    tally: Shared,
    pause: Duration,
    until: Instant,
) {
    let connected = Instant::now();
    let watcher = match Watcher::connect(gateway, &cart_id).await {
        Ok(watcher) => {
            tally.borrow_mut().record("websocket", connected, Ok(()));
            watcher
        }
        Err(error) => {
            tally.borrow_mut().error("websocket", &error);
            return;
        }
    };
    let mut client = Client::new(gateway);
    let add_path = format!("/carts/{cart_id}/items");
    let cart_path = format!("/carts/{cart_id}");
    let mut last_count = 0;
    while Instant::now() < until {
        let started = Instant::now();
        let added = client
            .call(Call::post_json(
                &add_path,
                r#"{"itemId":"sencha","quantity":1}"#,
            ))
            .await
            .and_then(|body| count_in(&body));
        match added {
            Ok(count) => {
                last_count = last_count.max(count);
                tally.borrow_mut().record("http", started, Ok(()));
            }
            Err(error) => tally.borrow_mut().record("http", started, Err(error)),
        }
        let started = Instant::now();
        let shown = client
            .call(Call::get(&cart_path))
            .await
            .and_then(|body| count_in(&body))
            .and_then(|count| {
                if count < last_count {
                    bail!("GET {cart_path} showed count {count} after an add answered {last_count}")
                }
                Ok(())
            });
        tally.borrow_mut().record("http", started, shown);
        tokio::time::sleep(pause).await;
    }
    let told = watcher.wait_for(last_count).await;
    let mut tally = tally.borrow_mut();
    tally.pushes_n += watcher.pushes_n();
    if let Err(error) = told {
        tally.error("push", &error.context(format!("cart {cart_id}")));
    }
}

/// Connects a client for a fresh cart, asks its status, and leaves, again and again.
async fn churn_worker(gateway: SocketAddr, tally: Shared, pause: Duration, until: Instant) {
    let mut visit_idx: u64 = 0;
    while Instant::now() < until {
        let started = Instant::now();
        let cart_id = format!("churn-{visit_idx}");
        let visit = async {
            let watcher = Watcher::connect(gateway, &cart_id).await?;
            watcher.close().await
        };
        let result = tokio::time::timeout(REQUEST_TIMEOUT, visit)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a visit took over {REQUEST_TIMEOUT:?}")));
        tally.borrow_mut().record("websocket", started, result);
        visit_idx += 1;
        tokio::time::sleep(pause).await;
    }
}

/// PutItem, GetItem and every tenth round a Query on the `carts` table, over a bounded key set.
async fn dynamodb_worker(
    aws: SocketAddr,
    worker_idx: usize,
    tally: Shared,
    pause: Duration,
    until: Instant,
) {
    let mut client = Client::new(aws);
    let mut round: u64 = 0;
    while Instant::now() < until {
        let cart_id = format!("ddb-{worker_idx}-{}", round % DYNAMODB_CARTS_N);
        let key = json!({ "cartId": { "S": cart_id }, "itemId": { "S": "matcha" } });
        let quantity = round % 1000 + 1;
        let mut item = key.clone();
        item["quantity"] = json!({ "N": quantity.to_string() });
        let started = Instant::now();
        let put = client
            .call(Call::dynamodb(
                "PutItem",
                &json!({ "TableName": "carts", "Item": item }),
            ))
            .await
            .map(drop);
        tally.borrow_mut().record("dynamodb", started, put);
        let started = Instant::now();
        let got = client
            .call(Call::dynamodb(
                "GetItem",
                &json!({ "TableName": "carts", "Key": key, "ConsistentRead": true }),
            ))
            .await
            .and_then(|body| check_quantity(&body, quantity));
        tally.borrow_mut().record("dynamodb", started, got);
        if round.is_multiple_of(10) {
            let started = Instant::now();
            let query = json!({
                "TableName": "carts",
                "KeyConditionExpression": "cartId = :id",
                "ExpressionAttributeValues": { ":id": { "S": cart_id } },
            });
            let queried = client.call(Call::dynamodb("Query", &query)).await.map(drop);
            tally.borrow_mut().record("dynamodb", started, queried);
        }
        round += 1;
        tokio::time::sleep(pause).await;
    }
}

fn check_quantity(body: &Bytes, quantity: u64) -> anyhow::Result<()> {
    let answer: Value = serde_json::from_slice(body).context("GetItem: the answer is not JSON")?;
    let read = answer["Item"]["quantity"]["N"].as_str();
    if read != Some(quantity.to_string().as_str()) {
        bail!("GetItem read quantity {read:?} after PutItem wrote {quantity}");
    }
    Ok(())
}

/// Invokes `cart-status` asynchronously with a stream batch naming a DynamoDB worker's cart
/// (which no client watches, so the function reads the cart and pushes nothing).
async fn invoke_worker(aws: SocketAddr, tally: Shared, pause: Duration, until: Instant) {
    let mut client = Client::new(aws);
    let batch = json!({ "Records": [{
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": { "Keys": { "cartId": { "S": "ddb-0-0" }, "itemId": { "S": "matcha" } } },
    }] })
    .to_string();
    while Instant::now() < until {
        let started = Instant::now();
        let call = Call {
            method: hyper::Method::POST,
            path: "/2015-03-31/functions/cart-status/invocations".to_owned(),
            headers: vec![("x-amz-invocation-type", "Event".to_owned())],
            body: Bytes::from(batch.clone()),
            expect: StatusCode::ACCEPTED,
        };
        let result = client.call(call).await.map(drop);
        tally.borrow_mut().record("invoke", started, result);
        tokio::time::sleep(pause).await;
    }
}

/// The `count` of an answer or a push: `{"cartId", "count", ..}`.
fn count_in(body: &[u8]) -> anyhow::Result<u64> {
    let value: Value = serde_json::from_slice(body).context("the answer is not JSON")?;
    value["count"].as_u64().with_context(|| {
        format!(
            "no count in {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// One HTTP request and the status it must get.
struct Call {
    method: hyper::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    expect: StatusCode,
}

impl Call {
    fn get(path: &str) -> Call {
        Call {
            method: hyper::Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            expect: StatusCode::OK,
        }
    }

    fn post_json(path: &str, body: &'static str) -> Call {
        Call {
            method: hyper::Method::POST,
            path: path.to_owned(),
            headers: vec![("content-type", "application/json".to_owned())],
            body: Bytes::from_static(body.as_bytes()),
            expect: StatusCode::OK,
        }
    }

    fn dynamodb(operation: &str, request: &Value) -> Call {
        Call {
            method: hyper::Method::POST,
            path: "/".to_owned(),
            headers: vec![
                ("content-type", "application/x-amz-json-1.0".to_owned()),
                ("x-amz-target", format!("DynamoDB_20120810.{operation}")),
            ],
            body: Bytes::from(request.to_string()),
            expect: StatusCode::OK,
        }
    }
}

/// A keep-alive HTTP/1.1 client of one address, one request at a time, reconnecting after a
/// failure.
struct Client {
    address: SocketAddr,
    connection: Option<(
        hyper::client::conn::http1::SendRequest<Full<Bytes>>,
        hyper::header::HeaderValue,
    )>,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        Client {
            address,
            connection: None,
        }
    }

    /// Sends `call` within [`REQUEST_TIMEOUT`] and returns the answer's body; another status than
    /// the expected one is an error quoting the body.
    async fn call(&mut self, call: Call) -> anyhow::Result<Bytes> {
        let what = format!("{} {}", call.method, call.path);
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.send(call))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}")));
        if result.is_err() {
            // The connection may be mid-request or broken: start afresh.
            self.connection = None;
        }
        result.with_context(|| what)
    }

    async fn send(&mut self, call: Call) -> anyhow::Result<Bytes> {
        if self.connection.is_none() {
            self.connection = Some(crate::bench::open_http1(self.address).await?);
        }
        let (sender, host) = self
            .connection
            .as_mut()
            .context("the connection was just opened")?;
        let mut request = hyper::Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(HOST, host.clone());
        for (name, value) in call.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(call.body))
            .context("cannot build a request")?;
        sender.ready().await.context("connection lost")?;
        let response = sender.send_request(request).await.context("no answer")?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .context("answer cut short")?
            .to_bytes();
        if status != call.expect {
            bail!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(body)
    }
}

/// A cart's WebSocket client: it asked for the cart's status and records every count pushed.
struct Watcher {
    told: Rc<RefCell<(u64, u64)>>,
    reader: tokio::task::JoinHandle<anyhow::Result<()>>,
    closer: Option<futures_util::stream::SplitSink<WebSocket, Message>>,
}

type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Watcher {
    async fn connect(gateway: SocketAddr, cart_id: &str) -> anyhow::Result<Watcher> {
        let url = format!("ws://{gateway}/ws?cartId={cart_id}");
        let connect = tokio_tungstenite::connect_async_with_config(&url, None, true);
        let (socket, _) = tokio::time::timeout(REQUEST_TIMEOUT, connect)
            .await
            .with_context(|| format!("WebSocket {url}: no handshake within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("WebSocket {url}"))?;
        let (mut sink, mut stream) = socket.split();
        sink.send(Message::text(json!({ "action": "status" }).to_string()))
            .await
            .with_context(|| format!("asking {url} for the status"))?;
        let first = tokio::time::timeout(REQUEST_TIMEOUT, stream.next())
            .await
            .with_context(|| format!("{url} did not answer the status question"))?;
        let count = match first {
            Some(Ok(Message::Text(text))) => count_in(text.as_bytes())?,
            other => bail!("{url} answered the status question with {other:?}"),
        };
        // (the highest count told, how many pushes)
        let told = Rc::new(RefCell::new((count, 0)));
        let recorded = Rc::clone(&told);
        // Owner: the `Watcher`, which aborts it when closed or dropped.
        let reader = tokio::task::spawn_local(async move {
            while let Some(message) = stream.next().await {
                match message.context("the WebSocket broke")? {
                    Message::Text(text) => {
                        let count = count_in(text.as_bytes())?;
                        let mut told = recorded.borrow_mut();
                        told.0 = told.0.max(count);
                        told.1 += 1;
                    }
                    Message::Close(_) => bail!("the server closed the WebSocket"),
                    _ => {}
                }
            }
            bail!("the WebSocket ended")
        });
        Ok(Watcher {
            told,
            reader,
            closer: Some(sink),
        })
    }

    fn pushes_n(&self) -> u64 {
        self.told.borrow().1
    }

    /// Waits until the client has been told `count` or more, within [`PUSH_TIMEOUT`]; an ended
    /// socket is an error.
    async fn wait_for(&self, count: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + PUSH_TIMEOUT;
        loop {
            let told = self.told.borrow().0;
            if told >= count {
                return Ok(());
            }
            if self.reader.is_finished() {
                bail!("the client's WebSocket ended at count {told}, before count {count}");
            }
            if Instant::now() > deadline {
                bail!("the client was told count {told}, not {count}, within {PUSH_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes the connection as a page does when its tab closes.
    async fn close(mut self) -> anyhow::Result<()> {
        if let Some(mut sink) = self.closer.take() {
            sink.send(Message::Close(None))
                .await
                .context("closing the WebSocket")?;
        }
        Ok(())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Samples `node`'s process and metrics, and closes its latency window.
async fn take_sample(node: &Node, tally: &Shared, started: Instant) -> (Sample, Vec<u64>) {
    let pid = node.pid();
    let status = proc_status(pid).unwrap_or_default();
    let fds_n = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count() as u64);
    let (children_n, children_rss_kb) = descendants(pid);
    let tasks_n = match metrics_text(node.aws).await {
        Ok(text) => metric_sum(&text, "rondo_tokio_alive_tasks", |_| true).map(|n| n as u64),
        Err(error) => {
            tally.borrow_mut().error("metrics", &error);
            None
        }
    };
    let mut tally = tally.borrow_mut();
    let mut window = std::mem::take(&mut tally.window_latency_us);
    window.sort_unstable();
    let sample = Sample {
        elapsed_s: started.elapsed().as_secs_f64(),
        rss_kb: status.get("VmRSS").copied().unwrap_or(0),
        fds_n,
        threads_n: status.get("Threads").copied().unwrap_or(0),
        tasks_n,
        children_n,
        children_rss_kb,
        ops_n: window.len() as u64 + tally.window_errors_n,
        errors_n: std::mem::take(&mut tally.window_errors_n),
        p50_us: quantile(&window, 0.5),
        p99_us: quantile(&window, 0.99),
    };
    (sample, window)
}

/// The numeric fields of `/proc/PID/status` (`VmRSS` in kB, `Threads`, ...).
fn proc_status(pid: u32) -> anyhow::Result<BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let number = value.split_whitespace().next()?.parse().ok()?;
            Some((name.to_owned(), number))
        })
        .collect())
}

/// How many processes descend from `pid` (the Python functions, their sandboxes), and their
/// resident memory in kB.
fn descendants(pid: u32) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return (0, 0);
    };
    let mut parents = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|stat| {
                let rest = stat.rsplit_once(')')?.1.to_owned();
                rest.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if let Some(parent) = parent {
            parents.insert(child, parent);
        }
    }
    let is_descendant = |mut process: u32| {
        // A bounded walk up: /proc's tree has no cycles, the bound guards a torn read.
        for _ in 0..64 {
            match parents.get(&process) {
                Some(&parent) if parent == pid => return true,
                Some(&parent) if parent > 1 => process = parent,
                _ => return false,
            }
        }
        false
    };
    let mut n = 0;
    let mut rss_kb = 0;
    for &process in parents.keys() {
        if is_descendant(process) {
            n += 1;
            let status = proc_status(process).unwrap_or_default();
            rss_kb += status.get("VmRSS").copied().unwrap_or(0);
        }
    }
    (n, rss_kb)
}

/// `GET /metrics` on the AWS endpoint, on a fresh connection.
async fn metrics_text(aws: SocketAddr) -> anyhow::Result<String> {
    let body = Client::new(aws).call(Call::get("/metrics")).await?;
    String::from_utf8(body.to_vec()).context("the metrics are not UTF-8")
}

/// The sum of the samples of `name` whose label text (`{..}`, or empty) passes `keep`; `None`
/// when there is no such sample.
fn metric_sum(text: &str, name: &str, keep: impl Fn(&str) -> bool) -> Option<f64> {
    let mut sum = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(labelled) => match labelled.split_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        if let (true, Some(value)) = (
            keep(labels),
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok()),
        ) {
            sum = Some(sum.unwrap_or(0.0) + value);
        }
    }
    sum
}

/// Every invocation that did not succeed and every throttle, by function and outcome.
async fn failed_invocations(aws: SocketAddr) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = metrics_text(aws).await?;
    let mut failed = BTreeMap::new();
    for line in text.lines() {
        let is_failure = (line.starts_with("rondo_invocations_total{")
            && !line.contains("outcome=\"success\""))
            || line.starts_with("rondo_throttles_total{");
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let value: f64 = value.parse().unwrap_or(0.0);
        if is_failure && value > 0.0 {
            failed.insert(series.to_owned(), value);
        }
    }
    Ok(failed)
}

/// The `q` quantile (0.5 = median) of sorted values, by nearest rank; 0 when there are none.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    assert!((0.0..=1.0).contains(&q), "quantile {q} is not in 0..=1");
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0;
    };
    sorted[(last as f64 * q).round() as usize]
}

fn print_progress(nodes: &[Node], samples: &[Vec<Sample>]) {
    // Every sixth sample (30 s), so a long run's output stays readable.
    let samples_n = samples.first().map_or(0, Vec::len);
    if samples_n % 6 != 1 {
        return;
    }
    let mut line = String::new();
    for (node, samples) in nodes.iter().zip(samples) {
        if let Some(sample) = samples.last() {
            let _ = write!(
                line,
                "  {}: rss {} MB, {} fds, {} threads, {} tasks, {} children, {} ops, {} errors, p99 {};",
                node.name,
                sample.rss_kb / 1024,
                sample.fds_n,
                sample.threads_n,
                sample
                    .tasks_n
                    .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                sample.children_n,
                sample.ops_n,
                sample.errors_n,
                crate::bench::micros(sample.p99_us as f64),
            );
        }
    }
    let elapsed = samples
        .first()
        .and_then(|samples| samples.last())
        .map_or(0.0, |sample| sample.elapsed_s);
    println!("[{elapsed:>6.0} s]{line}");
}

/// The run's results, judged.
struct Report<'a> {
    options: &'a Options,
    ran: Duration,
    load_before: String,
    load_after: String,
    outcome: Vec<NodeOutcome>,
}

/// One check of the verdict.
struct Check {
    node: &'static str,
    what: String,
    passed: bool,
}

impl Report<'_> {
    fn write_files(&self) -> anyhow::Result<()> {
        let out = &self.options.out;
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let csv = out.join("soak.csv");
        std::fs::write(&csv, self.csv()).with_context(|| format!("writing {}", csv.display()))?;
        let svg = out.join("soak.svg");
        let series: Vec<chart::Series> = self
            .outcome
            .iter()
            .map(|node| chart::Series {
                name: node.name,
                samples: &node.samples,
            })
            .collect();
        let warmup_s = self.ran.as_secs_f64() * WARMUP_SHARE;
        std::fs::write(&svg, chart::svg(&series, warmup_s))
            .with_context(|| format!("writing {}", svg.display()))?;
        println!("wrote {} and {}", csv.display(), svg.display());
        Ok(())
    }

    fn csv(&self) -> String {
        let mut text = String::from(
            "elapsed_s,node,rss_kb,fds,threads,tokio_alive_tasks,children,children_rss_kb,ops,errors,p50_us,p99_us\n",
        );
        for node in &self.outcome {
            for sample in &node.samples {
                let _ = writeln!(
                    text,
                    "{:.1},{},{},{},{},{},{},{},{},{},{},{}",
                    sample.elapsed_s,
                    node.name,
                    sample.rss_kb,
                    sample.fds_n,
                    sample.threads_n,
                    sample.tasks_n.map_or_else(String::new, |n| n.to_string()),
                    sample.children_n,
                    sample.children_rss_kb,
                    sample.ops_n,
                    sample.errors_n,
                    sample.p50_us,
                    sample.p99_us,
                );
            }
        }
        text
    }

    /// Prints the numbers and the verdict; fails when a check failed.
    fn print_and_judge(&self) -> anyhow::Result<()> {
        println!();
        println!(
            "ran {:.1} min (asked {:.1}); load average before {}, after {}",
            self.ran.as_secs_f64() / 60.0,
            self.options.minutes,
            self.load_before,
            self.load_after
        );
        let mut checks = Vec::new();
        for node in &self.outcome {
            checks.extend(judge_node(node));
        }
        println!();
        for check in &checks {
            let mark = if check.passed { "ok  " } else { "FAIL" };
            println!("{mark} {}: {}", check.node, check.what);
        }
        let failed_n = checks.iter().filter(|check| !check.passed).count();
        println!();
        if failed_n > 0 {
            bail!("soak: {failed_n} check(s) failed");
        }
        println!("soak: flat after warm-up, no unexpected error, p99 stable: passed");
        Ok(())
    }
}

/// The checks of one node: resources flat, no errors, p99 stable.
fn judge_node(node: &NodeOutcome) -> Vec<Check> {
    let mut checks = Vec::new();
    let name = node.name;
    let tally = &node.tally;
    println!(
        "{name}: {} operations, {} errors, {} pushes told to cart clients",
        tally.ops_n, tally.errors_n, tally.pushes_n
    );
    for (kind, errors) in &tally.first_errors {
        for error in errors {
            println!("  {kind} error: {error}");
        }
    }
    for (series, n) in &node.failed_invocations {
        println!("  {series}: {n}");
    }
    // Summed from zero: an empty `sum` of floats is -0.
    let failed_invocations_n = node.failed_invocations.values().fold(0.0, |sum, n| sum + n);
    checks.push(Check {
        node: name,
        what: format!(
            "{} unexpected client errors, {failed_invocations_n} failed or throttled invocations",
            tally.errors_n
        ),
        passed: tally.errors_n == 0 && failed_invocations_n == 0.0,
    });
    let Some((first, last)) = ends(&node.samples) else {
        checks.push(Check {
            node: name,
            what: "too few samples after the warm-up to judge".to_owned(),
            passed: false,
        });
        return checks;
    };
    let first_samples = &node.samples[first.clone()];
    let last_samples = &node.samples[last.clone()];
    let resources: [(&str, Measure, f64); 4] = [
        (
            "resident memory (MB)",
            |s| Some(s.rss_kb as f64 / 1024.0),
            0.0,
        ),
        ("open fds", |s| Some(s.fds_n as f64), 4.0),
        ("threads", |s| Some(s.threads_n as f64), 2.0),
        ("tokio alive tasks", |s| s.tasks_n.map(|n| n as f64), 8.0),
    ];
    for (what, value, slack) in resources {
        let (Some(before), Some(after)) = (mean(first_samples, value), mean(last_samples, value))
        else {
            checks.push(Check {
                node: name,
                what: format!("{what}: not sampled"),
                passed: false,
            });
            continue;
        };
        let allowed = before * (1.0 + GROWTH_MAX) + slack;
        checks.push(Check {
            node: name,
            what: format!(
                "{what}: mean {before:.1} after warm-up → {after:.1} at the end ({:+.1} %; at most {allowed:.1})",
                (after / before.max(f64::MIN_POSITIVE) - 1.0) * 100.0
            ),
            passed: after <= allowed,
        });
    }
    let pooled = |range: std::ops::Range<usize>| {
        let mut all: Vec<u64> = node.windows[range].iter().flatten().copied().collect();
        all.sort_unstable();
        quantile(&all, 0.99)
    };
    let (p99_before, p99_after) = (pooled(first), pooled(last));
    let p99_allowed =
        ((p99_before as f64 * P99_FACTOR_MAX) as u64).max(p99_before + P99_STEP_MAX_US);
    checks.push(Check {
        node: name,
        what: format!(
            "p99 {} after warm-up → {} at the end (at most {})",
            crate::bench::micros(p99_before as f64),
            crate::bench::micros(p99_after as f64),
            crate::bench::micros(p99_allowed as f64),
        ),
        passed: p99_after <= p99_allowed,
    });
    checks
}

/// The sample ranges compared: the first and the last [`ENDS_SHARE`] of those after the warm-up,
/// each at least one sample; `None` when fewer than two samples follow the warm-up.
fn ends(samples: &[Sample]) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let warmup_n = (samples.len() as f64 * WARMUP_SHARE).ceil() as usize;
    let after_n = samples.len().checked_sub(warmup_n)?;
    if after_n < 2 {
        return None;
    }
    let end_n = ((after_n as f64 * ENDS_SHARE).round() as usize).clamp(1, after_n / 2);
    Some((
        warmup_n..warmup_n + end_n,
        samples.len() - end_n..samples.len(),
    ))
}

fn mean(samples: &[Sample], value: Measure) -> Option<f64> {
    let values: Vec<f64> = samples.iter().filter_map(value).collect();
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests;
