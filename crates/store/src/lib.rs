//! The durable, ordered, transactional key-value store every piece of rondo state lives on.
//!
//! One flat keyspace of byte keys in byte order; each caller's keys start with the byte of its
//! area, assigned in [`keyspace`] and nowhere else. Reads take a consistent snapshot
//! ([`Store::read`]); writes run as serializable transactions on one writer thread that
//! group-commits them ([`Store::write`]): a transaction is acknowledged only once it is on disk,
//! and all the transactions waiting at one moment share one fsync.
//!
//! The engine (redb today) sits behind a private trait, so that another engine can carry the
//! same interface; `docs/design/002-store.md` explains the design and the choice of engine.

pub mod backup;
pub mod keyspace;
pub mod limits;

mod engine;
mod error;
mod txn;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use tokio::sync::{mpsc, watch};

pub use crate::error::{EngineError, StoreError};
pub use crate::txn::{Range, ReadTxn, WriteTxn};

use crate::engine::{Engine, RedbEngine};
use crate::limits::{GROUP_BYTES_MAX, GROUP_TRANSACTIONS_MAX, QUEUE_TRANSACTIONS_MAX};
use crate::writer::{GroupLimits, Job};

/// A handle to one open store (cheap to clone; all clones share one engine and one writer).
///
/// The store closes when the last handle is dropped: that drop waits for the writer to finish
/// the transactions already queued. Read snapshots still alive keep the engine's files open.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// How a store groups and queues write transactions. Every field defaults to its limit in
/// [`limits`], which is also the largest value accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most transactions in one group commit ([`limits::GROUP_TRANSACTIONS_MAX`]); 1 turns
    /// grouping off.
    pub group_transactions_max: usize,
    /// Write-set bytes after which a group commits without taking more transactions
    /// ([`limits::GROUP_BYTES_MAX`]).
    pub group_bytes_max: usize,
    /// Most transactions waiting for the writer before callers wait for room
    /// ([`limits::QUEUE_TRANSACTIONS_MAX`]).
    pub queue_transactions_max: usize,
}

/// What every handle of one store shares.
struct Shared {
    dir: PathBuf,
    engine: Arc<dyn Engine>,
    /// Taken (and so closed) on drop, which lets the writer thread end.
    queue: Option<mpsc::Sender<Job>>,
    commits: watch::Receiver<u64>,
    writer: Option<JoinHandle<()>>,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            group_transactions_max: GROUP_TRANSACTIONS_MAX,
            group_bytes_max: GROUP_BYTES_MAX,
            queue_transactions_max: QUEUE_TRANSACTIONS_MAX,
        }
    }
}

impl Store {
    /// Opens or creates the store in `dir` (creating the folder).
    ///
    /// A second open of the same folder, by this process or another, fails with
    /// [`StoreError::Locked`] while the first is open.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let limits = check_options(&options)?;
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            dir: dir.to_path_buf(),
            source: Arc::new(source),
        })?;
        let engine = RedbEngine::open(dir)?;
        Ok(Store::start(dir, Arc::new(engine), limits, &options))
    }

    /// A consistent read-only snapshot of everything committed so far. Cheap: a few
    /// microseconds.
    pub fn read(&self) -> Result<ReadTxn, StoreError> {
        Ok(ReadTxn::new(self.shared.engine.read()?))
    }

    /// Runs `f` in a write transaction and returns once the transaction is durable (fsynced).
    ///
    /// Concurrent callers are group-committed: the writer thread takes every transaction that is
    /// waiting, runs them one after another inside one engine transaction, commits once, then
    /// answers them all. Each `f` sees the writes of the transactions before it (serializable,
    /// one writer). If `f` returns `Err(e)`, its own writes are discarded (the others in the
    /// group are unaffected) and `Ok(Err(e))` is returned. If the commit fails, every caller in
    /// the group gets a [`StoreError`]. If a method of the [`WriteTxn`] fails, the transaction's
    /// writes are discarded and that error is returned, whatever `f` returned.
    ///
    /// `f` runs on the writer thread: it must be quick and must not block. If `f` panics, its
    /// writes are discarded and the panic resumes in the caller.
    ///
    /// When the queue is full this waits for room. Dropping the future after the transaction was
    /// queued does not withdraw it: it may still commit.
    pub async fn write<R, E, F>(&self, f: F) -> Result<Result<R, E>, StoreError>
    where
        F: FnOnce(&mut WriteTxn<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (job, reply) = writer::job(f);
        self.queue()
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        writer::unwrap_reply(reply.await)
    }

    /// The same as [`Store::write`], for callers outside async code (startup, background threads,
    /// tests): it blocks the calling thread.
    ///
    /// # Panics
    ///
    /// When called from async code (inside a tokio runtime), which must use [`Store::write`].
    pub fn write_blocking<R, E, F>(&self, f: F) -> Result<Result<R, E>, StoreError>
    where
        F: FnOnce(&mut WriteTxn<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let (job, reply) = writer::job(f);
        self.queue()
            .blocking_send(job)
            .map_err(|_| StoreError::WriterStopped)?;
        writer::unwrap_reply(reply.blocking_recv())
    }

    /// Sequence number of the last durable commit since the store was opened (0 before the
    /// first); the receiver changes after every commit. A group that wrote nothing commits
    /// nothing and leaves it alone.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.shared.commits.clone()
    }

    /// Starts the writer thread for `engine`.
    fn start(
        dir: &Path,
        engine: Arc<dyn Engine>,
        limits: GroupLimits,
        options: &StoreOptions,
    ) -> Store {
        let (queue, receiver) = mpsc::channel(options.queue_transactions_max);
        let (commits_sender, commits) = watch::channel(0);
        let writer_engine = Arc::clone(&engine);
        // Owner: the store (`Shared::writer`): the last handle's drop closes the queue and joins
        // the thread.
        let writer = thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || writer::run(writer_engine, receiver, commits_sender, limits))
            .expect("the OS starts a thread for the store's writer");
        Store {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                engine,
                queue: Some(queue),
                commits,
                writer: Some(writer),
            }),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Job> {
        self.shared
            .queue
            .as_ref()
            .expect("the queue is only taken when the last handle drops")
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has answered what is queued.
        self.queue = None;
        let Some(writer) = self.writer.take() else {
            return;
        };
        // A transaction's function may hold the last handle; the writer cannot wait for itself.
        if writer.thread().id() != thread::current().id() {
            // A panicked writer has already answered `WriterStopped` to its callers; there is
            // nothing more to report here.
            let _ = writer.join();
        }
    }
}

fn check_options(options: &StoreOptions) -> Result<GroupLimits, StoreError> {
    let checks = [
        (
            "group_transactions_max",
            options.group_transactions_max,
            GROUP_TRANSACTIONS_MAX,
        ),
        ("group_bytes_max", options.group_bytes_max, GROUP_BYTES_MAX),
        (
            "queue_transactions_max",
            options.queue_transactions_max,
            QUEUE_TRANSACTIONS_MAX,
        ),
    ];
    for (name, value, max) in checks {
        if !(1..=max).contains(&value) {
            return Err(StoreError::InvalidOption { name, value, max });
        }
    }
    Ok(GroupLimits {
        transactions_max: options.group_transactions_max,
        bytes_max: options.group_bytes_max,
    })
}

#[cfg(test)]
mod tests;
