//! What the evaluators count across config reloads: each evaluator's spend of the current
//! UTC day (its USD cap) and how many pairs it took, dropped at a full queue or skipped at
//! the cap (for `/healthz`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

const DAY_MS: i64 = 86_400_000;

/// One evaluator's counts. Shared by every pool a reload builds, so a reload neither
/// resets the day's spend nor the counters.
#[derive(Debug, Default)]
pub struct KindLedger {
    /// (UTC day number, USD spent that day).
    spend: Mutex<(i64, f64)>,
    /// Pairs handed to the pool (after the sample draw).
    pub submitted: AtomicU64,
    /// Pairs refused because the pool's queue was full.
    pub dropped: AtomicU64,
    /// Evaluations skipped because the day's spend had reached `max_usd_per_day`.
    pub skipped_cap: AtomicU64,
}

impl KindLedger {
    /// USD spent on the UTC day of `now_ms`.
    pub fn spent(&self, now_ms: i64) -> f64 {
        let day = now_ms.div_euclid(DAY_MS);
        match self.spend.lock() {
            Ok(g) if g.0 == day => g.1,
            _ => 0.0,
        }
    }

    /// Adds `usd` to the UTC day of `now_ms` (a new day starts from zero).
    pub fn add(&self, now_ms: i64, usd: f64) {
        if !usd.is_finite() || usd <= 0.0 {
            return;
        }
        let day = now_ms.div_euclid(DAY_MS);
        if let Ok(mut g) = self.spend.lock() {
            if g.0 != day {
                *g = (day, 0.0);
            }
            g.1 += usd;
        }
    }

    /// What this evaluator did since start, for `/healthz`.
    pub fn status(&self, now_ms: i64) -> LedgerStatus {
        LedgerStatus {
            submitted: self.submitted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            skipped_cap: self.skipped_cap.load(Ordering::Relaxed),
            // To the micro-dollar: a sum of per-call prices carries binary float noise.
            spent_today_usd: (self.spent(now_ms) * 1e6).round() / 1e6,
        }
    }
}

/// `/healthz` `evaluations.{semantic,judge}`.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerStatus {
    pub submitted: u64,
    pub dropped: u64,
    pub skipped_cap: u64,
    pub spent_today_usd: f64,
}

/// Both evaluators' ledgers.
#[derive(Debug, Default)]
pub struct Ledger {
    pub semantic: KindLedger,
    pub judge: KindLedger,
}

impl Ledger {
    /// The ledger of `kind` (`semantic` or `judge`).
    pub fn of(&self, kind: &str) -> &KindLedger {
        if kind == "judge" {
            &self.judge
        } else {
            &self.semantic
        }
    }
}

/// The UTC midnight (Unix ms) starting the day of `now_ms`.
pub fn day_start_ms(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves spend adds up within a UTC day and starts from zero on the next.
    #[test]
    fn spend_is_per_utc_day() {
        let l = KindLedger::default();
        let t = 1_764_000_000_000; // some time on 2025-11-24
        l.add(t, 0.25);
        l.add(t + 1000, 0.5);
        l.add(t, f64::NAN);
        assert!((l.spent(t) - 0.75).abs() < 1e-12);
        let next = day_start_ms(t) + DAY_MS;
        assert_eq!(l.spent(next), 0.0);
        l.add(next, 0.1);
        assert!((l.spent(next) - 0.1).abs() < 1e-12);
        assert_eq!(l.spent(t), 0.0);
    }

    // Proves /healthz's spent_today_usd is rounded: 0.018 three times is
    // 0.05399999999999999 in floating point, shown as 0.054.
    #[test]
    fn status_rounds_the_spend() {
        let l = KindLedger::default();
        let t = 1_764_000_000_000;
        for _ in 0..3 {
            l.add(t, 0.018);
        }
        assert_ne!(l.spent(t), 0.054);
        assert_eq!(l.status(t).spent_today_usd, 0.054);
    }
}
