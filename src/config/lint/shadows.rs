//! Rules for `traffic_mirror.shadows` (several shadow targets, each with its own model
//! mapping and sample rate) and `traffic_mirror.sample_by` (the key of sticky sampling).

use serde_saphyr::Location;

use super::mirror::{check_mapping, target_ref};
use super::targets::TargetIds;
use super::{Ctx, index, suggest};
use crate::config::node::SNode;
use crate::config::{SampleBy, ShadowSpec};

const SHADOW_KEYS: [&str; 3] = ["target", "model_mapping", "sample_rate"];

/// The `sample_by` sources, for messages and suggestions.
const SAMPLE_BY_KINDS: [&str; 2] = ["header", "field"];

/// A shadow target named so far and where, for the listed-twice check.
pub(super) struct Shadow<'n> {
    pub id: &'n str,
    pub at: &'n Location,
}

/// What `shadows:` entries take from the rest of the block.
pub(super) struct Inherited<'a, 'n> {
    /// The block is enabled (missing mappings are then worth a warning).
    pub on: bool,
    pub ids: &'a TargetIds,
    /// `primary`, when valid.
    pub primary: Option<&'n str>,
    /// `shadow`, when given and valid: the first shadow.
    pub first: Option<&'a Shadow<'n>>,
    /// The top-level `model_mapping`, when given and valid.
    pub mapping: Option<Vec<(String, String)>>,
    /// The top-level `sample_rate` (default 1.0); `None` when it was invalid.
    pub sample_rate: Option<f64>,
}

/// Checks `shadows:`; `None` after an error. Each entry's missing `model_mapping` or
/// `sample_rate` is the top-level one.
pub(super) fn check_list(
    cx: &mut Ctx<'_>,
    path: &str,
    n: &SNode,
    up: &Inherited<'_, '_>,
) -> Option<Vec<ShadowSpec>> {
    let items = cx.seq(path, n)?;
    let mut seen: Vec<Shadow<'_>> = Vec::new();
    if let Some(first) = up.first {
        seen.push(Shadow {
            id: first.id,
            at: first.at,
        });
    }
    let mut specs = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let spec = check_entry(cx, &index(path, i), item, up, &mut seen);
        specs = specs.zip(spec).map(|(mut all, s)| {
            all.push(s);
            all
        });
    }
    specs
}

/// One `shadows:` entry: `{target, model_mapping?, sample_rate?}`.
fn check_entry<'n>(
    cx: &mut Ctx<'_>,
    path: &str,
    n: &'n SNode,
    up: &Inherited<'_, '_>,
    seen: &mut Vec<Shadow<'n>>,
) -> Option<ShadowSpec> {
    let f = cx.fields(path, n, &SHADOW_KEYS)?;
    // An entry without a target is never meaningful, enabled or not.
    let target = target_ref(cx, &f, "target", true, up.ids);
    let mut target_ok = target.is_some();
    if let (Some(id), Some(node)) = (target, f.get("target")) {
        if up.primary == Some(id) {
            cx.error(
                &f.child("target"),
                &node.referenced,
                format!("a shadow must be a different target than primary (both are `{id}`)"),
            );
            target_ok = false;
        } else if let Some(before) = seen.iter().find(|s| s.id == id) {
            cx.error(
                &f.child("target"),
                &node.referenced,
                format!(
                    "`{id}` is already a shadow (line {}); list each shadow target once",
                    before.at.line()
                ),
            );
            target_ok = false;
        } else {
            seen.push(Shadow {
                id,
                at: &node.referenced,
            });
        }
    }

    let own = check_mapping(cx, &f, up.on);
    let mapping = match own {
        Some(Some(m)) => Some(m),
        Some(None) => {
            let inherited = up.mapping.clone().unwrap_or_default();
            if up.on && inherited.is_empty() {
                cx.warn(
                    &f.child("model_mapping"),
                    f.at,
                    "no `model_mapping` here or at traffic_mirror.model_mapping: nothing will be \
                     mirrored to this shadow; map each primary model to its model",
                );
            }
            Some(inherited)
        }
        None => None,
    };
    let rate_node = f.get("sample_rate");
    let sample_rate = match rate_node {
        Some(_) => cx.fraction_or(&f.child("sample_rate"), rate_node, 1.0),
        // An invalid top-level rate was reported there.
        None => up.sample_rate,
    };
    if let (true, Some(0.0), Some(node)) = (up.on, sample_rate, rate_node) {
        cx.warn(
            &f.child("sample_rate"),
            &node.referenced,
            "sample_rate is 0: nothing will be mirrored to this shadow",
        );
    }
    if !target_ok {
        return None;
    }
    Some(ShadowSpec {
        target: target?.to_owned(),
        model_mapping: mapping?,
        sample_rate: sample_rate?,
    })
}

/// `sample_by`: `header:NAME` or `field:NAME` (a dotted path reaches into objects).
pub(super) fn check_sample_by(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<SampleBy> {
    let text = cx.nonempty_string(path, n)?.trim();
    let expected = "expected `header:NAME` (a request header) or `field:NAME` (a field of the \
                    JSON body, e.g. `field:user` or `field:metadata.user_id`)";
    let Some((kind, name)) = text.split_once(':') else {
        // Guess which was meant: header names usually have a dash, body fields do not.
        let guess = if text.contains('-') {
            "header"
        } else {
            "field"
        };
        cx.error_suggest(
            path,
            &n.referenced,
            format!("`{text}` names no source; {expected}"),
            Some(format!("{guess}:{text}")),
        );
        return None;
    };
    let name = name.trim();
    match kind.trim() {
        "header" if is_header_name(name) => Some(SampleBy::Header(name.to_ascii_lowercase())),
        "header" => {
            cx.error(
                path,
                &n.referenced,
                format!("`{name}` is not a valid HTTP header name"),
            );
            None
        }
        "field" => {
            let segments: Vec<String> = name.split('.').map(|s| s.trim().to_owned()).collect();
            if segments.iter().any(String::is_empty) {
                cx.error(
                    path,
                    &n.referenced,
                    format!(
                        "`{name}` is not a field path; write a field name, or names joined by `.`"
                    ),
                );
                return None;
            }
            Some(SampleBy::Field(segments))
        }
        other => {
            let suggestion = suggest(other, SAMPLE_BY_KINDS).map(|k| format!("{k}:{name}"));
            cx.error_suggest(
                path,
                &n.referenced,
                format!("unknown source `{other}`; {expected}"),
                suggestion,
            );
            None
        }
    }
}

/// An RFC 9110 field name: one or more token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::is_header_name;

    // Proves header names are RFC 9110 tokens: no spaces, colons or empty names.
    #[test]
    fn header_names_are_tokens() {
        assert!(is_header_name("x-user-id"));
        assert!(is_header_name("X_Session.Id"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("x user"));
        assert!(!is_header_name("x:user"));
    }
}
