//! The store's engine comparison: redb and fjall on what rondo does, and the store itself.
//!
//! `cargo bench -p store --bench engines` (add `-- --quick`, or set `STORE_BENCH_QUICK=1`, for a
//! run of well under two minutes) prints markdown tables for `docs/design/002-store.md`:
//!
//! - durable writes of 200-byte values from 1, 16 and 64 writer threads, group-committed;
//! - random point reads on 100k keys, each in a fresh snapshot (as a GetItem does);
//! - scans of 100 keys, forward and reverse, each in a fresh snapshot;
//! - open time and on-disk size after loading 100k keys, and the first open after a SIGKILL.
//!
//! Both engines run behind the same bench-local group committer (one writer thread that takes
//! everything waiting, writes it in one engine transaction and syncs once), so the comparison is
//! of the engines; the `store` rows run the real crate, with grouping and without.

#![expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::io::{BufRead, BufReader, Write};
use std::ops::Bound;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use store::{Store, StoreOptions};

/// Bytes of every value written, about one small DynamoDB item.
const VALUE_BYTES: usize = 200;
/// Keys loaded before the read, scan and open measurements.
const KEYS_LOADED: u64 = 100_000;
/// Writes per transaction while loading.
const LOAD_GROUP_WRITES: usize = 1000;
/// Concurrent writer threads measured.
const WRITER_COUNTS: [usize; 3] = [1, 16, 64];
/// Entries per scan.
const SCAN_ENTRIES: usize = 100;
/// Most writes the bench's group committer puts in one engine transaction (the store's default).
const GROUP_WRITES_MAX: usize = store::limits::GROUP_TRANSACTIONS_MAX;

/// Set in the child of the crash measurement: the contender it loads.
const CRASH_CHILD_VAR: &str = "STORE_BENCH_CRASH_CHILD";
/// Set in the child of the crash measurement: the folder it loads into.
const CRASH_DIR_VAR: &str = "STORE_BENCH_CRASH_DIR";

/// How long and how much to measure.
struct Settings {
    /// Rounds of the write measurement; contenders take turns in each, so that a change in the
    /// machine's load (other builds syncing to the same disk) spreads over all of them.
    rounds: usize,
    write_duration: Duration,
    reads: usize,
    scans: usize,
    opens: usize,
}

/// What the bench asks of an engine.
trait Engine: Send + Sync + 'static {
    /// Writes every pair in one transaction and returns once it is durable.
    fn write_group(&self, writes: &[(Vec<u8>, Vec<u8>)]);
    /// Reads one key in a fresh snapshot.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Called once the keys are loaded: an engine that keeps recent writes in memory (and in its
    /// journal) may move them to its on-disk structure, as it would in steady state.
    fn settle(&self) {}
    /// Reads up to `n` entries from `start` on (or down, when `reverse`) in a fresh snapshot and
    /// returns how many there were.
    fn scan(&self, start: &[u8], n: usize, reverse: bool) -> usize;
}

/// A contender for reads: its name and how to open it in a folder.
struct Contender {
    name: &'static str,
    open: fn(&Path) -> Box<dyn Engine>,
}

/// A contender for writes: its name and how to start its durable write path in a folder.
struct WriteContender {
    name: &'static str,
    start: fn(&Path) -> Arc<dyn DurableWriter>,
}

fn main() {
    let contenders = [
        Contender {
            name: "redb 4.6.0",
            open: |dir| Box::new(Redb::open(dir, false)),
        },
        Contender {
            name: "redb 4.6.0, quick repair",
            open: |dir| Box::new(Redb::open(dir, true)),
        },
        Contender {
            name: "fjall 3.1.13",
            open: |dir| Box::new(Fjall::open(dir, false)),
        },
        Contender {
            name: "fjall 3.1.13, flushed",
            open: |dir| Box::new(Fjall::open(dir, true)),
        },
        Contender {
            name: "store (redb)",
            open: |dir| Box::new(StoreEngine::open(dir)),
        },
    ];
    if let Ok(name) = std::env::var(CRASH_CHILD_VAR) {
        crash_child(&contenders, &name);
    }
    let quick = std::env::args().any(|arg| arg == "--quick")
        || std::env::var_os("STORE_BENCH_QUICK").is_some();
    let settings = if quick {
        Settings {
            rounds: 1,
            write_duration: Duration::from_secs(2),
            reads: 20_000,
            scans: 2_000,
            opens: 3,
        }
    } else {
        Settings {
            rounds: 3,
            write_duration: Duration::from_secs(5),
            reads: 200_000,
            scans: 20_000,
            opens: 10,
        }
    };
    println!("mode: {}", if quick { "quick" } else { "full" });
    println!(
        "fdatasync of 4 KiB before the run: p50 {}",
        show(fsync_probe())
    );

    let write_contenders = [
        WriteContender {
            name: "redb 4.6.0",
            start: |dir| Arc::new(GroupCommitter::start(Arc::new(Redb::open(dir, false)))),
        },
        WriteContender {
            name: "redb 4.6.0, quick repair",
            start: |dir| Arc::new(GroupCommitter::start(Arc::new(Redb::open(dir, true)))),
        },
        WriteContender {
            name: "fjall 3.1.13",
            start: |dir| Arc::new(GroupCommitter::start(Arc::new(Fjall::open(dir, false)))),
        },
        WriteContender {
            name: "store (redb)",
            start: |dir| Arc::new(StoreWriter::open(dir, StoreOptions::default())),
        },
        WriteContender {
            name: "store (redb), grouping off",
            start: |dir| {
                let options = StoreOptions {
                    group_transactions_max: 1,
                    ..StoreOptions::default()
                };
                Arc::new(StoreWriter::open(dir, options))
            },
        },
    ];
    println!("\n### Durable writes ({VALUE_BYTES}-byte values, random new keys)\n");
    println!(
        "| engine | writers | writes/s | per round | p50 | p99 | writes per commit | on disk after |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for writers in WRITER_COUNTS {
        bench_writes(&write_contenders, writers, &settings);
    }

    println!(
        "\n### Reads on {KEYS_LOADED} keys ({VALUE_BYTES}-byte values), one thread, a fresh snapshot each\n"
    );
    println!(
        "| engine | load (groups of {LOAD_GROUP_WRITES}) | get p50 | get p99 | gets/s | scan {SCAN_ENTRIES} fwd p50 | p99 | scan {SCAN_ENTRIES} rev p50 | p99 | open p50 | on disk |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for contender in &contenders {
        bench_reads(contender, &settings);
    }

    println!("\n### Open after a crash: {KEYS_LOADED} keys loaded, then SIGKILL\n");
    println!("| engine | first open (recovery) | next open |");
    println!("|---|---|---|");
    for contender in contenders
        .iter()
        .filter(|contender| !contender.name.starts_with("store"))
    {
        bench_crash_open(contender);
    }
    println!(
        "\nfdatasync of 4 KiB after the run: p50 {}",
        show(fsync_probe())
    );
}

/// The median time to write 4 KiB and `fdatasync` it, 50 times over: how fast this disk syncs
/// right now (on a shared machine it varies by an order of magnitude).
fn fsync_probe() -> Duration {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = std::fs::File::create(dir.path().join("probe")).expect("a file");
    let mut times: Vec<Duration> = (0..50_u64)
        .map(|block_idx| {
            let start = Instant::now();
            file.write_all_at(&[block_idx as u8; 4096], block_idx * 4096)
                .expect("a write");
            file.sync_data().expect("a sync");
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    percentile(&times, 0.5)
}

/// What one timed run of writers measured.
struct WriteRun {
    latencies: Vec<Duration>,
    elapsed: Duration,
    commits: u64,
    disk_bytes: u64,
}

/// Measures every write contender with `writers` threads, `settings.rounds` times taking turns,
/// and prints one row per contender.
fn bench_writes(contenders: &[WriteContender], writers: usize, settings: &Settings) {
    let mut runs: Vec<Vec<WriteRun>> = contenders.iter().map(|_| Vec::new()).collect();
    for _ in 0..settings.rounds {
        for (contender, runs) in contenders.iter().zip(&mut runs) {
            runs.push(run_writes(contender, writers, settings.write_duration));
        }
    }
    for (contender, runs) in contenders.iter().zip(runs) {
        let rates: Vec<f64> = runs
            .iter()
            .map(|run| run.latencies.len() as f64 / run.elapsed.as_secs_f64())
            .collect();
        let n_writes: usize = runs.iter().map(|run| run.latencies.len()).sum();
        let elapsed: Duration = runs.iter().map(|run| run.elapsed).sum();
        let commits: u64 = runs.iter().map(|run| run.commits).sum();
        let mut latencies: Vec<Duration> = runs
            .iter()
            .flat_map(|run| run.latencies.iter().copied())
            .collect();
        latencies.sort_unstable();
        let rate_min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let rate_max = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "| {} | {writers} | {:.0} | {rate_min:.0}–{rate_max:.0} | {} | {} | {:.1} | {} |",
            contender.name,
            n_writes as f64 / elapsed.as_secs_f64(),
            show(percentile(&latencies, 0.50)),
            show(percentile(&latencies, 0.99)),
            n_writes as f64 / commits.max(1) as f64,
            show_bytes(runs.last().map_or(0, |run| run.disk_bytes)),
        );
    }
}

/// Runs `writers` threads writing on a fresh store of `contender` for `duration`.
fn run_writes(contender: &WriteContender, writers: usize, duration: Duration) -> WriteRun {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let writer = (contender.start)(dir.path());
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let latencies: Vec<Duration> = thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|writer_idx| {
                let writer = Arc::clone(&writer);
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut write_idx = 0_u64;
                    while Instant::now() < deadline {
                        let key = key(1 + writer_idx as u64, write_idx);
                        let start = Instant::now();
                        writer.write(key, value(write_idx));
                        latencies.push(start.elapsed());
                        write_idx += 1;
                    }
                    latencies
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a writer thread ends"))
            .collect()
    });
    let elapsed = started.elapsed();
    let commits = writer.commits();
    drop(writer);
    WriteRun {
        latencies,
        elapsed,
        commits,
        disk_bytes: disk_bytes(dir.path()),
    }
}

/// Loads the keys, then measures gets, scans, reopening and size, and prints one row.
fn bench_reads(contender: &Contender, settings: &Settings) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let engine = (contender.open)(dir.path());
    let started = Instant::now();
    load(engine.as_ref());
    let load = started.elapsed();

    let mut random = SplitMix(42);
    let mut gets = Vec::with_capacity(settings.reads);
    let gets_started = Instant::now();
    for _ in 0..settings.reads {
        let key = key(0, random.next() % KEYS_LOADED);
        let start = Instant::now();
        let value = engine.get(&key);
        gets.push(start.elapsed());
        assert_eq!(value.map(|value| value.len()), Some(VALUE_BYTES));
    }
    let gets_per_second = settings.reads as f64 / gets_started.elapsed().as_secs_f64();
    let forward = scans(engine.as_ref(), &mut random, settings.scans, false);
    let reverse = scans(engine.as_ref(), &mut random, settings.scans, true);
    drop(engine);

    let mut opens = Vec::with_capacity(settings.opens);
    for _ in 0..settings.opens {
        let start = Instant::now();
        let engine = (contender.open)(dir.path());
        opens.push(start.elapsed());
        drop(engine);
    }
    gets.sort_unstable();
    opens.sort_unstable();
    println!(
        "| {} | {:.0} keys/s | {} | {} | {gets_per_second:.0} | {} | {} | {} | {} | {} | {} |",
        contender.name,
        KEYS_LOADED as f64 / load.as_secs_f64(),
        show(percentile(&gets, 0.50)),
        show(percentile(&gets, 0.99)),
        show(percentile(&forward, 0.50)),
        show(percentile(&forward, 0.99)),
        show(percentile(&reverse, 0.50)),
        show(percentile(&reverse, 0.99)),
        show(percentile(&opens, 0.50)),
        show_bytes(disk_bytes(dir.path())),
    );
}

/// Writes the `KEYS_LOADED` keys in groups of `LOAD_GROUP_WRITES`.
fn load(engine: &dyn Engine) {
    let mut group = Vec::with_capacity(LOAD_GROUP_WRITES);
    for key_idx in 0..KEYS_LOADED {
        group.push((key(0, key_idx), value(key_idx)));
        if group.len() == LOAD_GROUP_WRITES {
            engine.write_group(&group);
            group.clear();
        }
    }
    engine.write_group(&group);
    engine.settle();
}

/// Loads the keys in a child process, SIGKILLs it, and prints how long the first open takes.
fn bench_crash_open(contender: &Contender) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut child = Command::new(std::env::current_exe().expect("the bench binary's path"))
        .env(CRASH_CHILD_VAR, contender.name)
        .env(CRASH_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the child's stdout"))
        .read_line(&mut line)
        .expect("the child reports");
    assert_eq!(line, "loaded\n", "the child loads the keys");
    child.kill().expect("SIGKILL reaches the child");
    child.wait().expect("the child is reaped");
    let start = Instant::now();
    let engine = (contender.open)(dir.path());
    let first_open = start.elapsed();
    assert!(
        engine.get(&key(0, KEYS_LOADED - 1)).is_some(),
        "the last group survived"
    );
    drop(engine);
    let start = Instant::now();
    drop((contender.open)(dir.path()));
    println!(
        "| {} | {} | {} |",
        contender.name,
        show(first_open),
        show(start.elapsed())
    );
}

/// The child of `bench_crash_open`: loads the keys, says so, and waits to be killed.
fn crash_child(contenders: &[Contender], name: &str) -> ! {
    let contender = contenders
        .iter()
        .find(|contender| contender.name == name)
        .expect("a known contender");
    let dir = std::env::var_os(CRASH_DIR_VAR).expect("the parent names the folder");
    let engine = (contender.open)(Path::new(&dir));
    load(engine.as_ref());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "loaded")
        .and_then(|()| stdout.flush())
        .expect("the parent listens");
    // The parent kills this process; should it fail to, give up after a while.
    thread::sleep(Duration::from_secs(600));
    std::process::exit(1)
}

/// Times `n` scans from random loaded keys, sorted.
fn scans(engine: &dyn Engine, random: &mut SplitMix, n: usize, reverse: bool) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start_key = key(0, random.next() % KEYS_LOADED);
        let start = Instant::now();
        let entries = engine.scan(&start_key, SCAN_ENTRIES, reverse);
        times.push(start.elapsed());
        assert!(entries > 0, "a scan from a stored key finds it");
    }
    times.sort_unstable();
    times
}

/// A write that returns once durable, from many threads.
trait DurableWriter: Send + Sync {
    fn write(&self, key: Vec<u8>, value: Vec<u8>);
    /// Engine commits (each with one sync) so far.
    fn commits(&self) -> u64;
}

/// A queued write and where to acknowledge it.
type QueuedWrite = (Vec<u8>, Vec<u8>, mpsc::SyncSender<()>);

/// The bench's group commit over a raw engine: one thread takes every waiting write (up to
/// `GROUP_WRITES_MAX`), writes them in one transaction, syncs once, and acknowledges them.
struct GroupCommitter {
    queue: Option<mpsc::SyncSender<QueuedWrite>>,
    commits: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl GroupCommitter {
    fn start(engine: Arc<dyn Engine>) -> GroupCommitter {
        let (queue, receiver) =
            mpsc::sync_channel::<QueuedWrite>(store::limits::QUEUE_TRANSACTIONS_MAX);
        let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread_commits = Arc::clone(&commits);
        let thread = thread::spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut waiting = vec![first];
                while waiting.len() < GROUP_WRITES_MAX {
                    match receiver.try_recv() {
                        Ok(next) => waiting.push(next),
                        Err(_) => break,
                    }
                }
                let (writes, acks): (Vec<_>, Vec<_>) = waiting
                    .into_iter()
                    .map(|(key, value, ack)| ((key, value), ack))
                    .unzip();
                engine.write_group(&writes);
                thread_commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for ack in acks {
                    ack.send(())
                        .expect("the writer waits for its acknowledgement");
                }
            }
        });
        GroupCommitter {
            queue: Some(queue),
            commits,
            thread: Some(thread),
        }
    }
}

impl DurableWriter for GroupCommitter {
    fn write(&self, key: Vec<u8>, value: Vec<u8>) {
        let (ack, acked) = mpsc::sync_channel(1);
        self.queue
            .as_ref()
            .expect("the queue is open until drop")
            .send((key, value, ack))
            .expect("the committer runs");
        acked.recv().expect("the committer acknowledges");
    }

    fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the committer ends");
        }
    }
}

/// The real store's write path.
struct StoreWriter {
    store: Store,
}

impl StoreWriter {
    fn open(dir: &Path, options: StoreOptions) -> StoreWriter {
        StoreWriter {
            store: Store::open(dir, options).expect("the store opens"),
        }
    }
}

impl DurableWriter for StoreWriter {
    fn write(&self, key: Vec<u8>, value: Vec<u8>) {
        self.store
            .write_blocking(move |txn| txn.put(&key, &value))
            .expect("the write commits")
            .expect("the put succeeds");
    }

    fn commits(&self) -> u64 {
        *self.store.commits().borrow()
    }
}

/// redb used directly: one table, default durability (`Immediate`: fsync on commit).
struct Redb {
    database: redb::Database,
    /// Save the allocator state with every commit, so that a crash needs no full repair.
    quick_repair: bool,
}

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

type RedbEntry<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

impl Redb {
    fn open(dir: &Path, quick_repair: bool) -> Redb {
        let database = redb::Database::create(dir.join("bench.redb")).expect("redb opens");
        let txn = database.begin_write().expect("a write transaction");
        txn.open_table(REDB_TABLE).expect("the table");
        txn.commit().expect("the commit");
        Redb {
            database,
            quick_repair,
        }
    }
}

impl Engine for Redb {
    fn write_group(&self, writes: &[(Vec<u8>, Vec<u8>)]) {
        let mut txn = self.database.begin_write().expect("a write transaction");
        txn.set_quick_repair(self.quick_repair);
        {
            let mut table = txn.open_table(REDB_TABLE).expect("the table");
            for (key, value) in writes {
                table
                    .insert(key.as_slice(), value.as_slice())
                    .expect("an insert");
            }
        }
        txn.commit().expect("the commit");
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        use redb::ReadableDatabase;
        let txn = self.database.begin_read().expect("a read transaction");
        let table = txn.open_table(REDB_TABLE).expect("the table");
        let value = table.get(key).expect("a get");
        value.map(|value| value.value().to_vec())
    }

    fn scan(&self, start: &[u8], n: usize, reverse: bool) -> usize {
        use redb::ReadableDatabase;
        let txn = self.database.begin_read().expect("a read transaction");
        let table = txn.open_table(REDB_TABLE).expect("the table");
        let owned = |entry: RedbEntry<'_>| {
            let (key, value) = entry.expect("an entry");
            (key.value().to_vec(), value.value().to_vec())
        };
        if reverse {
            let range = table.range::<&[u8]>(..=start).expect("a range");
            consume(range.rev().take(n).map(owned))
        } else {
            let range = table.range::<&[u8]>(start..).expect("a range");
            consume(range.take(n).map(owned))
        }
    }
}

/// fjall used directly: one keyspace; a group is one write batch synced with `fdatasync`
/// (`PersistMode::SyncData`, what redb's commit does too).
struct Fjall {
    database: fjall::Database,
    keyspace: fjall::Keyspace,
    /// Flush the memtable to a sorted table once loaded, so that reads and opens see fjall's
    /// steady state (data in sorted tables) rather than its journal and memtable.
    flush_when_settled: bool,
}

impl Fjall {
    fn open(dir: &Path, flush_when_settled: bool) -> Fjall {
        let database = fjall::Database::builder(dir.join("fjall"))
            .open()
            .expect("fjall opens");
        let keyspace = database
            .keyspace("kv", fjall::KeyspaceCreateOptions::default)
            .expect("the keyspace");
        Fjall {
            database,
            keyspace,
            flush_when_settled,
        }
    }
}

impl Engine for Fjall {
    fn write_group(&self, writes: &[(Vec<u8>, Vec<u8>)]) {
        let mut batch = self
            .database
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for (key, value) in writes {
            batch.insert(&self.keyspace, key.as_slice(), value.as_slice());
        }
        batch.commit().expect("the commit");
    }

    fn settle(&self) {
        if self.flush_when_settled {
            // Hidden in fjall's docs ("used in tests"), but it is what a memtable filling up does.
            self.keyspace
                .rotate_memtable_and_wait()
                .expect("the memtable flushes");
        }
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        use fjall::Readable;
        let snapshot = self.database.snapshot();
        let value = snapshot.get(&self.keyspace, key).expect("a get");
        value.map(|value| value.to_vec())
    }

    fn scan(&self, start: &[u8], n: usize, reverse: bool) -> usize {
        use fjall::Readable;
        let snapshot = self.database.snapshot();
        let owned = |guard: fjall::Guard| {
            let (key, value) = guard.into_inner().expect("an entry");
            (key.to_vec(), value.to_vec())
        };
        if reverse {
            let range = snapshot.range(&self.keyspace, ..=start);
            consume(range.rev().take(n).map(owned))
        } else {
            let range = snapshot.range(&self.keyspace, start..);
            consume(range.take(n).map(owned))
        }
    }
}

/// The real store, for reads and loading.
struct StoreEngine {
    store: Store,
}

impl StoreEngine {
    fn open(dir: &Path) -> StoreEngine {
        StoreEngine {
            store: Store::open(dir, StoreOptions::default()).expect("the store opens"),
        }
    }
}

impl Engine for StoreEngine {
    fn write_group(&self, writes: &[(Vec<u8>, Vec<u8>)]) {
        let writes = writes.to_vec();
        self.store
            .write_blocking(move |txn| {
                for (key, value) in &writes {
                    txn.put(key, value)?;
                }
                Ok::<_, store::StoreError>(())
            })
            .expect("the write commits")
            .expect("the puts succeed");
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let snapshot = self.store.read().expect("a snapshot");
        snapshot.get(key).expect("a get")
    }

    fn scan(&self, start: &[u8], n: usize, reverse: bool) -> usize {
        let snapshot = self.store.read().expect("a snapshot");
        let range = if reverse {
            snapshot.range(Bound::Unbounded, Bound::Included(start), true)
        } else {
            snapshot.range(Bound::Included(start), Bound::Unbounded, false)
        };
        consume(
            range
                .expect("a range")
                .take(n)
                .map(|entry| entry.expect("an entry")),
        )
    }
}

/// Reads every entry out (so that no work is skipped) and counts them.
fn consume(entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> usize {
    let mut n_entries = 0;
    for entry in entries {
        std::hint::black_box(entry);
        n_entries += 1;
    }
    n_entries
}

/// A 200-byte value of random (incompressible) bytes, different for each `value_idx`.
fn value(value_idx: u64) -> Vec<u8> {
    let mut random = SplitMix(value_idx);
    let mut value = Vec::with_capacity(VALUE_BYTES);
    while value.len() < VALUE_BYTES {
        value.extend(random.next().to_le_bytes());
    }
    value.truncate(VALUE_BYTES);
    value
}

/// A 20-byte key like a table item's: a prefix and a hashed id, so writes land all over the tree.
fn key(stream: u64, key_idx: u64) -> Vec<u8> {
    let mut key = b"tbl/".to_vec();
    key.extend(SplitMix(stream << 40 | key_idx).next().to_be_bytes());
    key.extend(stream.to_be_bytes());
    key
}

/// A small deterministic random number generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[idx]
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros >= 1000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{micros:.1} µs")
    }
}

/// Bytes allocated on disk under `dir` (blocks, not apparent length).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("the folder lists") {
        let entry = entry.expect("an entry");
        let metadata = entry.metadata().expect("its metadata");
        total += if metadata.is_dir() {
            disk_bytes(&entry.path())
        } else {
            metadata.blocks() * 512
        };
    }
    total
}

fn show_bytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
