//! Running one invocation of each kind of function.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::ResourceTable;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use crate::function::{Function, InvokeMeta, Pre};
use crate::limits;
use crate::report::{Invocation, InvokeError};

impl Function {
    /// Runs a handler-world function on one event, in a fresh instance.
    /// A `wasi:http` function is refused: it takes HTTP requests (see [`Function::serve_http`]).
    pub async fn invoke(&self, event: &[u8], meta: InvokeMeta) -> Invocation<Bytes> {
        let _running = self.inner.runtime.ticker.enter();
        let mut run = self.new_run();
        let context = self.guest_context(&meta, &run);
        let hard_timeout = self.hard_timeout();
        let outcome = match &self.inner.pre {
            Pre::Handler(pre) => {
                let store = &mut run.store;
                let call = async {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance
                        .rondo_function_handler()
                        .call_handle(&mut *store, event, &context)
                        .await
                };
                Some(tokio::time::timeout(hard_timeout, call).await)
            }
            Pre::WasiHttp(_) => None,
        };
        let result = match outcome {
            None => Err(InvokeError::Protocol {
                message: "a wasi:http function takes HTTP requests; invoke it through a route"
                    .to_owned(),
            }),
            Some(Err(_elapsed)) => Err(InvokeError::Timeout {
                timeout_ms: self.timeout_ms(),
            }),
            Some(Ok(Err(error))) => Err(self.classify(&run, &error)),
            Some(Ok(Ok(Err(function_error)))) => Err(InvokeError::Function {
                error_type: function_error.error_type,
                message: function_error.message,
                stack_trace: Vec::new(),
            }),
            Some(Ok(Ok(Ok(output)))) if output.len() > limits::RESPONSE_BYTES_MAX => {
                Err(InvokeError::ResponseTooLarge {
                    size_bytes: output.len(),
                    limit_bytes: limits::RESPONSE_BYTES_MAX,
                })
            }
            Some(Ok(Ok(Ok(output)))) => Ok(Bytes::from(output)),
        };
        Invocation {
            report: self.finish(meta, run),
            result,
        }
    }

    /// Runs a `wasi:http` function on one request, in a fresh instance, and buffers its
    /// response (at most [`limits::RESPONSE_BYTES_MAX`] bytes), as Lambda buffers responses.
    pub async fn serve_http(
        &self,
        request: http::Request<Bytes>,
        meta: InvokeMeta,
    ) -> Invocation<http::Response<Bytes>> {
        let _running = self.inner.runtime.ticker.enter();
        let mut run = self.new_run();
        let hard_timeout = self.hard_timeout();
        let result = match &self.inner.pre {
            Pre::WasiHttp(pre) => {
                match tokio::time::timeout(hard_timeout, serve(pre, &mut run.store, request)).await
                {
                    Err(_elapsed) => Err(InvokeError::Timeout {
                        timeout_ms: self.timeout_ms(),
                    }),
                    Ok(Err(ServeError::Wasm(error))) => Err(self.classify(&run, &error)),
                    Ok(Err(ServeError::Invoke(error))) => Err(error),
                    Ok(Ok(response)) => Ok(response),
                }
            }
            Pre::Handler(_) => Err(InvokeError::Protocol {
                message: "a handler-world function takes events, not wasi:http requests".to_owned(),
            }),
        };
        Invocation {
            report: self.finish(meta, run),
            result,
        }
    }
}

enum ServeError {
    Wasm(wasmtime::Error),
    Invoke(InvokeError),
}

async fn serve(
    pre: &wasmtime_wasi_http::p2::bindings::ProxyPre<crate::host::HostState>,
    store: &mut wasmtime::Store<crate::host::HostState>,
    request: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, ServeError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let request = request.map(Full::new);
    let mut http = store.data_mut().http();
    let incoming = http
        .new_incoming_request(Scheme::Http, request)
        .map_err(ServeError::Wasm)?;
    let outparam = http
        .new_response_outparam(sender)
        .map_err(ServeError::Wasm)?;

    let guest = async {
        let result = async {
            let proxy = pre.instantiate_async(&mut *store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut *store, incoming, outparam)
                .await
        }
        .await;
        // The guest is done (returned or trapped): dropping its resources closes the response
        // channel and body it still holds, so the collector below ends now instead of waiting
        // for the timeout.
        drop(std::mem::replace(
            &mut store.data_mut().table,
            ResourceTable::new(),
        ));
        result
    };
    // The guest may keep writing the body after it has sent the head: drive both together.
    let collect = async {
        let response = match receiver.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => {
                return Err(InvokeError::Protocol {
                    message: format!("the handler answered with an error: {code:?}"),
                });
            }
            // The guest ended (or trapped) without responding; the guest's result says why.
            Err(_) => return Ok(None),
        };
        let (parts, body) = response.into_parts();
        let limited = http_body_util::Limited::new(body, limits::RESPONSE_BYTES_MAX);
        match limited.collect().await {
            Ok(collected) => Ok(Some(http::Response::from_parts(
                parts,
                collected.to_bytes(),
            ))),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(InvokeError::ResponseTooLarge {
                    size_bytes: limits::RESPONSE_BYTES_MAX + 1,
                    limit_bytes: limits::RESPONSE_BYTES_MAX,
                })
            }
            Err(error) => Err(InvokeError::Protocol {
                message: format!("the response body failed: {error}"),
            }),
        }
    };
    let (guest_result, collected) = tokio::join!(guest, collect);
    match (guest_result, collected) {
        (_, Err(error)) => Err(ServeError::Invoke(error)),
        (_, Ok(Some(response))) => Ok(response),
        (Err(error), Ok(None)) => Err(ServeError::Wasm(error)),
        (Ok(()), Ok(None)) => Err(ServeError::Invoke(InvokeError::Protocol {
            message: "the handler returned without setting a response".to_owned(),
        })),
    }
}
