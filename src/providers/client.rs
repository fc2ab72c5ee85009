//! The `Provider` every caller uses: one per configured target, holding its HTTP client,
//! base URL, timeouts and key, and dispatching to the target's wire format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use super::stream::{self, ChunkStream};
use super::{Completion, UpstreamError, anthropic, anthropic_stream, openai, redact, simulated};
use crate::config::{ProviderKind, Simulate, Target};

/// An API key. Its `Debug` never shows the value, so it cannot reach a log by accident.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Secret {
    /// Wraps a credential read from the environment or a token endpoint.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that puts it on the wire (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A request in a target's wire format, ready to send.
#[derive(Debug)]
pub enum Prepared<'a> {
    OpenAi(Value),
    Anthropic(Value),
    /// The simulator reads the OpenAI-shaped request directly.
    Simulated {
        req: &'a Map<String, Value>,
        model: String,
    },
}

/// One configured target, ready to call.
#[derive(Debug)]
pub struct Provider {
    pub id: String,
    pub kind: ProviderKind,
    base_url: String,
    key_env: Option<String>,
    key: Option<Secret>,
    timeout: Duration,
    anthropic_version: String,
    default_max_tokens: u64,
    simulate: Simulate,
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
    /// A provider for target `t`, reading its key from the environment now (never
    /// again). The gateway gives the primary and the shadow separate HTTP clients so a
    /// slow shadow can never hold the primary's connections.
    pub fn new(t: &Target, http: reqwest::Client) -> Self {
        let key = t
            .key_env
            .as_deref()
            .and_then(|name| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
            .map(Secret);
        Self {
            id: t.id.clone(),
            kind: t.kind,
            base_url: t.base_url.clone(),
            key_env: t.key_env.clone(),
            key,
            timeout: Duration::from_millis(t.timeout_ms),
            anthropic_version: t.anthropic_version.clone(),
            default_max_tokens: t.default_max_tokens,
            simulate: t.simulate.clone(),
            http,
            background: false,
        }
    }

    /// The same target for background calls: requests carry the `x-kt-shadow: 1` marker.
    pub fn for_background(mut self) -> Self {
        self.background = true;
        self
    }

    /// Headers every upstream request carries. kt builds them from scratch: nothing the
    /// caller sent (its `Authorization`, `x-api-key`, cookies) is ever forwarded.
    fn base_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if self.background {
            h.insert("x-kt-shadow", HeaderValue::from_static("1"));
        }
        h
    }

    /// Sends an OpenAI-shaped chat request for `model`, bounded by this target's timeout
    /// or `limit` if shorter. The answer comes back OpenAI-shaped whatever the wire format.
    pub async fn chat(
        &self,
        req: &Map<String, Value>,
        model: &str,
        limit: Option<Duration>,
    ) -> Result<Completion, UpstreamError> {
        let prepared = self.prepare(req, model)?;
        self.send(prepared, limit).await
    }

    /// Builds the wire request without sending it, so the gateway can reject a request
    /// the target cannot express (e.g. `n > 1` for Anthropic) before mirroring it.
    pub fn prepare<'a>(
        &self,
        req: &'a Map<String, Value>,
        model: &str,
    ) -> Result<Prepared<'a>, UpstreamError> {
        Ok(match self.kind {
            ProviderKind::Simulated => Prepared::Simulated {
                req,
                model: model.to_string(),
            },
            ProviderKind::OpenAi => {
                let mut body = openai::request_body(req, model);
                if req.get("stream").and_then(Value::as_bool) == Some(true) {
                    // Always learn a stream's usage; the gateway strips the usage chunk
                    // again when the caller did not ask for it.
                    if let Some(obj) = body.as_object_mut() {
                        let opts = obj
                            .entry("stream_options")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Some(o) = opts.as_object_mut() {
                            o.insert("include_usage".into(), Value::Bool(true));
                        } else {
                            *opts = serde_json::json!({"include_usage": true});
                        }
                    }
                }
                Prepared::OpenAi(body)
            }
            ProviderKind::Anthropic => Prepared::Anthropic(anthropic::to_messages_request(
                req,
                model,
                self.default_max_tokens,
            )?),
            kind => {
                return Err(UpstreamError::Config(format!(
                    "provider kind `{}` is not wired yet",
                    kind.as_str()
                )));
            }
        })
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
            Prepared::OpenAi(body) => {
                let (status, headers, bytes) = self
                    .post(
                        "/v1/chat/completions",
                        self.openai_headers()?,
                        &body,
                        timeout,
                    )
                    .await?;
                openai::parse_response(status, &headers, &bytes)
            }
            Prepared::Anthropic(body) => {
                let (status, headers, bytes) = self
                    .post("/v1/messages", self.anthropic_headers()?, &body, timeout)
                    .await?;
                if (200..300).contains(&status) {
                    anthropic::from_messages_response(&bytes, now_secs())
                } else {
                    Err(anthropic::error_from_response(
                        status,
                        &bytes,
                        retry_after(&headers),
                    ))
                }
            }
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
        let timeout = limit.map_or(self.timeout, |l| l.min(self.timeout));
        let result = async {
            let (status, headers, bytes) = self
                .post(path, self.openai_headers()?, body, timeout)
                .await?;
            if !(200..300).contains(&status) {
                let (message, code, kind) = super::parse_error_body(status, &bytes);
                return Err(UpstreamError::Status {
                    status,
                    kind,
                    code,
                    message,
                    retry_after: retry_after(&headers),
                });
            }
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| UpstreamError::InvalidResponse(format!("the body is not JSON ({e})")))
        }
        .await;
        result.map_err(|e| self.scrub(e))
    }

    fn key(&self) -> Result<Option<&str>, UpstreamError> {
        match (&self.key_env, &self.key) {
            (Some(_), Some(k)) => Ok(Some(k.0.as_str())),
            (Some(env), None) => Err(UpstreamError::MissingKey(env.clone())),
            (None, _) => Ok(None),
        }
    }

    fn openai_headers(&self) -> Result<HeaderMap, UpstreamError> {
        let mut h = self.base_headers();
        if let Some(k) = self.key()? {
            h.insert("authorization", sensitive(&format!("Bearer {k}"))?);
        }
        Ok(h)
    }

    fn anthropic_headers(&self) -> Result<HeaderMap, UpstreamError> {
        let mut h = self.base_headers();
        if let Some(k) = self.key()? {
            h.insert("x-api-key", sensitive(k)?);
        }
        let version = HeaderValue::from_str(&self.anthropic_version).map_err(|_| {
            UpstreamError::Config(format!(
                "target `{}`: anthropic_version is not a valid header value",
                self.id
            ))
        })?;
        h.insert("anthropic-version", version);
        Ok(h)
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
            Prepared::OpenAi(body) => {
                let resp = self
                    .start("/v1/chat/completions", self.openai_headers()?, &body)
                    .await?;
                if resp.status().is_success() {
                    Ok(stream::openai_chunks(resp, self.timeout))
                } else {
                    let (status, headers, bytes) = self.read(resp, self.timeout).await?;
                    openai::parse_response(status, &headers, &bytes).and_then(|_| {
                        Err(UpstreamError::InvalidResponse(
                            "unexpected non-stream answer".into(),
                        ))
                    })
                }
            }
            Prepared::Anthropic(body) => {
                let resp = self
                    .start("/v1/messages", self.anthropic_headers()?, &body)
                    .await?;
                if resp.status().is_success() {
                    Ok(anthropic_stream::chunks(resp, self.timeout, now_secs()))
                } else {
                    let (status, headers, bytes) = self.read(resp, self.timeout).await?;
                    Err(anthropic::error_from_response(
                        status,
                        &bytes,
                        retry_after(&headers),
                    ))
                }
            }
        };
        opened.map_err(|e| self.scrub(e))
    }

    /// Sends a request and waits for the response status and headers (not the body).
    async fn start(
        &self,
        path: &str,
        headers: HeaderMap,
        body: &Value,
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = format!("{}{}", self.base_url, path);
        let send = self.http.post(&url).headers(headers).json(body).send();
        match tokio::time::timeout(self.timeout, send).await {
            Ok(r) => r.map_err(|e| transport_error(&e, self.timeout)),
            Err(_) => Err(UpstreamError::Timeout(millis(self.timeout))),
        }
    }

    /// Reads a whole response body within `timeout`.
    async fn read(
        &self,
        resp: reqwest::Response,
        timeout: Duration,
    ) -> Result<(u16, HeaderMap, bytes::Bytes), UpstreamError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        match tokio::time::timeout(timeout, read_capped(resp, timeout)).await {
            Ok(r) => r.map(|bytes| (status, headers, bytes)),
            Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
        }
    }

    async fn post(
        &self,
        path: &str,
        headers: HeaderMap,
        body: &Value,
        timeout: Duration,
    ) -> Result<(u16, HeaderMap, bytes::Bytes), UpstreamError> {
        let url = format!("{}{}", self.base_url, path);
        let send = async {
            let resp = self
                .http
                .post(&url)
                .headers(headers)
                .json(body)
                .send()
                .await
                .map_err(|e| transport_error(&e, timeout))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = read_capped(resp, timeout).await?;
            Ok((status, headers, bytes))
        };
        // One deadline for connect, send and the whole body, so a trickling upstream
        // cannot hold a request longer than its timeout.
        match tokio::time::timeout(timeout, send).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
        }
    }

    /// Removes this target's key from any message the upstream echoed back.
    fn scrub(&self, e: UpstreamError) -> UpstreamError {
        // For 401/403 the upstream's text is replaced entirely: providers echo a masked key
        // (prefix and last characters) that exact-match redaction would miss.
        if let UpstreamError::Status {
            status: status @ (401 | 403),
            kind,
            code,
            retry_after,
            ..
        } = e
        {
            let env = self
                .key_env
                .as_deref()
                .unwrap_or("the target's secret_key_ref");
            return UpstreamError::Status {
                status,
                kind,
                code,
                message: format!(
                    "upstream `{}` rejected kt's credentials (HTTP {status}); check the key in {env}",
                    self.id
                ),
                retry_after,
            };
        }
        let Some(Secret(k)) = &self.key else { return e };
        match e {
            UpstreamError::Status {
                status,
                kind,
                code,
                message,
                retry_after,
            } => UpstreamError::Status {
                status,
                kind,
                code,
                message: redact(&message, &[k]),
                retry_after,
            },
            UpstreamError::InvalidResponse(m) => UpstreamError::InvalidResponse(redact(&m, &[k])),
            UpstreamError::Connect(m) => UpstreamError::Connect(redact(&m, &[k])),
            other => other,
        }
    }
}

/// The largest upstream answer kt reads: far above any real completion, far below what
/// would hurt the gateway if a broken upstream kept sending.
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// Reads a whole body, refusing one larger than [`MAX_UPSTREAM_BODY`].
async fn read_capped(
    mut resp: reqwest::Response,
    timeout: Duration,
) -> Result<bytes::Bytes, UpstreamError> {
    let too_big = || {
        UpstreamError::InvalidResponse(format!(
            "the answer is larger than {MAX_UPSTREAM_BODY} bytes"
        ))
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_UPSTREAM_BODY as u64)
    {
        return Err(too_big());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(&e, timeout))?
    {
        if buf.len() + chunk.len() > MAX_UPSTREAM_BODY {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn sensitive(v: &str) -> Result<HeaderValue, UpstreamError> {
    let mut hv = HeaderValue::from_str(v).map_err(|_| {
        UpstreamError::Config(
            "the API key contains characters not allowed in an HTTP header (a trailing newline?)"
                .into(),
        )
    })?;
    hv.set_sensitive(true);
    Ok(hv)
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> UpstreamError {
    // kt sets no reqwest-level request timeout (tokio enforces the target's), so a reqwest
    // timeout is the connect timeout: the host is unreachable, not slow to answer.
    if e.is_timeout() {
        return UpstreamError::Connect(format!(
            "connecting timed out (the whole call was allowed {} ms)",
            millis(timeout)
        ));
    }
    // reqwest's Display includes the URL but never headers, so no key can leak here.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    UpstreamError::Connect(msg)
}

/// The `retry-after` header, forwarded to callers on 429/503.
pub(super) fn retry_after(h: &HeaderMap) -> Option<String> {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
