//! Disk full: `rondo dev` runs with its data folder on a small tmpfs (mounted in a user and mount
//! namespace of its own, so no root is needed: `unshare --user --map-root-user --mount`), the
//! test fills the tmpfs with a file, and then:
//! - writes are refused in each protocol's server-error shape: DynamoDB's `InternalServerError`
//!   (500), a wasm function's table call answers the same error to the function, and Lambda's
//!   `Invoke` with `InvocationType: Event` answers `ServiceException` (500), never 202, for an
//!   event it could not store;
//! - reads keep working;
//! - once the file is removed, writes succeed again without a restart, and every event that was
//!   accepted runs;
//! - a stream trigger whose function's writes (and checkpoint writes) failed meanwhile delivers
//!   every record once there is room;
//! - after a clean stop, the data folder (copied out of the tmpfs) opens in a new `rondo dev`
//!   with everything that was acknowledged, and nothing that was refused.
//!
//! The test reaches the tmpfs through `/proc/<pid>/root` of the shell that holds the namespace.
//! Design note 013 records the decisions.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::json;

use crate::lambda_api::lambda;
use crate::support::dynamo::{Poll, dynamodb, s, wait_active};
use crate::support::streams::dynamodb_streams;
use crate::support::{App, Dev, address_after, capture, post, repo, test_wasm};

/// The tmpfs: room for the compiled-code cache and the store, which the filler then takes.
const TMPFS_MB: u64 = 192;
/// Bytes of the large attribute that makes a write need new pages of the store's file.
const LARGE_BYTES: usize = 300 * 1024;
/// Bytes of an event's padding: large, under the asynchronous payload limit (256 KiB).
const EVENT_PADDING_BYTES: usize = 200 * 1024;
/// The most large writes tried before the full disk must have refused one.
const N_WRITES_UNTIL_REFUSED_MAX: usize = 200;
/// How long to wait for the trigger to catch up once the disk has room (its retries back off up
/// to 5 s): a bound, not a speed expectation.
const DELIVERY_WAIT_S: u64 = 120;
/// Small writes tried while the disk is full.
const N_SMALL_WRITES_WHILE_FULL: usize = 20;
/// Events tried while the disk is full.
const N_EVENTS_WHILE_FULL: usize = 5;

const MANIFEST: &str = r#"[app]
name = "disk-full"

[function.store]
wasm = "tables.wasm"
timeout_ms = 60000

[function.add-to-cart]
wasm = "add-to-cart.wasm"
timeout_ms = 60000

[[route]]
route = "POST /carts/{cartId}/items"
function = "add-to-cart"

[function.recorder]
wasm = "trigger.wasm"
timeout_ms = 60000
environment = { LOG_TABLE = "deliveries" }

[table.items]
partition_key = { name = "id", type = "S" }
stream = "KEYS_ONLY"

[table.deliveries]
partition_key = { name = "id", type = "S" }

[[trigger]]
source = "table:items"
function = "recorder"
starting_position = "TRIM_HORIZON"
batch_size = 100

[table.carts]
partition_key = { name = "cartId", type = "S" }
sort_key = { name = "itemId", type = "S" }
"#;

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::print_stderr,
    reason = "what the full disk did is the test's record; libtest shows it with the output"
)]
async fn a_full_disk_refuses_writes_in_each_protocols_shape_and_service_resumes() {
    let app = App::new(
        MANIFEST,
        &[
            ("tables.wasm", test_wasm("test_tables.wasm")),
            ("trigger.wasm", test_wasm("test_trigger.wasm")),
            (
                "add-to-cart.wasm",
                repo().join("examples/cart/add-to-cart.wasm"),
            ),
        ],
    );
    let mount = tempfile::tempdir().expect("a mount point");
    let full = TmpfsDev::start(&app, mount.path());
    let dev = &full.dev;
    let client = dynamodb(dev);
    wait_active(&client, "items").await;
    let mut acknowledged = BTreeSet::new();
    for idx in 0..10 {
        let id = format!("before-{idx}");
        put_item(&client, &id, 10).await.expect("the disk has room");
        acknowledged.insert(id);
    }

    full.fill();
    let refused = refuse_writes(&client, &mut acknowledged).await;
    eprintln!(
        "disk full: {} large writes acknowledged before the first refusal",
        acknowledged.len()
    );
    check_reads(&client, &acknowledged, &refused).await;
    // Small writes may still fit in the file's free pages: those acknowledged must stay, and
    // their stream records reach the trigger, whose own writes may fail meanwhile.
    let mut n_small_fit = 0;
    for idx in 0..N_SMALL_WRITES_WHILE_FULL {
        let id = format!("small-{idx}");
        match put_item(&client, &id, 10).await {
            Ok(()) => {
                acknowledged.insert(id);
                n_small_fit += 1;
            }
            Err(error) => assert!(
                error.starts_with("500 InternalServerError"),
                "PutItem {id} on a full disk: {error}"
            ),
        }
    }
    eprintln!("disk full: {n_small_fit} of {N_SMALL_WRITES_WHILE_FULL} small writes fit");
    let function_error = function_write_while_full(dev).await;
    eprintln!("disk full: the function saw {function_error}");
    let gateway = post(
        &dev.url("/carts/full/items"),
        json!({"itemId": "tea", "quantity": 1}).to_string(),
    )
    .await;
    // The cart's small write may still fit in the file's free pages; if not, its function fails
    // and the route answers API Gateway's error.
    assert!(
        gateway.status == 200
            || (gateway.status >= 500 && gateway.json()["message"] == "Internal Server Error"),
        "POST /carts/full/items while the disk is full: {} {}",
        gateway.status,
        gateway.text()
    );
    let accepted = events_while_full(dev).await;
    eprintln!(
        "disk full: POST /carts/full/items answered {}; {} of {N_EVENTS_WHILE_FULL} large events accepted",
        gateway.status,
        accepted.len()
    );
    check_reads(&client, &acknowledged, &refused).await;

    // Room again: writes succeed at once, and the accepted events run.
    full.free();
    let id = "after-free".to_owned();
    put_item(&client, &id, LARGE_BYTES)
        .await
        .unwrap_or_else(|error| panic!("the first write after the disk has room: {error}"));
    acknowledged.insert(id);
    wait_for_events(&client, &accepted).await;
    check_reads(&client, &acknowledged, &refused).await;
    // The trigger, whose function's writes and whose checkpoint writes failed meanwhile, catches
    // up: every record of the stream is delivered.
    let n_records = wait_for_deliveries(dev).await;
    eprintln!("disk full: all {n_records} stream records delivered after the space returned");

    // A clean stop, then the data folder in a new node: everything acknowledged is there.
    let stderr = full.dev.stderr();
    assert!(
        !stderr.contains("panicked"),
        "rondo dev panicked on the full disk:\n{stderr}"
    );
    eprintln!("disk full: rondo dev's messages:\n{stderr}");
    let data = full.stop();
    let dev = Dev::start(&app);
    assert!(data.exists(), "the data folder was copied out of the tmpfs");
    let client = dynamodb(&dev);
    wait_active(&client, "items").await;
    check_reads(&client, &acknowledged, &refused).await;
    wait_for_events(&client, &accepted).await;
    put_item(&client, "after-restart", 10)
        .await
        .expect("a write after the restart");
    wait_for_deliveries(&dev).await;
}

/// Large PutItems until one is refused; returns the refused id. Every refusal is DynamoDB's
/// `InternalServerError` with status 500.
async fn refuse_writes(client: &Client, acknowledged: &mut BTreeSet<String>) -> String {
    for idx in 0..N_WRITES_UNTIL_REFUSED_MAX {
        let id = format!("large-{idx}");
        match put_item(client, &id, LARGE_BYTES).await {
            Ok(()) => {
                acknowledged.insert(id);
            }
            Err(error) => {
                assert!(
                    error.starts_with("500 InternalServerError"),
                    "PutItem {id} on a full disk: {error}"
                );
                return id;
            }
        }
    }
    panic!("{N_WRITES_UNTIL_REFUSED_MAX} large writes fit on a full disk")
}

/// Every acknowledged item can be read (GetItem and a Scan), and the refused one is absent.
async fn check_reads(client: &Client, acknowledged: &BTreeSet<String>, refused: &str) {
    for id in acknowledged {
        let item = client
            .get_item()
            .table_name("items")
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetItem {id}: {e:?}"));
        assert!(item.item.is_some(), "acknowledged item {id} is missing");
    }
    let refused_item = client
        .get_item()
        .table_name("items")
        .key("id", s(refused))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem of the refused id");
    assert!(
        refused_item.item.is_none(),
        "the refused write {refused} is in the table"
    );
    let mut n_scanned = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("items")
            .projection_expression("id")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Scan: {e:?}"));
        n_scanned += page.items().len();
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    assert!(
        n_scanned >= acknowledged.len(),
        "a scan saw {n_scanned} items, {} were acknowledged",
        acknowledged.len()
    );
}

/// A wasm function's large put while the disk is full: the function gets the table error
/// (`test_tables` answers it as `{"error": {"code", "message"}}`). Returns the code.
async fn function_write_while_full(dev: &Dev) -> String {
    let large = "x".repeat(LARGE_BYTES);
    for idx in 0..N_WRITES_UNTIL_REFUSED_MAX {
        let event = json!({
            "action": "put",
            "table": "items",
            "item": {"id": format!("function-{idx}"), "large": large},
        });
        let reply = post(
            &format!("{}/2015-03-31/functions/store/invocations", dev.aws),
            event.to_string(),
        )
        .await;
        assert_eq!(reply.status, 200, "Invoke: {}", reply.text());
        let answer = reply.json();
        if let Some(error) = answer.get("error") {
            assert_eq!(error["code"], "InternalServerError", "{answer}");
            return error["code"].as_str().expect("a code").to_owned();
        }
    }
    panic!("the function's large writes all fit on a full disk")
}

/// Large events while the disk is full: each answer is 202 (stored) or Lambda's
/// `ServiceException` (500); at least one is refused. Returns the ids of the accepted ones.
async fn events_while_full(dev: &Dev) -> BTreeSet<String> {
    let client = lambda(dev);
    let padding = "x".repeat(EVENT_PADDING_BYTES);
    let mut accepted = BTreeSet::new();
    let mut n_refused = 0;
    for idx in 0..N_EVENTS_WHILE_FULL {
        let id = format!("event-{idx}");
        let event =
            json!({"action": "put", "table": "items", "item": {"id": id}, "padding": padding});
        let invoked = client
            .invoke()
            .function_name("store")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(event.to_string()))
            .send()
            .await;
        match invoked {
            Ok(output) => {
                assert_eq!(output.status_code(), 202, "{output:?}");
                accepted.insert(id);
            }
            Err(SdkError::ServiceError(error)) => {
                assert_eq!(error.raw().status().as_u16(), 500, "{error:?}");
                assert_eq!(error.err().code(), Some("ServiceException"), "{error:?}");
                n_refused += 1;
            }
            Err(error) => panic!("Invoke (Event) {id}: {error:?}"),
        }
    }
    assert!(n_refused > 0, "every large event was stored on a full disk");
    accepted
}

async fn wait_for_events(client: &Client, accepted: &BTreeSet<String>) {
    let poll = Poll::new("the accepted events to run", Duration::from_secs(120));
    for id in accepted {
        loop {
            let item = client
                .get_item()
                .table_name("items")
                .key("id", s(id))
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetItem {id}: {e:?}"));
            if item.item.is_some() {
                break;
            }
            poll.tick(id).await;
        }
    }
}

/// Waits until every record of `items`' stream is in `deliveries` (the trigger's function writes
/// one item per record it is given, with its sequence number in `seq`); returns how many there
/// are.
async fn wait_for_deliveries(dev: &Dev) -> usize {
    let client = dynamodb(dev);
    let items = wait_active(&client, "items").await;
    let arn = items.latest_stream_arn().expect("items has a stream");
    let seqs = stream_seqs(&dynamodb_streams(dev), arn).await;
    let poll = Poll::new(
        "every stream record delivered",
        Duration::from_secs(DELIVERY_WAIT_S),
    );
    loop {
        let mut delivered = BTreeSet::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name("deliveries")
                .projection_expression("seq")
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("Scan deliveries: {e:?}"));
            for item in page.items() {
                let seq = item["seq"].as_s().expect("seq is a string");
                delivered.insert(seq.clone());
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        let n_missing = seqs.difference(&delivered).count();
        if n_missing == 0 {
            return seqs.len();
        }
        poll.tick(format!(
            "{n_missing} of {} records not delivered",
            seqs.len()
        ))
        .await;
    }
}

/// The sequence numbers of every record of the stream at `arn`.
async fn stream_seqs(streams: &aws_sdk_dynamodbstreams::Client, arn: &str) -> BTreeSet<String> {
    let described = streams
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeStream: {e:?}"));
    let mut seqs = BTreeSet::new();
    let description = described.stream_description().expect("StreamDescription");
    for shard in description.shards() {
        let shard_id = shard.shard_id().expect("ShardId");
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetShardIterator {shard_id}: {e:?}"))
            .shard_iterator
            .expect("ShardIterator");
        loop {
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRecords {shard_id}: {e:?}"));
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                let body = record.dynamodb().expect("dynamodb");
                seqs.insert(body.sequence_number().expect("SequenceNumber").to_owned());
            }
            match page.next_shard_iterator {
                Some(next) => iterator = next,
                None => break,
            }
        }
    }
    seqs
}

/// A PutItem of `id` with `bytes` of padding; an error as `"<status> <code>: <message>"`.
async fn put_item(client: &Client, id: &str, bytes: usize) -> Result<(), String> {
    let put = client
        .put_item()
        .table_name("items")
        .item("id", s(id))
        .item("padding", s(&"x".repeat(bytes)))
        .send()
        .await;
    match put {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(error)) => Err(format!(
            "{} {}: {}",
            error.raw().status().as_u16(),
            error.err().code().unwrap_or("<no code>"),
            error.err().message().unwrap_or("<no message>")
        )),
        Err(error) => panic!("PutItem {id}: {error:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// rondo dev on a tmpfs
// ---------------------------------------------------------------------------------------------

/// `rondo dev` with its data folder on a tmpfs of its own.
struct TmpfsDev {
    dev: Dev,
    /// The process that holds the namespace, through which the test reaches the tmpfs.
    shell_pid: u32,
    rondo_pid: u32,
    mount: PathBuf,
    /// Where the shell copies the data folder when `rondo dev` has stopped.
    copy: PathBuf,
    /// Whether `rondo dev` has ended (so its pid is no longer its own).
    stopped: bool,
}

impl TmpfsDev {
    fn start(app: &App, mount: &Path) -> TmpfsDev {
        let copy = app.path().join(".rondo");
        // The shell mounts the tmpfs, runs rondo, and copies the data folder out when it ends.
        let script = r#"mount -t tmpfs -o size="$1" tmpfs "$2" || exit 97
data="$2/data"; copy="$3"; shift 3
"$@" --data "$data" &
echo "rondo pid $!" >&2
wait $!; status=$?
cp -a "$data" "$copy" || exit 98
exit $status"#;
        let mut child = Command::new("unshare")
            .args([
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(format!("{TMPFS_MB}m"))
            .arg(mount)
            .arg(&copy)
            .arg(env!("CARGO_BIN_EXE_rondo"))
            .arg("dev")
            .arg(app.path())
            .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let shell_pid = child.id();
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = stderr.lock().expect("lock").clone();
            let gateway = address_after(&text, "gateway");
            let aws = address_after(&text, "aws endpoint");
            let rondo_pid = text
                .lines()
                .find_map(|line| line.strip_prefix("rondo pid "))
                .map(|pid| pid.trim().parse::<u32>().expect("a pid"));
            if let (Some(gateway), Some(aws), Some(rondo_pid)) = (gateway, aws, rondo_pid) {
                let dev = Dev {
                    child,
                    gateway,
                    aws,
                    stdout,
                    stderr,
                };
                return TmpfsDev {
                    dev,
                    shell_pid,
                    rondo_pid,
                    mount: mount.to_path_buf(),
                    copy,
                    stopped: false,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("unshare and rondo dev exited with {status}: {text}");
            }
            assert!(Instant::now() < deadline, "rondo dev did not start: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The filler file, as this process reaches it inside the namespace.
    fn filler(&self) -> PathBuf {
        let inside = self
            .mount
            .strip_prefix("/")
            .expect("the mount point is absolute");
        Path::new(&format!("/proc/{}/root", self.shell_pid))
            .join(inside)
            .join("filler")
    }

    /// Fills the tmpfs: writes the filler until the disk has no room left.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.filler())
            .unwrap_or_else(|e| panic!("create {}: {e}", self.filler().display()));
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(error) = file.write_all(&chunk) {
                assert_eq!(
                    error.raw_os_error(),
                    Some(28),
                    "the filler fails only with ENOSPC: {error}"
                );
                break;
            }
        }
        // The last bytes that do fit.
        let byte = [0u8];
        while file.write_all(&byte).is_ok() {}
    }

    /// Makes room again.
    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }

    /// Stops `rondo dev` cleanly (SIGINT) and waits for the shell to copy the data folder out;
    /// returns the copy.
    fn stop(mut self) -> PathBuf {
        let status = Command::new("kill")
            .args(["-INT", &self.rondo_pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.dev.child.try_wait().expect("wait") {
                self.stopped = true;
                assert!(
                    status.success(),
                    "rondo dev and the copy ended with {status}: {}",
                    self.dev.stderr()
                );
                return self.copy.clone();
            }
            assert!(Instant::now() < deadline, "rondo dev did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TmpfsDev {
    fn drop(&mut self) {
        // `Dev`'s drop kills the shell; rondo, its child, is killed here, or it would outlive
        // a failed test.
        if !self.stopped {
            let _ = Command::new("kill")
                .args(["-KILL", &self.rondo_pid.to_string()])
                .status();
        }
    }
}
