//! Caller authentication (`gateway.api_keys`) and the bind guard: only callers with a key
//! reach an upstream, every refusal is recorded, and kt will not listen beyond loopback
//! unauthenticated by accident.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::time::{Duration, Instant};

const GATEWAY_KEY: &str = "kt-gw-0123456789abcdef";

fn with_auth(cfg: &str) -> String {
    format!("{cfg}gateway:\n  api_keys:\n    - env: KT_GATEWAY_KEY\n")
}

// Proves a missing or wrong key is a 401 in OpenAI shape with no upstream call, recorded
// as rejected; the right key (Bearer or x-api-key) gets the primary's answer.
#[tokio::test(flavor = "multi_thread")]
async fn callers_need_a_gateway_key() {
    let up = fake_upstream(|c| openai_ok(&model_of(c), "hi", 3, 1)).await;
    let cfg = with_auth(&format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", &up.url(), "OPENAI_API_KEY", "")
    ));
    let mut envs = keys();
    envs.push(("KT_GATEWAY_KEY", GATEWAY_KEY));
    let mut kt = Kt::start(&cfg, &envs);
    let http = reqwest::Client::new();
    let url = kt.url("/v1/chat/completions");
    let body = chat("gpt-4o-mini", "hello");

    let none = send(http.post(&url).json(&body)).await;
    let wrong = send(http.post(&url).bearer_auth("kt-gw-wrong").json(&body)).await;
    for a in [&none, &wrong] {
        assert_eq!(a.status, 401, "{a:#?}");
        assert_eq!(a.body["error"]["code"], "invalid_api_key");
        assert_eq!(a.body["error"]["type"], "invalid_request_error");
        assert!(!a.body.to_string().contains(GATEWAY_KEY));
    }
    assert_eq!(up.count(), 0, "no upstream call without a valid key");

    let bearer = send(http.post(&url).bearer_auth(GATEWAY_KEY).json(&body)).await;
    let x_api_key = send(http.post(&url).header("x-api-key", GATEWAY_KEY).json(&body)).await;
    assert_eq!((bearer.status, x_api_key.status), (200, 200));
    assert_eq!(up.count(), 2);
    // The caller's gateway key is never forwarded: the upstream sees kt's provider key.
    for c in up.calls() {
        assert_eq!(
            c.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str())
        );
        assert!(c.header("x-api-key").is_none());
    }
    // Health checks stay open for load balancers.
    assert_eq!(
        http.get(kt.url("/healthz")).send().await.unwrap().status(),
        200
    );

    let log = kt.stop();
    assert!(!log.contains(GATEWAY_KEY), "gateway key in the log");
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 4, "every request is recorded, refused ones too");
    let refused: Vec<_> = evs.iter().filter(|e| e["http_status"] == 401).collect();
    assert_eq!(refused.len(), 2);
    for e in refused {
        assert_eq!(e["status"], "rejected");
        assert_eq!(e["error"]["class"], "unauthenticated");
        assert_eq!(e["mirror_state"], "not_eligible");
    }
}

// Proves kt refuses to start when gateway.api_keys names only unset variables.
#[test]
fn unset_gateway_keys_refuse_to_start() {
    let cfg = with_auth(&format!(
        "{CONFIG_HEAD}{}",
        "    - id: sim\n      provider: simulated\n"
    ));
    let (dir, path) = write_config(&cfg);
    let out = gateway_cmd(&path)
        .arg("--db")
        .arg(dir.path().join("kt.db"))
        .env_remove("KT_GATEWAY_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KT_GATEWAY_KEY") && err.contains("none of them is set"),
        "{err}"
    );
}

// Proves a non-loopback --host without caller authentication is refused at once (before
// binding), and that the refusal says how to fix it.
#[test]
fn non_loopback_bind_needs_authentication() {
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        "    - id: sim\n      provider: simulated\n"
    );
    let (dir, path) = write_config(&cfg);
    let started = Instant::now();
    let out = gateway_cmd(&path)
        .args(["--host", "0.0.0.0", "--db"])
        .arg(dir.path().join("kt.db"))
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0") && err.contains("--allow-unauthenticated"),
        "{err}"
    );
}
