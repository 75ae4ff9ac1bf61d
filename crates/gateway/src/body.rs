//! Reading a request body at the edge: the one way every handler buffers one, bounded in size
//! (the handler's limit), in time (a whole-body deadline) and by the node's budget of buffered
//! bytes ([`BodyBudget`]), so N concurrent large uploads cannot take N times the limit.
//!
//! A body takes its size from the budget before it is read: its exact size when the request
//! declares it (`Content-Length`), else the handler's limit, of which what it did not use is
//! given back once it is read. The bytes go back when the returned [`Buffered`] drops, that is
//! when its request has been answered. Each protocol answers a [`BodyError`] in its own shape.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::{BODY_BUDGET_WAIT_MS, BUFFERED_BODY_BYTES_MAX, REQUEST_BODY_READ_MS_MAX};

/// How request bodies are bounded in time and in the node's memory.
/// [`BodyConfig::production`] has the values of [`crate::limits`].
#[derive(Debug, Clone)]
pub struct BodyConfig {
    /// How long a whole body may take to arrive.
    pub read_timeout: Duration,
    /// Bytes of request bodies the node buffers at once, over all listeners.
    pub buffered_bytes_max: usize,
    /// How long a body waits for room in the budget before it is refused.
    pub budget_wait: Duration,
}

impl BodyConfig {
    /// The limits a node serves with.
    pub fn production() -> BodyConfig {
        BodyConfig {
            read_timeout: Duration::from_millis(REQUEST_BODY_READ_MS_MAX),
            buffered_bytes_max: BUFFERED_BODY_BYTES_MAX,
            budget_wait: Duration::from_millis(BODY_BUDGET_WAIT_MS),
        }
    }
}

/// The node's budget of buffered request-body bytes. Cheap to clone; every clone is the same
/// budget, shared by both listeners.
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    config: BodyConfig,
}

/// A body read whole, holding its bytes of the node's budget until it drops.
pub struct Buffered {
    pub bytes: Bytes,
    _taken: Option<OwnedSemaphorePermit>,
}

/// Why a body was not read. Each protocol answers it in its own shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is (or declares itself) larger than the handler's limit: 413.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The whole body did not arrive in time: 408.
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    /// The node's budget of buffered bodies stayed full for the whole wait: a throttle.
    #[error("the node is buffering its limit of {0} bytes of request bodies; retry later")]
    Busy(usize),
    /// The client went away or sent a malformed body: 400.
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}

impl BodyBudget {
    pub fn new(config: BodyConfig) -> BodyBudget {
        assert!(
            u32::try_from(config.buffered_bytes_max).is_ok(),
            "the body budget is a semaphore, counted in u32"
        );
        BodyBudget {
            bytes: Arc::new(Semaphore::new(config.buffered_bytes_max)),
            config,
        }
    }

    /// Bytes of the budget free right now.
    pub fn available_bytes(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Reads `body` whole: at most `limit` bytes, within the read timeout, after taking its
    /// bytes from the budget (waiting at most the budget wait).
    pub async fn read<B>(&self, body: B, limit: usize) -> Result<Buffered, BodyError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if body.is_end_stream() {
            return Ok(Buffered {
                bytes: Bytes::new(),
                _taken: None,
            });
        }
        let declared = body.size_hint().exact();
        if declared.is_some_and(|size| size > limit as u64) {
            return Err(BodyError::TooLarge { limit });
        }
        let reserve = declared
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or(limit)
            .min(self.config.buffered_bytes_max);
        let mut taken = self.take(reserve).await?;
        let collected = tokio::time::timeout(
            self.config.read_timeout,
            Limited::new(body, limit).collect(),
        )
        .await;
        let bytes = match collected {
            Err(_elapsed) => return Err(BodyError::TimedOut(self.config.read_timeout)),
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(BodyError::TooLarge { limit });
            }
            Ok(Err(error)) => return Err(BodyError::Unreadable(error.to_string())),
        };
        // Give back what a body without a declared size did not use.
        let unused = reserve.saturating_sub(bytes.len());
        if unused > 0 {
            drop(taken.split(unused));
        }
        Ok(Buffered {
            bytes,
            _taken: Some(taken),
        })
    }

    async fn take(&self, bytes: usize) -> Result<OwnedSemaphorePermit, BodyError> {
        let permits = u32::try_from(bytes).expect("at most the budget, which fits in u32");
        let acquire = Arc::clone(&self.bytes).acquire_many_owned(permits);
        match tokio::time::timeout(self.config.budget_wait, acquire).await {
            Ok(taken) => Ok(taken.expect("the budget is never closed")),
            Err(_elapsed) => Err(BodyError::Busy(self.config.buffered_bytes_max)),
        }
    }
}
