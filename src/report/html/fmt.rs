//! Number formatting for the HTML report: figures as a person writes them (thousands
//! separators, milliseconds, percentages, dollars with sensible precision).

/// Shown for a missing figure.
pub(super) const NA: &str = "—";

/// An integer with thousands separators: 1,234,567.
pub(super) fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A number as a person writes it: 1,234 · 12.5 · 0.734.
pub(super) fn fmt_num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 || x.abs() >= 1000.0 {
        grouped(x.round() as i64)
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Milliseconds: `1,234 ms`, `12.5 ms`.
pub(super) fn fmt_ms(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{} ms", grouped(x.round() as i64))
    } else {
        format!("{} ms", fmt_num((x * 10.0).round() / 10.0))
    }
}

/// A millisecond difference with its sign: `+318 ms`, `-40 ms`.
pub(super) fn fmt_signed_ms(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", fmt_ms(x))
    } else {
        fmt_ms(x)
    }
}

/// A fraction in [0, 1] as a percentage.
pub(super) fn fmt_rate(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p.abs() < 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Dollars: `$23,244`, `$912.60`, `$0.000234`.
pub(super) fn fmt_usd(x: f64) -> String {
    let sign = if x < 0.0 { "-" } else { "" };
    let a = x.abs();
    if a >= 1000.0 {
        format!("{sign}${}", grouped(a.round() as i64))
    } else if a == 0.0 {
        "$0".to_string()
    } else if a >= 1.0 {
        format!("{sign}${a:.2}")
    } else {
        // Per-request prices are tiny: three significant digits, at least two decimals.
        let digits = (2 - a.log10().floor() as i32).clamp(2, 10) as usize;
        let s = format!("{a:.digits$}");
        let s = s.trim_end_matches('0');
        let s = if s.len() < 4 {
            format!("{s:0<4}")
        } else {
            s.to_string()
        };
        format!("{sign}${s}")
    }
}

/// `change_pct` is a percentage (12.5 = +12.5%).
pub(super) fn fmt_pct_change(x: f64) -> String {
    format!("{}{x:.1}%", if x > 0.0 { "+" } else { "" })
}

/// A similarity in [0, 1], three decimals.
pub(super) fn fmt_sim(x: f64) -> String {
    format!("{x:.3}")
}

/// `f(x)`, or [`NA`] when the figure is missing.
pub(super) fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or_else(|| NA.to_string(), f)
}

/// `95% CI lo – hi` in `f`'s format, or nothing.
pub(super) fn fmt_ci(c: Option<(f64, f64)>, f: fn(f64) -> String) -> String {
    c.map_or_else(String::new, |(l, h)| format!("95% CI {} – {}", f(l), f(h)))
}
