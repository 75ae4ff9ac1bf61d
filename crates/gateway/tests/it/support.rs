//! Starting a server in-process on an ephemeral port, and a raw HTTP/1.1 client that can
//! misbehave.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gateway::server::{self, ServerConfig};
use http_body_util::Full;
use hyper::body::Incoming;
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
