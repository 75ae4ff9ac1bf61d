//! The handler on the host: a bad cart id answers 400 without reading; a good one gets as far as
//! the table, which off wasm answers `ServiceUnavailable`.

use std::collections::BTreeMap;

use rondo_sdk::Context;
use rondo_sdk::http::Request;
use serde_json::{Value, json};

use super::*;

/// Runs the handler on `GET /carts/{cart_id}`; `expect` is the 400's message, or `None` for a
/// cart id that passes.
fn check(cart_id: &str, expect: Option<&str>) {
    let request = Request {
        route_key: "GET /carts/{cartId}".to_owned(),
        path_parameters: BTreeMap::from([("cartId".to_owned(), cart_id.to_owned())]),
        ..Request::default()
    };

    match (
        display_cart(request, &Context::for_tests("display-cart")),
        expect,
    ) {
        (Ok(response), Some(message)) => {
            assert_eq!(response.status_code, 400, "{cart_id}");
            let body: Value =
                serde_json::from_slice(&response.body_bytes().expect("text")).expect("a JSON body");
            assert_eq!(body, json!({ "message": message }));
        }
        (Err(error), None) => assert_eq!(error.error_type(), "ServiceUnavailable"),
        (got, expect) => panic!("{cart_id}: got {got:?}, expected {expect:?}"),
    }
}

#[test]
fn cart_ids() {
    check("c1", None);
    check("Cart_42-b", None);
    check(
        "a.b",
        Some("cartId may hold only A-Z, a-z, 0-9, _ and -, got '.'"),
    );
    check(
        &"c".repeat(129),
        Some("cartId must be at most 128 characters, got 129"),
    );
}
