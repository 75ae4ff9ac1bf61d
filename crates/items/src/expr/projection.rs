//! Projection expressions: the attributes (and nested parts of them) a read returns.

use crate::Item;
use crate::expr::ast::RawElem;
use crate::expr::condition::{check_path_names, undefined_name_message};
use crate::expr::parser::Parser;
use crate::expr::path::{check_no_overlap, project, resolve_path};
use crate::expr::{Fault, Path, Placeholders, check_text};

/// A parsed ProjectionExpression: its paths, names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    paths: Vec<Path>,
}

impl Projection {
    /// The projected paths, in text order.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The item restricted to the paths (nested paths and list indexes keep their structure, as
    /// DynamoDB returns them).
    pub fn apply(&self, item: &Item) -> Item {
        project(item, &self.paths)
    }
}

/// Parses and checks in DynamoDB's order: syntax, reserved words, undefined names, then
/// overlapping and conflicting paths.
pub(crate) fn parse(text: &str, ph: &mut Placeholders) -> Result<Projection, Fault> {
    check_text(text)?;
    let mut parser = Parser::new(text);
    let raw_paths = parser
        .projection()
        .map_err(|error| Fault::Invalid(parser.message(error)))?;
    for raw in &raw_paths {
        check_path_names(raw)?;
    }
    let undefined = raw_paths
        .iter()
        .flat_map(|raw| &raw.elems)
        .find_map(|elem| match elem {
            RawElem::Alias(alias) if !ph.has_name(alias) => Some(alias),
            _ => None,
        });
    if let Some(alias) = undefined {
        return Err(Fault::Invalid(undefined_name_message(alias)));
    }
    let paths = raw_paths
        .iter()
        .map(|raw| resolve_path(raw, ph))
        .collect::<Result<Vec<_>, _>>()?;
    check_no_overlap(&paths.iter().collect::<Vec<_>>())?;
    Ok(Projection { paths })
}
