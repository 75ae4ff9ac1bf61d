//! `AttributeValue`: DynamoDB's tagged union, its JSON wire form, its size and its binary encoding.
//!
//! Reading the wire form ([`AttributeValue::from_json`]) refuses what DynamoDB refuses, with
//! DynamoDB's own messages. Two kinds of message come out of it: type errors of the JSON itself
//! (`"NUMBER_VALUE cannot be converted to String"`, bad base64), which DynamoDB reports as a
//! `SerializationException`, and value errors (empty sets, duplicates, numbers, nesting), which it
//! reports as a `ValidationException`. [`ValueError`] carries the message only.
//!
//! Decisions where DynamoDB's behaviour is not known for certain:
//! - Members other than the ten type names are ignored, and a member whose value is `null` counts
//!   as absent (as DynamoDB's JSON layer does), so `{"S": null}` is an empty `AttributeValue`.
//! - `null` where an `AttributeValue` is expected (an item attribute, a list element, a map
//!   value) is refused as an empty `AttributeValue` rather than dropped.
//! - `null` inside a string or binary set is refused with a message of our own.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::ser::{SerializeMap as _, Serializer};
use serde_json::Value;

use crate::Number;
use crate::limits::NESTING_DEPTH_MAX;

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

/// A value that DynamoDB would refuse; `message` is DynamoDB's own wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub message: String,
    pub kind: ValueErrorKind,
}

/// Which exception DynamoDB answers a refused value with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueErrorKind {
    /// A well-formed value that breaks a rule (an empty set, 39 digits): `ValidationException`.
    Validation,
    /// JSON of the wrong type for the member (a number where a string belongs, bad base64):
    /// the request does not match the protocol's shape, `SerializationException`.
    Serialization,
}

const MESSAGE_EMPTY: &str =
    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
const MESSAGE_SEVERAL_TYPES: &str = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes";
const MESSAGE_TOO_DEEP: &str = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";
const MESSAGE_INVALID: &str = "One or more parameter values were invalid:";
const MESSAGE_STRUCTURE: &str = "Start of structure or map found where not expected";
const MESSAGE_VALUE_TYPE: &str = "Unexpected value type in payload";
const MESSAGE_FIELD_TYPE: &str = "Unexpected field type";
const JAVA_ATTRIBUTE_VALUE: &str = "com.amazonaws.dynamodb.v20120810.AttributeValue";

impl AttributeValue {
    /// Reads the wire form (`{"S": "a"}`, `{"NS": ["1", "2"]}`, …) with DynamoDB's validation and
    /// messages; numbers are normalised and sets keep their order.
    pub fn from_json(v: &Value) -> Result<AttributeValue, ValueError> {
        value_from_json(v, 1)
    }

    /// The wire form.
    pub fn to_json(&self) -> Value {
        let (type_name, inner) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.as_str().to_owned())),
            AttributeValue::B(b) => ("B", Value::String(BASE64.encode(b))),
            AttributeValue::Ss(ss) => ("SS", ss.iter().cloned().map(Value::String).collect()),
            AttributeValue::Ns(ns) => (
                "NS",
                ns.iter()
                    .map(|n| Value::String(n.as_str().to_owned()))
                    .collect(),
            ),
            AttributeValue::Bs(bs) => (
                "BS",
                bs.iter().map(|b| Value::String(BASE64.encode(b))).collect(),
            ),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::L(l) => ("L", l.iter().map(AttributeValue::to_json).collect()),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        };
        let mut object = serde_json::Map::with_capacity(1);
        object.insert(type_name.to_owned(), inner);
        Value::Object(object)
    }

    /// The bytes this value counts for in an item's size (DynamoDB's accounting): strings and
    /// binaries their length in bytes, numbers about one byte per two digits, `NULL` and `BOOL`
    /// one byte, sets the sum of their members, and lists and maps 3 bytes plus, per element,
    /// one byte, the element and (for maps) the name's UTF-8 bytes.
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
            AttributeValue::Ns(ns) => ns.iter().map(Number::size).sum(),
            AttributeValue::Bs(bs) => bs.iter().map(Vec::len).sum(),
            AttributeValue::M(m) => {
                3 + m
                    .iter()
                    .map(|(name, value)| 1 + name.len() + value.size())
                    .sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|value| 1 + value.size()).sum::<usize>(),
            AttributeValue::Null | AttributeValue::Bool(_) => 1,
        }
    }

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

/// Writes the wire form directly, without building a `serde_json::Value` first.
impl serde::Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(s) => map.serialize_entry("S", s)?,
            AttributeValue::N(n) => map.serialize_entry("N", n.as_str())?,
            AttributeValue::B(b) => map.serialize_entry("B", &Base64(b))?,
            AttributeValue::Ss(ss) => map.serialize_entry("SS", ss)?,
            AttributeValue::Ns(ns) => map.serialize_entry("NS", &NumberSet(ns))?,
            AttributeValue::Bs(bs) => map.serialize_entry("BS", &BinarySet(bs))?,
            AttributeValue::M(m) => map.serialize_entry("M", m)?,
            AttributeValue::L(l) => map.serialize_entry("L", l)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
        }
        map.end()
    }
}

/// Reads an item: a JSON object of attribute name → wire-form value.
pub fn item_from_json(v: &Value) -> Result<Item, ValueError> {
    let object = match v {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(wire(format!(
                "Unrecognized collection type java.util.Map<java.lang.String, {JAVA_ATTRIBUTE_VALUE}>"
            )));
        }
        _ => return Err(wire(MESSAGE_FIELD_TYPE)),
    };
    map_from_json(object, 1)
}

/// The wire form of an item.
pub fn item_to_json(item: &Item) -> Value {
    let object = item
        .iter()
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect();
    Value::Object(object)
}

/// An item's size as DynamoDB counts it against [`crate::limits::ITEM_BYTES_MAX`]: each
/// attribute's name (UTF-8 bytes) plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.size())
        .sum()
}

/// The same value with the same type: sets compare as sets (order-insensitive), numbers by value,
/// maps and lists deeply.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    match (a, b) {
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => sets_equal(a, b),
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => sets_equal(a, b),
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => sets_equal(a, b),
        (AttributeValue::M(a), AttributeValue::M(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((a_name, a_value), (b_name, b_value))| {
                        a_name == b_name && values_equal(a_value, b_value)
                    })
        }
        (AttributeValue::L(a), AttributeValue::L(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| values_equal(a, b))
        }
        // Scalars: numbers are normalised, so equal text is equal value.
        _ => a == b,
    }
}

/// Set equality for duplicate-free members.
fn sets_equal<T: Eq + std::hash::Hash>(a: &[T], b: &[T]) -> bool {
    // Below this many members a scan is cheaper than building a hash set.
    const SCAN_MEMBERS_MAX: usize = 16;
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= SCAN_MEMBERS_MAX {
        return a.iter().all(|member| b.contains(member));
    }
    let b_members: HashSet<&T> = b.iter().collect();
    a.iter().all(|member| b_members.contains(member))
}

fn error(message: impl Into<String>) -> ValueError {
    ValueError {
        message: message.into(),
        kind: ValueErrorKind::Validation,
    }
}

/// A member of the wrong JSON type: a `SerializationException`.
fn wire(message: impl Into<String>) -> ValueError {
    ValueError {
        message: message.into(),
        kind: ValueErrorKind::Serialization,
    }
}

fn invalid(detail: &str) -> ValueError {
    error(format!("{MESSAGE_INVALID} {detail}"))
}

/// Reads a value at nesting `level` (a top-level attribute is level 1).
fn value_from_json(v: &Value, level: usize) -> Result<AttributeValue, ValueError> {
    if level > NESTING_DEPTH_MAX {
        return Err(error(MESSAGE_TOO_DEEP));
    }
    match v {
        Value::Object(members) => members_from_json(members, level),
        Value::Null => Err(error(MESSAGE_EMPTY)),
        Value::Array(_) => Err(wire(format!(
            "Unrecognized collection type class {JAVA_ATTRIBUTE_VALUE}"
        ))),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => Err(wire(MESSAGE_VALUE_TYPE)),
    }
}

/// Reads the members of one `AttributeValue` object: every type member is checked (in the
/// object's order) before "more than one datatype" is reported, as DynamoDB does.
fn members_from_json(
    members: &serde_json::Map<String, Value>,
    level: usize,
) -> Result<AttributeValue, ValueError> {
    let mut first = None;
    let mut n_types = 0;
    for (type_name, member) in members {
        if member.is_null() {
            continue;
        }
        let value = match type_name.as_str() {
            "S" => AttributeValue::S(string_member(member)?.to_owned()),
            "N" => AttributeValue::N(number_from_json(string_member(member)?)?),
            "B" => AttributeValue::B(binary_member(member)?),
            "BOOL" => AttributeValue::Bool(bool_member(member)?),
            "NULL" => null_from_json(member)?,
            "SS" => string_set_from_json(list_member(member)?)?,
            "NS" => number_set_from_json(list_member(member)?)?,
            "BS" => binary_set_from_json(list_member(member)?)?,
            "L" => list_from_json(list_member(member)?, level)?,
            "M" => AttributeValue::M(map_from_json(map_member(member)?, level + 1)?),
            _ => continue,
        };
        n_types += 1;
        first.get_or_insert(value);
    }
    match (first, n_types) {
        (Some(value), 1) => Ok(value),
        (None, _) => Err(error(MESSAGE_EMPTY)),
        (Some(_), _) => Err(error(MESSAGE_SEVERAL_TYPES)),
    }
}

/// Reads the attributes of an item or of an `M` value, whose values sit at `level`.
fn map_from_json(
    object: &serde_json::Map<String, Value>,
    level: usize,
) -> Result<Item, ValueError> {
    object
        .iter()
        .map(|(name, value)| Ok((name.clone(), value_from_json(value, level)?)))
        .collect()
}

fn list_from_json(elements: &[Value], level: usize) -> Result<AttributeValue, ValueError> {
    let values = elements
        .iter()
        .map(|element| value_from_json(element, level + 1))
        .collect::<Result<_, _>>()?;
    Ok(AttributeValue::L(values))
}

fn number_from_json(text: &str) -> Result<Number, ValueError> {
    Number::parse(text)
}

fn null_from_json(member: &Value) -> Result<AttributeValue, ValueError> {
    if bool_member(member)? {
        Ok(AttributeValue::Null)
    } else {
        Err(invalid(
            "Null attribute value types must have the value of true",
        ))
    }
}

fn string_set_from_json(members: &[Value]) -> Result<AttributeValue, ValueError> {
    let strings = members
        .iter()
        .map(|member| match member {
            Value::Null => Err(invalid("String set members may not be null")),
            _ => string_member(member),
        })
        .collect::<Result<Vec<&str>, _>>()?;
    if strings.is_empty() {
        return Err(invalid("An string set  may not be empty"));
    }
    if has_duplicates(&strings) {
        return Err(invalid(&format!(
            "Input collection [{}] contains duplicates.",
            strings.join(", ")
        )));
    }
    Ok(AttributeValue::Ss(
        strings.into_iter().map(str::to_owned).collect(),
    ))
}

fn number_set_from_json(members: &[Value]) -> Result<AttributeValue, ValueError> {
    let texts = members
        .iter()
        .map(|member| match member {
            Value::Null => Ok(""),
            _ => string_member(member),
        })
        .collect::<Result<Vec<&str>, _>>()?;
    if texts.is_empty() {
        return Err(invalid("An number set  may not be empty"));
    }
    let numbers = texts
        .into_iter()
        .map(number_from_json)
        .collect::<Result<Vec<_>, _>>()?;
    if has_duplicates(&numbers) {
        return Err(error("Input collection contains duplicates"));
    }
    Ok(AttributeValue::Ns(numbers))
}

fn binary_set_from_json(members: &[Value]) -> Result<AttributeValue, ValueError> {
    let texts = members
        .iter()
        .map(|member| match member {
            Value::Null => Err(invalid("Binary set members may not be null")),
            _ => Ok(member),
        })
        .collect::<Result<Vec<&Value>, _>>()?;
    let binaries = texts
        .iter()
        .map(|member| binary_member(member))
        .collect::<Result<Vec<_>, _>>()?;
    if binaries.is_empty() {
        return Err(invalid("Binary sets should not be empty"));
    }
    if has_duplicates(&binaries) {
        // The members are canonical base64 (decoding checked it), so they show as sent.
        let shown: Vec<&str> = texts.iter().filter_map(|member| member.as_str()).collect();
        return Err(invalid(&format!(
            "Input collection [{}]of type BS contains duplicates.",
            shown.join(", ")
        )));
    }
    Ok(AttributeValue::Bs(binaries))
}

fn has_duplicates<T: Eq + std::hash::Hash>(members: &[T]) -> bool {
    let mut seen = HashSet::with_capacity(members.len());
    !members.iter().all(|member| seen.insert(member))
}

/// How DynamoDB's JSON layer names a scalar of the wrong type.
fn scalar_name(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        Value::Number(n) if n.is_i64() || n.is_u64() => "NUMBER_VALUE",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "NUMBER_VALUE",
        _ => "DECIMAL_VALUE",
    }
}

fn string_member(member: &Value) -> Result<&str, ValueError> {
    match member {
        Value::String(s) => Ok(s),
        Value::Bool(_) | Value::Number(_) => Err(wire(format!(
            "{} cannot be converted to String",
            scalar_name(member)
        ))),
        Value::Array(_) => Err(wire("Unrecognized collection type class java.lang.String")),
        Value::Object(_) | Value::Null => Err(wire(MESSAGE_STRUCTURE)),
    }
}

fn bool_member(member: &Value) -> Result<bool, ValueError> {
    match member {
        Value::Bool(b) => Ok(*b),
        // DynamoDB's JSON layer reads these strings as booleans.
        Value::String(s) => match s.to_ascii_uppercase().as_str() {
            "TRUE" | "1" | "YES" => Ok(true),
            "FALSE" | "0" | "NO" => Ok(false),
            _ => Err(wire("Unexpected token received from parser")),
        },
        Value::Number(_) => Err(wire(format!(
            "{} cannot be converted to Boolean",
            scalar_name(member)
        ))),
        Value::Array(_) => Err(wire("Unrecognized collection type class java.lang.Boolean")),
        Value::Object(_) | Value::Null => Err(wire(MESSAGE_STRUCTURE)),
    }
}

fn binary_member(member: &Value) -> Result<Vec<u8>, ValueError> {
    match member {
        Value::String(text) => decode_base64(text),
        Value::Bool(_) | Value::Number(_) => Err(wire(
            "only base-64-encoded strings are convertible to bytes",
        )),
        Value::Array(_) => Err(wire(
            "Unrecognized collection type class java.nio.ByteBuffer",
        )),
        Value::Object(_) | Value::Null => Err(wire(MESSAGE_STRUCTURE)),
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, ValueError> {
    if !text.len().is_multiple_of(4) {
        return Err(wire(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        )));
    }
    // The misspelling is DynamoDB's.
    BASE64
        .decode(text)
        .map_err(|_| wire("Invalid last non-pad Base64 character dectected"))
}

fn list_member(member: &Value) -> Result<&[Value], ValueError> {
    match member {
        Value::Array(elements) => Ok(elements),
        Value::Object(_) => Err(wire(MESSAGE_STRUCTURE)),
        _ => Err(wire(MESSAGE_FIELD_TYPE)),
    }
}

fn map_member(member: &Value) -> Result<&serde_json::Map<String, Value>, ValueError> {
    match member {
        Value::Object(object) => Ok(object),
        Value::Array(_) => Err(wire(format!(
            "Unrecognized collection type java.util.Map<java.lang.String, {JAVA_ATTRIBUTE_VALUE}>"
        ))),
        _ => Err(wire(MESSAGE_FIELD_TYPE)),
    }
}

/// A binary written as base64 without an intermediate `String`.
struct Base64<'a>(&'a [u8]);

impl serde::Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&base64::display::Base64Display::new(self.0, &BASE64))
    }
}

struct NumberSet<'a>(&'a [Number]);

impl serde::Serialize for NumberSet<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Number::as_str))
    }
}

struct BinarySet<'a>(&'a [Vec<u8>]);

impl serde::Serialize for BinarySet<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|b| Base64(b)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{AttributeValue, Item, item_from_json, item_size, item_to_json, values_equal};
    use crate::Number;
    use crate::limits::ITEM_BYTES_MAX;

    fn check(input: Value, expected: AttributeValue) {
        let value = AttributeValue::from_json(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(value, expected, "{input}");
    }

    #[test]
    fn json_of_the_wrong_type_is_a_serialization_error() {
        use crate::ValueErrorKind::{Serialization, Validation};
        let kind = |input: Value| {
            AttributeValue::from_json(&input)
                .map(|_| ())
                .map_err(|e| e.kind)
        };
        assert_eq!(kind(json!({"S": 5})), Err(Serialization));
        assert_eq!(kind(json!({"B": "not base64!"})), Err(Serialization));
        assert_eq!(kind(json!({"L": "x"})), Err(Serialization));
        assert_eq!(kind(json!([1])), Err(Serialization));
        assert_eq!(kind(json!({"SS": []})), Err(Validation));
        assert_eq!(kind(json!({"N": "1e999"})), Err(Validation));
        assert_eq!(kind(json!({})), Err(Validation));
    }

    fn check_error(input: Value, expected: &str) {
        let error = AttributeValue::from_json(&input).expect_err(&input.to_string());
        assert_eq!(error.message, expected, "{input}");
    }

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    /// One value of every type, nested.
    fn every_type() -> AttributeValue {
        AttributeValue::M(item(&[
            ("s", s("héllo")),
            ("empty", s("")),
            ("n", AttributeValue::N(n("-1.5"))),
            ("b", AttributeValue::B(vec![0, 1, 2, 255])),
            ("empty_b", AttributeValue::B(Vec::new())),
            (
                "ss",
                AttributeValue::Ss(vec!["b".to_owned(), "a".to_owned()]),
            ),
            ("ns", AttributeValue::Ns(vec![n("3"), n("1e3"), n("-0.5")])),
            ("bs", AttributeValue::Bs(vec![vec![1], vec![2, 3]])),
            (
                "l",
                AttributeValue::L(vec![
                    AttributeValue::Null,
                    AttributeValue::Bool(false),
                    AttributeValue::L(Vec::new()),
                ]),
            ),
            ("m", AttributeValue::M(Item::new())),
            ("null", AttributeValue::Null),
            ("bool", AttributeValue::Bool(true)),
        ]))
    }

    fn every_type_json() -> Value {
        json!({"M": {
            "s": {"S": "héllo"},
            "empty": {"S": ""},
            "n": {"N": "-1.5"},
            "b": {"B": "AAEC/w=="},
            "empty_b": {"B": ""},
            "ss": {"SS": ["b", "a"]},
            "ns": {"NS": ["3", "1e3", "-0.5"]},
            "bs": {"BS": ["AQ==", "AgM="]},
            "l": {"L": [{"NULL": true}, {"BOOL": false}, {"L": []}]},
            "m": {"M": {}},
            "null": {"NULL": true},
            "bool": {"BOOL": true},
        }})
    }

    #[test]
    fn reads_every_type() {
        check(every_type_json(), every_type());
        check(json!({"N": "01.50"}), AttributeValue::N(n("1.5")));
        check(
            json!({"NS": ["1e3", "+2"]}),
            AttributeValue::Ns(vec![n("1000"), n("2")]),
        );
        // DynamoDB's JSON layer reads these strings as booleans.
        check(json!({"BOOL": "yes"}), AttributeValue::Bool(true));
        check(json!({"BOOL": "False"}), AttributeValue::Bool(false));
        check(json!({"NULL": "TRUE"}), AttributeValue::Null);
        // Unknown members are ignored, and a null member is absent.
        check(json!({"S": "a", "X": 1}), s("a"));
        check(json!({"S": "a", "N": null}), s("a"));
    }

    #[test]
    fn writes_the_wire_form() {
        assert_eq!(every_type().to_json(), normalised(every_type_json()));
        assert_eq!(
            serde_json::to_value(every_type()).ok(),
            Some(normalised(every_type_json()))
        );
        let text = serde_json::to_string(&AttributeValue::Ns(vec![n("1e3")])).ok();
        assert_eq!(text.as_deref(), Some(r#"{"NS":["1000"]}"#));
        let text = serde_json::to_string(&AttributeValue::B(b"hi".to_vec())).ok();
        assert_eq!(text.as_deref(), Some(r#"{"B":"aGk="}"#));
    }

    /// The wire form with numbers as DynamoDB returns them.
    fn normalised(mut v: Value) -> Value {
        v["M"]["ns"] = json!({"NS": ["3", "1000", "-0.5"]});
        v
    }

    #[test]
    fn round_trips_through_json() {
        let value = every_type();
        assert_eq!(
            AttributeValue::from_json(&value.to_json()),
            Ok(value.clone())
        );
        let written = serde_json::to_string(&value).unwrap_or_default();
        let reread: Value = serde_json::from_str(&written).unwrap_or_default();
        assert_eq!(AttributeValue::from_json(&reread), Ok(value));
    }

    const EMPTY: &str =
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
    const SEVERAL: &str = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes";
    const TOO_DEEP: &str = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";

    #[test]
    fn refuses_empty_and_several_types() {
        check_error(json!({}), EMPTY);
        check_error(json!({"a": ""}), EMPTY);
        check_error(json!({"S": null}), EMPTY);
        check_error(Value::Null, EMPTY);
        check_error(json!({"M": {"a": {}}}), EMPTY);
        check_error(json!({"L": [{}]}), EMPTY);
        check_error(json!({"L": [{"a": {}}]}), EMPTY);
        check_error(json!({"L": [null]}), EMPTY);
        check_error(json!({"S": "a", "N": "1"}), SEVERAL);
        check_error(json!({"NULL": true, "BOOL": false}), SEVERAL);
        // Each member is checked before the count.
        check_error(
            json!({"S": "", "N": ""}),
            "The parameter cannot be converted to a numeric value",
        );
        check_error(
            json!({"S": "a", "N": "b"}),
            "The parameter cannot be converted to a numeric value: b",
        );
    }

    #[test]
    fn refuses_invalid_values() {
        let table = [
            (
                json!({"NULL": false}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"NULL": "no"}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"SS": []}),
                "One or more parameter values were invalid: An string set  may not be empty",
            ),
            (
                json!({"NS": []}),
                "One or more parameter values were invalid: An number set  may not be empty",
            ),
            (
                json!({"BS": []}),
                "One or more parameter values were invalid: Binary sets should not be empty",
            ),
            (
                json!({"SS": ["a", "a"]}),
                "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
            ),
            (
                json!({"SS": ["a", "b", "a"]}),
                "One or more parameter values were invalid: Input collection [a, b, a] contains duplicates.",
            ),
            (
                json!({"BS": ["Yg==", "Yg=="]}),
                "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates.",
            ),
            (
                json!({"NS": ["1", "1"]}),
                "Input collection contains duplicates",
            ),
            (
                json!({"NS": ["1", "1.0"]}),
                "Input collection contains duplicates",
            ),
            (
                json!({"NS": ["1", ""]}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"NS": ["1", null]}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"NS": ["1", "b"]}),
                "The parameter cannot be converted to a numeric value: b",
            ),
            (
                json!({"N": ""}),
                "The parameter cannot be converted to a numeric value",
            ),
            (
                json!({"N": " 1"}),
                "The parameter cannot be converted to a numeric value:  1",
            ),
            (
                json!({"N": "123456789012345678901234567890123456789"}),
                "Attempting to store more than 38 significant digits in a Number",
            ),
            (
                json!({"N": "-1e126"}),
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            (
                json!({"NS": ["1e-131"]}),
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ),
            (
                json!({"SS": ["a", null]}),
                "One or more parameter values were invalid: String set members may not be null",
            ),
            (
                json!({"BS": ["Yg==", null]}),
                "One or more parameter values were invalid: Binary set members may not be null",
            ),
            (
                json!({"M": {"x": {"L": [{"NULL": false}]}}}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
        ];
        for (input, expected) in table {
            check_error(input, expected);
        }
    }

    #[test]
    fn refuses_json_of_the_wrong_type() {
        let table = [
            (json!(1), "Unexpected value type in payload"),
            (json!("S"), "Unexpected value type in payload"),
            (json!(true), "Unexpected value type in payload"),
            (
                json!([]),
                "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
            ),
            (
                json!({"S": 1}),
                "NUMBER_VALUE cannot be converted to String",
            ),
            (
                json!({"S": 1.0}),
                "NUMBER_VALUE cannot be converted to String",
            ),
            (
                json!({"N": 1.5}),
                "DECIMAL_VALUE cannot be converted to String",
            ),
            (
                json!({"S": true}),
                "TRUE_VALUE cannot be converted to String",
            ),
            (
                json!({"SS": [false]}),
                "FALSE_VALUE cannot be converted to String",
            ),
            (
                json!({"S": ["a"]}),
                "Unrecognized collection type class java.lang.String",
            ),
            (
                json!({"S": {}}),
                "Start of structure or map found where not expected",
            ),
            (
                json!({"B": 1}),
                "only base-64-encoded strings are convertible to bytes",
            ),
            (
                json!({"B": []}),
                "Unrecognized collection type class java.nio.ByteBuffer",
            ),
            (
                json!({"B": "abc"}),
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3",
            ),
            (
                json!({"B": "ab!="}),
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                json!({"B": "Yh=="}),
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                json!({"BS": ["Yg==", "Y"]}),
                "Base64 encoded length is expected a multiple of 4 bytes but found: 1",
            ),
            (
                json!({"BOOL": 1}),
                "NUMBER_VALUE cannot be converted to Boolean",
            ),
            (
                json!({"BOOL": "maybe"}),
                "Unexpected token received from parser",
            ),
            (
                json!({"BOOL": []}),
                "Unrecognized collection type class java.lang.Boolean",
            ),
            (
                json!({"NULL": {}}),
                "Start of structure or map found where not expected",
            ),
            (json!({"L": "x"}), "Unexpected field type"),
            (json!({"SS": 1}), "Unexpected field type"),
            (
                json!({"NS": {}}),
                "Start of structure or map found where not expected",
            ),
            (json!({"M": 1}), "Unexpected field type"),
            (
                json!({"M": []}),
                "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
            ),
            (json!({"L": [1]}), "Unexpected value type in payload"),
            (
                json!({"M": {"a": []}}),
                "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
            ),
        ];
        for (input, expected) in table {
            check_error(input, expected);
        }
    }

    /// `n_wraps` maps (or lists) around a string: its leaf sits at level `n_wraps + 1`.
    fn nested(n_wraps: usize, list: bool) -> Value {
        let mut v = json!({"S": "leaf"});
        for _ in 0..n_wraps {
            v = if list {
                json!({"L": [v]})
            } else {
                json!({"M": {"n": v}})
            };
        }
        v
    }

    #[test]
    fn nesting_is_limited_to_32_levels() {
        for list in [false, true] {
            assert!(AttributeValue::from_json(&nested(31, list)).is_ok());
            check_error(nested(32, list), TOO_DEEP);
            check_error(nested(100, list), TOO_DEEP);
        }
        // The limit counts the attribute itself as level 1, in an item too.
        assert!(item_from_json(&json!({"a": nested(31, false)})).is_ok());
        let error = item_from_json(&json!({"a": nested(16, true), "b": nested(32, false)}));
        assert_eq!(error.map_err(|e| e.message), Err(TOO_DEEP.to_owned()));
        // An empty container counts as a level.
        let mut deepest_empty = json!({"M": {}});
        for _ in 0..31 {
            deepest_empty = json!({"L": [deepest_empty]});
        }
        assert!(AttributeValue::from_json(&deepest_empty).is_ok());
        check_error(json!({"M": {"x": deepest_empty}}), TOO_DEEP);
    }

    #[test]
    fn reads_and_writes_items() {
        let input = json!({"id": {"S": "a"}, "n": {"N": "1.0"}, "tags": {"SS": ["x"]}});
        let expected = item(&[
            ("id", s("a")),
            ("n", AttributeValue::N(n("1"))),
            ("tags", AttributeValue::Ss(vec!["x".to_owned()])),
        ]);
        assert_eq!(item_from_json(&input), Ok(expected.clone()));
        let output = json!({"id": {"S": "a"}, "n": {"N": "1"}, "tags": {"SS": ["x"]}});
        assert_eq!(item_to_json(&expected), output);
        assert_eq!(item_from_json(&json!({})), Ok(Item::new()));
        let errors = [
            (
                json!([]),
                "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>",
            ),
            (json!("x"), "Unexpected field type"),
            (json!({"a": {"S": "x"}, "b": {}}), EMPTY),
            (json!({"a": null}), EMPTY),
        ];
        for (input, message) in errors {
            assert_eq!(
                item_from_json(&input).map_err(|e| e.message),
                Err(message.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn sizes_follow_dynamodb() {
        let table = [
            (s("abc"), 3),
            (s("é"), 2),
            (s(""), 0),
            (AttributeValue::B(vec![1, 2, 3, 4]), 4),
            (AttributeValue::N(n("12345")), 4),
            (AttributeValue::N(n("-1.5")), 4),
            (AttributeValue::Null, 1),
            (AttributeValue::Bool(false), 1),
            (
                AttributeValue::Ss(vec!["ab".to_owned(), "cde".to_owned()]),
                5,
            ),
            (AttributeValue::Ns(vec![n("1"), n("1.5")]), 5),
            (AttributeValue::Bs(vec![vec![1], vec![2, 3]]), 3),
            (AttributeValue::L(Vec::new()), 3),
            (AttributeValue::M(Item::new()), 3),
            // 3 + (1 + 1) + (1 + 2)
            (
                AttributeValue::L(vec![s("a"), AttributeValue::N(n("1"))]),
                8,
            ),
            // 3 + (1 + "ab" + 1) + (1 + "é" + 1)
            (
                AttributeValue::M(item(&[("ab", AttributeValue::Bool(true)), ("é", s("x"))])),
                11,
            ),
            // 3 + (1 + (3 + (1 + 1)))
            (
                AttributeValue::L(vec![AttributeValue::L(vec![AttributeValue::Null])]),
                9,
            ),
        ];
        for (value, expected) in table {
            assert_eq!(value.size(), expected, "{value:?}");
        }
        let attributes = item(&[("id", s("a")), ("ñ", AttributeValue::Bool(true))]);
        assert_eq!(item_size(&attributes), 2 + 1 + 2 + 1);
        assert_eq!(item_size(&Item::new()), 0);
    }

    #[test]
    fn sizes_meet_the_item_limit_where_dynamodb_does() {
        // dynalite's PutItem tests against DynamoDB: a string that fills the item to exactly
        // 400 KB is accepted, one byte more is refused.
        let key = "0123456789";
        let fill = |n_bytes: usize| item(&[("a", s(key)), ("b", s(&"a".repeat(n_bytes)))]);
        assert_eq!(
            item_size(&fill(ITEM_BYTES_MAX - key.len() - 2)),
            ITEM_BYTES_MAX
        );
        assert_eq!(
            item_size(&fill(ITEM_BYTES_MAX - key.len() - 1)),
            ITEM_BYTES_MAX + 1
        );
        // With a 38-digit number of 20 bytes: refused one byte over.
        let number = AttributeValue::N(n(&format!("{}{}", "1".repeat(38), "0".repeat(88))));
        // The names "a", "b" and "c" take a byte each.
        let n_fill = ITEM_BYTES_MAX + 1 - (1 + key.len()) - 1 - (1 + 20);
        let big = item(&[("a", s(key)), ("b", s(&"a".repeat(n_fill))), ("c", number)]);
        assert_eq!(item_size(&big), ITEM_BYTES_MAX + 1);
    }

    #[test]
    fn equality_is_by_value() {
        let equal = [
            (s("a"), s("a")),
            (AttributeValue::N(n("1.0")), AttributeValue::N(n("1"))),
            (
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
                AttributeValue::Ss(vec!["b".into(), "a".into()]),
            ),
            (
                AttributeValue::Ns(vec![n("1"), n("2.50")]),
                AttributeValue::Ns(vec![n("2.5"), n("1")]),
            ),
            (
                AttributeValue::Bs(vec![vec![1], vec![2]]),
                AttributeValue::Bs(vec![vec![2], vec![1]]),
            ),
            (
                AttributeValue::M(item(&[(
                    "x",
                    AttributeValue::Ss(vec!["a".into(), "b".into()]),
                )])),
                AttributeValue::M(item(&[(
                    "x",
                    AttributeValue::Ss(vec!["b".into(), "a".into()]),
                )])),
            ),
            (
                AttributeValue::L(vec![AttributeValue::Ns(vec![n("1"), n("2")])]),
                AttributeValue::L(vec![AttributeValue::Ns(vec![n("2"), n("1")])]),
            ),
            (AttributeValue::Null, AttributeValue::Null),
            (every_type(), every_type()),
        ];
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let many_reversed: Vec<String> = many.iter().rev().cloned().collect();
        let mut many_but_one = many.clone();
        many_but_one[50] = "x".to_owned();
        assert!(values_equal(
            &AttributeValue::Ss(many.clone()),
            &AttributeValue::Ss(many_reversed)
        ));
        assert!(!values_equal(
            &AttributeValue::Ss(many),
            &AttributeValue::Ss(many_but_one)
        ));
        for (a, b) in equal {
            assert!(values_equal(&a, &b), "{a:?} == {b:?}");
            assert!(values_equal(&b, &a), "{b:?} == {a:?}");
        }
        let different = [
            (s("a"), s("b")),
            (s("1"), AttributeValue::N(n("1"))),
            (s("a"), AttributeValue::Ss(vec!["a".into()])),
            (
                AttributeValue::B(vec![1]),
                AttributeValue::Bs(vec![vec![1]]),
            ),
            (
                AttributeValue::Ss(vec!["a".into()]),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                AttributeValue::Ns(vec![n("1"), n("2")]),
                AttributeValue::Ns(vec![n("1"), n("3")]),
            ),
            (
                AttributeValue::L(vec![s("a"), s("b")]),
                AttributeValue::L(vec![s("b"), s("a")]),
            ),
            (
                AttributeValue::L(vec![s("a")]),
                AttributeValue::L(vec![s("a"), s("a")]),
            ),
            (
                AttributeValue::M(item(&[("x", s("a"))])),
                AttributeValue::M(item(&[("y", s("a"))])),
            ),
            (
                AttributeValue::M(item(&[("x", s("a"))])),
                AttributeValue::M(Item::new()),
            ),
            (AttributeValue::Bool(true), AttributeValue::Bool(false)),
            (AttributeValue::Null, AttributeValue::Bool(false)),
            (
                AttributeValue::L(Vec::new()),
                AttributeValue::M(Item::new()),
            ),
        ];
        for (a, b) in different {
            assert!(!values_equal(&a, &b), "{a:?} != {b:?}");
            assert!(!values_equal(&b, &a), "{b:?} != {a:?}");
        }
    }

    #[test]
    fn type_names() {
        let AttributeValue::M(attributes) = every_type() else {
            unreachable!()
        };
        let names: Vec<(&str, &str)> = attributes
            .iter()
            .map(|(name, value)| (name.as_str(), value.type_name()))
            .collect();
        let expected = [
            ("b", "B"),
            ("bool", "BOOL"),
            ("bs", "BS"),
            ("empty", "S"),
            ("empty_b", "B"),
            ("l", "L"),
            ("m", "M"),
            ("n", "N"),
            ("ns", "NS"),
            ("null", "NULL"),
            ("s", "S"),
            ("ss", "SS"),
        ];
        assert_eq!(names, expected);
    }
}
