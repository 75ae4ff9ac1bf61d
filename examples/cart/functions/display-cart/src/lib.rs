//! `display-cart`: `GET /carts/{cartId}` answers the cart's lines and total:
//! `{"cartId": "c1", "items": [{"itemId": "tea", "quantity": 2}], "count": 2}`.
//!
//! An unknown cart is an empty cart: `"items": []` and `"count": 0`.

#[cfg(test)]
mod tests;

use cart::{CartId, Line, bad_request, read_cart, total};
use rondo_sdk::http::{Request, Response};
use rondo_sdk::{Context, Error};
use serde_json::json;

rondo_sdk::handler!(display_cart);

fn display_cart(request: Request, _ctx: &Context) -> Result<Response, Error> {
    let cart_id = match CartId::parse(request.path_param("cartId").unwrap_or_default()) {
        Ok(cart_id) => cart_id,
        Err(error) => return Ok(bad_request(error)),
    };
    let lines: Vec<Line> = read_cart(&cart_id)?;
    let count = total(&lines);
    Response::json(
        200,
        &json!({ "cartId": cart_id, "items": lines, "count": count }),
    )
}
