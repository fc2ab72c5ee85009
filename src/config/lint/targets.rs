//! Rules for `providers.targets`: ids, provider kinds, base URLs, API-key variables,
//! timeouts and the simulator's settings. The cloud kinds' own keys (`api_version`,
//! `region`, ...) and credential checks are in `cloud_targets.rs`.

use serde_saphyr::Location;

use super::{Ctx, Fields, cloud_targets, index, suggest};
use crate::config::node::SNode;
use crate::config::{
    ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_VERSION, GEMINI_BASE_URL, OPENAI_BASE_URL, ProviderKind,
    Simulate, Target,
};

const TARGET_KEYS: [&str; 15] = [
    "id",
    "provider",
    "base_url",
    "secret_key_ref",
    "anthropic_version",
    "timeout_ms",
    "connect_timeout_ms",
    "default_max_tokens",
    "simulate",
    "api_version",
    "deployments",
    "auth",
    "region",
    "project",
    "location",
];
const SIMULATE_KEYS: [&str; 4] = ["latency_ms", "jitter_ms", "output_tokens", "fail_rate"];

/// Target ids seen so far with where each was written, for duplicate checks and for
/// `traffic_mirror.primary/shadow` references.
pub(super) struct TargetIds {
    /// `(id, location of the id value)` in file order.
    pub ids: Vec<(String, Location)>,
    /// False when some target's id was missing or invalid: an unknown reference may then
    /// be that target, so reference checks are skipped rather than guessed.
    pub complete: bool,
}

impl TargetIds {
    /// Whether `id` names a target.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.iter().any(|(i, _)| i == id)
    }
}

/// Checks `providers:`; returns the targets (`None` after an error) and the ids seen.
pub(super) fn check_providers(
    cx: &mut Ctx<'_>,
    root: &Fields<'_>,
) -> (Option<Vec<Target>>, TargetIds) {
    let mut ids = TargetIds {
        ids: Vec::new(),
        complete: false,
    };
    let Some(items) = target_items(cx, root) else {
        return (None, ids);
    };
    ids.complete = true;
    let mut targets = Some(Vec::with_capacity(items.len()));
    for (i, item) in items.iter().enumerate() {
        let target = check_target(cx, &index("providers.targets", i), item, &mut ids);
        targets = targets.zip(target).map(|(mut all, t)| {
            all.push(t);
            all
        });
    }
    (targets, ids)
}

/// The items of `providers.targets`, which must exist and be a non-empty list.
fn target_items<'n>(cx: &mut Ctx<'_>, root: &Fields<'n>) -> Option<&'n [SNode]> {
    let providers = cx.required(root, "providers")?;
    let f = cx.fields("providers", providers, &["targets"])?;
    let node = cx.required(&f, "targets")?;
    let items = cx.seq("providers.targets", node)?;
    if items.is_empty() {
        cx.error(
            "providers.targets",
            &node.referenced,
            "must list at least one target",
        );
        return None;
    }
    Some(items)
}

fn check_target(cx: &mut Ctx<'_>, path: &str, n: &SNode, ids: &mut TargetIds) -> Option<Target> {
    let Some(f) = cx.fields(path, n, &TARGET_KEYS) else {
        ids.complete = false;
        return None;
    };
    let id = check_id(cx, &f, ids);
    // Messages name the target by id when it has one.
    let label = id.map_or_else(|| path.to_owned(), str::to_owned);
    let kind = cx
        .required(&f, "provider")
        .and_then(|v| check_kind(cx, &f.child("provider"), v));

    let base_url = match (f.get("base_url"), kind) {
        (Some(_), Some(ProviderKind::Simulated)) => {
            warn_ignored(
                cx,
                &f,
                "base_url",
                "simulated targets make no network calls",
            );
            Some(String::new())
        }
        (Some(v), _) => check_base_url(cx, &f.child("base_url"), v, kind),
        (None, Some(ProviderKind::OpenAi)) => Some(OPENAI_BASE_URL.to_owned()),
        (None, Some(ProviderKind::Anthropic)) => Some(ANTHROPIC_BASE_URL.to_owned()),
        (None, Some(ProviderKind::Simulated)) => Some(String::new()),
        (None, Some(ProviderKind::Gemini)) => Some(GEMINI_BASE_URL.to_owned()),
        // Bedrock's and Vertex's hosts follow from the region / location; an empty base
        // URL means "derive it" (see providers::bedrock and providers::vertex).
        (None, Some(ProviderKind::Bedrock | ProviderKind::Vertex)) => Some(String::new()),
        (None, Some(ProviderKind::AzureOpenAi)) => {
            cx.error(
                &f.child("base_url"),
                &n.referenced,
                "azure_openai targets need `base_url` (https://RESOURCE.openai.azure.com)",
            );
            None
        }
        (None, None) => None,
    };

    match (kind, &base_url) {
        (Some(ProviderKind::AzureOpenAi), Some(url)) => {
            cloud_targets::check_azure_base_url(cx, &f, url);
        }
        (Some(ProviderKind::Gemini), Some(url)) => {
            cloud_targets::check_gemini_base_url(cx, &f, url);
        }
        _ => {}
    }
    let cloud = cloud_targets::check(cx, &f, kind, &label);

    let key_env = f
        .get("secret_key_ref")
        .map(|v| check_secret(cx, &f, v, kind, &label));
    let anthropic_version = match f.get("anthropic_version") {
        Some(v) => {
            let version = cx.nonempty_string(&f.child("anthropic_version"), v);
            if kind.is_some_and(|k| k != ProviderKind::Anthropic) {
                warn_ignored(
                    cx,
                    &f,
                    "anthropic_version",
                    "it only applies to anthropic targets",
                );
            }
            version.map(str::to_owned)
        }
        None => Some(DEFAULT_ANTHROPIC_VERSION.to_owned()),
    };
    let timeout_ms = cx.int_or(&f.child("timeout_ms"), f.get("timeout_ms"), 1, 600_000);
    let connect_timeout_ms = cx.int_or(
        &f.child("connect_timeout_ms"),
        f.get("connect_timeout_ms"),
        1,
        5_000,
    );
    let default_max_tokens = cx.int_or(
        &f.child("default_max_tokens"),
        f.get("default_max_tokens"),
        1,
        4_096,
    );
    let simulate = match f.get("simulate") {
        Some(v) => {
            if kind.is_some_and(|k| k != ProviderKind::Simulated) {
                warn_ignored(cx, &f, "simulate", "it only applies to simulated targets");
            }
            check_simulate(cx, &f.child("simulate"), v)
        }
        None => Some(Simulate::default()),
    };

    let cloud = cloud?;
    Some(Target {
        id: id?.to_owned(),
        kind: kind?,
        base_url: base_url?,
        // An invalid secret_key_ref was reported; the config is discarded anyway.
        key_env: key_env.flatten(),
        anthropic_version: anthropic_version?,
        timeout_ms: timeout_ms?,
        connect_timeout_ms: connect_timeout_ms?,
        default_max_tokens: default_max_tokens?,
        simulate: simulate?,
        api_version: cloud.api_version,
        deployments: cloud.deployments,
        bearer_env: cloud.bearer_env,
        region: cloud.region,
        project: cloud.project,
        location: cloud.location,
    })
}

/// `id`: required, non-empty, unique across targets.
fn check_id<'n>(cx: &mut Ctx<'_>, f: &Fields<'n>, ids: &mut TargetIds) -> Option<&'n str> {
    let path = f.child("id");
    let checked = cx
        .required(f, "id")
        .and_then(|v| cx.nonempty_string(&path, v).map(|s| (s, v)));
    let Some((id, v)) = checked else {
        ids.complete = false;
        return None;
    };
    if let Some((_, first)) = ids.ids.iter().find(|(i, _)| i == id) {
        let line = first.line();
        cx.error(
            &path,
            &v.referenced,
            format!("duplicate target id `{id}` (first defined on line {line})"),
        );
        return None;
    }
    ids.ids.push((id.to_owned(), v.referenced));
    Some(id)
}

fn check_kind(cx: &mut Ctx<'_>, path: &str, v: &SNode) -> Option<ProviderKind> {
    let name = cx.string(path, v)?;
    let kind = ProviderKind::parse(name);
    if kind.is_none() {
        cx.error_suggest(
            path,
            &v.referenced,
            format!(
                "unknown provider `{name}`; expected one of {}",
                ProviderKind::NAMES.join(", ")
            ),
            suggest(name, ProviderKind::NAMES),
        );
    }
    kind
}

/// Warns that a key has no effect on this target, pointing at the key.
pub(super) fn warn_ignored(cx: &mut Ctx<'_>, f: &Fields<'_>, key: &str, why: &str) {
    if let Some(at) = f.key_at(key) {
        cx.warn(&f.child(key), at, format!("`{key}` is ignored: {why}"));
    }
}

fn check_base_url(
    cx: &mut Ctx<'_>,
    path: &str,
    v: &SNode,
    kind: Option<ProviderKind>,
) -> Option<String> {
    let raw = cx.string(path, v)?;
    match normalise_base_url(raw) {
        Ok(url) => Some(url),
        Err(mut why) => {
            // The Azure portal shows endpoints with `?api-version=...`; say where it goes.
            if kind == Some(ProviderKind::AzureOpenAi) && raw.contains("api-version=") {
                why.push_str("; put the version in `api_version`");
            }
            cx.error(path, &v.referenced, why);
            None
        }
    }
}

/// Validates a `base_url` and normalises it to `scheme://host[:port][/prefix]` with no
/// trailing `/` or `/v1`, because provider clients append `/v1/...` themselves.
pub(super) fn normalise_base_url(raw: &str) -> Result<String, String> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{raw}` must use http or https, not `{}`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{raw}` must not have a query (`?...`) or fragment (`#...`)"
        ));
    }
    // Credentials in a URL end up in logs and error messages; keys belong in
    // `secret_key_ref`. The message does not repeat the URL, so it cannot echo them.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain a user name or password (`user:pass@host`): put the key in secret_key_ref".into(),
        );
    }
    // Link-local addresses are where cloud metadata services live (169.254.169.254):
    // never an LLM provider, and the classic target of request forgery.
    let link_local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
        _ => false,
    };
    if link_local {
        return Err(format!(
            "`{raw}` is a link-local address (cloud metadata services live there), not an LLM provider"
        ));
    }
    let path = url.path().trim_end_matches('/');
    let path = path
        .strip_suffix("/v1")
        .unwrap_or(path)
        .trim_end_matches('/');
    Ok(format!("{}{path}", &url[..url::Position::BeforePath]))
}

/// `secret_key_ref: {env: NAME}`; warns when the variable is unset, since the gateway can
/// still start and serve the other targets.
fn check_secret(
    cx: &mut Ctx<'_>,
    target: &Fields<'_>,
    v: &SNode,
    kind: Option<ProviderKind>,
    label: &str,
) -> Option<String> {
    let path = target.child("secret_key_ref");
    let f = cx.fields(&path, v, &["env"])?;
    let env_node = cx.required(&f, "env")?;
    let name = cx.nonempty_string(&f.child("env"), env_node)?;
    if kind == Some(ProviderKind::Simulated) {
        warn_ignored(
            cx,
            target,
            "secret_key_ref",
            "simulated targets need no API key",
        );
        return Some(name.to_owned());
    }
    let problem = match cx.env(name) {
        None => Some(format!(
            "environment variable {name} is not set; requests to target {label} will fail until it is"
        )),
        Some(value) if value.is_empty() => Some(format!(
            "environment variable {name} is empty; requests to target {label} will fail until it is set"
        )),
        Some(_) => None,
    };
    if let Some(message) = problem {
        cx.warn(&f.child("env"), &env_node.referenced, message);
    }
    Some(name.to_owned())
}

fn check_simulate(cx: &mut Ctx<'_>, path: &str, v: &SNode) -> Option<Simulate> {
    let f = cx.fields(path, v, &SIMULATE_KEYS)?;
    let d = Simulate::default();
    let latency_ms = cx.int_or(&f.child("latency_ms"), f.get("latency_ms"), 0, d.latency_ms);
    let jitter_ms = cx.int_or(&f.child("jitter_ms"), f.get("jitter_ms"), 0, d.jitter_ms);
    let output_tokens = cx.int_or(
        &f.child("output_tokens"),
        f.get("output_tokens"),
        1,
        d.output_tokens,
    );
    let fail_rate = cx.fraction_or(&f.child("fail_rate"), f.get("fail_rate"), d.fail_rate);
    Some(Simulate {
        latency_ms: latency_ms?,
        jitter_ms: jitter_ms?,
        output_tokens: output_tokens?,
        fail_rate: fail_rate?,
    })
}
