//! DynamoDB's error answers: an exception name, a message, an HTTP status, and sometimes more
//! (`CancellationReasons`, the old `Item`).

use serde_json::{Map, Value};

/// A DynamoDB exception, ready to be written as `{"__type": "…#Code", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra members of the error body (`CancellationReasons`, `Item`).
    pub extra: Map<String, Value>,
}

/// The exceptions rondo's tables answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Validation,
    Serialization,
    UnknownOperation,
    ResourceNotFound,
    ResourceInUse,
    ConditionalCheckFailed,
    TransactionCanceled,
    TransactionConflict,
    IdempotentParameterMismatch,
    LimitExceeded,
    ExpiredIterator,
    TrimmedDataAccess,
    InternalServerError,
}

impl ErrorCode {
    /// The exception's name, as clients see it after the `#`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Validation => "ValidationException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::ResourceNotFound => "ResourceNotFoundException",
            ErrorCode::ResourceInUse => "ResourceInUseException",
            ErrorCode::ConditionalCheckFailed => "ConditionalCheckFailedException",
            ErrorCode::TransactionCanceled => "TransactionCanceledException",
            ErrorCode::TransactionConflict => "TransactionConflictException",
            ErrorCode::IdempotentParameterMismatch => "IdempotentParameterMismatchException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::ExpiredIterator => "ExpiredIteratorException",
            ErrorCode::TrimmedDataAccess => "TrimmedDataAccessException",
            ErrorCode::InternalServerError => "InternalServerError",
        }
    }

    /// The full `__type`, with the namespace DynamoDB uses for it.
    pub fn type_name(self) -> String {
        let namespace = match self {
            ErrorCode::Validation => "com.amazon.coral.validate",
            ErrorCode::Serialization | ErrorCode::UnknownOperation => "com.amazon.coral.service",
            _ => "com.amazonaws.dynamodb.v20120810",
        };
        format!("{namespace}#{}", self.name())
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalServerError => 500,
            _ => 400,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Validation, message)
    }

    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Serialization, message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::ResourceNotFound, "Requested resource not found")
    }

    pub fn table_not_found(table: &str) -> ApiError {
        ApiError::new(
            ErrorCode::ResourceNotFound,
            format!("Requested resource not found: Table: {table} not found"),
        )
    }

    pub fn conditional_check_failed(item: Option<Value>) -> ApiError {
        let mut error = ApiError::new(
            ErrorCode::ConditionalCheckFailed,
            "The conditional request failed",
        );
        if let Some(item) = item {
            error.extra.insert("Item".to_owned(), item);
        }
        error
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InternalServerError, message)
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("__type".to_owned(), Value::String(self.code.type_name()));
        body.insert("message".to_owned(), Value::String(self.message.clone()));
        for (key, value) in &self.extra {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }
}

impl From<items::ValueError> for ApiError {
    fn from(error: items::ValueError) -> ApiError {
        match error.kind {
            items::ValueErrorKind::Validation => ApiError::validation(error.message),
            items::ValueErrorKind::Serialization => ApiError::serialization(error.message),
        }
    }
}

impl From<items::expr::ExprError> for ApiError {
    fn from(error: items::expr::ExprError) -> ApiError {
        ApiError::validation(error.message)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> ApiError {
        tracing::error!(%error, "store failure");
        match error {
            // The operator needs the key to find the damage; the client sees the same message.
            store::StoreError::Corrupt { .. } => ApiError::internal(format!("{INTERNAL}: {error}")),
            _ => ApiError::internal(INTERNAL),
        }
    }
}

/// DynamoDB's message of an `InternalServerError`.
const INTERNAL: &str = "The server encountered an internal error trying to fulfill the request";

/// `Result` with DynamoDB's error.
pub type ApiResult<T> = Result<T, ApiError>;
