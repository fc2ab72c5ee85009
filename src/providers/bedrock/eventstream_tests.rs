//! Unit tests for the event-stream frame reader and dispatch, on frames built by
//! aws-smithy-eventstream's own encoder.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message as RawMessage};
use serde_json::{Map, Value};

use super::*;

fn encode(headers: &[(&'static str, HeaderValue)], payload: &str) -> Vec<u8> {
    let mut m = RawMessage::new(Bytes::copy_from_slice(payload.as_bytes()));
    for (name, value) in headers {
        m = m.add_header(Header::new(*name, value.clone()));
    }
    let mut out = Vec::new();
    write_message_to(&m, &mut out).unwrap();
    out
}

fn s(v: &'static str) -> HeaderValue {
    HeaderValue::String(v.into())
}

fn event(kind: &'static str, payload: &str) -> Vec<u8> {
    encode(
        &[
            (":message-type", s("event")),
            (":event-type", s(kind)),
            (":content-type", s("application/json")),
        ],
        payload,
    )
}

/// Three Bedrock events back to back, as one response body.
fn body() -> (Vec<u8>, Vec<(&'static str, &'static str)>) {
    let events = vec![
        ("messageStart", r#"{"role":"assistant"}"#),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"abcdefgh"}"#,
        ),
        ("messageStop", r#"{"stopReason":"end_turn"}"#),
    ];
    let bytes = events.iter().flat_map(|(k, p)| event(k, p)).collect();
    (bytes, events)
}

fn drain(r: &mut FrameReader) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(m) = r.next_message().unwrap() {
        out.push(m);
    }
    out
}

fn names(ms: &[Message]) -> Vec<(String, String)> {
    ms.iter()
        .map(|m| {
            let kind = m.event_type.clone().unwrap_or_default();
            (kind, m.payload_text().unwrap().to_string())
        })
        .collect()
}

fn expected(events: &[(&str, &str)]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|(k, p)| (k.to_string(), p.to_string()))
        .collect()
}

// Proves frames from the reference encoder decode with their dispatch headers and payloads.
#[test]
fn decodes_reference_frames() {
    let (bytes, events) = body();
    let mut r = FrameReader::new();
    r.push(&bytes);
    let ms = drain(&mut r);
    assert_eq!(names(&ms), expected(&events));
    assert!(ms.iter().all(|m| m.message_type == "event"));
    assert_eq!(r.buffered(), 0);
}

// Proves a body split at every byte boundary (and fed one byte at a time) decodes the same.
#[test]
fn split_at_any_boundary() {
    let (bytes, events) = body();
    for cut in 0..=bytes.len() {
        let mut r = FrameReader::new();
        r.push(&bytes[..cut]);
        let mut ms = drain(&mut r);
        r.push(&bytes[cut..]);
        ms.extend(drain(&mut r));
        assert_eq!(names(&ms), expected(&events), "cut at {cut}");
    }
    let mut r = FrameReader::new();
    let mut ms = Vec::new();
    for b in &bytes {
        r.push(std::slice::from_ref(b));
        ms.extend(drain(&mut r));
    }
    assert_eq!(names(&ms), expected(&events));
}

// Proves a corrupted payload byte fails the message CRC: an error, and the reader stays failed.
#[test]
fn corrupted_message_crc_is_an_error() {
    let mut bytes = event("messageStart", r#"{"role":"assistant"}"#);
    let last_payload = bytes.len() - 5;
    bytes[last_payload] ^= 0x01;
    let mut r = FrameReader::new();
    r.push(&bytes);
    let e = r.next_message().unwrap_err();
    assert!(
        matches!(e, UpstreamError::InvalidResponse(ref m) if m.contains("checksum") || m.contains("CRC")),
        "{e}"
    );
    r.push(&event("messageStop", "{}"));
    assert!(r.next_message().is_err());
}

// Proves a corrupted length is caught by the prelude CRC as soon as 12 bytes arrive,
// without waiting for a frame that will never be complete.
#[test]
fn corrupted_prelude_fails_early() {
    let mut bytes = event("messageStart", "{}");
    bytes[1] ^= 0x40; // total length now ~4 MiB larger
    let mut r = FrameReader::new();
    r.push(&bytes[..12]);
    assert!(r.next_message().is_err());
}

// Proves impossible or oversized lengths (with a valid prelude CRC) are refused, not buffered.
#[test]
fn impossible_lengths_are_errors() {
    let prelude = |total: u32, headers: u32| {
        let mut p = Vec::new();
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&headers.to_be_bytes());
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    };
    for (total, headers) in [
        (8, 0),
        (20, 10),
        (u32::MAX, 0),
        (16 + MAX_HEADERS_LEN + 1, MAX_HEADERS_LEN + 1),
    ] {
        let mut r = FrameReader::new();
        r.push(&prelude(total, headers));
        assert!(r.next_message().is_err(), "total {total} headers {headers}");
    }
    // An empty message (16 bytes, no headers) is well-formed but has no :message-type.
    let mut frame = prelude(16, 0);
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    let mut r = FrameReader::new();
    r.push(&frame);
    assert!(r.next_message().is_err());
}

// Proves a frame cut short is "need more bytes", with the bytes still counted as buffered.
#[test]
fn truncated_frame_waits() {
    let bytes = event("messageStart", "{}");
    let mut r = FrameReader::new();
    r.push(&bytes[..bytes.len() - 1]);
    assert_eq!(r.next_message().unwrap(), None);
    assert_eq!(r.buffered(), bytes.len() - 1);
}

// Proves random corruption and truncation of valid frames never panics the reader.
#[test]
fn random_damage_never_panics() {
    let (bytes, _) = body();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..b.len());
            b[i] = rng.u8(..);
        }
        b.truncate(rng.usize(..=b.len()));
        let mut r = FrameReader::new();
        r.push(&b);
        while let Ok(Some(_)) = r.next_message() {}
    }
    for _ in 0..3000 {
        let len = rng.usize(..64);
        let junk: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let mut r = FrameReader::new();
        r.push(&junk);
        while let Ok(Some(_)) = r.next_message() {}
    }
}

// Proves header types other than strings decode, and the dispatch headers must be strings.
#[test]
fn other_header_types() {
    let bytes = encode(
        &[
            (":message-type", s("event")),
            (":event-type", s("metadata")),
            ("flag", HeaderValue::Bool(true)),
            ("n", HeaderValue::Int32(-5)),
            ("id", HeaderValue::Uuid(42)),
            (
                "raw",
                HeaderValue::ByteArray(Bytes::from_static(b"\x00\xff")),
            ),
        ],
        "{}",
    );
    let mut r = FrameReader::new();
    r.push(&bytes);
    assert_eq!(
        r.next_message().unwrap().unwrap().event_type.as_deref(),
        Some("metadata")
    );
    let bytes = encode(&[(":message-type", HeaderValue::Int32(1))], "{}");
    let mut r = FrameReader::new();
    r.push(&bytes);
    assert!(r.next_message().is_err());
}

/// Records what it was given; `messageStop` is its last event.
#[derive(Default)]
struct Recorder(Vec<(String, String)>);

impl EventTranslator for Recorder {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError> {
        self.0.push((name.into(), data.into()));
        let mut chunk = Map::new();
        chunk.insert("event".into(), Value::String(name.into()));
        Ok(if name == "messageStop" {
            Step::Done(vec![chunk])
        } else {
            Step::Chunks(vec![chunk])
        })
    }
}

fn one(bytes: &[u8]) -> Message {
    let mut r = FrameReader::new();
    r.push(bytes);
    r.next_message().unwrap().unwrap()
}

// Proves events reach the translator by :event-type with their JSON text.
#[test]
fn dispatch_events() {
    let mut tr = Recorder::default();
    let m = one(&event("contentBlockDelta", r#"{"delta":{"text":"é"}}"#));
    assert!(matches!(dispatch(&mut tr, &m), Ok(Step::Chunks(c)) if c.len() == 1));
    assert_eq!(
        tr.0,
        vec![(
            "contentBlockDelta".into(),
            r#"{"delta":{"text":"é"}}"#.into()
        )]
    );
    let m = one(&event("messageStop", "{}"));
    assert!(matches!(dispatch(&mut tr, &m), Ok(Step::Done(_))));
    let no_kind = one(&encode(&[(":message-type", s("event"))], "{}"));
    assert!(matches!(
        dispatch(&mut tr, &no_kind),
        Err(UpstreamError::InvalidResponse(_))
    ));
    let unknown = one(&encode(&[(":message-type", s("ping"))], ""));
    assert!(matches!(dispatch(&mut tr, &unknown), Ok(Step::Chunks(c)) if c.is_empty()));
}

// Proves exception and error messages end the stream with their type and message.
#[test]
fn dispatch_exceptions_and_errors() {
    let mut tr = Recorder::default();
    let exc = one(&encode(
        &[
            (":message-type", s("exception")),
            (":exception-type", s("throttlingException")),
            (":content-type", s("application/json")),
        ],
        r#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    match dispatch(&mut tr, &exc) {
        Err(UpstreamError::Stream { kind, message }) => {
            assert_eq!(kind, "throttlingException");
            assert_eq!(
                message,
                "Too many requests, please wait before trying again."
            );
        }
        other => panic!("{other:?}"),
    }
    let err = one(&encode(
        &[
            (":message-type", s("error")),
            (":error-code", s("InternalFailure")),
            (":error-message", s("boom")),
        ],
        "",
    ));
    match dispatch(&mut tr, &err) {
        Err(UpstreamError::Stream { kind, message }) => {
            assert_eq!(
                (kind.as_str(), message.as_str()),
                ("InternalFailure", "boom")
            );
        }
        other => panic!("{other:?}"),
    }
    let odd = one(&encode(&[(":message-type", s("exception"))], "not json"));
    assert!(matches!(dispatch(&mut tr, &odd),
        Err(UpstreamError::Stream { kind, message }) if kind == "exception" && message == "not json"));
    assert!(tr.0.is_empty());
}

// Proves an exception frame reaches the Bedrock translator's mapping: the stream error
// has the OpenAI type (rate_limit_error, api_error) with AWS's name in the message, as a
// Converse error would, not the raw exception name as its type (found end to end).
#[test]
fn bedrock_exception_frames_get_openai_types() {
    let mut tr = crate::providers::bedrock::stream::Translator::new("m", 1);
    for (name, kind) in [
        ("throttlingException", "rate_limit_error"),
        ("modelStreamErrorException", "api_error"),
    ] {
        let exc = one(&encode(
            &[
                (":message-type", s("exception")),
                (":exception-type", s(name)),
                (":content-type", s("application/json")),
            ],
            r#"{"message":"Slow down."}"#,
        ));
        match dispatch(&mut tr, &exc) {
            Err(UpstreamError::Stream { kind: k, message }) => {
                assert_eq!(k, kind);
                assert_eq!(message, format!("{name}: Slow down."));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
