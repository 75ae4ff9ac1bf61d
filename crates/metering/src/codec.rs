//! How the ledger lives in the store's one ordered keyspace, in the area [`Area::Ledger`]
//! (`AREA` below).
//!
//! ```text
//! AREA 'n'                                   → number of raw records (u64 BE)
//! AREA 'm'                                   → number of buckets (u64 BE)
//! AREA 's'                                   → the last raw record's sequence number (u64 BE)
//! AREA 'r' <time µs u64> <sequence u64>      → one usage record (raw)
//! AREA 'b' <start µs u64> <source kind u8> <function length u8> <function> <source text>
//!                                            → one bucket: the sums of its records
//! ```
//!
//! Integers in keys are big-endian, so raw records sort by time and buckets by their start.
//! Times are microseconds since the Unix epoch (earlier times are stored as 0). The sequence
//! number makes raw keys unique when two records share a microsecond.
//!
//! Values start with a format version byte (1); integers in values are big-endian too. These
//! encodings are written by hand, not derived, so that the stored format changes only on purpose.

use std::time::{Duration, SystemTime};

use store::keyspace::Area;

use crate::limits::{FUNCTION_NAME_BYTES_MAX, SOURCE_TEXT_BYTES_MAX};
use crate::record::{Outcome, Source, UsageRecord};
use crate::sums::Sums;

/// The first byte of every key of the ledger.
pub(crate) const AREA: u8 = Area::Ledger.prefix();
const RAW_COUNT: u8 = b'n';
const BUCKET_COUNT: u8 = b'm';
const SEQUENCE: u8 = b's';
const RAW: u8 = b'r';
const BUCKETS: u8 = b'b';

const FORMAT_VERSION: u8 = 1;

const RAW_KEY_BYTES: usize = 18;
/// The bytes of a bucket key before its function name.
const BUCKET_KEY_PREFIX_BYTES: usize = 12;

/// The key of one bucket: which records it sums.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BucketKey {
    pub(crate) start_us: u64,
    pub(crate) function: String,
    pub(crate) source: Source,
}

pub(crate) fn raw_count_key() -> [u8; 2] {
    [AREA, RAW_COUNT]
}

pub(crate) fn bucket_count_key() -> [u8; 2] {
    [AREA, BUCKET_COUNT]
}

pub(crate) fn sequence_key() -> [u8; 2] {
    [AREA, SEQUENCE]
}

pub(crate) fn raw_key(time_us: u64, sequence: u64) -> [u8; RAW_KEY_BYTES] {
    let mut key = [0; RAW_KEY_BYTES];
    key[0] = AREA;
    key[1] = RAW;
    key[2..10].copy_from_slice(&time_us.to_be_bytes());
    key[10..].copy_from_slice(&sequence.to_be_bytes());
    key
}

/// The first key of the raw records at or after `time_us`.
pub(crate) fn raw_bound(time_us: u64) -> Vec<u8> {
    let mut key = vec![AREA, RAW];
    key.extend_from_slice(&time_us.to_be_bytes());
    key
}

/// The first key after every raw record.
pub(crate) fn raw_end() -> [u8; 2] {
    [AREA, RAW + 1]
}

/// The time of a raw record's key.
pub(crate) fn raw_key_time_us(key: &[u8]) -> Option<u64> {
    if key.len() != RAW_KEY_BYTES || key[..2] != [AREA, RAW] {
        return None;
    }
    Some(u64::from_be_bytes(key[2..10].try_into().ok()?))
}

/// The first key of the buckets starting at or after `start_us`.
pub(crate) fn bucket_bound(start_us: u64) -> Vec<u8> {
    let mut key = vec![AREA, BUCKETS];
    key.extend_from_slice(&start_us.to_be_bytes());
    key
}

pub(crate) fn bucket_key(bucket: &BucketKey) -> Vec<u8> {
    let function = truncate(&bucket.function, FUNCTION_NAME_BYTES_MAX);
    let text = truncate(bucket.source.text(), SOURCE_TEXT_BYTES_MAX);
    let mut key = Vec::with_capacity(BUCKET_KEY_PREFIX_BYTES + function.len() + text.len());
    key.extend_from_slice(&bucket_bound(bucket.start_us));
    key.push(source_kind(&bucket.source));
    key.push(u8::try_from(function.len()).expect("function names are cut to 255 bytes"));
    key.extend_from_slice(function.as_bytes());
    key.extend_from_slice(text.as_bytes());
    debug_assert_eq!(decode_bucket_key(&key).as_ref(), Some(&cut(bucket)));
    key
}

pub(crate) fn decode_bucket_key(key: &[u8]) -> Option<BucketKey> {
    let mut reader = Reader::new(key);
    if reader.bytes(2)? != [AREA, BUCKETS] {
        return None;
    }
    let start_us = reader.u64()?;
    let kind = reader.u8()?;
    let function_bytes = usize::from(reader.u8()?);
    let function = reader.text(function_bytes)?;
    let text = reader.text(reader.remaining())?;
    Some(BucketKey {
        start_us,
        function,
        source: source_of(kind, text)?,
    })
}

/// A raw record's value: everything but its time, which is in the key.
pub(crate) fn encode_record(record: &UsageRecord) -> Vec<u8> {
    let function = truncate(&record.function, FUNCTION_NAME_BYTES_MAX);
    let text = truncate(record.source.text(), SOURCE_TEXT_BYTES_MAX);
    let mut value = Vec::with_capacity(48 + function.len() + text.len());
    value.push(FORMAT_VERSION);
    value.extend_from_slice(&record.init_us.to_be_bytes());
    value.extend_from_slice(&record.duration_us.to_be_bytes());
    value.extend_from_slice(&record.billed_ms.to_be_bytes());
    value.extend_from_slice(&record.memory_mb.to_be_bytes());
    value.extend_from_slice(&record.peak_memory_bytes.to_be_bytes());
    value.push(outcome_code(record.outcome));
    value.push(u8::from(record.cold));
    value.push(source_kind(&record.source));
    value.push(u8::try_from(function.len()).expect("function names are cut to 255 bytes"));
    value.extend_from_slice(function.as_bytes());
    value.extend_from_slice(text.as_bytes());
    value
}

/// The raw record stored under `key` with `value`.
pub(crate) fn decode_record(key: &[u8], value: &[u8]) -> Option<UsageRecord> {
    let time_us = raw_key_time_us(key)?;
    let mut reader = Reader::new(value);
    if reader.u8()? != FORMAT_VERSION {
        return None;
    }
    let init_us = reader.u64()?;
    let duration_us = reader.u64()?;
    let billed_ms = reader.u64()?;
    let memory_mb = u32::from_be_bytes(reader.bytes(4)?.try_into().ok()?);
    let peak_memory_bytes = reader.u64()?;
    let outcome = outcome_of(reader.u8()?)?;
    let cold = match reader.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let kind = reader.u8()?;
    let function_bytes = usize::from(reader.u8()?);
    let function = reader.text(function_bytes)?;
    let text = reader.text(reader.remaining())?;
    Some(UsageRecord {
        time: time_of_us(time_us),
        function,
        source: source_of(kind, text)?,
        init_us,
        duration_us,
        billed_ms,
        memory_mb,
        peak_memory_bytes,
        outcome,
        cold,
    })
}

pub(crate) fn encode_sums(sums: &Sums) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + 8 * (Outcome::ALL.len() + 5) + 16);
    value.push(FORMAT_VERSION);
    for count in sums.outcomes {
        value.extend_from_slice(&count.to_be_bytes());
    }
    value.extend_from_slice(&sums.init_us.to_be_bytes());
    value.extend_from_slice(&sums.duration_us.to_be_bytes());
    value.extend_from_slice(&sums.billed_ms.to_be_bytes());
    value.extend_from_slice(&sums.mb_ms.to_be_bytes());
    value.extend_from_slice(&sums.cold_starts.to_be_bytes());
    value.extend_from_slice(&sums.peak_memory_bytes_max.to_be_bytes());
    debug_assert_eq!(decode_sums(&value).as_ref(), Some(sums));
    value
}

pub(crate) fn decode_sums(value: &[u8]) -> Option<Sums> {
    let mut reader = Reader::new(value);
    if reader.u8()? != FORMAT_VERSION {
        return None;
    }
    let mut outcomes = [0; Outcome::ALL.len()];
    for count in &mut outcomes {
        *count = reader.u64()?;
    }
    let sums = Sums {
        outcomes,
        init_us: reader.u64()?,
        duration_us: reader.u64()?,
        billed_ms: reader.u64()?,
        mb_ms: u128::from_be_bytes(reader.bytes(16)?.try_into().ok()?),
        cold_starts: reader.u64()?,
        peak_memory_bytes_max: reader.u64()?,
    };
    (reader.remaining() == 0).then_some(sums)
}

pub(crate) fn encode_u64(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

pub(crate) fn decode_u64(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.try_into().ok()?))
}

/// Microseconds since the Unix epoch; 0 for earlier times.
pub(crate) fn time_us(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

pub(crate) fn time_of_us(time_us: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(time_us)
}

/// A key for an error message: its bytes with non-printable ones escaped.
pub(crate) fn show_key(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

/// `bucket` as stored: its function name and source text cut to their limits.
fn cut(bucket: &BucketKey) -> BucketKey {
    let text = truncate(bucket.source.text(), SOURCE_TEXT_BYTES_MAX).to_owned();
    BucketKey {
        start_us: bucket.start_us,
        function: truncate(&bucket.function, FUNCTION_NAME_BYTES_MAX).to_owned(),
        source: match bucket.source {
            Source::Route(_) => Source::Route(text),
            Source::Trigger(_) => Source::Trigger(text),
            Source::Invoke => Source::Invoke,
            Source::Async => Source::Async,
        },
    }
}

/// The longest prefix of `text` of at most `bytes_max` bytes that ends at a character boundary.
fn truncate(text: &str, bytes_max: usize) -> &str {
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn source_kind(source: &Source) -> u8 {
    match source {
        Source::Route(_) => 1,
        Source::Trigger(_) => 2,
        Source::Invoke => 3,
        Source::Async => 4,
    }
}

fn source_of(kind: u8, text: String) -> Option<Source> {
    match kind {
        1 => Some(Source::Route(text)),
        2 => Some(Source::Trigger(text)),
        3 if text.is_empty() => Some(Source::Invoke),
        4 if text.is_empty() => Some(Source::Async),
        _ => None,
    }
}

fn outcome_code(outcome: Outcome) -> u8 {
    u8::try_from(outcome.index()).expect("there are six outcomes")
}

fn outcome_of(code: u8) -> Option<Outcome> {
    Outcome::ALL.get(usize::from(code)).copied()
}

/// Reads a byte string from the front.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn bytes(&mut self, n_bytes: usize) -> Option<&'a [u8]> {
        let (front, rest) = self.bytes.split_at_checked(n_bytes)?;
        self.bytes = rest;
        Some(front)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn u64(&mut self) -> Option<u64> {
        decode_u64(self.bytes(8)?)
    }

    fn text(&mut self, n_bytes: usize) -> Option<String> {
        String::from_utf8(self.bytes(n_bytes)?.to_vec()).ok()
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests;
