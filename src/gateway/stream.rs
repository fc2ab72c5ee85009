//! Relaying a streamed answer: each upstream chunk is forwarded as it arrives (never
//! buffered), folded into a summary for the event, and the event is recorded when the
//! stream ends — or when the caller disconnects, which drops the relay and with it the
//! upstream request, so no unread tokens are paid for.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::handlers::{Scan, record};
use super::sse::Encoder;
use super::state::AppState;
use crate::mirror::{Mirroring, PrimaryOutcome, ShadowWait};
use crate::providers::{ChunkStream, StreamSummary, UpstreamError};
use crate::store::RequestRow;

/// Everything needed to relay one primary stream and record it.
pub struct Relay {
    pub state: AppState,
    pub row: RequestRow,
    pub scan: Scan,
    pub upstream: ChunkStream,
    /// Frames the chunks in the caller's dialect.
    pub encoder: Encoder,
    /// When the request arrived, and when the upstream request was sent.
    pub started: Instant,
    pub upstream_started: Instant,
    /// The shadow and noise-floor tasks waiting for the primary's outcome.
    pub mirroring: Mirroring,
    /// `async: false`: the shadows to wait for (bounded) before `data: [DONE]`.
    pub wait_for_shadow: Option<ShadowWait>,
}

/// Records the event exactly once: when the stream ends, or on drop (caller gone).
struct Guard {
    state: AppState,
    row: Option<RequestRow>,
    scan: Option<Scan>,
    summary: StreamSummary,
    started: Instant,
    upstream_started: Instant,
    mirroring: Mirroring,
    /// Keeps the shutdown drain waiting for this stream.
    _in_flight: tokio_util::task::task_tracker::TaskTrackerToken,
}

impl Guard {
    fn finish(&mut self, outcome: Result<(), &UpstreamError>) {
        let Some(mut row) = self.row.take() else {
            return;
        };
        let summary = std::mem::take(&mut self.summary);
        let upstream_ms = elapsed_ms(self.upstream_started);
        row.latency_ms = elapsed_ms(self.started);
        row.upstream_latency_ms = Some(upstream_ms);
        row.http_status = 200;
        row.ttft_ms = summary.ttft_ms;
        row.input_tokens = summary.input_tokens;
        row.output_tokens = tokens_seen(&summary);
        row.finish_reason = summary.finish_reason.clone();
        let ok = match outcome {
            Ok(()) => {
                row.status = "success".into();
                true
            }
            Err(e) => {
                row.status = "error".into();
                row.error_class = Some(e.class().into());
                row.error_message = Some(e.to_string());
                false
            }
        };
        self.close(row, summary, ok);
    }

    /// The caller went away mid-stream: record what was seen so far.
    fn client_closed(&mut self) {
        let Some(mut row) = self.row.take() else {
            return;
        };
        let summary = std::mem::take(&mut self.summary);
        row.latency_ms = elapsed_ms(self.started);
        row.upstream_latency_ms = Some(elapsed_ms(self.upstream_started));
        row.http_status = 200;
        row.status = "client_closed".into();
        row.error_class = Some("client_closed".into());
        row.error_message = Some("the caller disconnected before the stream ended".into());
        row.ttft_ms = summary.ttft_ms;
        row.input_tokens = summary.input_tokens;
        row.output_tokens = tokens_seen(&summary);
        row.finish_reason = summary.finish_reason.clone();
        // A partial answer is not compared with the shadow's (comparison values stay null).
        self.close(row, summary, false);
    }

    fn close(&mut self, mut row: RequestRow, summary: StreamSummary, ok: bool) {
        row.answer_chars = Some(summary.text.chars().count() as u64);
        row.tool_calls = summary.tool_calls();
        self.mirroring.resolve(&PrimaryOutcome {
            ok,
            text: summary.text.clone(),
            latency_ms: row.upstream_latency_ms.unwrap_or(0),
            output_tokens: row.output_tokens,
            ttft_ms: row.ttft_ms,
            tool_calls: row.tool_calls.clone(),
        });
        let mut scan = self.scan.take().unwrap_or_default();
        if scan.request.is_some() || row.json_mode {
            scan.response_text = Some(summary.text.clone());
        }
        // log_requests also keeps the primary's answer: replay compares against it.
        if self.state.config.log_requests
            || self
                .state
                .config
                .mirror
                .as_ref()
                .is_some_and(|m| m.log_shadow_response)
        {
            row.response_text = Some(summary.text);
        }
        self.state.answered.fetch_add(1, Ordering::Relaxed);
        let bg = self.state.clone();
        self.state.tracker.spawn(record(bg, row, scan));
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.row.is_some() {
            self.client_closed();
        }
    }
}

enum Phase {
    Streaming,
    Done,
}

impl Relay {
    /// The `text/event-stream` response.
    pub fn into_response(self) -> Response {
        let id = self.row.id.clone();
        let client_id = self.row.client_request_id.clone();
        let in_flight = self.state.tracker.token();
        let guard = Guard {
            state: self.state,
            row: Some(self.row),
            scan: Some(self.scan),
            summary: StreamSummary::default(),
            started: self.started,
            upstream_started: self.upstream_started,
            mirroring: self.mirroring,
            _in_flight: in_flight,
        };
        let init = (
            self.upstream,
            guard,
            self.wait_for_shadow,
            self.encoder,
            Phase::Streaming,
        );
        let body = futures_util::stream::unfold(
            init,
            move |(mut up, mut guard, mut wait, mut encoder, phase)| async move {
                if let Phase::Done = phase {
                    return None;
                }
                loop {
                    // At the end of the shutdown drain the stream ends with an error
                    // frame and is recorded, instead of outliving the process.
                    let cancel = guard.state.cancel.clone();
                    let next = tokio::select! {
                        item = up.next() => item,
                        () = cancel.cancelled() => Some(Err(UpstreamError::Cancelled)),
                    };
                    match next {
                        Some(Ok(chunk)) => {
                            guard.summary.observe(&chunk, guard.upstream_started);
                            let Some(frame) = encoder.chunk(chunk) else {
                                continue;
                            };
                            return Some((
                                Ok::<_, std::convert::Infallible>(frame),
                                (up, guard, wait, encoder, Phase::Streaming),
                            ));
                        }
                        Some(Err(e)) => {
                            guard.finish(Err(&e));
                            let err = ApiError::from_upstream(&guard.state.primary.id, &e);
                            return Some((
                                Ok(encoder.error(&err)),
                                (up, guard, wait, encoder, Phase::Done),
                            ));
                        }
                        None => {
                            if let Some(shadows) = wait.take() {
                                // Release the primary's outcome first: the shadow waits for it.
                                let summary = guard.summary.clone();
                                guard.mirroring.resolve(&PrimaryOutcome {
                                    ok: true,
                                    latency_ms: elapsed_ms(guard.upstream_started),
                                    output_tokens: summary.output_tokens,
                                    ttft_ms: summary.ttft_ms,
                                    tool_calls: summary.tool_calls(),
                                    text: summary.text,
                                });
                                shadows.wait().await;
                            }
                            guard.finish(Ok(()));
                            return Some((
                                Ok(encoder.done()),
                                (up, guard, wait, encoder, Phase::Done),
                            ));
                        }
                    }
                }
            },
        );
        let mut resp = (StatusCode::OK, Body::from_stream(body)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        super::request_id::set(h, &id, client_id.as_deref());
        resp
    }
}

/// Output tokens of a stream: the upstream's count when its usage arrived, else (a stream
/// cut short) an estimate of one token per chunk after the role chunk.
fn tokens_seen(summary: &StreamSummary) -> Option<u64> {
    summary
        .output_tokens
        .or(Some(summary.chunks.saturating_sub(1)))
}

/// Whether a request body asks to stream, and for the usage chunk.
pub fn stream_flags(req: &Map<String, Value>) -> (bool, bool) {
    let stream = req.get("stream").and_then(Value::as_bool) == Some(true);
    let usage = stream
        && req
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
    (stream, usage)
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
