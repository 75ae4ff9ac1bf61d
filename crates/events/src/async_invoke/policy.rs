//! What happens to an event after an attempt: Lambda's retry rules, as pure functions of the
//! event, the attempt's outcome, the function's settings and the time.
//!
//! - A function error is retried up to `maximum_retry_attempts` times, the first retry after
//!   the node's retry delay and the second after twice that (Lambda: about 1 and 2 minutes).
//! - A throttle is tried again after 1 s, doubling up to 5 minutes; it uses no retry.
//! - A function that left the app, or that takes no events, fails the event for good.
//! - An event whose next attempt would come after `maximum_event_age_s` is given up.

use manifest::EventInvokeSpec;

use super::stored::{Failure, FailureKind, StoredEvent};
use crate::limits::{ASYNC_THROTTLE_BACKOFF_MS_MAX, ASYNC_THROTTLE_BACKOFF_MS_MIN};

/// Why an event ended, as Lambda's invocation record names it (`requestContext.condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

/// What to do with an event after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// It succeeded: it is done.
    Done,
    /// Try again at the event's (updated) `due_ms`.
    Retry,
    /// It failed for good.
    GiveUp(Condition),
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// Whether the event is too old to be tried at `now_ms`.
pub(super) fn expired(event: &StoredEvent, settings: &EventInvokeSpec, now_ms: u64) -> bool {
    now_ms > deadline_ms(event, settings)
}

/// Counts an attempt that ended at `now_ms` into `event` and says what comes next; on a retry,
/// `event.due_ms` is when. `failure` is `None` for a success.
pub(super) fn after_attempt(
    event: &mut StoredEvent,
    failure: Option<Failure>,
    settings: &EventInvokeSpec,
    retry_delay_ms: u64,
    now_ms: u64,
) -> Next {
    let Some(failure) = failure else {
        event.invocations += 1;
        return Next::Done;
    };
    let kind = failure.kind;
    event.last_failure = Some(failure);
    let delay_ms = match kind {
        FailureKind::Function => {
            event.invocations += 1;
            event.failures += 1;
            if event.failures > settings.maximum_retry_attempts {
                return Next::GiveUp(Condition::RetriesExhausted);
            }
            retry_delay_ms.saturating_mul(u64::from(event.failures))
        }
        FailureKind::Throttled => {
            event.throttles += 1;
            throttle_backoff_ms(event.throttles)
        }
        FailureKind::FunctionGone | FailureKind::NotInvocable | FailureKind::Disabled => {
            return Next::GiveUp(Condition::RetriesExhausted);
        }
    };
    event.due_ms = now_ms.saturating_add(delay_ms);
    if event.due_ms > deadline_ms(event, settings) {
        return Next::GiveUp(Condition::EventAgeExceeded);
    }
    Next::Retry
}

/// The wait after the `n_throttles`-th throttle in a row (from 1).
fn throttle_backoff_ms(n_throttles: u32) -> u64 {
    let doublings = n_throttles.saturating_sub(1).min(32);
    ASYNC_THROTTLE_BACKOFF_MS_MIN
        .saturating_mul(1 << doublings)
        .min(ASYNC_THROTTLE_BACKOFF_MS_MAX)
}

/// The last moment the event may be tried.
fn deadline_ms(event: &StoredEvent, settings: &EventInvokeSpec) -> u64 {
    let age_ms = u64::from(settings.maximum_event_age_s) * 1000;
    event.enqueued_ms.saturating_add(age_ms)
}
