//! DynamoDB items: attribute values, exact decimal numbers, item sizes, a compact binary
//! encoding, and the expression language (parse and evaluate). Pure: no IO, no async.

pub mod number;
pub mod value;

pub use number::Number;
pub use value::{AttributeValue, Item, ValueError};
