//! Reading what the tables keep in the store, checked: a value (or a key) that does not decode
//! is an error naming its key ([`store::StoreError::Corrupt`], answered as DynamoDB's
//! `InternalServerError`), never a default or a zero.
//!
//! Only a key that is absent has a meaning of its own (a counter that was never written is 0);
//! the callers decide that before they decode.

use items::Item;
use serde::de::DeserializeOwned;
use store::StoreError;

use crate::error::{ApiError, ApiResult};

/// A counter or a last id stored under `key`: exactly 8 bytes, big-endian.
pub fn u64_value(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    let bytes = <[u8; 8]>::try_from(value).map_err(|_| {
        StoreError::corrupt(key, format!("expected 8 bytes, found {}", value.len()))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// An item (or a projected index entry) stored under `key`.
pub fn item(key: &[u8], value: &[u8]) -> ApiResult<Item> {
    items::codec::decode_item(value).map_err(|error| corrupt(key, error.to_string()))
}

/// A JSON value (a table definition, a stream's metadata or record) stored under `key`.
pub fn json<T: DeserializeOwned>(key: &[u8], value: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(value)
        .map_err(|error| corrupt(key, format!("not the JSON expected: {error}")))
}

/// The entry under `key` is corrupt, as DynamoDB's `InternalServerError`.
pub fn corrupt(key: &[u8], reason: impl Into<String>) -> ApiError {
    ApiError::from(StoreError::corrupt(key, reason))
}
