//! Evaluating conditions against an item, with DynamoDB's rules: values of different types are
//! never equal or ordered (the comparison is false, not an error), only strings, numbers and
//! binaries order, and a missing attribute makes every comparison false except `<>`.

use std::cmp::Ordering;

use crate::expr::ast::Comparator;
use crate::expr::condition::Condition;
use crate::expr::condition::{Cond, Operand};
use crate::{AttributeValue, Item, Number, values_equal};

impl Condition {
    /// Evaluates against an item (the existing item, or an empty one when it does not exist).
    /// Cross-type comparisons are false; a missing attribute makes =,<,BETWEEN,IN false and
    /// <> true; `size()` of a missing attribute, or of a number, boolean or null, makes its
    /// comparison false.
    pub fn eval(&self, item: &Item) -> bool {
        eval(&self.root, item)
    }
}

fn eval(cond: &Cond, item: &Item) -> bool {
    match cond {
        Cond::And(left, right) => eval(left, item) && eval(right, item),
        Cond::Or(left, right) => eval(left, item) || eval(right, item),
        Cond::Not(inner) => !eval(inner, item),
        Cond::Compare(op, left, right) => compare(*op, value(left, item), value(right, item)),
        Cond::Between(subject, low, high) => {
            let Some(subject) = value(subject, item) else {
                return false;
            };
            let at_least_low = value(low, item).and_then(|low| order(&subject, &low));
            let at_most_high = value(high, item).and_then(|high| order(&subject, &high));
            at_least_low.is_some_and(Ordering::is_ge) && at_most_high.is_some_and(Ordering::is_le)
        }
        Cond::In(subject, list) => {
            let Some(subject) = value(subject, item) else {
                return false;
            };
            list.iter()
                .filter_map(|candidate| value(candidate, item))
                .any(|candidate| values_equal(&subject, &candidate))
        }
        Cond::Exists(path) => path.get(item).is_some(),
        Cond::NotExists(path) => path.get(item).is_none(),
        Cond::Type(operand, type_name) => {
            value(operand, item).is_some_and(|value| value.type_name() == type_name)
        }
        Cond::BeginsWith(subject, prefix) => match (value(subject, item), value(prefix, item)) {
            (Some(subject), Some(prefix)) => begins_with(&subject, &prefix),
            _ => false,
        },
        Cond::Contains(subject, operand) => match (value(subject, item), value(operand, item)) {
            (Some(subject), Some(operand)) => contains(&subject, &operand),
            _ => false,
        },
    }
}

/// A borrowed or computed value: paths and `:values` are borrowed, `size()` is computed.
enum Value<'v> {
    Borrowed(&'v AttributeValue),
    Size(AttributeValue),
}

impl std::ops::Deref for Value<'_> {
    type Target = AttributeValue;

    fn deref(&self) -> &AttributeValue {
        match self {
            Value::Borrowed(value) => value,
            Value::Size(value) => value,
        }
    }
}

/// The operand's value in `item`; `None` when the path does not exist or `size()` has none.
fn value<'v>(operand: &'v Operand, item: &'v Item) -> Option<Value<'v>> {
    match operand {
        Operand::Path(path) => path.get(item).map(Value::Borrowed),
        Operand::Value(value) => Some(Value::Borrowed(value)),
        Operand::Size(inner) => {
            let n_elems = size(&*value(inner, item)?)?;
            let n_elems = i64::try_from(n_elems).ok()?;
            Some(Value::Size(AttributeValue::N(Number::from_i64(n_elems))))
        }
    }
}

/// `size()`: characters of a string, bytes of a binary, members of a set, list or map.
fn size(value: &AttributeValue) -> Option<usize> {
    match value {
        AttributeValue::S(text) => Some(text.chars().count()),
        AttributeValue::B(bytes) => Some(bytes.len()),
        AttributeValue::Ss(members) => Some(members.len()),
        AttributeValue::Ns(members) => Some(members.len()),
        AttributeValue::Bs(members) => Some(members.len()),
        AttributeValue::L(elems) => Some(elems.len()),
        AttributeValue::M(map) => Some(map.len()),
        AttributeValue::N(_) | AttributeValue::Null | AttributeValue::Bool(_) => None,
    }
}

fn compare(op: Comparator, left: Option<Value>, right: Option<Value>) -> bool {
    let (Some(left), Some(right)) = (left, right) else {
        return op == Comparator::NotEqual;
    };
    match op {
        Comparator::Equal => values_equal(&left, &right),
        Comparator::NotEqual => !values_equal(&left, &right),
        Comparator::Less => order(&left, &right).is_some_and(Ordering::is_lt),
        Comparator::LessEqual => order(&left, &right).is_some_and(Ordering::is_le),
        Comparator::Greater => order(&left, &right).is_some_and(Ordering::is_gt),
        Comparator::GreaterEqual => order(&left, &right).is_some_and(Ordering::is_ge),
    }
}

/// The order of two values of the same orderable type: numbers by value, strings by their UTF-8
/// bytes, binaries by their unsigned bytes. `None` for other types and for mixed types.
pub(crate) fn order(left: &AttributeValue, right: &AttributeValue) -> Option<Ordering> {
    match (left, right) {
        (AttributeValue::N(left), AttributeValue::N(right)) => Some(left.cmp(right)),
        (AttributeValue::S(left), AttributeValue::S(right)) => {
            Some(left.as_bytes().cmp(right.as_bytes()))
        }
        (AttributeValue::B(left), AttributeValue::B(right)) => Some(left.cmp(right)),
        _ => None,
    }
}

fn begins_with(subject: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (subject, prefix) {
        (AttributeValue::S(subject), AttributeValue::S(prefix)) => {
            subject.starts_with(prefix.as_str())
        }
        (AttributeValue::B(subject), AttributeValue::B(prefix)) => subject.starts_with(prefix),
        _ => false,
    }
}

/// `contains`: a substring of a string, a subsequence of a binary's bytes, a member of a set of
/// the operand's type, or an element of a list equal to the operand.
fn contains(subject: &AttributeValue, operand: &AttributeValue) -> bool {
    match (subject, operand) {
        (AttributeValue::S(text), AttributeValue::S(part)) => text.contains(part.as_str()),
        (AttributeValue::B(bytes), AttributeValue::B(part)) => {
            part.is_empty()
                || bytes
                    .windows(part.len())
                    .any(|window| window == part.as_slice())
        }
        (AttributeValue::Ss(members), AttributeValue::S(member)) => members.contains(member),
        (AttributeValue::Ns(members), AttributeValue::N(member)) => members.contains(member),
        (AttributeValue::Bs(members), AttributeValue::B(member)) => members.contains(member),
        (AttributeValue::L(elems), operand) => elems.iter().any(|elem| values_equal(elem, operand)),
        _ => false,
    }
}
