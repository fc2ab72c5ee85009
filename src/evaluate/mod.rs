//! Semantic comparison: two opt-in evaluators that judge a successful shadow
//! pair by meaning rather than words, off the request path. `semantic` embeds both
//! answers and takes the cosine of their vectors; `judge` asks an LLM with a fixed rubric
//! whether the shadow's answer is better than, as good as or worse than the primary's.
//!
//! Layout: `pool` (the bounded queue and worker slots per evaluator, sampling, the daily
//! USD cap, the row), `semantic` and `judge` (one evaluation each), `ledger` (spend and
//! counters kept across config reloads).

mod judge;
mod ledger;
mod pool;
mod semantic;

pub use judge::{DEFAULT_RUBRIC, Verdict, request_text};
pub use ledger::{KindLedger, Ledger, LedgerStatus, day_start_ms};
pub use pool::{Evaluators, Pair, Picks};

use rusqlite::Connection;

use crate::providers::UpstreamError;
use crate::store::{StoreError, queries};

/// A finished evaluation's result.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Semantic: the cosine similarity. Judge: the shadow's quality relative to the
    /// primary's (0.5 = as good).
    pub score: f64,
    /// Judge only.
    pub verdict: Option<Verdict>,
    /// Judge only: its short reason.
    pub reason: Option<String>,
    /// Judge only: the calls made (JSON).
    pub positions: Option<String>,
    /// A text was cut to `max_input_chars`.
    pub truncated: bool,
}

/// Why an evaluation has no result. Recorded in the row's `error_class`/`error_message`,
/// like a shadow failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("{0}")]
    InvalidResponse(String),
    /// The judge answered, but not with the JSON the rubric asks for.
    #[error("the judge's answer is not a verdict: {0}")]
    InvalidJudgement(String),
    #[error("an answer is empty: there is no meaning to compare")]
    EmptyAnswer,
    #[error("the evaluation took longer than timeout_ms ({0} ms)")]
    Timeout(u64),
    #[error("the gateway shut down before the evaluation finished")]
    Cancelled,
}

impl EvalError {
    /// `error_class` of the row.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Upstream(e) => e.class(),
            Self::InvalidResponse(_) => "invalid_response",
            Self::InvalidJudgement(_) => "invalid_judgement",
            Self::EmptyAnswer => "empty_answer",
            Self::Timeout(_) => "timeout",
            Self::Cancelled => "cancelled",
        }
    }

    /// `status` of the row: `timeout` or `error`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Timeout(_) | Self::Upstream(UpstreamError::Timeout(_)) => "timeout",
            _ => "error",
        }
    }
}

/// Each evaluator's spend since the UTC midnight of `now_ms`, from the database: a restart
/// keeps the day's budget. `(semantic, judge)` in USD.
pub fn load_spend(conn: &Connection, now_ms: i64) -> Result<(f64, f64), StoreError> {
    let q = queries::EVALUATION_SPEND_TODAY;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let rows = st
        .query_map(
            rusqlite::named_params! {":since_ms": day_start_ms(now_ms)},
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)),
        )
        .map_err(err)?;
    let (mut semantic, mut judge) = (0.0, 0.0);
    for row in rows {
        match row.map_err(err)? {
            (k, usd) if k == "judge" => judge += usd,
            (_, usd) => semantic += usd,
        }
    }
    Ok((semantic, judge))
}
