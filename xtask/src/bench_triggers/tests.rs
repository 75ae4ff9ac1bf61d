use super::*;

#[test]
fn quantiles_take_the_nearest_rank() {
    let values: Vec<i64> = (1..=1000).collect();
    assert_eq!(quantile(&values, 0.5), 501);
    assert_eq!(quantile(&values, 0.99), 990);
    assert_eq!(quantile(&values, 0.999), 999);
    assert_eq!(quantile(&values, 1.0), 1000);
    assert_eq!(quantile(&[-3, 7], 0.0), -3);
    assert_eq!(quantile(&[], 0.5), 0);
}

#[test]
fn negative_times_keep_their_sign() {
    assert_eq!(signed_micros(-250), "−250 µs");
    assert_eq!(signed_micros(1_500), "1.50 ms");
}

#[test]
fn the_manifest_has_one_trigger_per_source_table() {
    let text = manifest(3, 100);
    assert_eq!(text.matches("[[trigger]]").count(), 3);
    for table in ["src0", "src1", "src2"] {
        assert!(text.contains(&format!("[table.{table}]")), "{text}");
        assert!(
            text.contains(&format!("source = \"table:{table}\"")),
            "{text}"
        );
    }
    assert!(text.contains("batch_size = 100"), "{text}");
    assert!(
        text.contains("environment = { LOG_TABLE = \"seen\" }"),
        "{text}"
    );
    assert_eq!(text.matches("stream = \"NEW_IMAGE\"").count(), 3);
}

#[test]
fn throughput_bodies_write_every_table_evenly_and_each_key_once() {
    let (bodies, keys) = throughput_bodies(2, 60);
    // 30 records per table: a batch of 25 and one of 5 each, the tables taking turns.
    assert_eq!(bodies.len(), 4);
    assert_eq!(keys.len(), 60);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 60);
    let tables: Vec<String> = bodies
        .iter()
        .map(|body| {
            let body: Value = serde_json::from_slice(body).expect("JSON");
            let requests = body["RequestItems"].as_object().expect("RequestItems");
            assert_eq!(requests.len(), 1);
            let (table, items) = requests.iter().next().expect("one table");
            assert!(items.as_array().expect("array").len() <= BATCH_WRITE_ITEMS_MAX);
            table.clone()
        })
        .collect();
    assert_eq!(tables, ["src0", "src1", "src0", "src1"]);
}

#[test]
fn scan_pages_are_read_into_observations() {
    let page = json!({
        "Items": [
            { "id": { "S": "lat-000001" }, "startedUs": { "N": "1700000000000123" }, "batch": { "N": "1" } },
            { "id": { "S": "t0-0000002" }, "startedUs": { "N": "1700000000000456" }, "batch": { "N": "100" } },
        ],
        "Count": 2,
    });
    let mut seen = HashMap::new();
    parse_seen_page(&page, &mut seen).expect("a well-formed page");
    assert_eq!(
        seen["lat-000001"],
        Seen {
            started_us: 1_700_000_000_000_123,
            batch: 1
        }
    );
    assert_eq!(seen["t0-0000002"].batch, 100);

    let broken = json!({ "Items": [ { "id": { "S": "x" }, "batch": { "N": "1" } } ] });
    let error = parse_seen_page(&broken, &mut seen).expect_err("no startedUs");
    assert!(error.to_string().contains("startedUs"), "{error}");
}

#[test]
fn only_unexpected_rondo_messages_are_passed_on() {
    assert!(is_expected_message("  table src0: created"));
    assert!(is_expected_message(
        "warning: trigger table:src0 -> probe: no maximum_retry_attempts and no maximum_record_age_s, so ..."
    ));
    assert!(!is_expected_message(
        "trigger table:src0 -> probe: batch failed: BadEvent"
    ));
}
