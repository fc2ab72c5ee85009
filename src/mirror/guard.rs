//! The shadow spend guard: per shadow target, today's spend (USD and tokens) against the
//! daily caps, and a sliding window of call outcomes against `max_error_rate`. It pauses a
//! shadow when a limit is passed and lets calls through again at UTC midnight (caps) or
//! after `pause_for` (errors); every pause and resume is logged and queued as a
//! `mirror_pauses` row.
//!
//! The request path only calls [`SpendGuard::admit`], which reads one atomic per target
//! (a short lock only once a pause has ended). Counting happens in [`SpendGuard::record`],
//! called by the shadow task when a call finishes. Times are passed in (`*_at`) so tests
//! can drive the clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio_util::task::TaskTracker;

use crate::config::SpendGuard as Limits;
use crate::report::PriceTable;
use crate::store::{EventSink, PauseRow};

const DAY_MS: i64 = 86_400_000;
/// The error window is counted in this many slices: memory stays constant at any traffic,
/// and the window slides in steps of 1/60 of its length.
const SLICES: i64 = 60;

/// Why a shadow was paused or resumed (`mirror_pauses.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Today's spend reached `max_usd_per_day`.
    SpendUsd,
    /// Today's tokens reached `max_tokens_per_day`.
    SpendTokens,
    /// The failure share over `error_window` passed `max_error_rate` (pause), or
    /// `pause_for` is over (resume).
    ErrorRate,
    /// A new UTC day began: the daily caps start from 0 again.
    NewDay,
    /// The gateway restarted, or a config reload rebuilt the guard, and the limit behind an
    /// earlier pause no longer holds.
    Config,
}

impl Reason {
    /// The `mirror_pauses.reason` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpendUsd => "spend_usd",
            Self::SpendTokens => "spend_tokens",
            Self::ErrorRate => "error_rate",
            Self::NewDay => "new_day",
            Self::Config => "config",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::SpendUsd,
            Self::SpendTokens,
            Self::ErrorRate,
            Self::NewDay,
            Self::Config,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A pause or resume of one shadow target.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub shadow_target: String,
    /// `true`: paused; `false`: resumed.
    pub pause: bool,
    pub reason: Reason,
    /// When it took effect, Unix ms (a resume is dated when its pause ended, even when it
    /// is noticed later).
    pub at_ms: i64,
    /// What was measured and the limit, as a sentence.
    pub detail: String,
}

/// A pause in effect.
#[derive(Debug, Clone, Copy)]
struct Pause {
    reason: Reason,
    since_ms: i64,
    until_ms: i64,
}

/// Call outcomes over the error window, in [`SLICES`] slices.
#[derive(Debug)]
struct Window {
    slice_ms: i64,
    /// (slice number, calls, failures); a slot holds the last slice that mapped to it.
    slots: Vec<(i64, u64, u64)>,
}

impl Window {
    fn new(window_ms: u64) -> Self {
        let window_ms = i64::try_from(window_ms).unwrap_or(i64::MAX);
        Self {
            slice_ms: (window_ms / SLICES).max(1),
            slots: vec![(i64::MIN, 0, 0); SLICES as usize],
        }
    }

    fn add(&mut self, now_ms: i64, failed: bool) {
        let n = now_ms.div_euclid(self.slice_ms);
        let i = usize::try_from(n.rem_euclid(SLICES)).unwrap_or(0);
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.0 != n {
                *slot = (n, 0, 0);
            }
            slot.1 += 1;
            slot.2 += u64::from(failed);
        }
    }

    /// (calls, failures) of the slices inside the window ending now.
    fn totals(&self, now_ms: i64) -> (u64, u64) {
        let n = now_ms.div_euclid(self.slice_ms);
        self.slots
            .iter()
            .filter(|s| s.0 <= n && s.0 > n - SLICES)
            .fold((0, 0), |(c, f), s| (c + s.1, f + s.2))
    }

    fn clear(&mut self) {
        self.slots.fill((i64::MIN, 0, 0));
    }
}

/// One shadow target's counters.
#[derive(Debug)]
struct State {
    /// The UTC day (days since the epoch) `usd` and `tokens` count.
    day: i64,
    usd: f64,
    tokens: u64,
    window: Window,
    pause: Option<Pause>,
}

#[derive(Debug)]
struct Target {
    /// 0 while calls go through, else the Unix ms the pause ends: the request path's flag.
    resume_at_ms: AtomicI64,
    state: Mutex<State>,
}

impl Target {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, st: &State) {
        let flag = st.pause.map_or(0, |p| p.until_ms.max(1));
        self.resume_at_ms.store(flag, Ordering::Release);
    }
}

/// Where transitions go besides the log: the event writer, on tracked tasks.
#[derive(Debug)]
struct Outlet {
    sink: EventSink,
    tracker: TaskTracker,
}

/// The spend guard of every shadow target.
#[derive(Debug)]
pub struct SpendGuard {
    /// `None`: no `spend_guard` block; today's spend is counted (for `/healthz`), nothing
    /// is paused.
    limits: Option<Limits>,
    prices: PriceTable,
    targets: HashMap<String, Target>,
    outlet: Option<Outlet>,
    /// Set when a config reload replaced this guard: shadow calls started before the
    /// reload still hold this one, and their spend must reach the new one.
    successor: std::sync::OnceLock<std::sync::Arc<SpendGuard>>,
}

impl SpendGuard {
    /// A guard for `targets` (shadow target ids) with `limits`, pricing with `prices`.
    /// Transitions are logged, and queued to `sink` on `tracker` when given.
    pub fn new(
        limits: Option<Limits>,
        prices: PriceTable,
        targets: impl IntoIterator<Item = String>,
        outlet: Option<(EventSink, TaskTracker)>,
    ) -> Self {
        let window_ms = limits.as_ref().map_or(60_000, |l| l.error_window_ms);
        let targets = targets
            .into_iter()
            .map(|id| {
                let state = State {
                    day: 0,
                    usd: 0.0,
                    tokens: 0,
                    window: Window::new(window_ms),
                    pause: None,
                };
                let t = Target {
                    resume_at_ms: AtomicI64::new(0),
                    state: Mutex::new(state),
                };
                (id, t)
            })
            .collect();
        Self {
            limits,
            prices,
            targets,
            outlet: outlet.map(|(sink, tracker)| Outlet { sink, tracker }),
            successor: std::sync::OnceLock::new(),
        }
    }

    /// Whether a request may be mirrored to `target` now. Call it where the shadow is
    /// about to be launched; `false` means the shadow is paused.
    pub fn admit(&self, target: &str) -> bool {
        let (open, events) = self.admit_at(target, now_ms());
        self.emit(events);
        open
    }

    /// [`SpendGuard::admit`] at `now_ms`, returning the transitions instead of emitting them.
    pub fn admit_at(&self, target: &str, now_ms: i64) -> (bool, Vec<Transition>) {
        let Some(t) = self.targets.get(target) else {
            return (true, Vec::new());
        };
        let until = t.resume_at_ms.load(Ordering::Acquire);
        if until == 0 {
            return (true, Vec::new());
        }
        if now_ms < until {
            return (false, Vec::new());
        }
        let mut events = Vec::new();
        let mut st = t.lock();
        self.settle(target, &mut st, now_ms, &mut events);
        t.publish(&st);
        (st.pause.is_none(), events)
    }

    /// Counts a finished shadow call: its tokens (priced by `model`) and whether it failed.
    pub fn record(&self, target: &str, model: &str, input: u64, output: u64, failed: bool) {
        let events = self.record_at(target, model, input, output, failed, now_ms());
        self.emit(events);
    }

    /// [`SpendGuard::record`] at `now_ms`, returning the transitions.
    pub fn record_at(
        &self,
        target: &str,
        model: &str,
        input: u64,
        output: u64,
        failed: bool,
        now_ms: i64,
    ) -> Vec<Transition> {
        if let Some(next) = self.successor.get() {
            return next.record_at(target, model, input, output, failed, now_ms);
        }
        // Today's spend is counted with or without limits: /healthz shows it either way.
        let Some(t) = self.targets.get(target) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut st = t.lock();
        self.settle(target, &mut st, now_ms, &mut events);
        st.usd += self.usd(model, input, output);
        st.tokens = st.tokens.saturating_add(input.saturating_add(output));
        if self
            .limits
            .as_ref()
            .is_some_and(|l| l.max_error_rate.is_some())
        {
            st.window.add(now_ms, failed);
        }
        if st.pause.is_none() {
            self.check_spend(target, &mut st, now_ms, &mut events);
        }
        if st.pause.is_none() {
            self.check_errors(target, &mut st, now_ms, &mut events);
        }
        t.publish(&st);
        events
    }

    /// Brings a target up to `now_ms`: a new day resets the day's counters, a pause that
    /// has ended is lifted, and the caps are checked again.
    fn settle(&self, target: &str, st: &mut State, now_ms: i64, events: &mut Vec<Transition>) {
        let today = now_ms.div_euclid(DAY_MS);
        if today > st.day {
            st.day = today;
            st.usd = 0.0;
            st.tokens = 0;
        }
        if let Some(p) = st.pause
            && now_ms >= p.until_ms
        {
            st.pause = None;
            let (reason, detail) = if p.reason == Reason::ErrorRate {
                st.window.clear();
                let pause_for = self.limits.as_ref().map_or(0, |l| l.pause_for_ms);
                (
                    Reason::ErrorRate,
                    format!(
                        "pause_for {} is over: calls go through again and the error window starts empty",
                        human_ms(pause_for)
                    ),
                )
            } else {
                (
                    Reason::NewDay,
                    format!(
                        "a new UTC day ({}) began: the daily caps count from 0 again",
                        date(p.until_ms)
                    ),
                )
            };
            events.push(transition(target, false, reason, p.until_ms, detail));
        }
        if st.pause.is_none() {
            self.check_spend(target, st, now_ms, events);
        }
    }

    /// Pauses until the next UTC midnight when today's spend has reached a cap.
    fn check_spend(&self, target: &str, st: &mut State, now_ms: i64, events: &mut Vec<Transition>) {
        let Some(l) = &self.limits else {
            return;
        };
        let hit = match (l.max_usd_per_day, l.max_tokens_per_day) {
            (Some(cap), _) if st.usd >= cap => Some((
                Reason::SpendUsd,
                format!(
                    "shadow spend today is {}, at or over max_usd_per_day {}",
                    usd(st.usd),
                    usd(cap)
                ),
            )),
            (_, Some(cap)) if st.tokens >= cap => Some((
                Reason::SpendTokens,
                format!(
                    "shadow tokens today are {}, at or over max_tokens_per_day {cap}",
                    st.tokens
                ),
            )),
            _ => None,
        };
        if let Some((reason, detail)) = hit {
            let until = (now_ms.div_euclid(DAY_MS) + 1) * DAY_MS;
            st.pause = Some(Pause {
                reason,
                since_ms: now_ms,
                until_ms: until,
            });
            let detail = format!("{detail}; paused until {}", stamp(until));
            events.push(transition(target, true, reason, now_ms, detail));
        }
    }

    /// Pauses for `pause_for` when the window's failure share passes `max_error_rate`.
    fn check_errors(
        &self,
        target: &str,
        st: &mut State,
        now_ms: i64,
        events: &mut Vec<Transition>,
    ) {
        let Some(l) = &self.limits else {
            return;
        };
        let Some(max) = l.max_error_rate else {
            return;
        };
        let (calls, failed) = st.window.totals(now_ms);
        if calls == 0 || calls < l.min_calls {
            return;
        }
        let share = failed as f64 / calls as f64;
        if share <= max {
            return;
        }
        let until = now_ms.saturating_add(i64::try_from(l.pause_for_ms).unwrap_or(i64::MAX));
        st.pause = Some(Pause {
            reason: Reason::ErrorRate,
            since_ms: now_ms,
            until_ms: until,
        });
        let detail = format!(
            "{failed} of {calls} shadow calls in the last {} failed ({}), over max_error_rate {}; paused for {}",
            human_ms(l.error_window_ms),
            pct(share),
            pct(max),
            human_ms(l.pause_for_ms)
        );
        events.push(transition(target, true, Reason::ErrorRate, now_ms, detail));
    }

    /// USD of a call; an unpriced model costs 0 (lint refuses a USD cap on one).
    fn usd(&self, model: &str, input: u64, output: u64) -> f64 {
        self.prices.lookup(model).map_or(0.0, |r| {
            (input as f64 * r.price.input_per_mtok + output as f64 * r.price.output_per_mtok) / 1e6
        })
    }

    /// Per target: running or paused (why, since, until), today's spend, the window.
    pub fn status(&self) -> Value {
        let now = now_ms();
        let mut out = Map::new();
        for (id, t) in &self.targets {
            let st = t.lock();
            let pause = st.pause.filter(|p| now < p.until_ms);
            let (calls, failed) = st.window.totals(now);
            let fresh = now.div_euclid(DAY_MS) == st.day;
            out.insert(
                id.clone(),
                json!({
                    "state": if pause.is_some() { "paused" } else { "running" },
                    "reason": pause.map(|p| p.reason.as_str()),
                    "paused_since": pause.map(|p| stamp(p.since_ms)),
                    "paused_until": pause.map(|p| stamp(p.until_ms)),
                    "usd_today": if fresh { round_usd(st.usd) } else { 0.0 },
                    "tokens_today": if fresh { st.tokens } else { 0 },
                    "window_calls": calls,
                    "window_failures": failed,
                }),
            );
        }
        Value::Object(out)
    }

    /// Logs each transition and queues its `mirror_pauses` row.
    /// Hands over to `next`, the guard a config reload built (already seeded from the
    /// database): today's spend of each target both guard, where this one counted more (calls
    /// whose rows the writer had not written yet), and from now on every call this one is
    /// told about, so shadow calls in flight across the reload still count.
    pub fn hand_over(&self, next: std::sync::Arc<SpendGuard>) {
        self.hand_over_at(next, now_ms());
    }

    /// [`SpendGuard::hand_over`] at `now`.
    pub fn hand_over_at(&self, next: std::sync::Arc<SpendGuard>, now: i64) {
        let mut events = Vec::new();
        for (id, old) in &self.targets {
            let Some(new) = next.targets.get(id) else {
                continue;
            };
            let (usd, tokens, day) = {
                let st = old.lock();
                (st.usd, st.tokens, st.day)
            };
            let mut st = new.lock();
            next.settle(id, &mut st, now, &mut events);
            if day == st.day {
                st.usd = st.usd.max(usd);
                st.tokens = st.tokens.max(tokens);
                if st.pause.is_none() {
                    next.check_spend(id, &mut st, now, &mut events);
                }
                new.publish(&st);
            }
        }
        next.emit(events);
        let _ = self.successor.set(next);
    }

    fn emit(&self, events: Vec<Transition>) {
        for e in events {
            let (shadow, reason) = (e.shadow_target.as_str(), e.reason.as_str());
            if e.pause {
                tracing::warn!(
                    shadow,
                    reason,
                    "spend guard paused shadow `{shadow}` ({reason}): {}",
                    e.detail
                );
            } else {
                tracing::info!(
                    shadow,
                    reason,
                    "spend guard resumed shadow `{shadow}` ({reason}): {}",
                    e.detail
                );
            }
            if let Some(o) = &self.outlet {
                let row = PauseRow {
                    ts: stamp_ms(e.at_ms),
                    ts_unix_ms: e.at_ms,
                    shadow_target: e.shadow_target,
                    event: if e.pause { "pause" } else { "resume" }.to_owned(),
                    reason: reason.to_owned(),
                    detail: Some(e.detail),
                };
                let sink = o.sink.clone();
                o.tracker.spawn(async move {
                    sink.pause(row).await;
                });
            }
        }
    }
}

fn transition(target: &str, pause: bool, reason: Reason, at_ms: i64, detail: String) -> Transition {
    Transition {
        shadow_target: target.to_owned(),
        pause,
        reason,
        at_ms,
        detail,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// RFC 3339 UTC, whole seconds (for sentences).
fn stamp(ms: i64) -> String {
    humantime::format_rfc3339_seconds(system_time(ms)).to_string()
}

/// RFC 3339 UTC with milliseconds (the `ts` columns' format).
fn stamp_ms(ms: i64) -> String {
    humantime::format_rfc3339_millis(system_time(ms)).to_string()
}

/// The UTC date of `ms`.
fn date(ms: i64) -> String {
    stamp(ms).chars().take(10).collect()
}

fn human_ms(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}

fn usd(x: f64) -> String {
    format!("${x:.4}")
}

/// USD for display, to the micro-dollar: the sum of per-call prices carries binary float
/// noise (`1.0639999999999998`) that no one should have to read.
fn round_usd(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

#[path = "guard_restart.rs"]
mod restart;
pub use restart::{Occasion, Seed, load_seed};

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
