//! `kt policy lint` as a user runs it: exit status, the `FILE:LINE:COL: severity: PATH:
//! message` lines, the count line, the JSON form, and the summary of a valid config.
// Helpers outside #[test] fns panic on failure by design, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Every key variable the configs name, set so that only the finding under test shows
/// (the AWS pair is what a bedrock target without `secret_key_ref` signs with).
const ENV: [(&str, &str); 6] = [
    ("OPENAI_API_KEY", OPENAI_KEY),
    ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
    ("OPENAI_API_KEY_STAGING", "sk-test-staging-0123456789"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "aws-secret-test-0123456789"),
    ("VERTEX_ACCESS_TOKEN", "ya29.test-0123456789"),
];

/// What one `kt policy lint` run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Lines that report a finding.
    fn findings(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("policy-config.yaml:"))
            .collect()
    }

    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `kt policy lint --file policy-config.yaml [EXTRA]` in a temp dir holding `yaml`,
/// with every key variable set except those in `unset`.
fn lint_with(yaml: &str, unset: &[&str], extra: &[&str]) -> Run {
    let (dir, _) = write_config(yaml);
    lint_in(dir.path(), "policy-config.yaml", unset, extra)
}

fn lint_in(dir: &Path, file: &str, unset: &[&str], extra: &[&str]) -> Run {
    let mut cmd = kt_cmd(&["policy", "lint", "--file", file]);
    cmd.args(extra).current_dir(dir);
    for (k, v) in ENV {
        if unset.contains(&k) {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn lint(yaml: &str) -> Run {
    lint_with(yaml, &[], &[])
}

fn lint_json(yaml: &str, unset: &[&str]) -> (Option<i32>, Value) {
    let run = lint_with(yaml, unset, &["--format", "json"]);
    let v = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"));
    (run.code, v)
}

/// Asserts `yaml` fails with exactly one error at `at` (`LINE:COL`) on key path `path`,
/// whose message contains every phrase; returns the finding line.
fn assert_one_error(yaml: &str, at: &str, path: &str, phrases: &[&str]) -> String {
    let run = lint(yaml);
    assert_eq!(run.code, Some(1), "{run}");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{run}");
    let line = findings[0];
    let prefix = format!("policy-config.yaml:{at}: error: {path}: ");
    assert!(
        line.starts_with(&prefix),
        "expected a line starting {prefix:?}\n{run}"
    );
    for p in phrases {
        assert!(line.contains(p), "{p:?} missing from {line:?}");
    }
    assert_eq!(run.last_line(), "1 error, 0 warnings", "{run}");
    line.to_string()
}

// The tutorial's Step 1 config is valid: exit 0, no findings, one summary paragraph.
#[test]
fn valid_config_prints_a_summary() {
    let run = lint(STEP1_CONFIG);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.findings().is_empty(), "{run}");
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one summary paragraph:\n{run}"
    );
    let summary = run.stdout.trim_end();
    assert!(
        summary.starts_with("policy-config.yaml is valid"),
        "{summary}"
    );
    for fact in [
        "2 provider target(s)",
        "1 policy(ies)",
        "primary=openai",
        "shadow=anthropic",
        "sample_rate=100%",
        "2 model mapping(s)",
    ] {
        assert!(summary.contains(fact), "{fact:?} missing from {summary:?}");
    }

    let (code, v) = lint_json(STEP1_CONFIG, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["summary"].as_str(), Some(summary));
}

// The tutorial's Step 8 pack config is valid too, and says it mirrors nothing.
#[test]
fn step8_config_is_valid() {
    let run = lint(STEP8_CONFIG);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.findings().is_empty(), "{run}");
    assert!(run.stdout.contains("is valid"), "{run}");
    assert!(
        run.stdout.contains("pack traffic-mirroring-providers-3"),
        "{run}"
    );
    assert!(run.stdout.contains("no traffic mirror"), "{run}");
}

// An unset secret_key_ref variable is a warning naming it, not an error: exit 0.
#[test]
fn unset_key_variable_is_a_warning() {
    let run = lint_with(STEP1_CONFIG, &["OPENAI_API_KEY"], &[]);
    assert_eq!(run.code, Some(0), "{run}");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{run}");
    let prefix = "policy-config.yaml:7:14: warning: providers.targets[0].secret_key_ref.env: ";
    assert!(findings[0].starts_with(prefix), "{run}");
    assert!(
        findings[0].contains("OPENAI_API_KEY") && findings[0].contains("not set"),
        "{run}"
    );
    assert!(
        run.last_line().starts_with("policy-config.yaml is valid"),
        "{run}"
    );

    let (code, v) = lint_json(STEP1_CONFIG, &["OPENAI_API_KEY"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["warnings"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["path"], "providers.targets[0].secret_key_ref.env");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(7), Some(14))
    );
}

// A misspelt key is reported at the key with a did-you-mean suggestion.
#[test]
fn unknown_key_suggests_the_right_one() {
    let yaml = edit(STEP1_CONFIG, "  sample_rate: 1.0", "  sample_rte: 1.0");
    let line = assert_one_error(
        &yaml,
        "19:3",
        "traffic_mirror.sample_rte",
        &["unknown key `sample_rte`"],
    );
    assert!(line.ends_with("(did you mean `sample_rate`?)"), "{line}");

    let (code, v) = lint_json(&yaml, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["findings"][0]["suggestion"], "sample_rate");
}

// Two targets with the same id: the second is reported, naming the first's line.
#[test]
fn duplicate_target_ids() {
    let yaml = edit(
        STEP1_CONFIG,
        "        env: ANTHROPIC_API_KEY\n",
        "        env: ANTHROPIC_API_KEY\n    - id: anthropic\n      provider: anthropic\n",
    );
    assert_one_error(
        &yaml,
        "12:11",
        "providers.targets[2].id",
        &["duplicate", "`anthropic`", "line 8"],
    );
}

// An unknown provider kind lists the accepted ones and suggests the close one.
#[test]
fn unknown_provider_kind() {
    let yaml = edit(
        STEP1_CONFIG,
        "      provider: anthropic",
        "      provider: antropic",
    );
    let line = assert_one_error(
        &yaml,
        "9:17",
        "providers.targets[1].provider",
        &[
            "unknown provider `antropic`",
            "openai, anthropic, azure_openai, bedrock, gemini, vertex, simulated",
        ],
    );
    assert!(line.ends_with("(did you mean `anthropic`?)"), "{line}");
}

// traffic_mirror.primary and .shadow must name configured targets.
#[test]
fn mirror_names_an_unknown_target() {
    let yaml = edit(STEP1_CONFIG, "  primary: openai", "  primary: opena");
    let line = assert_one_error(
        &yaml,
        "14:12",
        "traffic_mirror.primary",
        &["`opena`", "`openai`, `anthropic`"],
    );
    assert!(line.ends_with("(did you mean `openai`?)"), "{line}");

    let yaml = edit(STEP1_CONFIG, "  shadow: anthropic", "  shadow: claude");
    assert_one_error(&yaml, "15:11", "traffic_mirror.shadow", &["`claude`"]);
}

// The shadow cannot be the primary.
#[test]
fn primary_equals_shadow() {
    let yaml = edit(STEP1_CONFIG, "  shadow: anthropic", "  shadow: openai");
    assert_one_error(
        &yaml,
        "15:11",
        "traffic_mirror.shadow",
        &["different", "`openai`"],
    );
}

// sample_rate is a fraction in [0, 1].
#[test]
fn sample_rate_out_of_range() {
    let yaml = edit(STEP1_CONFIG, "  sample_rate: 1.0", "  sample_rate: 1.5");
    assert_one_error(
        &yaml,
        "19:16",
        "traffic_mirror.sample_rate",
        &["between 0 and 1", "1.5"],
    );
}

// compare_metrics accepts only the three known metrics.
#[test]
fn unknown_compare_metric() {
    let yaml = edit(STEP1_CONFIG, "    - token_count", "    - tokn_count");
    let line = assert_one_error(
        &yaml,
        "24:7",
        "traffic_mirror.compare_metrics[1]",
        &[
            "unknown metric `tokn_count`",
            "latency, token_count, content_similarity",
        ],
    );
    assert!(line.ends_with("(did you mean `token_count`?)"), "{line}");
}

// A model_mapping entry needs a shadow model: empty string and missing value both fail.
#[test]
fn empty_model_mapping_value() {
    let line18 = "    gpt-4o: claude-sonnet-4-20250514\n";
    let yaml = edit(STEP1_CONFIG, line18, "    gpt-4o: \"\"\n");
    assert_one_error(
        &yaml,
        "18:13",
        "traffic_mirror.model_mapping.gpt-4o",
        &["`gpt-4o`", "empty"],
    );

    let yaml = edit(STEP1_CONFIG, line18, "    gpt-4o:\n");
    assert_one_error(
        &yaml,
        "18:5",
        "traffic_mirror.model_mapping.gpt-4o",
        &["`gpt-4o`", "nothing"],
    );
}

// A policy type must be one kt knows.
#[test]
fn unknown_policy_type() {
    let yaml = edit(
        STEP1_CONFIG,
        "    type: content_filter",
        "    type: content_filtr",
    );
    let line = assert_one_error(
        &yaml,
        "28:11",
        "policies[0].type",
        &[
            "unknown policy type `content_filtr`",
            "content_filter, audit_logger",
        ],
    );
    assert!(line.ends_with("(did you mean `content_filter`?)"), "{line}");
}

// A content filter's action is flag or block.
#[test]
fn unknown_action() {
    let yaml = edit(STEP1_CONFIG, "    action: flag", "    action: warn");
    assert_one_error(
        &yaml,
        "29:13",
        "policies[0].action",
        &["unknown action `warn`", "flag, block"],
    );
}

// Every name in policies.chain needs a body under policies.policy.
#[test]
fn chain_entry_without_a_body() {
    let yaml = edit(
        STEP8_CONFIG,
        "    - audit-logger\n",
        "    - audit-logger\n    - audit-loger\n",
    );
    let line = assert_one_error(
        &yaml,
        "19:7",
        "policies.chain[1]",
        &["`audit-loger`", "no `policy:` body"],
    );
    assert!(line.ends_with("(did you mean `audit-logger`?)"), "{line}");
}

// Regression: Step 8 as the tutorial prints it has `policy:` at the top level, beside
// `policies:`; lint accepted only the nested form. Both read; a conflict is one warning.
#[test]
fn step8_policy_at_the_top_level() {
    let nested = "  policy:\n    audit-logger:\n      immutable: true\n      retention_days: 365\n      log_all_access: true\n";
    let top = "policy:\n  audit-logger:\n    immutable: true\n    retention_days: 365\n    log_all_access: true\n";
    let run = lint(&edit(STEP8_CONFIG, nested, top));
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.findings().is_empty(), "{run}");
    assert!(run.stdout.contains("retention 365 days"), "{run}");

    let both = format!("{STEP8_CONFIG}{}", top.replace("365", "30"));
    let run = lint(&both);
    assert_eq!(run.code, Some(0), "{run}");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{run}");
    assert!(
        findings[0].starts_with("policy-config.yaml:24:1: warning: policy: ")
            && findings[0].contains("(19:3)")
            && findings[0].contains("kt reads `policies.policy`"),
        "{run}"
    );
    assert!(run.stdout.contains("retention 365 days"), "{run}");
}

// base_url must be an http(s) URL.
#[test]
fn invalid_base_url() {
    let at = "      provider: openai\n      secret_key_ref:\n        env: OPENAI_API_KEY\n";
    for (url, phrase) in [
        ("not a url", "not a valid URL"),
        ("ftp://x", "http or https"),
    ] {
        let yaml = edit(
            STEP1_CONFIG,
            at,
            &format!(
                "      provider: openai\n      base_url: {url}\n      secret_key_ref:\n        env: OPENAI_API_KEY\n"
            ),
        );
        assert_one_error(
            &yaml,
            "6:17",
            "providers.targets[0].base_url",
            &[url, phrase],
        );
    }
}

/// Step 1 with a third target appended (on line 12).
fn with_target(target: &str) -> String {
    edit(
        STEP1_CONFIG,
        "        env: ANTHROPIC_API_KEY\n",
        &format!("        env: ANTHROPIC_API_KEY\n{target}"),
    )
}

// A bedrock target without `region` is an error at the target, with line:column.
#[test]
fn bedrock_target_without_region() {
    let yaml = with_target("    - id: bedrock\n      provider: bedrock\n");
    assert_one_error(
        &yaml,
        "12:7",
        "providers.targets[2].region",
        &["bedrock targets need `region`", "e.g. us-east-1"],
    );
}

// A vertex target without `project` is an error at the target, with line:column.
#[test]
fn vertex_target_without_project() {
    let yaml = with_target(
        "    - id: vertex\n      provider: vertex\n      location: us-central1\n      \
         secret_key_ref: {env: VERTEX_ACCESS_TOKEN}\n",
    );
    assert_one_error(
        &yaml,
        "12:7",
        "providers.targets[2].project",
        &["vertex targets need `project`", "Google Cloud project id"],
    );
}

// Valid cloud targets are summarised with their region, project and location; unset AWS
// credentials are a warning naming the variables (exit 0), never their values.
#[test]
fn cloud_targets_summary_and_credential_warning() {
    let yaml = with_target(
        "    - id: bedrock\n      provider: bedrock\n      region: eu-central-1\n    \
         - id: vertex\n      provider: vertex\n      project: my-project\n      \
         location: global\n      secret_key_ref: {env: VERTEX_ACCESS_TOKEN}\n",
    );
    let run = lint(&yaml);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.findings().is_empty(), "{run}");
    assert!(
        run.stdout.contains(
            "bedrock: bedrock in eu-central-1, vertex: vertex, project my-project in global"
        ),
        "{run}"
    );

    let run = lint_with(&yaml, &["AWS_SECRET_ACCESS_KEY"], &[]);
    assert_eq!(run.code, Some(0), "{run}");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{run}");
    let prefix = "policy-config.yaml:12:7: warning: providers.targets[2].secret_key_ref: ";
    assert!(findings[0].starts_with(prefix), "{run}");
    assert!(
        findings[0].contains("AWS_SECRET_ACCESS_KEY is not set"),
        "{run}"
    );
    assert!(!run.stdout.contains("AKIDEXAMPLE"), "{run}");
}

/// Step 1 with five independent mistakes.
fn five_mistakes() -> String {
    let mut yaml = STEP1_CONFIG.to_string();
    for (from, to) in [
        ("      provider: anthropic", "      provider: antropic"),
        ("  primary: openai", "  primary: opena"),
        ("  sample_rate: 1.0", "  sample_rte: 1.0"),
        ("    - token_count", "    - tokn_count"),
        ("    action: flag", "    action: warn"),
    ] {
        yaml = edit(&yaml, from, to);
    }
    yaml
}

// A config with several problems gets all of them, in file order, and a count line.
#[test]
fn reports_every_problem_at_once() {
    let run = lint(&five_mistakes());
    assert_eq!(run.code, Some(1), "{run}");
    let expected = [
        "policy-config.yaml:9:17: error: providers.targets[1].provider: ",
        "policy-config.yaml:14:12: error: traffic_mirror.primary: ",
        "policy-config.yaml:19:3: error: traffic_mirror.sample_rte: ",
        "policy-config.yaml:24:7: error: traffic_mirror.compare_metrics[1]: ",
        "policy-config.yaml:29:13: error: policies[0].action: ",
    ];
    let findings = run.findings();
    assert_eq!(findings.len(), expected.len(), "{run}");
    for (line, prefix) in findings.iter().zip(expected) {
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
    }
    assert_eq!(run.last_line(), "5 errors, 0 warnings", "{run}");
}

// `--format json` carries the same findings with their fields.
#[test]
fn json_format_lists_findings() {
    let (code, v) = lint_json(&five_mistakes(), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 5);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5);
    for f in findings {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "severity",
                "path",
                "line",
                "column",
                "message",
                "suggestion"
            ]
        );
        assert_eq!(f["severity"], "error");
    }
    let first = &findings[0];
    assert_eq!(first["path"], "providers.targets[1].provider");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(9), Some(17))
    );
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("unknown provider `antropic`")
    );
    assert_eq!(first["suggestion"], "anthropic");
    let action = &findings[4];
    assert_eq!(action["path"], "policies[0].action");
    assert!(action["suggestion"].is_null(), "{action}");
}

// A file that cannot be read exits 2 with the reason on stderr.
#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = lint_in(dir.path(), "nope.yaml", &[], &[]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("nope.yaml"), "{run}");

    let run = lint_in(dir.path(), "nope.yaml", &[], &["--format", "json"]);
    assert_eq!(run.code, Some(2), "{run}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["fatal"].as_str().unwrap().contains("nope.yaml"), "{v}");
}

// Text that is not YAML exits 2 with the position of the syntax error.
#[test]
fn not_yaml_exits_2() {
    let run = lint("key: [unclosed\n");
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.starts_with("policy-config.yaml:"), "{run}");
    assert!(run.stderr.contains("not valid YAML"), "{run}");
}

// `kt gateway run` uses the same loader: it refuses an invalid config with the same lines.
#[test]
fn gateway_refuses_what_lint_rejects() {
    let yaml = edit(STEP1_CONFIG, "  sample_rate: 1.0", "  sample_rate: 1.5");
    let (dir, _) = write_config(&yaml);
    let out = kt_cmd(&[
        "gateway",
        "run",
        "--policy-config",
        "policy-config.yaml",
        "--port",
        "0",
        "--db",
        "kt.db",
    ])
    .current_dir(dir.path())
    .envs(ENV)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("policy-config.yaml:19:16: error: traffic_mirror.sample_rate: "),
        "{stderr}"
    );
    assert!(!stderr.contains("Gateway ready"), "{stderr}");
}
