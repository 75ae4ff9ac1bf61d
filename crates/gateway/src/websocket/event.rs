//! API Gateway's WebSocket events (the Lambda proxy integration's input) and its route selection.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::payload::{clf_time, epoch_ms, lossy, query_parameters};

/// The stage name in events: API Gateway's WebSocket APIs have no `$default` stage, and a node
/// serves one app, so rondo names its one stage `local`.
pub const STAGE: &str = "local";

/// What every event of one connection shares.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionContext {
    pub(crate) connection_id: String,
    pub(crate) connected_at: SystemTime,
    /// The Host header of the upgrade request.
    pub(crate) domain_name: String,
    pub(crate) source_ip: String,
    pub(crate) user_agent: String,
}

/// The kinds of WebSocket event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Connect,
    Message,
    Disconnect,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "CONNECT",
            EventType::Message => "MESSAGE",
            EventType::Disconnect => "DISCONNECT",
        }
    }
}

/// A message as it arrived: text, or bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

/// The `$connect` event: the upgrade request's headers and query string.
pub(crate) fn connect(
    context: &ConnectionContext,
    request_id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Vec<u8> {
    let mut single = Map::new();
    let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, value) in headers {
        let name = header_case(name.as_str());
        let value = lossy(value).into_owned();
        multi
            .entry(name.clone())
            .or_default()
            .push(Value::String(value.clone()));
        single.insert(name, Value::String(value));
    }
    let (query_single, query_multi) = match query.filter(|query| !query.is_empty()) {
        Some(query) => {
            let params = query_parameters(query);
            let single: Map<String, Value> = params
                .iter()
                .map(|(name, value)| {
                    let last = value.rsplit(',').next().unwrap_or_default();
                    (name.clone().into_owned(), Value::String(last.to_owned()))
                })
                .collect();
            let multi: Map<String, Value> = params
                .iter()
                .map(|(name, value)| {
                    let values = value.split(',').map(|v| Value::String(v.to_owned()));
                    (name.clone().into_owned(), Value::Array(values.collect()))
                })
                .collect();
            (Value::Object(single), Value::Object(multi))
        }
        None => (Value::Null, Value::Null),
    };
    let event = json!({
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": query_single,
        "multiValueQueryStringParameters": query_multi,
        "requestContext": request_context(context, "$connect", EventType::Connect, request_id),
        "isBase64Encoded": false,
    });
    event.to_string().into_bytes()
}

/// A message's event, routed to `route_key`.
pub(crate) fn message(
    context: &ConnectionContext,
    request_id: &str,
    route_key: &str,
    body: Body<'_>,
) -> Vec<u8> {
    let mut request_context = request_context(context, route_key, EventType::Message, request_id);
    request_context.insert("messageId".to_owned(), json!(message_id(request_id)));
    let (body, is_base64_encoded) = match body {
        Body::Text(text) => (text.to_owned(), false),
        Body::Binary(bytes) => (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        ),
    };
    let event = json!({
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    });
    event.to_string().into_bytes()
}

/// The `$disconnect` event, with the close code and reason.
pub(crate) fn disconnect(
    context: &ConnectionContext,
    request_id: &str,
    status_code: u16,
    reason: &str,
) -> Vec<u8> {
    let mut request_context =
        request_context(context, "$disconnect", EventType::Disconnect, request_id);
    request_context.insert("disconnectStatusCode".to_owned(), json!(status_code));
    request_context.insert("disconnectReason".to_owned(), json!(reason));
    let event = json!({
        "headers": { "Host": context.domain_name },
        "multiValueHeaders": { "Host": [context.domain_name] },
        "requestContext": request_context,
        "isBase64Encoded": false,
    });
    event.to_string().into_bytes()
}

/// A header name as clients write it and API Gateway's WebSocket events carry it
/// (`Sec-WebSocket-Key`, `User-Agent`); the HTTP server has lowercased it.
fn header_case(name: &str) -> String {
    let mut cased = String::with_capacity(name.len());
    for (index, part) in name.split('-').enumerate() {
        if index > 0 {
            cased.push('-');
        }
        if part == "websocket" {
            cased.push_str("WebSocket");
            continue;
        }
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            cased.extend(first.to_uppercase());
            cased.push_str(chars.as_str());
        }
    }
    cased
}

fn request_context(
    context: &ConnectionContext,
    route_key: &str,
    event_type: EventType,
    request_id: &str,
) -> Map<String, Value> {
    let now = SystemTime::now();
    let value = json!({
        "routeKey": route_key,
        "eventType": event_type.as_str(),
        "extendedRequestId": request_id,
        "requestTime": clf_time(now),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": epoch_ms(context.connected_at),
        "requestTimeEpoch": epoch_ms(now),
        "identity": {
            "sourceIp": context.source_ip,
            "userAgent": context.user_agent,
        },
        "requestId": request_id,
        "domainName": context.domain_name,
        "connectionId": context.connection_id,
        "apiId": super::API_ID,
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// A message id in the shape of API Gateway's (16 characters, ending in `=`), derived from the
/// request id so both name the same message in logs.
fn message_id(request_id: &str) -> String {
    let compact: String = request_id.chars().filter(|c| *c != '-').take(15).collect();
    format!("{compact}=")
}

/// The route a message takes: the custom route key its selected field names, if there is such a
/// route; otherwise `None` (`$default`).
///
/// `field` is the part of `$request.body.FIELD` after `body.`, possibly dotted. A string is
/// taken as it is, numbers and booleans as their JSON text; anything else (an object, null, a
/// missing field, a body that is not JSON, a binary message) selects no custom route.
pub(crate) fn selected_route<'r>(
    field: &str,
    body: Body<'_>,
    routes: impl Fn(&str) -> Option<&'r str>,
) -> Option<&'r str> {
    let Body::Text(text) = body else {
        return None;
    };
    let value: Value = serde_json::from_str(text).ok()?;
    let mut selected = &value;
    for part in field.split('.') {
        selected = selected.get(part)?;
    }
    let key = match selected {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    if key.starts_with('$') {
        return None;
    }
    routes(&key)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;

    fn context() -> ConnectionContext {
        ConnectionContext {
            connection_id: "L0SM9cOFvHcCIhw=".to_owned(),
            connected_at: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_millis(1_700_000_000_123),
            domain_name: "127.0.0.1:3000".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: "test-agent".to_owned(),
        }
    }

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn connect_carries_headers_query_and_context() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        headers.append("x-many", "a".parse().unwrap());
        headers.append("x-many", "b".parse().unwrap());
        headers.insert("sec-websocket-key", "k".parse().unwrap());
        let event = parse(&connect(
            &context(),
            "req-1",
            &headers,
            Some("cartId=c%201&t=1&t=2"),
        ));
        assert_eq!(event["headers"]["Host"], "127.0.0.1:3000");
        assert_eq!(event["headers"]["Sec-WebSocket-Key"], "k");
        assert_eq!(event["multiValueHeaders"]["X-Many"], json!(["a", "b"]));
        assert_eq!(
            event["queryStringParameters"],
            json!({"cartId": "c 1", "t": "2"})
        );
        assert_eq!(
            event["multiValueQueryStringParameters"]["t"],
            json!(["1", "2"])
        );
        let context = &event["requestContext"];
        assert_eq!(context["routeKey"], "$connect");
        assert_eq!(context["eventType"], "CONNECT");
        assert_eq!(context["connectionId"], "L0SM9cOFvHcCIhw=");
        assert_eq!(context["connectedAt"], 1_700_000_000_123_u64);
        assert_eq!(context["identity"]["userAgent"], "test-agent");
        assert_eq!(context["stage"], STAGE);
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn connect_without_a_query_has_null_parameters() {
        let event = parse(&connect(&context(), "r", &HeaderMap::new(), None));
        assert_eq!(event["queryStringParameters"], Value::Null);
    }

    #[test]
    fn messages_carry_text_or_base64() {
        let text = parse(&message(
            &context(),
            "0b6c-11",
            "echo",
            Body::Text("{\"a\":1}"),
        ));
        assert_eq!(text["body"], "{\"a\":1}");
        assert_eq!(text["isBase64Encoded"], false);
        assert_eq!(text["requestContext"]["routeKey"], "echo");
        assert_eq!(text["requestContext"]["eventType"], "MESSAGE");
        assert_eq!(text["requestContext"]["messageId"], "0b6c11=");
        let binary = parse(&message(
            &context(),
            "r",
            "$default",
            Body::Binary(&[0, 255]),
        ));
        assert_eq!(binary["body"], "AP8=");
        assert_eq!(binary["isBase64Encoded"], true);
    }

    #[test]
    fn disconnect_carries_the_close() {
        let event = parse(&disconnect(&context(), "r", 1001, "Going away"));
        let context = &event["requestContext"];
        assert_eq!(context["eventType"], "DISCONNECT");
        assert_eq!(context["disconnectStatusCode"], 1001);
        assert_eq!(context["disconnectReason"], "Going away");
    }

    #[test]
    fn route_selection_follows_the_field() {
        let routes = |key: &str| {
            ["echo", "7", "true", "deep"]
                .into_iter()
                .find(|r| *r == key)
        };
        let select = |field: &str, body: Body<'_>| selected_route(field, body, routes);
        assert_eq!(
            select("action", Body::Text(r#"{"action":"echo"}"#)),
            Some("echo")
        );
        assert_eq!(select("action", Body::Text(r#"{"action":7}"#)), Some("7"));
        assert_eq!(
            select("action", Body::Text(r#"{"action":true}"#)),
            Some("true")
        );
        assert_eq!(
            select("a.b", Body::Text(r#"{"a":{"b":"deep"}}"#)),
            Some("deep")
        );
        assert_eq!(select("action", Body::Text(r#"{"action":"other"}"#)), None);
        assert_eq!(select("action", Body::Text(r#"{"action":{"x":1}}"#)), None);
        assert_eq!(select("action", Body::Text("not json")), None);
        assert_eq!(
            select("action", Body::Binary(br#"{"action":"echo"}"#)),
            None
        );
    }
}
