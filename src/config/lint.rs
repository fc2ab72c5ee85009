//! Checks a parsed config against kt's schema, collecting every finding with its key
//! path and line:column, and builds the validated [`Config`] when nothing is wrong.
//!
//! This file holds the entry point, the top-level keys and the shared helpers; the rules
//! for targets, the mirror and policies live in the `lint/` submodules.

mod cloud_targets;
mod evaluators;
mod gates;
mod mirror;
mod policies;
#[cfg(test)]
mod policies_tests;
mod pricing;
mod report_only;
mod shadows;
#[cfg(test)]
mod shadows_tests;
mod spend_guard;
mod targets;
#[cfg(test)]
mod tests;

use serde_saphyr::Location;

use super::node::{self, Entry, Node, SNode};
use super::{Config, Finding, LintReport, LoadError, Pack, Severity};
pub use report_only::{ReportSettings, lint_report_str};

/// Top-level keys; both tutorial shapes use a subset.
const ROOT_KEYS: [&str; 9] = [
    "version",
    "pack",
    "providers",
    "traffic_mirror",
    "policies",
    // Step 8's `policy:` as printed, unindented: a sibling of `policies:`.
    "policy",
    "pricing",
    "gates",
    "gateway",
];
const PACK_KEYS: [&str; 3] = ["name", "version", "enabled"];

/// Lints config text. `file` only labels findings; `env` looks up environment variables
/// (injected so tests need not touch the process environment).
///
/// Returns `Err(LoadError::Syntax)` only when the text is not YAML, is empty, or is not a
/// mapping at the top; every other problem is a [`Finding`] in the report.
pub fn lint_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LintReport, LoadError> {
    let root = parse_root(text, file)?;
    let mut cx = Ctx::new(env);
    let config = check_root(&mut cx, &root);
    let (findings, config) = finish(cx, config);
    Ok(LintReport {
        file: file.to_owned(),
        findings,
        config,
    })
}

/// Parses the text into a tree whose top is a mapping; anything else is a syntax error.
fn parse_root(text: &str, file: &str) -> Result<SNode, LoadError> {
    let syntax = |line: u64, column: u64, message: String| LoadError::Syntax {
        path: file.to_owned(),
        line,
        column,
        message,
    };
    let root = node::parse(text).map_err(|p| syntax(p.line, p.column, p.message))?;
    match &root.value {
        Node::Map(_) => Ok(root),
        Node::Null => Err(syntax(
            1,
            1,
            "the file is empty; expected a mapping with at least `providers:`".to_owned(),
        )),
        other => {
            let (line, column) = node::pos(&root.referenced);
            Err(syntax(
                line,
                column,
                format!(
                    "expected a mapping of keys such as `providers:` at the top, found {}",
                    other.kind()
                ),
            ))
        }
    }
}

/// The findings in file order, and what the rules built: kept only when no finding is an
/// error, so "result is Some iff no errors" holds for every caller.
fn finish<T>(cx: Ctx<'_>, built: Option<T>) -> (Vec<Finding>, Option<T>) {
    let mut findings = cx.findings;
    // Stable sort: findings at the same spot keep the order the rules found them in.
    findings.sort_by_key(|f| (f.line, f.column));
    let has_errors = findings.iter().any(|f| f.severity == Severity::Error);
    let built = if has_errors { None } else { built };
    if !has_errors && built.is_none() {
        // Every rule that gives up reports an error first, so this means a rule forgot to;
        // an explicit finding keeps "result is Some iff no errors" true regardless.
        findings.push(Finding {
            severity: Severity::Error,
            path: String::new(),
            line: 1,
            column: 1,
            message: "internal error: the config could not be assembled".to_owned(),
            suggestion: None,
        });
    }
    (findings, built)
}

/// Checks the whole document; `None` when something needed for a `Config` was invalid
/// (an error finding has then been recorded).
fn check_root(cx: &mut Ctx<'_>, root: &SNode) -> Option<Config> {
    let f = cx.fields("", root, &ROOT_KEYS)?;
    let version = f.get("version").and_then(|n| check_version(cx, n));
    let pack = f.get("pack").and_then(|n| check_pack(cx, n));
    let (targets, ids) = targets::check_providers(cx, &f);
    let mirror = f
        .get("traffic_mirror")
        .and_then(|n| mirror::check(cx, n, &ids));
    let policies = policies::check(cx, &f);
    // `pricing:` and `gates:` are read by `kt mirror report --policy-config`.
    let pricing = match f.get("pricing") {
        Some(n) => pricing::check(cx, n),
        None => Some(Vec::new()),
    };
    let gates = match f.get("gates") {
        Some(n) => gates::check(cx, n),
        None => Some(super::Gates::default()),
    };
    let gateway = match f.get("gateway") {
        Some(n) => check_gateway(cx, n),
        None => Some(super::GatewaySettings::default()),
    };

    if let (Some(m), Some(p)) = (&mirror, &pricing) {
        spend_guard::check_prices(cx, &f, m, p);
        if let Some(t) = &targets {
            evaluators::check_targets(cx, &f, m, t, p);
        }
    }
    let replay = match f.get("traffic_mirror") {
        Some(n) => mirror::check_replay(cx, n),
        None => Some((false, Vec::new())),
    };

    // Past this point any `None` has already been reported as an error.
    let targets = targets?;
    let policies = policies?;
    let pricing = pricing?;
    let gates = gates?;
    let gateway = gateway?;
    let (log_requests, model_mapping) = replay?;
    let primary = match &mirror {
        Some(m) => m.primary.clone(),
        None => targets.first()?.id.clone(),
    };
    Some(Config {
        version,
        pack,
        targets,
        mirror,
        policies,
        primary,
        pricing,
        gates,
        gateway,
        log_requests,
        model_mapping,
    })
}

/// `gateway: {api_keys: [{env: NAME}]}`: caller keys; an unset variable is a warning
/// here, and `kt gateway run` refuses to start when none of them is set.
fn check_gateway(cx: &mut Ctx<'_>, n: &SNode) -> Option<super::GatewaySettings> {
    let f = cx.fields("gateway", n, &["api_keys"])?;
    let Some(keys) = f.get("api_keys") else {
        return Some(super::GatewaySettings::default());
    };
    let path = f.child("api_keys");
    let items = cx.seq(&path, keys)?;
    let mut envs = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(entry) = cx.fields(&item_path, item, &["env"]) else {
            ok = false;
            continue;
        };
        let Some(env_node) = cx.required(&entry, "env") else {
            ok = false;
            continue;
        };
        let Some(name) = cx.nonempty_string(&entry.child("env"), env_node) else {
            ok = false;
            continue;
        };
        if cx.env(name).is_none_or(|v| v.is_empty()) {
            cx.warn(
                &entry.child("env"),
                &env_node.referenced,
                format!("environment variable {name} is not set: callers cannot use this key"),
            );
        }
        envs.push(name.to_owned());
    }
    ok.then_some(super::GatewaySettings { api_key_envs: envs })
}

/// `version:` must be "1" or 1: the only schema kt knows.
fn check_version(cx: &mut Ctx<'_>, n: &SNode) -> Option<String> {
    let text = cx.text_or_number("version", n)?;
    if text == "1" {
        Some(text)
    } else {
        cx.error(
            "version",
            &n.referenced,
            format!("unsupported config version `{text}`; kt understands version \"1\""),
        );
        None
    }
}

fn check_pack(cx: &mut Ctx<'_>, n: &SNode) -> Option<Pack> {
    let f = cx.fields("pack", n, &PACK_KEYS)?;
    let name = cx
        .required(&f, "name")
        .and_then(|v| cx.nonempty_string("pack.name", v));
    let version = f
        .get("version")
        .map(|v| cx.text_or_number("pack.version", v));
    let enabled = cx.bool_or("pack.enabled", f.get("enabled"), true);
    Some(Pack {
        name: name?.to_owned(),
        // An invalid version was reported; the config is discarded anyway.
        version: version.flatten(),
        enabled: enabled?,
    })
}

/// Collects findings while the rules walk the tree.
pub(super) struct Ctx<'e> {
    findings: Vec<Finding>,
    env: &'e dyn Fn(&str) -> Option<String>,
}

/// The recognised keys of one mapping, first occurrence of each, plus where the mapping is.
pub(super) struct Fields<'n> {
    /// Key path of the mapping itself (empty for the document root).
    pub path: String,
    /// Location of the mapping: its first key for a block mapping, `{` for a flow one.
    pub at: &'n Location,
    entries: Vec<&'n Entry>,
}

impl<'n> Fields<'n> {
    /// The value under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n SNode> {
        self.entry(key).map(|e| &e.value)
    }

    /// Where `key` itself is written, for findings about the key rather than its value.
    pub fn key_at(&self, key: &str) -> Option<&'n Location> {
        self.entry(key).map(|e| &e.key.referenced)
    }

    fn entry(&self, key: &str) -> Option<&'n Entry> {
        self.entries.iter().copied().find(|e| e.key.value == key)
    }

    /// Path of a child key.
    pub fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

impl<'e> Ctx<'e> {
    fn new(env: &'e dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            findings: Vec::new(),
            env,
        }
    }

    /// Looks up an environment variable through the injected callback.
    pub fn env(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    fn push(
        &mut self,
        severity: Severity,
        path: &str,
        at: &Location,
        message: String,
        suggestion: Option<String>,
    ) {
        let (line, column) = node::pos(at);
        self.findings.push(Finding {
            severity,
            path: path.to_owned(),
            line,
            column,
            message,
            suggestion,
        });
    }

    /// Records an error.
    pub fn error(&mut self, path: &str, at: &Location, message: impl Into<String>) {
        self.push(Severity::Error, path, at, message.into(), None);
    }

    /// Records an error with a `did you mean` suggestion.
    pub fn error_suggest(
        &mut self,
        path: &str,
        at: &Location,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        self.push(Severity::Error, path, at, message.into(), suggestion);
    }

    /// Records a warning.
    pub fn warn(&mut self, path: &str, at: &Location, message: impl Into<String>) {
        self.push(Severity::Warning, path, at, message.into(), None);
    }

    /// Reports "expected X, found Y" at the value.
    pub fn mismatch(&mut self, path: &str, n: &SNode, expected: &str) {
        let found = n.value.kind();
        self.error(
            path,
            &n.referenced,
            format!("expected {expected}, found {found}"),
        );
    }

    /// Checks that `n` is a mapping whose keys are all in `known`, reporting unknown,
    /// duplicate and non-string keys at the key. `None` if `n` is not a mapping.
    pub fn fields<'n>(&mut self, path: &str, n: &'n SNode, known: &[&str]) -> Option<Fields<'n>> {
        let all = self.entries(path, n)?;
        let mut entries = Vec::with_capacity(all.len());
        for e in all {
            if known.contains(&e.key.value.as_str()) {
                entries.push(e);
            } else {
                let suggestion = suggest(&e.key.value, known.iter().copied());
                let mut message = format!("unknown key `{}`", e.key.value);
                // Without a close match, list what is allowed instead.
                if suggestion.is_none() {
                    message.push_str(&format!("; expected one of {}", known.join(", ")));
                }
                self.error_suggest(
                    &join(path, &e.key.value),
                    &e.key.referenced,
                    message,
                    suggestion,
                );
            }
        }
        Some(Fields {
            path: path.to_owned(),
            at: &n.referenced,
            entries,
        })
    }

    /// The entries of a mapping with free-form keys (model names, policy names), first
    /// occurrence of each; duplicate and non-string keys are reported and dropped.
    pub fn entries<'n>(&mut self, path: &str, n: &'n SNode) -> Option<Vec<&'n Entry>> {
        let Node::Map(all) = &n.value else {
            self.mismatch(path, n, "a mapping");
            return None;
        };
        let mut kept: Vec<&Entry> = Vec::with_capacity(all.len());
        for e in all {
            let key_path = join(path, &e.key.value);
            if let Some(kind) = e.key_kind {
                let message = if e.key.value.is_empty() {
                    format!("keys must be strings, found {kind}")
                } else {
                    format!("keys must be strings, found {kind} `{}`", e.key.value)
                };
                self.error(&key_path, &e.key.referenced, message);
            } else if let Some(first) = kept.iter().find(|k| k.key.value == e.key.value) {
                let line = first.key.referenced.line();
                self.error(
                    &key_path,
                    &e.key.referenced,
                    format!(
                        "duplicate key `{}` (first given on line {line})",
                        e.key.value
                    ),
                );
            } else {
                kept.push(e);
            }
        }
        Some(kept)
    }

    /// The value under a required key; a missing key is reported at the parent mapping.
    pub fn required<'n>(&mut self, f: &Fields<'n>, key: &str) -> Option<&'n SNode> {
        let found = f.get(key);
        if found.is_none() {
            self.error(&f.child(key), f.at, format!("missing required key `{key}`"));
        }
        found
    }

    /// A string value.
    pub fn string<'n>(&mut self, path: &str, n: &'n SNode) -> Option<&'n str> {
        match &n.value {
            Node::Str(s) => Some(s),
            _ => {
                self.mismatch(path, n, "a string");
                None
            }
        }
    }

    /// A string value that is not empty or blank.
    pub fn nonempty_string<'n>(&mut self, path: &str, n: &'n SNode) -> Option<&'n str> {
        let s = self.string(path, n)?;
        if s.trim().is_empty() {
            self.error(path, &n.referenced, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// A string or a number, as text (versions: `1`, `"1"`, `1.0.0`).
    pub fn text_or_number(&mut self, path: &str, n: &SNode) -> Option<String> {
        match &n.value {
            Node::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Node::Int(_) | Node::Float(_) => n.value.scalar_text(),
            Node::Str(_) => {
                self.error(path, &n.referenced, "must not be empty");
                None
            }
            _ => {
                self.mismatch(path, n, "a string or a number");
                None
            }
        }
    }

    /// A boolean, or `default` when the key is absent.
    pub fn bool_or(&mut self, path: &str, n: Option<&SNode>, default: bool) -> Option<bool> {
        let Some(n) = n else {
            return Some(default);
        };
        match &n.value {
            Node::Bool(b) => Some(*b),
            // YAML 1.1 spellings are read as strings (see node::parse); say what to write.
            Node::Str(s) if is_yaml11_bool(s) => {
                self.error(
                    path,
                    &n.referenced,
                    format!("expected a boolean, found the string `{s}`; write `true` or `false`"),
                );
                None
            }
            _ => {
                self.mismatch(path, n, "a boolean (true or false)");
                None
            }
        }
    }

    /// An integer of at least `min`, or `default` when the key is absent.
    pub fn int_or(&mut self, path: &str, n: Option<&SNode>, min: u64, default: u64) -> Option<u64> {
        match n {
            Some(n) => self.int(path, n, min),
            None => Some(default),
        }
    }

    /// An integer of at least `min`.
    pub fn int(&mut self, path: &str, n: &SNode, min: u64) -> Option<u64> {
        let Node::Int(i) = n.value else {
            self.mismatch(path, n, "an integer");
            return None;
        };
        if i < i128::from(min) {
            let bound = if min == 1 {
                "must be greater than 0".to_owned()
            } else {
                format!("must be at least {min}")
            };
            self.error(path, &n.referenced, format!("{bound}, found {i}"));
            return None;
        }
        match u64::try_from(i) {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(path, &n.referenced, format!("{i} is too large"));
                None
            }
        }
    }

    /// A number in [0, 1], or `default` when the key is absent.
    pub fn fraction_or(&mut self, path: &str, n: Option<&SNode>, default: f64) -> Option<f64> {
        let Some(n) = n else {
            return Some(default);
        };
        let value = match n.value {
            // Fractions are small, so the i128 → f64 rounding cannot matter here.
            Node::Int(i) => i as f64,
            Node::Float(x) => x,
            _ => {
                self.mismatch(path, n, "a number");
                return None;
            }
        };
        if (0.0..=1.0).contains(&value) {
            Some(value)
        } else {
            let text = n.value.scalar_text().unwrap_or_default();
            self.error(
                path,
                &n.referenced,
                format!("must be between 0 and 1 (0.1 means 10%), found {text}"),
            );
            None
        }
    }

    /// A list.
    pub fn seq<'n>(&mut self, path: &str, n: &'n SNode) -> Option<&'n [SNode]> {
        match &n.value {
            Node::Seq(items) => Some(items),
            _ => {
                self.mismatch(path, n, "a list");
                None
            }
        }
    }
}

fn is_yaml11_bool(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// Path of a child key. Keys that would make the path ambiguous (dots, spaces, ...)
/// are written as `parent["key"]`.
pub(super) fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// Path of a list item.
pub(super) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The candidate closest to `word` when it is close enough to be a likely typo:
/// a case-insensitive match, or a Damerau-Levenshtein distance (transpositions count
/// once) of at most a third of the word's length, at least 1 and at most 3.
pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                textdistance::str::damerau_levenshtein(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}
