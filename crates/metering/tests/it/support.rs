//! A ledger on a temporary store, a clock the tests move, and usage records to put in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use metering::{
    Clock, CostQuery, CostReport, GroupBy, Ledger, LedgerConfig, Metrics, Outcome, PriceTable,
    Source, UsageRecord, limits,
};
use store::{Store, StoreOptions};
use tempfile::TempDir;

/// 2027-01-15T08:00:00Z: the start of an hour, so of an hourly bucket.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub const HOUR: Duration = Duration::from_secs(60 * 60);

/// A clock that stands still until a test moves it.
pub struct ManualClock {
    since_epoch_us: AtomicU64,
}

impl ManualClock {
    pub fn at(time: SystemTime) -> Arc<ManualClock> {
        let clock = ManualClock {
            since_epoch_us: AtomicU64::new(0),
        };
        clock.set(time);
        Arc::new(clock)
    }

    pub fn set(&self, time: SystemTime) {
        let since_epoch = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970");
        let micros = u64::try_from(since_epoch.as_micros()).expect("fits");
        self.since_epoch_us.store(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_micros(self.since_epoch_us.load(Ordering::SeqCst))
    }
}

/// A ledger on its own store, and what it is made of.
pub struct Fixture {
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub metrics: Metrics,
    pub ledger: Ledger,
}

/// The defaults, with the clock at `clock` and no timed rollup during a test.
pub fn config(clock: &Arc<ManualClock>) -> LedgerConfig {
    LedgerConfig {
        raw_retention: limits::RAW_RETENTION_DEFAULT,
        raw_records_max: limits::RAW_RECORDS_DEFAULT,
        bucket: limits::BUCKET_DEFAULT,
        bucket_retention: limits::BUCKET_RETENTION_DEFAULT,
        rollup_interval: Duration::from_secs(24 * 60 * 60),
        clock: Arc::clone(clock) as Arc<dyn Clock>,
    }
}

impl Fixture {
    /// A fresh ledger, its clock at `t0() + 5 min`, with `configure` applied to the defaults.
    pub fn new(configure: impl FnOnce(&mut LedgerConfig)) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let clock = ManualClock::at(t0() + Duration::from_secs(5 * 60));
        let mut config = config(&clock);
        configure(&mut config);
        let metrics = Metrics::new();
        let ledger = open(&dir, config, &metrics);
        Fixture {
            dir,
            clock,
            metrics,
            ledger,
        }
    }

    /// Shuts the ledger down, closes the store, and opens both again with `config`.
    pub async fn restart(self, config: LedgerConfig) -> Fixture {
        let Fixture {
            dir,
            clock,
            metrics,
            ledger,
        } = self;
        ledger.shutdown().await.expect("shutdown");
        drop(ledger);
        let ledger = open(&dir, config, &metrics);
        Fixture {
            dir,
            clock,
            metrics,
            ledger,
        }
    }

    /// Everything between `since` and `until`, grouped `by`, at the default prices.
    pub fn summary(&self, since: SystemTime, until: SystemTime, by: GroupBy) -> CostReport {
        let query = CostQuery { since, until, by };
        self.ledger
            .summarize(&query, &PriceTable::default(), &mut |_, _| {})
            .expect("summary")
    }
}

/// Opens the store in `dir` and a ledger on it. The ledger holds the store: dropping the ledger
/// (after its shutdown) closes it.
pub fn open(dir: &TempDir, config: LedgerConfig, metrics: &Metrics) -> Ledger {
    let store = Store::open(dir.path(), StoreOptions::default()).expect("open the store");
    Ledger::open(store, config, metrics).expect("open the ledger")
}

/// A successful warm invocation of `function` at `time`, 128 MB, `duration_us` long, billed at
/// 1 ms.
pub fn usage(function: &str, source: Source, time: SystemTime, duration_us: u64) -> UsageRecord {
    UsageRecord {
        time,
        function: function.to_owned(),
        source,
        init_us: 0,
        duration_us,
        billed_ms: duration_us.div_ceil(1000).max(1),
        memory_mb: 128,
        peak_memory_bytes: 20 * 1024 * 1024,
        outcome: Outcome::Success,
        cold: false,
    }
}

pub fn route(key: &str) -> Source {
    Source::Route(key.to_owned())
}

pub fn trigger(text: &str) -> Source {
    Source::Trigger(text.to_owned())
}
