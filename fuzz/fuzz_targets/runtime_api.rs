//! What a process function's runtime posts to the Lambda Runtime API and rondo parses: an error
//! body (`/runtime/invocation/{id}/error`, `/runtime/init/error`) with its
//! `Lambda-Runtime-Function-Error-Type` header (`process::parse_posted_error`). Responses are kept
//! as the bytes they are (only their size is checked), so the error body is the decoder. The first
//! byte says how many of the next bytes are the header (none when it is 0 or they are not UTF-8).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.split_first() {
        Some((&n, rest)) if n > 0 => {
            let n = usize::from(n).min(rest.len());
            let header = std::str::from_utf8(&rest[..n]).ok().map(str::to_owned);
            (header, &rest[n..])
        }
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    let posted = process::parse_posted_error(body, header);
    assert!(!posted.error_type.is_empty(), "an error always has a type");
    if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        assert!(
            posted.message.chars().count() <= process::limits::ERROR_MESSAGE_CHARS_MAX,
            "a body that is not JSON is kept as a bounded message"
        );
    }
});
