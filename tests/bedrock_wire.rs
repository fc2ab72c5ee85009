//! Bedrock on the wire: requests signed by kt's SigV4 signer pass a hand-written verifier
//! in a fake server, and ConverseStream bodies framed by a hand-written encoder (sent in
//! small pieces) decode in order through `eventstream::chunks`; corrupted, cut and
//! exception frames end the stream with an error item, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::aws::{crc32, event_frame, exception_frame, frame, verify_sigv4};

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use kt::providers::bedrock::eventstream;
use kt::providers::bedrock::sigv4::{AwsCredentials, converse_path, sign};
use kt::providers::{EventTranslator, Step, UpstreamError};
use reqwest::header::HeaderValue;
use serde_json::{Map, Value, json};

const AKID: &str = "AKIAKTTESTKEY";
const SECRET: &str = "kt/test+secret/KEY0123456789abcdefEXAMPLE";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+test/token==";
const REGION: &str = "us-east-1";
const MODEL: &str = "anthropic.claude-sonnet-4-20250514-v1:0";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0";
const BODY: &str = r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;

/// What the fake Bedrock saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    verdict: Result<(), String>,
}

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Vec<u8>>,
}

/// A fake Bedrock Runtime on 127.0.0.1:0: verifies every request's signature (401 when
/// it does not verify) and answers `answer` as an event stream in 7-byte pieces.
async fn fake_bedrock(answer: Vec<u8>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let fake = Fake {
        seen: Arc::default(),
        answer: Arc::new(answer),
    };
    let seen = fake.seen.clone();
    let app = Router::new().fallback(handle).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verdict = verify_sigv4(
        method.as_str(),
        uri.path(),
        uri.query(),
        &headers,
        &body,
        AKID,
        SECRET,
        REGION,
        "bedrock",
    );
    fake.seen.lock().unwrap().push(Seen {
        path: uri.path().to_string(),
        headers: headers.clone(),
        verdict: verdict.clone(),
    });
    if let Err(why) = verdict {
        return (StatusCode::UNAUTHORIZED, why).into_response();
    }
    // Small pieces with a pause between them, so frames straddle network reads.
    let pieces: Vec<Bytes> = fake.answer.chunks(7).map(Bytes::copy_from_slice).collect();
    let stream = futures_util::stream::iter(pieces).then(|p| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, Infallible>(p)
    });
    Response::builder()
        .header("content-type", "application/vnd.amazon.eventstream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Sends a signed ConverseStream request, as kt will.
async fn converse_stream(base: &str, creds: &AwsCredentials, model: &str) -> reqwest::Response {
    let url = format!("{base}{}", converse_path(model, true));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    sign(
        creds,
        REGION,
        "POST",
        &url,
        &mut headers,
        BODY.as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    reqwest::Client::new()
        .post(&url)
        .headers(headers)
        .body(BODY)
        .send()
        .await
        .unwrap()
}

/// One chunk per event, `{"event": name, "data": payload}`; the stream simply ends, as
/// Bedrock's does after `metadata`.
struct Recorder;

impl EventTranslator for Recorder {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        let data: Value = serde_json::from_str(data)
            .map_err(|e| UpstreamError::InvalidResponse(e.to_string()))?;
        let mut chunk = Map::new();
        chunk.insert("event".into(), json!(name));
        chunk.insert("data".into(), data);
        Ok(Step::Chunks(vec![chunk]))
    }

    fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        Ok(vec![])
    }
}

async fn read_all(resp: reqwest::Response) -> Vec<Result<Map<String, Value>, UpstreamError>> {
    eventstream::chunks(resp, Duration::from_secs(5), Recorder)
        .collect()
        .await
}

const EVENTS: &[(&str, &str)] = &[
    ("messageStart", r#"{"role":"assistant"}"#),
    (
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"Hel"}}"#,
    ),
    (
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"lo"},"p":"abcdefghijkl"}"#,
    ),
    ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
    ("messageStop", r#"{"stopReason":"end_turn"}"#),
    (
        "metadata",
        r#"{"usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11},"metrics":{"latencyMs":80}}"#,
    ),
];

fn events_body() -> Vec<u8> {
    EVENTS.iter().flat_map(|(k, p)| event_frame(k, p)).collect()
}

fn event_names(items: &[Result<Map<String, Value>, UpstreamError>]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Ok(c) => c["event"].as_str().unwrap().to_string(),
            Err(e) => format!("error: {e}"),
        })
        .collect()
}

// Proves kt's signature verifies independently for a colon model id and an ARN, with and
// without a session token, on the path as sent (`%3A`, `%2F`), and that the events then
// arrive in order with their JSON payloads.
#[tokio::test]
async fn signed_requests_verify_and_events_arrive_in_order() {
    let (base, seen) = fake_bedrock(events_body()).await;
    let with_token = AwsCredentials::new(AKID, SECRET, Some(TOKEN.into()));
    let without = AwsCredentials::new(AKID, SECRET, None);
    for (creds, model, path) in [
        (
            &with_token,
            MODEL,
            "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream",
        ),
        (
            &without,
            MODEL,
            "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream",
        ),
        (
            &with_token,
            ARN,
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F\
             us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream",
        ),
    ] {
        let resp = converse_stream(&base, creds, model).await;
        assert_eq!(resp.status(), 200);
        let got = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(got.verdict, Ok(()));
        assert_eq!(got.path, path);
        let token = got.headers.get("x-amz-security-token");
        assert_eq!(token.is_some(), creds.has_session_token());
        assert!(got.headers.get("x-amz-content-sha256").is_none());

        let items = read_all(resp).await;
        let expected: Vec<String> = EVENTS.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(event_names(&items), expected);
        for ((_, payload), item) in EVENTS.iter().zip(&items) {
            let data = &item.as_ref().unwrap()["data"];
            assert_eq!(data, &serde_json::from_str::<Value>(payload).unwrap());
        }
    }
    assert_eq!(seen.lock().unwrap().len(), 3);
}

// Proves the verifier is a real check: a request signed with another secret, or whose
// body changed after signing, is refused with 401.
#[tokio::test]
async fn a_bad_signature_is_refused() {
    let (base, seen) = fake_bedrock(events_body()).await;
    let wrong = AwsCredentials::new(AKID, "not-the-secret", None);
    assert_eq!(converse_stream(&base, &wrong, MODEL).await.status(), 401);

    let creds = AwsCredentials::new(AKID, SECRET, None);
    let url = format!("{base}{}", converse_path(MODEL, false));
    let mut headers = reqwest::header::HeaderMap::new();
    sign(
        &creds,
        REGION,
        "POST",
        &url,
        &mut headers,
        BODY.as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    let resp = reqwest::Client::new()
        .post(&url)
        .headers(headers)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(seen.lock().unwrap().iter().all(|s| s.verdict.is_err()));
}

// Proves a frame with a corrupted CRC ends the stream with an InvalidResponse item after
// the good frames before it, and nothing after it is delivered.
#[tokio::test]
async fn corrupted_crc_is_an_error_item() {
    let mut bad = event_frame(
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
    );
    let n = bad.len();
    bad[n - 1] ^= 0xff; // the message CRC
    let mut body = event_frame("messageStart", r#"{"role":"assistant"}"#);
    body.extend(bad);
    body.extend(event_frame("messageStop", r#"{"stopReason":"end_turn"}"#));
    let (base, _) = fake_bedrock(body).await;
    let creds = AwsCredentials::new(AKID, SECRET, None);
    let items = read_all(converse_stream(&base, &creds, MODEL).await).await;
    assert_eq!(items.len(), 2, "{:?}", event_names(&items));
    assert_eq!(items[0].as_ref().unwrap()["event"], "messageStart");
    assert!(
        matches!(items[1], Err(UpstreamError::InvalidResponse(_))),
        "{:?}",
        items[1]
    );
}

// Proves a mid-stream exception ends the stream with its exception type and message.
#[tokio::test]
async fn exception_frame_ends_the_stream() {
    let mut body = event_frame("messageStart", r#"{"role":"assistant"}"#);
    body.extend(exception_frame(
        "throttlingException",
        "Too many requests, please wait.",
    ));
    body.extend(event_frame("messageStop", "{}"));
    let (base, _) = fake_bedrock(body).await;
    let creds = AwsCredentials::new(AKID, SECRET, None);
    let items = read_all(converse_stream(&base, &creds, MODEL).await).await;
    assert_eq!(items.len(), 2);
    match &items[1] {
        Err(UpstreamError::Stream { kind, message }) => {
            assert_eq!(kind, "throttlingException");
            assert_eq!(message, "Too many requests, please wait.");
        }
        other => panic!("{other:?}"),
    }
}

// Proves a body that ends inside a frame is a broken stream, not a clean end.
#[tokio::test]
async fn stream_cut_inside_a_frame_is_an_error() {
    let mut body = event_frame("messageStart", r#"{"role":"assistant"}"#);
    let next = event_frame("messageStop", "{}");
    body.extend(&next[..next.len() / 2]);
    let (base, _) = fake_bedrock(body).await;
    let creds = AwsCredentials::new(AKID, SECRET, None);
    let items = read_all(converse_stream(&base, &creds, MODEL).await).await;
    assert_eq!(items.len(), 2);
    assert!(
        matches!(&items[1], Err(UpstreamError::Stream { kind, .. }) if kind == "upstream_error")
    );
}

// Proves the hand-written encoder's CRC-32 is the standard one (check value and an empty
// frame's known bytes), so the decoder is tested against a correct second implementation.
#[test]
fn hand_encoder_is_standard() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let empty = frame(&[], b"");
    assert_eq!(&empty[..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
    assert_eq!(
        u32::from_be_bytes(empty[8..12].try_into().unwrap()),
        0x05C2_48EB
    );
}
