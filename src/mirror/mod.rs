//! Mirroring: deciding per request which shadows it is mirrored to (the sampling draw,
//! model mappings, rates; the in-flight cap and the spend guard are applied at launch),
//! running the shadow calls off the request path, and comparing answers.

pub mod compare;
mod dispatch;
pub mod guard;
mod sample;
mod shadow;

pub use dispatch::{Background, Launched, Mirrored, Mirroring, ShadowWait, launch};
pub use guard::SpendGuard;
pub use sample::{draw, key_draw};
pub(crate) use shadow::{CallInfo, call, shadow_row};
pub use shadow::{PrimaryOutcome, ShadowKind, is_json};

use crate::config::Mirror;

/// Why a request was or was not mirrored; stored as `requests.mirror_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Mirror to these shadows (those whose rate the draw fell under), in config order.
    Mirror { shadows: Vec<Sampled> },
    /// No `traffic_mirror` block, or `enabled: false`.
    Disabled,
    /// No shadow's `model_mapping` has the request's model.
    NoModelMapping,
    /// The draw was not below any mapped shadow's `sample_rate`.
    NotSampled,
}

/// A shadow a request is to be mirrored to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampled {
    /// Position in `Mirror::shadows` (and in the gateway's shadow providers).
    pub index: usize,
    /// The model asked of this shadow.
    pub shadow_model: String,
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

/// Decides which shadows a request for `model` is mirrored to; `draw` is the request's
/// one number in [0, 1), compared with every shadow's rate, so shadows with equal rates
/// see exactly the same requests and a lower rate sees a subset of a higher one.
pub fn decide(mirror: Option<&Mirror>, model: &str, draw: f64) -> Decision {
    let Some(m) = mirror else {
        return Decision::Disabled;
    };
    let mut mapped = false;
    let mut shadows = Vec::new();
    for (index, spec) in m.shadows.iter().enumerate() {
        let Some(shadow_model) = spec.shadow_model_for(model) else {
            continue;
        };
        mapped = true;
        // `<` so that 0.0 never mirrors and 1.0 always does.
        if draw < spec.sample_rate {
            shadows.push(Sampled {
                index,
                shadow_model: shadow_model.to_string(),
            });
        }
    }
    match (mapped, shadows.is_empty()) {
        (false, _) => Decision::NoModelMapping,
        (true, true) => Decision::NotSampled,
        (true, false) => Decision::Mirror { shadows },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CompareMetric, ShadowSpec};

    fn spec(target: &str, shadow_model: &str, rate: f64) -> ShadowSpec {
        ShadowSpec {
            target: target.into(),
            model_mapping: vec![("gpt-4o-mini".into(), shadow_model.into())],
            sample_rate: rate,
        }
    }

    fn mirror(shadows: Vec<ShadowSpec>) -> Mirror {
        Mirror {
            primary: "p".into(),
            shadows,
            sample_by: None,
            asynchronous: true,
            log_shadow_response: false,
            compare_metrics: vec![CompareMetric::Latency],
            timeout_ms: 1000,
            max_in_flight: 1,
            noise_floor_rate: 0.0,
            spend_guard: None,
            semantic: None,
            judge: None,
        }
    }

    fn sampled(index: usize, model: &str) -> Sampled {
        Sampled {
            index,
            shadow_model: model.into(),
        }
    }

    // Proves the rate bounds: 0 never mirrors, 1 always does, and mapping is required.
    #[test]
    fn decision_bounds() {
        let zero = mirror(vec![spec("s", "claude", 0.0)]);
        let one = mirror(vec![spec("s", "claude", 1.0)]);
        assert_eq!(
            decide(Some(&zero), "gpt-4o-mini", 0.0),
            Decision::NotSampled
        );
        assert_eq!(
            decide(Some(&one), "gpt-4o-mini", 0.999_999),
            Decision::Mirror {
                shadows: vec![sampled(0, "claude")]
            }
        );
        assert_eq!(decide(Some(&one), "gpt-4o", 0.0), Decision::NoModelMapping);
        assert_eq!(decide(None, "gpt-4o-mini", 0.0), Decision::Disabled);
    }

    // Proves one draw serves every shadow: each shadow whose rate is above the draw is
    // chosen with its own model, a shadow without the model is skipped, and a lower rate
    // gets a subset of what a higher one gets.
    #[test]
    fn one_draw_picks_every_shadow_under_it() {
        let mut unmapped = spec("c", "x", 1.0);
        unmapped.model_mapping = vec![("gpt-4o".into(), "x".into())];
        let m = mirror(vec![
            spec("a", "claude", 0.5),
            unmapped,
            spec("b", "gemini", 0.2),
        ]);
        assert_eq!(
            decide(Some(&m), "gpt-4o-mini", 0.1),
            Decision::Mirror {
                shadows: vec![sampled(0, "claude"), sampled(2, "gemini")]
            }
        );
        assert_eq!(
            decide(Some(&m), "gpt-4o-mini", 0.3),
            Decision::Mirror {
                shadows: vec![sampled(0, "claude")]
            }
        );
        assert_eq!(decide(Some(&m), "gpt-4o-mini", 0.7), Decision::NotSampled);
        assert_eq!(
            decide(Some(&m), "gpt-4o", 0.9),
            Decision::Mirror {
                shadows: vec![sampled(1, "x")]
            }
        );
        assert_eq!(decide(Some(&m), "o3", 0.0), Decision::NoModelMapping);
    }

    // Proves a 0.5 rate mirrors about half of uniform draws.
    #[test]
    fn half_rate_is_about_half() {
        let m = mirror(vec![spec("s", "claude", 0.5)]);
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
