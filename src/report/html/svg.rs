//! Inline SVG charts for the HTML report: grouped bars, a histogram with markers,
//! horizontal bars, side-by-side bar panels with CI whiskers, a one-line gate chart, and
//! the axis helpers `over_time` shares. Pure string building, no I/O; every text that reaches the SVG goes
//! through [`esc`], and every chart is one `<svg>` element that scales to its container.

use super::esc;

/// Formats an axis or value label.
pub type Fmt = fn(f64) -> String;

/// Canvas size (viewBox units) and plot margins shared by the vertical charts.
const W: f64 = 480.0;
const H: f64 = 240.0;
pub(super) const LEFT: f64 = 56.0;
pub(super) const RIGHT: f64 = 18.0;
pub(super) const TOP: f64 = 28.0;
pub(super) const BOTTOM: f64 = 36.0;

/// One named series of values, `None` where the figure is missing.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// CSS colour of its bars or line.
    pub color: &'a str,
    /// One value per category or point.
    pub values: Vec<Option<f64>>,
}

/// A vertical marker on the similarity histogram (e.g. the noise-floor mean).
pub struct Marker<'a> {
    /// Legend text.
    pub label: &'a str,
    /// Position on the [0, 1] axis.
    pub value: f64,
    pub color: &'a str,
    /// Dashed line (the noise floor) rather than solid (the mean).
    pub dashed: bool,
}

/// One bar of a [`panels`] chart, with an optional 95% interval drawn as a whisker.
pub struct Bar<'a> {
    /// Category text under the bar.
    pub label: &'a str,
    /// Bar height; `None` prints "n/a".
    pub value: Option<f64>,
    pub color: &'a str,
    /// `(lo, hi)` of the 95% interval.
    pub ci: Option<(f64, f64)>,
}

/// One panel of a [`panels`] chart: its own title and y scale.
pub struct Panel<'a> {
    /// Text above the panel.
    pub title: &'a str,
    /// Its bars, left to right.
    pub bars: Vec<Bar<'a>>,
}

/// One row of an [`hbars`] chart.
pub struct HBar {
    /// Text left of the bar (cut to 34 characters; the tooltip has it all).
    pub label: String,
    /// Bar length; the longest bar is the largest value.
    pub value: f64,
    pub color: &'static str,
}

pub(super) fn open(w: f64, h: f64, aria: &str) -> String {
    format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" \
         role=\"img\" aria-label=\"{a}\"><title>{a}</title>",
        a = esc(aria)
    )
}

/// Round tick values covering `[lo, hi]`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (mut lo, mut hi) = (lo, hi);
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 1.0];
    }
    if hi - lo < 1e-9 {
        if lo.abs() < 1e-9 {
            hi = 1.0;
        } else if lo > 0.0 {
            lo = 0.0;
        } else {
            hi = 0.0;
        }
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut v = start;
    // Bounded: at most n + 3 steps from a floor to a ceiling.
    while out.len() < n + 4 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        if v >= hi - step * 1e-9 {
            break;
        }
        v += step;
    }
    out
}

/// A linear map from data `[d0, d1]` to pixels `[p0, p1]`.
#[derive(Clone, Copy)]
pub(super) struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub p0: f64,
    pub p1: f64,
}

impl Scale {
    pub fn at(self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span.abs() < 1e-12 {
            return self.p0;
        }
        self.p0 + (v - self.d0) / span * (self.p1 - self.p0)
    }
}

/// The plot area in viewBox units: `x0..x1` left to right, `y0..y1` top to bottom.
#[derive(Clone, Copy)]
pub(super) struct Frame {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

/// Horizontal grid lines and y labels over `[lo, hi]`; returns the y scale.
pub(super) fn y_axis(out: &mut String, lo: f64, hi: f64, f: Frame, fmt: Fmt) -> Scale {
    let Frame { x0, x1, y0, y1 } = f;
    let t = ticks(lo, hi, 4);
    let (d0, d1) = (
        t.first().copied().unwrap_or(0.0),
        t.last().copied().unwrap_or(1.0),
    );
    let s = Scale {
        d0,
        d1,
        p0: y1,
        p1: y0,
    };
    for v in &t {
        let y = s.at(*v);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            y + 4.0,
            esc(&fmt(*v))
        ));
    }
    s
}

pub(super) fn legend(out: &mut String, items: &[(&str, &str, bool)], right: f64) {
    let mut x = right;
    for (name, color, dashed) in items.iter().rev() {
        let w = 7.0 * name.chars().count() as f64 + 22.0;
        x -= w;
        let dash = if *dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"12\" y2=\"12\" stroke=\"{c}\" stroke-width=\"8\"{dash}/>\
             <text class=\"legend\" x=\"{:.1}\" y=\"16\">{}</text>",
            x,
            x + 12.0,
            x + 16.0,
            esc(name),
            c = esc(color)
        ));
    }
}

pub(super) fn finite(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    vals.filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Bars for `categories` × `series` side by side (e.g. mean/p50/p90/p99 per side).
pub fn grouped_bars(aria: &str, categories: &[&str], series: &[Series], fmt: Fmt) -> String {
    let mut out = open(W, H, aria);
    let (lo, hi) = finite(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
    );
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let ys = y_axis(&mut out, lo, hi, Frame { x0, x1, y0, y1 }, fmt);
    let band = (x1 - x0) / categories.len().max(1) as f64;
    let bw = band * 0.76 / series.len().max(1) as f64;
    let base = ys.at(0.0);
    for (i, cat) in categories.iter().enumerate() {
        let bx = x0 + band * i as f64 + band * 0.12;
        for (j, s) in series.iter().enumerate() {
            let x = bx + bw * j as f64;
            match s.values.get(i).copied().flatten().filter(|v| v.is_finite()) {
                Some(v) => {
                    let (top, bottom) = (ys.at(v.max(0.0)), ys.at(v.min(0.0)));
                    out.push_str(&format!(
                        "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                         <title>{}</title></rect>\
                         <text class=\"val\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                        (bw - 2.0).max(1.0),
                        (bottom - top).max(0.5),
                        esc(s.color),
                        esc(&format!("{} {}: {}", s.name, cat, fmt(v))),
                        x + bw / 2.0 - 1.0,
                        top - 3.0,
                        esc(&fmt(v))
                    ));
                }
                None => out.push_str(&format!(
                    "<text class=\"val\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">n/a</text>",
                    x + bw / 2.0,
                    base - 3.0
                )),
            }
        }
        out.push_str(&format!(
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + band * (i as f64 + 0.5),
            y1 + 18.0,
            esc(cat)
        ));
    }
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\"/>"
    ));
    let items: Vec<(&str, &str, bool)> = series.iter().map(|s| (s.name, s.color, false)).collect();
    legend(&mut out, &items, W - RIGHT);
    out.push_str("</svg>");
    out
}

/// Ten buckets over [0, 1] with vertical markers (means) on top.
pub fn histogram(aria: &str, counts: &[f64], color: &str, markers: &[Marker]) -> String {
    let mut out = open(W, H, aria);
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let (_, hi) = finite(counts.iter().copied());
    let ys = y_axis(&mut out, 0.0, hi, Frame { x0, x1, y0, y1 }, short);
    let xs = Scale {
        d0: 0.0,
        d1: 1.0,
        p0: x0,
        p1: x1,
    };
    let n = counts.len().max(1) as f64;
    for (i, c) in counts.iter().enumerate() {
        let (a, b) = (xs.at(i as f64 / n), xs.at((i + 1) as f64 / n));
        let top = ys.at(c.max(0.0));
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
             <title>{}</title></rect>",
            a + 1.0,
            (b - a - 2.0).max(1.0),
            (y1 - top).max(0.0),
            esc(color),
            esc(&format!(
                "[{:.1}, {:.1}{}: {}",
                i as f64 / n,
                (i + 1) as f64 / n,
                if i + 1 == counts.len() { "]" } else { ")" },
                short(*c)
            ))
        ));
        if *c > 0.0 {
            out.push_str(&format!(
                "<text class=\"val\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                (a + b) / 2.0,
                top - 3.0,
                esc(&short(*c))
            ));
        }
    }
    for i in 0..=10 {
        let x = xs.at(i as f64 / 10.0);
        out.push_str(&format!(
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.1}</text>",
            y1 + 16.0,
            i as f64 / 10.0
        ));
    }
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{y1:.1}\" y2=\"{y1:.1}\"/>"
    ));
    for m in markers.iter().filter(|m| m.value.is_finite()) {
        let x = xs.at(m.value.clamp(0.0, 1.0));
        let dash = if m.dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\" stroke=\"{}\" stroke-width=\"2\"{dash}>\
             <title>{}</title></line>",
            esc(m.color),
            esc(&format!("{} {:.3}", m.label, m.value))
        ));
    }
    let items: Vec<(&str, &str, bool)> = markers
        .iter()
        .filter(|m| m.value.is_finite())
        .map(|m| (m.label, m.color, m.dashed))
        .collect();
    legend(&mut out, &items, W - RIGHT);
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per row, longest scale = largest value.
pub fn hbars(aria: &str, rows: &[HBar], fmt: Fmt) -> String {
    let row_h = 22.0;
    let h = 12.0 + row_h * rows.len() as f64 + 8.0;
    let mut out = open(W, h, aria);
    let (label_w, x1) = (210.0, W - 64.0);
    let (_, hi) = finite(rows.iter().map(|r| r.value));
    let xs = Scale {
        d0: 0.0,
        d1: if hi > 0.0 { hi } else { 1.0 },
        p0: label_w,
        p1: x1,
    };
    for (i, r) in rows.iter().enumerate() {
        let y = 12.0 + row_h * i as f64;
        let label: String = if r.label.chars().count() > 34 {
            r.label.chars().take(33).chain(['…']).collect()
        } else {
            r.label.clone()
        };
        let w = (xs.at(r.value.max(0.0)) - label_w).max(1.0);
        out.push_str(&format!(
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\">\
             <title>{}</title></rect>\
             <text class=\"val\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(&label),
            row_h - 6.0,
            esc(r.color),
            esc(&format!("{}: {}", r.label, fmt(r.value))),
            label_w + w + 4.0,
            y + 14.0,
            esc(&fmt(r.value))
        ));
    }
    out.push_str("</svg>");
    out
}

/// Side-by-side panels of bars, each with its own y scale and optional CI whiskers
/// (cost per 1k requests next to the monthly projection).
pub fn panels(aria: &str, panels: &[Panel], fmt: Fmt) -> String {
    let mut out = open(W, H, aria);
    let pw = (W - 8.0) / panels.len().max(1) as f64;
    for (k, p) in panels.iter().enumerate() {
        let px = 8.0 + pw * k as f64;
        let (x0, x1, y0, y1) = (px + LEFT, px + pw - RIGHT, TOP, H - BOTTOM);
        out.push_str(&format!(
            "<text class=\"ptitle\" x=\"{:.1}\" y=\"14\" text-anchor=\"middle\">{}</text>",
            (x0 + x1) / 2.0,
            esc(p.title)
        ));
        let (lo, hi) = finite(p.bars.iter().flat_map(|b| {
            b.value
                .into_iter()
                .chain(b.ci.into_iter().flat_map(|(l, h)| [l, h]))
        }));
        let ys = y_axis(&mut out, lo, hi, Frame { x0, x1, y0, y1 }, fmt);
        let band = (x1 - x0) / p.bars.len().max(1) as f64;
        let base = ys.at(0.0);
        for (i, b) in p.bars.iter().enumerate() {
            let cx = x0 + band * (i as f64 + 0.5);
            let bw = band * 0.56;
            match b.value.filter(|v| v.is_finite()) {
                Some(v) => {
                    let (top, bottom) = (ys.at(v.max(0.0)), ys.at(v.min(0.0)));
                    out.push_str(&format!(
                        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\">\
                         <title>{}</title></rect>",
                        cx - bw / 2.0,
                        (bottom - top).max(0.5),
                        esc(b.color),
                        esc(&format!("{}: {}", b.label, fmt(v)))
                    ));
                    let mut label_y = top - 4.0;
                    if let Some((l, h)) = b.ci.filter(|(l, h)| l.is_finite() && h.is_finite()) {
                        let (yl, yh) = (ys.at(l), ys.at(h));
                        label_y = label_y.min(yh - 4.0);
                        out.push_str(&format!(
                            "<path class=\"whisker\" d=\"M{:.1} {yl:.1}H{:.1}M{cx:.1} {yl:.1}V{yh:.1}M{:.1} {yh:.1}H{:.1}\">\
                             <title>{}</title></path>",
                            cx - 8.0,
                            cx + 8.0,
                            cx - 8.0,
                            cx + 8.0,
                            esc(&format!("95% CI {} – {}", fmt(l), fmt(h)))
                        ));
                    }
                    out.push_str(&format!(
                        "<text class=\"val\" x=\"{cx:.1}\" y=\"{label_y:.1}\" text-anchor=\"middle\">{}</text>",
                        esc(&fmt(v))
                    ));
                }
                None => out.push_str(&format!(
                    "<text class=\"val\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">n/a</text>",
                    base - 4.0
                )),
            }
            out.push_str(&format!(
                "<text class=\"cat\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                y1 + 18.0,
                esc(b.label)
            ));
        }
        out.push_str(&format!(
            "<line class=\"axis\" x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\"/>"
        ));
    }
    out.push_str("</svg>");
    out
}

/// A one-line gate chart: the threshold as a dashed line, the 95% interval as a bar and
/// the value as a dot coloured by the gate's result.
pub fn gate(
    aria: &str,
    value: f64,
    ci: Option<(f64, f64)>,
    threshold: f64,
    pass: Option<bool>,
    fmt: Fmt,
) -> String {
    let (w, h) = (240.0, 40.0);
    let mut out = open(w, h, aria);
    let pts = [value, threshold]
        .into_iter()
        .chain(ci.into_iter().flat_map(|(l, h)| [l, h]))
        .filter(|v| v.is_finite());
    let (lo, hi) = pts.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.15)
        .max(hi.abs().max(lo.abs()) * 0.05)
        .max(1e-9);
    let xs = Scale {
        d0: lo - pad,
        d1: hi + pad,
        p0: 8.0,
        p1: w - 8.0,
    };
    let color = match pass {
        Some(true) => "#2e8540",
        Some(false) => "#c62828",
        None => "#8a6d00",
    };
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"8\" x2=\"{:.1}\" y1=\"26\" y2=\"26\"/>",
        w - 8.0
    ));
    if let Some((l, hi)) = ci.filter(|(l, h)| l.is_finite() && h.is_finite()) {
        let (a, b) = (xs.at(l), xs.at(hi));
        out.push_str(&format!(
            "<rect x=\"{a:.1}\" y=\"21\" width=\"{:.1}\" height=\"10\" fill=\"{color}\" fill-opacity=\"0.25\">\
             <title>{}</title></rect>",
            (b - a).max(1.0),
            esc(&format!("95% CI {} – {}", fmt(l), fmt(hi)))
        ));
    }
    let t = xs.at(threshold);
    out.push_str(&format!(
        "<line x1=\"{t:.1}\" x2=\"{t:.1}\" y1=\"15\" y2=\"37\" stroke=\"#1d232b\" stroke-width=\"1.5\" \
         stroke-dasharray=\"3 2\"><title>{}</title></line>\
         <text class=\"tick\" x=\"{t:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
        esc(&format!("threshold {}", fmt(threshold))),
        esc(&fmt(threshold))
    ));
    out.push_str(&format!(
        "<circle cx=\"{:.1}\" cy=\"26\" r=\"4.5\" fill=\"{color}\"><title>{}</title></circle></svg>",
        xs.at(value),
        esc(&format!("value {}", fmt(value)))
    ));
    out
}

/// A compact count: 950, 12.3k, 1.2M.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Ticks cover the data range with round steps and survive degenerate input.
    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = ticks(0.0, 1234.0, 4);
        assert!(t.first().copied() == Some(0.0) && *t.last().unwrap() >= 1234.0);
        assert_eq!(ticks(0.0, 0.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!(ticks(-50.0, 120.0, 4).contains(&0.0));
        assert_eq!(ticks(f64::NAN, 1.0, 4), vec![0.0, 1.0]);
        assert!(ticks(5.0, 5.0, 4).len() >= 2);
    }

    // Compact counts read like a person would write them.
    #[test]
    fn short_counts() {
        assert_eq!(short(950.0), "950");
        assert_eq!(short(12_345.0), "12k");
        assert_eq!(short(1_500.0), "1.5k");
        assert_eq!(short(2_000_000.0), "2.0M");
    }
}
