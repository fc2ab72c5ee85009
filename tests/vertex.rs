//! Vertex AI targets end to end (provider-apis-more.md §4): the real `kt gateway run` in front
//! of a fake Vertex endpoint and a fake Google token server on 127.0.0.1. Claude on Vertex as
//! primary (rawPredict / streamRawPredict, `anthropic_version` in the body, no `model`) with a
//! service-account key whose token is fetched once and reused, or an access token from
//! `secret_key_ref`; Google's errors; requests Claude cannot express refused as primary and
//! recorded `untranslatable` as shadow; a failing token server never leaking the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::google::{self, TEST_CLIENT_EMAIL, TokenServer, fake_token};
use common::*;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const CLAUDE: &str = "claude-sonnet-4@20250514";
const TEXT: &str = "Hello from Claude on Vertex.";
const PROJECT: &str = "my-project";
const LOCATION: &str = "us-central1";
const RAW_PREDICT: &str = "/v1/projects/my-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict";
const STREAM_RAW_PREDICT: &str = "/v1/projects/my-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict";
const TOKEN_ENV: &str = "VERTEX_ACCESS_TOKEN";
const OPERATOR_TOKEN: &str = "ya29.operator-token-4d1e-distinctive";

/// One `vertex` target `vertex` at `url`; `extra` lines (six spaces of indent) follow.
fn vertex_target(url: &str, extra: &str) -> String {
    format!(
        "    - id: vertex
      provider: vertex
      project: {PROJECT}
      location: {LOCATION}
      base_url: {url}
{extra}"
    )
}

/// A config whose only target (the primary) is `vertex` at `url`.
fn vertex_config(url: &str, extra: &str) -> String {
    format!("{CONFIG_HEAD}{}", vertex_target(url, extra))
}

/// A fake token server and a service-account key file naming it, in a temp dir that must
/// outlive the gateway.
async fn service_account() -> (TokenServer, PathBuf, tempfile::TempDir) {
    let server = google::start_token_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = google::write_service_account(dir.path(), &server.url);
    (server, path, dir)
}

/// The gateway's environment with the key file as GOOGLE_APPLICATION_CREDENTIALS.
fn sa_envs(path: &std::path::Path) -> Vec<(&'static str, String)> {
    let mut e: Vec<(&'static str, String)> = keys()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    e.push((
        "GOOGLE_APPLICATION_CREDENTIALS",
        path.to_string_lossy().into_owned(),
    ));
    e
}

fn start(cfg: &str, envs: &[(&'static str, String)]) -> Kt {
    let borrowed: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Kt::start(cfg, &borrowed)
}

/// The token the fake Vertex accepts (`None`: any bearer), settable while it runs.
type Accepted = Arc<Mutex<Option<String>>>;

/// The fake Vertex endpoint for Claude: refuses a request without the accepted bearer
/// (Google's 401 shape), else answers in Anthropic's shapes; the last text picks errors.
async fn fake_vertex(accepted: Accepted) -> Upstream {
    fake_upstream(move |call| {
        let want = accepted.lock().unwrap().clone();
        let bearer = call.header("authorization").unwrap_or_default().to_string();
        if want.is_some_and(|t| bearer != format!("Bearer {t}")) {
            return Reply::json(
                401,
                json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
                    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token."}}),
            );
        }
        match last_text(call).as_str() {
            "quota" => Reply::json(
                429,
                json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                    "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-sonnet-4."}}),
            )
            .header("retry-after", "9"),
            _ if call.body["stream"] == true => Reply::sse(
                anthropic_sse("claude-sonnet-4-20250514", &["Hello", " from Claude", " on Vertex."], 25, 8),
                Duration::from_millis(30),
            ),
            _ => anthropic_ok("claude-sonnet-4-20250514", TEXT, 21, 7),
        }
    })
    .await
}

/// Checks what kt sent to Vertex for Claude: Anthropic's Messages body without `model`,
/// with Vertex's `anthropic_version`, and no `anthropic-version` header.
fn assert_claude_body(call: &Call) {
    assert_eq!(
        call.body["anthropic_version"], "vertex-2023-10-16",
        "{}",
        call.body
    );
    assert!(
        call.body.get("model").is_none(),
        "no model in the body: {}",
        call.body
    );
    assert!(call.body["max_tokens"].is_u64(), "{}", call.body);
    assert_eq!(call.header("anthropic-version"), None);
    assert_eq!(call.header("x-api-key"), None);
    assert!(
        call.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
}

// Proves Claude on Vertex as primary with a service-account key: plain calls go to
// :rawPredict and a stream to :streamRawPredict, each with the token the token server issued
// (one token request for three calls: cached), Anthropic's body without `model` and with
// `anthropic_version`; answers come back in OpenAI shape with tokens and TTFT in the events.
#[tokio::test(flavor = "multi_thread")]
async fn claude_on_vertex_with_a_service_account() {
    let (server, key_file, _dir) = service_account().await;
    let accepted: Accepted = Arc::new(Mutex::new(Some(fake_token(1))));
    let up = fake_vertex(accepted).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));

    let first = post(&kt, &chat(CLAUDE, "Hello.")).await;
    assert_eq!(first.status, 200, "{first:#?}");
    let b = &first.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["choices"][0]["message"]["content"], TEXT);
    assert_eq!(b["choices"][0]["finish_reason"], "stop");
    assert_eq!(b["usage"]["prompt_tokens"], 21);
    assert_eq!(b["usage"]["completion_tokens"], 7);
    assert_eq!(b["provider"], "vertex");

    let mut streamed = chat(CLAUDE, "Stream please.");
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let SseAnswer {
        status,
        id: stream_id,
        payloads,
    } = post_sse(&kt, &streamed).await;
    assert_eq!(status, 200, "{payloads:?}");
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = payloads[..payloads.len() - 1]
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from Claude on Vertex.");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        (&usage["prompt_tokens"], &usage["completion_tokens"]),
        (&json!(25), &json!(8))
    );

    let again = post(&kt, &chat(CLAUDE, "And again.")).await;
    assert_eq!(again.status, 200, "{again:#?}");
    stop(&mut kt);

    assert_eq!(server.calls(), 1, "one token for three calls");
    assert_eq!(server.rejections(), Vec::<String>::new());
    let calls = up.calls();
    assert_eq!(calls.len(), 3, "Vertex calls");
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, [RAW_PREDICT, STREAM_RAW_PREDICT, RAW_PREDICT]);
    for c in &calls {
        assert_eq!(c.query, "");
        assert_eq!(
            c.header("authorization"),
            Some(format!("Bearer {}", fake_token(1)).as_str())
        );
        assert_claude_body(c);
    }
    assert_eq!(
        calls[0].body,
        json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 4096,
               "messages": [{"role": "user", "content": "Hello."}]})
    );
    assert_eq!(calls[1].body["stream"], true, "{}", calls[1].body);
    assert!(calls[1].body.get("stream_options").is_none());
    assert_eq!(up.stream_log().completed, 1);

    let evs = events(&kt.db, 10);
    let e = event(&evs, &first.id);
    assert_eq!(e["target"], "vertex", "{e:#}");
    assert_eq!(e["provider"], "vertex");
    assert_eq!(e["model"], CLAUDE);
    assert_eq!(e["status"], "success");
    assert_eq!(
        (&e["input_tokens"], &e["output_tokens"]),
        (&json!(21), &json!(7))
    );
    let s = event(&evs, &stream_id);
    assert_eq!(s["status"], "success", "{s:#}");
    assert_eq!(s["stream"], true);
    assert_eq!(
        (&s["input_tokens"], &s["output_tokens"]),
        (&json!(25), &json!(8))
    );
    assert!(s["ttft_ms"].is_u64(), "{s:#}");
}

// Proves a `secret_key_ref` access token is sent as the bearer as given, with no token
// server involved, and stays out of kt's log (Vertex 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn access_token_from_secret_key_ref() {
    let accepted: Accepted = Arc::new(Mutex::new(Some(OPERATOR_TOKEN.to_string())));
    let up = fake_vertex(accepted).await;
    let extra = format!("      secret_key_ref:\n        env: {TOKEN_ENV}\n");
    let mut envs: Vec<(&'static str, String)> = keys()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    envs.push((TOKEN_ENV, OPERATOR_TOKEN.to_string()));
    // A key file naming a token server that does not exist: the access token wins.
    envs.push((
        "GOOGLE_APPLICATION_CREDENTIALS",
        "/nonexistent/sa.json".into(),
    ));
    let mut kt = start(&vertex_config(&up.url(), &extra), &envs);
    let a = post(&kt, &chat(CLAUDE, "Hello.")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["choices"][0]["message"]["content"], TEXT);
    let log = stop(&mut kt);
    assert_eq!(up.count(), 1, "Vertex calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, RAW_PREDICT);
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {OPERATOR_TOKEN}").as_str())
    );
    assert_claude_body(call);
    assert!(!log.contains(OPERATOR_TOKEN), "{log}");
}

// Proves Vertex's own errors reach the caller: Google's 429 (RESOURCE_EXHAUSTED) keeps its
// message and retry-after; a 401 for the token names the service account, never the token,
// and drops the cached token, so the next request fetches a fresh one and succeeds (Vertex
// 3 calls, token server 2).
#[tokio::test(flavor = "multi_thread")]
async fn vertex_errors_reach_the_caller() {
    let (server, key_file, _dir) = service_account().await;
    let accepted: Accepted = Arc::new(Mutex::new(Some(fake_token(1))));
    let up = fake_vertex(accepted.clone()).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));
    let limited = post(&kt, &chat(CLAUDE, "quota")).await;
    assert_eq!(limited.status, 429, "{limited:#?}");
    assert_eq!(limited.retry_after.as_deref(), Some("9"));
    assert_eq!(limited.body["error"]["type"], "rate_limit_error");
    assert!(
        limited.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Quota exceeded"),
        "{limited:#?}"
    );
    // Vertex stops accepting the cached token (revoked).
    *accepted.lock().unwrap() = Some("ya29.someone-else".into());
    let denied = post(&kt, &chat(CLAUDE, "Hello.")).await;
    assert_eq!(denied.status, 401, "{denied:#?}");
    let message = denied.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(TEST_CLIENT_EMAIL), "{message}");
    assert!(
        !denied.body.to_string().contains(&fake_token(1)),
        "{denied:#?}"
    );
    // Vertex now accepts the token the server issues next: kt must fetch it, not keep
    // sending the refused one until it expires.
    *accepted.lock().unwrap() = Some(fake_token(2));
    let recovered = post(&kt, &chat(CLAUDE, "Hello.")).await;
    assert_eq!(recovered.status, 200, "{recovered:#?}");
    let log = stop(&mut kt);
    assert!(!log.contains(&fake_token(1)), "{log}");
    assert_eq!(up.count(), 3, "Vertex calls");
    assert_eq!(server.calls(), 2);
}

// Proves a request Claude cannot express (`logprobs: true`) is refused before any call: 400
// naming `logprobs` in error.param, the event `rejected`/`untranslatable`, neither Vertex
// nor the token server called.
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_primary_request_is_refused() {
    let (server, key_file, _dir) = service_account().await;
    let up = fake_vertex(Arc::new(Mutex::new(None))).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));
    let mut req = chat(CLAUDE, "Hello.");
    req["logprobs"] = json!(true);
    let a = post(&kt, &req).await;
    assert_eq!(a.status, 400, "{a:#?}");
    assert_eq!(a.body["error"]["type"], "invalid_request_error", "{a:#?}");
    assert_eq!(a.body["error"]["param"], "logprobs", "{a:#?}");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("logprobs"),
        "{a:#?}"
    );
    stop(&mut kt);
    assert_eq!(up.count(), 0, "Vertex never called");
    assert_eq!(server.calls(), 0, "no token needed");
    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["status"], "rejected", "{e:#}");
    assert_eq!(e["http_status"], 400);
    assert_eq!(e["error"]["class"], "untranslatable", "{e:#}");
}

// Proves Claude on Vertex as a shadow of an OpenAI primary: a plain request is mirrored and
// compared; one with `logprobs: true` is answered by the primary and its shadow row is
// `untranslatable` naming the field, without calling Vertex (primary 2, Vertex 1).
#[tokio::test(flavor = "multi_thread")]
async fn vertex_shadow_records_untranslatable_requests() {
    let (server, key_file, _dir) = service_account().await;
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "Hello from OpenAI.", 12, 8)).await;
    let up = fake_vertex(Arc::new(Mutex::new(Some(fake_token(1))))).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        vertex_target(&up.url(), ""),
        mirror_yaml("openai", "vertex", "gpt-4o-mini", CLAUDE)
    );
    let mut kt = start(&cfg, &sa_envs(&key_file));
    let ok = post(&kt, &chat("gpt-4o-mini", "Hello.")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");
    let mut req = chat("gpt-4o-mini", "Hello with logprobs.");
    req["logprobs"] = json!(true);
    let lp = post(&kt, &req).await;
    assert_eq!(lp.status, 200, "{lp:#?}");
    assert_eq!(lp.body["provider"], "openai");
    stop(&mut kt);

    assert_eq!(
        (primary.count(), up.count()),
        (2, 1),
        "primary, Vertex calls"
    );
    assert_eq!(primary.calls()[1].body["logprobs"], true);
    let s = &up.calls()[0];
    assert_eq!(s.path, RAW_PREDICT);
    assert_eq!(s.header("x-kt-shadow"), Some("1"));
    assert_claude_body(s);
    assert_eq!(server.calls(), 1);

    let evs = events(&kt.db, 10);
    let tm = &event(&evs, &ok.id)["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    assert_eq!(tm["shadow"]["model"], CLAUDE);
    assert_eq!(tm["shadow"]["output_tokens"], 7);
    assert_eq!(tm["comparison"]["token_count_diff"], -1, "{tm:#}");

    let db =
        rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let row = |id: &str| -> (String, Option<String>, Option<String>, Option<f64>) {
        db.query_row(
            "SELECT shadow_status, shadow_error_class, shadow_error_message, content_similarity
             FROM mirror_pairs WHERE request_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    let (status, class, _, sim) = row(&ok.id);
    assert_eq!((status.as_str(), class), ("success", None));
    assert!(sim.is_some());
    let (status, class, message, sim) = row(&lp.id);
    assert_eq!(status, "error");
    assert_eq!(class.as_deref(), Some("untranslatable"));
    let message = message.unwrap();
    assert!(message.contains("logprobs"), "{message}");
    assert_eq!(sim, None, "nothing to compare");
    let e = event(&evs, &lp.id);
    assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
}

// Proves a token server refusing the service account (403) gives the caller an error naming
// the account and the key file's variable, never the private key or a token; Vertex is never
// called; a later success after recovery uses the new token (token server 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn failing_token_server_leaks_nothing() {
    let (server, key_file, _dir) = service_account().await;
    server.fail_with(
        403,
        json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
            "message": "Permission 'iam.serviceAccounts.getAccessToken' denied"}}),
    );
    let up = fake_vertex(Arc::new(Mutex::new(Some(fake_token(2))))).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));
    let a = post(&kt, &chat(CLAUDE, "Hello.")).await;
    assert_eq!(a.status, 403, "{a:#?}");
    let text = a.body.to_string();
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(TEST_CLIENT_EMAIL), "{message}");
    assert!(
        message.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{message}"
    );
    let key_line = google::TEST_PRIVATE_KEY.lines().nth(1).unwrap();
    for secret in ["PRIVATE KEY", key_line, "ya29."] {
        assert!(
            !text.contains(secret),
            "{secret} reached the caller: {text}"
        );
    }
    assert_eq!(up.count(), 0, "Vertex never called without a token");

    server.succeed();
    let b = post(&kt, &chat(CLAUDE, "Hello again.")).await;
    assert_eq!(b.status, 200, "{b:#?}");
    let log = stop(&mut kt);
    assert_eq!(server.calls(), 2);
    assert_eq!(up.count(), 1);
    for secret in ["PRIVATE KEY", key_line, &fake_token(2)] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["http_status"], 403, "{e:#}");
    assert_eq!(e["status"], "error");
    let stored = e.to_string();
    assert!(
        !stored.contains("PRIVATE KEY") && !stored.contains(key_line),
        "{e:#}"
    );
}

const GEMINI: &str = "gemini-2.5-flash";
const GENERATE: &str = "/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
const STREAM_GENERATE: &str = "/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent";

/// A `GenerateContentResponse` with these parts, as Vertex sends it.
fn gemini_response(parts: Value, finish: Option<&str>, usage: Option<(u64, u64, u64)>) -> Value {
    let mut candidate = json!({"index": 0, "content": {"role": "model", "parts": parts}});
    if let Some(f) = finish {
        candidate["finishReason"] = json!(f);
        candidate["safetyRatings"] = json!([{"category": "HARM_CATEGORY_HARASSMENT",
                                             "probability": "NEGLIGIBLE"}]);
    }
    let mut v = json!({"candidates": [candidate], "modelVersion": "gemini-2.5-flash-001",
                       "createTime": "2025-06-01T10:00:00.000000Z", "responseId": "vtx-resp-1"});
    if let Some((prompt, out, thoughts)) = usage {
        v["usageMetadata"] = json!({"promptTokenCount": prompt, "candidatesTokenCount": out,
            "thoughtsTokenCount": thoughts, "totalTokenCount": prompt + out + thoughts,
            "trafficType": "ON_DEMAND"});
    }
    v
}

/// The fake Vertex endpoint for Gemini: Google's 401 without the accepted bearer; a
/// stream of SSE `data:` events for `:streamGenerateContent`, else one response; the last
/// text picks a function call, or Google's 429.
async fn fake_gemini(token: String) -> Upstream {
    fake_upstream(move |call| {
        if call.header("authorization") != Some(format!("Bearer {token}").as_str()) {
            return Reply::json(
                401,
                json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
                                 "message": "Request had invalid authentication credentials."}}),
            );
        }
        let text = call.body["contents"]
            .as_array()
            .and_then(|c| c.last())
            .and_then(|c| c["parts"][0]["text"].as_str())
            .unwrap_or_default()
            .to_string();
        if call.path.ends_with(":streamGenerateContent") {
            let events = [
                gemini_response(json!([{"text": "Hello"}]), None, Some((9, 1, 0))),
                gemini_response(json!([{"text": " from Gemini"}]), None, Some((9, 3, 0))),
                gemini_response(
                    json!([{"text": " on Vertex."}]),
                    Some("STOP"),
                    Some((9, 5, 4)),
                ),
            ];
            let frames = events.iter().map(|e| sse_frame(None, e)).collect();
            return Reply::sse(frames, Duration::from_millis(30));
        }
        match text.as_str() {
            "weather in Paris?" => Reply::json(
                200,
                gemini_response(
                    json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                            "thoughtSignature": "c2lnbmF0dXJl"}]),
                    Some("STOP"),
                    Some((30, 6, 0)),
                ),
            ),
            "quota" => Reply::json(
                429,
                json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                    "message": "Resource exhausted. Please try again later.",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "11s"}]}}),
            ),
            _ => Reply::json(
                200,
                gemini_response(
                    json!([{"text": "Hello from Gemini on Vertex."}]),
                    Some("STOP"),
                    Some((11, 6, 2)),
                ),
            ),
        }
    })
    .await
}

// Proves Gemini on Vertex as primary, plain: :generateContent with the service account's
// token, a generateContent body (systemInstruction, contents/parts, generationConfig, no
// `model`); the answer (candidates/parts, usageMetadata with thoughts) comes back as a
// chat.completion; a functionCall part becomes tool_calls; Google's 429 keeps its meaning
// and RetryInfo's delay as retry-after (Vertex 3 calls, token server 1).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_on_vertex_plain() {
    let (server, key_file, _dir) = service_account().await;
    let up = fake_gemini(fake_token(1)).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));
    let a = post(
        &kt,
        &json!({"model": GEMINI, "max_tokens": 64, "temperature": 0.5, "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello."}]}),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    let b = &a.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["id"], "chatcmpl-vtx-resp-1");
    assert_eq!(b["model"], "gemini-2.5-flash-001");
    assert_eq!(
        b["choices"][0]["message"]["content"],
        "Hello from Gemini on Vertex."
    );
    assert_eq!(b["choices"][0]["finish_reason"], "stop");
    assert_eq!(b["usage"]["prompt_tokens"], 11);
    assert_eq!(
        b["usage"]["completion_tokens"], 8,
        "candidates + thoughts: {b:#}"
    );
    assert_eq!(
        b["usage"]["completion_tokens_details"]["reasoning_tokens"],
        2
    );
    assert_eq!(b["provider"], "vertex");

    let mut req = chat(GEMINI, "weather in Paris?");
    req["tools"] = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let tool = post(&kt, &req).await;
    assert_eq!(tool.status, 200, "{tool:#?}");
    let choice = &tool.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{choice:#}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );

    let limited = post(&kt, &chat(GEMINI, "quota")).await;
    assert_eq!(limited.status, 429, "{limited:#?}");
    assert_eq!(
        limited.body["error"]["type"], "rate_limit_error",
        "{limited:#?}"
    );
    assert_eq!(limited.retry_after.as_deref(), Some("11"), "from RetryInfo");
    stop(&mut kt);

    assert_eq!(server.calls(), 1, "one token for three calls");
    let calls = up.calls();
    assert_eq!(calls.len(), 3);
    for c in &calls {
        assert_eq!(c.path, GENERATE);
        assert_eq!(c.query, "");
        assert_eq!(c.header("x-goog-api-key"), None);
        assert!(c.body.get("model").is_none(), "{}", c.body);
    }
    assert_eq!(
        calls[0].body,
        json!({"systemInstruction": {"parts": [{"text": "You are terse."}]},
               "contents": [{"role": "user", "parts": [{"text": "Hello."}]}],
               "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5}})
    );
    assert_eq!(
        calls[1].body["tools"][0]["functionDeclarations"][0]["name"], "get_weather",
        "{}",
        calls[1].body
    );

    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["provider"], "vertex", "{e:#}");
    assert_eq!(e["model"], GEMINI);
    assert_eq!(
        (&e["input_tokens"], &e["output_tokens"]),
        (&json!(11), &json!(8))
    );
    assert_eq!(event(&evs, &tool.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &limited.id)["http_status"], 429);
}

// Proves Gemini on Vertex as primary, streamed: :streamGenerateContent?alt=sse with the
// token; the SSE events (each a GenerateContentResponse, no [DONE]) become OpenAI chunks
// ending in [DONE], the usage chunk from the last usageMetadata when asked; the event has
// the tokens and a TTFT (Vertex 2 calls, read to the end).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_on_vertex_streamed() {
    let (server, key_file, _dir) = service_account().await;
    let up = fake_gemini(fake_token(1)).await;
    let mut kt = start(&vertex_config(&up.url(), ""), &sa_envs(&key_file));
    let mut req = chat(GEMINI, "Stream please.");
    req["stream"] = json!(true);
    let SseAnswer {
        status,
        id: plain_id,
        payloads: plain,
    } = post_sse(&kt, &req).await;
    assert_eq!(status, 200, "{plain:?}");
    req["stream_options"] = json!({"include_usage": true});
    let SseAnswer {
        status,
        id: usage_id,
        payloads: with_usage,
    } = post_sse(&kt, &req).await;
    assert_eq!(status, 200, "{with_usage:?}");
    stop(&mut kt);

    for payloads in [&plain, &with_usage] {
        assert_eq!(
            payloads.last().map(String::as_str),
            Some("[DONE]"),
            "{payloads:?}"
        );
        let chunks: Vec<Value> = payloads[..payloads.len() - 1]
            .iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hello from Gemini on Vertex.");
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk", "{c}");
            assert_eq!(c["id"], "chatcmpl-vtx-resp-1", "{c}");
        }
        let finishes: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["finish_reason"].as_str().map(|_| c))
            .collect();
        assert_eq!(finishes.len(), 1, "{chunks:#?}");
        assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    }
    let last: Value = serde_json::from_str(&with_usage[with_usage.len() - 2]).unwrap();
    assert_eq!(last["choices"], json!([]), "{with_usage:?}");
    assert_eq!(last["usage"]["prompt_tokens"], 9);
    assert_eq!(last["usage"]["completion_tokens"], 9, "5 + 4 thoughts");
    assert!(
        !plain.iter().any(|p| p.contains("\"usage\"")),
        "no usage unasked: {plain:?}"
    );

    assert_eq!(server.calls(), 1);
    let calls = up.calls();
    assert_eq!(calls.len(), 2);
    for c in &calls {
        assert_eq!(c.path, STREAM_GENERATE);
        assert_eq!(c.query, "alt=sse");
        assert_eq!(
            c.header("authorization"),
            Some(format!("Bearer {}", fake_token(1)).as_str())
        );
        assert!(c.body.get("stream").is_none(), "{}", c.body);
        assert!(c.body.get("stream_options").is_none(), "{}", c.body);
    }
    let log = up.stream_log();
    assert_eq!((log.completed, log.dropped_early), (2, 0), "{log:?}");
    let evs = events(&kt.db, 10);
    for id in [&plain_id, &usage_id] {
        let e = event(&evs, id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["stream"], true);
        assert_eq!(
            (&e["input_tokens"], &e["output_tokens"]),
            (&json!(9), &json!(9))
        );
        assert_eq!(e["finish_reason"], "stop");
        assert!(e["ttft_ms"].is_u64(), "{e:#}");
    }
}

// Proves Gemini on Vertex as a streamed shadow of a streamed OpenAI primary: the shadow
// streams too (:streamGenerateContent?alt=sse, shadow marker), and the pair is stored with
// both TTFTs, the shadow's tokens and a content similarity (primary 1, Vertex 1).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_on_vertex_as_streamed_shadow() {
    let (server, key_file, _dir) = service_account().await;
    let primary = fake_upstream(|c| {
        Reply::sse(
            openai_sse(c, &["Hello", " from OpenAI."], 10, 4),
            Duration::from_millis(20),
        )
    })
    .await;
    let up = fake_gemini(fake_token(1)).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        vertex_target(&up.url(), ""),
        mirror_yaml("openai", "vertex", "gpt-4o-mini", GEMINI)
    );
    let mut kt = start(&cfg, &sa_envs(&key_file));
    let mut req = chat("gpt-4o-mini", "Stream please.");
    req["stream"] = json!(true);
    let SseAnswer {
        status,
        id,
        payloads,
    } = post_sse(&kt, &req).await;
    assert_eq!(status, 200, "{payloads:?}");
    stop(&mut kt);

    assert_eq!(
        (primary.count(), up.count()),
        (1, 1),
        "primary, Vertex calls"
    );
    assert_eq!(server.calls(), 1);
    let s = &up.calls()[0];
    assert_eq!(
        (s.path.as_str(), s.query.as_str()),
        (STREAM_GENERATE, "alt=sse")
    );
    assert_eq!(s.header("x-kt-shadow"), Some("1"));
    let evs = events(&kt.db, 10);
    let e = event(&evs, &id);
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    assert_eq!(tm["shadow"]["model"], GEMINI);
    assert_eq!(tm["shadow"]["input_tokens"], 9, "{tm:#}");
    assert_eq!(tm["shadow"]["output_tokens"], 9, "{tm:#}");
    assert!(tm["shadow"]["ttft_ms"].is_u64(), "{tm:#}");
    assert!(tm["primary"]["ttft_ms"].is_u64(), "{tm:#}");
    assert!(tm["comparison"]["content_similarity"].is_number(), "{tm:#}");
}
