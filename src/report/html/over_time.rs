//! "Figures over time": a report grouped by hour or day has no time series inside a group,
//! the groups themselves are the series. This section orders them by bucket and charts the
//! pairs, the paired latency difference and the similarity (with its CI band and the
//! noise floor) across buckets.

use serde_json::Value;

use super::svg::{BOTTOM, Fmt, Frame, LEFT, RIGHT, Series, TOP, finite, legend, open, y_axis};
use super::{FAIL, NOISE, PRIMARY, SHADOW, ci, esc, fmt_num, key_label, num, str_at, svg};

/// The time bucket of a group (`key.hour` or `key.day`), when it has one.
pub(super) fn time_key(g: &Value) -> Option<&str> {
    str_at(g, &["key", "hour"]).or_else(|| str_at(g, &["key", "day"]))
}

pub(super) fn is_time(by: &str, groups: &[&Value]) -> bool {
    matches!(by, "hour" | "day")
        || (!groups.is_empty() && groups.iter().all(|g| time_key(g).is_some()))
}

/// Axis label for a bucket: `11-24 10:00` for hours, `11-24` for days.
pub(super) fn time_label(k: &str) -> String {
    match (k.get(5..10), k.get(11..16)) {
        (Some(md), Some(hm)) => format!("{md} {hm}"),
        (Some(md), None) => md.to_string(),
        _ => k.to_string(),
    }
}

pub(super) fn section(h: &mut String, groups: &[&Value], by: &str) {
    h.push_str("<section id=\"over-time\"><h2>Figures over time</h2>");
    if !is_time(by, groups) {
        h.push_str(
            "<p class=\"empty\">Build the report with <code>--by hour</code> or <code>--by day</code> \
             to see pairs, latency and similarity over time.</p></section>",
        );
        return;
    }
    if groups.is_empty() {
        h.push_str("<p class=\"empty\">No pairs in this window.</p></section>");
        return;
    }
    let mut sorted: Vec<&Value> = groups.to_vec();
    sorted.sort_by(|a, b| time_key(a).cmp(&time_key(b)));
    let labels: Vec<String> = sorted
        .iter()
        .map(|g| time_key(g).map_or_else(|| key_label(g), time_label))
        .collect();
    let ticks = axis_ticks(&sorted);
    let col = |path: &[&str]| -> Vec<Option<f64>> { sorted.iter().map(|g| num(g, path)).collect() };
    let band: Vec<Option<(f64, f64)>> = sorted
        .iter()
        .map(|g| ci(g, &["quality", "similarity", "ci95"]))
        .collect();
    let per = if by == "day" { "day" } else { "hour" };
    let pairs_series = [Series {
        name: "pairs",
        color: PRIMARY,
        values: col(&["pairs"]),
    }];
    let diff_series = [
        Series {
            name: "mean diff",
            color: SHADOW,
            values: col(&["latency", "diff", "mean"]),
        },
        Series {
            name: "p90 diff",
            color: FAIL,
            values: col(&["latency", "diff", "p90"]),
        },
    ];
    let sim_series = [
        Series {
            name: "mean similarity",
            color: PRIMARY,
            values: col(&["quality", "similarity", "mean"]),
        },
        Series {
            name: "noise floor",
            color: NOISE,
            values: col(&["noise_floor", "similarity_mean"]),
        },
    ];
    let charts = [
        (
            format!("Mirrored pairs per {per}"),
            OverTime {
                aria: "mirrored pairs over time",
                labels: &labels,
                ticks: &ticks,
                series: &pairs_series,
                style: Style::Bars,
                band: None,
                y_range: None,
                fmt: svg::short,
            },
        ),
        (
            "Latency difference, shadow − primary (ms)".to_string(),
            OverTime {
                aria: "latency difference over time",
                labels: &labels,
                ticks: &ticks,
                series: &diff_series,
                style: Style::Lines,
                band: None,
                y_range: None,
                fmt: fmt_num,
            },
        ),
        (
            "Similarity (mean with 95% CI band)".to_string(),
            OverTime {
                aria: "similarity over time",
                labels: &labels,
                ticks: &ticks,
                series: &sim_series,
                style: Style::Lines,
                band: Some(&band),
                y_range: Some((0.0, 1.0)),
                fmt: fmt_num,
            },
        ),
    ];
    for (title, spec) in &charts {
        h.push_str(&format!(
            "<figure class=\"wide\"><figcaption>{}</figcaption>{}</figure>",
            esc(title),
            chart(spec)
        ));
    }
    h.push_str("</section>");
}

/// X-axis labels for time buckets ("" = none): hour buckets on round hours (every 6 or
/// 12 hours, or midnights only when there are many), day buckets all (thinned by the chart).
fn axis_ticks(sorted: &[&Value]) -> Vec<String> {
    let hour_of = |g: &Value| {
        str_at(g, &["key", "hour"])
            .and_then(|k| k.get(11..13))
            .and_then(|h| h.parse::<usize>().ok())
    };
    let n = sorted.len();
    let step = [1, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|s| n.div_ceil(*s) <= 12)
        .unwrap_or(24);
    sorted
        .iter()
        .map(|g| match (time_key(g), hour_of(g)) {
            (Some(k), Some(h)) if step == 24 => {
                if h == 0 {
                    k.get(5..10).unwrap_or(k).to_string()
                } else {
                    String::new()
                }
            }
            (Some(k), Some(h)) if h % step == 0 => time_label(k),
            (Some(_), Some(_)) => String::new(),
            (Some(k), None) => time_label(k),
            (None, _) => key_label(g),
        })
        .collect()
}

/// How [`chart`] draws its first series.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// One bar per point (counts).
    Bars,
    /// A line through the points (means).
    Lines,
}

/// Options for [`chart`].
struct OverTime<'a> {
    /// Accessible name (`aria-label` and `<title>`).
    aria: &'a str,
    /// One label per point, for tooltips.
    labels: &'a [String],
    /// One x-axis label per point, "" for none; thinned to about 12.
    ticks: &'a [String],
    /// The first is drawn per `style`, the rest as dashed lines.
    series: &'a [Series<'a>],
    style: Style,
    /// A shaded interval around the first series (e.g. the similarity CI).
    band: Option<&'a [Option<(f64, f64)>]>,
    /// Fixed y range instead of one fitted to the data.
    y_range: Option<(f64, f64)>,
    /// Formats y-axis ticks and tooltips.
    fmt: Fmt,
}

/// Values over an ordered axis (the groups of a `--by hour|day` report): the first
/// series as bars or a line, further series as lines, an optional band around the first.
fn chart(o: &OverTime) -> String {
    let w = 960.0;
    let h = 260.0;
    let mut out = open(w, h, o.aria);
    let (x0, x1, y0, y1) = (LEFT + 8.0, w - RIGHT, TOP, h - BOTTOM - 8.0);
    let n = o.labels.len().max(1);
    let (lo, hi) = match o.y_range {
        Some(r) => r,
        None => finite(
            o.series
                .iter()
                .flat_map(|s| s.values.iter().flatten().copied())
                .chain(
                    o.band
                        .into_iter()
                        .flatten()
                        .flatten()
                        .flat_map(|(l, h)| [*l, *h]),
                ),
        ),
    };
    let ys = y_axis(&mut out, lo, hi, Frame { x0, x1, y0, y1 }, o.fmt);
    let step = (x1 - x0) / n as f64;
    let x = |i: usize| x0 + step * (i as f64 + 0.5);
    let clamp = |v: f64| v.clamp(ys.d0.min(ys.d1), ys.d0.max(ys.d1));
    if let (Some(band), Some(first)) = (o.band, o.series.first()) {
        for (i, b) in band.iter().enumerate() {
            if let Some((l, h)) = b.filter(|(l, h)| l.is_finite() && h.is_finite()) {
                let (yl, yh) = (ys.at(clamp(l)), ys.at(clamp(h)));
                out.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{yh:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" \
                     fill-opacity=\"0.18\"/>",
                    x(i) - step / 2.0,
                    step,
                    (yl - yh).max(0.5),
                    esc(first.color)
                ));
            }
        }
    }
    let base = ys.at(clamp(0.0));
    for (k, s) in o.series.iter().enumerate() {
        let label = |i: usize, v: f64| {
            esc(&format!(
                "{} {}: {}",
                o.labels.get(i).map_or("", String::as_str),
                s.name,
                (o.fmt)(v)
            ))
        };
        if k == 0 && o.style == Style::Bars {
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    let top = ys.at(clamp(v.max(0.0)));
                    let bottom = ys.at(clamp(v.min(0.0)));
                    out.push_str(&format!(
                        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                         <title>{}</title></rect>",
                        x(i) - step * 0.4,
                        (step * 0.8).max(1.0),
                        (bottom - top).max(0.5),
                        esc(s.color),
                        label(i, v)
                    ));
                }
            }
            continue;
        }
        // A polyline per run of present values: a missing figure breaks the line.
        let dash = if k > 0 {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, out: &mut String| {
            if run.len() > 1 {
                out.push_str(&format!(
                    "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
                    esc(s.color),
                    run.join(" ")
                ));
            }
            run.clear();
        };
        for (i, v) in s.values.iter().enumerate() {
            match v.filter(|v| v.is_finite()) {
                Some(v) => {
                    let y = ys.at(clamp(v));
                    run.push(format!("{:.1},{y:.1}", x(i)));
                    if n <= 60 {
                        out.push_str(&format!(
                            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{}\"><title>{}</title></circle>",
                            x(i),
                            esc(s.color),
                            label(i, v)
                        ));
                    }
                }
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
    }
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\"/>"
    ));
    // At most ~12 x labels: every k-th of the non-empty ones.
    let shown = o.ticks.iter().filter(|t| !t.is_empty()).count();
    let every = shown.div_ceil(12).max(1);
    let nonempty = o.ticks.iter().enumerate().filter(|(_, t)| !t.is_empty());
    for (k, (i, l)) in nonempty.enumerate() {
        if k % every == 0 {
            out.push_str(&format!(
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x(i),
                y1 + 16.0,
                esc(l)
            ));
        }
    }
    let items: Vec<(&str, &str, bool)> = o
        .series
        .iter()
        .enumerate()
        .map(|(k, s)| (s.name, s.color, k > 0))
        .collect();
    legend(&mut out, &items, w - RIGHT);
    out.push_str("</svg>");
    out
}
