//! The one way an item changes: inside a store transaction, together with its index entries,
//! its TTL queue entry and its table's counters, so they can never disagree.

use items::codec::encode_item;
use items::{AttributeValue, Item};
use store::{ReadTxn, StoreError, WriteTxn};

use crate::error::ApiResult;
use crate::keys;
use crate::limits::TTL_PAST_SECS_MAX;
use crate::schema::TableDef;
use crate::stored;
use crate::streams::{self, Cause};

/// Reads an item by its primary key suffix inside a write transaction.
pub fn load(txn: &WriteTxn<'_>, def: &TableDef, primary: &[u8]) -> ApiResult<Option<Item>> {
    let key = item_key(def.id, primary);
    txn.get(&key)?
        .map(|bytes| stored::item(&key, &bytes))
        .transpose()
}

/// Reads an item by its primary key suffix from a snapshot.
pub fn load_read(read: &ReadTxn, def: &TableDef, primary: &[u8]) -> ApiResult<Option<Item>> {
    let key = item_key(def.id, primary);
    read.get(&key)?
        .map(|bytes| stored::item(&key, &bytes))
        .transpose()
}

pub fn item_key(table_id: u64, primary: &[u8]) -> Vec<u8> {
    let mut key = keys::space_prefix(table_id, keys::TABLE_SPACE);
    key.extend_from_slice(primary);
    key
}

/// Replaces `old` by `new` (either may be absent) for the item whose primary key suffix is
/// `primary`, on a request's behalf. The caller has read `old` in this same transaction, and
/// calls this only when something changes (a no-op write leaves no stream record).
pub fn apply(
    txn: &mut WriteTxn<'_>,
    def: &TableDef,
    primary: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) -> ApiResult<()> {
    apply_because(txn, def, primary, old, new, Cause::Request)
}

/// [`apply`], saying why the item changes (TTL deletions are marked in their stream record).
pub fn apply_because(
    txn: &mut WriteTxn<'_>,
    def: &TableDef,
    primary: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    cause: Cause,
) -> ApiResult<()> {
    let key = item_key(def.id, primary);
    match new {
        Some(item) => txn.put(&key, &encode_item(item))?,
        None => txn.delete(&key)?,
    }
    adjust_counter(txn, def.id, keys::TABLE_SPACE, old, new)?;

    for index in &def.indexes {
        // A CREATING index is maintained too: the backfill only fills in what was there before.
        let old_entry = old.and_then(|item| index.keys.index_values(item).map(|k| (k, item)));
        let new_entry = new.and_then(|item| index.keys.index_values(item).map(|k| (k, item)));
        if let Some(((pk, sk), _)) = &old_entry {
            txn.delete(&keys::index_key(def.id, index.space, pk, *sk, primary))?;
        }
        if let Some(((pk, sk), item)) = &new_entry {
            let projected = index.project(&def.keys, item);
            txn.put(
                &keys::index_key(def.id, index.space, pk, *sk, primary),
                &encode_item(&projected),
            )?;
        }
        let old_projected = old_entry.map(|(_, item)| index.project(&def.keys, item));
        let new_projected = new_entry.map(|(_, item)| index.project(&def.keys, item));
        adjust_counter(
            txn,
            def.id,
            index.space,
            old_projected.as_ref(),
            new_projected.as_ref(),
        )?;
    }

    if let Some(attribute) = &def.ttl_attribute {
        if let Some(expiry) = old.and_then(|item| expiry_of(item, attribute)) {
            txn.delete(&keys::ttl_key(def.id, expiry, primary))?;
        }
        if let Some(expiry) = new.and_then(|item| expiry_of(item, attribute)) {
            txn.put(&keys::ttl_key(def.id, expiry, primary), &[])?;
        }
    }
    if let Some(stream) = &def.stream {
        streams::append(txn, def, stream, primary, old, new, cause)?;
    }
    Ok(())
}

/// The expiry time of an item under DynamoDB's TTL rules: a Number holding epoch seconds; any
/// other type is ignored, and so are values more than five years in the past.
pub fn expiry_of(item: &Item, attribute: &str) -> Option<u64> {
    let AttributeValue::N(number) = item.get(attribute)? else {
        return None;
    };
    let seconds = number.to_f64();
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let now = now_secs() as f64;
    if seconds < now - TTL_PAST_SECS_MAX as f64 {
        return None;
    }
    // Far-future values keep their order; fractions expire at the whole second after.
    Some(seconds.ceil().min(u64::MAX as f64) as u64)
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a write would leave the item as it is: then it writes nothing and leaves no stream
/// record. Sets compare as sets (their order is not significant), numbers by value.
pub fn unchanged(old: Option<&Item>, new: Option<&Item>) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(old), Some(new)) => {
            old.len() == new.len()
                && old.iter().all(|(name, value)| {
                    new.get(name)
                        .is_some_and(|other| items::value::values_equal(value, other))
                })
        }
        _ => false,
    }
}

/// Item count and size of a table or an index. An absent counter is zero: nothing was ever
/// written to that space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub items: u64,
    pub bytes: u64,
}

impl Counter {
    /// The counter stored under `key` (`None`: absent, so zero).
    fn decode(key: &[u8], value: Option<Vec<u8>>) -> Result<Counter, StoreError> {
        let Some(value) = value else {
            return Ok(Counter::default());
        };
        let words = <[u8; 16]>::try_from(value.as_slice()).map_err(|_| {
            StoreError::corrupt(key, format!("a counter is 16 bytes, found {}", value.len()))
        })?;
        // Two big-endian u64s, items first: one big-endian u128.
        let words = u128::from_be_bytes(words);
        Ok(Counter {
            items: (words >> 64) as u64,
            bytes: words as u64,
        })
    }

    fn encode(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.items.to_be_bytes());
        out[8..].copy_from_slice(&self.bytes.to_be_bytes());
        out
    }
}

fn adjust_counter(
    txn: &mut WriteTxn<'_>,
    table_id: u64,
    space: u8,
    old: Option<&Item>,
    new: Option<&Item>,
) -> ApiResult<()> {
    if old.is_none() && new.is_none() {
        return Ok(());
    }
    let key = keys::counter_key(table_id, space);
    let mut counter = Counter::decode(&key, txn.get(&key)?)?;
    if let Some(old) = old {
        counter.items = counter.items.saturating_sub(1);
        counter.bytes = counter
            .bytes
            .saturating_sub(items::value::item_size(old) as u64);
    }
    if let Some(new) = new {
        counter.items += 1;
        counter.bytes += items::value::item_size(new) as u64;
    }
    txn.put(&key, &counter.encode())?;
    Ok(())
}

/// Counts one more entry in a space (an index being filled).
pub fn add_to_counter(
    txn: &mut WriteTxn<'_>,
    table_id: u64,
    space: u8,
    entry: &Item,
) -> ApiResult<()> {
    adjust_counter(txn, table_id, space, None, Some(entry))
}

/// The counter of a table (space 0) or an index.
pub fn read_counter(read: &ReadTxn, table_id: u64, space: u8) -> ApiResult<Counter> {
    let key = keys::counter_key(table_id, space);
    Ok(Counter::decode(&key, read.get(&key)?)?)
}
