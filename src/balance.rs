//! PyPar's `balance`: split `n` items into `p` nearly equal blocks.

use std::ops::Range;

/// The block of `0..n` that rank `rank` of `p` owns: blocks are contiguous, in rank
/// order, cover `0..n` exactly, and their sizes differ by at most one (the first `n % p`
/// blocks have one more item).
///
/// ```
/// assert_eq!(rspar::balance(10, 3, 0), 0..4);
/// assert_eq!(rspar::balance(10, 3, 1), 4..7);
/// assert_eq!(rspar::balance(10, 3, 2), 7..10);
/// assert_eq!(rspar::balance(2, 4, 3), 2..2); // more ranks than items: empty blocks
/// ```
///
/// # Panics
/// If `p == 0` or `rank >= p`: those are programming errors, not data.
pub fn balance(n: usize, p: usize, rank: usize) -> Range<usize> {
    assert!(p > 0 && rank < p, "balance: rank {rank} is not in 0..{p}");
    let (base, extra) = (n / p, n % p);
    let start = rank * base + rank.min(extra);
    let len = base + usize::from(rank < extra);
    start..start + len
}

#[cfg(test)]
mod tests {
    use super::balance;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn blocks_cover_everything_and_differ_by_at_most_one(n in 0usize..10_000, p in 1usize..200) {
            let blocks: Vec<_> = (0..p).map(|r| balance(n, p, r)).collect();
            prop_assert_eq!(blocks[0].start, 0);
            prop_assert_eq!(blocks[p - 1].end, n);
            for pair in blocks.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            let sizes: Vec<_> = blocks.iter().map(|b| b.len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1);
        }
    }
}
