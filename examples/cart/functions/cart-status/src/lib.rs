//! `cart-status`: keeps every open page of a cart told of the cart's count.
//!
//! It handles four kinds of event:
//!
//! - WebSocket `$connect` on `/ws?cartId=c1`: remembers the connection in `cart-connections`.
//!   A missing or invalid `cartId` answers status 400, which refuses the upgrade.
//! - WebSocket `$disconnect`: forgets the connection.
//! - WebSocket message `{"action": "status"}` (route `status`): pushes the cart's current
//!   `{"cartId": .., "count": ..}` to that connection, so a page that (re)connects is up to date.
//! - A batch of the `carts` table's stream records: for each cart the batch changed, pushes the
//!   new count to each of the cart's connections (found through the `by-cart` index).
//!
//! A push to a connection that is gone (410, a closed tab) forgets the connection; other failed
//! pushes are logged and skipped, so one slow client never holds up the rest.

#[cfg(test)]
mod tests;

use cart::{CONNECTIONS_BY_CART_INDEX, CONNECTIONS_TABLE, CartCount, CartId, read_cart, total};
use rondo_sdk::connections::{self, ConnectionError};
use rondo_sdk::tables::{AttributeValue, Item, Table, item};
use rondo_sdk::websocket::{self, EventType};
use rondo_sdk::{Context, Error, log};
use serde::Deserialize;
use serde_json::{Value, json};

rondo_sdk::handler!(cart_status);

fn cart_status(event: Value, _ctx: &Context) -> Result<Value, Error> {
    match Incoming::from_event(event)? {
        Incoming::Connect {
            connection_id,
            cart_id: Ok(cart_id),
        } => {
            let connection = item([
                ("connectionId", AttributeValue::from(connection_id.as_str())),
                ("cartId", AttributeValue::from(cart_id.as_str())),
            ]);
            Table::new(CONNECTIONS_TABLE).put(connection).send()?;
            log::info(format_args!("{connection_id} watches cart {cart_id}"));
            Ok(json!({ "statusCode": 200 }))
        }
        Incoming::Connect {
            connection_id,
            cart_id: Err(refusal),
        } => {
            log::info(format_args!("refusing {connection_id}: {refusal}"));
            Ok(json!({ "statusCode": 400, "body": refusal }))
        }
        Incoming::Disconnect { connection_id } => {
            forget(&connection_id)?;
            Ok(json!({ "statusCode": 200 }))
        }
        Incoming::Status { connection_id } => {
            match watched_cart(&connection_id)? {
                Some(cart_id) => push(&connection_id, &cart_id, cart_count(&cart_id)?)?,
                None => log::warn(format_args!(
                    "{connection_id} asked for a status but watches no cart"
                )),
            }
            Ok(json!({ "statusCode": 200 }))
        }
        Incoming::Changes { cart_ids } => {
            for cart_id in &cart_ids {
                let count = cart_count(cart_id)?;
                for connection_id in connections_of(cart_id)? {
                    push(&connection_id, cart_id, count)?;
                }
            }
            Ok(json!({}))
        }
    }
}

/// What an event asks of the function.
#[derive(Debug, PartialEq, Eq)]
enum Incoming {
    /// A client opens `/ws?cartId=..`; `cart_id` is the reason to refuse it when the id is bad.
    Connect {
        connection_id: String,
        cart_id: Result<CartId, String>,
    },
    /// A client went away.
    Disconnect { connection_id: String },
    /// A client sent `{"action": "status"}`.
    Status { connection_id: String },
    /// The `carts` table changed these carts, each named once, in the order the batch names them.
    Changes { cart_ids: Vec<CartId> },
}

impl Incoming {
    /// Tells a DynamoDB stream batch (`{"Records": [..]}`) from API Gateway's WebSocket events.
    fn from_event(event: Value) -> Result<Incoming, Error> {
        if event.get("Records").is_some() {
            let batch: StreamBatch = serde_json::from_value(event)?;
            return Ok(Incoming::Changes {
                cart_ids: batch.cart_ids(),
            });
        }
        let event: websocket::Event = serde_json::from_value(event)?;
        let context = &event.request_context;
        let connection_id = context.connection_id.clone();
        match context.event_type {
            EventType::Connect => {
                let cart_id = match event.query("cartId") {
                    Some(text) => CartId::parse(text).map_err(|error| error.to_string()),
                    None => Err("cartId is missing from the query string".to_owned()),
                };
                Ok(Incoming::Connect {
                    connection_id,
                    cart_id,
                })
            }
            EventType::Disconnect => Ok(Incoming::Disconnect { connection_id }),
            EventType::Message if context.route_key == "status" => {
                Ok(Incoming::Status { connection_id })
            }
            EventType::Message => Err(Error::new(
                "UnknownRoute",
                format!("no handling for the route {:?}", context.route_key),
            )),
        }
    }
}

/// Lambda's DynamoDB stream event, as far as this function reads it: the changed items' keys.
#[derive(Deserialize)]
struct StreamBatch {
    #[serde(rename = "Records")]
    records: Vec<StreamRecord>,
}

#[derive(Deserialize)]
struct StreamRecord {
    dynamodb: StreamChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamChange {
    keys: Item,
}

impl StreamBatch {
    /// The carts the batch changed, each once. The count is read afresh for each, so a cart
    /// changed ten times in one batch gets one push with its latest count.
    fn cart_ids(&self) -> Vec<CartId> {
        let mut cart_ids: Vec<CartId> = Vec::new();
        for record in &self.records {
            let Some(text) = record
                .dynamodb
                .keys
                .get("cartId")
                .and_then(AttributeValue::as_s)
            else {
                log::warn("a stream record without a string cartId key");
                continue;
            };
            match CartId::parse(text) {
                Ok(cart_id) if !cart_ids.contains(&cart_id) => cart_ids.push(cart_id),
                Ok(_) => {}
                // No page can watch such a cart: `$connect` refuses its id.
                Err(error) => log::warn(format_args!("skipping a change: {error}")),
            }
        }
        cart_ids
    }
}

/// The cart's total.
fn cart_count(cart_id: &CartId) -> Result<u64, Error> {
    Ok(total(&read_cart(cart_id)?))
}

/// The cart a connection watches, or `None` for a connection the table does not know.
fn watched_cart(connection_id: &str) -> Result<Option<CartId>, Error> {
    let connection = Table::new(CONNECTIONS_TABLE).get(connection_key(connection_id))?;
    let cart_id = connection
        .as_ref()
        .and_then(|connection| connection.get("cartId"))
        .and_then(AttributeValue::as_s)
        .and_then(|text| CartId::parse(text).ok());
    Ok(cart_id)
}

/// The ids of the connections watching the cart, through the `by-cart` index, page by page.
fn connections_of(cart_id: &CartId) -> Result<Vec<String>, Error> {
    let connections = Table::new(CONNECTIONS_TABLE);
    let mut connection_ids = Vec::new();
    let mut start_key = None;
    loop {
        let mut query = connections
            .query("cartId = :cartId")
            .index(CONNECTIONS_BY_CART_INDEX)
            .value(":cartId", cart_id.as_str());
        if let Some(key) = start_key.take() {
            query = query.exclusive_start_key(key);
        }
        let page = query.send()?;
        let ids = page.items.iter().filter_map(|connection| {
            let id = connection.get("connectionId")?.as_s()?;
            Some(id.to_owned())
        });
        connection_ids.extend(ids);
        match page.last_evaluated_key {
            Some(key) => start_key = Some(key),
            None => return Ok(connection_ids),
        }
    }
}

/// Pushes `{"cartId": .., "count": ..}` to one connection. A connection that is gone is
/// forgotten; any other failure is logged, and the other connections still get their push.
fn push(connection_id: &str, cart_id: &CartId, count: u64) -> Result<(), Error> {
    let message = CartCount { cart_id, count };
    match connections::post_json(connection_id, &message) {
        Ok(()) => Ok(()),
        Err(ConnectionError::Gone) => {
            log::info(format_args!("{connection_id} is gone; forgetting it"));
            forget(connection_id)
        }
        Err(error) => {
            log::warn(format_args!("push to {connection_id} failed: {error}"));
            Ok(())
        }
    }
}

/// Deletes the connection's item; forgetting a connection twice is harmless.
fn forget(connection_id: &str) -> Result<(), Error> {
    Table::new(CONNECTIONS_TABLE)
        .delete(connection_key(connection_id))
        .send()?;
    Ok(())
}

fn connection_key(connection_id: &str) -> Item {
    item([("connectionId", AttributeValue::from(connection_id))])
}
