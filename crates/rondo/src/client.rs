//! The CLI's one way to talk to a running node (`rondo invoke`, `rondo cost`, `rondo backup`).

use anyhow::Context as _;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Sends `request` to the node at `endpoint` (its AWS endpoint); when nobody answers there, the
/// error says what to check.
pub(crate) async fn send<B>(
    request: http::Request<B>,
    endpoint: &str,
) -> anyhow::Result<http::Response<hyper::body::Incoming>>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(TokioExecutor::new())
        .build_http()
        .request(request)
        .await
        .with_context(|| format!("cannot reach rondo at {endpoint} (is `rondo dev` running?)"))
}
