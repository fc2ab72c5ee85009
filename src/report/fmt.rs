//! Number, money, rate and text formatting shared by the report's text renderers.

/// The placeholder for a missing figure.
pub fn dash() -> String {
    "-".to_owned()
}

/// Optional text, `-` when absent.
pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(dash)
}

/// Text on one line (answers and messages may hold newlines).
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, `…` marking a cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max - 1).collect();
    format!("{}…", head.trim_end_matches('…'))
}

/// A number with `decimals` decimals, `-` for none.
pub fn num(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(dash, |x| format!("{x:.decimals$}"))
}

/// A number with its sign, `-` for none.
pub fn signed(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(dash, |x| format!("{x:+.decimals$}"))
}

/// A fraction as a percentage.
pub fn rate(x: Option<f64>) -> String {
    x.map_or_else(dash, |x| format!("{:.1}%", x * 100.0))
}

/// A change in percent with its sign.
pub fn pct_change(x: f64) -> String {
    format!("{x:+.1}%")
}

/// USD with enough decimals to show small per-request costs, thousands grouped.
pub fn usd(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        let cents = (a * 100.0).round() as u64;
        let sign = if x < 0.0 { "-" } else { "" };
        return format!("{sign}${}.{:02}", thousands(cents / 100), cents % 100);
    }
    let decimals = if a >= 1.0 || a == 0.0 {
        2
    } else {
        // Four significant digits below one dollar.
        (3 - a.log10().floor() as i32).clamp(2, 10) as usize
    };
    format!("${x:.decimals$}")
}

/// A price per million tokens: as written in a price list (`$0.15`, `$3.00`, `$0.075`).
pub fn price(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0');
    let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals < 2 {
        format!("${x:.2}")
    } else {
        format!("${s}")
    }
}

/// An integer with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A length of time given in days, in the unit that reads best.
pub fn span(days: f64) -> String {
    if days < 1.0 / 1440.0 {
        let seconds = format!("{:.0}", days * 86_400.0);
        let unit = if seconds == "1" { "second" } else { "seconds" };
        format!("{seconds} {unit}")
    } else if days < 1.0 / 24.0 {
        format!("{:.1} minutes", days * 1440.0)
    } else if days < 2.0 {
        format!("{:.1} hours", days * 24.0)
    } else {
        format!("{days:.1} days")
    }
}

/// A USD difference with its sign.
pub fn usd_signed(x: f64) -> String {
    if x < 0.0 {
        format!("-{}", usd(-x))
    } else {
        format!("+{}", usd(x))
    }
}

/// USD, `-` for none.
pub fn opt_usd(x: Option<f64>) -> String {
    x.map_or_else(dash, usd)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves money keeps four significant digits below a dollar and cents above.
    #[test]
    fn usd_formatting() {
        assert_eq!(usd(0.000_123_456), "$0.0001235");
        assert_eq!(usd(0.5), "$0.5000");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd_signed(-0.25), "-$0.2500");
        assert_eq!(usd(1_234_567.891), "$1,234,567.89");
        assert_eq!(price(0.15), "$0.15");
        assert_eq!(price(3.0), "$3.00");
        assert_eq!(price(0.075), "$0.075");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(span(2.0 / 1440.0), "2.0 minutes");
        assert_eq!(span(7.0), "7.0 days");
        assert_eq!(span(2.0 / 86_400.0), "2 seconds");
        assert_eq!(span(1.0 / 86_400.0), "1 second");
    }
}
