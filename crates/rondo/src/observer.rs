//! What `rondo dev` does with every finished (or throttled) invocation: prints its log, counts
//! it in the node's metrics and records it in the metering ledger.

use std::sync::Arc;

use app::{InvocationSource, Observer, SharedSnapshot};
use metering::{Ledger, Metrics, Source, UsageRecord};
use runtime::{InvokeError, Report};

use crate::printer::LogPrinter;

pub struct NodeObserver {
    printer: Arc<LogPrinter>,
    metrics: Arc<Metrics>,
    ledger: Ledger,
    /// The running app, for its billing granularity (it changes with the manifest).
    snapshot: SharedSnapshot,
}

impl NodeObserver {
    pub fn new(
        printer: Arc<LogPrinter>,
        metrics: Arc<Metrics>,
        ledger: Ledger,
        snapshot: SharedSnapshot,
    ) -> NodeObserver {
        NodeObserver {
            printer,
            metrics,
            ledger,
            snapshot,
        }
    }
}

impl Observer for NodeObserver {
    fn invocation_finished(
        &self,
        report: &Report,
        error: Option<&InvokeError>,
        source: InvocationSource<'_>,
    ) {
        self.printer.invocation(report, error);
        let granularity_ms = self.snapshot.load().billing.granularity_ms;
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
