//! DynamoDB's AttributeValue JSON (`{"S": "…"}`, `{"N": "…"}`, `{"M": {…}}`, …) as the tables read
//! it: any JSON document, as an item (`items::item_from_json`) and as one value
//! (`AttributeValue::from_json`). A `ValueError` is a normal outcome; what decodes must encode
//! back to JSON that decodes to the same thing.

#![no_main]

use items::AttributeValue;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(item) = items::item_from_json(&json) {
        let again = items::item_from_json(&items::item_to_json(&item));
        assert_eq!(Ok(&item), again.as_ref(), "an item survives its JSON");
        let _ = items::item_size(&item);
    }
    if let Ok(value) = AttributeValue::from_json(&json) {
        let again = AttributeValue::from_json(&value.to_json());
        assert_eq!(Ok(&value), again.as_ref(), "a value survives its JSON");
        let _ = value.size();
    }
});
