//! Request bodies at the edge: a deadline on the whole body, and the node's budget of buffered
//! bytes, answered in API Gateway's shape.

use std::time::{Duration, Instant};

use gateway::body::BodyConfig;
use gateway::websocket::Connections;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::support::{app, quick_config, read_until_closed, start_gateway};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn bodies(read_timeout_ms: u64, buffered_bytes_max: usize) -> BodyConfig {
    BodyConfig {
        read_timeout: Duration::from_millis(read_timeout_ms),
        buffered_bytes_max,
        budget_wait: Duration::from_millis(300),
    }
}

/// A `POST` head declaring `length` bytes of body, for the tester's `status` action (200).
fn post_head(length: usize) -> String {
    format!(
        "POST /?action=status&code=200 HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
         content-length: {length}\r\n\r\n"
    )
}

/// Issue 13, defect 5: a body that stalls is answered 408 in API Gateway's shape once the
/// whole-body deadline passes, and its connection is closed.
#[tokio::test]
async fn issue_13_a_stalled_body_gets_408_within_the_deadline() {
    let deadline = Duration::from_millis(500);
    let gateway = start_gateway(
        app(MIB),
        quick_config(),
        bodies(500, 4 * MIB),
        Connections::new(),
    )
    .await;
    let mut stream = TcpStream::connect(gateway.server.addr)
        .await
        .expect("connect");
    let started = Instant::now();
    stream
        .write_all(post_head(100).as_bytes())
        .await
        .expect("write the head");
    stream.write_all(&[b'x'; 10]).await.expect("write a part");
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let answer = answer.expect("the stalled request was answered and closed within 5 s");
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with(r#"{"message":"Request Timeout"}"#),
        "{answer}"
    );
    assert!(
        elapsed >= deadline && elapsed < deadline * 4,
        "answered after {elapsed:?}"
    );
    assert_eq!(
        gateway.bodies.available_bytes(),
        4 * MIB,
        "the budget is given back"
    );
}

/// Issue 13, defect 5: concurrent large uploads take their size from the node's budget before
/// they are read; those that find no room within the wait get 429, the others are served, and
/// the budget is whole again afterwards.
#[tokio::test]
async fn issue_13_a_flood_of_large_uploads_stays_within_the_byte_budget() {
    const UPLOADS: usize = 8;
    const FIT: usize = 3;
    let gateway = start_gateway(
        app(MIB),
        quick_config(),
        bodies(10_000, FIT * MIB),
        Connections::new(),
    )
    .await;
    let (answers, mut answered) = mpsc::channel(UPLOADS);
    let mut writers = Vec::new();
    for index in 0..UPLOADS {
        let stream = TcpStream::connect(gateway.server.addr)
            .await
            .expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        writer
            .write_all(post_head(MIB).as_bytes())
            .await
            .expect("write the head");
        writer
            .write_all(&vec![b'x'; 512 * KIB])
            .await
            .expect("write half the body");
        writers.push(writer);
        let answers = answers.clone();
        tokio::spawn(async move {
            let mut received = Vec::new();
            let _ = reader.read_to_end(&mut received).await;
            let _ = answers
                .send((index, String::from_utf8_lossy(&received).into_owned()))
                .await;
        });
    }
    // Only FIT bodies fit: the others are refused once the budget wait is over.
    let mut refused = Vec::new();
    while refused.len() < UPLOADS - FIT {
        let next = tokio::time::timeout(Duration::from_secs(5), answered.recv()).await;
        let (index, answer) = next
            .expect("uploads past the budget are refused within 5 s")
            .expect("an answer");
        assert!(answer.starts_with("HTTP/1.1 429"), "{index}: {answer}");
        assert!(
            answer.ends_with(r#"{"message":"Too Many Requests"}"#),
            "{answer}"
        );
        refused.push(index);
    }
    assert_eq!(
        gateway.bodies.available_bytes(),
        0,
        "FIT bodies hold the whole budget"
    );
    // The bodies being read complete and are served.
    for (index, writer) in writers.iter_mut().enumerate() {
        if !refused.contains(&index) {
            writer
                .write_all(&vec![b'x'; 512 * KIB])
                .await
                .expect("write the rest");
        }
    }
    for _ in 0..FIT {
        let next = tokio::time::timeout(Duration::from_secs(10), answered.recv()).await;
        let (index, answer) = next.expect("a served upload").expect("an answer");
        assert!(!refused.contains(&index));
        assert!(answer.starts_with("HTTP/1.1 200"), "{index}: {answer}");
    }
    assert_eq!(
        gateway.bodies.available_bytes(),
        FIT * MIB,
        "the budget is whole again"
    );
}
