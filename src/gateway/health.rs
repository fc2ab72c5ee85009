//! `GET /healthz`: liveness plus the accounting counters (what load balancers and the
//! benchmark read).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use super::live::Live;

/// `GET /healthz`: liveness plus the accounting counters.
pub async fn healthz(State(live): State<Live>) -> impl IntoResponse {
    let state = live.current();
    let stats = state.sink.stats();
    axum::Json(json!({
        "status": "ok",
        "requests_answered": state.answered.load(Ordering::Relaxed),
        "events_queued": stats.queued.load(Ordering::Relaxed),
        "events_written": stats.written.load(Ordering::Relaxed),
        "events_dropped": stats.dropped(),
        "event_queue_depth": state.sink.queue_depth(),
        "shadows_in_flight": state.config.mirror.as_ref().map_or(0, |m| m.max_in_flight - state.mirror_slots.available_permits()),
        "mirror_dropped": state.mirror_dropped.load(Ordering::Relaxed),
        "config_reloads": state.reloads.applied.load(Ordering::Relaxed),
        "config_reloads_refused": state.reloads.refused.load(Ordering::Relaxed),
        "spend_guard": state.guard.status(),
        // The semantic evaluators since start: pairs handed over, dropped at a full queue,
        // skipped at the daily cap, and today's spend.
        "evaluations": {
            "semantic": state.evaluation_ledger.semantic.status(crate::store::now_stamp().1),
            "judge": state.evaluation_ledger.judge.status(crate::store::now_stamp().1),
        },
        // requests_answered = request_rows_written + request_rows_dropped + rows still queued
        "accounting": {
            "requests_answered": state.answered.load(Ordering::Relaxed),
            "request_rows_written": stats.request_rows_written.load(Ordering::Relaxed),
            "request_rows_dropped": stats.request_rows_dropped.load(Ordering::Relaxed),
        },
    }))
}
