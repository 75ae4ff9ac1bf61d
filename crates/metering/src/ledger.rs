//! The durable ledger of usage records: recorded without waiting, committed in batches, rolled
//! up into buckets as it ages, summarized into cost reports.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::codec;
use crate::error::LedgerError;
use crate::limits::{BUCKET_MAX, BUCKET_MIN, QUEUE_RECORDS_MAX, RAW_RECORDS_MAX};
use crate::metrics::Metrics;
use crate::record::UsageRecord;
use crate::summary::{self, CostQuery, CostReport, PriceTable};
use crate::writer::{self, Command, Control, Settings, Writer};

/// The ledger of one store. Cheap to clone; all clones share one writer task.
///
/// At most one ledger may be open on a store at a time: its writer task is the only writer of
/// the ledger's keys.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
}

/// How a ledger keeps its records. [`limits`](crate::limits) has a default for each field.
pub struct LedgerConfig {
    /// Raw records older than this are rolled up into buckets
    /// ([`RAW_RETENTION_DEFAULT`](crate::limits::RAW_RETENTION_DEFAULT)). At most
    /// `bucket_retention`.
    pub raw_retention: Duration,
    /// When there are more raw records than this, the oldest are rolled up whatever their age
    /// ([`RAW_RECORDS_DEFAULT`](crate::limits::RAW_RECORDS_DEFAULT)); 1..=
    /// [`RAW_RECORDS_MAX`](crate::limits::RAW_RECORDS_MAX).
    pub raw_records_max: u64,
    /// The span of time one bucket sums, in whole seconds, from
    /// [`BUCKET_MIN`](crate::limits::BUCKET_MIN) to [`BUCKET_MAX`](crate::limits::BUCKET_MAX)
    /// ([`BUCKET_DEFAULT`](crate::limits::BUCKET_DEFAULT), an hour). Buckets start at multiples
    /// of it since the Unix epoch. It may change between runs: each bucket keeps its start.
    pub bucket: Duration,
    /// Buckets that started longer ago than this are deleted
    /// ([`BUCKET_RETENTION_DEFAULT`](crate::limits::BUCKET_RETENTION_DEFAULT)).
    pub bucket_retention: Duration,
    /// How often the writer looks for records and buckets to roll up or delete, besides after
    /// a write that takes the raw records over `raw_records_max`
    /// ([`ROLLUP_INTERVAL_DEFAULT`](crate::limits::ROLLUP_INTERVAL_DEFAULT)). Not zero.
    pub rollup_interval: Duration,
    /// The current time, for deciding what is old.
    pub clock: Arc<dyn Clock>,
}

/// The current time. Injected so that tests can age a ledger without waiting.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

/// What one rollup did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupStats {
    /// Raw records folded into buckets (and deleted).
    pub records_rolled_up: u64,
    /// Buckets created or added to.
    pub buckets_written: u64,
    /// Buckets deleted for being older than the bucket retention.
    pub buckets_deleted: u64,
}

/// How much the ledger holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSize {
    /// Raw records.
    pub raw_records: u64,
    /// Buckets.
    pub buckets: u64,
}

struct Shared {
    store: Store,
    clock: Arc<dyn Clock>,
    commands: mpsc::Sender<Command>,
    dropped: Counter,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Ledger {
    /// Opens the ledger in `store` and starts its writer task, which reports the records it
    /// loses to `metrics`. Must be called inside a tokio runtime.
    ///
    /// The writer rolls up whatever has aged while rondo was stopped soon after it starts.
    pub fn open(
        store: Store,
        config: LedgerConfig,
        metrics: &Metrics,
    ) -> Result<Ledger, LedgerError> {
        let settings = check_config(&config)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LedgerError::NoRuntime)?;
        let sequence = {
            let read = store.read()?;
            writer::read_counter(&read, &codec::sequence_key())?
        };
        let dropped = metrics.dropped_counter();
        let writer = Writer::new(
            store.clone(),
            settings,
            Arc::clone(&config.clock),
            sequence,
            dropped.clone(),
        );
        let (commands, receiver) = mpsc::channel(QUEUE_RECORDS_MAX);
        // Owner: the ledger (`Shared::task`): `close` stops it and waits for it; the last clone
        // dropped closes its queue, which ends it.
        let task = runtime.spawn(writer::run(writer, receiver));
        Ok(Ledger {
            shared: Arc::new(Shared {
                store,
                clock: config.clock,
                commands,
                dropped,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// Queues `record` for the ledger without waiting. Called on the request path.
    ///
    /// When the queue is full (the store cannot keep up) or the ledger has shut down, the record
    /// is dropped and counted in `rondo_metering_dropped_total`: metering never slows or fails
    /// an invocation.
    pub fn record(&self, record: UsageRecord) {
        if self
            .shared
            .commands
            .try_send(Command::Record(record))
            .is_err()
        {
            self.shared.dropped.inc();
        }
    }

    /// Waits until every record queued before this call is durable (or dropped, if its commit
    /// failed: then the commit's error is returned).
    pub async fn flush(&self) -> Result<(), LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.control(Control::Flush(reply)).await?;
        answer.await.map_err(|_| LedgerError::Stopped)?
    }

    /// Rolls up now every raw record that is due (older than the raw retention, or beyond the
    /// most raw records), and deletes the buckets past their retention. The writer also does
    /// this by itself.
    pub async fn roll_up(&self) -> Result<RollupStats, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.control(Control::RollUp(reply)).await?;
        answer.await.map_err(|_| LedgerError::Stopped)?
    }

    /// Commits the records queued so far and stops the writer task; later records are dropped.
    /// Call it before closing the store.
    pub async fn shutdown(&self) -> Result<(), LedgerError> {
        let (reply, answer) = oneshot::channel();
        let result = match self.control(Control::Shutdown(reply)).await {
            Ok(()) => answer.await.map_err(|_| LedgerError::Stopped)?,
            // Already shut down: there is nothing left to commit.
            Err(LedgerError::Stopped) => Ok(()),
            Err(other) => Err(other),
        };
        let task = self
            .shared
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            // The task ends right after answering; a panic in it has already been reported.
            let _ = task.await;
        }
        result
    }

    /// How many records were dropped since the ledger opened: queue full, ledger shut down, or
    /// a failed commit.
    pub fn dropped_total(&self) -> u64 {
        self.shared.dropped.get()
    }

    /// How much the ledger holds now.
    pub fn size(&self) -> Result<LedgerSize, LedgerError> {
        let read = self.shared.store.read()?;
        Ok(LedgerSize {
            raw_records: writer::read_counter(&read, &codec::raw_count_key())?,
            buckets: writer::read_counter(&read, &codec::bucket_count_key())?,
        })
    }

    /// Sums the usage in `query`'s range, grouped as it asks, and prices it. Reads one
    /// consistent snapshot of the store; records still queued are not in it (call
    /// [`Ledger::flush`] first).
    ///
    /// Raw records count when their time is in `[since, until)`, buckets when their start is:
    /// a range whose ends are not bucket boundaries is exact only over raw records.
    ///
    /// `progress(scanned, total)` is called every
    /// [`PROGRESS_INTERVAL_ENTRIES`](crate::limits::PROGRESS_INTERVAL_ENTRIES) entries, where
    /// `total` is the number of entries in the whole ledger (an upper bound), and once at the
    /// end with `scanned == total`. This runs on the calling thread and can take a while over a
    /// large ledger: async callers should run it with `spawn_blocking`.
    pub fn summarize(
        &self,
        query: &CostQuery,
        prices: &PriceTable,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<CostReport, LedgerError> {
        let read = self.shared.store.read()?;
        summary::summarize(&read, query, prices, progress)
    }

    /// The current time on the ledger's clock.
    pub(crate) fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    async fn control(&self, control: Control) -> Result<(), LedgerError> {
        self.shared
            .commands
            .send(Command::Control(control))
            .await
            .map_err(|_| LedgerError::Stopped)
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("store", &self.shared.store)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LedgerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerConfig")
            .field("raw_retention", &self.raw_retention)
            .field("raw_records_max", &self.raw_records_max)
            .field("bucket", &self.bucket)
            .field("bucket_retention", &self.bucket_retention)
            .field("rollup_interval", &self.rollup_interval)
            .finish_non_exhaustive()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl std::ops::AddAssign for RollupStats {
    fn add_assign(&mut self, other: RollupStats) {
        self.records_rolled_up += other.records_rolled_up;
        self.buckets_written += other.buckets_written;
        self.buckets_deleted += other.buckets_deleted;
    }
}

fn check_config(config: &LedgerConfig) -> Result<Settings, LedgerError> {
    let invalid = |name, value: &dyn fmt::Debug, allowed: String| LedgerError::InvalidConfig {
        name,
        value: format!("{value:?}"),
        allowed,
    };
    if !(1..=RAW_RECORDS_MAX).contains(&config.raw_records_max) {
        return Err(invalid(
            "raw_records_max",
            &config.raw_records_max,
            format!("1..={RAW_RECORDS_MAX}"),
        ));
    }
    let whole_seconds = config.bucket.subsec_nanos() == 0;
    if !whole_seconds || !(BUCKET_MIN..=BUCKET_MAX).contains(&config.bucket) {
        return Err(invalid(
            "bucket",
            &config.bucket,
            format!("whole seconds, {BUCKET_MIN:?}..={BUCKET_MAX:?}"),
        ));
    }
    if config.raw_retention > config.bucket_retention {
        return Err(invalid(
            "raw_retention",
            &config.raw_retention,
            format!("0..=bucket_retention ({:?})", config.bucket_retention),
        ));
    }
    if config.rollup_interval.is_zero() {
        return Err(invalid(
            "rollup_interval",
            &config.rollup_interval,
            "more than zero".to_owned(),
        ));
    }
    Ok(Settings {
        raw_retention: config.raw_retention,
        raw_records_max: config.raw_records_max,
        bucket_us: config.bucket.as_secs() * 1_000_000,
        bucket_retention: config.bucket_retention,
        rollup_interval: config.rollup_interval,
    })
}
