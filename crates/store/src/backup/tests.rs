//! The backup format through its public functions: a store written out and read back, and
//! every way a file can be damaged.

use std::io::Cursor;

use super::*;
use crate::keyspace::Area;

/// A store in a temporary folder holding `entries`.
fn store_with(entries: &[(Vec<u8>, Vec<u8>)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(&dir.path().join("store"), StoreOptions::default()).expect("open");
    let entries = entries.to_vec();
    store
        .write_blocking(move |txn| {
            for (key, value) in &entries {
                txn.put(key, value)?;
            }
            Ok::<(), StoreError>(())
        })
        .expect("commit")
        .expect("puts");
    (dir, store)
}

/// Entries in several areas, with an empty value and the largest key and value the store takes.
fn sample_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries = Vec::new();
    for area in Area::ALL {
        for idx in 0..50u32 {
            let mut key = vec![area.prefix()];
            key.extend_from_slice(&idx.to_be_bytes());
            entries.push((key, format!("value {idx} of {area:?}").into_bytes()));
        }
    }
    entries.push((vec![Area::TablesMeta.prefix(), 0xFF], Vec::new()));
    let mut big_key = vec![Area::TablesData.prefix(); KEY_BYTES_MAX];
    big_key[1] = 0xFF;
    entries.push((big_key, vec![7u8; VALUE_BYTES_MAX]));
    entries
}

/// A backup of `store`'s current snapshot.
fn backup_of(store: &Store) -> (Vec<u8>, Summary) {
    let snapshot = store.read().expect("a snapshot");
    write_snapshot(&snapshot, Vec::new()).expect("the backup is written")
}

/// Every entry of `store`, in key order.
fn entries_of(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    let snapshot = store.read().expect("a snapshot");
    snapshot
        .range(Bound::Unbounded, Bound::Unbounded, false)
        .expect("a range")
        .map(|entry| entry.expect("an entry"))
        .collect()
}

/// Restores `bytes` (written to a file) into `data/store`; answers the result and the folder.
fn restore_bytes(bytes: &[u8]) -> (tempfile::TempDir, Result<Summary, BackupError>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("backup.rondo");
    fs::write(&file, bytes).expect("write the backup");
    let result = restore(&file, &dir.path().join("data/store"));
    (dir, result)
}

#[test]
fn a_store_round_trips_through_a_backup() {
    let entries = sample_entries();
    let (_dir, store) = store_with(&entries);
    let (bytes, summary) = backup_of(&store);
    assert_eq!(summary.n_records, entries.len() as u64);
    assert_eq!(summary.n_bytes, bytes.len() as u64);
    assert_eq!(verify(Cursor::new(&bytes)).expect("verifies"), summary);

    let (restored_dir, restored) = restore_bytes(&bytes);
    assert_eq!(restored.expect("restores"), summary);
    let data = restored_dir.path().join("data");
    assert!(!data.join(".restoring").exists(), "no staging folder left");
    let restored = Store::open(&data.join("store"), StoreOptions::default()).expect("opens");
    assert_eq!(entries_of(&restored), entries_of(&store));
}

#[test]
fn an_empty_store_round_trips() {
    let (_dir, store) = store_with(&[]);
    let (bytes, summary) = backup_of(&store);
    assert_eq!(summary.n_records, 0);
    assert_eq!(bytes.len(), 12 + 1 + 8 + 4, "header and trailer only");
    let (restored_dir, restored) = restore_bytes(&bytes);
    assert_eq!(restored.expect("restores"), summary);
    let restored = Store::open(
        &restored_dir.path().join("data/store"),
        StoreOptions::default(),
    )
    .expect("opens");
    assert!(entries_of(&restored).is_empty());
}

#[test]
fn the_backup_is_the_snapshot_not_later_writes() {
    let (_dir, store) = store_with(&[(b"\x01a".to_vec(), b"1".to_vec())]);
    let snapshot = store.read().expect("a snapshot");
    store
        .write_blocking(|txn| txn.put(b"\x01b", b"2"))
        .expect("commit")
        .expect("put");
    let (bytes, summary) = write_snapshot(&snapshot, Vec::new()).expect("written");
    assert_eq!(summary.n_records, 1);
    let mut reader = BackupReader::new(Cursor::new(&bytes)).expect("header");
    assert_eq!(
        reader.next_record().expect("a record"),
        Some((b"\x01a".to_vec(), b"1".to_vec()))
    );
    assert_eq!(reader.next_record().expect("the trailer"), None);
}

#[test]
fn a_truncated_backup_fails_at_every_offset_and_restores_nothing() {
    let (_dir, store) = store_with(&[
        (b"\x01one".to_vec(), b"first".to_vec()),
        (b"\x02two".to_vec(), b"second".to_vec()),
        (b"\x06three".to_vec(), vec![3u8; 300]),
    ]);
    let (bytes, _) = backup_of(&store);
    for length in 0..bytes.len() {
        let error = verify(Cursor::new(&bytes[..length])).expect_err("a truncated backup fails");
        match &error {
            BackupError::Truncated { offset, .. } => {
                assert_eq!(*offset, length as u64, "{error}");
            }
            other => panic!("cut at {length}: {other}"),
        }
        assert!(
            error.to_string().contains(&format!("byte {length}")),
            "{error}"
        );
    }
    for length in [0, 11, 12, 30, bytes.len() / 2, bytes.len() - 1] {
        let (dir, result) = restore_bytes(&bytes[..length]);
        let error = result.expect_err("a truncated backup is not restored");
        assert!(matches!(error, BackupError::Truncated { .. }), "{error}");
        assert!(
            !dir.path().join("data/store").exists(),
            "no store after {error}"
        );
        assert!(
            !dir.path().join("data/.restoring").exists(),
            "no staging folder"
        );
    }
}

#[test]
fn every_flipped_byte_is_found() {
    let (_dir, store) = store_with(&[
        (b"\x01one".to_vec(), b"first".to_vec()),
        (b"\x03two".to_vec(), b"second".to_vec()),
    ]);
    let (bytes, _) = backup_of(&store);
    for offset in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x10;
        let error = verify(Cursor::new(&damaged))
            .expect_err(&format!("a flipped byte at {offset} is found"));
        assert!(error.to_string().contains("byte "), "{error}");
    }
    let mut damaged = bytes.clone();
    let value_offset = 12 + 9 + 4;
    damaged[value_offset] ^= 0x01;
    let (dir, result) = restore_bytes(&damaged);
    let error = result.expect_err("a corrupt backup is not restored");
    let checksum_offset = bytes.len() - 4;
    assert_eq!(
        error.to_string(),
        format!(
            "the backup is corrupt at byte {checksum_offset}: the checksum 0x{:08x} does not match the bytes before it (0x{:08x})",
            u32::from_le_bytes(bytes[checksum_offset..].try_into().expect("4 bytes")),
            crc32fast::hash(&damaged[..checksum_offset]),
        )
    );
    assert!(!dir.path().join("data/store").exists());
}

#[test]
fn lengths_over_the_stores_limits_are_corrupt_at_their_offset() {
    let (_dir, store) = store_with(&[(b"\x01k".to_vec(), b"v".to_vec())]);
    let (bytes, _) = backup_of(&store);
    let mut long_key = bytes.clone();
    long_key[13..17].copy_from_slice(&(KEY_BYTES_MAX as u32 + 1).to_le_bytes());
    let error = verify(Cursor::new(&long_key)).expect_err("too long a key");
    assert_eq!(
        error.to_string(),
        format!(
            "the backup is corrupt at byte 13: a key of {} bytes, over the store's limit of {KEY_BYTES_MAX}",
            KEY_BYTES_MAX + 1
        )
    );
    let mut long_value = bytes.clone();
    long_value[17..21].copy_from_slice(&u32::MAX.to_le_bytes());
    let error = verify(Cursor::new(&long_value)).expect_err("too long a value");
    assert!(
        error
            .to_string()
            .starts_with("the backup is corrupt at byte 17: a value of 4294967295 bytes"),
        "{error}"
    );
}

#[test]
fn extra_bytes_a_wrong_magic_or_version_are_refused() {
    let (_dir, store) = store_with(&[]);
    let (bytes, _) = backup_of(&store);
    let mut extra = bytes.clone();
    extra.push(0);
    let error = verify(Cursor::new(&extra)).expect_err("bytes after the trailer");
    assert_eq!(
        error.to_string(),
        format!(
            "the backup is corrupt at byte {}: bytes follow the trailer",
            bytes.len()
        )
    );
    let mut version = bytes.clone();
    version[8] = 2;
    let error = verify(Cursor::new(&version)).expect_err("a later version");
    assert!(error.to_string().contains("format version 2"), "{error}");
    let error = verify(Cursor::new(b"PK\x03\x04 not a backup")).expect_err("not a backup");
    assert!(error.to_string().contains("not a rondo backup"), "{error}");
}

#[test]
fn a_restore_refuses_a_folder_holding_a_store() {
    let (_dir, store) = store_with(&[(b"\x01k".to_vec(), b"v".to_vec())]);
    let (bytes, _) = backup_of(&store);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store_dir = dir.path().join("data/store");
    drop(Store::open(&store_dir, StoreOptions::default()).expect("an existing store"));
    let file = dir.path().join("backup.rondo");
    fs::write(&file, &bytes).expect("write");
    let error = restore(&file, &store_dir).expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!(
            "{} already holds a store: restore into a data folder without one",
            store_dir.display()
        )
    );
}

#[test]
fn a_restore_replaces_what_an_interrupted_one_left() {
    let (_dir, store) = store_with(&[(b"\x01k".to_vec(), b"v".to_vec())]);
    let (bytes, _) = backup_of(&store);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let staging = dir.path().join("data/.restoring");
    fs::create_dir_all(&staging).expect("a stale staging folder");
    fs::write(staging.join("store.redb"), b"half a store").expect("junk");
    let file = dir.path().join("backup.rondo");
    fs::write(&file, &bytes).expect("write");
    let store_dir = dir.path().join("data/store");
    restore(&file, &store_dir).expect("restores");
    let restored = Store::open(&store_dir, StoreOptions::default()).expect("opens");
    assert_eq!(
        entries_of(&restored),
        vec![(b"\x01k".to_vec(), b"v".to_vec())]
    );
}
