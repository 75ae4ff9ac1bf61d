//! BatchGetItem and BatchWriteItem.
//!
//! A BatchWriteItem is one store transaction: all of its puts and deletes become durable
//! together, so `UnprocessedItems` is always empty. A BatchGetItem reads one snapshot and
//! returns what fits in 16 MB; keys beyond that come back in `UnprocessedKeys`.

use std::collections::HashSet;
use std::sync::Arc;

use items::Item;
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::items_api::{PUT_TOO_LARGE, check_common, check_item_size, parse_projection};
use crate::keys;
use crate::limits::{BATCH_GET_KEYS_MAX, BATCH_WRITE_REQUESTS_MAX, REQUEST_BYTES_MAX};
use crate::request::{Obj, check_name, constraint, missing};
use crate::schema::TableDef;
use crate::write;

fn request_items<'a>(request: Obj<'a>) -> ApiResult<Obj<'a>> {
    let items = request
        .obj("RequestItems")?
        .ok_or_else(|| missing("requestItems"))?;
    if items.0.is_empty() {
        return Err(constraint(
            "{}",
            "requestItems",
            "Member must have length greater than or equal to 1",
        ));
    }
    Ok(items)
}

fn table(inner: &Inner, name: &str) -> ApiResult<Arc<TableDef>> {
    check_name(name, "requestItems.key")?;
    inner.catalog.require(name)
}

fn duplicates() -> ApiError {
    ApiError::validation("Provided list of item keys contains duplicates")
}

pub fn batch_get_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    check_common(request)?;
    let requested = request_items(request)?;
    struct TableRead<'a> {
        name: &'a str,
        def: Arc<TableDef>,
        keys: Vec<Item>,
        projection: Option<items::expr::Projection>,
        spec: &'a Value,
    }
    let mut reads = Vec::new();
    let mut total = 0;
    for (name, spec) in requested.0 {
        let def = table(inner, name)?;
        let spec_obj = Obj::root(spec)?;
        let key_list = spec_obj
            .list("Keys")?
            .ok_or_else(|| missing("requestItems.member.keys"))?;
        if key_list.is_empty() {
            return Err(constraint(
                "[]",
                "requestItems.member.keys",
                "Member must have length greater than or equal to 1",
            ));
        }
        total += key_list.len();
        if total > BATCH_GET_KEYS_MAX {
            return Err(ApiError::validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        for key in key_list {
            let key = items::value::item_from_json(key)?;
            let (pk, sk) = def.keys.check_key(&key)?;
            if !seen.insert(keys::primary_suffix(pk, sk)) {
                return Err(duplicates());
            }
            keys.push(key);
        }
        spec_obj.bool("ConsistentRead")?;
        let projection = parse_projection(spec_obj)?;
        reads.push(TableRead {
            name,
            def,
            keys,
            projection,
            spec,
        });
    }

    let read = inner.store.read()?;
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut bytes = 0usize;
    for table_read in reads {
        let mut found = Vec::new();
        let mut left = Vec::new();
        for key in &table_read.keys {
            if bytes >= REQUEST_BYTES_MAX {
                left.push(items::value::item_to_json(key));
                continue;
            }
            let (pk, sk) = table_read.def.keys.check_key(key)?;
            if let Some(item) =
                write::load_read(&read, &table_read.def, &keys::primary_suffix(pk, sk))?
            {
                bytes += items::value::item_size(&item);
                let item = match &table_read.projection {
                    Some(projection) => projection.apply(&item),
                    None => item,
                };
                found.push(items::value::item_to_json(&item));
            }
        }
        responses.insert(table_read.name.to_owned(), Value::Array(found));
        if !left.is_empty() {
            let mut spec = table_read.spec.clone();
            if let Some(object) = spec.as_object_mut() {
                object.insert("Keys".to_owned(), Value::Array(left));
            }
            unprocessed.insert(table_read.name.to_owned(), spec);
        }
    }
    Ok(json!({ "Responses": responses, "UnprocessedKeys": unprocessed }))
}

/// One put or delete of a BatchWriteItem, validated.
struct Write {
    def: Arc<TableDef>,
    primary: Vec<u8>,
    item: Option<Item>,
}

pub async fn batch_write_item(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    check_common(request)?;
    let requested = request_items(request)?;
    let mut writes = Vec::new();
    let mut seen = HashSet::new();
    for (name, list) in requested.0 {
        let def = table(inner, name)?;
        let Value::Array(list) = list else {
            return Err(ApiError::serialization(
                "RequestItems values must be lists of write requests",
            ));
        };
        if list.is_empty() {
            return Err(constraint(
                "[]",
                "requestItems",
                "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            ));
        }
        for entry in list {
            if writes.len() >= BATCH_WRITE_REQUESTS_MAX {
                return Err(ApiError::validation(
                    "Too many items requested for the BatchWriteItem call",
                ));
            }
            let entry = Obj::root(entry)?;
            let write = match (entry.obj("PutRequest")?, entry.obj("DeleteRequest")?) {
                (Some(put), None) => {
                    let item = put
                        .item("Item")?
                        .ok_or_else(|| missing("requestItems.member.putRequest.item"))?;
                    let (pk, sk) = def.keys.check_item_key(&item)?;
                    def.check_index_keys(&item)?;
                    check_item_size(&item, PUT_TOO_LARGE)?;
                    Write {
                        def: Arc::clone(&def),
                        primary: keys::primary_suffix(pk, sk),
                        item: Some(item),
                    }
                }
                (None, Some(delete)) => {
                    let key = delete
                        .item("Key")?
                        .ok_or_else(|| missing("requestItems.member.deleteRequest.key"))?;
                    let (pk, sk) = def.keys.check_key(&key)?;
                    Write {
                        def: Arc::clone(&def),
                        primary: keys::primary_suffix(pk, sk),
                        item: None,
                    }
                }
                _ => {
                    return Err(ApiError::validation(
                        "One or more parameter values were invalid: a WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                    ));
                }
            };
            if !seen.insert((def.id, write.primary.clone())) {
                return Err(duplicates());
            }
            writes.push(write);
        }
    }

    inner
        .store
        .write(move |txn| -> ApiResult<()> {
            for write in &writes {
                let def = catalog::current_def(txn, &write.def)?;
                let old = write::load(txn, &def, &write.primary)?;
                if write::unchanged(old.as_ref(), write.item.as_ref()) {
                    continue;
                }
                write::apply(txn, &def, &write.primary, old.as_ref(), write.item.as_ref())?;
            }
            Ok(())
        })
        .await??;
    Ok(json!({ "UnprocessedItems": {} }))
}
