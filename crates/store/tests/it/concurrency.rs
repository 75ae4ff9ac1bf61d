//! Many writers at once: every acknowledged write is stored, and transactions are serializable.

use std::thread;

use crate::{get, open};

const WRITERS: u32 = 16;
const WRITES_PER_WRITER: u32 = 50;

#[test]
fn concurrent_blocking_writers_are_all_acknowledged_and_stored() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    thread::scope(|scope| {
        for writer_idx in 0..WRITERS {
            let store = store.clone();
            scope.spawn(move || {
                for write_idx in 0..WRITES_PER_WRITER {
                    let key = key(writer_idx, write_idx);
                    store
                        .write_blocking(move |txn| txn.put(&key, b"value"))
                        .expect("the write commits")
                        .expect("the put succeeds");
                }
            });
        }
    });
    drop(store);

    let store = open(dir.path());
    for writer_idx in 0..WRITERS {
        for write_idx in 0..WRITES_PER_WRITER {
            assert_eq!(
                get(&store, &key(writer_idx, write_idx)),
                Some(b"value".to_vec())
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_writers_are_serializable() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open(dir.path());
    // Each transaction increments one counter: a lost update would leave it short.
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..WRITES_PER_WRITER {
                store
                    .write(|txn| {
                        let count = match txn.get(b"counter")? {
                            Some(bytes) => u32::from_be_bytes(bytes.try_into().expect("4 bytes")),
                            None => 0,
                        };
                        txn.put(b"counter", &(count + 1).to_be_bytes())
                    })
                    .await
                    .expect("the write commits")
                    .expect("the transaction succeeds");
            }
        }));
    }
    for task in tasks {
        task.await.expect("the writer task ends");
    }
    let count = get(&store, b"counter").expect("the counter exists");
    assert_eq!(count, (WRITERS * WRITES_PER_WRITER).to_be_bytes().to_vec());
    // Each acknowledged write was committed by some group: there were commits, but no more of
    // them than transactions.
    let commits = *store.commits().borrow();
    assert!(
        (1..=u64::from(WRITERS * WRITES_PER_WRITER)).contains(&commits),
        "{commits}"
    );
}

fn key(writer_idx: u32, write_idx: u32) -> Vec<u8> {
    format!("writer/{writer_idx:02}/{write_idx:04}").into_bytes()
}
