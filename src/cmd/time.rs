//! Time arguments shared by commands (`--since`, `--until`): a duration back from now or
//! an RFC 3339 time.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;

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

/// Unix milliseconds of `t` (0 before the epoch), as the `ts_unix_ms` columns store time.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // Proves durations count back from now and RFC 3339 times are taken as given.
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
        assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(1500)), 1500);
    }
}
