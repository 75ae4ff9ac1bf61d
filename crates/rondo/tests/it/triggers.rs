//! Stream triggers: every change to a table with a stream reaches the functions that subscribe to
//! it, in batches, in order per partition key, with Lambda's event source mapping knobs (batch
//! size, starting position, retries, bisecting, partial batch responses, filters, an on-failure
//! destination) and a checkpoint that survives a restart.
//!
//! The function is `test-programs/trigger` (`test_trigger.wasm`): it writes one item per record
//! and invocation into the `log` table (`id` = `<SequenceNumber>#<request id>`), so the log tells
//! which records each invocation saw, and at which position of its batch. A record whose new image
//! has `fail = true` fails its invocation (`FAIL_MODE = "error"`) or is reported in
//! `batchItemFailures` (`FAIL_MODE = "partial"`).
//!
//! Changes are written through the AWS endpoint with the DynamoDB SDK. Records that must land in
//! one batch are written before the trigger exists (an app without the `[[trigger]]`, stopped and
//! started again with it), so the poller finds them all at once; records that must share a shard
//! (to be ordered) share a partition key.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::support::dynamo::{Item, Poll, dynamodb, get_n, get_s, n, s};
use crate::support::{App, Dev, test_wasm};

/// How long a test waits for deliveries it expects: a bound, not a speed expectation.
const DELIVERY_WAIT_S: u64 = 60;
/// How long a test waits, once what it expects has arrived, for anything that should not come.
const SETTLE_MS: u64 = 500;

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn every_change_reaches_the_function_once_in_order_per_key() {
    every_change_once_in_order(TRIM_HORIZON, 3).await;
}

/// With a parallelization factor, a shard's records are delivered by several concurrent
/// batches, and still each change once, in order per key.
#[tokio::test(flavor = "multi_thread")]
async fn a_parallelization_factor_keeps_order_per_key() {
    every_change_once_in_order(
        &format!("{TRIM_HORIZON}\nparallelization_factor = 3\nbatch_size = 2"),
        12,
    )
    .await;
}

async fn every_change_once_in_order(knobs: &str, n_keys: usize) {
    let app = trigger_app(None, Some(knobs));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    const N_VERSIONS: usize = 8;
    for version in 0..N_VERSIONS {
        for key_idx in 0..n_keys {
            put(
                &client,
                &format!("cart{key_idx}"),
                "line",
                &[("version", n(&version.to_string()))],
            )
            .await;
        }
    }

    wait_for_log(&client, "every change to be delivered", |log| {
        distinct_seqs(log).len() >= n_keys * N_VERSIONS
    })
    .await;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let log = read_log(&client).await;

    assert_eq!(
        distinct_seqs(&log).len(),
        n_keys * N_VERSIONS,
        "one record per change: {log:#?}"
    );
    assert_eq!(
        log.len(),
        n_keys * N_VERSIONS,
        "each record delivered once: {log:#?}"
    );
    assert_invocations_are_consistent(&log);
    for key_idx in 0..n_keys {
        let pk = format!("cart{key_idx}");
        let deliveries = by_seq(log.iter().filter(|delivery| delivery.pk == pk));
        let seen: Vec<(String, Option<Value>, Option<Value>)> = deliveries
            .iter()
            .map(|delivery| {
                (
                    delivery.event_name.clone(),
                    delivery
                        .new_image
                        .as_ref()
                        .map(|image| image["version"].clone()),
                    delivery
                        .old_image
                        .as_ref()
                        .map(|image| image["version"].clone()),
                )
            })
            .collect();
        let expected: Vec<(String, Option<Value>, Option<Value>)> = (0..N_VERSIONS)
            .map(|version| {
                let name = if version == 0 { "INSERT" } else { "MODIFY" };
                let old = version
                    .checked_sub(1)
                    .map(|old| json!({"N": old.to_string()}));
                (
                    name.to_owned(),
                    Some(json!({"N": version.to_string()})),
                    old,
                )
            })
            .collect();
        assert_eq!(
            seen, expected,
            "the changes of {pk}, in sequence-number order"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn insert_modify_and_remove_carry_their_images_in_lambdas_event() {
    let app = trigger_app(None, Some(TRIM_HORIZON));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    put(&client, "c1", "tea", &[("count", n("1"))]).await;
    client
        .update_item()
        .table_name("carts")
        .key("pk", s("c1"))
        .key("sk", s("tea"))
        .update_expression("SET #count = :two")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":two", n("2"))
        .send()
        .await
        .expect("UpdateItem");
    client
        .delete_item()
        .table_name("carts")
        .key("pk", s("c1"))
        .key("sk", s("tea"))
        .send()
        .await
        .expect("DeleteItem");

    let log = wait_for_log(&client, "the three changes", |log| {
        distinct_seqs(log).len() >= 3
    })
    .await;
    let deliveries = by_seq(log.iter());
    let keys = json!({"pk": {"S": "c1"}, "sk": {"S": "tea"}});
    let one = json!({"pk": {"S": "c1"}, "sk": {"S": "tea"}, "count": {"N": "1"}});
    let two = json!({"pk": {"S": "c1"}, "sk": {"S": "tea"}, "count": {"N": "2"}});
    let seen: Vec<(&str, Option<&Value>, Option<&Value>)> = deliveries
        .iter()
        .map(|delivery| {
            (
                delivery.event_name.as_str(),
                delivery.new_image.as_ref(),
                delivery.old_image.as_ref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("INSERT", Some(&one), None),
            ("MODIFY", Some(&two), Some(&one)),
            ("REMOVE", None, Some(&two)),
        ],
        "event names and images, in sequence-number order"
    );

    let mut event_ids = BTreeSet::new();
    for delivery in &deliveries {
        let record = &delivery.record;
        assert_eq!(record["eventSource"], "aws:dynamodb", "{record}");
        assert_eq!(
            record["eventName"],
            delivery.event_name.as_str(),
            "{record}"
        );
        assert_eq!(record["eventVersion"], "1.1", "{record}");
        assert!(
            record["awsRegion"]
                .as_str()
                .is_some_and(|region| !region.is_empty()),
            "awsRegion: {record}"
        );
        let arn = record["eventSourceARN"].as_str().unwrap_or_default();
        assert!(
            arn.starts_with("arn:aws:dynamodb:") && arn.contains(":table/carts/stream/"),
            "eventSourceARN is the stream's ARN: {record}"
        );
        assert!(
            record["eventID"]
                .as_str()
                .is_some_and(|id| event_ids.insert(id.to_owned())),
            "eventID is a string, unique per record: {record}"
        );
        let dynamodb = &record["dynamodb"];
        assert_eq!(dynamodb["Keys"], keys, "{record}");
        assert_eq!(dynamodb["StreamViewType"], "NEW_AND_OLD_IMAGES", "{record}");
        assert_eq!(
            dynamodb["SequenceNumber"],
            delivery.seq.as_str(),
            "{record}"
        );
        assert!(
            dynamodb["SizeBytes"].as_u64().is_some_and(|size| size > 0),
            "SizeBytes: {record}"
        );
        assert!(
            dynamodb["ApproximateCreationDateTime"].is_number(),
            "ApproximateCreationDateTime is epoch seconds (a number): {record}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_invocation_has_more_than_batch_size_records() {
    const N_RECORDS: usize = 20;
    const BATCH_SIZE: usize = 3;
    let app = trigger_app(None, None);
    prefill(&app, |client| async move {
        for line_idx in 0..N_RECORDS {
            put(&client, "cart", &format!("line{line_idx:02}"), &[]).await;
        }
    })
    .await;

    write_manifest(
        &app,
        None,
        Some(&format!("{TRIM_HORIZON}\nbatch_size = {BATCH_SIZE}")),
    );
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);
    let log = wait_for_log(&client, "every record", |log| {
        distinct_seqs(log).len() >= N_RECORDS
    })
    .await;

    assert_invocations_are_consistent(&log);
    let invocations = invocations(&log);
    let sizes: Vec<usize> = invocations.values().map(Vec::len).collect();
    assert!(
        sizes.iter().all(|size| *size <= BATCH_SIZE),
        "no batch above {BATCH_SIZE}: sizes {sizes:?}"
    );
    assert!(
        sizes.contains(&BATCH_SIZE),
        "{N_RECORDS} waiting records fill batches of {BATCH_SIZE}: sizes {sizes:?}"
    );
    assert_eq!(log.len(), N_RECORDS, "each record once: {log:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn trim_horizon_delivers_the_records_written_before_the_trigger() {
    let delivered = starting_position_deliveries(TRIM_HORIZON).await;
    assert_eq!(
        delivered,
        ["before0", "before1", "after0", "after1"],
        "TRIM_HORIZON starts at the oldest record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_delivers_only_the_records_written_after_the_trigger() {
    let delivered = starting_position_deliveries("starting_position = \"LATEST\"").await;
    assert_eq!(
        delivered,
        ["after0", "after1"],
        "LATEST starts after the newest record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_record_is_retried_then_its_batch_goes_to_the_on_failure_table() {
    let knobs =
        format!("{TRIM_HORIZON}\nmaximum_retry_attempts = 2\non_failure = \"table:failures\"");
    let app = trigger_app(Some("error"), Some(&knobs));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    // A good record first, delivered on its own, so the failing batch holds only the bad one.
    put(&client, "cart", "good0", &[]).await;
    wait_for_log(&client, "the first good record", |log| {
        sks(log).contains("good0")
    })
    .await;
    put(&client, "cart", "bad", &fail_if(true)).await;

    let failures = wait_for_failures(&client, "the failed batch in the on-failure table", 1).await;
    let log = read_log(&client).await;
    let bad = deliveries_of(&log, "bad");
    assert_eq!(
        bad.len(),
        3,
        "the first invocation and 2 retries see the bad record: {bad:#?}"
    );
    assert!(bad.iter().all(|delivery| delivery.failed), "{bad:#?}");
    let bad_seq = &bad[0].seq;
    let stream_arn = bad[0].record["eventSourceARN"].as_str().unwrap_or_default();
    let failure = &failures[0];
    assert_batch_info(failure, bad_seq, bad_seq, 1, stream_arn);
    assert_request_context(failure, 3);

    // The shard moves on: later records are delivered, and the bad one is not seen again.
    put(&client, "cart", "good1", &[]).await;
    let log = wait_for_log(&client, "the record after the failure", |log| {
        sks(log).contains("good1")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let log_after = read_log(&client).await;
    assert_eq!(
        deliveries_of(&log_after, "bad").len(),
        3,
        "no more retries: {log:#?}"
    );
    assert_eq!(
        deliveries_of(&log_after, "good0").len(),
        1,
        "{log_after:#?}"
    );
    assert_eq!(
        deliveries_of(&log_after, "good1").len(),
        1,
        "{log_after:#?}"
    );
    assert_eq!(read_failures(&client).await.len(), 1, "one failed batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn bisecting_a_failing_batch_delivers_its_good_records() {
    const LINES: [&str; 8] = ["g0", "g1", "g2", "g3", "g4", "bad", "g5", "g6"];
    let app = trigger_app(Some("error"), None);
    prefill(&app, |client| async move {
        for line in LINES {
            put(&client, "cart", line, &fail_if(line == "bad")).await;
        }
    })
    .await;

    // Splits do not count as retries (Lambda's rule): with no retries at all, bisecting still
    // narrows the failing batch down.
    let knobs = format!(
        "{TRIM_HORIZON}\nbisect_batch_on_function_error = true\nmaximum_retry_attempts = 0\non_failure = \"table:failures\""
    );
    write_manifest(&app, Some("error"), Some(&knobs));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    let good: BTreeSet<&str> = LINES
        .iter()
        .copied()
        .filter(|line| *line != "bad")
        .collect();
    let log = wait_for_log(
        &client,
        "every good record in a successful invocation",
        |log| good.iter().all(|line| succeeded(log).contains(*line)),
    )
    .await;
    let failures = wait_for_failures(
        &client,
        "the isolated bad record in the on-failure table",
        1,
    )
    .await;

    let invocations = invocations(&log);
    let first = invocations
        .values()
        .find(|batch| batch.len() == LINES.len())
        .unwrap_or_else(|| {
            panic!(
                "the first invocation holds all {} waiting records: {invocations:#?}",
                LINES.len()
            )
        });
    assert!(first.iter().any(|delivery| delivery.failed), "{first:#?}");
    assert!(
        !succeeded(&log).contains("bad"),
        "the bad record never succeeds: {log:#?}"
    );
    let bad = deliveries_of(&log, "bad");
    let bad_seq = bad[0].seq.as_str();
    let stream_arn = bad[0].record["eventSourceARN"].as_str().unwrap_or_default();
    // The batch given up holds the bad record and is smaller than the batch first delivered
    // (Lambda may describe more than the one record: it consolidates failed batches' metadata).
    let info = batch_info(&failures[0]);
    let start = info
        .get("startSequenceNumber")
        .and_then(as_s)
        .unwrap_or_default();
    let end = info
        .get("endSequenceNumber")
        .and_then(as_s)
        .unwrap_or_default();
    let size: usize = info
        .get("batchSize")
        .and_then(as_n)
        .and_then(|size| size.parse().ok())
        .unwrap_or_default();
    assert!(
        compare_seqs(start, bad_seq).is_le() && compare_seqs(bad_seq, end).is_le(),
        "the failed batch {start}..={end} holds the bad record {bad_seq}: {failures:#?}"
    );
    assert!(
        (1..LINES.len()).contains(&size),
        "the failed batch was split: {failures:#?}"
    );
    assert_eq!(
        info.get("streamArn").and_then(as_s),
        Some(stream_arn),
        "{failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_batch_response_retries_from_the_failing_record() {
    const LINES: [&str; 5] = ["g0", "g1", "bad", "g2", "g3"];
    let app = trigger_app(Some("partial"), None);
    prefill(&app, |client| async move {
        for line in LINES {
            put(&client, "cart", line, &fail_if(line == "bad")).await;
        }
    })
    .await;

    let knobs = format!(
        "{TRIM_HORIZON}\nreport_batch_item_failures = true\nmaximum_retry_attempts = 2\non_failure = \"table:failures\""
    );
    write_manifest(&app, Some("partial"), Some(&knobs));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    let failures = wait_for_failures(&client, "the failed batch in the on-failure table", 1).await;
    let log = read_log(&client).await;
    assert_invocations_are_consistent(&log);

    let batches = by_first_seq(invocations(&log));
    let invocations: Vec<Vec<&str>> = batches
        .iter()
        .map(|batch| batch.iter().map(sk_of).collect())
        .collect();
    assert_eq!(
        invocations,
        vec![LINES.to_vec(), LINES[2..].to_vec(), LINES[2..].to_vec()],
        "the batch, then 2 retries from the reported record (checkpointed before it)"
    );
    let bad = deliveries_of(&log, "bad");
    let stream_arn = bad[0].record["eventSourceARN"].as_str().unwrap_or_default();
    let info = batch_info(&failures[0]);
    assert_eq!(
        info.get("startSequenceNumber").and_then(as_s),
        Some(bad[0].seq.as_str()),
        "{failures:#?}"
    );
    assert_eq!(
        info.get("streamArn").and_then(as_s),
        Some(stream_arn),
        "{failures:#?}"
    );
    assert_request_context(&failures[0], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_patterns_deliver_only_matching_records() {
    let knobs = format!(
        "{TRIM_HORIZON}\nfilter_patterns = ['{{\"eventName\": [\"INSERT\"]}}', '{{\"dynamodb\": {{\"NewImage\": {{\"status\": {{\"S\": [\"PAID\"]}}}}}}}}']"
    );
    let app = trigger_app(None, Some(&knobs));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);

    put(&client, "cart", "a", &[("status", s("NEW"))]).await; // INSERT: matches
    put(&client, "cart", "a", &[("status", s("PAID"))]).await; // MODIFY to PAID: matches
    put(&client, "cart", "a", &[("status", s("SHIPPED"))]).await; // MODIFY: no match
    client
        .delete_item()
        .table_name("carts")
        .key("pk", s("cart"))
        .key("sk", s("a"))
        .send()
        .await
        .expect("DeleteItem"); // REMOVE: no match
    put(&client, "cart", "b", &[("status", s("SHIPPED"))]).await; // INSERT: matches, and comes last

    wait_for_log(&client, "the last matching record", |log| {
        sks(log).contains("b")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let log = read_log(&client).await;
    let seen: Vec<(String, String, Value)> = by_seq(log.iter())
        .iter()
        .map(|delivery| {
            let status = delivery
                .new_image
                .as_ref()
                .map(|image| image["status"].clone());
            (
                sk_of(delivery).to_owned(),
                delivery.event_name.clone(),
                status.unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a".to_owned(), "INSERT".to_owned(), json!({"S": "NEW"})),
            ("a".to_owned(), "MODIFY".to_owned(), json!({"S": "PAID"})),
            ("b".to_owned(), "INSERT".to_owned(), json!({"S": "SHIPPED"})),
        ],
        "only the records some pattern matches"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_resumes_from_the_checkpoint() {
    const N_BEFORE: usize = 10;
    const N_AFTER: usize = 5;
    let app = trigger_app(None, Some(TRIM_HORIZON));
    {
        let dev = Dev::start(&app);
        let client = dynamodb(&dev);
        for line_idx in 0..N_BEFORE {
            put(&client, "cart", &format!("before{line_idx:02}"), &[]).await;
        }
        wait_for_log(&client, "the records before the restart", |log| {
            distinct_seqs(log).len() >= N_BEFORE
        })
        .await;
        // One batch is in flight at a time per shard and checkpointed when it succeeds, so once a
        // later record is delivered the batches before it are checkpointed; only the marker's own
        // batch may be delivered again after the kill.
        put(&client, "cart", "marker", &[]).await;
        wait_for_log(&client, "the marker", |log| sks(log).contains("marker")).await;
        // `dev` is killed (SIGKILL) here.
    }

    let dev = Dev::start(&app);
    let client = dynamodb(&dev);
    for line_idx in 0..N_AFTER {
        put(&client, "cart", &format!("after{line_idx:02}"), &[]).await;
    }
    wait_for_log(&client, "the records after the restart", |log| {
        distinct_seqs(log).len() >= N_BEFORE + 1 + N_AFTER
    })
    .await;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let log = read_log(&client).await;

    for line_idx in 0..N_BEFORE {
        let line = format!("before{line_idx:02}");
        assert_eq!(deliveries_of(&log, &line).len(), 1, "{line} once: {log:#?}");
    }
    let marker = deliveries_of(&log, "marker").len();
    assert!(
        matches!(marker, 1 | 2),
        "the marker once, or again after the kill: {log:#?}"
    );
    for line_idx in 0..N_AFTER {
        let line = format!("after{line_idx:02}");
        assert_eq!(deliveries_of(&log, &line).len(), 1, "{line} once: {log:#?}");
    }
    let order: Vec<&str> = by_seq(log.iter())
        .iter()
        .map(|delivery| sk_of(delivery))
        .collect();
    let mut expected: Vec<String> = (0..N_BEFORE).map(|idx| format!("before{idx:02}")).collect();
    expected.push("marker".to_owned());
    expected.extend((0..N_AFTER).map(|idx| format!("after{idx:02}")));
    let mut distinct_order = order.clone();
    distinct_order.dedup();
    assert_eq!(distinct_order, expected, "in sequence-number order");
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

const TRIM_HORIZON: &str = "starting_position = \"TRIM_HORIZON\"";

/// The app's manifest: `carts` with a stream, the `log` and `failures` tables, the `status`
/// function (with `FAIL_MODE` when given) and, when `trigger` is given, a trigger from `carts`
/// to `status` with `trigger`'s lines as its knobs.
fn manifest(fail_mode: Option<&str>, trigger: Option<&str>) -> String {
    let environment = match fail_mode {
        Some(mode) => format!("{{ LOG_TABLE = \"log\", FAIL_MODE = \"{mode}\" }}"),
        None => "{ LOG_TABLE = \"log\" }".to_owned(),
    };
    let mut text = format!(
        r#"[app]
name = "triggers"

[table.carts]
partition_key = {{ name = "pk", type = "S" }}
sort_key = {{ name = "sk", type = "S" }}
stream = "NEW_AND_OLD_IMAGES"

[table.log]
partition_key = {{ name = "id", type = "S" }}

[table.failures]
partition_key = {{ name = "id", type = "S" }}

[function.status]
wasm = "trigger.wasm"
environment = {environment}
"#
    );
    if let Some(knobs) = trigger {
        text.push_str(&format!(
            "\n[[trigger]]\nsource = \"table:carts\"\nfunction = \"status\"\n{knobs}\n"
        ));
    }
    text
}

fn trigger_app(fail_mode: Option<&str>, trigger: Option<&str>) -> App {
    App::new(
        &manifest(fail_mode, trigger),
        &[("trigger.wasm", test_wasm("test_trigger.wasm"))],
    )
}

fn write_manifest(app: &App, fail_mode: Option<&str>, trigger: Option<&str>) {
    std::fs::write(app.path().join("rondo.toml"), manifest(fail_mode, trigger))
        .expect("write manifest");
}

/// Runs `write` against the app as it is (without a trigger), then stops it: its records wait in
/// the stream for the trigger the test declares next.
async fn prefill<F, Fut>(app: &App, write: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let dev = Dev::start(app);
    write(dynamodb(&dev)).await;
}

/// Writes two records, starts the app with a trigger at `position`, writes two more, and
/// answers the sort keys delivered, in sequence-number order.
async fn starting_position_deliveries(position: &str) -> Vec<String> {
    let app = trigger_app(None, None);
    prefill(&app, |client| async move {
        put(&client, "cart", "before0", &[]).await;
        put(&client, "cart", "before1", &[]).await;
    })
    .await;

    write_manifest(&app, None, Some(position));
    let dev = Dev::start(&app);
    let client = dynamodb(&dev);
    put(&client, "cart", "after0", &[]).await;
    put(&client, "cart", "after1", &[]).await;
    // All four share a shard: had the earlier ones been delivered, they came before "after1".
    wait_for_log(&client, "the records written after the start", |log| {
        sks(log).contains("after1")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let log = read_log(&client).await;
    by_seq(log.iter())
        .iter()
        .map(|delivery| sk_of(delivery).to_owned())
        .collect()
}

/// The attributes that make a record fail (`fail = true`) when `fail`, else none.
fn fail_if(fail: bool) -> Vec<(&'static str, AttributeValue)> {
    if fail {
        vec![("fail", AttributeValue::Bool(true))]
    } else {
        Vec::new()
    }
}

/// Puts the `carts` item `pk`/`sk` with extra attributes.
async fn put(client: &Client, pk: &str, sk: &str, attributes: &[(&str, AttributeValue)]) {
    let mut request = client
        .put_item()
        .table_name("carts")
        .item("pk", s(pk))
        .item("sk", s(sk));
    for (name, value) in attributes {
        request = request.item(*name, value.clone());
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem {pk}/{sk}: {e:?}"));
}

// ---------------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------------

/// One record as one invocation saw it: one item of the `log` table.
#[derive(Debug, Clone)]
struct Delivery {
    seq: String,
    event_name: String,
    pk: String,
    batch: usize,
    request: String,
    position: usize,
    new_image: Option<Value>,
    old_image: Option<Value>,
    failed: bool,
    record: Value,
}

impl Delivery {
    fn from_item(item: &Item) -> Delivery {
        let number = |name: &str| -> usize {
            get_n(item, name)
                .parse()
                .unwrap_or_else(|e| panic!("{name} is not a count ({e}): {item:?}"))
        };
        let json = |name: &str| -> Option<Value> {
            item.get(name).map(|value| {
                let text = value
                    .as_s()
                    .unwrap_or_else(|_| panic!("{name} is not a string: {item:?}"));
                serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {item:?}"))
            })
        };
        let delivery = Delivery {
            seq: get_s(item, "seq").to_owned(),
            event_name: get_s(item, "eventName").to_owned(),
            pk: get_s(item, "pk").to_owned(),
            batch: number("batch"),
            request: get_s(item, "request").to_owned(),
            position: number("position"),
            new_image: json("newImage"),
            old_image: json("oldImage"),
            failed: matches!(item.get("failed"), Some(AttributeValue::Bool(true))),
            record: json("record").unwrap_or_else(|| panic!("no record: {item:?}")),
        };
        assert_eq!(
            get_s(item, "id"),
            format!("{}#{}", delivery.seq, delivery.request),
            "the log item's id"
        );
        delivery
    }
}

/// Every item of the `log` table.
async fn read_log(client: &Client) -> Vec<Delivery> {
    scan_all(client, "log")
        .await
        .iter()
        .map(Delivery::from_item)
        .collect()
}

/// Polls the log until `condition` holds; answers the log that satisfied it.
async fn wait_for_log(
    client: &Client,
    what: &str,
    condition: impl Fn(&[Delivery]) -> bool,
) -> Vec<Delivery> {
    let poll = Poll::new(what, Duration::from_secs(DELIVERY_WAIT_S));
    loop {
        let log = read_log(client).await;
        if condition(&log) {
            return log;
        }
        poll.tick(summary(&log)).await;
    }
}

/// Polls the `failures` table until it has `count` items; answers them.
async fn wait_for_failures(client: &Client, what: &str, count: usize) -> Vec<Item> {
    let poll = Poll::new(what, Duration::from_secs(DELIVERY_WAIT_S));
    loop {
        let failures = read_failures(client).await;
        if failures.len() >= count {
            return failures;
        }
        let log = read_log(client).await;
        poll.tick((failures, summary(&log))).await;
    }
}

async fn read_failures(client: &Client) -> Vec<Item> {
    scan_all(client, "failures").await
}

/// The log in short: per invocation, `sk@seq` of each record (`!` when it failed).
fn summary(log: &[Delivery]) -> Vec<String> {
    by_first_seq(invocations(log))
        .iter()
        .map(|batch| {
            let records: Vec<String> = batch
                .iter()
                .map(|delivery| {
                    let mark = if delivery.failed { "!" } else { "" };
                    format!("{}{mark}@{}", sk_of(delivery), delivery.seq)
                })
                .collect();
            format!("{}: [{}]", batch[0].request, records.join(", "))
        })
        .collect()
}

async fn scan_all(client: &Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start_key = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Scan {table}: {e:?}"));
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start_key = Some(key.clone()),
            _ => return items,
        }
    }
}

/// The log's invocations: request id → its records, by position.
fn invocations(log: &[Delivery]) -> BTreeMap<String, Vec<Delivery>> {
    let mut invocations: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
    for delivery in log {
        invocations
            .entry(delivery.request.clone())
            .or_default()
            .push(delivery.clone());
    }
    for batch in invocations.values_mut() {
        batch.sort_by_key(|delivery| delivery.position);
    }
    invocations
}

/// Invocations ordered by the sequence number of their first record (then by request id).
fn by_first_seq(invocations: BTreeMap<String, Vec<Delivery>>) -> Vec<Vec<Delivery>> {
    let mut batches: Vec<Vec<Delivery>> = invocations.into_values().collect();
    batches.sort_by(|a, b| {
        compare_seqs(&a[0].seq, &b[0].seq).then_with(|| a[0].request.cmp(&b[0].request))
    });
    batches
}

/// Each invocation's records are at positions 0..batch, all say the same batch size, and come
/// in sequence-number order within each partition key.
fn assert_invocations_are_consistent(log: &[Delivery]) {
    for (request, batch) in invocations(log) {
        let positions: Vec<usize> = batch.iter().map(|delivery| delivery.position).collect();
        let expected: Vec<usize> = (0..batch.len()).collect();
        assert_eq!(
            positions, expected,
            "positions of invocation {request}: {batch:#?}"
        );
        assert!(
            batch.iter().all(|delivery| delivery.batch == batch.len()),
            "batch sizes of invocation {request}: {batch:#?}"
        );
        let pks: BTreeSet<&str> = batch.iter().map(|delivery| delivery.pk.as_str()).collect();
        for pk in pks {
            let seqs: Vec<&str> = batch
                .iter()
                .filter(|delivery| delivery.pk == pk)
                .map(|delivery| delivery.seq.as_str())
                .collect();
            assert!(
                seqs.windows(2)
                    .all(|pair| compare_seqs(pair[0], pair[1]) == Ordering::Less),
                "records of {pk} in invocation {request} in sequence-number order: {seqs:?}"
            );
        }
    }
}

/// Sequence numbers compare as numbers: by length (without leading zeros), then as text.
fn compare_seqs(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The deliveries, sorted by sequence number (a record seen twice stays twice).
fn by_seq<'l>(log: impl Iterator<Item = &'l Delivery>) -> Vec<&'l Delivery> {
    let mut deliveries: Vec<&Delivery> = log.collect();
    deliveries.sort_by(|a, b| compare_seqs(&a.seq, &b.seq).then_with(|| a.request.cmp(&b.request)));
    deliveries
}

fn distinct_seqs(log: &[Delivery]) -> BTreeSet<&str> {
    log.iter().map(|delivery| delivery.seq.as_str()).collect()
}

/// The `sk` of a delivery's item, from its keys.
fn sk_of(delivery: &Delivery) -> &str {
    delivery.record["dynamodb"]["Keys"]["sk"]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("no string sk in the keys: {delivery:#?}"))
}

/// The sort keys of every record delivered.
fn sks(log: &[Delivery]) -> BTreeSet<&str> {
    log.iter().map(sk_of).collect()
}

/// Every delivery of the item with sort key `sk`.
fn deliveries_of<'l>(log: &'l [Delivery], sk: &str) -> Vec<&'l Delivery> {
    by_seq(log.iter().filter(|delivery| sk_of(delivery) == sk))
}

/// The sort keys of the records delivered in an invocation that failed none of its records.
fn succeeded(log: &[Delivery]) -> BTreeSet<&str> {
    let failed_requests: BTreeSet<&str> = log
        .iter()
        .filter(|delivery| delivery.failed)
        .map(|delivery| delivery.request.as_str())
        .collect();
    log.iter()
        .filter(|delivery| !failed_requests.contains(delivery.request.as_str()))
        .map(sk_of)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The on-failure record
// ---------------------------------------------------------------------------------------------

fn as_s(value: &AttributeValue) -> Option<&str> {
    value.as_s().ok().map(String::as_str)
}

fn as_n(value: &AttributeValue) -> Option<&str> {
    value.as_n().ok().map(String::as_str)
}

/// The `DDBStreamBatchInfo` map of an on-failure item.
fn batch_info(failure: &Item) -> &Item {
    assert!(
        failure
            .get("id")
            .and_then(as_s)
            .is_some_and(|id| !id.is_empty()),
        "an id: {failure:#?}"
    );
    match failure.get("DDBStreamBatchInfo") {
        Some(AttributeValue::M(info)) => info,
        other => panic!("DDBStreamBatchInfo is not a map but {other:?}: {failure:#?}"),
    }
}

/// The failed batch described is `start..=end`, of `size` records, on the carts stream.
fn assert_batch_info(failure: &Item, start: &str, end: &str, size: usize, stream_arn: &str) {
    let info = batch_info(failure);
    let shard_id = info.get("shardId").and_then(as_s);
    assert!(
        shard_id.is_some_and(|id| !id.is_empty()),
        "shardId: {failure:#?}"
    );
    assert_eq!(
        info.get("startSequenceNumber").and_then(as_s),
        Some(start),
        "{failure:#?}"
    );
    assert_eq!(
        info.get("endSequenceNumber").and_then(as_s),
        Some(end),
        "{failure:#?}"
    );
    assert_eq!(
        info.get("batchSize").and_then(as_n),
        Some(size.to_string().as_str()),
        "{failure:#?}"
    );
    assert_eq!(
        info.get("streamArn").and_then(as_s),
        Some(stream_arn),
        "{failure:#?}"
    );
}

/// The failure's `requestContext` says the retries ran out after `invocations` invocations.
fn assert_request_context(failure: &Item, invocations: usize) {
    let context = match failure.get("requestContext") {
        Some(AttributeValue::M(context)) => context,
        other => panic!("requestContext is not a map but {other:?}: {failure:#?}"),
    };
    assert_eq!(
        context.get("condition").and_then(as_s),
        Some("RetryAttemptsExhausted"),
        "{failure:#?}"
    );
    assert_eq!(
        context.get("approximateInvokeCount").and_then(as_n),
        Some(invocations.to_string().as_str()),
        "{failure:#?}"
    );
}
