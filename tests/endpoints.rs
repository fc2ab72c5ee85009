//! The small endpoints beside the completion routes, over raw HTTP against the real `kt`:
//! `GET /v1/models/{id}` in both dialects, and the Anthropic error shape of every
//! `/v1/messages*` path, served or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::json;

/// The Step 1 gateway (OpenAI primary `openai`, Anthropic shadow) with one more mapped
/// model whose id holds a `/`, as open-weight model ids do.
fn start(primary: &Upstream, shadow: &Upstream) -> Kt {
    Kt::start_mirror_with(
        primary,
        shadow,
        &[(
            "    gpt-4o: claude-sonnet-4-20250514\n",
            "    gpt-4o: claude-sonnet-4-20250514\n    meta-llama/Llama-3.3-70B: claude-sonnet-4-20250514\n",
        )],
    )
}

// Proves GET /v1/models/{id} answers OpenAI's Model for a routed model (ids with a `/`
// too), OpenAI's model_not_found 404 otherwise, and Anthropic's ModelInfo and
// not_found_error with an anthropic-version header; 405 for another method; no upstream call.
#[tokio::test(flavor = "multi_thread")]
async fn models_retrieve_in_both_dialects() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "x", 1, 1)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let mut kt = start(&primary, &shadow);
    let http = reqwest::Client::new();

    let found = send(http.get(kt.url("/v1/models/gpt-4o"))).await;
    assert_eq!(found.status, 200, "{found:#?}");
    assert_eq!(
        found.body,
        json!({"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"})
    );
    let slashed = send(http.get(kt.url("/v1/models/meta-llama/Llama-3.3-70B"))).await;
    assert_eq!(slashed.status, 200, "{slashed:#?}");
    assert_eq!(slashed.body["id"], "meta-llama/Llama-3.3-70B");

    let missing = send(http.get(kt.url("/v1/models/gpt-5-nano"))).await;
    assert_eq!(missing.status, 404, "{missing:#?}");
    let err = &missing.body["error"];
    assert_eq!(
        (&err["type"], &err["param"], &err["code"]),
        (
            &json!("invalid_request_error"),
            &json!("model"),
            &json!("model_not_found")
        ),
        "{missing:#?}"
    );
    assert!(err["message"].as_str().unwrap().contains("`gpt-5-nano`"));

    let anthropic = |path: &str| {
        http.get(kt.url(path))
            .header("anthropic-version", "2023-06-01")
    };
    let info = send(anthropic("/v1/models/gpt-4o-mini")).await;
    assert_eq!(info.status, 200, "{info:#?}");
    assert_eq!(
        info.body,
        json!({"type": "model", "id": "gpt-4o-mini", "display_name": "gpt-4o-mini",
               "created_at": "1970-01-01T00:00:00Z"})
    );
    let gone = send(anthropic("/v1/models/claude-opus-9")).await;
    assert_eq!(gone.status, 404, "{gone:#?}");
    assert_eq!(gone.body["type"], "error");
    assert_eq!(gone.body["error"]["type"], "not_found_error", "{gone:#?}");
    assert!(gone.body["error"].get("param").is_none(), "{gone:#?}");

    let wrong = send(http.post(kt.url("/v1/models/gpt-4o")).json(&json!({}))).await;
    assert_eq!(wrong.status, 405, "{wrong:#?}");
    assert_eq!(wrong.body["error"]["type"], "invalid_request_error");

    stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (0, 0), "primary, shadow");
}

// Proves every /v1/messages path answers in Anthropic's error shape: a path kt does not
// serve (/v1/messages/batches) is a 404 not_found_error naming the route, a wrong method
// a 405; both are recorded with ingress anthropic, and other unknown routes stay OpenAI's.
#[tokio::test(flavor = "multi_thread")]
async fn messages_paths_answer_in_anthropic_shape() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "x", 1, 1)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let mut kt = start(&primary, &shadow);
    let http = reqwest::Client::new();

    let batches = send(
        http.post(kt.url("/v1/messages/batches"))
            .json(&json!({"requests": []})),
    )
    .await;
    assert_eq!(batches.status, 404, "{batches:#?}");
    assert_eq!(batches.body["type"], "error", "{batches:#?}");
    assert_eq!(batches.body["error"]["type"], "not_found_error");
    assert!(
        batches.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`POST /v1/messages/batches`"),
        "{batches:#?}"
    );
    assert_eq!(batches.body["request_id"], batches.id.as_str());
    let wrong = send(http.get(kt.url("/v1/messages"))).await;
    assert_eq!(wrong.status, 405, "{wrong:#?}");
    assert_eq!(wrong.body["error"]["type"], "invalid_request_error");
    assert_eq!(wrong.body["type"], "error", "{wrong:#?}");
    let other = send(http.get(kt.url("/v1/messagesx"))).await;
    assert_eq!(other.status, 404, "{other:#?}");
    assert_eq!(other.body["error"]["type"], "invalid_request_error");
    assert_eq!(other.body["error"]["code"], json!(null), "{other:#?}");

    stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (0, 0), "primary, shadow");
    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &batches.id)["ingress"], "anthropic");
    assert_eq!(event(&evs, &wrong.id)["ingress"], "anthropic");
    assert_eq!(event(&evs, &other.id)["ingress"], "openai");
}
