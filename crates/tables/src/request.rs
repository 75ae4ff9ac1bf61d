//! Reading a DynamoDB JSON request: typed member access with the protocol's errors.
//!
//! A member of the wrong JSON type is a `SerializationException` (the request does not match the
//! operation's shape); a value of the right type that breaks a constraint is a
//! `ValidationException` in DynamoDB's "1 validation error detected: …" form.

use std::collections::HashMap;

use items::{AttributeValue, Item};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// One JSON object of a request (the request itself or a nested structure).
#[derive(Clone, Copy)]
pub struct Obj<'a>(pub &'a Map<String, Value>);

impl<'a> Obj<'a> {
    /// The request body as an object.
    pub fn root(value: &'a Value) -> ApiResult<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj(map)),
            _ => Err(ApiError::serialization(
                "Start of structure or map found where not expected",
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> ApiResult<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    pub fn i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, "an integer")),
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    pub fn obj(&self, name: &str) -> ApiResult<Option<Obj<'a>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj(map))),
            Some(_) => Err(wrong_type(name, "a structure")),
        }
    }

    pub fn list(&self, name: &str) -> ApiResult<Option<&'a [Value]>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(list)) => Ok(Some(list)),
            Some(_) => Err(wrong_type(name, "a list")),
        }
    }

    /// A list of structures.
    pub fn objs(&self, name: &str) -> ApiResult<Option<Vec<Obj<'a>>>> {
        let Some(list) = self.list(name)? else {
            return Ok(None);
        };
        list.iter()
            .map(|v| match v {
                Value::Object(map) => Ok(Obj(map)),
                _ => Err(wrong_type(name, "a list of structures")),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }

    /// A required string member.
    pub fn required_str(&self, name: &str, path: &str) -> ApiResult<&'a str> {
        self.str(name)?.ok_or_else(|| missing(path))
    }

    /// A map of attribute values (`Item`, `Key`, `ExclusiveStartKey`).
    pub fn item(&self, name: &str) -> ApiResult<Option<Item>> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => Ok(Some(items::value::item_from_json(value)?)),
            Some(_) => Err(wrong_type(name, "a map")),
        }
    }

    /// `ExpressionAttributeNames`.
    pub fn names(&self) -> ApiResult<Option<HashMap<String, String>>> {
        let Some(map) = self.obj("ExpressionAttributeNames")? else {
            return Ok(None);
        };
        map.0
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(wrong_type("ExpressionAttributeNames", "a map of strings")),
            })
            .collect::<ApiResult<HashMap<_, _>>>()
            .map(Some)
    }

    /// `ExpressionAttributeValues`.
    pub fn values(&self) -> ApiResult<Option<HashMap<String, AttributeValue>>> {
        let Some(map) = self.obj("ExpressionAttributeValues")? else {
            return Ok(None);
        };
        map.0
            .iter()
            .map(|(k, v)| Ok((k.clone(), AttributeValue::from_json(v)?)))
            .collect::<ApiResult<HashMap<_, _>>>()
            .map(Some)
    }

    /// Refuses the legacy (pre-expression) parameters rondo does not implement.
    pub fn refuse_legacy(&self, names: &[&str]) -> ApiResult<()> {
        for name in names {
            if self.has(name) {
                return Err(ApiError::validation(format!(
                    "The legacy parameter {name} is not supported by rondo; use the expression parameters instead"
                )));
            }
        }
        Ok(())
    }

    /// A string member that must be one of `allowed` (DynamoDB's enum constraint message).
    pub fn enum_str(&self, name: &str, path: &str, allowed: &[&str]) -> ApiResult<Option<&'a str>> {
        let Some(value) = self.str(name)? else {
            return Ok(None);
        };
        if allowed.contains(&value) {
            Ok(Some(value))
        } else {
            Err(constraint(
                &format!("'{value}'"),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!("The member {name} must be {expected}"))
}

/// "1 validation error detected: Value null at 'path' failed to satisfy constraint: Member must not be null".
pub fn missing(path: &str) -> ApiError {
    constraint("null", path, "Member must not be null")
}

/// One violated model constraint, in DynamoDB's words.
pub fn constraint(value: &str, path: &str, rule: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value {value} at '{path}' failed to satisfy constraint: {rule}"
    ))
}

/// Checks a table or index name: 3–255 characters of `[a-zA-Z0-9_.-]`.
pub fn check_name(name: &str, path: &str) -> ApiResult<()> {
    use crate::limits::{NAME_CHARS_MAX, NAME_CHARS_MIN};
    if name.len() < NAME_CHARS_MIN {
        return Err(constraint(
            &format!("'{name}'"),
            path,
            &format!("Member must have length greater than or equal to {NAME_CHARS_MIN}"),
        ));
    }
    if name.len() > NAME_CHARS_MAX {
        return Err(constraint(
            &format!("'{name}'"),
            path,
            &format!("Member must have length less than or equal to {NAME_CHARS_MAX}"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(constraint(
            &format!("'{name}'"),
            path,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    Ok(())
}

/// A table name given as a name or an ARN (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME`).
pub fn table_name<'a>(obj: &Obj<'a>, member: &str, path: &str) -> ApiResult<&'a str> {
    let given = obj.required_str(member, path)?;
    let name = match given.strip_prefix("arn:") {
        Some(rest) => rest
            .split_once(":table/")
            .map(|(_, name)| name)
            .ok_or_else(|| ApiError::validation(format!("Invalid TableName ARN: {given}")))?,
        None => given,
    };
    check_name(name, path)?;
    Ok(name)
}
