//! Tests of the writer's grouping, queue bound and commit failures, which need the store's insides
//! (a queue to look at, an engine that fails on purpose).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::{EngineRead, EngineWrite, GroupEnd};

/// How long a test waits for the writer to reach a state before it gives up.
const WAIT_MAX: Duration = Duration::from_secs(30);

/// A redb engine whose next group fails as if its commit had failed.
struct FailingEngine {
    inner: RedbEngine,
    fail_next_group: AtomicBool,
}

impl Engine for FailingEngine {
    fn read(&self) -> Result<Box<dyn EngineRead + Send + Sync>, StoreError> {
        self.inner.read()
    }

    fn write_group(
        &self,
        group: &mut dyn FnMut(&mut dyn EngineWrite) -> Result<GroupEnd, StoreError>,
    ) -> Result<GroupEnd, StoreError> {
        self.inner.write_group(&mut |txn| {
            let end = group(txn)?;
            if self.fail_next_group.swap(false, Ordering::SeqCst) {
                return Err(StoreError::Commit {
                    source: EngineError::new(std::io::Error::other("injected commit failure")),
                });
            }
            Ok(end)
        })
    }
}

/// A store over `engine` in a temporary folder.
fn start(dir: &Path, engine: Arc<dyn Engine>, options: StoreOptions) -> Store {
    let limits = check_options(&options).expect("valid options");
    Store::start(dir, engine, limits, &options)
}

/// Holds the writer inside a transaction until released, so that others queue up behind it.
struct Blocker {
    release: std_mpsc::Sender<()>,
    caller: JoinHandle<Result<Result<(), StoreError>, StoreError>>,
}

impl Blocker {
    fn start(store: &Store) -> Blocker {
        let (started_sender, started) = std_mpsc::channel();
        let (release, released) = std_mpsc::channel::<()>();
        let store = store.clone();
        let caller = thread::spawn(move || {
            store.write_blocking(move |txn| {
                started_sender
                    .send(())
                    .expect("the test waits for the start");
                released.recv().expect("the test releases the writer");
                txn.put(b"blocker", b"")
            })
        });
        started.recv().expect("the writer runs the blocker");
        Blocker { release, caller }
    }

    fn release(self) {
        self.release.send(()).expect("the blocker waits");
        self.caller
            .join()
            .expect("the blocker's caller ends")
            .expect("the blocker commits")
            .expect("the blocker's put succeeds");
    }
}

/// Waits until `queued` transactions wait in the store's queue.
fn wait_for_queued(store: &Store, queued: usize) {
    let queue = store.queue();
    let started = Instant::now();
    while queue.max_capacity() - queue.capacity() != queued {
        assert!(
            started.elapsed() < WAIT_MAX,
            "{queued} transactions never queued"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Queues `n_writes` transactions from threads, each putting a `value_bytes` value under its own
/// key, and returns the threads.
fn spawn_writers(
    store: &Store,
    n_writes: usize,
    value_bytes: usize,
) -> Vec<JoinHandle<Result<Result<(), StoreError>, StoreError>>> {
    (0..n_writes as u64)
        .map(|write_idx| {
            let store = store.clone();
            thread::spawn(move || {
                store.write_blocking(move |txn| {
                    txn.put(&write_idx.to_be_bytes(), &vec![0; value_bytes])
                })
            })
        })
        .collect()
}

/// Runs a blocker, queues `n_writes` writes behind it, releases it, and returns the commits made.
fn commits_for(options: StoreOptions, n_writes: usize, value_bytes: usize) -> u64 {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(dir.path(), options).expect("the store opens");
    let blocker = Blocker::start(&store);
    let writers = spawn_writers(&store, n_writes, value_bytes);
    wait_for_queued(&store, n_writes);
    blocker.release();
    for writer in writers {
        writer
            .join()
            .expect("the writer ends")
            .expect("the write commits")
            .expect("the put succeeds");
    }
    *store.commits().borrow()
}

#[test]
fn waiting_transactions_share_one_commit() {
    // The blocker's group takes all 16 waiting transactions: one commit for all 17.
    assert_eq!(commits_for(StoreOptions::default(), 16, 100), 1);
}

#[test]
fn a_group_holds_at_most_group_transactions_max() {
    let options = StoreOptions {
        group_transactions_max: 4,
        ..StoreOptions::default()
    };
    // 17 transactions in groups of 4: 4 + 4 + 4 + 4 + 1.
    assert_eq!(commits_for(options, 16, 100), 5);
}

#[test]
fn a_group_closes_once_its_writes_reach_group_bytes_max() {
    let options = StoreOptions {
        group_bytes_max: 1000,
        ..StoreOptions::default()
    };
    // Each transaction writes 8 + 392 = 400 bytes, so a group closes after 3 (the blocker's
    // writes are 7 bytes: its group takes it and 2 more). 1 + 16 = 17 transactions: 3 + 3 + 3 +
    // 3 + 3 + 2.
    assert_eq!(commits_for(options, 16, 392), 6);
}

#[test]
fn a_failing_function_in_a_group_discards_only_its_own_writes() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("the store opens");
    let blocker = Blocker::start(&store);
    let spawn = |key: &'static [u8], fail: bool| {
        let store = store.clone();
        thread::spawn(move || {
            store.write_blocking(move |txn| {
                // Each sees the writes of those before it in the group.
                let text = |error: StoreError| error.to_string();
                let before = txn
                    .get(b"count")
                    .map_err(text)?
                    .map_or(0, |count| count.len());
                txn.put(b"count", &vec![0; before + 1]).map_err(text)?;
                txn.put(key, b"").map_err(text)?;
                if fail {
                    Err("refused".to_owned())
                } else {
                    Ok(before)
                }
            })
        })
    };
    let first = spawn(b"first", false);
    wait_for_queued(&store, 1);
    let failing = spawn(b"failing", true);
    wait_for_queued(&store, 2);
    let last = spawn(b"last", false);
    wait_for_queued(&store, 3);
    blocker.release();

    let result = |caller: JoinHandle<Result<Result<usize, String>, StoreError>>| {
        caller
            .join()
            .expect("the caller ends")
            .expect("the group commits")
    };
    assert_eq!(result(first), Ok(0));
    assert_eq!(result(failing), Err("refused".to_owned()));
    // The failed transaction's increment is gone: the last one saw only the first one's.
    assert_eq!(result(last), Ok(1));
    let snapshot = store.read().expect("a snapshot");
    assert_eq!(snapshot.get(b"count").expect("a read"), Some(vec![0; 2]));
    assert!(snapshot.get(b"first").expect("a read").is_some());
    assert_eq!(snapshot.get(b"failing").expect("a read"), None);
    assert!(snapshot.get(b"last").expect("a read").is_some());
    assert_eq!(
        *store.commits().borrow(),
        1,
        "the blocker and the three share one commit"
    );
}

#[test]
fn a_full_queue_makes_callers_wait_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = StoreOptions {
        queue_transactions_max: 2,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).expect("the store opens");
    let blocker = Blocker::start(&store);
    let writers = spawn_writers(&store, 2, 10);
    wait_for_queued(&store, 2);

    // A third caller finds no room: its future waits without queuing anything.
    let mut waiting = pin!(store.write(|txn| txn.put(b"third", b"")));
    let mut context = Context::from_waker(Waker::noop());
    assert!(waiting.as_mut().poll(&mut context).is_pending());
    assert_eq!(store.queue().capacity(), 0);

    blocker.release();
    for writer in writers {
        writer
            .join()
            .expect("the writer ends")
            .expect("the write commits")
            .expect("the put succeeds");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime
        .block_on(waiting)
        .expect("the write commits")
        .expect("the put succeeds");
    let snapshot = store.read().expect("a snapshot");
    for key in [&b"third"[..], &0_u64.to_be_bytes(), &1_u64.to_be_bytes()] {
        assert!(snapshot.get(key).expect("a read").is_some());
    }
}

#[test]
fn a_failed_commit_fails_every_caller_of_the_group_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let engine = Arc::new(FailingEngine {
        inner: RedbEngine::open(dir.path()).expect("the engine opens"),
        fail_next_group: AtomicBool::new(false),
    });
    let store = start(dir.path(), engine.clone(), StoreOptions::default());
    let blocker = Blocker::start(&store);
    let writers = spawn_writers(&store, 4, 10);
    // A transaction whose function fails is in the group too: it gets the commit error, since it
    // may have decided on writes that are now lost.
    let failing = {
        let store = store.clone();
        thread::spawn(move || store.write_blocking(|_| Err::<(), _>("refused")))
    };
    wait_for_queued(&store, 5);
    engine.fail_next_group.store(true, Ordering::SeqCst);
    blocker.release.send(()).expect("the blocker waits");
    let results = writers
        .into_iter()
        .map(|writer| writer.join().expect("the writer ends"));
    for result in results.chain([blocker.caller.join().expect("the blocker ends")]) {
        let error = result.expect_err("the group's commit failed");
        assert!(
            error.to_string().contains("injected commit failure"),
            "{error}"
        );
    }
    let error = failing
        .join()
        .expect("the caller ends")
        .expect_err("the group's commit failed");
    assert!(matches!(error, StoreError::Commit { .. }), "{error:?}");

    let snapshot = store.read().expect("a snapshot");
    assert_eq!(snapshot.get(b"blocker").expect("a read"), None);
    assert_eq!(snapshot.get(&0_u64.to_be_bytes()).expect("a read"), None);
    assert_eq!(*store.commits().borrow(), 0);

    // The next group commits.
    store
        .write_blocking(|txn| txn.put(b"after", b""))
        .expect("the write commits")
        .expect("the put succeeds");
    assert_eq!(*store.commits().borrow(), 1);
}
