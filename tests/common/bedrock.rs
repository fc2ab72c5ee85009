//! A fake AWS Bedrock Runtime for end-to-end tests of the `bedrock` provider kind: an axum
//! app on 127.0.0.1:0 that checks every request's credentials before answering — a SigV4
//! signature recomputed by the hand-written verifier in `aws` (403
//! `InvalidSignatureException` on a mismatch, as AWS answers), or a Bedrock API key as
//! `Authorization: Bearer` — records the calls it accepted, and answers with the handler's
//! [`Reply`]: a Converse JSON answer ([`converse`]), a ConverseStream event stream
//! ([`eventstream`], frame by frame or in small pieces), an AWS error ([`aws_error`]) or a
//! stream that ends in an exception frame. Also the config and environment a `kt` gateway
//! needs to reach it ([`bedrock_target`], [`start_kt`]).
//! Wire shapes: provider-apis-more.md §2.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::aws::{event_frame, exception_frame, verify_sigv4};
use super::{Call, Kt, Reply, StreamLog, Upstream, gateway_cmd, respond, write_config};

/// Test credentials, distinctive enough that a leak into a log or the database is found
/// by a plain substring search. Never real.
pub const ACCESS_KEY_ID: &str = "AKIAKTBEDROCKFAKE042";
pub const SECRET_ACCESS_KEY: &str = "kt+Bedrock/Secret0fTheTests/wJalrXUtnFEMI42zz";
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjKTTEST//////////SessionToken+Bedrock/xyz42==";
/// A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), sent as `Authorization: Bearer`.
pub const API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1rdC10ZXN0LTAxMjM0NTY3ODk=";
pub const REGION: &str = "us-east-1";
/// A real-shaped Bedrock model id (the `:` goes on the wire as `%3A`).
pub const CLAUDE: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

/// Every AWS variable kt might read: removed from the gateway's environment unless a test
/// sets it, so the developer's own credentials never reach a test (or a fake).
pub const AWS_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// The credentials the fake accepts.
#[derive(Debug, Clone)]
pub enum Expect {
    /// SigV4 for service `bedrock` in `REGION` with the test key pair; with `token`, the
    /// request must carry exactly that `x-amz-security-token` (signed), else none.
    SigV4 { token: Option<String> },
    /// `Authorization: Bearer {key}` and no SigV4 headers.
    Bearer(String),
}

impl Expect {
    /// Long-term test keys (no session token).
    pub fn sigv4() -> Self {
        Self::SigV4 { token: None }
    }
    /// Temporary test credentials: the key pair and [`SESSION_TOKEN`].
    pub fn sigv4_with_token() -> Self {
        Self::SigV4 {
            token: Some(SESSION_TOKEN.to_string()),
        }
    }
    /// The Bedrock API key [`API_KEY`].
    pub fn api_key() -> Self {
        Self::Bearer(API_KEY.to_string())
    }

    /// Why a request's credentials are not what this fake accepts; `Ok` when they are.
    fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self {
            Self::SigV4 { token } => {
                verify_sigv4(
                    method.as_str(),
                    uri.path(),
                    uri.query(),
                    headers,
                    body,
                    ACCESS_KEY_ID,
                    SECRET_ACCESS_KEY,
                    REGION,
                    "bedrock",
                )?;
                match (token.as_deref(), header("x-amz-security-token")) {
                    (Some(want), Some(got)) if want == got => Ok(()),
                    (None, None) => Ok(()),
                    (want, got) => Err(format!(
                        "x-amz-security-token: expected {want:?}, got {got:?}"
                    )),
                }
            }
            Self::Bearer(key) => {
                if header("authorization") != Some(format!("Bearer {key}").as_str()) {
                    return Err(format!(
                        "authorization is not `Bearer <the API key>`: {:?}",
                        header("authorization")
                    ));
                }
                match ["x-amz-date", "x-amz-security-token"]
                    .into_iter()
                    .find(|h| headers.contains_key(*h))
                {
                    Some(h) => Err(format!("an API-key request carries SigV4's {h}")),
                    None => Ok(()),
                }
            }
        }
    }
}

type Handler = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    expect: Expect,
    handler: Handler,
    calls: Arc<Mutex<Vec<Call>>>,
    refused: Arc<Mutex<Vec<String>>>,
    streams: Arc<Mutex<StreamLog>>,
}

/// A running fake Bedrock. Derefs to [`Upstream`]: `url()`, `calls()` (the accepted
/// requests only), `count()`, `stream_log()`.
pub struct FakeBedrock {
    upstream: Upstream,
    refused: Arc<Mutex<Vec<String>>>,
}

impl FakeBedrock {
    /// Why each refused request was refused (credential or signature mismatches).
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }

    /// Fails the test when any request was refused, showing why.
    pub fn assert_none_refused(&self) {
        let refused = self.refused();
        assert!(
            refused.is_empty(),
            "the fake Bedrock refused kt's credentials:\n{}",
            refused.join("\n---\n")
        );
    }
}

impl Deref for FakeBedrock {
    type Target = Upstream;
    fn deref(&self) -> &Upstream {
        &self.upstream
    }
}

/// Starts a fake Bedrock Runtime on 127.0.0.1:0 that checks each request against `expect`
/// and answers the accepted ones with `handler(call)`. `call.path` is the path as
/// received (`/model/anthropic.claude-…-v1%3A0/converse`); see [`model_id`] and
/// [`is_stream`]. Must be called inside a tokio runtime.
pub async fn fake_bedrock(
    expect: Expect,
    handler: impl Fn(&Call) -> Reply + Send + Sync + 'static,
) -> FakeBedrock {
    let state = FakeState {
        expect,
        handler: Arc::new(handler),
        calls: Arc::default(),
        refused: Arc::default(),
        streams: Arc::default(),
    };
    let (calls, refused, streams) = (
        state.calls.clone(),
        state.refused.clone(),
        state.streams.clone(),
    );
    let app = axum::Router::new().fallback(serve).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    FakeBedrock {
        upstream: Upstream {
            addr,
            calls,
            streams,
        },
        refused,
    }
}

async fn serve(
    State(st): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = st.expect.check(&method, &uri, &headers, &body) {
        st.refused
            .lock()
            .unwrap()
            .push(format!("{method} {uri}: {why}"));
        let (kind, message) = match st.expect {
            Expect::SigV4 { .. } => (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            ),
            Expect::Bearer(_) => ("UnrecognizedClientException", "Invalid API Key format."),
        };
        return respond(aws_error(403, kind, message), st.streams.clone()).await;
    }
    let call = Call::received(&method, &uri, &headers, &body);
    st.calls.lock().unwrap().push(call.clone());
    let reply = (st.handler)(&call);
    respond(reply, st.streams.clone()).await
}

/// The model id of a Converse or ConverseStream call, percent-decoded from its path.
pub fn model_id(call: &Call) -> String {
    let enc = call
        .path
        .strip_prefix("/model/")
        .and_then(|p| p.rsplit_once('/'))
        .map(|(m, _)| m)
        .unwrap_or_else(|| panic!("not a Converse path: {}", call.path));
    let b = enc.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&enc[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Whether a call is ConverseStream (`…/converse-stream`) rather than Converse.
pub fn is_stream(call: &Call) -> bool {
    call.path.ends_with("/converse-stream")
}

/// The text of a Converse request's last user turn (its text blocks joined).
pub fn last_user_text(call: &Call) -> String {
    call.body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_array())
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Whether a Converse request carries a `toolResult` block (a tool round trip's second leg).
pub fn has_tool_result(call: &Call) -> bool {
    call.body["messages"].as_array().is_some_and(|msgs| {
        msgs.iter().any(|m| {
            m["content"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| b.get("toolResult").is_some()))
        })
    })
}

/// The `x-amzn-RequestId` the fake's answers carry.
pub const REQUEST_ID: &str = "7f3a1c2e-0b1d-4e5f-9a8b-1c2d3e4f5a6b";

/// A Converse answer (§2.5) with these content blocks, stop reason and usage.
pub fn converse(content: Value, stop_reason: &str, input: u64, output: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
            "metrics": {"latencyMs": 312}
        }),
    )
    .header("x-amzn-requestid", REQUEST_ID)
}

/// A Converse answer with one text block that ended normally (`end_turn`).
pub fn converse_text(text: &str, input: u64, output: u64) -> Reply {
    converse(json!([{ "text": text }]), "end_turn", input, output)
}

/// A Converse answer calling one tool (`stopReason: tool_use`), after an optional text.
pub fn converse_tool_use(
    text: Option<&str>,
    id: &str,
    name: &str,
    input: Value,
    usage: (u64, u64),
) -> Reply {
    let mut blocks: Vec<Value> = text.map(|t| json!({ "text": t })).into_iter().collect();
    blocks.push(json!({"toolUse": {"toolUseId": id, "name": name, "input": input}}));
    converse(Value::Array(blocks), "tool_use", usage.0, usage.1)
}

/// An AWS JSON-protocol error (§2.7): `status`, `x-amzn-ErrorType` in the long form AWS
/// sends (`Name:http://internal.amazon.com/coral/…`), and `{"message": …}`.
pub fn aws_error(status: u16, error_type: &str, message: &str) -> Reply {
    Reply::json(status, json!({ "message": message }))
        .header(
            "x-amzn-errortype",
            &format!("{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        .header("x-amzn-requestid", REQUEST_ID)
}

/// One ConverseStream event frame.
pub fn stream_event(name: &str, payload: Value) -> Vec<u8> {
    event_frame(name, &payload.to_string())
}

/// A mid-stream exception frame (`:message-type exception`).
pub fn exception(kind: &str, message: &str) -> Vec<u8> {
    exception_frame(kind, message)
}

/// The frames of a streamed text answer (§2.6): `messageStart`, one `contentBlockDelta` per
/// piece in block 0, `contentBlockStop`, `messageStop` (`end_turn`), then `metadata` with
/// the usage and latency.
pub fn text_events(pieces: &[&str], input: u64, output: u64) -> Vec<Vec<u8>> {
    let mut out = text_deltas(pieces);
    out.push(stream_event(
        "contentBlockStop",
        json!({"contentBlockIndex": 0}),
    ));
    out.push(stream_event(
        "messageStop",
        json!({"stopReason": "end_turn"}),
    ));
    out.push(metadata(input, output));
    out
}

/// `messageStart` and one text delta per piece: what a stream has sent when it fails midway.
pub fn text_deltas(pieces: &[&str]) -> Vec<Vec<u8>> {
    let mut out = vec![stream_event("messageStart", json!({"role": "assistant"}))];
    for p in pieces {
        out.push(stream_event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": p}}),
        ));
    }
    out
}

/// The `metadata` event that ends a ConverseStream: usage and latency.
pub fn metadata(input: u64, output: u64) -> Vec<u8> {
    stream_event(
        "metadata",
        json!({"usage": {"inputTokens": input, "outputTokens": output,
                         "totalTokens": input + output},
               "metrics": {"latencyMs": 95}}),
    )
}

/// The frames of a streamed tool call (§2.6): `messageStart`, a `contentBlockStart` with
/// the toolUse id and name in block 0, the input JSON text in `input_pieces`,
/// `contentBlockStop`, `messageStop` (`tool_use`) and `metadata`.
pub fn tool_events(id: &str, name: &str, input_pieces: &[&str], usage: (u64, u64)) -> Vec<Vec<u8>> {
    let mut out = vec![
        stream_event("messageStart", json!({"role": "assistant"})),
        stream_event(
            "contentBlockStart",
            json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": id, "name": name}}}),
        ),
    ];
    for p in input_pieces {
        out.push(stream_event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": p}}}),
        ));
    }
    out.push(stream_event(
        "contentBlockStop",
        json!({"contentBlockIndex": 0}),
    ));
    out.push(stream_event(
        "messageStop",
        json!({"stopReason": "tool_use"}),
    ));
    out.push(metadata(usage.0, usage.1));
    out
}

/// A 200 ConverseStream answer (`application/vnd.amazon.eventstream`) sending `frames`
/// one by one, the first at once and each later one `gap` after the previous.
pub fn eventstream(frames: Vec<Vec<u8>>, gap: Duration) -> Reply {
    let timed = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (if i == 0 { Duration::ZERO } else { gap }, Bytes::from(f)))
        .collect();
    as_eventstream(Reply::sse_bytes(timed))
}

/// Like [`eventstream`], but the bytes of all frames cut into `piece`-byte pieces sent
/// `gap` apart, so frames (and their preludes) straddle network reads.
pub fn eventstream_pieces(frames: Vec<Vec<u8>>, piece: usize, gap: Duration) -> Reply {
    let bytes: Vec<u8> = frames.concat();
    let timed = bytes
        .chunks(piece)
        .enumerate()
        .map(|(i, p)| {
            (
                if i == 0 { Duration::ZERO } else { gap },
                Bytes::copy_from_slice(p),
            )
        })
        .collect();
    as_eventstream(Reply::sse_bytes(timed))
}

fn as_eventstream(mut reply: Reply) -> Reply {
    reply.content_type = "application/vnd.amazon.eventstream";
    reply.header("x-amzn-requestid", REQUEST_ID)
}

/// A `providers.targets` entry of kind bedrock at the fake's `url`, in [`REGION`];
/// `extra` lines (six spaces of indent) are added, e.g. a `secret_key_ref`.
pub fn bedrock_target(id: &str, url: &str, extra: &str) -> String {
    format!(
        "    - id: {id}
      provider: bedrock
      region: {REGION}
      base_url: {url}
{extra}"
    )
}

/// The environment of long-term test credentials.
pub fn aws_keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ]
}

/// The environment of temporary test credentials (with [`SESSION_TOKEN`]).
pub fn aws_keys_with_token() -> Vec<(&'static str, &'static str)> {
    let mut v = aws_keys();
    v.push(("AWS_SESSION_TOKEN", SESSION_TOKEN));
    v
}

/// `kt gateway run` on `config` with exactly the AWS variables in `envs` (every inherited
/// one in [`AWS_VARS`] is removed first) and any other variables given there.
pub fn start_kt(config: &str, envs: &[(&str, &str)]) -> Kt {
    let (dir, cfg) = write_config(config);
    let db = dir.path().join("kt.db");
    let mut cmd = gateway_cmd(&cfg);
    cmd.arg("--db").arg(&db);
    for v in AWS_VARS {
        cmd.env_remove(v);
    }
    cmd.envs(envs.iter().copied());
    Kt::spawn(cmd, dir, db)
}
