//! The additive totals of a set of usage records: what a bucket keeps and a summary adds up.

use crate::record::{Outcome, UsageRecord};

/// Sums over usage records. Adding records one by one, or adding the sums of any partition of
/// them, gives the same sums: that is what lets raw records be rolled up without changing a
/// summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    /// Records per outcome, indexed by [`Outcome::index`].
    pub(crate) outcomes: [u64; Outcome::ALL.len()],
    pub(crate) init_us: u64,
    pub(crate) duration_us: u64,
    pub(crate) billed_ms: u64,
    /// Configured memory × billed duration (MB·ms): GB-seconds without rounding.
    pub(crate) mb_ms: u128,
    pub(crate) cold_starts: u64,
    /// The largest peak memory of any record (a maximum, which also composes).
    pub(crate) peak_memory_bytes_max: u64,
}

impl Sums {
    /// Adds one record. A throttled invocation did not run: only its outcome counts.
    pub(crate) fn add(&mut self, record: &UsageRecord) {
        let outcome = &mut self.outcomes[record.outcome.index()];
        *outcome = outcome.saturating_add(1);
        if record.outcome == Outcome::Throttled {
            return;
        }
        self.init_us = self.init_us.saturating_add(record.init_us);
        self.duration_us = self.duration_us.saturating_add(record.duration_us);
        self.billed_ms = self.billed_ms.saturating_add(record.billed_ms);
        self.mb_ms = self.mb_ms.saturating_add(u128::from(record.mb_ms()));
        self.cold_starts = self.cold_starts.saturating_add(u64::from(record.cold));
        self.peak_memory_bytes_max = self.peak_memory_bytes_max.max(record.peak_memory_bytes);
    }

    /// Adds the records `other` sums.
    pub(crate) fn merge(&mut self, other: &Sums) {
        for (mine, theirs) in self.outcomes.iter_mut().zip(other.outcomes) {
            *mine = mine.saturating_add(theirs);
        }
        self.init_us = self.init_us.saturating_add(other.init_us);
        self.duration_us = self.duration_us.saturating_add(other.duration_us);
        self.billed_ms = self.billed_ms.saturating_add(other.billed_ms);
        self.mb_ms = self.mb_ms.saturating_add(other.mb_ms);
        self.cold_starts = self.cold_starts.saturating_add(other.cold_starts);
        self.peak_memory_bytes_max = self.peak_memory_bytes_max.max(other.peak_memory_bytes_max);
    }

    /// How many records ended with `outcome`.
    pub(crate) fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome.index()]
    }

    /// Invocations that ran (every outcome but a throttle): Lambda's requests.
    pub(crate) fn requests(&self) -> u64 {
        Outcome::ALL
            .into_iter()
            .filter(|outcome| *outcome != Outcome::Throttled)
            .map(|outcome| self.count(outcome))
            .fold(0, u64::saturating_add)
    }

    /// Invocations that ran and failed.
    pub(crate) fn errors(&self) -> u64 {
        Outcome::ALL
            .into_iter()
            .filter(|outcome| outcome.is_error())
            .map(|outcome| self.count(outcome))
            .fold(0, u64::saturating_add)
    }
}
