//! PutItem, GetItem, UpdateItem, DeleteItem.
//!
//! A write is validated and its expressions parsed on the request's task; the read of the old
//! item, the condition, the update and the write itself then run inside one store transaction
//! (on the store's writer, group-committed), so a condition is always checked against the
//! state the write replaces.

use std::sync::Arc;

use items::Item;
use items::expr::{self, Condition, ExprKind, Path, Placeholders, Projection, Update};
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::request::{self, Obj, missing};
use crate::schema::TableDef;
use crate::write;

/// Which values a write answers with (`ReturnValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

const RETURN_VALUES: &[&str] = &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];

pub fn parse_return_values(request: Obj<'_>, allowed: &[ReturnValues]) -> ApiResult<ReturnValues> {
    let value = match request.enum_str("ReturnValues", "returnValues", RETURN_VALUES)? {
        None | Some("NONE") => ReturnValues::None,
        Some("ALL_OLD") => ReturnValues::AllOld,
        Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
        Some("ALL_NEW") => ReturnValues::AllNew,
        Some(_) => ReturnValues::UpdatedNew,
    };
    if value != ReturnValues::None && !allowed.contains(&value) {
        return Err(ApiError::validation("Return values set to invalid value"));
    }
    Ok(value)
}

/// `ReturnValuesOnConditionCheckFailure`: whether a failed condition answers with the old item.
pub fn parse_on_failure(request: Obj<'_>) -> ApiResult<bool> {
    Ok(request.enum_str(
        "ReturnValuesOnConditionCheckFailure",
        "returnValuesOnConditionCheckFailure",
        &["ALL_OLD", "NONE"],
    )? == Some("ALL_OLD"))
}

/// Checks the enum members every data-plane operation accepts and rondo does not act on.
pub fn check_common(request: Obj<'_>) -> ApiResult<()> {
    request.enum_str(
        "ReturnConsumedCapacity",
        "returnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    )?;
    request.enum_str(
        "ReturnItemCollectionMetrics",
        "returnItemCollectionMetrics",
        &["SIZE", "NONE"],
    )?;
    Ok(())
}

/// Refuses an item over DynamoDB's 400 KB limit.
pub fn check_item_size(item: &Item, message: &str) -> ApiResult<()> {
    if items::value::item_size(item) > items::limits::ITEM_BYTES_MAX {
        return Err(ApiError::validation(message));
    }
    Ok(())
}

pub const PUT_TOO_LARGE: &str = "Item size has exceeded the maximum allowed size";
pub const UPDATE_TOO_LARGE: &str = "Item size to update has exceeded the maximum allowed size";

/// The expressions of one write request, parsed with one set of placeholders.
pub struct WriteExprs {
    pub condition: Option<Condition>,
    pub update: Option<Update>,
}

/// Parses `ConditionExpression` (and `UpdateExpression` when `with_update`) of a request or
/// of a transaction action.
pub fn parse_write_exprs(obj: Obj<'_>, with_update: bool) -> ApiResult<WriteExprs> {
    let names = obj.names()?;
    let values = obj.values()?;
    let mut placeholders = Placeholders::new(names.as_ref(), values.as_ref())?;
    let update = if with_update {
        obj.str("UpdateExpression")?
            .map(|text| expr::parse_update(text, &mut placeholders))
            .transpose()?
    } else {
        None
    };
    let condition = obj
        .str("ConditionExpression")?
        .map(|text| expr::parse_condition(text, ExprKind::Condition, &mut placeholders))
        .transpose()?;
    placeholders.finish()?;
    Ok(WriteExprs { condition, update })
}

/// A projection from `ProjectionExpression` or the legacy `AttributesToGet`.
pub fn parse_projection(obj: Obj<'_>) -> ApiResult<Option<Projection>> {
    let names = obj.names()?;
    let mut placeholders = Placeholders::new(names.as_ref(), None)?;
    let projection = match (
        obj.str("ProjectionExpression")?,
        obj.list("AttributesToGet")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
            ));
        }
        (Some(text), None) => Some(expr::parse_projection(text, &mut placeholders)?),
        (None, Some(names)) => {
            let mut text = String::new();
            let mut aliases = std::collections::HashMap::new();
            for (i, name) in names.iter().enumerate() {
                let name = name.as_str().ok_or_else(|| {
                    ApiError::serialization("AttributesToGet must be a list of strings")
                })?;
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&format!("#a{i}"));
                aliases.insert(format!("#a{i}"), name.to_owned());
            }
            let mut legacy = Placeholders::new(Some(&aliases), None)?;
            let projection = expr::parse_projection(&text, &mut legacy)?;
            legacy.finish()?;
            Some(projection)
        }
        (None, None) => None,
    };
    placeholders.finish()?;
    Ok(projection)
}

pub fn condition_failed(old: Option<&Item>, return_old: bool) -> ApiError {
    ApiError::conditional_check_failed(old.filter(|_| return_old).map(items::value::item_to_json))
}

fn with_attributes(attributes: Option<Item>) -> Value {
    let mut answer = Map::new();
    if let Some(attributes) = attributes.filter(|a| !a.is_empty()) {
        answer.insert(
            "Attributes".to_owned(),
            items::value::item_to_json(&attributes),
        );
    }
    Value::Object(answer)
}

fn table<'a>(inner: &Inner, request: Obj<'a>) -> ApiResult<Arc<TableDef>> {
    let name = request::table_name(&request, "TableName", "tableName")?;
    inner.catalog.require(name)
}

pub async fn put_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    request.refuse_legacy(&["Expected", "ConditionalOperator"])?;
    check_common(request)?;
    let def = table(inner, request)?;
    let item = request.item("Item")?.ok_or_else(|| missing("item"))?;
    let (pk, sk) = def.keys.check_item_key(&item)?;
    let primary = keys::primary_suffix(pk, sk);
    def.check_index_keys(&item)?;
    check_item_size(&item, PUT_TOO_LARGE)?;
    let return_values = parse_return_values(request, &[ReturnValues::AllOld])?;
    let return_old_on_failure = parse_on_failure(request)?;
    let exprs = parse_write_exprs(request, false)?;

    let old = inner
        .store
        .write(move |txn| -> ApiResult<Option<Item>> {
            let def = catalog::current_def(txn, &def)?;
            let old = write::load(txn, &def, &primary)?;
            if let Some(condition) = &exprs.condition
                && !condition.eval(old.as_ref().unwrap_or(&Item::new()))
            {
                return Err(condition_failed(old.as_ref(), return_old_on_failure));
            }
            if !write::unchanged(old.as_ref(), Some(&item)) {
                write::apply(txn, &def, &primary, old.as_ref(), Some(&item))?;
            }
            Ok(old)
        })
        .await??;
    Ok(with_attributes(
        old.filter(|_| return_values == ReturnValues::AllOld),
    ))
}

pub fn get_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    check_common(request)?;
    let def = table(inner, request)?;
    let key = request.item("Key")?.ok_or_else(|| missing("key"))?;
    let (pk, sk) = def.keys.check_key(&key)?;
    request.bool("ConsistentRead")?;
    let projection = parse_projection(request)?;
    let read = inner.store.read()?;
    let item = write::load_read(&read, &def, &keys::primary_suffix(pk, sk))?;
    Ok(match item {
        Some(item) => {
            let item = match &projection {
                Some(projection) => projection.apply(&item),
                None => item,
            };
            json!({ "Item": items::value::item_to_json(&item) })
        }
        None => json!({}),
    })
}

/// The item before and after an update (an update always leaves an item: it is an upsert).
pub struct Updated {
    pub old: Option<Item>,
    pub new: Item,
}

/// Computes the new item of an UpdateItem (or a transaction's Update) from the old one.
pub fn compute_update(
    def: &TableDef,
    key: &Item,
    old: Option<&Item>,
    update: Option<&Update>,
) -> ApiResult<Item> {
    let mut new = old.cloned().unwrap_or_else(|| key.clone());
    if let Some(update) = update {
        update.apply(&mut new)?;
    }
    def.check_index_keys(&new)?;
    check_item_size(&new, UPDATE_TOO_LARGE)?;
    if new.values().map(depth).max().unwrap_or(0) > items::limits::NESTING_DEPTH_MAX {
        return Err(ApiError::validation(format!(
            "Nesting Levels have exceeded supported limits: the item would be nested more than {} levels deep",
            items::limits::NESTING_DEPTH_MAX
        )));
    }
    Ok(new)
}

/// How deeply a value nests (a scalar is 1), as DynamoDB counts it for its limit of 32.
fn depth(value: &items::AttributeValue) -> usize {
    use items::AttributeValue;
    match value {
        AttributeValue::M(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        AttributeValue::L(list) => 1 + list.iter().map(depth).max().unwrap_or(0),
        _ => 1,
    }
}

/// Refuses an update expression that touches a key attribute of the table.
pub fn check_update_keys(def: &TableDef, update: Option<&Update>) -> ApiResult<()> {
    if let Some(update) = update {
        for path in update.paths() {
            if def.keys.is_key(path.top()) {
                return Err(ApiError::validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute {}. This attribute is part of the key",
                    path.top()
                )));
            }
        }
    }
    Ok(())
}

pub async fn update_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    request.refuse_legacy(&["AttributeUpdates", "Expected", "ConditionalOperator"])?;
    check_common(request)?;
    let def = table(inner, request)?;
    let key = request.item("Key")?.ok_or_else(|| missing("key"))?;
    let (pk, sk) = def.keys.check_key(&key)?;
    let primary = keys::primary_suffix(pk, sk);
    let return_values = parse_return_values(
        request,
        &[
            ReturnValues::AllOld,
            ReturnValues::UpdatedOld,
            ReturnValues::AllNew,
            ReturnValues::UpdatedNew,
        ],
    )?;
    let return_old_on_failure = parse_on_failure(request)?;
    let exprs = parse_write_exprs(request, true)?;
    check_update_keys(&def, exprs.update.as_ref())?;
    let paths: Vec<Path> = exprs.update.as_ref().map(Update::paths).unwrap_or_default();

    let updated = inner
        .store
        .write(move |txn| -> ApiResult<Updated> {
            let def = catalog::current_def(txn, &def)?;
            let old = write::load(txn, &def, &primary)?;
            if let Some(condition) = &exprs.condition
                && !condition.eval(old.as_ref().unwrap_or(&Item::new()))
            {
                return Err(condition_failed(old.as_ref(), return_old_on_failure));
            }
            let new = compute_update(&def, &key, old.as_ref(), exprs.update.as_ref())?;
            if !write::unchanged(old.as_ref(), Some(&new)) {
                write::apply(txn, &def, &primary, old.as_ref(), Some(&new))?;
            }
            Ok(Updated { old, new })
        })
        .await??;
    let attributes = match return_values {
        ReturnValues::None => None,
        ReturnValues::AllOld => updated.old,
        ReturnValues::AllNew => Some(updated.new),
        ReturnValues::UpdatedOld => updated.old.map(|old| expr::project(&old, &paths)),
        ReturnValues::UpdatedNew => Some(expr::project(&updated.new, &paths)),
    };
    Ok(with_attributes(attributes))
}

pub async fn delete_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    request.refuse_legacy(&["Expected", "ConditionalOperator"])?;
    check_common(request)?;
    let def = table(inner, request)?;
    let key = request.item("Key")?.ok_or_else(|| missing("key"))?;
    let (pk, sk) = def.keys.check_key(&key)?;
    let primary = keys::primary_suffix(pk, sk);
    let return_values = parse_return_values(request, &[ReturnValues::AllOld])?;
    let return_old_on_failure = parse_on_failure(request)?;
    let exprs = parse_write_exprs(request, false)?;

    let old = inner
        .store
        .write(move |txn| -> ApiResult<Option<Item>> {
            let def = catalog::current_def(txn, &def)?;
            let old = write::load(txn, &def, &primary)?;
            if let Some(condition) = &exprs.condition
                && !condition.eval(old.as_ref().unwrap_or(&Item::new()))
            {
                return Err(condition_failed(old.as_ref(), return_old_on_failure));
            }
            if old.is_some() {
                write::apply(txn, &def, &primary, old.as_ref(), None)?;
            }
            Ok(old)
        })
        .await??;
    Ok(with_attributes(
        old.filter(|_| return_values == ReturnValues::AllOld),
    ))
}
