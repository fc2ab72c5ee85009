//! Cost figures of one report group: the estimated cost per request on each side from the
//! pricing table, and the projection "moving all of this traffic to the shadow would cost
//! $X per month (95% CI), a change of Y%".

use serde::Serialize;

use super::pricing::PriceTable;
use super::sql::{self, Row};
use super::stats;
use crate::config::ModelPrice;

/// Days in the projected month.
pub const MONTH_DAYS: f64 = 30.0;

const DAY_MS: f64 = 86_400_000.0;

/// The shortest window (one hour, in days) the monthly projection extrapolates from: a
/// few seconds of traffic times 30 days gives absurd rates (billions of requests), so a
/// shorter window gets the per-request and per-1,000-request figures only.
pub const MIN_PROJECTION_DAYS: f64 = 1.0 / 24.0;

/// `cost` of a group (JSON contract v1, plus `unpriced_models`, `change_pct` and its CI).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    /// The group's primary model when it has exactly one.
    pub primary_model: Option<String>,
    /// The group's shadow model when it has exactly one.
    pub shadow_model: Option<String>,
    /// Price of `primary_model`; `null` when it has none (or the group has several models).
    pub primary_price: Option<ModelPrice>,
    pub shadow_price: Option<ModelPrice>,
    /// Models of the group without a price: their side's costs are `null`.
    pub unpriced_models: Vec<String>,
    /// Mean estimated cost of one request, USD.
    pub primary_per_request_usd: Option<f64>,
    pub shadow_per_request_usd: Option<f64>,
    /// The same per 1,000 requests.
    pub primary_per_1k_usd: Option<f64>,
    pub shadow_per_1k_usd: Option<f64>,
    /// `(shadow / primary − 1) × 100` of the per-request costs.
    pub change_pct: Option<f64>,
    /// Bootstrap 95% interval of `change_pct` over the costed pairs.
    pub change_pct_ci95: Option<[f64; 2]>,
    /// The monthly projection; `null` without both costs, without a window length, or
    /// when the window is shorter than [`MIN_PROJECTION_DAYS`].
    pub projection: Option<Projection>,
    /// Set (and `projection` null) when both costs are known but the window is too short
    /// to project from.
    pub projection_withheld: Option<Withheld>,
}

/// Why a group with both costs has no projection: its window is too short.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Withheld {
    /// Length of the window, in days.
    pub window_days: f64,
    /// The shortest window projected from, in days ([`MIN_PROJECTION_DAYS`]).
    pub min_window_days: f64,
    /// Requests in the window the shadow could take over.
    pub traffic: u64,
}

/// What moving the window's traffic to the shadow would cost per month.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Projection {
    /// Length of the window the traffic was counted in, in days.
    pub window_days: f64,
    /// Requests in the window the shadow could take over (mirrored, not sampled, dropped).
    pub traffic: u64,
    /// `traffic / window_days × 30`.
    pub requests_per_month: f64,
    pub primary_monthly_usd: f64,
    pub shadow_monthly_usd: f64,
    /// Bootstrap 95% interval of `shadow_monthly_usd` (from the per-request cost's).
    pub shadow_monthly_usd_ci95: Option<[f64; 2]>,
    pub change_pct: Option<f64>,
    pub change_pct_ci95: Option<[f64; 2]>,
}

/// Paired per-request costs of the group's costed pairs (both sides priced), for the
/// bootstrap.
#[derive(Debug, Default)]
pub struct PairCosts {
    pub primary: Vec<f64>,
    pub shadow: Vec<f64>,
}

/// Builds a group's cost from its `report_tokens` row (`None` when the group has no pair
/// with token counts), its costed pairs, its traffic and the window length in days.
pub fn cost(
    tokens: Option<&Row>,
    prices: &PriceTable,
    pairs: &PairCosts,
    traffic: u64,
    window_days: Option<f64>,
) -> Cost {
    let Some(row) = tokens else {
        return Cost::default();
    };
    let primary_models = sql::string_list(row, "primary_models");
    let shadow_models = sql::string_list(row, "shadow_models");
    let single = |models: &[String]| match models {
        [one] => Some(one.clone()),
        _ => None,
    };
    let primary_model = single(&primary_models);
    let shadow_model = single(&shadow_models);
    let price = |m: &Option<String>| m.as_deref().and_then(|m| prices.lookup(m)).map(|r| r.price);
    let mut unpriced_models: Vec<String> = primary_models
        .iter()
        .chain(&shadow_models)
        .filter(|m| prices.lookup(m).is_none())
        .cloned()
        .collect();
    unpriced_models.sort();
    unpriced_models.dedup();

    let primary = sql::num(row, "primary_cost_mean");
    let shadow = sql::num(row, "shadow_cost_mean");
    let (change_pct, change_pct_ci95) = match (primary, shadow) {
        (Some(p), Some(s)) => (
            stats::change_pct(p, s),
            stats::mean_change_pct_ci(&pairs.primary, &pairs.shadow),
        ),
        _ => (None, None),
    };
    let short = |days: f64| days < MIN_PROJECTION_DAYS;
    let projection = match (primary, shadow, window_days) {
        (Some(p), Some(s), Some(days)) if days > 0.0 && !short(days) => {
            let per_month = traffic as f64 / days * MONTH_DAYS;
            Some(Projection {
                window_days: days,
                traffic,
                requests_per_month: per_month,
                primary_monthly_usd: p * per_month,
                shadow_monthly_usd: s * per_month,
                shadow_monthly_usd_ci95: stats::mean_ci(&pairs.shadow)
                    .map(|[lo, hi]| [lo * per_month, hi * per_month]),
                change_pct,
                change_pct_ci95,
            })
        }
        _ => None,
    };
    let projection_withheld = match (primary, shadow, window_days) {
        (Some(_), Some(_), Some(days)) if days > 0.0 && short(days) => Some(Withheld {
            window_days: days,
            min_window_days: MIN_PROJECTION_DAYS,
            traffic,
        }),
        _ => None,
    };
    Cost {
        primary_price: price(&primary_model),
        shadow_price: price(&shadow_model),
        primary_model,
        shadow_model,
        unpriced_models,
        primary_per_request_usd: primary,
        shadow_per_request_usd: shadow,
        primary_per_1k_usd: primary.map(|c| c * 1000.0),
        shadow_per_1k_usd: shadow.map(|c| c * 1000.0),
        change_pct,
        change_pct_ci95,
        projection,
        projection_withheld,
    }
}

/// Length in days of `[start, end)` clipped to `bucket` (hour/day groups); `None` when the
/// window has no known length or the clipped span is empty.
pub fn window_days(
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    bucket: Option<(i64, i64)>,
) -> Option<f64> {
    let (mut start, mut end) = (start_ms?, end_ms?);
    if let Some((b_start, b_end)) = bucket {
        start = start.max(b_start);
        end = end.min(b_end);
    }
    (end > start).then(|| (end - start) as f64 / DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the window is clipped to a bucket and an empty span has no length.
    #[test]
    fn window_days_clipping() {
        let day = 86_400_000;
        assert_eq!(window_days(Some(0), Some(2 * day), None), Some(2.0));
        assert_eq!(
            window_days(Some(0), Some(2 * day), Some((day, day + 3_600_000))),
            Some(1.0 / 24.0)
        );
        assert_eq!(window_days(Some(5), Some(5), None), None);
        assert_eq!(window_days(None, Some(5), None), None);
    }

    // Regression: a window of seconds was extrapolated to billions of requests per month;
    // below one hour the projection is withheld (with why) and the per-request figures stay.
    #[test]
    fn short_window_withholds_the_projection() {
        let row: Row = serde_json::from_value(serde_json::json!({
            "primary_models": "[\"gpt-4o-mini\"]",
            "shadow_models": "[\"claude-sonnet-4-20250514\"]",
            "primary_cost_mean": 0.0001,
            "shadow_cost_mean": 0.002,
        }))
        .unwrap();
        let prices = PriceTable::new(&[]);
        let pairs = PairCosts::default();
        let second = 1.0 / 86_400.0;
        let c = cost(Some(&row), &prices, &pairs, 1_000, Some(second));
        assert!(c.projection.is_none());
        let w = c.projection_withheld.unwrap();
        assert_eq!(
            (w.window_days, w.min_window_days, w.traffic),
            (second, MIN_PROJECTION_DAYS, 1_000)
        );
        assert_eq!(c.shadow_per_request_usd, Some(0.002));
        assert_eq!(c.shadow_per_1k_usd, Some(2.0));

        // From one hour on, the projection is made and nothing is withheld.
        let c = cost(
            Some(&row),
            &prices,
            &pairs,
            1_000,
            Some(MIN_PROJECTION_DAYS),
        );
        assert!(c.projection_withheld.is_none());
        let p = c.projection.unwrap();
        assert!((p.requests_per_month - 720_000.0).abs() < 1e-6, "{p:?}");
    }
}
