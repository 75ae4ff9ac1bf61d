//! A handler-world function that drives the `tables` import through the SDK, one operation per
//! event, so tests can reach every path of the host side and the typed client.
//!
//! The event names an `action` and its parameters. Items, keys and placeholder values are plain
//! JSON (strings become `S`, numbers `N`, objects `M`, …); `startKey` is in DynamoDB's wire form,
//! so a page's `lastEvaluatedKey` can be passed back as it came. Items in answers are in wire form.
//!
//! | action   | parameters | answer |
//! |----------|------------|--------|
//! | `put`    | `table`, `item`, optional `condition` (with `names`, `values`) | `{"attributes": old item or null}` |
//! | `get`    | `table`, `key` | `{"item": item or null}` |
//! | `update` | `table`, `key`, `counter` (attribute name), optional `by` (default 1) | `{"attributes": the item after ADD}` |
//! | `delete` | `table`, `key` | `{"attributes": the deleted item or null}` |
//! | `query`  | `table`, `keyCondition`, optional `names`, `values`, `filter`, `index`, `limit`, `forward`, `startKey` | `{"items": [..], "lastEvaluatedKey": key or null}` |
//! | `raw`    | `operation`, `request` (any JSON) | `{"response": the operation's JSON response}` |
//!
//! A failed table operation answers `{"error": {"code": .., "message": ..}}` (a successful
//! invocation, so tests read the code directly). A malformed event is a function error
//! `BadEvent`; an unknown action is `UnknownAction`.

use rondo_sdk::tables::{self, AttributeValue, Item, ReturnValues, Table};
use rondo_sdk::{Context, Error};
use serde_json::{Map, Value, json};

rondo_sdk::handler!(handle);

fn handle(event: Value, _ctx: &Context) -> Result<Value, Error> {
    let action = string(&event, "action")?;
    let answer = match action {
        "put" => put(&event)?,
        "get" => get(&event)?,
        "update" => update(&event)?,
        "delete" => delete(&event)?,
        "query" => query(&event)?,
        "raw" => raw(&event)?,
        other => {
            return Err(Error::new(
                "UnknownAction",
                format!("unknown action: {other}"),
            ));
        }
    };
    Ok(answer.unwrap_or_else(
        |error| json!({"error": {"code": error.code(), "message": error.message()}}),
    ))
}

/// The answer of an action: its JSON, or the table error it met.
type Answer = tables::Result<Value>;

fn put(event: &Value) -> Result<Answer, Error> {
    let table = Table::new(string(event, "table")?);
    let mut put = table.put(item(event, "item")?);
    if let Some(condition) = event.get("condition") {
        let condition = condition
            .as_str()
            .ok_or_else(|| bad("condition", "a string"))?;
        put = put.condition(condition);
        for (placeholder, attribute) in names(event)? {
            put = put.name(placeholder, attribute);
        }
        for (placeholder, value) in values(event)? {
            put = put.value(placeholder, value);
        }
    }
    Ok(put
        .return_values(ReturnValues::AllOld)
        .send()
        .map(|old| json!({"attributes": old})))
}

fn get(event: &Value) -> Result<Answer, Error> {
    let table = Table::new(string(event, "table")?);
    let key = item(event, "key")?;
    Ok(table.get(key).map(|item| json!({"item": item})))
}

fn update(event: &Value) -> Result<Answer, Error> {
    let table = Table::new(string(event, "table")?);
    let key = item(event, "key")?;
    let counter = string(event, "counter")?;
    let by = match event.get("by") {
        None => 1,
        Some(by) => by.as_i64().ok_or_else(|| bad("by", "a whole number"))?,
    };
    Ok(table
        .update(key)
        .expression("ADD #counter :by")
        .name("#counter", counter)
        .value(":by", by)
        .return_values(ReturnValues::AllNew)
        .send()
        .map(|new| json!({"attributes": new})))
}

fn delete(event: &Value) -> Result<Answer, Error> {
    let table = Table::new(string(event, "table")?);
    let key = item(event, "key")?;
    Ok(table
        .delete(key)
        .return_values(ReturnValues::AllOld)
        .send()
        .map(|old| json!({"attributes": old})))
}

fn query(event: &Value) -> Result<Answer, Error> {
    let table = Table::new(string(event, "table")?);
    let mut query = table.query(string(event, "keyCondition")?);
    for (placeholder, attribute) in names(event)? {
        query = query.name(placeholder, attribute);
    }
    for (placeholder, value) in values(event)? {
        query = query.value(placeholder, value);
    }
    if let Some(filter) = event.get("filter") {
        query = query.filter(filter.as_str().ok_or_else(|| bad("filter", "a string"))?);
    }
    if let Some(index) = event.get("index") {
        query = query.index(index.as_str().ok_or_else(|| bad("index", "a string"))?);
    }
    if let Some(limit) = event.get("limit") {
        let limit = limit
            .as_u64()
            .and_then(|limit| u32::try_from(limit).ok())
            .ok_or_else(|| bad("limit", "a whole number below 2^32"))?;
        query = query.limit(limit);
    }
    if let Some(forward) = event.get("forward") {
        query = query.scan_index_forward(
            forward
                .as_bool()
                .ok_or_else(|| bad("forward", "a boolean"))?,
        );
    }
    if let Some(start_key) = event.get("startKey") {
        let start_key: Item = serde_json::from_value(start_key.clone())
            .map_err(|error| bad("startKey", &format!("a key in wire form ({error})")))?;
        query = query.exclusive_start_key(start_key);
    }
    Ok(query
        .send()
        .map(|page| json!({"items": page.items, "lastEvaluatedKey": page.last_evaluated_key})))
}

fn raw(event: &Value) -> Result<Answer, Error> {
    let operation = string(event, "operation")?;
    let request = event
        .get("request")
        .ok_or_else(|| bad("request", "present"))?;
    Ok(tables::call(operation, request).map(|response| json!({"response": response})))
}

fn string<'e>(event: &'e Value, field: &str) -> Result<&'e str, Error> {
    event
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(field, "a string"))
}

/// The plain JSON object `field` as an item.
fn item(event: &Value, field: &str) -> Result<Item, Error> {
    Ok(attribute_values(object(event, field)?).collect())
}

/// `names`: placeholder to attribute name; absent means none.
fn names(event: &Value) -> Result<Vec<(String, String)>, Error> {
    let Some(names) = event.get("names") else {
        return Ok(Vec::new());
    };
    let names = names.as_object().ok_or_else(|| bad("names", "an object"))?;
    names
        .iter()
        .map(|(placeholder, attribute)| {
            let attribute = attribute
                .as_str()
                .ok_or_else(|| bad("names", "an object of strings"))?;
            Ok((placeholder.clone(), attribute.to_owned()))
        })
        .collect()
}

/// `values`: placeholder to a plain JSON value; absent means none.
fn values(event: &Value) -> Result<Vec<(String, AttributeValue)>, Error> {
    if event.get("values").is_none() {
        return Ok(Vec::new());
    }
    Ok(attribute_values(object(event, "values")?).collect())
}

fn attribute_values(
    object: &Map<String, Value>,
) -> impl Iterator<Item = (String, AttributeValue)> + '_ {
    object
        .iter()
        .map(|(name, value)| (name.clone(), AttributeValue::from(value.clone())))
}

fn object<'e>(event: &'e Value, field: &str) -> Result<&'e Map<String, Value>, Error> {
    event
        .get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| bad(field, "an object"))
}

fn bad(field: &str, expected: &str) -> Error {
    Error::new("BadEvent", format!("`{field}` must be {expected}"))
}
