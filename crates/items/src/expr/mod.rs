//! DynamoDB's expression language: condition, filter, key condition, update and projection
//! expressions. Each is parsed once per request into a resolved form (names and values from
//! `ExpressionAttributeNames`/`ExpressionAttributeValues` substituted), then evaluated against
//! items as often as needed.
//!
//! Errors are ValidationException messages in DynamoDB's words. A parse reports, like DynamoDB,
//! a syntax error first, then the other faults in DynamoDB's order of checking: redundant
//! parentheses, unknown functions, misused functions, reserved words, then per condition
//! undefined placeholders, operand counts, repeated operands and operand types.

mod ast;
mod condition;
mod eval;
mod key_condition;
mod lexer;
pub mod limits;
mod parser;
mod path;
mod projection;
mod reserved;
mod update;

use std::collections::{BTreeSet, HashMap};

use crate::AttributeValue;

pub use condition::Condition;
pub use key_condition::{KeyCondition, SortCondition};
pub use path::{Path, PathElem, project};
pub use projection::Projection;
pub use update::Update;

/// Which expression a message is about: "Invalid ConditionExpression: …",
/// "Invalid UpdateExpression: …", "Invalid KeyConditionExpression: …",
/// "Invalid FilterExpression: …", "Invalid ProjectionExpression: …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
}

impl ExprKind {
    /// The request parameter that holds this kind of expression.
    pub fn parameter_name(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }
}

/// A ValidationException message in DynamoDB's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
}

/// ExpressionAttributeNames/Values of one request, shared by all its expressions; tracks which
/// were used.
#[derive(Debug)]
pub struct Placeholders<'a> {
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a HashMap<String, AttributeValue>>,
    used_names: BTreeSet<&'a str>,
    used_values: BTreeSet<&'a str>,
}

impl<'a> Placeholders<'a> {
    /// Errors for empty maps ("ExpressionAttributeNames must not be empty",
    /// "ExpressionAttributeValues must not be empty") and for keys that are no placeholders
    /// (`ExpressionAttributeNames contains invalid key: Syntax error; key: "a"`).
    pub fn new(
        names: Option<&'a HashMap<String, String>>,
        values: Option<&'a HashMap<String, AttributeValue>>,
    ) -> Result<Self, ExprError> {
        if let Some(names) = names {
            check_keys("ExpressionAttributeNames", names.keys(), '#')?;
        }
        if let Some(values) = values {
            check_keys("ExpressionAttributeValues", values.keys(), ':')?;
        }
        Ok(Placeholders {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        })
    }

    /// After parsing every expression of the request: unused names/values → DynamoDB's messages
    /// ("Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}" and the
    /// Values equivalent). Keys are listed in sorted order.
    pub fn finish(self) -> Result<(), ExprError> {
        let unused_names = unused(self.names.map(HashMap::keys), &self.used_names);
        if !unused_names.is_empty() {
            return Err(unused_error("ExpressionAttributeNames", &unused_names));
        }
        let unused_values = unused(self.values.map(HashMap::keys), &self.used_values);
        if !unused_values.is_empty() {
            return Err(unused_error("ExpressionAttributeValues", &unused_values));
        }
        Ok(())
    }

    fn has_name(&self, key: &str) -> bool {
        self.names.is_some_and(|names| names.contains_key(key))
    }

    fn has_value(&self, key: &str) -> bool {
        self.values.is_some_and(|values| values.contains_key(key))
    }

    /// The attribute name `#key` stands for, without marking it used (for checks).
    fn peek_name(&self, key: &str) -> Option<&'a str> {
        self.names?.get(key).map(String::as_str)
    }

    /// The attribute name `#key` stands for, marking it used.
    fn name(&mut self, key: &str) -> Option<&'a str> {
        let (key, name) = self.names?.get_key_value(key)?;
        self.used_names.insert(key);
        Some(name)
    }

    /// The value `:key` stands for, marking it used.
    fn value(&mut self, key: &str) -> Option<&'a AttributeValue> {
        let (key, value) = self.values?.get_key_value(key)?;
        self.used_values.insert(key);
        Some(value)
    }

    /// The value `:key` stands for, without marking it used (for checks before resolution).
    fn peek_value(&self, key: &str) -> Option<&'a AttributeValue> {
        self.values?.get(key)
    }
}

/// Parses a ConditionExpression or FilterExpression (`kind` only chooses the message prefix).
pub fn parse_condition(
    text: &str,
    kind: ExprKind,
    ph: &mut Placeholders,
) -> Result<Condition, ExprError> {
    condition::parse(text, ph).map_err(|fault| fault.into_error(kind))
}

/// Parses an UpdateExpression.
pub fn parse_update(text: &str, ph: &mut Placeholders) -> Result<Update, ExprError> {
    update::parse(text, ph).map_err(|fault| fault.into_error(ExprKind::Update))
}

/// Parses a ProjectionExpression.
pub fn parse_projection(text: &str, ph: &mut Placeholders) -> Result<Projection, ExprError> {
    projection::parse(text, ph).map_err(|fault| fault.into_error(ExprKind::Projection))
}

/// Parses a KeyConditionExpression and checks its shape (see [`KeyCondition`]).
pub fn parse_key_condition(text: &str, ph: &mut Placeholders) -> Result<KeyCondition, ExprError> {
    key_condition::parse(text, ph).map_err(|fault| fault.into_error(ExprKind::KeyCondition))
}

/// Why a parse failed, before the message gets its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    /// A fault in the expression's text: the message is prefixed "Invalid <Kind>: ".
    Invalid(String),
    /// A message DynamoDB gives without the prefix (key condition shapes).
    Bare(String),
}

impl Fault {
    fn into_error(self, kind: ExprKind) -> ExprError {
        let message = match self {
            Fault::Invalid(detail) => format!("Invalid {}: {detail}", kind.parameter_name()),
            Fault::Bare(message) => message,
        };
        ExprError { message }
    }
}

/// The checks every expression gets before its grammar: not empty, not too long.
fn check_text(text: &str) -> Result<(), Fault> {
    if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
        return Err(Fault::Invalid(
            "The expression can not be empty;".to_owned(),
        ));
    }
    if text.len() > limits::EXPRESSION_BYTES_MAX {
        return Err(Fault::Invalid(format!(
            "Expression size has exceeded the maximum allowed size; expression size: {}",
            text.len()
        )));
    }
    Ok(())
}

fn check_keys<'k, V>(
    parameter: &str,
    keys: std::collections::hash_map::Keys<'k, String, V>,
    sigil: char,
) -> Result<(), ExprError> {
    let mut keys: Vec<&String> = keys.collect();
    if keys.is_empty() {
        return Err(ExprError {
            message: format!("{parameter} must not be empty"),
        });
    }
    keys.sort();
    let invalid = keys.into_iter().find(|key| !is_placeholder(key, sigil));
    match invalid {
        Some(key) => Err(ExprError {
            message: format!("{parameter} contains invalid key: Syntax error; key: \"{key}\""),
        }),
        None => Ok(()),
    }
}

/// `#name` or `:name` with at least one of `[A-Za-z0-9_]` after the sigil.
fn is_placeholder(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    })
}

fn unused<'k, V: 'k>(
    keys: Option<std::collections::hash_map::Keys<'k, String, V>>,
    used: &BTreeSet<&str>,
) -> Vec<&'k str> {
    let mut unused: Vec<&str> = keys
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|key| !used.contains(key))
        .collect();
    unused.sort_unstable();
    unused
}

fn unused_error(parameter: &str, keys: &[&str]) -> ExprError {
    ExprError {
        message: format!(
            "Value provided in {parameter} unused in expressions: keys: {{{}}}",
            keys.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
