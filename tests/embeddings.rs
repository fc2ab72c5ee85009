//! `POST /v1/embeddings` against the real `kt`: passed through to OpenAI (by the base-URL
//! joining rule) and Azure OpenAI, translated both ways for the Gemini API, refused for
//! kinds that serve no embeddings through kt; recorded with `ingress = 'embeddings'`,
//! never mirrored; content policies apply to the input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::{Value, json};

const KEY: &str = "test-cloud-key-0123456789abcdef";
const MODEL: &str = "text-embedding-3-small";

/// A gateway whose primary is `target` (id `p`), mirroring every `MODEL` request to an
/// OpenAI shadow `s` at `shadow` (so a mapping exists and yet nothing is mirrored), with a
/// content filter of `action`.
fn start(target: &str, shadow: &Upstream, action: &str) -> Kt {
    let cfg = format!(
        "{CONFIG_HEAD}{target}{}{}policies:\n  - name: content-filter\n    type: content_filter\n    action: {action}\n",
        target_yaml("s", "openai", &shadow.url(), "OPENAI_API_KEY", ""),
        mirror_yaml("p", "s", MODEL, "text-embedding-3-large"),
    );
    let mut env = keys();
    env.push(("CLOUD_KEY", KEY));
    Kt::start(&cfg, &env)
}

async fn embed(kt: &Kt, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(kt.url("/v1/embeddings"))
            .json(body),
    )
    .await
}

/// OpenAI's answer for `n` inputs, 8 prompt tokens.
fn openai_embeddings(n: usize) -> Reply {
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [0.1, -0.2]}))
        .collect();
    Reply::json(
        200,
        json!({"object": "list", "data": data, "model": MODEL,
               "usage": {"prompt_tokens": 8, "total_tokens": 8}}),
    )
}

// Proves an OpenAI primary gets the caller's request at /v1/embeddings (or /embeddings
// under a versioned base URL) with its key, the answer passes through with `provider`,
// and the event row has ingress embeddings, the prompt tokens and mirror_state
// not_eligible; the shadow is never called although the model is mapped; an upstream
// error keeps its param and code; the report's mirror states and failures leave them out.
#[tokio::test(flavor = "multi_thread")]
async fn openai_primary_passes_embeddings_through() {
    let primary = fake_upstream(|c| {
        if c.body["input"] == "" {
            Reply::json(
                400,
                json!({"error": {"message": "'$.input' is invalid.", "type": "invalid_request_error",
                                 "param": "input", "code": "invalid_value"}}),
            )
        } else {
            openai_embeddings(c.body["input"].as_array().map_or(1, Vec::len))
        }
    })
    .await;
    let shadow = fake_upstream(|_| openai_embeddings(1)).await;
    let target = target_yaml("p", "openai", &primary.url(), "OPENAI_API_KEY", "");
    let mut kt = start(&target, &shadow, "flag");
    let sent =
        json!({"model": MODEL, "input": ["a", "b"], "encoding_format": "float", "dimensions": 2});
    let a = embed(&kt, &sent).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["data"][1]["embedding"], json!([0.1, -0.2]));
    assert_eq!(a.body["usage"]["prompt_tokens"], 8);
    assert_eq!(a.body["provider"], "p");
    let bad = embed(&kt, &json!({"model": MODEL, "input": ""})).await;
    assert_eq!(bad.status, 400, "{bad:#?}");
    assert_eq!(
        (&bad.body["error"]["param"], &bad.body["error"]["code"]),
        (&json!("input"), &json!("invalid_value"))
    );
    let missing = embed(&kt, &json!({"model": MODEL})).await;
    assert_eq!(missing.status, 400, "{missing:#?}");
    assert_eq!(missing.body["error"]["param"], "input");
    // One chat request (unmapped model, answered with garbage: 502) for contrast.
    let chat_failed = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_eq!(chat_failed.status, 502, "{chat_failed:#?}");
    stop(&mut kt);

    // The report counts only the chat request: in the mirror states and the failures.
    let report = mirror_report(&kt);
    assert_eq!(
        report["mirror_states"],
        json!([{"mirror_state": "no_model_mapping", "count": 1, "share": 1.0}]),
        "{report:#}"
    );
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{report:#}");
    assert_eq!(failures[0]["http_status"], 502);

    assert_eq!(shadow.count(), 0, "embeddings are never mirrored");
    let calls = primary.calls();
    assert_eq!(calls.len(), 3, "the request without input never left kt");
    assert_eq!(calls[0].path, "/v1/embeddings");
    assert_eq!(calls[0].body, sent);
    assert_eq!(
        calls[0].header("authorization"),
        Some(&*format!("Bearer {OPENAI_KEY}"))
    );
    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(
        (&e["ingress"], &e["status"], &e["mirror_state"], &e["model"]),
        (
            &json!("embeddings"),
            &json!("success"),
            &json!("not_eligible"),
            &json!(MODEL)
        ),
        "{e:#}"
    );
    assert_eq!(e["input_tokens"], 8, "{e:#}");
    assert!(e["output_tokens"].is_null(), "{e:#}");
    let e = event(&evs, &bad.id);
    assert_eq!(
        (&e["status"], &e["http_status"]),
        (&json!("error"), &json!(400))
    );
    assert_eq!(event(&evs, &missing.id)["status"], "rejected");

    // A base URL with a version segment (an OpenAI-compatible server) gets `/embeddings`.
    let versioned = target_yaml(
        "p",
        "openai",
        &format!("{}/v1beta/openai", primary.url()),
        "OPENAI_API_KEY",
        "",
    );
    let mut kt = start(&versioned, &shadow, "flag");
    assert_eq!(
        embed(&kt, &json!({"model": MODEL, "input": "x"}))
            .await
            .status,
        200
    );
    stop(&mut kt);
    assert_eq!(primary.calls()[3].path, "/v1beta/openai/embeddings");
}

// Proves Azure OpenAI gets the deployment path with its `api-key`, the configured
// deployment as the body's model.
#[tokio::test(flavor = "multi_thread")]
async fn azure_primary_uses_the_deployment_path() {
    let primary = fake_upstream(|_| openai_embeddings(1)).await;
    let shadow = fake_upstream(|_| openai_embeddings(1)).await;
    let target = target_yaml(
        "p",
        "azure_openai",
        &primary.url(),
        "CLOUD_KEY",
        "      api_version: \"2024-10-21\"\n      deployments:\n        text-embedding-3-small: prod-embed\n",
    );
    let mut kt = start(&target, &shadow, "flag");
    let a = embed(&kt, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);
    let c = &primary.calls()[0];
    assert_eq!(c.path, "/openai/deployments/prod-embed/embeddings");
    assert_eq!(c.header("api-key"), Some(KEY));
    assert_eq!(c.body["model"], "prod-embed");
}

// Proves the Gemini API gets one batchEmbedContents request per input text (dimensions as
// outputDimensionality) and its vectors come back in OpenAI's list, as floats or, as the
// OpenAI SDK asks by default, base64 of little-endian f32; token-id input is a 400.
#[tokio::test(flavor = "multi_thread")]
async fn gemini_primary_is_translated_both_ways() {
    let primary = fake_upstream(|c| {
        let n = c.body["requests"].as_array().map_or(0, Vec::len);
        let embeddings: Vec<Value> = (0..n).map(|_| json!({"values": [1.0, 0.5]})).collect();
        Reply::json(200, json!({ "embeddings": embeddings }))
    })
    .await;
    let shadow = fake_upstream(|_| openai_embeddings(1)).await;
    let target = target_yaml("p", "gemini", &primary.url(), "CLOUD_KEY", "");
    let mut kt = start(&target, &shadow, "flag");
    let model = "gemini-embedding-001";
    let floats = embed(
        &kt,
        &json!({"model": model, "input": ["a", "b"], "dimensions": 2}),
    )
    .await;
    assert_eq!(floats.status, 200, "{floats:#?}");
    assert_eq!(floats.body["object"], "list");
    assert_eq!(floats.body["model"], model);
    assert_eq!(
        floats.body["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [1.0, 0.5]})
    );
    let b64 = embed(
        &kt,
        &json!({"model": model, "input": "a", "encoding_format": "base64"}),
    )
    .await;
    assert_eq!(b64.body["data"][0]["embedding"], "AACAPwAAAD8=", "{b64:#?}");
    let tokens = embed(&kt, &json!({"model": model, "input": [[1, 2]]})).await;
    assert_eq!(tokens.status, 400, "{tokens:#?}");
    assert_eq!(tokens.body["error"]["param"], "input");
    stop(&mut kt);
    let calls = primary.calls();
    assert_eq!(calls.len(), 2, "token ids never left kt");
    assert_eq!(
        calls[0].path,
        "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    assert_eq!(calls[0].header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        calls[0].body["requests"][1],
        json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]},
               "outputDimensionality": 2})
    );
    let evs = events(&kt.db, 10);
    assert!(
        event(&evs, &floats.id)["input_tokens"].is_null(),
        "Gemini reports no usage"
    );
}

// Proves kinds without embeddings through kt (anthropic here) answer 400 naming the
// primary and its kind, without calling it; a `block` policy refuses an input with an
// e-mail address (status blocked) before any call.
#[tokio::test(flavor = "multi_thread")]
async fn unsupported_kinds_and_blocked_inputs_are_refused() {
    let primary = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let shadow = fake_upstream(|_| openai_embeddings(1)).await;
    let target = target_yaml("p", "anthropic", &primary.url(), "ANTHROPIC_API_KEY", "");
    let mut kt = start(&target, &shadow, "block");
    let a = embed(&kt, &json!({"model": MODEL, "input": "x"})).await;
    assert_eq!(a.status, 400, "{a:#?}");
    assert_eq!(a.body["error"]["type"], "invalid_request_error");
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`p` (kind anthropic) does not serve embeddings through kt"),
        "{message}"
    );
    let blocked = embed(
        &kt,
        &json!({"model": MODEL, "input": ["ok", "mail jane.doe@example.com"]}),
    )
    .await;
    assert_eq!(blocked.status, 400, "{blocked:#?}");
    assert_eq!(blocked.body["error"]["code"], "content_policy_violation");
    stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (0, 0), "primary, shadow");
    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &a.id)["status"], "rejected");
    assert_eq!(event(&evs, &blocked.id)["status"], "blocked");
}
