//! Lambda's REST API (`Invoke`, `GetFunction`, `ListFunctions`) as the AWS endpoint hands it to
//! `gateway::lambda_api::handle`, on an app with one function, `tester`. The input is a request in
//! the text form of `rondo_fuzz::request`.
//!
//! A synchronous invocation would run the guest on every input, so an `Invoke` asking for one
//! (no `x-amz-invocation-type`, or `RequestResponse`) is made a `DryRun`: everything up to running
//! the function (routing, the function reference and qualifier, the headers, the payload's size
//! and JSON) is still read. `Event` goes to a queue that accepts everything. The answer must be
//! a well-formed Lambda response: a JSON body whenever it is an error.

#![no_main]

use std::sync::Arc;

use app::Observer;
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use rondo_fuzz::{fixtures, request};

fuzz_target!(|data: &[u8]| {
    let Some((mut parts, body)) = request::parse(data) else {
        return;
    };
    let invocation_type = http::HeaderName::from_static("x-amz-invocation-type");
    let synchronous = parts
        .headers
        .get(&invocation_type)
        .is_none_or(|value| value.as_bytes() == b"RequestResponse");
    if synchronous {
        parts
            .headers
            .insert(invocation_type, http::HeaderValue::from_static("DryRun"));
    }
    let request = http::Request::from_parts(parts, Full::new(body));
    let observer: Arc<dyn Observer> = Arc::new(fixtures::NoObserver);
    let queue = fixtures::AcceptingQueue;
    let response = fixtures::runtime().block_on(gateway::lambda_api::handle(
        fixtures::snapshot(),
        &observer,
        Some(&queue),
        request,
    ));
    if response.headers().contains_key("x-amzn-errortype") {
        let body = fixtures::runtime()
            .block_on(http_body_util::BodyExt::collect(response.into_body()))
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
            "an error's body is JSON: {body:?}"
        );
    }
});
