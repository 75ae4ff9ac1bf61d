//! Every range and default the manifest enforces, in one place.
//!
//! Ranges are `i64` because that is what TOML integers are; each is checked before narrowing.
//! Most follow the AWS service the section imitates, which the comments name.

use std::ops::RangeInclusive;

use crate::spec::{AppLimits, EventInvokeSpec};

// Names.
pub(crate) const APP_NAME_LEN_MAX: usize = 64;
/// Lambda's rule for function names.
pub(crate) const FUNCTION_NAME_LEN_MAX: usize = 64;
/// DynamoDB's rule for table and index names.
pub(crate) const TABLE_NAME_LEN_MIN: usize = 3;
pub(crate) const TABLE_NAME_LEN_MAX: usize = 255;
/// DynamoDB's limit on key attribute names, in bytes.
pub(crate) const KEY_ATTRIBUTE_NAME_BYTES_MAX: usize = 255;
/// SQS's rule for queue names.
pub(crate) const QUEUE_NAME_LEN_MAX: usize = 80;
/// EventBridge's rule for rule names.
pub(crate) const SCHEDULE_NAME_LEN_MAX: usize = 64;

// Functions.
/// A wasm32 memory cannot be larger than 4 GiB.
pub(crate) const WASM_MEMORY_MB_RANGE: RangeInclusive<i64> = 1..=4096;
/// Lambda's range.
pub(crate) const PROCESS_MEMORY_MB_RANGE: RangeInclusive<i64> = 128..=10_240;
pub(crate) const MEMORY_MB_DEFAULT: u32 = 128;
/// A process function's `/tmp` in MB (Lambda's ephemeral storage range and default).
pub(crate) const EPHEMERAL_STORAGE_MB_RANGE: RangeInclusive<i64> = 512..=10_240;
pub(crate) const EPHEMERAL_STORAGE_MB_DEFAULT: u32 = 512;
/// Lambda's range: up to 15 minutes.
pub(crate) const TIMEOUT_MS_RANGE: RangeInclusive<i64> = 1..=900_000;
pub(crate) const TIMEOUT_MS_DEFAULT: u32 = 3000;
/// Lambda's limit on the total size of a function's environment (keys plus values).
pub(crate) const ENVIRONMENT_BYTES_MAX: usize = 4096;

// Asynchronous invocations (Lambda's `FunctionEventInvokeConfig` ranges).
// The defaults are `EventInvokeSpec::DEFAULT`.
pub(crate) const EVENT_RETRY_ATTEMPTS_RANGE: RangeInclusive<i64> = 0..=2;
pub(crate) const EVENT_AGE_S_RANGE: RangeInclusive<i64> = 60..=21_600;

// Tables (DynamoDB's per-table limits).
pub(crate) const GLOBAL_SECONDARY_INDEXES_MAX: usize = 20;
pub(crate) const LOCAL_SECONDARY_INDEXES_MAX: usize = 5;

// Triggers (Lambda's event source mapping ranges).
pub(crate) const BATCH_SIZE_RANGE: RangeInclusive<i64> = 1..=10_000;
pub(crate) const TABLE_BATCH_SIZE_DEFAULT: u32 = 100;
pub(crate) const QUEUE_BATCH_SIZE_DEFAULT: u32 = 10;
pub(crate) const BATCHING_WINDOW_MS_RANGE: RangeInclusive<i64> = 0..=300_000;
pub(crate) const MAXIMUM_RETRY_ATTEMPTS_RANGE: RangeInclusive<i64> = 0..=10_000;
pub(crate) const MAXIMUM_RECORD_AGE_S_RANGE: RangeInclusive<i64> = 60..=604_800;
pub(crate) const PARALLELIZATION_FACTOR_RANGE: RangeInclusive<i64> = 1..=10;
pub(crate) const PARALLELIZATION_FACTOR_DEFAULT: u32 = 1;

// Queues (SQS's ranges).
pub(crate) const VISIBILITY_TIMEOUT_S_RANGE: RangeInclusive<i64> = 0..=43_200;
pub(crate) const VISIBILITY_TIMEOUT_S_DEFAULT: u32 = 30;
pub(crate) const MESSAGE_RETENTION_S_RANGE: RangeInclusive<i64> = 60..=1_209_600;
pub(crate) const MESSAGE_RETENTION_S_DEFAULT: u32 = 345_600;
pub(crate) const MAX_RECEIVE_COUNT_RANGE: RangeInclusive<i64> = 1..=1000;

// Billing.
pub(crate) const GRANULARITY_MS_DEFAULT: u32 = 1;
/// Lambda x86 in us-east-1: $0.0000166667 per GB-second.
pub(crate) const PRICE_PER_GB_SECOND_NANO_USD_DEFAULT: u64 = 16_667;
/// Lambda: $0.20 per million requests.
pub(crate) const PRICE_PER_REQUEST_NANO_USD_DEFAULT: u64 = 200;

// App-wide limits: capped so a typo cannot disable a limit.
pub(crate) const CONCURRENCY_MAX_RANGE: RangeInclusive<i64> = 1..=1_000_000;
/// Lambda's default account concurrency.
pub(crate) const CONCURRENCY_MAX_DEFAULT: u32 = 1000;
pub(crate) const BYTES_MAX_RANGE: RangeInclusive<i64> = 1..=(1 << 30);
/// API Gateway's payload limit.
pub(crate) const REQUEST_BODY_BYTES_MAX_DEFAULT: u64 = 10 << 20;
/// Lambda's synchronous response limit.
pub(crate) const RESPONSE_BYTES_MAX_DEFAULT: u64 = 6 << 20;
/// 0 refuses a caller over a limit at once, as Lambda does; 10 s is already longer than most clients wait.
pub(crate) const THROTTLE_WAIT_MS_RANGE: RangeInclusive<i64> = 0..=10_000;
pub(crate) const THROTTLE_WAIT_MS_DEFAULT: u32 = 100;
/// 0 means no caller waits: every one over a limit is refused at once.
pub(crate) const THROTTLE_QUEUE_MAX_RANGE: RangeInclusive<i64> = 0..=100_000;
pub(crate) const THROTTLE_QUEUE_MAX_DEFAULT: u32 = 1000;
/// At least 1, or a function could never add an instance beyond its warm level.
pub(crate) const SCALE_UP_PER_10S_RANGE: RangeInclusive<i64> = 1..=1_000_000;
/// Lambda's scaling rate: 1,000 execution environments every 10 s per function.
pub(crate) const SCALE_UP_PER_10S_DEFAULT: u32 = 1000;
/// `[limits]` when the manifest has none.
pub(crate) const APP_LIMITS_DEFAULT: AppLimits = AppLimits {
    concurrency_max: CONCURRENCY_MAX_DEFAULT,
    request_body_bytes_max: REQUEST_BODY_BYTES_MAX_DEFAULT,
    response_bytes_max: RESPONSE_BYTES_MAX_DEFAULT,
    throttle_wait_ms: THROTTLE_WAIT_MS_DEFAULT,
    throttle_queue_max: THROTTLE_QUEUE_MAX_DEFAULT,
    scale_up_per_10s: SCALE_UP_PER_10S_DEFAULT,
};

// How the limits relate, checked when the crate compiles.
const _: () = {
    assert!(contains(&WASM_MEMORY_MB_RANGE, MEMORY_MB_DEFAULT as i64));
    assert!(contains(&PROCESS_MEMORY_MB_RANGE, MEMORY_MB_DEFAULT as i64));
    assert!(contains(
        &EPHEMERAL_STORAGE_MB_RANGE,
        EPHEMERAL_STORAGE_MB_DEFAULT as i64
    ));
    assert!(*WASM_MEMORY_MB_RANGE.end() < *PROCESS_MEMORY_MB_RANGE.end());
    assert!(contains(&TIMEOUT_MS_RANGE, TIMEOUT_MS_DEFAULT as i64));
    assert!(contains(
        &EVENT_RETRY_ATTEMPTS_RANGE,
        EventInvokeSpec::DEFAULT.maximum_retry_attempts as i64
    ));
    assert!(contains(
        &EVENT_AGE_S_RANGE,
        EventInvokeSpec::DEFAULT.maximum_event_age_s as i64
    ));
    assert!(contains(&BATCH_SIZE_RANGE, TABLE_BATCH_SIZE_DEFAULT as i64));
    assert!(contains(&BATCH_SIZE_RANGE, QUEUE_BATCH_SIZE_DEFAULT as i64));
    assert!(contains(
        &PARALLELIZATION_FACTOR_RANGE,
        PARALLELIZATION_FACTOR_DEFAULT as i64
    ));
    assert!(contains(
        &VISIBILITY_TIMEOUT_S_RANGE,
        VISIBILITY_TIMEOUT_S_DEFAULT as i64
    ));
    assert!(contains(
        &MESSAGE_RETENTION_S_RANGE,
        MESSAGE_RETENTION_S_DEFAULT as i64
    ));
    assert!(contains(
        &CONCURRENCY_MAX_RANGE,
        CONCURRENCY_MAX_DEFAULT as i64
    ));
    assert!(*CONCURRENCY_MAX_RANGE.end() <= u32::MAX as i64);
    assert!(contains(
        &BYTES_MAX_RANGE,
        REQUEST_BODY_BYTES_MAX_DEFAULT as i64
    ));
    assert!(contains(
        &BYTES_MAX_RANGE,
        RESPONSE_BYTES_MAX_DEFAULT as i64
    ));
    assert!(contains(
        &THROTTLE_WAIT_MS_RANGE,
        THROTTLE_WAIT_MS_DEFAULT as i64
    ));
    assert!(*THROTTLE_WAIT_MS_RANGE.end() <= u32::MAX as i64);
    assert!(contains(
        &THROTTLE_QUEUE_MAX_RANGE,
        THROTTLE_QUEUE_MAX_DEFAULT as i64
    ));
    assert!(*THROTTLE_QUEUE_MAX_RANGE.end() <= u32::MAX as i64);
    assert!(contains(
        &SCALE_UP_PER_10S_RANGE,
        SCALE_UP_PER_10S_DEFAULT as i64
    ));
    assert!(*SCALE_UP_PER_10S_RANGE.end() <= u32::MAX as i64);
    assert!(TABLE_NAME_LEN_MIN <= TABLE_NAME_LEN_MAX);
};

/// `RangeInclusive::contains` is not `const`.
const fn contains(range: &RangeInclusive<i64>, value: i64) -> bool {
    *range.start() <= value && value <= *range.end()
}
