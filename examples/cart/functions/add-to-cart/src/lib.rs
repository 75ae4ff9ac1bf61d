//! `add-to-cart`: `POST /carts/{cartId}/items` with `{"itemId": "tea", "quantity": 2}` puts two
//! more teas in the cart and answers `{"cartId": .., "count": ..}`, the cart's new total.
//!
//! The write is one `UpdateItem` with `ADD quantity :q`, so two adds of the same item at once both
//! count. The `carts` table's stream then tells `cart-status`, which pushes the new count to the
//! cart's open pages. A request that breaks a rule gets 400 `{"message": ..}` naming the field,
//! and nothing is written.

#[cfg(test)]
mod tests;

use std::fmt;

use cart::limits::{ADD_BODY_BYTES_MAX, ITEM_ID_CHARS_MAX, QUANTITY_PER_ADD_MAX};
use cart::{CARTS_TABLE, CartCount, CartId, CartIdError, bad_request, line_key, read_cart, total};
use rondo_sdk::http::{Request, Response};
use rondo_sdk::tables::Table;
use rondo_sdk::{Context, Error, log};
use serde_json::Value;

rondo_sdk::handler!(add_to_cart);

fn add_to_cart(request: Request, _ctx: &Context) -> Result<Response, Error> {
    let add = match Add::from_request(&request) {
        Ok(add) => add,
        Err(error) => return Ok(bad_request(error)),
    };
    Table::new(CARTS_TABLE)
        .update(line_key(&add.cart_id, &add.item_id))
        .expression("ADD quantity :q")
        .value(":q", add.quantity)
        .send()?;
    let count = total(&read_cart(&add.cart_id)?);
    log::info(format_args!(
        "cart {}: +{} {}, {count} in all",
        add.cart_id, add.quantity, add.item_id
    ));
    Response::json(
        200,
        &CartCount {
            cart_id: &add.cart_id,
            count,
        },
    )
}

/// One valid add: `quantity` more of `item_id` in the cart.
#[derive(Debug, PartialEq, Eq)]
struct Add {
    cart_id: CartId,
    item_id: String,
    quantity: u64,
}

/// Why a request is not a valid add; its `Display` is the 400's `message`.
#[derive(Debug, PartialEq, Eq)]
enum BadAdd {
    CartId(CartIdError),
    BodyTooLarge { n_bytes: usize },
    NotAnObject,
    ItemId { got: String },
    Quantity { got: String },
}

impl fmt::Display for BadAdd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadAdd::CartId(error) => error.fmt(f),
            BadAdd::BodyTooLarge { n_bytes } => write!(
                f,
                "the body must be at most {ADD_BODY_BYTES_MAX} bytes, got {n_bytes}"
            ),
            BadAdd::NotAnObject => write!(
                f,
                r#"the body must be a JSON object like {{"itemId": "tea", "quantity": 1}}"#
            ),
            BadAdd::ItemId { got } => write!(
                f,
                "itemId must be a non-empty string of at most {ITEM_ID_CHARS_MAX} characters, got {got}"
            ),
            BadAdd::Quantity { got } => write!(
                f,
                "quantity must be a whole number from 1 to {QUANTITY_PER_ADD_MAX}, got {got}"
            ),
        }
    }
}

impl From<CartIdError> for BadAdd {
    fn from(error: CartIdError) -> BadAdd {
        BadAdd::CartId(error)
    }
}

impl Add {
    /// Checks the path's `cartId`, then the body's size, shape, `itemId` and `quantity`.
    fn from_request(request: &Request) -> Result<Add, BadAdd> {
        let cart_id = CartId::parse(request.path_param("cartId").unwrap_or_default())?;
        let body = request.body_bytes().map_err(|_| BadAdd::NotAnObject)?;
        if body.len() > ADD_BODY_BYTES_MAX {
            return Err(BadAdd::BodyTooLarge {
                n_bytes: body.len(),
            });
        }
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
            return Err(BadAdd::NotAnObject);
        };
        let item_id = match fields.get("itemId") {
            Some(Value::String(text)) if !text.is_empty() => text,
            other => {
                return Err(BadAdd::ItemId {
                    got: describe(other),
                });
            }
        };
        let n_chars = item_id.chars().count();
        if n_chars > ITEM_ID_CHARS_MAX {
            let got = format!("{n_chars} characters");
            return Err(BadAdd::ItemId { got });
        }
        let quantity = match fields.get("quantity") {
            Some(Value::Number(number)) => number
                .as_u64()
                .filter(|n| (1..=QUANTITY_PER_ADD_MAX).contains(n)),
            _ => None,
        };
        let Some(quantity) = quantity else {
            let got = describe(fields.get("quantity"));
            return Err(BadAdd::Quantity { got });
        };
        Ok(Add {
            cart_id,
            item_id: item_id.clone(),
            quantity,
        })
    }
}

/// A field's value as the error message shows it: its JSON text, or `nothing` when it is missing.
fn describe(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Value::to_string)
}
