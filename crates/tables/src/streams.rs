//! DynamoDB Streams: every committed change of an item in a table with a stream becomes one
//! record, written in the same store transaction as the change; and the Streams API
//! (ListStreams, DescribeStream, GetShardIterator, GetRecords) that reads them.
//!
//! Each enabling of a table's stream creates a new stream (a new label and ARN) with
//! [`STREAM_SHARDS`] shards; an item's records go to the shard its partition-key hash picks, so
//! the records of one item are in one shard, in the order of its changes. Sequence numbers grow
//! per stream across all its shards. Disabling a stream (or deleting its table) closes it: it
//! stays readable until its records pass the retention period.

use std::ops::Bound;

use items::Item;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::{ReadTxn, StoreError, WriteTxn};

use crate::Inner;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys;
use crate::limits::{
    GET_RECORDS_LIMIT_MAX, LIST_STREAMS_LIMIT_MAX, PAGE_BYTES_MAX, SHARD_ITERATOR_TTL_SECS,
    STREAM_SHARDS,
};
use crate::request::{Obj, constraint, missing};
use crate::schema::{KeySchema, StreamDef, TableDef};
use crate::stored;

/// Why an item changed: a request, or DynamoDB's own TTL deletion (marked in the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Request,
    TimeToLive,
}

/// What the store keeps about one stream, enabled or closed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamMeta {
    pub id: u64,
    pub table_name: String,
    pub table_id: u64,
    pub label: String,
    pub view_type: String,
    pub keys: KeySchema,
    /// Seconds since the epoch.
    pub created_at: f64,
    /// When the stream was closed (disabled, or its table deleted).
    pub disabled_at: Option<f64>,
    pub shards: u16,
    /// Records with lower sequence numbers have been trimmed (retention).
    #[serde(default)]
    pub trimmed_before: u64,
}

impl StreamMeta {
    fn arn(&self, inner: &Inner) -> String {
        format!(
            "{}/stream/{}",
            inner.table_arn(&self.table_name),
            self.label
        )
    }

    fn shard_id(&self, shard: u16) -> String {
        format!(
            "shardId-{:020}-{:08x}",
            (self.created_at * 1000.0) as u64,
            shard
        )
    }

    /// The shard index a shard id names, if it is one of this stream's.
    fn parse_shard_id(&self, shard_id: &str) -> Option<u16> {
        let (prefix, index) = shard_id.rsplit_once('-')?;
        let shard = u16::try_from(u32::from_str_radix(index, 16).ok()?).ok()?;
        (prefix == format!("shardId-{:020}", (self.created_at * 1000.0) as u64)
            && shard < self.shards)
            .then_some(shard)
    }
}

/// Keeps the stream metadata in step with a table definition being committed: a newly enabled
/// stream gets its id and metadata; a stream the new definition no longer has is closed.
pub fn sync(
    txn: &mut WriteTxn<'_>,
    old: Option<&TableDef>,
    new: Option<&mut TableDef>,
) -> ApiResult<()> {
    let old_stream = old.and_then(|d| d.stream.as_ref()).filter(|s| s.id != 0);
    let new_id = new.as_ref().and_then(|d| d.stream.as_ref()).map(|s| s.id);
    if let Some(old_stream) = old_stream
        && new_id != Some(old_stream.id)
    {
        close(txn, old_stream.id)?;
    }
    if let Some(def) = new
        && let Some(stream) = def.stream.as_ref()
        && stream.id == 0
    {
        let id = next_stream_id(txn)?;
        let meta = StreamMeta {
            id,
            table_name: def.name.clone(),
            table_id: def.id,
            label: stream.label.clone(),
            view_type: stream.view_type.clone(),
            keys: def.keys.clone(),
            created_at: crate::ddl::now_f64(),
            disabled_at: None,
            shards: STREAM_SHARDS,
            trimmed_before: 0,
        };
        write_meta(txn, &meta)?;
        if let Some(stream) = def.stream.as_mut() {
            stream.id = id;
        }
    }
    Ok(())
}

fn close(txn: &mut WriteTxn<'_>, id: u64) -> ApiResult<()> {
    if let Some(mut meta) = read_meta_txn(txn, id)?
        && meta.disabled_at.is_none()
    {
        meta.disabled_at = Some(crate::ddl::now_f64());
        write_meta(txn, &meta)?;
    }
    Ok(())
}

fn next_stream_id(txn: &mut WriteTxn<'_>) -> ApiResult<u64> {
    let key = vec![keys::META_AREA, keys::STREAM_IDS];
    // Absent: no stream was ever enabled.
    let id = last_number(&key, txn.get(&key)?)? + 1;
    txn.put(&key, &id.to_be_bytes())?;
    Ok(id)
}

/// A last id or last sequence number stored under `key`; absent means none yet, 0.
fn last_number(key: &[u8], value: Option<Vec<u8>>) -> Result<u64, StoreError> {
    value.map_or(Ok(0), |value| stored::u64_value(key, &value))
}

/// The sequence number of the stream's last record, read from a snapshot (0: none yet).
fn latest_sequence(read: &ReadTxn, stream_id: u64) -> Result<u64, StoreError> {
    let key = keys::stream_sequence_key(stream_id);
    last_number(&key, read.get(&key)?)
}

/// The sequence number in a stream record's key (its last 8 bytes).
fn record_sequence(key: &[u8]) -> Result<u64, StoreError> {
    key.last_chunk::<8>()
        .filter(|_| key.len() == keys::RECORD_KEY_BYTES)
        .map(|sequence| u64::from_be_bytes(*sequence))
        .ok_or_else(|| {
            StoreError::corrupt(
                key,
                format!(
                    "a stream record's key is {} bytes, found {}",
                    keys::RECORD_KEY_BYTES,
                    key.len()
                ),
            )
        })
}

/// When a stored stream record's change was committed, in seconds since the epoch.
fn record_created(key: &[u8], record: &Value) -> ApiResult<u64> {
    record["dynamodb"]["ApproximateCreationDateTime"]
        .as_u64()
        .ok_or_else(|| {
            stored::corrupt(
                key,
                "a stream record without dynamodb.ApproximateCreationDateTime",
            )
        })
}

pub fn write_meta(txn: &mut WriteTxn<'_>, meta: &StreamMeta) -> ApiResult<()> {
    let bytes = serde_json::to_vec(meta).map_err(|e| ApiError::internal(e.to_string()))?;
    txn.put(&keys::stream_key(meta.id), &bytes)?;
    Ok(())
}

fn decode_meta(key: &[u8], bytes: &[u8]) -> ApiResult<StreamMeta> {
    stored::json(key, bytes)
}

fn read_meta_txn(txn: &WriteTxn<'_>, id: u64) -> ApiResult<Option<StreamMeta>> {
    let key = keys::stream_key(id);
    txn.get(&key)?
        .map(|bytes| decode_meta(&key, &bytes))
        .transpose()
}

/// The metadata of stream `id`, read from a snapshot.
fn read_meta(read: &ReadTxn, id: u64) -> ApiResult<Option<StreamMeta>> {
    let key = keys::stream_key(id);
    read.get(&key)?
        .map(|bytes| decode_meta(&key, &bytes))
        .transpose()
}

/// The range of the stream metadata keys.
fn metas_range() -> (Vec<u8>, Vec<u8>) {
    let start = vec![keys::META_AREA, keys::STREAMS];
    let end = keys::prefix_end(&start).unwrap_or_default();
    (start, end)
}

/// Decodes the metadata entries of [`metas_range`], read from a snapshot or a write transaction.
fn decode_metas(
    entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
) -> ApiResult<Vec<StreamMeta>> {
    let mut metas = Vec::new();
    for entry in entries {
        let (key, value) = entry?;
        metas.push(decode_meta(&key, &value)?);
    }
    Ok(metas)
}

/// Every stream's metadata, by id.
pub fn all_metas(read: &ReadTxn) -> ApiResult<Vec<StreamMeta>> {
    let (start, end) = metas_range();
    decode_metas(read.range(
        Bound::Included(&start[..]),
        Bound::Excluded(&end[..]),
        false,
    )?)
}

/// Writes the record of one change (the caller has checked that something changed).
pub fn append(
    txn: &mut WriteTxn<'_>,
    def: &TableDef,
    stream: &StreamDef,
    primary: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    cause: Cause,
) -> ApiResult<()> {
    if stream.id == 0 {
        return Ok(());
    }
    let (event_name, changed) = match (old, new) {
        (None, Some(new)) => ("INSERT", new),
        (Some(_), Some(new)) => ("MODIFY", new),
        (Some(old), None) => ("REMOVE", old),
        (None, None) => return Ok(()),
    };
    let sequence_key = keys::stream_sequence_key(stream.id);
    let sequence = last_number(&sequence_key, txn.get(&sequence_key)?)? + 1;
    txn.put(&sequence_key, &sequence.to_be_bytes())?;
    let hash = primary
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes);
    let shard = (hash % u32::from(STREAM_SHARDS)) as u16;

    let keys_item = def.keys.key_of(changed);
    let mut size = items::value::item_size(&keys_item);
    let mut body = Map::new();
    body.insert(
        "ApproximateCreationDateTime".to_owned(),
        json!(crate::write::now_secs()),
    );
    body.insert("Keys".to_owned(), items::value::item_to_json(&keys_item));
    let view = stream.view_type.as_str();
    if matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(new) = new
    {
        size += items::value::item_size(new);
        body.insert("NewImage".to_owned(), items::value::item_to_json(new));
    }
    if matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
        && let Some(old) = old
    {
        size += items::value::item_size(old);
        body.insert("OldImage".to_owned(), items::value::item_to_json(old));
    }
    body.insert(
        "SequenceNumber".to_owned(),
        json!(sequence_number(sequence)),
    );
    body.insert("SizeBytes".to_owned(), json!(size));
    body.insert("StreamViewType".to_owned(), json!(view));
    let mut record = json!({
        "eventID": uuid::Uuid::new_v4().simple().to_string(),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "dynamodb": Value::Object(body),
    });
    if cause == Cause::TimeToLive
        && let Some(object) = record.as_object_mut()
    {
        object.insert(
            "userIdentity".to_owned(),
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}),
        );
    }
    let bytes = serde_json::to_vec(&record).map_err(|e| ApiError::internal(e.to_string()))?;
    txn.put(&keys::record_key(stream.id, shard, sequence), &bytes)?;
    Ok(())
}

/// DynamoDB's sequence numbers are numeric strings of 21 to 40 digits.
fn sequence_number(sequence: u64) -> String {
    format!("{sequence:021}")
}

fn parse_sequence_number(text: &str) -> ApiResult<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|_| !text.is_empty())
        .ok_or_else(|| ApiError::validation(format!("Invalid SequenceNumber: {text}")))
}

/// Finds a stream by its ARN (`…:table/NAME/stream/LABEL`).
fn find_stream(inner: &Inner, read: &ReadTxn, arn: &str) -> ApiResult<StreamMeta> {
    let not_found = || {
        ApiError::new(
            ErrorCode::ResourceNotFound,
            format!("Requested resource not found: Stream: {arn} not found"),
        )
    };
    let (table_part, label) = arn.rsplit_once("/stream/").ok_or_else(not_found)?;
    let table_name = table_part
        .rsplit_once(":table/")
        .map(|(_, n)| n)
        .ok_or_else(not_found)?;
    all_metas(read)?
        .into_iter()
        .find(|m| m.table_name == table_name && m.label == label && m.arn(inner) == arn)
        .ok_or_else(not_found)
}

pub fn list_streams(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let limit = match request.i64("Limit")? {
        None => LIST_STREAMS_LIMIT_MAX,
        Some(limit) if (1..=LIST_STREAMS_LIMIT_MAX as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(constraint(
                &limit.to_string(),
                "limit",
                &format!("Member must have value between 1 and {LIST_STREAMS_LIMIT_MAX}"),
            ));
        }
    };
    let table = request.str("TableName")?;
    let start = request.str("ExclusiveStartStreamArn")?;
    let read = inner.store.read()?;
    let metas: Vec<StreamMeta> = all_metas(&read)?
        .into_iter()
        .filter(|m| table.is_none_or(|t| t == m.table_name))
        .collect();
    let skip = match start {
        Some(start) => metas
            .iter()
            .position(|m| m.arn(inner) == start)
            .map_or(0, |i| i + 1),
        None => 0,
    };
    let page: Vec<&StreamMeta> = metas.iter().skip(skip).take(limit).collect();
    let more = metas.len() > skip + page.len();
    let mut answer = json!({
        "Streams": page.iter().map(|m| json!({
            "StreamArn": m.arn(inner), "TableName": m.table_name, "StreamLabel": m.label,
        })).collect::<Vec<_>>()
    });
    if more && let (Some(last), Some(object)) = (page.last(), answer.as_object_mut()) {
        object.insert("LastEvaluatedStreamArn".to_owned(), json!(last.arn(inner)));
    }
    Ok(answer)
}

/// The first and last sequence numbers stored in a shard.
fn shard_bounds(
    read: &ReadTxn,
    meta: &StreamMeta,
    shard: u16,
) -> ApiResult<(Option<u64>, Option<u64>)> {
    let start = keys::record_key(meta.id, shard, 0);
    let end = keys::record_key(meta.id, shard, u64::MAX);
    let first = read
        .range(
            Bound::Included(&start[..]),
            Bound::Included(&end[..]),
            false,
        )?
        .next()
        .transpose()?
        .map(|(key, _)| record_sequence(&key))
        .transpose()?;
    let last = read
        .range(Bound::Included(&start[..]), Bound::Included(&end[..]), true)?
        .next()
        .transpose()?
        .map(|(key, _)| record_sequence(&key))
        .transpose()?;
    Ok((first, last))
}

pub fn describe_stream(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let arn = request.required_str("StreamArn", "streamArn")?;
    let read = inner.store.read()?;
    let meta = find_stream(inner, &read, arn)?;
    let current = latest_sequence(&read, meta.id)?;
    let start_after = request.str("ExclusiveStartShardId")?;
    let limit = request
        .i64("Limit")?
        .map_or(100, |l| l.clamp(1, 100) as usize);
    let mut shards = Vec::new();
    for shard in 0..meta.shards {
        let id = meta.shard_id(shard);
        if start_after.is_some_and(|s| id.as_str() <= s) {
            continue;
        }
        if shards.len() == limit {
            break;
        }
        let (first, last) = shard_bounds(&read, &meta, shard)?;
        let starting = first.unwrap_or(current + 1).max(meta.trimmed_before);
        let mut range = json!({ "StartingSequenceNumber": sequence_number(starting) });
        // A closed shard has an end, even an empty one (then it ends where it starts).
        if meta.disabled_at.is_some()
            && let Some(object) = range.as_object_mut()
        {
            let ending = last.unwrap_or(starting);
            object.insert(
                "EndingSequenceNumber".to_owned(),
                json!(sequence_number(ending)),
            );
        }
        shards.push(json!({"ShardId": id, "SequenceNumberRange": range}));
    }
    let status = if meta.disabled_at.is_some() {
        "DISABLED"
    } else {
        "ENABLED"
    };
    Ok(json!({ "StreamDescription": {
        "StreamArn": meta.arn(inner),
        "StreamLabel": meta.label,
        "StreamStatus": status,
        "StreamViewType": meta.view_type,
        "CreationRequestDateTime": meta.created_at,
        "TableName": meta.table_name,
        "KeySchema": meta.keys.to_json(),
        "Shards": shards,
    }}))
}

/// An iterator's content: where the next GetRecords reads, and when the iterator was issued.
struct Position {
    stream: u64,
    shard: u16,
    next: u64,
    issued_ms: u64,
}

impl Position {
    fn encode(&self) -> String {
        let body = format!(
            "{:016x}{:04x}{:016x}{:016x}",
            self.stream, self.shard, self.next, self.issued_ms
        );
        format!("{body}{:08x}", keys::hash32(body.as_bytes()))
    }

    fn decode(text: &str) -> Option<Position> {
        if text.len() != 60 || !text.is_ascii() {
            return None;
        }
        let (body, check) = text.split_at(52);
        if u32::from_str_radix(check, 16).ok()? != keys::hash32(body.as_bytes()) {
            return None;
        }
        Some(Position {
            stream: u64::from_str_radix(&body[0..16], 16).ok()?,
            shard: u16::from_str_radix(&body[16..20], 16).ok()?,
            next: u64::from_str_radix(&body[20..36], 16).ok()?,
            issued_ms: u64::from_str_radix(&body[36..52], 16).ok()?,
        })
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn trimmed(meta: &StreamMeta, next: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TrimmedDataAccess,
        format!(
            "Attempted to access data that has been trimmed: sequence number {} is before the trim horizon {} of stream {}",
            sequence_number(next),
            sequence_number(meta.trimmed_before),
            meta.label
        ),
    )
}

pub fn get_shard_iterator(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let arn = request.required_str("StreamArn", "streamArn")?;
    let shard_id = request.required_str("ShardId", "shardId")?;
    let kind = request
        .enum_str(
            "ShardIteratorType",
            "shardIteratorType",
            &[
                "TRIM_HORIZON",
                "LATEST",
                "AT_SEQUENCE_NUMBER",
                "AFTER_SEQUENCE_NUMBER",
            ],
        )?
        .ok_or_else(|| missing("shardIteratorType"))?;
    let read = inner.store.read()?;
    let meta = find_stream(inner, &read, arn)?;
    let shard = meta.parse_shard_id(shard_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ResourceNotFound,
            format!("Requested resource not found: Shard does not exist: {shard_id}"),
        )
    })?;
    let sequence = || -> ApiResult<u64> {
        let text = request.str("SequenceNumber")?.ok_or_else(|| {
            ApiError::validation(format!(
                "Must specify a sequence number with shard iterator type {kind}"
            ))
        })?;
        parse_sequence_number(text)
    };
    let next = match kind {
        "TRIM_HORIZON" => meta.trimmed_before,
        "LATEST" => latest_sequence(&read, meta.id)? + 1,
        "AT_SEQUENCE_NUMBER" => sequence()?,
        _ => sequence()? + 1,
    };
    if next < meta.trimmed_before {
        return Err(trimmed(&meta, next));
    }
    let position = Position {
        stream: meta.id,
        shard,
        next,
        issued_ms: now_ms(),
    };
    Ok(json!({ "ShardIterator": position.encode() }))
}

pub fn get_records(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let iterator = request.required_str("ShardIterator", "shardIterator")?;
    let limit = match request.i64("Limit")? {
        None => GET_RECORDS_LIMIT_MAX,
        Some(limit) if (1..=GET_RECORDS_LIMIT_MAX as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(constraint(
                &limit.to_string(),
                "limit",
                &format!("Member must have value less than or equal to {GET_RECORDS_LIMIT_MAX}"),
            ));
        }
    };
    let position = Position::decode(iterator)
        .ok_or_else(|| ApiError::validation(format!("Invalid ShardIterator: {iterator}")))?;
    if now_ms().saturating_sub(position.issued_ms) > SHARD_ITERATOR_TTL_SECS * 1000 {
        return Err(ApiError::new(
            ErrorCode::ExpiredIterator,
            "Iterator expired. The iterator was created more than 15 minutes ago",
        ));
    }
    let read = inner.store.read()?;
    let meta = read_meta(&read, position.stream)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ResourceNotFound,
            "Requested resource not found: the stream no longer exists",
        )
    })?;
    if position.next < meta.trimmed_before {
        return Err(trimmed(&meta, position.next));
    }
    let start = keys::record_key(meta.id, position.shard, position.next);
    let end = keys::record_key(meta.id, position.shard, u64::MAX);
    let mut records = Vec::new();
    let mut bytes = 0;
    let mut next = position.next;
    let mut exhausted = true;
    for entry in read.range(
        Bound::Included(&start[..]),
        Bound::Included(&end[..]),
        false,
    )? {
        if records.len() == limit || bytes >= PAGE_BYTES_MAX {
            exhausted = false;
            break;
        }
        let (key, value) = entry?;
        next = record_sequence(&key)? + 1;
        bytes += value.len();
        let mut record: Value = stored::json(&key, &value)?;
        if let Some(object) = record.as_object_mut() {
            object.insert("awsRegion".to_owned(), json!(inner.config.region));
            // The Streams API spells the identity's members with capitals; Lambda's event does not.
            if let Some(identity) = object.get_mut("userIdentity") {
                *identity = json!({
                    "Type": identity["type"].clone(),
                    "PrincipalId": identity["principalId"].clone(),
                });
            }
        }
        records.push(record);
    }
    let mut answer = json!({ "Records": records });
    // A closed stream's shard has an end: once it is read to the end, there is no next iterator.
    let closed_and_done = meta.disabled_at.is_some() && exhausted;
    if !closed_and_done && let Some(object) = answer.as_object_mut() {
        let following = Position {
            next,
            issued_ms: now_ms(),
            ..position
        };
        object.insert("NextShardIterator".to_owned(), json!(following.encode()));
    }
    Ok(answer)
}

/// Trims records older than the retention period, and forgets closed streams whose records are
/// all gone. Returns whether more work remains (call again).
pub fn trim(txn: &mut WriteTxn<'_>, retention_secs: u64, keys_max: usize) -> ApiResult<bool> {
    let (start, end) = metas_range();
    let metas = decode_metas(txn.range(
        Bound::Included(&start[..]),
        Bound::Excluded(&end[..]),
        false,
    )?)?;
    let cutoff = crate::write::now_secs().saturating_sub(retention_secs);
    let mut budget = keys_max;
    for mut meta in metas {
        let mut trimmed_to = meta.trimmed_before;
        for shard in 0..meta.shards {
            let first = keys::record_key(meta.id, shard, 0);
            let last = keys::record_key(meta.id, shard, u64::MAX);
            let mut doomed = Vec::new();
            for entry in txn.range(
                Bound::Included(&first[..]),
                Bound::Included(&last[..]),
                false,
            )? {
                if doomed.len() >= budget {
                    break;
                }
                let (key, value) = entry?;
                let created = record_created(&key, &stored::json(&key, &value)?)?;
                if created >= cutoff {
                    break;
                }
                trimmed_to = trimmed_to.max(record_sequence(&key)? + 1);
                doomed.push(key);
            }
            budget -= doomed.len();
            for key in doomed {
                txn.delete(&key)?;
            }
            if budget == 0 {
                break;
            }
        }
        if trimmed_to != meta.trimmed_before {
            meta.trimmed_before = trimmed_to;
            write_meta(txn, &meta)?;
        }
        if budget == 0 {
            return Ok(true);
        }
        // A closed stream past its retention, with nothing left in it, is forgotten.
        if meta.disabled_at.is_some_and(|t| (t as u64) < cutoff) {
            let first = keys::record_key(meta.id, 0, 0);
            let last = keys::record_key(meta.id, u16::MAX, u64::MAX);
            let empty = txn
                .range(
                    Bound::Included(&first[..]),
                    Bound::Included(&last[..]),
                    false,
                )?
                .next()
                .is_none();
            if empty {
                txn.delete(&keys::stream_key(meta.id))?;
                txn.delete(&keys::stream_sequence_key(meta.id))?;
            }
        }
    }
    Ok(false)
}

/// A table's current stream, as a trigger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub id: u64,
    pub arn: String,
    pub shards: u16,
    /// The Streams API's id of each shard, by index.
    pub shard_ids: Vec<String>,
    /// The table's partition key attribute.
    pub partition_key: String,
    /// The sequence number of the stream's last record (0: none yet).
    pub latest: u64,
}

/// One record of a shard, as a trigger delivers it.
#[derive(Debug, Clone)]
pub struct ShardRecord {
    pub sequence: u64,
    /// The hash of the item's partition key (the table's own), for splitting a shard further
    /// while keeping each item's records in order.
    pub partition_hash: u32,
    /// The record in Lambda's event shape (with `awsRegion` and `eventSourceARN`).
    pub record: Value,
    /// When the change was committed, in seconds since the epoch.
    pub created: u64,
    /// The record's size in bytes, as stored.
    pub size: usize,
}

pub fn stream_info(inner: &Inner, table: &str) -> ApiResult<Option<StreamInfo>> {
    let Some(def) = inner.catalog.get(table) else {
        return Ok(None);
    };
    let Some(stream) = def.stream.as_ref().filter(|s| s.id != 0) else {
        return Ok(None);
    };
    let read = inner.store.read()?;
    let Some(meta) = read_meta(&read, stream.id)? else {
        return Ok(None);
    };
    let latest = latest_sequence(&read, stream.id)?;
    Ok(Some(StreamInfo {
        id: stream.id,
        arn: meta.arn(inner),
        shards: meta.shards,
        shard_ids: (0..meta.shards).map(|s| meta.shard_id(s)).collect(),
        partition_key: meta.keys.partition.name.clone(),
        latest,
    }))
}

/// Up to `limit` records of a shard from sequence number `from` on, at most `bytes_max` bytes.
pub fn read_shard(
    inner: &Inner,
    stream: &StreamInfo,
    shard: u16,
    from: u64,
    limit: usize,
    bytes_max: usize,
) -> ApiResult<Vec<ShardRecord>> {
    let read = inner.store.read()?;
    let start = keys::record_key(stream.id, shard, from);
    let end = keys::record_key(stream.id, shard, u64::MAX);
    let mut records = Vec::new();
    let mut bytes = 0;
    for entry in read.range(
        Bound::Included(&start[..]),
        Bound::Included(&end[..]),
        false,
    )? {
        if records.len() == limit {
            break;
        }
        let (key, value) = entry?;
        if bytes + value.len() > bytes_max && !records.is_empty() {
            break;
        }
        bytes += value.len();
        let mut record: Value = stored::json(&key, &value)?;
        let created = record_created(&key, &record)?;
        let partition_hash = partition_hash(&key, &record, &stream.partition_key)?;
        if let Some(object) = record.as_object_mut() {
            object.insert("awsRegion".to_owned(), json!(inner.config.region));
            object.insert("eventSourceARN".to_owned(), json!(stream.arn));
        }
        records.push(ShardRecord {
            sequence: record_sequence(&key)?,
            partition_hash,
            record,
            created,
            size: value.len(),
        });
    }
    Ok(records)
}

/// The hash of the partition key in a stored stream record's `Keys` (the hash its item's key
/// starts with).
fn partition_hash(key: &[u8], record: &Value, partition_key: &str) -> ApiResult<u32> {
    let pk = items::AttributeValue::from_json(&record["dynamodb"]["Keys"][partition_key]).map_err(
        |error| {
            stored::corrupt(
                key,
                format!("the stream record's partition key {partition_key}: {error}"),
            )
        },
    )?;
    let suffix = keys::primary_suffix(&pk, None);
    let hash = suffix
        .first_chunk::<4>()
        .expect("a primary key suffix starts with its 4-byte hash");
    Ok(u32::from_be_bytes(*hash))
}
