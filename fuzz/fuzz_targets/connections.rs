//! API Gateway's `@connections` management API as the AWS endpoint reads it: the path's connection
//! id (`gateway::websocket::management::connection_id`, percent-decoded, after an optional stage
//! segment), then `management::handle` with the method and body on the node's registry (with no
//! client connected, so every id is gone). The input is a request in the text form of
//! `rondo_fuzz::request`.

#![no_main]

use std::sync::LazyLock;

use gateway::websocket::{Connections, management};
use libfuzzer_sys::fuzz_target;
use rondo_fuzz::request;

static CONNECTIONS: LazyLock<Connections> = LazyLock::new(Connections::new);

fuzz_target!(|data: &[u8]| {
    let Some((parts, body)) = request::parse(data) else {
        return;
    };
    let Some(connection_id) = management::connection_id(parts.uri.path()) else {
        return;
    };
    let response = management::handle(&CONNECTIONS, &parts.method, &connection_id, body);
    assert!(
        response.status().is_client_error() || response.status().is_success(),
        "a management call answers 2xx or 4xx: {response:?}"
    );
});
