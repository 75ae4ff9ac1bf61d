use super::*;

/// 2027-01-15T08:00:00Z.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Parses `query` at [`now`] and shows the result: `since until by progress`, or the error.
fn check(query: &str, expect: &str) {
    let shown = match parse_cost_query(query, now()) {
        Ok(request) => format!(
            "{} {} {} {}",
            format_rfc3339(request.query.since),
            format_rfc3339(request.query.until),
            request.query.by.as_str(),
            request.progress
        ),
        Err(error) => format!("error: {error}"),
    };
    assert_eq!(shown, expect, "{query:?}");
}

#[test]
fn defaults_are_the_last_day_by_function() {
    check(
        "",
        "2027-01-14T08:00:00Z 2027-01-15T08:00:00Z function false",
    );
}

#[test]
fn since_and_until_are_ages_or_rfc_3339_times() {
    check(
        "since=90s",
        "2027-01-15T07:58:30Z 2027-01-15T08:00:00Z function false",
    );
    check(
        "since=30m&until=10m",
        "2027-01-15T07:30:00Z 2027-01-15T07:50:00Z function false",
    );
    check(
        "since=7d&by=trigger&progress=1",
        "2027-01-08T08:00:00Z 2027-01-15T08:00:00Z trigger true",
    );
    check(
        "since=2027-01-15T06:00:00Z&until=2027-01-15T09:00:00%2B01:00&by=route",
        "2027-01-15T06:00:00Z 2027-01-15T08:00:00Z route false",
    );
    // RFC 3986 query: a `+` is a plus sign.
    check(
        "since=2027-01-15T08:30:00+01:00",
        "2027-01-15T07:30:00Z 2027-01-15T08:00:00Z function false",
    );
}

#[test]
fn bad_queries_are_refused_naming_the_value() {
    check(
        "since=yesterday",
        r#"error: since = "yesterday" is neither an RFC 3339 time (2026-11-27T09:00:00Z) nor an age (90s, 30m, 24h, 7d)"#,
    );
    check(
        "since=h",
        r#"error: since = "h" is neither an RFC 3339 time (2026-11-27T09:00:00Z) nor an age (90s, 30m, 24h, 7d)"#,
    );
    check(
        "since=99999999999999999999d",
        r#"error: since = "99999999999999999999d" is neither an RFC 3339 time (2026-11-27T09:00:00Z) nor an age (90s, 30m, 24h, 7d)"#,
    );
    check(
        "since=30000d",
        "error: since = 2592000000s reaches before the Unix epoch",
    );
    check(
        "since=1h&until=2h",
        "error: since (2027-01-15T07:00:00Z) must be before until (2027-01-15T06:00:00Z)",
    );
    check(
        "by=functions",
        r#"error: by = "functions" is not one of function, route, trigger"#,
    );
    check("progress=yes", r#"error: progress = "yes" is not 0 or 1"#);
    check(
        "from=1h",
        r#"error: unknown parameter "from": the cost query takes since, until, by and progress"#,
    );
    check(
        "by=route&by=trigger",
        r#"error: parameter "by" is given more than once"#,
    );
    check(
        "since=%E2%28",
        r#"error: parameter "since" is not valid percent-encoded UTF-8: "%E2%28""#,
    );
    check(
        "since=%2",
        r#"error: parameter "since" is not valid percent-encoded UTF-8: "%2""#,
    );
}

#[test]
fn cost_lines_read_back_as_sent() {
    let lines = [
        (
            CostLine::Progress {
                scanned: 10_000,
                total: 25_000,
            },
            r#"{"progress":{"scanned":10000,"total":25000}}"#,
        ),
        (
            CostLine::Message("the store failed".to_owned()),
            r#"{"message":"the store failed"}"#,
        ),
    ];
    for (line, text) in lines {
        assert_eq!(serde_json::to_string(&line).expect("json"), text);
        assert_eq!(
            serde_json::from_str::<CostLine>(text).expect("a line"),
            line
        );
    }
}
