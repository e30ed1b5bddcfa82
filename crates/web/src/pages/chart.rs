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
/// Room for the y-axis values, at the phone's larger text.
const LEFT: f64 = 56.0;
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
    // The y-axis: round values from zero with light lines across, so the height of any
    // bar can be read.
    let tick = nice_step(top / 4.0);
    let mut value = 0.0;
    while value <= top {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{WIDTH}" y2="{y:.1}"/><text class="axis y" x="{:.1}" y="{:.1}" text-anchor="end">{value}</text>"#,
            LEFT - 4.0,
            (y(value) + 4.0).clamp(20.0, plot_height - 2.0),
            y = y(value),
        );
        value += tick;
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{plot_height}" x2="{WIDTH}" y2="{plot_height}"/>"#
    );
    // Time labels every few hours, written in UTC with the time itself in `data-at`: the
    // page's script writes them in the reader's zone, as it does every time on the page.
    // A label near an edge is anchored on that side, so it is never cut off.
    let span = step * bars.len() as i64;
    let label_every = if span > 6 * HOUR_MS {
        4 * HOUR_MS
    } else {
        30 * 60_000
    };
    let mut labels = 0;
    for (i, b) in bars.iter().enumerate() {
        if b.start % label_every == 0 {
            // Every other label gives way on a phone, where the text is larger.
            let class = if labels % 2 == 1 {
                "axis x odd"
            } else {
                "axis x"
            };
            labels += 1;
            let x = LEFT + i as f64 * bar_width;
            let anchor = if x > WIDTH - 40.0 {
                "end"
            } else if x < LEFT + 40.0 {
                "start"
            } else {
                "middle"
            };
            let at = format_rfc3339(b.start);
            let _ = write!(
                out,
                r#"<text class="{class}" x="{x:.1}" y="{:.1}" text-anchor="{anchor}" data-at="{at}">{}</text>"#,
                HEIGHT - 4.0,
                &at[11..16]
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The round step (1, 2 or 5 times a power of ten, at least 1) nearest above `rough`.
fn nice_step(rough: f64) -> f64 {
    let power = 10f64.powf(rough.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power)
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
        // The y-axis reads 0, 20, … up to the top (90 × 1.1).
        let ticks: Vec<&str> = svg
            .split(r#"text-anchor="end">"#)
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .collect();
        assert_eq!(ticks, ["0", "50"], "{svg}");
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(24.75), 50.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(0.3), 1.0);
        assert_eq!(nice_step(180.0), 200.0);
        assert_eq!(nice_step(1000.0), 1000.0);
    }

    #[test]
    fn time_labels_near_the_edges_stay_inside() {
        // Two hours of minutes from 00:01: the 02:00 label falls on the last bar.
        let bars: Vec<Bar> = (1..=120)
            .map(|i| Bar {
                start: i * 60_000,
                count: 1,
                expected: None,
            })
            .collect();
        let svg = svg(&bars, 60_000, "Reports");
        assert!(svg.contains(r#"class="axis x" x="216.5" y="176.0" text-anchor="middle" data-at="1970-01-01T00:30:00Z">00:30<"#), "{svg}");
        assert!(
            svg.contains(r#"text-anchor="end" data-at="1970-01-01T02:00:00Z">02:00<"#),
            "{svg}"
        );
    }
}
