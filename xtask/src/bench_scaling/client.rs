//! The benchmark's HTTP client: one keep-alive HTTP/1.1 connection per caller, GET only, run as
//! local tasks on the client's one thread.

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};

/// One connection to a listener of rondo.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    host: HeaderValue,
}

impl Connection {
    /// Connects (with `TCP_NODELAY`) and runs the connection as a local task.
    pub async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let (sender, host) = crate::bench::open_http1(address).await?;
        Ok(Connection { sender, host })
    }

    /// Sends `GET path` and returns the answer's status and body, whatever the status.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = hyper::Request::get(path)
            .header(HOST, self.host.clone())
            .body(Empty::new())
            .with_context(|| format!("cannot build a request for {path}"))?;
        self.sender
            .ready()
            .await
            .with_context(|| format!("GET {path}: connection lost"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .with_context(|| format!("GET {path}: no answer"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("GET {path}: answer cut short"))?
            .to_bytes();
        Ok((status, body))
    }

    /// Sends `GET path` and returns the body; a status other than 200 is an error quoting it.
    pub async fn get_ok(&mut self, path: &str) -> anyhow::Result<Bytes> {
        let (status, body) = self.get(path).await?;
        if status != StatusCode::OK {
            anyhow::bail!(
                "GET {path}: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(body)
    }
}
