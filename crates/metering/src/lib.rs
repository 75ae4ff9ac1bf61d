//! Metering: what every invocation used, kept durably, priced, and exported as metrics.
//!
//! - [`UsageRecord`]: one invocation's durations, billed duration, memory, outcome and source,
//!   made from the runtime's [`Report`](runtime::Report) by [`UsageRecord::from_report`].
//! - [`Ledger`]: the durable ledger in the store. [`Ledger::record`] never waits (a bounded
//!   queue to a writer task that group-commits batches); raw records older than the raw
//!   retention, or beyond the most raw records, are rolled up into per-(bucket, function,
//!   source) sums; buckets past their retention are deleted. [`Ledger::summarize`] gives a
//!   [`CostReport`] priced at a [`PriceTable`], the same before and after a rollup.
//! - [`Metrics`]: Prometheus counters, histograms and gauges per function and trigger.
//! - [`admin`]: the admin API's `GET /rondo/v1/cost` and `GET /metrics`; [`backup`]: its
//!   `GET /rondo/v1/backup`, the whole store streamed from one snapshot.
//!
//! The ledger lives in the area `store::keyspace::Area::Ledger` of the store's keyspace;
//! `codec.rs` has its layout, and `docs/design/008-metering.md` the design.

pub mod admin;
pub mod backup;
pub mod limits;

mod codec;
mod error;
mod ledger;
mod metrics;
mod record;
mod rollup;
mod summary;
mod sums;
mod writer;

pub use crate::error::{LedgerError, QueryError};
pub use crate::ledger::{Clock, Ledger, LedgerConfig, LedgerSize, RollupStats, SystemClock};
pub use crate::metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, DURATION_BUCKETS_SECONDS, Metrics};
pub use crate::record::{Outcome, Source, UsageRecord};
pub use crate::summary::{CostQuery, CostReport, CostRow, GroupBy, OutcomeCounts, PriceTable};
