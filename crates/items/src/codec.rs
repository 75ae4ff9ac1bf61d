//! A compact, versioned binary encoding of an [`Item`] for storage.
//!
//! ```text
//! item   := version:u8 (= 1)  n_attributes:varint  (name value)*     names in strictly increasing order
//! name   := length:varint  utf8
//! value  := tag:u8 payload
//!   S  1  length:varint utf8          SS 4  count:varint (length:varint utf8)*
//!   N  2  length:varint normalised    NS 5  count:varint (length:varint normalised)*
//!   B  3  length:varint bytes         BS 6  count:varint (length:varint bytes)*
//!   M  7  count:varint (name value)*  L  8  count:varint value*
//!   NULL 9   BOOL false 10   BOOL true 11
//! ```
//!
//! Varints are unsigned LEB128. One item has one encoding, so equal items give equal bytes.
//! Decoding checks everything the encoder promises (UTF-8, normalised numbers, non-empty sets
//! without duplicates, name order, nesting depth, no trailing bytes) and returns a [`CodecError`]
//! for corrupt input; it never panics and never allocates more than the input can fill.

use std::collections::HashSet;

use crate::limits::NESTING_DEPTH_MAX;
use crate::{AttributeValue, Item, Number};

/// The version byte every encoding starts with.
const VERSION: u8 = 1;

const TAG_S: u8 = 1;
const TAG_N: u8 = 2;
const TAG_B: u8 = 3;
const TAG_SS: u8 = 4;
const TAG_NS: u8 = 5;
const TAG_BS: u8 = 6;
const TAG_M: u8 = 7;
const TAG_L: u8 = 8;
const TAG_NULL: u8 = 9;
const TAG_FALSE: u8 = 10;
const TAG_TRUE: u8 = 11;

/// Bytes that are not an encoded item; `offset` is where in the input the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("unsupported item encoding version {version}")]
    UnsupportedVersion { version: u8 },
    #[error("encoded item ends early at offset {offset}")]
    Truncated { offset: usize },
    #[error("varint not in its shortest form or over 64 bits at offset {offset}")]
    InvalidVarint { offset: usize },
    #[error("length {length} at offset {offset} exceeds the remaining input")]
    LengthTooLarge { length: u64, offset: usize },
    #[error("unknown value tag {tag} at offset {offset}")]
    UnknownTag { tag: u8, offset: usize },
    #[error("invalid UTF-8 in a string at offset {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("invalid or unnormalised number {text:?} at offset {offset}")]
    InvalidNumber { text: String, offset: usize },
    #[error("empty set at offset {offset}")]
    EmptySet { offset: usize },
    #[error("duplicate set member at offset {offset}")]
    DuplicateSetMember { offset: usize },
    #[error("attribute name {name:?} at offset {offset} is out of order or repeated")]
    NameOutOfOrder { name: String, offset: usize },
    #[error("values nested deeper than {NESTING_DEPTH_MAX} levels at offset {offset}")]
    TooDeep { offset: usize },
    #[error("{n_bytes} unexpected bytes after the item at offset {offset}")]
    TrailingBytes { n_bytes: usize, offset: usize },
}

/// Encodes an item (deterministically: an `Item` iterates its names in order).
pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + crate::item_size(item));
    out.push(VERSION);
    write_map(&mut out, item);
    out
}

/// Decodes what [`encode_item`] wrote.
pub fn decode_item(bytes: &[u8]) -> Result<Item, CodecError> {
    let mut reader = Reader { bytes, offset: 0 };
    let version = reader.byte()?;
    if version != VERSION {
        return Err(CodecError::UnsupportedVersion { version });
    }
    let item = reader.map(1)?;
    let n_bytes = bytes.len() - reader.offset;
    if n_bytes != 0 {
        return Err(CodecError::TrailingBytes {
            n_bytes,
            offset: reader.offset,
        });
    }
    Ok(item)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // Truncation intended: the low seven bits, with the continuation bit set.
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    write_varint(out, u64::try_from(len).expect("usize fits u64"));
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn write_map(out: &mut Vec<u8>, map: &Item) {
    write_len(out, map.len());
    for (name, value) in map {
        write_bytes(out, name.as_bytes());
        write_value(out, value);
    }
}

fn write_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => {
            out.push(TAG_S);
            write_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(TAG_N);
            write_bytes(out, n.as_str().as_bytes());
        }
        AttributeValue::B(b) => {
            out.push(TAG_B);
            write_bytes(out, b);
        }
        AttributeValue::Ss(ss) => write_set(out, TAG_SS, ss.iter().map(String::as_bytes)),
        AttributeValue::Ns(ns) => write_set(out, TAG_NS, ns.iter().map(|n| n.as_str().as_bytes())),
        AttributeValue::Bs(bs) => write_set(out, TAG_BS, bs.iter().map(Vec::as_slice)),
        AttributeValue::M(m) => {
            out.push(TAG_M);
            write_map(out, m);
        }
        AttributeValue::L(l) => {
            out.push(TAG_L);
            write_len(out, l.len());
            for element in l {
                write_value(out, element);
            }
        }
        AttributeValue::Null => out.push(TAG_NULL),
        AttributeValue::Bool(false) => out.push(TAG_FALSE),
        AttributeValue::Bool(true) => out.push(TAG_TRUE),
    }
}

fn write_set<'a>(out: &mut Vec<u8>, tag: u8, members: impl ExactSizeIterator<Item = &'a [u8]>) {
    // Invariant: sets are non-empty (decoding refuses an empty one).
    debug_assert!(members.len() > 0, "an empty set reached the encoder");
    out.push(tag);
    write_len(out, members.len());
    for member in members {
        write_bytes(out, member);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let byte = *self.bytes.get(self.offset).ok_or(CodecError::Truncated {
            offset: self.offset,
        })?;
        self.offset += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let start = self.offset;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(CodecError::InvalidVarint { offset: start });
            }
            v |= bits << shift;
            if byte & 0x80 == 0 {
                // A last byte of zero after the first adds nothing: the shortest form has none.
                if byte == 0 && shift > 0 {
                    return Err(CodecError::InvalidVarint { offset: start });
                }
                return Ok(v);
            }
        }
        Err(CodecError::InvalidVarint { offset: start })
    }

    /// A count or length that cannot exceed the remaining input: every counted element takes at
    /// least one byte, so this bounds every allocation by the input's size.
    fn len(&mut self) -> Result<usize, CodecError> {
        let offset = self.offset;
        let length = self.varint()?;
        match usize::try_from(length) {
            Ok(len) if len <= self.remaining() => Ok(len),
            _ => Err(CodecError::LengthTooLarge { length, offset }),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let len = self.len()?;
        let bytes = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(bytes)
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let offset = self.offset;
        let bytes = self.bytes()?;
        let text = std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8 { offset })?;
        Ok(text.to_owned())
    }

    fn number(&mut self) -> Result<Number, CodecError> {
        let offset = self.offset;
        let bytes = self.bytes()?;
        let invalid = || CodecError::InvalidNumber {
            text: String::from_utf8_lossy(bytes).into_owned(),
            offset,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid())?;
        match Number::parse(text) {
            Ok(number) if number.as_str() == text => Ok(number),
            _ => Err(invalid()),
        }
    }

    /// The attributes of an item or an `M` value, whose values sit at nesting `level`.
    fn map(&mut self, level: usize) -> Result<Item, CodecError> {
        let n_attributes = self.len()?;
        let mut map = Item::new();
        for _ in 0..n_attributes {
            let offset = self.offset;
            let name = self.string()?;
            let in_order = map.last_key_value().is_none_or(|(last, _)| *last < name);
            if !in_order {
                return Err(CodecError::NameOutOfOrder { name, offset });
            }
            let value = self.value(level)?;
            map.insert(name, value);
        }
        Ok(map)
    }

    fn value(&mut self, level: usize) -> Result<AttributeValue, CodecError> {
        let offset = self.offset;
        if level > NESTING_DEPTH_MAX {
            return Err(CodecError::TooDeep { offset });
        }
        let tag = self.byte()?;
        let value = match tag {
            TAG_S => AttributeValue::S(self.string()?),
            TAG_N => AttributeValue::N(self.number()?),
            TAG_B => AttributeValue::B(self.bytes()?.to_vec()),
            TAG_SS => AttributeValue::Ss(self.set(Reader::string)?),
            TAG_NS => AttributeValue::Ns(self.set(Reader::number)?),
            TAG_BS => AttributeValue::Bs(self.set(|reader| Ok(reader.bytes()?.to_vec()))?),
            TAG_M => AttributeValue::M(self.map(level + 1)?),
            TAG_L => {
                let n_elements = self.len()?;
                let mut elements = Vec::with_capacity(n_elements);
                for _ in 0..n_elements {
                    elements.push(self.value(level + 1)?);
                }
                AttributeValue::L(elements)
            }
            TAG_NULL => AttributeValue::Null,
            TAG_FALSE => AttributeValue::Bool(false),
            TAG_TRUE => AttributeValue::Bool(true),
            _ => return Err(CodecError::UnknownTag { tag, offset }),
        };
        Ok(value)
    }

    fn set<T: Eq + std::hash::Hash>(
        &mut self,
        mut member: impl FnMut(&mut Reader<'a>) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        let offset = self.offset;
        let n_members = self.len()?;
        if n_members == 0 {
            return Err(CodecError::EmptySet { offset });
        }
        let mut members = Vec::with_capacity(n_members);
        for _ in 0..n_members {
            members.push(member(self)?);
        }
        let mut seen = HashSet::with_capacity(n_members);
        if !members.iter().all(|m| seen.insert(m)) {
            return Err(CodecError::DuplicateSetMember { offset });
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::{CodecError, decode_item, encode_item};
    use crate::{AttributeValue, Item, Number};

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    fn every_type() -> Item {
        let largest = format!("9.{}E+125", "9".repeat(37));
        let scalars = item(&[
            ("s", AttributeValue::S("héllo ✓".to_owned())),
            ("empty_s", AttributeValue::S(String::new())),
            ("n", AttributeValue::N(n("-123.456"))),
            ("big", AttributeValue::N(n(&largest))),
            ("tiny", AttributeValue::N(n("1e-130"))),
            ("zero", AttributeValue::N(n("0"))),
            ("b", AttributeValue::B((0..=255).collect())),
            ("empty_b", AttributeValue::B(Vec::new())),
            (
                "ss",
                AttributeValue::Ss(vec!["z".to_owned(), "a".to_owned(), String::new()]),
            ),
            ("ns", AttributeValue::Ns(vec![n("2"), n("-1"), n("0.5")])),
            (
                "bs",
                AttributeValue::Bs(vec![vec![9], Vec::new(), vec![1, 2]]),
            ),
            ("null", AttributeValue::Null),
            ("yes", AttributeValue::Bool(true)),
            ("no", AttributeValue::Bool(false)),
            ("", AttributeValue::S("empty name".to_owned())),
        ]);
        let mut all = scalars.clone();
        all.insert("m".to_owned(), AttributeValue::M(scalars.clone()));
        all.insert("empty_m".to_owned(), AttributeValue::M(Item::new()));
        all.insert("empty_l".to_owned(), AttributeValue::L(Vec::new()));
        let list = scalars
            .values()
            .cloned()
            .chain([AttributeValue::M(scalars.clone())])
            .collect();
        all.insert(
            "l".to_owned(),
            AttributeValue::L(vec![AttributeValue::L(list)]),
        );
        all
    }

    /// `n_wraps` lists around a number: its leaf sits at level `n_wraps + 1`.
    fn nested(n_wraps: usize) -> AttributeValue {
        let mut value = AttributeValue::N(n("1"));
        for _ in 0..n_wraps {
            value = AttributeValue::L(vec![value]);
        }
        value
    }

    fn check_round_trip(item: &Item) {
        let bytes = encode_item(item);
        assert_eq!(decode_item(&bytes).as_ref(), Ok(item));
        assert_eq!(encode_item(item), bytes, "the encoding is deterministic");
    }

    #[test]
    fn round_trips() {
        check_round_trip(&Item::new());
        check_round_trip(&every_type());
        check_round_trip(&item(&[("deep", nested(31))]));
        let long = "x".repeat(100_000);
        check_round_trip(&item(&[(long.as_str(), AttributeValue::S(long.clone()))]));
    }

    #[test]
    fn layout_is_stable() {
        let value = item(&[
            ("a", AttributeValue::N(n("1.5"))),
            ("b", AttributeValue::Bool(true)),
        ]);
        let expected = [1, 2, 1, b'a', 2, 3, b'1', b'.', b'5', 1, b'b', 11];
        assert_eq!(encode_item(&value), expected);
    }

    fn check_error(bytes: &[u8], expected: CodecError) {
        assert_eq!(decode_item(bytes), Err(expected), "{bytes:?}");
    }

    #[test]
    fn refuses_corrupt_input() {
        check_error(&[], CodecError::Truncated { offset: 0 });
        check_error(&[2, 0], CodecError::UnsupportedVersion { version: 2 });
        check_error(&[1], CodecError::Truncated { offset: 1 });
        check_error(&[1, 1, 1, b'a'], CodecError::Truncated { offset: 4 });
        check_error(
            &[1, 1, 1, b'a', 12],
            CodecError::UnknownTag { tag: 12, offset: 4 },
        );
        check_error(
            &[1, 1, 1, b'a', 0],
            CodecError::UnknownTag { tag: 0, offset: 4 },
        );
        check_error(&[1, 1, 1, 0xff, 9], CodecError::InvalidUtf8 { offset: 2 });
        check_error(
            &[1, 1, 1, b'a', 1, 1, 0xc3],
            CodecError::InvalidUtf8 { offset: 5 },
        );
        let number = |text: &str| CodecError::InvalidNumber {
            text: text.to_owned(),
            offset: 5,
        };
        check_error(&[1, 1, 1, b'a', 2, 2, b'0', b'1'], number("01"));
        check_error(&[1, 1, 1, b'a', 2, 2, b'-', b'0'], number("-0"));
        check_error(&[1, 1, 1, b'a', 2, 3, b'1', b'e', b'3'], number("1e3"));
        check_error(&[1, 1, 1, b'a', 2, 1, b'x'], number("x"));
        check_error(&[1, 1, 1, b'a', 2, 0], number(""));
        check_error(&[1, 1, 1, b'a', 4, 0], CodecError::EmptySet { offset: 5 });
        check_error(
            &[1, 1, 1, b'a', 5, 2, 1, b'1', 1, b'1'],
            CodecError::DuplicateSetMember { offset: 5 },
        );
        check_error(
            &[1, 1, 1, b'a', 6, 2, 0, 0],
            CodecError::DuplicateSetMember { offset: 5 },
        );
        let name = |name: &str, offset| CodecError::NameOutOfOrder {
            name: name.to_owned(),
            offset,
        };
        check_error(&[1, 2, 1, b'b', 9, 1, b'a', 9], name("a", 5));
        check_error(&[1, 2, 1, b'a', 9, 1, b'a', 9], name("a", 5));
        check_error(&[1, 1, 1, b'a', 7, 2, 1, b'b', 9, 1, b'a', 9], name("a", 9));
        check_error(
            &[1, 0, 0],
            CodecError::TrailingBytes {
                n_bytes: 1,
                offset: 2,
            },
        );
        check_error(
            &[1, 5, 1, b'a', 9],
            CodecError::LengthTooLarge {
                length: 5,
                offset: 1,
            },
        );
        check_error(
            &[1, 1, 0xff, 0xff, 0xff, 0x0f],
            CodecError::LengthTooLarge {
                length: 0x1ff_ffff,
                offset: 2,
            },
        );
        check_error(
            &[1, 1, 1, b'a', 8, 0xff, 0xff, 0xff, 0xff, 0x0f],
            CodecError::LengthTooLarge {
                length: 0xffff_ffff,
                offset: 5,
            },
        );
        check_error(
            &[
                1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02,
            ],
            CodecError::InvalidVarint { offset: 1 },
        );
        check_error(
            &[
                1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0,
            ],
            CodecError::InvalidVarint { offset: 1 },
        );
        check_error(&[1, 0x80, 0x00], CodecError::InvalidVarint { offset: 1 });
        check_error(
            &[1, 1, 0x81, 0x00, b'a', 9],
            CodecError::InvalidVarint { offset: 2 },
        );
    }

    #[test]
    fn refuses_nesting_beyond_32_levels() {
        let mut bytes = encode_item(&item(&[("a", nested(31))]));
        assert!(decode_item(&bytes).is_ok());
        // One more list around the value: version, count, name, then 32 list headers.
        bytes = encode_item(&item(&[("a", nested(32))]));
        check_error(&bytes, CodecError::TooDeep { offset: 4 + 2 * 32 });
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode_item(&every_type());
        for len in 0..bytes.len() {
            assert!(
                decode_item(&bytes[..len]).is_err(),
                "a prefix of {len} bytes decoded"
            );
        }
    }

    #[test]
    fn damaged_bytes_never_panic() {
        let bytes = encode_item(&every_type());
        for idx in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[idx] ^= flip;
                if let Ok(item) = decode_item(&damaged) {
                    // Whatever decodes is a valid item that encodes back to the same bytes.
                    assert_eq!(encode_item(&item), damaged);
                }
            }
        }
        // Random input: a tiny xorshift generator, replayable from its seed.
        let mut state: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let random: Vec<u8> = (0..len)
                .map(|i| (state >> (i % 8 * 8)) as u8 % 16)
                .collect();
            let mut input = vec![1];
            input.extend(random);
            if let Ok(item) = decode_item(&input) {
                assert_eq!(encode_item(&item), input);
            }
        }
    }
}
