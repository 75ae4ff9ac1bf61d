//! The handler on the host: a bad request answers 400 before any table is touched; a good one
//! gets as far as the table, which off wasm answers `ServiceUnavailable`.

use std::collections::BTreeMap;

use rondo_sdk::Context;
use rondo_sdk::http::Request;
use serde_json::{Value, json};

use super::*;

/// Runs the handler on `POST /carts/{cart_id}/items` with `body`; `expect` is the 400's message,
/// or `None` for a request that passes every check.
fn check(cart_id: &str, body: &str, expect: Option<&str>) {
    let request = Request {
        route_key: "POST /carts/{cartId}/items".to_owned(),
        path_parameters: BTreeMap::from([("cartId".to_owned(), cart_id.to_owned())]),
        body: Some(body.to_owned()),
        ..Request::default()
    };

    let got = add_to_cart(request, &Context::for_tests("add-to-cart"));
    match (got, expect) {
        (Ok(response), Some(message)) => {
            assert_eq!(response.status_code, 400, "{body}");
            let body_json: Value =
                serde_json::from_slice(&response.body_bytes().expect("text")).expect("a JSON body");
            assert_eq!(body_json, json!({ "message": message }), "{body}");
        }
        // Valid: the handler went on to write, and only the missing table service stopped it.
        (Err(error), None) => assert_eq!(error.error_type(), "ServiceUnavailable", "{body}"),
        (got, expect) => panic!("{body}: got {got:?}, expected {expect:?}"),
    }
}

#[test]
fn valid_adds_reach_the_table() {
    check("c1", r#"{"itemId": "tea", "quantity": 1}"#, None);
    check("c1", r#"{"itemId": "tea", "quantity": 1000}"#, None);
    check(
        "c1",
        r#"{"quantity": 2, "itemId": "caf\u00e9", "note": "x"}"#,
        None,
    );
    let longest = format!(r#"{{"itemId": "{}", "quantity": 1}}"#, "é".repeat(128));
    check(&"c".repeat(128), &longest, None);
}

#[test]
fn the_path_cart_id_is_checked_first() {
    check(
        "a b",
        "not even JSON",
        Some("cartId may hold only A-Z, a-z, 0-9, _ and -, got ' '"),
    );
    check(
        &"c".repeat(129),
        "{}",
        Some("cartId must be at most 128 characters, got 129"),
    );
}

#[test]
fn the_body_must_be_a_small_json_object() {
    let object = r#"the body must be a JSON object like {"itemId": "tea", "quantity": 1}"#;
    check("c1", "", Some(object));
    check("c1", "itemId=tea", Some(object));
    check("c1", r#"[{"itemId": "tea", "quantity": 1}]"#, Some(object));
    check("c1", "null", Some(object));

    let megabyte = format!(
        r#"{{"itemId": "tea", "quantity": 1, "pad": "{}"}}"#,
        "x".repeat(1 << 20)
    );
    let message = format!(
        "the body must be at most 4096 bytes, got {}",
        megabyte.len()
    );
    check("c1", &megabyte, Some(&message));
}

#[test]
fn item_id_must_be_a_short_non_empty_string() {
    let message = |got: &str| {
        format!("itemId must be a non-empty string of at most 128 characters, got {got}")
    };
    check("c1", r#"{"quantity": 1}"#, Some(&message("nothing")));
    check(
        "c1",
        r#"{"itemId": "", "quantity": 1}"#,
        Some(&message(r#""""#)),
    );
    check("c1", r#"{"itemId": 7, "quantity": 1}"#, Some(&message("7")));
    check(
        "c1",
        r#"{"itemId": null, "quantity": 1}"#,
        Some(&message("null")),
    );
    let long = format!(r#"{{"itemId": "{}", "quantity": 1}}"#, "t".repeat(129));
    check("c1", &long, Some(&message("129 characters")));
}

#[test]
fn quantity_must_be_a_whole_number_in_range() {
    let message = |got: &str| format!("quantity must be a whole number from 1 to 1000, got {got}");
    check("c1", r#"{"itemId": "tea"}"#, Some(&message("nothing")));
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": 0}"#,
        Some(&message("0")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": -1}"#,
        Some(&message("-1")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": 1001}"#,
        Some(&message("1001")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": 1.5}"#,
        Some(&message("1.5")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": 2.0}"#,
        Some(&message("2.0")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": "2"}"#,
        Some(&message(r#""2""#)),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": true}"#,
        Some(&message("true")),
    );
    check(
        "c1",
        r#"{"itemId": "tea", "quantity": [1]}"#,
        Some(&message("[1]")),
    );
}

#[test]
fn a_base64_body_is_decoded_first() {
    let decode = |body: &str| {
        let request = Request {
            path_parameters: BTreeMap::from([("cartId".to_owned(), "c1".to_owned())]),
            body: Some(body.to_owned()),
            is_base64_encoded: true,
            ..Request::default()
        };
        Add::from_request(&request).map_err(|error| error.to_string())
    };
    let add = Add {
        cart_id: CartId::parse("c1").expect("a valid cart id"),
        item_id: "tea".to_owned(),
        quantity: 3,
    };
    // {"itemId": "tea", "quantity": 3}
    assert_eq!(
        decode("eyJpdGVtSWQiOiAidGVhIiwgInF1YW50aXR5IjogM30="),
        Ok(add)
    );
    // {"itemId": "tea"}
    let message = "quantity must be a whole number from 1 to 1000, got nothing";
    assert_eq!(decode("eyJpdGVtSWQiOiAidGVhIn0="), Err(message.to_owned()));
    let message = r#"the body must be a JSON object like {"itemId": "tea", "quantity": 1}"#;
    assert_eq!(decode("not base64!"), Err(message.to_owned()));
}
