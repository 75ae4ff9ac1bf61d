//! Rolling up: folding aged raw records into buckets, and deleting buckets past their
//! retention, a bounded batch per store transaction.
//!
//! Each step moves records from raw entries to bucket sums in one transaction, so a summary (one
//! snapshot) sees every record exactly once, before or after the step.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::SystemTime;

use store::WriteTxn;

use crate::codec::{self, BucketKey};
use crate::error::LedgerError;
use crate::ledger::RollupStats;
use crate::limits::ROLLUP_BATCH_ENTRIES_MAX;
use crate::sums::Sums;
use crate::writer::{Settings, add_to_counter, decode_counter, subtract_from_counter};

/// What is due at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Due {
    /// Raw records before this time are due.
    raw_before_us: u64,
    /// Raw records beyond this many are due, oldest first.
    raw_records_max: u64,
    /// Buckets starting before this time are deleted.
    buckets_before_us: u64,
    bucket_us: u64,
}

impl Due {
    pub(crate) fn at(now: SystemTime, settings: &Settings) -> Due {
        let before = |age| now.checked_sub(age).map_or(0, codec::time_us);
        Due {
            raw_before_us: before(settings.raw_retention),
            raw_records_max: settings.raw_records_max,
            buckets_before_us: before(settings.bucket_retention),
            bucket_us: settings.bucket_us,
        }
    }
}

/// One step: rolls up a batch of due raw records, or, when none is due, deletes a batch of
/// expired buckets. Returns what it did (nothing: there is nothing to do).
pub(crate) fn step(txn: &mut WriteTxn<'_>, due: &Due) -> Result<RollupStats, LedgerError> {
    let (keys, buckets) = due_records(txn, due)?;
    if keys.is_empty() {
        return delete_expired_buckets(txn, due);
    }
    for key in &keys {
        txn.delete(key)?;
    }
    let mut new_buckets = 0;
    for (bucket, sums) in &buckets {
        let key = codec::bucket_key(bucket);
        let mut stored = match txn.get(&key)? {
            None => {
                new_buckets += 1;
                Sums::default()
            }
            Some(value) => codec::decode_sums(&value).ok_or_else(|| LedgerError::Corrupt {
                key: codec::show_key(&key),
            })?,
        };
        stored.merge(sums);
        txn.put(&key, &codec::encode_sums(&stored))?;
    }
    subtract_from_counter(txn, &codec::raw_count_key(), keys.len() as u64)?;
    add_to_counter(txn, &codec::bucket_count_key(), new_buckets)?;
    Ok(RollupStats {
        records_rolled_up: keys.len() as u64,
        buckets_written: buckets.len() as u64,
        buckets_deleted: 0,
    })
}

/// The keys of a batch of raw records, and their sums by bucket.
type Batch = (Vec<Vec<u8>>, BTreeMap<BucketKey, Sums>);

/// The oldest raw records that are due (at most a batch), and their sums by bucket.
fn due_records(txn: &WriteTxn<'_>, due: &Due) -> Result<Batch, LedgerError> {
    let count_key = codec::raw_count_key();
    let raw_records = decode_counter(&count_key, txn.get(&count_key)?)?;
    let excess = raw_records.saturating_sub(due.raw_records_max);
    let mut keys = Vec::new();
    let mut buckets: BTreeMap<BucketKey, Sums> = BTreeMap::new();
    let start = codec::raw_bound(0);
    let end = codec::raw_end();
    for entry in txn.range(Bound::Included(&start), Bound::Excluded(&end), false)? {
        let (key, value) = entry?;
        let record = codec::decode_record(&key, &value).ok_or_else(|| LedgerError::Corrupt {
            key: codec::show_key(&key),
        })?;
        let time_us = codec::time_us(record.time);
        let is_due = time_us < due.raw_before_us || (keys.len() as u64) < excess;
        if !is_due || keys.len() == ROLLUP_BATCH_ENTRIES_MAX {
            break;
        }
        let bucket = BucketKey {
            start_us: time_us - time_us % due.bucket_us,
            function: record.function.clone(),
            source: record.source.clone(),
        };
        buckets.entry(bucket).or_default().add(&record);
        keys.push(key);
    }
    Ok((keys, buckets))
}

/// Deletes a batch of the buckets that started before the bucket retention.
fn delete_expired_buckets(txn: &mut WriteTxn<'_>, due: &Due) -> Result<RollupStats, LedgerError> {
    let start = codec::bucket_bound(0);
    let end = codec::bucket_bound(due.buckets_before_us);
    let keys = txn
        .range(Bound::Included(&start), Bound::Excluded(&end), false)?
        .take(ROLLUP_BATCH_ENTRIES_MAX)
        .map(|entry| entry.map(|(key, _)| key))
        .collect::<Result<Vec<_>, _>>()?;
    for key in &keys {
        txn.delete(key)?;
    }
    if !keys.is_empty() {
        subtract_from_counter(txn, &codec::bucket_count_key(), keys.len() as u64)?;
    }
    Ok(RollupStats {
        buckets_deleted: keys.len() as u64,
        ..RollupStats::default()
    })
}
