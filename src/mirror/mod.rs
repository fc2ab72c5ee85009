//! Mirroring: deciding per request whether to mirror (sampling, model mapping, the
//! in-flight cap, the spend guard), running the shadow call off the request path, and
//! comparing answers.

pub mod compare;
mod dispatch;
pub mod guard;
mod shadow;

pub use dispatch::{Background, Mirrored, Mirroring, launch};
pub use guard::SpendGuard;
pub use shadow::{PrimaryOutcome, ShadowKind, is_json};

use crate::config::Mirror;

/// Why a request was or was not mirrored; stored as `requests.mirror_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Mirror to the shadow with this model.
    Mirror { shadow_model: String },
    /// No `traffic_mirror` block, or `enabled: false`.
    Disabled,
    /// The request's model has no `model_mapping` entry.
    NoModelMapping,
    /// Lost the `sample_rate` draw.
    NotSampled,
}

impl Decision {
    /// The `mirror_state` column value.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Mirror { .. } => "mirrored",
            Self::Disabled => "disabled",
            Self::NoModelMapping => "no_model_mapping",
            Self::NotSampled => "not_sampled",
        }
    }
}

/// Decides whether a request for `model` is mirrored; `draw` is a uniform number in [0, 1).
pub fn decide(mirror: Option<&Mirror>, model: &str, draw: f64) -> Decision {
    let Some(m) = mirror else {
        return Decision::Disabled;
    };
    let Some(shadow_model) = m.shadow_model_for(model) else {
        return Decision::NoModelMapping;
    };
    // `<` so that 0.0 never mirrors and 1.0 always does.
    if draw < m.sample_rate {
        Decision::Mirror {
            shadow_model: shadow_model.to_string(),
        }
    } else {
        Decision::NotSampled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CompareMetric;

    fn mirror(rate: f64) -> Mirror {
        Mirror {
            primary: "p".into(),
            shadow: "s".into(),
            model_mapping: vec![("gpt-4o-mini".into(), "claude".into())],
            sample_rate: rate,
            asynchronous: true,
            log_shadow_response: false,
            compare_metrics: vec![CompareMetric::Latency],
            timeout_ms: 1000,
            max_in_flight: 1,
            noise_floor_rate: 0.0,
            spend_guard: None,
        }
    }

    // Proves the rate bounds: 0 never mirrors, 1 always does, and mapping is required.
    #[test]
    fn decision_bounds() {
        assert_eq!(
            decide(Some(&mirror(0.0)), "gpt-4o-mini", 0.0),
            Decision::NotSampled
        );
        assert_eq!(
            decide(Some(&mirror(1.0)), "gpt-4o-mini", 0.999_999),
            Decision::Mirror {
                shadow_model: "claude".into()
            }
        );
        assert_eq!(
            decide(Some(&mirror(1.0)), "gpt-4o", 0.0),
            Decision::NoModelMapping
        );
        assert_eq!(decide(None, "gpt-4o-mini", 0.0), Decision::Disabled);
    }

    // Proves a 0.5 rate mirrors about half of uniform draws.
    #[test]
    fn half_rate_is_about_half() {
        let m = mirror(0.5);
        let n = (0..10_000)
            .filter(|_| {
                matches!(
                    decide(Some(&m), "gpt-4o-mini", fastrand::f64()),
                    Decision::Mirror { .. }
                )
            })
            .count();
        assert!((4_700..=5_300).contains(&n), "{n}");
    }
}
