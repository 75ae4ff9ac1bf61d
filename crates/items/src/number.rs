//! DynamoDB numbers: exact decimals with at most 38 significant digits, kept normalised.
//!
//! A [`Number`] holds its normalised text and nothing else: the text is what DynamoDB returns,
//! equal numbers have equal text, and the order, the arithmetic, the size and the sortable bytes
//! are all read off the digits of that text. Nothing here goes through a float.

use std::cmp::Ordering;
use std::fmt;

use crate::ValueError;
use crate::limits::{NUMBER_DIGITS_MAX, NUMBER_EXPONENT_MAX, NUMBER_EXPONENT_MIN};

/// An exact decimal number as DynamoDB stores it (never a float).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    /// Invariant: normalised text. No exponent, no `+`, no leading zeros (except the single `0`
    /// of a number below one), no trailing zeros after the point, no lone point, and no `-0`.
    normalized: String,
}

const MESSAGE_NOT_A_NUMBER: &str = "The parameter cannot be converted to a numeric value";
const MESSAGE_TOO_MANY_DIGITS: &str =
    "Attempting to store more than 38 significant digits in a Number";
const MESSAGE_OVERFLOW: &str =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
const MESSAGE_UNDERFLOW: &str =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";

/// The first byte of [`Number::sortable_bytes`], by sign.
const SORT_NEGATIVE: u8 = 0x01;
const SORT_ZERO: u8 = 0x02;
const SORT_POSITIVE: u8 = 0x03;
/// Ends the digit pairs of a positive number; below every pair byte (`1..=100`).
const SORT_END: u8 = 0x00;

impl Number {
    /// Parses a number as DynamoDB accepts it on the wire and normalises it.
    ///
    /// The accepted text is `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, with no
    /// whitespace anywhere: `"+1"`, `"1."`, `".5"`, `"1e3"`, `"1E+3"` and `"0042"` are numbers, and
    /// `" 1"`, `"1 "`, `"1e"`, `"."`, `"0x10"`, `"NaN"` and `"Infinity"` are not.
    /// This is DynamoDB's behaviour as captured against the live service by other emulators
    /// (dynalite's number library refuses the leading `+`, which DynamoDB accepts).
    ///
    /// The checks run in DynamoDB's order: the text must be a number, then the first significant
    /// digit must lie between 1E-130 and 9.99…E+125 in magnitude (overflow before underflow),
    /// then there may be at most 38 significant digits. Zero is always in range.
    pub fn parse(text: &str) -> Result<Number, ValueError> {
        let decimal = Decimal::parse(text)?;
        decimal.into_number()
    }

    /// The number with the value of `v` (always in range: 19 digits at most).
    pub fn from_i64(v: i64) -> Number {
        // Invariant: Rust's decimal rendering of an integer is already normalised.
        Number {
            normalized: v.to_string(),
        }
    }

    /// `self + other`, exactly; an error (DynamoDB's message) when the sum has more than
    /// 38 significant digits or is out of range.
    pub fn checked_add(&self, other: &Number) -> Result<Number, ValueError> {
        let sum = Decimal::of(self).add(&Decimal::of(other));
        sum.into_number()
    }

    /// `self - other`, exactly; errors as [`Number::checked_add`].
    pub fn checked_sub(&self, other: &Number) -> Result<Number, ValueError> {
        let difference = Decimal::of(self).add(&Decimal::of(other).negated());
        difference.into_number()
    }

    /// The normalised text: `"01.50"` → `"1.5"`, `"-0"` → `"0"`, `"1e3"` → `"1000"`, no exponent.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The nearest `f64`: approximate, for TTL checks only, never for stored values.
    pub fn to_f64(&self) -> f64 {
        self.normalized
            .parse()
            .expect("normalised number text is valid float syntax")
    }

    /// The value as an `i64` when it is an integer in `i64`'s range (TTL epoch seconds, list
    /// indexes); `None` for fractions and for integers out of range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.normalized.contains('.') {
            return None;
        }
        self.normalized.parse().ok()
    }

    /// Bytes whose `memcmp` order is the numeric order; equal numbers give equal bytes.
    ///
    /// Layout: a sign byte (negative < zero < positive); for non-zero numbers, the power of ten
    /// of the first significant digit biased into one byte, the significant digits in pairs
    /// (`10 * d1 + d2 + 1`, the last pair padded with a zero digit), and an end byte `0x00`.
    /// A negative number has every byte after the sign complemented, so a larger magnitude
    /// sorts lower. No encoding is a prefix of another, so the bytes can be followed by more
    /// key material.
    pub fn sortable_bytes(&self) -> Vec<u8> {
        let parts = Parts::of(&self.normalized);
        if parts.n_digits() == 0 {
            return vec![SORT_ZERO];
        }
        let mut bytes = Vec::with_capacity(3 + parts.n_digits().div_ceil(2));
        bytes.push(if parts.negative {
            SORT_NEGATIVE
        } else {
            SORT_POSITIVE
        });
        let exponent_biased = u8::try_from(parts.top - NUMBER_EXPONENT_MIN)
            .expect("the exponent of a valid number fits one biased byte");
        bytes.push(exponent_biased);
        let mut digits = parts.digits();
        while let Some(high) = digits.next() {
            let low = digits.next().unwrap_or(0);
            bytes.push(10 * high + low + 1);
        }
        bytes.push(SORT_END);
        if parts.negative {
            for byte in &mut bytes[1..] {
                *byte = !*byte;
            }
        }
        bytes
    }

    /// The bytes this number counts for in an item's size: one, plus one per base-100 digit its
    /// significant digits span (pairs aligned on the decimal point), plus one when negative.
    ///
    /// This is DynamoDB's internal number format; it agrees with every size that dynalite's tests
    /// and other emulators' captures measured against the service (e.g. `1.5` → 3, `15` → 2,
    /// `-42` → 3, `0` → 1).
    pub(crate) fn size(&self) -> usize {
        let parts = Parts::of(&self.normalized);
        let n_digits = parts.n_digits();
        if n_digits == 0 {
            return 1;
        }
        let last = parts.top - i32::try_from(n_digits).expect("at most 38 digits") + 1;
        let n_pairs = parts.top.div_euclid(2) - last.div_euclid(2) + 1;
        let n_pairs = usize::try_from(n_pairs).expect("a digit span is positive");
        1 + n_pairs + usize::from(parts.negative)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let (a_negative, a) = split_sign(&self.normalized);
        let (b_negative, b) = split_sign(&other.normalized);
        match (a_negative, b_negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_magnitude(a, b),
            (true, true) => cmp_magnitude(b, a),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

fn error(message: &str) -> ValueError {
    ValueError {
        kind: crate::value::ValueErrorKind::Validation,
        message: message.to_owned(),
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(magnitude) => (true, magnitude),
        None => (false, text),
    }
}

/// Compares two normalised magnitudes: the longer integer part is larger, and with integer parts
/// of equal length the text order is the numeric order (the points line up, and a number that
/// is a prefix of the other is the smaller one).
fn cmp_magnitude(a: &str, b: &str) -> Ordering {
    let a_int_len = a.find('.').unwrap_or(a.len());
    let b_int_len = b.find('.').unwrap_or(b.len());
    a_int_len
        .cmp(&b_int_len)
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// A view of normalised text: its sign, the power of ten of its first significant digit, and its
/// significant digits as `head` followed by `tail` (ASCII digits, no point, last digit non-zero).
struct Parts<'a> {
    negative: bool,
    top: i32,
    head: &'a str,
    tail: &'a str,
}

impl<'a> Parts<'a> {
    fn of(text: &'a str) -> Parts<'a> {
        let (negative, magnitude) = split_sign(text);
        let (int, frac) = magnitude.split_once('.').unwrap_or((magnitude, ""));
        let top;
        let (head, tail);
        if int == "0" {
            // Zero itself, or a fraction below one: "0.00123".
            let n_zeros = frac.len() - frac.trim_start_matches('0').len();
            top = -i32::try_from(n_zeros).expect("normalised text is short") - 1;
            (head, tail) = (&frac[n_zeros..], "");
        } else if frac.is_empty() {
            top = i32::try_from(int.len()).expect("normalised text is short") - 1;
            (head, tail) = (int.trim_end_matches('0'), "");
        } else {
            top = i32::try_from(int.len()).expect("normalised text is short") - 1;
            (head, tail) = (int, frac);
        }
        Parts {
            negative,
            top,
            head,
            tail,
        }
    }

    fn n_digits(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    fn digits(&self) -> impl Iterator<Item = u8> + 'a {
        self.head.bytes().chain(self.tail.bytes()).map(|c| c - b'0')
    }
}

/// A decimal under construction: `±0.d1d2…dn × 10^(top + 1)`, i.e. `d1` is worth `10^top`.
/// `digits` has no leading or trailing zeros; it is empty for zero.
#[derive(Debug)]
struct Decimal {
    negative: bool,
    top: i64,
    digits: Vec<u8>,
}

impl Decimal {
    /// Reads wire text (see [`Number::parse`] for the grammar). The exponent saturates, so an
    /// absurd exponent reads as out of range rather than wrapping.
    fn parse(text: &str) -> Result<Decimal, ValueError> {
        if text.is_empty() {
            return Err(error(MESSAGE_NOT_A_NUMBER));
        }
        let not_a_number = || error(&format!("{MESSAGE_NOT_A_NUMBER}: {text}"));
        let bytes = text.as_bytes();
        let mut idx = 0;
        let negative = bytes[0] == b'-';
        if matches!(bytes[0], b'+' | b'-') {
            idx += 1;
        }
        let int_start = idx;
        while idx < bytes.len() && bytes[idx].is_ascii_digit() {
            idx += 1;
        }
        let int_digits = &bytes[int_start..idx];
        let mut frac_digits: &[u8] = &[];
        if idx < bytes.len() && bytes[idx] == b'.' {
            idx += 1;
            let frac_start = idx;
            while idx < bytes.len() && bytes[idx].is_ascii_digit() {
                idx += 1;
            }
            frac_digits = &bytes[frac_start..idx];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(not_a_number());
        }
        let mut exponent: i64 = 0;
        if idx < bytes.len() && matches!(bytes[idx], b'e' | b'E') {
            idx += 1;
            let exponent_negative = idx < bytes.len() && bytes[idx] == b'-';
            if idx < bytes.len() && matches!(bytes[idx], b'+' | b'-') {
                idx += 1;
            }
            let exponent_start = idx;
            while idx < bytes.len() && bytes[idx].is_ascii_digit() {
                // Far beyond any valid exponent, and far from i64's limits.
                exponent = (exponent * 10 + i64::from(bytes[idx] - b'0')).min(EXPONENT_SATURATED);
                idx += 1;
            }
            if idx == exponent_start {
                return Err(not_a_number());
            }
            if exponent_negative {
                exponent = -exponent;
            }
        }
        if idx != bytes.len() {
            return Err(not_a_number());
        }

        let coefficient = || int_digits.iter().chain(frac_digits).map(|c| c - b'0');
        let n_leading_zeros = coefficient().take_while(|&d| d == 0).count();
        let mut digits: Vec<u8> = coefficient().skip(n_leading_zeros).collect();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Decimal::zero());
        }
        let int_len = i64::try_from(int_digits.len()).map_err(|_| not_a_number())?;
        let n_leading_zeros = i64::try_from(n_leading_zeros).map_err(|_| not_a_number())?;
        let top = int_len - 1 - n_leading_zeros + exponent;
        Ok(Decimal {
            negative,
            top,
            digits,
        })
    }

    fn zero() -> Decimal {
        Decimal {
            negative: false,
            top: 0,
            digits: Vec::new(),
        }
    }

    fn of(number: &Number) -> Decimal {
        let parts = Parts::of(&number.normalized);
        let digits: Vec<u8> = parts.digits().collect();
        if digits.is_empty() {
            return Decimal::zero();
        }
        Decimal {
            negative: parts.negative,
            top: i64::from(parts.top),
            digits,
        }
    }

    fn negated(mut self) -> Decimal {
        self.negative = !self.negative && !self.digits.is_empty();
        self
    }

    /// The power of ten of the last significant digit (meaningless for zero).
    fn last(&self) -> i64 {
        self.top - i64::try_from(self.digits.len()).expect("short digit strings") + 1
    }

    /// The exact sum. Both operands are valid numbers, so the digits span at most a few hundred
    /// powers of ten.
    fn add(&self, other: &Decimal) -> Decimal {
        if self.digits.is_empty() {
            return Decimal {
                negative: other.negative,
                top: other.top,
                digits: other.digits.clone(),
            };
        }
        if other.digits.is_empty() {
            return Decimal {
                negative: self.negative,
                top: self.top,
                digits: self.digits.clone(),
            };
        }
        let low = self.last().min(other.last());
        // One more place at the top for a carry.
        let high = self.top.max(other.top) + 1;
        let width = usize::try_from(high - low + 1).expect("valid numbers span few digits");
        let a = self.aligned(low, width);
        let b = other.aligned(low, width);
        let (negative, sum) = if self.negative == other.negative {
            (self.negative, add_aligned(&a, &b))
        } else {
            match cmp_aligned(&a, &b) {
                Ordering::Equal => return Decimal::zero(),
                Ordering::Greater => (self.negative, sub_aligned(&a, &b)),
                Ordering::Less => (other.negative, sub_aligned(&b, &a)),
            }
        };
        Decimal::from_aligned(negative, low, &sum)
    }

    /// The digits as a little-endian array of `width` places, place 0 worth `10^low`.
    fn aligned(&self, low: i64, width: usize) -> Vec<u8> {
        let mut places = vec![0u8; width];
        for (digit_idx, &digit) in self.digits.iter().enumerate() {
            let power = self.top - i64::try_from(digit_idx).expect("short digit strings");
            let place = usize::try_from(power - low).expect("low is the lowest place");
            places[place] = digit;
        }
        places
    }

    fn from_aligned(negative: bool, low: i64, places: &[u8]) -> Decimal {
        let Some(top_place) = places.iter().rposition(|&d| d != 0) else {
            return Decimal::zero();
        };
        let low_place = places
            .iter()
            .position(|&d| d != 0)
            .expect("a non-zero place exists");
        let digits: Vec<u8> = places[low_place..=top_place]
            .iter()
            .rev()
            .copied()
            .collect();
        let top = low + i64::try_from(top_place).expect("short digit strings");
        Decimal {
            negative,
            top,
            digits,
        }
    }

    /// Checks DynamoDB's limits (in its order) and renders the normalised text.
    fn into_number(self) -> Result<Number, ValueError> {
        if self.digits.is_empty() {
            return Ok(Number {
                normalized: "0".to_owned(),
            });
        }
        if self.top > i64::from(NUMBER_EXPONENT_MAX) {
            return Err(error(MESSAGE_OVERFLOW));
        }
        if self.top < i64::from(NUMBER_EXPONENT_MIN) {
            return Err(error(MESSAGE_UNDERFLOW));
        }
        if self.digits.len() > NUMBER_DIGITS_MAX {
            return Err(error(MESSAGE_TOO_MANY_DIGITS));
        }
        Ok(Number {
            normalized: self.render(),
        })
    }

    fn render(&self) -> String {
        let digit_char = |d: &u8| char::from(b'0' + d);
        let mut text =
            String::with_capacity(self.digits.len() + 2 + self.top.unsigned_abs() as usize);
        if self.negative {
            text.push('-');
        }
        if self.top < 0 {
            text.push_str("0.");
            for _ in 0..(-self.top - 1) {
                text.push('0');
            }
            text.extend(self.digits.iter().map(digit_char));
            return text;
        }
        let n_int = usize::try_from(self.top).expect("top is not negative") + 1;
        for place in 0..n_int {
            text.push(self.digits.get(place).map_or('0', digit_char));
        }
        if self.digits.len() > n_int {
            text.push('.');
            text.extend(self.digits[n_int..].iter().map(digit_char));
        }
        text
    }
}

/// Where a parsed exponent stops growing: any larger value is just as out of range.
const EXPONENT_SATURATED: i64 = 1 << 40;

fn add_aligned(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut carry = 0;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let place = x + y + carry;
            carry = place / 10;
            place % 10
        })
        .collect()
}

/// `a - b` for `a >= b`.
fn sub_aligned(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut borrow = 0;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let subtrahend = y + borrow;
            if x >= subtrahend {
                borrow = 0;
                x - subtrahend
            } else {
                borrow = 1;
                x + 10 - subtrahend
            }
        })
        .collect()
}

fn cmp_aligned(a: &[u8], b: &[u8]) -> Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::Number;
    use crate::AttributeValue;

    fn check_parse(input: &str, expected: &str) {
        let number = Number::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(number.as_str(), expected, "parse({input:?})");
        assert_eq!(number.to_string(), expected, "Display of {input:?}");
        // Normalised text reads back as itself.
        assert_eq!(
            Number::parse(expected).map(|n| n.as_str().to_owned()),
            Ok(expected.to_owned())
        );
    }

    fn check_parse_error(input: &str, expected: &str) {
        let error = Number::parse(input).expect_err(input);
        assert_eq!(error.message, expected, "parse({input:?})");
    }

    fn num(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn zeros(n: usize) -> String {
        "0".repeat(n)
    }

    const NOT_A_NUMBER: &str = "The parameter cannot be converted to a numeric value";
    const TOO_MANY_DIGITS: &str = "Attempting to store more than 38 significant digits in a Number";
    const OVERFLOW: &str =
        "Number overflow. Attempting to store a number with magnitude larger than supported range";
    const UNDERFLOW: &str = "Number underflow. Attempting to store a number with magnitude smaller than supported range";

    #[test]
    fn parse_normalises() {
        let table = [
            ("0", "0"),
            ("-0", "0"),
            ("+0", "0"),
            ("00", "0"),
            ("0.000", "0"),
            ("-0.0e7", "0"),
            ("0e99999999999999999999999", "0"),
            ("1", "1"),
            ("+5", "5"),
            ("-7", "-7"),
            ("0042", "42"),
            ("01.50", "1.5"),
            ("1.0", "1"),
            ("5.", "5"),
            (".5", "0.5"),
            ("-.5", "-0.5"),
            ("+.5", "0.5"),
            ("1e3", "1000"),
            ("1E3", "1000"),
            ("1e+3", "1000"),
            ("1.5E+3", "1500"),
            ("1.5e-3", "0.0015"),
            ("123.456e2", "12345.6"),
            ("12345e-2", "123.45"),
            ("-12345e-7", "-0.0012345"),
            ("100", "100"),
            ("100.00100", "100.001"),
            ("0.000120", "0.00012"),
            (
                "1000000000000000000000000000000000000000000000",
                "1000000000000000000000000000000000000000000000",
            ),
            // 39 digits, of which 38 are significant.
            (
                "1.23456789012345678901234567890123456780",
                "1.2345678901234567890123456789012345678",
            ),
            ("-9223372036854775808", "-9223372036854775808"),
        ];
        for (input, expected) in table {
            check_parse(input, expected);
        }
    }

    #[test]
    fn parse_accepts_the_extremes() {
        check_parse("1e125", &format!("1{}", zeros(125)));
        check_parse("-1E+125", &format!("-1{}", zeros(125)));
        let largest = format!("9.{}E+125", "9".repeat(37));
        check_parse(&largest, &format!("{}{}", "9".repeat(38), zeros(88)));
        check_parse("1e-130", &format!("0.{}1", zeros(129)));
        check_parse("-1E-130", &format!("-0.{}1", zeros(129)));
        // The limit is on the first significant digit: more digits may follow it.
        check_parse("1.5e-130", &format!("0.{}15", zeros(129)));
        let smallest_digits = format!("1.{}1e-130", zeros(36));
        check_parse(
            &smallest_digits,
            &format!("0.{}1{}1", zeros(129), zeros(36)),
        );
    }

    #[test]
    fn parse_refuses_what_dynamodb_refuses() {
        check_parse_error("", NOT_A_NUMBER);
        for input in [
            "b",
            " 1",
            "1 ",
            " ",
            "1e",
            "e1",
            "1e+",
            ".",
            "+",
            "-",
            "1.2.3",
            "1+2",
            "++5",
            "+-5",
            "+e2",
            "1e2.5",
            "0x10",
            "NaN",
            "nan",
            "Infinity",
            "-Infinity",
            "1_000",
            "1,5",
            "１",
            "1d",
            "--1",
        ] {
            check_parse_error(input, &format!("{NOT_A_NUMBER}: {input}"));
        }
    }

    #[test]
    fn parse_checks_digits_and_range_in_dynamodbs_order() {
        check_parse_error("123456789012345678901234567890123456789", TOO_MANY_DIGITS);
        check_parse_error("-1.23456789012345678901234567890123456789", TOO_MANY_DIGITS);
        check_parse_error(&format!("1{}1", zeros(40)), TOO_MANY_DIGITS);
        check_parse_error("1e126", OVERFLOW);
        check_parse_error("-1e126", OVERFLOW);
        check_parse_error("10e125", OVERFLOW);
        check_parse_error(&format!("{}e89", "9".repeat(38)), OVERFLOW);
        check_parse(
            "99999999999999999999999999999999999999e88",
            &format!("{}{}", "9".repeat(38), zeros(88)),
        );
        check_parse_error("1e99999999999999999999999999", OVERFLOW);
        check_parse_error("1e-131", UNDERFLOW);
        check_parse_error("-1e-131", UNDERFLOW);
        check_parse_error("0.1e-130", UNDERFLOW);
        check_parse_error("1e-99999999999999999999999999", UNDERFLOW);
        // Range before digits.
        check_parse_error(&format!("{}e200", "1".repeat(40)), OVERFLOW);
        check_parse_error(&format!("{}e-200", "1".repeat(40)), UNDERFLOW);
    }

    #[test]
    fn from_i64_is_normalised() {
        for v in [0, 1, -1, 10, 1000, -1000, 42, i64::MIN, i64::MAX] {
            let number = Number::from_i64(v);
            assert_eq!(number.as_str(), v.to_string());
            assert_eq!(number, num(&v.to_string()));
            assert_eq!(number.to_i64(), Some(v));
        }
    }

    #[test]
    fn to_i64_is_for_exact_integers_only() {
        let table = [
            ("123", Some(123)),
            ("-5", Some(-5)),
            ("1e3", Some(1000)),
            ("0", Some(0)),
            ("-0", Some(0)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("1.5", None),
            ("-0.001", None),
            ("1e125", None),
        ];
        for (text, expected) in table {
            assert_eq!(num(text).to_i64(), expected, "{text}");
        }
    }

    #[test]
    fn to_f64_approximates() {
        let table = [
            ("0", 0.0),
            ("1.5", 1.5),
            ("-2.25", -2.25),
            ("1700000000", 1.7e9),
            ("1e-130", 1e-130),
            ("-9.5e125", -9.5e125),
        ];
        for (text, expected) in table {
            assert_eq!(num(text).to_f64(), expected, "{text}");
        }
    }

    /// Numbers in strictly increasing order.
    fn ascending() -> Vec<Number> {
        let largest = format!("9.{}E+125", "9".repeat(37));
        [
            format!("-{largest}"),
            "-1e125".to_owned(),
            "-100".to_owned(),
            "-99.99".to_owned(),
            "-10".to_owned(),
            "-9.5".to_owned(),
            "-9".to_owned(),
            "-1.01".to_owned(),
            "-1".to_owned(),
            "-0.99".to_owned(),
            "-0.1".to_owned(),
            "-0.011".to_owned(),
            "-0.01".to_owned(),
            "-1.5e-130".to_owned(),
            "-1e-130".to_owned(),
            "0".to_owned(),
            "1e-130".to_owned(),
            "1.5e-130".to_owned(),
            "0.0001".to_owned(),
            "0.001".to_owned(),
            "0.0011".to_owned(),
            "0.1".to_owned(),
            "0.11".to_owned(),
            "0.9".to_owned(),
            "1".to_owned(),
            "1.01".to_owned(),
            "1.1".to_owned(),
            "9".to_owned(),
            "9.99".to_owned(),
            "10".to_owned(),
            "10.5".to_owned(),
            "11".to_owned(),
            "99".to_owned(),
            "100".to_owned(),
            "101".to_owned(),
            "1e125".to_owned(),
            largest,
        ]
        .iter()
        .map(|text| num(text))
        .collect()
    }

    #[test]
    fn order_is_numeric() {
        let numbers = ascending();
        for (a_idx, a) in numbers.iter().enumerate() {
            for (b_idx, b) in numbers.iter().enumerate() {
                let expected = a_idx.cmp(&b_idx);
                assert_eq!(a.cmp(b), expected, "{a} vs {b}");
                assert_eq!(a.partial_cmp(b), Some(expected), "{a} vs {b}");
                assert_eq!(
                    a.sortable_bytes().cmp(&b.sortable_bytes()),
                    expected,
                    "bytes of {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn sortable_bytes_are_equal_for_equal_numbers_and_never_a_prefix() {
        assert_eq!(num("1.50").sortable_bytes(), num("15e-1").sortable_bytes());
        assert_eq!(num("-0").sortable_bytes(), num("0").sortable_bytes());
        let numbers = ascending();
        for a in &numbers {
            for b in &numbers {
                if a != b {
                    assert!(
                        !b.sortable_bytes().starts_with(&a.sortable_bytes()),
                        "{a} is a prefix of {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn add_and_sub_are_exact() {
        let nines = "9".repeat(38);
        let table = [
            ("0.1", "0.2", "0.3", "-0.1"),
            ("1", "-1", "0", "2"),
            ("-5", "5", "0", "-10"),
            ("0", "0", "0", "0"),
            ("0", "-3.5", "-3.5", "3.5"),
            ("123.456", "0.544", "124", "122.912"),
            ("-0.001", "0.0001", "-0.0009", "-0.0011"),
            ("1e20", "1", "100000000000000000001", "99999999999999999999"),
            ("1e125", "-1e125", "0", "2e125"),
            ("1e-130", "1e-130", "2e-130", "0"),
            (
                &nines,
                "1",
                "1e38",
                "99999999999999999999999999999999999998",
            ),
        ];
        for (a, b, sum, difference) in table {
            assert_eq!(num(a).checked_add(&num(b)), Ok(num(sum)), "{a} + {b}");
            assert_eq!(
                num(a).checked_sub(&num(b)),
                Ok(num(difference)),
                "{a} - {b}"
            );
        }
        assert_eq!(
            num("0.1").checked_add(&num("0.2")).map(|n| n.to_string()),
            Ok("0.3".to_owned())
        );
    }

    #[test]
    fn add_and_sub_refuse_results_dynamodb_cannot_store() {
        let largest = format!("{}e88", "9".repeat(38));
        let sums = [
            (largest.as_str(), "1e88", OVERFLOW),
            ("5e125", "5e125", OVERFLOW),
            ("-5e125", "-5e125", OVERFLOW),
            ("1e30", "1e-10", TOO_MANY_DIGITS),
            ("1e125", "1e-130", TOO_MANY_DIGITS),
            ("-1e125", "-1e-130", TOO_MANY_DIGITS),
            ("1.5e-130", "-1e-130", UNDERFLOW),
        ];
        for (a, b, expected) in sums {
            let result = num(a).checked_add(&num(b));
            assert_eq!(
                result.map_err(|e| e.message),
                Err(expected.to_owned()),
                "{a} + {b}"
            );
        }
        let differences = [
            ("5e125", "-5e125", OVERFLOW),
            ("1e30", "1e-10", TOO_MANY_DIGITS),
            ("1.5e-130", "1e-130", UNDERFLOW),
        ];
        for (a, b, expected) in differences {
            let result = num(a).checked_sub(&num(b));
            assert_eq!(
                result.map_err(|e| e.message),
                Err(expected.to_owned()),
                "{a} - {b}"
            );
        }
    }

    #[test]
    fn size_counts_base_100_digits() {
        let table = [
            ("0", 1),
            ("-0", 1),
            ("1", 2),
            ("12", 2),
            ("123", 3),
            ("1234", 3),
            ("12345", 4),
            ("12345678901234567890123456789012345678", 20),
            ("0042", 2),
            ("100", 2),
            ("110", 3),
            ("1010", 3),
            ("0.0000001", 2),
            ("0.00012", 3),
            ("0.0012", 2),
            ("1E125", 2),
            ("1E-100", 2),
            ("1.5", 3),
            ("1.234", 4),
            ("3.14159", 5),
            ("100.5", 4),
            ("0.15", 2),
            ("15", 2),
            ("-42", 3),
            ("-12345", 5),
            ("-1E125", 3),
            ("-0.15", 3),
        ];
        for (text, expected) in table {
            assert_eq!(
                AttributeValue::N(num(text)).size(),
                expected,
                "size of {text}"
            );
        }
        // dynalite's item-size tests against DynamoDB: 38 ones then 88 zeros is 20 bytes,
        // 1 then 125 zeros 2, "11" then 124 zeros 2, five ones 4, six ones 4, seven ones 5.
        let table = [
            (38, 88, 20),
            (1, 125, 2),
            (2, 124, 2),
            (5, 121, 4),
            (6, 120, 4),
            (7, 119, 5),
        ];
        for (n_ones, n_zeros, expected) in table {
            let text = format!("{}{}", "1".repeat(n_ones), zeros(n_zeros));
            assert_eq!(
                AttributeValue::N(num(&text)).size(),
                expected,
                "size of {text}"
            );
        }
    }

    /// A tiny xorshift generator, so the property tests replay from their seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn range(&mut self, low: i64, high: i64) -> i64 {
            let span = u64::try_from(high - low + 1).expect("low <= high");
            low + i64::try_from(self.below(span)).expect("small span")
        }
    }

    /// A random valid number: its sign, the power of ten of its first digit, its digits.
    #[derive(Debug, Clone)]
    struct Generated {
        negative: bool,
        top: i64,
        digits: Vec<u8>,
    }

    impl Generated {
        fn new(rng: &mut Rng) -> Generated {
            let n_digits = if rng.below(4) == 0 {
                38
            } else {
                rng.range(1, 38)
            };
            let mut digits: Vec<u8> = (0..n_digits).map(|_| rng.below(10) as u8).collect();
            digits[0] = 1 + rng.below(9) as u8;
            let last = digits.len() - 1;
            if digits[last] == 0 {
                digits[last] = 1 + rng.below(9) as u8;
            }
            let top = match rng.below(3) {
                0 => rng.range(-130, 125),
                1 => rng.range(-3, 5),
                _ => [-130, 125][rng.below(2) as usize],
            };
            Generated {
                negative: rng.below(2) == 0,
                top,
                digits,
            }
        }

        /// One of several spellings of the same number.
        fn text(&self, rng: &mut Rng) -> String {
            let sign = match (self.negative, rng.below(2)) {
                (true, _) => "-",
                (false, 0) => "+",
                (false, _) => "",
            };
            let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
            let n_digits = i64::try_from(digits.len()).expect("short");
            match rng.below(3) {
                0 => format!("{sign}{}.{}e{}", &digits[..1], &digits[1..], self.top),
                1 => format!("{sign}00{digits}E{:+}", self.top - n_digits + 1),
                _ => format!("{sign}0.{digits}000e{}", self.top + 1),
            }
        }

        /// The numeric order, worked out independently of `Number`.
        fn cmp(&self, other: &Generated) -> Ordering {
            let magnitude = self
                .top
                .cmp(&other.top)
                .then_with(|| self.digits.cmp(&other.digits));
            match (self.negative, other.negative) {
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (false, false) => magnitude,
                (true, true) => magnitude.reverse(),
            }
        }
    }

    #[test]
    fn generated_numbers_order_like_their_digits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let generated: Vec<Generated> = (0..400).map(|_| Generated::new(&mut rng)).collect();
        let numbers: Vec<Number> = generated.iter().map(|g| num(&g.text(&mut rng))).collect();
        for (g, n) in generated.iter().zip(&numbers) {
            // Another spelling gives the same number.
            assert_eq!(&num(&g.text(&mut rng)), n, "{g:?}");
        }
        for (a_idx, a) in numbers.iter().enumerate() {
            for (b_idx, b) in numbers.iter().enumerate() {
                let expected = generated[a_idx].cmp(&generated[b_idx]);
                assert_eq!(a.cmp(b), expected, "{a} vs {b}");
                assert_eq!(
                    a.sortable_bytes().cmp(&b.sortable_bytes()),
                    expected,
                    "bytes of {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn generated_sums_match_integer_arithmetic() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            // Below 10^17 each, so the scaled operands and their sum fit an i128 (10^38 at most).
            let x = i128::from(rng.range(-99_999_999_999_999_999, 99_999_999_999_999_999));
            let y = i128::from(rng.range(-99_999_999_999_999_999, 99_999_999_999_999_999));
            let (x_scale, y_scale) = (rng.below(21) as u32, rng.below(21) as u32);
            let scale = x_scale.max(y_scale);
            let x_scaled = x * 10i128.pow(scale - x_scale);
            let y_scaled = y * 10i128.pow(scale - y_scale);
            let a = num(&format!("{x}e-{x_scale}"));
            let b = num(&format!("{y}e-{y_scale}"));
            let sum = num(&format!("{}e-{scale}", x_scaled + y_scaled));
            let difference = num(&format!("{}e-{scale}", x_scaled - y_scaled));
            assert_eq!(a.checked_add(&b), Ok(sum.clone()), "{a} + {b}");
            assert_eq!(b.checked_add(&a), Ok(sum), "{b} + {a}");
            assert_eq!(a.checked_sub(&b), Ok(difference), "{a} - {b}");
            assert_eq!(a.checked_sub(&a), Ok(Number::from_i64(0)), "{a} - {a}");
        }
    }

    #[test]
    fn generated_sums_undo_and_order() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let zero = Number::from_i64(0);
        for _ in 0..2000 {
            let a = num(&Generated::new(&mut rng).text(&mut rng));
            let b = num(&Generated::new(&mut rng).text(&mut rng));
            match a.checked_add(&b) {
                Ok(sum) => {
                    assert_eq!(sum.checked_sub(&b).as_ref(), Ok(&a), "{a} + {b} - {b}");
                    // Adding a positive number increases, a negative one decreases.
                    assert_eq!(sum.cmp(&a), b.cmp(&zero), "{a} + {b} vs {a}");
                }
                Err(e) => {
                    let allowed = [TOO_MANY_DIGITS, OVERFLOW, UNDERFLOW];
                    assert!(allowed.contains(&e.message.as_str()), "{a} + {b}: {e}");
                }
            }
        }
    }
}
