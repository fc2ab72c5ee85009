//! The validated configuration: the only config type the rest of kt sees.
//!
//! Loading happens in two stages (see `lint.rs`): the YAML is parsed into a spanned
//! tree (`node.rs`), then every rule is checked and all findings are collected with
//! their key path and line:column. `kt policy lint` and `kt gateway run` call the same
//! [`load`] so they can never disagree about what is valid.

mod diagnostics;
mod lint;
mod node;

use std::collections::BTreeMap;
use std::path::Path;

pub use diagnostics::{Finding, LintReport, Severity, percent};
pub use lint::{ReportSettings, lint_report_str, lint_str};

/// Reading or parsing failed before any rule could be checked (`kt policy lint` exits 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // The OS error is part of this message and deliberately not a `source`: callers print
    // the whole chain (`{:#}`), which would repeat it.
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}:{line}:{column}: not valid YAML: {message}")]
    Syntax {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
}

/// Reads and lints a config file. `Ok` carries the report; its `config` is `Some` only
/// when there are no errors (warnings allowed).
pub fn load(path: &Path) -> Result<LintReport, LoadError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
        path: display.clone(),
        error,
    })?;
    lint_str(&text, &display, &|name| std::env::var(name).ok())
}

/// Reads and lints a file for `kt mirror report --policy-config`, which needs only its
/// `pricing:` and `gates:` (see [`lint_report_str`]).
pub fn load_report(path: &Path) -> Result<(LintReport, Option<ReportSettings>), LoadError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
        path: display.clone(),
        error,
    })?;
    lint_report_str(&text, &display, &|name| std::env::var(name).ok())
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `version:` of the Step 1 shape, if given.
    pub version: Option<String>,
    /// `pack:` metadata of the Step 8 shape, if given.
    pub pack: Option<Pack>,
    /// Upstream targets in file order. Never empty.
    pub targets: Vec<Target>,
    /// The mirror; `None` when the block is absent or `enabled: false`.
    pub mirror: Option<Mirror>,
    /// Policies in evaluation order (Step 1 list order, or Step 8 `chain` order).
    pub policies: Vec<Policy>,
    /// Target that answers callers: the mirror's primary, else the first target.
    pub primary: String,
    /// `pricing:` per-model prices for `kt mirror report`, in file order. Each entry
    /// replaces the report's built-in price for exactly that model name.
    pub pricing: Vec<(String, ModelPrice)>,
    /// `gates:` default thresholds of `kt mirror report`'s verdict; its flags override them.
    pub gates: Gates,
    /// `gateway:` settings of the gateway itself.
    pub gateway: GatewaySettings,
    /// `traffic_mirror.log_requests`: store each answered request's body (after any
    /// `action: redact` policy) and the primary's answer text, for `kt mirror replay`.
    /// Holds even with `enabled: false`: a team may log now and replay later without
    /// mirroring live traffic. Default false.
    pub log_requests: bool,
    /// `traffic_mirror.model_mapping` as configured, also when the mirror is
    /// `enabled: false` (`mirror` is then `None`); `kt mirror replay` maps models with it.
    pub model_mapping: Vec<(String, String)>,
}

/// `gateway:` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewaySettings {
    /// `api_keys: [{env: NAME}]`: environment variables holding the keys callers must send
    /// (`Authorization: Bearer KEY`). Empty: no caller authentication (loopback only, unless
    /// `--allow-unauthenticated`).
    pub api_key_envs: Vec<String>,
}

impl Config {
    /// The target with this id.
    pub fn target(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.id == id)
    }
}

/// `pack:` block (Step 8): descriptive metadata for a policy pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub version: Option<String>,
    pub enabled: bool,
}

/// Which wire format a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI Chat Completions (also any OpenAI-compatible server).
    OpenAi,
    /// Anthropic Messages API, translated to and from Chat Completions.
    Anthropic,
    /// Azure OpenAI: Chat Completions on deployment-style or v1 paths, `api-key` or Entra ID.
    AzureOpenAi,
    /// AWS Bedrock Runtime's Converse API, SigV4-signed (or a Bedrock API key).
    Bedrock,
    /// Google's Gemini API (AI Studio): `generateContent`, `x-goog-api-key`.
    Gemini,
    /// Google Vertex AI: Gemini models and Anthropic's Claude models, OAuth2 access tokens.
    Vertex,
    /// kt's built-in simulator: deterministic answers, no network, no key.
    Simulated,
}

impl ProviderKind {
    /// Every accepted spelling, for lint suggestions.
    pub const NAMES: [&'static str; 7] = [
        "openai",
        "anthropic",
        "azure_openai",
        "bedrock",
        "gemini",
        "vertex",
        "simulated",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            "azure_openai" => Some(Self::AzureOpenAi),
            "bedrock" => Some(Self::Bedrock),
            "gemini" => Some(Self::Gemini),
            "vertex" => Some(Self::Vertex),
            "simulated" => Some(Self::Simulated),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::AzureOpenAi => "azure_openai",
            Self::Bedrock => "bedrock",
            Self::Gemini => "gemini",
            Self::Vertex => "vertex",
            Self::Simulated => "simulated",
        }
    }
}

/// One entry of `providers.targets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `id`: unique name used by `traffic_mirror.primary/shadow` and in events.
    pub id: String,
    /// `provider`: openai | anthropic | azure_openai | bedrock | gemini | vertex | simulated.
    pub kind: ProviderKind,
    /// `base_url`: scheme://host[:port][/v1]; normalised to have no trailing `/v1` or `/`.
    /// Defaults to the provider's public API.
    pub base_url: String,
    /// `secret_key_ref.env`: environment variable holding the API key.
    pub key_env: Option<String>,
    /// `anthropic_version`: `anthropic-version` header (anthropic only). Default `2023-06-01`.
    pub anthropic_version: String,
    /// `timeout_ms`: whole-request timeout for calls to this target. Default 600000 (10 min).
    pub timeout_ms: u64,
    /// `connect_timeout_ms`: TCP+TLS connect timeout. Default 5000.
    pub connect_timeout_ms: u64,
    /// `default_max_tokens`: `max_tokens` sent to Anthropic when the caller gave none. Default 4096.
    pub default_max_tokens: u64,
    /// `simulate:` settings (simulated only).
    pub simulate: Simulate,
    /// `api_version` (azure_openai): the `api-version` query of deployment-style paths
    /// (`/openai/deployments/{deployment}/...`). `None` (omitted, or `"v1"`) selects the v1
    /// API: `/openai/v1/...` with the model in the body.
    pub api_version: Option<String>,
    /// `deployments` (azure_openai): model name → deployment name; a model not listed is
    /// its own deployment name.
    pub deployments: BTreeMap<String, String>,
    /// `auth.bearer_env` (azure_openai): environment variable holding an Entra ID token, sent
    /// as `Authorization: Bearer` instead of the `api-key` header.
    pub bearer_env: Option<String>,
    /// `region` (bedrock, required): the AWS region requests are signed for and sent to.
    pub region: Option<String>,
    /// `project` (vertex, required): the Google Cloud project id.
    pub project: Option<String>,
    /// `location` (vertex, required): the Vertex AI region, or `global`.
    pub location: Option<String>,
}

/// `simulate:` block of a `provider: simulated` target.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulate {
    /// `latency_ms`: base time before answering. Default 50.
    pub latency_ms: u64,
    /// `jitter_ms`: extra random-free, prompt-derived delay in [0, jitter_ms]. Default 0.
    pub jitter_ms: u64,
    /// `output_tokens`: approximate answer length in tokens (words). Default 120.
    pub output_tokens: u64,
    /// `fail_rate`: fraction of requests answered with a 500, derived from the prompt. Default 0.
    pub fail_rate: f64,
}

impl Default for Simulate {
    fn default() -> Self {
        Self {
            latency_ms: 50,
            jitter_ms: 0,
            output_tokens: 120,
            fail_rate: 0.0,
        }
    }
}

/// A comparison metric named in `traffic_mirror.compare_metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompareMetric {
    /// `latency`: `latency_diff_ms` = shadow − primary.
    Latency,
    /// `token_count`: `token_count_diff` = shadow − primary output tokens.
    TokenCount,
    /// `content_similarity`: word-token cosine similarity in [0, 1].
    ContentSimilarity,
    /// `ttft`: `ttft_diff_ms` = shadow − primary time to first token (streamed requests).
    Ttft,
    /// `semantic_similarity`: cosine similarity of the two answers' embeddings, computed
    /// off the request path by the `traffic_mirror.semantic` evaluator (opt-in).
    SemanticSimilarity,
    /// `judge`: an LLM judge's verdict on the shadow's answer against the primary's, by
    /// the `traffic_mirror.judge` evaluator (opt-in).
    Judge,
}

impl CompareMetric {
    /// The default metrics (an absent `compare_metrics` computes these four; the
    /// evaluators cost money and are only ever run when named).
    pub const NAMES: [&'static str; 4] = ["latency", "token_count", "content_similarity", "ttft"];
    /// Every accepted name, for lint messages and suggestions.
    pub const ALL_NAMES: [&'static str; 6] = [
        "latency",
        "token_count",
        "content_similarity",
        "ttft",
        "semantic_similarity",
        "judge",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "latency" => Some(Self::Latency),
            "token_count" => Some(Self::TokenCount),
            "content_similarity" => Some(Self::ContentSimilarity),
            "ttft" => Some(Self::Ttft),
            "semantic_similarity" => Some(Self::SemanticSimilarity),
            "judge" => Some(Self::Judge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::TokenCount => "token_count",
            Self::ContentSimilarity => "content_similarity",
            Self::Ttft => "ttft",
            Self::SemanticSimilarity => "semantic_similarity",
            Self::Judge => "judge",
        }
    }
}

/// `traffic_mirror:` block, present and `enabled: true`.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// `primary`: target whose answer callers get.
    pub primary: String,
    /// The shadow targets, in file order: `shadow` (with the top-level `model_mapping` and
    /// `sample_rate`) first when given, then each `shadows:` entry. Never empty; no target
    /// appears twice and none is the primary.
    pub shadows: Vec<ShadowSpec>,
    /// `sample_by`: where the key of the sticky draw comes from; `None` draws at random
    /// per request (the default).
    pub sample_by: Option<SampleBy>,
    /// `async`: true answers the caller as soon as the primary answers; false waits for the
    /// shadows too (bounded by `timeout_ms`). Default true.
    pub asynchronous: bool,
    /// `log_shadow_response`: store both answers' text in the database. Default false.
    pub log_shadow_response: bool,
    /// `compare_metrics`: which comparison values are computed. Default: all four.
    pub compare_metrics: Vec<CompareMetric>,
    /// `timeout_ms`: limit on one shadow call (and on the wait when `async: false`). Default 60000.
    pub timeout_ms: u64,
    /// `max_in_flight`: shadow calls running at once; past it a shadow is not called, and a
    /// request none of whose sampled shadows got a slot records `dropped`. Default 256.
    pub max_in_flight: usize,
    /// `noise_floor_rate`: fraction in [0, 1] of mirrored requests for which the primary
    /// is asked a second time (off the request path), so the report can show how much
    /// the primary disagrees with itself. Default 0.
    pub noise_floor_rate: f64,
    /// `spend_guard`: daily spend caps and the error-rate pause, applied to each shadow
    /// target separately. `None` when the block is absent.
    pub spend_guard: Option<SpendGuard>,
    /// `semantic`: the embedding-similarity evaluator; `Some` only when
    /// `compare_metrics` names `semantic_similarity` (lint requires the block then).
    pub semantic: Option<Evaluator>,
    /// `judge`: the LLM-judge evaluator; `Some` only when `compare_metrics` names `judge`.
    pub judge: Option<Judge>,
}

/// What both evaluators (`traffic_mirror.semantic` and `traffic_mirror.judge`) share:
/// which target and model they call, how much of the traffic they see, and their limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluator {
    /// `target`: the target id the evaluator calls (the semantic one must speak the
    /// OpenAI API: it posts to `/v1/embeddings`).
    pub target: String,
    /// `model`: the embeddings model (semantic) or chat model (judge).
    pub model: String,
    /// `sample_rate`: fraction in [0, 1] of successful shadow pairs evaluated. Default 1.0.
    pub sample_rate: f64,
    /// `timeout_ms`: limit on one evaluation (both judge calls together). Default 30000.
    pub timeout_ms: u64,
    /// `max_usd_per_day`: the evaluator's own spend per UTC day (priced with the report's
    /// pricing table); at the cap evaluations are skipped and recorded `skipped_cap`.
    /// `None`: no cap (lint warns).
    pub max_usd_per_day: Option<f64>,
    /// `max_concurrency`: worker slots of the evaluator's own pool. Default 4.
    pub max_concurrency: usize,
    /// `max_input_chars`: each text sent is cut to its first this many characters.
    /// Default 8000.
    pub max_input_chars: usize,
}

impl Evaluator {
    /// A block's defaults for `target` and `model`.
    pub fn with_defaults(target: String, model: String) -> Self {
        Self {
            target,
            model,
            sample_rate: 1.0,
            timeout_ms: 30_000,
            max_usd_per_day: None,
            max_concurrency: 4,
            max_input_chars: 8_000,
        }
    }
}

/// `traffic_mirror.judge:`: the shared evaluator settings plus the rubric.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    pub eval: Evaluator,
    /// `rubric`: replaces the built-in rubric prompt; must contain the placeholders
    /// `{request}`, `{answer_a}` and `{answer_b}`. `None`: the built-in one.
    pub rubric: Option<String>,
    /// `both_orders`: ask twice with the answers' positions swapped and combine (default
    /// true); false asks once with a random order, recorded in the row.
    pub both_orders: bool,
}

/// `traffic_mirror.spend_guard:` block. Every limit is optional; an absent one is not
/// enforced.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendGuard {
    /// `max_usd_per_day`: shadow spend per UTC day, priced with the report's pricing table
    /// (built-in prices with `pricing:` on top). Greater than 0.
    pub max_usd_per_day: Option<f64>,
    /// `max_tokens_per_day`: shadow input + output tokens per UTC day. At least 1.
    pub max_tokens_per_day: Option<u64>,
    /// `max_error_rate`: pause when the share of failed shadow calls in `error_window`
    /// exceeds this fraction.
    pub max_error_rate: Option<f64>,
    /// `error_window`: how far back the error rate looks, in ms. Default 5 minutes.
    pub error_window_ms: u64,
    /// `min_calls`: calls the window needs before the error rate is judged. Default 20.
    pub min_calls: u64,
    /// `pause_for`: how long an error-rate pause lasts, in ms. Default 1 minute.
    pub pause_for_ms: u64,
}

impl Default for SpendGuard {
    fn default() -> Self {
        Self {
            max_usd_per_day: None,
            max_tokens_per_day: None,
            max_error_rate: None,
            error_window_ms: 5 * 60_000,
            min_calls: 20,
            pause_for_ms: 60_000,
        }
    }
}

/// One shadow target of the mirror: `traffic_mirror.shadow` or a `shadows:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowSpec {
    /// `target` (or `shadow`): the target id that receives the mirrored copy.
    pub target: String,
    /// `model_mapping`: primary model → this shadow's model, in file order (an entry
    /// without one uses the top-level mapping). A request whose model is not a key is not
    /// mirrored to this shadow.
    pub model_mapping: Vec<(String, String)>,
    /// `sample_rate`: fraction in [0, 1] of mapped requests mirrored to this shadow: those
    /// whose draw is below it (an entry without one uses the top-level rate, default 1.0).
    pub sample_rate: f64,
}

impl ShadowSpec {
    /// This shadow's model for a primary model, if mapped.
    pub fn shadow_model_for(&self, primary_model: &str) -> Option<&str> {
        self.model_mapping
            .iter()
            .find(|(p, _)| p == primary_model)
            .map(|(_, s)| s.as_str())
    }
}

/// `sample_by`: the request part whose value keys the sticky sampling draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleBy {
    /// `header:NAME`: a request header, matched case-insensitively (stored lowercase).
    Header(String),
    /// `field:NAME` or `field:a.b`: a field of the JSON body, top level or a dotted path
    /// into nested objects (e.g. `user`, `metadata.user_id`).
    Field(Vec<String>),
}

impl SampleBy {
    /// The `sample_by` spelling, for logs and the lint summary.
    pub fn describe(&self) -> String {
        match self {
            Self::Header(h) => format!("header:{h}"),
            Self::Field(path) => format!("field:{}", path.join(".")),
        }
    }
}

/// A configured policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `name` (Step 1) or the key under `policies.policy` (Step 8).
    pub name: String,
    pub kind: PolicyKind,
}

/// What a policy does.
#[derive(Debug, Clone)]
pub enum PolicyKind {
    /// `type: content_filter`: scans request and answer text for sensitive data.
    ContentFilter {
        /// `action`: flag (record findings, never block) or block (reject the request with 400).
        action: FilterAction,
        /// `patterns`: extra `{name, regex}` detectors, added to the built-in ones.
        patterns: Vec<Pattern>,
    },
    /// `type: audit_logger`: settings for the event log itself.
    AuditLogger {
        /// `immutable`: event rows cannot be updated or deleted except by retention. Default true.
        immutable: bool,
        /// `retention_days`: rows older than this are deleted at start and daily. None keeps all.
        retention_days: Option<u64>,
        /// `log_all_access`: also log requests that were rejected before reaching a provider
        /// (400/413). Default true.
        log_all_access: bool,
    },
}

/// Content-filter actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAction {
    /// Record findings in the event; the request goes through unchanged.
    Flag,
    /// Reject a matching request with 400 `content_policy_violation`.
    Block,
    /// Replace matches with `[REDACTED:kind]` before the request leaves kt and before any
    /// text is stored.
    Redact,
}

impl FilterAction {
    pub const NAMES: [&'static str; 3] = ["flag", "block", "redact"];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Block => "block",
            Self::Redact => "redact",
        }
    }
}

/// A named regular expression of the content filter.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub name: String,
    pub regex: regex::Regex,
}

/// One `pricing:` entry: what a model costs, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ModelPrice {
    /// `input_per_mtok`: USD per million input (prompt) tokens, at least 0.
    pub input_per_mtok: f64,
    /// `output_per_mtok`: USD per million output (completion) tokens, at least 0.
    pub output_per_mtok: f64,
}

/// `gates:` block: the thresholds `kt mirror report` judges a migration by. Each is
/// optional; an absent gate is not evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gates {
    /// `min_similarity`: lowest acceptable mean content similarity, in [0, 1].
    pub min_similarity: Option<f64>,
    /// `max_latency_regression`: highest acceptable rise of the shadow's p50 latency over
    /// the primary's, in percent (negative: the shadow must be faster). Greater than -100.
    pub max_latency_regression: Option<f64>,
    /// `max_shadow_failure_rate`: highest acceptable share of failed shadow calls, in [0, 1].
    pub max_shadow_failure_rate: Option<f64>,
    /// `max_cost_increase`: highest acceptable change of the estimated cost per request,
    /// in percent (negative: the shadow must be cheaper). Greater than -100.
    pub max_cost_increase: Option<f64>,
    /// `min_semantic_similarity`: lowest acceptable mean embedding similarity, in [0, 1].
    pub min_semantic_similarity: Option<f64>,
    /// `max_judge_loss_rate`: highest acceptable share of judged pairs where the judge
    /// found the shadow's answer worse, in [0, 1].
    pub max_judge_loss_rate: Option<f64>,
}

/// Public API base URLs used when `base_url` is absent.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com";
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The Gemini API (Google AI Studio).
pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// `anthropic-version` sent unless a target overrides it.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";
