//! The limits of the expression language. DynamoDB's own (documented in its service quotas)
//! and one of rondo's, which keeps the recursive parser's stack bounded.

/// The longest expression string DynamoDB accepts, in UTF-8 bytes.
pub const EXPRESSION_BYTES_MAX: usize = 4 * 1024;

/// The most operators and functions one expression may hold (DynamoDB documents this for
/// UpdateExpression; rondo applies it to conditions and filters as well).
pub const OPERATORS_MAX: usize = 300;

/// The most operands an `IN` list may hold.
pub const IN_OPERANDS_MAX: usize = 100;

/// How deeply parentheses, `NOT`s and function calls may nest. DynamoDB states no limit; this is
/// rondo's, far beyond any real expression, so that parsing cannot exhaust the stack.
pub const NESTING_DEPTH_MAX: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_relate() {
        // Each operator needs at least one byte of text, so the operator limit must be the
        // tighter one for it to ever apply.
        const { assert!(OPERATORS_MAX < EXPRESSION_BYTES_MAX) };
        // An IN list of the maximum size fits in an expression (`a IN (:0,:1,…)`).
        const { assert!(IN_OPERANDS_MAX * ":00,".len() < EXPRESSION_BYTES_MAX) };
        // Nesting deeper than the byte limit allows would never be reached.
        const { assert!(NESTING_DEPTH_MAX * "(".len() < EXPRESSION_BYTES_MAX) };
    }
}
