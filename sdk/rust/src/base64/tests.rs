use super::{DecodeError, decode, encode};

fn check(bytes: &[u8], text: &str) {
    assert_eq!(encode(bytes), text);
    assert_eq!(decode(text).as_deref(), Ok(bytes));
    let unpadded = text.trim_end_matches('=');
    assert_eq!(decode(unpadded).as_deref(), Ok(bytes));
}

#[test]
fn rfc4648_vectors() {
    check(b"", "");
    check(b"f", "Zg==");
    check(b"fo", "Zm8=");
    check(b"foo", "Zm9v");
    check(b"foob", "Zm9vYg==");
    check(b"fooba", "Zm9vYmE=");
    check(b"foobar", "Zm9vYmFy");
}

#[test]
fn all_byte_values_round_trip() {
    let bytes: Vec<u8> = (0..=255).collect();
    let text = encode(&bytes);
    assert!(text.contains('+') && text.contains('/'));
    assert_eq!(decode(&text), Ok(bytes));
}

#[test]
fn invalid_input_names_the_offset() {
    assert_eq!(decode("Zm9v!A=="), Err(DecodeError { offset: 4 }));
    assert_eq!(decode("Zm9vY"), Err(DecodeError { offset: 4 }));
    assert_eq!(decode("Zg=a"), Err(DecodeError { offset: 2 }));
    assert_eq!(decode("Zm9=Zm9v"), Err(DecodeError { offset: 3 }));
    assert_eq!(decode("Zm 9v"), Err(DecodeError { offset: 2 }));
}
