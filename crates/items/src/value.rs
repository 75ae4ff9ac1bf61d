//! `AttributeValue`: DynamoDB's tagged union, its JSON wire form, its size and its binary encoding.

use std::collections::BTreeMap;

use crate::Number;

/// An item: attribute name → value. Ordered, so encodings and outputs are deterministic.
pub type Item = BTreeMap<String, AttributeValue>;

/// One DynamoDB attribute value (`{"S": …}`, `{"N": …}`, …).
///
/// Invariants kept by every constructor in this crate: sets are non-empty and hold no duplicates
/// (numbers compared by value), `Null` stands for `{"NULL": true}`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(Item),
    L(Vec<AttributeValue>),
    Null,
    Bool(bool),
}

/// A value that DynamoDB would refuse; `message` is DynamoDB's own wording (a ValidationException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub message: String,
}

impl AttributeValue {
    /// DynamoDB's type descriptor: "S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL".
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Null => "NULL",
            AttributeValue::Bool(_) => "BOOL",
        }
    }
}
