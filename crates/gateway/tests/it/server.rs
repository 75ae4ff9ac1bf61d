//! The server loop: header-read timeout, idle timeout, the per-listener connection cap, drain.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{GET_AND_CLOSE, exchange, ok, quick_config, read_until_closed, start};

/// Issue 13, defect 5: a client that sends its headers one byte at a time (slowloris) is cut
/// off by the header-read timeout, whatever it keeps sending.
#[tokio::test]
async fn issue_13_a_slowloris_client_is_cut_off_by_the_header_timeout() {
    let config = quick_config();
    let header_timeout = config.header_read_timeout;
    let server = start(config, ok).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    let head = b"GET / HTTP/1.1\r\nhost: test\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut_off = None;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        // The server's close shows as end of file (or a reset) on our side.
        let mut buffer = [0; 64];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => {
                cut_off = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) => panic!("the server answered a request it has not received"),
            Err(_still_open) => {}
        }
    }
    let cut_off = cut_off.expect("the server kept a trickling request head open for 5 s");
    assert!(
        cut_off >= header_timeout && cut_off < header_timeout * 4,
        "cut off after {cut_off:?}, the timeout is {header_timeout:?}"
    );
}

/// An HTTP/1.1 keep-alive connection waiting for its next request is closed by the same timer.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let config = quick_config();
    let limit = config.header_read_timeout * 4;
    let server = start(config, ok).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    let received = read_until_closed(&mut stream, limit).await;
    let received = received.expect("the idle keep-alive connection was closed");
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

/// Connections past the listener's cap are not served (no task is started for them) until
/// open ones go; then the server answers again.
#[tokio::test]
async fn issue_13_connections_past_the_cap_wait_and_are_served_after_others_go() {
    let mut config = quick_config();
    config.connections_max = 2;
    // Long enough that the idle connections below hold their slots for the whole test.
    config.header_read_timeout = Duration::from_secs(30);
    config.idle_timeout = Duration::from_secs(30);
    let server = start(config, ok).await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let second = TcpStream::connect(server.addr).await.expect("connect");
    // Many more than the cap: none of them is served while the first two are open.
    let mut waiting = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(GET_AND_CLOSE).await.expect("write");
        waiting.push(stream);
    }
    let answered = read_until_closed(&mut waiting[0], Duration::from_millis(500)).await;
    assert_eq!(answered, None, "a connection past the cap was served");
    drop(first);
    drop(second);
    for (index, stream) in waiting.iter_mut().enumerate() {
        let answer = read_until_closed(stream, Duration::from_secs(5)).await;
        let answer = answer.unwrap_or_else(|| panic!("connection {index} was never served"));
        assert!(answer.starts_with("HTTP/1.1 200"), "{index}: {answer}");
    }
    let answer = exchange(server.addr, GET_AND_CLOSE, Duration::from_secs(5)).await;
    assert!(answer.is_some_and(|answer| answer.starts_with("HTTP/1.1 200")));
    assert!(server.stop().await, "nothing was in flight at shutdown");
}

/// Shutdown waits for a request in flight, and aborts connections still open at the deadline.
#[tokio::test]
async fn shutdown_drains_in_flight_requests_up_to_the_deadline() {
    let mut config = quick_config();
    config.drain_timeout = Duration::from_millis(300);
    let server = start(config, |_request, _peer| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        http::Response::new(http_body_util::Full::new(bytes::Bytes::new()))
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(GET_AND_CLOSE).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert!(
        !server.stop().await,
        "a 60 s request cannot drain in 300 ms"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Its connection was aborted with the server, not left running.
    let received = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert_eq!(received.as_deref(), Some(""));
}
