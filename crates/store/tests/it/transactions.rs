//! Write transactions: durability, isolation of a failing function, limits, commit numbers.

use std::panic::{self, AssertUnwindSafe};

use store::limits::{KEY_BYTES_MAX, TRANSACTION_BYTES_MAX, VALUE_BYTES_MAX};
use store::{Store, StoreError, StoreOptions};

use crate::{get, open, put_all};

#[test]
fn writes_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    put_all(&store, &[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]);
    store
        .write_blocking(|txn| {
            txn.delete(b"b")?;
            txn.put(b"c", b"three")
        })
        .expect("the write commits")
        .expect("the writes succeed");
    drop(store);

    let store = open(dir.path());
    assert_eq!(get(&store, b"a"), Some(b"1".to_vec()));
    assert_eq!(get(&store, b"b"), None);
    assert_eq!(get(&store, b"c"), Some(b"three".to_vec()));
}

#[test]
fn open_creates_missing_folders() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let nested = dir.path().join("one").join("two");
    let store = open(&nested);
    put_all(&store, &[(b"k", b"v")]);
    assert_eq!(get(&store, b"k"), Some(b"v".to_vec()));
}

#[test]
fn a_second_open_of_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let error = Store::open(dir.path(), StoreOptions::default()).expect_err("the folder is locked");
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&dir.path().display().to_string()),
        "{error}"
    );

    // Once the first handle is gone the folder opens again.
    drop(store);
    open(dir.path());
}

#[test]
fn options_out_of_range_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = StoreOptions {
        group_transactions_max: 0,
        ..StoreOptions::default()
    };
    let error = Store::open(dir.path(), options).expect_err("0 is out of range");
    assert_eq!(
        error.to_string(),
        "store option group_transactions_max = 0 is outside 1..=256"
    );
}

#[test]
fn a_failing_function_discards_only_its_own_writes() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    put_all(&store, &[(b"kept", b"before")]);

    let result = store
        .write_blocking(|txn| {
            txn.put(b"kept", b"overwritten")?;
            txn.put(b"new", b"value")?;
            Err::<(), _>(Failure("condition failed"))
        })
        .expect("the store is fine");
    assert_eq!(result, Err(Failure("condition failed")));
    assert_eq!(get(&store, b"kept"), Some(b"before".to_vec()));
    assert_eq!(get(&store, b"new"), None);

    // The next transaction is unaffected.
    put_all(&store, &[(b"after", b"yes")]);
    assert_eq!(get(&store, b"after"), Some(b"yes".to_vec()));
}

#[derive(Debug, PartialEq, Eq)]
struct Failure(&'static str);

impl From<StoreError> for Failure {
    fn from(_: StoreError) -> Failure {
        Failure("store error")
    }
}

#[test]
fn a_function_reads_its_own_writes() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    put_all(&store, &[(b"a", b"stored")]);
    let seen = store
        .write_blocking(|txn| {
            let before = txn.get(b"a")?;
            txn.put(b"a", b"mine")?;
            let after_put = txn.get(b"a")?;
            txn.delete(b"a")?;
            let after_delete = txn.get(b"a")?;
            Ok::<_, StoreError>((before, after_put, after_delete))
        })
        .expect("the write commits")
        .expect("the reads succeed");
    assert_eq!(
        seen,
        (Some(b"stored".to_vec()), Some(b"mine".to_vec()), None)
    );
    assert_eq!(get(&store, b"a"), None);
}

#[test]
fn a_snapshot_does_not_see_later_commits() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    put_all(&store, &[(b"a", b"1")]);
    let snapshot = store.read().expect("a snapshot");
    put_all(&store, &[(b"a", b"2"), (b"b", b"2")]);
    assert_eq!(snapshot.get(b"a").expect("a read"), Some(b"1".to_vec()));
    assert_eq!(snapshot.get(b"b").expect("a read"), None);
    assert_eq!(get(&store, b"a"), Some(b"2".to_vec()));
}

#[test]
fn an_oversized_write_fails_its_transaction_whatever_the_function_returns() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let long_key = vec![b'k'; KEY_BYTES_MAX + 1];
    let long_value = vec![0; VALUE_BYTES_MAX + 1];

    let error = store
        .write_blocking(move |txn| {
            txn.put(b"before", b"1")?;
            // The function swallows the error; the transaction fails all the same.
            let _ = txn.put(&long_key, b"v");
            Ok::<_, StoreError>(())
        })
        .expect_err("the key is too long");
    assert!(
        matches!(error, StoreError::KeyTooLarge { key_bytes, max, .. } if key_bytes == KEY_BYTES_MAX + 1 && max == KEY_BYTES_MAX),
        "{error:?}"
    );
    assert_eq!(get(&store, b"before"), None);

    let error = store
        .write_blocking(move |txn| txn.put(b"big", &long_value))
        .expect_err("the value is too long");
    assert!(
        error.to_string().starts_with(&format!(
            "value for key \"big\" is {} bytes, over the limit of {VALUE_BYTES_MAX} bytes",
            VALUE_BYTES_MAX + 1
        )),
        "{error}"
    );

    // A key as long as the limit and a value as long as the limit are fine.
    let key = vec![b'k'; KEY_BYTES_MAX];
    let value = vec![7; VALUE_BYTES_MAX];
    let expected = value.clone();
    let stored_key = key.clone();
    store
        .write_blocking(move |txn| txn.put(&key, &value))
        .expect("the write commits")
        .expect("the put succeeds");
    assert_eq!(get(&store, &stored_key), Some(expected));
}

#[test]
fn a_transaction_over_its_byte_limit_fails() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let value = vec![1; VALUE_BYTES_MAX];
    let puts_max = TRANSACTION_BYTES_MAX / (VALUE_BYTES_MAX + 8);
    let error = store
        .write_blocking(move |txn| {
            for put_idx in 0..=puts_max as u64 {
                txn.put(&put_idx.to_be_bytes(), &value)?;
                // Rewriting a key replaces its bytes rather than adding to them.
                txn.put(&put_idx.to_be_bytes(), &value)?;
            }
            Ok::<_, StoreError>(())
        })
        .expect_err("the transaction is too large");
    assert!(
        matches!(error, StoreError::TransactionTooLarge { transaction_bytes, .. } if transaction_bytes == (puts_max + 1) * (VALUE_BYTES_MAX + 8)),
        "{error:?}"
    );
    assert_eq!(get(&store, &0_u64.to_be_bytes()), None);
}

#[test]
fn a_panicking_function_panics_its_caller_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        store.write_blocking(|txn| -> Result<(), StoreError> {
            txn.put(b"a", b"1")?;
            panic!("broken invariant in the caller");
        })
    }));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"broken invariant in the caller")
    );
    assert_eq!(get(&store, b"a"), None);

    // The writer carries on.
    put_all(&store, &[(b"b", b"2")]);
    assert_eq!(get(&store, b"b"), Some(b"2".to_vec()));
}

#[test]
fn commits_advance_after_each_durable_commit() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let mut commits = store.commits();
    assert_eq!(*commits.borrow_and_update(), 0);

    put_all(&store, &[(b"a", b"1")]);
    assert!(commits.has_changed().expect("the writer is running"));
    assert_eq!(*commits.borrow_and_update(), 1);

    // A transaction that writes nothing, or whose function fails, commits nothing.
    store
        .write_blocking(|txn| txn.get(b"a"))
        .expect("the read-only transaction ends")
        .expect("the read succeeds");
    let _ = store
        .write_blocking(|txn| {
            txn.put(b"b", b"2")?;
            Err::<(), _>(Failure("no"))
        })
        .expect("the store is fine");
    assert!(!commits.has_changed().expect("the writer is running"));

    put_all(&store, &[(b"c", b"3")]);
    assert_eq!(*commits.borrow_and_update(), 2);
}

#[tokio::test]
async fn commits_wake_an_async_waiter() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    let mut commits = store.commits();
    let waiter = tokio::spawn(async move {
        commits.changed().await.expect("the writer is running");
        *commits.borrow_and_update()
    });
    store
        .write(|txn| txn.put(b"a", b"1"))
        .await
        .expect("the write commits")
        .expect("the put succeeds");
    assert_eq!(waiter.await.expect("the waiter ends"), 1);
}
