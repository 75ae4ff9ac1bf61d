//! The admin routes, called as the AWS endpoint calls them.

use std::time::Duration;

use http_body_util::BodyExt;
use metering::admin::{self, AdminBody, CostLine};
use metering::{CostReport, GroupBy, PriceTable};

use crate::support::{Fixture, route, t0, trigger, usage};

/// The response's status, content type and body.
async fn read(response: http::Response<AdminBody>) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = String::from_utf8(body.to_vec()).expect("UTF-8");
    (status, content_type, body)
}

fn record_some(fixture: &Fixture) {
    for second in 0..4 {
        fixture.ledger.record(usage(
            "hello",
            route("GET /hello"),
            t0() + Duration::from_secs(second),
            1_200,
        ));
    }
    fixture
        .ledger
        .record(usage("cart", trigger("table:carts -> cart"), t0(), 20_000));
}

#[tokio::test]
async fn the_cost_report_is_json_and_includes_records_still_queued() {
    let fixture = Fixture::new(|_| {});
    record_some(&fixture);
    let response =
        admin::handle_cost(&fixture.ledger, &PriceTable::default(), Some("by=route")).await;
    let (status, content_type, body) = read(response).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let report: CostReport = serde_json::from_str(&body).expect("a cost report");
    assert_eq!(report.by, GroupBy::Route);
    let rows: Vec<_> = report
        .rows
        .iter()
        .map(|row| (row.name.as_str(), row.requests, row.billed_duration_ms))
        .collect();
    assert_eq!(rows, [("(triggers)", 1, 20), ("GET /hello", 4, 8)]);
    assert_eq!(report.since, "2027-01-14T08:05:00Z");
    assert_eq!(report.until, "2027-01-15T08:05:00Z");
}

#[tokio::test]
async fn with_progress_the_body_is_ndjson_ending_with_the_report() {
    let fixture = Fixture::new(|_| {});
    record_some(&fixture);
    let response = admin::handle_cost(
        &fixture.ledger,
        &PriceTable::default(),
        Some("since=1h&progress=1"),
    )
    .await;
    let (status, content_type, body) = read(response).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-ndjson")
    );
    assert!(body.ends_with('\n'));
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], r#"{"progress":{"scanned":5,"total":5}}"#);
    assert_eq!(lines.len(), 2);
    let Ok(CostLine::Report(report)) = serde_json::from_str::<CostLine>(lines[1]) else {
        panic!("not a report: {}", lines[1]);
    };
    assert_eq!(report.total.requests, 5);
    assert_eq!(
        serde_json::from_str::<CostLine>(lines[0]).expect("a line"),
        CostLine::Progress {
            scanned: 5,
            total: 5
        }
    );
}

#[tokio::test]
async fn a_bad_query_gets_400_and_a_message() {
    let fixture = Fixture::new(|_| {});
    let response =
        admin::handle_cost(&fixture.ledger, &PriceTable::default(), Some("by=table")).await;
    let (status, content_type, body) = read(response).await;
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    assert_eq!(
        body,
        r#"{"message":"by = \"table\" is not one of function, route, trigger"}"#
    );
}

#[tokio::test]
async fn a_stopped_ledger_gets_500() {
    let fixture = Fixture::new(|_| {});
    fixture.ledger.shutdown().await.expect("shutdown");
    let response = admin::handle_cost(&fixture.ledger, &PriceTable::default(), None).await;
    let (status, _, body) = read(response).await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        r#"{"message":"the metering ledger's writer has stopped"}"#
    );
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let fixture = Fixture::new(|_| {});
    let response = admin::handle_metrics(&fixture.metrics);
    let (status, content_type, body) = read(response).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(body.contains("# TYPE rondo_metering_dropped_total counter\n"));
}
