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
