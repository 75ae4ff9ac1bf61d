//! Backups: a whole store as one file, written from one read snapshot and restored offline.
//!
//! The format is rondo's own, small and versioned (`docs/design/012-backup.md`); every integer
//! is little-endian:
//!
//! ```text
//! header   MAGIC (8 bytes, "RONDOBAK") · FORMAT_VERSION (u32)
//! record   RECORD_TAG (1 byte, 0x01) · key length (u32) · value length (u32) · key · value
//!          … one per entry of the store, every area, in key order
//! trailer  TRAILER_TAG (1 byte, 0xFF) · record count (u64) · CRC-32 (u32) of every byte before it
//! ```
//!
//! [`write_snapshot`] streams a [`ReadTxn`] key by key into any [`Write`], so a backup is as
//! consistent as the snapshot and never holds the store in memory; [`BackupReader`] reads one
//! back, checking as it goes (lengths within the store's limits, keys strictly ascending) and,
//! at the trailer, the count and the checksum. [`verify`] reads a whole file; [`restore`] makes a
//! new store from one, visible only once every record is in. Every error about the file's
//! contents names the byte offset where it was found.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use crate::error::show_key;
use crate::limits::{KEY_BYTES_MAX, RESTORE_BATCH_BYTES_MAX, VALUE_BYTES_MAX};
use crate::{ReadTxn, Store, StoreError, StoreOptions};

/// The first bytes of every backup.
pub const MAGIC: [u8; 8] = *b"RONDOBAK";
/// The version of the format this code writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The byte that starts a record.
const RECORD_TAG: u8 = 0x01;
/// The byte that starts the trailer.
const TRAILER_TAG: u8 = 0xFF;
/// The header's length: the magic and the version.
const HEADER_BYTES: u64 = 8 + 4;
/// A record's length before its key and value: the tag and two lengths.
const RECORD_HEAD_BYTES: usize = 1 + 4 + 4;

/// What a backup holds: its records and its length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Key/value records (the store's entries).
    pub n_records: u64,
    /// The whole file, header and trailer included.
    pub n_bytes: u64,
}

/// What went wrong writing, reading or restoring a backup; each variant names the value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The backup ends before its trailer (or inside a record).
    #[error("the backup is truncated: it ends at byte {offset}, inside {inside}")]
    Truncated {
        /// Where the bytes ran out.
        offset: u64,
        /// What was being read there (`"the header"`, `"a record"`, `"the trailer"`).
        inside: &'static str,
    },
    /// The backup's bytes are not what a backup holds at `offset`.
    #[error("the backup is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Where the fault was found.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// Reading or writing the backup's bytes failed.
    #[error("cannot {action} the backup at byte {offset}: {source}")]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// Where.
        offset: u64,
        /// Why.
        source: io::Error,
    },
    /// The store failed while the backup was read from it or restored into it.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The folder a restore was asked to fill already holds a store.
    #[error("{dir} already holds a store: restore into a data folder without one")]
    StoreExists {
        /// The store's folder.
        dir: PathBuf,
    },
    /// A file or folder of a restore could not be opened, created, removed or renamed.
    #[error("cannot {action} {path}: {source}")]
    File {
        /// What was being done (`"open"`, `"create"`, `"rename into place"`…).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Writes a backup's bytes: the header at once, then each record, then the trailer at
/// [`finish`](BackupWriter::finish). Keys must come in strictly ascending order, as a snapshot
/// gives them.
pub struct BackupWriter<W: Write> {
    out: W,
    checksum: crc32fast::Hasher,
    n_records: u64,
    n_bytes: u64,
}

/// Reads a backup, checking it as it goes. [`next_record`](BackupReader::next_record) gives
/// each record, then `None` once the trailer matched and nothing follows it.
pub struct BackupReader<R: Read> {
    input: R,
    checksum: crc32fast::Hasher,
    offset: u64,
    n_records: u64,
    last_key: Option<Vec<u8>>,
    done: bool,
}

/// One record read back: a key and its value.
pub type Record = (Vec<u8>, Vec<u8>);

impl<W: Write> BackupWriter<W> {
    /// Starts a backup on `out` by writing its header.
    pub fn new(out: W) -> Result<BackupWriter<W>, BackupError> {
        let mut writer = BackupWriter {
            out,
            checksum: crc32fast::Hasher::new(),
            n_records: 0,
            n_bytes: 0,
        };
        let mut header = Vec::with_capacity(HEADER_BYTES as usize);
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        writer.put(&header)?;
        Ok(writer)
    }

    /// Appends one record.
    pub fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        // Invariant: what the store holds is within its limits, so a backup's records are too.
        assert!(key.len() <= KEY_BYTES_MAX, "key {} too long", show_key(key));
        assert!(
            value.len() <= VALUE_BYTES_MAX,
            "value of {} too long",
            show_key(key)
        );
        let mut head = [0u8; RECORD_HEAD_BYTES];
        head[0] = RECORD_TAG;
        head[1..5].copy_from_slice(&length_u32(key.len()).to_le_bytes());
        head[5..9].copy_from_slice(&length_u32(value.len()).to_le_bytes());
        self.put(&head)?;
        self.put(key)?;
        self.put(value)?;
        self.n_records += 1;
        Ok(())
    }

    /// Writes the trailer and flushes; answers the output and what was written.
    pub fn finish(mut self) -> Result<(W, Summary), BackupError> {
        let mut counted = [0u8; 1 + 8];
        counted[0] = TRAILER_TAG;
        counted[1..].copy_from_slice(&self.n_records.to_le_bytes());
        self.put(&counted)?;
        let checksum = self.checksum.clone().finalize();
        self.put(&checksum.to_le_bytes())?;
        let offset = self.n_bytes;
        self.out.flush().map_err(|source| BackupError::Io {
            action: "write",
            offset,
            source,
        })?;
        let summary = Summary {
            n_records: self.n_records,
            n_bytes: self.n_bytes,
        };
        Ok((self.out, summary))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        let offset = self.n_bytes;
        self.out
            .write_all(bytes)
            .map_err(|source| BackupError::Io {
                action: "write",
                offset,
                source,
            })?;
        self.checksum.update(bytes);
        self.n_bytes += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write> fmt::Debug for BackupWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupWriter")
            .field("n_records", &self.n_records)
            .field("n_bytes", &self.n_bytes)
            .finish_non_exhaustive()
    }
}

impl<R: Read> BackupReader<R> {
    /// Starts reading a backup from `input` by reading and checking its header.
    pub fn new(input: R) -> Result<BackupReader<R>, BackupError> {
        let mut reader = BackupReader {
            input,
            checksum: crc32fast::Hasher::new(),
            offset: 0,
            n_records: 0,
            last_key: None,
            done: false,
        };
        let mut magic = [0u8; 8];
        reader.take(&mut magic, "the header")?;
        if magic != MAGIC {
            return Err(BackupError::Corrupt {
                offset: 0,
                reason: format!(
                    "it does not start with {:?}: this is not a rondo backup",
                    String::from_utf8_lossy(&MAGIC)
                ),
            });
        }
        let mut version = [0u8; 4];
        reader.take(&mut version, "the header")?;
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(BackupError::Corrupt {
                offset: 8,
                reason: format!(
                    "format version {version} is not the version this rondo reads ({FORMAT_VERSION})"
                ),
            });
        }
        Ok(reader)
    }

    /// The next record, or `None` once the trailer has been read and checked (the record count,
    /// the checksum, and that nothing follows).
    pub fn next_record(&mut self) -> Result<Option<Record>, BackupError> {
        if self.done {
            return Ok(None);
        }
        let tag_offset = self.offset;
        let mut tag = [0u8; 1];
        self.take(&mut tag, "a record")?;
        match tag[0] {
            RECORD_TAG => self.record(tag_offset).map(Some),
            TRAILER_TAG => {
                self.trailer()?;
                Ok(None)
            }
            other => Err(BackupError::Corrupt {
                offset: tag_offset,
                reason: format!("0x{other:02x} starts neither a record nor the trailer"),
            }),
        }
    }

    /// What has been read so far: once [`next_record`](Self::next_record) answered `None`, the
    /// whole backup.
    pub fn summary(&self) -> Summary {
        Summary {
            n_records: self.n_records,
            n_bytes: self.offset,
        }
    }

    fn record(&mut self, tag_offset: u64) -> Result<Record, BackupError> {
        let mut lengths = [0u8; 8];
        self.take(&mut lengths, "a record")?;
        let key_bytes = u32_at(&lengths, 0) as usize;
        let value_bytes = u32_at(&lengths, 4) as usize;
        if key_bytes > KEY_BYTES_MAX {
            return Err(BackupError::Corrupt {
                offset: tag_offset + 1,
                reason: format!(
                    "a key of {key_bytes} bytes, over the store's limit of {KEY_BYTES_MAX}"
                ),
            });
        }
        if value_bytes > VALUE_BYTES_MAX {
            return Err(BackupError::Corrupt {
                offset: tag_offset + 5,
                reason: format!(
                    "a value of {value_bytes} bytes, over the store's limit of {VALUE_BYTES_MAX}"
                ),
            });
        }
        let key_offset = self.offset;
        let mut key = vec![0u8; key_bytes];
        self.take(&mut key, "a record")?;
        if let Some(last_key) = &self.last_key
            && key.as_slice() <= last_key.as_slice()
        {
            return Err(BackupError::Corrupt {
                offset: key_offset,
                reason: format!(
                    "key {} does not come after the key before it, {}",
                    show_key(&key),
                    show_key(last_key)
                ),
            });
        }
        let mut value = vec![0u8; value_bytes];
        self.take(&mut value, "a record")?;
        self.n_records += 1;
        self.last_key = Some(key.clone());
        Ok((key, value))
    }

    fn trailer(&mut self) -> Result<(), BackupError> {
        let count_offset = self.offset;
        let mut count = [0u8; 8];
        self.take(&mut count, "the trailer")?;
        let count = u64::from_le_bytes(count);
        // The checksum covers every byte before it, the record count included.
        let expected = self.checksum.clone().finalize();
        let checksum_offset = self.offset;
        let mut checksum = [0u8; 4];
        self.take(&mut checksum, "the trailer")?;
        let checksum = u32::from_le_bytes(checksum);
        if checksum != expected {
            return Err(BackupError::Corrupt {
                offset: checksum_offset,
                reason: format!(
                    "the checksum 0x{checksum:08x} does not match the bytes before it (0x{expected:08x})"
                ),
            });
        }
        if count != self.n_records {
            return Err(BackupError::Corrupt {
                offset: count_offset,
                reason: format!(
                    "the trailer counts {count} records, the backup holds {}",
                    self.n_records
                ),
            });
        }
        let mut extra = [0u8; 1];
        let n_extra = self.read_some(&mut extra)?;
        if n_extra > 0 {
            return Err(BackupError::Corrupt {
                offset: self.offset,
                reason: "bytes follow the trailer".to_owned(),
            });
        }
        self.done = true;
        Ok(())
    }

    /// Fills `buffer` from the input, or fails as truncated inside `inside`.
    fn take(&mut self, buffer: &mut [u8], inside: &'static str) -> Result<(), BackupError> {
        let mut filled = 0;
        while filled < buffer.len() {
            let n_read = self.read_some(&mut buffer[filled..])?;
            if n_read == 0 {
                return Err(BackupError::Truncated {
                    offset: self.offset + filled as u64,
                    inside,
                });
            }
            filled += n_read;
        }
        self.checksum.update(buffer);
        self.offset += buffer.len() as u64;
        Ok(())
    }

    fn read_some(&mut self, buffer: &mut [u8]) -> Result<usize, BackupError> {
        loop {
            match self.input.read(buffer) {
                Ok(n_read) => return Ok(n_read),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(BackupError::Io {
                        action: "read",
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
    }
}

impl<R: Read> fmt::Debug for BackupReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupReader")
            .field("offset", &self.offset)
            .field("n_records", &self.n_records)
            .finish_non_exhaustive()
    }
}

/// Writes a backup of everything `snapshot` sees to `out`, key by key (every area, in key
/// order), and answers `out` and what was written. Holds one entry in memory at a time.
pub fn write_snapshot<W: Write>(snapshot: &ReadTxn, out: W) -> Result<(W, Summary), BackupError> {
    let mut writer = BackupWriter::new(out)?;
    for entry in snapshot.range(Bound::Unbounded, Bound::Unbounded, false)? {
        let (key, value) = entry?;
        writer.record(&key, &value)?;
    }
    writer.finish()
}

/// Reads a whole backup and checks it (header, every record, count, checksum).
pub fn verify<R: Read>(input: R) -> Result<Summary, BackupError> {
    let mut reader = BackupReader::new(input)?;
    while reader.next_record()?.is_some() {}
    Ok(reader.summary())
}

/// Restores the backup at `backup` as a new store in `store_dir`, which must hold no store.
///
/// The file is verified whole first; then its records are written into a store built beside
/// `store_dir` (in `.restoring`, in the same parent folder), in transactions of at most
/// [`RESTORE_BATCH_BYTES_MAX`]; only once every record is in (and the file read a second time
/// matched again) is that folder renamed to `store_dir`. On any error the staging folder is
/// removed, so `store_dir` never holds a partial store.
pub fn restore(backup: &Path, store_dir: &Path) -> Result<Summary, BackupError> {
    if holds_store(store_dir)? {
        return Err(BackupError::StoreExists {
            dir: store_dir.to_path_buf(),
        });
    }
    let summary = verify(open(backup)?)?;
    let staging = staging_dir(store_dir);
    remove_staging(&staging)?;
    let loaded = load(backup, &staging).and_then(|loaded| {
        if loaded != summary {
            return Err(BackupError::Corrupt {
                offset: loaded.n_bytes,
                reason: format!(
                    "the file changed during the restore: {} records and {} bytes when verified, {} and {} when loaded",
                    summary.n_records, summary.n_bytes, loaded.n_records, loaded.n_bytes
                ),
            });
        }
        // The rename is the moment the restored store becomes the data folder's store.
        fs::rename(&staging, store_dir).map_err(|source| BackupError::File {
            action: "rename into place",
            path: store_dir.to_path_buf(),
            source,
        })?;
        sync_parent(store_dir)?;
        Ok(loaded)
    });
    if loaded.is_err() {
        // The error being returned says what failed; a staging folder that cannot be removed is
        // removed by the next restore.
        let _ = fs::remove_dir_all(&staging);
    }
    loaded
}

/// Whether `dir` exists and holds anything (a store, or files a store would be mixed with).
fn holds_store(dir: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(BackupError::File {
            action: "read",
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Where a restore builds the store before it becomes `store_dir`.
fn staging_dir(store_dir: &Path) -> PathBuf {
    store_dir.with_file_name(".restoring")
}

/// Removes what an interrupted restore left.
fn remove_staging(staging: &Path) -> Result<(), BackupError> {
    match fs::remove_dir_all(staging) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::File {
            action: "remove",
            path: staging.to_path_buf(),
            source,
        }),
    }
}

fn open(backup: &Path) -> Result<BufReader<File>, BackupError> {
    let file = File::open(backup).map_err(|source| BackupError::File {
        action: "open",
        path: backup.to_path_buf(),
        source,
    })?;
    Ok(BufReader::with_capacity(1 << 20, file))
}

/// Writes every record of `backup` into a new store in `dir`, in bounded transactions; the
/// store is closed (its writer joined) before this returns.
fn load(backup: &Path, dir: &Path) -> Result<Summary, BackupError> {
    let store = Store::open(dir, StoreOptions::default())?;
    let mut reader = BackupReader::new(open(backup)?)?;
    let mut batch: Vec<Record> = Vec::new();
    let mut batch_bytes = 0;
    while let Some((key, value)) = reader.next_record()? {
        let record_bytes = key.len() + value.len();
        if batch_bytes + record_bytes > RESTORE_BATCH_BYTES_MAX {
            commit(&store, std::mem::take(&mut batch))?;
            batch_bytes = 0;
        }
        batch_bytes += record_bytes;
        batch.push((key, value));
    }
    commit(&store, batch)?;
    Ok(reader.summary())
}

fn commit(store: &Store, batch: Vec<Record>) -> Result<(), BackupError> {
    if batch.is_empty() {
        return Ok(());
    }
    store.write_blocking(move |txn| {
        for (key, value) in &batch {
            txn.put(key, value)?;
        }
        Ok::<(), StoreError>(())
    })??;
    Ok(())
}

/// Makes the rename of `path` durable: fsyncs its parent folder.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    File::open(parent)
        .and_then(|folder| folder.sync_all())
        .map_err(|source| BackupError::File {
            action: "sync",
            path: parent.to_path_buf(),
            source,
        })
}

fn length_u32(length: usize) -> u32 {
    u32::try_from(length).expect("the store's limits keep lengths far below 4 GiB")
}

fn u32_at(bytes: &[u8; 8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

#[cfg(test)]
mod tests;
