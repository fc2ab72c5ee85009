//! Rules for `pricing:`: per-model prices in USD per million tokens, which
//! `kt mirror report --policy-config` uses instead of its built-in table for those models.

use super::{Ctx, join};
use crate::config::ModelPrice;
use crate::config::node::{Node, SNode};

const PRICE_KEYS: [&str; 2] = ["input_per_mtok", "output_per_mtok"];

/// Checks `pricing: {MODEL: {input_per_mtok, output_per_mtok}}`; `None` when anything is
/// wrong (each problem has been reported with its location).
pub(super) fn check(cx: &mut Ctx<'_>, n: &SNode) -> Option<Vec<(String, ModelPrice)>> {
    let entries = cx.entries("pricing", n)?;
    let mut prices = Some(Vec::with_capacity(entries.len()));
    for e in entries {
        let model = e.key.value.as_str();
        let path = join("pricing", model);
        let price = if model.trim().is_empty() {
            cx.error(&path, &e.key.referenced, "model name must not be empty");
            None
        } else if matches!(e.value.value, Node::Null) {
            // A missing value points at the key: the value's own position is past the colon.
            cx.error(
                &path,
                &e.key.referenced,
                format!("`{model}` has no prices; give input_per_mtok and output_per_mtok"),
            );
            None
        } else {
            check_price(cx, &path, &e.value)
        };
        prices = prices.zip(price).map(|(mut all, p)| {
            all.push((model.to_owned(), p));
            all
        });
    }
    prices
}

/// One model's `{input_per_mtok, output_per_mtok}`: both required, both numbers ≥ 0.
fn check_price(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<ModelPrice> {
    let f = cx.fields(path, n, &PRICE_KEYS)?;
    let mut side = |key: &str| {
        let path = f.child(key);
        cx.required(&f, key)
            .and_then(|v| number(cx, &path, v))
            .and_then(|x| {
                if x < 0.0 {
                    cx.error(
                        &path,
                        &f.get(key)?.referenced,
                        format!("must be at least 0 (USD per million tokens), found {x}"),
                    );
                    None
                } else {
                    Some(x)
                }
            })
    };
    let input = side("input_per_mtok");
    let output = side("output_per_mtok");
    Some(ModelPrice {
        input_per_mtok: input?,
        output_per_mtok: output?,
    })
}

/// A finite number (integer or decimal).
pub(super) fn number(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<f64> {
    let value = match n.value {
        // Prices and thresholds are small, so the i128 → f64 rounding cannot matter.
        Node::Int(i) => i as f64,
        Node::Float(x) => x,
        _ => {
            cx.mismatch(path, n, "a number");
            return None;
        }
    };
    if value.is_finite() {
        Some(value)
    } else {
        cx.error(path, &n.referenced, "must be a finite number");
        None
    }
}

/// A USD amount per UTC day greater than 0; `instead` tells how to get what a 0 would
/// have meant (a daily cap of 0 would do nothing at all).
pub(super) fn positive_usd(cx: &mut Ctx<'_>, path: &str, n: &SNode, instead: &str) -> Option<f64> {
    let x = number(cx, path, n)?;
    if x <= 0.0 {
        cx.error(
            path,
            &n.referenced,
            format!("must be greater than 0 (USD per UTC day), found {x}; {instead}"),
        );
        return None;
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use crate::config::{LintReport, ModelPrice, lint_str};

    const BASE: &str = "providers:\n  targets:\n    - id: a\n      provider: simulated\n";

    fn lint(extra: &str) -> LintReport {
        lint_str(&format!("{BASE}{extra}"), "c.yaml", &|_| None).unwrap()
    }

    fn lines(r: &LintReport) -> Vec<String> {
        r.findings.iter().map(|f| f.render("c.yaml")).collect()
    }

    // Proves a valid pricing block reaches the Config in file order, integers accepted.
    #[test]
    fn valid_pricing_is_kept_in_order() {
        let r = lint(
            "pricing:\n  gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.6}\n  my.model:\n    input_per_mtok: 1\n    output_per_mtok: 0\n",
        );
        assert!(r.is_valid(), "{:?}", lines(&r));
        let cfg = r.config.unwrap();
        assert_eq!(
            cfg.pricing,
            vec![
                (
                    "gpt-4o-mini".to_owned(),
                    ModelPrice {
                        input_per_mtok: 0.15,
                        output_per_mtok: 0.6
                    }
                ),
                (
                    "my.model".to_owned(),
                    ModelPrice {
                        input_per_mtok: 1.0,
                        output_per_mtok: 0.0
                    }
                ),
            ]
        );
    }

    // Proves unknown keys, negative and non-numeric prices, missing sides and empty entries
    // are errors at their line:column with the key path.
    #[test]
    fn bad_pricing_is_reported_with_locations() {
        let r = lint(
            "pricing:\n  a: {input_per_mtok: -1, output_per_mtok: 2}\n  b:\n    input_per_mtok: x\n    output_per_mtok: 1\n    outptu_per_mtok: 1\n  c: {input_per_mtok: 1}\n  d:\n",
        );
        assert!(!r.is_valid());
        assert_eq!(
            lines(&r),
            [
                "c.yaml:6:23: error: pricing.a.input_per_mtok: must be at least 0 (USD per million tokens), found -1",
                "c.yaml:8:21: error: pricing.b.input_per_mtok: expected a number, found a string",
                "c.yaml:10:5: error: pricing.b.outptu_per_mtok: unknown key `outptu_per_mtok` (did you mean `output_per_mtok`?)",
                "c.yaml:11:6: error: pricing.c.output_per_mtok: missing required key `output_per_mtok`",
                "c.yaml:12:3: error: pricing.d: `d` has no prices; give input_per_mtok and output_per_mtok",
            ]
        );
    }
}
