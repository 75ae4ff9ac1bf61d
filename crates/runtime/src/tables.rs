//! The `tables` capability: handler-world functions reach the app's DynamoDB-compatible tables
//! through the `rondo:function/tables` import, in-process.
//!
//! The runtime knows nothing about tables: it is handed a [`TableService`] (the control plane wires
//! the table engine in) and passes each call through, with the operation name and the request and
//! response in DynamoDB's JSON protocol. What the runtime adds is the invocation's limits: requests
//! and responses are capped ([`limits::TABLES_REQUEST_BYTES_MAX`],
//! [`limits::TABLES_RESPONSE_BYTES_MAX`]), and a call still waiting at the invocation's deadline is
//! abandoned (its future dropped) and the invocation times out.

#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::function::DeadlineReached;
use crate::limits;

/// DynamoDB-compatible tables, as the runtime sees them: one operation at a time, JSON in and out.
///
/// The control plane implements it over the table engine and hands it to the runtime in
/// [`RuntimeConfig::tables`](crate::RuntimeConfig::tables).
pub trait TableService: Send + Sync + 'static {
    /// Runs one DynamoDB operation (`"PutItem"`, `"Query"`, …) on its JSON request and answers
    /// its JSON response, or the error DynamoDB would answer.
    ///
    /// The future may be dropped before it completes: when the invocation's deadline passes, the
    /// runtime stops waiting for it.
    fn call(
        &self,
        operation: &str,
        request: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, ServiceError>> + Send + 'static>>;
}

/// A DynamoDB error, as the guest receives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The exception's name without its namespace: `"ConditionalCheckFailedException"`.
    pub code: String,
    /// The human-readable message DynamoDB sends with it.
    pub message: String,
}

impl ServiceError {
    /// An error with the exception name `code` and its `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Runs one `tables.call` of a guest against `service` (none configured: `ServiceUnavailable`).
///
/// The outer error is a trap: the invocation's deadline passed while the call was waiting.
pub(crate) async fn call(
    service: Option<&Arc<dyn TableService>>,
    deadline: Instant,
    operation: &str,
    request: String,
) -> wasmtime::Result<Result<String, ServiceError>> {
    let Some(service) = service else {
        return Ok(Err(ServiceError::new(
            "ServiceUnavailable",
            "tables are not available on this node",
        )));
    };
    if request.len() > limits::TABLES_REQUEST_BYTES_MAX {
        return Ok(Err(ServiceError::new(
            "ValidationException",
            format!(
                "{operation} request of {} bytes exceeds the limit of {} bytes",
                request.len(),
                limits::TABLES_REQUEST_BYTES_MAX
            ),
        )));
    }
    let answer = service.call(operation, Bytes::from(request));
    let Ok(answer) = tokio::time::timeout_at(deadline.into(), answer).await else {
        return Err(DeadlineReached.into());
    };
    Ok(answer.and_then(|response| response_text(operation, response)))
}

/// The response as the guest's string, if it is within the limit and is text.
fn response_text(operation: &str, response: Bytes) -> Result<String, ServiceError> {
    if response.len() > limits::TABLES_RESPONSE_BYTES_MAX {
        return Err(ServiceError::new(
            "ValidationException",
            format!(
                "{operation} response of {} bytes exceeds the limit of {} bytes; \
                 ask for fewer items per request",
                response.len(),
                limits::TABLES_RESPONSE_BYTES_MAX
            ),
        ));
    }
    String::from_utf8(response.into()).map_err(|error| {
        ServiceError::new(
            "InternalServerError",
            format!(
                "the table service answered {operation} with invalid UTF-8 at byte {}",
                error.utf8_error().valid_up_to()
            ),
        )
    })
}
