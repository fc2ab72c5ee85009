//! Starting the background work for one mirrored request: the shadow call and, for a
//! `noise_floor_rate` share, a second primary call. Both get their own copy of the
//! request and wait for the primary's outcome through a [`Mirroring`] handle.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::guard::SpendGuard;
use super::shadow::{PrimaryOutcome, ShadowJob, ShadowKind, run_shadow};
use crate::config::Mirror;
use crate::policy::ContentFilter;
use crate::providers::Provider;
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
}

/// What the background work needs to know about the caller's request.
pub struct Mirrored<'a> {
    pub id: &'a str,
    pub body: &'a Map<String, Value>,
    pub primary_model: &'a str,
    pub shadow_model: &'a str,
    pub stream: bool,
    pub has_tools: bool,
    pub json_mode: bool,
}

/// Background work started for one request; resolve it with the primary's outcome.
#[derive(Default)]
pub struct Mirroring {
    watchers: Vec<oneshot::Sender<PrimaryOutcome>>,
    /// The shadow task, for `async: false` to wait on.
    pub shadow: Option<JoinHandle<()>>,
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
}

/// Starts the shadow call (and maybe a noise-floor call). `None` when every
/// `max_in_flight` slot is taken: the request is then not mirrored (`dropped`).
pub fn launch(
    m: &Mirror,
    shadow: &Arc<Provider>,
    noise: Option<&Arc<Provider>>,
    req: &Mirrored<'_>,
    bg: &Background<'_>,
) -> Option<Mirroring> {
    let permit = bg.slots.clone().try_acquire_owned().ok()?;
    let mut mirroring = Mirroring::default();
    let mut start = |kind: ShadowKind, provider: &Arc<Provider>, model: &str, permit| {
        let (tx, rx) = oneshot::channel();
        mirroring.watchers.push(tx);
        let job = ShadowJob {
            kind,
            request_id: req.id.to_string(),
            provider: provider.clone(),
            request: req.body.clone(),
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
        };
        bg.tracker.spawn(run_shadow(job))
    };
    mirroring.shadow = Some(start(ShadowKind::Shadow, shadow, req.shadow_model, permit));
    // The noise floor is extra evidence, never worth crowding out a shadow: it only runs
    // when a second slot is free.
    if let Some(noise) = noise
        && m.noise_floor_rate > 0.0
        && fastrand::f64() < m.noise_floor_rate
        && let Ok(permit) = bg.slots.clone().try_acquire_owned()
    {
        start(ShadowKind::NoiseFloor, noise, req.primary_model, permit);
    }
    Some(mirroring)
}
