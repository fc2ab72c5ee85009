//! Starting the background work for one mirrored request: a call to each sampled shadow
//! and, for a `noise_floor_rate` share, a second primary call. Each gets its own copy of
//! the request and waits for the primary's outcome through a [`Mirroring`] handle.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::guard::SpendGuard;
use super::shadow::{PrimaryOutcome, ShadowJob, ShadowKind, run_shadow};
use crate::config::Mirror;
use crate::evaluate::Evaluators;
use crate::policy::ContentFilter;
use crate::providers::{Native, Provider};
use crate::store::EventSink;

/// The gateway's shared pieces the background work runs on.
pub struct Background<'a> {
    pub tracker: &'a TaskTracker,
    /// `max_in_flight` slots, shared by shadow and noise-floor calls.
    pub slots: &'a Arc<Semaphore>,
    pub sink: &'a EventSink,
    pub cancel: &'a CancellationToken,
    /// Redacts the shadow's stored answer when an `action: redact` policy exists.
    pub filter: &'a Arc<ContentFilter>,
    /// Counts each finished shadow call against the spend guard's limits.
    pub guard: &'a Arc<SpendGuard>,
    /// The semantic evaluators, when `compare_metrics` turns any on.
    pub evaluators: Option<&'a Arc<Evaluators>>,
}

/// What the background work needs to know about the caller's request.
pub struct Mirrored<'a> {
    pub id: &'a str,
    pub body: &'a Map<String, Value>,
    /// The caller's own body when its dialect has a native form (the Responses API): a
    /// shadow that speaks it gets it as is.
    pub native: Option<&'a Arc<Native>>,
    pub primary_model: &'a str,
    pub stream: bool,
    pub has_tools: bool,
    pub json_mode: bool,
}

/// Background work started for one request; resolve it with the primary's outcome.
#[derive(Default)]
pub struct Mirroring {
    watchers: Vec<oneshot::Sender<PrimaryOutcome>>,
    /// The shadow tasks, for `async: false` to wait on.
    pub shadows: Vec<JoinHandle<()>>,
}

impl Mirroring {
    /// True when a task waits for the primary's answer text.
    pub fn wants_outcome(&self) -> bool {
        !self.watchers.is_empty()
    }

    /// Hands the primary's outcome to every waiting task (once; later calls do nothing).
    pub fn resolve(&mut self, outcome: &PrimaryOutcome) {
        for tx in self.watchers.drain(..) {
            // A task that already gave up (shutdown) has dropped its receiver.
            let _ = tx.send(outcome.clone());
        }
    }

    /// For `async: false`: the shadow tasks to wait for before answering, bounded by the
    /// shadow timeout plus a margin for the comparison. `None` when async or not mirrored.
    pub fn take_wait(&mut self, m: Option<&Mirror>) -> Option<ShadowWait> {
        match m {
            Some(m) if !m.asynchronous && !self.shadows.is_empty() => Some(ShadowWait {
                handles: std::mem::take(&mut self.shadows),
                bound: Duration::from_millis(m.timeout_ms) + Duration::from_secs(1),
            }),
            _ => None,
        }
    }
}

/// `async: false`: the shadows of one request, waited for together.
pub struct ShadowWait {
    handles: Vec<JoinHandle<()>>,
    bound: Duration,
}

impl ShadowWait {
    /// Waits until every shadow is recorded or the bound is over (the shadows run in
    /// parallel, so one bound covers them all).
    pub async fn wait(self) {
        let _ = tokio::time::timeout(self.bound, join_all(self.handles)).await;
    }
}

/// What [`launch`] started.
#[derive(Default)]
pub struct Launched {
    pub mirroring: Mirroring,
    /// The shadows called, `(target, model)` in config order.
    pub shadows: Vec<(String, String)>,
    /// Sampled shadows not called because every `max_in_flight` slot was taken.
    pub dropped: usize,
}

/// Starts a call to each of `shadows` (provider and model) that gets a `max_in_flight`
/// slot, and maybe a noise-floor call. A shadow finding no slot is skipped, never queued,
/// so a slow shadow can never build up work or memory behind callers.
pub fn launch(
    m: &Mirror,
    shadows: &[(&Arc<Provider>, &str)],
    noise: Option<&Arc<Provider>>,
    req: &Mirrored<'_>,
    bg: &Background<'_>,
) -> Launched {
    let mut launched = Launched::default();
    let mut start = |kind: ShadowKind, provider: &Arc<Provider>, model: &str, permit| {
        let (tx, rx) = oneshot::channel();
        launched.mirroring.watchers.push(tx);
        let job = ShadowJob {
            kind,
            request_id: req.id.to_string(),
            provider: provider.clone(),
            request: req.body.clone(),
            native: req.native.cloned(),
            model: model.to_string(),
            stream: req.stream,
            has_tools: req.has_tools,
            json_mode: req.json_mode,
            timeout: Duration::from_millis(m.timeout_ms),
            metrics: m.compare_metrics.clone(),
            log_text: m.log_shadow_response,
            primary: rx,
            sink: bg.sink.clone(),
            cancel: bg.cancel.clone(),
            redact: bg.filter.has_redacting().then(|| bg.filter.clone()),
            permit,
            // The noise floor calls the primary: it is not shadow spend.
            guard: (kind == ShadowKind::Shadow).then(|| bg.guard.clone()),
            // Only a shadow pair is evaluated (the noise floor is the primary against itself).
            evaluators: bg
                .evaluators
                .filter(|_| kind == ShadowKind::Shadow)
                .cloned(),
        };
        bg.tracker.spawn(run_shadow(job))
    };
    let mut called = Vec::with_capacity(shadows.len());
    let mut dropped = 0;
    let mut handles = Vec::with_capacity(shadows.len());
    for (provider, model) in shadows {
        match bg.slots.clone().try_acquire_owned() {
            Ok(permit) => {
                handles.push(start(ShadowKind::Shadow, provider, model, permit));
                called.push((provider.id.clone(), (*model).to_string()));
            }
            Err(_) => dropped += 1,
        }
    }
    // The noise floor is extra evidence, never worth crowding out a shadow: it only runs
    // for a mirrored request, with its own draw, when one more slot is free.
    if !called.is_empty()
        && let Some(noise) = noise
        && m.noise_floor_rate > 0.0
        && fastrand::f64() < m.noise_floor_rate
        && let Ok(permit) = bg.slots.clone().try_acquire_owned()
    {
        start(ShadowKind::NoiseFloor, noise, req.primary_model, permit);
    }
    launched.mirroring.shadows = handles;
    launched.shadows = called;
    launched.dropped = dropped;
    launched
}
