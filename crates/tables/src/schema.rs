//! A table's definition: keys, indexes, billing, stream and TTL settings. Stored as JSON in the
//! catalog; read on every request from an in-memory copy.

use items::{AttributeValue, Item};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::limits::{PARTITION_KEY_BYTES_MAX, SORT_KEY_BYTES_MAX};

/// A key attribute's scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn parse(text: &str) -> Option<ScalarType> {
        match text {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    fn matches(self, value: &AttributeValue) -> bool {
        matches!(
            (self, value),
            (ScalarType::S, AttributeValue::S(_))
                | (ScalarType::N, AttributeValue::N(_))
                | (ScalarType::B, AttributeValue::B(_))
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDef {
    pub name: String,
    pub kind: ScalarType,
}

/// The key schema of a table or an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    pub partition: KeyDef,
    pub sort: Option<KeyDef>,
}

impl KeySchema {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition.name.as_str())
            .chain(self.sort.iter().map(|k| k.name.as_str()))
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut schema =
            vec![serde_json::json!({"AttributeName": self.partition.name, "KeyType": "HASH"})];
        if let Some(sort) = &self.sort {
            schema.push(serde_json::json!({"AttributeName": sort.name, "KeyType": "RANGE"}));
        }
        serde_json::Value::Array(schema)
    }

    /// The key attributes of `item`, as an item.
    pub fn key_of(&self, item: &Item) -> Item {
        self.names()
            .filter_map(|name| item.get(name).map(|v| (name.to_owned(), v.clone())))
            .collect()
    }

    /// Checks a `Key` parameter: exactly these attributes, with these types, non-empty and within
    /// the key size limits. Returns the partition and sort key values.
    pub fn check_key<'a>(
        &self,
        key: &'a Item,
    ) -> ApiResult<(&'a AttributeValue, Option<&'a AttributeValue>)> {
        let expected = 1 + usize::from(self.sort.is_some());
        let mismatch =
            || ApiError::validation("The provided key element does not match the schema");
        if key.len() != expected {
            return Err(mismatch());
        }
        let pk = key.get(&self.partition.name).ok_or_else(mismatch)?;
        check_key_value(&self.partition, pk, PARTITION_KEY_BYTES_MAX, true)?;
        let sk = match &self.sort {
            Some(sort) => {
                let sk = key.get(&sort.name).ok_or_else(mismatch)?;
                check_key_value(sort, sk, SORT_KEY_BYTES_MAX, false)?;
                Some(sk)
            }
            None => None,
        };
        Ok((pk, sk))
    }

    /// Checks the key attributes of a full item being written (PutItem): present, typed, sized.
    pub fn check_item_key<'a>(
        &self,
        item: &'a Item,
    ) -> ApiResult<(&'a AttributeValue, Option<&'a AttributeValue>)> {
        let pk = item.get(&self.partition.name).ok_or_else(|| {
            ApiError::validation(format!(
                "One or more parameter values were invalid: Missing the key {} in the item",
                self.partition.name
            ))
        })?;
        check_item_key_value(&self.partition, pk, PARTITION_KEY_BYTES_MAX, true)?;
        let sk = match &self.sort {
            Some(sort) => {
                let sk = item.get(&sort.name).ok_or_else(|| {
                    ApiError::validation(format!(
                        "One or more parameter values were invalid: Missing the key {} in the item",
                        sort.name
                    ))
                })?;
                check_item_key_value(sort, sk, SORT_KEY_BYTES_MAX, false)?;
                Some(sk)
            }
            None => None,
        };
        Ok((pk, sk))
    }

    /// The values of an index key in an item, when the item has all of them with the right
    /// types (otherwise the item is not in the index: sparse indexes).
    pub fn index_values<'a>(
        &self,
        item: &'a Item,
    ) -> Option<(&'a AttributeValue, Option<&'a AttributeValue>)> {
        let pk = item
            .get(&self.partition.name)
            .filter(|v| self.partition.kind.matches(v))?;
        let sk = match &self.sort {
            Some(sort) => Some(item.get(&sort.name).filter(|v| sort.kind.matches(v))?),
            None => None,
        };
        Some((pk, sk))
    }
}

fn key_value_len(value: &AttributeValue) -> usize {
    keys::scalar_bytes(value).len()
}

fn check_key_value(
    def: &KeyDef,
    value: &AttributeValue,
    max: usize,
    partition: bool,
) -> ApiResult<()> {
    if !def.kind.matches(value) {
        return Err(ApiError::validation(
            "The provided key element does not match the schema",
        ));
    }
    check_key_size(def, value, max, partition)
}

fn check_item_key_value(
    def: &KeyDef,
    value: &AttributeValue,
    max: usize,
    partition: bool,
) -> ApiResult<()> {
    if !def.kind.matches(value) {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
            def.name,
            def.kind.as_str(),
            value.type_name()
        )));
    }
    check_key_size(def, value, max, partition)
}

fn check_key_size(
    def: &KeyDef,
    value: &AttributeValue,
    max: usize,
    partition: bool,
) -> ApiResult<()> {
    let len = key_value_len(value);
    if len == 0 || matches!(value, AttributeValue::S(s) if s.is_empty()) {
        return Err(ApiError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {}",
            def.name
        )));
    }
    if let AttributeValue::S(_) | AttributeValue::B(_) = value
        && len > max
    {
        let which = if partition {
            "Hash primary key"
        } else {
            "Range Key"
        };
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Size of {which} is too large: {len} bytes (max {max})"
        )));
    }
    Ok(())
}

/// Which attributes an index keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionDef {
    All,
    KeysOnly,
    Include(Vec<String>),
}

impl ProjectionDef {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ProjectionDef::All => serde_json::json!({"ProjectionType": "ALL"}),
            ProjectionDef::KeysOnly => serde_json::json!({"ProjectionType": "KEYS_ONLY"}),
            ProjectionDef::Include(names) => {
                serde_json::json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": names})
            }
        }
    }
}

/// Provisioned throughput, kept only to be described (rondo does not throttle by capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub read: i64,
    pub write: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexStatus {
    /// Being filled from the table's existing items; not readable yet.
    Creating,
    Active,
}

/// A global or local secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// The index's space in the keyspace (1..=253), never reused within its table.
    pub space: u8,
    pub name: String,
    pub global: bool,
    pub keys: KeySchema,
    pub projection: ProjectionDef,
    pub throughput: Option<Throughput>,
    pub status: IndexStatus,
}

impl IndexDef {
    /// The item as this index stores it: its projection plus the table's and the index's keys.
    pub fn project(&self, table_keys: &KeySchema, item: &Item) -> Item {
        match &self.projection {
            ProjectionDef::All => item.clone(),
            ProjectionDef::KeysOnly | ProjectionDef::Include(_) => item
                .iter()
                .filter(|(name, _)| {
                    table_keys.is_key(name)
                        || self.keys.is_key(name)
                        || matches!(&self.projection, ProjectionDef::Include(names) if names.iter().any(|n| n == *name))
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDef {
    /// The stream's id in the store (its records and metadata), assigned when the definition
    /// that enables it is committed; 0 until then. Every enabling makes a new stream.
    #[serde(default)]
    pub id: u64,
    /// KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES.
    pub view_type: String,
    /// The stream's label: the time it was enabled (`2026-11-27T12:00:00.000`).
    pub label: String,
}

/// Everything the catalog knows of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: u64,
    /// Grows with every change of the definition.
    pub version: u64,
    pub name: String,
    pub keys: KeySchema,
    /// Every attribute definition given (key attributes of the table and its indexes).
    pub attributes: Vec<KeyDef>,
    pub indexes: Vec<IndexDef>,
    /// `None` is PAY_PER_REQUEST.
    pub throughput: Option<Throughput>,
    pub stream: Option<StreamDef>,
    /// The TTL attribute, when TTL is enabled.
    pub ttl_attribute: Option<String>,
    /// TTL was enabled on a table with items, and the expiry queue is still being filled.
    pub ttl_backfill_pending: bool,
    /// DynamoDB's TableId (a UUID), fixed at creation.
    pub uuid: String,
    pub deletion_protection: bool,
    pub table_class: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Seconds since the epoch.
    pub created_at: f64,
    /// The next free index space.
    pub next_space: u8,
}

impl TableDef {
    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// Every attribute that is a key of the table or of one of its indexes.
    pub fn is_any_key(&self, name: &str) -> bool {
        self.keys.is_key(name) || self.indexes.iter().any(|i| i.keys.is_key(name))
    }

    /// Checks that an item being written has valid values for the keys of every index it will be
    /// in: an index key attribute with the wrong type is refused, as DynamoDB refuses it.
    pub fn check_index_keys(&self, item: &Item) -> ApiResult<()> {
        for index in &self.indexes {
            for def in std::iter::once(&index.keys.partition).chain(index.keys.sort.as_ref()) {
                if let Some(value) = item.get(&def.name) {
                    if !def.kind.matches(value) {
                        return Err(ApiError::validation(format!(
                            "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                            def.name,
                            def.kind.as_str(),
                            value.type_name(),
                            index.name
                        )));
                    }
                    if key_value_len(value) == 0 {
                        return Err(ApiError::validation(format!(
                            "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {}",
                            index.name, def.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
