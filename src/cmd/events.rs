//! `kt events list|tail`: decision events from the database, as a table, a JSON array
//! (list) or JSON lines (tail).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use super::open_db;
use crate::cli::{EventsArgs, Format, TailArgs};
use crate::output;
use crate::store::{Event, read_events};

/// `kt events list`: JSON is one array, oldest first.
pub fn list(args: &EventsArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let conn = open_db(db)?;
    let events = read_events(&conn, args.last, 0)?;
    match args.format() {
        Format::Json => output::print_json(&events),
        Format::Table => output::print_text(&table(&events)),
    };
    Ok(ExitCode::SUCCESS)
}

/// `kt events tail`: JSON is one object per line, oldest first; `--follow` keeps polling
/// and prints each newly written event once (a shadow that finishes after its request was
/// printed shows up in `kt events list`, not again here).
pub fn tail(args: &TailArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let conn = open_db(db)?;
    let format = args.events.format();
    let events = read_events(&conn, args.events.last, 0)?;
    if !print(&events, format) || !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    // Resume after the highest insertion position seen (events are ordered by request
    // time, which is not always insertion order).
    let mut after = match events.iter().map(|e| e.seq).max() {
        Some(seq) => seq,
        None => last_seq(&conn)?,
    };
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let new = read_events(&conn, usize::MAX, after)?;
        if let Some(seq) = new.iter().map(|e| e.seq).max() {
            after = seq;
            if !print(&new, format) {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

/// Prints events; false when the reader is gone (`| head`), which ends `--follow`.
fn print(events: &[Event], format: Format) -> bool {
    match format {
        Format::Json => output::print_json_lines(events),
        Format::Table => output::print_text(&table(events)),
    }
}

fn last_seq(conn: &rusqlite::Connection) -> anyhow::Result<i64> {
    Ok(read_events(conn, 1, 0)?.last().map_or(0, |e| e.seq))
}

fn table(events: &[Event]) -> String {
    let mut t = output::table(&[
        "time",
        "id",
        "target",
        "model",
        "status",
        "latency ms",
        "tokens in/out",
        "mirror",
        "shadow",
        "shadow ms",
        "similarity",
        "findings",
    ]);
    for e in events {
        let tm = e.traffic_mirror.as_ref();
        t.add_row(vec![
            e.timestamp.clone(),
            e.id.chars().take(13).collect(),
            e.target.clone(),
            e.model.clone().unwrap_or_default(),
            format!("{} {}", e.status, e.http_status),
            e.latency_ms.to_string(),
            format!("{}/{}", opt(e.input_tokens), opt(e.output_tokens)),
            e.mirror_state.clone(),
            tm.map_or("-".into(), |m| {
                format!("{} {}", m.shadow.provider, m.shadow.status)
            }),
            tm.map_or("-".into(), |m| opt(m.shadow.latency_ms)),
            tm.map_or("-".into(), |m| {
                output::cell(&json!(m.comparison.content_similarity))
            }),
            match e.policy_findings.as_array().map(Vec::len) {
                Some(n) if n > 0 => n.to_string(),
                _ => "-".into(),
            },
        ]);
    }
    if events.is_empty() {
        return "no events yet".into();
    }
    t.to_string()
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |n| n.to_string())
}
