//! An HTTP request written as text, the input of the targets that fuzz what the gateway reads from
//! a request (SigV4, Lambda's Invoke, `@connections`, the API Gateway event):
//!
//! ```text
//! POST /2015-03-31/functions/tester/invocations?Qualifier=$LATEST
//! x-amz-invocation-type: Event
//! host: localhost
//!
//! {"the": "body"}
//! ```
//!
//! The first line is the method and the request target; header lines follow (`name: value`,
//! any bytes in the value); an empty line ends the head, and the rest is the body. Line ends may
//! be `\n` or `\r\n`. A method or target that `http` refuses makes no request (hyper would have
//! refused it before rondo's code saw it); a header line that is not a valid header is skipped.
//! Seeds written this way are readable, and libFuzzer's mutations keep most of them requests.

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Uri};

/// Reads a request from the text form; `None` when its first line is not a method and a target.
pub fn parse(data: &[u8]) -> Option<(Parts, Bytes)> {
    let (head, body) = split_head(data);
    let mut lines = head
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next()?;
    let mut words = request_line.splitn(2, |&byte| byte == b' ');
    let method = Method::from_bytes(words.next()?).ok()?;
    let target = words.next()?;
    // A trailing ` HTTP/1.1` is allowed and ignored.
    let target = target.strip_suffix(b" HTTP/1.1").unwrap_or(target);
    let uri = Uri::try_from(target).ok()?;
    let mut request = Request::builder().method(method).uri(uri);
    for line in lines {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            request = request.header(name, value);
        }
    }
    let request = request.body(Bytes::copy_from_slice(body)).ok()?;
    Some(request.into_parts())
}

/// The head (up to the first empty line) and the body; all head when there is no empty line.
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let blank_line = data
        .windows(2)
        .enumerate()
        .find_map(|(at, pair)| match pair {
            b"\n\n" => Some((at, at + 2)),
            b"\n\r" if data.get(at + 2) == Some(&b'\n') => Some((at, at + 3)),
            _ => None,
        });
    match blank_line {
        Some((head_end, body_start)) => (&data[..head_end], &data[body_start..]),
        None => (data, &[]),
    }
}
