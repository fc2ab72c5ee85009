//! `kt gateway run`: validate the config, open the database, serve until Ctrl-C/SIGTERM,
//! then drain shadows and flush every event row before exiting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::cli::GatewayRunArgs;
use crate::config::{self, Config, Severity};
use crate::gateway::{self, AppState};
use crate::mirror::percent;
use crate::output;
use crate::policy::audit::{self, AuditSettings};
use crate::store;

/// Runs the gateway in the foreground.
pub async fn run(args: &GatewayRunArgs, db: PathBuf) -> anyhow::Result<ExitCode> {
    let report = config::load(&args.policy_config)?;
    let Some(config) = report.config.clone() else {
        output::print_error(&format!(
            "refusing to start: {} is invalid\n{}",
            args.policy_config.display(),
            report.render_text()
        ));
        return Ok(ExitCode::from(1));
    };
    for f in report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
    {
        warn!(target: "kt::gateway", "{}:{}:{}: {}: {}", report.file, f.line, f.column, f.path, f.message);
    }
    let addr = format!("{}:{}", args.host, args.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let gw = Gateway::start(
        config,
        &db,
        listener,
        args.queue_capacity,
        Duration::from_secs(args.drain_secs),
    )
    .await?;
    shutdown_signal().await;
    info!(target: "kt::gateway", "Shutting down: draining in-flight requests and shadows");
    gw.stop().await?;
    Ok(ExitCode::SUCCESS)
}

/// A running gateway (used by `gateway run` and `demo`).
pub struct Gateway {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Gateway {
    /// Opens the database, logs the startup lines and starts serving on `listener`.
    pub async fn start(
        config: Config,
        db: &Path,
        listener: TcpListener,
        queue_capacity: usize,
        drain: Duration,
    ) -> anyhow::Result<Self> {
        let mut conn = store::open(db).context("opening the event database")?;
        let pruned = audit::apply(&mut conn, AuditSettings::from_config(&config))
            .context("applying the audit_logger policy")?;
        if pruned > 0 {
            info!(target: "kt::gateway", "Retention: deleted {pruned} event(s) past retention_days");
        }
        let (sink, writer) =
            store::spawn_writer(conn, queue_capacity).context("starting the event writer")?;
        log_startup(&config, db);
        let state = AppState::new(config, sink)?;
        let addr = listener.local_addr()?;
        info!(target: "kt::gateway", "Listening on http://{addr}");
        info!(target: "kt::gateway", "Gateway ready");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let drained = gateway::serve(listener, state.clone(), shutdown, drain).await?;
            if drained.cancelled_tasks > 0 {
                warn!(target: "kt::gateway", "{} shadow(s) still running after the drain period were cancelled and recorded", drained.cancelled_tasks);
            }
            let answered = state.answered.load(Ordering::Relaxed);
            let mirror_dropped = state.mirror_dropped.load(Ordering::Relaxed);
            let stats = state.sink.stats().clone();
            // Dropping the last sink closes the queue; the writer drains it and exits.
            drop(state);
            tokio::task::spawn_blocking(move || writer.join()).await?;
            info!(
                target: "kt::gateway",
                "Gateway stopped: {answered} request(s) answered, {} event row(s) written, {} dropped, {mirror_dropped} mirror(s) skipped at max_in_flight",
                stats.written.load(Ordering::Relaxed),
                stats.dropped(),
            );
            Ok(())
        });
        Ok(Self { addr, stop, task })
    }

    /// Stops accepting, drains, flushes, and waits until everything is written.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("gateway task failed")?
    }
}

fn log_startup(config: &Config, db: &Path) {
    info!(
        target: "kt::gateway",
        "Loaded {} provider(s), {} policy(ies)",
        config.targets.len(),
        config.policies.len()
    );
    match &config.mirror {
        Some(m) => {
            info!(
                target: "kt::gateway",
                "Traffic mirror: primary={}, shadow={}, sample_rate={}",
                m.primary,
                m.shadow,
                percent(m.sample_rate)
            );
            let pairs: Vec<String> = m
                .model_mapping
                .iter()
                .map(|(p, s)| format!("{p}→{s}"))
                .collect();
            info!(target: "kt::gateway", "Model mapping: {}", pairs.join(", "));
        }
        None => {
            info!(target: "kt::gateway", "Traffic mirror: off; requests go to {}", config.primary)
        }
    }
    info!(target: "kt::gateway", "Event database: {}", db.display());
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
