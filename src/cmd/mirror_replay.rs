//! `kt mirror replay`: checks the flags, the config, the target and its key, then replays
//! the logged requests (`crate::replay`) with a progress bar, stops cleanly on Ctrl-C or
//! SIGTERM, flushes the writer and prints a one-line summary. Exit 0 when done (also when
//! the cost cap stopped it), 130 after Ctrl-C, 143 after SIGTERM; a rerun resumes.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use tokio_util::sync::CancellationToken;

use super::open_db;
use super::signals::{INTERRUPTED, StopSignals};
use super::time::{parse_time, unix_ms};
use crate::cli::ReplayArgs;
use crate::config::{self, CompareMetric, Config};
use crate::output;
use crate::policy::ContentFilter;
use crate::providers::{Provider, http_client};
use crate::replay::{self, Budget, Caller, Pending, Plan, Progress, Stop, Summary, Window};
use crate::report::PriceTable;
use crate::store;

/// How long calls in flight may finish after Ctrl-C or SIGTERM before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);
/// Rows the writer queue holds: far more than the calls in flight ever produce at once.
const QUEUE: usize = 4096;

pub fn run(args: &ReplayArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let now = SystemTime::now();
    let when = |flag: &str, s: &Option<String>| {
        s.as_deref()
            .map(|s| parse_time(s, now).map(unix_ms))
            .transpose()
            .with_context(|| flag.to_owned())
    };
    let since_ms = when("--since", &args.since)?.unwrap_or(0);
    let until_ms = when("--until", &args.until)?.unwrap_or(i64::MAX);
    if let Some(r) = args.rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!(
            "--rate must be a number of requests per second above 0 (0.5 is one every 2 s), got {r}"
        );
    }
    if let Some(c) = args.max_cost
        && !(c.is_finite() && c >= 0.0)
    {
        bail!("--max-cost must be an amount of US dollars of at least 0, got {c}");
    }

    let cfg = load_config(&args.policy_config)?;
    let caller = caller(&cfg, &args.shadow)?;
    let mapping = replay::mapping_for(&cfg, &args.shadow);
    if mapping.is_empty() {
        bail!(
            "{} maps no models (`traffic_mirror.model_mapping`): each request is replayed as the model its model maps to",
            args.policy_config.display()
        );
    }
    let window = Window {
        since_ms,
        until_ms,
        target: args.shadow.clone(),
        mapping_json: Window::mapping_json(mapping),
        limit: args.limit,
    };

    let conn = open_db(db)?;
    let pending = replay::pending(&conn, &window)?;
    let table = PriceTable::new(&cfg.pricing);
    let prices: HashMap<_, _> = pending
        .shadow_models
        .iter()
        .filter_map(|m| table.lookup(m).map(|r| (m.clone(), r.price)))
        .collect();
    let unpriced: Vec<&str> = pending
        .shadow_models
        .iter()
        .filter(|m| !prices.contains_key(*m))
        .map(String::as_str)
        .collect();
    if args.max_cost.is_some() && !unpriced.is_empty() {
        bail!(
            "--max-cost needs a price for {}: kt has no built-in price for it; add it to {} as \
             `pricing: {{{}: {{input_per_mtok: X, output_per_mtok: Y}}}}` (USD per million tokens)",
            unpriced.join(", "),
            args.policy_config.display(),
            unpriced[0]
        );
    }
    let total = args
        .limit
        .map_or(pending.pending, |l| l.min(pending.pending));

    let (sink, writer) =
        store::spawn_writer(open_db(db)?, QUEUE).context("cannot start the event writer thread")?;
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let rx = replay::spawn_reader(conn, window, concurrency * 2)?;
    let (stop, abort) = (CancellationToken::new(), CancellationToken::new());
    let plan = Plan {
        caller,
        prices,
        budget: args.max_cost.map(Budget::new),
        concurrency,
        rate: args.rate,
        sink: sink.clone(),
        progress: Progress::new(total, &args.shadow),
        stop: stop.clone(),
        abort: abort.clone(),
        grace: GRACE,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = Arc::new(AtomicU8::new(INTERRUPTED));
    let seen = Arc::clone(&status);
    let result = runtime.block_on(async {
        // First Ctrl-C or SIGTERM: start nothing more; a second one abandons the calls in
        // flight. Either way what finished is written before kt exits.
        let mut signals = StopSignals::listen();
        // Aborted once the run is over: a signal during the final flush is then ignored,
        // which the writer's own 5 s bound keeps short.
        let signals = tokio::spawn(async move {
            seen.store(signals.next().await, Ordering::Relaxed);
            stop.cancel();
            signals.next().await;
            abort.cancel();
        });
        let result = replay::run(plan, rx).await;
        signals.abort();
        sink.close(Duration::from_secs(5)).await;
        drop(sink);
        result
    });
    writer.join();
    let summary = result?;

    output::print_text(&summary_line(
        &args.shadow,
        &pending,
        &summary,
        args.max_cost,
    ));
    if summary.stop == Stop::Interrupted {
        output::print_error("interrupted: rerun the same command to replay the rest");
        return Ok(ExitCode::from(status.load(Ordering::Relaxed)));
    }
    Ok(ExitCode::SUCCESS)
}

/// The config, linted; an invalid one is refused with its findings. Warnings are not
/// shown: they concern the gateway (e.g. another target's unset key).
fn load_config(path: &Path) -> anyhow::Result<Config> {
    let lint = config::load(path)?;
    match lint.config {
        Some(cfg) => Ok(cfg),
        None => {
            output::print_error(lint.render_text().trim_end());
            bail!("{} is not a valid config (see above)", path.display())
        }
    }
}

/// The client for `target_id`, with its key from the environment (never echoed).
fn caller(cfg: &Config, target_id: &str) -> anyhow::Result<Caller> {
    let target = cfg.target(target_id).ok_or_else(|| {
        let known: Vec<String> = cfg.targets.iter().map(|t| format!("`{}`", t.id)).collect();
        anyhow!(
            "no target has id `{target_id}`; providers.targets defines {}",
            known.join(", ")
        )
    })?;
    if let Some(env) = &target.key_env
        && std::env::var(env).map_or(true, |v| v.is_empty())
    {
        bail!(
            "target `{target_id}` reads its API key from the environment variable {env}, which is not set"
        );
    }
    let http = http_client(target.connect_timeout_ms).context("cannot create the HTTP client")?;
    let filter = ContentFilter::from_config(cfg);
    Ok(Caller {
        // Marked `x-kt-shadow: 1` like live shadows: upstream logs can tell it apart.
        provider: Arc::new(Provider::new(target, http).for_background()),
        timeout: Duration::from_millis(target.timeout_ms),
        metrics: cfg.mirror.as_ref().map_or_else(
            || {
                CompareMetric::NAMES
                    .iter()
                    .filter_map(|m| CompareMetric::parse(m))
                    .collect()
            },
            |m| m.compare_metrics.clone(),
        ),
        log_text: cfg.log_requests || cfg.mirror.as_ref().is_some_and(|m| m.log_shadow_response),
        redact: filter.has_redacting().then(|| Arc::new(filter)),
    })
}

/// `replay to T: 8 replayed, 1 failed, 3 skipped (…), spent $0.0123; …`.
fn summary_line(target: &str, p: &Pending, s: &Summary, cap: Option<f64>) -> String {
    let skipped = p.paired + p.unmapped + s.unreadable;
    let mut line = format!(
        "replay to {target}: {} replayed, {} failed, {skipped} skipped ({} already paired, {} without a model mapping, {} unreadable)",
        s.replayed, s.failed, p.paired, p.unmapped, s.unreadable
    );
    match s.spent_usd {
        Some(usd) => line.push_str(&format!(", spent ${usd:.4}")),
        None => line.push_str(", spent unknown (a model has no price; see `pricing:`)"),
    }
    if let Some(cap) = cap {
        line.push_str(&format!(" of ${cap:.4}"));
    }
    let left = p
        .pending
        .saturating_sub(s.replayed + s.failed + s.unreadable);
    if left > 0 {
        line.push_str(&format!("; {left} left"));
    }
    match s.stop {
        Stop::Done => {}
        Stop::CostCap => line.push_str(" (stopped: the next request could pass --max-cost)"),
        Stop::Interrupted => line.push_str(&format!(
            " (interrupted; {} calls in flight abandoned)",
            s.abandoned
        )),
    }
    if s.not_written > 0 {
        line.push_str(&format!(
            "; {} rows not written (queue full): a rerun replays them",
            s.not_written
        ));
    }
    line
}
