//! A running gateway: opening the database, starting the writer, logging the startup
//! lines, serving (with the config reloader when asked), and the ordered shutdown (drain,
//! cancel, flush, join). Used by `kt gateway run` and `kt demo`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::reload::{self, ReloadSource};
use super::{AppState, Live, StateError, serve};
use crate::config::{Config, ShadowSpec, percent};
use crate::mirror::guard;
use crate::policy::audit::{self, AuditSettings};
use crate::store::{self, StoreError};

/// Starting or stopping the gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot start the event writer thread: {0}")]
    Writer(std::io::Error),
    #[error("the server failed: {0}")]
    Serve(#[from] std::io::Error),
    #[error("the gateway task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    /// Fires the hard stop: in-flight shadows give up at once.
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), GatewayError>>,
}

impl Gateway {
    /// Opens the database, applies the audit policy, starts the writer, logs the startup
    /// lines and starts serving on `listener`.
    pub async fn start(
        config: Config,
        db: &Path,
        listener: TcpListener,
        queue_capacity: usize,
        drain: Duration,
        reload_from: Option<ReloadSource>,
    ) -> Result<Self, GatewayError> {
        // Before the first request, so every request is counted (idempotent).
        crate::metrics::install();
        let settings = AuditSettings::from_config(&config);
        let db_path = db.to_path_buf();
        // Opening, migrating and pruning are blocking SQLite work: keep them off the
        // async workers.
        let (conn, pruned, seed) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let mut conn = store::open(&db_path)?;
            let pruned = audit::apply(&mut conn, settings)?;
            // Today's shadow spend, so a restart does not reset the spend guard's budget.
            let seed = guard::load_seed(&conn, store::now_stamp().1)?;
            // And the evaluators' spend of today, for their daily caps.
            let eval_spend = crate::evaluate::load_spend(&conn, store::now_stamp().1)?;
            Ok((conn, pruned, (seed, eval_spend)))
        })
        .await??;
        let (seed, eval_spend) = seed;
        if pruned > 0 {
            info!(target: "kt::gateway", "Retention: deleted {pruned} event(s) past retention_days");
        }
        let (sink, writer) =
            store::spawn_writer(conn, queue_capacity).map_err(GatewayError::Writer)?;
        log_startup(&config, db);
        let state = AppState::new(config, sink)?;
        state.guard.restore(&seed, guard::Occasion::Start);
        let now_ms = store::now_stamp().1;
        state.evaluation_ledger.semantic.add(now_ms, eval_spend.0);
        state.evaluation_ledger.judge.add(now_ms, eval_spend.1);
        let addr = listener.local_addr()?;
        info!(target: "kt::gateway", "Listening on http://{addr}");
        info!(target: "kt::gateway", "Gateway ready");
        let (stop, stopped) = oneshot::channel::<()>();
        let cancel = state.cancel.clone();
        let live = Live::new(state);
        let reloader_stop = CancellationToken::new();
        let reloader = reload_from.map(|source| {
            if source.watch {
                info!(target: "kt::gateway", "Watching {} for changes (SIGHUP also reloads)", source.path.display());
            }
            reload::spawn(live.clone(), source, reloader_stop.clone())
        });
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let drained = serve(listener, live.clone(), shutdown, drain).await;
            // No reload once shutdown began: the drain must finish on what it has.
            reloader_stop.cancel();
            if let Some(r) = reloader {
                let _ = r.await;
            }
            let drained = drained?;
            // Counters and the sink are shared by every state a reload made.
            let state = live.current();
            if drained.cancelled_tasks > 0 {
                warn!(target: "kt::gateway", "{} background task(s) still running after the drain period were cancelled", drained.cancelled_tasks);
            }
            let answered = state.answered.load(Ordering::Relaxed);
            let mirror_dropped = state.mirror_dropped.load(Ordering::Relaxed);
            let stats = state.sink.stats().clone();
            // Close the queue explicitly (a handler still running after a forced stop may
            // hold a sink clone); the writer writes what is queued and exits.
            state.sink.close(Duration::from_secs(5)).await;
            drop(state);
            drop(live);
            tokio::task::spawn_blocking(move || writer.join()).await?;
            info!(
                target: "kt::gateway",
                "Gateway stopped: {answered} request(s) handled, {} event row(s) written, {} dropped, {mirror_dropped} mirror(s) skipped at max_in_flight",
                stats.written.load(Ordering::Relaxed),
                stats.dropped(),
            );
            Ok(())
        });
        Ok(Self {
            addr,
            stop,
            cancel,
            task,
        })
    }

    /// A handle that makes a running [`Gateway::stop`] give up waiting (second Ctrl-C).
    pub fn force_handle(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting, drains, flushes, and waits until everything is written.
    pub async fn stop(self) -> Result<(), GatewayError> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

fn log_startup(config: &Config, db: &Path) {
    info!(
        target: "kt::gateway",
        "Loaded {} provider(s), {} policy(ies)",
        config.targets.len(),
        config.policies.len()
    );
    log_mirror(config);
    info!(target: "kt::gateway", "Event database: {}", db.display());
}

/// The mirror's startup lines (also logged after a config reload).
pub(super) fn log_mirror(config: &Config) {
    match &config.mirror {
        Some(m) => {
            let mapping = |spec: &ShadowSpec| {
                let pairs: Vec<String> = spec
                    .model_mapping
                    .iter()
                    .map(|(p, s)| format!("{p}→{s}"))
                    .collect();
                pairs.join(", ")
            };
            // The tutorial's two lines for the first shadow, then one line per further shadow.
            let mut shadows = m.shadows.iter();
            if let Some(first) = shadows.next() {
                info!(
                    target: "kt::gateway",
                    "Traffic mirror: primary={}, shadow={}, sample_rate={}",
                    m.primary,
                    first.target,
                    percent(first.sample_rate)
                );
                info!(target: "kt::gateway", "Model mapping: {}", mapping(first));
            }
            for spec in shadows {
                info!(
                    target: "kt::gateway",
                    "Traffic mirror: also shadow={}, sample_rate={}, model mapping: {}",
                    spec.target,
                    percent(spec.sample_rate),
                    mapping(spec)
                );
            }
            let evaluators = [
                ("semantic_similarity", m.semantic.as_ref()),
                ("judge", m.judge.as_ref().map(|j| &j.eval)),
            ];
            for (metric, e) in evaluators {
                if let Some(e) = e {
                    info!(
                        target: "kt::gateway",
                        "Semantic comparison: {metric} by {} model {}, sample_rate={}, max_usd_per_day={}, max_concurrency={}",
                        e.target,
                        e.model,
                        percent(e.sample_rate),
                        e.max_usd_per_day.map_or_else(|| "none".to_owned(), |c| format!("${c}")),
                        e.max_concurrency
                    );
                }
            }
            if let Some(by) = &m.sample_by {
                info!(
                    target: "kt::gateway",
                    "Sticky sampling by {} (requests without it are drawn at random)",
                    by.describe()
                );
            }
        }
        None => {
            info!(target: "kt::gateway", "Traffic mirror: off; requests go to {}", config.primary)
        }
    }
}
