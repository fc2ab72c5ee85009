//! The gateway's shared state: config, provider clients, the event sink, and the
//! trackers for background work. Cloned into every handler (an `Arc` inside).
//!
//! A config reload builds a new `AppState` from the new config with [`AppState::reconfigured`]:
//! everything that comes from the config is rebuilt, while the event sink, the task
//! tracker, the shutdown token and the counters are shared with the previous state, so a
//! request that started before the reload finishes on the state it started with.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::evaluate::{Evaluators, Ledger};
use crate::mirror::SpendGuard;
use crate::policy::ContentFilter;
use crate::providers::{Provider, http_client};
use crate::report::PriceTable;
use crate::store::EventSink;

/// Shared gateway state.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What `AppState` holds.
#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    /// The target that answers callers.
    pub primary: Arc<Provider>,
    /// The shadow targets, in `Mirror::shadows` order (empty when mirroring is off), each
    /// on a background HTTP client of its own: never the primary's pool, and a hanging
    /// shadow cannot hold another shadow's connections.
    pub shadows: Vec<Arc<Provider>>,
    /// The primary target again, on the background client, for noise-floor calls.
    pub noise: Option<Arc<Provider>>,
    pub filter: Arc<ContentFilter>,
    pub sink: EventSink,
    /// Shadow calls and event recording; the gateway waits for it at shutdown.
    pub tracker: TaskTracker,
    /// Fired when the shutdown drain period is over: in-flight shadows give up.
    pub cancel: CancellationToken,
    /// `traffic_mirror.max_in_flight` slots.
    pub mirror_slots: Arc<Semaphore>,
    /// Requests not mirrored because every slot was taken.
    pub mirror_dropped: Arc<AtomicU64>,
    /// Requests answered (any status); equals event rows + dropped rows.
    pub answered: Arc<AtomicU64>,
    /// Config reloads applied and refused since start (shared across reloads).
    pub reloads: Arc<ReloadCounters>,
    /// Keys callers must present (`gateway.api_keys`), read once at start. Empty: open.
    pub caller_keys: Vec<CallerKey>,
    /// `traffic_mirror.spend_guard`: whether each shadow target may be called now.
    pub guard: Arc<SpendGuard>,
    /// The semantic evaluators (`compare_metrics: [semantic_similarity, judge]`); `None`
    /// when none is on.
    pub evaluators: Option<Arc<Evaluators>>,
    /// The evaluators' daily spend and counters (shared across reloads).
    pub evaluation_ledger: Arc<Ledger>,
}

/// Config reloads since start, for `/healthz`.
#[derive(Debug, Default)]
pub struct ReloadCounters {
    pub applied: AtomicU64,
    pub refused: AtomicU64,
}

/// What a reload keeps from the running state: the writer's queue, the background work
/// the shutdown waits for, and the counters.
struct Shared {
    sink: EventSink,
    tracker: TaskTracker,
    cancel: CancellationToken,
    mirror_dropped: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
    reloads: Arc<ReloadCounters>,
    /// The running slots, kept when `max_in_flight` did not change.
    slots: Option<(usize, Arc<Semaphore>)>,
    /// The running spend guard and what it was built from, kept when those are unchanged.
    guard: Option<(Arc<SpendGuard>, GuardInputs)>,
    /// The evaluators' spend and counters.
    ledger: Arc<Ledger>,
    /// The running evaluators and what they were built from, kept when those are
    /// unchanged (their queues and worker slots carry on).
    evaluators: Option<(Option<Arc<Evaluators>>, EvalInputs)>,
}

/// What the evaluators are built from: their blocks, their targets, the prices.
type EvalInputs = (
    Option<crate::config::Evaluator>,
    Option<crate::config::Judge>,
    Vec<crate::config::Target>,
    Vec<(String, crate::config::ModelPrice)>,
);

/// The evaluators' inputs of a config.
fn eval_inputs(config: &Config) -> EvalInputs {
    let m = config.mirror.as_ref();
    let semantic = m.and_then(|m| m.semantic.clone());
    let judge = m.and_then(|m| m.judge.clone());
    let targets = [
        semantic.as_ref().map(|s| &s.target),
        judge.as_ref().map(|j| &j.eval.target),
    ]
    .into_iter()
    .flatten()
    .filter_map(|id| config.target(id).cloned())
    .collect();
    (semantic, judge, targets, config.pricing.clone())
}

/// What a spend guard is built from: limits, prices, shadow target ids.
type GuardInputs = (
    Option<crate::config::SpendGuard>,
    Vec<(String, crate::config::ModelPrice)>,
    Vec<String>,
);

/// A caller key; its `Debug` never shows the value.
#[derive(Clone)]
pub struct CallerKey(pub(super) String);

impl std::fmt::Debug for CallerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerKey([REDACTED])")
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Building the state failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the primary target `{0}` is not configured")]
    MissingPrimary(String),
    #[error("the shadow target `{0}` is not configured")]
    MissingShadow(String),
    #[error("gateway.api_keys names {0}, but none of them is set: no caller could authenticate")]
    NoCallerKey(String),
}

impl AppState {
    pub(super) fn into_inner(self) -> Arc<Inner> {
        self.0
    }

    pub(super) fn from_inner(inner: Arc<Inner>) -> Self {
        Self(inner)
    }

    pub fn new(config: Config, sink: EventSink) -> Result<Self, StateError> {
        Self::build(
            config,
            Shared {
                sink,
                tracker: TaskTracker::new(),
                cancel: CancellationToken::new(),
                mirror_dropped: Arc::default(),
                answered: Arc::default(),
                reloads: Arc::default(),
                slots: None,
                guard: None,
                ledger: Arc::default(),
                evaluators: None,
            },
        )
    }

    /// The state for a reloaded config, sharing this one's sink, tracker, shutdown token
    /// and counters. Shadows already running keep their slots; a changed `max_in_flight`
    /// applies to shadows started after the reload.
    pub fn reconfigured(&self, config: Config) -> Result<Self, StateError> {
        Self::build(
            config,
            Shared {
                sink: self.sink.clone(),
                tracker: self.tracker.clone(),
                cancel: self.cancel.clone(),
                mirror_dropped: self.mirror_dropped.clone(),
                answered: self.answered.clone(),
                reloads: self.reloads.clone(),
                slots: Some((self.max_in_flight(), self.mirror_slots.clone())),
                guard: Some((self.guard.clone(), self.guard_inputs())),
                ledger: self.evaluation_ledger.clone(),
                evaluators: Some((self.evaluators.clone(), eval_inputs(&self.config))),
            },
        )
    }

    /// What this state's spend guard was built from.
    fn guard_inputs(&self) -> GuardInputs {
        (
            self.config
                .mirror
                .as_ref()
                .and_then(|m| m.spend_guard.clone()),
            self.config.pricing.clone(),
            self.shadows.iter().map(|s| s.id.clone()).collect(),
        )
    }

    /// The `max_in_flight` the slots were made for.
    pub fn max_in_flight(&self) -> usize {
        slot_count(&self.config)
    }

    fn build(config: Config, shared: Shared) -> Result<Self, StateError> {
        let caller_keys: Vec<String> = config
            .gateway
            .api_key_envs
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
            .collect();
        if caller_keys.is_empty() && !config.gateway.api_key_envs.is_empty() {
            return Err(StateError::NoCallerKey(
                config.gateway.api_key_envs.join(", "),
            ));
        }
        // Lint guarantees both ids name configured targets.
        let Some(primary_target) = config.target(&config.primary) else {
            return Err(StateError::MissingPrimary(config.primary.clone()));
        };
        let primary = Arc::new(Provider::new(
            primary_target,
            http_client(primary_target.connect_timeout_ms)?,
        ));
        let (mut shadows, mut noise) = (Vec::new(), None);
        if let Some(m) = &config.mirror {
            for spec in &m.shadows {
                // Lint guarantees every shadow names a configured target.
                let Some(t) = config.target(&spec.target) else {
                    return Err(StateError::MissingShadow(spec.target.clone()));
                };
                let background_http = http_client(t.connect_timeout_ms)?;
                if noise.is_none() && m.noise_floor_rate > 0.0 {
                    // The noise floor shares the first shadow's client, as it always has.
                    noise = Some(Arc::new(
                        Provider::new(primary_target, background_http.clone()).for_background(),
                    ));
                }
                shadows.push(Arc::new(Provider::new(t, background_http).for_background()));
            }
        }
        let slots = slot_count(&config);
        let mirror_slots = match shared.slots {
            Some((n, sem)) if n == slots => sem,
            _ => Arc::new(Semaphore::new(slots)),
        };
        let limits = config.mirror.as_ref().and_then(|m| m.spend_guard.clone());
        let shadow_ids: Vec<String> = shadows.iter().map(|s| s.id.clone()).collect();
        // A reload that leaves the guard's inputs alone keeps the guard itself: today's
        // spend, the error window and any pause carry on. Otherwise the reloader seeds
        // the new guard from the database (`reload::apply`).
        let guard = match shared.guard {
            Some((g, inputs))
                if inputs == (limits.clone(), config.pricing.clone(), shadow_ids.clone()) =>
            {
                g
            }
            _ => Arc::new(SpendGuard::new(
                limits,
                PriceTable::new(&config.pricing),
                shadow_ids,
                Some((shared.sink.clone(), shared.tracker.clone())),
            )),
        };
        // Like the guard: unchanged evaluator settings keep the running pools; new ones get
        // fresh pools (evaluations already queued finish on the old ones) that share the
        // day's spend and the counters.
        let inputs = eval_inputs(&config);
        let evaluators = match shared.evaluators {
            Some((running, before)) if before == inputs => running,
            _ => Evaluators::from_config(
                &config,
                shared.ledger.clone(),
                shared.sink.clone(),
                shared.tracker.clone(),
                shared.cancel.clone(),
            )?
            .map(Arc::new),
        };
        Ok(Self(Arc::new(Inner {
            evaluators,
            evaluation_ledger: shared.ledger,
            filter: Arc::new(ContentFilter::from_config(&config)),
            config,
            primary,
            shadows,
            noise,
            sink: shared.sink,
            tracker: shared.tracker,
            cancel: shared.cancel,
            mirror_slots,
            mirror_dropped: shared.mirror_dropped,
            answered: shared.answered,
            reloads: shared.reloads,
            caller_keys: caller_keys.into_iter().map(CallerKey).collect(),
            guard,
        })))
    }
}

/// `max_in_flight` slots of a config (1 when there is no mirror).
fn slot_count(config: &Config) -> usize {
    // Semaphore::new panics past MAX_PERMITS; no real cap comes near it.
    config
        .mirror
        .as_ref()
        .map_or(1, |m| m.max_in_flight)
        .min(Semaphore::MAX_PERMITS)
}
