use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::*;
use crate::record::Source;

fn record(function: &str, outcome: Outcome, duration_us: u64, cold: bool) -> UsageRecord {
    UsageRecord {
        time: SystemTime::UNIX_EPOCH,
        function: function.to_owned(),
        source: Source::Invoke,
        init_us: if cold { 30_000 } else { 0 },
        duration_us,
        billed_ms: if outcome == Outcome::Throttled {
            0
        } else {
            duration_us.div_ceil(1000)
        },
        memory_mb: 512,
        peak_memory_bytes: 1024,
        outcome,
        cold,
    }
}

#[test]
fn the_output_parses_and_counts_what_was_observed() {
    let metrics = Metrics::new();
    metrics.observe(&record("hello", Outcome::Success, 1_500, true));
    metrics.observe(&record("hello", Outcome::Success, 30_000, false));
    metrics.observe(&record("hello", Outcome::Timeout, 3_000_000, false));
    metrics.observe(&record("cart", Outcome::Crash, 200, true));
    metrics.observe(&record("cart", Outcome::Throttled, 5, false));
    metrics.set_concurrency("hello", 3);
    // Label values that need escaping.
    metrics.set_iterator_ages([
        ("table:carts -> cart", "0", Duration::from_millis(1500)),
        ("odd \"name\"\\\n", "1", Duration::ZERO),
    ]);
    let families = parse(&metrics.render()).unwrap_or_else(|error| panic!("{error}"));
    let value = |name: &str, labels: &[(&str, &str)]| sample(&families, name, labels);

    assert_eq!(
        value(
            "rondo_invocations_total",
            &[("function", "hello"), ("outcome", "success")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            "rondo_invocations_total",
            &[("function", "hello"), ("outcome", "timeout")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "rondo_invocations_total",
            &[("function", "cart"), ("outcome", "crash")]
        ),
        Some(1.0)
    );
    // A throttled invocation did not run: it is a throttle, not an invocation.
    assert_eq!(
        value(
            "rondo_invocations_total",
            &[("function", "cart"), ("outcome", "throttled")]
        ),
        None
    );
    assert_eq!(
        value("rondo_throttles_total", &[("function", "cart")]),
        Some(1.0)
    );
    assert_eq!(
        value("rondo_cold_starts_total", &[("function", "hello")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            "rondo_invocation_duration_seconds_count",
            &[("function", "hello")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            "rondo_invocation_duration_seconds_bucket",
            &[("function", "hello"), ("le", "0.05")]
        ),
        Some(2.0)
    );
    // 512 MB for 2 + 30 + 3000 ms.
    assert_eq!(
        value("rondo_billed_gb_seconds_total", &[("function", "hello")]),
        Some(0.5 * 3.032)
    );
    assert_eq!(
        value("rondo_concurrent_invocations", &[("function", "hello")]),
        Some(3.0)
    );
    assert_eq!(
        value(
            "rondo_trigger_iterator_age_seconds",
            &[("trigger", "table:carts -> cart"), ("shard", "0")]
        ),
        Some(1.5)
    );
    assert_eq!(
        value(
            "rondo_trigger_iterator_age_seconds",
            &[("trigger", "odd \"name\"\\\n"), ("shard", "1")]
        ),
        Some(0.0)
    );
    assert_eq!(value("rondo_metering_dropped_total", &[]), Some(0.0));
    let kinds: BTreeMap<&str, &str> = families
        .iter()
        .map(|(name, family)| (name.as_str(), family.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("rondo_billed_gb_seconds_total", "counter"),
            ("rondo_cold_starts_total", "counter"),
            ("rondo_concurrent_invocations", "gauge"),
            ("rondo_invocation_duration_seconds", "histogram"),
            ("rondo_invocations_total", "counter"),
            ("rondo_metering_dropped_total", "counter"),
            ("rondo_throttles_total", "counter"),
            ("rondo_tokio_alive_tasks", "gauge"),
            ("rondo_trigger_iterator_age_seconds", "gauge"),
        ])
    );
}

#[test]
fn alive_tasks_are_those_of_the_rendering_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let metrics = Metrics::new();
    let families = runtime.block_on(async {
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::spawn(receiver);
        let text = metrics.render();
        sender.send(()).expect("the waiter is alive");
        waiter.await.expect("the waiter ends").expect("it was told");
        parse(&text).unwrap_or_else(|error| panic!("{error}"))
    });
    assert_eq!(sample(&families, "rondo_tokio_alive_tasks", &[]), Some(1.0));
}

#[test]
fn iterator_ages_are_replaced_as_a_whole() {
    let metrics = Metrics::new();
    metrics.set_iterator_ages([
        ("a", "0", Duration::from_secs(2)),
        ("b", "0", Duration::ZERO),
    ]);
    metrics.set_iterator_ages([("b", "1", Duration::from_secs(1))]);
    let families = parse(&metrics.render()).unwrap_or_else(|error| panic!("{error}"));
    let ages = &families["rondo_trigger_iterator_age_seconds"].samples;
    assert_eq!(ages.len(), 1);
    assert_eq!(
        sample(
            &families,
            "rondo_trigger_iterator_age_seconds",
            &[("trigger", "b"), ("shard", "1")]
        ),
        Some(1.0)
    );
}

#[test]
fn the_checker_refuses_broken_text() {
    let broken = [
        "# TYPE x counter\nx 1",
        "# TYPE x counter\nx{a=\"1} 1\n",
        "# TYPE x counter\nx{a=1} 1\n",
        "# TYPE x counter\nx one\n",
        "# TYPE x counter\nx -1\n",
        "# TYPE x counter\ny 1\n",
        "# TYPE x counter\n# TYPE x counter\nx 1\n",
        "# TYPE x meter\nx 1\n",
        "# TYPE 1x counter\n1x 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n",
        "# TYPE x gauge\nx{a=\"\\q\"} 1\n",
    ];
    for text in broken {
        assert!(parse(text).is_err(), "accepted {text:?}");
    }
    let fine = "# HELP x A help text with \\\\ and \\n.\n# TYPE x gauge\nx{a=\"1\",b=\"\\\"\"} -2.5 1700000000\nx NaN\n";
    assert!(parse(fine).is_ok(), "{:?}", parse(fine));
}

/// One metric family of the text format: its type and samples.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

type Labels = Vec<(String, String)>;

/// One histogram series (its labels but `le`): its buckets (bound, count), its `_count`, and
/// whether it has a `_sum`.
type Series = (Vec<(f64, f64)>, Option<f64>, bool);

/// The value of the sample `name` with exactly `labels`.
fn sample(families: &BTreeMap<String, Family>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families
        .values()
        .flat_map(|family| &family.samples)
        .find(|sample| {
            sample.name == name
                && sample.labels.len() == labels.len()
                && labels.iter().all(|(key, value)| {
                    sample
                        .labels
                        .contains(&((*key).to_owned(), (*value).to_owned()))
                })
        })
        .map(|sample| sample.value)
}

/// Parses and checks Prometheus's text exposition format (version 0.0.4): every line is a
/// comment, a `# HELP`, a `# TYPE` (once per family, before its samples) or a sample of the
/// family declared last, with valid names, quoted and escaped label values and a float value;
/// counters are not negative; each histogram's buckets are cumulative and end with `+Inf`
/// equal to its `_count`.
fn parse(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let body = text
        .strip_suffix('\n')
        .ok_or("the text must end with a line feed")?;
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.split('\n') {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            check_name(name)?;
            check_help(help)?;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or(format!("no type: {line:?}"))?;
            check_name(name)?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("unknown type: {line:?}"));
            }
            if families.contains_key(name) {
                return Err(format!("a second TYPE for {name}"));
            }
            families.insert(
                name.to_owned(),
                Family {
                    kind: kind.to_owned(),
                    samples: Vec::new(),
                },
            );
            current = Some(name.to_owned());
        } else if !line.starts_with('#') {
            let sample = parse_sample(line)?;
            let family_name = current
                .as_deref()
                .ok_or(format!("a sample before any TYPE: {line:?}"))?;
            let family = families.get_mut(family_name).ok_or("no family")?;
            let suffixes: &[&str] = match family.kind.as_str() {
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            let belongs = suffixes
                .iter()
                .any(|suffix| sample.name == format!("{family_name}{suffix}"));
            if !belongs {
                return Err(format!("{} is not a sample of {family_name}", sample.name));
            }
            if family.kind == "counter" && (sample.value.is_nan() || sample.value < 0.0) {
                return Err(format!("a negative counter: {line:?}"));
            }
            family.samples.push(sample);
        }
    }
    for (name, family) in &families {
        if family.kind == "histogram" {
            check_histogram(name, &family.samples)?;
        }
    }
    Ok(families)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or(format!("no value: {line:?}"))?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(after)?;
        labels = parsed;
        rest = after;
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or(format!("no space before the value: {line:?}"))?
        .split(' ');
    let value = parse_value(fields.next().unwrap_or(""))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("bad timestamp: {line:?}"))?;
    }
    if fields.next().is_some() {
        return Err(format!("extra fields: {line:?}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses `a="1",b="2"}` and returns the labels and the text after the `}`.
fn parse_labels(mut text: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = text
            .split_once("=\"")
            .ok_or(format!("bad label: {text:?}"))?;
        check_label_name(name)?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("an unterminated label value: {text:?}")),
                Some((index, '"')) => break index,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    _ => return Err(format!("a bad escape: {text:?}")),
                },
                Some((_, '\n')) => return Err("a raw line feed in a label value".to_owned()),
                Some((_, other)) => value.push(other),
            }
        };
        labels.push((name.to_owned(), value));
        text = &after[end + 1..];
        text = text.strip_prefix(',').unwrap_or(text);
    }
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .map_err(|_| format!("bad value: {text:?}")),
    }
}

fn check_histogram(name: &str, samples: &[Sample]) -> Result<(), String> {
    let mut series: BTreeMap<Labels, Series> = BTreeMap::new();
    for sample in samples {
        let mut labels = sample.labels.clone();
        let le = labels
            .iter()
            .position(|(key, _)| key == "le")
            .map(|index| labels.remove(index));
        let entry = series.entry(labels).or_default();
        match (sample.name.strip_prefix(name), le) {
            (Some("_bucket"), Some((_, bound))) => {
                entry.0.push((parse_value(&bound)?, sample.value))
            }
            (Some("_count"), None) => entry.1 = Some(sample.value),
            (Some("_sum"), None) => entry.2 = true,
            _ => return Err(format!("a bad histogram sample: {}", sample.name)),
        }
    }
    for (labels, (buckets, count, has_sum)) in series {
        let ordered = buckets
            .windows(2)
            .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1);
        let last = buckets.last().copied();
        let complete =
            last.is_some_and(|(bound, value)| bound == f64::INFINITY && Some(value) == count);
        if !(ordered && complete && has_sum) {
            return Err(format!("a broken histogram series {name}{labels:?}"));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = name.chars().enumerate().all(|(index, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (index > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !valid {
        return Err(format!("a bad metric name: {name:?}"));
    }
    Ok(())
}

fn check_label_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .enumerate()
        .all(|(index, c)| c.is_ascii_alphabetic() || c == '_' || (index > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid {
        return Err(format!("a bad label name: {name:?}"));
    }
    Ok(())
}

/// HELP texts escape only `\` and line feeds.
fn check_help(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err(format!("a bad escape in the help text {text:?}"));
        }
    }
    Ok(())
}
