//! Rules for `policies:`, in either tutorial shape: a list of `{name, type, ...}`
//! (Step 1) or a `chain:` of names with a `policy:` body for each (Step 8), the bodies
//! under `policies:` or at the top level.

use serde_saphyr::Location;

use super::{Ctx, Fields, index, join, suggest};
use crate::config::node::{self, Entry, Node, SNode};
use crate::config::{FilterAction, Pattern, Policy, PolicyKind};

/// Keys only a content filter accepts.
const FILTER_KEYS: [&str; 2] = ["action", "patterns"];
/// Keys only an audit logger accepts.
const AUDIT_KEYS: [&str; 3] = ["immutable", "retention_days", "log_all_access"];
/// Every key of a list item; type-specific ones are then checked against the type.
const LIST_KEYS: [&str; 7] = [
    "name",
    "type",
    "action",
    "patterns",
    "immutable",
    "retention_days",
    "log_all_access",
];
/// Every key of a `policies.policy.<name>` body (the name is the key, not a field).
const BODY_KEYS: [&str; 6] = [
    "type",
    "action",
    "patterns",
    "immutable",
    "retention_days",
    "log_all_access",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    ContentFilter,
    AuditLogger,
}

impl Type {
    const NAMES: [&'static str; 2] = ["content_filter", "audit_logger"];

    fn parse(s: &str) -> Option<Self> {
        match s {
            "content_filter" => Some(Self::ContentFilter),
            "audit_logger" => Some(Self::AuditLogger),
            _ => None,
        }
    }

    /// The Step 8 form may leave `type` out when the policy's name says it.
    fn infer(name: &str) -> Option<Self> {
        match name {
            "content-filter" | "content_filter" => Some(Self::ContentFilter),
            "audit-logger" | "audit_logger" => Some(Self::AuditLogger),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::ContentFilter => "content_filter",
            Self::AuditLogger => "audit_logger",
        }
    }

    /// Keys that belong to the other type and so are wrong on this one.
    fn foreign_keys(self) -> &'static [&'static str] {
        match self {
            Self::ContentFilter => &AUDIT_KEYS,
            Self::AuditLogger => &FILTER_KEYS,
        }
    }
}

/// Checks `policies:` and a top-level `policy:`; `None` after an error. Policies come
/// back in evaluation order.
///
/// The tutorial's Step 8 lost its indentation in publication, so `policy:` reads both as
/// a key of `policies:` and as a sibling of it at the top level; both are accepted.
pub(super) fn check(cx: &mut Ctx<'_>, root: &Fields<'_>) -> Option<Vec<Policy>> {
    let top = root.get("policy").zip(root.key_at("policy"));
    let Some(n) = root.get("policies") else {
        if let Some((_, at)) = top {
            cx.error(
                "policy",
                at,
                "`policy:` gives policy bodies but nothing says which run; list them under \
                 `policies: {chain: [...]}`",
            );
            return None;
        }
        return Some(Vec::new());
    };
    match &n.value {
        Node::Seq(items) => {
            if let Some((_, at)) = top {
                // The list form carries each policy's settings in its item, so a body
                // here would silently never apply.
                cx.error(
                    "policy",
                    at,
                    "a top-level `policy:` goes with `policies.chain`; with `policies:` as a \
                     list, give each policy's settings in its list item",
                );
            }
            let policies = check_list(cx, items);
            if top.is_some() { None } else { policies }
        }
        Node::Map(_) => check_chain(cx, n, top),
        _ => {
            cx.mismatch(
                "policies",
                n,
                "a list of policies, or a mapping with `chain:` and `policy:`",
            );
            None
        }
    }
}

/// Step 1 form: `- {name, type, ...}`; names are unique and `type` is required.
fn check_list(cx: &mut Ctx<'_>, items: &[SNode]) -> Option<Vec<Policy>> {
    let mut names: Vec<(&str, &Location)> = Vec::new();
    let mut policies = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let path = index("policies", i);
        let Some(f) = cx.fields(&path, item, &LIST_KEYS) else {
            policies = None;
            continue;
        };
        let mut name = cx
            .required(&f, "name")
            .and_then(|v| cx.nonempty_string(&f.child("name"), v).map(|s| (s, v)));
        if let Some((n, v)) = name {
            if let Some((_, first)) = names.iter().find(|(seen, _)| *seen == n) {
                let line = first.line();
                cx.error(
                    &f.child("name"),
                    &v.referenced,
                    format!("duplicate policy name `{n}` (first defined on line {line})"),
                );
                name = None;
            } else {
                names.push((n, &v.referenced));
            }
        }
        let ty = cx
            .required(&f, "type")
            .and_then(|v| parse_type(cx, &f.child("type"), v));
        let kind = ty.and_then(|t| check_body(cx, &f, t));
        policies = match (policies, name, kind) {
            (Some(mut all), Some((n, _)), Some(kind)) => {
                all.push(Policy {
                    name: n.to_owned(),
                    kind,
                });
                Some(all)
            }
            _ => None,
        };
    }
    policies
}

/// Step 8 form: `chain: [names]` in evaluation order, `policy: {name: body}` under
/// `policies:` or (`top`) at the top level.
fn check_chain(
    cx: &mut Ctx<'_>,
    n: &SNode,
    top: Option<(&SNode, &Location)>,
) -> Option<Vec<Policy>> {
    let f = cx.fields("policies", n, &["chain", "policy"])?;
    let chain = cx.required(&f, "chain").and_then(|v| chain_names(cx, v));
    let nested = f.get("policy").zip(f.key_at("policy"));
    let (block, base) = match (nested, top) {
        (Some((nested, nested_at)), Some((top, top_at))) => {
            // Identical copies are one setting given twice; only a conflict needs saying
            // which one is in force.
            if !node::same(nested, top) {
                let (line, column) = node::pos(nested_at);
                cx.warn(
                    "policy",
                    top_at,
                    format!(
                        "`policy:` is given both here and under `policies:` ({line}:{column}), \
                         and they differ; kt reads `policies.policy` and ignores this one"
                    ),
                );
            }
            (Some(nested), "policies.policy")
        }
        (Some((nested, _)), None) => (Some(nested), "policies.policy"),
        (None, Some((top, _))) => (Some(top), "policy"),
        (None, None) => (None, "policies.policy"),
    };

    // Bodies are checked whether or not the chain uses them.
    let mut bodies: Vec<(&str, &Location, Option<PolicyKind>)> = Vec::new();
    let mut bodies_readable = true;
    if let Some(block) = block {
        match cx.entries(base, block) {
            Some(entries) => {
                for e in entries {
                    let kind = check_named_body(cx, base, e);
                    bodies.push((&e.key.value, &e.key.referenced, kind));
                }
            }
            None => bodies_readable = false,
        }
    }

    let chain = chain?;
    let mut policies = Some(Vec::with_capacity(chain.len()));
    for (i, (name, node)) in chain.iter().enumerate() {
        match bodies.iter().find(|(b, _, _)| b == name) {
            Some((_, _, kind)) => {
                policies = policies.zip(kind.clone()).map(|(mut all, kind)| {
                    all.push(Policy {
                        name: (*name).to_owned(),
                        kind,
                    });
                    all
                });
            }
            None => {
                // When `policy:` itself is broken, that error already covers this.
                if bodies_readable {
                    cx.error_suggest(
                        &index("policies.chain", i),
                        &node.referenced,
                        format!("`{name}` has no `policy:` body; add one under `{base}`"),
                        suggest(name, bodies.iter().map(|(b, _, _)| *b)),
                    );
                }
                policies = None;
            }
        }
    }
    for (name, at, _) in &bodies {
        if !chain.iter().any(|(c, _)| c == name) {
            cx.warn(
                &join(base, name),
                at,
                format!("policy `{name}` is not listed in `policies.chain`, so it never runs"),
            );
        }
    }
    policies
}

/// The names in `chain`, first occurrence of each (a repeat is only a warning: the
/// policy still runs once).
fn chain_names<'n>(cx: &mut Ctx<'_>, n: &'n SNode) -> Option<Vec<(&'n str, &'n SNode)>> {
    let items = cx.seq("policies.chain", n)?;
    if items.is_empty() {
        cx.warn(
            "policies.chain",
            &n.referenced,
            "chain is empty: no policy runs",
        );
    }
    let mut names: Vec<(&str, &SNode)> = Vec::with_capacity(items.len());
    let mut all_ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = index("policies.chain", i);
        let Some(name) = cx.nonempty_string(&path, item) else {
            all_ok = false;
            continue;
        };
        if names.iter().any(|(seen, _)| *seen == name) {
            cx.warn(
                &path,
                &item.referenced,
                format!("`{name}` is listed twice; it runs once"),
            );
        } else {
            names.push((name, item));
        }
    }
    all_ok.then_some(names)
}

/// One `<base>.<name>` body (`base` is `policies.policy` or a top-level `policy`); a
/// null body means "all defaults".
fn check_named_body(cx: &mut Ctx<'_>, base: &str, e: &Entry) -> Option<PolicyKind> {
    let name = e.key.value.as_str();
    let path = join(base, name);
    let inferred = Type::infer(name);
    if matches!(e.value.value, Node::Null) {
        let Some(ty) = inferred else {
            cx.error(
                &join(&path, "type"),
                &e.key.referenced,
                format!("`{name}` has no settings, so its `type` is required"),
            );
            return None;
        };
        let empty = Fields {
            path,
            at: &e.key.referenced,
            entries: Vec::new(),
        };
        return check_body(cx, &empty, ty);
    }
    let f = cx.fields(&path, &e.value, &BODY_KEYS)?;
    let ty = match f.get("type") {
        Some(v) => parse_type(cx, &f.child("type"), v),
        None if inferred.is_some() => inferred,
        None => {
            cx.error(
                &f.child("type"),
                f.at,
                "missing required key `type` (it may only be left out for policies named \
                 `content-filter` or `audit-logger`)",
            );
            None
        }
    };
    check_body(cx, &f, ty?)
}

fn parse_type(cx: &mut Ctx<'_>, path: &str, v: &SNode) -> Option<Type> {
    let s = cx.string(path, v)?;
    let ty = Type::parse(s);
    if ty.is_none() {
        cx.error_suggest(
            path,
            &v.referenced,
            format!(
                "unknown policy type `{s}`; expected one of {}",
                Type::NAMES.join(", ")
            ),
            suggest(s, Type::NAMES),
        );
    }
    ty
}

/// The type-specific settings of one policy.
fn check_body(cx: &mut Ctx<'_>, f: &Fields<'_>, ty: Type) -> Option<PolicyKind> {
    let mut foreign = false;
    for key in ty.foreign_keys() {
        if let Some(at) = f.key_at(key) {
            foreign = true;
            cx.error(
                &f.child(key),
                at,
                format!("`{key}` does not apply to {} policies", ty.as_str()),
            );
        }
    }
    let kind = match ty {
        Type::ContentFilter => check_filter(cx, f),
        Type::AuditLogger => check_audit(cx, f),
    };
    if foreign { None } else { kind }
}

fn check_filter(cx: &mut Ctx<'_>, f: &Fields<'_>) -> Option<PolicyKind> {
    let action = match f.get("action") {
        Some(v) => check_action(cx, &f.child("action"), v),
        None => Some(FilterAction::Flag),
    };
    let patterns = match f.get("patterns") {
        Some(v) => check_patterns(cx, &f.child("patterns"), v),
        None => Some(Vec::new()),
    };
    Some(PolicyKind::ContentFilter {
        action: action?,
        patterns: patterns?,
    })
}

fn check_action(cx: &mut Ctx<'_>, path: &str, v: &SNode) -> Option<FilterAction> {
    let s = cx.string(path, v)?;
    let action = match s {
        "flag" => Some(FilterAction::Flag),
        "block" => Some(FilterAction::Block),
        "redact" => Some(FilterAction::Redact),
        _ => None,
    };
    if action.is_none() {
        cx.error_suggest(
            path,
            &v.referenced,
            format!(
                "unknown action `{s}`; expected one of {}",
                FilterAction::NAMES.join(", ")
            ),
            suggest(s, FilterAction::NAMES),
        );
    }
    action
}

/// `patterns: [{name, regex}]`; every regex must compile.
fn check_patterns(cx: &mut Ctx<'_>, path: &str, v: &SNode) -> Option<Vec<Pattern>> {
    let items = cx.seq(path, v)?;
    let mut patterns = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let Some(f) = cx.fields(&item_path, item, &["name", "regex"]) else {
            patterns = None;
            continue;
        };
        let name = cx
            .required(&f, "name")
            .and_then(|n| cx.nonempty_string(&f.child("name"), n));
        let regex = cx.required(&f, "regex").and_then(|n| {
            let source = cx.nonempty_string(&f.child("regex"), n)?;
            match regex::Regex::new(source) {
                Ok(r) => Some(r),
                Err(e) => {
                    cx.error(
                        &f.child("regex"),
                        &n.referenced,
                        format!("invalid regex: {}", regex_reason(&e)),
                    );
                    None
                }
            }
        });
        patterns = match (patterns, name, regex) {
            (Some(mut all), Some(name), Some(regex)) => {
                all.push(Pattern {
                    name: name.to_owned(),
                    regex,
                });
                Some(all)
            }
            _ => None,
        };
    }
    patterns
}

/// The last line of a regex error: the multi-line form draws a caret under the pattern,
/// which does not fit a one-line finding.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

fn check_audit(cx: &mut Ctx<'_>, f: &Fields<'_>) -> Option<PolicyKind> {
    let immutable = cx.bool_or(&f.child("immutable"), f.get("immutable"), true);
    let retention_days = f
        .get("retention_days")
        .map(|v| cx.int(&f.child("retention_days"), v, 1));
    let log_all_access = cx.bool_or(&f.child("log_all_access"), f.get("log_all_access"), true);
    if let (Some(false), Some(v)) = (log_all_access, f.get("log_all_access")) {
        cx.warn(
            &f.child("log_all_access"),
            &v.referenced,
            "kt logs every request regardless; `log_all_access: false` has no effect",
        );
    }
    let retention_days = match retention_days {
        Some(days) => Some(days?),
        None => None,
    };
    Some(PolicyKind::AuditLogger {
        immutable: immutable?,
        retention_days,
        log_all_access: log_all_access?,
    })
}
