//! `kt events list|tail`: decision events from the database, filtered in SQL, as a table,
//! JSON (an array for list, one object per line for tail), JSON lines or CSV. A request
//! mirrored to several shadows is one event; the table gives each further shadow a line
//! of its own and CSV a record of its own.
//! `show` and `export` live in `events_show.rs` and `events_export.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde_json::json;

use super::time::{parse_time, unix_ms};
use super::{open_db, open_dbs};
use crate::cli::{EventFilterArgs, EventsArgs, EventsFormat, TailArgs};
use crate::output;
use crate::store::{Event, EventFilter, last_seq, read_events};

/// How often `tail --follow` looks for new events.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// `kt events list`: the newest `--last` matching events, oldest first; JSON is one array.
pub fn list(args: &EventsArgs, dbs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let filter = event_filter(&args.filter)?;
    let conn = open_dbs(dbs)?;
    let events = read_events(&conn, &filter, args.last, 0, None)?;
    match args.format() {
        EventsFormat::Json => output::print_json(&events),
        EventsFormat::Jsonl => output::print_json_lines(&events),
        EventsFormat::Table => output::print_text(&table(&events, &args.filter)),
        EventsFormat::Csv => output::print_text(&csv(&events, true)),
    };
    Ok(ExitCode::SUCCESS)
}

/// `kt events tail`: JSON is one object per line, oldest first; `--follow` keeps polling
/// and prints each newly written matching event once (a shadow that finishes after its
/// request was printed shows up in `kt events list` and `show`, not again here).
pub fn tail(args: &TailArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let filter = event_filter(&args.events.filter)?;
    let conn = open_db(db)?;
    let format = args.events.format();
    // Everything up to `seen` has been considered; later rows are new. Bounding each read
    // by it means a row written between two queries is neither missed nor printed twice.
    let mut seen = last_seq(&conn)?;
    let events = read_events(&conn, &filter, args.events.last, 0, Some(seen))?;
    let mut printer = Printer {
        format,
        filter: &args.events.filter,
        csv_header_done: false,
    };
    if !printer.print(&events, !args.follow) || !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let top = last_seq(&conn)?;
        if top <= seen {
            continue;
        }
        let new = read_events(&conn, &filter, usize::MAX, seen, Some(top))?;
        seen = top;
        if !new.is_empty() && !printer.print(&new, false) {
            // The reader is gone (`| head`, a closed pipe): stop quietly.
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// Prints batches of `tail` output, remembering whether the CSV header went out.
struct Printer<'a> {
    format: EventsFormat,
    filter: &'a EventFilterArgs,
    csv_header_done: bool,
}

impl Printer<'_> {
    /// Prints one batch; false when the reader is gone. `final_batch`: an empty table
    /// says so instead of printing nothing (with `--follow`, silence means "nothing yet").
    fn print(&mut self, events: &[Event], final_batch: bool) -> bool {
        match self.format {
            EventsFormat::Json | EventsFormat::Jsonl => output::print_json_lines(events),
            EventsFormat::Table if events.is_empty() && !final_batch => true,
            EventsFormat::Table => output::print_text(&table(events, self.filter)),
            EventsFormat::Csv => {
                let header = !self.csv_header_done;
                self.csv_header_done = true;
                let text = csv(events, header);
                text.is_empty() || output::print_text(&text)
            }
        }
    }
}

/// The store's filter from the command line (`--since` resolved against now).
pub(super) fn event_filter(args: &EventFilterArgs) -> anyhow::Result<EventFilter> {
    Ok(EventFilter {
        since_ms: since_ms(args.since.as_deref())?,
        provider: args.provider.clone(),
        model: args.model.clone(),
        status: args.status.map(|s| s.as_str().to_string()),
        mirrored: args.mirrored,
        flagged: args.flagged,
    })
}

/// `--since` as Unix milliseconds.
pub(super) fn since_ms(since: Option<&str>) -> anyhow::Result<Option<i64>> {
    let now = SystemTime::now();
    Ok(since
        .map(|s| parse_time(s, now))
        .transpose()
        .context("--since")?
        .map(unix_ms))
}

fn any_filter(f: &EventFilterArgs) -> bool {
    f.since.is_some()
        || f.provider.is_some()
        || f.model.is_some()
        || f.status.is_some()
        || f.mirrored
        || f.flagged
}

fn table(events: &[Event], filter: &EventFilterArgs) -> String {
    if events.is_empty() {
        return if any_filter(filter) {
            "no events match the filters".into()
        } else {
            "no events yet".into()
        };
    }
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
            match findings(e) {
                0 => "-".into(),
                n => n.to_string(),
            },
        ]);
        // Further shadows of the request on lines of their own, under the first.
        for sh in e.shadows.iter().skip(1) {
            let mut row = vec![String::new(); 8];
            row.extend([
                format!("{} {}", sh.side.provider, sh.side.status),
                opt(sh.side.latency_ms),
                output::cell(&json!(sh.comparison.content_similarity)),
                String::new(),
            ]);
            t.add_row(row);
        }
    }
    t.to_string()
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |n| n.to_string())
}

fn findings(e: &Event) -> usize {
    e.policy_findings.as_array().map_or(0, Vec::len)
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 21] = [
    "id",
    "timestamp",
    "target",
    "model",
    "status",
    "http_status",
    "stream",
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "mirror_state",
    "shadow_target",
    "shadow_model",
    "shadow_status",
    "shadow_latency_ms",
    "shadow_output_tokens",
    "latency_diff_ms",
    "token_count_diff",
    "content_similarity",
    "findings",
];

/// Events as CSV (RFC 4180 quoting, `\n` line ends); an empty cell is a null.
fn csv(events: &[Event], header: bool) -> String {
    let mut out = String::new();
    if header {
        csv_record(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    }
    let n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let i = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for e in events {
        // One record per shadow (the event's columns repeated), so the flat columns
        // hold every pair; an event without shadows is one record with empty ones.
        let first = e.shadows.first();
        let rest = e.shadows.iter().skip(1).map(Some);
        for sh in std::iter::once(first).chain(rest) {
            let record: [String; 21] = [
                e.id.clone(),
                e.timestamp.clone(),
                e.target.clone(),
                e.model.clone().unwrap_or_default(),
                e.status.clone(),
                e.http_status.to_string(),
                e.stream.to_string(),
                e.latency_ms.to_string(),
                n(e.ttft_ms),
                n(e.input_tokens),
                n(e.output_tokens),
                e.mirror_state.clone(),
                sh.map(|s| s.side.provider.clone()).unwrap_or_default(),
                sh.and_then(|s| s.side.model.clone()).unwrap_or_default(),
                sh.map(|s| s.side.status.clone()).unwrap_or_default(),
                n(sh.and_then(|s| s.side.latency_ms)),
                n(sh.and_then(|s| s.side.output_tokens)),
                i(sh.and_then(|s| s.comparison.latency_diff_ms)),
                i(sh.and_then(|s| s.comparison.token_count_diff)),
                sh.and_then(|s| s.comparison.content_similarity)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                findings(e).to_string(),
            ];
            csv_record(&mut out, record.into_iter());
        }
    }
    out
}

/// Appends one CSV record: fields holding a comma, quote, CR or LF are quoted, with
/// quotes doubled (RFC 4180 §2.6-2.7).
fn csv_record(out: &mut String, fields: impl Iterator<Item = String>) {
    for (k, field) in fields.enumerate() {
        if k > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves CSV quoting follows RFC 4180: only fields that need it are quoted, quotes doubled.
    #[test]
    fn csv_quotes_only_what_needs_it() {
        let mut out = String::new();
        csv_record(
            &mut out,
            ["plain", "a,b", "say \"hi\"", "two\nlines", ""]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
    }
}
