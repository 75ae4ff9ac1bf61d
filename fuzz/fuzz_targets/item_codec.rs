//! The items' binary encoding as `items::decode_item` reads it back from the store: arbitrary
//! bytes must decode or fail with a `CodecError`, never panic. One item has one encoding, so an
//! item that decodes must encode to the very bytes it came from.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(item) = items::decode_item(data) else {
        return;
    };
    let encoded = items::encode_item(&item);
    assert_eq!(encoded, data, "encode(decode(bytes)) == bytes");
    let _ = items::item_size(&item);
});
