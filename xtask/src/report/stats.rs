//! Medians, and how far a median can be trusted: bootstrap intervals. The benchmark
//! report resamples whole rounds ([`estimate`]): a round's launches share the machine's
//! state of that moment, so they are not independent draws, and resampling them one by
//! one would give intervals far narrower than a second run of the bench shows.

use std::collections::BTreeMap;

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

/// The 2.5% and 97.5% quantiles of sorted bootstrap results.
fn central_95(mut results: Vec<f64>) -> (f64, f64) {
    results.sort_by(f64::total_cmp);
    let at = |q: f64| results[(q * (results.len() - 1) as f64).round() as usize];
    (at(0.025), at(0.975))
}

/// The central 95% of `statistic` over bootstrap resamples: each group of `groups` (one
/// value per launch) is resampled with replacement on its own, `statistic` is computed on
/// the resampled groups, and the 2.5% and 97.5% quantiles of the results are returned.
/// (Launches resampled one by one: `ulfm-report`'s; the benchmark report uses
/// [`estimate`].)
pub fn interval(groups: &[&[f64]], statistic: impl Fn(&[Vec<f64>]) -> f64) -> (f64, f64) {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut resampled: Vec<Vec<f64>> = groups.iter().map(|g| Vec::with_capacity(g.len())).collect();
    let results: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for (group, out) in groups.iter().zip(&mut resampled) {
                out.clear();
                out.extend((0..group.len()).map(|_| group[rng.usize(..group.len())]));
            }
            statistic(&resampled)
        })
        .collect();
    central_95(results)
}

/// The 95% interval of `median(mine) / median(reference)`, launches resampled one by one.
pub fn ratio_interval(mine: &[f64], reference: &[f64]) -> (f64, f64) {
    interval(&[mine, reference], |g| median(&g[0]) / median(&g[1]))
}

/// The 95% interval of `median(values)`, launches resampled one by one.
pub fn median_interval(values: &[f64]) -> (f64, f64) {
    interval(&[values], |g| median(&g[0]))
}

/// Where a value was measured: (run of the bench, round within the run). The unit the
/// bootstrap resamples.
pub type Block = (usize, u32);

/// Values (ratios of alternated pairs, or one side's own values) by the round they
/// come from.
pub type Blocks = BTreeMap<Block, Vec<f64>>;

/// One figure of the report: the median of every value, its 95% interval from
/// resampling whole rounds, and each run's own median.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The median over every value of every round of every run.
    pub value: f64,
    /// The central 95% of the median over resamples of whole rounds (each run's rounds
    /// resampled among themselves).
    pub interval: (f64, f64),
    /// The median of each run on its own, in run order.
    pub runs: Vec<f64>,
    /// How many values.
    pub count: usize,
}

impl Estimate {
    /// The range of the runs' own medians: how far one whole run of the bench moved the
    /// figure from another. `None` with fewer than two runs.
    pub fn spread(&self) -> Option<(f64, f64)> {
        (self.runs.len() >= 2).then(|| {
            let lo = self.runs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = self.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        })
    }

    /// The same figure through a monotonic map `f` (a time turned into a bandwidth, a
    /// speedup into a share of 2): the interval and spread keep their order.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Estimate {
        let (a, b) = (f(self.interval.0), f(self.interval.1));
        Estimate {
            value: f(self.value),
            interval: (a.min(b), a.max(b)),
            runs: self.runs.iter().map(|&x| f(x)).collect(),
            count: self.count,
        }
    }
}

/// The median of `blocks`' values, its 95% interval from a block bootstrap over rounds
/// (in each resample every run draws as many of its own rounds, with replacement, as it
/// has; the median of the values of the rounds drawn), and each run's median. `None`
/// without values.
pub fn estimate(blocks: &Blocks) -> Option<Estimate> {
    let all: Vec<f64> = blocks.values().flatten().copied().collect();
    if all.is_empty() {
        return None;
    }
    // The rounds of each run.
    let mut runs: BTreeMap<usize, Vec<&[f64]>> = BTreeMap::new();
    for (&(run, _), values) in blocks {
        if !values.is_empty() {
            runs.entry(run).or_default().push(values);
        }
    }
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut pooled = Vec::with_capacity(all.len() * 2);
    let results: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            pooled.clear();
            for rounds in runs.values() {
                for _ in 0..rounds.len() {
                    pooled.extend_from_slice(rounds[rng.usize(..rounds.len())]);
                }
            }
            median(&pooled)
        })
        .collect();
    Some(Estimate {
        value: median(&all),
        interval: central_95(results),
        runs: runs
            .values()
            .map(|rounds| median(&rounds.concat()))
            .collect(),
        count: all.len(),
    })
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

    fn blocks(rows: &[(usize, u32, &[f64])]) -> Blocks {
        rows.iter()
            .map(|&(run, round, v)| ((run, round), v.to_vec()))
            .collect()
    }

    #[test]
    fn an_estimate_is_the_median_of_every_value_and_of_each_run() {
        let b = blocks(&[
            (0, 1, &[1.0, 1.1]),
            (0, 2, &[1.2]),
            (1, 1, &[2.0, 2.1]),
            (1, 2, &[1.9]),
        ]);
        let e = estimate(&b).unwrap();
        assert_eq!(e.value, (1.2 + 1.9) / 2.0);
        assert_eq!(e.runs, [1.1, 2.0]);
        assert_eq!(e.count, 6);
        assert_eq!(e.spread(), Some((1.1, 2.0)));
        assert!(estimate(&Blocks::new()).is_none());
        // One run: no spread to state.
        let one = estimate(&blocks(&[(0, 1, &[1.0]), (0, 2, &[3.0])])).unwrap();
        assert_eq!(one.spread(), None);
        assert_eq!(one.runs, [2.0]);
    }

    #[test]
    fn steady_rounds_give_a_point_interval() {
        let b = blocks(&[(0, 1, &[1.5, 1.5]), (0, 2, &[1.5]), (0, 3, &[1.5])]);
        assert_eq!(estimate(&b).unwrap().interval, (1.5, 1.5));
    }

    #[test]
    fn rounds_are_resampled_whole() {
        // Three rounds, each steady inside (many launches alike) but each at its own
        // level: resampling launches one by one would see 30 near-equal values per
        // level and a narrow interval; resampling rounds sees three values, and an
        // interval that reaches towards the outer rounds.
        let b = blocks(&[(0, 1, &[1.0; 30]), (0, 2, &[1.1; 30]), (0, 3, &[1.3; 30])]);
        let e = estimate(&b).unwrap();
        assert_eq!(e.value, 1.1);
        assert_eq!(e.interval, (1.0, 1.3));
        let all: Vec<f64> = b.values().flatten().copied().collect();
        let (lo, hi) = median_interval(&all);
        assert_eq!((lo, hi), (1.1, 1.1), "launch by launch: too narrow");
        // Seeded: the same rows give the same interval.
        assert_eq!(estimate(&b).unwrap(), e);
    }

    #[test]
    fn each_run_draws_from_its_own_rounds() {
        // Run 0 all at 1, run 1 all at 2, equal sizes: every resample holds both runs
        // in equal parts, so the median never leaves the middle.
        let b = blocks(&[
            (0, 1, &[1.0]),
            (0, 2, &[1.0]),
            (1, 1, &[2.0]),
            (1, 2, &[2.0]),
        ]);
        let e = estimate(&b).unwrap();
        assert_eq!(e.interval, (1.5, 1.5));
        assert_eq!(e.spread(), Some((1.0, 2.0)));
    }

    #[test]
    fn a_mapped_estimate_keeps_its_order() {
        let e = Estimate {
            value: 2.0,
            interval: (1.0, 4.0),
            runs: vec![1.5, 3.0],
            count: 3,
        };
        let m = e.map(|t| 8.0 / t);
        assert_eq!(m.value, 4.0);
        assert_eq!(m.interval, (2.0, 8.0));
        assert_eq!(m.runs, [8.0 / 1.5, 8.0 / 3.0]);
    }
}
