//! What a restart or a config reload carries over into the spend guard: today's shadow
//! spend from the database (so neither resets the budget) and the pauses left open
//! (carried on while their limit holds, else closed with the resume they would have had).

use rusqlite::Connection;

use super::{
    DAY_MS, Pause, Reason, SpendGuard, State, Transition, date, now_ms, stamp, stamp_ms,
    transition, usd,
};
use crate::store::StoreError;
use crate::store::queries::{self, Query};

/// What a restart needs from the database: today's shadow tokens and each target's last
/// pause or resume.
#[derive(Debug, Default, Clone)]
pub struct Seed {
    /// (shadow target, model, input tokens, output tokens) summed over today's calls.
    pub spend: Vec<(String, String, u64, u64)>,
    /// (shadow target, event, reason, Unix ms) of each target's last `mirror_pauses` row.
    pub last: Vec<(String, String, String, i64)>,
}

/// Why a guard is seeded from the database: the resume rows it writes say which, so an
/// analyst reading `mirror_pauses` is not told of a restart that never happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The gateway started.
    Start,
    /// A config reload (SIGHUP or `--watch-config`) rebuilt the guard.
    Reload,
}

impl SpendGuard {
    /// Today's spend from the database and the pauses a previous run (or the guard a
    /// reload replaces) left open, so neither resets the budget nor leaves a pause
    /// dangling in the report.
    pub fn restore(&self, seed: &Seed, occasion: Occasion) {
        let events = self.restore_at(seed, now_ms(), occasion);
        self.emit(events);
    }

    /// [`SpendGuard::restore`] at `now_ms`, returning the transitions.
    pub fn restore_at(&self, seed: &Seed, now_ms: i64, occasion: Occasion) -> Vec<Transition> {
        let mut events = Vec::new();
        let today = now_ms.div_euclid(DAY_MS);
        for (id, t) in &self.targets {
            let mut st = t.lock();
            st.day = today;
            st.usd = 0.0;
            st.tokens = 0;
            for (_, model, input, output) in seed.spend.iter().filter(|s| &s.0 == id) {
                st.usd += self.usd(model, *input, *output);
                st.tokens = st.tokens.saturating_add(input.saturating_add(*output));
            }
            let last = seed
                .last
                .iter()
                .find(|l| &l.0 == id && l.1 == "pause")
                .map(|l| (Reason::parse(&l.2), l.3));
            if let Some((reason, since)) = last {
                let open = Open {
                    reason,
                    since,
                    occasion,
                };
                self.reopen(id, &mut st, open, now_ms, &mut events);
            }
            if st.pause.is_none() && self.limits.is_some() {
                self.check_spend(id, &mut st, now_ms, &mut events);
            }
            t.publish(&st);
        }
        events
    }

    /// A pause left open by the previous run: carried on when its limit still holds,
    /// else closed with the resume it would have had.
    fn reopen(
        &self,
        id: &str,
        st: &mut State,
        open: Open,
        now_ms: i64,
        events: &mut Vec<Transition>,
    ) {
        let Open {
            reason,
            since,
            occasion,
        } = open;
        let today = now_ms.div_euclid(DAY_MS);
        let l = self.limits.as_ref();
        let over = |r: Reason| match r {
            Reason::SpendUsd => l
                .and_then(|l| l.max_usd_per_day)
                .is_some_and(|c| st.usd >= c),
            Reason::SpendTokens => l
                .and_then(|l| l.max_tokens_per_day)
                .is_some_and(|c| st.tokens >= c),
            _ => false,
        };
        let error_until = l
            .filter(|l| l.max_error_rate.is_some())
            .map(|l| since.saturating_add(i64::try_from(l.pause_for_ms).unwrap_or(i64::MAX)));
        let carried = match reason {
            Some(r @ (Reason::SpendUsd | Reason::SpendTokens))
                if since.div_euclid(DAY_MS) == today && over(r) =>
            {
                Some((r, (today + 1) * DAY_MS))
            }
            Some(Reason::ErrorRate) => error_until
                .filter(|u| *u > now_ms)
                .map(|u| (Reason::ErrorRate, u)),
            _ => None,
        };
        if let Some((reason, until_ms)) = carried {
            st.pause = Some(Pause {
                reason,
                since_ms: since,
                until_ms,
            });
            tracing::info!(
                shadow = id,
                reason = reason.as_str(),
                "spend guard: shadow `{id}` is still paused ({}) until {}",
                reason.as_str(),
                stamp(until_ms)
            );
            return;
        }
        let (reason, at, detail) = match (reason, error_until) {
            (Some(Reason::SpendUsd | Reason::SpendTokens), _)
                if since.div_euclid(DAY_MS) < today =>
            {
                let midnight = (since.div_euclid(DAY_MS) + 1) * DAY_MS;
                let detail = format!(
                    "a new UTC day ({}) began: the daily caps count from 0 again",
                    date(midnight)
                );
                (Reason::NewDay, midnight, detail)
            }
            (Some(Reason::ErrorRate), Some(until)) => {
                let when = match occasion {
                    Occasion::Start => "while the gateway was stopped",
                    Occasion::Reload => "before the config was reloaded",
                };
                let detail = format!("pause_for was over {when}: calls go through again");
                (Reason::ErrorRate, until, detail)
            }
            _ => {
                let what = match occasion {
                    Occasion::Start => "the gateway restarted",
                    Occasion::Reload => "the config was reloaded",
                };
                let mut detail =
                    format!("{what} and the limit behind the last pause no longer holds");
                if let Some(now) = self.limit_now(reason, st) {
                    detail.push_str(": ");
                    detail.push_str(&now);
                }
                (Reason::Config, now_ms, detail)
            }
        };
        events.push(transition(id, false, reason, at, detail));
    }

    /// The current setting of the limit behind a pause of `reason`, against today's
    /// figure, for the resume row's detail (`None` when the reason names no limit).
    fn limit_now(&self, reason: Option<Reason>, st: &State) -> Option<String> {
        let l = self.limits.as_ref();
        Some(match reason? {
            Reason::SpendUsd => match l.and_then(|l| l.max_usd_per_day) {
                Some(cap) => format!(
                    "max_usd_per_day is now {}, above today's spend of {}",
                    usd(cap),
                    usd(st.usd)
                ),
                None => "max_usd_per_day is no longer set".to_owned(),
            },
            Reason::SpendTokens => match l.and_then(|l| l.max_tokens_per_day) {
                Some(cap) => format!(
                    "max_tokens_per_day is now {cap}, above today's {} tokens",
                    st.tokens
                ),
                None => "max_tokens_per_day is no longer set".to_owned(),
            },
            Reason::ErrorRate => "max_error_rate is no longer set".to_owned(),
            Reason::NewDay | Reason::Config => return None,
        })
    }
}

/// A pause the database shows open, and why the guard is being seeded.
#[derive(Debug, Clone, Copy)]
struct Open {
    reason: Option<Reason>,
    since: i64,
    occasion: Occasion,
}

/// Reads today's shadow tokens and each target's last pause or resume (blocking SQLite
/// work: run it off the async workers, before the gateway serves).
pub fn load_seed(conn: &Connection, now_ms: i64) -> Result<Seed, StoreError> {
    let day_start = now_ms.div_euclid(DAY_MS) * DAY_MS;
    let err = |q: Query| {
        move |source| StoreError::Query {
            query: q.name,
            source,
        }
    };
    let q = queries::GUARD_SPEND_TODAY;
    let mut st = conn.prepare(q.sql).map_err(err(q))?;
    let spend = st
        .query_map(
            rusqlite::named_params! {
                ":day_start_ms": day_start,
                ":day_start": stamp_ms(day_start),
            },
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<u64>>(2)?.unwrap_or(0),
                    r.get::<_, Option<u64>>(3)?.unwrap_or(0),
                ))
            },
        )
        .and_then(Iterator::collect)
        .map_err(err(q))?;
    let q = queries::GUARD_LAST_EVENTS;
    let mut st = conn.prepare(q.sql).map_err(err(q))?;
    let last = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(err(q))?;
    Ok(Seed { spend, last })
}
