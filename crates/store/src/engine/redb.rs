//! The embedded engine: one redb file holding one table of byte keys and values.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redb::{
    AccessGuard, Database, DatabaseError, ReadOnlyTable, ReadableDatabase, ReadableTable,
    StorageError, Table, TableDefinition,
};

use crate::StoreError;
use crate::engine::{Engine, EngineRead, EngineWrite, Entries, GroupEnd};
use crate::error::EngineError;

/// The database file inside the store's folder.
const FILE_NAME: &str = "store.redb";

/// The one table: byte keys in byte order (redb orders `&[u8]` keys lexicographically).
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// How the engine opens its database: at the start, and again after a failed write.
type Opener = Box<dyn Fn() -> Result<Database, DatabaseError> + Send + Sync>;

/// How often, and how long apart, a reopen tries again while the old database's file is still
/// held (a reader that cloned its handle an instant before the close).
const REOPEN_ATTEMPTS_MAX: u32 = 100;
const REOPEN_ATTEMPT_WAIT: Duration = Duration::from_millis(10);

/// A redb database. Commits use redb's default durability (`Immediate`): `commit` returns after
/// the fsync.
///
/// redb latches the first I/O error of a write (ENOSPC from a full disk, EIO): from then on every
/// operation of that `Database` that reaches the file fails with `PreviousIo`, reads included,
/// and only dropping it and opening the file again (which repairs it: the file says a commit was
/// under way) clears it. So a group that fails in the engine marks the database for reopening,
/// and the writer reopens it at once and, if that fails too (the disk still full), before its
/// next group. Only the failed group's transactions are failed; nothing acknowledged is touched,
/// because redb never overwrites the pages of its last durable commit.
pub(crate) struct RedbEngine {
    opener: Opener,
    /// The open database; `None` after a reopen failed (readers wait on the lock while one is
    /// under way).
    database: RwLock<Option<Arc<Database>>>,
    /// Whether the writer must reopen the database before its next group.
    reopen: AtomicBool,
}

impl RedbEngine {
    /// Opens or creates the database in `dir`, which exists, and creates the table in it.
    pub(crate) fn open(dir: &Path) -> Result<RedbEngine, StoreError> {
        let path = dir.join(FILE_NAME);
        RedbEngine::open_with(dir, Box::new(move || Database::builder().create(&path)))
    }

    /// Opens the database with `opener` (a test's opener puts a faulty disk under it).
    pub(crate) fn open_with(dir: &Path, opener: Opener) -> Result<RedbEngine, StoreError> {
        let open_error = |source: EngineError| StoreError::Open {
            dir: dir.to_path_buf(),
            source,
        };
        let database = opener().map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                dir: dir.to_path_buf(),
            },
            error => open_error(EngineError::new(error)),
        })?;
        create_table(&database).map_err(|error| open_error(EngineError::new(error)))?;
        Ok(RedbEngine {
            opener,
            database: RwLock::new(Some(Arc::new(database))),
            reopen: AtomicBool::new(false),
        })
    }

    /// The open database, or the error a caller gets while there is none.
    fn database(&self) -> Result<Arc<Database>, StoreError> {
        let database = self.database.read().unwrap_or_else(PoisonError::into_inner);
        database.clone().ok_or_else(|| StoreError::Read {
            source: EngineError::new(std::io::Error::other(
                "the store's database could not be reopened after a failed write",
            )),
        })
    }

    /// Closes the database and opens it again, which clears redb's latched I/O error and
    /// repairs the file to its last durable commit. Runs on the writer thread only, with no
    /// write transaction open. Readers wait for it (on the lock) rather than fail; the repair
    /// walks the file (`docs/design/002-store.md`: 53 ms per 100k keys).
    fn reopen(&self) -> Result<(), StoreError> {
        let mut database = self
            .database
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // The close writes nothing after a latched error; it releases the file's lock once the
        // last clone of the handle is gone (readers hold one only while they begin a snapshot;
        // their snapshots then fail with `DatabaseClosed` when they reach the file).
        drop(database.take());
        let mut attempt = 1;
        let reopened = loop {
            match (self.opener)() {
                Ok(reopened) => break reopened,
                Err(DatabaseError::DatabaseAlreadyOpen) if attempt < REOPEN_ATTEMPTS_MAX => {
                    attempt += 1;
                    std::thread::sleep(REOPEN_ATTEMPT_WAIT);
                }
                Err(error) => return Err(write_error(error)),
            }
        };
        create_table(&reopened).map_err(write_error)?;
        *database = Some(Arc::new(reopened));
        self.reopen.store(false, Ordering::Release);
        Ok(())
    }

    /// One group on the open database: begin, run `group`, commit or abort.
    fn write_group_once(
        &self,
        group: &mut dyn FnMut(&mut dyn EngineWrite) -> Result<GroupEnd, StoreError>,
    ) -> Result<GroupEnd, StoreError> {
        let database = self.database().map_err(|error| match error {
            StoreError::Read { source } => StoreError::Write { source },
            error => error,
        })?;
        let txn = database.begin_write().map_err(write_error)?;
        let end = {
            let table = txn.open_table(TABLE).map_err(write_error)?;
            // On an error the transaction is dropped here, which aborts it.
            group(&mut RedbWrite { table })?
        };
        match end {
            GroupEnd::Commit => txn.commit().map_err(|error| StoreError::Commit {
                source: EngineError::new(error),
            })?,
            GroupEnd::Abort => txn.abort().map_err(write_error)?,
        }
        Ok(end)
    }
}

/// Creates the table unless it exists: a read snapshot needs it, and checking first spares every
/// later open a commit.
fn create_table(database: &Database) -> Result<(), redb::Error> {
    let exists = match database.begin_read()?.open_table(TABLE) {
        Ok(_) => true,
        Err(redb::TableError::TableDoesNotExist(_)) => false,
        Err(error) => return Err(error.into()),
    };
    if !exists {
        let txn = database.begin_write()?;
        txn.open_table(TABLE)?;
        txn.commit()?;
    }
    Ok(())
}

impl Engine for RedbEngine {
    fn read(&self) -> Result<Box<dyn EngineRead + Send + Sync>, StoreError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let table = txn.open_table(TABLE).map_err(read_error)?;
        Ok(Box::new(RedbRead { table }))
    }

    fn write_group(
        &self,
        group: &mut dyn FnMut(&mut dyn EngineWrite) -> Result<GroupEnd, StoreError>,
    ) -> Result<GroupEnd, StoreError> {
        // A reopen that failed after the last failed group (the disk still full) is tried again;
        // if it fails again, this group fails without running.
        if self.reopen.load(Ordering::Acquire) {
            self.reopen()?;
        }
        let result = self.write_group_once(group);
        if result.is_err() {
            // Any engine error may have latched redb's I/O failure (a caller's own error never
            // reaches here: its writes are discarded before the group's); reopening costs a
            // repair of the file, which is cheap next to a disk that failed.
            self.reopen.store(true, Ordering::Release);
            // Reads need the database back as soon as possible; a failure is retried before the
            // next group, and the group's own error is the one to report.
            let _ = self.reopen();
        }
        result
    }
}

/// A read snapshot: the table as of one read transaction (the table keeps the transaction alive).
struct RedbRead {
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl EngineRead for RedbRead {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.table, key)
    }

    fn range<'a>(
        &'a self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Entries<'a>, StoreError> {
        range(&self.table, start, end, reverse)
    }
}

/// The table inside a group's write transaction.
struct RedbWrite<'txn> {
    table: Table<'txn, &'static [u8], &'static [u8]>,
}

impl EngineRead for RedbWrite<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.table, key)
    }

    fn range<'a>(
        &'a self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Entries<'a>, StoreError> {
        range(&self.table, start, end, reverse)
    }
}

impl EngineWrite for RedbWrite<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.table.insert(key, value).map_err(write_error)?;
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.table.remove(key).map_err(write_error)?;
        Ok(())
    }
}

fn get(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let value = table.get(key).map_err(read_error)?;
    Ok(value.map(|value| value.value().to_vec()))
}

fn range<'a>(
    table: &'a impl ReadableTable<&'static [u8], &'static [u8]>,
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
    reverse: bool,
) -> Result<Entries<'a>, StoreError> {
    let entries = table.range::<&[u8]>((start, end)).map_err(read_error)?;
    type Entry<'a> = Result<
        (
            AccessGuard<'a, &'static [u8]>,
            AccessGuard<'a, &'static [u8]>,
        ),
        StorageError,
    >;
    let owned = |entry: Entry<'_>| {
        let (key, value) = entry.map_err(read_error)?;
        Ok((key.value().to_vec(), value.value().to_vec()))
    };
    if reverse {
        Ok(Box::new(entries.rev().map(owned)))
    } else {
        Ok(Box::new(entries.map(owned)))
    }
}

fn read_error(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Read {
        source: EngineError::new(error),
    }
}

fn write_error(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Write {
        source: EngineError::new(error),
    }
}

#[cfg(test)]
mod tests;
