//! The `Provider` every caller uses: one per configured target, holding its HTTP client,
//! base URL, timeouts and credentials. `prepare` renders the OpenAI-shaped request into the
//! target's wire format (each kind's folder does the translating); `send` and `open_stream`
//! call it and read the answer back by its [`Format`], so no caller learns a kind's name.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use super::anthropic::stream as anthropic_stream;
use super::auth::Auth;
use super::http::{self, millis, retry_after};
use super::stream::{self, ChunkStream};
use super::{
    Completion, UpstreamError, anthropic, azure, bedrock, gemini, openai, parse_error_body, redact,
    simulated, vertex,
};
use crate::config::{ProviderKind, Simulate, Target};

/// A request in a target's wire format, ready to send.
#[derive(Debug)]
pub enum Prepared<'a> {
    /// The simulator reads the OpenAI-shaped request directly.
    Simulated {
        req: &'a Map<String, Value>,
        model: String,
    },
    /// An HTTP call.
    Http(Wire),
}

/// The wire format of an answer, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAI Chat Completions (OpenAI, Azure OpenAI, any compatible server).
    OpenAi,
    /// Anthropic Messages (Anthropic, Claude on Vertex).
    Anthropic,
    /// Gemini `generateContent` (Gemini API, Gemini on Vertex).
    Gemini,
    /// Bedrock Converse.
    Converse,
    /// OpenAI's Responses API (a `/v1/responses` caller's body, passed through).
    Responses,
}

/// A caller's request in a dialect some targets speak natively (OpenAI's Responses API):
/// its own body, sent as is to a target that speaks it, and the fields its Chat Completions
/// translation could not carry, which make any other target refuse it.
#[derive(Debug, Clone)]
pub struct Native {
    pub body: Map<String, Value>,
    /// `(field, why)` for each field the translation could not carry.
    pub unexpressible: Vec<(String, String)>,
}

/// One HTTP request: where it goes, its JSON body, and how to read the answer.
#[derive(Debug)]
pub struct Wire {
    /// Path and query, appended to the target's base URL.
    pub path: String,
    pub body: Value,
    pub format: Format,
    /// The upstream model, for answers that do not name it.
    pub model: String,
    pub stream: bool,
}

/// One configured target, ready to call.
#[derive(Debug)]
pub struct Provider {
    pub id: String,
    pub kind: ProviderKind,
    base_url: String,
    auth: Auth,
    timeout: Duration,
    anthropic_version: String,
    default_max_tokens: u64,
    simulate: Simulate,
    target: Target,
    http: reqwest::Client,
    /// Background (shadow and noise-floor) calls carry `x-kt-shadow: 1`, so upstream
    /// logs and rate-limit dashboards can tell mirrored traffic apart.
    background: bool,
}

/// The HTTP client for upstream calls: no redirects (an upstream redirect is a
/// misconfiguration, and following it could leak the key to another host).
pub fn http_client(connect_timeout_ms: u64) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_millis(connect_timeout_ms))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
}

impl Provider {
    /// A provider for target `t`, reading its credentials from the environment now (never
    /// again). The gateway gives the primary and the shadow separate HTTP clients so a
    /// slow shadow can never hold the primary's connections.
    pub fn new(t: &Target, http: reqwest::Client) -> Self {
        Self {
            id: t.id.clone(),
            kind: t.kind,
            base_url: base_url(t),
            auth: Auth::for_target(t),
            timeout: Duration::from_millis(t.timeout_ms),
            anthropic_version: t.anthropic_version.clone(),
            default_max_tokens: t.default_max_tokens,
            simulate: t.simulate.clone(),
            target: t.clone(),
            http,
            background: false,
        }
    }

    /// The same target for background calls: requests carry the `x-kt-shadow: 1` marker.
    pub fn for_background(mut self) -> Self {
        self.background = true;
        self
    }

    /// Sends an OpenAI-shaped chat request for `model`, bounded by this target's timeout
    /// or `limit` if shorter. The answer comes back OpenAI-shaped whatever the wire format.
    pub async fn chat(
        &self,
        req: &Map<String, Value>,
        model: &str,
        limit: Option<Duration>,
    ) -> Result<Completion, UpstreamError> {
        self.chat_for(req, None, model, limit).await
    }

    /// [`Provider::chat`] for a caller with a native form (see [`Provider::prepare_for`]).
    pub async fn chat_for(
        &self,
        req: &Map<String, Value>,
        native: Option<&Native>,
        model: &str,
        limit: Option<Duration>,
    ) -> Result<Completion, UpstreamError> {
        let prepared = self.prepare_for(req, native, model)?;
        self.send(prepared, limit).await
    }

    /// Builds the wire request without sending it, so the gateway can reject a request
    /// the target cannot express (e.g. `n > 1` for Anthropic) before mirroring it.
    pub fn prepare<'a>(
        &self,
        req: &'a Map<String, Value>,
        model: &str,
    ) -> Result<Prepared<'a>, UpstreamError> {
        let stream = req.get("stream").and_then(Value::as_bool) == Some(true);
        let wire = |path: String, body: Value, format: Format| {
            Ok(Prepared::Http(Wire {
                path,
                body,
                format,
                model: model.to_string(),
                stream,
            }))
        };
        let t = &self.target;
        match self.kind {
            ProviderKind::Simulated => Ok(Prepared::Simulated {
                req,
                model: model.to_string(),
            }),
            ProviderKind::OpenAi => wire(
                openai::chat_path(&self.base_url).into(),
                openai_body(req, model, stream),
                Format::OpenAi,
            ),
            ProviderKind::AzureOpenAi => wire(
                azure::chat_path(t.api_version.as_deref(), &t.deployments, model),
                openai_body(req, azure::body_model(&t.deployments, model), stream),
                Format::OpenAi,
            ),
            ProviderKind::Anthropic => wire(
                "/v1/messages".into(),
                anthropic::to_messages_request(req, model, self.default_max_tokens)?,
                Format::Anthropic,
            ),
            ProviderKind::Vertex => {
                let (project, location) = (
                    t.project.as_deref().unwrap_or_default(),
                    t.location.as_deref().unwrap_or_default(),
                );
                let path = vertex::endpoint::path(project, location, model, stream);
                if vertex::endpoint::is_claude(model) {
                    wire(
                        path,
                        vertex::claude_body(req, model, self.default_max_tokens)?,
                        Format::Anthropic,
                    )
                } else {
                    wire(path, vertex::gemini_body(req)?, Format::Gemini)
                }
            }
            ProviderKind::Gemini => wire(
                gemini::path(model, stream),
                gemini::to_gemini_request(req)?,
                Format::Gemini,
            ),
            ProviderKind::Bedrock => wire(
                bedrock::sigv4::converse_path(model, stream),
                bedrock::to_converse_request(req, model)?,
                Format::Converse,
            ),
        }
    }

    /// Like [`Provider::prepare`] for a caller whose dialect has a native form: a target that
    /// speaks it gets the caller's own body (with the route's model); any other gets the
    /// Chat Completions translation, or refuses the request naming the first field the
    /// translation could not carry.
    pub fn prepare_for<'a>(
        &self,
        req: &'a Map<String, Value>,
        native: Option<&Native>,
        model: &str,
    ) -> Result<Prepared<'a>, UpstreamError> {
        let Some(native) = native else {
            return self.prepare(req, model);
        };
        let t = &self.target;
        let (path, body_model) = match self.kind {
            ProviderKind::OpenAi => (openai::responses_path(&self.base_url).to_string(), model),
            ProviderKind::AzureOpenAi => (
                azure::responses_path(t.api_version.as_deref()),
                azure::body_model(&t.deployments, model),
            ),
            kind => {
                if let Some((field, why)) = native.unexpressible.first() {
                    return Err(UpstreamError::Untranslatable {
                        message: format!(
                            "`{field}` cannot be sent to `{}` ({}): {why}",
                            self.id,
                            kind.as_str()
                        ),
                        param: Some(field.clone()),
                    });
                }
                return self.prepare(req, model);
            }
        };
        let mut body = native.body.clone();
        body.insert("model".into(), Value::String(body_model.to_string()));
        Ok(Prepared::Http(Wire {
            path,
            body: Value::Object(body),
            format: Format::Responses,
            model: model.to_string(),
            stream: req.get("stream").and_then(Value::as_bool) == Some(true),
        }))
    }

    /// Forwards a call on the Responses API's stored objects or token counts (`rest` is
    /// what follows `/responses`, e.g. `/resp_1/input_items?limit=5`, `/resp_1/cancel`,
    /// `/input_tokens`; `body` the caller's JSON, if any) to a target that speaks that API,
    /// returning its status, headers and body as they are. `None` for any other kind: those
    /// objects live at OpenAI.
    pub async fn forward_responses(
        &self,
        method: reqwest::Method,
        rest: &str,
        body: Option<bytes::Bytes>,
    ) -> Option<Result<(u16, HeaderMap, bytes::Bytes), UpstreamError>> {
        let t = &self.target;
        let path = match self.kind {
            ProviderKind::OpenAi => format!("{}{rest}", openai::responses_path(&self.base_url)),
            ProviderKind::AzureOpenAi => {
                let base = azure::responses_path(t.api_version.as_deref());
                match base.split_once('?') {
                    Some((p, q)) => match rest.split_once('?') {
                        Some((r, rq)) => format!("{p}{r}?{rq}&{q}"),
                        None => format!("{p}{rest}?{q}"),
                    },
                    None => format!("{base}{rest}"),
                }
            }
            _ => return None,
        };
        let result = async {
            let url = format!("{}{path}", self.base_url);
            let mut headers = HeaderMap::new();
            if self.background {
                headers.insert("x-kt-shadow", HeaderValue::from_static("1"));
            }
            let bytes = body.unwrap_or_default();
            if !bytes.is_empty() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            self.auth
                .apply(&self.http, &url, &bytes, &mut headers)
                .await?;
            let req = self.http.request(method, url).headers(headers).body(bytes);
            http::exchange(req, self.timeout).await
        }
        .await;
        Some(result.map_err(|e| self.scrub(e)))
    }

    /// Sends a prepared request (see [`Provider::prepare`]).
    pub async fn send(
        &self,
        prepared: Prepared<'_>,
        limit: Option<Duration>,
    ) -> Result<Completion, UpstreamError> {
        let timeout = limit.map_or(self.timeout, |l| l.min(self.timeout));
        let result = match prepared {
            Prepared::Simulated { req, model } => {
                let call = simulated::complete(&self.id, &self.simulate, req, &model, now_secs());
                match tokio::time::timeout(timeout, call).await {
                    Ok(r) => r,
                    Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
                }
            }
            Prepared::Http(w) => match self.request(&w).await {
                Ok(builder) => match http::exchange(builder, timeout).await {
                    Ok((status, headers, bytes)) => read_answer(&w, status, &headers, &bytes),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
        };
        result.map_err(|e| self.scrub(e))
    }

    /// Posts an OpenAI-style JSON body to `path` (`/v1/embeddings` for the semantic
    /// evaluator) with this target's key, bounded by its timeout or `limit` if shorter.
    /// The 2xx answer as JSON; any other status as an error in OpenAI shape.
    pub async fn post_openai_json(
        &self,
        path: &str,
        body: &Value,
        limit: Option<Duration>,
    ) -> Result<Value, UpstreamError> {
        let w = Wire {
            path: path.to_string(),
            body: body.clone(),
            format: Format::OpenAi,
            model: String::new(),
            stream: false,
        };
        self.post_json(&w, limit).await
    }

    /// Posts `w` with this target's credentials (token counting, embeddings), bounded by
    /// its timeout or `limit` if shorter: the 2xx answer as JSON, any other status as an
    /// error read by `w.format`.
    pub async fn post_json(
        &self,
        w: &Wire,
        limit: Option<Duration>,
    ) -> Result<Value, UpstreamError> {
        let timeout = limit.map_or(self.timeout, |l| l.min(self.timeout));
        let result = async {
            let (status, headers, bytes) = http::exchange(self.request(w).await?, timeout).await?;
            if !(200..300).contains(&status) {
                return Err(error_of(w, status, &headers, &bytes));
            }
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| UpstreamError::InvalidResponse(format!("the body is not JSON ({e})")))
        }
        .await;
        result.map_err(|e| self.scrub(e))
    }

    /// The configured target (paths and names the other endpoints need: Vertex's project
    /// and location, Azure's deployments and api-version).
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// The base URL requests are joined to (normalised, no trailing `/v1`).
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Opens a streamed answer (`stream: true` requests). A failure before the first
    /// byte (connect, non-2xx status, timeout) is an `Err` here, so the caller can get a
    /// normal error response; later failures end the returned stream with an `Err` item.
    /// The target's timeout bounds the wait for the status and for each later event.
    pub async fn open_stream(&self, prepared: Prepared<'_>) -> Result<ChunkStream, UpstreamError> {
        let opened = match prepared {
            Prepared::Simulated { req, model } => {
                // The simulator's latency is its time to first token.
                let call = simulated::complete(&self.id, &self.simulate, req, &model, now_secs());
                let c = match tokio::time::timeout(self.timeout, call).await {
                    Ok(r) => r?,
                    Err(_) => return Err(UpstreamError::Timeout(millis(self.timeout))),
                };
                let chunks = stream::chunks_of(&c, &model, now_secs());
                let s: ChunkStream =
                    Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok)));
                Ok(s)
            }
            Prepared::Http(w) => self.open_http_stream(w).await,
        };
        opened.map_err(|e| self.scrub(e))
    }

    async fn open_http_stream(&self, w: Wire) -> Result<ChunkStream, UpstreamError> {
        let resp = http::start(self.request(&w).await?, self.timeout).await?;
        if !resp.status().is_success() {
            let (status, headers, bytes) = http::read(resp, self.timeout).await?;
            return Err(error_of(&w, status, &headers, &bytes));
        }
        let idle = self.timeout;
        Ok(match w.format {
            Format::OpenAi if self.kind == ProviderKind::AzureOpenAi => {
                azure::without_annotations(stream::openai_chunks(resp, idle))
            }
            Format::OpenAi => stream::openai_chunks(resp, idle),
            Format::Responses => openai::responses::events(resp, idle),
            Format::Anthropic => anthropic_stream::chunks(resp, idle, now_secs()),
            Format::Gemini => gemini::stream::chunks(resp, idle, &w.model, now_secs()),
            Format::Converse => {
                let tr = bedrock::stream::Translator::with_request_id(
                    &w.model,
                    now_secs(),
                    aws_request_id(resp.headers()),
                );
                bedrock::eventstream::chunks(resp, idle, tr)
            }
        })
    }

    /// The HTTP request for `w`: URL, JSON body bytes, kt's headers and the credentials.
    async fn request(&self, w: &Wire) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let url = format!("{}{}", self.base_url, w.path);
        let body = serde_json::to_vec(&w.body)
            .map_err(|e| UpstreamError::Config(format!("request body: {e}")))?;
        let mut headers = HeaderMap::new();
        // kt builds headers from scratch: nothing the caller sent (its `Authorization`,
        // `x-api-key`, cookies) is ever forwarded.
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.background {
            headers.insert("x-kt-shadow", HeaderValue::from_static("1"));
        }
        if w.format == Format::Anthropic && self.kind == ProviderKind::Anthropic {
            let version = HeaderValue::from_str(&self.anthropic_version).map_err(|_| {
                UpstreamError::Config(format!(
                    "target `{}`: anthropic_version is not a valid header value",
                    self.id
                ))
            })?;
            headers.insert("anthropic-version", version);
        }
        self.auth
            .apply(&self.http, &url, &body, &mut headers)
            .await?;
        Ok(self.http.post(url).headers(headers).body(body))
    }

    /// Removes this target's credentials from any message the upstream echoed back.
    fn scrub(&self, e: UpstreamError) -> UpstreamError {
        // For 401/403 the upstream's text is replaced entirely: providers echo a masked key
        // (prefix and last characters) that exact-match redaction would miss. So is any other
        // status the provider marks as a credentials failure (Gemini answers a bad key with
        // 400 `API_KEY_INVALID`): its text would make the caller doubt their own key.
        // Bedrock's AccessDeniedException is about model access ("You don't have access to
        // the model…"), not the key, and AWS never echoes credentials: its text stays.
        if e.status() == Some(401) {
            self.auth.refused();
        }
        let model_access = matches!(&e, UpstreamError::Status { status: 403, code: Some(c), .. }
            if c == "AccessDeniedException");
        let rejected = matches!(&e, UpstreamError::Status { status, kind, .. }
            if matches!(status, 401 | 403) || kind == "authentication_error");
        if rejected
            && !model_access
            && let UpstreamError::Status {
                status,
                kind,
                code,
                param,
                retry_after,
                ..
            } = e
        {
            return UpstreamError::Status {
                status,
                kind,
                code,
                param,
                message: format!(
                    "upstream `{}` rejected kt's credentials (HTTP {status}); check {}",
                    self.id,
                    self.auth.source()
                ),
                retry_after,
            };
        }
        let secrets = self.auth.secrets();
        if secrets.is_empty() {
            return e;
        }
        match e {
            UpstreamError::Status {
                status,
                kind,
                code,
                param,
                message,
                retry_after,
            } => UpstreamError::Status {
                status,
                kind,
                code,
                param,
                message: redact(&message, &secrets),
                retry_after,
            },
            UpstreamError::InvalidResponse(m) => {
                UpstreamError::InvalidResponse(redact(&m, &secrets))
            }
            UpstreamError::Connect(m) => UpstreamError::Connect(redact(&m, &secrets)),
            other => other,
        }
    }
}

/// The target's base URL; Bedrock's and Vertex's follow from the region or location when
/// the config gives none.
fn base_url(t: &Target) -> String {
    if !t.base_url.is_empty() {
        return t.base_url.clone();
    }
    match t.kind {
        ProviderKind::Bedrock => format!(
            "https://bedrock-runtime.{}.amazonaws.com",
            t.region.as_deref().unwrap_or("us-east-1")
        ),
        ProviderKind::Vertex => vertex::endpoint::host(t.location.as_deref().unwrap_or("global")),
        _ => String::new(),
    }
}

/// The OpenAI body: the caller's request with the route's model. A streamed request always
/// asks for usage; the gateway strips the usage chunk again when the caller did not.
fn openai_body(req: &Map<String, Value>, model: &str, stream: bool) -> Value {
    let mut body = openai::request_body(req, model);
    if stream && let Some(obj) = body.as_object_mut() {
        let opts = obj
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(o) = opts.as_object_mut() {
            o.insert("include_usage".into(), Value::Bool(true));
        } else {
            *opts = serde_json::json!({"include_usage": true});
        }
    }
    body
}

/// Reads a whole answer by its format.
fn read_answer(
    w: &Wire,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Completion, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(error_of(w, status, headers, bytes));
    }
    match w.format {
        Format::OpenAi => openai::parse_response(status, headers, bytes),
        Format::Responses => openai::responses::from_response_body(bytes),
        Format::Anthropic => anthropic::from_messages_response(bytes, now_secs()),
        Format::Gemini => gemini::from_gemini_response(bytes, &w.model, now_secs()),
        Format::Converse => {
            bedrock::from_converse_response(bytes, &w.model, now_secs(), aws_request_id(headers))
        }
    }
}

/// A non-2xx answer as an error, read by its format.
fn error_of(w: &Wire, status: u16, headers: &HeaderMap, bytes: &[u8]) -> UpstreamError {
    match w.format {
        Format::OpenAi | Format::Responses => status_error(status, headers, bytes),
        Format::Anthropic => anthropic::error_from_response(status, bytes, retry_after(headers)),
        Format::Gemini => gemini::error_from_response(status, headers, bytes),
        Format::Converse => bedrock::error_from_response(status, headers, bytes),
    }
}

/// An OpenAI-shaped error answer.
fn status_error(status: u16, headers: &HeaderMap, bytes: &[u8]) -> UpstreamError {
    let b = parse_error_body(status, bytes);
    UpstreamError::Status {
        status,
        kind: b.kind,
        code: b.code,
        param: b.param.map(String::into_boxed_str),
        message: b.message,
        retry_after: retry_after(headers),
    }
}

/// AWS's request id, which names a Bedrock answer (Converse sends no id of its own).
fn aws_request_id(h: &HeaderMap) -> Option<&str> {
    h.get("x-amzn-requestid").and_then(|v| v.to_str().ok())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
