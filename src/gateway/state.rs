//! The gateway's shared state: config, provider clients, the event sink, and the
//! trackers for background work. Cloned into every handler (an `Arc` inside).

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::policy::ContentFilter;
use crate::providers::{Provider, http_client};
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
    /// The shadow target, on its own HTTP client, when mirroring is on.
    pub shadow: Option<Arc<Provider>>,
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
    pub mirror_dropped: AtomicU64,
    /// Requests answered (any status); equals event rows + dropped rows.
    pub answered: AtomicU64,
    /// Keys callers must present (`gateway.api_keys`), read once at start. Empty: open.
    pub caller_keys: Vec<CallerKey>,
}

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
    #[error("gateway.api_keys names {0}, but none of them is set: no caller could authenticate")]
    NoCallerKey(String),
}

impl AppState {
    pub fn new(config: Config, sink: EventSink) -> Result<Self, StateError> {
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
        let (mut shadow, mut noise) = (None, None);
        if let Some(m) = &config.mirror
            && let Some(t) = config.target(&m.shadow)
        {
            // Background calls share a client of their own, never the primary's pool.
            let background_http = http_client(t.connect_timeout_ms)?;
            shadow = Some(Arc::new(
                Provider::new(t, background_http.clone()).for_background(),
            ));
            if m.noise_floor_rate > 0.0 {
                noise = Some(Arc::new(
                    Provider::new(primary_target, background_http).for_background(),
                ));
            }
        }
        // Semaphore::new panics past MAX_PERMITS; no real cap comes near it.
        let slots = config
            .mirror
            .as_ref()
            .map_or(1, |m| m.max_in_flight)
            .min(Semaphore::MAX_PERMITS);
        Ok(Self(Arc::new(Inner {
            filter: Arc::new(ContentFilter::from_config(&config)),
            config,
            primary,
            shadow,
            noise,
            sink,
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            mirror_slots: Arc::new(Semaphore::new(slots)),
            mirror_dropped: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            caller_keys: caller_keys.into_iter().map(CallerKey).collect(),
        })))
    }
}
