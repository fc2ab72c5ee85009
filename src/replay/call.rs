//! One replayed request: send the logged body to the target the way the caller was
//! answered (streamed or not), and build its `shadow_results` row (`kind = 'replay'`)
//! compared with the logged primary answer, with the live shadow's own code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::budget::cost_usd;
use super::select::Candidate;
use crate::config::{CompareMetric, ModelPrice};
use crate::mirror::{CallInfo, ShadowKind, call, shadow_row};
use crate::policy::ContentFilter;
use crate::providers::Provider;
use crate::store::ShadowRow;

/// What every replayed call shares.
#[derive(Debug, Clone)]
pub struct Caller {
    pub provider: Arc<Provider>,
    /// Limit on one call (the target's `timeout_ms`).
    pub timeout: Duration,
    /// `compare_metrics` of the config (all four without a mirror block).
    pub metrics: Vec<CompareMetric>,
    /// Store the answer's text (`log_requests` or `log_shadow_response`).
    pub log_text: bool,
    /// Redacts the stored answer when an `action: redact` policy exists.
    pub redact: Option<Arc<ContentFilter>>,
}

impl Caller {
    /// Replays `c` (whose body parsed) and returns its row.
    pub async fn replay(
        &self,
        c: &Candidate,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> ShadowRow {
        let started = Instant::now();
        let result = call(
            &self.provider,
            body,
            None,
            &c.shadow_model,
            c.stream,
            self.timeout,
            started,
        )
        .await;
        let info = CallInfo {
            kind: ShadowKind::Replay,
            stream: c.stream,
            has_tools: c.has_tools,
            json_mode: c.json_mode,
            request_id: &c.id,
            provider: &self.provider,
            model: &c.shadow_model,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        // Without the primary's logged text a similarity would compare with nothing.
        let metrics: Vec<CompareMetric> = self
            .metrics
            .iter()
            .copied()
            .filter(|m| c.has_text || *m != CompareMetric::ContentSimilarity)
            .collect();
        shadow_row(
            &info,
            result,
            Some(&c.primary),
            &metrics,
            self.log_text,
            self.redact.as_deref(),
        )
    }
}

/// What a finished call cost, for the cap: its tokens at `price`. A call that reported no
/// tokens, or failed without an HTTP answer (timeout, broken stream: it may have been
/// billed), counts at its `estimate`; one the provider refused with a status costs nothing.
pub fn real_cost(row: &ShadowRow, price: &ModelPrice, estimate: f64) -> f64 {
    match (row.status.as_str(), row.input_tokens, row.output_tokens) {
        ("success", Some(i), Some(o)) => cost_usd(price, i as f64, o as f64),
        ("success", _, _) => estimate,
        _ if row.http_status.is_some_and(|s| s >= 400) => 0.0,
        _ => estimate,
    }
}
