//! The soak's chart: one small SVG, written by hand (a few panels of polylines need no crate),
//! with a panel per measure over the run's time, one line per node, and the warm-up shaded.

use std::fmt::Write as _;

use super::{Measure, Sample};

/// One node's samples, drawn as one line in each panel.
pub struct Series<'a> {
    pub name: &'static str,
    pub samples: &'a [Sample],
}

const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 120.0;
const PANEL_GAP: f64 = 36.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// The panels: a title and what each sample gives (`None`: not sampled).
const PANELS: [(&str, Measure); 5] = [
    ("resident memory (MB)", |s| Some(s.rss_kb as f64 / 1024.0)),
    ("open file descriptors", |s| Some(s.fds_n as f64)),
    ("threads", |s| Some(s.threads_n as f64)),
    ("tokio alive tasks", |s| s.tasks_n.map(|n| n as f64)),
    ("request p99 per 5 s window (ms)", |s| {
        Some(s.p99_us as f64 / 1000.0)
    }),
];

/// The chart of `series` over time, the first `warmup_s` seconds shaded.
pub fn svg(series: &[Series<'_>], warmup_s: f64) -> String {
    let height = TOP + PANELS.len() as f64 * (PANEL_HEIGHT + PANEL_GAP);
    let end_s = series
        .iter()
        .flat_map(|series| series.samples)
        .map(|sample| sample.elapsed_s)
        .fold(1.0, f64::max);
    let plot_width = WIDTH - LEFT - RIGHT;
    let x_of = |elapsed_s: f64| LEFT + elapsed_s / end_s * plot_width;
    let mut text = String::new();
    let _ = writeln!(
        text,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        text,
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let mut legend_x = LEFT;
    for (series_idx, series) in series.iter().enumerate() {
        let color = COLORS[series_idx % COLORS.len()];
        let _ = writeln!(
            text,
            r#"<rect x="{legend_x}" y="12" width="14" height="4" fill="{color}"/><text x="{}" y="18">{}</text>"#,
            legend_x + 18.0,
            series.name
        );
        legend_x += 140.0;
    }
    let _ = writeln!(
        text,
        r##"<text x="{legend_x}" y="18" fill="#666">shaded: warm-up (clipped to the scale); x: seconds of load</text>"##
    );
    for (panel_idx, (title, value)) in PANELS.iter().enumerate() {
        let top = TOP + panel_idx as f64 * (PANEL_HEIGHT + PANEL_GAP);
        let bottom = top + PANEL_HEIGHT;
        // Scaled to the values after the warm-up: a cold start's spike would flatten the rest.
        let values = series
            .iter()
            .flat_map(|series| series.samples)
            .filter(|sample| sample.elapsed_s > warmup_s)
            .filter_map(value);
        let max = values.fold(0.0, f64::max).max(1.0) * 1.1;
        let y_of = |v: f64| bottom - v.min(max) / max * PANEL_HEIGHT;
        let _ = writeln!(
            text,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{PANEL_HEIGHT}" fill="#eee"/>"##,
            x_of(warmup_s.min(end_s)) - LEFT
        );
        let _ = writeln!(
            text,
            r##"<rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" fill="none" stroke="#999"/>"##
        );
        let _ = writeln!(
            text,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{title}</text>"#,
            top - 6.0
        );
        let _ = writeln!(
            text,
            r#"<text x="{}" y="{}" text-anchor="end">{max:.0}</text><text x="{}" y="{bottom}" text-anchor="end">0</text>"#,
            LEFT - 4.0,
            top + 10.0,
            LEFT - 4.0
        );
        let _ = writeln!(
            text,
            r#"<text x="{}" y="{}" text-anchor="end">{end_s:.0} s</text>"#,
            WIDTH - RIGHT,
            bottom + 13.0
        );
        for (series_idx, series) in series.iter().enumerate() {
            let points: Vec<String> = series
                .samples
                .iter()
                .filter_map(|sample| {
                    let v = value(sample)?;
                    Some(format!("{:.1},{:.1}", x_of(sample.elapsed_s), y_of(v)))
                })
                .collect();
            let _ = writeln!(
                text,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
                COLORS[series_idx % COLORS.len()],
                points.join(" ")
            );
        }
    }
    text.push_str("</svg>\n");
    text
}
