//! The handled failure a handler returns: [`Error`].

use std::fmt;

use crate::bindings::rondo::function::types::FunctionError;

/// A handled function failure, reported to the caller as Lambda reports one:
/// `{"errorType": error_type, "errorMessage": message}`.
///
/// Build one with [`Error::new`], or let `?` convert common errors:
/// JSON errors become `JsonError`, I/O errors `IoError`, UTF-8 errors `Utf8Error`,
/// number parse errors `ParseError`, and strings or boxed errors `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    error_type: String,
    message: String,
}

impl Error {
    /// An error with a short machine-readable type (`"NotFound"`, `"ValidationError"`) and a message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// The error's type, reported as `errorType`.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The error's message, reported as `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for FunctionError {
    fn from(error: Error) -> FunctionError {
        FunctionError {
            error_type: error.error_type,
            message: error.message,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::new("JsonError", error.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error::new("IoError", error.to_string())
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(error: std::str::Utf8Error) -> Error {
        Error::new("Utf8Error", error.to_string())
    }
}

impl From<std::string::FromUtf8Error> for Error {
    fn from(error: std::string::FromUtf8Error) -> Error {
        Error::new("Utf8Error", error.to_string())
    }
}

impl From<std::num::ParseIntError> for Error {
    fn from(error: std::num::ParseIntError) -> Error {
        Error::new("ParseError", error.to_string())
    }
}

impl From<std::num::ParseFloatError> for Error {
    fn from(error: std::num::ParseFloatError) -> Error {
        Error::new("ParseError", error.to_string())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new("Error", message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new("Error", message)
    }
}

impl From<Box<dyn std::error::Error + Send + Sync>> for Error {
    fn from(error: Box<dyn std::error::Error + Send + Sync>) -> Error {
        Error::new("Error", error.to_string())
    }
}
