//! The evaluators' pools: each evaluator has its own bounded queue and a fixed number of
//! worker slots (`max_concurrency`), its own sample rate, timeout and daily USD cap. A
//! shadow task hands a finished pair over without waiting; a full queue drops the pair
//! and counts it. Every evaluation that was started ends as one `evaluations` row.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{EvalError, Ledger, Scored, judge, semantic};
use crate::config::{Config, Evaluator, ModelPrice};
use crate::providers::{Provider, http_client};
use crate::report::PriceTable;
use crate::store::{EvaluationRow, EventSink, now_stamp};

/// Pairs that may wait per worker slot before new ones are dropped: enough to ride out a
/// burst, small enough that a slow evaluator cannot build up memory behind it.
pub const QUEUE_PER_WORKER: usize = 64;

/// One successful shadow pair to evaluate. The texts live only in memory: they are never
/// stored unless `log_shadow_response` stores them anyway.
#[derive(Debug)]
pub struct Pair {
    pub request_id: String,
    pub shadow_target: String,
    /// The user's request (`judge::request_text`); empty unless the judge was picked.
    pub request: String,
    pub primary: String,
    pub shadow: String,
}

/// Which evaluators a pair was sampled for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Picks {
    pub semantic: bool,
    pub judge: bool,
}

impl Picks {
    pub fn any(self) -> bool {
        self.semantic || self.judge
    }
}

/// What the evaluator does with a pair.
#[derive(Debug)]
enum Kind {
    Semantic,
    Judge { rubric: String, both_orders: bool },
}

/// One evaluator's pool.
#[derive(Debug)]
struct Pool {
    kind: Kind,
    cfg: Evaluator,
    provider: Provider,
    /// The model's price (`None`: unpriced, cost not counted; lint refuses a cap then).
    price: Option<ModelPrice>,
    /// Queue places plus worker slots: a pair without one is dropped.
    admit: Arc<Semaphore>,
    /// `max_concurrency` worker slots.
    workers: Arc<Semaphore>,
}

impl Pool {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Semantic => "semantic",
            Kind::Judge { .. } => "judge",
        }
    }
}

/// Both evaluators of a config and what their tasks run on (shared with the gateway).
#[derive(Debug)]
pub struct Evaluators {
    semantic: Option<Arc<Pool>>,
    judge: Option<Arc<Pool>>,
    ledger: Arc<Ledger>,
    sink: EventSink,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

/// Building an evaluator's HTTP client failed.
pub type BuildError = reqwest::Error;

impl Evaluators {
    /// The evaluators `config` turns on, or `None` when it turns on none.
    pub fn from_config(
        config: &Config,
        ledger: Arc<Ledger>,
        sink: EventSink,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Result<Option<Self>, BuildError> {
        let Some(m) = &config.mirror else {
            return Ok(None);
        };
        let prices = PriceTable::new(&config.pricing);
        let pool = |kind: Kind, cfg: &Evaluator| -> Result<Option<Arc<Pool>>, BuildError> {
            // Lint guarantees the target exists.
            let Some(t) = config.target(&cfg.target) else {
                return Ok(None);
            };
            let workers = cfg.max_concurrency.clamp(1, Semaphore::MAX_PERMITS / 2);
            let places = workers
                .saturating_mul(QUEUE_PER_WORKER + 1)
                .min(Semaphore::MAX_PERMITS);
            Ok(Some(Arc::new(Pool {
                kind,
                price: prices.lookup(&cfg.model).map(|r| r.price),
                provider: Provider::new(t, http_client(t.connect_timeout_ms)?).for_background(),
                cfg: cfg.clone(),
                admit: Arc::new(Semaphore::new(places)),
                workers: Arc::new(Semaphore::new(workers)),
            })))
        };
        let semantic = match &m.semantic {
            Some(cfg) => pool(Kind::Semantic, cfg)?,
            None => None,
        };
        let judge = match &m.judge {
            Some(j) => pool(
                Kind::Judge {
                    rubric: j
                        .rubric
                        .clone()
                        .unwrap_or_else(|| judge::DEFAULT_RUBRIC.to_owned()),
                    both_orders: j.both_orders,
                },
                &j.eval,
            )?,
            None => None,
        };
        if semantic.is_none() && judge.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            semantic,
            judge,
            ledger,
            sink,
            tracker,
            cancel,
        }))
    }

    /// Draws each evaluator's sample for one pair (its own `sample_rate`, its own draw).
    pub fn pick(&self) -> Picks {
        let draw = |p: &Option<Arc<Pool>>| {
            p.as_ref()
                .is_some_and(|p| p.cfg.sample_rate > 0.0 && fastrand::f64() < p.cfg.sample_rate)
        };
        Picks {
            semantic: draw(&self.semantic),
            judge: draw(&self.judge),
        }
    }

    /// Hands a pair to the evaluators it was picked for. Never waits: each gets a queue
    /// place or the pair is dropped for it and counted.
    pub fn submit(&self, pair: Pair, picks: Picks) {
        let pair = Arc::new(pair);
        for (picked, pool) in [(picks.semantic, &self.semantic), (picks.judge, &self.judge)] {
            let Some(pool) = pool.as_ref().filter(|_| picked) else {
                continue;
            };
            let ledger = self.ledger.of(pool.name());
            ledger.submitted.fetch_add(1, Ordering::Relaxed);
            let Ok(place) = pool.admit.clone().try_acquire_owned() else {
                let n = ledger.dropped.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(1000) {
                    tracing::warn!(
                        evaluator = pool.name(),
                        dropped_total = n + 1,
                        "evaluator queue full: pair not evaluated"
                    );
                }
                continue;
            };
            let task = Task {
                pool: pool.clone(),
                pair: pair.clone(),
                ledger: self.ledger.clone(),
                sink: self.sink.clone(),
                cancel: self.cancel.clone(),
            };
            self.tracker.spawn(task.run(place));
        }
    }
}

/// One queued evaluation.
struct Task {
    pool: Arc<Pool>,
    pair: Arc<Pair>,
    ledger: Arc<Ledger>,
    sink: EventSink,
    cancel: CancellationToken,
}

impl Task {
    /// Waits for a worker slot, checks the day's cap, evaluates within `timeout_ms`, and
    /// queues the row. `_place` holds the queue place until the row is queued.
    async fn run(self, _place: OwnedSemaphorePermit) {
        let pool = &self.pool;
        let ledger = self.ledger.of(pool.name());
        let worker = tokio::select! {
            w = pool.workers.clone().acquire_owned() => w.ok(),
            () = self.cancel.cancelled() => None,
        };
        let mut row = self.row();
        let Some(_worker) = worker else {
            fail(&mut row, &EvalError::Cancelled);
            self.sink.evaluation(row).await;
            return;
        };
        let (_, now_ms) = now_stamp();
        if let Some(cap) = pool.cfg.max_usd_per_day
            && ledger.spent(now_ms) >= cap
        {
            ledger.skipped_cap.fetch_add(1, Ordering::Relaxed);
            row.status = "skipped_cap";
            row.error_message = Some(format!(
                "{} spend today is ${:.4}, at or over max_usd_per_day ${cap:.4}",
                pool.name(),
                ledger.spent(now_ms)
            ));
            self.sink.evaluation(row).await;
            return;
        }
        let started = Instant::now();
        let limit = Duration::from_millis(pool.cfg.timeout_ms);
        let outcome = tokio::select! {
            r = tokio::time::timeout(limit, self.evaluate(limit)) => match r {
                Ok(r) => r,
                // Calls cut off by the timeout report no tokens: their cost is unknown.
                Err(_) => (Err(EvalError::Timeout(pool.cfg.timeout_ms)), None, None),
            },
            () = self.cancel.cancelled() => (Err(EvalError::Cancelled), None, None),
        };
        let (result, input, output) = outcome;
        row.latency_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        row.input_tokens = input;
        row.output_tokens = output;
        row.cost_usd = pool.price.and_then(|p| {
            (input.is_some() || output.is_some()).then(|| {
                (input.unwrap_or(0) as f64 * p.input_per_mtok
                    + output.unwrap_or(0) as f64 * p.output_per_mtok)
                    / 1e6
            })
        });
        if let Some(usd) = row.cost_usd {
            ledger.add(now_stamp().1, usd);
        }
        match result {
            Ok(s) => {
                row.status = "success";
                row.score = Some(s.score);
                row.verdict = s.verdict.map(judge::Verdict::as_str);
                row.reason = s.reason;
                row.positions = s.positions;
                row.truncated = Some(s.truncated);
            }
            Err(e) => fail(&mut row, &e),
        }
        let (ts, ts_unix_ms) = now_stamp();
        row.ts = ts;
        row.ts_unix_ms = ts_unix_ms;
        self.sink.evaluation(row).await;
    }

    /// The evaluation itself: its result and the tokens it used.
    async fn evaluate(
        &self,
        limit: Duration,
    ) -> (Result<Scored, EvalError>, Option<u64>, Option<u64>) {
        let (pool, pair) = (&self.pool, &self.pair);
        match &pool.kind {
            Kind::Semantic => {
                let (r, tokens) = semantic::evaluate(
                    &pool.provider,
                    &pool.cfg.model,
                    &pair.primary,
                    &pair.shadow,
                    pool.cfg.max_input_chars,
                    limit,
                )
                .await;
                // An embedding has no output tokens.
                (r, tokens, tokens.map(|_| 0))
            }
            Kind::Judge {
                rubric,
                both_orders,
            } => {
                judge::evaluate(
                    &pool.provider,
                    &pool.cfg.model,
                    rubric,
                    &pair.request,
                    &pair.primary,
                    &pair.shadow,
                    *both_orders,
                    pool.cfg.max_input_chars,
                    limit,
                )
                .await
            }
        }
    }

    /// The row's identity; the outcome fills the rest.
    fn row(&self) -> EvaluationRow {
        let (ts, ts_unix_ms) = now_stamp();
        EvaluationRow {
            request_id: self.pair.request_id.clone(),
            shadow_target: self.pair.shadow_target.clone(),
            kind: self.pool.name(),
            ts,
            ts_unix_ms,
            evaluator_target: self.pool.provider.id.clone(),
            evaluator_model: self.pool.cfg.model.clone(),
            ..EvaluationRow::default()
        }
    }
}

/// Records a failure in the row, like a shadow failure.
fn fail(row: &mut EvaluationRow, e: &EvalError) {
    row.status = e.status();
    row.error_class = Some(e.class().to_owned());
    row.error_message = Some(e.to_string());
}
