//! A small DynamoDB JSON client for the benchmark: one keep-alive HTTP/1.1 connection to rondo's
//! AWS endpoint, one request in flight, every answer checked.
//!
//! `rondo dev` without `--aws-credentials` accepts unsigned requests, so none is signed.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use serde_json::Value;

/// One connection to the AWS endpoint.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Client {
    /// Connects (with `TCP_NODELAY`) and runs the connection as a local task.
    pub async fn connect(address: SocketAddr) -> anyhow::Result<Client> {
        let (sender, host) = crate::bench::open_http1(address).await?;
        Ok(Client { sender, host })
    }

    /// Sends one DynamoDB request and returns the answer's body; an answer other than 200 is an
    /// error quoting the body.
    pub async fn call_raw(&mut self, operation: &str, body: Bytes) -> anyhow::Result<Bytes> {
        let request = hyper::Request::post("/")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .body(Full::new(body))
            .context("cannot build a request")?;
        self.sender
            .ready()
            .await
            .with_context(|| format!("{operation}: connection lost"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .with_context(|| format!("{operation}: no answer"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("{operation}: answer cut short"))?
            .to_bytes();
        if status != hyper::StatusCode::OK {
            bail!(
                "{operation}: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(body)
    }

    /// [`Client::call_raw`] with a JSON request and answer.
    pub async fn call(&mut self, operation: &str, request: &Value) -> anyhow::Result<Value> {
        let body = self
            .call_raw(operation, Bytes::from(request.to_string()))
            .await?;
        serde_json::from_slice(&body)
            .with_context(|| format!("{operation}: the answer is not JSON"))
    }
}
