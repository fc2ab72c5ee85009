//! Rules for `traffic_mirror.spend_guard:`: the daily spend caps and the error-rate pause
//! of each shadow target, and whether every shadow model a USD cap applies to has a price.

use super::pricing::positive_usd;
use super::{Ctx, Fields};
use crate::config::node::{Node, SNode};
use crate::config::{Mirror, ModelPrice, SpendGuard};
use crate::report::PriceTable;

const GUARD_KEYS: [&str; 6] = [
    "max_usd_per_day",
    "max_tokens_per_day",
    "max_error_rate",
    "error_window",
    "min_calls",
    "pause_for",
];

/// Shortest `error_window` / `pause_for`: below a second the guard would judge noise.
const MIN_DURATION_MS: u64 = 1_000;

/// Checks the block at `path`; `None` when any field is invalid (reported with its location).
pub(super) fn check(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<SpendGuard> {
    let f = cx.fields(path, n, &GUARD_KEYS)?;
    let defaults = SpendGuard::default();
    let max_usd_per_day = match f.get("max_usd_per_day") {
        Some(v) => positive_usd(
            cx,
            &f.child("max_usd_per_day"),
            v,
            "to mirror nothing, set enabled: false",
        )
        .map(Some),
        None => Some(None),
    };
    let max_tokens_per_day = match f.get("max_tokens_per_day") {
        Some(v) => cx.int(&f.child("max_tokens_per_day"), v, 1).map(Some),
        None => Some(None),
    };
    let max_error_rate = match f.get("max_error_rate") {
        Some(v) => cx
            .fraction_or(&f.child("max_error_rate"), Some(v), 0.0)
            .map(Some),
        None => Some(None),
    };
    if let (Some(Some(rate)), Some(v)) = (max_error_rate, f.get("max_error_rate"))
        && rate >= 1.0
    {
        cx.warn(
            &f.child("max_error_rate"),
            &v.referenced,
            "max_error_rate is 1: a failure share can never exceed it, so the shadow is never paused for errors",
        );
    }
    let error_window_ms = duration_or(cx, &f, "error_window", defaults.error_window_ms);
    let min_calls = cx.int_or(
        &f.child("min_calls"),
        f.get("min_calls"),
        1,
        defaults.min_calls,
    );
    let pause_for_ms = duration_or(cx, &f, "pause_for", defaults.pause_for_ms);
    if f.get("max_usd_per_day").is_none()
        && f.get("max_tokens_per_day").is_none()
        && f.get("max_error_rate").is_none()
    {
        cx.warn(
            path,
            f.at,
            "no limit set: give max_usd_per_day, max_tokens_per_day or max_error_rate",
        );
    }
    if f.get("max_error_rate").is_none() {
        for key in ["error_window", "min_calls", "pause_for"] {
            if let Some(at) = f.key_at(key) {
                cx.warn(
                    &f.child(key),
                    at,
                    format!("{key} has no effect without max_error_rate"),
                );
            }
        }
    }
    Some(SpendGuard {
        max_usd_per_day: max_usd_per_day?,
        max_tokens_per_day: max_tokens_per_day?,
        max_error_rate: max_error_rate?,
        error_window_ms: error_window_ms?,
        min_calls: min_calls?,
        pause_for_ms: pause_for_ms?,
    })
}

/// A duration string (`30s`, `5m`, `1h`) of at least a second, in ms; `default` when absent.
fn duration_or(cx: &mut Ctx<'_>, f: &Fields<'_>, key: &str, default: u64) -> Option<u64> {
    let Some(n) = f.get(key) else {
        return Some(default);
    };
    let path = f.child(key);
    let Node::Str(text) = &n.value else {
        let hint = match n.value {
            Node::Int(i) => format!(" (write {i}s for {i} seconds)"),
            _ => String::new(),
        };
        cx.error(
            &path,
            &n.referenced,
            format!(
                "expected a duration such as 30s, 5m or 1h, found {}{hint}",
                n.value.kind()
            ),
        );
        return None;
    };
    let Ok(d) = humantime::parse_duration(text.trim()) else {
        cx.error(
            &path,
            &n.referenced,
            format!("`{text}` is not a duration; write it like 30s, 5m or 1h"),
        );
        return None;
    };
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms < MIN_DURATION_MS {
        cx.error(
            &path,
            &n.referenced,
            format!("must be at least 1s, found {text}"),
        );
        return None;
    }
    Some(ms)
}

/// A USD cap needs a price for every shadow model it may meet, or the guard could not
/// count that model's spend and the cap would silently not hold. Run after `pricing:`
/// is checked; `root` is the document's top-level mapping.
pub(super) fn check_prices(
    cx: &mut Ctx<'_>,
    root: &Fields<'_>,
    mirror: &Mirror,
    pricing: &[(String, ModelPrice)],
) {
    let Some(guard) = &mirror.spend_guard else {
        return;
    };
    if guard.max_usd_per_day.is_none() {
        return;
    }
    let Some(at) = root
        .get("traffic_mirror")
        .and_then(|m| entry(m, "spend_guard"))
        .and_then(|g| key_of(&g.value, "max_usd_per_day"))
    else {
        return;
    };
    let table = PriceTable::new(pricing);
    // Every shadow's mapping: the cap counts the spend of each shadow target.
    let mut unpriced: Vec<&str> = mirror
        .shadows
        .iter()
        .flat_map(|s| s.model_mapping.iter())
        .map(|(_, shadow)| shadow.as_str())
        .filter(|m| table.lookup(m).is_none())
        .collect();
    unpriced.sort_unstable();
    unpriced.dedup();
    if unpriced.is_empty() {
        return;
    }
    let names: Vec<String> = unpriced.iter().map(|m| format!("`{m}`")).collect();
    cx.error(
        "traffic_mirror.spend_guard.max_usd_per_day",
        at,
        format!(
            "no price for shadow model {}: the USD cap cannot be counted; add it under `pricing:` (input_per_mtok, output_per_mtok) or cap tokens with max_tokens_per_day",
            names.join(", ")
        ),
    );
}

/// The entry under `key` of a mapping node (first occurrence).
fn entry<'n>(n: &'n SNode, key: &str) -> Option<&'n crate::config::node::Entry> {
    match &n.value {
        Node::Map(entries) => entries.iter().find(|e| e.key.value == key),
        _ => None,
    }
}

/// Where `key` is written in a mapping node.
fn key_of<'n>(n: &'n SNode, key: &str) -> Option<&'n serde_saphyr::Location> {
    entry(n, key).map(|e| &e.key.referenced)
}

#[cfg(test)]
mod tests {
    use crate::config::{LintReport, SpendGuard, lint_str};

    const BASE: &str = "providers:
  targets:
    - id: p
      provider: simulated
    - id: s
      provider: simulated
traffic_mirror:
  primary: p
  shadow: s
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
";

    fn lint(guard: &str) -> LintReport {
        lint_str(&format!("{BASE}{guard}"), "c.yaml", &|_| None).unwrap()
    }

    fn lines(r: &LintReport) -> Vec<String> {
        r.findings.iter().map(|f| f.render("c.yaml")).collect()
    }

    // Proves a full block reaches the Config with durations in ms, and absent fields
    // take their defaults.
    #[test]
    fn valid_guard_reaches_the_config() {
        let r = lint(
            "  spend_guard:\n    max_usd_per_day: 25\n    max_tokens_per_day: 2000000\n    max_error_rate: 0.5\n    error_window: 5m\n    min_calls: 20\n    pause_for: 90s\n",
        );
        assert!(r.is_valid(), "{:?}", lines(&r));
        assert!(r.findings.is_empty(), "{:?}", lines(&r));
        let g = r.config.unwrap().mirror.unwrap().spend_guard.unwrap();
        assert_eq!(
            g,
            SpendGuard {
                max_usd_per_day: Some(25.0),
                max_tokens_per_day: Some(2_000_000),
                max_error_rate: Some(0.5),
                error_window_ms: 300_000,
                min_calls: 20,
                pause_for_ms: 90_000,
            }
        );
        let r = lint("  spend_guard:\n    max_tokens_per_day: 10\n");
        let g = r.config.unwrap().mirror.unwrap().spend_guard.unwrap();
        assert_eq!(
            g,
            SpendGuard {
                max_tokens_per_day: Some(10),
                ..SpendGuard::default()
            }
        );
        let r = lint("");
        assert!(r.config.unwrap().mirror.unwrap().spend_guard.is_none());
    }

    // Proves wrong types, ranges, bad durations and unknown keys are errors at their
    // line:column, with a suggestion for a misspelt key.
    #[test]
    fn bad_fields_are_reported_with_locations() {
        let r = lint(
            "  spend_guard:\n    max_usd_per_day: 0\n    max_tokens_per_day: 1.5\n    max_error_rate: 2\n    error_window: 300\n    min_calls: 0\n    pause_for: soon\n    max_usd_per_dya: 3\n",
        );
        assert!(!r.is_valid());
        assert_eq!(
            lines(&r),
            [
                "c.yaml:13:22: error: traffic_mirror.spend_guard.max_usd_per_day: must be greater than 0 (USD per UTC day), found 0; to mirror nothing, set enabled: false",
                "c.yaml:14:25: error: traffic_mirror.spend_guard.max_tokens_per_day: expected an integer, found a decimal number",
                "c.yaml:15:21: error: traffic_mirror.spend_guard.max_error_rate: must be between 0 and 1 (0.1 means 10%), found 2",
                "c.yaml:16:19: error: traffic_mirror.spend_guard.error_window: expected a duration such as 30s, 5m or 1h, found an integer (write 300s for 300 seconds)",
                "c.yaml:17:16: error: traffic_mirror.spend_guard.min_calls: must be greater than 0, found 0",
                "c.yaml:18:16: error: traffic_mirror.spend_guard.pause_for: `soon` is not a duration; write it like 30s, 5m or 1h",
                "c.yaml:19:5: error: traffic_mirror.spend_guard.max_usd_per_dya: unknown key `max_usd_per_dya` (did you mean `max_usd_per_day`?)",
            ]
        );
        let r = lint("  spend_guard:\n    max_error_rate: 0.5\n    pause_for: 200ms\n");
        assert_eq!(
            lines(&r),
            [
                "c.yaml:14:16: error: traffic_mirror.spend_guard.pause_for: must be at least 1s, found 200ms"
            ]
        );
        let r = lint("  spend_guard: 5\n");
        assert_eq!(
            lines(&r),
            [
                "c.yaml:12:16: error: traffic_mirror.spend_guard: expected a mapping, found an integer"
            ]
        );
    }

    // Proves a USD cap on a shadow model without a price is an error at the cap, and a
    // `pricing:` entry (or a dated name of a priced model) fixes it.
    #[test]
    fn usd_cap_needs_a_price_for_every_shadow_model() {
        let unpriced = BASE.replace("claude-sonnet-4-20250514", "my-local-llama");
        let guard = "  spend_guard:\n    max_usd_per_day: 5\n";
        let r = lint_str(&format!("{unpriced}{guard}"), "c.yaml", &|_| None).unwrap();
        assert_eq!(
            lines(&r),
            [
                "c.yaml:13:5: error: traffic_mirror.spend_guard.max_usd_per_day: no price for shadow model `my-local-llama`: the USD cap cannot be counted; add it under `pricing:` (input_per_mtok, output_per_mtok) or cap tokens with max_tokens_per_day"
            ]
        );
        let priced = format!(
            "{unpriced}{guard}pricing:\n  my-local-llama: {{input_per_mtok: 0.1, output_per_mtok: 0.2}}\n"
        );
        let r = lint_str(&priced, "c.yaml", &|_| None).unwrap();
        assert!(r.findings.is_empty(), "{:?}", lines(&r));
        // A token cap alone needs no price.
        let tokens = format!("{unpriced}  spend_guard:\n    max_tokens_per_day: 5\n");
        assert!(
            lint_str(&tokens, "c.yaml", &|_| None)
                .unwrap()
                .findings
                .is_empty()
        );
    }

    // Proves settings that cannot act are warnings, not errors.
    #[test]
    fn useless_settings_are_warnings() {
        let r = lint("  spend_guard:\n    min_calls: 5\n    pause_for: 1m\n");
        assert!(r.is_valid());
        assert_eq!(
            lines(&r),
            [
                "c.yaml:13:5: warning: traffic_mirror.spend_guard: no limit set: give max_usd_per_day, max_tokens_per_day or max_error_rate",
                "c.yaml:13:5: warning: traffic_mirror.spend_guard.min_calls: min_calls has no effect without max_error_rate",
                "c.yaml:14:5: warning: traffic_mirror.spend_guard.pause_for: pause_for has no effect without max_error_rate",
            ]
        );
        let r = lint("  spend_guard:\n    max_error_rate: 1\n");
        assert_eq!(
            lines(&r),
            [
                "c.yaml:13:21: warning: traffic_mirror.spend_guard.max_error_rate: max_error_rate is 1: a failure share can never exceed it, so the shadow is never paused for errors"
            ]
        );
    }
}
