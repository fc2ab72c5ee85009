//! Google OAuth2 access tokens for Vertex AI (provider-apis-more.md §4.2): a fixed token from
//! the environment, or a service-account key file exchanged for tokens with the JWT-bearer
//! grant (RFC 7523). Tokens are cached and refreshed in the background a few minutes before
//! they expire, so a request never waits for the token endpoint while a usable token is at
//! hand; only when there is none do callers wait, all of them on the same single fetch.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use tokio::time::Instant;

use crate::providers::{Secret, UpstreamError, default_error_type, redact};

/// The OAuth scope Vertex AI accepts.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, used when a key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The environment variable naming a service-account key file (Application Default
/// Credentials use the same name).
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// RFC 7523's grant type.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the signed assertion: Google accepts at most one hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// Once less than this remains on the cached token, a call starts a background refresh.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// A token this close to its expiry is no longer handed out: the request still has to reach
/// Vertex, and the two clocks may differ a little.
pub const EXPIRY_SLACK: Duration = Duration::from_secs(30);
/// After a failed background refresh the next attempt waits this long, so a broken token
/// endpoint is not called on every request while the cached token still works.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// The whole token request, connecting to the last byte.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Token answers are a few hundred bytes; a larger body is not one.
const MAX_TOKEN_BODY: usize = 64 * 1024;
/// Longest token lifetime believed, whatever `expires_in` says (Google's is one hour).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Where a Vertex AI target's access tokens come from. Cloning is cheap and clones share
/// one cache, so the primary and background providers of a target can use the same source.
/// `Debug` shows neither the token nor the private key.
#[derive(Clone)]
pub struct TokenSource(Source);

#[derive(Clone)]
enum Source {
    /// An access token given by the operator (`secret_key_ref`); kt never refreshes it.
    Fixed(Secret),
    ServiceAccount(Arc<Account>),
}

/// A service account's key and its token cache.
struct Account {
    client_email: String,
    token_uri: String,
    /// `private_key_id`, sent as the JWT `kid` so Google picks the right public key.
    key_id: Option<String>,
    key: EncodingKey,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The one token fetch running, if any: waiting callers share it, and while it is set
    /// nobody starts another.
    flight: Option<Flight>,
}

struct Cached {
    token: Secret,
    /// Past this the token is not handed out (expiry minus [`EXPIRY_SLACK`]).
    usable_until: Instant,
    /// Past this a call starts a background refresh (expiry minus [`REFRESH_BEFORE`]).
    refresh_at: Instant,
}

/// A token fetch that any number of callers can await; it runs as its own task, so it
/// completes (and fills the cache) even when every caller gave up waiting.
type Flight = Shared<BoxFuture<'static, Result<Secret, UpstreamError>>>;

/// The claims Google expects in the assertion (provider-apis-more.md §4.2).
#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl TokenSource {
    /// A source that always hands out `token` (an access token from `secret_key_ref`, e.g.
    /// the output of `gcloud auth print-access-token`). It is never refreshed.
    pub fn fixed(token: Secret) -> Self {
        Self(Source::Fixed(token))
    }

    /// The source for a target: the access token in environment variable `key_env` when it
    /// is named and set; otherwise the service-account key file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`. Neither: [`UpstreamError::MissingKey`].
    pub fn from_env(key_env: Option<&str>) -> Result<Self, UpstreamError> {
        Self::from_lookup(key_env, |name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] with the environment read through `env` (tests must not change
    /// the process environment: other tests read it concurrently).
    fn from_lookup(
        key_env: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, UpstreamError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(token) = key_env.and_then(set) {
            return Ok(Self::fixed(Secret::new(token.trim())));
        }
        match set(CREDENTIALS_ENV) {
            Some(path) => Self::from_service_account_file(Path::new(&path)),
            // Name what the operator configured, so the message points at their setting.
            None => Err(UpstreamError::MissingKey(match key_env {
                Some(name) => format!("{name} (or {CREDENTIALS_ENV})"),
                None => CREDENTIALS_ENV.to_string(),
            })),
        }
    }

    /// A source exchanging the service-account key in the JSON file at `path` for tokens.
    /// The key is checked now (it must sign), so a bad file fails at startup, not on the
    /// first request. Errors are [`UpstreamError::Config`] and never quote the key.
    pub fn from_service_account_file(path: &Path) -> Result<Self, UpstreamError> {
        let origin = format!("service-account file {}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|e| UpstreamError::Config(format!("cannot read the {origin}: {e}")))?;
        Self::from_service_account_json(&text, &origin)
    }

    /// A source for the service-account key `json`; `origin` names it in error messages.
    pub fn from_service_account_json(json: &str, origin: &str) -> Result<Self, UpstreamError> {
        Account::parse(json, origin).map(|a| Self(Source::ServiceAccount(Arc::new(a))))
    }

    /// The service account's email, `None` for a fixed token.
    pub fn client_email(&self) -> Option<&str> {
        match &self.0 {
            Source::Fixed(_) => None,
            Source::ServiceAccount(a) => Some(&a.client_email),
        }
    }

    /// Forgets the cached token after Google refused one (401: revoked, or the key's
    /// access changed), so the next call fetches a fresh one instead of failing until the
    /// old one expires, as Google's own client libraries do. At worst a token fetched
    /// meanwhile is dropped too and fetched again. A fixed token has nothing to refresh.
    pub fn invalidate(&self) {
        if let Source::ServiceAccount(account) = &self.0 {
            lock(&account.state).cached = None;
        }
    }

    /// An access token for `Authorization: Bearer`. A cached token with more than
    /// [`EXPIRY_SLACK`] left is returned at once; when less than [`REFRESH_BEFORE`] is left,
    /// one background refresh starts as well. Without a usable token the caller waits for
    /// a fetch, which concurrent callers share. Must be called within a tokio runtime.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, UpstreamError> {
        let account = match &self.0 {
            Source::Fixed(token) => return Ok(token.clone()),
            Source::ServiceAccount(account) => account,
        };
        let flight = {
            let mut state = lock(&account.state);
            let now = Instant::now();
            let usable = state
                .cached
                .as_ref()
                .filter(|c| now < c.usable_until)
                .map(|c| (c.token.clone(), now >= c.refresh_at));
            if let Some((token, stale)) = usable {
                if stale && state.flight.is_none() {
                    // Nobody awaits this one: the caller goes on with the cached token.
                    state.flight = Some(Account::start_fetch(account, http));
                }
                return Ok(token);
            }
            state
                .flight
                .get_or_insert_with(|| Account::start_fetch(account, http))
                .clone()
        };
        flight.await
    }
}

impl Account {
    /// Reads a service-account key file's JSON. It goes through `Value` first because
    /// serde's type errors quote the offending value, which could be the key itself.
    fn parse(json: &str, origin: &str) -> Result<Self, UpstreamError> {
        let bad = |what: String| UpstreamError::Config(format!("the {origin} {what}"));
        let v: Value = serde_json::from_str(json).map_err(|e| {
            bad(format!(
                "is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let field = |name: &str| v.get(name).and_then(Value::as_str);
        let kind = v.get("type").map(|t| t.as_str().unwrap_or("?"));
        if let Some(kind) = kind.filter(|k| *k != "service_account") {
            let kind: String = kind.chars().take(40).collect();
            return Err(bad(format!(
                "holds `{kind}` credentials; kt needs a service-account key file \
                 (\"type\": \"service_account\"), or an access token in the target's secret_key_ref"
            )));
        }
        let required = |name: &str| {
            field(name)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| bad(format!("has no `{name}` string")))
        };
        let client_email = required("client_email")?.to_string();
        let pem = required("private_key")?;
        let token_uri = field("token_uri").unwrap_or(DEFAULT_TOKEN_URI).to_string();
        check_token_uri(&token_uri).map_err(|why| bad(format!("has a `token_uri` {why}")))?;
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(bad(
                "cannot be used: this kt build has no RSA signing provider".to_string(),
            ));
        }
        // The parse error is not shown: its details could quote bytes of the key.
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| bad("has a `private_key` that is not a PEM RSA private key".into()))?;
        let account = Self {
            client_email,
            token_uri,
            key_id: field("private_key_id").map(str::to_string),
            key,
            state: Mutex::default(),
        };
        account.assertion(now_secs()).map_err(|_| {
            bad("has a `private_key` that cannot sign (not a usable RSA key)".into())
        })?;
        Ok(account)
    }

    /// The signed JWT asking for a token (provider-apis-more.md §4.2). `aud` is the token
    /// endpoint, as Google's Go client and gcp_auth send it; for Google's own files it is
    /// the fixed `https://oauth2.googleapis.com/token` google-auth sends.
    fn assertion(&self, now: u64) -> Result<String, UpstreamError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|_| {
            UpstreamError::Config(format!(
                "cannot sign a token request for service account {}",
                self.client_email
            ))
        })
    }

    /// Starts the one fetch as its own task and returns it as a shareable future. Called
    /// with the state locked, so two callers can never both start one.
    fn start_fetch(account: &Arc<Self>, http: &reqwest::Client) -> Flight {
        let task = tokio::spawn({
            let account = Arc::clone(account);
            let http = http.clone();
            async move {
                // Clears `flight` when the task ends, even by a panic or runtime shutdown,
                // so a later call can start a new fetch.
                let _end = FlightEnd(Arc::clone(&account));
                let sent = Instant::now();
                let result = account.fetch(&http).await;
                account.store(sent, result)
            }
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(if e.is_cancelled() {
                    UpstreamError::Cancelled
                } else {
                    UpstreamError::Config("fetching a Vertex AI access token failed".into())
                })
            })
        }
        .boxed()
        .shared()
    }

    /// Puts a fetched token in the cache; after a failure, keeps a still-usable token and
    /// delays the next refresh attempt.
    fn store(
        &self,
        sent: Instant,
        result: Result<(Secret, Duration), UpstreamError>,
    ) -> Result<Secret, UpstreamError> {
        let mut state = lock(&self.state);
        match result {
            Ok((token, lifetime)) => {
                // Counted from when the request was sent: the token cannot be older.
                let expires = sent.checked_add(lifetime).unwrap_or(sent);
                let before = |d| expires.checked_sub(d).unwrap_or(sent);
                state.cached = Some(Cached {
                    token: token.clone(),
                    usable_until: before(EXPIRY_SLACK),
                    refresh_at: before(REFRESH_BEFORE),
                });
                tracing::debug!(
                    client_email = %self.client_email,
                    lifetime_secs = lifetime.as_secs(),
                    "fetched a Vertex AI access token"
                );
                Ok(token)
            }
            Err(e) => {
                let now = Instant::now();
                if let Some(c) = state.cached.as_mut().filter(|c| now < c.usable_until) {
                    c.refresh_at = now.checked_add(RETRY_AFTER_FAILURE).unwrap_or(now);
                    tracing::warn!(
                        client_email = %self.client_email,
                        error = %e,
                        "refreshing the Vertex AI access token failed; the cached token is used until it expires"
                    );
                }
                Err(e)
            }
        }
    }

    /// One JWT-bearer exchange at the token endpoint: the token and its lifetime.
    async fn fetch(&self, http: &reqwest::Client) -> Result<(Secret, Duration), UpstreamError> {
        let assertion = self.assertion(now_secs())?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", &assertion)
            .finish();
        let resp = http
            .post(&self.token_uri)
            .timeout(TOKEN_REQUEST_TIMEOUT)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = resp.status().as_u16();
        let retry_after = crate::providers::http::retry_after(resp.headers());
        let body = self.read_body(resp).await?;
        if !(200..300).contains(&status) {
            return Err(self.refused(status, &body, retry_after, &assertion));
        }
        parse_token(&body)
    }

    /// The answer's body, refusing one larger than [`MAX_TOKEN_BODY`].
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e))? {
            if buf.len() + chunk.len() > MAX_TOKEN_BODY {
                return Err(UpstreamError::InvalidResponse(format!(
                    "the token endpoint {} answered more than {MAX_TOKEN_BODY} bytes",
                    self.token_uri
                )));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// A non-2xx answer as an error naming the service account (never the key). A 400
    /// becomes 401: Google answers a bad signature, an unknown or disabled account, or a
    /// deleted key with 400 `invalid_grant`, and none of that is the caller's fault.
    fn refused(
        &self,
        status: u16,
        body: &[u8],
        retry_after: Option<String>,
        assertion: &str,
    ) -> UpstreamError {
        let v: Option<Value> = serde_json::from_slice(body).ok();
        let v = v.as_ref();
        // OAuth's `{"error","error_description"}`, or google.rpc's `{"error":{"message"}}`.
        let code = v
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let detail = v
            .and_then(|v| v.get("error_description"))
            .or_else(|| v.and_then(|v| v.pointer("/error/message")))
            .and_then(Value::as_str)
            .map(|d| {
                redact(d, &[assertion])
                    .chars()
                    .take(200)
                    .collect::<String>()
            });
        // A 400 here is never the caller's request: it is kt's credentials.
        let status = if status == 400 { 401 } else { status };
        let mut message = format!(
            "Google's token endpoint {} refused service account {} (HTTP {status}",
            self.token_uri, self.client_email
        );
        for part in [code.as_deref(), detail.as_deref()].into_iter().flatten() {
            message.push_str(": ");
            message.push_str(part);
        }
        message.push(')');
        if matches!(status, 401 | 403) {
            message.push_str("; check the key file, and that the account and key are enabled");
        }
        UpstreamError::Status {
            status,
            kind: default_error_type(status).to_string(),
            code,
            param: None,
            message,
            retry_after,
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            return UpstreamError::Timeout(
                u64::try_from(TOKEN_REQUEST_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
            );
        }
        // reqwest's Display names the URL, never the body, so the assertion cannot leak.
        let mut msg = format!("token endpoint {}: {e}", self.token_uri);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        UpstreamError::Connect(msg)
    }
}

/// Clears the running fetch when its task ends (see [`Account::start_fetch`]).
struct FlightEnd(Arc<Account>);

impl Drop for FlightEnd {
    fn drop(&mut self) {
        lock(&self.0.state).flight = None;
    }
}

/// Reads `{"access_token","expires_in","token_type"}`. `expires_in` may be a number or a
/// string (google-auth accepts both); when absent, Google's one hour is assumed.
fn parse_token(body: &[u8]) -> Result<(Secret, Duration), UpstreamError> {
    let invalid =
        |what: &str| UpstreamError::InvalidResponse(format!("the token endpoint's {what}"));
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("answer is not JSON"))?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("answer has no `access_token`"))?;
    // It goes into a header; finding out here gives the clearer error.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "`access_token` has characters not allowed in a header",
        ));
    }
    let secs = match v.get("expires_in") {
        None | Some(Value::Null) => Some(3600.0),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    }
    .filter(|s| s.is_finite())
    .ok_or_else(|| invalid("`expires_in` is not a number"))?;
    let lifetime = Duration::try_from_secs_f64(secs.max(0.0))
        .unwrap_or(MAX_LIFETIME)
        .min(MAX_LIFETIME);
    Ok((Secret::new(token), lifetime))
}

/// `Err(why)` unless `uri` is an https URL, or http to this machine (the test servers):
/// the assertion sent there is a credential for an hour.
fn check_token_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|_| format!("that is not a URL ({uri})"))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("that is not an https URL ({uri})")),
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is consistent after every statement, so a panic elsewhere cannot leave
    // it half-written: the poison flag can be ignored.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Fixed(_) => f.write_str("TokenSource::Fixed([REDACTED])"),
            Source::ServiceAccount(a) => f
                .debug_struct("TokenSource::ServiceAccount")
                .field("client_email", &a.client_email)
                .field("token_uri", &a.token_uri)
                .field("private_key_id", &a.key_id)
                .finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
#[path = "oauth_tests.rs"]
mod tests;
