//! DynamoDB numbers: exact decimals with at most 38 significant digits, kept normalised.

/// An exact decimal number as DynamoDB stores it (never a float).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    // Implementation detail, to be chosen by the implementer.
    normalized: String,
}
