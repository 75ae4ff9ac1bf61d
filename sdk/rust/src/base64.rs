//! Standard base64 (RFC 4648 §4, with padding), for `isBase64Encoded` bodies.
//!
//! A few dozen lines here instead of a dependency keep guest components small.

#[cfg(test)]
mod tests;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The input is not standard base64; carries the byte offset of the first offending character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) offset: usize,
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let n_chars = chunk.len() + 1;
        for char_idx in 0..4 {
            if char_idx < n_chars {
                let sextet = (n >> (18 - 6 * char_idx)) & 0x3f;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded or unpadded standard base64.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let data_len = bytes.len() - trailing_padding(bytes);
    let mut out = Vec::with_capacity(data_len / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut n_bits: u32 = 0;
    for (offset, &byte) in bytes[..data_len].iter().enumerate() {
        let sextet = sextet(byte).ok_or(DecodeError { offset })?;
        acc = acc << 6 | u32::from(sextet);
        n_bits += 6;
        if n_bits >= 8 {
            n_bits -= 8;
            out.push((acc >> n_bits) as u8);
            acc &= (1 << n_bits) - 1;
        }
    }
    if data_len % 4 == 1 {
        // A lone final character carries 6 bits: not even one byte.
        return Err(DecodeError {
            offset: data_len - 1,
        });
    }
    Ok(out)
}

/// The number of `=` at the end, if it is a valid amount of padding for the length.
fn trailing_padding(bytes: &[u8]) -> usize {
    let n_padding = bytes
        .iter()
        .rev()
        .take(2)
        .take_while(|&&byte| byte == b'=')
        .count();
    if n_padding > 0 && !bytes.len().is_multiple_of(4) {
        // Padding only appears in a whole final quantum; leave it in so it is reported as invalid.
        return 0;
    }
    n_padding
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}
