//! Which event is which, and what the handler answers before it needs a table.
//! The events are written after API Gateway's WebSocket events and Lambda's DynamoDB stream event.

use rondo_sdk::Context;
use serde_json::{Value, json};

use super::*;

fn websocket_event(event_type: &str, route_key: &str, extra: Value) -> Value {
    let mut event = json!({
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "connectionId": "L0SM9cOFvHcCIhw=",
            "connectedAt": 1_700_000_000_000_i64,
            "messageDirection": "IN",
            "domainName": "localhost",
            "stage": "$default",
            "apiId": "rondo",
            "requestId": "L0SNDE7ovHcFpqQ=",
            "extendedRequestId": "L0SNDE7ovHcFpqQ=",
            "requestTime": "14/Nov/2023:22:13:20 +0000",
            "requestTimeEpoch": 1_700_000_000_000_i64,
            "identity": { "sourceIp": "127.0.0.1", "userAgent": "test" }
        },
        "isBase64Encoded": false
    });
    let (Value::Object(fields), Value::Object(extra)) = (&mut event, extra) else {
        panic!("events are JSON objects");
    };
    fields.extend(extra);
    event
}

fn connect(query: Value) -> Value {
    websocket_event(
        "CONNECT",
        "$connect",
        json!({ "headers": { "host": "localhost" }, "queryStringParameters": query }),
    )
}

fn stream_batch(cart_ids: &[&str]) -> Value {
    let records: Vec<Value> = cart_ids
        .iter()
        .enumerate()
        .map(|(position, cart_id)| {
            json!({
                "eventID": format!("{position:032x}"),
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": { "cartId": { "S": cart_id }, "itemId": { "S": "tea" } },
                    "SequenceNumber": format!("{:021}", position + 1),
                    "SizeBytes": 30,
                    "StreamViewType": "KEYS_ONLY"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/carts/stream/2023-11-14T22:13:20.000"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn check(event: Value, expect: Result<Incoming, &str>) {
    let got = Incoming::from_event(event).map_err(|error| error.to_string());
    assert_eq!(got, expect.map_err(str::to_owned));
}

fn cart(text: &str) -> CartId {
    CartId::parse(text).expect("a valid cart id")
}

#[test]
fn websocket_events() {
    let connection_id = || "L0SM9cOFvHcCIhw=".to_owned();
    check(
        connect(json!({ "cartId": "c1" })),
        Ok(Incoming::Connect {
            connection_id: connection_id(),
            cart_id: Ok(cart("c1")),
        }),
    );
    check(
        connect(json!({ "other": "c1" })),
        Ok(Incoming::Connect {
            connection_id: connection_id(),
            cart_id: Err("cartId is missing from the query string".to_owned()),
        }),
    );
    check(
        connect(json!({ "cartId": "c 1" })),
        Ok(Incoming::Connect {
            connection_id: connection_id(),
            cart_id: Err("cartId may hold only A-Z, a-z, 0-9, _ and -, got ' '".to_owned()),
        }),
    );
    check(
        websocket_event("CONNECT", "$connect", json!({})),
        Ok(Incoming::Connect {
            connection_id: connection_id(),
            cart_id: Err("cartId is missing from the query string".to_owned()),
        }),
    );
    check(
        websocket_event(
            "DISCONNECT",
            "$disconnect",
            json!({ "disconnectStatusCode": 1001, "disconnectReason": "going away" }),
        ),
        Ok(Incoming::Disconnect {
            connection_id: connection_id(),
        }),
    );
    check(
        websocket_event(
            "MESSAGE",
            "status",
            json!({ "body": r#"{"action":"status"}"# }),
        ),
        Ok(Incoming::Status {
            connection_id: connection_id(),
        }),
    );
    check(
        websocket_event("MESSAGE", "$default", json!({ "body": "hello" })),
        Err(r#"UnknownRoute: no handling for the route "$default""#),
    );
}

#[test]
fn stream_batches_name_each_cart_once() {
    check(
        stream_batch(&["c1", "c2", "c1", "c3", "c2"]),
        Ok(Incoming::Changes {
            cart_ids: vec![cart("c1"), cart("c2"), cart("c3")],
        }),
    );
    check(
        stream_batch(&["bad id", "c1"]),
        Ok(Incoming::Changes {
            cart_ids: vec![cart("c1")],
        }),
    );
    check(
        json!({ "Records": [] }),
        Ok(Incoming::Changes { cart_ids: vec![] }),
    );
}

#[test]
fn other_events_fail() {
    let got = Incoming::from_event(json!({ "Records": "not a list" }));
    assert_eq!(
        got.map_err(|error| error.error_type().to_owned()),
        Err("JsonError".to_owned())
    );
    let got = Incoming::from_event(json!({ "hello": "world" }));
    assert_eq!(
        got.map_err(|error| error.error_type().to_owned()),
        Err("JsonError".to_owned())
    );
}

#[test]
fn a_bad_connect_is_refused_without_touching_a_table() {
    let ctx = Context::for_tests("cart-status");
    let got = cart_status(connect(json!({ "cartId": "" })), &ctx).expect("an answer");
    assert_eq!(
        got,
        json!({ "statusCode": 400, "body": "cartId must not be empty" })
    );

    // Everything else goes to the tables, which off wasm answer `ServiceUnavailable`.
    let events = [
        connect(json!({ "cartId": "c1" })),
        websocket_event("DISCONNECT", "$disconnect", json!({})),
        websocket_event(
            "MESSAGE",
            "status",
            json!({ "body": r#"{"action":"status"}"# }),
        ),
        stream_batch(&["c1"]),
    ];
    for event in events {
        let got = cart_status(event.clone(), &ctx).map_err(|error| error.error_type().to_owned());
        assert_eq!(got, Err("ServiceUnavailable".to_owned()), "{event}");
    }
    // An empty batch needs no table at all.
    assert_eq!(cart_status(stream_batch(&[]), &ctx), Ok(json!({})));
}
