//! The writer thread and group commit.
//!
//! Callers queue their transactions (a bounded channel: a full queue makes them wait). The writer
//! takes the first waiting transaction, begins one engine transaction, runs it, and keeps taking
//! and running whatever else is waiting until the queue is empty or the group is full; then it
//! commits once and answers every caller of the group. One fsync thus covers every transaction
//! that arrived while the previous group was being written.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::engine::{Engine, EngineWrite, GroupEnd};
use crate::{StoreError, WriteTxn};

/// A transaction waiting for the writer.
pub(crate) type Job = Box<dyn Transaction>;

/// What a caller receives when its transaction is over.
pub(crate) enum Reply<T> {
    /// The function's result once the group is durable, or why it could not be made so.
    Done(Result<T, StoreError>),
    /// The function panicked (its writes were discarded); the caller resumes the panic.
    Panicked(Box<dyn Any + Send>),
}

/// A queued transaction, its function's types erased.
pub(crate) trait Transaction: Send {
    /// Runs the function on `txn`.
    fn run(self: Box<Self>, txn: &mut WriteTxn<'_>) -> Ran;

    /// Answers the caller with `error` without running the function.
    fn fail(self: Box<Self>, error: StoreError);
}

/// A transaction that has run and waits for its group's commit.
pub(crate) struct Ran {
    /// Whether its writes join the group (the function returned `Ok` and no method failed).
    pub(crate) keep: bool,
    answer: Box<dyn Answer>,
}

/// The reply a ran transaction owes its caller.
trait Answer: Send {
    /// Sends the reply, given how the group's commit went.
    fn send(self: Box<Self>, committed: Result<(), StoreError>);
}

/// How large a group may grow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupLimits {
    pub(crate) transactions_max: usize,
    pub(crate) bytes_max: usize,
}

/// Queues `f` as a transaction whose reply arrives on the returned receiver.
pub(crate) fn job<R, E, F>(f: F) -> (Job, oneshot::Receiver<Reply<Result<R, E>>>)
where
    F: FnOnce(&mut WriteTxn<'_>) -> Result<R, E> + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    let (reply, receiver) = oneshot::channel();
    (Box::new(Pending { f, reply }), receiver)
}

/// Turns a reply into what `write` returns, resuming a panic of the function.
pub(crate) fn unwrap_reply<T>(
    reply: Result<Reply<T>, oneshot::error::RecvError>,
) -> Result<T, StoreError> {
    match reply {
        Ok(Reply::Done(result)) => result,
        Ok(Reply::Panicked(payload)) => panic::resume_unwind(payload),
        // The writer dropped the transaction without answering: it panicked.
        Err(_) => Err(StoreError::WriterStopped),
    }
}

/// The writer thread's loop: group, commit, answer, until every `Store` handle is gone.
pub(crate) fn run(
    engine: Arc<dyn Engine>,
    mut queue: mpsc::Receiver<Job>,
    commits: watch::Sender<u64>,
    limits: GroupLimits,
) {
    let mut commit_seq = 0;
    while let Some(first) = queue.blocking_recv() {
        let mut next = Some(first);
        let mut ran = Vec::new();
        let result = engine
            .write_group(&mut |group| run_group(group, &mut next, &mut queue, &mut ran, limits));
        // The first transaction is still here only if the engine failed before running the group
        // (an engine that returns `Ok` has run it).
        if let (Some(job), Err(error)) = (next.take(), &result) {
            job.fail(error.clone());
        }
        let committed = match result {
            Ok(GroupEnd::Commit) => {
                commit_seq += 1;
                commits.send_replace(commit_seq);
                Ok(())
            }
            Ok(GroupEnd::Abort) => Ok(()),
            Err(error) => Err(error),
        };
        for Ran { answer, .. } in ran {
            answer.send(committed.clone());
        }
    }
}

/// Runs `first` and then waiting transactions in `group` until the queue is empty or the group is
/// full, recording each in `ran`.
fn run_group(
    group: &mut dyn EngineWrite,
    first: &mut Option<Job>,
    queue: &mut mpsc::Receiver<Job>,
    ran: &mut Vec<Ran>,
    limits: GroupLimits,
) -> Result<GroupEnd, StoreError> {
    let mut group_bytes = 0;
    let mut wrote = false;
    while ran.len() < limits.transactions_max && group_bytes < limits.bytes_max {
        let Some(job) = first.take().or_else(|| queue.try_recv().ok()) else {
            break;
        };
        let mut txn = WriteTxn::new(group);
        let outcome = job.run(&mut txn);
        let keep = outcome.keep && txn.has_writes();
        ran.push(outcome);
        if keep {
            group_bytes += txn.writes_bytes();
            wrote = true;
            txn.apply()?;
        }
    }
    Ok(if wrote {
        GroupEnd::Commit
    } else {
        GroupEnd::Abort
    })
}

/// A transaction before it runs.
struct Pending<F, R, E> {
    f: F,
    reply: oneshot::Sender<Reply<Result<R, E>>>,
}

/// A transaction after it ran, with the reply it will send.
struct Finished<R, E> {
    reply: oneshot::Sender<Reply<Result<R, E>>>,
    value: Reply<Result<R, E>>,
}

impl<F, R, E> Transaction for Pending<F, R, E>
where
    F: FnOnce(&mut WriteTxn<'_>) -> Result<R, E> + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Box<Self>, txn: &mut WriteTxn<'_>) -> Ran {
        let Pending { f, reply } = *self;
        // A panic discards the transaction's writes (they are only in `txn`), so no broken state
        // is observed after it.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(txn)));
        let (keep, value) = match outcome {
            Err(payload) => (false, Reply::Panicked(payload)),
            Ok(result) => match txn.take_failure() {
                Some(error) => (false, Reply::Done(Err(error))),
                None => (result.is_ok(), Reply::Done(Ok(result))),
            },
        };
        Ran {
            keep,
            answer: Box::new(Finished { reply, value }),
        }
    }

    fn fail(self: Box<Self>, error: StoreError) {
        // The caller may have stopped waiting (a dropped future); then nobody needs the answer.
        let _ = self.reply.send(Reply::Done(Err(error)));
    }
}

impl<R: Send, E: Send> Answer for Finished<R, E> {
    fn send(self: Box<Self>, committed: Result<(), StoreError>) {
        let value = match (committed, self.value) {
            // A failed commit fails every transaction of the group, even one that wrote nothing:
            // it may have read the writes of an earlier one, which are now lost.
            (Err(error), Reply::Done(_)) => Reply::Done(Err(error)),
            (_, value) => value,
        };
        // The caller may have stopped waiting (a dropped future); then nobody needs the answer.
        let _ = self.reply.send(value);
    }
}
