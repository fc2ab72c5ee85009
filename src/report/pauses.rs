//! The report's `pauses` part: per shadow target, the spend guard's pauses in the window
//! (how many, how long the shadow was paused, and every pause and resume with its reason),
//! from `queries/report_pauses.sql`.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use super::sql::{self, Params};
use crate::store::StoreError;
use crate::store::queries;

/// One shadow target's pauses in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ShadowPauses {
    pub shadow_target: String,
    /// Pause events in the window.
    pub pauses: u64,
    /// Resume events in the window.
    pub resumes: u64,
    /// Time the shadow was paused inside the window, ms (a pause still open at the
    /// window's end counts up to it, at most now).
    pub paused_ms: u64,
    /// Still paused at the window's end.
    pub paused_at_end: bool,
    /// The window's pauses and resumes, oldest first.
    pub events: Vec<PauseEvent>,
}

/// One `mirror_pauses` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PauseEvent {
    pub ts: String,
    /// `pause` or `resume`.
    pub event: String,
    /// `spend_usd`, `spend_tokens`, `error_rate`, `new_day` or `config`.
    pub reason: String,
    pub detail: Option<String>,
}

/// The pauses of every shadow target with a pause or resume in the window, or paused
/// during it, by target id.
pub fn collect(conn: &Connection, p: &Params) -> Result<Vec<ShadowPauses>, StoreError> {
    let rows = sql::rows(conn, queries::REPORT_PAUSES, p)?;
    Ok(rows
        .iter()
        .map(|r| ShadowPauses {
            shadow_target: sql::text(r, "shadow_target").unwrap_or_default().to_owned(),
            pauses: sql::count(r, "pauses"),
            resumes: sql::count(r, "resumes"),
            paused_ms: sql::count(r, "paused_ms"),
            paused_at_end: sql::count(r, "paused_at_end") > 0,
            events: sql::text(r, "events")
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
        })
        .collect())
}

/// The pauses of `target`, for a group keyed by it.
pub fn of<'a>(all: &'a [ShadowPauses], target: Option<&Value>) -> Option<&'a ShadowPauses> {
    let target = target?.as_str()?;
    all.iter().find(|p| p.shadow_target == target)
}
