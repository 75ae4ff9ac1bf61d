use super::*;

fn sample(elapsed_s: f64, rss_kb: u64) -> Sample {
    Sample {
        elapsed_s,
        rss_kb,
        fds_n: 40,
        threads_n: 20,
        tasks_n: Some(30),
        children_n: 0,
        children_rss_kb: 0,
        ops_n: 10,
        errors_n: 0,
        p50_us: 500,
        p99_us: 2_000,
    }
}

fn outcome(rss_kb: &[u64]) -> NodeOutcome {
    let samples: Vec<Sample> = rss_kb
        .iter()
        .enumerate()
        .map(|(idx, &rss_kb)| sample(idx as f64 * 5.0, rss_kb))
        .collect();
    NodeOutcome {
        name: "node",
        windows: samples.iter().map(|_| vec![1_000, 2_000]).collect(),
        samples,
        tally: Tally::default(),
        failed_invocations: BTreeMap::new(),
    }
}

fn check(rss_kb: &[u64], expect_failed: &[&str]) {
    let failed: Vec<String> = judge_node(&outcome(rss_kb))
        .into_iter()
        .filter(|check| !check.passed)
        .map(|check| check.what)
        .collect();
    assert_eq!(failed.len(), expect_failed.len(), "{failed:?}");
    for (failed, expected) in failed.iter().zip(expect_failed) {
        assert!(failed.starts_with(expected), "{failed:?}");
    }
}

#[test]
fn a_flat_run_passes_and_growth_after_warmup_fails() {
    // The warm-up's growth does not count.
    check(
        &[
            10_000, 50_000, 100_000, 101_000, 100_500, 102_000, 101_000, 100_000, 103_000, 104_000,
        ],
        &[],
    );
    check(
        &[
            10_000, 50_000, 100_000, 100_000, 100_000, 105_000, 110_000, 120_000, 130_000, 140_000,
        ],
        &["resident memory"],
    );
    check(&[10_000, 20_000], &["too few samples"]);
}

#[test]
fn the_compared_ends_follow_the_warmup() {
    let samples: Vec<Sample> = (0..10).map(|idx| sample(f64::from(idx), 1)).collect();
    assert_eq!(ends(&samples), Some((2..4, 8..10)));
    assert_eq!(ends(&samples[..2]), None);
    assert_eq!(ends(&samples[..4]), Some((1..2, 3..4)));
}

#[test]
fn metrics_are_summed_by_name_and_labels() {
    let text = "# TYPE rondo_tokio_alive_tasks gauge\nrondo_tokio_alive_tasks 42\n\
                rondo_invocations_total{function=\"a\",outcome=\"success\"} 5\n\
                rondo_invocations_total{function=\"a\",outcome=\"crash\"} 2\n";
    assert_eq!(
        metric_sum(text, "rondo_tokio_alive_tasks", |_| true),
        Some(42.0)
    );
    assert_eq!(
        metric_sum(text, "rondo_invocations_total", |labels| !labels
            .contains("success")),
        Some(2.0)
    );
    assert_eq!(metric_sum(text, "rondo_tokio", |_| true), None);
}

#[test]
fn options_need_minutes() {
    let root = Path::new("/repo");
    let options = Options::parse(root, &["--minutes", "2", "--out", "docs/soak"]).expect("valid");
    assert_eq!(options.minutes, 2.0);
    assert_eq!(options.out, root.join("docs/soak"));
    for wrong in [
        &[][..],
        &["--minutes"],
        &["--minutes", "0.1"],
        &["--hours", "1"],
    ] {
        assert!(Options::parse(root, wrong).is_err(), "accepted {wrong:?}");
    }
}

#[test]
fn the_chart_has_a_line_per_node_and_panel() {
    let samples = [sample(5.0, 1_000), sample(10.0, 2_000)];
    let series = [chart::Series {
        name: "cart",
        samples: &samples,
    }];
    let svg = chart::svg(&series, 2.0);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("<polyline").count(), 5);
}
