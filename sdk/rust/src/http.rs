//! HTTP functions: API Gateway HTTP API payload format 2.0.
//!
//! A function behind a route receives a [`Request`] event and returns a [`Response`]:
//!
//! ```no_run
//! use rondo_sdk::http::{Request, Response};
//! use rondo_sdk::{Context, Error};
//!
//! rondo_sdk::handler!(get_item);
//!
//! fn get_item(request: Request, _ctx: &Context) -> Result<Response, Error> {
//!     let Some(id) = request.path_param("id") else {
//!         return Ok(Response::text(400, "missing id"));
//!     };
//!     Response::json(200, &serde_json::json!({ "id": id }))
//! }
//! # fn main() {}
//! ```
//!
//! Fields the gateway leaves out (`body`, `cookies`, `pathParameters`, ...) deserialize as empty.
//! A response serializes without `null`s and without empty optional fields.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::{Error, base64};

/// An HTTP request as a payload format 2.0 event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The payload format version, `"2.0"`.
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    /// The matched route, such as `"GET /carts/{id}"`, or `"$default"`.
    #[serde(default, deserialize_with = "nullable")]
    pub route_key: String,
    /// The request path as received.
    #[serde(default, deserialize_with = "nullable")]
    pub raw_path: String,
    /// The query string as received, without the `?` and not decoded.
    #[serde(default, deserialize_with = "nullable")]
    pub raw_query_string: String,
    /// The request's cookies, `name=value` each; the `cookie` header itself is not in `headers`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cookies: Vec<String>,
    /// Header names are lower-case; repeated headers are comma-joined.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: BTreeMap<String, String>,
    /// Decoded query parameters; repeated parameters are comma-joined.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub query_string_parameters: BTreeMap<String, String>,
    /// The values of the route's `{name}` segments (`{proxy+}` gives `proxy`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub path_parameters: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub stage_variables: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub request_context: RequestContext,
    /// The body: text, or base64 when `is_base64_encoded`. Use [`Request::body_bytes`] to get bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub is_base64_encoded: bool,
}

/// The `requestContext` of a [`Request`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    #[serde(default, deserialize_with = "nullable")]
    pub account_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub api_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub domain_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub domain_prefix: String,
    #[serde(default, deserialize_with = "nullable")]
    pub http: HttpDetails,
    /// The gateway's id for this request.
    #[serde(default, deserialize_with = "nullable")]
    pub request_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub route_key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub stage: String,
    /// The request time, as `12/Mar/2020:19:03:58 +0000`.
    #[serde(default, deserialize_with = "nullable")]
    pub time: String,
    /// The request time, in milliseconds since the Unix epoch.
    #[serde(default, deserialize_with = "nullable")]
    pub time_epoch: i64,
    /// The authorizer's output (`{"jwt": ..}`, `{"lambda": ..}` or `{"iam": ..}`), if the route has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<serde_json::Value>,
    /// Client certificate details, with mutual TLS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<serde_json::Value>,
}

/// The `requestContext.http` of a [`Request`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDetails {
    /// The method, upper-case: `GET`, `POST`, ...
    #[serde(default, deserialize_with = "nullable")]
    pub method: String,
    #[serde(default, deserialize_with = "nullable")]
    pub path: String,
    /// Such as `HTTP/1.1`.
    #[serde(default, deserialize_with = "nullable")]
    pub protocol: String,
    #[serde(default, deserialize_with = "nullable")]
    pub source_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user_agent: String,
}

/// An HTTP response in the payload format 2.0 response shape.
///
/// Build one with [`Response::json`], [`Response::text`], [`Response::binary`] or [`Response::new`],
/// then add headers and cookies:
///
/// ```
/// use rondo_sdk::http::Response;
///
/// let response = Response::text(201, "made")
///     .with_header("x-request-kind", "test")
///     .with_cookie("session=abc; Path=/; HttpOnly");
/// assert_eq!(response.status_code, 201);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, String>,
    /// Each entry becomes one `set-cookie` header.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cookies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub is_base64_encoded: bool,
}

impl Request {
    /// The request method, upper-case.
    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }

    /// The request path.
    pub fn path(&self) -> &str {
        let path = &self.request_context.http.path;
        if path.is_empty() {
            &self.raw_path
        } else {
            path
        }
    }

    /// The value of the route's `{name}` segment.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_parameters.get(name).map(String::as_str)
    }

    /// The decoded value of query parameter `name` (comma-joined if repeated).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query_string_parameters.get(name).map(String::as_str)
    }

    /// The value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        if let Some(value) = self.headers.get(name) {
            return Some(value);
        }
        let (_, value) = self
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))?;
        Some(value)
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find_map(|cookie| {
            let (key, value) = cookie.split_once('=')?;
            (key.trim() == name).then_some(value.trim())
        })
    }

    /// The body's bytes, base64-decoded if `is_base64_encoded`; empty if there is no body.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, Error> {
        body_bytes(self.body.as_deref(), self.is_base64_encoded)
    }

    /// The body as UTF-8 text; fails with `Utf8Error` if it is not.
    pub fn body_text(&self) -> Result<Cow<'_, str>, Error> {
        match self.body_bytes()? {
            Cow::Borrowed(bytes) => Ok(Cow::Borrowed(std::str::from_utf8(bytes)?)),
            Cow::Owned(bytes) => Ok(Cow::Owned(String::from_utf8(bytes)?)),
        }
    }

    /// The body parsed as JSON into `T`; fails with `JsonError` if it does not parse.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(&self.body_bytes()?)?)
    }
}

impl Response {
    /// A response with `status_code`, no headers and no body.
    pub fn new(status_code: u16) -> Response {
        Response {
            status_code,
            ..Response::default()
        }
    }

    /// A `content-type: application/json` response with `value` serialized as its body.
    /// Fails with `JsonError` only if `value` cannot be serialized (a map with non-string keys).
    pub fn json<T: Serialize + ?Sized>(status_code: u16, value: &T) -> Result<Response, Error> {
        let body = serde_json::to_string(value)?;
        Ok(Response::new(status_code)
            .with_header("content-type", "application/json")
            .with_body(body))
    }

    /// A `content-type: text/plain; charset=utf-8` response.
    pub fn text(status_code: u16, body: impl Into<String>) -> Response {
        Response::new(status_code)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into())
    }

    /// A response with a binary body, sent base64-encoded with `isBase64Encoded: true`.
    pub fn binary(status_code: u16, content_type: &str, body: &[u8]) -> Response {
        let mut response = Response::new(status_code)
            .with_header("content-type", content_type)
            .with_body(base64::encode(body));
        response.is_base64_encoded = true;
        response
    }

    /// Adds header `name` (stored lower-case), replacing an earlier value.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    /// Adds a `set-cookie` value, such as `"id=42; Path=/; HttpOnly"`.
    pub fn with_cookie(mut self, cookie: impl Into<String>) -> Response {
        self.cookies.push(cookie.into());
        self
    }

    /// The value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        let (_, value) = self
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))?;
        Some(value)
    }

    /// The body's bytes, base64-decoded if `is_base64_encoded`; empty if there is no body.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, Error> {
        body_bytes(self.body.as_deref(), self.is_base64_encoded)
    }

    fn with_body(mut self, body: String) -> Response {
        self.body = Some(body);
        self
    }
}

/// The bytes of an event's `body`, base64-decoded if `is_base64_encoded`; empty if there is none.
pub(crate) fn body_bytes(
    body: Option<&str>,
    is_base64_encoded: bool,
) -> Result<Cow<'_, [u8]>, Error> {
    let body = body.unwrap_or_default();
    if !is_base64_encoded {
        return Ok(Cow::Borrowed(body.as_bytes()));
    }
    let bytes = base64::decode(body).map_err(|err| {
        Error::new(
            "Base64Error",
            format!("the body is not valid base64 (at byte {})", err.offset),
        )
    })?;
    Ok(Cow::Owned(bytes))
}

/// Deserializes `null` like an absent field: as the type's default.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn is_false(value: &bool) -> bool {
    !value
}
