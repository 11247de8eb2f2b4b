//! The raw rows as observations that know where they were measured (run, round, the
//! alternated pair of launches, the pass within a launch), and the joins that turn them
//! into ratios of like with like: per pair of alternated launches (rspar's pass against
//! the C pass at the same place in its launch), or inside one launch (rspar against raw
//! MPI calls moments apart).

use std::collections::BTreeMap;

use super::stats::Blocks;

/// One measured value.
#[derive(Clone, Debug, PartialEq)]
pub struct Obs {
    /// Which whole run of the bench (the raw file's place on the command line).
    pub run: usize,
    /// The round within the run.
    pub round: u32,
    /// The alternated pair of launches within the round (or the pool's pair, or 0).
    pub pair: u32,
    /// The pass within the launch at this benchmark and size: 0 for the first time the
    /// launch timed this size, 1 for the second, ...
    pub slot: u32,
    /// `c`, `rspar`, `rsmpi`, a ping-pong mode, `python`, ...
    pub implementation: String,
    /// `pingpong`, `broadcast`, `fib_n1`, ...
    pub bench: String,
    /// Message size in bytes (0 where none).
    pub size: u64,
    /// Microseconds, seconds or tasks per second, as the benchmark prints.
    pub value: f64,
}

/// (implementation, benchmark, size): one series of values.
pub type Series<'a> = (&'a str, &'a str, u64);

/// Where one launch's value lies: (run, round, pair).
pub type Key = (usize, u32, u32);

/// Values of a join, one per place.
pub type Joined = BTreeMap<Key, f64>;

/// Parse rows of one run: `round,pair,slot,implementation,benchmark,size,value` (what
/// `scripts/bench.sh` writes), or the older `round,implementation,benchmark,size,value`
/// (the other scripts', and raw files of earlier runs): there the n-th value of a series
/// in a round gets pair n and slot 0, so earlier files pair launches in their order.
pub fn parse(text: &str, run: usize) -> Result<Vec<Obs>, String> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<(u32, String, String, u64), u32> = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let bad = || {
            format!(
                "line {}: expected round,pair,slot,impl,bench,size,value \
                 (or round,impl,bench,size,value): {line}",
                number + 1
            )
        };
        let int = |s: &str| s.parse::<u32>().map_err(|_| bad());
        let (round, placed, rest) = match fields.len() {
            7 => (
                int(fields[0])?,
                Some((int(fields[1])?, int(fields[2])?)),
                &fields[3..],
            ),
            5 => (int(fields[0])?, None, &fields[1..]),
            _ => return Err(bad()),
        };
        let size: u64 = rest[2].parse().map_err(|_| bad())?;
        let value: f64 = rest[3].parse().map_err(|_| bad())?;
        let (pair, slot) = placed.unwrap_or_else(|| {
            let n = seen
                .entry((round, rest[0].into(), rest[1].into(), size))
                .or_default();
            *n += 1;
            (*n, 0)
        });
        out.push(Obs {
            run,
            round,
            pair,
            slot,
            implementation: rest[0].into(),
            bench: rest[1].into(),
            size,
            value,
        });
    }
    Ok(out)
}

fn of<'o>(obs: &'o [Obs], s: Series<'o>) -> impl Iterator<Item = &'o Obs> + 'o {
    obs.iter()
        .filter(move |o| o.implementation == s.0 && o.bench == s.1 && o.size == s.2)
}

/// A series' own values by round.
pub fn values(obs: &[Obs], s: Series<'_>) -> Blocks {
    let mut blocks = Blocks::new();
    for o in of(obs, s) {
        blocks.entry((o.run, o.round)).or_default().push(o.value);
    }
    blocks
}

/// `f(a, b)` for every launch of `a` with a value of `b` at the same place: the same
/// pair and, `by_slot`, the same pass within its launch (C's pass at the place rspar's
/// mode had in its own launch); without, `b`'s first value of that pair (a value of the
/// same launch, or the pool's run of the same pair).
pub fn join(
    obs: &[Obs],
    a: Series<'_>,
    b: Series<'_>,
    by_slot: bool,
    f: impl Fn(f64, f64) -> f64,
) -> Joined {
    let mut other: BTreeMap<(Key, u32), f64> = BTreeMap::new();
    for o in of(obs, b) {
        let slot = if by_slot { o.slot } else { 0 };
        other
            .entry(((o.run, o.round, o.pair), slot))
            .or_insert(o.value);
    }
    let mut out = Joined::new();
    for o in of(obs, a) {
        let key = (o.run, o.round, o.pair);
        let slot = if by_slot { o.slot } else { 0 };
        if let Some(&theirs) = other.get(&(key, slot)) {
            out.insert(key, f(o.value, theirs));
        }
    }
    out
}

/// `f(a, b)` where two joins have a value at the same place.
pub fn combine(a: &Joined, b: &Joined, f: impl Fn(f64, f64) -> f64) -> Joined {
    a.iter()
        .filter_map(|(k, &x)| b.get(k).map(|&y| (*k, f(x, y))))
        .collect()
}

/// A join's values by round.
pub fn by_round(joined: &Joined) -> Blocks {
    let mut blocks = Blocks::new();
    for (&(run, round, _), &v) in joined {
        blocks.entry((run, round)).or_default().push(v);
    }
    blocks
}

/// The sizes a series' implementation and benchmark ran at.
pub fn sizes(obs: &[Obs], implementation: &str, bench: &str) -> Vec<u64> {
    let mut s: Vec<u64> = obs
        .iter()
        .filter(|o| o.implementation == implementation && o.bench == bench)
        .map(|o| o.size)
        .collect();
    s.sort_unstable();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_row_forms() {
        let text = "1,2,1,c,pingpong,8,0.2\n\n1,rspar,fib_n1,0,2.5\n1,rspar,fib_n1,0,2.6\n";
        let obs = parse(text, 3).unwrap();
        assert_eq!(obs.len(), 3);
        assert_eq!(
            (obs[0].run, obs[0].round, obs[0].pair, obs[0].slot),
            (3, 1, 2, 1)
        );
        assert_eq!(obs[0].implementation, "c");
        // The older form: the n-th value of a series in a round is pair n.
        assert_eq!((obs[1].pair, obs[2].pair, obs[2].slot), (1, 2, 0));
        for (text, line) in [
            ("1,c,pingpong,eight,0.2\n", "line 1:"),
            ("1,c,pingpong,8,0.2\n1,c,pingpong,8\n", "line 2:"),
            ("1,c,pingpong,8,fast\n", "line 1:"),
            ("1,c,pingpong,8,0.2,9\n", "line 1:"),
            ("1,x,0,c,pingpong,8,0.2\n", "line 1:"),
        ] {
            let err = parse(text, 0).unwrap_err();
            assert!(err.starts_with(line), "{text:?}: {err}");
        }
    }

    #[test]
    fn joins_match_the_pass_or_the_launch() {
        // Pair 1: C timed 8 B twice (slots 0 and 1); rspar's buffer mode ran second in
        // its launch (slot 1), raw MPI first.
        let text = "1,1,0,c,pingpong,8,1.0\n1,1,1,c,pingpong,8,2.0\n\
                    1,1,0,rsmpi,pingpong,8,1.5\n1,1,1,buffer-u8,pingpong,8,3.0\n\
                    1,2,0,buffer-u8,pingpong,8,9.0\n";
        let obs = parse(text, 0).unwrap();
        let ratio = |a, b| a / b;
        let vs_c = join(
            &obs,
            ("buffer-u8", "pingpong", 8),
            ("c", "pingpong", 8),
            true,
            ratio,
        );
        assert_eq!(
            vs_c,
            Joined::from([((0, 1, 1), 1.5)]),
            "pair 2 has no C launch"
        );
        let in_launch = join(
            &obs,
            ("buffer-u8", "pingpong", 8),
            ("rsmpi", "pingpong", 8),
            false,
            ratio,
        );
        assert_eq!(in_launch, Joined::from([((0, 1, 1), 2.0)]));
        let both = combine(&vs_c, &in_launch, |a, b| a * b);
        assert_eq!(both, Joined::from([((0, 1, 1), 3.0)]));
        assert_eq!(by_round(&both), Blocks::from([((0, 1), vec![3.0])]));
        assert_eq!(
            values(&obs, ("buffer-u8", "pingpong", 8)),
            Blocks::from([((0, 1), vec![3.0, 9.0])])
        );
        assert_eq!(sizes(&obs, "c", "pingpong"), [8]);
    }
}
