//! Medians, and how far a median of launches can be trusted (bootstrap intervals).

/// Resamples per interval.
pub const RESAMPLES: usize = 2000;

/// The seed of the resampling: the same raw rows always give the same report.
const SEED: u64 = 0x5eed_2026;

/// The median of `values` (the mean of the middle two for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The central 95% of `statistic` over bootstrap resamples: each group of `groups` (one
/// value per launch) is resampled with replacement on its own, `statistic` is computed on
/// the resampled groups, and the 2.5% and 97.5% quantiles of the results are returned.
pub fn interval(groups: &[&[f64]], statistic: impl Fn(&[Vec<f64>]) -> f64) -> (f64, f64) {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut resampled: Vec<Vec<f64>> = groups.iter().map(|g| Vec::with_capacity(g.len())).collect();
    let mut results: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for (group, out) in groups.iter().zip(&mut resampled) {
                out.clear();
                out.extend((0..group.len()).map(|_| group[rng.usize(..group.len())]));
            }
            statistic(&resampled)
        })
        .collect();
    results.sort_by(f64::total_cmp);
    let at = |q: f64| results[(q * (RESAMPLES - 1) as f64).round() as usize];
    (at(0.025), at(0.975))
}

/// The 95% interval of `median(mine) / median(reference)`.
pub fn ratio_interval(mine: &[f64], reference: &[f64]) -> (f64, f64) {
    interval(&[mine, reference], |g| median(&g[0]) / median(&g[1]))
}

/// The 95% interval of `median(values)`.
pub fn median_interval(values: &[f64]) -> (f64, f64) {
    interval(&[values], |g| median(&g[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.5]), 7.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn steady_launches_have_a_point_interval() {
        assert_eq!(median_interval(&[2.0; 5]), (2.0, 2.0));
        assert_eq!(ratio_interval(&[3.0; 4], &[2.0; 3]), (1.5, 1.5));
    }

    #[test]
    fn a_noisy_interval_holds_the_median_within_the_values() {
        let values = [1.0, 1.2, 0.9, 1.5, 1.1, 3.0, 1.05];
        let (lo, hi) = median_interval(&values);
        assert!(0.9 <= lo && lo < median(&values), "{lo}");
        assert!(median(&values) < hi && hi <= 3.0, "{hi}");
        // Seeded: the same rows give the same interval.
        assert_eq!(median_interval(&values), (lo, hi));
        // The ratio's interval is around the ratio of the medians.
        let (lo, hi) = ratio_interval(&values, &[1.0, 1.0, 1.0]);
        assert!(lo <= median(&values) && median(&values) <= hi && lo < hi);
    }
}
