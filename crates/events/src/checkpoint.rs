//! Where each trigger is in each shard: the sequence number of the next record to deliver,
//! kept in the store and moved only after a batch succeeded (or was sent to its on-failure
//! destination), so a restart resumes exactly there.
//!
//! Key: `0x04 'k' <trigger name> 0x00 <stream id u64> <shard u16>` → next sequence (u64 BE).

use store::Store;

const AREA: u8 = 0x04;
const CHECKPOINTS: u8 = b'k';

fn key(trigger: &str, stream: u64, shard: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(trigger.len() + 13);
    key.push(AREA);
    key.push(CHECKPOINTS);
    key.extend_from_slice(trigger.as_bytes());
    key.push(0);
    key.extend_from_slice(&stream.to_be_bytes());
    key.extend_from_slice(&shard.to_be_bytes());
    key
}

/// The checkpoint, if the trigger has one for this shard.
pub fn load(
    store: &Store,
    trigger: &str,
    stream: u64,
    shard: u16,
) -> Result<Option<u64>, store::StoreError> {
    let read = store.read()?;
    Ok(read
        .get(&key(trigger, stream, shard))?
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
        .map(u64::from_be_bytes))
}

/// Moves the checkpoint to `next` (durably) unless it is already there or beyond.
pub async fn save(
    store: &Store,
    trigger: &str,
    stream: u64,
    shard: u16,
    next: u64,
) -> Result<(), store::StoreError> {
    let key = key(trigger, stream, shard);
    store
        .write(move |txn| -> Result<(), store::StoreError> {
            let current = txn
                .get(&key)?
                .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
                .map(u64::from_be_bytes);
            if current.is_none_or(|current| current < next) {
                txn.put(&key, &next.to_be_bytes())?;
            }
            Ok(())
        })
        .await?
}
