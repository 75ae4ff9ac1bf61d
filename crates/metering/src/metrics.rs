//! Prometheus metrics of the app's functions and triggers, in memory, rendered in Prometheus's
//! text exposition format (version 0.0.4).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `rondo_invocations_total` | counter | `function`, `outcome` (every outcome but `throttled`) |
//! | `rondo_throttles_total` | counter | `function` |
//! | `rondo_cold_starts_total` | counter | `function` |
//! | `rondo_invocation_duration_seconds` | histogram | `function` |
//! | `rondo_billed_gb_seconds_total` | counter | `function` |
//! | `rondo_concurrent_invocations` | gauge | `function` |
//! | `rondo_trigger_iterator_age_seconds` | gauge | `trigger`, `shard` |
//! | `rondo_metering_dropped_total` | counter | |
//! | `rondo_tokio_alive_tasks` | gauge | |
//!
//! As Lambda's `Invocations` does, `rondo_invocations_total` leaves out throttled invocations,
//! which never ran; errors are its samples whose `outcome` is not `success`.
//!
//! `rondo_tokio_alive_tasks` is tokio's count of tasks alive on the runtime that renders the
//! metrics (the node's), read at each render; a soak run watches it for leaked tasks.
//!
//! A label set's metric is created on first use under a write lock; after that, updating it
//! takes a shared read lock and atomic operations, so the request path never waits on another
//! request.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::record::{Outcome, UsageRecord};

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the invocation duration histogram's buckets, in seconds: from Lambda's 1 ms
/// billing granularity to its 15-minute timeout.
pub const DURATION_BUCKETS_SECONDS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 900.0,
];

/// The app's metrics. Shared by reference (`Arc<Metrics>`); every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    invocations: Family<FunctionOutcome, Counter>,
    throttles: Family<FunctionLabel, Counter>,
    cold_starts: Family<FunctionLabel, Counter>,
    duration: Family<FunctionLabel, Histogram, fn() -> Histogram>,
    billed_gb_seconds: Family<FunctionLabel, Counter<f64, AtomicU64>>,
    concurrency: Family<FunctionLabel, Gauge>,
    iterator_age: Family<TriggerShard, Gauge<f64, AtomicU64>>,
    dropped: Counter,
    alive_tasks: Gauge,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FunctionLabel {
    function: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FunctionOutcome {
    function: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TriggerShard {
    trigger: String,
    shard: String,
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            invocations: Family::default(),
            throttles: Family::default(),
            cold_starts: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            billed_gb_seconds: Family::default(),
            concurrency: Family::default(),
            iterator_age: Family::default(),
            dropped: Counter::default(),
            alive_tasks: Gauge::default(),
        };
        metrics.register();
        metrics
    }

    /// Counts one finished (or throttled) invocation.
    pub fn observe(&self, record: &UsageRecord) {
        let function = FunctionLabel {
            function: record.function.clone(),
        };
        if record.outcome == Outcome::Throttled {
            self.throttles.get_or_create(&function).inc();
            return;
        }
        self.invocations
            .get_or_create(&FunctionOutcome {
                function: record.function.clone(),
                outcome: record.outcome.as_str(),
            })
            .inc();
        if record.cold {
            self.cold_starts.get_or_create(&function).inc();
        }
        self.duration
            .get_or_create(&function)
            .observe(Duration::from_micros(record.duration_us).as_secs_f64());
        self.billed_gb_seconds
            .get_or_create(&function)
            .inc_by(record.gb_seconds());
    }

    /// Sets how many invocations of `function` are running now.
    pub fn set_concurrency(&self, function: &str, n_invocations: u32) {
        let label = FunctionLabel {
            function: function.to_owned(),
        };
        self.concurrency
            .get_or_create(&label)
            .set(i64::from(n_invocations));
    }

    /// Replaces the iterator ages with `ages`: `(trigger, shard, age)` for every shard a trigger
    /// reads now (what `events::IteratorAges::snapshot` gives). Shards no longer read disappear.
    pub fn set_iterator_ages<'a>(
        &self,
        ages: impl IntoIterator<Item = (&'a str, &'a str, Duration)>,
    ) {
        self.iterator_age.clear();
        for (trigger, shard, age) in ages {
            let label = TriggerShard {
                trigger: trigger.to_owned(),
                shard: shard.to_owned(),
            };
            self.iterator_age
                .get_or_create(&label)
                .set(age.as_secs_f64());
        }
    }

    /// Every metric in Prometheus's text exposition format (version 0.0.4), to be served with
    /// [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        // Outside a runtime (a test, say) the gauge keeps its last value.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let alive_tasks_n = runtime.metrics().num_alive_tasks();
            self.alive_tasks
                .set(i64::try_from(alive_tasks_n).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("encoding metrics into a String cannot fail");
        text
    }

    /// A handle on the dropped-records counter: the ledger counts what it loses there.
    pub(crate) fn dropped_counter(&self) -> Counter {
        self.dropped.clone()
    }

    fn register(&mut self) {
        // The encoder adds `_total` to counters' names and a full stop to the help texts.
        let registry = &mut self.registry;
        registry.register(
            "rondo_invocations",
            "Invocations that ran, by function and outcome",
            self.invocations.clone(),
        );
        registry.register(
            "rondo_throttles",
            "Invocations refused for lack of concurrency",
            self.throttles.clone(),
        );
        registry.register(
            "rondo_cold_starts",
            "Invocations that were the first of a newly loaded function",
            self.cold_starts.clone(),
        );
        registry.register(
            "rondo_invocation_duration_seconds",
            "Run time of invocations",
            self.duration.clone(),
        );
        registry.register(
            "rondo_billed_gb_seconds",
            "Configured memory times billed duration, in GB-seconds",
            self.billed_gb_seconds.clone(),
        );
        registry.register(
            "rondo_concurrent_invocations",
            "Invocations running now",
            self.concurrency.clone(),
        );
        registry.register(
            "rondo_trigger_iterator_age_seconds",
            "Age of the last stream record a trigger's shard read when it took its batch",
            self.iterator_age.clone(),
        );
        registry.register(
            "rondo_metering_dropped",
            "Usage records the metering ledger lost because its queue was full or a commit failed",
            self.dropped.clone(),
        );
        registry.register(
            "rondo_tokio_alive_tasks",
            "Tasks alive on the node's tokio runtime when the metrics were rendered",
            self.alive_tasks.clone(),
        );
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS_SECONDS)
}

#[cfg(test)]
mod tests;
