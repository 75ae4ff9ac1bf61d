//! `rondo invoke`: call a function of a running app through its Lambda Invoke API.

#![expect(
    clippy::print_stdout,
    reason = "the function's result is this command's output"
)]

use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::cli::InvokeArgs;
use crate::client;
use crate::printer;

pub fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    serde_json::from_str::<serde::de::IgnoredAny>(&args.payload)
        .context("--payload is not valid JSON")?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(invoke(args))
}

async fn invoke(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let endpoint = args.endpoint.trim_end_matches('/');
    let name = percent_encode(&args.function);
    let uri = format!("{endpoint}/2015-03-31/functions/{name}/invocations");
    let request = http::Request::post(&uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-amz-log-type", if args.log { "Tail" } else { "None" })
        .body(Full::new(Bytes::from(args.payload.clone())))
        .with_context(|| format!("invalid --endpoint {endpoint}"))?;
    let response = client::send(request, endpoint).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the response failed")?
        .to_bytes();
    let log = headers
        .get("x-amz-log-result")
        .and_then(|v| v.to_str().ok());
    if let Some(log) = log
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(log)
    {
        printer::info_line(String::from_utf8_lossy(&decoded).trim_end());
    }
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        let error_type = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Error");
        anyhow::bail!("{error_type} (HTTP {status}): {text}");
    }
    println!("{text}");
    if headers.contains_key("x-amz-function-error") {
        printer::error_line(&format!("error: function \"{}\" failed", args.function));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
