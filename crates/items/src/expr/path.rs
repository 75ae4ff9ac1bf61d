//! Document paths (`a.b[2].c`) with names already resolved, reading a value at a path, and
//! projecting an item onto paths.

use std::collections::BTreeMap;
use std::fmt;

use crate::expr::ast::{RawElem, RawPath};
use crate::expr::condition::undefined_name_message;
use crate::expr::{Fault, Placeholders};
use crate::{AttributeValue, Item};

/// A document path with names and placeholders already resolved: `a.b[2].c`.
///
/// Every path the parsers produce starts with an attribute name and has at least one element.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElem>);

/// One step of a document path: a map key (or the top-level attribute name), or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

impl Path {
    /// The top-level attribute name (empty for a path that does not start with a name, which no
    /// parser produces).
    pub fn top(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(name)) => name,
            _ => "",
        }
    }

    /// The value at this path, if the item has one there.
    pub fn get<'i>(&self, item: &'i Item) -> Option<&'i AttributeValue> {
        let (first, rest) = self.0.split_first()?;
        let PathElem::Attr(name) = first else {
            return None;
        };
        rest.iter()
            .try_fold(item.get(name)?, |value, elem| child(value, elem))
    }
}

/// DynamoDB's rendering in messages: `[a, b, [2], c]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (elem_idx, elem) in self.0.iter().enumerate() {
            if elem_idx > 0 {
                f.write_str(", ")?;
            }
            match elem {
                PathElem::Attr(name) => f.write_str(name)?,
                PathElem::Index(index) => write!(f, "[{index}]")?,
            }
        }
        f.write_str("]")
    }
}

/// The element of a map or list that `elem` names, if `value` has it.
pub(crate) fn child<'v>(value: &'v AttributeValue, elem: &PathElem) -> Option<&'v AttributeValue> {
    match (value, elem) {
        (AttributeValue::M(map), PathElem::Attr(name)) => map.get(name),
        (AttributeValue::L(list), PathElem::Index(index)) => list.get(*index),
        _ => None,
    }
}

/// The same, for changing the element in place.
pub(crate) fn child_mut<'v>(
    value: &'v mut AttributeValue,
    elem: &PathElem,
) -> Option<&'v mut AttributeValue> {
    match (value, elem) {
        (AttributeValue::M(map), PathElem::Attr(name)) => map.get_mut(name),
        (AttributeValue::L(list), PathElem::Index(index)) => list.get_mut(*index),
        _ => None,
    }
}

/// A path as written, with its `#aliases` looked up (and marked used).
pub(crate) fn resolve_path(raw: &RawPath, ph: &mut Placeholders) -> Result<Path, Fault> {
    raw.elems
        .iter()
        .map(|elem| match elem {
            RawElem::Name(name) => Ok(PathElem::Attr(name.clone())),
            RawElem::Alias(alias) => match ph.name(alias) {
                Some(name) => Ok(PathElem::Attr(name.to_owned())),
                None => Err(Fault::Invalid(undefined_name_message(alias))),
            },
            RawElem::Index(index) => Ok(PathElem::Index(*index)),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Path)
}

/// A path as written, with its `#aliases` looked up without marking them used; `None` when an
/// alias is not defined.
pub(crate) fn peek_path(raw: &RawPath, ph: &Placeholders) -> Option<Path> {
    raw.elems
        .iter()
        .map(|elem| match elem {
            RawElem::Name(name) => Some(PathElem::Attr(name.clone())),
            RawElem::Alias(alias) => ph
                .peek_name(alias)
                .map(|name| PathElem::Attr(name.to_owned())),
            RawElem::Index(index) => Some(PathElem::Index(*index)),
        })
        .collect::<Option<Vec<_>>>()
        .map(Path)
}

/// No two paths may be the same, or one inside the other (they overlap), or use a step as a map
/// key in one and as a list index in the other (they conflict). The first overlap is reported,
/// else the first conflict.
pub(crate) fn check_no_overlap(paths: &[&Path]) -> Result<(), Fault> {
    let mut conflict = None;
    for (later_idx, later) in paths.iter().enumerate() {
        for earlier in &paths[..later_idx] {
            match relation(earlier, later) {
                Relation::Apart => {}
                Relation::Overlap => {
                    return Err(Fault::Invalid(format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}"
                    )));
                }
                Relation::Conflict => {
                    conflict.get_or_insert_with(|| {
                        format!(
                            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}"
                        )
                    });
                }
            }
        }
    }
    match conflict {
        Some(message) => Err(Fault::Invalid(message)),
        None => Ok(()),
    }
}

enum Relation {
    Apart,
    /// One path is the other or lies inside it.
    Overlap,
    /// The paths agree up to a step that is a map key in one and a list index in the other.
    Conflict,
}

fn relation(one: &Path, two: &Path) -> Relation {
    for (elem_one, elem_two) in one.0.iter().zip(&two.0) {
        match (elem_one, elem_two) {
            (PathElem::Attr(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Attr(_)) => {
                return Relation::Conflict;
            }
            _ if elem_one != elem_two => return Relation::Apart,
            _ => {}
        }
    }
    Relation::Overlap
}

/// Projects an item to arbitrary paths, as DynamoDB returns a projection: each path that exists
/// in the item is copied with its structure (maps keep only the projected keys, lists keep the
/// projected elements in index order, closed up). Paths that do not exist are left out.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut tree = ProjectedMap::new();
    for path in paths {
        if let Some(value) = path.get(item) {
            insert(&mut tree, &path.0, value);
        }
    }
    tree.into_iter()
        .map(|(name, node)| (name, node.into_value()))
        .collect()
}

type ProjectedMap = BTreeMap<String, Projected>;

/// A projection under construction: whole values at the leaves, partial maps and lists above.
enum Projected {
    Whole(AttributeValue),
    Map(ProjectedMap),
    List(BTreeMap<usize, Projected>),
}

impl Projected {
    fn into_value(self) -> AttributeValue {
        match self {
            Projected::Whole(value) => value,
            Projected::Map(map) => AttributeValue::M(
                map.into_iter()
                    .map(|(name, node)| (name, node.into_value()))
                    .collect(),
            ),
            Projected::List(list) => {
                AttributeValue::L(list.into_values().map(Projected::into_value).collect())
            }
        }
    }
}

/// Puts `value` (found at `elems`, the whole path) into the map level of the projection.
fn insert(map: &mut ProjectedMap, elems: &[PathElem], value: &AttributeValue) {
    let Some((PathElem::Attr(name), rest)) = elems.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert(name.clone(), Projected::Whole(value.clone()));
        return;
    }
    let node = map
        .entry(name.clone())
        .or_insert_with(|| empty_container(&rest[0]));
    insert_below(node, rest, value);
}

fn insert_below(node: &mut Projected, elems: &[PathElem], value: &AttributeValue) {
    match (node, elems.split_first()) {
        (Projected::Map(map), Some((PathElem::Attr(_), _))) => insert(map, elems, value),
        (Projected::List(list), Some((PathElem::Index(index), rest))) => {
            if rest.is_empty() {
                list.insert(*index, Projected::Whole(value.clone()));
                return;
            }
            let child = list
                .entry(*index)
                .or_insert_with(|| empty_container(&rest[0]));
            insert_below(child, rest, value);
        }
        // A whole value already covers everything below it; a map step into a list (or the
        // reverse) cannot exist in the item, so there is nothing to add.
        _ => {}
    }
}

fn empty_container(next: &PathElem) -> Projected {
    match next {
        PathElem::Attr(_) => Projected::Map(ProjectedMap::new()),
        PathElem::Index(_) => Projected::List(BTreeMap::new()),
    }
}
