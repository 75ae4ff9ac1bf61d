use std::time::{Duration, SystemTime};

use super::*;

fn record(function: &str, source: Source) -> UsageRecord {
    UsageRecord {
        time: SystemTime::UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456),
        function: function.to_owned(),
        source,
        init_us: 3120,
        duration_us: 1500,
        billed_ms: 2,
        memory_mb: 128,
        peak_memory_bytes: 3 * 1024 * 1024,
        outcome: Outcome::OutOfMemory,
        cold: true,
    }
}

fn check_record(original: &UsageRecord, expect: &UsageRecord) {
    let key = raw_key(time_us(original.time), 7);
    let value = encode_record(original);
    assert_eq!(decode_record(&key, &value).as_ref(), Some(expect));
}

#[test]
fn records_read_back_as_written() {
    for source in [
        Source::Route("GET /hello/{name}".to_owned()),
        Source::Trigger("table:carts -> cart-status".to_owned()),
        Source::Invoke,
        Source::Async,
    ] {
        let original = record("hello", source);
        check_record(&original, &original);
    }
}

#[test]
fn long_names_are_cut_at_a_character_boundary() {
    let function = "é".repeat(200);
    let route = format!("GET /{}", "ü".repeat(1000));
    let original = record(&function, Source::Route(route.clone()));
    let mut expect = original.clone();
    expect.function = "é".repeat(127);
    expect.source = Source::Route(route[..1023].to_owned());
    check_record(&original, &expect);

    let bucket = BucketKey {
        start_us: 3_600_000_000,
        function: function.clone(),
        source: Source::Route(route.clone()),
    };
    let stored = decode_bucket_key(&bucket_key(&bucket));
    assert_eq!(
        stored,
        Some(BucketKey {
            start_us: 3_600_000_000,
            function: expect.function,
            source: expect.source,
        })
    );
}

#[test]
fn raw_keys_sort_by_time_then_sequence() {
    let keys = [raw_key(5, 9), raw_key(6, 1), raw_key(6, 2), raw_key(256, 0)];
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(raw_bound(6).as_slice() < &raw_key(6, 0)[..]);
    assert!(raw_key(u64::MAX, u64::MAX)[..] < raw_end()[..]);
    assert_eq!(raw_key_time_us(&raw_key(256, 3)), Some(256));
}

#[test]
fn bucket_keys_sort_by_start() {
    let bucket = |start_us, function: &str| BucketKey {
        start_us,
        function: function.to_owned(),
        source: Source::Invoke,
    };
    let early = bucket_key(&bucket(3_600, "zeta"));
    let late = bucket_key(&bucket(7_200, "alpha"));
    assert!(early < late);
    assert!(bucket_bound(7_200) <= late);
    assert!(bucket_bound(7_201) > late);
}

#[test]
fn sums_read_back_as_written() {
    let mut sums = Sums::default();
    sums.add(&record("hello", Source::Invoke));
    sums.mb_ms = u128::from(u64::MAX) + 5;
    assert_eq!(decode_sums(&encode_sums(&sums)), Some(sums));
}

#[test]
fn damaged_values_are_refused() {
    let original = record("hello", Source::Invoke);
    let key = raw_key(1, 1);
    let value = encode_record(&original);
    let mut wrong_version = value.clone();
    wrong_version[0] = 2;
    assert_eq!(decode_record(&key, &wrong_version), None);
    assert_eq!(decode_record(&key, &value[..20]), None);
    assert_eq!(decode_record(&key[..10], &value), None);
    let sums = encode_sums(&Sums::default());
    assert_eq!(decode_sums(&sums[..sums.len() - 1]), None);
    let mut longer = sums.clone();
    longer.push(0);
    assert_eq!(decode_sums(&longer), None);
}
