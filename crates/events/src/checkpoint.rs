//! Where each trigger is in each shard: the sequence number of the next record to deliver,
//! kept in the store and moved only after a batch succeeded (or was sent to its on-failure
//! destination), so a restart resumes exactly there.
//!
//! Key: `AREA 'k' <trigger name> 0x00 <stream id u64> <shard u16> [<lanes u8> <lane u8>]` → next
//! sequence (u64 BE), in the area [`Area::Checkpoints`] of the store's keyspace. With a
//! parallelization factor above 1 each lane of a shard has its own.

use store::keyspace::Area;
use store::{Store, StoreError};

const AREA: u8 = Area::Checkpoints.prefix();
const CHECKPOINTS: u8 = b'k';

/// Where a shard (or one lane of it) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub stream: u64,
    pub shard: u16,
    /// `(lanes, lane)` when the shard is split by a parallelization factor above 1.
    pub lane: Option<(u8, u8)>,
}

fn shard_prefix(trigger: &str, stream: u64, shard: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(trigger.len() + 15);
    key.push(AREA);
    key.push(CHECKPOINTS);
    key.extend_from_slice(trigger.as_bytes());
    key.push(0);
    key.extend_from_slice(&stream.to_be_bytes());
    key.extend_from_slice(&shard.to_be_bytes());
    key
}

fn key(trigger: &str, place: Place) -> Vec<u8> {
    let mut key = shard_prefix(trigger, place.stream, place.shard);
    if let Some((lanes, lane)) = place.lane {
        key.extend_from_slice(&[lanes, lane]);
    }
    key
}

/// The checkpoint stored under `key`: exactly 8 bytes. Anything else is an error naming the key,
/// never "no checkpoint", which would restart the shard from its starting position.
fn decode(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            StoreError::corrupt(
                key,
                format!("a checkpoint is 8 bytes, found {}", bytes.len()),
            )
        })
}

/// The checkpoint of this place. When it has none but the shard has checkpoints under another
/// parallelization factor (the factor changed), the lowest of them: nothing is skipped, and
/// what some lanes had already delivered may be delivered again (at least once).
pub fn load(store: &Store, trigger: &str, place: Place) -> Result<Option<u64>, StoreError> {
    let read = store.read()?;
    let key = key(trigger, place);
    if let Some(value) = read.get(&key)? {
        return decode(&key, &value).map(Some);
    }
    let prefix = shard_prefix(trigger, place.stream, place.shard);
    let mut end = prefix.clone();
    end.extend_from_slice(&[0xFF, 0xFF, 0xFF]);
    let mut lowest: Option<u64> = None;
    for entry in read.range(
        std::ops::Bound::Included(&prefix[..]),
        std::ops::Bound::Included(&end[..]),
        false,
    )? {
        let (key, value) = entry?;
        let next = decode(&key, &value)?;
        lowest = Some(lowest.map_or(next, |l| l.min(next)));
    }
    Ok(lowest)
}

/// Moves the checkpoint to `next` (durably) unless it is already there or beyond.
pub async fn save(store: &Store, trigger: &str, place: Place, next: u64) -> Result<(), StoreError> {
    let key = key(trigger, place);
    store
        .write(move |txn| -> Result<(), StoreError> {
            let current = txn
                .get(&key)?
                .map(|value| decode(&key, &value))
                .transpose()?;
            if current.is_none_or(|current| current < next) {
                txn.put(&key, &next.to_be_bytes())?;
            }
            Ok(())
        })
        .await?
}

#[cfg(test)]
mod tests;
