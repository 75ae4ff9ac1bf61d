//! Event sources that invoke functions: stream triggers (Lambda's event source mappings for
//! DynamoDB streams), with filters, batching, checkpoints and retries.

pub mod filter;
