//! What the cart example's three functions share: the names of its tables, the rule for cart ids,
//! reading a whole cart, and the JSON shapes the clients see.
//!
//! The `carts` table holds one item per line of a cart: `cartId` (partition key), `itemId` (sort
//! key) and `quantity`. The `cart-connections` table holds one item per open WebSocket
//! connection: `connectionId` (partition key) and the `cartId` it watches, with the index
//! `by-cart` to find a cart's connections.

pub mod limits;

#[cfg(test)]
mod tests;

use std::fmt;

use rondo_sdk::http::Response;
use rondo_sdk::log;
use rondo_sdk::tables::{self, AttributeValue, Item, Table};
use serde::Serialize;

use crate::limits::CART_ID_CHARS_MAX;

/// The table of cart lines, as the manifest names it.
pub const CARTS_TABLE: &str = "carts";

/// The table of open WebSocket connections, as the manifest names it.
pub const CONNECTIONS_TABLE: &str = "cart-connections";

/// The index of `cart-connections` keyed by `cartId`.
pub const CONNECTIONS_BY_CART_INDEX: &str = "by-cart";

/// A cart id as the clients send it: 1 to 128 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CartId(String);

/// Why a text is not a [`CartId`].
///
/// The guests' error types implement `Display` by hand rather than with `thiserror`: its
/// proc-macro would change the features of the build-time crates that every guest of the
/// workspace shares, and so the bytes of every other committed component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartIdError {
    Empty,
    TooLong { n_chars: usize },
    Character { character: char },
}

impl fmt::Display for CartIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CartIdError::Empty => write!(f, "cartId must not be empty"),
            CartIdError::TooLong { n_chars } => write!(
                f,
                "cartId must be at most {CART_ID_CHARS_MAX} characters, got {n_chars}"
            ),
            CartIdError::Character { character } => write!(
                f,
                "cartId may hold only A-Z, a-z, 0-9, _ and -, got {character:?}"
            ),
        }
    }
}

impl std::error::Error for CartIdError {}

impl CartId {
    /// Checks `text` against the rule for cart ids.
    pub fn parse(text: &str) -> Result<CartId, CartIdError> {
        if text.is_empty() {
            return Err(CartIdError::Empty);
        }
        let n_chars = text.chars().count();
        if n_chars > CART_ID_CHARS_MAX {
            return Err(CartIdError::TooLong { n_chars });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if let Some(character) = text.chars().find(|&c| !allowed(c)) {
            return Err(CartIdError::Character { character });
        }
        Ok(CartId(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line of a cart: so many of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub item_id: String,
    pub quantity: u64,
}

impl Line {
    /// The line an item of the `carts` table holds, or `None` when it lacks an `itemId` string or
    /// a whole, non-negative `quantity`.
    pub fn from_item(item: &Item) -> Option<Line> {
        Some(Line {
            item_id: item.get("itemId")?.as_s()?.to_owned(),
            quantity: item.get("quantity")?.as_u64()?,
        })
    }
}

/// What the WebSocket clients receive, and what an add answers: `{"cartId": .., "count": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CartCount<'a> {
    pub cart_id: &'a CartId,
    pub count: u64,
}

/// The number of things in the cart: the sum of its lines' quantities.
pub fn total(lines: &[Line]) -> u64 {
    lines.iter().map(|line| line.quantity).sum()
}

/// Every line of the cart, in `itemId` order; an unknown cart has none.
///
/// Reads the cart's partition page by page. rondo's reads are always strongly consistent, so this
/// sees every write that finished before it; on DynamoDB it would ask for `ConsistentRead`.
pub fn read_cart(cart_id: &CartId) -> tables::Result<Vec<Line>> {
    let carts = Table::new(CARTS_TABLE);
    let mut lines = Vec::new();
    let mut start_key = None;
    loop {
        let mut query = carts
            .query("cartId = :cartId")
            .value(":cartId", cart_id.as_str());
        if let Some(key) = start_key.take() {
            query = query.exclusive_start_key(key);
        }
        let page = query.send()?;
        for item in &page.items {
            match Line::from_item(item) {
                Some(line) => lines.push(line),
                None => log::warn(format_args!(
                    "cart {cart_id}: skipping a line without itemId or a whole quantity: {item:?}"
                )),
            }
        }
        match page.last_evaluated_key {
            Some(key) => start_key = Some(key),
            None => return Ok(lines),
        }
    }
}

/// The key of a line of the `carts` table.
pub fn line_key(cart_id: &CartId, item_id: &str) -> Item {
    tables::item([
        ("cartId", AttributeValue::from(cart_id.as_str())),
        ("itemId", AttributeValue::from(item_id)),
    ])
}

/// API Gateway's error shape: status 400 and `{"message": ..}`.
pub fn bad_request(message: impl fmt::Display) -> Response {
    Response::json(400, &serde_json::json!({ "message": message.to_string() }))
        .expect("a JSON object of one string always serializes")
}
