use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::server::conn::http1;
use hyper::service::service_fn;

use super::*;

/// A stand-in server on loopback: answers every GetItem with an item, except every third request,
/// which it answers with an empty object (an item not found) or a 400 in turn.
fn start_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().expect("bound");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let counter = Arc::new(AtomicU64::new(0));
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let n = counter.fetch_add(1, Ordering::Relaxed);
                            let target = request.headers()["x-amz-target"].clone();
                            async move {
                                assert_eq!(target, "DynamoDB_20120810.GetItem");
                                let (status, body) = match n % 6 {
                                    2 => (200, "{}"),
                                    5 => (400, r#"{"__type":"x#ValidationException"}"#),
                                    _ => (200, r#"{"Item":{"pk":{"S":"a"}}}"#),
                                };
                                let mut response =
                                    hyper::Response::new(Full::new(Bytes::from(body)));
                                *response.status_mut() =
                                    hyper::StatusCode::from_u16(status).expect("status");
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    address
}

#[test]
fn counts_wrong_answers_as_errors_and_times_the_rest() {
    let address = start_server();
    let bodies = [Bytes::from_static(b"{}"), Bytes::from_static(b"{ }")];
    let phases = Phases {
        warmup: Duration::from_millis(50),
        measure: Duration::from_millis(300),
    };
    let measured = measure(address, Operation::GetItem, &bodies, 4, phases).expect("measured");
    assert!(measured.n_ok > 0);
    assert_eq!(measured.latencies_us.len() as u64, measured.n_ok);
    assert!(measured.latencies_us.is_sorted());
    assert!(measured.n_ok_total >= measured.n_ok);
    // Two requests in six are wrong; allow for where the windows cut the sequence.
    let wrong_share = measured.n_errors as f64 / (measured.n_ok + measured.n_errors) as f64;
    assert!((0.25..0.42).contains(&wrong_share), "{wrong_share}");
    let first_error = measured.first_error.as_deref().expect("an error was seen");
    assert!(first_error.starts_with("GetItem: "), "{first_error}");
    assert!(measured.quantile_us(0.5) <= measured.quantile_us(0.99));
}

#[test]
fn send_all_fails_on_a_wrong_answer() {
    let address = start_server();
    let bodies = vec![Bytes::from_static(b"{}"); 3];
    let error = send_all(address, Operation::GetItem, &bodies, 1).expect_err("the third is wrong");
    assert!(error.to_string().contains("GetItem: 200 OK: {}"), "{error}");
}

#[test]
fn answers_must_hold_what_the_operation_returns() {
    let query = Operation::Query { items_n: 10 };
    assert!(query.accepts(br#"{"Count":10,"Items":[],"ScannedCount":10}"#));
    assert!(!query.accepts(br#"{"Count":1,"Items":[],"ScannedCount":1}"#));
    assert!(Operation::GetItem.accepts(br#"{"Item":{"pk":{"S":"a"}}}"#));
    assert!(!Operation::GetItem.accepts(b"{}"));
    assert!(Operation::BatchWriteItem.accepts(br#"{"UnprocessedItems":{}}"#));
    assert!(!Operation::BatchWriteItem.accepts(br#"{"UnprocessedItems":{"bench":[]}}"#));
}

#[test]
fn every_put_gets_a_new_version() {
    let body = super::super::workload::put_items()[0].clone();
    let first = with_new_version(&body);
    let second = with_new_version(&body);
    assert_ne!(first, second);
    assert_eq!(first.len(), body.len());
    assert!(find(&first, VERSION_PLACEHOLDER).is_none());
    let get = Bytes::from_static(br#"{"Key":{}}"#);
    assert_eq!(with_new_version(&get), get);
}
