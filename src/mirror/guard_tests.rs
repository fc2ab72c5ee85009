//! Unit tests of the spend guard's state machine, on an injected clock.

use super::*;

/// 2026-11-24T10:00:00Z.
const T0: i64 = 1_795_514_400_000;
const MIDNIGHT: i64 = (T0 / DAY_MS + 1) * DAY_MS;
/// gpt-4o-mini: $0.15 in / $0.60 out per Mtok, so 1,000 + 1,000 tokens cost $0.00075.
const MODEL: &str = "gpt-4o-mini";

fn guard(limits: Limits) -> SpendGuard {
    SpendGuard::new(
        Some(limits),
        PriceTable::new(&[]),
        ["s".to_owned(), "t".to_owned()],
        None,
    )
}

fn errors(rate: f64, min_calls: u64) -> Limits {
    Limits {
        max_error_rate: Some(rate),
        min_calls,
        error_window_ms: 60_000,
        pause_for_ms: 30_000,
        ..Limits::default()
    }
}

fn reasons(events: &[Transition]) -> Vec<(bool, &'static str, i64)> {
    events
        .iter()
        .map(|e| (e.pause, e.reason.as_str(), e.at_ms))
        .collect()
}

// Proves the USD cap pauses the target that reached it (and only that one) until the
// next UTC midnight, where a `new_day` resume reopens it with the counters at 0.
#[test]
fn usd_cap_pauses_until_midnight() {
    let g = guard(Limits {
        max_usd_per_day: Some(0.001),
        ..Limits::default()
    });
    assert!(g.record_at("s", MODEL, 1000, 1000, false, T0).is_empty());
    let ev = g.record_at("s", MODEL, 1000, 1000, false, T0 + 1);
    assert_eq!(reasons(&ev), [(true, "spend_usd", T0 + 1)]);
    assert!(
        ev[0].detail.starts_with(
            "shadow spend today is $0.0015, at or over max_usd_per_day $0.0010; paused until 2026-11-25T00:00:00Z"
        ),
        "{}",
        ev[0].detail
    );
    assert_eq!(g.admit_at("s", T0 + 2), (false, vec![]));
    assert_eq!(g.admit_at("s", MIDNIGHT - 1), (false, vec![]));
    assert!(g.admit_at("t", T0 + 2).0, "another shadow is not paused");
    let (open, ev) = g.admit_at("s", MIDNIGHT + 5);
    assert!(open);
    assert_eq!(reasons(&ev), [(false, "new_day", MIDNIGHT)]);
    assert!(ev[0].detail.contains("(2026-11-25)"), "{}", ev[0].detail);
    // The new day starts from 0: one call is under the cap again.
    assert!(
        g.record_at("s", MODEL, 1000, 1000, false, MIDNIGHT + 6)
            .is_empty()
    );
    assert!(g.admit_at("s", MIDNIGHT + 7).0);
}

// Proves the token cap counts input + output tokens of every call, and that a call
// finishing after midnight (before any admit) lifts the pause too.
#[test]
fn token_cap_and_rollover_on_record() {
    let g = guard(Limits {
        max_tokens_per_day: Some(100),
        ..Limits::default()
    });
    assert!(g.record_at("s", "unpriced", 40, 9, false, T0).is_empty());
    let ev = g.record_at("s", "unpriced", 50, 1, false, T0 + 1);
    assert_eq!(reasons(&ev), [(true, "spend_tokens", T0 + 1)]);
    assert!(
        ev[0]
            .detail
            .contains("tokens today are 100, at or over max_tokens_per_day 100")
    );
    assert!(!g.admit_at("s", T0 + 2).0);
    let ev = g.record_at("s", "unpriced", 10, 10, false, MIDNIGHT + 1);
    assert_eq!(reasons(&ev), [(false, "new_day", MIDNIGHT)]);
    assert!(g.admit_at("s", MIDNIGHT + 2).0);
}

// Proves the error rate is judged only from min_calls on, must exceed (not equal) the
// threshold, and pauses for pause_for, after which the window starts empty.
#[test]
fn error_rate_pauses_for_pause_for() {
    let g = guard(errors(0.5, 4));
    for i in 0..3 {
        assert!(g.record_at("s", MODEL, 0, 0, true, T0 + i).is_empty());
    }
    assert!(g.admit_at("s", T0 + 3).0, "3 calls are below min_calls");
    let ev = g.record_at("s", MODEL, 0, 0, true, T0 + 4);
    assert_eq!(reasons(&ev), [(true, "error_rate", T0 + 4)]);
    assert_eq!(
        ev[0].detail,
        "4 of 4 shadow calls in the last 1m failed (100.0%), over max_error_rate 50.0%; paused for 30s"
    );
    assert!(!g.admit_at("s", T0 + 4 + 29_999).0);
    let (open, ev) = g.admit_at("s", T0 + 4 + 40_000);
    assert!(open);
    assert_eq!(reasons(&ev), [(false, "error_rate", T0 + 4 + 30_000)]);
    // The window was cleared: one more failure does not pause again.
    assert!(g.record_at("s", MODEL, 0, 0, true, T0 + 40_010).is_empty());

    let g = guard(errors(0.5, 4));
    for (i, failed) in [true, false, true, false].into_iter().enumerate() {
        assert!(
            g.record_at("s", MODEL, 0, 0, failed, T0 + i as i64)
                .is_empty()
        );
    }
    assert!(g.admit_at("s", T0 + 10).0, "50% does not exceed 50%");
}

// Proves failures older than the window no longer count.
#[test]
fn error_window_slides() {
    let g = guard(errors(0.5, 2));
    assert!(g.record_at("s", MODEL, 0, 0, true, T0).is_empty());
    // Two minutes later the first failure is out of the 1-minute window.
    assert!(
        g.record_at("s", MODEL, 0, 0, false, T0 + 120_000)
            .is_empty()
    );
    assert!(
        g.record_at("s", MODEL, 0, 0, false, T0 + 120_001)
            .is_empty()
    );
    let ev = g.record_at("s", MODEL, 0, 0, true, T0 + 120_002);
    assert!(ev.is_empty(), "1 of 3 failed: {ev:?}");
}

// Proves a guard without limits, or an unknown target, never pauses.
#[test]
fn no_limits_never_pause() {
    let g = SpendGuard::new(None, PriceTable::new(&[]), ["s".to_owned()], None);
    for i in 0..100 {
        assert!(
            g.record_at("s", MODEL, 1_000_000, 1_000_000, true, T0 + i)
                .is_empty()
        );
    }
    assert!(g.admit_at("s", T0 + 100).0);
    assert!(guard(errors(0.0, 1)).admit_at("nobody", T0).0);
}

// Regression: without limits nothing was counted, so /healthz showed 0 spend; a guard
// without limits counts today's spend, and `usd_today` is rounded to the micro-dollar.
#[test]
fn spend_is_counted_without_limits_and_rounded() {
    let g = SpendGuard::new(None, PriceTable::new(&[]), ["s".to_owned()], None);
    for _ in 0..3 {
        g.record("s", MODEL, 1000, 1000, false);
    }
    let st = g.status();
    assert_eq!(st["s"]["tokens_today"], 6000);
    // 0.00075 three times is 0.0022500000000000003 in floating point.
    assert_eq!(st["s"]["usd_today"].to_string(), "0.00225");
}

// Proves a restart loads today's spend (pausing when it is over a cap), carries on a
// pause whose limit still holds, and closes one that no longer does with the resume it
// would have had.
#[test]
fn restore_keeps_the_budget_and_reconciles_pauses() {
    let usd = || {
        guard(Limits {
            max_usd_per_day: Some(0.001),
            max_error_rate: Some(0.5),
            pause_for_ms: 30_000,
            ..Limits::default()
        })
    };
    let spent = vec![("s".to_owned(), MODEL.to_owned(), 2000, 2000)];

    // Over the cap with no open pause: paused now, with a row.
    let g = usd();
    let seed = Seed {
        spend: spent.clone(),
        last: vec![],
    };
    assert_eq!(
        reasons(&g.restore_at(&seed, T0, Occasion::Start)),
        [(true, "spend_usd", T0)]
    );
    assert!(!g.admit_at("s", T0 + 1).0);
    assert!(g.admit_at("t", T0 + 1).0);

    // The same pause already open today: carried on silently.
    let g = usd();
    let seed = Seed {
        spend: spent.clone(),
        last: vec![("s".into(), "pause".into(), "spend_usd".into(), T0 - 5)],
    };
    assert!(g.restore_at(&seed, T0, Occasion::Start).is_empty());
    assert!(!g.admit_at("s", T0 + 1).0);

    // A spend pause from yesterday: resumed at midnight, today counts from what was spent today.
    let g = usd();
    let seed = Seed {
        spend: vec![],
        last: vec![("s".into(), "pause".into(), "spend_usd".into(), T0 - DAY_MS)],
    };
    let today_midnight = T0 / DAY_MS * DAY_MS;
    assert_eq!(
        reasons(&g.restore_at(&seed, T0, Occasion::Start)),
        [(false, "new_day", today_midnight)]
    );
    assert!(g.admit_at("s", T0 + 1).0);

    // An error-rate pause still within pause_for is carried on until it ends.
    let g = usd();
    let seed = Seed {
        spend: vec![],
        last: vec![("s".into(), "pause".into(), "error_rate".into(), T0 - 10_000)],
    };
    assert!(g.restore_at(&seed, T0, Occasion::Start).is_empty());
    assert!(!g.admit_at("s", T0 + 1).0);
    let (open, ev) = g.admit_at("s", T0 + 20_000);
    assert!(open);
    assert_eq!(reasons(&ev), [(false, "error_rate", T0 + 20_000)]);

    // A pause whose limit is gone from the config: closed with reason `config`.
    let g = SpendGuard::new(None, PriceTable::new(&[]), ["s".to_owned()], None);
    let seed = Seed {
        spend: spent,
        last: vec![("s".into(), "pause".into(), "spend_usd".into(), T0 - 5)],
    };
    assert_eq!(
        reasons(&g.restore_at(&seed, T0, Occasion::Start)),
        [(false, "config", T0)]
    );
    assert!(g.admit_at("s", T0 + 1).0);
}

// Regression: a reload that raised a cap wrote a resume saying "the gateway restarted";
// the detail names what happened (start or reload) and the limit now in force.
#[test]
fn config_resume_names_the_reload_and_the_new_limit() {
    let seed = Seed {
        spend: vec![("s".to_owned(), MODEL.to_owned(), 2000, 2000)],
        last: vec![("s".into(), "pause".into(), "spend_usd".into(), T0 - 5)],
    };
    let raised = guard(Limits {
        max_usd_per_day: Some(5.0),
        ..Limits::default()
    });
    let ev = raised.restore_at(&seed, T0, Occasion::Reload);
    assert_eq!(reasons(&ev), [(false, "config", T0)]);
    assert_eq!(
        ev[0].detail,
        "the config was reloaded and the limit behind the last pause no longer holds: \
         max_usd_per_day is now $5.0000, above today's spend of $0.0015"
    );

    let removed = SpendGuard::new(None, PriceTable::new(&[]), ["s".to_owned()], None);
    let ev = removed.restore_at(&seed, T0, Occasion::Start);
    assert_eq!(
        ev[0].detail,
        "the gateway restarted and the limit behind the last pause no longer holds: \
         max_usd_per_day is no longer set"
    );

    // An error-rate pause that ended before the reload says so, not "while stopped".
    let errs = guard(errors(0.5, 1));
    let seed = Seed {
        spend: vec![],
        last: vec![("s".into(), "pause".into(), "error_rate".into(), T0 - 60_000)],
    };
    let ev = errs.restore_at(&seed, T0, Occasion::Reload);
    assert_eq!(
        ev[0].detail,
        "pause_for was over before the config was reloaded: calls go through again"
    );
}

// Proves the seed queries run on a real database and read what the writer stores.
#[test]
fn load_seed_reads_today_and_the_last_events() {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(&dir.path().join("g.db")).unwrap();
    let ts = stamp_ms(T0);
    conn.execute_batch(&format!(
        "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, status, http_status, latency_ms, mirror_state, policy_findings)
           VALUES ('r1', '{ts}', {T0}, 'p', 'openai', 'success', 200, 1, 'mirrored', '[]'),
                  ('r0', '{old}', {old_ms}, 'p', 'openai', 'success', 200, 1, 'mirrored', '[]');
         INSERT INTO shadow_results (request_id, shadow_target, ts, provider, model, status, latency_ms, input_tokens, output_tokens, kind)
           VALUES ('r1', 's', '{ts}', 'openai', '{MODEL}', 'success', 1, 10, 20, 'shadow'),
                  ('r0', 's', '{old}', 'openai', '{MODEL}', 'success', 1, 1000, 1000, 'shadow'),
                  ('r1', 'p', '{ts}', 'openai', '{MODEL}', 'success', 1, 5, 5, 'noise_floor');
         INSERT INTO mirror_pauses (ts, ts_unix_ms, shadow_target, event, reason) VALUES
           ('{ts}', {T0}, 's', 'pause', 'error_rate'),
           ('{ts}', {later}, 's', 'resume', 'error_rate');",
        old = stamp_ms(T0 - DAY_MS),
        old_ms = T0 - DAY_MS,
        later = T0 + 1,
    ))
    .unwrap();
    let seed = load_seed(&conn, T0 + 10).unwrap();
    assert_eq!(seed.spend, [("s".to_owned(), MODEL.to_owned(), 10, 20)]);
    assert_eq!(
        seed.last,
        [(
            "s".to_owned(),
            "resume".to_owned(),
            "error_rate".to_owned(),
            T0 + 1
        )]
    );
}

// Regression: a reload that rebuilds the guard hands over to the new
// one: spend the old one counted beyond the database seed carries over, and calls that
// finish on the old guard afterwards (in flight across the reload) count in the new one.
#[test]
fn hand_over_carries_spend_and_forwards_late_calls() {
    let caps = Limits {
        max_tokens_per_day: Some(100),
        ..Limits::default()
    };
    let old = guard(caps.clone());
    old.record_at("t", MODEL, 30, 30, false, T0);
    let new = std::sync::Arc::new(guard(caps));
    new.restore_at(&Seed::default(), T0, Occasion::Reload);
    old.hand_over_at(new.clone(), T0);
    assert!(new.admit_at("t", T0).0, "60 of 100 tokens: still open");
    // A call that started before the reload finishes on the old guard.
    old.record_at("t", MODEL, 25, 25, false, T0 + 1);
    assert!(
        !new.admit_at("t", T0 + 2).0,
        "110 tokens reached the cap through the old guard"
    );
    assert!(new.admit_at("s", T0 + 2).0, "another target is untouched");
}
