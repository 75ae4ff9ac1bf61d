//! How tables live in the store's one ordered keyspace, in three of its areas
//! (`store::keyspace`): below, `META` is [`Area::TablesMeta`] ([`META_AREA`]), `DATA` is
//! [`Area::TablesData`] ([`DATA_AREA`]) and `RECORDS` is [`Area::StreamRecords`]
//! ([`RECORDS_AREA`]).
//!
//! ```text
//! META 'c' <table name>                       → table definition (JSON)
//! META 's'                                    → last table id (u64 BE; absent: none yet)
//! META 'n' <table id> <space>                 → item count and bytes of a table (space 0) or index (absent: 0)
//! META 'g' <table id> [<space>]               → data still to be dropped: a deleted table, or one space
//! META 't' <client request token>             → a TransactWriteItems idempotency record
//! META 'S' <stream id>                        → a stream's metadata (JSON)
//! META 'q' <stream id>                        → the stream's last sequence number (u64 BE; absent: 0)
//! META 'r'                                    → the last stream id (u64 BE; absent: none yet)
//! RECORDS <stream id> <shard u16> <sequence u64> → a stream record (JSON, without awsRegion)
//! DATA <table id> 0x00 <hash> <pk> [<sk>]     → an item (items::codec)
//! DATA <table id> <index> <hash> <ipk> [<isk>] <pk> [<sk>] → an index entry: the projected item
//! DATA <table id> 0xFE <expiry> <hash> <pk> [<sk>]         → the TTL expiry queue (empty value)
//! ```
//!
//! Table ids are never reused, so a deleted table's data can be dropped in the background while
//! a new table of the same name is already in use. `<hash>` is a 32-bit hash of the encoded
//! partition key: items of one partition key are adjacent and sorted by sort key, and a Scan
//! walks the table in hash order, as DynamoDB's does; parallel scan segments are hash ranges.
//! Key components are escaped (`0x00` → `0x00 0xFF`, then the terminator `0x00 0x01`), which
//! keeps byte order and makes every component prefix-free.
//!
//! Every value is read back through `stored.rs`: one that does not decode is an error naming
//! its key, never a zero.

use items::AttributeValue;
use store::keyspace::Area;

/// The first byte of the catalog's, the counters' and the streams' metadata keys.
pub const META_AREA: u8 = Area::TablesMeta.prefix();
/// The first byte of items, index entries and TTL queues.
pub const DATA_AREA: u8 = Area::TablesData.prefix();
pub const CATALOG: u8 = b'c';
pub const SEQUENCE: u8 = b's';
pub const COUNTERS: u8 = b'n';
pub const GARBAGE: u8 = b'g';
pub const TOKENS: u8 = b't';
pub const STREAMS: u8 = b'S';
pub const STREAM_SEQUENCE: u8 = b'q';
pub const STREAM_IDS: u8 = b'r';
/// The first byte of stream records: `RECORDS <stream id> <shard u16> <sequence u64>`.
pub const RECORDS_AREA: u8 = Area::StreamRecords.prefix();

/// The length of [`garbage_key`]: area, kind, table id. A space may follow.
pub const GARBAGE_KEY_BYTES: usize = 2 + 8;
/// The length of [`space_prefix`]: area, table id, space. An item's primary key follows.
pub const SPACE_PREFIX_BYTES: usize = 1 + 8 + 1;

/// The space of a table's own items.
pub const TABLE_SPACE: u8 = 0x00;
/// The space of a table's TTL expiry queue. Index spaces are 1..=253.
pub const TTL_SPACE: u8 = 0xFE;

pub fn catalog_key(table: &str) -> Vec<u8> {
    let mut key = vec![META_AREA, CATALOG];
    key.extend_from_slice(table.as_bytes());
    key
}

pub fn catalog_prefix() -> Vec<u8> {
    vec![META_AREA, CATALOG]
}

pub fn sequence_key() -> Vec<u8> {
    vec![META_AREA, SEQUENCE]
}

pub fn counter_key(table_id: u64, space: u8) -> Vec<u8> {
    let mut key = vec![META_AREA, COUNTERS];
    key.extend_from_slice(&table_id.to_be_bytes());
    key.push(space);
    key
}

pub fn counter_prefix(table_id: u64) -> Vec<u8> {
    let mut key = vec![META_AREA, COUNTERS];
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

pub fn garbage_key(table_id: u64) -> Vec<u8> {
    let mut key = vec![META_AREA, GARBAGE];
    key.extend_from_slice(&table_id.to_be_bytes());
    key
}

/// One space of a live table to drop (a deleted index, or the TTL queue of a disabled TTL).
pub fn garbage_space_key(table_id: u64, space: u8) -> Vec<u8> {
    let mut key = garbage_key(table_id);
    key.push(space);
    key
}

pub fn garbage_prefix() -> Vec<u8> {
    vec![META_AREA, GARBAGE]
}

pub fn token_key(token: &str) -> Vec<u8> {
    let mut key = vec![META_AREA, TOKENS];
    key.extend_from_slice(token.as_bytes());
    key
}

/// The first key of one space of a table (its items, one index, or the TTL queue).
pub fn space_prefix(table_id: u64, space: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(SPACE_PREFIX_BYTES + 6);
    key.push(DATA_AREA);
    key.extend_from_slice(&table_id.to_be_bytes());
    key.push(space);
    key
}

/// Everything a table owns in the data area: `[start, end)`.
pub fn table_data_range(table_id: u64) -> (Vec<u8>, Vec<u8>) {
    let mut start = vec![DATA_AREA];
    start.extend_from_slice(&table_id.to_be_bytes());
    let mut end = vec![DATA_AREA];
    end.extend_from_slice(&(table_id + 1).to_be_bytes());
    (start, end)
}

/// The bytes a scalar key value sorts by: UTF-8 for S, raw for B, order-preserving for N.
pub fn scalar_bytes(value: &AttributeValue) -> Vec<u8> {
    match value {
        AttributeValue::S(s) => s.as_bytes().to_vec(),
        AttributeValue::B(b) => b.clone(),
        AttributeValue::N(n) => n.sortable_bytes(),
        // Key values are validated as scalars before they are encoded.
        other => other.type_name().as_bytes().to_vec(),
    }
}

/// Appends `bytes` escaped, without the terminator.
pub fn push_escaped_body(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        out.push(byte);
        if byte == 0 {
            out.push(0xFF);
        }
    }
}

/// Appends one key component: escaped, then terminated.
pub fn push_component(out: &mut Vec<u8>, value: &AttributeValue) {
    push_escaped_body(out, &scalar_bytes(value));
    out.extend_from_slice(&[0x00, 0x01]);
}

/// The encoded primary key of an item: hash, partition key, sort key. It follows the space byte
/// in the item's key, in its index entries and in its TTL queue entry.
pub fn primary_suffix(pk: &AttributeValue, sk: Option<&AttributeValue>) -> Vec<u8> {
    let mut partition = Vec::with_capacity(32);
    push_component(&mut partition, pk);
    let mut suffix = Vec::with_capacity(partition.len() + 24);
    suffix.extend_from_slice(&hash32(&partition).to_be_bytes());
    suffix.extend_from_slice(&partition);
    if let Some(sk) = sk {
        push_component(&mut suffix, sk);
    }
    suffix
}

/// The start of one partition of a space: `<prefix> <hash> <pk>`.
pub fn partition_prefix(table_id: u64, space: u8, pk: &AttributeValue) -> Vec<u8> {
    let mut key = space_prefix(table_id, space);
    key.extend_from_slice(&primary_suffix(pk, None));
    key
}

/// An index entry's key: the index key first (so a Query reads it in order), then the item's
/// primary key (so entries that share an index key stay distinct).
pub fn index_key(
    table_id: u64,
    space: u8,
    index_pk: &AttributeValue,
    index_sk: Option<&AttributeValue>,
    primary: &[u8],
) -> Vec<u8> {
    let mut key = partition_prefix(table_id, space, index_pk);
    if let Some(sk) = index_sk {
        push_component(&mut key, sk);
    }
    key.extend_from_slice(primary);
    key
}

/// The TTL queue entry of an item that expires at `expiry` (seconds since the epoch).
pub fn ttl_key(table_id: u64, expiry: u64, primary: &[u8]) -> Vec<u8> {
    let mut key = space_prefix(table_id, TTL_SPACE);
    key.extend_from_slice(&expiry.to_be_bytes());
    key.extend_from_slice(primary);
    key
}

/// The smallest key greater than every key that starts with `prefix`, or `None` when no such
/// key exists (the prefix is all 0xFF).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// FNV-1a, 32 bits: small, fast and stable across versions (the hash is part of the on-disk
/// layout, so it must never change).
pub fn hash32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in bytes {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

pub fn stream_key(stream_id: u64) -> Vec<u8> {
    let mut key = vec![META_AREA, STREAMS];
    key.extend_from_slice(&stream_id.to_be_bytes());
    key
}

pub fn stream_sequence_key(stream_id: u64) -> Vec<u8> {
    let mut key = vec![META_AREA, STREAM_SEQUENCE];
    key.extend_from_slice(&stream_id.to_be_bytes());
    key
}

/// The length of a stream record's key: area, stream id, shard, sequence.
pub const RECORD_KEY_BYTES: usize = 1 + 8 + 2 + 8;

/// The records of one shard start here; `sequence` positions within it.
pub fn record_key(stream_id: u64, shard: u16, sequence: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(RECORD_KEY_BYTES);
    key.push(RECORDS_AREA);
    key.extend_from_slice(&stream_id.to_be_bytes());
    key.extend_from_slice(&shard.to_be_bytes());
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// Borrows an owned range bound.
pub fn bound_ref(bound: &std::ops::Bound<Vec<u8>>) -> std::ops::Bound<&[u8]> {
    use std::ops::Bound;
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use items::Number;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).expect("number"))
    }

    fn item_key(table_id: u64, pk: &AttributeValue, sk: Option<&AttributeValue>) -> Vec<u8> {
        let mut key = space_prefix(table_id, TABLE_SPACE);
        key.extend_from_slice(&primary_suffix(pk, sk));
        key
    }

    fn component(value: &AttributeValue) -> Vec<u8> {
        let mut out = Vec::new();
        push_component(&mut out, value);
        out
    }

    #[test]
    fn components_keep_byte_order_and_are_prefix_free() {
        let values = [
            "", "\0", "\0\0", "\0a", "a", "a\0", "a\0b", "ab", "b", "\u{ff}",
        ];
        for a in values {
            for b in values {
                let (ea, eb) = (component(&s(a)), component(&s(b)));
                assert_eq!(
                    a.as_bytes().cmp(b.as_bytes()),
                    ea.cmp(&eb),
                    "{a:?} vs {b:?}"
                );
                if a != b {
                    assert!(!eb.starts_with(&ea), "{a:?} is a prefix of {b:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_sort_numerically_as_sort_keys() {
        let sorted = ["-100", "-2.5", "-1", "0", "0.001", "1", "2", "10", "1e20"];
        for pair in sorted.windows(2) {
            let key = |t| item_key(1, &s("p"), Some(&n(t)));
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn an_item_key_starts_with_its_partition_prefix() {
        let key = item_key(7, &s("cart-1"), Some(&s("apple")));
        assert!(key.starts_with(&partition_prefix(7, TABLE_SPACE, &s("cart-1"))));
        assert!(!key.starts_with(&partition_prefix(7, TABLE_SPACE, &s("cart-2"))));
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
    }

    #[test]
    fn the_hash_is_stable() {
        // Part of the on-disk layout: these values must never change.
        assert_eq!(hash32(b""), 0x811c_9dc5);
        assert_eq!(hash32(b"a"), 0xe40c_292c);
    }
}
