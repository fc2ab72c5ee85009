//! Unit tests for Vertex AI tokens: the assertion's header and claims, key-file and
//! environment handling, token-answer parsing, and the cache (reuse, single-flight, refresh
//! ahead of expiry without stalling callers, failure back-off), against the fake token
//! endpoint shared with the integration tests.

use std::time::Duration;

use serde_json::json;

use super::*;

#[path = "../../../tests/common/google.rs"]
mod google;

use google::{TEST_CLIENT_EMAIL, TEST_KEY_ID, TEST_PRIVATE_KEY, TokenServer, fake_token};

fn http() -> reqwest::Client {
    crate::providers::http_client(1000).unwrap()
}

fn source_for(token_uri: &str) -> TokenSource {
    let json = google::service_account_json(token_uri).to_string();
    TokenSource::from_service_account_json(&json, "test key").unwrap()
}

fn account(source: &TokenSource) -> &Arc<Account> {
    match &source.0 {
        Source::ServiceAccount(a) => a,
        Source::Fixed(_) => panic!("not a service account"),
    }
}

/// A source using a fresh fake token server, and the server.
async fn started() -> (TokenSource, TokenServer) {
    let server = google::start_token_server().await;
    (source_for(&server.url), server)
}

/// The `Config` message of a key file that must be refused.
fn refused(json: &str) -> String {
    match TokenSource::from_service_account_json(json, "key.json") {
        Err(UpstreamError::Config(m)) => m,
        other => panic!("expected a Config error, got {other:?}"),
    }
}

fn key_file_with(field: &str, value: Value) -> String {
    let mut v = google::service_account_json("https://oauth2.googleapis.com/token");
    v[field] = value;
    v.to_string()
}

/// Moves the cached token's refresh time (and optionally its end of use) to now.
fn age_cache(source: &TokenSource, expired: bool) {
    let mut state = lock(&account(source).state);
    let cached = state.cached.as_mut().expect("a cached token");
    cached.refresh_at = Instant::now();
    if expired {
        cached.usable_until = Instant::now();
    }
}

// Proves the assertion is an RS256 JWT with kid, signed by the key, with Google's claims.
#[test]
fn assertion_has_googles_header_and_claims() {
    let source = source_for("https://oauth2.googleapis.com/token");
    let now = now_secs();
    let jwt = account(&source).assertion(now).unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid.as_deref(), Some(TEST_KEY_ID));
    let claims = google::verify_assertion(&jwt, "https://oauth2.googleapis.com/token").unwrap();
    assert_eq!(claims.iss, TEST_CLIENT_EMAIL);
    assert_eq!(claims.scope, SCOPE);
    assert_eq!(claims.aud, "https://oauth2.googleapis.com/token");
    assert_eq!((claims.iat, claims.exp), (now, now + 3600));
}

// Proves bad key files are refused with messages that never quote the private key.
#[test]
fn bad_key_files_are_refused_without_the_key() {
    let key_body = TEST_PRIVATE_KEY.lines().nth(1).unwrap();
    let cases = [
        (
            "not json".to_string(),
            "is not valid JSON (line 1, column 2)",
        ),
        (json!(TEST_PRIVATE_KEY).to_string(), "has no `client_email`"),
        (
            key_file_with("type", json!("authorized_user")),
            "holds `authorized_user` credentials",
        ),
        (
            key_file_with("client_email", json!(7)),
            "has no `client_email` string",
        ),
        (
            key_file_with("private_key", Value::Null),
            "has no `private_key` string",
        ),
        (
            key_file_with(
                "private_key",
                json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            ),
            "not a PEM RSA private key",
        ),
        (
            key_file_with(
                "private_key",
                json!(TEST_PRIVATE_KEY.replace(key_body, &"A".repeat(64))),
            ),
            "private_key",
        ),
        (
            key_file_with("token_uri", json!("http://example.com/token")),
            "not an https URL",
        ),
        (key_file_with("token_uri", json!("token")), "not a URL"),
    ];
    for (json, want) in cases {
        let msg = refused(&json);
        assert!(msg.contains(want), "{msg}");
        assert!(msg.starts_with("the key.json "), "{msg}");
        assert!(
            !msg.contains("PRIVATE KEY") && !msg.contains(&key_body[..20]),
            "{msg}"
        );
    }
}

// Proves a missing token_uri means Google's endpoint and a missing kid is allowed.
#[test]
fn token_uri_defaults_to_google() {
    let mut v = google::service_account_json("unused");
    let obj = v.as_object_mut().unwrap();
    obj.remove("token_uri");
    obj.remove("private_key_id");
    let source = TokenSource::from_service_account_json(&v.to_string(), "k").unwrap();
    assert_eq!(account(&source).token_uri, DEFAULT_TOKEN_URI);
    let jwt = account(&source).assertion(now_secs()).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&jwt).unwrap().kid, None);
}

// Proves an unreadable file is a Config error naming the path.
#[test]
fn unreadable_file_names_the_path() {
    let err = TokenSource::from_service_account_file(Path::new("/nonexistent/sa.json"));
    match err {
        Err(UpstreamError::Config(m)) => assert!(m.contains("/nonexistent/sa.json"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// Proves the secret_key_ref token wins, then GOOGLE_APPLICATION_CREDENTIALS, else MissingKey.
#[test]
fn environment_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = google::write_service_account(dir.path(), "https://oauth2.googleapis.com/token");
    let file = file.to_str().unwrap().to_string();
    let env = |vars: &'static [(&'static str, &'static str)], file: Option<String>| {
        move |name: &str| {
            if name == CREDENTIALS_ENV {
                return file.clone();
            }
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let both = TokenSource::from_lookup(
        Some("VTOK"),
        env(&[("VTOK", "ya29.x\n")], Some(file.clone())),
    );
    assert!(matches!(&both.unwrap().0, Source::Fixed(t) if t.expose() == "ya29.x"));
    let unset = TokenSource::from_lookup(Some("VTOK"), env(&[("VTOK", " ")], Some(file.clone())));
    assert_eq!(unset.unwrap().client_email(), Some(TEST_CLIENT_EMAIL));
    let none = TokenSource::from_lookup(None, env(&[], Some(file)));
    assert_eq!(none.unwrap().client_email(), Some(TEST_CLIENT_EMAIL));
    match TokenSource::from_lookup(None, env(&[], None)) {
        Err(UpstreamError::MissingKey(v)) => assert_eq!(v, "GOOGLE_APPLICATION_CREDENTIALS"),
        other => panic!("{other:?}"),
    }
    match TokenSource::from_lookup(Some("VTOK"), env(&[], Some(String::new()))) {
        Err(UpstreamError::MissingKey(v)) => {
            assert_eq!(v, "VTOK (or GOOGLE_APPLICATION_CREDENTIALS)");
        }
        other => panic!("{other:?}"),
    }
}

// Proves Debug shows neither a fixed token nor the private key.
#[test]
fn debug_hides_secrets() {
    let fixed = format!("{:?}", TokenSource::fixed(Secret::new("ya29.secret-token")));
    assert!(!fixed.contains("ya29"), "{fixed}");
    let sa = format!("{:?}", source_for("https://oauth2.googleapis.com/token"));
    assert!(sa.contains(TEST_CLIENT_EMAIL), "{sa}");
    assert!(!sa.contains("PRIVATE") && !sa.contains("MII"), "{sa}");
}

// Proves expires_in is read as a number or a string, defaulted, and clamped.
#[test]
fn token_answers_are_parsed() {
    let parse =
        |v: Value| parse_token(v.to_string().as_bytes()).map(|(t, d)| (t.expose().to_string(), d));
    let ok = |v: Value| parse(v).unwrap().1.as_secs();
    assert_eq!(ok(json!({"access_token": "a", "expires_in": 3599})), 3599);
    assert_eq!(ok(json!({"access_token": "a", "expires_in": "3599"})), 3599);
    assert_eq!(ok(json!({"access_token": "a"})), 3600);
    assert_eq!(ok(json!({"access_token": "a", "expires_in": -5})), 0);
    assert_eq!(ok(json!({"access_token": "a", "expires_in": 1e300})), 86400);
    for bad in [
        json!({"expires_in": 3599}),
        json!({"access_token": "", "expires_in": 3599}),
        json!({"access_token": "a b"}),
        json!({"access_token": "a", "expires_in": "soon"}),
        json!({"access_token": "a", "expires_in": [1]}),
    ] {
        assert!(
            matches!(parse(bad.clone()), Err(UpstreamError::InvalidResponse(_))),
            "{bad}"
        );
    }
    assert!(parse_token(b"<html>").is_err());
}

// Proves a fixed token is handed out as is, without any network call.
#[tokio::test]
async fn fixed_token_needs_no_server() {
    let source = TokenSource::fixed(Secret::new("ya29.fixed"));
    assert_eq!(source.token(&http()).await.unwrap().expose(), "ya29.fixed");
    assert_eq!(source.client_email(), None);
}

// Proves a fetched token is cached: a second call makes no request.
#[tokio::test]
async fn token_is_cached() {
    let (source, server) = started().await;
    let http = http();
    assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(1));
    assert_eq!(
        source.clone().token(&http).await.unwrap().expose(),
        fake_token(1)
    );
    assert_eq!(server.calls(), 1);
    assert!(server.rejections().is_empty(), "{:?}", server.rejections());
}

// Proves concurrent callers without a token share one fetch and get the same token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_share_one_fetch() {
    let (source, server) = started().await;
    server.set_delay(Duration::from_millis(300));
    let http = http();
    let calls = (0..16).map(|_| {
        let (source, http) = (source.clone(), http.clone());
        tokio::spawn(async move { source.token(&http).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap().expose(), fake_token(1));
    }
    assert_eq!(server.calls(), 1);
}

// Proves a token near expiry is still handed out at once while one background refresh,
// slow here, replaces it; concurrent callers never start a second refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_runs_in_background_without_stalling() {
    let (source, server) = started().await;
    let http = http();
    source.token(&http).await.unwrap();
    server.set_delay(Duration::from_millis(800));
    age_cache(&source, false);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(1));
    }
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    server.wait_for_calls(2).await;
    // Once the refresh lands, callers get the new token and no further fetch happens.
    let mut token = String::new();
    for _ in 0..200 {
        token = source.token(&http).await.unwrap().expose().to_string();
        if token != fake_token(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(token, fake_token(2));
    assert_eq!(server.calls(), 2);
}

// Proves callers wait for a new token when the cached one is too close to expiry.
#[tokio::test]
async fn expired_token_is_not_handed_out() {
    let (source, server) = started().await;
    let http = http();
    source.token(&http).await.unwrap();
    age_cache(&source, true);
    assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(2));
    assert_eq!(server.calls(), 2);
}

// Proves a short expires_in leaves the token inside the refresh window at once.
#[tokio::test]
async fn short_lifetimes_are_refreshed_early() {
    let (source, server) = started().await;
    server.set_expires_in(120);
    let http = http();
    source.token(&http).await.unwrap();
    {
        let state = lock(&account(&source).state);
        let cached = state.cached.as_ref().unwrap();
        assert!(cached.refresh_at <= Instant::now());
        let left = cached.usable_until - Instant::now();
        assert!(
            left > Duration::from_secs(85) && left <= Duration::from_secs(90),
            "{left:?}"
        );
    }
    assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(1));
    server.wait_for_calls(2).await;
}

// Proves a failed background refresh keeps the cached token and backs off.
#[tokio::test]
async fn failed_refresh_keeps_token_and_backs_off() {
    let (source, server) = started().await;
    let http = http();
    source.token(&http).await.unwrap();
    server.fail_with(503, json!({"error": "temporarily_unavailable"}));
    age_cache(&source, false);
    assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(1));
    server.wait_for_calls(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..10 {
        assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(1));
    }
    assert_eq!(server.calls(), 2, "no retry before the back-off ends");
    assert!(lock(&account(&source).state).flight.is_none());
}

// Proves token endpoint refusals become 401 errors naming the account, never the key.
#[tokio::test]
async fn refusals_name_the_account() {
    let (source, server) = started().await;
    let http = http();
    for status in [400, 401, 403] {
        let body = json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."});
        server.fail_with(status, body);
        match source.token(&http).await {
            Err(UpstreamError::Status {
                status: s,
                code,
                message,
                ..
            }) => {
                assert_eq!(s, if status == 403 { 403 } else { 401 });
                assert_eq!(code.as_deref(), Some("invalid_grant"));
                assert!(message.contains(TEST_CLIENT_EMAIL), "{message}");
                assert!(message.contains("Invalid JWT Signature."), "{message}");
                assert!(
                    !message.contains("PRIVATE KEY") && !message.contains("eyJ"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    server.fail_with(429, json!({"error": {"message": "quota"}}));
    match source.token(&http).await {
        Err(UpstreamError::Status {
            status: 429,
            message,
            ..
        }) => assert!(message.contains("quota")),
        other => panic!("{other:?}"),
    }
    // A failed fetch leaves nothing in flight: the next call tries again and succeeds.
    server.succeed();
    assert_eq!(source.token(&http).await.unwrap().expose(), fake_token(5));
}

// Proves an unreachable token endpoint is a Connect error naming it.
#[tokio::test]
async fn unreachable_endpoint_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    drop(listener);
    match source_for(&url).token(&http()).await {
        Err(UpstreamError::Connect(m)) => assert!(m.contains(&url), "{m}"),
        other => panic!("{other:?}"),
    }
}
