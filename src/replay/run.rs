//! The replay loop: take the selected requests in order, start at most `--concurrency`
//! calls at once and at most `--rate` per second, never start one the `--max-cost` cap
//! could not pay for, and hand each finished call's row to the writer. On Ctrl-C or
//! SIGTERM nothing more starts; calls in flight get a grace period to finish and are then
//! abandoned without a row, so a rerun replays exactly the requests that have none.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ReplayError;
use super::budget::{Budget, estimate_usd};
use super::call::{Caller, real_cost};
use super::progress::Progress;
use super::select::Candidate;
use crate::config::ModelPrice;
use crate::store::{EventSink, ShadowRow, StoreError};

/// Everything a replay run needs.
#[derive(Debug)]
pub struct Plan {
    pub caller: Caller,
    /// Price of each model the requests are sent as; a model missing here has no price.
    pub prices: HashMap<String, ModelPrice>,
    /// `--max-cost`; `None` without a cap.
    pub budget: Option<Budget>,
    /// `--concurrency`: calls in flight at most (at least 1).
    pub concurrency: usize,
    /// `--rate`: calls started per second at most.
    pub rate: Option<f64>,
    pub sink: EventSink,
    pub progress: Progress,
    /// Cancelled by Ctrl-C or SIGTERM: start nothing more, let calls in flight finish within `grace`.
    pub stop: CancellationToken,
    /// Cancelled by a second signal: abandon calls in flight at once.
    pub abort: CancellationToken,
    pub grace: Duration,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every selected request was replayed (or `--limit` was reached).
    Done,
    /// The next request could have taken the spend past `--max-cost`.
    CostCap,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Calls answered successfully (pairs written).
    pub replayed: u64,
    /// Calls that failed (pairs written with the failure, as live shadows are).
    pub failed: u64,
    /// Selected requests not sent because their logged body is not a JSON object.
    pub unreadable: u64,
    /// Calls abandoned after a stop signal: no row, so a rerun sends them again.
    pub abandoned: u64,
    /// Rows the writer could not take (full queue): a rerun replays them again.
    pub not_written: u64,
    /// Real cost of the finished calls, USD; `None` when a model has no price.
    pub spent_usd: Option<f64>,
    pub stop: Stop,
}

/// A finished call: its row and the estimate reserved for it.
type Finished = (ShadowRow, f64);

struct Tally<'p> {
    plan: &'p mut Plan,
    summary: Summary,
}

impl Tally<'_> {
    /// Books a finished call: budget, spend, counts, progress, and the row to the writer.
    async fn book(&mut self, joined: Option<Result<Finished, tokio::task::JoinError>>) {
        let Some(Ok((row, estimate))) = joined else {
            // An aborted task (a stop signal past the grace period) left no row.
            if joined.is_some() {
                self.summary.abandoned += 1;
            }
            return;
        };
        let cost = self
            .plan
            .prices
            .get(&row.model)
            .map(|p| real_cost(&row, p, estimate));
        if let Some(b) = self.plan.budget.as_mut() {
            b.settle(estimate, cost.unwrap_or(estimate));
        }
        self.summary.spent_usd = match (self.summary.spent_usd, cost) {
            (Some(s), Some(c)) => Some(s + c),
            _ => None,
        };
        if row.status == "success" {
            self.summary.replayed += 1;
        } else {
            self.summary.failed += 1;
        }
        if !self.plan.sink.shadow(row).await {
            self.summary.not_written += 1;
        }
        self.plan.progress.advance();
        if let Some(s) = self.summary.spent_usd {
            self.plan.progress.note(format!("spent ${s:.4}"));
        }
    }
}

/// The spacing of calls for `--rate` (calls per second); `None` for no limit. A rate so
/// small that its interval overflows a `Duration` means one call a day, not a panic.
fn interval_for(rate: f64) -> Option<Duration> {
    (rate.is_finite() && rate > 0.0)
        .then(|| Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(86_400)))
}

/// Replays the requests `rx` yields (see [`super::spawn_reader`]) as `plan` says.
pub async fn run(
    mut plan: Plan,
    mut rx: mpsc::Receiver<Result<Candidate, StoreError>>,
) -> Result<Summary, ReplayError> {
    let interval = plan.rate.and_then(interval_for);
    let (stop, abort) = (plan.stop.clone(), plan.abort.clone());
    let concurrency = plan.concurrency.max(1);
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut next_start = Instant::now();
    let mut failure: Option<StoreError> = None;
    let mut t = Tally {
        plan: &mut plan,
        summary: Summary {
            replayed: 0,
            failed: 0,
            unreadable: 0,
            abandoned: 0,
            not_written: 0,
            spent_usd: Some(0.0),
            stop: Stop::Done,
        },
    };

    'launch: loop {
        while tasks.len() >= concurrency {
            tokio::select! {
                j = tasks.join_next() => t.book(j).await,
                () = stop.cancelled() => break 'launch,
            }
        }
        let next = tokio::select! {
            n = rx.recv() => n,
            () = stop.cancelled() => break 'launch,
        };
        let c = match next {
            None => break,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                failure = Some(e);
                break;
            }
        };
        let Some(body) = c.body.clone() else {
            t.summary.unreadable += 1;
            t.plan.progress.advance();
            continue;
        };
        let price = t.plan.prices.get(&c.shadow_model).copied();
        let estimate = price.map_or(0.0, |p| {
            estimate_usd(
                &p,
                c.input_tokens,
                c.body_chars,
                c.primary.output_tokens,
                c.primary.text.chars().count() as u64,
                c.max_output_tokens,
            )
        });
        // Wait for calls in flight to settle before giving up: their real cost may be
        // below what they reserved.
        while let Some(b) = t.plan.budget.as_mut() {
            if b.try_reserve(estimate) {
                break;
            }
            if tasks.is_empty() {
                t.summary.stop = Stop::CostCap;
                break 'launch;
            }
            tokio::select! {
                j = tasks.join_next() => t.book(j).await,
                () = stop.cancelled() => break 'launch,
            }
        }
        if let Some(every) = interval {
            tokio::select! {
                () = tokio::time::sleep_until(next_start) => {}
                () = stop.cancelled() => break 'launch,
            }
            next_start = next_start.max(Instant::now()) + every;
        }
        let caller = t.plan.caller.clone();
        tasks.spawn(async move {
            let row = caller.replay(&c, &body).await;
            (row, estimate)
        });
    }

    // Let the calls in flight finish; after a stop signal only for the grace period.
    let mut deadline = stop.is_cancelled().then(|| Instant::now() + t.plan.grace);
    while !tasks.is_empty() {
        let grace_over = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let abandon = tokio::select! {
            j = tasks.join_next() => {
                t.book(j).await;
                false
            }
            () = stop.cancelled(), if deadline.is_none() => {
                deadline = Some(Instant::now() + t.plan.grace);
                false
            }
            () = grace_over => true,
            () = abort.cancelled() => true,
        };
        if abandon {
            // Calls that finished meanwhile are still booked; the others leave no row.
            tasks.abort_all();
            while let Some(j) = tasks.join_next().await {
                t.book(Some(j)).await;
            }
        }
    }
    if stop.is_cancelled() {
        t.summary.stop = Stop::Interrupted;
    }
    t.plan.progress.finish();
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(t.summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves --rate turns into a call spacing, and that absurd rates cannot panic.
    #[test]
    fn rate_to_interval() {
        assert_eq!(interval_for(4.0), Some(Duration::from_millis(250)));
        assert_eq!(interval_for(1e-300), Some(Duration::from_secs(86_400)));
        assert_eq!(interval_for(5e-324), Some(Duration::from_secs(86_400)));
        assert_eq!(interval_for(0.0), None);
        assert_eq!(interval_for(f64::NAN), None);
    }
}
