//! Condition and filter expressions: DynamoDB's checks after the syntax, in DynamoDB's order,
//! and resolution into the form `eval.rs` evaluates.

use std::convert::Infallible;

use crate::AttributeValue;
use crate::expr::ast::{Comparator, Node, NodeKind, RawElem, RawPath};
use crate::expr::limits::{IN_OPERANDS_MAX, OPERATORS_MAX};
use crate::expr::parser::Parser;
use crate::expr::path::{Path, peek_path, resolve_path};
use crate::expr::reserved::is_reserved;
use crate::expr::{Fault, Placeholders, check_text};

/// A parsed ConditionExpression or FilterExpression, with the values from
/// ExpressionAttributeValues resolved (cloned) into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub(crate) root: Cond,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Compare(Comparator, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    /// `attribute_type(operand, :type)`, with the type name (`"SS"`, …).
    Type(Operand, String),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(AttributeValue),
    Size(Box<Operand>),
}

/// The functions of conditions, with their number of operands.
const FUNCTIONS: [(&str, usize); 6] = [
    ("attribute_exists", 1),
    ("attribute_not_exists", 1),
    ("attribute_type", 2),
    ("begins_with", 2),
    ("contains", 2),
    ("size", 1),
];

/// The type names `attribute_type` accepts, in the order DynamoDB lists them in its message.
const TYPE_NAMES: [&str; 10] = ["B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M"];

pub(crate) fn parse(text: &str, ph: &mut Placeholders) -> Result<Condition, Fault> {
    let node = parse_checked(text, ph)?;
    let root = resolve_condition(&node, ph)?;
    Ok(Condition { root })
}

/// Parses a condition and runs every check, leaving resolution to the caller (key conditions
/// check their shape on the tree first).
pub(crate) fn parse_checked(text: &str, ph: &Placeholders) -> Result<Node, Fault> {
    check_text(text)?;
    let mut parser = Parser::new(text);
    let node = parser
        .condition()
        .map_err(|error| Fault::Invalid(parser.message(error)))?;
    check_operator_count(&node)?;
    if parser.has_redundant_parens() {
        return Err(Fault::Invalid(
            "The expression has redundant parentheses;".to_owned(),
        ));
    }
    post_order(&node, &mut check_function_known)?;
    check_misused_functions(&node)?;
    check_reserved_words(&node)?;
    for_each_leaf(&node, &mut |leaf| check_leaf(leaf, ph))?;
    Ok(node)
}

fn check_operator_count(node: &Node) -> Result<(), Fault> {
    let mut n_operators = 0;
    post_order(node, &mut |node| {
        if !matches!(
            node.kind,
            NodeKind::Path(_) | NodeKind::Value(_) | NodeKind::Paren(_)
        ) {
            n_operators += 1;
        }
        Ok(())
    })?;
    if n_operators > OPERATORS_MAX {
        return Err(Fault::Invalid(format!(
            "The expression contains too many operators; operator count: {n_operators}"
        )));
    }
    Ok(())
}

fn check_function_known(node: &Node) -> Result<(), Fault> {
    match &node.kind {
        NodeKind::Call { name, .. } if operand_count(name).is_none() => Err(Fault::Invalid(
            format!("Invalid function name; function: {name}"),
        )),
        _ => Ok(()),
    }
}

/// Functions other than `size` cannot be operands, and `size` cannot be a condition.
fn check_misused_functions(root: &Node) -> Result<(), Fault> {
    post_order(root, &mut |node| match &node.kind {
        NodeKind::Compare { left, right, .. } => check_operands_not_conditions([&**left, &**right]),
        NodeKind::Between {
            subject, low, high, ..
        } => check_operands_not_conditions([&**subject, &**low, &**high]),
        NodeKind::In { subject, list, .. } => {
            check_operands_not_conditions(std::iter::once(&**subject).chain(list))
        }
        NodeKind::Call { args, .. } => check_operands_not_conditions(args),
        NodeKind::And { left, right, .. } | NodeKind::Or { left, right, .. } => {
            check_not_size(left)?;
            check_not_size(right)
        }
        NodeKind::Not { inner } => check_not_size(inner),
        _ => Ok(()),
    })?;
    check_not_size(root)
}

fn check_operands_not_conditions<'n>(
    operands: impl IntoIterator<Item = &'n Node>,
) -> Result<(), Fault> {
    for operand in operands {
        if let NodeKind::Call { name, .. } = &operand.unparen().kind
            && name != "size"
        {
            return Err(misused(name));
        }
    }
    Ok(())
}

fn check_not_size(condition: &Node) -> Result<(), Fault> {
    match &condition.unparen().kind {
        NodeKind::Call { name, .. } if name == "size" => Err(misused(name)),
        _ => Ok(()),
    }
}

fn misused(function: &str) -> Fault {
    Fault::Invalid(format!(
        "The function is not allowed to be used this way in an expression; function: {function}"
    ))
}

/// Plain attribute names must not be reserved words; the first one in the text is reported.
fn check_reserved_words(root: &Node) -> Result<(), Fault> {
    pre_order(root, &mut |node| match &node.kind {
        NodeKind::Path(path) => check_path_names(path),
        _ => Ok(()),
    })
}

pub(crate) fn check_path_names(path: &RawPath) -> Result<(), Fault> {
    for elem in &path.elems {
        if let RawElem::Name(name) = elem
            && is_reserved(name)
        {
            return Err(Fault::Invalid(format!(
                "Attribute name is a reserved keyword; reserved keyword: {name}"
            )));
        }
    }
    Ok(())
}

/// The faults of one leaf condition (a comparison, BETWEEN, IN or function), each the first of
/// its kind. DynamoDB reports the first leaf with a fault, and in it the kinds in this order.
#[derive(Default)]
struct LeafFaults {
    undefined: Option<String>,
    operand_count: Option<String>,
    not_distinct: Option<String>,
    operand_type: Option<String>,
}

impl LeafFaults {
    fn first(self) -> Option<String> {
        self.undefined
            .or(self.operand_count)
            .or(self.not_distinct)
            .or(self.operand_type)
    }
}

fn note(slot: &mut Option<String>, message: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(message());
    }
}

fn check_leaf(leaf: &Node, ph: &Placeholders) -> Result<(), Fault> {
    let mut faults = LeafFaults::default();
    let Ok(()) = pre_order::<Infallible>(leaf, &mut |node| {
        match &node.kind {
            NodeKind::Path(path) => {
                let undefined = path.elems.iter().find_map(|elem| match elem {
                    RawElem::Alias(alias) if !ph.has_name(alias) => Some(alias),
                    _ => None,
                });
                if let Some(alias) = undefined {
                    note(&mut faults.undefined, || undefined_name_message(alias));
                }
            }
            NodeKind::Value(key) if !ph.has_value(key) => {
                note(&mut faults.undefined, || undefined_value_message(key));
            }
            _ => {}
        }
        Ok(())
    });
    let Ok(()) = post_order::<Infallible>(leaf, &mut |node| {
        if let NodeKind::Call { name, args } = &node.kind {
            check_call(name, args, ph, &mut faults);
        }
        Ok(())
    });
    match &leaf.kind {
        NodeKind::Compare {
            op, left, right, ..
        } => check_comparison(*op, left, right, ph, &mut faults),
        NodeKind::Between {
            subject, low, high, ..
        } => check_between(subject, low, high, ph, &mut faults),
        NodeKind::In { list, .. } if list.len() > IN_OPERANDS_MAX => {
            note(&mut faults.operand_type, || {
                format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    list.len()
                )
            });
        }
        _ => {}
    }
    match faults.first() {
        Some(message) => Err(Fault::Invalid(message)),
        None => Ok(()),
    }
}

fn check_call(name: &str, args: &[Node], ph: &Placeholders, faults: &mut LeafFaults) {
    let Some(n_operands) = operand_count(name) else {
        return;
    };
    if args.len() != n_operands {
        note(&mut faults.operand_count, || {
            format!(
                "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                args.len()
            )
        });
        return;
    }
    if let [first, second] = args {
        check_distinct(name, first, second, ph, faults);
    }
    let wrong_type = |operand_type: &str| {
        format!(
            "Incorrect operand type for operator or function; operator or function: {name}, operand type: {operand_type}"
        )
    };
    match (name, args) {
        ("attribute_exists" | "attribute_not_exists", [operand])
            if !matches!(operand.unparen().kind, NodeKind::Path(_)) =>
        {
            note(&mut faults.operand_type, || {
                format!(
                    "Operator or function requires a document path; operator or function: {name}"
                )
            });
        }
        ("begins_with", _) => {
            let bad = args
                .iter()
                .filter_map(|arg| operand_type(arg, ph))
                .find(|t| !matches!(*t, "S" | "B"));
            if let Some(bad) = bad {
                note(&mut faults.operand_type, || wrong_type(bad));
            }
        }
        ("attribute_type", [_, type_operand]) => match literal(type_operand, ph) {
            Some(AttributeValue::S(type_name)) => {
                if !TYPE_NAMES.contains(&type_name.as_str()) {
                    note(&mut faults.operand_type, || {
                        format!(
                            "Invalid attribute type name found; type: {type_name}, valid types: {{{}}}",
                            TYPE_NAMES.join(",")
                        )
                    });
                }
            }
            _ => {
                let shown =
                    operand_type(type_operand, ph).unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
                note(&mut faults.operand_type, || wrong_type(shown));
            }
        },
        ("size", [operand]) => {
            if let Some(bad) =
                operand_type(operand, ph).filter(|t| matches!(*t, "N" | "BOOL" | "NULL"))
            {
                note(&mut faults.operand_type, || wrong_type(bad));
            }
        }
        _ => {}
    }
}

fn check_comparison(
    op: Comparator,
    left: &Node,
    right: &Node,
    ph: &Placeholders,
    faults: &mut LeafFaults,
) {
    check_distinct(op.symbol(), left, right, ph, faults);
    let ordering = !matches!(op, Comparator::Equal | Comparator::NotEqual);
    if ordering {
        check_orderable(op.symbol(), [left, right], ph, faults);
    }
}

fn check_between(
    subject: &Node,
    low: &Node,
    high: &Node,
    ph: &Placeholders,
    faults: &mut LeafFaults,
) {
    check_orderable("BETWEEN", [subject, low, high], ph, faults);
    let (Some(low), Some(high)) = (literal(low, ph), literal(high, ph)) else {
        return;
    };
    let bounds = || {
        format!(
            "lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
            show_value(low),
            show_value(high)
        )
    };
    if low.type_name() != high.type_name() {
        note(&mut faults.operand_type, || {
            format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; {}",
                bounds()
            )
        });
    } else if crate::expr::eval::order(low, high) == Some(std::cmp::Ordering::Greater) {
        note(&mut faults.operand_type, || {
            format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {}",
                bounds()
            )
        });
    }
}

/// Values given for an ordering comparison must be strings, numbers or binaries.
fn check_orderable<'n>(
    operator: &str,
    operands: impl IntoIterator<Item = &'n Node>,
    ph: &Placeholders,
    faults: &mut LeafFaults,
) {
    let bad = operands
        .into_iter()
        .filter_map(|operand| literal(operand, ph))
        .map(AttributeValue::type_name)
        .find(|type_name| !matches!(*type_name, "S" | "N" | "B"));
    if let Some(bad) = bad {
        note(&mut faults.operand_type, || {
            format!(
                "Incorrect operand type for operator or function; operator or function: {operator}, operand type: {bad}"
            )
        });
    }
}

/// Comparing a path with itself is refused.
fn check_distinct(
    operator: &str,
    first: &Node,
    second: &Node,
    ph: &Placeholders,
    faults: &mut LeafFaults,
) {
    let (NodeKind::Path(first), NodeKind::Path(second)) =
        (&first.unparen().kind, &second.unparen().kind)
    else {
        return;
    };
    let (Some(first), Some(second)) = (peek_path(first, ph), peek_path(second, ph)) else {
        return;
    };
    if first == second {
        note(&mut faults.not_distinct, || {
            format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {first}"
            )
        });
    }
}

/// DynamoDB's rendering of a scalar value in messages: `{S:abc}`, `{N:12.5}`.
fn show_value(value: &AttributeValue) -> String {
    let type_name = value.type_name();
    let shown = match value.to_json().get(type_name) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    format!("{{{type_name}:{shown}}}")
}

/// The value a `:placeholder` operand stands for, looking through parentheses.
fn literal<'a>(node: &Node, ph: &Placeholders<'a>) -> Option<&'a AttributeValue> {
    match &node.unparen().kind {
        NodeKind::Value(key) => ph.peek_value(key),
        _ => None,
    }
}

/// The type an operand is known to have before evaluation: a value's, or `N` for `size()`.
fn operand_type(node: &Node, ph: &Placeholders) -> Option<&'static str> {
    match &node.unparen().kind {
        NodeKind::Value(key) => ph.peek_value(key).map(AttributeValue::type_name),
        NodeKind::Call { name, .. } if name == "size" => Some("N"),
        _ => None,
    }
}

fn operand_count(function: &str) -> Option<usize> {
    FUNCTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .map(|&(_, n_operands)| n_operands)
}

pub(crate) fn undefined_name_message(alias: &str) -> String {
    format!(
        "An expression attribute name used in the document path is not defined; attribute name: {alias}"
    )
}

pub(crate) fn undefined_value_message(key: &str) -> String {
    format!(
        "An expression attribute value used in expression is not defined; attribute value: {key}"
    )
}

// Resolution.

fn resolve_condition(node: &Node, ph: &mut Placeholders) -> Result<Cond, Fault> {
    let boxed = |node: &Node, ph: &mut Placeholders| resolve_condition(node, ph).map(Box::new);
    Ok(match &node.kind {
        NodeKind::Paren(inner) => resolve_condition(inner, ph)?,
        NodeKind::And { left, right, .. } => Cond::And(boxed(left, ph)?, boxed(right, ph)?),
        NodeKind::Or { left, right, .. } => Cond::Or(boxed(left, ph)?, boxed(right, ph)?),
        NodeKind::Not { inner } => Cond::Not(boxed(inner, ph)?),
        NodeKind::Compare {
            op, left, right, ..
        } => Cond::Compare(*op, resolve_operand(left, ph)?, resolve_operand(right, ph)?),
        NodeKind::Between {
            subject, low, high, ..
        } => Cond::Between(
            resolve_operand(subject, ph)?,
            resolve_operand(low, ph)?,
            resolve_operand(high, ph)?,
        ),
        NodeKind::In { subject, list, .. } => Cond::In(
            resolve_operand(subject, ph)?,
            list.iter()
                .map(|operand| resolve_operand(operand, ph))
                .collect::<Result<_, _>>()?,
        ),
        NodeKind::Call { name, args } => resolve_function(name, args, ph)?,
        NodeKind::Path(_) | NodeKind::Value(_) => {
            return Err(Fault::Invalid(
                "The expression is not a condition;".to_owned(),
            ));
        }
    })
}

fn resolve_function(name: &str, args: &[Node], ph: &mut Placeholders) -> Result<Cond, Fault> {
    let path = |node: &Node, ph: &mut Placeholders| match &node.unparen().kind {
        NodeKind::Path(raw) => resolve_path(raw, ph),
        _ => Err(Fault::Invalid(format!(
            "Operator or function requires a document path; operator or function: {name}"
        ))),
    };
    Ok(match (name, args) {
        ("attribute_exists", [operand]) => Cond::Exists(path(operand, ph)?),
        ("attribute_not_exists", [operand]) => Cond::NotExists(path(operand, ph)?),
        ("attribute_type", [operand, type_operand]) => {
            let operand = resolve_operand(operand, ph)?;
            match resolve_operand(type_operand, ph)? {
                Operand::Value(AttributeValue::S(type_name)) => Cond::Type(operand, type_name),
                _ => return Err(misused(name)),
            }
        }
        ("begins_with", [first, second]) => {
            Cond::BeginsWith(resolve_operand(first, ph)?, resolve_operand(second, ph)?)
        }
        ("contains", [first, second]) => {
            Cond::Contains(resolve_operand(first, ph)?, resolve_operand(second, ph)?)
        }
        _ => return Err(misused(name)),
    })
}

fn resolve_operand(node: &Node, ph: &mut Placeholders) -> Result<Operand, Fault> {
    match &node.kind {
        NodeKind::Paren(inner) => resolve_operand(inner, ph),
        NodeKind::Path(raw) => resolve_path(raw, ph).map(Operand::Path),
        NodeKind::Value(key) => match ph.value(key) {
            Some(value) => Ok(Operand::Value(value.clone())),
            None => Err(Fault::Invalid(undefined_value_message(key))),
        },
        NodeKind::Call { name, args } if name == "size" => match args.as_slice() {
            [operand] => Ok(Operand::Size(Box::new(resolve_operand(operand, ph)?))),
            _ => Err(misused(name)),
        },
        NodeKind::Call { name, .. } => Err(misused(name)),
        _ => Err(Fault::Invalid("A condition is not an operand;".to_owned())),
    }
}

// Traversal.

fn children(node: &Node) -> Vec<&Node> {
    match &node.kind {
        NodeKind::Path(_) | NodeKind::Value(_) => Vec::new(),
        NodeKind::Call { args, .. } => args.iter().collect(),
        NodeKind::Paren(inner) | NodeKind::Not { inner } => vec![inner],
        NodeKind::Compare { left, right, .. }
        | NodeKind::And { left, right, .. }
        | NodeKind::Or { left, right, .. } => vec![left, right],
        NodeKind::Between {
            subject, low, high, ..
        } => vec![subject, low, high],
        NodeKind::In { subject, list, .. } => std::iter::once(&**subject).chain(list).collect(),
    }
}

/// Visits `node` and then its descendants, in text order.
pub(crate) fn pre_order<'n, E>(
    node: &'n Node,
    visit: &mut impl FnMut(&'n Node) -> Result<(), E>,
) -> Result<(), E> {
    visit(node)?;
    children(node)
        .into_iter()
        .try_for_each(|child| pre_order(child, visit))
}

/// Visits the descendants of `node` in text order, each before its parent, then `node`.
pub(crate) fn post_order<'n, E>(
    node: &'n Node,
    visit: &mut impl FnMut(&'n Node) -> Result<(), E>,
) -> Result<(), E> {
    children(node)
        .into_iter()
        .try_for_each(|child| post_order(child, visit))?;
    visit(node)
}

/// Visits the leaf conditions (comparisons, BETWEEN, IN, functions) in text order.
pub(crate) fn for_each_leaf<'n>(
    node: &'n Node,
    visit: &mut impl FnMut(&'n Node) -> Result<(), Fault>,
) -> Result<(), Fault> {
    match &node.kind {
        NodeKind::Paren(inner) | NodeKind::Not { inner } => for_each_leaf(inner, visit),
        NodeKind::And { left, right, .. } | NodeKind::Or { left, right, .. } => {
            for_each_leaf(left, visit)?;
            for_each_leaf(right, visit)
        }
        _ => visit(node),
    }
}
