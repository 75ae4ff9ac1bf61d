//! Log capture: lines, limits, and a guest that prints without end.

use std::path::Path;

use serde_json::json;

use super::{LogBuffer, LogSource};
use crate::limits::{INVOCATION_LOG_BYTES_MAX, LOG_LINE_BYTES_MAX};
use crate::{FunctionConfig, InvokeMeta, Runtime, RuntimeConfig, Tier};

/// Bytes the buffer holds for `source` that are not a line yet.
fn retained_bytes(buffer: &LogBuffer, source: LogSource) -> usize {
    let state = buffer
        .inner
        .lock()
        .expect("no test panicked holding the lock");
    match source {
        LogSource::Stderr => state.stderr.pending_bytes(),
        _ => state.stdout.pending_bytes(),
    }
}

/// Writes each chunk to its stream, ends the capture and compares the lines (their sources and
/// texts) with `expect`.
fn check(writes: &[(LogSource, &[u8])], expect: &[(LogSource, &str)]) {
    let buffer = LogBuffer::default();
    for (source, bytes) in writes {
        buffer.write_stream(*source, bytes);
    }
    let lines = buffer.finish();
    let got: Vec<(LogSource, &str)> = lines
        .iter()
        .map(|line| (line.source, line.text.as_str()))
        .collect();
    assert_eq!(got, expect);
}

#[test]
fn output_is_split_into_lines_per_stream() {
    check(
        &[
            (LogSource::Stdout, b"one\ntw"),
            (LogSource::Stderr, b"err\r\n"),
            (LogSource::Stdout, b"o\n\nthree"),
        ],
        &[
            (LogSource::Stdout, "one"),
            (LogSource::Stderr, "err"),
            (LogSource::Stdout, "two"),
            (LogSource::Stdout, ""),
            (LogSource::Stdout, "three"),
        ],
    );
}

#[test]
fn a_line_of_the_limit_is_one_line_and_a_longer_one_is_cut() {
    let at_limit = "a".repeat(LOG_LINE_BYTES_MAX);
    let over_limit = "b".repeat(LOG_LINE_BYTES_MAX + 1);
    // Written in odd pieces, with the newline arriving in a write of its own.
    let mut text = format!("{at_limit}\n{over_limit}\nend").into_bytes();
    let mut writes = Vec::new();
    while !text.is_empty() {
        let rest = text.split_off(text.len().min(1000));
        writes.push(std::mem::replace(&mut text, rest));
    }
    let writes: Vec<(LogSource, &[u8])> = writes
        .iter()
        .map(|bytes| (LogSource::Stdout, bytes.as_slice()))
        .collect();
    check(
        &writes,
        &[
            (LogSource::Stdout, &at_limit),
            (LogSource::Stdout, &over_limit[..LOG_LINE_BYTES_MAX]),
            (LogSource::Stdout, "b"),
            (LogSource::Stdout, "end"),
        ],
    );
}

#[test]
fn a_cut_never_splits_a_character() {
    // `é` is two bytes; the first would end exactly at the limit.
    let text = format!("{}é tail", "a".repeat(LOG_LINE_BYTES_MAX - 1));
    check(
        &[(LogSource::Stderr, text.as_bytes())],
        &[
            (LogSource::Stderr, &text[..LOG_LINE_BYTES_MAX - 1]),
            (LogSource::Stderr, "é tail"),
        ],
    );
}

/// Issue 13 (defect 4): output without a newline piled up unbounded, and each write copied the
/// whole pile. Whatever a guest prints, the buffer holds at most one line of it.
#[test]
fn issue_13_output_without_newline_holds_at_most_one_line() {
    const TOTAL_BYTES: usize = 100 * 1024 * 1024;
    let buffer = LogBuffer::default();
    let chunk = vec![b'x'; 64 * 1024 + 7];
    let mut n_written = 0;
    while n_written < TOTAL_BYTES {
        buffer.write_stream(LogSource::Stdout, &chunk);
        n_written += chunk.len();
        let retained = retained_bytes(&buffer, LogSource::Stdout);
        assert!(
            retained <= LOG_LINE_BYTES_MAX,
            "{retained} bytes held after {n_written} written"
        );
    }
    let lines = buffer.finish();
    check_bounded_log(&lines);
}

/// Issue 13 (defect 4), through a guest: 100 MB printed without a newline end in a bounded log,
/// well within the function's timeout.
#[tokio::test]
async fn issue_13_a_guest_printing_100_mb_without_newline_gets_a_bounded_log() {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: None,
        instances_max: 2,
        tables: None,
        connections: None,
    })
    .expect("the runtime starts");
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-programs/wasm/test_handler.wasm");
    let wasm = std::fs::read(&path).expect("the test guests are committed");
    let config = FunctionConfig {
        name: "print-test".to_owned(),
        memory_mb: 128,
        timeout_ms: 60_000,
        environment: Vec::new(),
        allowed_outbound_hosts: Vec::new(),
    };
    let function = runtime
        .load(&config, &wasm, Tier::Baseline)
        .expect("the guest loads");
    let event = json!({"action": "print", "bytes": 100 * 1024 * 1024});
    let meta = InvokeMeta {
        request_id: "print-test".to_owned(),
    };
    let invocation = function.invoke(event.to_string().as_bytes(), meta).await;
    let output = invocation.result.expect("the guest answers");
    let answer: serde_json::Value = serde_json::from_slice(&output).expect("JSON");
    assert_eq!(answer, json!({"printed": 100 * 1024 * 1024}));
    check_bounded_log(&invocation.report.logs);
}

/// The log of 100 MB of `x` without a newline: lines of the line limit up to the log's limit,
/// then the one truncation notice.
fn check_bounded_log(lines: &[super::LogLine]) {
    let (notice, printed) = lines.split_last().expect("a notice at least");
    assert_eq!(notice.source, LogSource::Warn, "{}", notice.text);
    assert!(
        notice.text.starts_with("log output truncated"),
        "{}",
        notice.text
    );
    assert_eq!(printed.len(), INVOCATION_LOG_BYTES_MAX / LOG_LINE_BYTES_MAX);
    for line in printed {
        assert_eq!(line.source, LogSource::Stdout);
        assert_eq!(line.text.len(), LOG_LINE_BYTES_MAX);
        assert!(line.text.bytes().all(|byte| byte == b'x'));
    }
}
