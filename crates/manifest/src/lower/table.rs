//! `[table.NAME]`: DynamoDB-style tables, their keys, indexes and streams.

use std::collections::BTreeMap;

use serde_spanned::Spanned;

use super::Scope;
use crate::check;
use crate::error::Sink;
use crate::limits;
use crate::raw::{
    Named, RawGlobalIndex, RawKey, RawKeyType, RawLocalIndex, RawProjection, RawStreamView,
    RawTable,
};
use crate::spec::{IndexSpec, KeyAttribute, KeyType, Projection, StreamViewType, TableSpec};

/// What a table has declared so far, for the checks that span its keys and indexes.
#[derive(Default)]
struct Seen<'r> {
    /// The type of each key attribute, since DynamoDB allows one type per attribute name.
    attribute_types: BTreeMap<String, RawKeyType>,
    /// Global and local index names share one namespace.
    index_names: Vec<&'r str>,
}

pub(super) fn lower_tables(
    tables: Vec<Named<RawTable>>,
    sink: &mut Sink<'_>,
) -> BTreeMap<String, TableSpec> {
    let mut specs = BTreeMap::new();
    for Named { name, entry } in tables {
        let mut scope = Scope::new(sink, &entry);
        scope.name(&check::TABLE_NAME, &name);
        let Some(raw) = &entry.raw else {
            continue;
        };
        let spec = lower_table(name.get_ref(), raw, &mut scope);
        specs.insert(name.into_inner(), spec);
    }
    specs
}

fn lower_table(name: &str, raw: &RawTable, scope: &mut Scope<'_, '_>) -> TableSpec {
    let mut seen = Seen::default();
    let partition_key = key_attribute(&raw.partition_key, "", &mut seen, scope);
    let sort_key = raw.sort_key.as_ref();
    let sort_key = sort_key.map(|key| key_attribute(key, "", &mut seen, scope));
    distinct_keys(&raw.partition_key.name, raw.sort_key.as_ref(), "", scope);
    let global_secondary_indexes = raw.global_secondary_index.iter().enumerate();
    let global_secondary_indexes = global_secondary_indexes
        .map(|(index_idx, index)| lower_global_index(index_idx, index, &mut seen, scope))
        .collect();
    let local_secondary_indexes = raw.local_secondary_index.iter().enumerate();
    let local_secondary_indexes = local_secondary_indexes
        .map(|(index_idx, index)| {
            lower_local_index(index_idx, index, raw, &partition_key, &mut seen, scope)
        })
        .collect();
    let ttl_attribute = raw.ttl_attribute.as_ref();
    if let Some(ttl_attribute) = ttl_attribute.filter(|ttl| ttl.get_ref().is_empty()) {
        scope.error(ttl_attribute.span(), "ttl_attribute must not be empty");
    }
    TableSpec {
        name: name.to_owned(),
        partition_key,
        sort_key,
        global_secondary_indexes,
        local_secondary_indexes,
        stream: raw.stream.map(stream_view),
        ttl_attribute: ttl_attribute.map(|ttl| ttl.get_ref().clone()),
    }
}

fn lower_global_index<'r>(
    index_idx: usize,
    index: &'r RawGlobalIndex,
    seen: &mut Seen<'r>,
    scope: &mut Scope<'_, '_>,
) -> IndexSpec {
    let prefix = format!("global_secondary_index \"{}\": ", index.name.get_ref());
    if index_idx == limits::GLOBAL_SECONDARY_INDEXES_MAX {
        let n_max = limits::GLOBAL_SECONDARY_INDEXES_MAX;
        let message = format!("{prefix}a table has at most {n_max} global secondary indexes");
        scope.error(index.name.span(), message);
    }
    index_name(&index.name, &prefix, seen, scope);
    distinct_keys(
        &index.partition_key.name,
        index.sort_key.as_ref(),
        &prefix,
        scope,
    );
    let sort_key = index.sort_key.as_ref();
    IndexSpec {
        name: index.name.get_ref().clone(),
        partition_key: key_attribute(&index.partition_key, &prefix, seen, scope),
        sort_key: sort_key.map(|key| key_attribute(key, &prefix, seen, scope)),
        projection: projection(index.projection.as_ref(), &prefix, scope),
    }
}

/// A local index shares the table's partition key and needs the table to have a sort key too.
fn lower_local_index<'r>(
    index_idx: usize,
    index: &'r RawLocalIndex,
    table: &RawTable,
    partition_key: &KeyAttribute,
    seen: &mut Seen<'r>,
    scope: &mut Scope<'_, '_>,
) -> IndexSpec {
    let prefix = format!("local_secondary_index \"{}\": ", index.name.get_ref());
    if index_idx == limits::LOCAL_SECONDARY_INDEXES_MAX {
        let n_max = limits::LOCAL_SECONDARY_INDEXES_MAX;
        let message = format!("{prefix}a table has at most {n_max} local secondary indexes");
        scope.error(index.name.span(), message);
    }
    if table.sort_key.is_none() {
        let message = format!("{prefix}a local index needs the table to have a sort_key");
        scope.error(index.name.span(), message);
    }
    index_name(&index.name, &prefix, seen, scope);
    distinct_keys(
        &table.partition_key.name,
        Some(&index.sort_key),
        &prefix,
        scope,
    );
    IndexSpec {
        name: index.name.get_ref().clone(),
        partition_key: partition_key.clone(),
        sort_key: Some(key_attribute(&index.sort_key, &prefix, seen, scope)),
        projection: projection(index.projection.as_ref(), &prefix, scope),
    }
}

fn index_name<'r>(
    name: &'r Spanned<String>,
    prefix: &str,
    seen: &mut Seen<'r>,
    scope: &mut Scope<'_, '_>,
) {
    if let Err(why) = check::name(&check::TABLE_NAME, name.get_ref()) {
        scope.error(name.span(), format!("{prefix}{why}"));
    }
    if seen.index_names.contains(&name.get_ref().as_str()) {
        scope.error(
            name.span(),
            format!("{prefix}index name used twice in this table"),
        );
    }
    seen.index_names.push(name.get_ref());
}

fn distinct_keys(
    partition_key_name: &Spanned<String>,
    sort_key: Option<&RawKey>,
    prefix: &str,
    scope: &mut Scope<'_, '_>,
) {
    let same = sort_key.filter(|sort_key| sort_key.name.get_ref() == partition_key_name.get_ref());
    if let Some(sort_key) = same {
        scope.error(
            sort_key.name.span(),
            format!("{prefix}sort_key must differ from the partition key"),
        );
    }
}

fn key_attribute(
    key: &RawKey,
    prefix: &str,
    seen: &mut Seen<'_>,
    scope: &mut Scope<'_, '_>,
) -> KeyAttribute {
    let name = key.name.get_ref();
    let name_ok = !name.is_empty() && name.len() <= limits::KEY_ATTRIBUTE_NAME_BYTES_MAX;
    if !name_ok {
        let message = format!(
            "{prefix}key attribute name must be 1..={} bytes",
            limits::KEY_ATTRIBUTE_NAME_BYTES_MAX
        );
        scope.error(key.name.span(), message);
    }
    let kind = *seen.attribute_types.entry(name.clone()).or_insert(key.kind);
    if kind != key.kind {
        let message = format!(
            "{prefix}key attribute `{name}` is {} here but {} elsewhere in this table",
            type_name(key.kind),
            type_name(kind)
        );
        scope.error(key.name.span(), message);
    }
    let kind = match key.kind {
        RawKeyType::S => KeyType::S,
        RawKeyType::N => KeyType::N,
        RawKeyType::B => KeyType::B,
    };
    KeyAttribute {
        name: name.clone(),
        kind,
    }
}

fn type_name(kind: RawKeyType) -> &'static str {
    match kind {
        RawKeyType::S => "S",
        RawKeyType::N => "N",
        RawKeyType::B => "B",
    }
}

fn projection(
    projection: Option<&Spanned<RawProjection>>,
    prefix: &str,
    scope: &mut Scope<'_, '_>,
) -> Projection {
    let Some(projection) = projection else {
        return Projection::All;
    };
    match projection.get_ref() {
        RawProjection::Word(word) if word == "ALL" => Projection::All,
        RawProjection::Word(word) if word == "KEYS_ONLY" => Projection::KeysOnly,
        RawProjection::Word(word) => {
            let message = format!(
                "{prefix}projection `{word}` must be \"ALL\", \"KEYS_ONLY\" or a list of attribute names"
            );
            scope.error(projection.span(), message);
            Projection::All
        }
        RawProjection::Include(attributes) => {
            if attributes.is_empty() || attributes.iter().any(String::is_empty) {
                let message = format!(
                    "{prefix}projection list must name at least one attribute, and no empty ones"
                );
                scope.error(projection.span(), message);
            }
            Projection::Include(attributes.clone())
        }
    }
}

fn stream_view(view: RawStreamView) -> StreamViewType {
    match view {
        RawStreamView::KeysOnly => StreamViewType::KeysOnly,
        RawStreamView::NewImage => StreamViewType::NewImage,
        RawStreamView::OldImage => StreamViewType::OldImage,
        RawStreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
    }
}
