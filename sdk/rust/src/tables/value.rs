//! [`AttributeValue`] and [`Item`]: DynamoDB's typed values, in their wire form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::base64;

/// An item (or a key): attribute names to their values.
pub type Item = BTreeMap<String, AttributeValue>;

/// One attribute's value, tagged with its DynamoDB type.
///
/// It serializes as DynamoDB's wire form, an object with exactly one key naming the type:
/// `{"S": "text"}`, `{"N": "1.5"}`, `{"B": "<base64>"}`, `{"SS": [..]}`, `{"NS": [..]}`,
/// `{"BS": [..]}`, `{"M": {..}}`, `{"L": [..]}`, `{"NULL": true}` or `{"BOOL": true}`.
///
/// Numbers are kept as their decimal text, so no precision is lost on the way (DynamoDB holds up
/// to 38 significant digits exactly). Binary values are bytes here and base64 text on the wire.
///
/// Conversions build values from plain Rust ones:
///
/// ```
/// use rondo_sdk::tables::AttributeValue;
///
/// assert_eq!(AttributeValue::from("cart#42"), AttributeValue::S("cart#42".to_owned()));
/// assert_eq!(AttributeValue::from(3_u64), AttributeValue::N("3".to_owned()));
/// assert_eq!(AttributeValue::from(vec![1_u8, 2]), AttributeValue::B(vec![1, 2]));
/// assert_eq!(AttributeValue::from(true), AttributeValue::Bool(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// A string.
    S(String),
    /// A number, as its decimal text (`"42"`, `"-1.5"`, `"1E+3"`).
    N(String),
    /// Binary data.
    B(Vec<u8>),
    /// A set of strings: non-empty, without duplicates.
    Ss(Vec<String>),
    /// A set of numbers: non-empty, without duplicates.
    Ns(Vec<String>),
    /// A set of binary values: non-empty, without duplicates.
    Bs(Vec<Vec<u8>>),
    /// A map of named values.
    M(Item),
    /// A list of values of any types.
    L(Vec<AttributeValue>),
    /// The null value.
    Null,
    /// A boolean.
    Bool(bool),
}

impl AttributeValue {
    /// The string, if this is an `S`.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttributeValue::S(text) => Some(text),
            _ => None,
        }
    }

    /// The number's text, if this is an `N`.
    pub fn as_n(&self) -> Option<&str> {
        match self {
            AttributeValue::N(number) => Some(number),
            _ => None,
        }
    }

    /// The number, if this is an `N` holding a whole number that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_n()?.parse().ok()
    }

    /// The number, if this is an `N` holding a whole number that fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_n()?.parse().ok()
    }

    /// The bytes, if this is a `B`.
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            AttributeValue::B(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The map, if this is an `M`.
    pub fn as_m(&self) -> Option<&Item> {
        match self {
            AttributeValue::M(item) => Some(item),
            _ => None,
        }
    }

    /// The list, if this is an `L`.
    pub fn as_l(&self) -> Option<&[AttributeValue]> {
        match self {
            AttributeValue::L(values) => Some(values),
            _ => None,
        }
    }

    /// The boolean, if this is a `BOOL`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttributeValue::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// Whether this is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, AttributeValue::Null)
    }
}

/// Builds an [`Item`] from name and value pairs.
///
/// ```
/// use rondo_sdk::tables;
///
/// let key = tables::item([("pk", "cart#42".into()), ("sk", 7.into())]);
/// assert_eq!(key["sk"].as_i64(), Some(7));
/// ```
pub fn item<K: Into<String>>(attributes: impl IntoIterator<Item = (K, AttributeValue)>) -> Item {
    attributes
        .into_iter()
        .map(|(name, value)| (name.into(), value))
        .collect()
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(text) => map.serialize_entry("S", text)?,
            AttributeValue::N(number) => map.serialize_entry("N", number)?,
            AttributeValue::B(bytes) => map.serialize_entry("B", &base64::encode(bytes))?,
            AttributeValue::Ss(texts) => map.serialize_entry("SS", texts)?,
            AttributeValue::Ns(numbers) => map.serialize_entry("NS", numbers)?,
            AttributeValue::Bs(blobs) => {
                let texts: Vec<String> = blobs.iter().map(|blob| base64::encode(blob)).collect();
                map.serialize_entry("BS", &texts)?;
            }
            AttributeValue::M(item) => map.serialize_entry("M", item)?,
            AttributeValue::L(values) => map.serialize_entry("L", values)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::Bool(value) => map.serialize_entry("BOOL", value)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AttributeValue, D::Error> {
        deserializer.deserialize_map(WireVisitor)
    }
}

/// Reads the wire form: an object with exactly one key, the type.
struct WireVisitor;

const TYPES: &[&str] = &["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"];

impl<'de> Visitor<'de> for WireVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value: an object with exactly one type key")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let Some(tag) = map.next_key::<String>()? else {
            return Err(A::Error::custom(
                "an attribute value is empty; it needs exactly one type key",
            ));
        };
        let value = match tag.as_str() {
            "S" => AttributeValue::S(map.next_value()?),
            "N" => AttributeValue::N(map.next_value()?),
            "B" => AttributeValue::B(decode(map.next_value()?)?),
            "SS" => AttributeValue::Ss(map.next_value()?),
            "NS" => AttributeValue::Ns(map.next_value()?),
            "BS" => {
                let texts: Vec<String> = map.next_value()?;
                AttributeValue::Bs(texts.into_iter().map(decode).collect::<Result<_, _>>()?)
            }
            "M" => AttributeValue::M(map.next_value()?),
            "L" => AttributeValue::L(map.next_value()?),
            "NULL" => match map.next_value()? {
                true => AttributeValue::Null,
                false => return Err(A::Error::custom("NULL must be true")),
            },
            "BOOL" => AttributeValue::Bool(map.next_value()?),
            other => return Err(A::Error::unknown_variant(other, TYPES)),
        };
        if let Some(second) = map.next_key::<String>()? {
            return Err(A::Error::custom(format_args!(
                "an attribute value has more than one type key: {tag} and {second}"
            )));
        }
        Ok(value)
    }
}

fn decode<E: de::Error>(text: String) -> Result<Vec<u8>, E> {
    base64::decode(&text).map_err(|error| {
        E::custom(format_args!(
            "binary value {text:?} is not base64: invalid character at byte {}",
            error.offset
        ))
    })
}

impl From<&str> for AttributeValue {
    fn from(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(text: String) -> AttributeValue {
        AttributeValue::S(text)
    }
}

/// Whole numbers become `N` with their exact decimal text.
macro_rules! from_integer {
    ($($integer:ty),*) => {
        $(
            impl From<$integer> for AttributeValue {
                fn from(number: $integer) -> AttributeValue {
                    AttributeValue::N(number.to_string())
                }
            }
        )*
    };
}

from_integer!(i32, i64, u32, u64);

impl From<bool> for AttributeValue {
    fn from(value: bool) -> AttributeValue {
        AttributeValue::Bool(value)
    }
}

impl From<Vec<u8>> for AttributeValue {
    fn from(bytes: Vec<u8>) -> AttributeValue {
        AttributeValue::B(bytes)
    }
}

impl From<&[u8]> for AttributeValue {
    fn from(bytes: &[u8]) -> AttributeValue {
        AttributeValue::B(bytes.to_vec())
    }
}

impl From<Item> for AttributeValue {
    fn from(item: Item) -> AttributeValue {
        AttributeValue::M(item)
    }
}

impl From<Vec<AttributeValue>> for AttributeValue {
    fn from(values: Vec<AttributeValue>) -> AttributeValue {
        AttributeValue::L(values)
    }
}

/// Plain JSON as a document: strings become `S`, numbers `N` (with serde_json's text of the
/// number), booleans `BOOL`, `null` `NULL`, arrays `L` and objects `M`.
///
/// ```
/// use rondo_sdk::tables::AttributeValue;
/// use serde_json::json;
///
/// let value = AttributeValue::from(json!({"name": "tea", "count": 2}));
/// let item = value.as_m().expect("an object becomes a map");
/// assert_eq!(item["name"], AttributeValue::from("tea"));
/// assert_eq!(item["count"], AttributeValue::from(2));
/// ```
impl From<serde_json::Value> for AttributeValue {
    fn from(value: serde_json::Value) -> AttributeValue {
        use serde_json::Value;
        match value {
            Value::Null => AttributeValue::Null,
            Value::Bool(value) => AttributeValue::Bool(value),
            Value::Number(number) => AttributeValue::N(number.to_string()),
            Value::String(text) => AttributeValue::S(text),
            Value::Array(values) => {
                AttributeValue::L(values.into_iter().map(AttributeValue::from).collect())
            }
            Value::Object(fields) => AttributeValue::M(
                fields
                    .into_iter()
                    .map(|(name, value)| (name, AttributeValue::from(value)))
                    .collect(),
            ),
        }
    }
}
