//! Crash safety: a process writing in a loop is SIGKILLed; every write it had acknowledged is
//! there after a reopen.
//!
//! The test runs its own test binary again as the writing child, selected by an environment
//! variable that names the store folder.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

use store::{Store, StoreError, StoreOptions};

use crate::{get, open};

/// Set in the child: the folder of the store it writes to.
const CHILD_DIR_VAR: &str = "RONDO_STORE_CRASH_CHILD_DIR";
/// This test's name, to run it alone in the child.
const TEST_NAME: &str = "crash::acknowledged_writes_survive_sigkill";
/// Acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 400;
/// Writer threads in the child, so that groups hold several transactions.
const CHILD_WRITERS: u32 = 4;
/// Writes per child thread at most, should the parent never kill it.
const CHILD_WRITES_MAX: u32 = 1_000_000;

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_VAR) {
        write_until_killed(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let mut lines = BufReader::new(child.stdout.take().expect("the child's stdout")).lines();
    let mut acked = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("a line from the child");
        if let Some(key) = line.strip_prefix("acked ") {
            acked.push(key.to_owned());
        }
        if acked.len() == ACKS_BEFORE_KILL {
            break;
        }
    }
    assert_eq!(
        acked.len(),
        ACKS_BEFORE_KILL,
        "the child stopped writing early"
    );

    // The store is locked while the child has it open.
    let error =
        Store::open(dir.path(), StoreOptions::default()).expect_err("the child holds the store");
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");

    child.kill().expect("SIGKILL reaches the child");
    child.wait().expect("the child is reaped");
    // Acknowledgements printed before the kill are still in the pipe.
    for line in lines {
        let line = line.expect("a line from the child");
        if let Some(key) = line.strip_prefix("acked ") {
            acked.push(key.to_owned());
        }
    }

    let store = open(dir.path());
    let missing: Vec<&String> = acked
        .iter()
        .filter(|key| get(&store, key.as_bytes()).is_none())
        .collect();
    assert_eq!(
        missing,
        Vec::<&String>::new(),
        "of {} acknowledged writes",
        acked.len()
    );
}

/// The child: writes from several threads and prints each key once its write is acknowledged.
fn write_until_killed(dir: &Path) {
    let store = open(dir);
    thread::scope(|scope| {
        for writer_idx in 0..CHILD_WRITERS {
            let store = store.clone();
            scope.spawn(move || {
                for write_idx in 0..CHILD_WRITES_MAX {
                    let key = format!("crash/{writer_idx}/{write_idx:07}");
                    let stored_key = key.clone().into_bytes();
                    store
                        .write_blocking(move |txn| txn.put(&stored_key, &[0; 200]))
                        .expect("the write commits")
                        .expect("the put succeeds");
                    let mut stdout = std::io::stdout().lock();
                    // The parent gone (a closed pipe) ends the child.
                    if writeln!(stdout, "acked {key}")
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
}
