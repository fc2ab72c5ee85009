//! `kt audit verify` and `kt events prune`: the audit log's tamper evidence and retention.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, bail};

use super::open_db;
use super::time::{parse_time, unix_ms};
use crate::cli::{LintFormat, PruneArgs, VerifyArgs};
use crate::output;
use crate::store::{audit_chain, queries};

/// Exit 0 when the chain and the tables agree, 1 when anything was changed behind kt's back.
pub fn verify(args: &VerifyArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let conn = open_db(db)?;
    let v = audit_chain::verify(&conn)?;
    match args.format {
        LintFormat::Json => {
            output::print_json(&v);
        }
        LintFormat::Text => {
            let mut out = String::new();
            for p in &v.problems {
                out.push_str(&format!("problem: {p}\n"));
            }
            if let Some((seq, hash)) = &v.anchor {
                out.push_str(&format!(
                    "note: entries before {seq} were pruned; the chain is anchored at {hash}\n"
                ));
            }
            if v.pre_chain_rows > 0 {
                out.push_str(&format!(
                    "note: {} row(s) predate the audit chain and are not covered\n",
                    v.pre_chain_rows
                ));
            }
            out.push_str(&match (v.ok(), &v.head) {
                (true, Some(head)) => format!(
                    "ok: {} entries verified; head {head} (keep it elsewhere to detect a truncated chain later)",
                    v.entries
                ),
                (true, None) => "ok: the audit chain is empty".to_string(),
                (false, _) => format!("FAILED: {} problem(s) in {} entries", v.problems.len(), v.entries),
            });
            output::print_text(&out);
        }
    }
    Ok(if v.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Deletes events older than the cutoff with their chain entries.
pub fn prune(args: &PruneArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let mut conn = open_db(db)?;
    let cutoff_ms = match &args.older_than {
        Some(s) => unix_ms(parse_time(s, SystemTime::now()).context("--older-than")?),
        None => {
            let recorded: String = conn
                .query_row(
                    queries::GET_SETTING.sql,
                    rusqlite::named_params! {":key": "retention_cutoff_ms"},
                    |r| r.get(0),
                )
                .context("reading the retention cutoff")?;
            match recorded.parse::<i64>() {
                Ok(ms) if ms > 0 => ms,
                _ => bail!(
                    "no retention period is configured (audit_logger.retention_days); pass --older-than"
                ),
            }
        }
    };
    let deleted = audit_chain::prune(&mut conn, cutoff_ms).context(
        "pruning events (immutable events can only go once their retention period ends)",
    )?;
    output::print_text(&format!("pruned {deleted} event(s)"));
    Ok(ExitCode::SUCCESS)
}
