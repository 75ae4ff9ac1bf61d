//! What the node does with every finished (or throttled) invocation: counts it in the node's
//! metrics, records it in the metering ledger, and hands it to the owner's log.

use std::sync::Arc;

use app::{InvocationSource, Observer, SharedSnapshot};
use metering::{Ledger, Metrics, Source, UsageRecord};
use runtime::{InvokeError, Report};

/// Told about every invocation the node ran or refused, with the app's billing granularity at
/// the time (`rondo dev` prints its log). Called on the request path: it must not block.
pub trait InvocationLog: Send + Sync + 'static {
    fn invocation(&self, report: &Report, error: Option<&InvokeError>, billing_granularity_ms: u32);
}

/// The node's [`Observer`].
pub(crate) struct NodeObserver {
    pub(crate) log: Option<Arc<dyn InvocationLog>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) ledger: Ledger,
    /// The running app, for its billing granularity (it changes with the manifest).
    pub(crate) snapshot: SharedSnapshot,
}

impl Observer for NodeObserver {
    fn invocation_finished(
        &self,
        report: &Report,
        error: Option<&InvokeError>,
        source: InvocationSource<'_>,
    ) {
        let granularity_ms = self.snapshot.load().billing.granularity_ms;
        if let Some(log) = &self.log {
            log.invocation(report, error, granularity_ms);
        }
        let source = match source {
            InvocationSource::Route(key) => Source::Route(key.to_owned()),
            InvocationSource::Trigger(name) => Source::Trigger(name.to_owned()),
            InvocationSource::Invoke => Source::Invoke,
            InvocationSource::Async => Source::Async,
        };
        let record = UsageRecord::from_report(report, error, source, granularity_ms);
        self.metrics.observe(&record);
        self.ledger.record(record);
    }
}
