//! Cost reports: the ledger's records over a range of time, summed per group and priced.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Bound;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use store::ReadTxn;

use crate::codec;
use crate::error::{LedgerError, QueryError};
use crate::limits::PROGRESS_INTERVAL_ENTRIES;
use crate::record::{Outcome, Source, mb_ms_to_gb_seconds};
use crate::sums::Sums;
use crate::writer::read_counter;

/// Which usage a cost report covers, and how it groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostQuery {
    /// The first moment covered.
    pub since: SystemTime,
    /// The moment after the last one covered.
    pub until: SystemTime,
    /// The report's rows.
    pub by: GroupBy,
}

/// How a cost report groups usage into rows. Every invocation lands in exactly one row, so the
/// rows always add up to the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// A row per function.
    Function,
    /// A row per route; the other invocations in a row per kind of source (`(triggers)`,
    /// `(invoke)`, `(invoke event)`).
    Route,
    /// A row per trigger; the other invocations in a row per kind of source (`(routes)`,
    /// `(invoke)`, `(invoke event)`).
    Trigger,
}

/// Prices, in millionths of a millionth of a dollar (picodollars), so that Lambda's list prices
/// are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Price of one GB-second of billed duration.
    pub gb_second_pico_usd: u64,
    /// Price of one request.
    pub request_pico_usd: u64,
}

/// Usage and cost over a range of time: the admin API's answer (JSON) and `rondo cost`'s table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The first moment covered, RFC 3339 (UTC, to the second).
    pub since: String,
    /// The moment after the last one covered, RFC 3339 (UTC, to the second).
    pub until: String,
    /// How the rows group usage.
    pub by: GroupBy,
    /// The prices applied.
    pub prices: PriceTable,
    /// A row per group, by name.
    pub rows: Vec<CostRow>,
    /// The whole app: the sum of the rows.
    pub total: CostRow,
    /// Store entries (raw records and buckets) read.
    pub entries_scanned: u64,
}

/// The usage and cost of one group of invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    /// The function, route key or trigger; `total` for the whole app.
    pub name: String,
    /// Invocations that ran (billed as requests): every outcome but a throttle.
    pub requests: u64,
    /// Invocations that ran and failed.
    pub errors: u64,
    /// Invocations refused for lack of concurrency (not billed).
    pub throttles: u64,
    /// Invocations that were the first of a newly loaded function.
    pub cold_starts: u64,
    /// Invocations by outcome.
    pub outcomes: OutcomeCounts,
    /// The invocations' run time added up, in milliseconds.
    pub duration_ms: f64,
    /// Code loading before cold starts added up, in milliseconds (not billed).
    pub init_duration_ms: f64,
    /// Billed durations added up.
    pub billed_duration_ms: u64,
    /// Configured memory × billed duration, in GB-seconds.
    pub gb_seconds: f64,
    /// The most memory any invocation used, in MiB (rounded up).
    pub peak_memory_mb: u64,
    /// Requests × the price per request, in dollars.
    pub request_cost_usd: f64,
    /// GB-seconds × the price per GB-second, in dollars.
    pub compute_cost_usd: f64,
    /// The two costs added up, in dollars.
    pub total_cost_usd: f64,
}

/// Invocations by [`Outcome`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// [`Outcome::Success`].
    pub success: u64,
    /// [`Outcome::Error`].
    pub error: u64,
    /// [`Outcome::Crash`].
    pub crash: u64,
    /// [`Outcome::Timeout`].
    pub timeout: u64,
    /// [`Outcome::OutOfMemory`].
    pub out_of_memory: u64,
    /// [`Outcome::Throttled`].
    pub throttled: u64,
}

impl GroupBy {
    /// The grouping's name in the admin API (`function`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Function => "function",
            GroupBy::Route => "route",
            GroupBy::Trigger => "trigger",
        }
    }

    /// The name of the row `function`'s invocations from `source` land in.
    fn row_name(self, function: &str, source: &Source) -> String {
        match (self, source) {
            (GroupBy::Function, _) => function.to_owned(),
            (GroupBy::Route, Source::Route(route)) => route.clone(),
            (GroupBy::Trigger, Source::Trigger(trigger)) => trigger.clone(),
            (_, Source::Route(_)) => "(routes)".to_owned(),
            (_, Source::Trigger(_)) => "(triggers)".to_owned(),
            (_, Source::Invoke) => "(invoke)".to_owned(),
            (_, Source::Async) => "(invoke event)".to_owned(),
        }
    }
}

impl FromStr for GroupBy {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<GroupBy, QueryError> {
        match text {
            "function" => Ok(GroupBy::Function),
            "route" => Ok(GroupBy::Route),
            "trigger" => Ok(GroupBy::Trigger),
            _ => Err(QueryError::InvalidGroupBy {
                value: text.to_owned(),
            }),
        }
    }
}

impl PriceTable {
    /// Lambda's list prices in us-east-1 for x86: $0.0000166667 per GB-second, $0.20 per
    /// million requests.
    pub const LAMBDA_X86_US_EAST_1: PriceTable = PriceTable {
        gb_second_pico_usd: 16_666_700,
        request_pico_usd: 200_000,
    };

    /// Prices given in billionths of a dollar, as the manifest's `[billing]` keeps them.
    pub fn from_nano_usd(gb_second_nano_usd: u64, request_nano_usd: u64) -> PriceTable {
        PriceTable {
            gb_second_pico_usd: gb_second_nano_usd.saturating_mul(1000),
            request_pico_usd: request_nano_usd.saturating_mul(1000),
        }
    }
}

impl Default for PriceTable {
    /// [`PriceTable::LAMBDA_X86_US_EAST_1`].
    fn default() -> PriceTable {
        PriceTable::LAMBDA_X86_US_EAST_1
    }
}

impl CostReport {
    /// The report as the text table `rondo cost` prints.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Usage from {} to {}, by {}",
            self.since,
            self.until,
            self.by.as_str()
        );
        let _ = writeln!(
            out,
            "Prices: ${} per GB-second, ${} per million requests",
            format_pico_usd(u128::from(self.prices.gb_second_pico_usd)),
            format_pico_usd(u128::from(self.prices.request_pico_usd) * 1_000_000),
        );
        out.push('\n');
        let header = [
            self.by.as_str().to_uppercase(),
            "REQUESTS".to_owned(),
            "ERRORS".to_owned(),
            "THROTTLES".to_owned(),
            "COLD".to_owned(),
            "DURATION ms".to_owned(),
            "BILLED ms".to_owned(),
            "GB-s".to_owned(),
            "COST $".to_owned(),
        ];
        let mut lines = vec![header];
        lines.extend(self.rows.iter().map(table_line));
        lines.push(table_line(&self.total));
        write_columns(&mut out, &lines);
        out
    }
}

/// Sums the ledger's usage in `query`'s range from one snapshot and prices it.
pub(crate) fn summarize(
    read: &ReadTxn,
    query: &CostQuery,
    prices: &PriceTable,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CostReport, LedgerError> {
    let since_us = codec::time_us(query.since);
    let until_us = codec::time_us(query.until);
    let total_entries = read_counter(read, &codec::raw_count_key())?
        .saturating_add(read_counter(read, &codec::bucket_count_key())?);
    let mut scanned = 0;
    let mut tick = || {
        scanned += 1;
        if scanned % PROGRESS_INTERVAL_ENTRIES == 0 {
            progress(scanned, total_entries.max(scanned));
        }
    };
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    let (start, end) = (codec::bucket_bound(since_us), codec::bucket_bound(until_us));
    for entry in read.range(Bound::Included(&start), Bound::Excluded(&end), false)? {
        let (key, value) = entry?;
        let corrupt = || LedgerError::Corrupt {
            key: codec::show_key(&key),
        };
        let bucket = codec::decode_bucket_key(&key).ok_or_else(corrupt)?;
        let sums = codec::decode_sums(&value).ok_or_else(corrupt)?;
        let name = query.by.row_name(&bucket.function, &bucket.source);
        groups.entry(name).or_default().merge(&sums);
        tick();
    }
    let (start, end) = (codec::raw_bound(since_us), codec::raw_bound(until_us));
    for entry in read.range(Bound::Included(&start), Bound::Excluded(&end), false)? {
        let (key, value) = entry?;
        let record = codec::decode_record(&key, &value).ok_or_else(|| LedgerError::Corrupt {
            key: codec::show_key(&key),
        })?;
        let name = query.by.row_name(&record.function, &record.source);
        groups.entry(name).or_default().add(&record);
        tick();
    }
    progress(scanned, scanned);
    let mut total = Sums::default();
    for sums in groups.values() {
        total.merge(sums);
    }
    Ok(CostReport {
        since: format_rfc3339(query.since),
        until: format_rfc3339(query.until),
        by: query.by,
        prices: *prices,
        rows: groups
            .iter()
            .map(|(name, sums)| cost_row(name, sums, prices))
            .collect(),
        total: cost_row("total", &total, prices),
        entries_scanned: scanned,
    })
}

/// `time` as RFC 3339 in UTC, to the second: `2026-11-27T09:43:23Z`.
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from(time)
        .format(&format)
        .unwrap_or_else(|_| format!("{time:?}"))
}

fn cost_row(name: &str, sums: &Sums, prices: &PriceTable) -> CostRow {
    let requests = sums.requests();
    let request_pico_usd = u128::from(requests).saturating_mul(u128::from(prices.request_pico_usd));
    // MB·ms → GB·s is a division by 1024 × 1000; dividing last keeps the price exact.
    let compute_pico_usd = sums
        .mb_ms
        .saturating_mul(u128::from(prices.gb_second_pico_usd))
        / (1024 * 1000);
    CostRow {
        name: name.to_owned(),
        requests,
        errors: sums.errors(),
        throttles: sums.count(Outcome::Throttled),
        cold_starts: sums.cold_starts,
        outcomes: OutcomeCounts {
            success: sums.count(Outcome::Success),
            error: sums.count(Outcome::Error),
            crash: sums.count(Outcome::Crash),
            timeout: sums.count(Outcome::Timeout),
            out_of_memory: sums.count(Outcome::OutOfMemory),
            throttled: sums.count(Outcome::Throttled),
        },
        duration_ms: sums.duration_us as f64 / 1000.0,
        init_duration_ms: sums.init_us as f64 / 1000.0,
        billed_duration_ms: sums.billed_ms,
        gb_seconds: mb_ms_to_gb_seconds(sums.mb_ms),
        peak_memory_mb: sums.peak_memory_bytes_max.div_ceil(1024 * 1024),
        request_cost_usd: pico_to_usd(request_pico_usd),
        compute_cost_usd: pico_to_usd(compute_pico_usd),
        total_cost_usd: pico_to_usd(request_pico_usd.saturating_add(compute_pico_usd)),
    }
}

fn pico_to_usd(pico_usd: u128) -> f64 {
    pico_usd as f64 / 1e12
}

/// Picodollars as dollars, without trailing zeros but with at least two decimals: `0.0000166667`.
fn format_pico_usd(pico_usd: u128) -> String {
    let dollars = pico_usd / 1_000_000_000_000;
    let fraction = format!("{:012}", pico_usd % 1_000_000_000_000);
    let fraction = fraction.trim_end_matches('0');
    format!("{dollars}.{fraction:0<2}")
}

fn table_line(row: &CostRow) -> [String; 9] {
    [
        row.name.clone(),
        row.requests.to_string(),
        row.errors.to_string(),
        row.throttles.to_string(),
        row.cold_starts.to_string(),
        format!("{:.2}", row.duration_ms),
        row.billed_duration_ms.to_string(),
        format!("{:.6}", row.gb_seconds),
        format!("{:.8}", row.total_cost_usd),
    ]
}

/// Writes `lines` as columns: the first left-aligned, the others right-aligned.
fn write_columns(out: &mut String, lines: &[[String; 9]]) {
    let mut widths = [0; 9];
    for line in lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for line in lines {
        let mut text = String::new();
        for (column, (cell, width)) in line.iter().zip(widths).enumerate() {
            if column == 0 {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "  {cell:>width$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests;
