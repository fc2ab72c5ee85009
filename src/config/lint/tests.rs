//! Tests for the config linter: both tutorial shapes, broken configs that trigger every
//! rule with its path and line, syntax errors, suggestions and base URL forms.

use super::targets::normalise_base_url;
use super::*;
use crate::config::{CompareMetric, FilterAction, PolicyKind, ProviderKind};

/// Step 1 of the tutorial, with the indentation the published copy lost.
const STEP1: &str = "\
version: '1'
providers:
  targets:
    - id: openai
      provider: openai
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: anthropic
      provider: anthropic
      secret_key_ref:
        env: ANTHROPIC_API_KEY
traffic_mirror:
  enabled: true
  primary: openai
  shadow: anthropic
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
    gpt-4o: claude-sonnet-4-20250514
  sample_rate: 1.0
  async: true
  log_shadow_response: true
  compare_metrics:
    - latency
    - token_count
    - content_similarity
policies:
  - name: content-filter
    type: content_filter
    action: flag
";

/// Step 8 of the tutorial (staging endpoint, `pack:` and a policy chain).
const STEP8: &str = "\
pack:
  name: traffic-mirroring-providers-3
  version: 1.0.0
  enabled: true
providers:
  targets:
    - id: openai-production
      provider: openai
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: openai-staging
      provider: openai
      base_url: https://staging-api.openai.com
      secret_key_ref:
        env: OPENAI_API_KEY_STAGING
policies:
  chain:
    - audit-logger
  policy:
    audit-logger:
      immutable: true
      retention_days: 365
      log_all_access: true
";

/// Every rule that can coexist in one file (list-form policies, mirror references to
/// unknown targets). Line numbers are asserted below.
const BROKEN_A: &str = r#"version: 2
pack:
  version: [1]
  enabled: yes
providers:
  targets:
    - id: main
      provider: openai
      provider: anthropic
      base_url: ftp://example.com/v1
      anthropic_version: "2023-06-01"
      timeout_ms: 0
      connect_timeout_ms: "5000"
      default_max_tokens: -5
      simulate:
        latency_ms: 10
    - id: main
      provider: openia
      base_url: https://example.com/v1?x=1
    - id: sim
      provider: simulated
      base_url: http://localhost:9000
      simulate:
        latency_ms: -1
        output_tokens: 0
        fail_rate: 1.5
        jiter_ms: 3
    - id: sim2
      provider: simulated
      simulate:
        fail_rate: "0.5"
    - id: claude
      provider: anthropic
      base_url: not a url
      secret_key_ref:
        env: MISSING_KEY
traffic_mirror:
  primary: mian
  shadow: nowhere-near-anything
  model_mapping:
    "": claude-x
    gpt-4o:
    gpt-4o-mini: ""
    1: claude-y
  sample_rte: 0.5
  sample_rate: 2
  async: "yes"
  compare_metrics:
    - latncy
    - token_count
    - token_count
  timeout_ms: 0
  max_in_flight: 0
policies:
  - name: filter
    type: content-filter
  - name: filter
    type: content_filter
    action: blok
    patterns:
      - name: bad
        regex: "(unclosed"
      - regex: ok
  - type: audit_logger
    action: flag
    retention_days: 0
    log_all_access: false
  - name: untyped
1: numeric key
"#;

/// The rules that cannot share a file with `BROKEN_A`: chain-form policies, targets
/// without a usable id, primary == shadow, an empty model mapping.
const BROKEN_B: &str = r#"version: "1"
pack:
  enabled: true
providers:
  targets:
    - provider: anthropic
      secret_key_ref:
        env: ""
    - id: ""
      provider: simulated
    - id: sim
      provider: simulated
traffic_mirror:
  primary: sim
  shadow: sim
  model_mapping: {}
policies:
  chain:
    - audit-logger
    - audit-logger
    - custom
  policy:
    audit_loger:
      immutable: true
    custom:
    unused-filter:
      type: content_filter
"#;

/// An environment where every variable is set.
fn all_set(_: &str) -> Option<String> {
    Some("sk-test".to_owned())
}

fn lint(text: &str) -> LintReport {
    lint_str(text, "policy-config.yaml", &all_set).unwrap()
}

/// One expected finding: path, severity, line, message fragment, suggestion.
type Expected<'a> = (&'a str, Severity, u64, &'a str, Option<&'a str>);

/// Asserts that `findings` are exactly `expected` (in any order), each matched by path
/// and message fragment, then checked for severity, line and suggestion.
fn assert_findings(findings: &[Finding], expected: &[Expected<'_>]) {
    let mut left = findings.to_vec();
    for (path, severity, line, fragment, suggestion) in expected {
        let pos = left
            .iter()
            .position(|f| f.path == *path && f.message.contains(fragment))
            .unwrap_or_else(|| panic!("no finding at {path} containing {fragment:?} in {left:#?}"));
        let f = left.remove(pos);
        assert_eq!(f.severity, *severity, "{f:?}");
        assert_eq!(f.line, *line, "{f:?}");
        assert_eq!(f.suggestion.as_deref(), *suggestion, "{f:?}");
    }
    assert!(left.is_empty(), "unexpected findings: {left:#?}");
}

// Step 1 lints clean and produces the exact mirror, defaults and summary.
#[test]
fn step1_is_valid_with_defaults() {
    let r = lint(STEP1);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.is_valid());
    let c = r.config.as_ref().unwrap();
    assert_eq!(c.version.as_deref(), Some("1"));
    assert!(c.pack.is_none());
    assert_eq!(c.primary, "openai");

    let openai = c.target("openai").unwrap();
    assert_eq!(openai.kind, ProviderKind::OpenAi);
    assert_eq!(openai.base_url, "https://api.openai.com");
    assert_eq!(openai.key_env.as_deref(), Some("OPENAI_API_KEY"));
    assert_eq!(openai.timeout_ms, 600_000);
    assert_eq!(openai.connect_timeout_ms, 5_000);
    assert_eq!(openai.default_max_tokens, 4_096);
    let anthropic = c.target("anthropic").unwrap();
    assert_eq!(anthropic.base_url, "https://api.anthropic.com");
    assert_eq!(anthropic.anthropic_version, "2023-06-01");

    let m = c.mirror.as_ref().unwrap();
    assert_eq!(m.shadows.len(), 1, "the tutorial's single shadow");
    let shadow = &m.shadows[0];
    assert_eq!(
        (m.primary.as_str(), shadow.target.as_str()),
        ("openai", "anthropic")
    );
    assert_eq!(m.sample_by, None, "random sampling by default");
    let mapping: Vec<(&str, &str)> = shadow
        .model_mapping
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        mapping,
        [
            ("gpt-4o-mini", "claude-sonnet-4-20250514"),
            ("gpt-4o", "claude-sonnet-4-20250514"),
        ]
    );
    assert_eq!(
        shadow.shadow_model_for("gpt-4o"),
        Some("claude-sonnet-4-20250514")
    );
    assert_eq!(shadow.shadow_model_for("gpt-3.5-turbo"), None);
    assert_eq!(shadow.sample_rate, 1.0);
    assert!(m.asynchronous && m.log_shadow_response);
    assert_eq!(
        m.compare_metrics,
        [
            CompareMetric::Latency,
            CompareMetric::TokenCount,
            CompareMetric::ContentSimilarity
        ]
    );
    assert_eq!((m.timeout_ms, m.max_in_flight), (60_000, 256));

    assert_eq!(c.policies.len(), 1);
    assert_eq!(c.policies[0].name, "content-filter");
    assert!(matches!(
        &c.policies[0].kind,
        PolicyKind::ContentFilter { action: FilterAction::Flag, patterns } if patterns.is_empty()
    ));

    assert_eq!(
        r.render_text(),
        "policy-config.yaml is valid: 2 provider target(s) (openai: openai, anthropic: anthropic); \
         1 policy(ies) (content-filter: content_filter, action flag); traffic mirror enabled: \
         primary=openai, shadow=anthropic, sample_rate=100%, 2 model mapping(s), async, comparing \
         latency, token_count, content_similarity.\n"
    );
}

// Step 8 is valid; the only finding is the warning for the unset staging key.
#[test]
fn step8_is_valid_with_env_warning() {
    let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-test".to_owned());
    let r = lint_str(STEP8, "step8.yaml", &env).unwrap();
    assert_eq!((r.errors(), r.warnings()), (0, 1), "{:#?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(f.path, "providers.targets[1].secret_key_ref.env");
    assert_eq!((f.line, f.column), (15, 14));
    assert_eq!(
        f.message,
        "environment variable OPENAI_API_KEY_STAGING is not set; requests to target \
         openai-staging will fail until it is"
    );

    let c = r.config.as_ref().unwrap();
    let pack = c.pack.as_ref().unwrap();
    assert_eq!(pack.name, "traffic-mirroring-providers-3");
    assert_eq!(pack.version.as_deref(), Some("1.0.0"));
    assert!(pack.enabled);
    assert!(c.mirror.is_none());
    assert_eq!(c.primary, "openai-production");
    assert_eq!(c.targets[1].base_url, "https://staging-api.openai.com");
    assert!(matches!(
        c.policies[0].kind,
        PolicyKind::AuditLogger {
            immutable: true,
            retention_days: Some(365),
            log_all_access: true
        }
    ));

    let text = r.render_text();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("step8.yaml:15:14: warning: ")
    );
    assert_eq!(
        lines.next().unwrap(),
        "step8.yaml is valid: pack traffic-mirroring-providers-3 1.0.0; 2 provider target(s) \
         (openai-production: openai, openai-staging: openai at https://staging-api.openai.com); \
         1 policy(ies) (audit-logger: audit_logger, retention 365 days); no traffic mirror: \
         requests go to the first target, openai-production."
    );
    assert!(lines.next().is_none());
}

// Every rule that can share a file fires at once, each with its path and line.
#[test]
fn broken_a_reports_everything() {
    let env = |name: &str| (name != "MISSING_KEY").then(|| "sk-test".to_owned());
    let r = lint_str(BROKEN_A, "policy-config.yaml", &env).unwrap();
    assert!(r.config.is_none() && !r.is_valid());
    use Severity::{Error as E, Warning as W};
    #[rustfmt::skip]
    let expected: &[Expected<'_>] = &[
        ("version", E, 1, "unsupported config version `2`", None),
        ("pack.name", E, 3, "missing required key `name`", None),
        ("pack.version", E, 3, "expected a string or a number, found a list", None),
        ("pack.enabled", E, 4, "found the string `yes`; write `true` or `false`", None),
        // Target 0: duplicate key, bad scheme, misplaced settings, bad integers.
        ("providers.targets[0].provider", E, 9, "duplicate key `provider` (first given on line 8)", None),
        ("providers.targets[0].base_url", E, 10, "must use http or https, not `ftp`", None),
        ("providers.targets[0].anthropic_version", W, 11, "only applies to anthropic", None),
        ("providers.targets[0].timeout_ms", E, 12, "must be greater than 0, found 0", None),
        ("providers.targets[0].connect_timeout_ms", E, 13, "expected an integer, found a string", None),
        ("providers.targets[0].default_max_tokens", E, 14, "must be greater than 0, found -5", None),
        ("providers.targets[0].simulate", W, 15, "only applies to simulated targets", None),
        // Target 1: duplicate id, unknown provider, query string.
        ("providers.targets[1].id", E, 17, "duplicate target id `main` (first defined on line 7)", None),
        ("providers.targets[1].provider", E, 18, "unknown provider `openia`", Some("openai")),
        ("providers.targets[1].base_url", E, 19, "must not have a query", None),
        // Simulated targets.
        ("providers.targets[2].base_url", W, 22, "ignored: simulated targets make no network calls", None),
        ("providers.targets[2].simulate.latency_ms", E, 24, "must be at least 0, found -1", None),
        ("providers.targets[2].simulate.output_tokens", E, 25, "must be greater than 0", None),
        ("providers.targets[2].simulate.fail_rate", E, 26, "must be between 0 and 1", None),
        ("providers.targets[2].simulate.jiter_ms", E, 27, "unknown key `jiter_ms`", Some("jitter_ms")),
        ("providers.targets[3].simulate.fail_rate", E, 31, "expected a number, found a string", None),
        // Target 4: not a URL, unset key.
        ("providers.targets[4].base_url", E, 34, "`not a url` is not a valid URL", None),
        ("providers.targets[4].secret_key_ref.env", W, 36, "MISSING_KEY is not set; requests to target claude", None),
        // Mirror.
        ("traffic_mirror.primary", E, 38, "no target has id `mian`", Some("main")),
        ("traffic_mirror.shadow", E, 39, "no target has id `nowhere-near-anything`", None),
        ("traffic_mirror.model_mapping[\"\"]", E, 41, "model name must not be empty", None),
        ("traffic_mirror.model_mapping.gpt-4o", E, 42, "`gpt-4o` maps to nothing", None),
        ("traffic_mirror.model_mapping.gpt-4o-mini", E, 43, "maps to an empty model name", None),
        ("traffic_mirror.model_mapping.1", E, 44, "keys must be strings, found an integer `1`", None),
        ("traffic_mirror.sample_rte", E, 45, "unknown key `sample_rte`", Some("sample_rate")),
        ("traffic_mirror.sample_rate", E, 46, "must be between 0 and 1 (0.1 means 10%), found 2", None),
        ("traffic_mirror.async", E, 47, "found the string `yes`", None),
        ("traffic_mirror.compare_metrics[0]", E, 49, "unknown metric `latncy`", Some("latency")),
        ("traffic_mirror.compare_metrics[2]", W, 51, "`token_count` is listed twice", None),
        ("traffic_mirror.timeout_ms", E, 52, "must be greater than 0", None),
        ("traffic_mirror.max_in_flight", E, 53, "must be greater than 0", None),
        // Policies (list form).
        ("policies[0].type", E, 56, "unknown policy type `content-filter`", Some("content_filter")),
        ("policies[1].name", E, 57, "duplicate policy name `filter` (first defined on line 55)", None),
        ("policies[1].action", E, 59, "unknown action `blok`", Some("block")),
        ("policies[1].patterns[0].regex", E, 62, "invalid regex: unclosed group", None),
        ("policies[1].patterns[1].name", E, 63, "missing required key `name`", None),
        ("policies[2].name", E, 64, "missing required key `name`", None),
        ("policies[2].action", E, 65, "`action` does not apply to audit_logger policies", None),
        ("policies[2].retention_days", E, 66, "must be greater than 0", None),
        ("policies[2].log_all_access", W, 67, "kt logs every request regardless", None),
        ("policies[3].type", E, 68, "missing required key `type`", None),
        ("1", E, 69, "keys must be strings, found an integer `1`", None),
    ];
    assert_findings(&r.findings, expected);

    // Findings come out in file order, and the text ends with the count line.
    let lines: Vec<u64> = r.findings.iter().map(|f| f.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!((r.errors(), r.warnings()), (40, 6));
    let text = r.render_text();
    assert_eq!(text.lines().last(), Some("40 errors, 6 warnings"));
    assert!(text.contains(
        "policy-config.yaml:45:3: error: traffic_mirror.sample_rte: unknown key `sample_rte` \
         (did you mean `sample_rate`?)\n"
    ));
}

// The rules that need their own file: chain-form policies, ids, primary == shadow.
#[test]
fn broken_b_reports_everything() {
    let r = lint(BROKEN_B);
    assert!(r.config.is_none());
    use Severity::{Error as E, Warning as W};
    #[rustfmt::skip]
    let expected: &[Expected<'_>] = &[
        ("pack.name", E, 3, "missing required key `name`", None),
        ("providers.targets[0].id", E, 6, "missing required key `id`", None),
        ("providers.targets[0].secret_key_ref.env", E, 8, "must not be empty", None),
        ("providers.targets[1].id", E, 9, "must not be empty", None),
        ("traffic_mirror.shadow", E, 15, "shadow must be a different target than primary (both are `sim`)", None),
        ("traffic_mirror.model_mapping", W, 16, "model_mapping is empty: nothing will be mirrored", None),
        ("policies.chain[0]", E, 19, "`audit-logger` has no `policy:` body", Some("audit_loger")),
        ("policies.chain[1]", W, 20, "`audit-logger` is listed twice", None),
        ("policies.policy.audit_loger", W, 23, "not listed in `policies.chain`", None),
        ("policies.policy.audit_loger.type", E, 24, "missing required key `type`", None),
        ("policies.policy.custom.type", E, 25, "`custom` has no settings, so its `type` is required", None),
        ("policies.policy.unused-filter", W, 26, "never runs", None),
    ];
    assert_findings(&r.findings, expected);
    // A missing key points at the parent mapping: here the target's first key.
    assert_eq!((r.findings[1].line, r.findings[1].column), (6, 7));
}

// A disabled mirror is still checked, and the first target then answers.
#[test]
fn disabled_mirror_is_checked_but_unused() {
    let text = STEP1.replace("enabled: true", "enabled: false");
    let r = lint(&text);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let c = r.config.unwrap();
    assert!(c.mirror.is_none());
    assert_eq!(c.primary, "openai");

    let broken = text.replace("shadow: anthropic", "shadow: antropic");
    let r = lint(&broken);
    assert_eq!(r.errors(), 1);
    assert_eq!(r.findings[0].suggestion.as_deref(), Some("anthropic"));
}

// Step 8's inferred type, a null body and a simulated target all work without keys.
#[test]
fn chain_form_infers_type_and_simulated_needs_nothing() {
    let text = "\
providers:
  targets:
    - id: sim
      provider: simulated
      simulate: {latency_ms: 0, jitter_ms: 5, output_tokens: 10, fail_rate: 0.25}
policies:
  chain: [content-filter, audit_logger]
  policy:
    content-filter:
      action: block
      patterns:
        - {name: ticket, regex: 'TICKET-\\d+'}
    audit_logger:
";
    let r = lint(text);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let c = r.config.unwrap();
    assert_eq!(c.targets[0].simulate.fail_rate, 0.25);
    assert_eq!(c.targets[0].base_url, "");
    assert_eq!(c.policies.len(), 2);
    let PolicyKind::ContentFilter { action, patterns } = &c.policies[0].kind else {
        panic!("expected a content filter");
    };
    assert_eq!(*action, FilterAction::Block);
    assert!(patterns[0].regex.is_match("see TICKET-42"));
    assert!(matches!(
        c.policies[1].kind,
        PolicyKind::AuditLogger {
            immutable: true,
            retention_days: None,
            log_all_access: true
        }
    ));
}

// Text that is not YAML, is empty, or is not a mapping is a syntax error with a line.
#[test]
fn syntax_errors() {
    let err = |text: &str| match lint_str(text, "bad.yaml", &all_set) {
        Err(LoadError::Syntax {
            path,
            line,
            column,
            message,
        }) => {
            assert_eq!(path, "bad.yaml");
            (line, column, message)
        }
        other => panic!("expected a syntax error, got {other:?}"),
    };
    let (line, _, message) = err("providers:\n  targets: [\n    {id: a\n");
    assert!(line >= 2, "{line}");
    assert!(
        !message.contains("at line"),
        "location is not repeated: {message}"
    );
    assert_eq!(err("a: b\n  c: d\n").0, 2);
    assert_eq!(
        err("").2,
        "the file is empty; expected a mapping with at least `providers:`"
    );
    assert_eq!(err("# nothing here\n").0, 1);
    assert!(err("- 1\n- 2\n").2.contains("found a list"));
    assert!(
        err("a: 1\n---\nb: 2\n")
            .2
            .contains("multiple YAML documents")
    );
    // A mapping without providers is a finding, not a syntax error.
    let r = lint("{}");
    assert_eq!(r.findings[0].path, "providers");
    assert_eq!(r.findings[0].message, "missing required key `providers`");
}

// Typos get a suggestion only when they are close to a real name.
#[test]
fn did_you_mean() {
    let keys = ["sample_rate", "shadow", "primary", "async"];
    assert_eq!(suggest("sample_rte", keys).as_deref(), Some("sample_rate"));
    assert_eq!(suggest("primray", keys).as_deref(), Some("primary"));
    assert_eq!(suggest("Shadow", keys).as_deref(), Some("shadow"));
    assert_eq!(suggest("asnyc", keys).as_deref(), Some("async"));
    assert_eq!(suggest("x", keys), None);
    assert_eq!(suggest("completely_different", keys), None);
    assert_eq!(
        suggest("OpenAI", ProviderKind::NAMES).as_deref(),
        Some("openai")
    );
    assert_eq!(
        suggest("antropic", ProviderKind::NAMES).as_deref(),
        Some("anthropic")
    );
    assert_eq!(
        suggest("bedrok", ProviderKind::NAMES).as_deref(),
        Some("bedrock")
    );
    assert_eq!(suggest("mistral", ProviderKind::NAMES), None);

    let r = lint(&STEP1.replace("  sample_rate: 1.0", "  sample_rte: 1.0"));
    assert_eq!(
        r.findings[0].render("c.yaml"),
        "c.yaml:19:3: error: traffic_mirror.sample_rte: unknown key `sample_rte` (did you mean `sample_rate`?)"
    );
}

// Accepted base_url spellings normalise to scheme://host[:port][/prefix].
#[test]
fn base_url_forms() {
    for (raw, want) in [
        ("https://host", "https://host"),
        ("https://host/", "https://host"),
        ("https://host/v1", "https://host"),
        ("https://host/v1/", "https://host"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
        (
            "https://HOST.example:443/proxy/openai/v1",
            "https://host.example/proxy/openai",
        ),
        ("https://host/v10", "https://host/v10"),
    ] {
        assert_eq!(normalise_base_url(raw).as_deref(), Ok(want), "{raw}");
    }
    for bad in [
        "host.example",
        "ftp://host",
        "https://host/v1?key=1",
        "https://host/#frag",
        "file:///tmp/x",
        "http://",
        // Suspicious: credentials in the URL, link-local (cloud metadata) hosts.
        "https://user:hunter2@host",
        "https://user@host",
        "http://169.254.169.254/latest",
        "http://[fe80::1]:8080",
    ] {
        assert!(normalise_base_url(bad).is_err(), "{bad}");
    }
    // The refusal never repeats a URL's credentials.
    let msg = normalise_base_url("https://user:hunter2@host").unwrap_err();
    assert!(!msg.contains("hunter2"), "{msg}");
}

// The JSON report carries the same facts as the text one.
#[test]
fn json_report_shape() {
    let r = lint(&STEP1.replace("sample_rate: 1.0", "sample_rate: 1.5"));
    let j = r.render_json();
    assert_eq!(j["file"], "policy-config.yaml");
    assert_eq!(j["valid"], false);
    assert_eq!(
        (j["errors"].as_u64(), j["warnings"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(j["summary"], serde_json::Value::Null);
    let f = &j["findings"][0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["path"], "traffic_mirror.sample_rate");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(19), Some(16))
    );
    assert_eq!(f["suggestion"], serde_json::Value::Null);

    let ok = lint(STEP1).render_json();
    assert_eq!(ok["valid"], true);
    assert!(
        ok["summary"]
            .as_str()
            .unwrap()
            .starts_with("policy-config.yaml is valid: ")
    );
}

// No input makes the linter panic, and `config` is Some exactly when there are no errors.
#[test]
fn every_prefix_is_handled() {
    for text in [STEP1, STEP8, BROKEN_A, BROKEN_B] {
        for end in (0..=text.len())
            .step_by(3)
            .filter(|i| text.is_char_boundary(*i))
        {
            if let Ok(r) = lint_str(&text[..end], "p.yaml", &|_| None) {
                assert_eq!(
                    r.config.is_some(),
                    r.errors() == 0,
                    "prefix {end} of {text}"
                );
                let _ = (r.render_text(), r.render_json());
            }
        }
    }
}
