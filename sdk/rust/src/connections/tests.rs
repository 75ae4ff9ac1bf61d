use std::collections::BTreeMap;

use super::{ConnectionError, ConnectionInfo, delete, get, post, post_json};

const OFF_WASM: &str = "WebSocket connections are reachable only from a function running in rondo";

fn unavailable() -> ConnectionError {
    ConnectionError::Unavailable(OFF_WASM.to_owned())
}

#[test]
fn off_wasm_every_call_is_unavailable() {
    assert_eq!(post("Ab3dEfGhIjKlMnO=", "hello"), Err(unavailable()));
    assert_eq!(post("Ab3dEfGhIjKlMnO=", [0_u8, 255]), Err(unavailable()));
    assert_eq!(
        post_json("Ab3dEfGhIjKlMnO=", &serde_json::json!({"n": 1})),
        Err(unavailable())
    );
    assert_eq!(
        get("Ab3dEfGhIjKlMnO="),
        Err::<ConnectionInfo, _>(unavailable())
    );
    assert_eq!(delete("Ab3dEfGhIjKlMnO="), Err(unavailable()));
}

#[test]
fn a_message_that_does_not_serialize_is_refused_before_sending() {
    let message = BTreeMap::from([((1, 2), "pair keys have no JSON form")]);
    assert_eq!(
        post_json("Ab3dEfGhIjKlMnO=", &message),
        Err(ConnectionError::InvalidMessage(
            "key must be a string".to_owned()
        ))
    );
}

/// Checks what an error says and the function error `?` makes of it.
fn check(error: ConnectionError, expect_display: &str, expect_type: &str, expect_message: &str) {
    assert_eq!(error.to_string(), expect_display);
    assert_eq!(error.code(), expect_type);
    let function_error = crate::Error::from(error);
    assert_eq!(function_error.error_type(), expect_type);
    assert_eq!(function_error.message(), expect_message);
}

#[test]
fn errors_name_the_management_api_exception() {
    check(
        ConnectionError::Gone,
        "GoneException: the connection is closed or never existed",
        "GoneException",
        "the connection is closed or never existed",
    );
    check(
        ConnectionError::PayloadTooLarge,
        "PayloadTooLargeException: the message is larger than 128 KiB",
        "PayloadTooLargeException",
        "the message is larger than 128 KiB",
    );
    check(
        ConnectionError::LimitExceeded,
        "LimitExceededException: the client is not reading and its queue of messages is full",
        "LimitExceededException",
        "the client is not reading and its queue of messages is full",
    );
    check(
        ConnectionError::Unavailable("no WebSocket API on this node".to_owned()),
        "ServiceUnavailableException: no WebSocket API on this node",
        "ServiceUnavailableException",
        "no WebSocket API on this node",
    );
    check(
        ConnectionError::InvalidMessage("key must be a string".to_owned()),
        "InvalidMessage: the message does not serialize to JSON: key must be a string",
        "InvalidMessage",
        "the message does not serialize to JSON: key must be a string",
    );
}
