//! The table service as wasm functions see it: the runtime's [`TableService`] over [`Tables`].

use std::pin::Pin;

use bytes::Bytes;
use runtime::{ServiceError, TableService};
use tables::Tables;

/// Hands a function's `tables.call` to the node's table service, with the same operations,
/// shapes and errors as the AWS endpoint (no HTTP, no signature: the function is inside).
pub struct FunctionTables(pub Tables);

impl TableService for FunctionTables {
    fn call(
        &self,
        operation: &str,
        request: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, ServiceError>> + Send + 'static>> {
        let tables = self.0.clone();
        let operation = operation.to_owned();
        Box::pin(async move {
            match tables.handle(&operation, &request).await {
                Ok(answer) => Ok(Bytes::from(answer.to_string())),
                Err(error) => Err(ServiceError::new(error.code.name(), error.message)),
            }
        })
    }
}
