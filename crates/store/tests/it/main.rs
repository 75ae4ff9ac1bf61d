//! The store's integration tests: everything through the public API, on temporary folders.

mod concurrency;
mod crash;
mod keyspace;
mod ranges;
mod transactions;

use std::path::Path;

use store::{Store, StoreOptions};

/// Opens the store in `dir` with the default options.
fn open(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).expect("the store opens")
}

/// Puts every `(key, value)` in one transaction.
fn put_all(store: &Store, entries: &[(&[u8], &[u8])]) {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .map(|(key, value)| (key.to_vec(), value.to_vec()))
        .collect();
    store
        .write_blocking(move |txn| {
            for (key, value) in &entries {
                txn.put(key, value)?;
            }
            Ok::<_, store::StoreError>(())
        })
        .expect("the write commits")
        .expect("the puts succeed");
}

/// The value under `key` in a fresh snapshot.
fn get(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
    store
        .read()
        .expect("a snapshot")
        .get(key)
        .expect("the read succeeds")
}
