//! The physical-limit peer of `bench cart`: the cart's interface with nothing behind it. A hyper
//! server with tokio-tungstenite WebSockets that keeps each cart's count in memory; on
//! `POST /carts/{cartId}/items` it adds the quantity, pushes `{"cartId", "count"}` to the
//! cart's WebSocket clients and answers the same JSON. No function runs and nothing is stored,
//! so its latency is what the HTTP request, the WebSocket frame and the two sockets cost.
//!
//! It runs on its own thread with a multi-threaded runtime, as rondo's server does, apart from
//! the load generator's thread.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// A running peer; stopped when dropped.
pub struct Peer {
    pub address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Peer {
    /// Starts the peer on an ephemeral port of 127.0.0.1.
    pub fn start() -> anyhow::Result<Peer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the peer's runtime")?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("cart-peer".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = accept_loop(listener) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Peer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every cart's count and the WebSocket clients watching it.
#[derive(Default)]
struct Carts {
    by_id: Mutex<HashMap<String, Cart>>,
    next_client_id: AtomicU64,
}

#[derive(Default)]
struct Cart {
    count: u64,
    clients: Vec<Client>,
}

struct Client {
    id: u64,
    sender: mpsc::UnboundedSender<String>,
}

async fn accept_loop(listener: tokio::net::TcpListener) {
    let carts = Arc::new(Carts::default());
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let carts = Arc::clone(&carts);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let carts = Arc::clone(&carts);
                async move { Ok::<_, Infallible>(handle(carts, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn handle(carts: Arc<Carts>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let cart_id = path
        .strip_prefix("/carts/")
        .and_then(|rest| rest.strip_suffix("/items"))
        .map(str::to_owned);
    match (request.method().as_str(), path.as_str(), cart_id) {
        ("GET", "/ws", _) => upgrade(carts, request),
        ("POST", _, Some(cart_id)) => add(&carts, cart_id, request).await,
        _ => answer(StatusCode::NOT_FOUND, json!({ "message": "Not Found" })),
    }
}

/// `POST /carts/{cartId}/items`: checks the body as the cart's add-to-cart does, adds, pushes.
async fn add(carts: &Carts, cart_id: String, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let Ok(body) = request.into_body().collect().await else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "body cut short" }),
        );
    };
    let body: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null);
    let item_ok = body["itemId"].as_str().is_some_and(|item| !item.is_empty());
    let Some(quantity) = body["quantity"].as_u64().filter(|_| item_ok) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "itemId and quantity are required" }),
        );
    };
    let told = {
        let mut by_id = carts
            .by_id
            .lock()
            .expect("no thread panics holding the lock");
        let cart = by_id.entry(cart_id.clone()).or_default();
        cart.count += quantity;
        let told = json!({ "cartId": cart_id, "count": cart.count });
        let text = told.to_string();
        cart.clients
            .retain(|client| client.sender.send(text.clone()).is_ok());
        told
    };
    answer(StatusCode::OK, told)
}

/// `GET /ws?cartId=ID`: the WebSocket handshake, then the connection on its own task.
fn upgrade(carts: Arc<Carts>, mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    let cart_id = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("cartId="))
        .map(str::to_owned);
    let key = request.headers().get("sec-websocket-key").cloned();
    let (Some(cart_id), Some(key)) = (cart_id, key) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "a WebSocket handshake with ?cartId= is expected" }),
        );
    };
    let accept = derive_accept_key(key.as_bytes());
    let client_id = carts.next_client_id.fetch_add(1, Ordering::Relaxed);
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrading.await else {
            return;
        };
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        serve_client(&carts, cart_id, client_id, socket).await;
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// One WebSocket client: registered with its cart while open; `{"action": "status"}` is answered
/// with the current count.
async fn serve_client<S>(carts: &Carts, cart_id: String, client_id: u64, socket: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = socket.split();
    let (sender, mut outbox) = mpsc::unbounded_channel::<String>();
    carts
        .by_id
        .lock()
        .expect("no thread panics holding the lock")
        .entry(cart_id.clone())
        .or_default()
        .clients
        .push(Client {
            id: client_id,
            sender: sender.clone(),
        });
    let writer = tokio::spawn(async move {
        while let Some(text) = outbox.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let asks_status = serde_json::from_str::<Value>(text.as_str())
            .is_ok_and(|body| body["action"] == "status");
        if asks_status {
            let count = carts
                .by_id
                .lock()
                .expect("no thread panics holding the lock")
                .get(&cart_id)
                .map_or(0, |cart| cart.count);
            let _ = sender.send(json!({ "cartId": cart_id, "count": count }).to_string());
        }
    }
    if let Some(cart) = carts
        .by_id
        .lock()
        .expect("no thread panics holding the lock")
        .get_mut(&cart_id)
    {
        cart.clients.retain(|client| client.id != client_id);
    }
    writer.abort();
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
