//! The HTTP gateway: the router, serving with graceful shutdown, and draining background
//! work (shadows, event rows) before the process exits.

mod errors;
mod handlers;
mod state;
mod stream;

pub use errors::ApiError;
pub use state::{AppState, StateError};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

/// Largest request body accepted: generous for long chats with images as data URLs.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/chat/completions",
            post(handlers::chat_completions).fallback(handlers::method_not_allowed),
        )
        .route(
            "/healthz",
            get(handlers::healthz).fallback(handlers::method_not_allowed),
        )
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// What shutdown did, for the final log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Background tasks still running when the drain period ended (their shadows were cancelled).
    pub cancelled_tasks: usize,
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish, and waits up to `drain` for shadows and event rows before cancelling
/// what is left. The caller then drops the state and joins the writer.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<DrainReport> {
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    state.tracker.close();
    let mut cancelled_tasks = 0;
    if tokio::time::timeout(drain, state.tracker.wait())
        .await
        .is_err()
    {
        cancelled_tasks = state.tracker.len();
        state.cancel.cancel();
        // Cancelled shadows record their row and exit promptly.
        let _ = tokio::time::timeout(Duration::from_secs(5), state.tracker.wait()).await;
    }
    Ok(DrainReport { cancelled_tasks })
}
