//! Query and Scan: one page of a range of the store, with DynamoDB's paging rules.
//!
//! `Limit` and the 1 MB page cap count items *read*, before the filter: a page can be empty and
//! still carry a `LastEvaluatedKey`. `ScannedCount` counts what was read, `Count` what passed.

use std::ops::Bound;

use items::expr::{self, Condition, ExprKind, Placeholders, Projection, SortCondition};
use items::{AttributeValue, Item};
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::error::{ApiError, ApiResult};
use crate::items_api::check_common;
use crate::keys;
use crate::limits::{PAGE_BYTES_MAX, TOTAL_SEGMENTS_MAX};
use crate::request::{self, Obj, constraint, missing};
use crate::schema::{IndexDef, IndexStatus, KeySchema, ProjectionDef, TableDef};
use crate::stored;
use crate::write;

/// What a Query or Scan reads: the table itself or one of its indexes.
struct Source<'a> {
    def: &'a TableDef,
    index: Option<&'a IndexDef>,
}

impl Source<'_> {
    fn space(&self) -> u8 {
        self.index.map_or(keys::TABLE_SPACE, |i| i.space)
    }

    fn keys(&self) -> &KeySchema {
        self.index.map_or(&self.def.keys, |i| &i.keys)
    }

    /// The store key of an item of this source, from the item's attributes.
    fn store_key(&self, item: &Item) -> Option<Vec<u8>> {
        let (pk, sk) = self.def.keys.index_values(item)?;
        let primary = keys::primary_suffix(pk, sk);
        Some(match self.index {
            None => write::item_key(self.def.id, &primary),
            Some(index) => {
                let (ipk, isk) = index.keys.index_values(item)?;
                keys::index_key(self.def.id, index.space, ipk, isk, &primary)
            }
        })
    }

    /// `LastEvaluatedKey`: the table's key attributes, plus the index's when reading an index.
    fn last_key(&self, item: &Item) -> Item {
        let mut key = self.def.keys.key_of(item);
        if let Some(index) = self.index {
            key.extend(index.keys.key_of(item));
        }
        key
    }
}

/// The options Query and Scan share.
struct Reading {
    filter: Option<Condition>,
    projection: Option<Projection>,
    count_only: bool,
    /// Read the whole item from the table (an LSI without an ALL projection, asked for ALL_ATTRIBUTES).
    fetch_from_table: bool,
    limit: Option<usize>,
    exclusive_start: Option<Item>,
}

fn find_source<'a>(def: &'a TableDef, request: Obj<'_>) -> ApiResult<Source<'a>> {
    let index = match request.str("IndexName")? {
        None => None,
        Some(name) => {
            request::check_name(name, "indexName")?;
            let index = def.index(name).ok_or_else(|| {
                ApiError::validation(format!(
                    "The table does not have the specified index: {name}"
                ))
            })?;
            if index.status == IndexStatus::Creating {
                return Err(ApiError::validation(format!(
                    "Cannot read from backfilling global secondary index: {name}"
                )));
            }
            if index.global && request.bool("ConsistentRead")? == Some(true) {
                return Err(ApiError::validation(
                    "Consistent reads are not supported on global secondary indexes",
                ));
            }
            Some(index)
        }
    };
    Ok(Source { def, index })
}

/// Parses Select, Limit, ExclusiveStartKey, the filter and the projection. `key_condition` is
/// parsed with the same placeholders (Query only).
fn parse_reading(
    request: Obj<'_>,
    source: &Source<'_>,
    key_condition: Option<&mut Option<expr::KeyCondition>>,
) -> ApiResult<Reading> {
    check_common(request)?;
    request.refuse_legacy(&[
        "KeyConditions",
        "QueryFilter",
        "ScanFilter",
        "ConditionalOperator",
    ])?;
    request.bool("ConsistentRead")?;
    let limit = match request.i64("Limit")? {
        None => None,
        Some(limit) if limit >= 1 => Some(usize::try_from(limit).unwrap_or(usize::MAX)),
        Some(limit) => {
            return Err(constraint(
                &limit.to_string(),
                "limit",
                "Member must have value greater than or equal to 1",
            ));
        }
    };
    let names = request.names()?;
    let values = request.values()?;
    let mut placeholders = Placeholders::new(names.as_ref(), values.as_ref())?;
    if let Some(slot) = key_condition {
        let text = request
            .str("KeyConditionExpression")?
            .ok_or_else(|| {
                ApiError::validation(
                    "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                )
            })?;
        *slot = Some(expr::parse_key_condition(text, &mut placeholders)?);
    }
    let filter = request
        .str("FilterExpression")?
        .map(|text| expr::parse_condition(text, ExprKind::Filter, &mut placeholders))
        .transpose()?;
    let projection = match request.str("ProjectionExpression")? {
        Some(text) => Some(expr::parse_projection(text, &mut placeholders)?),
        None => None,
    };
    placeholders.finish()?;
    let projection = match projection {
        Some(projection) => Some(projection),
        None if request.has("AttributesToGet") => crate::items_api::parse_projection(request)?,
        None => None,
    };

    let select = request.enum_str(
        "Select",
        "select",
        &[
            "ALL_ATTRIBUTES",
            "ALL_PROJECTED_ATTRIBUTES",
            "SPECIFIC_ATTRIBUTES",
            "COUNT",
        ],
    )?;
    let mut fetch_from_table = false;
    match select {
        Some("SPECIFIC_ATTRIBUTES") if projection.is_none() => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ));
        }
        Some(select @ ("ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT"))
            if projection.is_some() =>
        {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Cannot specify the ProjectionExpression when choosing to get {select}"
            )));
        }
        Some("ALL_PROJECTED_ATTRIBUTES") if source.index.is_none() => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for secondary indexes",
            ));
        }
        Some("ALL_ATTRIBUTES") => {
            if let Some(index) = source.index
                && index.projection != ProjectionDef::All
            {
                if index.global {
                    return Err(ApiError::validation(format!(
                        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                        index.name
                    )));
                }
                fetch_from_table = true;
            }
        }
        _ => {}
    }

    let exclusive_start = request.item("ExclusiveStartKey")?;
    if let Some(start) = &exclusive_start {
        check_start_key(source, start)?;
    }
    Ok(Reading {
        filter,
        projection,
        count_only: select == Some("COUNT"),
        fetch_from_table,
        limit,
        exclusive_start,
    })
}

fn check_start_key(source: &Source<'_>, start: &Item) -> ApiResult<()> {
    let invalid = || {
        ApiError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    };
    let mut expected: Vec<&str> = source.def.keys.names().collect();
    if let Some(index) = source.index {
        expected.extend(index.keys.names());
    }
    expected.sort_unstable();
    expected.dedup();
    if start.len() != expected.len() || !expected.iter().all(|name| start.contains_key(*name)) {
        return Err(invalid());
    }
    source.def.keys.index_values(start).ok_or_else(invalid)?;
    if let Some(index) = source.index {
        index.keys.index_values(start).ok_or_else(invalid)?;
    }
    Ok(())
}

pub fn query(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?;
    let def = inner.catalog.require(name)?;
    let source = find_source(&def, request)?;
    let mut key_condition = None;
    let reading = parse_reading(request, &source, Some(&mut key_condition))?;
    let key_condition = key_condition.ok_or_else(|| missing("keyConditionExpression"))?;
    let (partition, sort) = match_key_condition(source.keys(), key_condition)?;
    let forward = request.bool("ScanIndexForward")?.unwrap_or(true);

    let prefix = keys::partition_prefix(def.id, source.space(), &partition);
    let (start, end) = sort_range(&prefix, sort.as_ref());
    run(inner, &source, &reading, start, end, !forward)
}

/// Matches a KeyConditionExpression to a key schema: the partition key's value, and the sort
/// key's condition when there is one.
fn match_key_condition(
    schema: &KeySchema,
    condition: expr::KeyCondition,
) -> ApiResult<(AttributeValue, Option<SortCondition>)> {
    let mut partition = None;
    let mut sort = None;
    for (name, condition) in condition.conditions {
        if name == schema.partition.name {
            match condition {
                SortCondition::Eq(value) => partition = Some(value),
                _ => return Err(ApiError::validation("Query key condition not supported")),
            }
        } else if schema.sort.as_ref().is_some_and(|s| s.name == name) {
            sort = Some(condition);
        } else {
            return Err(ApiError::validation(format!(
                "Query condition missed key schema element: {}",
                if partition.is_none() {
                    &schema.partition.name
                } else {
                    schema
                        .sort
                        .as_ref()
                        .map_or(&schema.partition.name, |s| &s.name)
                }
            )));
        }
    }
    let partition = partition.ok_or_else(|| {
        ApiError::validation(format!(
            "Query condition missed key schema element: {}",
            schema.partition.name
        ))
    })?;
    let mismatch = || {
        ApiError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        )
    };
    let mut probe = Item::new();
    probe.insert(schema.partition.name.clone(), partition.clone());
    let partition_only = KeySchema {
        partition: schema.partition.clone(),
        sort: None,
    };
    partition_only.index_values(&probe).ok_or_else(mismatch)?;
    if keys::scalar_bytes(&partition).is_empty() {
        return Err(ApiError::validation(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.",
        ));
    }
    if let (Some(condition), Some(sort_def)) = (&sort, &schema.sort) {
        let sort_only = KeySchema {
            partition: sort_def.clone(),
            sort: None,
        };
        let values: Vec<&AttributeValue> = match condition {
            SortCondition::Eq(v)
            | SortCondition::Lt(v)
            | SortCondition::Le(v)
            | SortCondition::Gt(v)
            | SortCondition::Ge(v)
            | SortCondition::BeginsWith(v) => vec![v],
            SortCondition::Between(a, b) => vec![a, b],
        };
        for value in values {
            let mut probe = Item::new();
            probe.insert(sort_def.name.clone(), value.clone());
            sort_only.index_values(&probe).ok_or_else(mismatch)?;
        }
        if matches!(condition, SortCondition::BeginsWith(AttributeValue::N(_))) {
            return Err(ApiError::validation("Query key condition not supported"));
        }
    }
    Ok((partition, sort))
}

type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The store range of one partition under a sort key condition.
fn sort_range(prefix: &[u8], sort: Option<&SortCondition>) -> KeyRange {
    let with = |value: &AttributeValue| {
        let mut key = prefix.to_vec();
        keys::push_component(&mut key, value);
        key
    };
    let after = |key: Vec<u8>| end_of(&key);
    let partition_end = end_of(prefix);
    match sort {
        None => (Bound::Included(prefix.to_vec()), partition_end),
        Some(SortCondition::Eq(v)) => {
            let key = with(v);
            (Bound::Included(key.clone()), after(key))
        }
        Some(SortCondition::Lt(v)) => (Bound::Included(prefix.to_vec()), Bound::Excluded(with(v))),
        Some(SortCondition::Le(v)) => (Bound::Included(prefix.to_vec()), after(with(v))),
        Some(SortCondition::Gt(v)) => (start_after(&with(v)), partition_end),
        Some(SortCondition::Ge(v)) => (Bound::Included(with(v)), partition_end),
        Some(SortCondition::Between(a, b)) => (Bound::Included(with(a)), after(with(b))),
        Some(SortCondition::BeginsWith(v)) => {
            let mut key = prefix.to_vec();
            keys::push_escaped_body(&mut key, &keys::scalar_bytes(v));
            (Bound::Included(key.clone()), end_of(&key))
        }
    }
}

/// The exclusive end of every key that starts with `prefix`.
fn end_of(prefix: &[u8]) -> Bound<Vec<u8>> {
    keys::prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded)
}

/// The first key after every key that starts with `prefix`.
fn start_after(prefix: &[u8]) -> Bound<Vec<u8>> {
    keys::prefix_end(prefix).map_or(Bound::Excluded(vec![0xFF; 32]), Bound::Included)
}

pub fn scan(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?;
    let def = inner.catalog.require(name)?;
    let source = find_source(&def, request)?;
    let reading = parse_reading(request, &source, None)?;
    let segment = request.i64("Segment")?;
    let total = request.i64("TotalSegments")?;
    let prefix = keys::space_prefix(def.id, source.space());
    let (start, end) = match (segment, total) {
        (None, None) => (Bound::Included(prefix.clone()), end_of(&prefix)),
        (Some(_), None) => {
            return Err(ApiError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        (Some(segment), Some(total)) => {
            if !(1..=i64::from(TOTAL_SEGMENTS_MAX)).contains(&total) {
                return Err(constraint(
                    &total.to_string(),
                    "totalSegments",
                    &format!("Member must have value between 1 and {TOTAL_SEGMENTS_MAX}"),
                ));
            }
            if segment < 0 {
                return Err(constraint(
                    &segment.to_string(),
                    "segment",
                    "Member must have value greater than or equal to 0",
                ));
            }
            if segment >= total {
                return Err(ApiError::validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
                )));
            }
            segment_range(&prefix, segment as u64, total as u64)
        }
    };
    run(inner, &source, &reading, start, end, false)
}

/// Segment `segment` of `total` covers one range of partition-key hashes.
fn segment_range(prefix: &[u8], segment: u64, total: u64) -> KeyRange {
    let bound = |s: u64| -> Vec<u8> {
        let hash = ((s << 32) / total) as u32;
        let mut key = prefix.to_vec();
        key.extend_from_slice(&hash.to_be_bytes());
        key
    };
    let start = Bound::Included(bound(segment));
    let end = if segment + 1 == total {
        end_of(prefix)
    } else {
        Bound::Excluded(bound(segment + 1))
    };
    (start, end)
}

fn run(
    inner: &Inner,
    source: &Source<'_>,
    reading: &Reading,
    mut start: Bound<Vec<u8>>,
    mut end: Bound<Vec<u8>>,
    reverse: bool,
) -> ApiResult<Value> {
    if let Some(exclusive) = &reading.exclusive_start {
        let key = source
            .store_key(exclusive)
            .ok_or_else(|| ApiError::validation("The provided starting key is invalid"))?;
        if reverse {
            if bound_le(&key, &end) {
                end = Bound::Excluded(key);
            }
        } else if bound_ge(&key, &start) {
            start = Bound::Excluded(key);
        }
    }
    let read = inner.store.read()?;
    let mut items = Vec::new();
    let mut scanned = 0usize;
    let mut bytes = 0usize;
    let mut last: Option<Item> = None;
    let mut iter = read
        .range(keys::bound_ref(&start), keys::bound_ref(&end), reverse)?
        .peekable();
    while let Some(entry) = iter.next() {
        let (key, value) = entry?;
        let mut item = stored::item(&key, &value)?;
        scanned += 1;
        bytes += items::value::item_size(&item);
        let stop = reading.limit.is_some_and(|limit| scanned >= limit) || bytes >= PAGE_BYTES_MAX;
        if stop {
            last = Some(source.last_key(&item));
        }
        if reading.fetch_from_table
            && let Some((pk, sk)) = source.def.keys.index_values(&item)
            && let Some(full) = write::load_read(&read, source.def, &keys::primary_suffix(pk, sk))?
        {
            item = full;
        }
        if reading.filter.as_ref().is_none_or(|f| f.eval(&item)) {
            if reading.count_only {
                items.push(Item::new());
            } else {
                items.push(match &reading.projection {
                    Some(projection) => projection.apply(&item),
                    None => item,
                });
            }
        }
        if stop {
            // DynamoDB answers a LastEvaluatedKey when a page ends on its limits, even if
            // nothing follows; only the end of the range itself means "no more".
            if iter.peek().is_none() && reading.limit.is_none() {
                last = None;
            }
            break;
        }
    }
    let mut answer = Map::new();
    answer.insert("Count".to_owned(), json!(items.len()));
    answer.insert("ScannedCount".to_owned(), json!(scanned));
    if !reading.count_only {
        answer.insert(
            "Items".to_owned(),
            Value::Array(items.iter().map(items::value::item_to_json).collect()),
        );
    }
    if let Some(last) = last {
        answer.insert(
            "LastEvaluatedKey".to_owned(),
            items::value::item_to_json(&last),
        );
    }
    Ok(Value::Object(answer))
}

fn bound_ge(key: &[u8], start: &Bound<Vec<u8>>) -> bool {
    match start {
        Bound::Included(s) | Bound::Excluded(s) => key >= s.as_slice(),
        Bound::Unbounded => true,
    }
}

fn bound_le(key: &[u8], end: &Bound<Vec<u8>>) -> bool {
    match end {
        Bound::Included(e) | Bound::Excluded(e) => key <= e.as_slice(),
        Bound::Unbounded => true,
    }
}
