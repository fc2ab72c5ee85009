//! `kt gateway run`: validate the config, open the database, serve until Ctrl-C/SIGTERM,
//! then drain shadows and flush every event row before exiting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::signals::StopSignals;
use crate::cli::GatewayRunArgs;
use crate::config::{self, Severity};
use crate::gateway::{Gateway, ReloadSource};
use crate::output;

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
    let require_caller_keys = !args.allow_unauthenticated && !is_loopback(&args.host);
    if config.gateway.api_key_envs.is_empty() && require_caller_keys {
        output::print_error(&format!(
            "refusing to listen on {} without caller authentication: anyone who can reach it could spend your \
             provider keys. Add `gateway: {{api_keys: [{{env: KT_GATEWAY_KEY}}]}}` to the config, or pass \
             --allow-unauthenticated if the network is trusted.",
            args.host
        ));
        return Ok(ExitCode::from(1));
    }
    let addr = format!("{}:{}", args.host, args.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // Listening before the gateway starts: from its first request on, a signal drains.
    let mut signals = StopSignals::listen();
    let gw = Gateway::start(
        config,
        &db,
        listener,
        args.queue_capacity as usize,
        Duration::from_secs(args.drain_secs),
        Some(ReloadSource {
            path: args.policy_config.clone(),
            watch: args.watch_config,
            require_caller_keys,
            db: db.clone(),
        }),
    )
    .await?;
    signals.next().await;
    info!(target: "kt::gateway", "Shutting down: draining in-flight requests and shadows (a second signal stops now)");
    let force = gw.force_handle();
    let stop = gw.stop();
    tokio::pin!(stop);
    tokio::select! {
        r = &mut stop => r?,
        _ = signals.next() => {
            warn!(target: "kt::gateway", "Second signal: cancelling in-flight shadows and flushing now");
            force.cancel();
            stop.await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `host` only accepts connections from this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    // Proves only loopback addresses count as safe without caller authentication.
    #[test]
    fn loopback_detection() {
        for h in ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["0.0.0.0", "::", "10.0.0.5", "example.com", "192.168.1.2"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
