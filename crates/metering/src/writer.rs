//! The ledger's writer task: gathers queued records into batches, commits each batch in one
//! store transaction, and rolls up aged records between batches.
//!
//! Invariant: this task is the only writer of the ledger's keys, so the counters it keeps in the
//! store (raw records, buckets, last sequence number) always match the entries.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use store::{ReadTxn, Store, WriteTxn};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::codec;
use crate::error::LedgerError;
use crate::ledger::{Clock, RollupStats};
use crate::limits::{FLUSH_INTERVAL_MS, FLUSH_RECORDS_MAX};
use crate::record::UsageRecord;
use crate::rollup::{self, Due};

/// What the ledger's handles ask of the writer.
pub(crate) enum Command {
    /// Store this record.
    Record(UsageRecord),
    /// Anything else; it ends the batch being gathered.
    Control(Control),
}

pub(crate) enum Control {
    /// Answer once everything queued before is committed.
    Flush(oneshot::Sender<Result<(), LedgerError>>),
    /// Roll up everything due, then answer.
    RollUp(oneshot::Sender<Result<RollupStats, LedgerError>>),
    /// Commit what is queued, answer, and stop.
    Shutdown(oneshot::Sender<Result<(), LedgerError>>),
}

/// The checked [`LedgerConfig`](crate::LedgerConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) raw_retention: Duration,
    pub(crate) raw_records_max: u64,
    pub(crate) bucket_us: u64,
    pub(crate) bucket_retention: Duration,
    pub(crate) rollup_interval: Duration,
}

pub(crate) struct Writer {
    store: Store,
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// The sequence number of the last record written.
    sequence: u64,
    dropped: Counter,
}

/// Why gathering a batch stopped.
enum BatchEnd {
    /// The batch is full or its first record has waited long enough.
    Ready,
    /// A control command arrived; it is handled after the batch is committed.
    Control(Control),
    /// Every handle is gone: commit and stop.
    Closed,
}

impl Writer {
    pub(crate) fn new(
        store: Store,
        settings: Settings,
        clock: Arc<dyn Clock>,
        sequence: u64,
        dropped: Counter,
    ) -> Writer {
        Writer {
            store,
            settings,
            clock,
            sequence,
            dropped,
        }
    }

    /// Commits `batch` in one transaction; returns whether the raw records now exceed their
    /// bound. A batch that cannot be committed is dropped and counted.
    async fn commit(&mut self, batch: Vec<UsageRecord>) -> Result<bool, LedgerError> {
        let n_records = batch.len() as u64;
        let entries: Vec<([u8; 18], Vec<u8>)> = batch
            .iter()
            .map(|record| {
                self.sequence += 1;
                let key = codec::raw_key(codec::time_us(record.time), self.sequence);
                (key, codec::encode_record(record))
            })
            .collect();
        let last_sequence = self.sequence;
        let result = self
            .store
            .write(move |txn| -> Result<u64, LedgerError> {
                for (key, value) in &entries {
                    txn.put(key, value)?;
                }
                txn.put(&codec::sequence_key(), &codec::encode_u64(last_sequence))?;
                add_to_counter(txn, &codec::raw_count_key(), n_records)
            })
            .await;
        match result.map_err(LedgerError::from).and_then(|inner| inner) {
            Ok(raw_records) => Ok(raw_records > self.settings.raw_records_max),
            Err(error) => {
                self.dropped.inc_by(n_records);
                tracing::error!(%error, n_records, "metering: usage records lost");
                Err(error)
            }
        }
    }

    /// One rollup transaction: returns what it did, nothing when nothing is due.
    async fn roll_up_step(&self) -> Result<RollupStats, LedgerError> {
        let due = Due::at(self.clock.now(), &self.settings);
        self.store.write(move |txn| rollup::step(txn, &due)).await?
    }

    /// Rolls up until nothing is due.
    async fn roll_up(&self) -> Result<RollupStats, LedgerError> {
        let mut total = RollupStats::default();
        loop {
            let step = self.roll_up_step().await?;
            if step == RollupStats::default() {
                return Ok(total);
            }
            total += step;
        }
    }
}

/// The writer task. It ends after a shutdown, or when every handle is gone.
pub(crate) async fn run(mut writer: Writer, mut commands: mpsc::Receiver<Command>) {
    // Roll up right away whatever aged while the ledger was closed.
    let mut rolling_up = true;
    let mut next_rollup = Instant::now();
    loop {
        let command = if rolling_up {
            // Between rollup steps, queued commands go first so that recording never waits
            // for a long rollup.
            match commands.try_recv() {
                Ok(command) => Some(command),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => {
                    rolling_up = step_logged(&writer).await;
                    if !rolling_up {
                        next_rollup = Instant::now() + writer.settings.rollup_interval;
                    }
                    continue;
                }
            }
        } else {
            tokio::select! {
                command = commands.recv() => command,
                () = tokio::time::sleep_until(next_rollup) => {
                    rolling_up = true;
                    continue;
                }
            }
        };
        let control = match command {
            None => return,
            Some(Command::Control(control)) => control,
            Some(Command::Record(first)) => {
                let (batch, end) = gather(first, &mut commands).await;
                let committed = writer.commit(batch).await;
                if matches!(committed, Ok(true)) {
                    rolling_up = true;
                }
                match end {
                    BatchEnd::Ready => continue,
                    BatchEnd::Closed => return,
                    BatchEnd::Control(control) => {
                        if answer(&writer, control, committed.map(drop)).await {
                            return;
                        }
                        continue;
                    }
                }
            }
        };
        if answer(&writer, control, Ok(())).await {
            return;
        }
    }
}

/// Reads a counter of the ledger (0 when absent).
pub(crate) fn read_counter(read: &ReadTxn, key: &[u8]) -> Result<u64, LedgerError> {
    decode_counter(key, read.get(key)?)
}

/// Adds `delta` to a counter of the ledger; returns its new value.
pub(crate) fn add_to_counter(
    txn: &mut WriteTxn<'_>,
    key: &[u8],
    delta: u64,
) -> Result<u64, LedgerError> {
    change_counter(txn, key, |value| value.saturating_add(delta))
}

/// Subtracts `delta` from a counter of the ledger; returns its new value.
pub(crate) fn subtract_from_counter(
    txn: &mut WriteTxn<'_>,
    key: &[u8],
    delta: u64,
) -> Result<u64, LedgerError> {
    change_counter(txn, key, |value| {
        debug_assert!(value >= delta, "a counter of the ledger went below zero");
        value.saturating_sub(delta)
    })
}

fn change_counter(
    txn: &mut WriteTxn<'_>,
    key: &[u8],
    change: impl FnOnce(u64) -> u64,
) -> Result<u64, LedgerError> {
    let value = change(decode_counter(key, txn.get(key)?)?);
    txn.put(key, &codec::encode_u64(value))?;
    Ok(value)
}

/// A counter of the ledger stored under `key` (0 when absent).
pub(crate) fn decode_counter(key: &[u8], value: Option<Vec<u8>>) -> Result<u64, LedgerError> {
    match value {
        None => Ok(0),
        Some(value) => codec::decode_u64(&value).ok_or_else(|| LedgerError::Corrupt {
            key: codec::show_key(key),
        }),
    }
}

/// Gathers records after `first` until the batch is full, `first` has waited
/// [`FLUSH_INTERVAL_MS`], or a control command arrives.
async fn gather(
    first: UsageRecord,
    commands: &mut mpsc::Receiver<Command>,
) -> (Vec<UsageRecord>, BatchEnd) {
    let deadline = Instant::now() + Duration::from_millis(FLUSH_INTERVAL_MS);
    let mut batch = vec![first];
    while batch.len() < FLUSH_RECORDS_MAX {
        match tokio::time::timeout_at(deadline, commands.recv()).await {
            Err(_elapsed) => break,
            Ok(None) => return (batch, BatchEnd::Closed),
            Ok(Some(Command::Record(record))) => batch.push(record),
            Ok(Some(Command::Control(control))) => return (batch, BatchEnd::Control(control)),
        }
    }
    (batch, BatchEnd::Ready)
}

/// Carries out `control`, after a batch whose commit ended with `committed`; returns whether
/// the writer stops.
async fn answer(writer: &Writer, control: Control, committed: Result<(), LedgerError>) -> bool {
    // A handle that stopped waiting for its answer does not need it.
    match control {
        Control::Flush(reply) => {
            let _ = reply.send(committed);
            false
        }
        Control::RollUp(reply) => {
            let _ = reply.send(writer.roll_up().await);
            false
        }
        Control::Shutdown(reply) => {
            let _ = reply.send(committed);
            true
        }
    }
}

/// One rollup step; returns whether there may be more to do. A failure is logged and ends this
/// round: the next round retries.
async fn step_logged(writer: &Writer) -> bool {
    match writer.roll_up_step().await {
        Ok(step) => step != RollupStats::default(),
        Err(error) => {
            tracing::error!(%error, "metering: rollup failed");
            false
        }
    }
}
