//! A node started in-process, on loopback with ephemeral ports, driven through its listeners.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use node::{Node, NodeConfig, NodeHooks};

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A node of the app in `app_dir`, with its data in `data_dir`, listening on free ports.
fn config(app_dir: &Path, data_dir: &Path) -> NodeConfig {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    NodeConfig {
        manifest_path: app_dir.join("rondo.toml"),
        data_dir: data_dir.to_owned(),
        tools_dir: data_dir.join("tools"),
        listen: loopback,
        aws_listen: loopback,
        aws_credentials: Vec::new(),
        ttl_sweep_interval: Duration::from_secs(60),
        stream_retention: Duration::from_secs(86_400),
        process_idle_timeout: Duration::from_secs(300),
        async_retry_delay: Duration::from_secs(60),
        edge: gateway::EdgeLimits::production(),
    }
}

/// `GET http://{addr}{path}`: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (http::StatusCode, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: http::Uri = format!("http://{addr}{path}").parse().expect("a URI");
    let response = client.get(uri).await.expect("the node answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_serves_hello_in_process_and_stops() {
    let app = tempfile::tempdir().expect("a temp dir");
    for file in ["rondo.toml", "hello.wasm"] {
        std::fs::copy(
            repo().join("examples/hello").join(file),
            app.path().join(file),
        )
        .expect("copy examples/hello");
    }
    let data = tempfile::tempdir().expect("a temp dir");

    let (node, loaded) = Node::start(config(app.path(), data.path()), NodeHooks::silent())
        .await
        .expect("the node starts");
    assert_eq!(loaded.spec.name, "hello");
    assert_ne!(
        node.gateway_addr().port(),
        0,
        "the gateway's port is the one it took"
    );
    assert_ne!(node.aws_addr().port(), 0);

    let (status, body) = get(node.gateway_addr(), "/hello/node").await;
    assert_eq!(status, http::StatusCode::OK, "{body}");
    assert_eq!(body, r#"{"message":"Hello, node!"}"#);
    let (status, body) = get(node.aws_addr(), "/2015-03-31/functions").await;
    assert_eq!(status, http::StatusCode::OK, "{body}");
    assert!(body.contains("\"hello\""), "{body}");

    let gateway = node.gateway_addr();
    let shutdown = node.shutdown().await;
    assert!(shutdown.drained);
    shutdown.ledger.expect("the ledger commits");
    assert!(
        tokio::net::TcpStream::connect(gateway).await.is_err(),
        "a stopped node listens no more"
    );
}
