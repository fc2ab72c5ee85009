//! The content filter: finds e-mail addresses, payment card numbers, key-like strings and
//! configured patterns in request and answer text. Findings record what kind of data was
//! seen and how often, never the matched text itself (the log must not become the leak).

use regex::Regex;
use serde::Serialize;

use crate::config::{Config, FilterAction, PolicyKind};

/// One kind of sensitive data seen in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyFinding {
    /// Policy name from the config.
    pub policy: String,
    /// `flag` or `block`.
    pub action: &'static str,
    /// Detector name: `email`, `credit_card`, `api_key`, or a configured pattern's name.
    pub kind: String,
    /// `request` or `response`.
    pub location: &'static str,
    pub count: usize,
}

struct Detector {
    name: String,
    regex: Regex,
    /// Card numbers must also pass the Luhn check, which removes most digit-run noise.
    luhn: bool,
}

struct FilterPolicy {
    name: String,
    action: FilterAction,
    detectors: Vec<Detector>,
}

/// Every content-filter policy of a config, compiled once at start.
pub struct ContentFilter {
    policies: Vec<FilterPolicy>,
}

impl std::fmt::Debug for ContentFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentFilter")
            .field("policies", &self.policies.len())
            .finish()
    }
}

/// The built-in detectors. The patterns are fixed and tested, so failing to compile one
/// is a programming error caught by the unit tests, not a user error.
fn builtin() -> Vec<Detector> {
    let specs: [(&str, &str, bool); 3] = [
        (
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            false,
        ),
        ("credit_card", r"\b(?:\d[ -]?){12,18}\d\b", true),
        (
            "api_key",
            r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})",
            false,
        ),
    ];
    specs
        .iter()
        .filter_map(|(name, re, luhn)| {
            Regex::new(re).ok().map(|regex| Detector {
                name: (*name).to_string(),
                regex,
                luhn: *luhn,
            })
        })
        .collect()
}

impl ContentFilter {
    pub fn from_config(config: &Config) -> Self {
        let policies = config
            .policies
            .iter()
            .filter_map(|p| match &p.kind {
                PolicyKind::ContentFilter { action, patterns } => {
                    let mut detectors = builtin();
                    detectors.extend(patterns.iter().map(|pat| Detector {
                        name: pat.name.clone(),
                        regex: pat.regex.clone(),
                        luhn: false,
                    }));
                    Some(FilterPolicy {
                        name: p.name.clone(),
                        action: *action,
                        detectors,
                    })
                }
                PolicyKind::AuditLogger { .. } => None,
            })
            .collect();
        Self { policies }
    }

    /// True when no content-filter policy is configured (nothing to scan).
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// True when a blocking policy exists, so requests must be scanned before forwarding.
    pub fn has_blocking(&self) -> bool {
        self.policies
            .iter()
            .any(|p| p.action == FilterAction::Block)
    }

    /// True when a redacting policy exists: requests and stored texts must be rewritten.
    pub fn has_redacting(&self) -> bool {
        self.policies
            .iter()
            .any(|p| p.action == FilterAction::Redact)
    }

    /// Replaces every match of a redacting policy in `text` with `[REDACTED:kind]`;
    /// returns the new text and what was replaced (no matched text is kept).
    pub fn redact(&self, text: &str, location: &'static str) -> (String, Vec<PolicyFinding>) {
        let mut out = text.to_string();
        let mut findings = Vec::new();
        for p in self
            .policies
            .iter()
            .filter(|p| p.action == FilterAction::Redact)
        {
            for d in &p.detectors {
                let mut count = 0;
                let replaced = d.regex.replace_all(&out, |c: &regex::Captures<'_>| {
                    let m = c.get(0).map_or("", |m| m.as_str());
                    if d.luhn && !luhn_valid(m) {
                        return m.to_string();
                    }
                    count += 1;
                    format!("[REDACTED:{}]", d.name)
                });
                if count > 0 {
                    out = replaced.into_owned();
                    findings.push(PolicyFinding {
                        policy: p.name.clone(),
                        action: p.action.as_str(),
                        kind: d.name.clone(),
                        location,
                        count,
                    });
                }
            }
        }
        (out, findings)
    }

    /// Redacts every message text of an OpenAI-shaped request in place (string contents and
    /// text parts); returns what was replaced.
    pub fn redact_request(
        &self,
        req: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Vec<PolicyFinding> {
        use serde_json::Value;
        let mut findings: Vec<PolicyFinding> = Vec::new();
        let fix = |s: &mut String, findings: &mut Vec<PolicyFinding>| {
            let (text, found) = self.redact(s, "request");
            if !found.is_empty() {
                *s = text;
                for f in found {
                    match findings
                        .iter_mut()
                        .find(|g| g.policy == f.policy && g.kind == f.kind)
                    {
                        Some(g) => g.count += f.count,
                        None => findings.push(f),
                    }
                }
            }
        };
        let Some(Value::Array(messages)) = req.get_mut("messages") else {
            return findings;
        };
        for m in messages.iter_mut() {
            match m.get_mut("content") {
                Some(Value::String(s)) => fix(s, &mut findings),
                Some(Value::Array(parts)) => {
                    for part in parts.iter_mut() {
                        if let Some(Value::String(s)) = part.get_mut("text") {
                            fix(s, &mut findings);
                        }
                    }
                }
                _ => {}
            }
        }
        findings
    }

    /// Redacts a Responses API body the way [`ContentFilter::redact_request`] redacts its Chat
    /// translation (the texts a model reads: `instructions`, `input` as a string, message
    /// contents and text parts, function-call outputs), so a target that receives the
    /// caller's own body never sees what a redact policy removed. The findings were already
    /// counted on the translation; this returns nothing.
    pub fn redact_responses_body(&self, body: &mut serde_json::Map<String, serde_json::Value>) {
        use serde_json::Value;
        let fix = |s: &mut String| {
            let (text, found) = self.redact(s, "request");
            if !found.is_empty() {
                *s = text;
            }
        };
        if let Some(Value::String(s)) = body.get_mut("instructions") {
            fix(s);
        }
        match body.get_mut("input") {
            Some(Value::String(s)) => fix(s),
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    for key in ["content", "output"] {
                        match item.get_mut(key) {
                            Some(Value::String(s)) => fix(s),
                            Some(Value::Array(parts)) => {
                                for part in parts.iter_mut() {
                                    if let Some(Value::String(s)) = part.get_mut("text") {
                                        fix(s);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Findings of blocking policies in `text` (the request): non-empty means reject.
    pub fn blocking_findings(&self, text: &str) -> Vec<PolicyFinding> {
        self.scan_where(text, "request", |p| p.action == FilterAction::Block)
    }

    /// Findings of flagging policies in `text`, located at `location`.
    pub fn flag_findings(&self, text: &str, location: &'static str) -> Vec<PolicyFinding> {
        self.scan_where(text, location, |p| p.action == FilterAction::Flag)
    }

    fn scan_where(
        &self,
        text: &str,
        location: &'static str,
        keep: impl Fn(&FilterPolicy) -> bool,
    ) -> Vec<PolicyFinding> {
        let mut out = Vec::new();
        for p in self.policies.iter().filter(|p| keep(p)) {
            for d in &p.detectors {
                let count = d
                    .regex
                    .find_iter(text)
                    .filter(|m| !d.luhn || luhn_valid(m.as_str()))
                    .count();
                if count > 0 {
                    out.push(PolicyFinding {
                        policy: p.name.clone(),
                        action: p.action.as_str(),
                        kind: d.name.clone(),
                        location,
                        count,
                    });
                }
            }
        }
        out
    }
}

/// The Luhn checksum over the digits of `s`.
fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Pattern, Policy};

    fn filter(action: FilterAction, patterns: Vec<Pattern>) -> ContentFilter {
        let p = Policy {
            name: "content-filter".into(),
            kind: PolicyKind::ContentFilter { action, patterns },
        };
        let cfg = crate::config::Config {
            version: None,
            pack: None,
            targets: vec![],
            mirror: None,
            policies: vec![p],
            primary: String::new(),
            pricing: vec![],
            gates: crate::config::Gates::default(),
            gateway: crate::config::GatewaySettings::default(),
            log_requests: false,
            model_mapping: vec![],
        };
        ContentFilter::from_config(&cfg)
    }

    // Proves every built-in detector compiles and fires, and findings carry no matched text.
    #[test]
    fn builtins_detect() {
        assert_eq!(builtin().len(), 3);
        let f = filter(FilterAction::Flag, vec![]);
        let text =
            "mail a.b@example.com, card 4111 1111 1111 1111, key sk-abcdefghijklmnopqrstuvwx";
        let got = f.flag_findings(text, "request");
        let kinds: Vec<&str> = got.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(kinds, ["email", "credit_card", "api_key"]);
        let json = serde_json::to_string(&got).unwrap();
        assert!(
            !json.contains("example.com") && !json.contains("4111") && !json.contains("sk-abc")
        );
    }

    // Proves digit runs that fail Luhn (order numbers, phone numbers) are not cards.
    #[test]
    fn luhn_filters_noise() {
        let f = filter(FilterAction::Flag, vec![]);
        assert!(
            f.flag_findings("order 1234 5678 9012 3456", "request")
                .is_empty()
        );
    }

    // Proves configured patterns are added and block policies only report in blocking scans.
    #[test]
    fn custom_patterns_and_block() {
        let pat = Pattern {
            name: "ticket".into(),
            regex: Regex::new(r"TICKET-\d+").unwrap(),
        };
        let f = filter(FilterAction::Block, vec![pat]);
        assert!(f.has_blocking());
        assert!(f.flag_findings("TICKET-42", "request").is_empty());
        let b = f.blocking_findings("TICKET-42 and TICKET-7");
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].kind.as_str(), b[0].count, b[0].action),
            ("ticket", 2, "block")
        );
    }

    // Proves redaction rewrites every message text (string and parts), counts what it
    // replaced, keeps non-card digit runs, and records no matched text.
    #[test]
    fn redact_rewrites_requests() {
        let f = filter(FilterAction::Redact, vec![]);
        assert!(f.has_redacting() && !f.has_blocking());
        let mut req = match serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": "mail jane@example.com and bob@example.org"},
            {"role": "user", "content": [{"type": "text", "text": "card 4111 1111 1111 1111, order 1234 5678 9012 3456"}]}
        ]}) {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let found = f.redact_request(&mut req);
        let text = serde_json::to_string(&req).unwrap();
        assert!(
            !text.contains("jane@example.com") && !text.contains("4111 1111"),
            "{text}"
        );
        assert!(text.contains("[REDACTED:email]") && text.contains("[REDACTED:credit_card]"));
        assert!(
            text.contains("1234 5678 9012 3456"),
            "not a valid card: kept"
        );
        let emails = found.iter().find(|g| g.kind == "email").unwrap();
        assert_eq!((emails.count, emails.action), (2, "redact"));
        assert!(!serde_json::to_string(&found).unwrap().contains("example"));
    }
}
