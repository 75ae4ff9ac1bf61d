//! DynamoDB items: attribute values, exact decimal numbers, item sizes, a compact binary
//! encoding, and the expression language (parse and evaluate). Pure: no IO, no async.

pub mod codec;
pub mod expr;
pub mod limits;
pub mod number;
pub mod value;

pub use codec::{CodecError, decode_item, encode_item};
pub use number::Number;
pub use value::{AttributeValue, Item, ValueError, ValueErrorKind};
pub use value::{item_from_json, item_size, item_to_json, values_equal};
