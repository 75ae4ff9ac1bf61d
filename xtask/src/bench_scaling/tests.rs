use std::time::{Duration, Instant};

use super::burst::{
    Kind, answers_show_overlap, gauge_value, lambda_rate_extra_s, last_start_bound,
};
use super::neighbour::HogLimit;
use super::*;

#[test]
fn start_lines_give_the_banner_and_both_addresses() {
    let at = Instant::now();
    match parse_start_line(
        "rondo dev: app \"bench-many\" loaded in 6421.5 ms (1000 functions, 1000 routes, 0 tables)",
        at,
    ) {
        StartLine::Banner { load_ms, .. } => assert_eq!(load_ms, 6421.5),
        _ => panic!("the banner's first line was not recognised"),
    }
    match parse_start_line("  gateway       http://127.0.0.1:41757", at) {
        StartLine::Gateway(address) => assert_eq!(address, "127.0.0.1:41757"),
        _ => panic!("the gateway line was not recognised"),
    }
    match parse_start_line("  aws endpoint  http://127.0.0.1:46213", at) {
        StartLine::Aws(address) => assert_eq!(address, "127.0.0.1:46213"),
        _ => panic!("the aws endpoint line was not recognised"),
    }
    for other in [
        "  route  GET /f0/{action} -> f0",
        "error: rondo.toml:3:1: function \"x\": unknown field",
        "rondo dev: app \"x\" loaded in many ms",
    ] {
        assert!(
            matches!(parse_start_line(other, at), StartLine::Other(text) if text == other),
            "{other}"
        );
    }
}

#[test]
fn resident_memory_is_read_in_kib() {
    let status = "Name:\trondo\nVmPeak:\t 9000 kB\nVmRSS:\t  607812 kB\nThreads:\t4\n";
    assert_eq!(parse_vm_rss_kib(status), Some(607_812));
    assert_eq!(parse_vm_rss_kib("Name:\trondo\n"), None);
    assert_eq!(parse_vm_rss_kib("VmRSS:\t12 MB\n"), None);
    let own = vm_rss_kib(std::process::id()).expect("this process has a VmRSS");
    assert!(own > 0);
}

#[test]
fn quantiles_take_the_nearest_rank() {
    let values: Vec<u64> = (1..=1000).collect();
    assert_eq!(quantile(&values, 0.5), 501);
    assert_eq!(quantile(&values, 0.99), 990);
    assert_eq!(quantile(&values, 1.0), 1000);
    assert_eq!(quantile(&[7], 0.99), 7);
    assert_eq!(quantile(&[], 0.5), 0);
}

#[test]
fn the_gauge_is_read_for_one_function() {
    let text = "# HELP rondo_concurrent_invocations Invocations running now.\n\
                # TYPE rondo_concurrent_invocations gauge\n\
                rondo_concurrent_invocations{function=\"hog\"} 2\n\
                rondo_concurrent_invocations{function=\"burst\"} 1000\n\
                rondo_invocations_total{function=\"burst\",outcome=\"success\"} 5\n";
    assert_eq!(gauge_value(text, "burst"), Some(1000));
    assert_eq!(gauge_value(text, "hog"), Some(2));
    assert_eq!(gauge_value(text, "bur"), None);
    assert_eq!(gauge_value(text, "fast"), None);
}

#[test]
fn answers_bound_the_last_start_and_show_overlap() {
    let sleep_ms = 2_000;
    assert_eq!(
        last_start_bound(Duration::from_millis(2_150), sleep_ms),
        Duration::from_millis(150)
    );
    assert_eq!(
        last_start_bound(Duration::from_millis(10), sleep_ms),
        Duration::ZERO
    );
    // The last started by 1.9 s, before the first could end (2 s): all ran at once.
    assert!(answers_show_overlap(Duration::from_millis(3_900), sleep_ms));
    assert!(!answers_show_overlap(
        Duration::from_millis(4_000),
        sleep_ms
    ));
}

#[test]
fn lambda_needs_extra_time_only_beyond_a_thousand() {
    assert_eq!(lambda_rate_extra_s(20), 0.0);
    assert_eq!(lambda_rate_extra_s(1_000), 0.0);
    assert_eq!(lambda_rate_extra_s(3_000), 20.0);
}

#[test]
fn burst_apps_route_to_one_function() {
    let wasm = burst::manifest(Kind::Wasm);
    assert!(
        wasm.contains("[function.burst]\nwasm = \"handler.wasm\""),
        "{wasm}"
    );
    assert!(wasm.contains("route = \"GET /burst/{action}\""), "{wasm}");
    assert!(wasm.contains("concurrency_max = 1000"), "{wasm}");
    let python = burst::manifest(Kind::Python);
    assert!(python.contains("runtime = \"python3\""), "{python}");
    assert!(python.contains("handler = \"faults.sleep\""), "{python}");
    assert!(!python.contains("wasm ="), "{python}");
}

#[test]
fn the_neighbour_app_reserves_only_when_asked() {
    let unlimited = neighbour::manifest(HogLimit::Unlimited);
    assert!(!unlimited.contains("reserved_concurrency"), "{unlimited}");
    assert!(unlimited.contains("timeout_ms = 1000"), "{unlimited}");
    let reserved = neighbour::manifest(HogLimit::Reserved(2));
    assert!(
        reserved.contains(
            "[function.hog]\nwasm = \"handler.wasm\"\ntimeout_ms = 1000\nreserved_concurrency = 2\n"
        ),
        "{reserved}"
    );
    for route in ["GET /fast/{action}", "GET /hog/{action}"] {
        assert!(reserved.contains(route), "{reserved}");
    }
}

#[test]
fn the_many_functions_app_has_a_route_per_function() {
    let text = many::manifest(3);
    assert_eq!(text.matches("wasm = \"handler.wasm\"").count(), 3);
    for name in ["f00000", "f00001", "f00002"] {
        assert!(text.contains(&format!("[function.{name}]")), "{text}");
        assert!(
            text.contains(&format!(
                "route = \"GET /{name}/{{action}}\"\nfunction = \"{name}\""
            )),
            "{text}"
        );
    }
}

#[test]
fn the_sample_is_spread_and_distinct() {
    let sample = many::sample(10_000, 100);
    assert_eq!(sample.len(), 100);
    assert_eq!(sample[0], 0);
    assert_eq!(sample[1], 100);
    assert_eq!(sample[99], 9_900);
    assert!(sample.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(many::sample(7, 100), (0..7).collect::<Vec<_>>());
}

#[test]
fn descendants_are_found_through_parent_pids() {
    assert_eq!(
        parse_parent_pid("4242 (rondo worker) S 17 4242 17 0 -1"),
        Some(17)
    );
    assert_eq!(parse_parent_pid("4242 (odd) name) R 9 1"), Some(9));
    assert_eq!(parse_parent_pid(""), None);
    let parents = [(2, 1), (3, 2), (4, 1), (5, 9), (6, 3)];
    let mut found = descendants(2, &parents);
    found.sort_unstable();
    assert_eq!(found, [3, 6]);
    assert!(descendants(5, &parents).is_empty());
    let (own_kib, _) = tree_rss_kib(std::process::id()).expect("this process is in /proc");
    assert!(own_kib > 0);
}
