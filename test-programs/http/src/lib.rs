//! A `wasi:http` proxy component for tests and benchmarks, written against the `wasi` crate's
//! bindings only (no SDK), like the benchmark's hello component.
//!
//! It routes by the path's last segment, so it also works mounted under a prefix (`/w/echo`):
//!
//! | path                 | answer |
//! |----------------------|--------|
//! | `/` (or `.../`)      | 200 `Hello, World!\n`, byte-identical to the benchmark's hello component |
//! | `/echo`              | 200 JSON: `{"method", "path" (with query), "headers" (repeats comma-joined), "body"}` |
//! | `/loop`              | spins forever |
//! | `/panic`             | panics (a trap) |
//! | `/outbound?url=URL`  | GETs `URL` (percent-decoded) through `wasi:http/outgoing-handler`: 200 `{"upstreamStatus": n}`, or 502 with the error text |
//! | `/big`               | 200 with a 7,000,000-byte body of `x` |
//! | anything else        | 404 `Not Found\n` |

use std::fmt::Write as _;
use std::hint::black_box;

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;

wasi::http::proxy::export!(TestHttp);

struct TestHttp;

const HELLO_BODY: &[u8] = b"Hello, World!\n";
const BIG_BODY_BYTES: usize = 7_000_000;
/// `blocking-write-and-flush` accepts at most 4096 bytes per call.
const WRITE_CHUNK_BYTES: usize = 4096;

impl wasi::exports::http::incoming_handler::Guest for TestHttp {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_owned());
        let (path, query) = path_with_query
            .split_once('?')
            .unwrap_or((&path_with_query, ""));
        // Route by the last segment, so tests can mount the component under any prefix
        // (`ANY /w/{proxy+}` serves `/w/echo`), and `/` stays the benchmark's path.
        let last_segment = path.rsplit('/').next().unwrap_or_default();
        match last_segment {
            "" => hello(response_out),
            "echo" => echo(&request, &path_with_query, response_out),
            "loop" => spin_forever(),
            "panic" => panic!("asked to panic"),
            "outbound" => outbound(query, response_out),
            "big" => big(response_out),
            _ => respond(response_out, 404, "text/plain", b"Not Found\n"),
        }
    }
}

/// The benchmark's hello response, header for header and byte for byte.
fn hello(response_out: ResponseOutparam) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[b"text/plain".to_vec()]);
    let _ = headers.set(
        "content-length",
        &[HELLO_BODY.len().to_string().into_bytes()],
    );
    let resp = OutgoingResponse::new(headers);
    let body = resp.body().expect("outgoing body");
    ResponseOutparam::set(response_out, Ok(resp));
    {
        let out = body.write().expect("output stream");
        // A write error only means the client went away: drop the response quietly instead of trapping.
        if out.blocking_write_and_flush(HELLO_BODY).is_err() {
            return;
        }
    }
    let _ = OutgoingBody::finish(body, None);
}

fn echo(request: &IncomingRequest, path_with_query: &str, response_out: ResponseOutparam) {
    let mut json = String::from("{\"method\":");
    push_json_string(&mut json, &method_name(&request.method()));
    json.push_str(",\"path\":");
    push_json_string(&mut json, path_with_query);
    json.push_str(",\"headers\":{");
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in request.headers().entries() {
        let value = String::from_utf8_lossy(&value).into_owned();
        match headers.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    for (header_idx, (name, value)) in headers.iter().enumerate() {
        if header_idx > 0 {
            json.push(',');
        }
        push_json_string(&mut json, name);
        json.push(':');
        push_json_string(&mut json, value);
    }
    json.push_str("},\"body\":");
    match read_body(request) {
        Ok(body) => push_json_string(&mut json, &String::from_utf8_lossy(&body)),
        Err(err) => return respond(response_out, 500, "text/plain", err.as_bytes()),
    }
    json.push('}');
    respond(response_out, 200, "application/json", json.as_bytes());
}

fn outbound(query: &str, response_out: ResponseOutparam) {
    let url = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("url="))
        .map(percent_decode);
    let Some(url) = url else {
        return respond(
            response_out,
            400,
            "text/plain",
            b"missing url query parameter\n",
        );
    };
    match get(&url) {
        Ok(status) => {
            let body = format!("{{\"upstreamStatus\":{status}}}");
            respond(response_out, 200, "application/json", body.as_bytes());
        }
        Err(err) => respond(response_out, 502, "text/plain", err.as_bytes()),
    }
}

/// GETs `url` and returns the response status, or the error as text.
fn get(url: &str) -> Result<u16, String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err(format!(
            "unsupported url {url}: expected http:// or https://"
        ));
    };
    let (authority, path_with_query) = match rest.find('/') {
        Some(slash_idx) => rest.split_at(slash_idx),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let is_valid = request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(path_with_query)).is_ok();
    if !is_valid {
        return Err(format!("invalid url {url}"));
    }
    let future =
        outgoing_handler::handle(request, None).map_err(|err| format!("request refused: {err}"))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(err))) => Err(format!("request failed: {err}")),
        Some(Err(())) => Err("response already taken".to_owned()),
        None => Err("response not ready after blocking".to_owned()),
    }
}

/// Streams `BIG_BODY_BYTES` of `x` from one reused chunk, so the guest's memory stays small.
fn big(response_out: ResponseOutparam) {
    static X_CHUNK: [u8; WRITE_CHUNK_BYTES] = [b'x'; WRITE_CHUNK_BYTES];
    let chunks = (0..BIG_BODY_BYTES)
        .step_by(WRITE_CHUNK_BYTES)
        .map(|start| &X_CHUNK[..WRITE_CHUNK_BYTES.min(BIG_BODY_BYTES - start)]);
    respond_chunks(response_out, 200, "text/plain", BIG_BODY_BYTES, chunks);
}

/// Sends a complete response with a `content-length`.
fn respond(response_out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    respond_chunks(
        response_out,
        status,
        content_type,
        body.len(),
        body.chunks(WRITE_CHUNK_BYTES),
    );
}

/// Sends a response of `content_length` bytes, written chunk by chunk (each at most `WRITE_CHUNK_BYTES`).
fn respond_chunks<'a>(
    response_out: ResponseOutparam,
    status: u16,
    content_type: &str,
    content_length: usize,
    chunks: impl Iterator<Item = &'a [u8]>,
) {
    let headers = Fields::new();
    let _ = headers.set("content-type", &[content_type.as_bytes().to_vec()]);
    let _ = headers.set("content-length", &[content_length.to_string().into_bytes()]);
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let outgoing_body = response
        .body()
        .expect("a new response's body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    {
        let out = outgoing_body
            .write()
            .expect("a new body's stream is taken once");
        for chunk in chunks {
            debug_assert!(chunk.len() <= WRITE_CHUNK_BYTES);
            // A write error only means the client went away: stop quietly instead of trapping.
            if out.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, String> {
    let body = request
        .consume()
        .map_err(|()| "request body already consumed".to_owned())?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "request body stream already taken".to_owned())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(err)) => {
                    return Err(format!(
                        "reading the request body failed: {}",
                        err.to_debug_string()
                    ));
                }
            }
        }
    }
    Ok(bytes)
}

fn method_name(method: &Method) -> String {
    let name = match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    };
    name.to_owned()
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes `%XX` escapes and `+`; malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut byte_idx = 0;
    while byte_idx < bytes.len() {
        let escaped = bytes.get(byte_idx + 1..byte_idx + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16).ok()
        });
        match (bytes[byte_idx], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte);
                byte_idx += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                byte_idx += 1;
            }
            (byte, _) => {
                out.push(byte);
                byte_idx += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn spin_forever() -> ! {
    let mut n_spins: u64 = 0;
    loop {
        n_spins = black_box(n_spins.wrapping_add(1));
    }
}
