//! The ledger: totals, restarts, rollups, bounds, drops.

use std::time::Duration;

use expect_test::expect;
use metering::{
    CostQuery, GroupBy, Ledger, LedgerConfig, LedgerError, Metrics, Outcome, PriceTable,
    RollupStats, Source, limits,
};
use store::keyspace::Area;
use store::{Store, StoreOptions};

use crate::support::{Fixture, HOUR, config, route, t0, trigger, usage};

/// Three warm requests to `hello` through a route; a cold start of `cart` from a trigger that
/// failed; a throttled Invoke of `cart`.
fn record_a_mix(fixture: &Fixture, at: std::time::SystemTime) {
    for second in 0..3 {
        fixture.ledger.record(usage(
            "hello",
            route("GET /hello"),
            at + Duration::from_secs(second),
            1_500,
        ));
    }
    let mut cold = usage("cart", trigger("table:carts -> cart"), at, 249_100);
    cold.cold = true;
    cold.init_us = 40_000;
    cold.memory_mb = 1024;
    cold.outcome = Outcome::Error;
    fixture.ledger.record(cold);
    let mut throttled = usage("cart", Source::Invoke, at, 10);
    throttled.outcome = Outcome::Throttled;
    throttled.billed_ms = 0;
    fixture.ledger.record(throttled);
}

#[tokio::test]
async fn totals_add_up_per_function_and_for_the_app() {
    let fixture = Fixture::new(|_| {});
    record_a_mix(&fixture, t0());
    fixture.ledger.flush().await.expect("flush");
    let report = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    let json = serde_json::to_string_pretty(&report).expect("json");
    expect![[r#"
        {
          "since": "2027-01-15T08:00:00Z",
          "until": "2027-01-15T09:00:00Z",
          "by": "function",
          "prices": {
            "gb_second_pico_usd": 16666700,
            "request_pico_usd": 200000
          },
          "rows": [
            {
              "name": "cart",
              "requests": 1,
              "errors": 1,
              "throttles": 1,
              "cold_starts": 1,
              "outcomes": {
                "success": 0,
                "error": 1,
                "crash": 0,
                "timeout": 0,
                "out_of_memory": 0,
                "throttled": 1
              },
              "duration_ms": 249.1,
              "init_duration_ms": 40.0,
              "billed_duration_ms": 250,
              "gb_seconds": 0.25,
              "peak_memory_mb": 20,
              "request_cost_usd": 2e-7,
              "compute_cost_usd": 4.166675e-6,
              "total_cost_usd": 4.366675e-6
            },
            {
              "name": "hello",
              "requests": 3,
              "errors": 0,
              "throttles": 0,
              "cold_starts": 0,
              "outcomes": {
                "success": 3,
                "error": 0,
                "crash": 0,
                "timeout": 0,
                "out_of_memory": 0,
                "throttled": 0
              },
              "duration_ms": 4.5,
              "init_duration_ms": 0.0,
              "billed_duration_ms": 6,
              "gb_seconds": 0.00075,
              "peak_memory_mb": 20,
              "request_cost_usd": 6e-7,
              "compute_cost_usd": 1.25e-8,
              "total_cost_usd": 6.125e-7
            }
          ],
          "total": {
            "name": "total",
            "requests": 4,
            "errors": 1,
            "throttles": 1,
            "cold_starts": 1,
            "outcomes": {
              "success": 3,
              "error": 1,
              "crash": 0,
              "timeout": 0,
              "out_of_memory": 0,
              "throttled": 1
            },
            "duration_ms": 253.6,
            "init_duration_ms": 40.0,
            "billed_duration_ms": 256,
            "gb_seconds": 0.25075,
            "peak_memory_mb": 20,
            "request_cost_usd": 8e-7,
            "compute_cost_usd": 4.179175e-6,
            "total_cost_usd": 4.979175e-6
          },
          "entries_scanned": 5
        }"#]]
    .assert_eq(&json);
}

#[tokio::test]
async fn rows_add_up_to_the_total_whatever_the_grouping() {
    let fixture = Fixture::new(|_| {});
    record_a_mix(&fixture, t0());
    fixture.ledger.flush().await.expect("flush");
    let by_function = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    for by in [GroupBy::Route, GroupBy::Trigger] {
        let report = fixture.summary(t0(), t0() + HOUR, by);
        assert_eq!(report.total, by_function.total, "{by:?}");
        let requests: u64 = report.rows.iter().map(|row| row.requests).sum();
        let billed: u64 = report.rows.iter().map(|row| row.billed_duration_ms).sum();
        assert_eq!(
            (requests, billed),
            (report.total.requests, report.total.billed_duration_ms),
            "{by:?}"
        );
    }
    let names = |by| {
        fixture
            .summary(t0(), t0() + HOUR, by)
            .rows
            .into_iter()
            .map(|row| row.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(GroupBy::Route),
        ["(invoke)", "(triggers)", "GET /hello"]
    );
    assert_eq!(
        names(GroupBy::Trigger),
        ["(invoke)", "(routes)", "table:carts -> cart"]
    );
}

#[tokio::test]
async fn a_summary_covers_its_range_only() {
    let fixture = Fixture::new(|_| {});
    record_a_mix(&fixture, t0());
    record_a_mix(&fixture, t0() + HOUR);
    fixture.ledger.flush().await.expect("flush");
    let first_hour = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    let both = fixture.summary(t0(), t0() + 2 * HOUR, GroupBy::Function);
    assert_eq!(first_hour.total.requests, 4);
    assert_eq!(both.total.requests, 8);
    // The end is excluded: the record at t0() is not in a range ending at t0().
    let before = fixture.summary(t0() - HOUR, t0(), GroupBy::Function);
    assert_eq!((before.total.requests, before.rows.len()), (0, 0));
}

#[tokio::test]
async fn the_ledger_survives_a_restart() {
    let fixture = Fixture::new(|_| {});
    record_a_mix(&fixture, t0());
    // Not flushed: the shutdown commits what is queued.
    let clock = fixture.clock.clone();
    let mut fixture = fixture.restart(config(&clock)).await;
    let after_restart = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    assert_eq!(
        (after_restart.total.requests, after_restart.total.throttles),
        (4, 1)
    );
    // Records at the same moments as before the restart get keys of their own.
    record_a_mix(&fixture, t0());
    fixture.ledger.flush().await.expect("flush");
    let twice = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    assert_eq!(twice.total.requests, 8);
    assert_eq!(
        twice.total.billed_duration_ms,
        2 * after_restart.total.billed_duration_ms
    );
    assert_eq!(fixture.ledger.size().expect("size").raw_records, 10);
    fixture = fixture.restart(config(&clock)).await;
    assert_eq!(
        fixture.summary(t0(), t0() + HOUR, GroupBy::Function).total,
        twice.total
    );
}

#[tokio::test]
async fn a_rollup_keeps_every_total() {
    let fixture = Fixture::new(|_| {});
    for hour in 0..3 {
        record_a_mix(&fixture, t0() + hour * HOUR + Duration::from_secs(17 * 60));
    }
    fixture.ledger.flush().await.expect("flush");
    // Two hours later the first two hours are older than the raw retention (1 h).
    fixture
        .clock
        .set(t0() + 3 * HOUR + Duration::from_secs(10 * 60));
    let before: Vec<_> = [GroupBy::Function, GroupBy::Route, GroupBy::Trigger]
        .map(|by| fixture.summary(t0(), t0() + 4 * HOUR, by))
        .into();
    let stats = fixture.ledger.roll_up().await.expect("roll up");
    // Per hour: hello by its route, cart by its trigger, cart by the Invoke API.
    assert_eq!(
        stats,
        RollupStats {
            records_rolled_up: 10,
            buckets_written: 6,
            buckets_deleted: 0,
        }
    );
    let size = fixture.ledger.size().expect("size");
    assert_eq!((size.raw_records, size.buckets), (5, 6));
    for report in before {
        let after = fixture.summary(t0(), t0() + 4 * HOUR, report.by);
        assert_eq!(after.rows, report.rows, "{:?}", report.by);
        assert_eq!(after.total, report.total, "{:?}", report.by);
        assert_eq!(after.entries_scanned, 11);
    }
    // Nothing more is due; a second rollup adds to the same buckets.
    assert_eq!(
        fixture.ledger.roll_up().await.expect("roll up"),
        RollupStats::default()
    );
    record_a_mix(&fixture, t0() + Duration::from_secs(50 * 60));
    fixture.ledger.flush().await.expect("flush");
    let stats = fixture.ledger.roll_up().await.expect("roll up");
    assert_eq!((stats.records_rolled_up, stats.buckets_written), (5, 3));
    let size = fixture.ledger.size().expect("size");
    assert_eq!((size.raw_records, size.buckets), (5, 6));
    let first_hour = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    assert_eq!(first_hour.total.requests, 8);
}

#[tokio::test]
async fn the_raw_records_are_bounded() {
    let fixture = Fixture::new(|config| config.raw_records_max = 10);
    for second in 0..25 {
        fixture.ledger.record(usage(
            "hello",
            route("GET /hello"),
            t0() + Duration::from_secs(second),
            900,
        ));
    }
    fixture.ledger.flush().await.expect("flush");
    // The writer rolls up the oldest records by itself once the bound is passed.
    let mut waited = Duration::ZERO;
    while fixture.ledger.size().expect("size").raw_records > 10 {
        assert!(
            waited < Duration::from_secs(10),
            "the writer never rolled up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    let size = fixture.ledger.size().expect("size");
    assert_eq!((size.raw_records, size.buckets), (10, 1));
    let report = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    assert_eq!(
        (report.total.requests, report.total.billed_duration_ms),
        (25, 25)
    );
}

#[tokio::test]
async fn buckets_past_their_retention_are_deleted() {
    let fixture = Fixture::new(|config| {
        config.raw_retention = HOUR;
        config.bucket_retention = 48 * HOUR;
    });
    record_a_mix(&fixture, t0());
    record_a_mix(&fixture, t0() + 24 * HOUR);
    fixture.ledger.flush().await.expect("flush");
    fixture.clock.set(t0() + 49 * HOUR);
    let stats = fixture.ledger.roll_up().await.expect("roll up");
    assert_eq!(
        stats,
        RollupStats {
            records_rolled_up: 10,
            buckets_written: 6,
            buckets_deleted: 3,
        }
    );
    let size = fixture.ledger.size().expect("size");
    assert_eq!((size.raw_records, size.buckets), (0, 3));
    let all = fixture.summary(t0(), t0() + 49 * HOUR, GroupBy::Function);
    assert_eq!(all.total.requests, 4);
}

#[tokio::test]
async fn a_bucket_may_change_width_between_runs() {
    let fixture = Fixture::new(|config| config.raw_retention = Duration::ZERO);
    fixture.clock.set(t0() + Duration::from_secs(30 * 60));
    record_a_mix(&fixture, t0() + Duration::from_secs(10 * 60));
    fixture.ledger.flush().await.expect("flush");
    fixture.ledger.roll_up().await.expect("roll up");
    let clock = fixture.clock.clone();
    let mut minutes = config(&clock);
    minutes.raw_retention = Duration::ZERO;
    minutes.bucket = Duration::from_secs(60);
    let fixture = fixture.restart(minutes).await;
    record_a_mix(&fixture, t0() + Duration::from_secs(20 * 60));
    fixture.ledger.flush().await.expect("flush");
    fixture.ledger.roll_up().await.expect("roll up");
    let size = fixture.ledger.size().expect("size");
    // Three hourly buckets; then hello's three seconds fall in one minute.
    assert_eq!((size.raw_records, size.buckets), (0, 6));
    // A bucket counts by its start: the minute buckets at 20 min are inside this range, the
    // hourly ones (starting at t0()) are not.
    let later = fixture.summary(
        t0() + Duration::from_secs(15 * 60),
        t0() + HOUR,
        GroupBy::Function,
    );
    assert_eq!(later.total.requests, 4);
    let all = fixture.summary(t0(), t0() + HOUR, GroupBy::Function);
    assert_eq!(all.total.requests, 8);
}

#[tokio::test]
async fn a_full_queue_drops_records_and_counts_them() {
    let fixture = Fixture::new(|_| {});
    // This test's runtime has one thread: the writer cannot run until the test awaits, so the
    // queue fills up exactly.
    let extra = 5;
    for second in 0..(limits::QUEUE_RECORDS_MAX as u64 + extra) {
        fixture.ledger.record(usage(
            "hello",
            route("GET /hello"),
            t0() + Duration::from_millis(second),
            900,
        ));
    }
    assert_eq!(fixture.ledger.dropped_total(), extra);
    assert!(
        fixture
            .metrics
            .render()
            .contains("\nrondo_metering_dropped_total 5\n")
    );
    fixture.ledger.flush().await.expect("flush");
    let size = fixture.ledger.size().expect("size");
    assert_eq!(size.raw_records, limits::QUEUE_RECORDS_MAX as u64);
}

#[tokio::test]
async fn after_a_shutdown_records_are_dropped() {
    let fixture = Fixture::new(|_| {});
    fixture.ledger.shutdown().await.expect("shutdown");
    fixture
        .ledger
        .record(usage("hello", route("GET /hello"), t0(), 900));
    assert_eq!(fixture.ledger.dropped_total(), 1);
    assert!(matches!(
        fixture.ledger.flush().await,
        Err(LedgerError::Stopped)
    ));
    // A second shutdown has nothing to do.
    fixture.ledger.shutdown().await.expect("shutdown again");
}

#[tokio::test]
async fn progress_is_reported_while_summarizing() {
    let fixture = Fixture::new(|_| {});
    let n_records = limits::PROGRESS_INTERVAL_ENTRIES + 5;
    for millisecond in 0..n_records {
        fixture.ledger.record(usage(
            "hello",
            route("GET /hello"),
            t0() + Duration::from_millis(millisecond),
            900,
        ));
    }
    fixture.ledger.flush().await.expect("flush");
    let mut calls = Vec::new();
    let query = CostQuery {
        since: t0(),
        until: t0() + HOUR,
        by: GroupBy::Function,
    };
    let report = fixture
        .ledger
        .summarize(&query, &PriceTable::default(), &mut |scanned, total| {
            calls.push((scanned, total))
        })
        .expect("summary");
    assert_eq!(report.entries_scanned, n_records);
    assert_eq!(
        calls,
        [
            (limits::PROGRESS_INTERVAL_ENTRIES, n_records),
            (n_records, n_records)
        ]
    );
}

#[tokio::test]
async fn the_configuration_is_checked() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let clock = crate::support::ManualClock::at(t0());
    type Configure = fn(&mut LedgerConfig);
    let cases: [(&str, Configure); 4] = [
        ("raw_records_max", |config| config.raw_records_max = 0),
        ("bucket", |config| {
            config.bucket = Duration::from_millis(1500)
        }),
        ("raw_retention", |config| {
            config.raw_retention = config.bucket_retention + HOUR
        }),
        ("rollup_interval", |config| {
            config.rollup_interval = Duration::ZERO
        }),
    ];
    for (field, configure) in cases {
        let mut config = config(&clock);
        configure(&mut config);
        let error = Ledger::open(store.clone(), config, &Metrics::new()).expect_err("refused");
        assert!(
            matches!(&error, LedgerError::InvalidConfig { name, .. } if *name == field),
            "{error}"
        );
    }
}

const AREA: u8 = Area::Ledger.prefix();

/// Issue 13: a counter of the ledger that does not decode is an error naming its key, never 0.
#[tokio::test]
async fn issue_13_a_corrupt_sequence_number_fails_the_open() {
    let (_dir, store, fixture_config, metrics) = closed_with_records().await;
    put_garbage(&store, [AREA, b's']).await;
    let opened = Ledger::open(store, fixture_config, &metrics);
    check_corrupt(opened.map(|_| ()), r"\x06s");
}

#[tokio::test]
async fn issue_13_a_corrupt_record_count_fails_the_summary() {
    let (_dir, store, fixture_config, metrics) = closed_with_records().await;
    let ledger = Ledger::open(store.clone(), fixture_config, &metrics).expect("the ledger opens");
    put_garbage(&store, [AREA, b'n']).await;
    let query = CostQuery {
        since: t0(),
        until: t0() + HOUR,
        by: GroupBy::Function,
    };
    let summary = ledger.summarize(&query, &PriceTable::default(), &mut |_, _| {});
    check_corrupt(summary.map(|_| ()), r"\x06n");
}

/// A ledger's store with records in it, the ledger shut down; and what reopens it.
async fn closed_with_records() -> (tempfile::TempDir, Store, LedgerConfig, Metrics) {
    let fixture = Fixture::new(|_| {});
    record_a_mix(&fixture, t0());
    let Fixture {
        dir,
        clock,
        metrics,
        ledger,
    } = fixture;
    ledger.shutdown().await.expect("shutdown");
    drop(ledger);
    let store = Store::open(dir.path(), StoreOptions::default()).expect("the store opens");
    (dir, store, config(&clock), metrics)
}

async fn put_garbage(store: &Store, key: [u8; 2]) {
    store
        .write(move |txn| txn.put(&key, b"\xFF\x00\x07"))
        .await
        .expect("the write commits")
        .expect("the put succeeds");
}

fn check_corrupt(result: Result<(), LedgerError>, key: &str) {
    match result {
        Err(LedgerError::Corrupt { key: shown }) => assert_eq!(shown, key),
        other => panic!("expected the entry under {key} to be corrupt, got {other:?}"),
    }
}
