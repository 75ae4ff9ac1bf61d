//! Background work of the table service, in small transactions so it never holds up requests:
//! filling new global secondary indexes and TTL queues, deleting expired items, dropping the
//! data of deleted tables and indexes, forgetting expired transaction tokens.
//!
//! All of it is restartable: its progress is the state of the store itself (an index is
//! CREATING until filled; a garbage marker stays until its data is gone), so a crash only
//! means some work is done again, and each step is idempotent.

use std::ops::Bound;
use std::sync::Arc;

use store::{StoreError, WriteTxn};

use crate::Inner;
use crate::catalog;
use crate::error::ApiResult;
use crate::keys;
use crate::limits::{BACKGROUND_KEYS_PER_COMMIT, TTL_DELETES_PER_COMMIT};
use crate::schema::{IndexStatus, TableDef};
use crate::stored;
use crate::streams::{self, Cause};
use crate::transact;
use crate::write;

pub async fn run(inner: Arc<Inner>) {
    let mut next_sweep = tokio::time::Instant::now();
    loop {
        if let Err(error) = pending_work(&inner).await {
            tracing::warn!(%error, "table background work failed; it will be retried");
        }
        if tokio::time::Instant::now() >= next_sweep {
            if let Err(error) = sweep_expired(&inner).await {
                tracing::warn!(%error, "TTL sweep failed; it will be retried");
            }
            next_sweep = tokio::time::Instant::now() + inner.config.ttl_sweep_interval;
        }
        tokio::select! {
            () = inner.work.notified() => {}
            () = tokio::time::sleep_until(next_sweep) => {}
        }
    }
}

/// Does everything the store says is unfinished.
async fn pending_work(inner: &Inner) -> ApiResult<()> {
    drop_garbage(inner).await?;
    for def in inner.catalog.all().values() {
        for index in def
            .indexes
            .iter()
            .filter(|i| i.status == IndexStatus::Creating)
        {
            backfill(inner, def, Fill::Index(index.space)).await?;
        }
        if def.ttl_backfill_pending {
            backfill(inner, def, Fill::Ttl).await?;
        }
    }
    forget_tokens(inner).await?;
    trim_streams(inner).await
}

/// Drops stream records past the retention period, a chunk per transaction.
async fn trim_streams(inner: &Inner) -> ApiResult<()> {
    let retention = inner.config.stream_retention.as_secs();
    loop {
        let more = inner
            .store
            .write(move |txn| streams::trim(txn, retention, BACKGROUND_KEYS_PER_COMMIT))
            .await??;
        if !more {
            return Ok(());
        }
    }
}

fn bounds(start: &[u8], end: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    (
        Bound::Included(start.to_vec()),
        Bound::Excluded(end.to_vec()),
    )
}

/// Up to `max` keys of a range, read inside a write transaction.
fn keys_in(
    txn: &WriteTxn<'_>,
    range: &(Bound<Vec<u8>>, Bound<Vec<u8>>),
    max: usize,
) -> ApiResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in txn
        .range(keys::bound_ref(&range.0), keys::bound_ref(&range.1), false)?
        .take(max)
    {
        out.push(entry?);
    }
    Ok(out)
}

/// Drops the data of deleted tables, indexes and TTL queues.
async fn drop_garbage(inner: &Inner) -> ApiResult<()> {
    let prefix = keys::garbage_prefix();
    let markers: Vec<Vec<u8>> = {
        let read = inner.store.read()?;
        let end = keys::prefix_end(&prefix).unwrap_or_default();
        read.range(
            Bound::Included(&prefix[..]),
            Bound::Excluded(&end[..]),
            false,
        )?
        .map(|entry| entry.map(|(key, _)| key))
        .collect::<Result<_, _>>()?
    };
    for marker in markers {
        let id = garbage_table_id(&marker)?;
        let (range, counters) = match marker.get(keys::GARBAGE_KEY_BYTES) {
            None => {
                let (start, end) = keys::table_data_range(id);
                let counters = keys::counter_prefix(id);
                let counters_end = keys::prefix_end(&counters).unwrap_or_default();
                (bounds(&start, &end), Some(bounds(&counters, &counters_end)))
            }
            Some(&space) => {
                let start = keys::space_prefix(id, space);
                let end = keys::prefix_end(&start).unwrap_or_default();
                let counter = keys::counter_key(id, space);
                let counter_end = keys::prefix_end(&counter).unwrap_or_default();
                (bounds(&start, &end), Some(bounds(&counter, &counter_end)))
            }
        };
        loop {
            let range = range.clone();
            let counters = counters.clone();
            let marker = marker.clone();
            let done = inner
                .store
                .write(move |txn| -> ApiResult<bool> {
                    if txn.get(&marker)?.is_none() {
                        return Ok(true); // cancelled (TTL enabled again)
                    }
                    let batch = keys_in(txn, &range, BACKGROUND_KEYS_PER_COMMIT)?;
                    for (key, _) in &batch {
                        txn.delete(key)?;
                    }
                    if batch.len() < BACKGROUND_KEYS_PER_COMMIT {
                        if let Some(counters) = &counters {
                            for (key, _) in keys_in(txn, counters, BACKGROUND_KEYS_PER_COMMIT)? {
                                txn.delete(&key)?;
                            }
                        }
                        txn.delete(&marker)?;
                        return Ok(true);
                    }
                    Ok(false)
                })
                .await??;
            if done {
                break;
            }
        }
    }
    Ok(())
}

/// The table id in a garbage marker's key (`garbage_key`, or `garbage_space_key`).
fn garbage_table_id(marker: &[u8]) -> Result<u64, StoreError> {
    let id = marker
        .get(2..keys::GARBAGE_KEY_BYTES)
        .filter(|_| marker.len() <= keys::GARBAGE_KEY_BYTES + 1)
        .and_then(|id| <[u8; 8]>::try_from(id).ok())
        .ok_or_else(|| {
            StoreError::corrupt(
                marker,
                format!(
                    "a garbage marker's key is {} or {} bytes, found {}",
                    keys::GARBAGE_KEY_BYTES,
                    keys::GARBAGE_KEY_BYTES + 1,
                    marker.len()
                ),
            )
        })?;
    Ok(u64::from_be_bytes(id))
}

#[derive(Clone, Copy)]
enum Fill {
    Index(u8),
    Ttl,
}

/// Walks a table's items and adds the entries of a new index (or of the TTL queue) that are
/// missing, a chunk per transaction; then marks the work done in the definition.
async fn backfill(inner: &Inner, def: &Arc<TableDef>, fill: Fill) -> ApiResult<()> {
    let prefix = keys::space_prefix(def.id, keys::TABLE_SPACE);
    let end = keys::prefix_end(&prefix).unwrap_or_default();
    let mut cursor = Bound::Included(prefix);
    loop {
        let range = (cursor.clone(), Bound::Excluded(end.clone()));
        let expected = Arc::clone(def);
        let step = inner
            .store
            .write(move |txn| -> ApiResult<Option<Vec<u8>>> {
                let def = catalog::current_def(txn, &expected)?;
                let batch = keys_in(txn, &range, BACKGROUND_KEYS_PER_COMMIT)?;
                for (key, value) in &batch {
                    let item = stored::item(key, value)?;
                    let primary = key.get(keys::SPACE_PREFIX_BYTES..).ok_or_else(|| {
                        stored::corrupt(key, "an item's key without its primary key")
                    })?;
                    fill_one(txn, &def, fill, primary, &item)?;
                }
                Ok(if batch.len() < BACKGROUND_KEYS_PER_COMMIT {
                    None
                } else {
                    batch.last().map(|(key, _)| key.clone())
                })
            })
            .await?;
        match step {
            Ok(Some(last)) => cursor = Bound::Excluded(last),
            Ok(None) => break,
            // The table or index went away meanwhile: nothing left to fill.
            Err(error) if error.code == crate::ErrorCode::ResourceNotFound => return Ok(()),
            Err(error) => return Err(error),
        }
    }
    // Done: record it, unless the definition changed in a way that makes it moot.
    let _ddl = inner.ddl.lock().await;
    let Some(current) = inner.catalog.get(&def.name).filter(|c| c.id == def.id) else {
        return Ok(());
    };
    let mut done = TableDef::clone(&current);
    match fill {
        Fill::Index(space) => {
            let Some(index) = done.indexes.iter_mut().find(|i| i.space == space) else {
                return Ok(());
            };
            index.status = IndexStatus::Active;
        }
        Fill::Ttl => {
            if !done.ttl_backfill_pending {
                return Ok(());
            }
            done.ttl_backfill_pending = false;
        }
    }
    crate::ddl::commit_change(inner, &current, done, Vec::new()).await?;
    Ok(())
}

fn fill_one(
    txn: &mut WriteTxn<'_>,
    def: &TableDef,
    fill: Fill,
    primary: &[u8],
    item: &items::Item,
) -> ApiResult<()> {
    match fill {
        Fill::Index(space) => {
            let Some(index) = def.indexes.iter().find(|i| i.space == space) else {
                return Ok(());
            };
            let Some((pk, sk)) = index.keys.index_values(item) else {
                return Ok(());
            };
            let key = keys::index_key(def.id, space, pk, sk, primary);
            if txn.get(&key)?.is_none() {
                let projected = index.project(&def.keys, item);
                txn.put(&key, &items::codec::encode_item(&projected))?;
                write::add_to_counter(txn, def.id, space, &projected)?;
            }
        }
        Fill::Ttl => {
            if let Some(attribute) = &def.ttl_attribute
                && let Some(expiry) = write::expiry_of(item, attribute)
            {
                txn.put(&keys::ttl_key(def.id, expiry, primary), &[])?;
            }
        }
    }
    Ok(())
}

/// Deletes the items whose TTL has passed, in small transactions.
async fn sweep_expired(inner: &Inner) -> ApiResult<()> {
    for def in inner.catalog.all().values() {
        if def.ttl_attribute.is_none() {
            continue;
        }
        loop {
            let expected = Arc::clone(def);
            let more = inner
                .store
                .write(move |txn| -> ApiResult<bool> {
                    let def = catalog::current_def(txn, &expected)?;
                    let Some(attribute) = def.ttl_attribute.clone() else {
                        return Ok(false);
                    };
                    let now = write::now_secs();
                    let start = keys::space_prefix(def.id, keys::TTL_SPACE);
                    let mut end = start.clone();
                    end.extend_from_slice(&(now + 1).to_be_bytes());
                    let batch = keys_in(txn, &bounds(&start, &end), TTL_DELETES_PER_COMMIT)?;
                    for (key, _) in &batch {
                        let primary = key.get(start.len() + 8..).ok_or_else(|| {
                            stored::corrupt(key, "a TTL queue entry's key without its expiry")
                        })?;
                        let old = write::load(txn, &def, primary)?;
                        match old {
                            Some(old)
                                if write::expiry_of(&old, &attribute).is_some_and(|e| e <= now) =>
                            {
                                write::apply_because(
                                    txn,
                                    &def,
                                    primary,
                                    Some(&old),
                                    None,
                                    Cause::TimeToLive,
                                )?;
                            }
                            // A stale entry (the item changed or is gone): just drop it.
                            _ => txn.delete(key)?,
                        }
                    }
                    Ok(batch.len() == TTL_DELETES_PER_COMMIT)
                })
                .await?;
            match more {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) if error.code == crate::ErrorCode::ResourceNotFound => break,
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Forgets TransactWriteItems tokens whose ten minutes have passed.
async fn forget_tokens(inner: &Inner) -> ApiResult<()> {
    inner
        .store
        .write(|txn| -> ApiResult<()> {
            let start = vec![keys::META_AREA, keys::TOKENS];
            let end = keys::prefix_end(&start).unwrap_or_default();
            let now = write::now_secs();
            for (key, value) in keys_in(txn, &bounds(&start, &end), BACKGROUND_KEYS_PER_COMMIT)? {
                let expires = transact::token_expiry(&key, &value)?;
                if expires <= now {
                    txn.delete(&key)?;
                }
            }
            Ok(())
        })
        .await?
}
