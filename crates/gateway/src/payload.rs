//! API Gateway HTTP API payload format 2.0: the event a function receives and the response it
//! returns.
//!
//! This is a wire format, so it is the one place in the gateway with serde types; they stay
//! private, and callers pass plain `http` values in and get bytes or an `http::Response` out.
//! Both directions run once per request, so the event is serialised straight from borrowed request
//! parts without building an intermediate `serde_json::Value`.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use app::routes::percent_decode;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Response, StatusCode, Version};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

/// What the gateway knows about a request beyond its HTTP parts.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    pub request_id: &'a str,
    /// The matched route key as written, e.g. `GET /hello/{name}` or `$default`.
    pub route_key: &'a str,
    /// `(name, decoded value)` from the route match.
    pub path_parameters: &'a [(String, String)],
    /// The client address. An IPv4-mapped IPv6 address (how a dual-stack listener sees IPv4
    /// clients) is reported as plain IPv4.
    pub source_ip: IpAddr,
    /// When the gateway received the request.
    pub time: SystemTime,
    /// The Host header as sent, or `localhost`. A port is kept, so functions that build links
    /// from `domainName` reach this server; `domainPrefix` leaves it out.
    pub domain_name: &'a str,
    pub api_id: &'a str,
    pub account_id: &'a str,
}

/// Why a function's output cannot become an HTTP response.
///
/// The gateway logs it and answers 500 `{"message":"Internal Server Error"}`, as API Gateway does
/// for a malformed Lambda response; the client never sees this text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    #[error("function output is not json: {0}")]
    NotJson(serde_json::Error),
    #[error("statusCode {found} is not an integer from 100 to 599")]
    StatusCode { found: String },
    #[error("headers must be an object, found {found}")]
    HeadersNotObject { found: String },
    #[error("header name `{name}` is not a valid http header name")]
    HeaderName { name: String },
    #[error("header `{name}` must be a string, number or boolean, found {found}")]
    HeaderValueType { name: String, found: String },
    #[error("header `{name}` has characters http does not allow: {value:?}")]
    HeaderValue { name: String, value: String },
    #[error("cookies must be an array of strings, found {found}")]
    Cookies { found: String },
    #[error("cookie {cookie:?} has characters http does not allow")]
    CookieValue { cookie: String },
    #[error("body must be a string, found {found}")]
    BodyType { found: String },
    #[error("isBase64Encoded must be a boolean, found {found}")]
    IsBase64EncodedType { found: String },
    #[error("body is marked isBase64Encoded but is not base64 ({0})")]
    Base64(base64::DecodeError),
}

/// Builds the payload format 2.0 event for a request, as JSON bytes.
///
/// Fields with no value (`cookies`, `queryStringParameters`, `pathParameters`, `body`) are left
/// out rather than sent as `null`, as API Gateway does.
pub fn request_event(parts: &Parts, body: &[u8], info: &RequestInfo<'_>) -> Vec<u8> {
    let query_parameters = query_parameters(parts.uri.query().unwrap_or(""));
    let (body_text, is_base64_encoded) = event_body(&parts.headers, body);
    let event = Event {
        version: "2.0",
        route_key: info.route_key,
        raw_path: parts.uri.path(),
        raw_query_string: parts.uri.query().unwrap_or(""),
        cookies: cookies(&parts.headers),
        headers: Headers(parts),
        query_string_parameters: Pairs(&query_parameters),
        path_parameters: Pairs(info.path_parameters),
        request_context: request_context(parts, info),
        body: body_text,
        is_base64_encoded,
    };
    // Base64 grows a body by a third; the rest of the event is rarely over a kilobyte.
    let mut out = Vec::with_capacity(1024 + body.len() / 3 * 4);
    serde_json::to_writer(&mut out, &event).expect("the event has only string keys");
    out
}

/// Turns a function's output into the HTTP response, as API Gateway reads format 2.0.
///
/// - A JSON object with `statusCode` is a structured response: `statusCode`, `headers`, `cookies`
///   (one `Set-Cookie` each), `body`, `isBase64Encoded`. No content-type is added when the
///   function sets none.
/// - A JSON string is the body itself, sent as `application/json` with status 200 (AWS's own
///   example: returning `"Hello from Lambda!"` answers `Hello from Lambda!`).
/// - Any other JSON (an object without `statusCode`, an array, a number, `true`, `null`) is sent
///   verbatim as an `application/json` body with status 200.
/// - Output that is not JSON is an error.
pub fn response_from_function(output: &[u8]) -> Result<Response<Bytes>, PayloadError> {
    let value: Value = serde_json::from_slice(output).map_err(PayloadError::NotJson)?;
    let verbatim = || json_response(Bytes::copy_from_slice(output));
    match value {
        Value::Object(mut object) => match object.remove("statusCode") {
            Some(status) => structured_response(&status, object),
            None => Ok(verbatim()),
        },
        Value::String(text) => Ok(json_response(Bytes::from(text))),
        _ => Ok(verbatim()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<Cow<'a, str>>,
    headers: Headers<'a>,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    query_string_parameters: Pairs<'a, Cow<'a, str>, String>,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    path_parameters: Pairs<'a, String, String>,
    request_context: RequestContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    account_id: &'a str,
    api_id: &'a str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: HttpContext<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'static str,
    time: String,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpContext<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'static str,
    source_ip: IpAddr,
    /// Always present (empty when the client sent none), so handlers that index it directly, as
    /// Python's `event["requestContext"]["http"]["userAgent"]` does, keep working.
    user_agent: Cow<'a, str>,
}

/// The request headers as a JSON object: lower-case names (the `http` crate already lower-cases
/// them), repeated headers comma-joined, `cookie` left out because it has its own field.
struct Headers<'a>(&'a Parts);

/// Name/value pairs serialised as a JSON object, in order.
struct Pairs<'a, K, V>(&'a [(K, V)]);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let headers = &self.0.headers;
        let mut map = serializer.serialize_map(None)?;
        for name in headers.keys().filter(|name| *name != header::COOKIE) {
            map.serialize_entry(name.as_str(), &joined_values(headers, name))?;
        }
        // HTTP/2 carries the host in `:authority`, which `http` keeps in the URI, not in the
        // headers; API Gateway still shows it to the function as `host`.
        let authority = self
            .0
            .uri
            .authority()
            .filter(|_| !headers.contains_key(header::HOST));
        if let Some(authority) = authority {
            map.serialize_entry("host", authority.as_str())?;
        }
        map.end()
    }
}

impl<K: Serialize, V: Serialize> Serialize for Pairs<'_, K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

impl<K, V> Pairs<'_, K, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn request_context<'a>(parts: &'a Parts, info: &RequestInfo<'a>) -> RequestContext<'a> {
    let user_agent = parts.headers.get(header::USER_AGENT).map(lossy);
    RequestContext {
        account_id: info.account_id,
        api_id: info.api_id,
        domain_name: info.domain_name,
        domain_prefix: domain_prefix(info.domain_name),
        http: HttpContext {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            protocol: protocol(parts.version),
            source_ip: info.source_ip.to_canonical(),
            user_agent: user_agent.unwrap_or_default(),
        },
        request_id: info.request_id,
        route_key: info.route_key,
        stage: "$default",
        time: clf_time(info.time),
        time_epoch: epoch_ms(info.time),
    }
}

/// The first label of the host: `abc123` for `abc123.execute-api.localhost:3000`.
fn domain_prefix(domain_name: &str) -> &str {
    let host_end = if domain_name.starts_with('[') {
        domain_name
            .find(']')
            .map_or(domain_name.len(), |idx| idx + 1)
    } else {
        domain_name.find(['.', ':']).unwrap_or(domain_name.len())
    };
    &domain_name[..host_end]
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Formats like `12/Mar/2020:19:03:58 +0000` (the Common Log Format time, always in UTC).
pub(crate) fn clf_time(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from(time)
        .format(format)
        .expect("a utc time with a four-digit year always formats")
}

pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Header bytes as text; `http` admits bytes above 0x7f, which are replaced rather than dropped.
pub(crate) fn lossy(value: &HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

fn joined_values<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Cow<'h, str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().map(lossy).unwrap_or_default();
    values.fold(first, |mut joined, value| {
        let joined_mut = joined.to_mut();
        joined_mut.push(',');
        joined_mut.push_str(&lossy(value));
        joined
    })
}

/// Every cookie from every `Cookie` header, split on `;` and trimmed.
fn cookies(headers: &HeaderMap) -> Vec<Cow<'_, str>> {
    fn split(text: &str) -> impl Iterator<Item = &str> {
        text.split(';')
            .map(str::trim)
            .filter(|cookie| !cookie.is_empty())
    }
    let mut cookies = Vec::new();
    for value in headers.get_all(header::COOKIE) {
        match lossy(value) {
            Cow::Borrowed(text) => cookies.extend(split(text).map(Cow::Borrowed)),
            Cow::Owned(text) => cookies.extend(split(&text).map(|c| Cow::Owned(c.to_owned()))),
        }
    }
    cookies
}

/// Decoded query parameters in order of first appearance, repeated names comma-joined.
///
/// `+` decodes to a space, as in HTML forms and as API Gateway decodes it.
pub(crate) fn query_parameters(raw: &str) -> Vec<(Cow<'_, str>, String)> {
    let mut params: Vec<(Cow<'_, str>, String)> = Vec::new();
    for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_query_part(name);
        let value = decode_query_part(value);
        match params.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => params.push((name, value.into_owned())),
        }
    }
    params
}

fn decode_query_part(raw: &str) -> Cow<'_, str> {
    if raw.contains('+') {
        Cow::Owned(percent_decode(&raw.replace('+', " ")).into_owned())
    } else {
        percent_decode(raw)
    }
}

/// The event's `body` and `isBase64Encoded`.
///
/// Text travels as a plain string when the content-type says it is text (or there is none) and
/// the bytes are UTF-8; everything else is base64, so no byte is ever lost in JSON.
fn event_body<'b>(headers: &HeaderMap, body: &'b [u8]) -> (Option<Cow<'b, str>>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let textual = headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|value| is_textual(value.as_bytes()));
    if textual && let Ok(text) = std::str::from_utf8(body) {
        return (Some(Cow::Borrowed(text)), false);
    }
    (
        Some(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(body),
        )),
        true,
    )
}

fn is_textual(content_type: &[u8]) -> bool {
    let Ok(content_type) = std::str::from_utf8(content_type) else {
        return false;
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let exact = [
        "application/json",
        "application/xml",
        "application/x-www-form-urlencoded",
    ];
    media_type.starts_with("text/")
        || exact.contains(&media_type.as_str())
        || media_type.ends_with("+json")
        || media_type.ends_with("+xml")
        || media_type.ends_with("javascript")
}

/// Accepts base64 with or without padding: functions encode with whatever their language offers.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn json_response(body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    let json = HeaderValue::from_static("application/json");
    response.headers_mut().insert(header::CONTENT_TYPE, json);
    response
}

fn structured_response(
    status: &Value,
    mut object: Map<String, Value>,
) -> Result<Response<Bytes>, PayloadError> {
    let status = status_code(status)?;
    let is_base64_encoded = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(other) => {
            return Err(PayloadError::IsBase64EncodedType {
                found: describe(other),
            });
        }
    };
    let body = response_body(object.remove("body"), is_base64_encoded)?;
    let mut response = Response::new(body);
    *response.status_mut() = status;
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(headers)) => add_headers(response.headers_mut(), headers)?,
        Some(other) => {
            return Err(PayloadError::HeadersNotObject {
                found: describe(other),
            });
        }
    }
    match object.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => add_cookies(response.headers_mut(), cookies)?,
        Some(other) => {
            return Err(PayloadError::Cookies {
                found: describe(other),
            });
        }
    }
    Ok(response)
}

fn status_code(value: &Value) -> Result<StatusCode, PayloadError> {
    let code = value.as_u64().and_then(|code| u16::try_from(code).ok());
    code.filter(|code| (100..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| PayloadError::StatusCode {
            found: describe(value),
        })
}

/// A missing or `null` body is empty; anything but a string is an error.
fn response_body(body: Option<Value>, is_base64_encoded: bool) -> Result<Bytes, PayloadError> {
    let text = match body {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(text)) => text,
        Some(other) => {
            return Err(PayloadError::BodyType {
                found: describe(&other),
            });
        }
    };
    if !is_base64_encoded {
        return Ok(Bytes::from(text));
    }
    BASE64_LENIENT
        .decode(text)
        .map(Bytes::from)
        .map_err(PayloadError::Base64)
}

/// Framing headers are the server's to compute: a function's `content-length` or
/// `transfer-encoding` could contradict the body and break the connection, so a proxy (API
/// Gateway included) sets its own.
fn is_framing(name: &HeaderName) -> bool {
    let framing = [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
        header::TRAILER,
    ];
    framing.contains(name)
}

/// Header values may be strings, or numbers and booleans, which are sent as their JSON text
/// (`"x-count": 3` sends `x-count: 3`), since JavaScript handlers often return them unquoted.
/// `null` drops the header; arrays and objects are errors.
fn add_headers(headers: &mut HeaderMap, values: &Map<String, Value>) -> Result<(), PayloadError> {
    for (name, value) in values {
        let text = match value {
            Value::Null => continue,
            Value::String(text) => Cow::Borrowed(text.as_str()),
            Value::Number(_) | Value::Bool(_) => Cow::Owned(value.to_string()),
            Value::Array(_) | Value::Object(_) => {
                let found = describe(value);
                return Err(PayloadError::HeaderValueType {
                    name: name.clone(),
                    found,
                });
            }
        };
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PayloadError::HeaderName { name: name.clone() })?;
        if is_framing(&header_name) {
            continue;
        }
        let header_value = HeaderValue::from_str(&text).map_err(|_| PayloadError::HeaderValue {
            name: name.clone(),
            value: text.clone().into_owned(),
        })?;
        // Appending keeps `Set-Cookie` and `set-cookie` both, a trick some handlers rely on.
        headers.append(header_name, header_value);
    }
    Ok(())
}

fn add_cookies(headers: &mut HeaderMap, cookies: &[Value]) -> Result<(), PayloadError> {
    for cookie in cookies {
        let Value::String(text) = cookie else {
            return Err(PayloadError::Cookies {
                found: describe(cookie),
            });
        };
        let value = HeaderValue::from_str(text).map_err(|_| PayloadError::CookieValue {
            cookie: text.clone(),
        })?;
        headers.append(header::SET_COOKIE, value);
    }
    Ok(())
}

/// A short rendering of a JSON value for error messages.
fn describe(value: &Value) -> String {
    const LEN_MAX: usize = 60;
    let mut text = value.to_string();
    if text.len() > LEN_MAX {
        let cut = (0..=LEN_MAX)
            .rev()
            .find(|idx| text.is_char_boundary(*idx))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}
