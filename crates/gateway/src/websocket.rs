//! API Gateway's WebSocket API: clients connect to one path; `$connect`, `$disconnect` and each
//! message invoke the function of their route, chosen by the route selection expression; functions
//! push to clients through `@connections` ([`management`]) or the `connections` import (the
//! [`Connections`] registry implements [`runtime::ConnectionService`]).
//!
//! A connection's life:
//! 1. The upgrade request runs `$connect` (when routed) before the handshake completes; a non-2xx
//!    answer refuses the upgrade with that status, a failed invocation with API Gateway's 500.
//! 2. After the handshake the connection is registered, and one task (owned by the registry) reads
//!    its frames and writes what was posted to it. Each message invokes its route's function in a
//!    task of its own, owned by the connection's task (at most `messages_in_flight_max` at once;
//!    past that the client is not read); the function's return value is not sent back (API
//!    Gateway sends it only with a route response, which rondo does not model).
//!    Posted messages wait in a per-connection outbox bounded by bytes and by count; a write to
//!    the client that takes longer than the send timeout closes the connection (1001), so a
//!    client that stops reading cannot pin its task; the idle and lifetime timers and
//!    `DeleteConnection` act during a write too.
//! 3. When either side closes, or the connection is idle or old past API Gateway's limits, it is
//!    removed from the registry (posting to it answers 410) and `$disconnect` runs, best effort.
//!    Its messages' invocations still running go on (as on AWS, a disconnect does not cancel a
//!    Lambda invocation) and the task awaits them, at most `routes_drain_timeout`, then aborts
//!    them. At the node's shutdown [`Connections::close_all`] closes every connection (1001).
//!
//! Every message reads the current snapshot, so a reload changes routes under open connections.

mod event;
pub mod management;
mod registry;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::{AppFunction, InvocationSource, Observer, SharedSnapshot, WebSocketApi};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use hyper_util::rt::TokioIo;
use runtime::{ConnectionService, InvokeMeta};
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

pub use event::STAGE;
pub use registry::Connections;

use crate::limits::{
    WEBSOCKET_CONNECTIONS_MAX, WEBSOCKET_FRAME_BYTES_MAX, WEBSOCKET_IDLE_S_MAX,
    WEBSOCKET_LIFETIME_S_MAX, WEBSOCKET_MESSAGE_BYTES_MAX, WEBSOCKET_MESSAGES_IN_FLIGHT_MAX,
    WEBSOCKET_OUTBOX_BYTES_MAX, WEBSOCKET_OUTBOX_MESSAGES_MAX, WEBSOCKET_ROUTES_DRAIN_MS_MAX,
    WEBSOCKET_SEND_TIMEOUT_MS,
};
use crate::{payload, responses};
use event::{Body, ConnectionContext};
use registry::Place;

/// The `apiId` in events.
pub(crate) const API_ID: &str = "rondo";

/// How long closing waits for the client's half of the closing handshake.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The WebSocket API's limits, held by the [`Connections`] registry.
/// [`WebSocketLimits::production`] has the values of [`crate::limits`] (API Gateway's where it
/// has one); tests use small ones.
#[derive(Debug, Clone)]
pub struct WebSocketLimits {
    /// Open connections on the node; past it the upgrade answers 429.
    pub connections_max: usize,
    /// Messages and bytes waiting for one client; past either, posting answers 429.
    pub outbox_messages_max: usize,
    pub outbox_bytes_max: usize,
    /// How long writing one message to a client may take before the connection is closed.
    pub send_timeout: Duration,
    /// No message either way for this long closes the connection (1001).
    pub idle_timeout: Duration,
    /// Every connection is closed after this long (1001).
    pub lifetime: Duration,
    /// Messages of one connection whose route invocations run at once.
    pub messages_in_flight_max: usize,
    /// How long a closed connection's task waits for its route invocations before aborting them.
    pub routes_drain_timeout: Duration,
}

impl WebSocketLimits {
    /// The limits a node serves with.
    pub fn production() -> WebSocketLimits {
        WebSocketLimits {
            connections_max: WEBSOCKET_CONNECTIONS_MAX,
            outbox_messages_max: WEBSOCKET_OUTBOX_MESSAGES_MAX,
            outbox_bytes_max: WEBSOCKET_OUTBOX_BYTES_MAX,
            send_timeout: Duration::from_millis(WEBSOCKET_SEND_TIMEOUT_MS),
            idle_timeout: Duration::from_secs(WEBSOCKET_IDLE_S_MAX),
            lifetime: Duration::from_secs(WEBSOCKET_LIFETIME_S_MAX),
            messages_in_flight_max: WEBSOCKET_MESSAGES_IN_FLIGHT_MAX,
            routes_drain_timeout: Duration::from_millis(WEBSOCKET_ROUTES_DRAIN_MS_MAX),
        }
    }
}

/// The route key and function a message goes to, if any: the custom route its JSON body selects
/// with the API's selection expression, else `$default`.
fn select<'a>(api: &'a WebSocketApi, body: Body<'_>) -> Option<(&'a str, &'a AppFunction)> {
    let routes = api.routes();
    let custom = event::selected_route(api.selection_field(), body, |key| {
        routes.get_key_value(key).map(|(key, _)| key.as_str())
    });
    let key = custom.unwrap_or("$default");
    routes
        .get_key_value(key)
        .map(|(key, function)| (key.as_str(), function))
}

/// Reads `client_bytes` as a connection's task reads what a client sends, without a socket and
/// without invoking anything: WebSocket frames under the gateway's frame and message limits, then,
/// for each text or binary message, the route `api` selects and the `MESSAGE` event its function
/// would get (`None` when no route takes the message). Reading stops at a close frame or at the
/// first protocol error, as the connection would.
///
/// The fuzz targets' hook (`fuzz/fuzz_targets/websocket.rs`); the gateway itself reads frames in
/// its connection tasks.
pub async fn read_client_messages(
    api: &WebSocketApi,
    client_bytes: &[u8],
) -> Vec<Option<(String, Vec<u8>)>> {
    use futures_util::StreamExt as _;

    let io = tokio::io::join(client_bytes, tokio::io::sink());
    let mut stream = WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
    let context = ConnectionContext {
        connection_id: "L0SM9cOFvHcCIhw=".to_owned(),
        connected_at: SystemTime::UNIX_EPOCH,
        domain_name: "localhost".to_owned(),
        source_ip: "127.0.0.1".to_owned(),
        user_agent: String::new(),
    };
    let mut messages = Vec::new();
    while let Some(Ok(frame)) = stream.next().await {
        let message = match frame {
            Message::Text(text) => ClientMessage::Text(text.as_str().to_owned()),
            Message::Binary(bytes) => ClientMessage::Binary(bytes),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(_) => break,
        };
        let body = message.body();
        messages.push(select(api, body).map(|(route_key, _function)| {
            let event = event::message(&context, "request-id", route_key, body);
            (route_key.to_owned(), event)
        }));
    }
    messages
}

/// Answers a request to the WebSocket API's path: runs `$connect` and completes the upgrade, or
/// refuses it.
pub(crate) async fn accept(
    snapshot: &SharedSnapshot,
    api: &WebSocketApi,
    observer: &Arc<dyn Observer>,
    connections: &Connections,
    mut request: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> http::Response<Bytes> {
    let key = match upgrade_key(request.method(), request.headers()) {
        Ok(key) => key,
        Err(refusal) => return refusal,
    };
    let Ok(place) = connections.reserve() else {
        return responses::too_many_requests();
    };
    let headers = request.headers();
    let context = ConnectionContext {
        connection_id: registry::new_connection_id(),
        connected_at: SystemTime::now(),
        domain_name: header_text(headers, header::HOST)
            .unwrap_or("localhost")
            .to_owned(),
        source_ip: plain_ip(peer.ip()).to_string(),
        user_agent: header_text(headers, header::USER_AGENT)
            .unwrap_or_default()
            .to_owned(),
    };
    let mut accepted = http::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, key)
        .body(Bytes::new())
        .expect("a response of valid parts is valid");
    if let Some(function) = api.route("$connect") {
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = event::connect(&context, &request_id, headers, request.uri().query());
        let meta = InvokeMeta { request_id };
        let invocation = function.invoke(Bytes::from(event), meta).await;
        let error = invocation.result.as_ref().err();
        observer.invocation_finished(
            &invocation.report,
            error,
            InvocationSource::Route("$connect"),
        );
        let answer = match invocation.result {
            Ok(output) => payload::response_from_function(&output)
                .unwrap_or_else(|_| responses::internal_error()),
            Err(error) => crate::http_api::error_response(&error),
        };
        if !answer.status().is_success() {
            return answer;
        }
        // A subprotocol the client offered is accepted by `$connect` answering it as a header.
        if let Some(protocol) = answer.headers().get(header::SEC_WEBSOCKET_PROTOCOL) {
            accepted
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, protocol.clone());
        }
    }
    let upgrade = hyper::upgrade::on(&mut request);
    let snapshot = Arc::clone(snapshot);
    let observer = Arc::clone(observer);
    let owner = connections.clone();
    let connections = connections.clone();
    owner.spawn(async move {
        // The client may go away between the 101 and the upgrade: nothing was connected.
        let Ok(upgraded) = upgrade.await else { return };
        let stream =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config()))
                .await;
        let connection = Connection {
            snapshot,
            observer,
            connections,
            context: Arc::new(context),
            _place: place,
        };
        connection.run(stream).await;
    });
    accepted
}

/// The `Sec-WebSocket-Accept` value for a valid upgrade request, or the refusal.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response itself, made once per refused upgrade"
)]
fn upgrade_key(
    method: &http::Method,
    headers: &HeaderMap,
) -> Result<String, http::Response<Bytes>> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|text| {
                text.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if method != http::Method::GET
        || !has_token(header::UPGRADE, "websocket")
        || !has_token(header::CONNECTION, "upgrade")
    {
        return Err(responses::upgrade_required());
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version != "13")
    {
        let mut refusal = responses::upgrade_required();
        refusal.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(refusal);
    }
    match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) => {
            Ok(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
        }
        None => Err(responses::bad_request()),
    }
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_frame_size(Some(WEBSOCKET_FRAME_BYTES_MAX))
        .max_message_size(Some(WEBSOCKET_MESSAGE_BYTES_MAX))
}

/// One open connection and what its task needs.
struct Connection {
    snapshot: SharedSnapshot,
    observer: Arc<dyn Observer>,
    connections: Connections,
    context: Arc<ConnectionContext>,
    /// The node's place this connection holds, given back when the task ends.
    _place: Place,
}

/// Why a connection ended: the close code and reason `$disconnect` reports.
struct Closed {
    code: u16,
    reason: String,
}

impl Closed {
    fn new(code: CloseCode, reason: &str) -> Closed {
        Closed {
            code: code.into(),
            reason: reason.to_owned(),
        }
    }

    /// The connection broke (no closing handshake): nothing more is written to it.
    fn abnormal() -> Closed {
        Closed::new(CloseCode::Abnormal, "Connection closed abnormally")
    }
}

impl Connection {
    async fn run<S>(self, mut stream: WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use futures_util::{SinkExt as _, StreamExt as _};

        let id = self.context.connection_id.clone();
        let registry::Registered {
            connection,
            mut outbox,
        } = self.connections.register(
            &id,
            self.context.connected_at,
            self.context.source_ip.clone(),
            self.context.user_agent.clone(),
        );
        let limits = self.connections.limits().clone();
        let mut stopping = self.connections.stopping();
        // Each message's route runs here; dropping the set (the task aborted) aborts them.
        let mut routes = JoinSet::new();
        let end_of_life = Instant::now() + limits.lifetime;
        let mut last_active = Instant::now();
        let closed = loop {
            let server_close = tokio::select! {
                frame = stream.next(), if routes.len() < limits.messages_in_flight_max => match frame {
                    Some(Ok(Message::Text(text))) => {
                        last_active = Instant::now();
                        connection.touch();
                        self.dispatch(&mut routes, ClientMessage::Text(text.as_str().to_owned()));
                        continue;
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        last_active = Instant::now();
                        connection.touch();
                        self.dispatch(&mut routes, ClientMessage::Binary(bytes));
                        continue;
                    }
                    // Pongs to pings are queued by the protocol and sent with the next write.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        let closed = match frame {
                            Some(frame) => Closed { code: frame.code.into(), reason: frame.reason.as_str().to_owned() },
                            None => Closed::new(CloseCode::Status, ""),
                        };
                        // Completes the closing handshake.
                        let _ = tokio::time::timeout(CLOSE_WAIT, stream.flush()).await;
                        break closed;
                    }
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                        Closed::new(CloseCode::Size, "Message too big")
                    }
                    Some(Err(_)) | None => break Closed::abnormal(),
                },
                Some(_finished) = routes.join_next(), if !routes.is_empty() => continue,
                Some(data) = outbox.recv() => {
                    connection.taken(data.len());
                    let message = match String::from_utf8(Vec::from(data)) {
                        Ok(text) => Message::text(text),
                        Err(error) => Message::binary(error.into_bytes()),
                    };
                    // The write races the send timeout and every other reason to close, so a
                    // client that stops reading cannot hold the task.
                    let ended = tokio::select! {
                        sent = tokio::time::timeout(limits.send_timeout, stream.send(message)) => match sent {
                            Ok(Ok(())) => None,
                            Ok(Err(_)) => Some(Closed::abnormal()),
                            Err(_elapsed) => Some(Closed::new(CloseCode::Away, "Send timeout")),
                        },
                        () = connection.closing() => Some(Closed::new(CloseCode::Normal, "Connection deleted")),
                        () = tokio::time::sleep_until(last_active + limits.idle_timeout) => Some(Closed::new(CloseCode::Away, "Idle timeout")),
                        () = tokio::time::sleep_until(end_of_life) => Some(Closed::new(CloseCode::Away, "Connection lifetime exceeded")),
                        () = stopped(&mut stopping) => Some(Closed::new(CloseCode::Away, "Going away")),
                    };
                    match ended {
                        None => {
                            last_active = Instant::now();
                            continue;
                        }
                        Some(closed) if closed.code == u16::from(CloseCode::Abnormal) => break closed,
                        Some(closed) => closed,
                    }
                }
                () = connection.closing() => Closed::new(CloseCode::Normal, "Connection deleted"),
                () = tokio::time::sleep_until(last_active + limits.idle_timeout) => Closed::new(CloseCode::Away, "Idle timeout"),
                () = tokio::time::sleep_until(end_of_life) => Closed::new(CloseCode::Away, "Connection lifetime exceeded"),
                () = stopped(&mut stopping) => Closed::new(CloseCode::Away, "Going away"),
            };
            // The server closes: tell the client why, briefly.
            let frame = CloseFrame {
                code: server_close.code.into(),
                reason: server_close.reason.clone().into(),
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, stream.close(Some(frame))).await;
            break server_close;
        };
        self.connections.remove(&id);
        drop(stream);
        self.disconnect(closed).await;
        // Messages still running finish (their invocations are bounded by their functions'
        // timeouts); past the drain bound they are aborted.
        let drained = tokio::time::timeout(limits.routes_drain_timeout, async {
            while routes.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            routes.shutdown().await;
        }
    }

    /// Runs a message's route in a task of its own, owned by the connection's task.
    fn dispatch(&self, routes: &mut JoinSet<()>, message: ClientMessage) {
        let snapshot = Arc::clone(&self.snapshot);
        let observer = Arc::clone(&self.observer);
        let connections = self.connections.clone();
        let context = Arc::clone(&self.context);
        routes.spawn(async move {
            let app = snapshot.load_full();
            let request_id = uuid::Uuid::new_v4().to_string();
            let body = message.body();
            let selected = app.websocket.as_ref().and_then(|api| select(api, body));
            let Some((route_key, function)) = selected else {
                // API Gateway's answer to a message no route takes.
                let reply = error_reply("Forbidden", &context.connection_id, &request_id);
                let _ = connections.post(&context.connection_id, reply);
                return;
            };
            let event = event::message(&context, &request_id, route_key, body);
            let meta = InvokeMeta {
                request_id: request_id.clone(),
            };
            let invocation = function.invoke(Bytes::from(event), meta).await;
            let error = invocation.result.as_ref().err();
            observer.invocation_finished(
                &invocation.report,
                error,
                InvocationSource::Route(route_key),
            );
            if error.is_some() {
                let reply =
                    error_reply("Internal server error", &context.connection_id, &request_id);
                let _ = connections.post(&context.connection_id, reply);
            }
        });
    }

    /// Runs `$disconnect`, when the current app routes it. Best effort, as on API Gateway.
    async fn disconnect(&self, closed: Closed) {
        let app = self.snapshot.load_full();
        let Some(function) = app
            .websocket
            .as_ref()
            .and_then(|api| api.route("$disconnect"))
        else {
            return;
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = event::disconnect(&self.context, &request_id, closed.code, &closed.reason);
        let invocation = function
            .invoke(Bytes::from(event), InvokeMeta { request_id })
            .await;
        let error = invocation.result.as_ref().err();
        self.observer.invocation_finished(
            &invocation.report,
            error,
            InvocationSource::Route("$disconnect"),
        );
    }
}

/// Resolves once the node shuts down.
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    // A registry dropped meanwhile stops its connections too.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// A message from a client, owned so its route can run in a task of its own.
enum ClientMessage {
    Text(String),
    Binary(Bytes),
}

impl ClientMessage {
    fn body(&self) -> Body<'_> {
        match self {
            ClientMessage::Text(text) => Body::Text(text),
            ClientMessage::Binary(bytes) => Body::Binary(bytes),
        }
    }
}

/// What API Gateway sends a client whose message failed: `{"message", "connectionId", "requestId"}`.
fn error_reply(message: &str, connection_id: &str, request_id: &str) -> Bytes {
    let reply = json!({
        "message": message,
        "connectionId": connection_id,
        "requestId": request_id,
    });
    Bytes::from(reply.to_string())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 client) as plain IPv4.
fn plain_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}
