//! Lint findings and the report `kt policy lint` prints: one line per finding in
//! `FILE:LINE:COL: severity: PATH: MESSAGE` form, or a JSON document, plus a one-paragraph
//! summary of what a valid config will do.

use serde::Serialize;
use serde_json::{Value, json};

use super::{
    ANTHROPIC_BASE_URL, Config, GEMINI_BASE_URL, OPENAI_BASE_URL, PolicyKind, ProviderKind, Target,
};

/// How serious a finding is. Errors make the config unusable; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config cannot be used; `kt gateway run` refuses to start.
    Error,
    /// The config works but probably not as intended.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Key path of the offending node, e.g. `traffic_mirror.sample_rate` or
    /// `providers.targets[1].id`.
    pub path: String,
    /// 1-based line of the node the finding points at.
    pub line: u64,
    /// 1-based column of that node.
    pub column: u64,
    /// What is wrong and, where possible, what to change.
    pub message: String,
    /// A close spelling that would be accepted (`did you mean ...?`).
    pub suggestion: Option<String>,
}

impl Finding {
    /// The finding as one line of text, without a trailing newline.
    pub fn render(&self, file: &str) -> String {
        let mut line = format!(
            "{file}:{}:{}: {}: {}: {}",
            self.line,
            self.column,
            self.severity.as_str(),
            self.path,
            self.message
        );
        if let Some(s) = &self.suggestion {
            line.push_str(&format!(" (did you mean `{s}`?)"));
        }
        line
    }
}

/// The outcome of linting one file.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// The file name as given by the caller, used as the prefix of every line.
    pub file: String,
    /// Every finding, ordered by position in the file.
    pub findings: Vec<Finding>,
    /// The validated config: `Some` exactly when there are no error findings.
    pub config: Option<Config>,
}

impl LintReport {
    /// Number of error findings.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warning findings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    /// True when the config can be used (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors() == 0 && self.config.is_some()
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Human-readable report, every line ending in `\n`. An invalid config gets one line
    /// per finding and a count line (`2 errors, 1 warning`); a valid one gets its
    /// warnings followed by [`LintReport::summary`].
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&f.render(&self.file));
            out.push('\n');
        }
        match self.summary() {
            Some(summary) => out.push_str(&summary),
            None => out.push_str(&format!(
                "{}, {}",
                plural(self.errors(), "error", "errors"),
                plural(self.warnings(), "warning", "warnings")
            )),
        }
        out.push('\n');
        out
    }

    /// Machine-readable report:
    /// `{"file","valid","errors","warnings","findings":[..],"summary":string|null}`.
    pub fn render_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": f.severity.as_str(),
                    "path": f.path,
                    "line": f.line,
                    "column": f.column,
                    "message": f.message,
                    "suggestion": f.suggestion,
                })
            })
            .collect();
        json!({
            "file": self.file,
            "valid": self.is_valid(),
            "errors": self.errors(),
            "warnings": self.warnings(),
            "findings": findings,
            "summary": self.summary(),
        })
    }

    /// One paragraph saying what a valid config will do; `None` when invalid.
    pub fn summary(&self) -> Option<String> {
        let config = self.config.as_ref().filter(|_| self.errors() == 0)?;
        Some(format!("{} is valid: {}", self.file, describe(config)))
    }
}

/// `1 error` / `2 errors`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The body of the summary paragraph; clauses are separated by `; ` and end with `.`.
fn describe(config: &Config) -> String {
    let mut clauses = Vec::new();
    if let Some(pack) = &config.pack {
        let mut clause = format!("pack {}", pack.name);
        if let Some(v) = &pack.version {
            clause.push_str(&format!(" {v}"));
        }
        if !pack.enabled {
            clause.push_str(" (enabled: false)");
        }
        clauses.push(clause);
    }

    let targets: Vec<String> = config
        .targets
        .iter()
        .map(|t| {
            let mut s = format!("{}: {}", t.id, t.kind.as_str());
            // Only a non-default endpoint is worth a mention.
            let default = match t.kind {
                ProviderKind::OpenAi => OPENAI_BASE_URL,
                ProviderKind::Anthropic => ANTHROPIC_BASE_URL,
                ProviderKind::Gemini => GEMINI_BASE_URL,
                // Derived from the region or location when not given.
                ProviderKind::Bedrock | ProviderKind::Vertex => "",
                ProviderKind::AzureOpenAi | ProviderKind::Simulated => "",
            };
            if t.base_url != default {
                s.push_str(&format!(" at {}", t.base_url));
            }
            s.push_str(&cloud_clause(t));
            s
        })
        .collect();
    clauses.push(format!(
        "{} provider target(s) ({})",
        config.targets.len(),
        targets.join(", ")
    ));

    if config.policies.is_empty() {
        clauses.push("no policies".to_owned());
    } else {
        let policies: Vec<String> = config
            .policies
            .iter()
            .map(|p| match &p.kind {
                PolicyKind::ContentFilter { action, patterns } => {
                    let mut s = format!("{}: content_filter, action {}", p.name, action.as_str());
                    if !patterns.is_empty() {
                        s.push_str(&format!(", {} custom pattern(s)", patterns.len()));
                    }
                    s
                }
                PolicyKind::AuditLogger {
                    immutable,
                    retention_days,
                    ..
                } => {
                    let mut s = format!("{}: audit_logger", p.name);
                    match retention_days {
                        Some(days) => s.push_str(&format!(", retention {days} days")),
                        None => s.push_str(", events kept forever"),
                    }
                    if !immutable {
                        s.push_str(", mutable");
                    }
                    s
                }
            })
            .collect();
        clauses.push(format!(
            "{} policy(ies) ({})",
            config.policies.len(),
            policies.join(", ")
        ));
    }

    match &config.mirror {
        Some(m) => {
            let metrics: Vec<&str> = m.compare_metrics.iter().map(|c| c.as_str()).collect();
            let mode = if m.asynchronous {
                "async".to_owned()
            } else {
                format!(
                    "sync (callers wait up to {} ms for the shadow)",
                    m.timeout_ms
                )
            };
            let comparing = if metrics.is_empty() {
                "comparing nothing".to_owned()
            } else {
                format!("comparing {}", metrics.join(", "))
            };
            // The tutorial's single shadow reads as before; further shadows and sticky
            // sampling add clauses only when configured.
            let spec = |s: &crate::config::ShadowSpec| {
                format!(
                    "sample_rate={}, {} model mapping(s)",
                    percent(s.sample_rate),
                    s.model_mapping.len()
                )
            };
            let mut shadows = m.shadows.iter();
            let first = shadows
                .next()
                .map_or_else(String::new, |s| format!("shadow={}, {}", s.target, spec(s)));
            let more: Vec<String> = shadows
                .map(|s| format!("{} ({})", s.target, spec(s)))
                .collect();
            let more = if more.is_empty() {
                String::new()
            } else {
                format!(", also shadows {}", more.join(", "))
            };
            let sticky = m
                .sample_by
                .as_ref()
                .map_or_else(String::new, |b| format!(", sampled by {}", b.describe()));
            clauses.push(format!(
                "traffic mirror enabled: primary={}, {first}{more}{sticky}, {mode}, {comparing}",
                m.primary,
            ));
        }
        None => clauses.push(format!(
            "no traffic mirror: requests go to the first target, {}",
            config.primary
        )),
    }
    format!("{}.", clauses.join("; "))
}

/// What a cloud target's endpoint depends on besides its URL: the Azure API flavour and
/// deployments, the Bedrock region, the Vertex project and location. Empty for other kinds.
fn cloud_clause(t: &Target) -> String {
    match t.kind {
        ProviderKind::AzureOpenAi => {
            let mut s = match &t.api_version {
                Some(v) => format!(", api-version {v}"),
                None => ", v1 API".to_owned(),
            };
            if !t.deployments.is_empty() {
                s.push_str(&format!(", {} deployment(s)", t.deployments.len()));
            }
            if t.bearer_env.is_some() {
                s.push_str(", Entra ID token");
            }
            s
        }
        ProviderKind::Bedrock => t
            .region
            .as_ref()
            .map_or_else(String::new, |r| format!(" in {r}")),
        ProviderKind::Vertex => {
            let mut s = String::new();
            if let Some(p) = &t.project {
                s.push_str(&format!(", project {p}"));
            }
            if let Some(l) = &t.location {
                s.push_str(&format!(" in {l}"));
            }
            s
        }
        _ => String::new(),
    }
}

/// `1.0` → `100%`, `0.125` → `12.5%`: no trailing zeros, at most two decimals.
/// A sample rate as people write it: `1.0` → `100%`, `0.125` → `12.5%`.
pub fn percent(rate: f64) -> String {
    let text = format!("{:.2}", rate * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Percentages print like a person would write them.
    #[test]
    fn percent_trims_zeros() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.1), "10%");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0%");
    }

    // A finding line has the compiler-like shape editors can jump to.
    #[test]
    fn finding_line_shape() {
        let f = Finding {
            severity: Severity::Error,
            path: "traffic_mirror.sample_rte".into(),
            line: 3,
            column: 5,
            message: "unknown key `sample_rte`".into(),
            suggestion: Some("sample_rate".into()),
        };
        assert_eq!(
            f.render("a.yaml"),
            "a.yaml:3:5: error: traffic_mirror.sample_rte: unknown key `sample_rte` (did you mean `sample_rate`?)"
        );
    }
}
