//! Tests for where Step 8's `policy:` may sit: under `policies:` (as meant) or at the
//! top level (as the tutorial prints it, indentation lost).

use super::*;
use crate::config::PolicyKind;

fn all_set(_: &str) -> Option<String> {
    Some("sk-test".to_owned())
}

fn lint(text: &str) -> LintReport {
    lint_str(text, "policy-config.yaml", &all_set).unwrap()
}

const TARGETS: &str = "\
providers:
  targets:
    - id: sim
      provider: simulated
";

/// `policies.chain` naming `audit-logger`, then `bodies` as written.
fn config(bodies: &str) -> String {
    format!("{TARGETS}policies:\n  chain:\n    - audit-logger\n{bodies}")
}

fn retention(r: &LintReport) -> Option<u64> {
    match r.config.as_ref().map(|c| &c.policies[..]) {
        Some([p]) => match p.kind {
            PolicyKind::AuditLogger { retention_days, .. } => retention_days,
            _ => panic!("expected an audit logger: {:?}", p.kind),
        },
        other => panic!("expected one policy: {other:?} {:#?}", r.findings),
    }
}

// Regression: a top-level `policy:` beside `policies:` (Step 8 as printed) was an
// "unknown key" error; it is read like `policies.policy`, with no finding.
#[test]
fn top_level_policy_is_read() {
    let r = lint(&config(
        "policy:\n  audit-logger:\n    retention_days: 30\n",
    ));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(retention(&r), Some(30));
}

// Both forms given with the same bodies (keys in another order): read silently.
#[test]
fn both_forms_identical_is_silent() {
    let text = config(
        "  policy:\n    audit-logger:\n      retention_days: 30\n      immutable: true\n\
         policy:\n  audit-logger:\n    immutable: true\n    retention_days: 30\n",
    );
    let r = lint(&text);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(retention(&r), Some(30));
}

// Both forms given and different: the nested one is read, and a warning at the top-level
// key names which form was read and where the other is.
#[test]
fn both_forms_differing_warns_which_was_read() {
    let text = config(
        "  policy:\n    audit-logger:\n      retention_days: 30\n\
         policy:\n  audit-logger:\n    retention_days: 365\n",
    );
    let r = lint(&text);
    assert_eq!((r.errors(), r.warnings()), (0, 1), "{:#?}", r.findings);
    let f = &r.findings[0];
    assert_eq!((f.path.as_str(), f.line, f.column), ("policy", 11, 1));
    assert!(
        f.message.contains("kt reads `policies.policy`"),
        "{}",
        f.message
    );
    assert!(f.message.contains("(8:3)"), "{}", f.message);
    assert_eq!(retention(&r), Some(30));
}

// Findings inside a top-level body carry its own path, and a missing body points there.
#[test]
fn top_level_body_findings_use_its_path() {
    let r = lint(&config("policy:\n  audit-logger:\n    action: block\n"));
    assert_eq!(r.errors(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].path, "policy.audit-logger.action");

    let r = lint(&config("policy:\n  audit-loger:\n    type: audit_logger\n"));
    let paths: Vec<&str> = r.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["policies.chain[0]", "policy.audit-loger"]);
    assert!(r.findings[0].message.contains("add one under `policy`"));
}

// A top-level `policy:` that nothing runs is an error, not silently ignored: without
// `policies:` at all, or beside the list form that has no bodies.
#[test]
fn top_level_policy_without_chain_is_an_error() {
    let r = lint(&format!("{TARGETS}policy:\n  audit-logger:\n"));
    assert_eq!(r.errors(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].path, "policy");

    let text = format!("{TARGETS}policies:\n  - name: a\n    type: audit_logger\npolicy:\n  a:\n");
    let r = lint(&text);
    assert_eq!(r.errors(), 1, "{:#?}", r.findings);
    assert_eq!(
        (r.findings[0].path.as_str(), r.findings[0].line),
        ("policy", 8)
    );
    assert!(r.config.is_none());
}
