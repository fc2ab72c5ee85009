//! Which logged requests a replay sends: successful requests in the window with a logged
//! body, whose model is mapped, and with no `shadow_results` row for the target yet (of
//! any kind: replayed before, or mirrored to it live). That last rule is the resume rule:
//! no pair is replayed twice. A reader thread pages through them oldest first, so the
//! bodies are never all in memory and SQLite stays off the async workers.

use rusqlite::{Connection, named_params};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::ReplayError;
use crate::mirror::PrimaryOutcome;
use crate::store::StoreError;
use crate::store::queries::{self, Query};

/// Requests read per page.
const PAGE: i64 = 256;

/// The selection: window, target and mapping.
#[derive(Debug, Clone)]
pub struct Window {
    /// `--since`, Unix ms (inclusive).
    pub since_ms: i64,
    /// `--until`, Unix ms (exclusive).
    pub until_ms: i64,
    /// The target id replayed to.
    pub target: String,
    /// The model mapping as a JSON object (primary model → model to send).
    pub mapping_json: String,
    /// `--limit`: requests replayed at most.
    pub limit: Option<u64>,
}

impl Window {
    /// The mapping as the JSON object the queries take.
    pub fn mapping_json(mapping: &[(String, String)]) -> String {
        let map: Map<String, Value> = mapping
            .iter()
            .map(|(from, to)| (from.clone(), Value::String(to.clone())))
            .collect();
        Value::Object(map).to_string()
    }
}

/// What the window holds for the target (`replay_pending.sql`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    /// Successful requests with a logged body.
    pub logged: u64,
    /// Of those, already paired with the target (replayed, or mirrored live).
    pub paired: u64,
    /// Not paired, but their model has no mapping.
    pub unmapped: u64,
    /// To replay.
    pub pending: u64,
    /// The models the pending requests would be sent as.
    pub shadow_models: Vec<String>,
}

/// Counts what a replay of `w` would do.
pub fn pending(conn: &Connection, w: &Window) -> Result<Pending, StoreError> {
    let q = queries::REPLAY_PENDING;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare(q.sql).map_err(err)?;
    st.query_row(
        named_params! {
            ":since_ms": w.since_ms,
            ":until_ms": w.until_ms,
            ":target": w.target,
            ":mapping": w.mapping_json,
        },
        |r| {
            let models: Option<String> = r.get("shadow_models")?;
            Ok(Pending {
                logged: r.get("logged")?,
                paired: r.get("paired")?,
                unmapped: r.get("unmapped")?,
                pending: r.get("pending")?,
                shadow_models: models
                    .and_then(|m| serde_json::from_str::<Vec<Option<String>>>(&m).ok())
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .collect(),
            })
        },
    )
    .map_err(err)
}

/// One logged request to replay.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    /// The model the caller asked for.
    pub model: String,
    /// The model sent to the target (from the mapping).
    pub shadow_model: String,
    /// The logged body; `None` when it is not a JSON object (it is then skipped).
    pub body: Option<Map<String, Value>>,
    /// Characters of the logged body, for a cost estimate without token counts.
    pub body_chars: u64,
    pub stream: bool,
    pub has_tools: bool,
    pub json_mode: bool,
    /// The logged primary answer, as the shadow comparison takes it. `text` is empty when
    /// no answer text was logged (`has_text` false).
    pub primary: PrimaryOutcome,
    pub has_text: bool,
    pub input_tokens: Option<u64>,
    /// The request's own output limit (`max_completion_tokens` or `max_tokens`).
    pub max_output_tokens: Option<u64>,
}

/// Starts a thread that reads the requests of `w` oldest first and hands them over a
/// bounded channel (so reading stays just ahead of replaying). The thread ends when every
/// request is read, `--limit` is reached, or the receiver is dropped.
pub fn spawn_reader(
    conn: Connection,
    w: Window,
    buffer: usize,
) -> Result<mpsc::Receiver<Result<Candidate, StoreError>>, ReplayError> {
    let (tx, rx) = mpsc::channel(buffer.max(1));
    std::thread::Builder::new()
        .name("kt-replay-reader".into())
        .spawn(move || read_all(&conn, &w, &tx))
        .map_err(ReplayError::Reader)?;
    Ok(rx)
}

fn read_all(conn: &Connection, w: &Window, tx: &mpsc::Sender<Result<Candidate, StoreError>>) {
    let q = queries::REPLAY_CANDIDATES;
    let mut left = w.limit.unwrap_or(u64::MAX);
    // Keyset paging: rows queued for the writer meanwhile cannot shift the pages.
    let (mut after_ms, mut after_id) = (i64::MIN, String::new());
    while left > 0 {
        let page = match read_page(conn, q, w, after_ms, &after_id) {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let Some((last_ms, last_id)) = page.last().map(|(ms, c)| (*ms, c.id.clone())) else {
            return;
        };
        for (_, c) in page {
            if left == 0 || tx.blocking_send(Ok(c)).is_err() {
                return;
            }
            left -= 1;
        }
        (after_ms, after_id) = (last_ms, last_id);
    }
}

fn read_page(
    conn: &Connection,
    q: Query,
    w: &Window,
    after_ms: i64,
    after_id: &str,
) -> Result<Vec<(i64, Candidate)>, StoreError> {
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let rows = st
        .query_map(
            named_params! {
                ":since_ms": w.since_ms,
                ":until_ms": w.until_ms,
                ":target": w.target,
                ":mapping": w.mapping_json,
                ":after_ms": after_ms,
                ":after_id": after_id,
                ":limit": PAGE,
            },
            |r| {
                let body: String = r.get("request_body")?;
                let text: Option<String> = r.get("response_text")?;
                let parsed = serde_json::from_str::<Map<String, Value>>(&body).ok();
                let max_output_tokens = parsed.as_ref().and_then(|b| {
                    ["max_completion_tokens", "max_tokens"]
                        .iter()
                        .find_map(|k| b.get(*k).and_then(Value::as_u64))
                });
                let c = Candidate {
                    id: r.get("id")?,
                    model: r.get("model")?,
                    shadow_model: r.get("shadow_model")?,
                    body_chars: body.chars().count() as u64,
                    body: parsed,
                    stream: r.get("stream")?,
                    has_tools: r.get("has_tools")?,
                    json_mode: r.get("json_mode")?,
                    has_text: text.is_some(),
                    primary: PrimaryOutcome {
                        ok: true,
                        text: text.unwrap_or_default(),
                        latency_ms: r.get::<_, Option<u64>>("upstream_latency_ms")?.unwrap_or(0),
                        output_tokens: r.get("output_tokens")?,
                        ttft_ms: r.get("ttft_ms")?,
                        tool_calls: r.get("tool_calls")?,
                    },
                    input_tokens: r.get("input_tokens")?,
                    max_output_tokens,
                };
                Ok((r.get::<_, i64>("ts_unix_ms")?, c))
            },
        )
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: a request mirrored live to the target counts as
    // paired even while its shadow is still in flight (no shadow_results row yet), as the
    // first shadow or as an extra one; otherwise the replay row would take the live row's
    // (request, target) slot.
    #[test]
    fn live_shadows_in_flight_are_paired() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("r.db")).unwrap();
        for (id, first) in [("a", "cand"), ("b", "other"), ("c", "other")] {
            conn.execute(
                "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, model, status,
                   http_status, latency_ms, mirror_state, shadow_target, shadow_model, request_body)
                 VALUES (?1, 't', 1000, 'p', 'openai', 'gpt-4o-mini', 'success', 200, 5,
                   'mirrored', ?2, 'm', '{}')",
                rusqlite::params![id, first],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO request_extra_shadows VALUES ('b', 'cand', 'm2', 1000)",
            [],
        )
        .unwrap();
        let w = Window {
            since_ms: 0,
            until_ms: 2000,
            target: "cand".into(),
            mapping_json: r#"{"gpt-4o-mini": "m3"}"#.into(),
            limit: None,
        };
        let p = pending(&conn, &w).unwrap();
        assert_eq!((p.logged, p.paired, p.pending), (3, 2, 1));
    }
}
