//! Key condition expressions (Query): a condition of the restricted shape DynamoDB allows,
//! turned into one condition per key attribute.
//!
//! The shape is checked here, with DynamoDB's messages; matching the conditions to the key
//! schema ("Query condition missed key schema element: pk", …) is the table engine's work.

use crate::AttributeValue;
use crate::expr::ast::{Comparator, Node, NodeKind};
use crate::expr::condition;
use crate::expr::path::resolve_path;
use crate::expr::{Fault, PathElem, Placeholders};

/// The 1 or 2 key conditions of a KeyConditionExpression, in text order. The parser checks the
/// shape (top-level names only, one condition per attribute, no OR/NOT/IN/<>, AND only between
/// two conditions); the engine matches them to the key schema and gives DynamoDB's messages for
/// that ("Query condition missed key schema element: pk", "Query key condition not supported", …).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCondition {
    pub conditions: Vec<(String, SortCondition)>,
}

/// One key attribute's condition. `Eq` is the only one a partition key may have.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl SortCondition {
    /// The legacy `ComparisonOperator` name, which DynamoDB's messages use.
    fn operator_name(&self) -> &'static str {
        match self {
            SortCondition::Eq(_) => "EQ",
            SortCondition::Lt(_) => "LT",
            SortCondition::Le(_) => "LE",
            SortCondition::Gt(_) => "GT",
            SortCondition::Ge(_) => "GE",
            SortCondition::Between(..) => "BETWEEN",
            SortCondition::BeginsWith(_) => "BEGINS_WITH",
        }
    }

    fn values(&self) -> Vec<&AttributeValue> {
        match self {
            SortCondition::Eq(value)
            | SortCondition::Lt(value)
            | SortCondition::Le(value)
            | SortCondition::Gt(value)
            | SortCondition::Ge(value)
            | SortCondition::BeginsWith(value) => vec![value],
            SortCondition::Between(low, high) => vec![low, high],
        }
    }

    /// The value types DynamoDB allows with this operator.
    fn allowed_types(&self) -> &'static [&'static str] {
        match self {
            SortCondition::Eq(_) => &["S", "N", "B", "SS", "NS", "BS"],
            SortCondition::BeginsWith(_) => &["S", "B"],
            _ => &["S", "N", "B"],
        }
    }
}

/// Parses a condition, then checks its shape and its value types.
pub(crate) fn parse(text: &str, ph: &mut Placeholders) -> Result<KeyCondition, Fault> {
    let node = condition::parse_checked(text, ph)?;
    let mut conditions = Vec::new();
    collect(&node, ph, &mut conditions)?;
    for (_, condition) in &conditions {
        let allowed = condition.allowed_types();
        let wrong = condition
            .values()
            .into_iter()
            .find(|value| !allowed.contains(&value.type_name()));
        if let Some(wrong) = wrong {
            return Err(Fault::Bare(format!(
                "One or more parameter values were invalid: ComparisonOperator {} is not valid for {} AttributeValue type",
                condition.operator_name(),
                wrong.type_name()
            )));
        }
    }
    if !(1..=2).contains(&conditions.len()) {
        return Err(Fault::Bare(
            "Conditions can be of length 1 or 2 only".to_owned(),
        ));
    }
    Ok(KeyCondition { conditions })
}

fn bare(message: &str) -> Fault {
    Fault::Bare(message.to_owned())
}

fn invalid_operator(operator: &str) -> Fault {
    Fault::Bare(format!(
        "Invalid operator used in KeyConditionExpression: {operator}"
    ))
}

/// Walks the AND-joined conditions in text order, adding one key condition for each.
fn collect(
    node: &Node,
    ph: &mut Placeholders,
    conditions: &mut Vec<(String, SortCondition)>,
) -> Result<(), Fault> {
    match &node.kind {
        NodeKind::Paren(inner) => collect(inner, ph, conditions),
        NodeKind::And { left, right, .. } => {
            collect(left, ph, conditions)?;
            collect(right, ph, conditions)
        }
        NodeKind::Or { .. } => Err(invalid_operator("OR")),
        NodeKind::Not { .. } => Err(invalid_operator("NOT")),
        NodeKind::In { .. } => Err(invalid_operator("IN")),
        NodeKind::Compare {
            op: Comparator::NotEqual,
            ..
        } => Err(invalid_operator("<>")),
        NodeKind::Compare {
            op, left, right, ..
        } => {
            let operands = [&**left, &**right];
            let (name, key_idx, values) = key_and_values(&operands, ph)?;
            let [value] = <[AttributeValue; 1]>::try_from(values).map_err(|_| no_key())?;
            // `:v < key` is `key > :v`.
            let op = if key_idx == 0 { *op } else { mirrored(*op) };
            let condition = match op {
                Comparator::Equal => SortCondition::Eq(value),
                Comparator::Less => SortCondition::Lt(value),
                Comparator::LessEqual => SortCondition::Le(value),
                Comparator::Greater => SortCondition::Gt(value),
                Comparator::GreaterEqual => SortCondition::Ge(value),
                Comparator::NotEqual => return Err(invalid_operator("<>")),
            };
            push(conditions, name, condition)
        }
        NodeKind::Between {
            subject, low, high, ..
        } => {
            if !matches!(subject.unparen().kind, NodeKind::Path(_)) {
                return Err(bare(
                    "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
                ));
            }
            let (name, _, values) = key_and_values(&[&**subject, &**low, &**high], ph)?;
            let [low, high] = <[AttributeValue; 2]>::try_from(values).map_err(|_| no_key())?;
            push(conditions, name, SortCondition::Between(low, high))
        }
        NodeKind::Call { name, args } => match (name.as_str(), args.as_slice()) {
            ("begins_with", [subject, prefix]) => {
                if !matches!(subject.unparen().kind, NodeKind::Path(_)) {
                    return Err(bare(
                        "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
                    ));
                }
                let (name, _, values) = key_and_values(&[subject, prefix], ph)?;
                let [prefix] = <[AttributeValue; 1]>::try_from(values).map_err(|_| no_key())?;
                push(conditions, name, SortCondition::BeginsWith(prefix))
            }
            ("size", _) => Err(nested_operations()),
            _ => Err(invalid_operator(name)),
        },
        NodeKind::Path(_) | NodeKind::Value(_) => Err(no_key()),
    }
}

fn no_key() -> Fault {
    bare("Invalid condition in KeyConditionExpression: No key attribute specified")
}

fn nested_operations() -> Fault {
    bare("KeyConditionExpressions cannot contain nested operations")
}

/// The one key attribute among a condition's operands (its name and position) and the values
/// of the others.
fn key_and_values(
    operands: &[&Node],
    ph: &mut Placeholders,
) -> Result<(String, usize, Vec<AttributeValue>), Fault> {
    let mut key: Option<(String, usize)> = None;
    let mut values = Vec::new();
    for (operand_idx, operand) in operands.iter().enumerate() {
        match &operand.unparen().kind {
            NodeKind::Path(raw) => {
                if key.is_some() {
                    return Err(bare(
                        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
                    ));
                }
                if raw.elems.len() > 1 {
                    return Err(bare(
                        "KeyConditionExpressions cannot have conditions on nested attributes",
                    ));
                }
                let path = resolve_path(raw, ph)?;
                let Some(PathElem::Attr(name)) = path.0.into_iter().next() else {
                    return Err(no_key());
                };
                key = Some((name, operand_idx));
            }
            NodeKind::Value(value_key) => match ph.value(value_key) {
                Some(value) => values.push(value.clone()),
                None => {
                    return Err(Fault::Invalid(condition::undefined_value_message(
                        value_key,
                    )));
                }
            },
            _ => return Err(nested_operations()),
        }
    }
    let (name, key_idx) = key.ok_or_else(no_key)?;
    Ok((name, key_idx, values))
}

fn push(
    conditions: &mut Vec<(String, SortCondition)>,
    name: String,
    condition: SortCondition,
) -> Result<(), Fault> {
    if conditions.iter().any(|(existing, _)| *existing == name) {
        return Err(bare(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    conditions.push((name, condition));
    Ok(())
}

fn mirrored(op: Comparator) -> Comparator {
    match op {
        Comparator::Less => Comparator::Greater,
        Comparator::LessEqual => Comparator::GreaterEqual,
        Comparator::Greater => Comparator::Less,
        Comparator::GreaterEqual => Comparator::LessEqual,
        Comparator::Equal | Comparator::NotEqual => op,
    }
}
