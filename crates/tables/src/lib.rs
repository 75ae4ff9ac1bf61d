//! DynamoDB-compatible tables on the store.
