//! Rules for the cloud provider kinds' own target keys: `api_version`, `deployments` and
//! `auth` (azure_openai), `region` (bedrock), `project` and `location` (vertex); the
//! checks that an Azure or Gemini `base_url` does not already carry the path kt adds; and
//! the credential warnings of all four cloud kinds.
//!
//! Credentials are only looked up, never printed: a warning names a variable, not its value.

use std::collections::BTreeMap;

use super::targets::warn_ignored;
use super::{Ctx, Fields, join};
use crate::config::ProviderKind;
use crate::config::node::{Node, SNode};

/// The cloud kinds' settings of one target, as they go into [`crate::config::Target`].
/// A key given on a kind it does not apply to is warned about and left out here.
#[derive(Debug, Default)]
pub(super) struct CloudFields {
    pub api_version: Option<String>,
    pub deployments: BTreeMap<String, String>,
    pub bearer_env: Option<String>,
    pub region: Option<String>,
    pub project: Option<String>,
    pub location: Option<String>,
}

/// Checks the cloud keys of the target mapping `f`; `None` after an error. `label` names
/// the target in messages (its id, else its path).
pub(super) fn check(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
    label: &str,
) -> Option<CloudFields> {
    use ProviderKind::{AzureOpenAi, Bedrock, Vertex};
    let api_version = api_version(cx, f, kind);
    let deployments = deployments(cx, f, kind);
    let bearer_env = auth(cx, f, kind, label);
    let region = scalar(cx, f, kind, "region", Bedrock, check_region);
    let project = scalar(cx, f, kind, "project", Vertex, check_project);
    let location = scalar(cx, f, kind, "location", Vertex, check_location);

    match kind {
        Some(Bedrock) if f.get("region").is_none() => cx.error(
            &f.child("region"),
            f.at,
            "bedrock targets need `region` (the AWS region requests are signed for, e.g. us-east-1)",
        ),
        Some(Vertex) => {
            if f.get("project").is_none() {
                cx.error(
                    &f.child("project"),
                    f.at,
                    "vertex targets need `project` (the Google Cloud project id)",
                );
            }
            if f.get("location").is_none() {
                cx.error(
                    &f.child("location"),
                    f.at,
                    "vertex targets need `location` (a Vertex AI region such as us-central1, or global)",
                );
            }
        }
        _ => {}
    }
    // Both credentials at once would leave it unclear which one kt sends.
    if let (Some(AzureOpenAi), Some(at), Some(_)) =
        (kind, f.key_at("auth"), f.get("secret_key_ref"))
    {
        cx.error(
            &f.child("auth"),
            at,
            "`auth.bearer_env` and `secret_key_ref` are both given: choose one (an Entra ID \
             token in auth.bearer_env, or an api-key in secret_key_ref)",
        );
    }
    credentials(cx, f, kind, label);

    let required = |key: &str, wanted: ProviderKind| kind != Some(wanted) || f.get(key).is_some();
    let complete =
        required("region", Bedrock) && required("project", Vertex) && required("location", Vertex);
    let fields = CloudFields {
        api_version: api_version?,
        deployments: deployments?,
        bearer_env: bearer_env?,
        region: region?,
        project: project?,
        location: location?,
    };
    complete.then_some(fields)
}

/// Warns that `key` is ignored unless the target is of kind `wanted`; true when it applies.
/// An unknown kind was already reported, so nothing more is said about it.
fn applies(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
    key: &str,
    wanted: ProviderKind,
) -> bool {
    match kind {
        Some(k) if k == wanted => true,
        Some(k) => {
            let why = match (key, k) {
                ("region", ProviderKind::Vertex) => {
                    "it only applies to bedrock targets; vertex targets take `location`".to_owned()
                }
                ("location", ProviderKind::Bedrock) => {
                    "it only applies to vertex targets; bedrock targets take `region`".to_owned()
                }
                _ => format!("it only applies to {} targets", wanted.as_str()),
            };
            warn_ignored(cx, f, key, &why);
            false
        }
        None => false,
    }
}

/// `api_version` (azure_openai): `v1` or absent selects the v1 API (`None`); anything
/// else is the `api-version` query of deployment-style paths. An odd shape is only a
/// warning, because Azure adds versions faster than kt could list them.
fn api_version(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
) -> Option<Option<String>> {
    let Some(v) = f.get("api_version") else {
        return Some(None);
    };
    let path = f.child("api_version");
    let version = cx.nonempty_string(&path, v)?.trim();
    if !applies(cx, f, kind, "api_version", ProviderKind::AzureOpenAi) {
        return Some(None);
    }
    if version.eq_ignore_ascii_case("v1") {
        return Some(None);
    }
    if !matches!(version, "latest" | "preview") && !is_dated_version(version) {
        cx.warn(
            &path,
            &v.referenced,
            format!(
                "`{version}` does not look like an Azure OpenAI api-version: expected a date such \
                 as `2024-10-21` or `2025-04-01-preview`, or `v1` (the default), `latest` or `preview`"
            ),
        );
    }
    Some(Some(version.to_owned()))
}

/// `YYYY-MM-DD` with a plausible month and day, optionally followed by `-suffix`
/// (`-preview`, `-alpha`).
fn is_dated_version(v: &str) -> bool {
    let (Some(date), Some(rest)) = (v.get(..10), v.get(10..)) else {
        return false;
    };
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize, range: std::ops::RangeInclusive<u32>| {
        s.len() == len
            && s.bytes().all(|b| b.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| range.contains(&n))
    };
    let date_ok = matches!(parts.as_slice(), [y, m, d]
        if number(y, 4, 2000..=2999) && number(m, 2, 1..=12) && number(d, 2, 1..=31));
    let suffix_ok = rest.is_empty()
        || rest.strip_prefix('-').is_some_and(|s| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    date_ok && suffix_ok
}

/// `deployments` (azure_openai): model name → deployment name, both non-empty; an empty
/// mapping is fine (every model is then its own deployment name).
fn deployments(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
) -> Option<BTreeMap<String, String>> {
    let Some(node) = f.get("deployments") else {
        return Some(BTreeMap::new());
    };
    let path = f.child("deployments");
    let entries = cx.entries(&path, node)?;
    let mut map = Some(BTreeMap::new());
    for e in entries {
        let model = e.key.value.as_str();
        let entry_path = join(&path, model);
        let name = match &e.value.value {
            _ if model.trim().is_empty() => {
                cx.error(
                    &entry_path,
                    &e.key.referenced,
                    "model name must not be empty",
                );
                None
            }
            Node::Str(s) if !s.trim().is_empty() => {
                path_segment(cx, &entry_path, &e.value, "deployment name", s)
            }
            // A missing value points at the key: the value's own position is past the colon.
            Node::Null => {
                cx.error(
                    &entry_path,
                    &e.key.referenced,
                    format!("`{model}` maps to nothing; give its deployment name"),
                );
                None
            }
            Node::Str(_) => {
                cx.error(
                    &entry_path,
                    &e.value.referenced,
                    format!("`{model}` maps to an empty deployment name"),
                );
                None
            }
            _ => {
                cx.mismatch(&entry_path, &e.value, "a string (the deployment name)");
                None
            }
        };
        map = map.zip(name).map(|(mut m, name)| {
            m.insert(model.to_owned(), name.to_owned());
            m
        });
    }
    let map = map?;
    Some(
        if applies(cx, f, kind, "deployments", ProviderKind::AzureOpenAi) {
            map
        } else {
            BTreeMap::new()
        },
    )
}

/// A value that becomes one segment of a URL path (a deployment name, a project id):
/// `/`, `?`, `#`, `%` or whitespace would change which URL is called.
fn path_segment<'s>(
    cx: &mut Ctx<'_>,
    path: &str,
    n: &SNode,
    what: &str,
    s: &'s str,
) -> Option<&'s str> {
    if s.chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace())
    {
        cx.error(
            path,
            &n.referenced,
            format!(
                "{what} `{s}` must not contain `/`, `?`, `#`, `%` or spaces: it becomes part of the URL path"
            ),
        );
        return None;
    }
    Some(s)
}

/// `auth: {bearer_env: NAME}` (azure_openai): the variable holding an Entra ID token.
/// Warns when it is unset, like `secret_key_ref`.
fn auth(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
    label: &str,
) -> Option<Option<String>> {
    let Some(node) = f.get("auth") else {
        return Some(None);
    };
    let auth = cx.fields(&f.child("auth"), node, &["bearer_env"])?;
    let env_node = cx.required(&auth, "bearer_env")?;
    let env_path = auth.child("bearer_env");
    let name = cx.nonempty_string(&env_path, env_node)?.trim();
    if !is_env_name(name) {
        cx.error(
            &env_path,
            &env_node.referenced,
            format!(
                "`{name}` is not a valid environment variable name (letters, digits and `_`, not \
                 starting with a digit); give the variable's name, not the token"
            ),
        );
        return None;
    }
    if !applies(cx, f, kind, "auth", ProviderKind::AzureOpenAi) {
        return Some(None);
    }
    if let Some(problem) = unset(cx, name) {
        cx.warn(
            &env_path,
            &env_node.referenced,
            format!(
                "environment variable {name} is {problem}; requests to target {label} will fail until it is set"
            ),
        );
    }
    Some(Some(name.to_owned()))
}

/// `[A-Za-z_][A-Za-z0-9_]*`: what a shell can export.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `"not set"` or `"empty"` when the variable cannot supply a credential.
fn unset(cx: &Ctx<'_>, name: &str) -> Option<&'static str> {
    match cx.env(name) {
        None => Some("not set"),
        Some(v) if v.is_empty() => Some("empty"),
        Some(_) => None,
    }
}

/// One of the string keys `region`, `project`, `location`: non-empty, checked by `shape`
/// when it applies to the target's kind; `Some(None)` when absent or ignored.
fn scalar(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind: Option<ProviderKind>,
    key: &str,
    wanted: ProviderKind,
    shape: fn(&mut Ctx<'_>, &str, &SNode, &str) -> Option<()>,
) -> Option<Option<String>> {
    let Some(v) = f.get(key) else {
        return Some(None);
    };
    let path = f.child(key);
    let value = cx.nonempty_string(&path, v)?.trim();
    // An ignored value is not worth judging: the warning says to remove it.
    if !applies(cx, f, kind, key, wanted) {
        return Some(None);
    }
    shape(cx, &path, v, value)?;
    Some(Some(value.to_owned()))
}

/// `region`: it becomes part of the host name (`bedrock-runtime.REGION.amazonaws.com`),
/// so only letters, digits and `-`; not shaped like `us-east-1` → warning.
fn check_region(cx: &mut Ctx<'_>, path: &str, n: &SNode, region: &str) -> Option<()> {
    host_label(cx, path, n, "region", region)?;
    if !is_aws_region(region) {
        cx.warn(
            path,
            &n.referenced,
            format!(
                "`{region}` does not look like an AWS region such as `us-east-1` or `eu-central-1`"
            ),
        );
    }
    Some(())
}

/// `xx-name[-name]-N` in lowercase: `us-east-1`, `us-gov-west-1`, `ap-southeast-2`.
fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [country, middle @ .., number] => {
            country.len() == 2
                && letters(country)
                && !middle.is_empty()
                && middle.iter().all(letters)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// `project`: one segment of the Vertex AI URL path.
fn check_project(cx: &mut Ctx<'_>, path: &str, n: &SNode, project: &str) -> Option<()> {
    path_segment(cx, path, n, "project", project).map(|_| ())
}

/// `location`: `global` or a region such as `us-central1`; it becomes part of the host
/// name (`LOCATION-aiplatform.googleapis.com`). A zone (`us-central1-a`) gets its region
/// suggested; another odd shape is a warning.
fn check_location(cx: &mut Ctx<'_>, path: &str, n: &SNode, location: &str) -> Option<()> {
    host_label(cx, path, n, "location", location)?;
    if location == "global" || is_gcp_region(location) {
        return Some(());
    }
    let message = match location.rsplit_once('-') {
        Some((region, zone))
            if is_gcp_region(region)
                && zone.len() == 1
                && zone.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            format!("`{location}` is a zone; Vertex AI takes its region, `{region}`")
        }
        _ => format!(
            "`{location}` does not look like a Vertex AI location such as `us-central1`, `europe-west4` or `global`"
        ),
    };
    cx.warn(path, &n.referenced, message);
    Some(())
}

/// `name-nameN` in lowercase: `us-central1`, `europe-west4`, `northamerica-northeast1`.
fn is_gcp_region(s: &str) -> bool {
    let Some((area, rest)) = s.split_once('-') else {
        return false;
    };
    let digits = rest.bytes().rev().take_while(u8::is_ascii_digit).count();
    let name = &rest[..rest.len() - digits];
    !area.is_empty()
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase())
        && digits > 0
}

/// A value that becomes part of a host name: letters, digits and `-` only.
fn host_label(cx: &mut Ctx<'_>, path: &str, n: &SNode, what: &str, s: &str) -> Option<()> {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some(());
    }
    cx.error(
        path,
        &n.referenced,
        format!("{what} `{s}` must contain only letters, digits and `-`: it becomes part of the host name"),
    );
    None
}

/// Warns when an azure_openai `base_url` (already valid and normalised) carries the
/// `/openai/...` or `/deployments/...` path kt appends itself, naming the URL to use.
pub(super) fn check_azure_base_url(cx: &mut Ctx<'_>, f: &Fields<'_>, base_url: &str) {
    let (Some(v), Ok(url)) = (f.get("base_url"), url::Url::parse(base_url)) else {
        return;
    };
    let segments: Vec<&str> = url.path_segments().map_or_else(Vec::new, Iterator::collect);
    let Some(at) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("openai") || s.eq_ignore_ascii_case("deployments"))
    else {
        return;
    };
    let mut fixed = url[..url::Position::BeforePath].to_owned();
    for s in &segments[..at] {
        fixed.push('/');
        fixed.push_str(s);
    }
    let raw = match &v.value {
        Node::Str(s) => s.trim(),
        _ => base_url,
    };
    let message = if segments[at].eq_ignore_ascii_case("openai") {
        format!(
            "`{raw}` already contains the `/openai/...` path, which kt adds itself; set base_url to `{fixed}`"
        )
    } else {
        format!(
            "`{raw}` contains a `/deployments/...` path, which kt adds itself (map models to \
             deployment names under `deployments:`); set base_url to `{fixed}`"
        )
    };
    cx.warn(&f.child("base_url"), &v.referenced, message);
}

/// Warns when a Gemini `base_url` already holds the path kt adds (`/v1beta/models/…`, as
/// Google's REST examples show it), or is Gemini's OpenAI-compatible endpoint
/// (`/v1beta/openai`), which the `openai` kind speaks: either way every call would miss.
pub(super) fn check_gemini_base_url(cx: &mut Ctx<'_>, f: &Fields<'_>, base_url: &str) {
    let (Some(v), Ok(url)) = (f.get("base_url"), url::Url::parse(base_url)) else {
        return;
    };
    let segments: Vec<&str> = url.path_segments().map_or_else(Vec::new, Iterator::collect);
    let Some(at) = segments.iter().position(|s| {
        ["v1beta", "v1alpha", "models", "openai"]
            .iter()
            .any(|p| s.eq_ignore_ascii_case(p))
    }) else {
        return;
    };
    let mut fixed = url[..url::Position::BeforePath].to_owned();
    for s in &segments[..at] {
        fixed.push('/');
        fixed.push_str(s);
    }
    let raw = match &v.value {
        Node::Str(s) => s.trim(),
        _ => base_url,
    };
    let message = if segments[at..]
        .iter()
        .any(|s| s.eq_ignore_ascii_case("openai"))
    {
        format!(
            "`{raw}` is Gemini's OpenAI-compatible endpoint, which `provider: openai` speaks; \
             for `provider: gemini` set base_url to `{fixed}`"
        )
    } else {
        format!(
            "`{raw}` already contains the `/{}/...` path, which kt adds itself \
             (`/v1beta/models/MODEL:generateContent`); set base_url to `{fixed}`",
            segments[at]
        )
    };
    cx.warn(&f.child("base_url"), &v.referenced, message);
}

/// Warns when a cloud target has no way to authenticate. A `secret_key_ref` is checked by
/// the generic rule (its variable must be set); without one, each kind's own source is.
fn credentials(cx: &mut Ctx<'_>, f: &Fields<'_>, kind: Option<ProviderKind>, label: &str) {
    if f.get("secret_key_ref").is_some() {
        return;
    }
    let message = match kind {
        Some(ProviderKind::Bedrock) => {
            let missing: Vec<&str> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
                .into_iter()
                .filter(|name| unset(cx, name).is_some())
                .collect();
            let (names, verb, pronoun) = match missing.as_slice() {
                [] => return,
                [one] => (one.to_string(), "is", "it is"),
                _ => (missing.join(" and "), "are", "they are"),
            };
            format!(
                "no credentials for bedrock target {label}: {names} {verb} not set and there is no \
                 secret_key_ref; requests will fail until {pronoun} set (or secret_key_ref names a \
                 Bedrock API key variable such as AWS_BEARER_TOKEN_BEDROCK)"
            )
        }
        Some(ProviderKind::Vertex) => {
            const VAR: &str = "GOOGLE_APPLICATION_CREDENTIALS";
            let problem = match cx.env(VAR).filter(|v| !v.is_empty()) {
                None => format!("{VAR} is not set"),
                Some(file) if !std::path::Path::new(&file).is_file() => {
                    format!("{VAR} names `{file}`, which is not a file")
                }
                Some(_) => return,
            };
            format!(
                "no credentials for vertex target {label}: {problem} and there is no \
                 secret_key_ref; requests will fail until {VAR} names a service-account JSON file \
                 (or secret_key_ref names a variable holding an access token)"
            )
        }
        Some(ProviderKind::AzureOpenAi) if f.get("auth").is_none() => format!(
            "no credentials for azure_openai target {label}: give secret_key_ref (an api-key) or \
             auth.bearer_env (an Entra ID token); requests will fail without one"
        ),
        Some(ProviderKind::Gemini) => format!(
            "gemini targets need an API key: add secret_key_ref: {{env: GEMINI_API_KEY}}; \
             requests to target {label} will fail without one"
        ),
        _ => return,
    };
    cx.warn(&f.child("secret_key_ref"), f.at, message);
}

#[cfg(test)]
#[path = "cloud_targets_tests.rs"]
mod tests;
