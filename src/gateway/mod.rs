//! The HTTP gateway: the router, serving with graceful shutdown, and draining background
//! work (shadows, event rows) before the process exits.

mod errors;
mod handlers;
mod run;
mod state;
mod stream;

pub use errors::ApiError;
pub use run::{Gateway, GatewayError};
pub use state::{AppState, StateError};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
        // Backstop only: kt's code must not panic on any input, but if it ever does the
        // caller still gets an answer (500) instead of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            handlers::panicked,
        ))
        .with_state(state)
}

/// What shutdown did, for the final log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Background tasks still running when the drain period ended (their shadows were cancelled).
    pub cancelled_tasks: usize,
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests and background work (shadows, event rows) finish. The whole drain
/// is bounded by `drain` (or cut short by `state.cancel`): after it, remaining shadows
/// are cancelled and record why. The caller then closes the event queue and joins the writer.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<DrainReport> {
    let signalled = CancellationToken::new();
    let notify = signalled.clone();
    let server = axum::serve(listener, router(state.clone())).with_graceful_shutdown(async move {
        shutdown.await;
        notify.cancel();
    });
    let deadline = async {
        signalled.cancelled().await;
        tokio::select! {
            () = tokio::time::sleep(drain) => {}
            () = state.cancel.cancelled() => {}
        }
    };
    let started = tokio::time::Instant::now();
    tokio::select! {
        r = server => r?,
        // Requests still running past the deadline lose their connection; a handler
        // that still finishes finds the queue closed and its row is counted as dropped.
        () = deadline => tracing::warn!("drain period over with requests still in flight"),
    }
    state.tracker.close();
    let left = drain.saturating_sub(started.elapsed());
    let mut cancelled_tasks = 0;
    let drained = tokio::select! {
        r = tokio::time::timeout(left, state.tracker.wait()) => r.is_ok(),
        () = state.cancel.cancelled() => false,
    };
    if !drained {
        cancelled_tasks = state.tracker.len();
        state.cancel.cancel();
        // Cancelled shadows record their row and exit promptly.
        let _ = tokio::time::timeout(Duration::from_secs(5), state.tracker.wait()).await;
    }
    Ok(DrainReport { cancelled_tasks })
}
