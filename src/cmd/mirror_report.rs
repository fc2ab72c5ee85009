//! `kt mirror report`: the canned report over a time window, as tables or JSON.

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::json;

use super::open_db;
use crate::cli::{Format, ReportArgs};
use crate::output;
use crate::report;

pub fn run(args: &ReportArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let now = SystemTime::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()
        .context("--since")?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()
        .context("--until")?;
    let ms = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    };
    let stamp = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
    let window = json!({"since": stamp(since), "until": stamp(until)});
    let conn = open_db(db)?;
    let r = report::build(
        &conn,
        since.map_or(0, ms),
        until.map_or(i64::MAX, ms),
        window,
    )?;
    match args.format {
        Format::Json => output::print_json(&r),
        Format::Table => output::print_text(&report::render_table(&r)),
    };
    Ok(ExitCode::SUCCESS)
}

/// A duration back from `now` (`90m`, `24h`, `7d`) or an RFC 3339 time.
pub fn parse_time(s: &str, now: SystemTime) -> anyhow::Result<SystemTime> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.checked_sub(d).unwrap_or(UNIX_EPOCH));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    bail!(
        "`{s}` is neither a duration (like 24h or 7d) nor an RFC 3339 time (like 2026-11-24T00:00:00Z)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_durations_and_times() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_time("1h", now).unwrap(),
            now - Duration::from_secs(3600)
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:10Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(10)
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
