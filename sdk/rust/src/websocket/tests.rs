use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Event, EventType, Identity, RequestContext};

fn parse(event: Value) -> Event {
    serde_json::from_value(event).expect("the sample is a WebSocket event")
}

/// A `$connect` event as API Gateway sends it (aws-semantics.md §3.6): the upgrade request's
/// headers and query string at the top level, no body.
fn connect_sample() -> Value {
    json!({
        "headers": {
            "Host": "chat.example.test",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "User-Agent": "curl/8.5.0",
        },
        "multiValueHeaders": {
            "Host": ["chat.example.test"],
            "Sec-WebSocket-Key": ["dGhlIHNhbXBsZSBub25jZQ=="],
            "Sec-WebSocket-Version": ["13"],
            "User-Agent": ["curl/8.5.0"],
        },
        "queryStringParameters": {"room": "tea", "token": "s3cret"},
        "multiValueQueryStringParameters": {"room": ["tea"], "token": ["s3cret"]},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": "Q1x9HhKxoAMFbWg=",
            "requestTime": "14/Mar/2026:09:26:53 +0000",
            "messageDirection": "IN",
            "stage": "production",
            "connectedAt": 1_773_480_413_512_i64,
            "requestTimeEpoch": 1_773_480_413_514_i64,
            "identity": {"userAgent": "curl/8.5.0", "sourceIp": "203.0.113.7"},
            "requestId": "Q1x9HhKxoAMFbWg=",
            "domainName": "chat.example.test",
            "connectionId": "Q1x9HdtNoAMCJ2w=",
            "apiId": "k3xw9p2l7d",
        },
        "isBase64Encoded": false,
    })
}

#[test]
fn a_connect_event_parses() {
    let event = parse(connect_sample());
    let expect = Event {
        request_context: RequestContext {
            route_key: "$connect".to_owned(),
            event_type: EventType::Connect,
            connection_id: "Q1x9HdtNoAMCJ2w=".to_owned(),
            connected_at: 1_773_480_413_512,
            message_id: None,
            message_direction: Some("IN".to_owned()),
            domain_name: "chat.example.test".to_owned(),
            stage: "production".to_owned(),
            api_id: "k3xw9p2l7d".to_owned(),
            request_id: "Q1x9HhKxoAMFbWg=".to_owned(),
            extended_request_id: Some("Q1x9HhKxoAMFbWg=".to_owned()),
            request_time: Some("14/Mar/2026:09:26:53 +0000".to_owned()),
            request_time_epoch: Some(1_773_480_413_514),
            identity: Identity {
                source_ip: "203.0.113.7".to_owned(),
                user_agent: Some("curl/8.5.0".to_owned()),
            },
            authorizer: None,
            disconnect_status_code: None,
            disconnect_reason: None,
        },
        headers: Some(HashMap::from([
            ("Host".to_owned(), "chat.example.test".to_owned()),
            (
                "Sec-WebSocket-Key".to_owned(),
                "dGhlIHNhbXBsZSBub25jZQ==".to_owned(),
            ),
            ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
            ("User-Agent".to_owned(), "curl/8.5.0".to_owned()),
        ])),
        query_string_parameters: Some(HashMap::from([
            ("room".to_owned(), "tea".to_owned()),
            ("token".to_owned(), "s3cret".to_owned()),
        ])),
        body: None,
        is_base64_encoded: false,
    };
    assert_eq!(event, expect);
    assert_eq!(event.query("room"), Some("tea"));
    assert_eq!(event.query("missing"), None);
    assert_eq!(event.header("user-agent"), Some("curl/8.5.0"));
    assert_eq!(event.header("Host"), Some("chat.example.test"));
    assert_eq!(event.header("cookie"), None);
}

#[test]
fn a_message_event_carries_its_body() {
    let event = parse(json!({
        "requestContext": {
            "routeKey": "$default",
            "messageId": "Q1yBTe2IoAMCJ2w=",
            "eventType": "MESSAGE",
            "extendedRequestId": "Q1yBTGQ1oAMFaTw=",
            "requestTime": "14/Mar/2026:09:27:08 +0000",
            "messageDirection": "IN",
            "stage": "production",
            "connectedAt": 1_773_480_413_512_i64,
            "requestTimeEpoch": 1_773_480_428_091_i64,
            "identity": {"sourceIp": "203.0.113.7"},
            "requestId": "Q1yBTGQ1oAMFaTw=",
            "domainName": "chat.example.test",
            "connectionId": "Q1x9HdtNoAMCJ2w=",
            "apiId": "k3xw9p2l7d",
        },
        "body": "{\"action\":\"say\",\"text\":\"hello\"}",
        "isBase64Encoded": false,
    }));
    let context = &event.request_context;
    assert_eq!(context.event_type, EventType::Message);
    assert_eq!(context.route_key, "$default");
    assert_eq!(context.message_id.as_deref(), Some("Q1yBTe2IoAMCJ2w="));
    assert_eq!(context.identity.user_agent, None);
    assert_eq!(event.headers, None);
    assert_eq!(event.query("room"), None);
    assert_eq!(
        event.body_text().expect("the body is text"),
        r#"{"action":"say","text":"hello"}"#
    );
    let body: Value = event.body_json().expect("the body is JSON");
    assert_eq!(body, json!({"action": "say", "text": "hello"}));
}

#[test]
fn a_binary_message_is_base64() {
    let event = parse(json!({
        "requestContext": {
            "routeKey": "$default",
            "eventType": "MESSAGE",
            "connectionId": "Q1x9HdtNoAMCJ2w=",
        },
        "body": "AAEC/w==",
        "isBase64Encoded": true,
    }));
    assert_eq!(
        event.body_bytes().expect("the body is base64").as_ref(),
        [0, 1, 2, 255]
    );
    let error = event.body_text().expect_err("the body is not UTF-8");
    assert_eq!(error.error_type(), "Utf8Error");
}

#[test]
fn a_disconnect_event_says_how_the_connection_ended() {
    let event = parse(json!({
        "headers": {"Host": "chat.example.test", "x-api-key": ""},
        "multiValueHeaders": {"Host": ["chat.example.test"], "x-api-key": [""]},
        "requestContext": {
            "routeKey": "$disconnect",
            "disconnectStatusCode": 1001,
            "eventType": "DISCONNECT",
            "extendedRequestId": "Q1yRNH0DoAMF7pw=",
            "requestTime": "14/Mar/2026:09:28:50 +0000",
            "messageDirection": "IN",
            "disconnectReason": "Going away",
            "stage": "production",
            "connectedAt": 1_773_480_413_512_i64,
            "requestTimeEpoch": 1_773_480_530_021_i64,
            "identity": {"userAgent": "curl/8.5.0", "sourceIp": "203.0.113.7"},
            "requestId": "Q1yRNH0DoAMF7pw=",
            "domainName": "chat.example.test",
            "connectionId": "Q1x9HdtNoAMCJ2w=",
            "apiId": "k3xw9p2l7d",
        },
        "isBase64Encoded": false,
    }));
    let context = &event.request_context;
    assert_eq!(context.event_type, EventType::Disconnect);
    assert_eq!(context.disconnect_status_code, Some(1001));
    assert_eq!(context.disconnect_reason.as_deref(), Some("Going away"));
    assert_eq!(event.body, None);
    assert_eq!(event.body_bytes().expect("no body is empty").as_ref(), b"");
}

#[test]
fn descriptive_fields_may_be_missing_or_null() {
    let event = parse(json!({
        "requestContext": {
            "routeKey": "sendMessage",
            "eventType": "MESSAGE",
            "connectionId": "c1",
            "stage": null,
            "identity": null,
            "authorizer": {"principalId": "user-7"},
        },
        "queryStringParameters": null,
        "isBase64Encoded": null,
    }));
    let context = &event.request_context;
    assert_eq!(context.connected_at, 0);
    assert_eq!(context.stage, "");
    assert_eq!(context.identity, Identity::default());
    assert_eq!(context.authorizer, Some(json!({"principalId": "user-7"})));
    assert_eq!(event.query_string_parameters, None);
    assert!(!event.is_base64_encoded);
}

#[test]
fn an_event_without_a_connection_id_is_not_a_websocket_event() {
    let error = serde_json::from_value::<Event>(json!({
        "requestContext": {"routeKey": "$default", "eventType": "MESSAGE"},
    }))
    .expect_err("the connection id is required");
    assert_eq!(error.to_string(), "missing field `connectionId`");
    let error = serde_json::from_value::<Event>(json!({
        "requestContext": {"routeKey": "$default", "eventType": "UPGRADE", "connectionId": "c1"},
    }))
    .expect_err("the event type is one of three");
    assert_eq!(
        error.to_string(),
        "unknown variant `UPGRADE`, expected one of `CONNECT`, `MESSAGE`, `DISCONNECT`"
    );
}
