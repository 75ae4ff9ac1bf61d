//! TransactWriteItems and TransactGetItems.
//!
//! A write transaction is one store transaction: every condition is checked against the state
//! it would change, and either every action is applied or none. A failure answers
//! TransactionCanceledException with one reason per action, in request order.

use std::collections::HashSet;
use std::sync::Arc;

use items::Item;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::StoreError;

use crate::Inner;
use crate::catalog;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::items_api::{
    PUT_TOO_LARGE, WriteExprs, check_common, check_item_size, check_update_keys, compute_update,
    parse_projection, parse_write_exprs,
};
use crate::keys;
use crate::limits::{
    TRANSACT_ACTIONS_MAX, TRANSACT_BYTES_MAX, TRANSACT_TOKEN_CHARS_MAX, TRANSACT_TOKEN_TTL_SECS,
};
use crate::request::{self, Obj, constraint, missing};
use crate::schema::TableDef;
use crate::write;

enum Kind {
    ConditionCheck,
    Put(Item),
    Update(Item),
    Delete,
}

struct Action {
    def: Arc<TableDef>,
    primary: Vec<u8>,
    kind: Kind,
    exprs: WriteExprs,
    return_old_on_failure: bool,
}

fn actions_list<'a>(request: Obj<'a>) -> ApiResult<Vec<Obj<'a>>> {
    let actions = request
        .objs("TransactItems")?
        .ok_or_else(|| missing("transactItems"))?;
    if actions.is_empty() {
        return Err(constraint(
            "[]",
            "transactItems",
            "Member must have length greater than or equal to 1",
        ));
    }
    if actions.len() > TRANSACT_ACTIONS_MAX {
        return Err(constraint(
            &format!("[{} items]", actions.len()),
            "transactItems",
            &format!("Member must have length less than or equal to {TRANSACT_ACTIONS_MAX}"),
        ));
    }
    Ok(actions)
}

fn parse_action(inner: &Inner, entry: Obj<'_>) -> ApiResult<Action> {
    let members = ["ConditionCheck", "Put", "Update", "Delete"];
    let given: Vec<&str> = members.into_iter().filter(|m| entry.has(m)).collect();
    let [member] = given.as_slice() else {
        return Err(ApiError::validation(
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ));
    };
    let obj = entry
        .obj(member)?
        .ok_or_else(|| missing("transactItems.member"))?;
    let name = request::table_name(&obj, "TableName", "transactItems.member.tableName")?;
    let def = inner.catalog.require(name)?;
    let return_old_on_failure = crate::items_api::parse_on_failure(obj)?;
    let (primary, kind, exprs) = match *member {
        "Put" => {
            let item = obj
                .item("Item")?
                .ok_or_else(|| missing("transactItems.member.put.item"))?;
            let (pk, sk) = def.keys.check_item_key(&item)?;
            def.check_index_keys(&item)?;
            check_item_size(&item, PUT_TOO_LARGE)?;
            let primary = keys::primary_suffix(pk, sk);
            (primary, Kind::Put(item), parse_write_exprs(obj, false)?)
        }
        other => {
            let key = obj
                .item("Key")?
                .ok_or_else(|| missing("transactItems.member.key"))?;
            let (pk, sk) = def.keys.check_key(&key)?;
            let primary = keys::primary_suffix(pk, sk);
            match other {
                "ConditionCheck" => {
                    let exprs = parse_write_exprs(obj, false)?;
                    if exprs.condition.is_none() {
                        return Err(missing(
                            "transactItems.member.conditionCheck.conditionExpression",
                        ));
                    }
                    (primary, Kind::ConditionCheck, exprs)
                }
                "Update" => {
                    if !obj.has("UpdateExpression") {
                        return Err(missing("transactItems.member.update.updateExpression"));
                    }
                    let exprs = parse_write_exprs(obj, true)?;
                    check_update_keys(&def, exprs.update.as_ref())?;
                    (primary, Kind::Update(key), exprs)
                }
                _ => (primary, Kind::Delete, parse_write_exprs(obj, false)?),
            }
        }
    };
    Ok(Action {
        def,
        primary,
        kind,
        exprs,
        return_old_on_failure,
    })
}

pub async fn transact_write_items(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    check_common(request)?;
    let entries = actions_list(request)?;
    let token = request.str("ClientRequestToken")?.map(str::to_owned);
    if let Some(token) = &token
        && (token.is_empty() || token.len() > TRANSACT_TOKEN_CHARS_MAX)
    {
        return Err(constraint(
            &format!("'{token}'"),
            "clientRequestToken",
            &format!("Member must have length less than or equal to {TRANSACT_TOKEN_CHARS_MAX}"),
        ));
    }
    let mut actions = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for entry in entries {
        let action = parse_action(inner, entry)?;
        if !seen.insert((action.def.id, action.primary.clone())) {
            return Err(ApiError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        if let Kind::Put(item) = &action.kind {
            bytes += items::value::item_size(item);
        }
        actions.push(action);
    }
    if bytes > TRANSACT_BYTES_MAX {
        return Err(ApiError::validation(format!(
            "Transaction request size exceeds the limit of {TRANSACT_BYTES_MAX} bytes"
        )));
    }
    // The request's fingerprint, for the idempotency token: its canonical JSON without the token.
    let fingerprint: [u8; 32] = {
        let mut copy = request.0.clone();
        copy.remove("ClientRequestToken");
        Sha256::digest(Value::Object(copy).to_string().as_bytes()).into()
    };

    inner
        .store
        .write(move |txn| -> ApiResult<()> {
            let now = write::now_secs();
            if let Some(token) = &token {
                let key = keys::token_key(token);
                if let Some(record) = txn.get(&key)? {
                    let expires = token_expiry(&key, &record)?;
                    if expires > now {
                        if record.get(8..) == Some(&fingerprint[..]) {
                            // Already applied: answer as the first time, change nothing.
                            return Ok(());
                        }
                        return Err(ApiError::new(
                            ErrorCode::IdempotentParameterMismatch,
                            "Request parameters do not match the previous request with this ClientRequestToken",
                        ));
                    }
                }
                let mut record = (now + TRANSACT_TOKEN_TTL_SECS).to_be_bytes().to_vec();
                record.extend_from_slice(&fingerprint);
                txn.put(&key, &record)?;
            }

            let mut planned = Vec::with_capacity(actions.len());
            let mut reasons = Vec::with_capacity(actions.len());
            let mut failed = false;
            for action in &actions {
                let def = catalog::current_def(txn, &action.def)?;
                let old = write::load(txn, &def, &action.primary)?;
                let passes = action
                    .exprs
                    .condition
                    .as_ref()
                    .is_none_or(|c| c.eval(old.as_ref().unwrap_or(&Item::new())));
                if !passes {
                    failed = true;
                    let mut reason = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
                    if action.return_old_on_failure
                        && let (Some(old), Some(object)) = (&old, reason.as_object_mut())
                    {
                        object.insert("Item".to_owned(), items::value::item_to_json(old));
                    }
                    reasons.push(reason);
                    continue;
                }
                let new = match &action.kind {
                    Kind::ConditionCheck => {
                        reasons.push(json!({"Code": "None"}));
                        continue;
                    }
                    Kind::Put(item) => Some(item.clone()),
                    Kind::Delete => None,
                    Kind::Update(key) => {
                        match compute_update(&def, key, old.as_ref(), action.exprs.update.as_ref()) {
                            Ok(new) => Some(new),
                            Err(error) => {
                                failed = true;
                                reasons.push(json!({"Code": "ValidationError", "Message": error.message}));
                                continue;
                            }
                        }
                    }
                };
                reasons.push(json!({"Code": "None"}));
                planned.push((def, old, new, &action.primary));
            }
            if failed {
                let codes: Vec<&str> = reasons
                    .iter()
                    .map(|r| r.get("Code").and_then(Value::as_str).unwrap_or("None"))
                    .collect();
                let mut error = ApiError::new(
                    ErrorCode::TransactionCanceled,
                    format!(
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                        codes.join(", ")
                    ),
                );
                error.extra.insert("CancellationReasons".to_owned(), Value::Array(reasons));
                return Err(error);
            }
            for (def, old, new, primary) in planned {
                if !write::unchanged(old.as_ref(), new.as_ref()) {
                    write::apply(txn, &def, primary, old.as_ref(), new.as_ref())?;
                }
            }
            Ok(())
        })
        .await??;
    Ok(json!({}))
}

/// When the TransactWriteItems token record stored under `key` expires (seconds since the
/// epoch). A record is the expiry (u64 BE), then the SHA-256 of the request.
pub fn token_expiry(key: &[u8], record: &[u8]) -> Result<u64, StoreError> {
    let expiry = record
        .first_chunk::<8>()
        .filter(|_| record.len() == TOKEN_RECORD_BYTES)
        .ok_or_else(|| {
            StoreError::corrupt(
                key,
                format!(
                    "a token record is {TOKEN_RECORD_BYTES} bytes, found {}",
                    record.len()
                ),
            )
        })?;
    Ok(u64::from_be_bytes(*expiry))
}

/// The bytes of a token record: expiry and fingerprint.
const TOKEN_RECORD_BYTES: usize = 8 + 32;

pub fn transact_get_items(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    check_common(request)?;
    let entries = actions_list(request)?;
    let mut gets = Vec::with_capacity(entries.len());
    for entry in entries {
        let get = entry
            .obj("Get")?
            .ok_or_else(|| missing("transactItems.member.get"))?;
        let name = request::table_name(&get, "TableName", "transactItems.member.get.tableName")?;
        let def = inner.catalog.require(name)?;
        let key = get
            .item("Key")?
            .ok_or_else(|| missing("transactItems.member.get.key"))?;
        let (pk, sk) = def.keys.check_key(&key)?;
        let primary = keys::primary_suffix(pk, sk);
        gets.push((def, primary, parse_projection(get)?));
    }
    let read = inner.store.read()?;
    let mut responses = Vec::with_capacity(gets.len());
    for (def, primary, projection) in gets {
        responses.push(match write::load_read(&read, &def, &primary)? {
            Some(item) => {
                let item = match &projection {
                    Some(projection) => projection.apply(&item),
                    None => item,
                };
                json!({ "Item": items::value::item_to_json(&item) })
            }
            None => json!({}),
        });
    }
    Ok(json!({ "Responses": responses }))
}
