//! Failures as callers see them: upstream errors passed through or mapped to 502/504,
//! malformed requests rejected with 400, unknown routes, a missing API key. Every error
//! is in the OpenAI shape, and every request leaves an event row. Real `kt`, fake upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::*;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POSTs a raw body to the chat route.
async fn post_raw(client: &reqwest::Client, kt: &Kt, body: &str) -> Answer {
    send(
        client
            .post(kt.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// Asserts the OpenAI error shape: exactly `{"error":{"message","type","param","code"}}`,
/// JSON content type, and the given status and type.
fn assert_openai_error(a: &Answer, status: u16, kind: &str) {
    assert_eq!(a.status, status, "{a:#?}");
    assert!(a.content_type.starts_with("application/json"), "{a:#?}");
    let err = a.body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("not OpenAI-shaped: {a:#?}"));
    let mut keys: Vec<&str> = err.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "param", "type"], "{a:#?}");
    assert_eq!(a.body.as_object().map(|o| o.len()), Some(1), "{a:#?}");
    assert_eq!(err["type"], kind, "{a:#?}");
    assert!(
        !err["message"].as_str().unwrap_or_default().is_empty(),
        "{a:#?}"
    );
}

/// Config: OpenAI primary with a 300 ms timeout at `primary_url`, an OpenAI shadow at
/// `shadow_url` mirroring every gpt-4o-mini request.
fn config(primary_url: &str, shadow_url: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml(
            "openai",
            "openai",
            primary_url,
            "OPENAI_API_KEY",
            "      timeout_ms: 300\n"
        ),
        target_yaml("shadow", "openai", shadow_url, "OPENAI_API_KEY", ""),
        mirror_yaml("openai", "shadow", "gpt-4o-mini", "gpt-4o"),
    )
}

/// The primary fake: the prompt names the failure to produce.
fn primary_reply(call: &Call) -> Reply {
    match prompt_of(call).as_str() {
        "case:400" => openai_error(
            400,
            "invalid_request_error",
            "context_length_exceeded",
            "This model's maximum context length is 128000 tokens.",
        ),
        "case:401" => openai_error(
            401,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        ),
        "case:404" => openai_error(
            404,
            "invalid_request_error",
            "model_not_found",
            "The model `gpt-4o-mini` does not exist or you do not have access to it.",
        ),
        "case:429" => openai_error(
            429,
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests",
        )
        .header("retry-after", "7"),
        "case:500" => openai_error(
            500,
            "server_error",
            "internal_error",
            "The server had an error",
        ),
        "case:503" => openai_error(
            503,
            "server_error",
            "overloaded",
            "The engine is overloaded",
        ),
        "case:slow" => {
            openai_ok("gpt-4o-mini", "too late", 5, 2).after(Duration::from_millis(1500))
        }
        "case:html" => Reply::raw(200, "<html>oops</html>"),
        _ => openai_ok("gpt-4o-mini", "fine", 5, 2),
    }
}

/// Starts the `primary_reply` fake, a shadow fake that always succeeds, and a gateway on
/// `config` mirroring from one to the other.
async fn start_gateway() -> (Upstream, Upstream, Kt) {
    let primary = fake_upstream(primary_reply).await;
    let shadow = fake_upstream(|_| openai_ok("gpt-4o", "shadow", 5, 3)).await;
    let kt = Kt::start(&config(&primary.url(), &shadow.url()), &keys());
    (primary, shadow, kt)
}

// Proves upstream 4xx pass through (status, message, type, code, retry-after), 5xx and a
// non-JSON 200 become 502, a slow primary becomes 504, each with an event row of status error
// (primary 9 calls, shadow 9: failed primaries are still mirrored).
#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_reach_caller_in_openai_shape() {
    let (primary, shadow, mut kt) = start_gateway().await;
    let client = reqwest::Client::new();
    let ask = |prompt: &str| {
        client
            .post(kt.url("/v1/chat/completions"))
            .json(&chat("gpt-4o-mini", prompt))
    };

    // 4xx: passed through unchanged.
    let mut sent = Vec::new();
    for (case, status, kind, code, message) in [
        (
            "case:400",
            400,
            "invalid_request_error",
            "context_length_exceeded",
            "This model's maximum context length is 128000 tokens.",
        ),
        (
            "case:401",
            401,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        ),
        (
            "case:404",
            404,
            "invalid_request_error",
            "model_not_found",
            "The model `gpt-4o-mini` does not exist or you do not have access to it.",
        ),
        (
            "case:429",
            429,
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests",
        ),
    ] {
        let a = send(ask(case)).await;
        assert_openai_error(&a, status, kind);
        assert_eq!(a.body["error"]["code"], code, "{case}: {a:#?}");
        if status == 401 {
            // Credential failures never pass the upstream's text on (it can echo a masked key).
            let m = a.body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                m.contains("rejected kt's credentials") && m.contains("OPENAI_API_KEY"),
                "{a:#?}"
            );
        } else {
            assert_eq!(a.body["error"]["message"], message, "{case}: {a:#?}");
        }
        if status == 429 {
            assert_eq!(a.retry_after.as_deref(), Some("7"), "{a:#?}");
        }
        sent.push((a, "http_4xx"));
    }

    // 5xx and garbage: 502; too slow: 504 after about the target's 300 ms, not the fake's 1.5 s.
    for (case, status, kind, class) in [
        ("case:500", 502, "upstream_error", "http_5xx"),
        ("case:503", 502, "upstream_error", "http_5xx"),
        ("case:html", 502, "upstream_error", "invalid_response"),
        ("case:slow", 504, "timeout_error", "timeout"),
    ] {
        let a = send(ask(case)).await;
        assert_openai_error(&a, status, kind);
        if case == "case:slow" {
            assert!(a.elapsed < Duration::from_millis(1200), "{a:#?}");
        }
        sent.push((a, class));
    }
    let ok = send(ask("all good")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");

    stop(&mut kt);
    assert_eq!(primary.count(), 9, "primary calls");
    assert_eq!(shadow.count(), 9, "shadow calls");
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), 9, "one event per request");
    for (a, class) in &sent {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "error", "{e:#}");
        assert_eq!(e["http_status"], a.status, "{e:#}");
        assert_eq!(e["error"]["class"], *class, "{e:#}");
        assert!(
            !e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
        let tm = &e["traffic_mirror"];
        assert_eq!(tm["primary"]["status"], "error", "{tm:#}");
        assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
        assert_eq!(
            tm["comparison"],
            json!({"latency_diff_ms": null, "token_count_diff": null, "content_similarity": null, "ttft_diff_ms": null}),
            "nothing to compare with a failed primary"
        );
    }
    assert_eq!(event(&evs, &ok.id)["status"], "success");
}

// Regression (param became null): an upstream 400 naming its `param` keeps param and code
// for an OpenAI caller, plain and streamed, and an Anthropic caller gets the field in front
// of the message (Anthropic's error shape has no `param`).
#[tokio::test(flavor = "multi_thread")]
async fn upstream_error_keeps_param_and_code() {
    let primary = fake_upstream(|_| {
        Reply::json(
            400,
            json!({"error": {"message": "Invalid value for 'content'.", "type": "invalid_request_error",
                             "param": "messages[0].content", "code": "invalid_value"}}),
        )
    })
    .await;
    let shadow = fake_upstream(|_| openai_ok("gpt-4o", "shadow", 5, 3)).await;
    let mut kt = Kt::start(&config(&primary.url(), &shadow.url()), &keys());
    let mut streamed = chat("gpt-4o-mini", "hi");
    streamed["stream"] = json!(true);
    for body in [chat("gpt-4o-mini", "hi"), streamed] {
        let a = post(&kt, &body).await;
        assert_openai_error(&a, 400, "invalid_request_error");
        assert_eq!(a.body["error"]["param"], "messages[0].content", "{a:#?}");
        assert_eq!(a.body["error"]["code"], "invalid_value", "{a:#?}");
        assert_eq!(a.body["error"]["message"], "Invalid value for 'content'.");
    }
    let a = send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .json(&json!({"model": "gpt-4o-mini", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]})),
    )
    .await;
    assert_eq!(
        (a.status, &a.body["type"]),
        (400, &json!("error")),
        "{a:#?}"
    );
    assert_eq!(
        a.body["error"],
        json!({"type": "invalid_request_error",
               "message": "messages[0].content: Invalid value for 'content'."})
    );
    stop(&mut kt);
    assert_eq!(primary.count(), 3, "primary calls");
}

// Proves an unreachable primary (connection refused) answers 502 upstream_error, recorded as
// error/connect.
#[tokio::test(flavor = "multi_thread")]
async fn unreachable_primary_is_502() {
    let shadow = fake_upstream(|_| openai_ok("gpt-4o", "shadow", 5, 3)).await;
    let mut kt = Kt::start(&config(&refused_url(), &shadow.url()), &keys());
    let a = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_openai_error(&a, 502, "upstream_error");
    assert!(!a.body.to_string().contains(OPENAI_KEY));
    stop(&mut kt);
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 1);
    let e = event(&evs, &a.id);
    assert_eq!(e["status"], "error", "{e:#}");
    assert_eq!(e["http_status"], 502);
    assert_eq!(e["error"]["class"], "connect", "{e:#}");
}

// Proves malformed requests are answered 400 invalid_request_error with the right `param`,
// recorded as rejected with the same status, and never forwarded or mirrored (primary 0, shadow 0).
#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_rejected_and_not_mirrored() {
    let (primary, shadow, mut kt) = start_gateway().await;
    let client = reqwest::Client::new();
    let msgs = r#"[{"role":"user","content":"hi"}]"#;
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "malformed JSON",
            r#"{"model": "gpt-4o-mini", "messages": "#.into(),
            Value::Null,
        ),
        ("body not an object", "[1, 2, 3]".into(), Value::Null),
        (
            "missing model",
            format!(r#"{{"messages": {msgs}}}"#),
            json!("model"),
        ),
        (
            "empty model",
            format!(r#"{{"model": "", "messages": {msgs}}}"#),
            json!("model"),
        ),
        (
            "missing messages",
            r#"{"model": "gpt-4o-mini"}"#.into(),
            json!("messages"),
        ),
        (
            "empty messages",
            r#"{"model": "gpt-4o-mini", "messages": []}"#.into(),
            json!("messages"),
        ),
        (
            // Regression guard (SSRF): a caller cannot pick the upstream host.
            "api_base in the body",
            format!(
                r#"{{"model": "gpt-4o-mini", "messages": {msgs}, "api_base": "http://169.254.169.254"}}"#
            ),
            json!("api_base"),
        ),
    ];
    let mut sent = Vec::new();
    for (what, body, param) in &cases {
        let a = post_raw(&client, &kt, body).await;
        assert_openai_error(&a, 400, "invalid_request_error");
        assert_eq!(a.body["error"]["param"], *param, "{what}: {a:#?}");
        assert!(!a.id.is_empty(), "{what}: no x-request-id");
        sent.push(a);
    }
    stop(&mut kt);
    assert_eq!(primary.count(), 0, "primary calls");
    assert_eq!(
        shadow.count(),
        0,
        "shadow calls: rejected requests are never mirrored"
    );
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), cases.len(), "one event per request");
    for a in &sent {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "rejected", "{e:#}");
        assert_eq!(e["http_status"], 400, "{e:#}");
        assert_eq!(e["error"]["class"], "bad_request", "{e:#}");
        assert_ne!(e["mirror_state"], "mirrored", "{e:#}");
        assert!(e["traffic_mirror"].is_null(), "{e:#}");
    }
}

// Proves unknown routes answer 404 and a wrong method 405, both in the OpenAI shape and each
// with an event row (README: "Every one of these requests gets an event row"), and /healthz
// answers 200 {"status":"ok"}. Nothing reaches the upstreams.
#[tokio::test(flavor = "multi_thread")]
async fn routes_answer_in_openai_shape() {
    let (primary, shadow, mut kt) = start_gateway().await;
    let client = reqwest::Client::new();

    let health = send(client.get(kt.url("/healthz"))).await;
    assert_eq!(health.status, 200, "{health:#?}");
    assert!(health.content_type.starts_with("application/json"));
    assert_eq!(health.body["status"], "ok", "{health:#?}");

    let mut sent = Vec::new();
    let unknown = send(
        client
            .post(kt.url("/v1/completions"))
            .json(&chat("gpt-4o-mini", "hi")),
    )
    .await;
    assert_openai_error(&unknown, 404, "invalid_request_error");
    sent.push(unknown);
    let unknown_get = send(client.get(kt.url("/v1/audio/voices"))).await;
    assert_openai_error(&unknown_get, 404, "invalid_request_error");
    sent.push(unknown_get);
    let wrong_method = send(client.get(kt.url("/v1/chat/completions"))).await;
    assert_openai_error(&wrong_method, 405, "invalid_request_error");
    sent.push(wrong_method);

    stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (0, 0),
        "primary, shadow calls"
    );
    let evs = events(&kt.db, 100);
    let mut statuses: Vec<u64> = evs
        .iter()
        .filter_map(|e| e["http_status"].as_u64())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [404, 404, 405],
        "404/405 requests need their event rows (healthz excluded): {evs:#?}"
    );
    for e in &evs {
        assert!(e["status"] == "rejected" || e["status"] == "error", "{e:#}");
        assert!(e["traffic_mirror"].is_null());
    }
}

// Proves a target whose secret_key_ref env var is unset still lets the gateway start (with a
// warning naming the variable), and a request answers 500 missing_api_key naming the variable
// without calling the upstream (primary 0).
#[tokio::test(flavor = "multi_thread")]
async fn missing_api_key_is_500_and_upstream_not_called() {
    const VAR: &str = "KT_TEST_NEVER_SET_KEY_4F2A";
    assert!(std::env::var_os(VAR).is_none());
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "fine", 5, 2)).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", &primary.url(), VAR, "")
    );
    let mut kt = Kt::start(&cfg, &keys());
    let startup = kt.log_text();
    assert!(
        startup
            .lines()
            .any(|l| l.contains("WARN") && l.contains(VAR)),
        "no warning naming {VAR}:\n{startup}"
    );
    let a = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_openai_error(&a, 500, "server_error");
    assert_eq!(a.body["error"]["code"], "missing_api_key", "{a:#?}");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(VAR),
        "{a:#?}"
    );
    stop(&mut kt);
    assert_eq!(primary.count(), 0, "primary calls");
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 1);
    let e = event(&evs, &a.id);
    assert_eq!(e["status"], "error", "{e:#}");
    assert_eq!(e["http_status"], 500);
    assert_eq!(e["error"]["class"], "missing_key", "{e:#}");
}

/// Sends `request` as raw bytes on a new connection to kt and reads until kt closes it.
async fn send_raw(kt: &Kt, request: &[u8]) -> Answer {
    let started = Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(kt.addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw))
        .await
        .expect("kt did not close the connection")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {text:?}"));
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap();
        headers.append(name, v.trim().parse().unwrap());
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if let Some(len) = header("content-length") {
        assert_eq!(len, body.len().to_string(), "{text:?}");
    }
    Answer {
        status,
        body: serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
        id: header("x-request-id").unwrap_or_default(),
        retry_after: header("retry-after"),
        content_type: header("content-type").unwrap_or_default(),
        headers,
        elapsed: started.elapsed(),
    }
}

/// Asserts the answer kt gives in place of hyper's bodiless parse-error response: the
/// status, the OpenAI shape with code `invalid_http_request`, `connection: close`, and an
/// event id.
fn assert_unparsable(a: &Answer, status: u16, what: &str) {
    assert_openai_error(a, status, "invalid_request_error");
    assert_eq!(
        a.body["error"]["code"], "invalid_http_request",
        "{what}: {a:#?}"
    );
    assert!(a.body["error"]["param"].is_null(), "{what}: {a:#?}");
    assert_eq!(
        a.headers.get("connection").and_then(|v| v.to_str().ok()),
        Some("close"),
        "{what}: {a:#?}"
    );
    assert!(!a.id.is_empty(), "{what}: no x-request-id");
}

/// Checks that each answer has its `rejected` event row with its status.
fn assert_rejected_rows(evs: &[Value], sent: &[Answer]) {
    for a in sent {
        let e = event(evs, &a.id);
        assert_eq!(e["status"], "rejected", "{e:#}");
        assert_eq!(e["http_status"], a.status, "{e:#}");
        assert_eq!(e["error"]["class"], "bad_request", "{e:#}");
        assert_eq!(e["mirror_state"], "not_eligible", "{e:#}");
        assert!(e["model"].is_null(), "{e:#}");
    }
}

// Proves a request head hyper cannot parse — a bare CR inside a header value, an obsolete
// folded header line, a header line without a colon — is answered 400 in the OpenAI shape
// (type invalid_request_error, code invalid_http_request, connection: close) instead of
// hyper's bodiless 400, is recorded as a rejected event row, and reaches no upstream (primary
// 0, shadow 0); the next connection's normal request still succeeds and is mirrored.
#[tokio::test(flavor = "multi_thread")]
async fn header_values_with_cr_or_lf_get_openai_shaped_400s() {
    let (primary, shadow, mut kt) = start_gateway().await;
    let body = chat("gpt-4o-mini", "hi").to_string();
    let request = |bad_header: &str| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{bad_header}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut sent = Vec::new();
    for (what, bad_header) in [
        ("bare CR in a value", "X-Bad: a\rb"),
        ("obs-fold line", "X-Bad: a\r\n b"),
        ("no colon", "X-Bad a"),
    ] {
        let a = send_raw(&kt, request(bad_header).as_bytes()).await;
        assert_unparsable(&a, 400, what);
        sent.push(a);
    }
    assert_eq!(
        (primary.count(), shadow.count()),
        (0, 0),
        "primary, shadow calls"
    );

    // kt keeps serving: a well-formed request on a new connection is answered as usual.
    let ok = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");

    let log = stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (1, 1),
        "primary, shadow calls"
    );
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("could not be parsed"))
        .collect();
    assert_eq!(warnings.len(), sent.len(), "one warning each:\n{log}");
    // The peer and status are logged (with ANSI colours), never the header values.
    assert!(
        warnings
            .iter()
            .all(|l| l.contains("peer") && l.contains("127.0.0.1") && l.contains("400")),
        "{warnings:#?}"
    );
    assert!(!log.contains("X-Bad"), "header values logged:\n{log}");
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), sent.len() + 1, "one event per request: {evs:#?}");
    assert_rejected_rows(&evs, &sent);
    assert_eq!(event(&evs, &ok.id)["status"], "success");
}

// Proves hyper's other automatic parse-error answers keep their status and get the OpenAI
// shape too: more than 100 headers → 431, a URI over 64 KiB → 414; each recorded as rejected.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_request_heads_keep_their_status_in_openai_shape() {
    let (primary, shadow, mut kt) = start_gateway().await;
    let headers: String = (0..120).map(|i| format!("X-Header-{i}: a\r\n")).collect();
    let many_headers = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let mut sent = Vec::new();
    for (what, request, status) in [
        ("120 headers", many_headers, 431),
        ("70 KB URI", long_uri, 414),
    ] {
        let a = send_raw(&kt, request.as_bytes()).await;
        assert_unparsable(&a, status, what);
        sent.push(a);
    }
    stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (0, 0),
        "primary, shadow calls"
    );
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), sent.len(), "one event per request: {evs:#?}");
    assert_rejected_rows(&evs, &sent);
}
