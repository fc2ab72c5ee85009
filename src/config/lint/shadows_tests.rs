//! Lint tests for several shadows (`traffic_mirror.shadows`) and sticky sampling
//! (`traffic_mirror.sample_by`): the validated config, and every finding with its path
//! and line.

use super::*;
use crate::config::{SampleBy, ShadowSpec};

/// Three targets; `traffic_mirror` is appended by each test.
const HEAD: &str = "\
providers:
  targets:
    - id: openai
      provider: openai
    - id: anthropic
      provider: anthropic
    - id: gemini
      provider: openai
      base_url: http://127.0.0.1:9
traffic_mirror:
  primary: openai
";

fn lint(mirror: &str) -> LintReport {
    let text = format!("{HEAD}{mirror}");
    lint_str(&text, "c.yaml", &|_| Some("k".to_owned())).unwrap()
}

/// `(path, severity, line, message fragment, suggestion)` of each finding, in order.
fn findings(r: &LintReport) -> Vec<(String, Severity, u64, String, Option<String>)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.severity,
                f.line,
                f.message.clone(),
                f.suggestion.clone(),
            )
        })
        .collect()
}

fn spec(target: &str, mapping: &[(&str, &str)], rate: f64) -> ShadowSpec {
    ShadowSpec {
        target: target.into(),
        model_mapping: mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        sample_rate: rate,
    }
}

// Proves `shadow` stays the first shadow, `shadows:` entries follow in file order and
// inherit the top-level mapping and rate, and `sample_by` is parsed.
#[test]
fn shadows_inherit_and_follow_the_first() {
    let r = lint(
        "  shadow: anthropic
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  sample_rate: 0.5
  sample_by: header:X-User-Id
  shadows:
    - target: gemini
      model_mapping:
        gpt-4o-mini: gemini-2.5-flash
      sample_rate: 0.25
",
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let m = r.config.as_ref().unwrap().mirror.clone().unwrap();
    assert_eq!(
        m.shadows,
        [
            spec(
                "anthropic",
                &[("gpt-4o-mini", "claude-sonnet-4-20250514")],
                0.5
            ),
            spec("gemini", &[("gpt-4o-mini", "gemini-2.5-flash")], 0.25),
        ]
    );
    assert_eq!(m.sample_by, Some(SampleBy::Header("x-user-id".into())));
    assert!(
        r.render_text().contains(
            "primary=openai, shadow=anthropic, sample_rate=50%, 1 model mapping(s), also shadows \
             gemini (sample_rate=25%, 1 model mapping(s)), sampled by header:x-user-id, async"
        ),
        "{}",
        r.render_text()
    );

    // Without `shadow`, the list alone names the shadows; entries inherit what they omit.
    let r = lint(
        "  model_mapping:
    gpt-4o: claude-sonnet-4-20250514
  sample_rate: 0.3
  sample_by: field:metadata.user_id
  shadows:
    - target: anthropic
    - target: gemini
      sample_rate: 1
",
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let m = r.config.as_ref().unwrap().mirror.clone().unwrap();
    let mapping = [("gpt-4o", "claude-sonnet-4-20250514")];
    assert_eq!(
        m.shadows,
        [
            spec("anthropic", &mapping, 0.3),
            spec("gemini", &mapping, 1.0)
        ]
    );
    assert_eq!(
        m.sample_by,
        Some(SampleBy::Field(vec!["metadata".into(), "user_id".into()]))
    );
}

// Proves every mistake in `shadows:` is reported at its entry with line and suggestion:
// unknown key, missing, unknown, primary and repeated targets, a bad rate, a missing mapping.
#[test]
fn broken_shadows_report_everything() {
    let r = lint(
        "  shadow: anthropic
  shadows:
    - target: gemini
      sample_rte: 0.5
    - model_mapping:
        gpt-4o: x
    - target: gemnii
    - target: openai
    - target: anthropic
    - target: gemini
      sample_rate: 2
",
    );
    use Severity::{Error as E, Warning as W};
    let s = |x: &str| Some(x.to_owned());
    let got = findings(&r);
    let expected: Vec<(&str, Severity, u64, &str, Option<String>)> = vec![
        (
            "traffic_mirror.model_mapping",
            W,
            11,
            "no `model_mapping`: nothing will be mirrored",
            None,
        ),
        (
            "traffic_mirror.shadows[0].model_mapping",
            W,
            14,
            "no `model_mapping` here or at traffic_mirror.model_mapping",
            None,
        ),
        (
            "traffic_mirror.shadows[0].sample_rte",
            E,
            15,
            "unknown key `sample_rte`",
            s("sample_rate"),
        ),
        (
            "traffic_mirror.shadows[1].target",
            E,
            16,
            "missing required key `target`",
            None,
        ),
        (
            "traffic_mirror.shadows[2].target",
            E,
            18,
            "no target has id `gemnii`",
            s("gemini"),
        ),
        (
            "traffic_mirror.shadows[2].model_mapping",
            W,
            18,
            "no `model_mapping` here",
            None,
        ),
        (
            "traffic_mirror.shadows[3].model_mapping",
            W,
            19,
            "no `model_mapping` here",
            None,
        ),
        (
            "traffic_mirror.shadows[3].target",
            E,
            19,
            "a shadow must be a different target than primary (both are `openai`)",
            None,
        ),
        (
            "traffic_mirror.shadows[4].model_mapping",
            W,
            20,
            "no `model_mapping` here",
            None,
        ),
        (
            "traffic_mirror.shadows[4].target",
            E,
            20,
            "`anthropic` is already a shadow (line 12)",
            None,
        ),
        (
            "traffic_mirror.shadows[5].model_mapping",
            W,
            21,
            "no `model_mapping` here",
            None,
        ),
        (
            "traffic_mirror.shadows[5].target",
            E,
            21,
            "`gemini` is already a shadow (line 14)",
            None,
        ),
        (
            "traffic_mirror.shadows[5].sample_rate",
            E,
            22,
            "must be between 0 and 1",
            None,
        ),
    ];
    let mut left = got.clone();
    for (path, sev, line, fragment, suggestion) in &expected {
        let pos = left
            .iter()
            .position(|f| f.0 == *path && f.3.contains(fragment))
            .unwrap_or_else(|| panic!("no finding at {path} with {fragment:?} in {left:#?}"));
        let f = left.remove(pos);
        assert_eq!((f.1, f.2, &f.4), (*sev, *line, suggestion), "{f:?}");
    }
    assert!(left.is_empty(), "unexpected findings: {left:#?}");
    assert!(r.config.is_none());
}

// Proves the block needs `shadow` or a non-empty `shadows:`, and that `shadows` must be a
// list of mappings.
#[test]
fn a_shadow_is_required_somewhere() {
    let r = lint("  model_mapping:\n    gpt-4o: x\n");
    assert_eq!(
        findings(&r),
        [(
            "traffic_mirror.shadow".to_owned(),
            Severity::Error,
            11,
            "missing required key `shadow`".to_owned(),
            None
        )]
    );
    let r = lint("  model_mapping:\n    gpt-4o: x\n  shadows: []\n");
    assert_eq!(findings(&r)[0].3, "missing required key `shadow`");
    let r = lint("  shadow: anthropic\n  model_mapping:\n    gpt-4o: x\n  shadows: gemini\n");
    assert_eq!(
        findings(&r),
        [(
            "traffic_mirror.shadows".to_owned(),
            Severity::Error,
            15,
            "expected a list, found a string".to_owned(),
            None
        )]
    );
    let r =
        lint("  shadow: anthropic\n  model_mapping:\n    gpt-4o: x\n  shadows:\n    - gemini\n");
    assert_eq!(findings(&r)[0].0, "traffic_mirror.shadows[0]");
    assert!(
        findings(&r)[0].3.contains("expected a mapping"),
        "{:?}",
        r.findings
    );
}

// Proves each malformed `sample_by` is an error at the key's line, with a suggestion
// when the intent is clear.
#[test]
fn sample_by_forms() {
    let at = |value: &str| {
        let r = lint(&format!(
            "  shadow: anthropic\n  model_mapping:\n    gpt-4o: x\n  sample_by: {value}\n"
        ));
        assert!(r.config.is_none(), "{value} should be invalid");
        let f = findings(&r);
        assert_eq!(f.len(), 1, "{value}: {f:#?}");
        assert_eq!(
            (f[0].0.as_str(), f[0].1, f[0].2),
            ("traffic_mirror.sample_by", Severity::Error, 15)
        );
        (f[0].3.clone(), f[0].4.clone())
    };
    let (msg, sug) = at("x-user-id");
    assert!(msg.contains("`x-user-id` names no source"), "{msg}");
    assert_eq!(sug.as_deref(), Some("header:x-user-id"));
    assert_eq!(at("user").1.as_deref(), Some("field:user"));
    let (msg, sug) = at("headr:x-user-id");
    assert!(msg.contains("unknown source `headr`"), "{msg}");
    assert_eq!(sug.as_deref(), Some("header:x-user-id"));
    assert!(
        at("'header:x user'")
            .0
            .contains("not a valid HTTP header name")
    );
    assert!(at("'header:'").0.contains("not a valid HTTP header name"));
    assert!(at("field:metadata..id").0.contains("not a field path"));
    assert!(at("3").0.contains("expected a string"));
    assert!(at("''").0.contains("must not be empty"));
}
