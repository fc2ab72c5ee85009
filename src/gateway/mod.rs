//! The HTTP gateway: the router, serving with graceful shutdown, and draining background
//! work (shadows, event rows) before the process exits.

mod auth;
mod body;
mod count_tokens;
mod dialect;
mod embeddings;
mod errors;
mod fallbacks;
mod handlers;
mod health;
mod live;
mod messages;
mod metrics;
mod models;
mod protocol_errors;
mod reload;
mod request_id;
mod responses;
mod run;
mod sse;
mod state;
mod stream;

pub use errors::ApiError;
pub use live::Live;
pub use reload::{Refused, ReloadSource};
pub use run::{Gateway, GatewayError};
pub use state::{AppState, StateError};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Largest request body accepted: generous for long chats with images as data URLs.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The gateway's routes.
pub fn router(state: Live) -> Router {
    Router::new()
        .route(
            "/v1/chat/completions",
            authed(post(handlers::chat_completions), &state),
        )
        .route("/v1/messages", authed(post(messages::messages), &state))
        .route("/v1/responses", authed(post(responses::create), &state))
        .route(
            "/v1/responses/{id}",
            authed(get(responses::stored).delete(responses::stored), &state),
        )
        .route(
            "/v1/responses/{id}/cancel",
            authed(post(responses::stored), &state),
        )
        .route(
            "/v1/responses/input_tokens",
            authed(post(responses::stored), &state),
        )
        .route(
            "/v1/responses/{id}/input_items",
            authed(get(responses::stored), &state),
        )
        .route("/v1/models", authed(get(models::models), &state))
        .route("/v1/models/{*id}", authed(get(models::model), &state))
        .route(
            "/v1/messages/count_tokens",
            authed(post(count_tokens::count_tokens), &state),
        )
        .route(
            "/v1/embeddings",
            authed(post(embeddings::embeddings), &state),
        )
        // Probes and scrapes come from infrastructure without a caller key.
        .route(
            "/healthz",
            get(health::healthz).fallback(fallbacks::method_not_allowed),
        )
        .route(
            "/metrics",
            get(metrics::scrape).fallback(fallbacks::method_not_allowed),
        )
        .fallback(fallbacks::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Backstop only: kt's code must not panic on any input, but if it ever does the
        // caller still gets an answer (500) instead of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            fallbacks::panicked,
        ))
        .with_state(state)
}

/// A route behind caller authentication, answering 405 in its dialect to other methods.
fn authed(route: MethodRouter<Live>, state: &Live) -> MethodRouter<Live> {
    route
        .fallback(fallbacks::method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
}

/// What shutdown did, for the final log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Background tasks still running when the drain period ended (their shadows were cancelled).
    pub cancelled_tasks: usize,
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting and gives
/// in-flight work — requests, streams, shadows, event rows, all held on `state.tracker` —
/// up to `drain` from that moment (or until `state.cancel` fires) to finish. Then
/// `state.cancel` fires: requests answer 503, streams end with an error frame, shadows
/// give up, and each records its row. The caller then closes the queue and joins the writer.
pub async fn serve(
    listener: TcpListener,
    live: Live,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<DrainReport> {
    let signalled = CancellationToken::new();
    let notify = signalled.clone();
    // TCP_NODELAY: streamed answers are many small writes; with Nagle's algorithm and the
    // client's delayed ACK each one waited ~40 ms (measured by bench/run.sh).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    // Requests hyper cannot parse (a CR or LF inside a header value, ...) are answered by
    // hyper itself, before the router; this turns those answers into OpenAI-shaped errors.
    let listener = protocol_errors::Listener::new(listener, live.clone());
    // The tracker and the shutdown token are shared by every state a reload creates.
    let state = live.current();
    let server = axum::serve(listener, router(live)).with_graceful_shutdown(async move {
        shutdown.await;
        notify.cancel();
    });
    // The server runs on its own task: after the drain, connections it still holds are
    // abandoned, while the work they carried has been cancelled and recorded through the
    // tracker.
    let mut server = tokio::spawn(server.into_future());
    tokio::select! {
        r = &mut server => {
            // Only an accept error ends the server before the signal.
            r.map_err(std::io::Error::other)??;
        }
        () = signalled.cancelled() => {}
    }
    // The drain is measured from the signal, not from start-up.
    let deadline = tokio::time::Instant::now() + drain;
    state.tracker.close();
    let drained = tokio::select! {
        r = tokio::time::timeout_at(deadline, state.tracker.wait()) => r.is_ok(),
        () = state.cancel.cancelled() => false,
    };
    let mut cancelled_tasks = 0;
    if !drained {
        cancelled_tasks = state.tracker.len();
        tracing::warn!(
            "drain period over with {cancelled_tasks} task(s) in flight; cancelling them"
        );
        state.cancel.cancel();
        // Cancelled requests, streams and shadows record their rows and end promptly.
        let _ = tokio::time::timeout(Duration::from_secs(5), state.tracker.wait()).await;
    }
    server.abort();
    Ok(DrainReport { cancelled_tasks })
}
