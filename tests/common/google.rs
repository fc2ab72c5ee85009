//! Google OAuth test helpers: a fake token endpoint on 127.0.0.1 that checks a JWT-bearer
//! request the way Google's does (grant type, RS256 signature against the committed test
//! key's public half, `iss`, `aud` equal to its own URL, `scope`, one-hour lifetime) before
//! issuing `ya29.fake-N` tokens, and a writer for service-account key files holding that
//! test key (tests/fixtures/vertex-test-sa.*.pem). Self-contained, so the lib's unit tests
//! include it too (src/providers/vertex/oauth_tests.rs).
// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The committed test key (PKCS#8 PEM, as in Google's key files). A test key only.
pub const TEST_PRIVATE_KEY: &str = include_str!("../fixtures/vertex-test-sa.key.pem");
/// Its public half (SPKI PEM), which the fake token server verifies signatures with.
pub const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/vertex-test-sa.pub.pem");
/// The service account the test key file names.
pub const TEST_CLIENT_EMAIL: &str = "kt-test@kt-test-project.iam.gserviceaccount.com";
/// The test key file's `private_key_id`; the fake server requires it as the JWT `kid`.
pub const TEST_KEY_ID: &str = "0000000000000000000000000000000000test";
/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the fake token server answers valid requests; change it with the `TokenServer`
/// setters while it runs.
#[derive(Debug, Clone)]
pub struct TokenReply {
    /// `expires_in` as sent: a number, or a string as some Google endpoints send it.
    pub expires_in: Value,
    /// Wait this long before answering.
    pub delay: Duration,
    /// `Some((status, body))`: answer that instead of a token.
    pub failure: Option<(u16, Value)>,
}

/// A running fake token endpoint.
#[derive(Clone)]
pub struct TokenServer {
    /// The token URL (`http://127.0.0.1:PORT/token`): the key file's `token_uri`, and the
    /// `aud` the server requires.
    pub url: String,
    /// Requests received, counted on arrival (before the delay).
    pub calls: Arc<AtomicUsize>,
    /// Why requests were refused as malformed (form, JWT, claims); empty when all were good.
    pub rejections: Arc<Mutex<Vec<String>>>,
    reply: Arc<Mutex<TokenReply>>,
}

impl TokenServer {
    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    /// Why requests were refused, in order.
    pub fn rejections(&self) -> Vec<String> {
        self.rejections.lock().unwrap().clone()
    }
    /// Issued tokens last `expires_in` (a number or a string) from now on.
    pub fn set_expires_in(&self, expires_in: impl Into<Value>) {
        self.reply.lock().unwrap().expires_in = expires_in.into();
    }
    /// Answers wait `delay` from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.reply.lock().unwrap().delay = delay;
    }
    /// Valid requests get `status` with `body` from now on, not a token.
    pub fn fail_with(&self, status: u16, body: Value) {
        self.reply.lock().unwrap().failure = Some((status, body));
    }
    /// Valid requests get tokens again.
    pub fn succeed(&self) {
        self.reply.lock().unwrap().failure = None;
    }
    /// Waits up to 5 s for `n` requests to have arrived.
    pub async fn wait_for_calls(&self, n: usize) {
        for _ in 0..500 {
            if self.calls() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the token server got {} calls, expected {n}", self.calls());
    }
}

/// The token a fake server issues for its `n`th request (1-based).
pub fn fake_token(n: usize) -> String {
    format!("ya29.fake-{n}")
}

/// Starts a fake Google token endpoint on 127.0.0.1:0 issuing one-hour tokens at once.
/// Must be called inside a tokio runtime; the server lives as long as the runtime.
pub async fn start_token_server() -> TokenServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let server = TokenServer {
        url,
        calls: Arc::default(),
        rejections: Arc::default(),
        reply: Arc::new(Mutex::new(TokenReply {
            expires_in: json!(3599),
            delay: Duration::ZERO,
            failure: None,
        })),
    };
    let app = axum::Router::new()
        .route("/token", axum::routing::post(answer))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    server
}

async fn answer(State(server): State<TokenServer>, headers: HeaderMap, body: Bytes) -> Response {
    let n = server.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let reply = server.reply.lock().unwrap().clone();
    tokio::time::sleep(reply.delay).await;
    if let Err(why) = check_request(&server.url, &headers, &body) {
        server.rejections.lock().unwrap().push(why.clone());
        // Google's answer to a bad assertion.
        let body = json!({"error": "invalid_grant", "error_description": why});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    if let Some((status, body)) = reply.failure {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    }
    let body = json!({
        "access_token": fake_token(n),
        "expires_in": reply.expires_in,
        "token_type": "Bearer",
    });
    axum::Json(body).into_response()
}

/// The claims a valid assertion carries.
#[derive(Debug, serde::Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// Checks a token request as Google would: the form, then the assertion.
fn check_request(url: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("content-type is {content_type:?}"));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some(GRANT_TYPE) {
        return Err(format!("grant_type is {:?}", get("grant_type")));
    }
    let assertion = get("assertion").ok_or("no assertion")?;
    verify_assertion(assertion, url).map(|_| ())
}

/// Verifies a JWT-bearer assertion signed with the test key for token endpoint `aud`:
/// header (RS256, `kid`), signature, and claims. Returns the claims.
pub fn verify_assertion(jwt: &str, aud: &str) -> Result<AssertionClaims, String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("bad JWT header: {e}"))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(TEST_KEY_ID) {
        return Err(format!("header is {header:?}"));
    }
    if header.typ.as_deref() != Some("JWT") {
        return Err(format!("typ is {:?}", header.typ));
    }
    let key = DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[TEST_CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(jwt, &key, &validation)
        .map_err(|e| format!("JWT rejected: {e}"))?
        .claims;
    if claims.scope != CLOUD_PLATFORM_SCOPE {
        return Err(format!("scope is {:?}", claims.scope));
    }
    if claims.exp != claims.iat + 3600 {
        return Err(format!("lifetime is {} s", claims.exp - claims.iat));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if claims.iat.abs_diff(now) > 60 {
        return Err(format!("iat {} is not now ({now})", claims.iat));
    }
    Ok(claims)
}

/// A service-account key file's JSON, in the shape Google's console downloads, with the
/// test key and `token_uri`.
pub fn service_account_json(token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": "kt-test-project",
        "private_key_id": TEST_KEY_ID,
        "private_key": TEST_PRIVATE_KEY,
        "client_email": TEST_CLIENT_EMAIL,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/kt-test%40kt-test-project.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com"
    })
}

/// Writes [`service_account_json`] to `dir/service-account.json` and returns its path.
pub fn write_service_account(dir: &Path, token_uri: &str) -> PathBuf {
    let path = dir.join("service-account.json");
    let text = serde_json::to_string_pretty(&service_account_json(token_uri)).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}
