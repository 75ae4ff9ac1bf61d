//! What a WebSocket client sends, as the gateway's connection task reads it
//! (`gateway::websocket::read_client_messages`): the input is the bytes of the client's side of the
//! connection after the handshake (frames, which a client masks), read under the gateway's frame
//! and message limits; each message selects its route by `$request.body.action` in the fixture's
//! API and becomes a `MESSAGE` event, which must be JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rondo_fuzz::fixtures;

fuzz_target!(|data: &[u8]| {
    let api = fixtures::websocket_api();
    let messages =
        fixtures::runtime().block_on(gateway::websocket::read_client_messages(api, data));
    for (route_key, event) in messages.into_iter().flatten() {
        let event: serde_json::Value =
            serde_json::from_slice(&event).expect("a message's event is JSON");
        assert_eq!(event["requestContext"]["routeKey"], route_key.as_str());
    }
});
