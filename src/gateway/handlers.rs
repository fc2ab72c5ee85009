//! HTTP handlers: `POST /v1/chat/completions` and the primary path it shares with
//! `POST /v1/messages` (`complete`): parsing, mirroring, the primary call, the answer and
//! the event row. `/healthz` is in `health.rs`, caller authentication in `auth.rs`, unknown
//! routes and methods in `fallbacks.rs`.
//!
//! The primary path does only what the caller's answer needs: parse the body once, decide
//! about mirroring, call the primary, answer. The shadow call, the comparison, the content
//! scan for flagging and the database write all run as tracked background tasks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::body;
use super::dialect::{Dialect, Inbound};
use super::errors::ApiError;
use super::live::Live;
use super::request_id;
use super::sse::Encoder;
use super::state::AppState;
use super::stream::{Relay, stream_flags};
use crate::mirror::{self, Background, Decision, Mirrored, Mirroring, PrimaryOutcome};
use crate::policy::PolicyFinding;
use crate::providers::{Native, Provider};
use crate::providers::{UpstreamError, prompt_text};
use crate::store::{RequestRow, now_stamp};

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(live): State<Live>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    complete(&live, &headers, body, Dialect::OpenAi).await
}

/// A completion request in either dialect: translated into the internal request, answered
/// by the primary, mirrored and recorded, and answered in the caller's dialect.
pub(super) async fn complete(
    live: &Live,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    dialect: Dialect,
) -> Response {
    // The request keeps this state to the end, whatever a config reload does meanwhile.
    let state = live.current();
    let started = Instant::now();
    let mut first_row = new_row(&state);
    first_row.ingress = dialect.as_str();
    first_row.client_request_id = request_id::from_caller(headers);
    let mut pending = Unanswered {
        state: state.clone(),
        row: Some(first_row),
        started,
        _in_flight: state.tracker.token(),
    };
    let mut scan = Scan::default();
    let result = proxy(&state, headers, body, pending.row_mut(), &mut scan, started).await;
    let mut row = pending.take();
    match result {
        // The relay owns the row now and records it when the stream ends.
        Ok(Proxied::Stream(relay)) => relay.into_response(),
        Ok(Proxied::Answer(body)) => {
            row.latency_ms = elapsed_ms(started);
            answer(&state, row, Ok(body), scan)
        }
        Err(e) => {
            row.latency_ms = elapsed_ms(started);
            answer(&state, row, Err(e), scan)
        }
    }
}

/// The row of a request still being handled. If the caller disconnects, hyper drops the
/// handler (and with it the primary call) and this records the request as
/// `client_closed` (HTTP 499, as nginx logs it), so no request goes unrecorded.
pub(super) struct Unanswered {
    state: AppState,
    row: Option<RequestRow>,
    started: Instant,
    /// Keeps the shutdown drain waiting for this request (see `gateway::serve`).
    _in_flight: tokio_util::task::task_tracker::TaskTrackerToken,
}

impl Unanswered {
    /// Holds `row` for a request received at `started` until it is answered.
    pub(super) fn new(state: &AppState, row: RequestRow, started: Instant) -> Self {
        Self {
            state: state.clone(),
            row: Some(row),
            started,
            _in_flight: state.tracker.token(),
        }
    }

    pub(super) fn row_mut(&mut self) -> &mut RequestRow {
        self.row.get_or_insert_with(RequestRow::default)
    }

    /// Takes the row back for a normal answer; nothing is recorded on drop after this.
    pub(super) fn take(&mut self) -> RequestRow {
        self.row.take().unwrap_or_default()
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        let Some(mut row) = self.row.take() else {
            return;
        };
        row.latency_ms = elapsed_ms(self.started);
        row.status = "client_closed".into();
        row.http_status = 499;
        row.error_class = Some("client_closed".into());
        row.error_message = Some("the caller disconnected before the answer was ready".into());
        self.state.answered.fetch_add(1, Ordering::Relaxed);
        let bg = self.state.clone();
        self.state.tracker.spawn(record(bg, row, Scan::default()));
    }
}

/// What the primary path produced.
enum Proxied {
    /// A complete answer body.
    Answer(Map<String, Value>),
    /// A stream to relay chunk by chunk.
    Stream(Box<Relay>),
}

/// A `requests` row for a request received now, answered by the primary.
pub(super) fn new_row(state: &AppState) -> RequestRow {
    let (ts, ts_unix_ms) = now_stamp();
    RequestRow {
        id: uuid::Uuid::now_v7().to_string(),
        ts,
        ts_unix_ms,
        target: state.primary.id.clone(),
        provider: state.primary.kind.as_str().to_string(),
        mirror_state: "not_eligible".into(),
        ingress: "openai",
        ..RequestRow::default()
    }
}

/// Builds the caller's response and hands the event row to a background task. Every
/// answered request, whatever its route or outcome, goes through here.
pub(super) fn answer(
    state: &AppState,
    mut row: RequestRow,
    result: Result<Map<String, Value>, ApiError>,
    scan: Scan,
) -> Response {
    // The row knows which dialect the caller speaks (`ingress`), so every answer, whatever
    // its route or outcome, is shaped for it here.
    let dialect = Dialect::of_ingress(row.ingress);
    let mut response = match result {
        Ok(answer) => {
            row.status = "success".into();
            row.http_status = 200;
            dialect.success(
                answer,
                &state.primary.id,
                row.model.as_deref().unwrap_or_default(),
            )
        }
        Err(e) => {
            if row.status.is_empty() {
                // A request kt refused to forward is `rejected`; an upstream failure is `error`.
                row.status = if matches!(e.class, "bad_request" | "untranslatable" | "not_found") {
                    "rejected"
                } else {
                    "error"
                }
                .into();
            }
            row.http_status = e.status.as_u16();
            row.error_class = Some(e.class.to_string());
            row.error_message = Some(e.message.clone());
            dialect.error(e, &row.id)
        }
    };
    request_id::set(
        response.headers_mut(),
        &row.id,
        row.client_request_id.as_deref(),
    );
    state.answered.fetch_add(1, Ordering::Relaxed);
    let bg = state.clone();
    state.tracker.spawn(record(bg, row, scan));
    response
}

/// Text kept for the off-path content scan.
#[derive(Default)]
pub(super) struct Scan {
    pub(super) request: Option<Map<String, Value>>,
    pub(super) response_text: Option<String>,
    pub(super) blocked: Vec<PolicyFinding>,
    /// What `action: redact` policies replaced in the request.
    pub(super) redacted: Vec<PolicyFinding>,
    /// `log_requests`: the body as the primary gets it, made text off the path in `record`.
    pub(super) request_body: Option<Bytes>,
}

/// The primary path, for both dialects (`row.ingress` says which one the body is in).
/// Fills `row` as it learns things; returns the internal answer body or the error for the
/// caller.
async fn proxy(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    row: &mut RequestRow,
    scan: &mut Scan,
    started: Instant,
) -> Result<Proxied, ApiError> {
    let body = body::read(body)?;
    let Inbound {
        mut req,
        caller,
        mut native,
    } = Dialect::of_ingress(row.ingress).parse(&body)?;
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    row.model = Some(model.clone());
    if state.filter.has_redacting() {
        // Before anything else sees the request: the primary, the shadow, the scans.
        scan.redacted = state.filter.redact_request(&mut req);
        if !scan.redacted.is_empty()
            && let Some(n) = native.as_mut()
        {
            state
                .filter
                .redact_responses_body(&mut Arc::make_mut(n).body);
        }
    }
    if !state.filter.is_empty() {
        // Flag findings belong in the event whatever happens next (block, upstream error).
        scan.request = Some(req.clone());
    }
    let (is_stream, include_usage) = stream_flags(&req);
    row.stream = is_stream;
    row.has_tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    row.json_mode = matches!(
        req.get("response_format")
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str),
        Some("json_object" | "json_schema")
    );

    if state.filter.has_blocking() {
        let blocked = state.filter.blocking_findings(&prompt_text(&req));
        if !blocked.is_empty() {
            row.status = "blocked".into();
            let err = policy_blocked(&blocked, "messages");
            scan.blocked = blocked;
            return Err(err);
        }
    }

    // traffic_mirror.log_requests (for `kt mirror replay`): the caller's bytes are what the
    // primary gets unless a redact policy changed the request; keeping them is a refcount.
    // A translated request is logged as the internal request: replay sends it to a target
    // as Chat Completions. One whose translation left something out (server-side state
    // such as `previous_response_id`, built-in tools) is not logged: replayed without it,
    // it would be another question compared with this one's answer.
    let replayable = native.as_ref().is_none_or(|n| n.unexpressible.is_empty());
    if state.config.log_requests && replayable {
        scan.request_body = Some(if scan.redacted.is_empty() && caller.is_none() {
            body.clone()
        } else {
            Bytes::from(serde_json::to_vec(&req).unwrap_or_default())
        });
    }

    // Build the primary's wire request first: a request the primary cannot express is
    // the caller's error (400) and must not reach the shadow either.
    let prepared = state
        .primary
        .prepare_for(&req, native.as_deref(), &model)
        .map_err(|e| ApiError::from_upstream(&state.primary.id, &e))?;

    let sample_body = caller.as_ref().unwrap_or(&req);
    let mut mirroring = start_mirroring(
        state,
        headers,
        (&req, native.as_ref()),
        sample_body,
        &model,
        is_stream,
        row,
    );
    // `async: false`: hold the answer until the shadows are recorded (bounded).
    let wait_for_shadow = mirroring.take_wait(state.config.mirror.as_ref());

    let upstream_started = Instant::now();
    if is_stream {
        let opened = tokio::select! {
            r = state.primary.open_stream(prepared) => r,
            () = state.cancel.cancelled() => Err(UpstreamError::Cancelled),
        };
        let upstream = match opened {
            Ok(s) => s,
            Err(e) => {
                // Failed before the first byte: a normal error response.
                row.upstream_latency_ms = Some(elapsed_ms(upstream_started));
                mirroring.resolve(&PrimaryOutcome::failed(elapsed_ms(upstream_started)));
                return Err(ApiError::from_upstream(&state.primary.id, &e));
            }
        };
        // Before the row moves into the relay: it says which dialect frames the stream.
        let encoder = Encoder::new(Dialect::of_ingress(row.ingress), include_usage, &model);
        return Ok(Proxied::Stream(Box::new(Relay {
            state: state.clone(),
            row: std::mem::take(row),
            scan: std::mem::take(scan),
            upstream,
            encoder,
            started,
            upstream_started,
            mirroring,
            wait_for_shadow,
        })));
    }
    // At the end of the shutdown drain the call is cancelled: the caller gets a 503 and
    // the request its row, instead of a connection that outlives the process.
    let result = tokio::select! {
        r = state.primary.send(prepared, None) => r,
        () = state.cancel.cancelled() => Err(UpstreamError::Cancelled),
    };
    let upstream_ms = elapsed_ms(upstream_started);
    row.upstream_latency_ms = Some(upstream_ms);
    // log_requests also keeps the primary's answer: replay compares against it.
    let log_text = state.config.log_requests
        || state
            .config
            .mirror
            .as_ref()
            .is_some_and(|m| m.log_shadow_response);

    let outcome = match &result {
        Ok(c) => PrimaryOutcome {
            ok: true,
            text: if mirroring.wants_outcome() {
                c.text.clone()
            } else {
                String::new()
            },
            latency_ms: upstream_ms,
            output_tokens: c.output_tokens,
            ttft_ms: None,
            tool_calls: c.tool_calls.clone(),
        },
        Err(_) => PrimaryOutcome::failed(upstream_ms),
    };
    mirroring.resolve(&outcome);
    if let Some(wait) = wait_for_shadow {
        wait.wait().await;
    }

    let completion = result.map_err(|e| ApiError::from_upstream(&state.primary.id, &e))?;
    row.input_tokens = completion.input_tokens;
    row.output_tokens = completion.output_tokens;
    row.finish_reason = completion.finish_reason.clone();
    row.answer_chars = Some(completion.text.chars().count() as u64);
    row.tool_calls = completion.tool_calls.clone();
    if log_text {
        row.response_text = Some(completion.text.clone());
    }
    if !state.filter.is_empty() || row.json_mode {
        // Off the path: the flag scan and the JSON-validity check read the answer text.
        scan.response_text = Some(completion.text);
    }
    Ok(Proxied::Answer(completion.body))
}

/// The mirroring decision for one request, all in one place: the sampling draw, which
/// shadows map the model and fall under their rate, launching those that get a
/// `max_in_flight` slot, and recording the outcome in `row` (`mirror_state`, the first
/// shadow called in `shadow_target`/`shadow_model`, the others in `extra_shadows`).
/// `sample_body` is the body as the caller sent it, where `sample_by: field:…` looks.
fn start_mirroring(
    state: &AppState,
    headers: &HeaderMap,
    (req, native): (&Map<String, Value>, Option<&Arc<Native>>),
    sample_body: &Map<String, Value>,
    model: &str,
    stream: bool,
    row: &mut RequestRow,
) -> Mirroring {
    let m = state.config.mirror.as_ref();
    let draw = mirror::draw(m.and_then(|m| m.sample_by.as_ref()), headers, sample_body);
    let decision = mirror::decide(m, model, draw);
    row.mirror_state = decision.state().to_string();
    let (Decision::Mirror { shadows }, Some(m)) = (decision, m) else {
        return Mirroring::default();
    };
    let mut paused = 0;
    let chosen: Vec<(&std::sync::Arc<Provider>, &str)> = shadows
        .iter()
        .filter_map(|s| {
            let provider = state.shadows.get(s.index)?;
            // The spend guard costs one flag read here (no lock); a paused shadow is
            // skipped, and a request whose every sampled shadow is paused is `paused`.
            if !state.guard.admit(&provider.id) {
                paused += 1;
                return None;
            }
            Some((provider, s.shadow_model.as_str()))
        })
        .collect();
    if chosen.is_empty() && paused > 0 {
        row.mirror_state = "paused".into();
        return Mirroring::default();
    }
    let mirrored = Mirrored {
        id: &row.id,
        body: req,
        native,
        primary_model: model,
        stream,
        has_tools: row.has_tools,
        json_mode: row.json_mode,
    };
    let bg = Background {
        tracker: &state.tracker,
        slots: &state.mirror_slots,
        sink: &state.sink,
        cancel: &state.cancel,
        filter: &state.filter,
        guard: &state.guard,
        evaluators: state.evaluators.as_ref(),
    };
    let launched = mirror::launch(m, &chosen, state.noise.as_ref(), &mirrored, &bg);
    if launched.dropped > 0 {
        // Counted per shadow call skipped, so a request that reached only some of its
        // shadows still shows up in /healthz.
        state
            .mirror_dropped
            .fetch_add(launched.dropped as u64, Ordering::Relaxed);
    }
    let mut called = launched.shadows.into_iter();
    match called.next() {
        Some((target, shadow_model)) => {
            row.shadow_target = Some(target);
            row.shadow_model = Some(shadow_model);
            row.extra_shadows = called.collect();
        }
        None => row.mirror_state = "dropped".into(),
    }
    launched.mirroring
}

/// The 400 for a request that `action: block` policies refuse, naming the first policy and
/// every kind found; `field` is where the text was (`messages`, `input`). Non-empty
/// `findings` only.
pub(super) fn policy_blocked(findings: &[PolicyFinding], field: &str) -> ApiError {
    let policy = findings.first().map_or("", |f| f.policy.as_str());
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    ApiError {
        code: Some("content_policy_violation".into()),
        class: "policy",
        ..ApiError::bad_request(
            format!(
                "the request was blocked by policy `{policy}`: it contains {}",
                kinds.join(", ")
            ),
            Some(field),
        )
    }
}

/// Parses and checks a Chat Completions request body.
// The error is built once per rejected request and answered at once; boxing it would
// only add an allocation.
#[allow(clippy::result_large_err)]
pub(super) fn parse_request(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let req = body::json_object(body)?;
    body::refuse_upstream_choice(&req)?;
    match req.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "`model` must be a non-empty string",
                Some("model"),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "you must provide a `model` parameter",
                Some("model"),
            ));
        }
    }
    match req.get("messages") {
        Some(Value::Array(msgs)) if !msgs.is_empty() => {
            if msgs
                .iter()
                .any(|m| !m.get("role").is_some_and(Value::is_string))
            {
                return Err(ApiError::bad_request(
                    "every message needs a string `role`",
                    Some("messages"),
                ));
            }
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "`messages` must be a non-empty array",
                Some("messages"),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "you must provide a `messages` parameter",
                Some("messages"),
            ));
        }
    }
    Ok(req)
}

/// Runs the flagging scan and hands the request's row to the writer (background task).
pub(super) async fn record(state: AppState, mut row: RequestRow, scan: Scan) {
    let mut findings = scan.blocked;
    findings.extend(scan.redacted);
    if state.filter.has_redacting()
        && let Some(text) = row.response_text.take()
    {
        // Stored answers are redacted too (the caller's answer is not changed).
        let (text, found) = state.filter.redact(&text, "response");
        row.response_text = Some(text);
        findings.extend(found);
    }
    if let Some(req) = &scan.request {
        findings.extend(state.filter.flag_findings(&prompt_text(req), "request"));
    }
    if let Some(text) = &scan.response_text {
        findings.extend(state.filter.flag_findings(text, "response"));
    }
    if row.json_mode && row.status == "success" {
        row.json_valid = scan.response_text.as_deref().map(mirror::is_json);
    }
    row.policy_findings = serde_json::to_string(&findings).unwrap_or_else(|_| "[]".into());
    // log_requests: a request the primary never got (rejected: untranslatable) is not kept.
    if let Some(body) = scan.request_body.filter(|_| row.status != "rejected") {
        row.request_body = Some(String::from_utf8_lossy(&body).into_owned());
    }
    log_request(&row);
    crate::metrics::request_recorded(&row);
    state.sink.request(row).await;
}

/// The one info line per answered request (off the request path, like the row itself).
fn log_request(row: &RequestRow) {
    tracing::info!(
        target: "kt::request",
        request_id = %row.id,
        client_request_id = row.client_request_id.as_deref().unwrap_or(""),
        target_id = %row.target,
        model = row.model.as_deref().unwrap_or(""),
        status = %row.status,
        http_status = row.http_status,
        latency_ms = row.latency_ms,
        stream = row.stream,
        mirror_state = %row.mirror_state,
        "request"
    );
}

pub(super) fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
