//! `GET /metrics`: the Prometheus exposition of [`crate::metrics`], with the gateway's
//! own counters (writer queue, shadows in flight, reloads, spend guard) read at scrape time.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::live::Live;
use super::state::AppState;
use crate::metrics::{self, CONTENT_TYPE, Snapshot};

/// `GET /metrics`. Open like `/healthz`: it holds counts and target ids, no prompts or keys.
pub async fn scrape(State(live): State<Live>) -> Response {
    let Some(handle) = metrics::install() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "metrics are unavailable: another metrics recorder was installed first",
            "internal",
        )
        .into_response();
    };
    // Counters are shared by every state a reload made, so the current one has them all.
    let text = metrics::render(handle, &snapshot(&live.current()));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// The gateway's counters now, as `/healthz` reports them.
fn snapshot(state: &AppState) -> Snapshot {
    let stats = state.sink.stats();
    let max_in_flight = state.config.mirror.as_ref().map(|m| m.max_in_flight);
    let paused = state.guard.status();
    Snapshot {
        event_queue_depth: state.sink.queue_depth(),
        events_written: stats.written.load(Ordering::Relaxed),
        events_dropped_queue_full: stats.dropped_queue_full.load(Ordering::Relaxed),
        events_dropped_write_failed: stats.dropped_write_failed.load(Ordering::Relaxed),
        shadows_in_flight: max_in_flight.map_or(0, |max| {
            max.saturating_sub(state.mirror_slots.available_permits())
        }),
        max_in_flight: max_in_flight.unwrap_or(0),
        mirror_dropped: state.mirror_dropped.load(Ordering::Relaxed),
        reloads_applied: state.reloads.applied.load(Ordering::Relaxed),
        reloads_refused: state.reloads.refused.load(Ordering::Relaxed),
        paused: state
            .shadows
            .iter()
            .map(|s| (s.id.clone(), paused[&s.id]["state"] == "paused"))
            .collect(),
    }
}
