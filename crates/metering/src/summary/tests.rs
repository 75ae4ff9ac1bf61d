use expect_test::expect;

use super::*;

/// The row of `requests` requests at `memory_mb`, each billed `billed_ms`, at `prices`.
fn row(requests: u64, memory_mb: u128, billed_ms: u64, prices: &PriceTable) -> CostRow {
    let sums = Sums {
        outcomes: [requests, 0, 0, 0, 0, 0],
        billed_ms: requests * billed_ms,
        mb_ms: u128::from(requests * billed_ms) * memory_mb,
        ..Sums::default()
    };
    cost_row("f", &sums, prices)
}

#[test]
fn lambda_list_prices_are_exact() {
    let prices = PriceTable::default();
    // A million requests: $0.20.
    let million = row(1_000_000, 128, 1, &prices);
    assert_eq!(million.request_cost_usd, 0.2);
    // One GB for one second, 1000 times: 1000 GB-s at $0.0000166667.
    let gigabyte = row(1000, 1024, 1000, &prices);
    assert_eq!(gigabyte.gb_seconds, 1000.0);
    assert_eq!(gigabyte.compute_cost_usd, 0.0166667);
    assert_eq!(gigabyte.total_cost_usd, 0.0166667 + 0.0002);
}

#[test]
fn the_manifests_prices_map_onto_the_table() {
    // The manifest's defaults: 16_667 and 200 billionths of a dollar.
    let prices = PriceTable::from_nano_usd(16_667, 200);
    assert_eq!(
        prices,
        PriceTable {
            gb_second_pico_usd: 16_667_000,
            request_pico_usd: 200_000,
        }
    );
}

#[test]
fn prices_print_without_trailing_zeros() {
    let check = |pico, expect: &str| assert_eq!(format_pico_usd(pico), expect);
    check(16_666_700, "0.0000166667");
    check(200_000 * 1_000_000, "0.20");
    check(0, "0.00");
    check(12_500_000_000_000, "12.50");
    check(1, "0.000000000001");
}

#[test]
fn the_table_lines_up() {
    let prices = PriceTable::default();
    let mut hello = row(1000, 128, 1, &prices);
    hello.name = "hello".to_owned();
    hello.duration_ms = 210.5;
    hello.cold_starts = 1;
    let mut cart = row(12, 1024, 250, &prices);
    cart.name = "cart-status".to_owned();
    cart.errors = 2;
    cart.throttles = 3;
    let mut total = row(1012, 128, 1, &prices);
    total.name = "total".to_owned();
    total.billed_duration_ms = 4000;
    let report = CostReport {
        since: "2027-01-14T08:00:00Z".to_owned(),
        until: "2027-01-15T08:00:00Z".to_owned(),
        by: GroupBy::Function,
        prices,
        rows: vec![cart, hello],
        total,
        entries_scanned: 1012,
    };
    expect![[r#"
        Usage from 2027-01-14T08:00:00Z to 2027-01-15T08:00:00Z, by function
        Prices: $0.0000166667 per GB-second, $0.20 per million requests

        FUNCTION     REQUESTS  ERRORS  THROTTLES  COLD  DURATION ms  BILLED ms      GB-s      COST $
        cart-status        12       2          3     0         0.00       3000  3.000000  0.00005240
        hello            1000       0          0     1       210.50       1000  0.125000  0.00020208
        total            1012       0          0     0         0.00       4000  0.126500  0.00020451
    "#]]
    .assert_eq(&report.render_table());
}

#[test]
fn group_by_reads_its_admin_names() {
    for by in [GroupBy::Function, GroupBy::Route, GroupBy::Trigger] {
        assert_eq!(by.as_str().parse::<GroupBy>(), Ok(by));
    }
    assert_eq!(
        "functions".parse::<GroupBy>(),
        Err(QueryError::InvalidGroupBy {
            value: "functions".to_owned()
        })
    );
}
