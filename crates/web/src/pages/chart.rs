//! Report charts as inline SVG, drawn on the server: bars of reports per bucket over the
//! normal range (the baseline's expectation ± 3√expectation, three of Poisson's standard
//! deviations, so that a normal day shows few red bars), with a
//! `<title>` per bar so hovering or a screen reader gives the numbers without scripts.

use std::fmt::Write as _;

use seismo_core::time::{HOUR_MS, Millis, format_rfc3339};

/// One bucket of the chart.
pub struct Bar {
    pub start: Millis,
    pub count: u64,
    /// Reports the baseline expects in the bucket, if it knows yet.
    pub expected: Option<f64>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 20.0;

/// The chart of `bars` (equal buckets of `step`), labelled `caption`.
pub fn svg(bars: &[Bar], step: Millis, caption: &str) -> String {
    let upper = |e: f64| e + 3.0 * e.sqrt();
    let top = bars
        .iter()
        .map(|b| (b.count as f64).max(b.expected.map_or(0.0, upper)))
        .fold(1.0, f64::max)
        * 1.1;
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - BOTTOM;
    let bar_width = plot_width / bars.len().max(1) as f64;
    let y = |v: f64| plot_height * (1.0 - v / top);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{caption}"><title>{caption}</title>"#
    );
    // The normal range, as one band over the buckets the baseline knows.
    let known: Vec<(usize, f64)> = bars
        .iter()
        .enumerate()
        .filter_map(|(i, b)| Some((i, b.expected?)))
        .collect();
    if !known.is_empty() {
        let mut points = String::new();
        for &(i, e) in &known {
            let x = LEFT + i as f64 * bar_width;
            let _ = write!(
                points,
                "{x:.1},{:.1} {:.1},{:.1} ",
                y(upper(e)),
                x + bar_width,
                y(upper(e))
            );
        }
        for &(i, e) in known.iter().rev() {
            let x = LEFT + i as f64 * bar_width;
            let low = (e - 3.0 * e.sqrt()).max(0.0);
            let _ = write!(
                points,
                "{:.1},{:.1} {x:.1},{:.1} ",
                x + bar_width,
                y(low),
                y(low)
            );
        }
        let _ = write!(
            out,
            r#"<polygon class="band" points="{}"/>"#,
            points.trim_end()
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * bar_width;
        let above = b.expected.is_some_and(|e| b.count as f64 > upper(e));
        let class = if above { "bar high" } else { "bar" };
        let expected = b.expected.map_or(String::from("no baseline yet"), |e| {
            format!("{e:.1} expected")
        });
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {} reports, {expected}</title></rect>"#,
            y(b.count as f64),
            (bar_width - 1.0).max(0.5),
            plot_height - y(b.count as f64),
            format_rfc3339(b.start),
            b.count,
        );
    }
    // Axis: the top value, and a time label every few hours (UTC).
    let _ = write!(
        out,
        r#"<text class="axis" x="{:.1}" y="12" text-anchor="end">{:.0}</text><line class="axis" x1="{LEFT}" y1="{plot_height}" x2="{WIDTH}" y2="{plot_height}"/>"#,
        LEFT - 4.0,
        top
    );
    let span = step * bars.len() as i64;
    let label_every = if span > 6 * HOUR_MS {
        4 * HOUR_MS
    } else {
        30 * 60_000
    };
    for (i, b) in bars.iter().enumerate() {
        if b.start % label_every == 0 {
            let x = LEFT + i as f64 * bar_width;
            let text = &format_rfc3339(b.start)[11..16];
            let _ = write!(
                out,
                r#"<text class="axis" x="{x:.1}" y="{:.1}" text-anchor="middle">{text}</text>"#,
                HEIGHT - 4.0
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A probe's latency over `[from, to)` as a line, with a red mark at each failed run;
/// small enough for a table cell, whose text says the numbers.
pub fn latency_sparkline(runs: &[(Millis, u64, bool)], from: Millis, to: Millis) -> String {
    const W: f64 = 160.0;
    const H: f64 = 28.0;
    let top = runs.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64 * 1.1;
    let x = |at: Millis| W * (at - from) as f64 / (to - from).max(1) as f64;
    let y = |ms: u64| H - 2.0 - (H - 4.0) * ms as f64 / top;
    let mut out = format!(
        r#"<svg class="sparkline" viewBox="0 0 {W} {H}" width="{W}" height="{H}" aria-hidden="true"><title>Latency over the last 24 hours; red marks are failed runs</title><polyline points=""#
    );
    for &(at, ms, _) in runs {
        let _ = write!(out, "{:.1},{:.1} ", x(at), y(ms));
    }
    out.push_str(r#""/>"#);
    for &(at, _, ok) in runs {
        if !ok {
            let _ = write!(
                out,
                r#"<rect class="failed" x="{:.1}" y="0" width="2" height="{H}"/>"#,
                x(at) - 1.0
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_above_the_normal_range_stand_out_and_carry_their_numbers() {
        let bars: Vec<Bar> = (0..4)
            .map(|i| Bar {
                start: i * 15 * 60_000,
                count: if i == 3 { 90 } else { 10 },
                expected: Some(10.0),
            })
            .collect();
        let svg = svg(&bars, 15 * 60_000, "Reports");
        assert_eq!(svg.matches("<rect").count(), 4);
        assert_eq!(svg.matches("bar high").count(), 1);
        assert!(
            svg.contains("1970-01-01T00:45:00Z: 90 reports, 10.0 expected"),
            "{svg}"
        );
        assert!(svg.contains(r#"<polygon class="band""#));
    }
}
