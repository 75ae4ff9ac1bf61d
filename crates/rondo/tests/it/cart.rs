//! The shopping cart example (issue 7), end to end: `examples/cart` (Rust wasm functions) and
//! `examples/cart-python` (Python Lambda handlers with boto3) must behave the same, so every check
//! runs once per variant, as `<check>::rust` and `<check>::python`.
//!
//! The interface, as any client uses it: `POST /carts/{cartId}/items` with
//! `{"itemId", "quantity"}` answers `{"cartId", "count"}`; `GET /carts/{cartId}` answers
//! `{"cartId", "items": [{"itemId", "quantity"}], "count"}`; a WebSocket client of
//! `/ws?cartId=ID` that sends `{"action": "status"}` is told `{"cartId", "count"}`, and is told
//! again on every change of that cart. The page at `/` is driven in headless Chromium by
//! `tests/browser/cart.mjs`, which leaves a screenshot at `<target>/artifacts/cart-<variant>.png`.
//!
//! Each test runs its own `rondo dev` on a copy of the example, so carts never meet across tests.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::Full;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::admin::metrics;
use crate::support::browser::{self, artifact, run_script};
use crate::support::{Dev, Example, Reply, example_app, get, process, send};

/// How long a client waits for a push it expects: a bound, not a speed expectation.
const PUSH_WAIT_S: u64 = 30;
/// How long a client listens, once what it expects has arrived, for anything that should not come.
const SETTLE_MS: u64 = 500;
/// The size of the oversized request body of the bad-input test.
const HUGE_BODY_BYTES: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// Runs each async check `fn check(Variant)` as two tests, `check::rust` and `check::python`.
macro_rules! for_both_variants {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test(flavor = "multi_thread")]
            async fn rust() {
                super::$check(super::Variant::Rust).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn python() {
                super::$check(super::Variant::Python).await;
            }
        }
    )*};
}

for_both_variants!(
    adding_an_item_again_increments_its_quantity,
    carts_are_kept_apart,
    an_unknown_cart_is_empty,
    bad_input_is_refused_and_writes_nothing,
    a_websocket_client_is_told_each_change_of_its_cart,
    a_client_that_reconnects_is_told_the_current_count,
    a_closed_client_is_forgotten_and_the_others_still_told,
);

/// The page in headless Chromium: the badge follows adds in the same tab and in another one,
/// without a reload; a reload lists the items through display-cart.
mod the_page_updates_live_in_a_browser {
    #[test]
    fn rust() {
        super::the_page_updates_live_in_a_browser(super::Variant::Rust);
    }

    #[test]
    fn python() {
        super::the_page_updates_live_in_a_browser(super::Variant::Python);
    }
}

async fn adding_an_item_again_increments_its_quantity(variant: Variant) {
    let cart = Cart::start(variant);
    assert_eq!(cart.add("c1", "apple", 1).await, 1);
    assert_eq!(cart.add("c1", "apple", 2).await, 3);
    assert_eq!(cart.add("c1", "pear", 4).await, 7);
    let shown = cart.show("c1").await;
    assert_eq!(shown.items, items(&[("apple", 3), ("pear", 4)]));
    assert_eq!(shown.count, 7, "the count is the sum of the quantities");
}

async fn carts_are_kept_apart(variant: Variant) {
    let cart = Cart::start(variant);
    // Three carts filled at the same time, each with its own items and quantities: cart i gets
    // i adds of i `shared` and one `only-i`.
    let fill = |cart_idx: u64| {
        let cart = &cart;
        async move {
            let id = format!("c{cart_idx}");
            for _ in 0..cart_idx {
                cart.add(&id, "shared", cart_idx).await;
            }
            cart.add(&id, &format!("only-{cart_idx}"), 1).await;
        }
    };
    tokio::join!(fill(1), fill(2), fill(3));
    for cart_idx in 1..=3u64 {
        let id = format!("c{cart_idx}");
        let shown = cart.show(&id).await;
        let only = format!("only-{cart_idx}");
        assert_eq!(
            shown.items,
            items(&[("shared", cart_idx * cart_idx), (only.as_str(), 1)]),
            "cart {id}"
        );
        assert_eq!(shown.count, cart_idx * cart_idx + 1, "cart {id}");
    }
}

async fn an_unknown_cart_is_empty(variant: Variant) {
    let cart = Cart::start(variant);
    cart.add("known", "apple", 1).await;
    let shown = cart.show("unknown").await;
    assert_eq!(shown.items, BTreeMap::new());
    assert_eq!(shown.count, 0);
}

async fn bad_input_is_refused_and_writes_nothing(variant: Variant) {
    let cart = Cart::start(variant);
    cart.add("c1", "apple", 2).await;
    let huge_item_id = "x".repeat(HUGE_BODY_BYTES);
    // (what, body, a word the message must hold: it names what is wrong)
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "no itemId",
            json!({ "quantity": 1 }).to_string().into(),
            "itemId",
        ),
        (
            "no quantity",
            json!({ "itemId": "apple" }).to_string().into(),
            "quantity",
        ),
        (
            "a negative quantity",
            json!({ "itemId": "apple", "quantity": -1 })
                .to_string()
                .into(),
            "quantity",
        ),
        (
            "a quantity that is a string",
            json!({ "itemId": "apple", "quantity": "2" })
                .to_string()
                .into(),
            "quantity",
        ),
        ("a body that is not JSON", b"itemId=apple".to_vec(), ""),
        (
            "a 1 MB body",
            json!({ "itemId": huge_item_id, "quantity": 1 })
                .to_string()
                .into(),
            "",
        ),
    ];
    for (what, body, named) in cases {
        let reply = cart.add_raw("c1", body).await;
        assert_eq!(reply.status, 400, "{what}: {}", excerpt(&reply));
        let message = message_of(&reply);
        assert!(
            !message.trim().is_empty(),
            "{what}: a 400 without a message"
        );
        assert!(
            message.to_lowercase().contains(&named.to_lowercase()),
            "{what}: the message does not name {named}: {message}"
        );
    }
    let shown = cart.show("c1").await;
    assert_eq!(
        shown.items,
        items(&[("apple", 2)]),
        "bad input wrote nothing"
    );
    assert_eq!(shown.count, 2);
    cart.expect_no_failed_invocation().await;
}

async fn a_websocket_client_is_told_each_change_of_its_cart(variant: Variant) {
    let cart = Cart::start(variant);
    let mut watcher = cart.watch("c1").await;
    let mut other = cart.watch("c2").await;
    watcher.ask_status().await;
    watcher.wait_for_count(0).await;
    other.ask_status().await;
    other.wait_for_count(0).await;

    for (quantity, total) in [(1, 1), (2, 3), (5, 8)] {
        let answered = cart.add("c1", "apple", quantity).await;
        assert_eq!(answered, total);
        watcher.wait_for_count(total).await;
    }
    // The client of another cart hears nothing of c1's changes.
    other.expect_silence().await;
    cart.expect_no_failed_invocation().await;
}

async fn a_client_that_reconnects_is_told_the_current_count(variant: Variant) {
    let cart = Cart::start(variant);
    let mut watcher = cart.watch("c1").await;
    watcher.ask_status().await;
    watcher.wait_for_count(0).await;
    cart.add("c1", "apple", 2).await;
    watcher.wait_for_count(2).await;
    watcher.close().await;

    // Changes while no client is connected.
    cart.add("c1", "apple", 1).await;
    cart.add("c1", "pear", 3).await;

    let mut watcher = cart.watch("c1").await;
    watcher.ask_status().await;
    watcher.wait_for_count(6).await;
    cart.add("c1", "pear", 1).await;
    watcher.wait_for_count(7).await;
    cart.expect_no_failed_invocation().await;
}

/// A closed client's connection is gone: pushing to it answers 410 (`GoneException`), which
/// cart-status must handle, so adds still succeed and the remaining client is still told.
async fn a_closed_client_is_forgotten_and_the_others_still_told(variant: Variant) {
    let cart = Cart::start(variant);
    let mut stays = cart.watch("c1").await;
    let mut closes = cart.watch("c1").await;
    let mut vanishes = cart.watch("c1").await;
    for watcher in [&mut stays, &mut closes, &mut vanishes] {
        watcher.ask_status().await;
        watcher.wait_for_count(0).await;
    }
    cart.add("c1", "apple", 1).await;
    for watcher in [&mut stays, &mut closes, &mut vanishes] {
        watcher.wait_for_count(1).await;
    }

    // As a tab closes: a close frame, and the closing handshake.
    closes.close().await;
    assert_eq!(cart.add("c1", "apple", 1).await, 2);
    stays.wait_for_count(2).await;

    // As a browser that crashed: the connection drops without a close frame.
    drop(vanishes);
    assert_eq!(cart.add("c1", "apple", 1).await, 3);
    stays.wait_for_count(3).await;
    assert_eq!(cart.add("c1", "apple", 1).await, 4);
    stays.wait_for_count(4).await;
    cart.expect_no_failed_invocation().await;
}

#[expect(
    clippy::print_stderr,
    reason = "the screenshot's path is the test's artifact; libtest shows it with the output"
)]
fn the_page_updates_live_in_a_browser(variant: Variant) {
    browser::install();
    let cart = Cart::start(variant);
    let screenshot = artifact(&format!("cart-{}.png", variant.name()));
    let _ = std::fs::remove_file(&screenshot);
    let screenshot_arg = screenshot
        .to_str()
        .expect("the target folder's path is UTF-8");
    let run = run_script("cart.mjs", &[&cart.dev.gateway, screenshot_arg]);
    eprintln!("screenshot: {}", screenshot.display());
    assert!(
        run.success,
        "the browser test of examples/{} failed\n--- cart.mjs stdout:\n{}\n--- cart.mjs stderr:\n{}\n--- rondo dev stderr:\n{}",
        variant.example(),
        run.stdout,
        run.stderr,
        cart.dev.stderr(),
    );
    assert!(
        screenshot.is_file(),
        "cart.mjs passed but left no screenshot at {}:\n{}",
        screenshot.display(),
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// The two variants and their interface
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Variant {
    /// `examples/cart`: the functions as Rust wasm components.
    Rust,
    /// `examples/cart-python`: the functions as Python Lambda handlers.
    Python,
}

impl Variant {
    fn example(self) -> &'static str {
        match self {
            Variant::Rust => "cart",
            Variant::Python => "cart-python",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Rust => "rust",
            Variant::Python => "python",
        }
    }
}

/// A running cart example. Fields drop in order: the server, then its folder.
struct Cart {
    dev: Dev,
    _example: Example,
}

/// A cart as `GET /carts/{cartId}` shows it.
#[derive(Debug)]
struct Shown {
    items: BTreeMap<String, u64>,
    count: u64,
}

impl Cart {
    /// Starts `rondo dev` on a copy of the variant's example (the Python one with the suite's
    /// shared tools folder).
    fn start(variant: Variant) -> Cart {
        let example = example_app(variant.example());
        let dev = match variant {
            Variant::Rust => Dev::start(&example.app),
            Variant::Python => process::start(&example.app),
        };
        Cart {
            dev,
            _example: example,
        }
    }

    /// `POST /carts/{cart}/items` with a raw body.
    async fn add_raw(&self, cart: &str, body: impl Into<Bytes>) -> Reply {
        send(
            http::Request::post(self.dev.url(&format!("/carts/{cart}/items")))
                .header("content-type", "application/json")
                .body(Full::new(body.into()))
                .expect("request"),
        )
        .await
    }

    /// Adds `quantity` of `item` to `cart`; checks the answer and returns the cart's count.
    async fn add(&self, cart: &str, item: &str, quantity: u64) -> u64 {
        let body = json!({ "itemId": item, "quantity": quantity }).to_string();
        let reply = self.add_raw(cart, body).await;
        assert_eq!(
            reply.status,
            200,
            "add {quantity} {item} to {cart}: {}",
            reply.text()
        );
        let answer = reply.json();
        assert_eq!(
            answer["cartId"], cart,
            "the answer names the cart: {answer}"
        );
        answer["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("no count in the answer {answer}"))
    }

    /// `GET /carts/{cart}`, checked for its shape.
    async fn show(&self, cart: &str) -> Shown {
        let reply = get(&self.dev.url(&format!("/carts/{cart}"))).await;
        assert_eq!(reply.status, 200, "GET /carts/{cart}: {}", reply.text());
        let shown = reply.json();
        assert_eq!(shown["cartId"], cart, "{shown}");
        let lines = shown["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items list in {shown}"));
        let mut items = BTreeMap::new();
        for line in lines {
            let item = line["itemId"]
                .as_str()
                .unwrap_or_else(|| panic!("an item without itemId in {shown}"));
            let quantity = line["quantity"]
                .as_u64()
                .unwrap_or_else(|| panic!("an item without a quantity in {shown}"));
            let before = items.insert(item.to_owned(), quantity);
            assert_eq!(before, None, "{item} listed twice in {shown}");
        }
        let count = shown["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("no count in {shown}"));
        assert_eq!(
            count,
            items.values().sum::<u64>(),
            "the count is the sum of the quantities: {shown}"
        );
        Shown { items, count }
    }

    /// Connects a WebSocket client to `/ws?cartId={cart}`.
    async fn watch(&self, cart: &str) -> Watcher {
        let url = format!(
            "{}/ws?cartId={cart}",
            self.dev.gateway.replacen("http://", "ws://", 1)
        );
        let (socket, response) = tokio_tungstenite::connect_async(&url)
            .await
            .unwrap_or_else(|e| panic!("WebSocket {url}: {e}"));
        assert_eq!(response.status(), 101, "{url}: {response:?}");
        Watcher {
            socket,
            cart: cart.to_owned(),
            counts: Vec::new(),
        }
    }

    /// Checks that no invocation of any function failed (a function that did not handle a 410,
    /// say), once invocations in flight have had a moment to end.
    async fn expect_no_failed_invocation(&self) {
        tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
        let metrics = metrics(&self.dev).await;
        let failed: Vec<_> = metrics
            .samples_named("rondo_invocations_total")
            .filter(|sample| sample.labels.get("outcome").map(String::as_str) != Some("success"))
            .filter(|sample| sample.value > 0.0)
            .collect();
        assert!(
            failed.is_empty(),
            "failed invocations: {failed:?}\nstdout:\n{}\nstderr:\n{}",
            self.dev.stdout(),
            self.dev.stderr()
        );
    }
}

/// A WebSocket client of one cart, as the page keeps one.
struct Watcher {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    cart: String,
    /// Every count it was told, in order.
    counts: Vec<u64>,
}

impl Watcher {
    /// Sends `{"action": "status"}`, which is answered with the cart's current count.
    async fn ask_status(&mut self) {
        let status = json!({ "action": "status" }).to_string();
        self.socket
            .send(Message::text(status))
            .await
            .unwrap_or_else(|e| panic!("send status for {}: {e}", self.cart));
    }

    /// Reads messages until one tells `count`.
    async fn wait_for_count(&mut self, count: u64) {
        let waited = tokio::time::timeout(Duration::from_secs(PUSH_WAIT_S), async {
            while self.next_count().await != count {}
        })
        .await;
        assert!(
            waited.is_ok(),
            "the client of {} was never told count {count}; it was told {:?}",
            self.cart,
            self.counts
        );
    }

    /// Checks that no message arrives for a moment.
    async fn expect_silence(&mut self) {
        let heard = tokio::time::timeout(Duration::from_millis(SETTLE_MS), self.next_count()).await;
        if let Ok(count) = heard {
            panic!(
                "the client of {} was told count {count} with no change of its cart (told {:?})",
                self.cart, self.counts
            );
        }
    }

    /// Closes the connection as a browser closing its tab does, and waits for the server's
    /// answer to the close.
    async fn close(mut self) {
        self.socket
            .close(None)
            .await
            .unwrap_or_else(|e| panic!("close the client of {}: {e}", self.cart));
        let closed = tokio::time::timeout(Duration::from_secs(PUSH_WAIT_S), async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
        assert!(closed.is_ok(), "the server never closed {}", self.cart);
    }

    /// The next count the client is told: checks that the message is `{"cartId", "count"}` for
    /// its own cart.
    async fn next_count(&mut self) -> u64 {
        loop {
            let message = self
                .socket
                .next()
                .await
                .unwrap_or_else(|| panic!("the connection of {} ended", self.cart))
                .unwrap_or_else(|e| panic!("the connection of {} failed: {e}", self.cart));
            let text = match message {
                Message::Text(text) => text,
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("the client of {} got {other:?}", self.cart),
            };
            let told: Value = serde_json::from_str(text.as_str())
                .unwrap_or_else(|e| panic!("the client of {} was told {text:?}: {e}", self.cart));
            assert_eq!(
                told["cartId"],
                self.cart.as_str(),
                "a message of another cart: {told}"
            );
            let count = told["count"]
                .as_u64()
                .unwrap_or_else(|| panic!("a message without a count: {told}"));
            self.counts.push(count);
            return count;
        }
    }
}

/// Items as `GET /carts/{cartId}` lists them, keyed by item id.
fn items(lines: &[(&str, u64)]) -> BTreeMap<String, u64> {
    lines
        .iter()
        .map(|(item, quantity)| ((*item).to_owned(), *quantity))
        .collect()
}

/// The message of an error answer: its JSON `message` (API Gateway's and Lambda's shape) or
/// `error`, else the whole body.
fn message_of(reply: &Reply) -> String {
    let text = reply.text();
    let field = serde_json::from_str::<Value>(&text).ok().and_then(|body| {
        ["message", "error"]
            .iter()
            .find_map(|name| body.get(*name)?.as_str().map(str::to_owned))
    });
    field.unwrap_or(text)
}

/// The start of a reply's body, for failure messages (the oversized one is long).
fn excerpt(reply: &Reply) -> String {
    reply.text().chars().take(300).collect()
}
