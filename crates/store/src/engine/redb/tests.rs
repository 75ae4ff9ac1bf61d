//! The redb engine after a failed write: redb latches the I/O error, and the engine reopens the
//! database so that reads keep working, only the failed group is lost, and writes resume once the
//! disk has room again. The disk is a file whose writes fail past a limit, as a full tmpfs does
//! (pages already written stay writable; new ones get ENOSPC), or whose next fsync fails.

use std::fs::OpenOptions;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use redb::backends::FileBackend;
use redb::{BackendError, Database, DatabaseError, StorageBackend, StorageError};

use super::{FILE_NAME, RedbEngine};
use crate::{Store, StoreError, StoreOptions, check_options};

/// Bytes of each value the tests write: large enough that a few of them grow the file.
const VALUE_BYTES: usize = 256 * 1024;
/// The most values written while waiting for the full disk to refuse one.
const N_WRITES_UNTIL_FULL_MAX: usize = 400;

/// What the disk under the database does.
#[derive(Debug)]
struct Disk {
    /// Writes ending past this offset fail with ENOSPC (`u64::MAX`: the disk has room).
    bytes_max: AtomicU64,
    /// Whether the next fsync fails with EIO.
    fail_next_sync: AtomicBool,
}

/// The database file on [`Disk`].
#[derive(Debug)]
struct FaultyFile {
    file: FileBackend,
    disk: Arc<Disk>,
}

impl StorageBackend for FaultyFile {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        // Growing a file on tmpfs reserves nothing: the writes into the new part are what fail.
        self.file.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        if self.disk.fail_next_sync.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let end = offset + u64::try_from(data.len()).expect("a write fits in u64");
        if end > self.disk.bytes_max.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.file.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// A store in `dir` whose database file is on `disk`.
fn open_on(dir: &Path, disk: &Arc<Disk>) -> Store {
    let path = dir.join(FILE_NAME);
    let disk = Arc::clone(disk);
    let engine = RedbEngine::open_with(
        dir,
        Box::new(move || {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|error| DatabaseError::Storage(StorageError::from(error)))?;
            let file = FaultyFile {
                file: FileBackend::new(file)?,
                disk: Arc::clone(&disk),
            };
            Database::builder().create_with_backend(file)
        }),
    )
    .expect("open the engine");
    let options = StoreOptions::default();
    let limits = check_options(&options).expect("valid options");
    Store::start(dir, Arc::new(engine), limits, &options)
}

fn roomy_disk() -> Arc<Disk> {
    Arc::new(Disk {
        bytes_max: AtomicU64::new(u64::MAX),
        fail_next_sync: AtomicBool::new(false),
    })
}

fn key(idx: usize) -> Vec<u8> {
    format!("key{idx:04}").into_bytes()
}

/// A value that tells its key apart from the others.
fn value(idx: usize) -> Vec<u8> {
    let mut value = vec![u8::try_from(idx % 251).expect("below 251"); VALUE_BYTES];
    value[..8].copy_from_slice(&u64::try_from(idx).expect("fits").to_be_bytes());
    value
}

fn put(store: &Store, idx: usize) -> Result<(), StoreError> {
    store
        .write_blocking(move |txn| txn.put(&key(idx), &value(idx)))
        .map(|result| result.expect("the transaction's own writes are valid"))
}

/// Checks that exactly the keys in `present` are stored, each with its value.
fn check_contents(store: &Store, present: &[usize], n_keys: usize) {
    let read = store.read().expect("a read snapshot");
    for idx in 0..n_keys {
        let stored = read.get(&key(idx)).expect("get");
        if present.contains(&idx) {
            assert_eq!(stored, Some(value(idx)), "acknowledged key {idx}");
        } else {
            assert_eq!(stored, None, "key {idx}, whose write failed");
        }
    }
}

#[test]
fn a_full_disk_fails_only_the_writes_that_do_not_fit_and_the_store_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = roomy_disk();
    let store = open_on(dir.path(), &disk);
    let mut acknowledged = Vec::new();
    for idx in 0..4 {
        put(&store, idx).expect("the disk has room");
        acknowledged.push(idx);
    }

    // The disk fills: writes go on until one does not fit.
    let file_bytes = std::fs::metadata(dir.path().join(FILE_NAME))
        .expect("the database file")
        .len();
    disk.bytes_max.store(file_bytes, Ordering::SeqCst);
    let mut failed = Vec::new();
    for idx in acknowledged.len()..N_WRITES_UNTIL_FULL_MAX {
        match put(&store, idx) {
            Ok(()) => acknowledged.push(idx),
            Err(error) => {
                assert!(
                    matches!(error, StoreError::Commit { .. } | StoreError::Write { .. }),
                    "{error:?}"
                );
                failed.push(idx);
                break;
            }
        }
    }
    assert_eq!(failed.len(), 1, "no write failed on the full disk");

    // Reads keep working, and a failed write leaves nothing behind; further writes fail or fit,
    // and never take the store down.
    check_contents(&store, &acknowledged, failed[0] + 1);
    let next = failed[0] + 1;
    match put(&store, next) {
        Ok(()) => acknowledged.push(next),
        Err(_) => failed.push(next),
    }
    check_contents(&store, &acknowledged, next + 1);

    // Room again: writes resume without a restart.
    disk.bytes_max.store(u64::MAX, Ordering::SeqCst);
    for idx in next + 1..next + 4 {
        put(&store, idx).expect("the disk has room again");
        acknowledged.push(idx);
    }
    check_contents(&store, &acknowledged, next + 4);

    // And the file holds exactly what was acknowledged when opened afresh.
    drop(store);
    let store = Store::open(dir.path(), StoreOptions::default()).expect("reopen the store");
    check_contents(&store, &acknowledged, next + 4);
}

#[test]
fn a_failed_fsync_fails_its_group_and_the_next_write_succeeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = roomy_disk();
    let store = open_on(dir.path(), &disk);
    put(&store, 0).expect("the disk works");

    disk.fail_next_sync.store(true, Ordering::SeqCst);
    let error = put(&store, 1).expect_err("the fsync fails");
    assert!(
        matches!(error, StoreError::Commit { .. } | StoreError::Write { .. }),
        "{error:?}"
    );

    // Before the fix, every later write and read failed with redb's PreviousIo.
    put(&store, 2).expect("the write after the failed one");
    let read = store.read().expect("a read snapshot");
    assert_eq!(read.get(&key(0)).expect("get"), Some(value(0)));
    assert_eq!(read.get(&key(2)).expect("get"), Some(value(2)));
    drop(read);

    // The failed group's write is in or out as the disk left it (its fsync failed after the
    // data was written); what was acknowledged is in either way.
    drop(store);
    let store = Store::open(dir.path(), StoreOptions::default()).expect("reopen the store");
    let read = store.read().expect("a read snapshot");
    assert_eq!(read.get(&key(0)).expect("get"), Some(value(0)));
    assert_eq!(read.get(&key(2)).expect("get"), Some(value(2)));
}
