//! The catalog: table definitions in the store, mirrored in memory for the request path.
//!
//! Each definition is stored under `keys::catalog_key(name)` as `<id u64><version u64><JSON>`.
//! The version grows with every change, so a data-plane write can check inside its transaction,
//! by comparing 16 bytes, that the definition it validated against is still the current one
//! (see [`current_def`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use store::{ReadTxn, Store, StoreError, WriteTxn};

use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::schema::TableDef;
use crate::stored;

/// The in-memory copy of the catalog. Reads are lock-free.
pub struct Catalog {
    tables: ArcSwap<BTreeMap<String, Arc<TableDef>>>,
}

impl Catalog {
    /// Loads every table definition from the store.
    pub fn load(store: &Store) -> ApiResult<Catalog> {
        let read = store.read()?;
        let mut tables = BTreeMap::new();
        for def in read_all(&read)? {
            tables.insert(def.name.clone(), Arc::new(def));
        }
        Ok(Catalog {
            tables: ArcSwap::from_pointee(tables),
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<TableDef>> {
        self.tables.load().get(name).cloned()
    }

    /// The table, or DynamoDB's ResourceNotFoundException.
    pub fn require(&self, name: &str) -> ApiResult<Arc<TableDef>> {
        self.get(name)
            .ok_or_else(|| ApiError::table_not_found(name))
    }

    pub fn all(&self) -> Arc<BTreeMap<String, Arc<TableDef>>> {
        self.tables.load_full()
    }

    /// Records a committed change (a new or changed definition, or `None` for a deleted table).
    pub fn publish(&self, name: &str, def: Option<TableDef>) {
        let def = def.map(Arc::new);
        self.tables.rcu(|tables| {
            let mut tables = BTreeMap::clone(tables);
            match &def {
                Some(def) => {
                    // A slower writer must not put back an older version.
                    let newer = tables.get(name).is_none_or(|current| {
                        current.id != def.id || current.version <= def.version
                    });
                    if newer {
                        tables.insert(name.to_owned(), Arc::clone(def));
                    }
                }
                None => {
                    tables.remove(name);
                }
            }
            tables
        });
    }
}

fn encode(def: &TableDef) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(512);
    bytes.extend_from_slice(&def.id.to_be_bytes());
    bytes.extend_from_slice(&def.version.to_be_bytes());
    // A definition is plain data; serializing it cannot fail.
    bytes.extend_from_slice(&serde_json::to_vec(def).unwrap_or_default());
    bytes
}

/// The definition stored under `key`; its id, version and name are checked against the key and
/// the header (pair assertions: [`encode`] writes them from the same definition).
fn decode(key: &[u8], bytes: &[u8]) -> ApiResult<TableDef> {
    let Some((id, version, json)) = split_header(bytes) else {
        return Err(stored::corrupt(
            key,
            format!(
                "a table definition of {} bytes has no 16-byte id and version",
                bytes.len()
            ),
        ));
    };
    let def: TableDef = stored::json(key, json)?;
    if (def.id, def.version) != (id, version) {
        return Err(stored::corrupt(
            key,
            format!(
                "the table definition's header says id {id} version {version}, its JSON id {} version {}",
                def.id, def.version
            ),
        ));
    }
    if !key.ends_with(def.name.as_bytes()) {
        return Err(stored::corrupt(
            key,
            format!("the table definition is of table {:?}", def.name),
        ));
    }
    Ok(def)
}

/// A stored definition's id, version and JSON.
fn split_header(bytes: &[u8]) -> Option<(u64, u64, &[u8])> {
    let (id, rest) = bytes.split_first_chunk::<8>()?;
    let (version, json) = rest.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*id), u64::from_be_bytes(*version), json))
}

fn read_all(read: &ReadTxn) -> ApiResult<Vec<TableDef>> {
    let prefix = keys::catalog_prefix();
    let end = keys::prefix_end(&prefix);
    let mut defs = Vec::new();
    for entry in read.range(
        std::ops::Bound::Included(prefix.as_slice()),
        end.as_deref()
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        false,
    )? {
        let (key, value) = entry?;
        defs.push(decode(&key, &value)?);
    }
    Ok(defs)
}

/// The definition of a table as of this transaction.
pub fn read_def(txn: &WriteTxn<'_>, name: &str) -> ApiResult<Option<TableDef>> {
    let key = keys::catalog_key(name);
    txn.get(&key)?.map(|bytes| decode(&key, &bytes)).transpose()
}

/// Writes a definition (its version already advanced by the caller).
pub fn write_def(txn: &mut WriteTxn<'_>, def: &TableDef) -> Result<(), StoreError> {
    txn.put(&keys::catalog_key(&def.name), &encode(def))
}

pub fn delete_def(txn: &mut WriteTxn<'_>, name: &str) -> Result<(), StoreError> {
    txn.delete(&keys::catalog_key(name))
}

/// The definition a write must use: `expected` when it is still current (the common case, one
/// key read), the newer one when the table changed since the request was validated, or
/// ResourceNotFoundException when the table is gone.
pub fn current_def(txn: &WriteTxn<'_>, expected: &Arc<TableDef>) -> ApiResult<Arc<TableDef>> {
    let key = keys::catalog_key(&expected.name);
    let Some(bytes) = txn.get(&key)? else {
        return Err(ApiError::table_not_found(&expected.name));
    };
    let same = bytes.get(..8) == Some(&expected.id.to_be_bytes()[..])
        && bytes.get(8..16) == Some(&expected.version.to_be_bytes()[..]);
    if same {
        return Ok(Arc::clone(expected));
    }
    let def = decode(&key, &bytes)?;
    if def.id != expected.id {
        // The table was deleted and created again: the request was about the old one.
        return Err(ApiError::table_not_found(&expected.name));
    }
    Ok(Arc::new(def))
}

/// Allocates a new table id.
pub fn next_table_id(txn: &mut WriteTxn<'_>) -> Result<u64, StoreError> {
    let key = keys::sequence_key();
    // Absent: no table was ever created.
    let last = match txn.get(&key)? {
        Some(bytes) => stored::u64_value(&key, &bytes)?,
        None => 0,
    };
    let id = last + 1;
    txn.put(&key, &id.to_be_bytes())?;
    Ok(id)
}
