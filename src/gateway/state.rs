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
use crate::providers::{Provider, build_providers, http_client};
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
    pub filter: ContentFilter,
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
}

impl AppState {
    pub fn new(config: Config, sink: EventSink) -> Result<Self, StateError> {
        let connect_ms = |id: &str| config.target(id).map_or(5_000, |t| t.connect_timeout_ms);
        let primary_http = http_client(connect_ms(&config.primary))?;
        let primaries = build_providers(&config, &primary_http);
        let shadow = match &config.mirror {
            Some(m) => {
                let shadow_http = http_client(connect_ms(&m.shadow))?;
                build_providers(&config, &shadow_http).remove(&m.shadow)
            }
            None => None,
        };
        let primary = match primaries.get(&config.primary) {
            Some(p) => p.clone(),
            // Lint guarantees the primary is a configured target; an empty target list
            // cannot validate either.
            None => return Err(StateError::MissingPrimary(config.primary.clone())),
        };
        let slots = config.mirror.as_ref().map_or(1, |m| m.max_in_flight);
        Ok(Self(Arc::new(Inner {
            filter: ContentFilter::from_config(&config),
            config,
            primary,
            shadow,
            sink,
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            mirror_slots: Arc::new(Semaphore::new(slots)),
            mirror_dropped: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        })))
    }
}
