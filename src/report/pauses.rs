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

#[cfg(test)]
mod tests {
    use super::*;

    // Proves paused time is clipped to the window (a pause begun before it counts from
    // its start, one still open counts to its end) and only the window's events are listed.
    #[test]
    fn paused_time_is_clipped_to_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("p.db")).unwrap();
        conn.execute_batch(
            "INSERT INTO mirror_pauses (ts, ts_unix_ms, shadow_target, event, reason, detail) VALUES
               ('a', 1000, 's', 'pause', 'spend_usd', 'd1'),
               ('b', 5000, 's', 'resume', 'new_day', NULL),
               ('c', 8000, 's', 'pause', 'error_rate', 'd3'),
               ('x', 3000, 'other', 'pause', 'spend_tokens', NULL),
               ('y', 4000, 'other', 'resume', 'config', NULL);",
        )
        .unwrap();
        let params = Params {
            since_ms: 2000,
            until_ms: 9000,
            by: "all",
            pricing: "{}".into(),
            limit: 5,
            source: "live",
        };
        let got = collect(&conn, &params).unwrap();
        let event = |ts: &str, event: &str, reason: &str, detail: Option<&str>| PauseEvent {
            ts: ts.into(),
            event: event.into(),
            reason: reason.into(),
            detail: detail.map(Into::into),
        };
        assert_eq!(
            got,
            [
                ShadowPauses {
                    shadow_target: "other".into(),
                    pauses: 1,
                    resumes: 1,
                    paused_ms: 1000,
                    paused_at_end: false,
                    events: vec![
                        event("x", "pause", "spend_tokens", None),
                        event("y", "resume", "config", None),
                    ],
                },
                ShadowPauses {
                    shadow_target: "s".into(),
                    pauses: 1,
                    resumes: 1,
                    paused_ms: 3000 + 1000,
                    paused_at_end: true,
                    events: vec![
                        event("b", "resume", "new_day", None),
                        event("c", "pause", "error_rate", Some("d3")),
                    ],
                },
            ]
        );
    }
}
