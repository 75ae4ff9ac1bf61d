//! The manifest's `[table.NAME]` entries, made so: a missing table is created; an existing one
//! gets the manifest's global secondary indexes (added and removed), stream and TTL settings.
//!
//! Tables created through the API and not named in the manifest are left alone: the manifest
//! declares what the app needs, it does not own every table of the node. A change DynamoDB
//! cannot make to a live table (its key schema, its local indexes) is an error naming the table;
//! the table is left as it was.

use std::sync::Arc;

use manifest::{IndexSpec, KeyAttribute, KeyType, Projection, StreamViewType, TableSpec};

use crate::Inner;
use crate::ddl::{self, stream_def};
use crate::error::ApiError;
use crate::keys;
use crate::schema::{
    IndexDef, IndexStatus, KeyDef, KeySchema, ProjectionDef, ScalarType, TableDef,
};

/// A manifest table that cannot be made so.
#[derive(Debug, thiserror::Error)]
#[error("table \"{table}\": {message}")]
pub struct ManifestError {
    pub table: String,
    pub message: String,
}

pub async fn apply(inner: &Inner, specs: &[TableSpec]) -> Result<Vec<String>, ManifestError> {
    let mut changes = Vec::new();
    let _ddl = inner.ddl.lock().await;
    for spec in specs {
        let fail = |error: ApiError| ManifestError {
            table: spec.name.clone(),
            message: error.message,
        };
        let wanted = table_def(spec);
        match inner.catalog.get(&spec.name) {
            None => {
                ddl::create(inner, wanted).await.map_err(fail)?;
                changes.push(format!("table {}: created", spec.name));
            }
            Some(current) => {
                let (def, removed, notes) =
                    reconcile(&current, wanted).map_err(|message| ManifestError {
                        table: spec.name.clone(),
                        message,
                    })?;
                if !notes.is_empty() {
                    ddl::commit_change(inner, &current, def, removed)
                        .await
                        .map_err(fail)?;
                    inner.work.notify_one();
                    changes.extend(
                        notes
                            .into_iter()
                            .map(|n| format!("table {}: {n}", spec.name)),
                    );
                }
            }
        }
    }
    Ok(changes)
}

fn scalar(kind: KeyType) -> ScalarType {
    match kind {
        KeyType::S => ScalarType::S,
        KeyType::N => ScalarType::N,
        KeyType::B => ScalarType::B,
    }
}

fn key_def(key: &KeyAttribute) -> KeyDef {
    KeyDef {
        name: key.name.clone(),
        kind: scalar(key.kind),
    }
}

fn index_def(spec: &IndexSpec, global: bool, space: u8) -> IndexDef {
    IndexDef {
        space,
        name: spec.name.clone(),
        global,
        keys: KeySchema {
            partition: key_def(&spec.partition_key),
            sort: spec.sort_key.as_ref().map(key_def),
        },
        projection: match &spec.projection {
            Projection::All => ProjectionDef::All,
            Projection::KeysOnly => ProjectionDef::KeysOnly,
            Projection::Include(names) => ProjectionDef::Include(names.clone()),
        },
        throughput: None,
        status: IndexStatus::Active,
    }
}

fn view_type(view: StreamViewType) -> &'static str {
    match view {
        StreamViewType::KeysOnly => "KEYS_ONLY",
        StreamViewType::NewImage => "NEW_IMAGE",
        StreamViewType::OldImage => "OLD_IMAGE",
        StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
    }
}

/// The definition a manifest entry asks for (id and spaces are assigned on creation).
fn table_def(spec: &TableSpec) -> TableDef {
    let keys = KeySchema {
        partition: key_def(&spec.partition_key),
        sort: spec.sort_key.as_ref().map(key_def),
    };
    let mut indexes = Vec::new();
    let mut space = 1u8;
    for (specs, global) in [
        (&spec.global_secondary_indexes, true),
        (&spec.local_secondary_indexes, false),
    ] {
        for index in specs {
            indexes.push(index_def(index, global, space));
            space += 1;
        }
    }
    let mut attributes: Vec<KeyDef> = Vec::new();
    let table_keys = std::iter::once(&keys.partition).chain(keys.sort.as_ref());
    let index_keys = indexes
        .iter()
        .flat_map(|i| std::iter::once(&i.keys.partition).chain(i.keys.sort.as_ref()));
    for key in table_keys.chain(index_keys) {
        if !attributes.iter().any(|a| a.name == key.name) {
            attributes.push(key.clone());
        }
    }
    TableDef {
        id: 0,
        version: 1,
        name: spec.name.clone(),
        keys,
        attributes,
        indexes,
        throughput: None,
        stream: spec.stream.map(|v| stream_def(view_type(v).to_owned())),
        ttl_attribute: spec.ttl_attribute.clone(),
        ttl_backfill_pending: false,
        uuid: uuid::Uuid::new_v4().to_string(),
        deletion_protection: false,
        table_class: None,
        tags: Vec::new(),
        created_at: ddl::now_f64(),
        next_space: space,
    }
}

type Reconciled = (TableDef, Vec<u8>, Vec<String>);

/// The existing definition changed to match the manifest, the index spaces to drop, and a
/// note per change (empty when nothing differs).
fn reconcile(current: &Arc<TableDef>, wanted: TableDef) -> Result<Reconciled, String> {
    if current.keys != wanted.keys {
        return Err(format!(
            "its key schema cannot change while it exists (it is {}; the manifest says {}); delete the table to change it",
            describe_keys(&current.keys),
            describe_keys(&wanted.keys)
        ));
    }
    let local = |def: &TableDef| -> Vec<(String, KeySchema, ProjectionDef)> {
        def.indexes
            .iter()
            .filter(|i| !i.global)
            .map(|i| (i.name.clone(), i.keys.clone(), i.projection.clone()))
            .collect()
    };
    if local(current) != local(&wanted) {
        return Err(
            "its local secondary indexes can only be set when the table is created".to_owned(),
        );
    }
    let mut def = TableDef::clone(current);
    let mut notes = Vec::new();
    let mut removed = Vec::new();

    // Global indexes: drop the ones that are gone or changed, add the new ones.
    def.indexes.retain(|index| {
        let keep = !index.global
            || wanted.indexes.iter().any(|w| {
                w.global
                    && w.name == index.name
                    && w.keys == index.keys
                    && w.projection == index.projection
            });
        if !keep {
            removed.push(index.space);
            notes.push(format!("index {} removed", index.name));
        }
        keep
    });
    for index in wanted.indexes.iter().filter(|i| i.global) {
        if def.index(&index.name).is_none() {
            if def.next_space >= keys::TTL_SPACE {
                return Err("it has created too many indexes over its lifetime".to_owned());
            }
            let mut index = index.clone();
            index.space = def.next_space;
            index.status = IndexStatus::Creating;
            def.next_space += 1;
            notes.push(format!("index {} added", index.name));
            def.indexes.push(index);
        }
    }
    let mut attributes = wanted.attributes.clone();
    attributes.retain(|a| def.is_any_key(&a.name));
    def.attributes = attributes;

    let current_view = current.stream.as_ref().map(|s| s.view_type.as_str());
    let wanted_view = wanted.stream.as_ref().map(|s| s.view_type.as_str());
    if current_view != wanted_view {
        def.stream = wanted.stream.clone();
        notes.push(match wanted_view {
            Some(view) => format!("stream {view}"),
            None => "stream disabled".to_owned(),
        });
    }
    if current.ttl_attribute != wanted.ttl_attribute {
        if current.ttl_attribute.is_some() {
            removed.push(keys::TTL_SPACE);
        }
        def.ttl_attribute = wanted.ttl_attribute.clone();
        def.ttl_backfill_pending = def.ttl_attribute.is_some();
        notes.push(match &def.ttl_attribute {
            Some(attribute) => format!("TTL on {attribute}"),
            None => "TTL disabled".to_owned(),
        });
    }
    Ok((def, removed, notes))
}

fn describe_keys(keys: &KeySchema) -> String {
    match &keys.sort {
        Some(sort) => format!(
            "{}:{} + {}:{}",
            keys.partition.name,
            keys.partition.kind.as_str(),
            sort.name,
            sort.kind.as_str()
        ),
        None => format!("{}:{}", keys.partition.name, keys.partition.kind.as_str()),
    }
}
