//! Live config reload: on SIGHUP, and with `--watch-config` whenever the file's content
//! changes, the config is read and linted again. A valid config replaces the running
//! state for requests that arrive from then on (requests in flight finish on the state
//! they started with); an invalid one is refused with every finding logged, and the
//! running config stays.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::live::Live;
use super::run::log_mirror;
use crate::config::{self, Severity};
use crate::mirror::guard;
use crate::policy::audit::AuditSettings;
use crate::store;

/// How often `--watch-config` looks at the file.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Where the config comes from, and what a new one must satisfy.
#[derive(Debug, Clone)]
pub struct ReloadSource {
    pub path: PathBuf,
    /// Also reload when the file's content changes (`--watch-config`).
    pub watch: bool,
    /// The gateway listens beyond loopback without `--allow-unauthenticated`: a config
    /// without `gateway.api_keys` is refused, as it would be at start.
    pub require_caller_keys: bool,
    /// The event database, to seed a rebuilt spend guard with today's spend.
    pub db: PathBuf,
}

/// Why a reload was refused (already logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Runs the reloader until `stop` fires.
pub fn spawn(live: Live, source: ReloadSource, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut hangup = hangup_signal();
        let mut seen = read(&source.path).await;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                Some(()) = next_hangup(&mut hangup) => {
                    info!(target: "kt::gateway", "SIGHUP: reloading {}", source.path.display());
                    let _ = reload(&live, &source).await;
                    seen = read(&source.path).await;
                }
                _ = tick.tick(), if source.watch => {
                    // A file being replaced may be briefly missing: wait for it.
                    let now = read(&source.path).await;
                    if now.is_some() && now != seen {
                        info!(target: "kt::gateway", "{} changed: reloading", source.path.display());
                        seen = now;
                        let _ = reload(&live, &source).await;
                    }
                }
            }
        }
    })
}

/// Reads, lints and applies the config once.
pub async fn reload(live: &Live, source: &ReloadSource) -> Result<(), Refused> {
    let result = apply(live, source).await;
    let current = live.current();
    match &result {
        Ok(()) => current.reloads.applied.fetch_add(1, Ordering::Relaxed),
        Err(Refused(why)) => {
            error!(target: "kt::gateway", "Config reload refused, the running config stays: {why}");
            current.reloads.refused.fetch_add(1, Ordering::Relaxed)
        }
    };
    result
}

async fn apply(live: &Live, source: &ReloadSource) -> Result<(), Refused> {
    let path = source.path.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load(&path))
        .await
        .map_err(|e| Refused(format!("the reload task failed: {e}")))?
        .map_err(|e| match e {
            // Like a lint finding: `FILE:LINE:COL: ...` on its own line, then the refusal.
            config::LoadError::Syntax { ref path, .. } => {
                error!(target: "kt::gateway", "{e}");
                Refused(format!("{path} is not valid YAML (listed above)"))
            }
            config::LoadError::Read { .. } => Refused(e.to_string()),
        })?;
    let Some(config) = loaded.config.clone() else {
        for f in &loaded.findings {
            error!(target: "kt::gateway", "{}:{}:{}: {}: {}", loaded.file, f.line, f.column, f.path, f.message);
        }
        let errors = loaded
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        return Err(Refused(format!(
            "{} is invalid ({errors} error(s), listed above)",
            loaded.file
        )));
    };
    for f in loaded
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
    {
        warn!(target: "kt::gateway", "{}:{}:{}: {}: {}", loaded.file, f.line, f.column, f.path, f.message);
    }
    if source.require_caller_keys && config.gateway.api_key_envs.is_empty() {
        return Err(Refused(
            "the new config has no gateway.api_keys, and the gateway listens beyond loopback \
             without --allow-unauthenticated"
                .into(),
        ));
    }
    let current = live.current();
    if AuditSettings::from_config(&current.config) != AuditSettings::from_config(&config) {
        // Immutability and retention are applied to the database at start.
        warn!(target: "kt::gateway", "audit_logger changes take effect at the next start");
    }
    let next = current
        .reconfigured(config)
        .map_err(|e| Refused(e.to_string()))?;
    if !std::sync::Arc::ptr_eq(&current.guard, &next.guard) {
        // New limits, prices or shadows: the new guard starts from today's spend as the
        // database has it, then takes over from the old one (below).
        let db = source.db.clone();
        let seed = tokio::task::spawn_blocking(move || {
            store::open(&db).and_then(|c| guard::load_seed(&c, store::now_stamp().1))
        })
        .await;
        match seed
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(seed) => next.guard.restore(&seed, guard::Occasion::Reload),
            Err(e) => {
                warn!(target: "kt::gateway", "spend guard: cannot read today's spend ({e}); counting from zero")
            }
        }
        // Calls still in flight on the old guard (and spend it counted that the writer
        // has not written yet) carry over to the new one.
        current.guard.hand_over(next.guard.clone());
    }
    info!(
        target: "kt::gateway",
        "Config reloaded from {}: {} provider(s), {} policy(ies); requests in flight finish on the previous config",
        loaded.file,
        next.config.targets.len(),
        next.config.policies.len()
    );
    log_mirror(&next.config);
    live.replace(next);
    Ok(())
}

/// The file's bytes, or `None` when it cannot be read right now.
async fn read(path: &std::path::Path) -> Option<Vec<u8>> {
    tokio::fs::read(path).await.ok()
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(target: "kt::gateway", "cannot listen for SIGHUP ({e}); reload by signal is off");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// The next SIGHUP; never resolves when there is no signal handler.
#[cfg(unix)]
async fn next_hangup(h: &mut Hangup) -> Option<()> {
    match h {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}
