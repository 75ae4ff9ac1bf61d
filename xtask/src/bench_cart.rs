//! `cargo xtask bench cart`: the shopping cart example end to end, from an add request to the
//! pushed count at the cart's open page, under N concurrent carts.
//!
//! rondo runs in release (`rondo dev` on a fresh copy of `examples/cart`). Each cart has one
//! WebSocket client (`/ws?cartId=ID`, which asks `{"action": "status"}` once connected, as the
//! page does) and one HTTP adder on a keep-alive connection, doing `POST /carts/{ID}/items`
//! one after another. An add's latency runs from just before its POST is sent to the arrival of
//! the push whose count equals the count the POST answered: pushes are matched by count, not by
//! order, since a push may arrive before the POST's answer. When no push carries exactly that
//! count (two changes told in one push), the first push with a higher count stands in, and the
//! add is counted as coalesced.
//!
//! The peer in the same run is the physical limit: a hyper + tokio-tungstenite server in this
//! process (`peer`) with the same interface and no functions or store behind it.
//!
//! The command runs itself again from a release build of xtask when started from a debug one, so
//! the client costs little of the machine's CPU.

mod peer;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::{Listener, Server, micros, run, start_rondo_dev};
use peer::Peer;

/// The example measured.
const EXAMPLE: &str = "examples/cart";

/// What each add posts: one more of an item the page offers.
const ADD_BODY: &str = r#"{"itemId":"sencha","quantity":1}"#;

/// Concurrent carts of a full run and of a quick one.
const CARTS_N: [usize; 3] = [1, 16, 64];
const CARTS_QUICK_N: [usize; 2] = [1, 16];

/// How long a client waits for its first answer, and for the pushes of the last adds once the
/// adders stopped: bounds, not speed expectations.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// The issue's target for add → push at the client.
const P50_TARGET_US: u64 = 5_000;

/// How long each load runs before and while it is measured.
struct Phases {
    warmup: Duration,
    measure: Duration,
}

const FULL: Phases = Phases {
    warmup: Duration::from_secs(1),
    measure: Duration::from_secs(5),
};

const QUICK: Phases = Phases {
    warmup: Duration::from_millis(500),
    measure: Duration::from_secs(2),
};

/// Runs the benchmark and prints its table; `quick` runs fewer cart counts for less time.
pub fn cart(root: &Path, quick: bool) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return crate::bench::rerun_in_release(root, "cart", quick);
    }
    let (phases, carts_ns): (Phases, &[usize]) = if quick {
        (QUICK, &CARTS_QUICK_N)
    } else {
        (FULL, &CARTS_N)
    };
    println!("building rondo (release)...");
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "rondo"])
        .current_dir(root))?;
    let rondo = root.join("target/release/rondo");
    let work = std::env::temp_dir().join("rondo-bench");
    let app = copy_example(&root.join(EXAMPLE), &work.join("app-cart"))?;
    let (_rondo_server, rondo_address) = start_rondo(&rondo, &app)?;
    let peer = Peer::start()?;
    println!(
        "rondo dev {EXAMPLE} at {rondo_address}; the peer at {}",
        peer.address
    );

    let mut rows = Vec::new();
    for &carts_n in carts_ns {
        for (server, address) in [
            (ServerKind::Rondo, rondo_address),
            (ServerKind::Peer, peer.address),
        ] {
            println!(
                "{}: {carts_n} cart(s), {:?} of warm-up, {:?} measured...",
                server.name(),
                phases.warmup,
                phases.measure
            );
            print_load_average();
            let tag = format!("{}-{carts_n}", server.tag());
            let measured = block_on(drive(address, &tag, carts_n, &phases))??;
            print_row_line(&measured);
            rows.push(Row { server, measured });
        }
    }
    print_summary(&rows);
    Ok(())
}

/// The two servers measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ServerKind {
    Rondo,
    Peer,
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            ServerKind::Rondo => "rondo dev examples/cart",
            ServerKind::Peer => "peer: hyper + tungstenite, no functions (limit)",
        }
    }

    /// A prefix of the cart ids of its runs.
    fn tag(self) -> &'static str {
        match self {
            ServerKind::Rondo => "rondo",
            ServerKind::Peer => "peer",
        }
    }
}

struct Row {
    server: ServerKind,
    measured: Measured,
}

/// Copies the example into a fresh `dir` (so its data folder starts empty), without what builds
/// and earlier runs left in it.
fn copy_example(source: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    copy_tree(source, dir)?;
    Ok(dir.to_owned())
}

fn copy_tree(source: &Path, destination: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(source).with_context(|| format!("reading {}", source.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".rondo" || name == "target" {
            continue;
        }
        let from = entry.path();
        let to = destination.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(&to)?;
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(())
}

/// Starts `rondo dev` on ephemeral ports and reads the gateway's address from its banner; the
/// lines after the banner on stderr (a function's failure, say) are passed on to this process's
/// stderr.
#[expect(
    clippy::print_stderr,
    reason = "rondo's own messages are passed on as a command-line tool's output"
)]
fn start_rondo(rondo: &Path, app: &Path) -> anyhow::Result<(Server, SocketAddr)> {
    start_rondo_dev(rondo, app, &[], Listener::Gateway, |line| {
        if !is_banner_line(line) {
            eprintln!("  rondo: {line}");
        }
    })
}

/// Whether a line rondo prints on stderr is one of its banner's, after the gateway's address: the
/// AWS endpoint, a table made, a route, a WebSocket route, the static files.
fn is_banner_line(line: &str) -> bool {
    let line = line.trim_start();
    ["aws endpoint ", "table ", "route ", "websocket ", "static "]
        .iter()
        .any(|start| line.starts_with(start))
}

fn print_load_average() {
    // Other work on the machine skews the numbers: show it, to judge a run by.
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("  load average before: {}", load_average.trim());
}

/// Runs `future` on a current-thread runtime inside a `LocalSet`, so connections can be local
/// tasks on the one client thread.
fn block_on<T>(future: impl Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's runtime")?;
    Ok(tokio::task::LocalSet::new().block_on(&runtime, future))
}

/// One add, as its adder saw it.
#[derive(Clone, Copy, Debug)]
struct Add {
    /// The count the POST answered.
    count: u64,
    sent: Instant,
    answered: Instant,
}

/// When a cart's client was first told each count.
type Pushes = Rc<RefCell<BTreeMap<u64, Instant>>>;

/// What one load measured.
#[derive(Debug)]
struct Measured {
    carts_n: usize,
    /// Adds sent within the measured window.
    adds_n: usize,
    window_s: f64,
    /// Add sent → push with its count received, in µs, sorted.
    latency_us: Vec<u64>,
    /// Add sent → POST answered, in µs, sorted.
    round_trip_us: Vec<u64>,
    /// Adds whose count arrived only within a later push.
    coalesced_n: usize,
}

impl Measured {
    fn adds_per_s(&self) -> f64 {
        self.adds_n as f64 / self.window_s
    }
}

/// Drives `carts_n` carts against the server at `address` and measures the adds sent after the
/// warm-up. Cart ids start with `tag`, so every load has fresh carts.
async fn drive(
    address: SocketAddr,
    tag: &str,
    carts_n: usize,
    phases: &Phases,
) -> anyhow::Result<Measured> {
    let mut watchers = Vec::with_capacity(carts_n);
    let mut adders = Vec::with_capacity(carts_n);
    for cart_idx in 0..carts_n {
        let cart_id = format!("{tag}-{cart_idx}");
        watchers.push(watch(address, &cart_id).await?);
        adders.push(Adder::connect(address, &cart_id).await?);
    }
    let measure_from = Instant::now() + phases.warmup;
    let measure_until = measure_from + phases.measure;
    let tasks: Vec<_> = adders
        .into_iter()
        .map(|adder| tokio::task::spawn_local(adder.run_until(measure_until)))
        .collect();
    let mut adds_by_cart = Vec::with_capacity(carts_n);
    for task in tasks {
        adds_by_cart.push(task.await.context("an adder panicked")??);
    }
    for ((pushes, reader), adds) in watchers.iter().zip(&adds_by_cart) {
        let last_count = adds.last().map_or(0, |add| add.count);
        wait_for_push(pushes, last_count).await?;
        reader.abort();
    }
    let pushes: Vec<_> = watchers.into_iter().map(|(pushes, _)| pushes).collect();
    measure(&adds_by_cart, &pushes, measure_from, phases.measure)
}

/// Connects the cart's WebSocket client, waits for the answer to its status question, and
/// leaves a local task recording each push.
async fn watch(
    address: SocketAddr,
    cart_id: &str,
) -> anyhow::Result<(Pushes, tokio::task::JoinHandle<()>)> {
    let url = format!("ws://{address}/ws?cartId={cart_id}");
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(&url, None, true)
        .await
        .with_context(|| format!("WebSocket {url}"))?;
    socket
        .send(Message::text(json!({ "action": "status" }).to_string()))
        .await
        .with_context(|| format!("asking {url} for the status"))?;
    let first = tokio::time::timeout(PUSH_TIMEOUT, socket.next())
        .await
        .with_context(|| format!("{url} never answered the status question"))?;
    match first {
        Some(Ok(Message::Text(text))) if count_of(text.as_str()) == Some(0) => {}
        other => bail!("{url} answered the status question of a new cart with {other:?}"),
    }
    let pushes: Pushes = Rc::default();
    let recorded = Rc::clone(&pushes);
    let reader = tokio::task::spawn_local(async move {
        while let Some(Ok(message)) = socket.next().await {
            let arrived = Instant::now();
            if let Message::Text(text) = message
                && let Some(count) = count_of(text.as_str())
            {
                recorded.borrow_mut().entry(count).or_insert(arrived);
            }
        }
    });
    Ok((pushes, reader))
}

/// The `count` of a pushed `{"cartId", "count"}`.
fn count_of(text: &str) -> Option<u64> {
    serde_json::from_str::<Value>(text)
        .ok()?
        .get("count")?
        .as_u64()
}

/// Waits until the cart's client has been told `count` (or more).
async fn wait_for_push(pushes: &Pushes, count: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + PUSH_TIMEOUT;
    loop {
        let told = pushes.borrow().keys().next_back().copied().unwrap_or(0);
        if told >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("a client was told count {told} at most, not {count}, within {PUSH_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One cart's HTTP adder: a keep-alive connection posting adds one after another.
struct Adder {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: hyper::header::HeaderValue,
    path: String,
}

impl Adder {
    async fn connect(address: SocketAddr, cart_id: &str) -> anyhow::Result<Adder> {
        let (sender, host) = crate::bench::open_http1(address).await?;
        Ok(Adder {
            sender,
            host,
            path: format!("/carts/{cart_id}/items"),
        })
    }

    /// Adds until `until`, one add at a time.
    async fn run_until(mut self, until: Instant) -> anyhow::Result<Vec<Add>> {
        let mut adds = Vec::new();
        while Instant::now() < until {
            let request = hyper::Request::post(self.path.as_str())
                .header(HOST, self.host.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from_static(ADD_BODY.as_bytes())))
                .context("cannot build a request")?;
            self.sender.ready().await.context("add: connection lost")?;
            let sent = Instant::now();
            let response = self
                .sender
                .send_request(request)
                .await
                .context("add: no answer")?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .context("add: answer cut short")?
                .to_bytes();
            let answered = Instant::now();
            let text = String::from_utf8_lossy(&body);
            if status != hyper::StatusCode::OK {
                bail!("POST {}: {status}: {text}", self.path);
            }
            let count = count_of(&text)
                .with_context(|| format!("POST {} answered without a count: {text}", self.path))?;
            adds.push(Add {
                count,
                sent,
                answered,
            });
        }
        Ok(adds)
    }
}

/// Matches each add sent within the measured window to the push of its count.
fn measure(
    adds_by_cart: &[Vec<Add>],
    pushes: &[Pushes],
    measure_from: Instant,
    window: Duration,
) -> anyhow::Result<Measured> {
    let measure_until = measure_from + window;
    let mut measured = Measured {
        carts_n: adds_by_cart.len(),
        adds_n: 0,
        window_s: window.as_secs_f64(),
        latency_us: Vec::new(),
        round_trip_us: Vec::new(),
        coalesced_n: 0,
    };
    for (adds, pushes) in adds_by_cart.iter().zip(pushes) {
        let pushes = pushes.borrow();
        for add in adds
            .iter()
            .filter(|add| (measure_from..measure_until).contains(&add.sent))
        {
            let (told_count, told_at) = pushes
                .range(add.count..)
                .next()
                .with_context(|| format!("no push ever told count {} or more", add.count))?;
            measured.adds_n += 1;
            measured.coalesced_n += usize::from(*told_count != add.count);
            measured.latency_us.push(micros_between(add.sent, *told_at));
            measured
                .round_trip_us
                .push(micros_between(add.sent, add.answered));
        }
    }
    measured.latency_us.sort_unstable();
    measured.round_trip_us.sort_unstable();
    Ok(measured)
}

fn micros_between(start: Instant, end: Instant) -> u64 {
    u64::try_from(end.saturating_duration_since(start).as_micros()).unwrap_or(u64::MAX)
}

/// The `q` quantile (0.5 = median) of sorted values, by nearest rank.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    assert!((0.0..=1.0).contains(&q), "quantile {q} is not in 0..=1");
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0;
    };
    sorted[(last as f64 * q).round() as usize]
}

fn print_row_line(measured: &Measured) {
    println!(
        "  {} adds in {:.1} s ({:.0}/s); add → push p50 {}, p99 {}; POST round trip p50 {}; {} coalesced",
        measured.adds_n,
        measured.window_s,
        measured.adds_per_s(),
        micros(quantile(&measured.latency_us, 0.5) as f64),
        micros(quantile(&measured.latency_us, 0.99) as f64),
        micros(quantile(&measured.round_trip_us, 0.5) as f64),
        measured.coalesced_n,
    );
}

fn print_summary(rows: &[Row]) {
    println!();
    println!(
        "Add → pushed count at the cart's WebSocket client (one client and one sequential adder per cart):"
    );
    println!();
    println!(
        "| server | carts | adds/s | add → push p50 | add → push p99 | POST round trip p50 | POST round trip p99 | adds told in a later push |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let measured = &row.measured;
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} of {} |",
            row.server.name(),
            measured.carts_n,
            measured.adds_per_s(),
            micros(quantile(&measured.latency_us, 0.5) as f64),
            micros(quantile(&measured.latency_us, 0.99) as f64),
            micros(quantile(&measured.round_trip_us, 0.5) as f64),
            micros(quantile(&measured.round_trip_us, 0.99) as f64),
            measured.coalesced_n,
            measured.adds_n,
        );
    }
    println!();
    for rondo in rows.iter().filter(|row| row.server == ServerKind::Rondo) {
        let rondo = &rondo.measured;
        let p50 = quantile(&rondo.latency_us, 0.5);
        let peer = rows
            .iter()
            .find(|row| row.server == ServerKind::Peer && row.measured.carts_n == rondo.carts_n);
        if let Some(peer) = peer {
            let peer = &peer.measured;
            let peer_p50 = quantile(&peer.latency_us, 0.5).max(1);
            let peer_p99 = quantile(&peer.latency_us, 0.99).max(1);
            println!(
                "{} cart(s): rondo's add → push is {:.1}x the peer's at p50 ({} vs {}), {:.1}x at p99; the peer does {:.1}x rondo's adds/s",
                rondo.carts_n,
                p50 as f64 / peer_p50 as f64,
                micros(p50 as f64),
                micros(peer_p50 as f64),
                quantile(&rondo.latency_us, 0.99) as f64 / peer_p99 as f64,
                peer.adds_per_s() / rondo.adds_per_s().max(f64::MIN_POSITIVE),
            );
        }
        println!(
            "{} cart(s): add → push p50 ≤ {}: {} ({})",
            rondo.carts_n,
            micros(P50_TARGET_US as f64),
            if p50 <= P50_TARGET_US {
                "met"
            } else {
                "not met"
            },
            micros(p50 as f64),
        );
    }
}

#[cfg(test)]
mod tests;
