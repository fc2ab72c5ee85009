//! Rules for `traffic_mirror:`: which targets answer and shadow, which models map to
//! which, how much traffic is mirrored and what is compared. The `shadows:` list and
//! `sample_by` have their rules in `shadows.rs`.

use super::shadows::{self, Shadow};
use super::targets::TargetIds;
use super::{Ctx, Fields, index, join, suggest};
use crate::config::node::{Node, SNode};
use crate::config::{CompareMetric, Mirror, ShadowSpec};

const MIRROR_KEYS: [&str; 17] = [
    "enabled",
    "primary",
    "shadow",
    "model_mapping",
    "sample_rate",
    "async",
    "log_shadow_response",
    "compare_metrics",
    "timeout_ms",
    "max_in_flight",
    "noise_floor_rate",
    "spend_guard",
    "shadows",
    "sample_by",
    "log_requests",
    "semantic",
    "judge",
];

/// Checks the block; `None` when it is disabled or invalid (an error was then reported).
/// A disabled block is still checked so it is valid the day it is switched on.
pub(super) fn check(cx: &mut Ctx<'_>, n: &SNode, ids: &TargetIds) -> Option<Mirror> {
    let f = cx.fields("traffic_mirror", n, &MIRROR_KEYS)?;
    let enabled = cx.bool_or(&f.child("enabled"), f.get("enabled"), true);
    // An invalid `enabled` was reported; check the rest as if on to find more problems.
    let on = enabled.unwrap_or(true);

    // `shadow` may be left out when `shadows:` lists the shadow targets.
    let has_list = f
        .get("shadows")
        .is_some_and(|n| matches!(&n.value, Node::Seq(items) if !items.is_empty()));
    let primary = target_ref(cx, &f, "primary", on, ids);
    let shadow_node = f.get("shadow");
    let shadow = if shadow_node.is_some() || (on && !has_list) {
        target_ref(cx, &f, "shadow", on, ids).map(Some)
    } else {
        Some(None)
    };
    if let (Some(p), Some(Some(s)), Some(node)) = (primary, shadow, shadow_node)
        && p == s
    {
        cx.error(
            &f.child("shadow"),
            &node.referenced,
            format!("shadow must be a different target than primary (both are `{p}`)"),
        );
    }

    let model_mapping = check_mapping(cx, &f, on);
    if let (true, Some(None), Some(_)) = (on, &model_mapping, shadow_node) {
        cx.warn(
            &f.child("model_mapping"),
            f.at,
            "no `model_mapping`: nothing will be mirrored; map each primary model to a shadow model",
        );
    }
    let sample_rate = cx.fraction_or(&f.child("sample_rate"), f.get("sample_rate"), 1.0);
    if let (true, Some(0.0), Some(node)) = (on, sample_rate, f.get("sample_rate")) {
        cx.warn(
            &f.child("sample_rate"),
            &node.referenced,
            "sample_rate is 0: nothing will be mirrored",
        );
    }
    let first = match (shadow, shadow_node) {
        (Some(Some(id)), Some(node)) => Some(Some(Shadow {
            id,
            at: &node.referenced,
        })),
        (Some(_), _) => Some(None),
        (None, _) => None,
    };
    let list = match f.get("shadows") {
        Some(n) => shadows::check_list(
            cx,
            &f.child("shadows"),
            n,
            &shadows::Inherited {
                on,
                ids,
                primary,
                first: first.as_ref().and_then(Option::as_ref),
                mapping: model_mapping.clone().flatten(),
                sample_rate,
            },
        ),
        None => Some(Vec::new()),
    };
    let sample_by = match f.get("sample_by") {
        Some(n) => shadows::check_sample_by(cx, &f.child("sample_by"), n).map(Some),
        None => Some(None),
    };
    let asynchronous = cx.bool_or(&f.child("async"), f.get("async"), true);
    let log_shadow_response = cx.bool_or(
        &f.child("log_shadow_response"),
        f.get("log_shadow_response"),
        false,
    );
    let compare_metrics = match f.get("compare_metrics") {
        Some(v) => check_metrics(cx, &f.child("compare_metrics"), v),
        None => Some(
            CompareMetric::NAMES
                .iter()
                .filter_map(|m| CompareMetric::parse(m))
                .collect(),
        ),
    };
    let timeout_ms = cx.int_or(&f.child("timeout_ms"), f.get("timeout_ms"), 1, 60_000);
    let noise_floor_rate =
        cx.fraction_or(&f.child("noise_floor_rate"), f.get("noise_floor_rate"), 0.0);
    let max_in_flight = cx
        .int_or(&f.child("max_in_flight"), f.get("max_in_flight"), 1, 256)
        .and_then(|v| usize::try_from(v).ok());
    let spend_guard = match f.get("spend_guard") {
        Some(n) => super::spend_guard::check(cx, &f.child("spend_guard"), n).map(Some),
        None => Some(None),
    };
    // The evaluators (`evaluators.rs`): each block checked, then matched with the metrics.
    let semantic = f
        .get("semantic")
        .map(|n| super::evaluators::check_semantic(cx, n, ids));
    let judge = f
        .get("judge")
        .map(|n| super::evaluators::check_judge(cx, n, ids));
    let (semantic_on, judge_on) = super::evaluators::agree(cx, &f, compare_metrics.as_deref());
    let semantic = match semantic {
        Some(s) => s.map(|s| semantic_on.then_some(s)),
        None => Some(None),
    };
    let judge = match judge {
        Some(j) => j.map(|j| judge_on.then_some(j)),
        None => Some(None),
    };

    if !enabled? {
        return None;
    }
    let mut all = Vec::new();
    if let Some(id) = shadow? {
        all.push(ShadowSpec {
            target: id.to_owned(),
            model_mapping: model_mapping?.unwrap_or_default(),
            sample_rate: sample_rate?,
        });
    }
    all.extend(list?);
    if all.is_empty() {
        // Only reachable after an error was reported (`shadow` missing or invalid).
        return None;
    }
    Some(Mirror {
        primary: primary?.to_owned(),
        shadows: all,
        sample_by: sample_by?,
        asynchronous: asynchronous?,
        log_shadow_response: log_shadow_response?,
        compare_metrics: compare_metrics?,
        timeout_ms: timeout_ms?,
        max_in_flight: max_in_flight?,
        noise_floor_rate: noise_floor_rate?,
        spend_guard: spend_guard?,
        semantic: semantic?,
        judge: judge?,
    })
}

/// What the block means for request logging and `kt mirror replay`, also while
/// `enabled: false` (when [`check`] returns `None`): `log_requests` (linted only here) and
/// the `model_mapping` as written (linted by [`check`]; a config with a bad mapping is
/// refused anyway, so entries that are not strings are skipped here, not reported twice).
pub(super) fn check_replay(cx: &mut Ctx<'_>, n: &SNode) -> Option<(bool, Vec<(String, String)>)> {
    // Not a mapping: `check` reported it.
    let Node::Map(entries) = &n.value else {
        return Some((false, Vec::new()));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|e| e.key_kind.is_none() && e.key.value == key)
            .map(|e| &e.value)
    };
    let log_requests = cx.bool_or("traffic_mirror.log_requests", get("log_requests"), false);
    let mapping = match get("model_mapping").map(|m| &m.value) {
        Some(Node::Map(pairs)) => pairs
            .iter()
            .filter_map(|e| match &e.value.value {
                Node::Str(to) if e.key_kind.is_none() => Some((e.key.value.clone(), to.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((log_requests?, mapping))
}

/// `primary` / `shadow` / a `shadows[]` entry's `target`: required while `on`; must name
/// a target.
pub(super) fn target_ref<'n>(
    cx: &mut Ctx<'_>,
    f: &Fields<'n>,
    key: &str,
    on: bool,
    ids: &TargetIds,
) -> Option<&'n str> {
    let node = if on { cx.required(f, key) } else { f.get(key) }?;
    let path = f.child(key);
    let id = cx.nonempty_string(&path, node)?;
    if ids.complete && !ids.contains(id) {
        let known: Vec<&str> = ids.ids.iter().map(|(i, _)| i.as_str()).collect();
        cx.error_suggest(
            &path,
            &node.referenced,
            format!(
                "no target has id `{id}`; providers.targets defines {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            suggest(id, known.iter().copied()),
        );
        return None;
    }
    Some(id)
}

/// `model_mapping`: primary model → shadow model, both non-empty strings, in file order
/// (a repeated model is a duplicate-key error, so each primary model appears once).
/// `Some(None)` when the key is absent: the caller decides whether that deserves a warning.
pub(super) fn check_mapping(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    on: bool,
) -> Option<Option<Vec<(String, String)>>> {
    let path = f.child("model_mapping");
    let Some(node) = f.get("model_mapping") else {
        return Some(None);
    };
    let entries = cx.entries(&path, node)?;
    if on && entries.is_empty() {
        cx.warn(
            &path,
            &node.referenced,
            "model_mapping is empty: nothing will be mirrored; map each primary model to a shadow model",
        );
    }
    let mut mapping = Some(Vec::with_capacity(entries.len()));
    for e in entries {
        let from = e.key.value.as_str();
        let entry_path = join(&path, from);
        let to = match &e.value.value {
            _ if from.trim().is_empty() => {
                cx.error(
                    &entry_path,
                    &e.key.referenced,
                    "model name must not be empty",
                );
                None
            }
            Node::Str(s) if !s.trim().is_empty() => Some(s.as_str()),
            // A missing value points at the key: the value's own position is past the colon.
            Node::Null => {
                cx.error(
                    &entry_path,
                    &e.key.referenced,
                    format!("`{from}` maps to nothing; give the shadow model's name"),
                );
                None
            }
            Node::Str(_) => {
                cx.error(
                    &entry_path,
                    &e.value.referenced,
                    format!("`{from}` maps to an empty model name"),
                );
                None
            }
            _ => {
                cx.mismatch(&entry_path, &e.value, "a string (the shadow model's name)");
                None
            }
        };
        mapping = mapping.zip(to).map(|(mut m, to)| {
            m.push((from.to_owned(), to.to_owned()));
            m
        });
    }
    mapping.map(Some)
}

/// `compare_metrics`: known names; a repeat is harmless, so it is only a warning.
fn check_metrics(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<Vec<CompareMetric>> {
    let items = cx.seq(path, n)?;
    if items.is_empty() {
        cx.warn(
            path,
            &n.referenced,
            "no metrics listed: mirrored pairs will be recorded but not compared",
        );
    }
    let mut metrics = Vec::with_capacity(items.len());
    let mut all_known = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let Some(name) = cx.string(&item_path, item) else {
            all_known = false;
            continue;
        };
        match CompareMetric::parse(name) {
            Some(metric) if metrics.contains(&metric) => {
                cx.warn(
                    &item_path,
                    &item.referenced,
                    format!("`{name}` is listed twice"),
                );
            }
            Some(metric) => metrics.push(metric),
            None => {
                all_known = false;
                cx.error_suggest(
                    &item_path,
                    &item.referenced,
                    format!(
                        "unknown metric `{name}`; expected one of {}",
                        CompareMetric::ALL_NAMES.join(", ")
                    ),
                    suggest(name, CompareMetric::ALL_NAMES),
                );
            }
        }
    }
    all_known.then_some(metrics)
}

#[cfg(test)]
mod tests {
    use crate::config::{Severity, lint_str};

    const CONFIG: &str = "\
providers:
  targets:
    - id: a
      provider: simulated
    - id: b
      provider: simulated
traffic_mirror:
  enabled: true
  primary: a
  shadow: b
  model_mapping:
    m1: m2
";

    fn lint(text: &str) -> crate::config::LintReport {
        lint_str(text, "c.yaml", &|_| None).unwrap()
    }

    // Proves log_requests defaults to off, turns on, and holds (with the mapping) while
    // the mirror is disabled, so a team can log now and replay later.
    #[test]
    fn log_requests_defaults_off_and_survives_a_disabled_mirror() {
        let c = lint(CONFIG).config.unwrap();
        assert!(!c.log_requests);
        assert_eq!(c.model_mapping, [("m1".to_owned(), "m2".to_owned())]);

        let on = format!("{CONFIG}  log_requests: true\n");
        let c = lint(&on).config.unwrap();
        assert!(c.log_requests && c.mirror.is_some());

        let off = on.replace("enabled: true", "enabled: false");
        let r = lint(&off);
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        let c = r.config.unwrap();
        assert!(c.log_requests && c.mirror.is_none());
        assert_eq!(c.model_mapping, [("m1".to_owned(), "m2".to_owned())]);
    }

    // Proves a non-boolean log_requests is an error with its key path and line:column,
    // and a misspelt key gets a suggestion.
    #[test]
    fn log_requests_is_linted() {
        for (value, message) in [
            (
                "yes",
                "expected a boolean, found the string `yes`; write `true` or `false`",
            ),
            ("1", "expected a boolean (true or false), found an integer"),
        ] {
            let r = lint(&format!("{CONFIG}  log_requests: {value}\n"));
            assert!(r.config.is_none());
            assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
            let f = &r.findings[0];
            assert_eq!(f.severity, Severity::Error);
            assert_eq!(f.path, "traffic_mirror.log_requests");
            assert_eq!((f.line, f.column), (13, 17));
            assert_eq!(f.message, message);
        }

        let r = lint(&format!("{CONFIG}  log_request: true\n"));
        assert_eq!(
            r.findings[0].render("c.yaml"),
            "c.yaml:13:3: error: traffic_mirror.log_request: unknown key `log_request` (did you mean `log_requests`?)"
        );
    }
}
