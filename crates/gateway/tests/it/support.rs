//! Starting a server in-process on an ephemeral port, and a raw HTTP/1.1 client that can
//! misbehave.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use app::{
    AppFunction, AppSnapshot, Code, InvocationSource, Observer, RouteTable, SharedSnapshot,
    WebSocketApi,
};
use arc_swap::ArcSwap;
use bytes::Bytes;
use gateway::body::{BodyBudget, BodyConfig};
use gateway::server::{self, ServerConfig};
use gateway::websocket::Connections;
use http_body_util::Full;
use hyper::body::Incoming;
use manifest::RouteKey;
use runtime::{FunctionConfig, InvokeError, Report, Runtime, RuntimeConfig, Tier};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server config whose limits are small enough for a test to pass in about a second.
pub fn quick_config() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(1_000),
        http2_keep_alive_interval: Duration::from_millis(500),
        http2_keep_alive_timeout: Duration::from_millis(500),
        connections_max: 16,
        drain_timeout: Duration::from_millis(1_000),
    }
}

/// A server running on loopback; stopping it (or dropping it) drains it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<bool>,
}

impl Running {
    /// Stops accepting and drains; returns whether every request finished in time.
    pub async fn stop(mut self) -> bool {
        let _ = self.stop.take().map(|stop| stop.send(()));
        (&mut self.task).await.expect("the server does not panic")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handler` with `config` on an ephemeral loopback port.
pub async fn start<H, F, B>(config: ServerConfig, handler: H) -> Running
where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = http::Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("a bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::serve(listener, &config, handler, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// A handler answering every request with 200 `ok`.
pub async fn ok(
    _request: http::Request<Incoming>,
    _peer: SocketAddr,
) -> http::Response<Full<Bytes>> {
    http::Response::new(Full::new(Bytes::from_static(b"ok")))
}

/// Sends `request` whole on a new connection and reads the response until the server closes,
/// within `limit`; `None` when nothing complete arrived in time.
pub async fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write the request");
    read_until_closed(&mut stream, limit).await
}

/// What the server sends until it closes the connection, if it closes within `limit`.
pub async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_elapsed) => None,
    }
}

/// `GET /` that asks the server to close after answering.
pub const GET_AND_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";

/// The test handler component (`test-programs/handler`), loaded once for all tests with baseline
/// code (it compiles fastest).
pub fn tester() -> AppFunction {
    static TESTER: OnceLock<AppFunction> = OnceLock::new();
    TESTER
        .get_or_init(|| {
            let runtime = Runtime::new(&RuntimeConfig {
                cache_dir: None,
                instances_max: 8,
                tables: None,
                connections: None,
            })
            .expect("the runtime starts");
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../test-programs/wasm/test_handler.wasm");
            let wasm = std::fs::read(&path).expect("the test guests are committed");
            let config = FunctionConfig {
                name: "tester".to_owned(),
                memory_mb: 128,
                timeout_ms: 5_000,
                environment: Default::default(),
                allowed_outbound_hosts: Vec::new(),
            };
            let function = runtime
                .load(&config, &wasm, Tier::Baseline)
                .expect("the guest loads");
            AppFunction::unlimited(Code::Wasm(function), 64)
        })
        .clone()
}

/// An app whose every route (`$default`) is the tester, taking bodies up to `body_bytes_max`,
/// with a WebSocket API on `/ws` whose `$disconnect` and `$default` are the tester too.
pub fn app(body_bytes_max: usize) -> SharedSnapshot {
    let default = RouteKey::parse("$default").expect("a route key");
    let routes = HashMap::from([
        ("$default".to_owned(), tester()),
        ("$disconnect".to_owned(), tester()),
    ]);
    Arc::new(ArcSwap::from_pointee(AppSnapshot {
        routes: RouteTable::new(vec![(default, "$default".to_owned(), tester())]),
        functions: HashMap::from([("tester".to_owned(), tester())]),
        request_body_bytes_max: body_bytes_max,
        billing: manifest::BillingSpec {
            granularity_ms: 1,
            price_per_gb_second_nano_usd: 16_667,
            price_per_request_nano_usd: 200,
        },
        websocket: Some(WebSocketApi::new(
            "/ws".to_owned(),
            "$request.body.action",
            routes,
        )),
        static_files: None,
    }))
}

/// Records the route key of every finished invocation.
#[derive(Default)]
pub struct Recorder {
    pub routes: Mutex<Vec<String>>,
    pub finished: tokio::sync::Notify,
}

impl Recorder {
    /// Waits until an invocation of `route` has finished, at most `limit`.
    pub async fn wait_for(&self, route: &str, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            loop {
                let finished = self.finished.notified();
                if self.routes.lock().expect("lock").iter().any(|r| r == route) {
                    return;
                }
                finished.await;
            }
        })
        .await
        .is_ok()
    }
}

impl Observer for Recorder {
    fn invocation_finished(
        &self,
        _report: &Report,
        _error: Option<&InvokeError>,
        source: InvocationSource<'_>,
    ) {
        if let InvocationSource::Route(route) = source {
            self.routes.lock().expect("lock").push(route.to_owned());
        }
        self.finished.notify_waiters();
    }
}

/// The gateway with `app`, its own WebSocket registry, body budget and recorder.
pub struct Gateway {
    pub server: Running,
    pub connections: Connections,
    pub bodies: BodyBudget,
    pub recorder: Arc<Recorder>,
}

/// Starts the gateway's endpoint on `app` with these limits.
pub async fn start_gateway(
    app: SharedSnapshot,
    config: ServerConfig,
    bodies: BodyConfig,
    connections: Connections,
) -> Gateway {
    let bodies = BodyBudget::new(bodies);
    let recorder = Arc::new(Recorder::default());
    let handler = {
        let connections = connections.clone();
        let bodies = bodies.clone();
        let observer: Arc<dyn Observer> = recorder.clone();
        move |request, peer| {
            gateway::endpoints::gateway_endpoint(
                Arc::clone(&app),
                Arc::clone(&observer),
                connections.clone(),
                bodies.clone(),
                request,
                peer,
            )
        }
    };
    let server = start(config, handler).await;
    Gateway {
        server,
        connections,
        bodies,
        recorder,
    }
}
