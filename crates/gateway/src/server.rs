//! The HTTP server loop shared by rondo's listeners: HTTP/1.1 and HTTP/2 on one port, one task
//! per connection, and a graceful drain on shutdown.
//!
//! The loop is the edge's outer layer, and bounds what a client can hold without sending
//! requests ([`ServerConfig`]):
//! - hyper runs with a timer: a request head must arrive within the header-read timeout (for
//!   HTTP/1.1 this is also how long a keep-alive connection may wait for its next request), and
//!   HTTP/2 pings connections with requests in flight, closing them when the peer is dead;
//! - a connection with no request in flight (a response still being written counts as one) for
//!   the idle timeout is shut down gracefully (HTTP/2: `GOAWAY`);
//! - at most `connections_max` connections are open per listener: the loop takes a slot before
//!   it accepts, so past the cap new clients wait in the kernel's accept queue, and no task is
//!   spawned for them;
//! - every connection's task is owned by the loop (a [`JoinSet`]); at shutdown each connection is
//!   shut down gracefully, and those still open at the drain deadline are aborted.
//!
//! Request bodies are bounded by the handlers, which read them through [`crate::body`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::limits::{
    HTTP_CONNECTIONS_PER_LISTENER_MAX, HTTP_HEADER_READ_TIMEOUT_MS, HTTP_IDLE_TIMEOUT_MS,
    HTTP2_KEEP_ALIVE_INTERVAL_MS, HTTP2_KEEP_ALIVE_TIMEOUT_MS, SHUTDOWN_DRAIN_MS_MAX,
};

pub type Response = http::Response<Full<Bytes>>;

/// How one listener's server bounds its connections. [`ServerConfig::production`] has the
/// values of [`crate::limits`]; tests start servers with small ones.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long a request head may take to arrive (HTTP/1.1: also the keep-alive idle time).
    pub header_read_timeout: Duration,
    /// How long a connection may go without a request in flight before it is shut down.
    pub idle_timeout: Duration,
    /// HTTP/2 pings: how often, and how long to wait for the answer.
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
    /// Open connections on this listener; past it, accepting waits.
    pub connections_max: usize,
    /// How long shutdown waits for in-flight requests before aborting their connections.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// The limits a node serves with.
    pub fn production() -> ServerConfig {
        ServerConfig {
            header_read_timeout: Duration::from_millis(HTTP_HEADER_READ_TIMEOUT_MS),
            idle_timeout: Duration::from_millis(HTTP_IDLE_TIMEOUT_MS),
            http2_keep_alive_interval: Duration::from_millis(HTTP2_KEEP_ALIVE_INTERVAL_MS),
            http2_keep_alive_timeout: Duration::from_millis(HTTP2_KEEP_ALIVE_TIMEOUT_MS),
            connections_max: HTTP_CONNECTIONS_PER_LISTENER_MAX,
            drain_timeout: Duration::from_millis(SHUTDOWN_DRAIN_MS_MAX),
        }
    }
}

/// Serves `handler` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// in-flight requests to finish (at most `config.drain_timeout`; connections still open then are
/// aborted). Returns whether every in-flight request finished in time.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    config: &ServerConfig,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> bool
where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = http::Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    assert!(
        config.connections_max > 0,
        "a listener serves at least one connection"
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.http2_keep_alive_interval)
        .keep_alive_timeout(config.http2_keep_alive_timeout);
    let slots = Arc::new(Semaphore::new(config.connections_max));
    let (drain_sender, drain) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // A slot first: past the cap, clients wait in the kernel's queue, not in a task.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the slots are never closed"),
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accepting a connection failed: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Finished connections are reaped here, so the set holds at most the open ones.
        while tasks.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let handler = handler.clone();
            let activity = Arc::clone(&activity);
            hyper::service::service_fn(move |request| {
                let in_flight = activity.begin();
                let response = handler(request, peer);
                async move {
                    let response = response.await;
                    Ok::<_, Infallible>(response.map(|body| Tracked {
                        body: Box::pin(body),
                        _in_flight: in_flight,
                    }))
                }
            })
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let idle_timeout = config.idle_timeout;
        let drain = drain.clone();
        tasks.spawn(async move {
            let _slot = slot;
            run_connection(connection, &activity, idle_timeout, drain).await;
        });
    }
    drop(listener);
    let _ = drain_sender.send(true);
    let drained = tokio::time::timeout(config.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    // Connections still open past the deadline are aborted (and awaited, so none outlives us).
    tasks.shutdown().await;
    drained
}

/// Drives one connection to its end: shuts it down gracefully when it has been idle for
/// `idle_timeout` or when the server drains.
async fn run_connection<C>(
    connection: C,
    activity: &Activity,
    idle_timeout: Duration,
    mut drain: watch::Receiver<bool>,
) where
    C: Future + GracefulConnection,
{
    let mut connection = std::pin::pin!(connection);
    let mut shutting_down = false;
    loop {
        let idle_check = activity.idle_deadline(idle_timeout);
        tokio::select! {
            // Clients that hang up mid-request are routine; nothing to report.
            _ = connection.as_mut() => return,
            _ = drain.changed(), if !shutting_down => {
                connection.as_mut().shut_down();
                shutting_down = true;
            }
            () = tokio::time::sleep_until(idle_check), if !shutting_down => {
                if activity.idle_since().is_some_and(|since| since.elapsed() >= idle_timeout) {
                    connection.as_mut().shut_down();
                    shutting_down = true;
                }
            }
        }
    }
}

/// A connection that can be asked to finish its requests in flight and close.
trait GracefulConnection {
    fn shut_down(self: Pin<&mut Self>);
}

impl<I, S, E> GracefulConnection for auto::UpgradeableConnection<'_, I, S, E>
where
    S: hyper::service::HttpService<Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: Body + Send + 'static,
    <S::ResBody as Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn shut_down(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// One connection's requests in flight, and since when it has had none.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    in_flight: usize,
    idle_since: Instant,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        // The state is two plain numbers: still consistent after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request starts; it is in flight until the guard (held by its response body) drops.
    fn begin(self: &Arc<Activity>) -> InFlight {
        self.lock().in_flight += 1;
        InFlight {
            activity: Arc::clone(self),
        }
    }

    /// Since when the connection has had no request in flight, if it has none.
    fn idle_since(&self) -> Option<Instant> {
        let state = self.lock();
        (state.in_flight == 0).then_some(state.idle_since)
    }

    /// When to look again whether the connection has been idle for `idle_timeout`.
    fn idle_deadline(&self, idle_timeout: Duration) -> Instant {
        self.idle_since().unwrap_or_else(Instant::now) + idle_timeout
    }
}

/// A request in flight on a connection.
struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.activity.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// A response body that keeps its request in flight until it is written (or dropped).
struct Tracked<B> {
    body: Pin<Box<B>>,
    _in_flight: InFlight,
}

impl<B: Body> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.body.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
