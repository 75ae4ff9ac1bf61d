use std::time::{Duration, SystemTime};

use runtime::{InvokeError, Report};

use crate::{Outcome, Source, UsageRecord};

fn report(duration_us: u64, init_us: Option<u64>) -> Report {
    Report {
        request_id: "req-1".to_owned(),
        function_name: "hello".to_owned(),
        function_version: "v1".to_owned(),
        memory_mb: 128,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        duration: Duration::from_micros(duration_us),
        init_duration: init_us.map(Duration::from_micros),
        peak_memory_bytes: 3 * 1024 * 1024,
        logs: Vec::new(),
    }
}

/// The billed milliseconds and GB-seconds of a successful run of `duration_us` at `granularity_ms`.
fn check_billing(duration_us: u64, granularity_ms: u32, billed_ms: u64, gb_seconds: f64) {
    let record = UsageRecord::from_report(
        &report(duration_us, None),
        None,
        Source::Invoke,
        granularity_ms,
    );
    assert_eq!(
        (record.billed_ms, record.gb_seconds()),
        (billed_ms, gb_seconds),
        "{duration_us} µs at {granularity_ms} ms"
    );
}

#[test]
fn billed_duration_rounds_up_to_1_ms() {
    check_billing(210, 1, 1, 0.125 / 1000.0);
    check_billing(1000, 1, 1, 0.125 / 1000.0);
    check_billing(1001, 1, 2, 0.25 / 1000.0);
    check_billing(0, 1, 1, 0.125 / 1000.0);
    check_billing(2_500_000, 1, 2500, 0.3125);
}

#[test]
fn billed_duration_rounds_up_to_100_ms() {
    check_billing(210, 100, 100, 0.0125);
    check_billing(100_000, 100, 100, 0.0125);
    check_billing(100_001, 100, 200, 0.025);
    check_billing(2_500_000, 100, 2500, 0.3125);
}

#[test]
fn a_report_becomes_a_record() {
    let record = UsageRecord::from_report(
        &report(1500, Some(3120)),
        None,
        Source::Route("GET /hello".to_owned()),
        1,
    );
    let expect = UsageRecord {
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        function: "hello".to_owned(),
        source: Source::Route("GET /hello".to_owned()),
        init_us: 3120,
        duration_us: 1500,
        billed_ms: 2,
        memory_mb: 128,
        peak_memory_bytes: 3 * 1024 * 1024,
        outcome: Outcome::Success,
        cold: true,
    };
    assert_eq!(record, expect);
    assert_eq!(record.mb_ms(), 256);
}

#[test]
fn outcomes_follow_the_invoke_error() {
    let cases = [
        (None, Outcome::Success),
        (
            Some(InvokeError::Function {
                error_type: "Oops".to_owned(),
                message: "bad".to_owned(),
                stack_trace: Vec::new(),
            }),
            Outcome::Error,
        ),
        (
            Some(InvokeError::ResponseTooLarge {
                size_bytes: 7,
                limit_bytes: 6,
            }),
            Outcome::Error,
        ),
        (
            Some(InvokeError::Trap {
                message: "unreachable".to_owned(),
            }),
            Outcome::Crash,
        ),
        (
            Some(InvokeError::Protocol {
                message: "no response".to_owned(),
            }),
            Outcome::Crash,
        ),
        (
            Some(InvokeError::Timeout { timeout_ms: 3000 }),
            Outcome::Timeout,
        ),
        (
            Some(InvokeError::OutOfMemory { memory_mb: 128 }),
            Outcome::OutOfMemory,
        ),
        (
            Some(InvokeError::Throttled {
                reason: runtime::ThrottleReason::ConcurrentInvocationLimitExceeded,
            }),
            Outcome::Throttled,
        ),
    ];
    for (error, outcome) in cases {
        assert_eq!(Outcome::from_result(error.as_ref()), outcome, "{error:?}");
    }
}

#[test]
fn a_throttled_invocation_is_not_billed() {
    let record = UsageRecord::from_report(
        &report(40, None),
        Some(&InvokeError::Throttled {
            reason: runtime::ThrottleReason::ConcurrentInvocationLimitExceeded,
        }),
        Source::Invoke,
        100,
    );
    assert_eq!((record.outcome, record.billed_ms), (Outcome::Throttled, 0));
    assert!(!record.outcome.is_error());
}

#[test]
fn outcome_indexes_follow_all() {
    for (index, outcome) in Outcome::ALL.into_iter().enumerate() {
        assert_eq!(outcome.index(), index, "{outcome}");
    }
}
