//! DynamoDB's limits on items and values, as named constants.

/// The largest item: attribute names (UTF-8 bytes) plus values, as [`crate::item_size`] counts them.
pub const ITEM_BYTES_MAX: usize = 400 * 1024;

/// The most significant digits a number may have.
pub const NUMBER_DIGITS_MAX: usize = 38;

/// The largest power of ten of a number's first significant digit (9.99…E+125).
pub const NUMBER_EXPONENT_MAX: i32 = 125;

/// The smallest power of ten of a number's first significant digit (1E-130).
pub const NUMBER_EXPONENT_MIN: i32 = -130;

/// The deepest nesting of values: a top-level attribute is level 1, each `M` or `L` adds one.
pub const NESTING_DEPTH_MAX: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_relate() {
        assert_eq!(ITEM_BYTES_MAX, 409_600);
        // The biased exponent of a number's sortable form is one byte.
        let n_exponents = NUMBER_EXPONENT_MAX - NUMBER_EXPONENT_MIN + 1;
        assert_eq!(n_exponents, 256);
        // A number's significant digits, and so its size, are bounded well below an item.
        let number_bytes_max = 2 + NUMBER_DIGITS_MAX.div_ceil(2) + 1;
        assert!(number_bytes_max < ITEM_BYTES_MAX);
    }
}
