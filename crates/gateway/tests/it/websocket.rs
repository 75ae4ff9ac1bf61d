//! WebSocket connections at the edge: a client that stops reading while functions post to it,
//! and the node's shutdown closing every connection.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gateway::body::BodyConfig;
use gateway::websocket::{Connections, WebSocketLimits};
use runtime::{ConnectionError, ConnectionService as _};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;

use crate::support::{Gateway, app, quick_config, start_gateway};

fn limits() -> WebSocketLimits {
    let mut limits = WebSocketLimits::production();
    limits.send_timeout = Duration::from_millis(500);
    limits
}

async fn gateway(limits: WebSocketLimits) -> Gateway {
    start_gateway(
        app(1 << 20),
        quick_config(),
        BodyConfig::production(),
        Connections::with_limits(limits),
    )
    .await
}

/// Connects a client to `/ws` and returns it with its connection id.
async fn connect(gateway: &Gateway) -> (WebSocketStream<TcpStream>, String) {
    let stream = TcpStream::connect(gateway.server.addr)
        .await
        .expect("connect");
    let url = format!("ws://{}/ws", gateway.server.addr);
    let (client, response) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("the upgrade is accepted");
    assert_eq!(response.status(), 101);
    // The connection is registered once the server side of the handshake completes.
    let started = Instant::now();
    loop {
        if let [id] = gateway.connections.ids().as_slice() {
            return (client, id.clone());
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never registered"
        );
        tokio::task::yield_now().await;
    }
}

/// Issue 13, defect 5: a client that never reads while functions post to it fills its socket;
/// the write that cannot finish is cut by the send timeout, the connection is closed (posting
/// answers 410) and `$disconnect` runs. The idle timeout (10 minutes) plays no part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_client_that_never_reads_is_closed_after_the_send_timeout() {
    let gateway = gateway(limits()).await;
    let (_client_never_reads, id) = connect(&gateway).await;
    let message = Bytes::from(vec![b'x'; 128 * 1024]);
    let started = Instant::now();
    loop {
        match gateway.connections.post(&id, message.clone()) {
            Ok(()) => {}
            // The outbox is full: the connection's task is stuck writing; let it time out.
            Err(ConnectionError::LimitExceeded(_)) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(ConnectionError::Gone(_)) => break,
            Err(other) => panic!("{other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a client that never reads kept its connection for 10 s"
        );
    }
    assert!(
        gateway
            .recorder
            .wait_for("$disconnect", Duration::from_secs(5))
            .await,
        "$disconnect ran"
    );
}

/// At shutdown every connection is closed and its `$disconnect` runs, within the drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_all_closes_every_connection_and_runs_disconnect() {
    let gateway = gateway(limits()).await;
    let (_client, _id) = connect(&gateway).await;
    assert!(
        gateway.connections.close_all(Duration::from_secs(5)).await,
        "the connection's task finished within the drain"
    );
    assert!(gateway.connections.is_empty());
    assert!(
        gateway
            .recorder
            .wait_for("$disconnect", Duration::from_secs(1))
            .await
    );
}
