use rondo_sdk::tables::{AttributeValue, item};
use serde_json::json;

use super::*;

#[test]
fn cart_ids() {
    fn check(text: &str, expect: Result<(), &str>) {
        let got = CartId::parse(text)
            .map(|id| assert_eq!(id.as_str(), text))
            .map_err(|error| error.to_string());
        assert_eq!(got, expect.map_err(str::to_owned), "{text:?}");
    }

    check("a", Ok(()));
    check("Cart_42-b", Ok(()));
    check(&"x".repeat(CART_ID_CHARS_MAX), Ok(()));
    check("", Err("cartId must not be empty"));
    check(
        &"x".repeat(CART_ID_CHARS_MAX + 1),
        Err("cartId must be at most 128 characters, got 129"),
    );
    check(
        "a b",
        Err("cartId may hold only A-Z, a-z, 0-9, _ and -, got ' '"),
    );
    check(
        "caf\u{e9}",
        Err("cartId may hold only A-Z, a-z, 0-9, _ and -, got '\u{e9}'"),
    );
    check(
        "a/b",
        Err("cartId may hold only A-Z, a-z, 0-9, _ and -, got '/'"),
    );
}

#[test]
fn lines_and_totals() {
    fn check(items: Vec<Item>, expect_lines: Vec<(&str, u64)>, expect_total: u64) {
        let lines: Vec<Line> = items.iter().filter_map(Line::from_item).collect();
        let got: Vec<(&str, u64)> = lines
            .iter()
            .map(|line| (line.item_id.as_str(), line.quantity))
            .collect();
        assert_eq!(got, expect_lines);
        assert_eq!(total(&lines), expect_total);
    }

    let line = |item_id: &str, quantity: AttributeValue| {
        item([
            ("cartId", AttributeValue::from("c1")),
            ("itemId", AttributeValue::from(item_id)),
            ("quantity", quantity),
        ])
    };

    check(vec![], vec![], 0);
    check(
        vec![line("tea", 2.into()), line("cake", 1000.into())],
        vec![("tea", 2), ("cake", 1000)],
        1002,
    );
    // Lines that are not the cart's shape are left out, not counted.
    check(
        vec![
            line("tea", AttributeValue::N("1.5".to_owned())),
            line("cake", AttributeValue::N("-1".to_owned())),
            line("jam", "3".into()),
            item([("itemId", AttributeValue::from("bread"))]),
            line("milk", 4.into()),
        ],
        vec![("milk", 4)],
        4,
    );
}

#[test]
fn client_shapes() {
    let cart_id = CartId::parse("c1").expect("a valid cart id");
    let count = CartCount {
        cart_id: &cart_id,
        count: 3,
    };
    assert_eq!(
        serde_json::to_value(count).expect("serializes"),
        json!({ "cartId": "c1", "count": 3 })
    );
    assert_eq!(
        serde_json::to_value(line_key(&cart_id, "tea")).expect("serializes"),
        json!({ "cartId": { "S": "c1" }, "itemId": { "S": "tea" } })
    );

    let response = bad_request(CartIdError::Empty);
    assert_eq!(response.status_code, 400);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body: serde_json::Value =
        serde_json::from_slice(&response.body_bytes().expect("a text body")).expect("JSON");
    assert_eq!(body, json!({ "message": "cartId must not be empty" }));
}
