//! Vertex AI service-account tokens end to end (provider-apis-more.md §4.2): a `TokenSource`
//! built from a key file on disk exchanges a signed JWT at a fake Google token endpoint that
//! verifies it, caches the token, shares one fetch among concurrent callers, refreshes ahead
//! of expiry in the background without delaying anyone, and reports refusals by account.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::google::{self, TEST_CLIENT_EMAIL, fake_token};

use std::time::{Duration, Instant};

use kt::providers::vertex::oauth::TokenSource;
use kt::providers::{Secret, UpstreamError, http_client};
use serde_json::json;

/// A fake token endpoint, a key file pointing at it, and a source reading that file.
async fn setup() -> (google::TokenServer, TokenSource, tempfile::TempDir) {
    let server = google::start_token_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = google::write_service_account(dir.path(), &server.url);
    let source = TokenSource::from_service_account_file(&path).unwrap();
    (server, source, dir)
}

fn http() -> reqwest::Client {
    http_client(1000).unwrap()
}

async fn token(source: &TokenSource, http: &reqwest::Client) -> String {
    source.token(http).await.unwrap().expose().to_string()
}

// Proves a key file yields a token the fake endpoint issued after verifying the JWT, once.
#[tokio::test]
async fn key_file_is_exchanged_for_a_cached_token() {
    let (server, source, _dir) = setup().await;
    let http = http();
    assert_eq!(source.client_email(), Some(TEST_CLIENT_EMAIL));
    assert_eq!(token(&source, &http).await, fake_token(1));
    assert_eq!(token(&source, &http).await, fake_token(1));
    assert_eq!(server.calls(), 1);
    assert_eq!(server.rejections(), Vec::<String>::new());
}

// Proves many concurrent first callers cause a single token request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_request() {
    let (server, source, _dir) = setup().await;
    server.set_delay(Duration::from_millis(300));
    let http = http();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (source, http) = (source.clone(), http.clone());
            tokio::spawn(async move { token(&source, &http).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), fake_token(1));
    }
    assert_eq!(server.calls(), 1);
}

// Proves a token inside the 5-minute refresh window is refreshed in the background: callers
// keep getting it at once while a slow refresh runs, then get the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_before_expiry_never_stalls_callers() {
    let (server, source, _dir) = setup().await;
    // 299 s: usable, but already less than 5 minutes left.
    server.set_expires_in("299");
    let http = http();
    assert_eq!(token(&source, &http).await, fake_token(1));
    server.set_delay(Duration::from_millis(1500));
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (source, http) = (source.clone(), http.clone());
            tokio::spawn(async move { token(&source, &http).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), fake_token(1));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "callers waited {:?} for a refresh",
        started.elapsed()
    );
    server.wait_for_calls(2).await;
    assert_eq!(server.calls(), 2, "one refresh for all callers");
    // The refreshed token replaces the old one once the slow answer lands.
    let mut latest = String::new();
    for _ in 0..100 {
        latest = token(&source, &http).await;
        if latest != fake_token(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(latest, fake_token(2));
    assert_eq!(server.rejections(), Vec::<String>::new());
}

// Proves a refusal by the token endpoint is a 401 naming the service account, not the key.
#[tokio::test]
async fn refusal_names_the_service_account() {
    let (server, source, _dir) = setup().await;
    server.fail_with(
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid grant: account not found"}),
    );
    let err = source.token(&http()).await.unwrap_err();
    let UpstreamError::Status {
        status, message, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 401);
    assert!(message.contains(TEST_CLIENT_EMAIL), "{message}");
    assert!(message.contains("account not found"), "{message}");
    assert!(!message.contains("PRIVATE KEY"), "{message}");
    assert!(!format!("{err:?} {source:?}").contains("PRIVATE KEY"));
}

// Proves a fixed access token is used as given and never refreshed.
#[tokio::test]
async fn fixed_token_is_used_as_given() {
    let source = TokenSource::fixed(Secret::new("ya29.operator-token"));
    assert_eq!(token(&source, &http()).await, "ya29.operator-token");
    assert_eq!(format!("{source:?}"), "TokenSource::Fixed([REDACTED])");
}
