//! Checkpoints on a real store: issue 13, a checkpoint that does not decode is an error naming
//! its key, never "no checkpoint" (which would restart the shard from its starting position).

use store::{Store, StoreError, StoreOptions};

use super::*;

const TRIGGER: &str = "orders-to-audit";
const PLACE: Place = Place {
    stream: 1,
    shard: 3,
    lane: None,
};
/// Not the 8 bytes of a sequence number.
const GARBAGE: &[u8] = b"\xFF\x00\x07";

/// A folder under the system's temporary folder, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        // Leftovers in the temporary folder are harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open() -> (TempDir, Store) {
    let dir = std::env::temp_dir().join(format!("rondo-checkpoint-{}", uuid::Uuid::new_v4()));
    let store = Store::open(&dir, StoreOptions::default()).expect("the store opens");
    (TempDir(dir), store)
}

fn put_raw(store: &Store, key: Vec<u8>, value: &'static [u8]) {
    store
        .write_blocking(move |txn| txn.put(&key, value))
        .expect("the write commits")
        .expect("the put succeeds");
}

/// `result` is [`StoreError::Corrupt`] naming `key`.
fn check<T: std::fmt::Debug>(result: Result<T, StoreError>, key: &[u8]) {
    let shown = format!("\"{}\"", key.escape_ascii());
    match result {
        Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, shown),
        other => panic!("expected the entry under {shown} to be corrupt, got {other:?}"),
    }
}

#[test]
fn a_saved_checkpoint_loads_back() {
    let (_dir, store) = open();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime
        .block_on(save(&store, TRIGGER, PLACE, 42))
        .expect("the checkpoint is saved");
    assert_eq!(load(&store, TRIGGER, PLACE).expect("a load"), Some(42));
}

#[test]
fn issue_13_a_corrupt_checkpoint_fails_the_load() {
    let (_dir, store) = open();
    put_raw(&store, key(TRIGGER, PLACE), GARBAGE);
    check(load(&store, TRIGGER, PLACE), &key(TRIGGER, PLACE));
}

#[test]
fn issue_13_a_corrupt_lane_checkpoint_fails_the_load_under_another_factor() {
    let (_dir, store) = open();
    let lane = Place {
        lane: Some((2, 1)),
        ..PLACE
    };
    put_raw(&store, key(TRIGGER, lane), GARBAGE);
    check(load(&store, TRIGGER, PLACE), &key(TRIGGER, lane));
}

#[test]
fn issue_13_a_corrupt_checkpoint_fails_the_save() {
    let (_dir, store) = open();
    put_raw(&store, key(TRIGGER, PLACE), GARBAGE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    check(
        runtime.block_on(save(&store, TRIGGER, PLACE, 42)),
        &key(TRIGGER, PLACE),
    );
}
