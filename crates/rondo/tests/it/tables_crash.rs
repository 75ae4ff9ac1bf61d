//! DynamoDB-compatible tables survive SIGKILL: every acknowledged write is there after a restart,
//! and the global secondary index agrees with the table.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::support::Dev;
use crate::support::dynamo::{
    Item, Poll, b, canonical_item, dynamodb, get_s, item, m, n, s, tables_app, wait_active,
};

const MANIFEST: &str = r#"
[table.ledger]
partition_key = { name = "id", type = "S" }

[[table.ledger.global_secondary_index]]
name = "byGroup"
partition_key = { name = "grp", type = "S" }
sort_key = { name = "seq", type = "N" }
projection = ["holder"]
"#;

const N_WRITERS: usize = 8;
/// Acknowledged writes to wait for before the kill, so the kill lands while writers are busy.
const N_ACKNOWLEDGED_BEFORE_KILL: usize = 2_000;
/// A bound on each writer, so a server that never dies cannot keep a test running.
const N_OPERATIONS_PER_WRITER_MAX: usize = 1_000_000;

/// What one writer knows: the state of each key it wrote, as acknowledged (`None`: deleted),
/// and the operation that was in flight when the server died (it may or may not have landed).
#[derive(Debug, Default)]
struct Ledger {
    acknowledged: HashMap<String, Option<Item>>,
    in_flight: Option<(String, Option<Item>)>,
}

fn entry(writer_idx: usize, key_op_idx: usize, version_op_idx: usize) -> Item {
    let id = format!("w{writer_idx}-{key_op_idx}");
    item(&[
        ("id", s(&id)),
        (
            "grp",
            s(&format!("g{}", (writer_idx * 31 + version_op_idx) % 7)),
        ),
        (
            "seq",
            n(&(version_op_idx * N_WRITERS + writer_idx).to_string()),
        ),
        ("holder", s(&format!("writer {writer_idx}"))),
        (
            "payload",
            m(&[
                ("version", n(&version_op_idx.to_string())),
                ("text", s(&"é".repeat(version_op_idx % 50))),
                (
                    "bytes",
                    b(&[u8::try_from(version_op_idx % 256).expect("byte"); 16]),
                ),
                (
                    "list",
                    AttributeValue::L(vec![n("1"), AttributeValue::Bool(true)]),
                ),
            ]),
        ),
    ])
}

/// Writes until the first failure: mostly new items, some overwrites (which move the item in
/// the index) and some deletes, each of its own earlier items.
async fn write_until_failure(
    client: Client,
    writer_idx: usize,
    n_acknowledged: Arc<AtomicUsize>,
) -> Ledger {
    let mut ledger = Ledger::default();
    for op_idx in 0..N_OPERATIONS_PER_WRITER_MAX {
        let (key, after) = match op_idx % 5 {
            3 => {
                let overwritten = entry(writer_idx, op_idx - 2, op_idx);
                (get_s(&overwritten, "id").to_owned(), Some(overwritten))
            }
            4 => (format!("w{writer_idx}-{}", op_idx - 4), None),
            _ => {
                let created = entry(writer_idx, op_idx, op_idx);
                (get_s(&created, "id").to_owned(), Some(created))
            }
        };
        let acknowledged = match &after {
            Some(written) => client
                .put_item()
                .table_name("ledger")
                .set_item(Some(written.clone()))
                .send()
                .await
                .is_ok(),
            None => client
                .delete_item()
                .table_name("ledger")
                .key("id", s(&key))
                .send()
                .await
                .is_ok(),
        };
        if !acknowledged {
            ledger.in_flight = Some((key, after));
            return ledger;
        }
        ledger.acknowledged.insert(key, after);
        n_acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    panic!("writer {writer_idx} was never stopped");
}

/// Every page of a scan of the table or of one of its indexes.
async fn scan_all(client: &Client, index: Option<&str>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name("ledger")
            .set_index_name(index.map(str::to_owned))
            .set_consistent_read(index.is_none().then_some(true))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(page.items().iter().map(canonical_item));
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return items,
        }
    }
}

/// The index entry an item should have: the table key, the index key and `holder`.
fn projected(item: &Item) -> Item {
    ["id", "grp", "seq", "holder"]
        .iter()
        .filter_map(|name| {
            item.get(*name)
                .map(|value| ((*name).to_owned(), value.clone()))
        })
        .collect()
}

fn by_id(items: Vec<Item>) -> BTreeMap<String, Item> {
    let mut map = BTreeMap::new();
    for item in items {
        let id = get_s(&item, "id").to_owned();
        if let Some(twice) = map.insert(id.clone(), item) {
            panic!("{id} appears twice; once as {twice:?}");
        }
    }
    map
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill() {
    let app = tables_app(MANIFEST);
    let mut dev = Dev::start(&app);
    let client = dynamodb(&dev);
    wait_active(&client, "ledger").await;

    let n_acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..N_WRITERS)
        .map(|writer_idx| {
            tokio::spawn(write_until_failure(
                client.clone(),
                writer_idx,
                Arc::clone(&n_acknowledged),
            ))
        })
        .collect();
    let poll = Poll::new(
        format!("{N_ACKNOWLEDGED_BEFORE_KILL} acknowledged writes"),
        Duration::from_secs(120),
    );
    while n_acknowledged.load(Ordering::SeqCst) < N_ACKNOWLEDGED_BEFORE_KILL {
        poll.tick(n_acknowledged.load(Ordering::SeqCst)).await;
    }

    // `Child::kill` is SIGKILL: no shutdown code runs.
    dev.child.kill().expect("SIGKILL rondo dev");
    dev.child.wait().expect("reap rondo dev");
    let mut ledgers = Vec::new();
    for writer in writers {
        ledgers.push(writer.await.expect("writer task"));
    }
    drop(dev);

    let dev = Dev::start(&app);
    let client = dynamodb(&dev);
    wait_active(&client, "ledger").await;
    let table = by_id(scan_all(&client, None).await);

    let mut expected_keys = 0;
    for ledger in &ledgers {
        let in_flight = ledger
            .in_flight
            .as_ref()
            .expect("every writer ends on a failure");
        for (key, acknowledged) in &ledger.acknowledged {
            let found = table.get(key);
            let acknowledged = acknowledged.as_ref().map(canonical_item);
            let was_in_flight = in_flight.0 == *key;
            let in_flight_state = in_flight.1.as_ref().map(canonical_item);
            let matches = found == acknowledged.as_ref()
                || (was_in_flight && found == in_flight_state.as_ref());
            assert!(
                matches,
                "{key}: acknowledged as {acknowledged:?}, found {found:?} after the restart"
            );
            expected_keys += 1;
        }
        if !ledger.acknowledged.contains_key(&in_flight.0) {
            let found = table.get(&in_flight.0);
            let in_flight_state = in_flight.1.as_ref().map(canonical_item);
            assert!(
                found.is_none() || found == in_flight_state.as_ref(),
                "{}: in flight as {in_flight_state:?}, found {found:?}",
                in_flight.0
            );
        }
    }
    assert!(
        expected_keys >= N_ACKNOWLEDGED_BEFORE_KILL / 2,
        "{expected_keys} keys checked"
    );
    for key in table.keys() {
        let known = ledgers.iter().any(|ledger| {
            ledger.acknowledged.contains_key(key)
                || ledger
                    .in_flight
                    .as_ref()
                    .is_some_and(|(in_flight, _)| in_flight == key)
        });
        assert!(known, "{key} was never written");
    }

    // The index holds exactly the projections of the table's items (eventually: index reads
    // are eventually consistent, but nothing writes any more).
    let expected_index: BTreeMap<String, Item> = table
        .iter()
        .map(|(id, item)| (id.clone(), projected(item)))
        .collect();
    let poll = Poll::new("the index to agree with the table", Duration::from_secs(60));
    loop {
        let index = by_id(scan_all(&client, Some("byGroup")).await);
        if index == expected_index {
            break;
        }
        let missing: Vec<_> = expected_index
            .iter()
            .filter(|(id, entry)| index.get(*id) != Some(*entry))
            .collect();
        let orphans: Vec<_> = index
            .keys()
            .filter(|id| !expected_index.contains_key(*id))
            .collect();
        poll.tick((missing, orphans)).await;
    }
}
