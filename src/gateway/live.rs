//! The state the router holds: the current [`AppState`], replaced whole when the config
//! is reloaded. Each request takes the current state once, when it arrives, and keeps it
//! to the end, so a reload never changes a request half way through.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::state::{AppState, Inner};

/// The router's state: a handle on the current [`AppState`].
#[derive(Clone)]
pub struct Live(Arc<ArcSwap<Inner>>);

impl Live {
    pub fn new(state: AppState) -> Self {
        Self(Arc::new(ArcSwap::new(state.into_inner())))
    }

    /// The state to serve a request with.
    pub fn current(&self) -> AppState {
        AppState::from_inner(self.0.load_full())
    }

    /// Makes `state` the one new requests get.
    pub fn replace(&self, state: AppState) {
        self.0.store(state.into_inner());
    }
}
