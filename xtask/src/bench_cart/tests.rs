use super::*;

#[test]
fn quantiles_take_the_nearest_rank() {
    let values: Vec<u64> = (1..=1000).collect();
    assert_eq!(quantile(&values, 0.5), 501);
    assert_eq!(quantile(&values, 0.99), 990);
    assert_eq!(quantile(&values, 1.0), 1000);
    assert_eq!(quantile(&[], 0.5), 0);
}

#[test]
fn a_pushed_count_is_read_from_its_json() {
    assert_eq!(count_of(r#"{"cartId":"c1","count":7}"#), Some(7));
    assert_eq!(count_of(r#"{"cartId":"c1"}"#), None);
    assert_eq!(count_of("not json"), None);
}

#[test]
fn only_lines_after_rondos_banner_are_passed_on() {
    assert!(is_banner_line("  aws endpoint  http://127.0.0.1:4566"));
    assert!(is_banner_line("  table carts: created"));
    assert!(is_banner_line(
        "  route  GET /carts/{cartId} -> display-cart"
    ));
    assert!(!is_banner_line(
        "trigger table:carts->cart-status: batch failed: Unhandled"
    ));
}

#[test]
fn adds_are_matched_to_pushes_by_count_within_the_window() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let add = |count, sent_ms, answered_ms| Add {
        count,
        sent: at(sent_ms),
        answered: at(answered_ms),
    };
    // Count 1 is sent before the window; 2 is told before its POST is answered; 3 is told
    // only within the push of 4; 5 is sent after the window.
    let adds = vec![
        add(1, 0, 2),
        add(2, 10, 14),
        add(3, 20, 22),
        add(4, 30, 33),
        add(5, 200, 201),
    ];
    let pushes: Pushes = Rc::new(RefCell::new(BTreeMap::from([
        (1, at(3)),
        (2, at(12)),
        (4, at(35)),
        (5, at(203)),
    ])));
    let measured =
        measure(&[adds], &[pushes], at(5), Duration::from_millis(100)).expect("every add told");
    assert_eq!(measured.adds_n, 3);
    assert_eq!(measured.coalesced_n, 1);
    assert_eq!(measured.latency_us, [2_000, 5_000, 15_000]);
    assert_eq!(measured.round_trip_us, [2_000, 3_000, 4_000]);
    assert_eq!(measured.adds_per_s(), 30.0);

    let untold = vec![add(6, 10, 12)];
    let none: Pushes = Rc::default();
    let error = measure(&[untold], &[none], at(5), Duration::from_millis(100))
        .expect_err("count 6 was never told");
    assert!(error.to_string().contains("count 6"), "{error}");
}

/// The load generator against the peer: every add is told to its cart's client with its own
/// count, and carts do not hear each other.
#[test]
fn the_load_generator_measures_the_peer() {
    let peer = Peer::start().expect("the peer starts");
    let phases = Phases {
        warmup: Duration::from_millis(50),
        measure: Duration::from_millis(300),
    };
    let measured = block_on(drive(peer.address, "test", 3, &phases))
        .expect("a runtime")
        .expect("the load runs");
    assert_eq!(measured.carts_n, 3);
    assert!(measured.adds_n > 0, "{measured:?}");
    assert_eq!(measured.latency_us.len(), measured.adds_n);
    assert_eq!(measured.coalesced_n, 0, "the peer pushes every count");
    let slowest = quantile(&measured.latency_us, 1.0);
    // A bound, not a speed expectation: a push that never came would have failed the run.
    assert!(slowest < 10_000_000, "{measured:?}");
}

#[test]
fn the_peer_refuses_a_bad_add_and_counts_a_good_one() {
    let peer = Peer::start().expect("the peer starts");
    let answers = block_on(async {
        let (mut sender, host) = crate::bench::open_http1(peer.address).await?;
        let mut answers = Vec::new();
        for body in [r#"{"quantity":1}"#, r#"{"itemId":"tea","quantity":2}"#] {
            let request = hyper::Request::post("/carts/c1/items")
                .header(HOST, host.clone())
                .body(Full::new(Bytes::from_static(body.as_bytes())))?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            answers.push((status, String::from_utf8_lossy(&body).into_owned()));
        }
        anyhow::Ok(answers)
    })
    .expect("a runtime")
    .expect("the peer answers");
    assert_eq!(answers[0].0, 400, "{answers:?}");
    assert_eq!(answers[1].0, 200, "{answers:?}");
    assert_eq!(count_of(&answers[1].1), Some(2), "{answers:?}");
}
