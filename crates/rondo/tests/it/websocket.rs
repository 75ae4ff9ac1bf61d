//! The WebSocket API and the `@connections` management API (issue 7), end to end: real clients
//! (tokio-tungstenite, the Rust SDK's `aws-sdk-apigatewaymanagement`) against `rondo dev`, and
//! Python handlers written as for AWS Lambda (`test-programs/python/ws_handler.py`) that push
//! to clients with boto3's `apigatewaymanagementapi` client.
//!
//! The handlers record the `$connect` and `$disconnect` events into a table; the message routes
//! post back to the sender what the test needs to see (the body, or the whole event).

use std::time::{Duration, SystemTime};

use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::get_connection::GetConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use base64::Engine as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::dynamo::{Poll, dynamodb, get_s, s};
use crate::support::process::{process_app, python_function, python_program, start};
use crate::support::websocket::{
    Socket, close, connect, encode_id, management, management_request, next_data, next_json,
    next_text, refused_status, send_binary, send_text, server_close, try_connect, upgrade_request,
};
use crate::support::{App, Dev, get, send};

/// API Gateway's frame limit: a larger frame closes the connection with 1009.
const FRAME_BYTES_MAX: usize = 32 * 1024;
/// API Gateway's message limit for `PostToConnection`.
const MESSAGE_BYTES_MAX: usize = 128 * 1024;
/// The table the handlers record `$connect` and `$disconnect` events into.
const EVENTS_TABLE: &str = "ws_events";
/// The connection id the handlers' `gone` route posts to when it is given none.
const MADE_UP_CONNECTION_ID: &str = "bm90LWEtY29ubiE=";

/// Every route of `ws_handler.py`: `$connect`, `$disconnect`, `$default` and the custom keys.
const ALL_ROUTES: &str = r#"
"$connect" = "ws-connect"
"$disconnect" = "ws-disconnect"
"$default" = "ws-route"
echo = "ws-route"
event = "ws-route"
gone = "ws-route"
fail = "ws-route"
"7" = "ws-route"
"true" = "ws-route"
"#;

/// An app whose WebSocket API at `/ws` has the given `[websocket.routes]`, over the three
/// functions of `ws_handler.py` and the table they record into.
fn ws_app(routes: &str) -> App {
    let extra = format!("timeout_ms = 30000\nenvironment = {{ TABLE_NAME = \"{EVENTS_TABLE}\" }}");
    let mut manifest = format!(
        "[app]\nname = \"ws\"\n\n\
         [table.{EVENTS_TABLE}]\n\
         partition_key = {{ name = \"connectionId\", type = \"S\" }}\n\
         sort_key = {{ name = \"eventType\", type = \"S\" }}\n\n"
    );
    for (name, handler) in [
        ("ws-connect", "ws_handler.connect"),
        ("ws-disconnect", "ws_handler.disconnect"),
        ("ws-route", "ws_handler.route"),
    ] {
        manifest.push_str(&python_function(name, "py", handler, &extra));
    }
    manifest.push_str("[websocket]\npath = \"/ws\"\n\n[websocket.routes]\n");
    manifest.push_str(routes);
    process_app(
        &manifest,
        &[("py/ws_handler.py", python_program("ws_handler.py"))],
    )
}

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn connect_runs_before_the_handshake_completes_with_the_upgrade_request() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);

    let plain = get(&dev.url("/ws")).await;
    assert_eq!(plain.status, 426, "{}", plain.text());
    assert_eq!(plain.json(), json!({"message": "Upgrade Required"}));

    let before_ms = now_ms();
    let request = upgrade_request(
        &dev,
        "/ws?cart=c1&x=y",
        &[("user-agent", "rondo-it/connect"), ("x-test", "one")],
    );
    let mut socket = try_connect(request).await.expect("the upgrade is accepted");
    let after_ms = now_ms();

    // The handler wrote its record before it answered, and the upgrade waited for the answer:
    // the record is there before this client has sent anything.
    let connects = recorded_of_type(&dev, "CONNECT").await;
    assert_eq!(connects.len(), 1, "{connects:#?}");
    let event = &connects[0];
    assert_eq!(
        header(&event["headers"], "x-test"),
        Some(&json!("one")),
        "{event:#}"
    );
    assert_eq!(
        header(&event["multiValueHeaders"], "x-test"),
        Some(&json!(["one"])),
        "{event:#}"
    );
    assert_eq!(
        event["queryStringParameters"],
        json!({"cart": "c1", "x": "y"})
    );
    assert_eq!(event["isBase64Encoded"], false, "{event:#}");

    let context = &event["requestContext"];
    assert_eq!(context["routeKey"], "$connect", "{event:#}");
    assert_eq!(context["eventType"], "CONNECT", "{event:#}");
    assert_eq!(context["messageDirection"], "IN", "{event:#}");
    assert_eq!(context["stage"], "local", "{event:#}");
    let gateway_host = dev.gateway.trim_start_matches("http://");
    assert_eq!(
        context["domainName"], gateway_host,
        "the Host header: {event:#}"
    );
    assert_eq!(
        header(&event["headers"], "host"),
        Some(&json!(gateway_host))
    );
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1", "{event:#}");
    assert_eq!(
        context["identity"]["userAgent"], "rondo-it/connect",
        "{event:#}"
    );
    for field in ["requestId", "extendedRequestId", "requestTime", "apiId"] {
        assert!(
            context[field].as_str().is_some_and(|text| !text.is_empty()),
            "{field} is a string: {event:#}"
        );
    }
    for field in ["connectedAt", "requestTimeEpoch"] {
        let ms = context[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: {event:#}"));
        assert!(
            (before_ms..=after_ms).contains(&ms),
            "{field} {ms} is in the upgrade ({before_ms}..={after_ms})"
        );
    }
    let connection_id = context["connectionId"].as_str().expect("connectionId");
    assert_api_gateway_connection_id(connection_id);

    // Messages of this connection carry the same connection.
    let message = whoami(&mut socket).await;
    assert_eq!(message["requestContext"]["connectionId"], connection_id);
    assert_eq!(
        message["requestContext"]["connectedAt"],
        context["connectedAt"]
    );

    // Without a query string the parameters are null; each connection has its own id.
    let _second = connect(&dev, "/ws").await;
    let connects = recorded_of_type(&dev, "CONNECT").await;
    let second = connects
        .iter()
        .find(|event| event["requestContext"]["connectionId"] != connection_id)
        .unwrap_or_else(|| panic!("a second connection with its own id: {connects:#?}"));
    assert_eq!(second["queryStringParameters"], Value::Null, "{second:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connects_answer_decides_the_upgrade() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);

    // A non-2xx status refuses the upgrade with that status; an error refuses it with 500.
    let denied = try_connect(upgrade_request(&dev, "/ws?deny=1", &[])).await;
    assert_eq!(refused_status(denied), 403);
    let failed = try_connect(upgrade_request(&dev, "/ws?fail=1", &[])).await;
    assert_eq!(refused_status(failed), 500);
    assert!(
        recorded_of_type(&dev, "CONNECT").await.is_empty(),
        "no refused connection was recorded"
    );

    // The refusals left the function serving; 200, and an answer without a status code, accept.
    let mut accepted = Vec::new();
    for query in ["?ok=1", "?nostatus=1"] {
        let mut socket = connect(&dev, &format!("/ws{query}")).await;
        accepted.push(connection_id_of(&mut socket).await);
    }
    let connects = recorded_of_type(&dev, "CONNECT").await;
    let mut recorded_ids: Vec<&str> = connects
        .iter()
        .map(|event| {
            event["requestContext"]["connectionId"]
                .as_str()
                .expect("connectionId")
        })
        .collect();
    recorded_ids.sort_unstable();
    accepted.sort_unstable();
    assert_eq!(recorded_ids, accepted);
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_routed_by_their_action() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let mut socket = connect(&dev, "/ws").await;
    let connected = recorded_of_type(&dev, "CONNECT").await;
    assert_eq!(connected.len(), 1, "{connected:#?}");
    let connect_context = &connected[0]["requestContext"];

    // `echo` posts the body back, unchanged.
    let text = r#"{"action":"echo","n":1,"text":"héllo"}"#;
    send_text(&mut socket, text).await;
    assert_eq!(next_text(&mut socket).await, text);

    // The MESSAGE event of a custom route.
    let text = r#"{"action":"event","x":[1,2]}"#;
    send_text(&mut socket, text).await;
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["route"], "event", "{reply:#}");
    let event = &reply["event"];
    assert_eq!(event["body"], text, "{event:#}");
    assert_eq!(event["isBase64Encoded"], false, "{event:#}");
    let context = &event["requestContext"];
    assert_eq!(context["routeKey"], "event", "{event:#}");
    assert_eq!(context["eventType"], "MESSAGE", "{event:#}");
    assert_eq!(context["messageDirection"], "IN", "{event:#}");
    assert_eq!(context["stage"], "local", "{event:#}");
    assert_eq!(context["connectionId"], connect_context["connectionId"]);
    assert_eq!(context["connectedAt"], connect_context["connectedAt"]);
    assert_eq!(context["domainName"], connect_context["domainName"]);
    for field in ["messageId", "requestId"] {
        assert!(
            context[field].as_str().is_some_and(|text| !text.is_empty()),
            "{field} is a string: {event:#}"
        );
    }

    // Numbers and booleans select the route their JSON text names.
    for (text, route) in [(r#"{"action":7}"#, "7"), (r#"{"action":true}"#, "true")] {
        send_text(&mut socket, text).await;
        let reply = next_json(&mut socket).await;
        assert_eq!(reply["route"], route, "{text}: {reply:#}");
        assert_eq!(reply["event"]["requestContext"]["routeKey"], route);
    }

    // Everything else is `$default`'s: no such route, no action, not JSON, a value that is no
    // route key, and a predefined route's key, which a client cannot select.
    for text in [
        r#"{"action":"nope"}"#,
        r#"{"other":"echo"}"#,
        "echo",
        r#"{"action":{"name":"echo"}}"#,
        r#"{"action":"$disconnect"}"#,
        r#"{"action":"$connect"}"#,
    ] {
        send_text(&mut socket, text).await;
        let reply = next_json(&mut socket).await;
        assert_eq!(
            reply,
            json!({"default": text, "isBase64Encoded": false}),
            "{text}"
        );
    }

    // A binary frame is `$default`'s too, whatever it holds, in base64.
    let bytes = br#"{"action":"echo"}"#;
    send_binary(&mut socket, bytes).await;
    let reply = next_json(&mut socket).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    assert_eq!(reply, json!({"default": encoded, "isBase64Encoded": true}));
    send_binary(&mut socket, &[0, 0x9f, 0xff]).await;
    let reply = next_json(&mut socket).await;
    assert_eq!(reply, json!({"default": "AJ//", "isBase64Encoded": true}));

    // Each reply above came next, so no route's own answer (a body) reached the client in
    // between; nor does the last one's.
    send_text(&mut socket, r#"{"action":"echo","last":true}"#).await;
    assert_eq!(
        next_text(&mut socket).await,
        r#"{"action":"echo","last":true}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_route_answers_internal_server_error_and_the_connection_stays() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let mut socket = connect(&dev, "/ws").await;
    let connection_id = connection_id_of(&mut socket).await;

    send_text(&mut socket, r#"{"action":"fail"}"#).await;
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["message"], "Internal server error", "{reply:#}");
    assert_eq!(reply["connectionId"], connection_id.as_str(), "{reply:#}");
    assert!(
        reply["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{reply:#}"
    );
    assert_eq!(
        reply.as_object().map(serde_json::Map::len),
        Some(3),
        "{reply:#}"
    );

    send_text(&mut socket, r#"{"action":"echo","after":"fail"}"#).await;
    assert_eq!(
        next_text(&mut socket).await,
        r#"{"action":"echo","after":"fail"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_default_route_an_unmatched_message_is_forbidden() {
    // No `$connect` route (every upgrade is accepted), no `$default`.
    let app = ws_app("event = \"ws-route\"\n");
    let dev = start(&app);
    let mut socket = connect(&dev, "/ws").await;
    let connection_id = connection_id_of(&mut socket).await;
    assert_api_gateway_connection_id(&connection_id);

    for text in [r#"{"action":"nope"}"#, "not json"] {
        send_text(&mut socket, text).await;
        let reply = next_json(&mut socket).await;
        assert_forbidden(&reply, &connection_id);
    }
    send_binary(&mut socket, br#"{"action":"event"}"#).await;
    let reply = next_json(&mut socket).await;
    assert_forbidden(&reply, &connection_id);

    // The connection stays, and the route that exists still answers.
    assert_eq!(connection_id_of(&mut socket).await, connection_id);
}

fn assert_forbidden(reply: &Value, connection_id: &str) {
    assert_eq!(reply["message"], "Forbidden", "{reply:#}");
    assert_eq!(reply["connectionId"], connection_id, "{reply:#}");
    assert!(
        reply["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{reply:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Disconnecting, limits
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn closing_runs_disconnect_and_then_the_connection_is_gone() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let client = management(&dev);
    let mut leaving = connect(&dev, "/ws").await;
    let leaving_id = connection_id_of(&mut leaving).await;
    let mut staying = connect(&dev, "/ws").await;

    close(&mut leaving, 1000, "bye").await;
    let event = wait_recorded(&dev, &leaving_id, "DISCONNECT").await;
    let context = &event["requestContext"];
    assert_eq!(context["routeKey"], "$disconnect", "{event:#}");
    assert_eq!(context["eventType"], "DISCONNECT", "{event:#}");
    assert_eq!(context["connectionId"], leaving_id.as_str(), "{event:#}");
    assert_eq!(context["disconnectStatusCode"], 1000, "{event:#}");
    assert!(context["disconnectReason"].is_string(), "{event:#}");
    let connect = recorded(&dev, &leaving_id, "CONNECT")
        .await
        .expect("the connect was recorded");
    assert_eq!(
        context["connectedAt"],
        connect["requestContext"]["connectedAt"]
    );

    // `$disconnect` runs once the connection is gone: posting to it is refused.
    let posted = client
        .post_to_connection()
        .connection_id(&leaving_id)
        .data(Blob::new("anyone?"))
        .send()
        .await;
    assert!(
        matches!(
            posted.as_ref().map_err(|e| e.as_service_error()),
            Err(Some(PostToConnectionError::GoneException(_)))
        ),
        "{posted:?}"
    );

    // boto3 in a function sees the same, for the closed connection and a made-up one.
    let text = json!({"action": "gone", "target": leaving_id}).to_string();
    send_text(&mut staying, &text).await;
    let reply = next_json(&mut staying).await;
    assert_eq!(
        reply,
        json!({"gone": leaving_id, "error": "GoneException", "status": 410})
    );
    send_text(&mut staying, r#"{"action":"gone"}"#).await;
    let reply = next_json(&mut staying).await;
    assert_eq!(
        reply,
        json!({"gone": MADE_UP_CONNECTION_ID, "error": "GoneException", "status": 410})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frame_over_32_kib_closes_the_connection_with_1009() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let mut socket = connect(&dev, "/ws").await;
    let connection_id = connection_id_of(&mut socket).await;

    let at_limit = padded_echo(FRAME_BYTES_MAX);
    send_text(&mut socket, &at_limit).await;
    assert_eq!(
        next_text(&mut socket).await,
        at_limit,
        "a 32 KiB frame is served"
    );

    send_text(&mut socket, &padded_echo(FRAME_BYTES_MAX + 1)).await;
    let frame = server_close(&mut socket)
        .await
        .expect("the close frame has a code");
    assert_eq!(u16::from(frame.code), 1009, "{frame:?}");

    let event = wait_recorded(&dev, &connection_id, "DISCONNECT").await;
    assert_eq!(
        event["requestContext"]["disconnectStatusCode"], 1009,
        "{event:#}"
    );
}

/// An `echo` message of exactly `n_bytes` bytes.
fn padded_echo(n_bytes: usize) -> String {
    let head = r#"{"action":"echo","pad":""#;
    let tail = r#""}"#;
    let pad = n_bytes
        .checked_sub(head.len() + tail.len())
        .expect("room for the JSON");
    format!("{head}{}{tail}", "p".repeat(pad))
}

// ---------------------------------------------------------------------------------------------
// The management API
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_posts_to_gets_and_deletes_a_connection() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let client = management(&dev);
    let before_ms = now_ms();
    let request = upgrade_request(&dev, "/ws", &[("user-agent", "rondo-it/sdk")]);
    let mut socket = try_connect(request).await.expect("the upgrade is accepted");
    let event = whoami(&mut socket).await;
    let connection_id = event["requestContext"]["connectionId"]
        .as_str()
        .expect("connectionId")
        .to_owned();

    // Text arrives as a text frame, bytes that are not UTF-8 as a binary frame.
    for data in [b"hello from the SDK".as_slice(), &[0xff, 0x00, 0x80]] {
        client
            .post_to_connection()
            .connection_id(&connection_id)
            .data(Blob::new(data))
            .send()
            .await
            .unwrap_or_else(|e| panic!("post {data:?}: {e:?}"));
        let expected = match std::str::from_utf8(data) {
            Ok(text) => Message::text(text),
            Err(_) => Message::binary(data.to_vec()),
        };
        assert_eq!(next_data(&mut socket).await, expected);
    }

    // 128 KiB is the most one post may carry.
    let largest = "m".repeat(MESSAGE_BYTES_MAX);
    client
        .post_to_connection()
        .connection_id(&connection_id)
        .data(Blob::new(largest.as_str()))
        .send()
        .await
        .expect("post 128 KiB");
    assert_eq!(next_text(&mut socket).await, largest);
    let too_large = client
        .post_to_connection()
        .connection_id(&connection_id)
        .data(Blob::new(format!("{largest}m")))
        .send()
        .await;
    assert!(
        matches!(
            too_large.as_ref().map_err(|e| e.as_service_error()),
            Err(Some(PostToConnectionError::PayloadTooLargeException(_)))
        ),
        "{too_large:?}"
    );
    assert_eq!(status_of(&too_large), Some(413));

    let got = client
        .get_connection()
        .connection_id(&connection_id)
        .send()
        .await
        .expect("get connection");
    let connected_at_ms = got
        .connected_at()
        .and_then(|time| time.to_millis().ok())
        .unwrap_or_else(|| panic!("connectedAt: {got:?}"));
    let last_active_at_ms = got
        .last_active_at()
        .and_then(|time| time.to_millis().ok())
        .unwrap_or_else(|| panic!("lastActiveAt: {got:?}"));
    let now_ms = i64::try_from(now_ms()).expect("now fits in i64");
    let before_ms = i64::try_from(before_ms).expect("then fits in i64");
    assert!(
        before_ms <= connected_at_ms && connected_at_ms <= last_active_at_ms,
        "connected at {connected_at_ms} after {before_ms}, last active at {last_active_at_ms}"
    );
    assert!(last_active_at_ms <= now_ms, "{got:?}");
    assert_eq!(
        Some(connected_at_ms),
        event["requestContext"]["connectedAt"].as_i64(),
        "GetConnection and the events agree on the connection's start"
    );
    let identity = got.identity().expect("identity");
    assert_eq!(identity.source_ip(), Some("127.0.0.1"), "{got:?}");
    assert_eq!(identity.user_agent(), Some("rondo-it/sdk"), "{got:?}");

    client
        .delete_connection()
        .connection_id(&connection_id)
        .send()
        .await
        .expect("delete connection");
    server_close(&mut socket).await;
    // The server's close ends the connection as a client's does: `$disconnect` runs.
    let event = wait_recorded(&dev, &connection_id, "DISCONNECT").await;
    assert_eq!(event["requestContext"]["eventType"], "DISCONNECT");

    // The deleted connection and one that never was are both gone, for each operation.
    for id in [connection_id.as_str(), MADE_UP_CONNECTION_ID] {
        assert_gone_everywhere(&client, id).await;
    }
}

/// Posts to, gets and deletes `connection_id`, and expects `GoneException` (410) from each.
async fn assert_gone_everywhere(
    client: &aws_sdk_apigatewaymanagement::Client,
    connection_id: &str,
) {
    let posted = client
        .post_to_connection()
        .connection_id(connection_id)
        .data(Blob::new("anyone?"))
        .send()
        .await;
    assert!(
        matches!(
            posted.as_ref().map_err(|e| e.as_service_error()),
            Err(Some(PostToConnectionError::GoneException(_)))
        ),
        "post to {connection_id}: {posted:?}"
    );
    assert_eq!(status_of(&posted), Some(410));
    let got = client
        .get_connection()
        .connection_id(connection_id)
        .send()
        .await;
    assert!(
        matches!(
            got.as_ref().map_err(|e| e.as_service_error()),
            Err(Some(GetConnectionError::GoneException(_)))
        ),
        "get {connection_id}: {got:?}"
    );
    let deleted = client
        .delete_connection()
        .connection_id(connection_id)
        .send()
        .await;
    assert!(
        matches!(
            deleted.as_ref().map_err(|e| e.as_service_error()),
            Err(Some(DeleteConnectionError::GoneException(_)))
        ),
        "delete {connection_id}: {deleted:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_management_requests_take_a_stage_prefix_and_answer_in_rest_json() {
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let mut socket = connect(&dev, "/ws").await;
    let connection_id = connection_id_of(&mut socket).await;
    let encoded = encode_id(&connection_id);
    assert!(encoded.ends_with("%3D"), "{encoded}");

    let path = format!("/local/@connections/{encoded}");
    let posted = send(management_request(
        &dev.aws,
        http::Method::POST,
        &path,
        b"through the stage",
    ))
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    assert_eq!(next_text(&mut socket).await, "through the stage");

    let got = send(management_request(&dev.aws, http::Method::GET, &path, b"")).await;
    assert_eq!(got.status, 200, "{}", got.text());
    let body = got.json();
    for field in ["connectedAt", "lastActiveAt"] {
        let time = body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {body}"));
        assert!(is_iso8601_utc(time), "{field} {time:?} is ISO 8601");
    }
    assert_eq!(body["identity"]["sourceIp"], "127.0.0.1", "{body}");
    assert!(body["identity"]["userAgent"].is_string(), "{body}");

    let unknown = format!("/@connections/{}", encode_id(MADE_UP_CONNECTION_ID));
    for method in [http::Method::POST, http::Method::GET, http::Method::DELETE] {
        let reply = send(management_request(&dev.aws, method.clone(), &unknown, b"x")).await;
        assert_eq!(reply.status, 410, "{method}: {}", reply.text());
        assert_eq!(
            reply.header("x-amzn-errortype"),
            Some("GoneException"),
            "{method}"
        );
        assert!(
            reply.json()["message"].is_string(),
            "{method}: {}",
            reply.text()
        );
    }

    let deleted = send(management_request(
        &dev.aws,
        http::Method::DELETE,
        &path,
        b"",
    ))
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    server_close(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn many_connections_each_receive_only_their_own_posts() {
    const N_CONNECTIONS: usize = 50;
    const N_ROUNDS: usize = 2;
    let app = ws_app(ALL_ROUTES);
    let dev = start(&app);
    let client = management(&dev);
    let mut sockets = Vec::with_capacity(N_CONNECTIONS);
    for _ in 0..N_CONNECTIONS {
        let mut socket = connect(&dev, "/ws").await;
        let connection_id = connection_id_of(&mut socket).await;
        sockets.push((connection_id, socket));
    }
    let mut ids: Vec<&str> = sockets.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N_CONNECTIONS, "every connection has its own id");

    // Every round posts to all connections at once; a message delivered to the wrong client
    // would show as the next frame of that client.
    for round in 0..N_ROUNDS {
        let posts = sockets.iter().map(|(id, _)| {
            let client = client.clone();
            let data = format!("round {round} for {id}");
            async move {
                client
                    .post_to_connection()
                    .connection_id(id)
                    .data(Blob::new(data))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("post to {id}: {e:?}"))
            }
        });
        futures_util::future::join_all(posts).await;
    }
    for (id, socket) in &mut sockets {
        for round in 0..N_ROUNDS {
            assert_eq!(next_text(socket).await, format!("round {round} for {id}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The MESSAGE event of an `event` message on `socket`, as the route posted it back.
async fn whoami(socket: &mut Socket) -> Value {
    send_text(socket, r#"{"action":"event"}"#).await;
    let reply = next_json(socket).await;
    assert_eq!(reply["route"], "event", "{reply:#}");
    reply["event"].clone()
}

/// The connection id of `socket`, as its functions see it.
async fn connection_id_of(socket: &mut Socket) -> String {
    let event = whoami(socket).await;
    event["requestContext"]["connectionId"]
        .as_str()
        .unwrap_or_else(|| panic!("connectionId: {event:#}"))
        .to_owned()
}

/// The event of `event_type` the handlers recorded for `connection_id`, if any.
async fn recorded(dev: &Dev, connection_id: &str, event_type: &str) -> Option<Value> {
    let output = dynamodb(dev)
        .get_item()
        .table_name(EVENTS_TABLE)
        .key("connectionId", s(connection_id))
        .key("eventType", s(event_type))
        .consistent_read(true)
        .send()
        .await
        .expect("get item");
    output.item().map(|item| parse_event(get_s(item, "event")))
}

/// Every recorded event of `event_type`, of any connection.
async fn recorded_of_type(dev: &Dev, event_type: &str) -> Vec<Value> {
    let output = dynamodb(dev)
        .scan()
        .table_name(EVENTS_TABLE)
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    output
        .items()
        .iter()
        .filter(|item| get_s(item, "eventType") == event_type)
        .map(|item| parse_event(get_s(item, "event")))
        .collect()
}

/// Waits for the event of `event_type` to be recorded for `connection_id`.
async fn wait_recorded(dev: &Dev, connection_id: &str, event_type: &str) -> Value {
    let poll = Poll::new(
        format!("{event_type} of {connection_id} to be recorded"),
        Duration::from_secs(60),
    );
    loop {
        if let Some(event) = recorded(dev, connection_id, event_type).await {
            return event;
        }
        poll.tick(dev.stdout()).await;
    }
}

fn parse_event(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("a recorded event is JSON ({e}): {text}"))
}

/// A header of an event's `headers` or `multiValueHeaders`, by its name in any case.
fn header<'e>(headers: &'e Value, name: &str) -> Option<&'e Value> {
    headers
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// API Gateway's shape of a connection id: 16 characters of base64 ending in `=`.
#[track_caller]
fn assert_api_gateway_connection_id(connection_id: &str) {
    let base64_char = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    let shaped = connection_id.len() == 16
        && connection_id.ends_with('=')
        && connection_id[..15].chars().all(base64_char);
    assert!(shaped, "{connection_id:?} is shaped like API Gateway's ids");
}

/// `2020-04-30T20:10:33.236Z` and the like: a date, `T`, a time, and `Z`.
fn is_iso8601_utc(time: &str) -> bool {
    let Some((date, clock)) = time.split_once('T') else {
        return false;
    };
    let digits_at = |text: &str, positions: &[usize]| {
        positions.iter().all(|&position| {
            text.as_bytes()
                .get(position)
                .is_some_and(u8::is_ascii_digit)
        })
    };
    date.len() == 10
        && digits_at(date, &[0, 1, 2, 3, 5, 6, 8, 9])
        && clock.ends_with('Z')
        && digits_at(clock, &[0, 1, 3, 4, 6, 7])
}

/// The HTTP status of a failed SDK call.
fn status_of<T, E>(
    result: &Result<T, aws_sdk_apigatewaymanagement::error::SdkError<E>>,
) -> Option<u16> {
    let error = result.as_ref().err()?;
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since_epoch.as_millis()).expect("milliseconds fit in u64")
}
