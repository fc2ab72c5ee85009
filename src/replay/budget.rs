//! The `--max-cost` cap: before each call a conservative estimate is reserved, and a call
//! is never started when what was spent, what is reserved for calls in flight and its own
//! estimate would together pass the cap; when the answer comes, its reservation is
//! replaced by its real cost.

use crate::config::ModelPrice;

/// Input tokens are counted by each provider's own tokenizer: the same prompt can cost a
/// candidate more tokens than the primary logged, so the estimate adds half again.
const INPUT_MARGIN: f64 = 1.5;
/// A candidate may answer at length: the estimate allows twice the primary's answer
/// (never more than the request's own output limit, which the provider enforces).
const OUTPUT_MARGIN: f64 = 2.0;
/// Output tokens assumed at least, so a terse primary answer does not estimate as free.
const MIN_OUTPUT_TOKENS: f64 = 16.0;
/// Characters per token assumed when a count was not logged (real text has about 4;
/// fewer makes the estimate larger).
const CHARS_PER_TOKEN: f64 = 2.0;

/// Estimated cost in USD of sending a request to a model priced `price`, from what the
/// primary logged: its input and output tokens (or the body's and answer's length when
/// unknown) and the request's output limit.
pub fn estimate_usd(
    price: &ModelPrice,
    input_tokens: Option<u64>,
    body_chars: u64,
    output_tokens: Option<u64>,
    answer_chars: u64,
    max_output_tokens: Option<u64>,
) -> f64 {
    let input = input_tokens.map_or(body_chars as f64 / CHARS_PER_TOKEN, |t| t as f64);
    let output = output_tokens.map_or(answer_chars as f64 / CHARS_PER_TOKEN, |t| t as f64);
    let mut output = (output * OUTPUT_MARGIN).max(MIN_OUTPUT_TOKENS);
    if let Some(limit) = max_output_tokens {
        output = output.min(limit as f64);
    }
    cost_usd(price, input * INPUT_MARGIN, output)
}

/// What `input` and `output` tokens cost at `price` (USD per million tokens).
pub fn cost_usd(price: &ModelPrice, input: f64, output: f64) -> f64 {
    (input * price.input_per_mtok + output * price.output_per_mtok) / 1e6
}

/// Spend against the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// `--max-cost`, USD.
    pub cap: f64,
    /// Real cost of the answered calls.
    pub spent: f64,
    /// Estimates held for calls in flight.
    pub reserved: f64,
}

impl Budget {
    pub fn new(cap: f64) -> Self {
        Self {
            cap,
            spent: 0.0,
            reserved: 0.0,
        }
    }

    /// Reserves `estimate` for a call about to start; false (nothing reserved) when the
    /// call could take the spend past the cap.
    pub fn try_reserve(&mut self, estimate: f64) -> bool {
        if self.spent + self.reserved + estimate > self.cap {
            return false;
        }
        self.reserved += estimate;
        true
    }

    /// A call reserved with `estimate` finished and cost `actual`.
    pub fn settle(&mut self, estimate: f64, actual: f64) {
        // Clamped: float rounding must not leave a negative reservation behind.
        self.reserved = (self.reserved - estimate).max(0.0);
        self.spent += actual;
    }

    /// A call reserved with `estimate` never ran (cancelled).
    pub fn release(&mut self, estimate: f64) {
        self.reserved = (self.reserved - estimate).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICE: ModelPrice = ModelPrice {
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
    };

    // Proves the estimate adds the margins, bounds output by the request's limit, and
    // falls back to lengths when no token counts were logged.
    #[test]
    fn estimate_is_conservative_and_bounded() {
        let e = estimate_usd(&PRICE, Some(1000), 0, Some(100), 0, None);
        assert!(
            (e - (1500.0 * 3.0 + 200.0 * 15.0) / 1e6).abs() < 1e-12,
            "{e}"
        );
        let capped = estimate_usd(&PRICE, Some(1000), 0, Some(100), 0, Some(50));
        assert!((capped - (1500.0 * 3.0 + 50.0 * 15.0) / 1e6).abs() < 1e-12);
        let terse = estimate_usd(&PRICE, Some(0), 0, Some(0), 0, None);
        assert!((terse - 16.0 * 15.0 / 1e6).abs() < 1e-12);
        let unknown = estimate_usd(&PRICE, None, 400, None, 100, None);
        assert!((unknown - (300.0 * 3.0 + 100.0 * 15.0) / 1e6).abs() < 1e-12);
    }

    // Proves a call is refused when it could pass the cap, counting calls in flight, and
    // that settling swaps the reservation for the real cost.
    #[test]
    fn never_reserves_past_the_cap() {
        let mut b = Budget::new(1.0);
        assert!(b.try_reserve(0.4));
        assert!(b.try_reserve(0.4));
        assert!(!b.try_reserve(0.3), "0.8 reserved + 0.3 > 1.0");
        b.settle(0.4, 0.1);
        assert!(b.try_reserve(0.3));
        assert!((b.spent + b.reserved - 0.8).abs() < 1e-12);
        b.release(0.3);
        b.settle(0.4, 0.4);
        assert_eq!(b.reserved, 0.0);
        assert!((b.spent - 0.5).abs() < 1e-12);
        assert!(b.try_reserve(0.5), "exactly the cap is allowed");
        assert!(!b.try_reserve(1e-9));
    }
}
