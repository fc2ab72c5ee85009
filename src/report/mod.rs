//! The mirror report: runs the canned queries in `queries/` over a time window and renders
//! the result as tables or one JSON document. The JSON `summary` carries the tutorial's
//! Step 6 keys with the same rounding, so scripts written against Step 6 keep working.

use comfy_table::Table;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::output;
use crate::store::StoreError;
use crate::store::queries::{self, Query};

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorReport {
    /// `{since, until}` as RFC 3339, `null` when open.
    pub window: Value,
    /// Step 6 figures over the window (`mirror_summary.sql`).
    pub summary: Map<String, Value>,
    /// The same per primary→shadow model pair (`mirror_by_mapping.sql`).
    pub by_mapping: Vec<Map<String, Value>>,
    /// Why requests were or were not mirrored (`mirror_states.sql`).
    pub mirror_states: Vec<Map<String, Value>>,
    /// Failures by side, status and class (`failures.sql`).
    pub failures: Vec<Map<String, Value>>,
    /// Time to first token of streamed traffic, per side (`ttft.sql`).
    pub ttft: Vec<Map<String, Value>>,
}

/// Runs every report query for `[since_ms, until_ms)`.
pub fn build(
    conn: &Connection,
    since_ms: i64,
    until_ms: i64,
    window: Value,
) -> Result<MirrorReport, StoreError> {
    let run = |q| rows(conn, q, since_ms, until_ms);
    Ok(MirrorReport {
        window,
        summary: run(queries::MIRROR_SUMMARY)?
            .into_iter()
            .next()
            .unwrap_or_default(),
        by_mapping: run(queries::MIRROR_BY_MAPPING)?,
        mirror_states: run(queries::MIRROR_STATES)?,
        failures: run(queries::FAILURES)?,
        ttft: run(queries::TTFT)?,
    })
}

/// Runs a windowed query and returns its rows as JSON objects in column order.
fn rows(
    conn: &Connection,
    q: Query,
    since_ms: i64,
    until_ms: i64,
) -> Result<Vec<Map<String, Value>>, StoreError> {
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    let mut out = Vec::new();
    let mut rs = st
        .query(rusqlite::named_params! {":since_ms": since_ms, ":until_ms": until_ms})
        .map_err(err)?;
    while let Some(r) = rs.next().map_err(err)? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i).map_err(err)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => Value::Null,
            };
            obj.insert(name.clone(), v);
        }
        out.push(obj);
    }
    Ok(out)
}

/// The report as terminal tables.
pub fn render_table(r: &MirrorReport) -> String {
    let mut out = String::new();
    let total = r
        .summary
        .get("total_mirrored")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    out.push_str("Mirror summary");
    if let Some(since) = r.window.get("since").and_then(Value::as_str) {
        out.push_str(&format!(" since {since}"));
    }
    if let Some(until) = r.window.get("until").and_then(Value::as_str) {
        out.push_str(&format!(" until {until}"));
    }
    out.push('\n');
    if total == 0 {
        out.push_str("No mirrored requests in this window yet.\n");
    }
    let mut t = output::table(&["figure", "value"]);
    for (k, v) in &r.summary {
        t.add_row(vec![k.clone(), output::cell(v)]);
    }
    out.push_str(&format!("{t}\n"));
    for (title, rows) in [
        ("By model mapping", &r.by_mapping),
        ("Mirror decisions", &r.mirror_states),
        ("Failures", &r.failures),
        ("Streaming: time to first token (ms)", &r.ttft),
    ] {
        out.push_str(&format!("\n{title}\n"));
        if rows.is_empty() {
            out.push_str("(none)\n");
        } else {
            out.push_str(&format!("{}\n", rows_table(rows)));
        }
    }
    out
}

fn rows_table(rows: &[Map<String, Value>]) -> Table {
    let header: Vec<&str> = rows
        .first()
        .map(|r| r.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut t = output::table(&header);
    for r in rows {
        t.add_row(r.values().map(output::cell).collect::<Vec<_>>());
    }
    t
}
