//! Range reads, checked against a `BTreeMap` model: every pair of bounds from a set of probe keys,
//! both directions, on a snapshot and inside a write transaction that has its own writes.

use std::collections::BTreeMap;
use std::ops::Bound;

use store::{Range, StoreError};

use crate::{open, put_all};

/// Keys stored before the checks; chosen to sit next to each other in byte order.
const STORED: &[&[u8]] = &[
    b"",
    b"a",
    b"a\0",
    b"ab",
    b"abc",
    b"b",
    b"ba",
    b"c",
    b"\xff",
    b"\xff\xff",
];

/// Bounds probed: stored keys and keys between them.
const PROBES: &[&[u8]] = &[
    b"",
    b"\0",
    b"a",
    b"a\0",
    b"aa",
    b"abc",
    b"abd",
    b"b",
    b"bz",
    b"c",
    b"d",
    b"\xff",
    b"\xff\xff\xff",
];

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[test]
fn snapshot_ranges_match_the_model() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let entries: Vec<(&[u8], &[u8])> = STORED.iter().map(|key| (*key, *key)).collect();
    put_all(&store, &entries);
    let model: Model = STORED
        .iter()
        .map(|key| (key.to_vec(), key.to_vec()))
        .collect();

    let snapshot = store.read().expect("a snapshot");
    let mismatches = check_all_bounds(&model, |start, end, reverse| {
        snapshot.range(start, end, reverse)
    });
    assert_eq!(mismatches, Vec::<String>::new());
}

#[test]
fn write_transaction_ranges_merge_its_own_writes() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let entries: Vec<(&[u8], &[u8])> = STORED.iter().map(|key| (*key, *key)).collect();
    put_all(&store, &entries);

    // Puts of new keys (before, between and after stored ones), overwrites, deletes of stored
    // keys, a delete of a missing key, and a key put then deleted.
    let own_writes: Vec<(&[u8], Option<&[u8]>)> = vec![
        (b"\0", Some(b"new")),
        (b"a", Some(b"overwritten")),
        (b"a\0", None),
        (b"aa", Some(b"new")),
        (b"abc", None),
        (b"b", None),
        (b"bb", Some(b"new")),
        (b"bz", None),
        (b"d", Some(b"put then deleted")),
        (b"d", None),
        (b"\xff\xff", Some(b"overwritten")),
        (b"\xff\xff\xff", Some(b"new")),
    ];
    let mut model: Model = STORED
        .iter()
        .map(|key| (key.to_vec(), key.to_vec()))
        .collect();
    for (key, value) in &own_writes {
        match value {
            Some(value) => model.insert(key.to_vec(), value.to_vec()),
            None => model.remove(*key),
        };
    }

    let own_writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = own_writes
        .into_iter()
        .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
        .collect();
    let expected = model.clone();
    let mismatches = store
        .write_blocking(move |txn| {
            for (key, value) in &own_writes {
                let written = match value {
                    Some(value) => txn.put(key, value),
                    None => txn.delete(key),
                };
                written.map_err(|error| vec![error.to_string()])?;
            }
            let mismatches = check_all_bounds(&expected, |start, end, reverse| {
                txn.range(start, end, reverse)
            });
            // Discard the writes: the store must be left as it was.
            Err::<(), _>(mismatches)
        })
        .expect("the store is fine")
        .expect_err("the function returns its mismatches");
    assert_eq!(mismatches, Vec::<String>::new());

    let snapshot = store.read().expect("a snapshot");
    let stored: Vec<Vec<u8>> = snapshot
        .range(Bound::Unbounded, Bound::Unbounded, false)
        .expect("a range")
        .map(|entry| entry.expect("an entry").0)
        .collect();
    assert_eq!(
        stored,
        STORED.iter().map(|key| key.to_vec()).collect::<Vec<_>>()
    );
}

#[test]
fn a_reverse_range_of_a_large_table_starts_at_its_end_bound() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let keys: Vec<[u8; 4]> = (0..10_000_u32).map(u32::to_be_bytes).collect();
    let entries: Vec<(&[u8], &[u8])> = keys.iter().map(|key| (&key[..], &b"v"[..])).collect();
    put_all(&store, &entries);

    let snapshot = store.read().expect("a snapshot");
    let first: Vec<Vec<u8>> = snapshot
        .range(
            Bound::Unbounded,
            Bound::Included(&5000_u32.to_be_bytes()),
            true,
        )
        .expect("a range")
        .take(3)
        .map(|entry| entry.expect("an entry").0)
        .collect();
    assert_eq!(
        first,
        [5000_u32, 4999, 4998].map(|n| n.to_be_bytes().to_vec())
    );
}

/// Runs `range` for every pair of bounds built from `PROBES` and both directions, and describes
/// each answer that differs from the model.
fn check_all_bounds<'a, F>(model: &Model, range: F) -> Vec<String>
where
    F: Fn(Bound<&[u8]>, Bound<&[u8]>, bool) -> Result<Range<'a>, StoreError>,
{
    let mut bounds = vec![Bound::Unbounded];
    for probe in PROBES {
        bounds.push(Bound::Included(*probe));
        bounds.push(Bound::Excluded(*probe));
    }
    let mut mismatches = Vec::new();
    for start in &bounds {
        for end in &bounds {
            for reverse in [false, true] {
                let expected = model_range(model, *start, *end, reverse);
                let actual: Result<Vec<_>, _> =
                    range(*start, *end, reverse).and_then(Iterator::collect);
                match actual {
                    Ok(actual) if actual == expected => {}
                    actual => mismatches.push(format!(
                        "{start:?}..{end:?} reverse={reverse}: expected {expected:?}, got {actual:?}"
                    )),
                }
            }
        }
    }
    mismatches
}

fn model_range(
    model: &Model,
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries: Vec<_> = model
        .iter()
        .filter(|(key, _)| {
            let after_start = match start {
                Bound::Included(start) => key.as_slice() >= start,
                Bound::Excluded(start) => key.as_slice() > start,
                Bound::Unbounded => true,
            };
            let before_end = match end {
                Bound::Included(end) => key.as_slice() <= end,
                Bound::Excluded(end) => key.as_slice() < end,
                Bound::Unbounded => true,
            };
            after_start && before_end
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if reverse {
        entries.reverse();
    }
    entries
}
