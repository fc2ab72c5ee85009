//! The statistics SQL cannot do well: bootstrap confidence intervals (resampling pairs with
//! a fixed seed, so the same database always gives the same report) and the Wilson score
//! interval for rates. Percentiles here use the same rule as `queries/` (`percentile_disc`).

/// Resamples per bootstrap interval.
pub const RESAMPLES: usize = 1000;

/// The bootstrap's seed: every interval starts a fresh generator from it, so an interval
/// depends only on its own values, never on what else the report computed.
pub const SEED: u64 = 0x6b74_5f6d_6972_726f;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified, so an interval
/// can be reproduced outside kt from the README's description.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An index in `0..n` (`n > 0`); the modulo bias is below 1e-13 for any realistic `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// 0-based position of the `fraction` quantile among `n > 0` ascending values:
/// `floor(fraction * (n - 1))`, computed in `f64` exactly as SQLite's `percentile_disc`
/// does, so Rust and `queries/` agree on every percentile (numpy's `method="lower"`).
pub fn lower_index(n: usize, fraction: f64) -> usize {
    ((fraction * n.saturating_sub(1) as f64) as usize).min(n.saturating_sub(1))
}

/// Percentile `p` (0..=100) of ascending `sorted` by the [`lower_index`] rule; `None`
/// when empty.
pub fn percentile_sorted(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    sorted
        .get(lower_index(sorted.len(), p as f64 / 100.0))
        .copied()
}

/// Percentile `p` of unordered values by the [`lower_index`] rule, reordering them
/// (linear time).
pub fn percentile(values: &mut [f64], p: usize) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let k = lower_index(values.len(), p as f64 / 100.0);
    let (_, v, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    Some(*v)
}

/// Arithmetic mean; `None` when empty.
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Largest resample drawn: above it the bootstrap draws `m = MAX_RESAMPLE` of the `n`
/// items (an m-out-of-n bootstrap) and rescales the interval, so a report over a million
/// pairs costs what one over five thousand does.
pub const MAX_RESAMPLE: usize = 5_000;

/// Percentile bootstrap 95% interval of a statistic over `n` items: draws [`RESAMPLES`]
/// resamples of `m = min(n, MAX_RESAMPLE)` indices with replacement (index =
/// `next_u64() % n` from a [`SplitMix64`] seeded with [`SEED`]), evaluates `stat` on each,
/// and takes the 2.5th and 97.5th percentiles of the results ([`lower_index`] rule). When `m < n`
/// each bound `q` is pulled towards the full-sample statistic `t` as
/// `t + (q - t) * sqrt(m / n)`: a statistic's spread shrinks like `1/sqrt(size)`, so this
/// turns the spread of size-m resamples into that of size-n ones (the m-out-of-n
/// bootstrap). Resamples where `stat` is undefined (`None` or not finite) are skipped;
/// `None` when `n` is 0 or none was defined.
pub fn bootstrap_ci<F>(n: usize, mut stat: F) -> Option<[f64; 2]>
where
    F: FnMut(&[usize]) -> Option<f64>,
{
    if n == 0 {
        return None;
    }
    let m = n.min(MAX_RESAMPLE);
    let mut rng = SplitMix64::new(SEED);
    let mut idx = vec![0usize; m];
    let mut stats = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for i in &mut idx {
            *i = rng.below(n);
        }
        if let Some(s) = stat(&idx).filter(|s| s.is_finite()) {
            stats.push(s);
        }
    }
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let k = stats.len();
    let (lo, hi) = (stats[lower_index(k, 0.025)], stats[lower_index(k, 0.975)]);
    if m == n {
        return Some([lo, hi]);
    }
    let all: Vec<usize> = (0..n).collect();
    let t = stat(&all).filter(|t| t.is_finite())?;
    let scale = (m as f64 / n as f64).sqrt();
    Some([t + (lo - t) * scale, t + (hi - t) * scale])
}

/// Bootstrap interval of the mean of `values`.
pub fn mean_ci(values: &[f64]) -> Option<[f64; 2]> {
    bootstrap_ci(values.len(), |idx| mean(idx.iter().map(|&i| values[i])))
}

/// Bootstrap interval of `(mean(b) / mean(a) - 1) * 100` over paired values: the percent
/// change from `a` to `b` (undefined when mean(a) is 0).
pub fn mean_change_pct_ci(a: &[f64], b: &[f64]) -> Option<[f64; 2]> {
    let n = a.len().min(b.len());
    bootstrap_ci(n, |idx| {
        let ma = mean(idx.iter().map(|&i| a[i]))?;
        let mb = mean(idx.iter().map(|&i| b[i]))?;
        change_pct(ma, mb)
    })
}

/// Bootstrap interval of `(p50(b) / p50(a) - 1) * 100` over paired values (same percentile rule
/// medians of the same resampled pairs).
pub fn median_change_pct_ci(a: &[f64], b: &[f64]) -> Option<[f64; 2]> {
    let n = a.len().min(b.len());
    let mut ra = Vec::with_capacity(n);
    let mut rb = Vec::with_capacity(n);
    bootstrap_ci(n, |idx| {
        ra.clear();
        rb.clear();
        ra.extend(idx.iter().map(|&i| a[i]));
        rb.extend(idx.iter().map(|&i| b[i]));
        change_pct(percentile(&mut ra, 50)?, percentile(&mut rb, 50)?)
    })
}

/// `(to / from - 1) * 100`; `None` when `from` is 0.
pub fn change_pct(from: f64, to: f64) -> Option<f64> {
    (from != 0.0).then(|| (to / from - 1.0) * 100.0)
}

/// Wilson score 95% interval of a proportion `k / n` (z = 1.959964); unlike a bootstrap it
/// stays informative at 0 or n successes. `None` when `n` is 0.
pub fn wilson_ci(k: u64, n: u64) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let z = 1.959_964_f64;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some([(center - half).max(0.0), (center + half).min(1.0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the percentile rule is floor(p * (n - 1)) (SQLite's percentile_disc),
    // including tiny samples and the fractions whose product is not exact in binary.
    #[test]
    fn lower_rule_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 50), Some(5.0));
        assert_eq!(percentile_sorted(&v, 90), Some(9.0));
        assert_eq!(percentile_sorted(&v, 99), Some(9.0));
        assert_eq!(percentile_sorted(&v, 100), Some(10.0));
        assert_eq!(percentile_sorted(&v, 10), Some(1.0));
        assert_eq!(percentile_sorted(&v, 0), Some(1.0));
        assert_eq!(percentile_sorted(&[7.0], 99), Some(7.0));
        assert_eq!(percentile_sorted(&[], 50), None);
        assert_eq!(lower_index(1000, 0.025), 24);
        assert_eq!(lower_index(1000, 0.975), 974);
        for n in 1..40usize {
            let sorted: Vec<f64> = (0..n).map(|i| i as f64 * 3.0).collect();
            for p in [1, 10, 25, 50, 90, 99, 100] {
                let k = (p * (n - 1)) / 100;
                assert_eq!(percentile_sorted(&sorted, p), Some(sorted[k]), "{n} {p}");
                let mut shuffled: Vec<f64> = sorted.iter().rev().copied().collect();
                assert_eq!(percentile(&mut shuffled, p), Some(sorted[k]));
            }
        }
    }

    // Proves SplitMix64 is the published generator (reference outputs for seed 0).
    #[test]
    fn splitmix64_reference_values() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    // Proves the bootstrap is deterministic, brackets the mean, and collapses on constant data.
    #[test]
    fn bootstrap_mean_interval() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 17) / 16.0).collect();
        let m = mean(values.iter().copied()).unwrap();
        let ci = mean_ci(&values).unwrap();
        assert_eq!(Some(ci), mean_ci(&values), "same data, same interval");
        assert!(ci[0] < m && m < ci[1], "{ci:?} around {m}");
        // The standard error of this mean is about 0.022; a 95% interval spans ~4 of them.
        let width = ci[1] - ci[0];
        assert!(width > 0.05 && width < 0.12, "{width}");
        assert_eq!(mean_ci(&[0.5; 30]), Some([0.5, 0.5]));
        assert_eq!(mean_ci(&[]), None);
    }

    // Proves the paired change intervals bracket the point change and skip undefined resamples.
    #[test]
    fn bootstrap_change_intervals() {
        let a: Vec<f64> = (0..100).map(|i| 100.0 + f64::from(i % 10)).collect();
        let b: Vec<f64> = a.iter().map(|x| x * 1.2).collect();
        let ci = mean_change_pct_ci(&a, &b).unwrap();
        assert!(
            (ci[0] - 20.0).abs() < 1e-9 && (ci[1] - 20.0).abs() < 1e-9,
            "{ci:?}"
        );
        let ci = median_change_pct_ci(&a, &b).unwrap();
        assert!(
            (ci[0] - 20.0).abs() < 1e-9 && (ci[1] - 20.0).abs() < 1e-9,
            "{ci:?}"
        );
        assert_eq!(mean_change_pct_ci(&[0.0, 0.0], &[1.0, 2.0]), None);
    }

    // Proves the Wilson interval against published values and its edge cases.
    #[test]
    fn wilson_interval() {
        // 10 of 100: 0.0552 .. 0.1744 (Wilson 1927; e.g. Newcombe 1998, table I).
        let [lo, hi] = wilson_ci(10, 100).unwrap();
        assert!(
            (lo - 0.0552).abs() < 1e-4 && (hi - 0.1744).abs() < 1e-4,
            "{lo} {hi}"
        );
        let [lo, hi] = wilson_ci(0, 50).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0714).abs() < 1e-4, "{hi}");
        assert_eq!(wilson_ci(0, 0), None);
    }

    // Proves the m-out-of-n rescaling gives the interval a full bootstrap (and the normal
    // approximation) would for a large sample: the mean of 200k values of known spread.
    #[test]
    fn large_samples_use_a_rescaled_subsample_bootstrap() {
        let mut rng = SplitMix64::new(42);
        let values: Vec<f64> = (0..200_000)
            .map(|_| (rng.below(1001) as f64) / 10.0)
            .collect();
        let [lo, hi] = mean_ci(&values).unwrap();
        let m = mean(values.iter().copied()).unwrap();
        let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
        let half = 1.96 * sd / (values.len() as f64).sqrt();
        assert!(lo < m && m < hi, "{lo} {m} {hi}");
        assert!(
            ((hi - lo) / 2.0 - half).abs() < 0.2 * half,
            "half-width {} vs {half}",
            (hi - lo) / 2.0
        );
    }
}
