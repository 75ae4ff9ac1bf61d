//! The embedded engine: one redb file holding one table of byte keys and values.

use std::ops::Bound;
use std::path::Path;

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

/// A redb database. Commits use redb's default durability (`Immediate`): `commit` returns after
/// the fsync.
pub(crate) struct RedbEngine {
    database: Database,
}

impl RedbEngine {
    /// Opens or creates the database in `dir`, which exists, and creates the table in it.
    pub(crate) fn open(dir: &Path) -> Result<RedbEngine, StoreError> {
        let open_error = |source: EngineError| StoreError::Open {
            dir: dir.to_path_buf(),
            source,
        };
        let database =
            Database::builder()
                .create(dir.join(FILE_NAME))
                .map_err(|error| match error {
                    DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                        dir: dir.to_path_buf(),
                    },
                    error => open_error(EngineError::new(error)),
                })?;
        let engine = RedbEngine { database };
        engine
            .create_table()
            .map_err(|error| open_error(EngineError::new(error)))?;
        Ok(engine)
    }

    /// Creates the table unless it exists: a read snapshot needs it, and checking first spares
    /// every later open a commit.
    fn create_table(&self) -> Result<(), redb::Error> {
        let exists = match self.database.begin_read()?.open_table(TABLE) {
            Ok(_) => true,
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(error) => return Err(error.into()),
        };
        if !exists {
            let txn = self.database.begin_write()?;
            txn.open_table(TABLE)?;
            txn.commit()?;
        }
        Ok(())
    }
}

impl Engine for RedbEngine {
    fn read(&self) -> Result<Box<dyn EngineRead + Send + Sync>, StoreError> {
        let txn = self.database.begin_read().map_err(read_error)?;
        let table = txn.open_table(TABLE).map_err(read_error)?;
        Ok(Box::new(RedbRead { table }))
    }

    fn write_group(
        &self,
        group: &mut dyn FnMut(&mut dyn EngineWrite) -> Result<GroupEnd, StoreError>,
    ) -> Result<GroupEnd, StoreError> {
        let txn = self.database.begin_write().map_err(write_error)?;
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
