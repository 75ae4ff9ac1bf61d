//! The app's DynamoDB-compatible tables, reached in-process.
//!
//! A [`Table`] names one table of the app; its methods send DynamoDB's own operations (`GetItem`,
//! `PutItem`, `UpdateItem`, `DeleteItem`, `Query`) with DynamoDB's semantics: the same expressions,
//! the same errors. [`call`] sends any other operation as raw JSON.
//! Items are [`Item`]s, maps of attribute names to [`AttributeValue`]s.
//!
//! ```no_run
//! use rondo_sdk::tables::{self, AttributeValue, ReturnValues, Table};
//! use rondo_sdk::{Context, Error};
//! use serde_json::{Value, json};
//!
//! rondo_sdk::handler!(add_to_cart);
//!
//! fn add_to_cart(event: Value, _ctx: &Context) -> Result<Value, Error> {
//!     let cart_id = event["cartId"].as_str().unwrap_or("anonymous");
//!     let carts = Table::new("carts");
//!     let key = tables::item([("pk", format!("cart#{cart_id}").into()), ("sk", "item#tea".into())]);
//!
//!     // Create the line only if it does not exist yet.
//!     let mut line = key.clone();
//!     line.insert("count".to_owned(), 0.into());
//!     match carts.put(line).condition("attribute_not_exists(pk)").send() {
//!         Ok(_) => {}
//!         Err(error) if error.is_conditional_check_failed() => {}
//!         Err(error) => return Err(error.into()),
//!     }
//!
//!     // Count one more, atomically, and read the new value back.
//!     let updated = carts
//!         .update(key)
//!         .expression("ADD #count :one")
//!         .name("#count", "count")
//!         .value(":one", 1)
//!         .return_values(ReturnValues::AllNew)
//!         .send()?;
//!     let count = updated.as_ref().and_then(|item| item.get("count")).and_then(AttributeValue::as_i64);
//!
//!     // Every line of the cart, in sort key order, one page at a time.
//!     let page = carts
//!         .query("pk = :pk")
//!         .value(":pk", format!("cart#{cart_id}"))
//!         .limit(25)
//!         .send()?;
//!     Ok(json!({ "count": count, "lines": page.items.len(), "more": page.last_evaluated_key.is_some() }))
//! }
//! # fn main() {}
//! ```
//!
//! Requests and responses are capped by the platform (16 MiB and 24 MiB), and the time spent in a
//! call counts against the invocation's timeout.
//! Off wasm (host unit tests) every call fails with `ServiceUnavailable`.

// The tests answer calls with a fake service instead of the import, so they run on the host only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod value;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use value::{AttributeValue, Item, item};

/// A result whose error is a table [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed table operation: DynamoDB's exception name and message.
///
/// Besides DynamoDB's exception names, `code` is `InvalidResponse` when a response does not have
/// the shape of the operation's output. `?` turns it into a function [`Error`](crate::Error)
/// with the code as its `errorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: String,
    message: String,
}

impl Error {
    /// An error with DynamoDB's exception name (`"ValidationException"`) and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The exception name without namespace: `"ConditionalCheckFailedException"`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message that came with it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A `ConditionExpression` was false: nothing was written.
    pub fn is_conditional_check_failed(&self) -> bool {
        self.code == "ConditionalCheckFailedException"
    }

    /// The table (or index) does not exist.
    pub fn is_resource_not_found(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    /// The request is invalid: a malformed expression, a key that does not match the schema, ….
    pub fn is_validation(&self) -> bool {
        self.code == "ValidationException"
    }

    /// A transaction was cancelled, for a condition or a conflict.
    pub fn is_transaction_canceled(&self) -> bool {
        self.code == "TransactionCanceledException"
    }

    /// The request was throttled or the service is briefly unavailable: retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TransactionConflictException"
                | "InternalServerError"
                | "ServiceUnavailable"
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for crate::Error {
    fn from(error: Error) -> crate::Error {
        crate::Error::new(error.code, error.message)
    }
}

/// Runs any DynamoDB operation (`"BatchWriteItem"`, `"TransactWriteItems"`, `"Scan"`, …) on its
/// JSON request, and answers its JSON response.
///
/// ```no_run
/// use serde_json::json;
///
/// let response = rondo_sdk::tables::call(
///     "Scan",
///     &json!({ "TableName": "carts", "Limit": 10 }),
/// )?;
/// let n_items = response["Count"].as_u64();
/// # Ok::<(), rondo_sdk::tables::Error>(())
/// ```
pub fn call(operation: &str, request: &serde_json::Value) -> Result<serde_json::Value> {
    send(operation, request)
}

/// What a write answers with `ReturnValues`: nothing (the default), or the item (or only the
/// attributes the write touched) as it was before or after it.
///
/// `PutItem` and `DeleteItem` accept `None` and `AllOld` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnValues {
    /// Nothing (`NONE`).
    None,
    /// The whole item before the write (`ALL_OLD`).
    AllOld,
    /// The attributes the update touched, before it (`UPDATED_OLD`).
    UpdatedOld,
    /// The whole item after the update (`ALL_NEW`).
    AllNew,
    /// The attributes the update touched, after it (`UPDATED_NEW`).
    UpdatedNew,
}

/// One table of the app. Cheap to create; holds only the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    name: String,
}

impl Table {
    /// The table called `name` in the app's manifest.
    pub fn new(name: impl Into<String>) -> Table {
        Table { name: name.into() }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The item with this key (all of the table's key attributes), or `None` if there is none.
    pub fn get(&self, key: Item) -> Result<Option<Item>> {
        let input = GetItemInput {
            table_name: &self.name,
            key,
        };
        let output: GetItemOutput = send("GetItem", &input)?;
        Ok(output.item)
    }

    /// Writes `item`, replacing any item with the same key. Sent by [`Put::send`].
    pub fn put(&self, item: Item) -> Put<'_> {
        Put {
            table: self,
            item,
            condition: Condition::default(),
        }
    }

    /// Deletes the item with this key; deleting an item that does not exist succeeds.
    /// Sent by [`Delete::send`].
    pub fn delete(&self, key: Item) -> Delete<'_> {
        Delete {
            table: self,
            key,
            condition: Condition::default(),
        }
    }

    /// Changes the item with this key by an `UpdateExpression` (set with [`Update::expression`]),
    /// creating it if it does not exist. Sent by [`Update::send`].
    pub fn update(&self, key: Item) -> Update<'_> {
        Update {
            table: self,
            key,
            expression: None,
            condition: Condition::default(),
        }
    }

    /// Reads the items whose key matches `key_condition` (a `KeyConditionExpression` such as
    /// `"pk = :pk AND begins_with(sk, :prefix)"`), one page at a time. Sent by [`Query::send`].
    pub fn query(&self, key_condition: impl Into<String>) -> Query<'_> {
        Query {
            table: self,
            key_condition: key_condition.into(),
            filter: None,
            index: None,
            limit: None,
            scan_index_forward: None,
            exclusive_start_key: None,
            placeholders: Placeholders::default(),
        }
    }
}

/// A `PutItem` request; see [`Table::put`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `send` is called"]
pub struct Put<'t> {
    table: &'t Table,
    item: Item,
    condition: Condition,
}

/// A `DeleteItem` request; see [`Table::delete`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `send` is called"]
pub struct Delete<'t> {
    table: &'t Table,
    key: Item,
    condition: Condition,
}

/// An `UpdateItem` request; see [`Table::update`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `send` is called"]
pub struct Update<'t> {
    table: &'t Table,
    key: Item,
    expression: Option<String>,
    condition: Condition,
}

/// A `Query` request; see [`Table::query`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `send` is called"]
pub struct Query<'t> {
    table: &'t Table,
    key_condition: String,
    filter: Option<String>,
    index: Option<String>,
    limit: Option<u32>,
    scan_index_forward: Option<bool>,
    exclusive_start_key: Option<Item>,
    placeholders: Placeholders,
}

/// One page of a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page's items, in sort key order (reversed with `scan_index_forward(false)`).
    pub items: Vec<Item>,
    /// Where the next page starts ([`Query::exclusive_start_key`]); `None` on the last page.
    /// A page may be empty and still not be the last one.
    pub last_evaluated_key: Option<Item>,
}

/// Generates the placeholder and condition setters shared by the write requests.
macro_rules! condition_setters {
    () => {
        /// Writes only if `expression` (a `ConditionExpression`, such as
        /// `"attribute_not_exists(pk)"`) holds for the item as it is; otherwise the request fails
        /// with `ConditionalCheckFailedException` ([`Error::is_conditional_check_failed`]).
        pub fn condition(mut self, expression: impl Into<String>) -> Self {
            self.condition.expression = Some(expression.into());
            self
        }

        /// Defines the placeholder `#name` as the attribute name `attribute`.
        pub fn name(
            mut self,
            placeholder: impl Into<String>,
            attribute: impl Into<String>,
        ) -> Self {
            self.condition.placeholders.name(placeholder, attribute);
            self
        }

        /// Defines the placeholder `:value` as `value`.
        pub fn value(
            mut self,
            placeholder: impl Into<String>,
            value: impl Into<AttributeValue>,
        ) -> Self {
            self.condition.placeholders.value(placeholder, value);
            self
        }

        /// What the write answers; see [`ReturnValues`].
        pub fn return_values(mut self, return_values: ReturnValues) -> Self {
            self.condition.return_values = Some(return_values);
            self
        }
    };
}

impl Put<'_> {
    condition_setters!();

    /// Sends the request; answers the old item if [`ReturnValues::AllOld`] asked for it.
    pub fn send(self) -> Result<Option<Item>> {
        let input = PutItemInput {
            table_name: &self.table.name,
            item: self.item,
            condition: self.condition,
        };
        let output: WriteOutput = send("PutItem", &input)?;
        Ok(output.attributes)
    }
}

impl Delete<'_> {
    condition_setters!();

    /// Sends the request; answers the deleted item if [`ReturnValues::AllOld`] asked for it.
    pub fn send(self) -> Result<Option<Item>> {
        let input = DeleteItemInput {
            table_name: &self.table.name,
            key: self.key,
            condition: self.condition,
        };
        let output: WriteOutput = send("DeleteItem", &input)?;
        Ok(output.attributes)
    }
}

impl Update<'_> {
    condition_setters!();

    /// The `UpdateExpression`: `SET`, `REMOVE`, `ADD` and `DELETE` clauses, such as
    /// `"SET #status = :status ADD #count :one"`.
    pub fn expression(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    /// Sends the request; answers the attributes [`Update::return_values`] asked for.
    pub fn send(self) -> Result<Option<Item>> {
        let input = UpdateItemInput {
            table_name: &self.table.name,
            key: self.key,
            update_expression: self.expression,
            condition: self.condition,
        };
        let output: WriteOutput = send("UpdateItem", &input)?;
        Ok(output.attributes)
    }
}

impl Query<'_> {
    /// Drops the items that do not match `expression` (a `FilterExpression`) from the page.
    /// The filter applies after [`Query::limit`]: a page may hold fewer items than the limit.
    pub fn filter(mut self, expression: impl Into<String>) -> Self {
        self.filter = Some(expression.into());
        self
    }

    /// Reads the secondary index `name` instead of the table.
    pub fn index(mut self, name: impl Into<String>) -> Self {
        self.index = Some(name.into());
        self
    }

    /// Reads at most `n_items` items for this page (before the filter).
    pub fn limit(mut self, n_items: u32) -> Self {
        self.limit = Some(n_items);
        self
    }

    /// `false` reads in descending sort key order; the default is ascending.
    pub fn scan_index_forward(mut self, forward: bool) -> Self {
        self.scan_index_forward = Some(forward);
        self
    }

    /// Starts after this key: the [`Page::last_evaluated_key`] of the previous page.
    pub fn exclusive_start_key(mut self, key: Item) -> Self {
        self.exclusive_start_key = Some(key);
        self
    }

    /// Defines the placeholder `#name` as the attribute name `attribute`.
    pub fn name(mut self, placeholder: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.placeholders.name(placeholder, attribute);
        self
    }

    /// Defines the placeholder `:value` as `value`.
    pub fn value(
        mut self,
        placeholder: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Self {
        self.placeholders.value(placeholder, value);
        self
    }

    /// Sends the request; answers one page.
    pub fn send(self) -> Result<Page> {
        let input = QueryInput {
            table_name: &self.table.name,
            index_name: self.index,
            key_condition_expression: self.key_condition,
            filter_expression: self.filter,
            limit: self.limit,
            scan_index_forward: self.scan_index_forward,
            exclusive_start_key: self.exclusive_start_key,
            placeholders: self.placeholders,
        };
        let output: QueryOutput = send("Query", &input)?;
        Ok(Page {
            items: output.items,
            last_evaluated_key: output.last_evaluated_key,
        })
    }
}

/// `ExpressionAttributeNames` and `ExpressionAttributeValues`; left out of a request when empty
/// (DynamoDB refuses empty maps).
#[derive(Debug, Clone, Default, Serialize)]
struct Placeholders {
    #[serde(
        rename = "ExpressionAttributeNames",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    names: BTreeMap<String, String>,
    #[serde(
        rename = "ExpressionAttributeValues",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    values: Item,
}

impl Placeholders {
    fn name(&mut self, placeholder: impl Into<String>, attribute: impl Into<String>) {
        self.names.insert(placeholder.into(), attribute.into());
    }

    fn value(&mut self, placeholder: impl Into<String>, value: impl Into<AttributeValue>) {
        self.values.insert(placeholder.into(), value.into());
    }
}

/// The parameters every write shares: its condition, placeholders and return values.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Condition {
    #[serde(
        rename = "ConditionExpression",
        skip_serializing_if = "Option::is_none"
    )]
    expression: Option<String>,
    #[serde(flatten)]
    placeholders: Placeholders,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_values: Option<ReturnValues>,
}

// The operations' inputs and outputs, in DynamoDB's wire form.

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetItemInput<'a> {
    table_name: &'a str,
    key: Item,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetItemOutput {
    item: Option<Item>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutItemInput<'a> {
    table_name: &'a str,
    item: Item,
    #[serde(flatten)]
    condition: Condition,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteItemInput<'a> {
    table_name: &'a str,
    key: Item,
    #[serde(flatten)]
    condition: Condition,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateItemInput<'a> {
    table_name: &'a str,
    key: Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_expression: Option<String>,
    #[serde(flatten)]
    condition: Condition,
}

/// What `PutItem`, `DeleteItem` and `UpdateItem` answer.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WriteOutput {
    attributes: Option<Item>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueryInput<'a> {
    table_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_name: Option<String>,
    key_condition_expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scan_index_forward: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclusive_start_key: Option<Item>,
    #[serde(flatten)]
    placeholders: Placeholders,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryOutput {
    #[serde(default)]
    items: Vec<Item>,
    last_evaluated_key: Option<Item>,
}

/// Sends one operation and parses its response as `O`.
fn send<I: Serialize + ?Sized, O: DeserializeOwned>(operation: &str, input: &I) -> Result<O> {
    let request = serde_json::to_string(input)
        .expect("requests hold only strings, numbers and attribute values, which always serialize");
    let response = transport(operation, &request)?;
    serde_json::from_str(&response).map_err(|error| {
        Error::new(
            "InvalidResponse",
            format!("the {operation} response does not parse: {error}"),
        )
    })
}

#[cfg(target_arch = "wasm32")]
fn transport(operation: &str, request: &str) -> Result<String> {
    crate::bindings::rondo::function::tables::call(operation, request)
        .map_err(|error| Error::new(error.code, error.message))
}

#[cfg(all(not(target_arch = "wasm32"), not(test)))]
fn transport(_operation: &str, _request: &str) -> Result<String> {
    Err(Error::new(
        "ServiceUnavailable",
        "tables are reachable only from a function running in rondo",
    ))
}

#[cfg(all(not(target_arch = "wasm32"), test))]
use tests::fake_transport as transport;
