//! Sharding a seed campaign over machines: shard `K/N` owns the seeds with `seed % N == K`, so
//! the shards of one campaign are disjoint and together cover exactly the unsharded seeds.

use std::fmt;
use std::str::FromStr;

/// One shard of a campaign: the seeds `s` with `s % count == index`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which residue this shard owns (0-based, below `count`).
    pub index: u64,
    /// How many shards the campaign has.
    pub count: u64,
}

impl Shard {
    /// The whole campaign as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// A shard, or a sentence saying why `index`/`count` is not one.
    pub fn new(index: u64, count: u64) -> Result<Self, String> {
        if count == 0 {
            return Err("a shard count must be at least 1, as in --shard 0/4".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index}/{count} does not exist; with {count} shards the index runs from 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// True when this shard owns `seed`.
    pub fn owns(&self, seed: u64) -> bool {
        seed % self.count == self.index
    }

    /// The seeds this shard owns in `first..first + span` (`span: None`: up to and including
    /// `u64::MAX`), in increasing order. The range never wraps: seed `u64::MAX` is the last.
    pub fn seeds(&self, first: u64, span: Option<u64>) -> ShardSeeds {
        // One past the last seed, in u128 so that `u64::MAX` itself is in range.
        let end = span.map_or(1u128 << 64, |n| (first as u128 + n as u128).min(1 << 64));
        let skip = (self.index + self.count - first % self.count) % self.count;
        ShardSeeds {
            next: first.checked_add(skip).filter(|s| (*s as u128) < end),
            step: self.count,
            end,
            bounded: span.is_some(),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("cannot read shard `{s}`; write K/N, e.g. 0/4 for the first of 4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

/// The seeds of one shard in a range, in increasing order; also indexable by position.
#[derive(Clone, Debug)]
pub struct ShardSeeds {
    next: Option<u64>,
    step: u64,
    /// One past the last seed (at most 2^64).
    end: u128,
    bounded: bool,
}

impl ShardSeeds {
    /// The seed at position `i` of this sequence, if the range has one.
    pub fn nth_seed(&self, i: u64) -> Option<u64> {
        let first = self.next?;
        let seed = i
            .checked_mul(self.step)
            .and_then(|o| first.checked_add(o))?;
        ((seed as u128) < self.end).then_some(seed)
    }

    /// How many seeds the sequence holds, if the range is bounded.
    pub fn len_hint(&self) -> Option<u64> {
        if !self.bounded {
            return None;
        }
        Some(match self.next {
            Some(first) => {
                let n = (self.end - first as u128).div_ceil(self.step as u128);
                u64::try_from(n).unwrap_or(u64::MAX)
            }
            None => 0,
        })
    }
}

impl Iterator for ShardSeeds {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let seed = self.next?;
        self.next = seed
            .checked_add(self.step)
            .filter(|s| (*s as u128) < self.end);
        Some(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_a_range() {
        for first in [0u64, 1, 7, 10] {
            for count in 1..5u64 {
                let mut all: Vec<u64> = (0..count)
                    .flat_map(|k| Shard::new(k, count).unwrap().seeds(first, Some(23)))
                    .collect();
                all.sort();
                assert_eq!(all, (first..first + 23).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn the_last_seed_is_in_range_and_nothing_wraps() {
        let all = Shard::ALL;
        assert_eq!(all.seeds(u64::MAX, Some(1)).collect::<Vec<_>>(), [u64::MAX]);
        assert_eq!(all.seeds(u64::MAX, Some(1)).len_hint(), Some(1));
        assert_eq!(all.seeds(u64::MAX, None).collect::<Vec<_>>(), [u64::MAX]);
        assert_eq!(
            all.seeds(u64::MAX - 1, Some(5)).collect::<Vec<_>>(),
            [u64::MAX - 1, u64::MAX]
        );
        let s = Shard::new(1, 2).unwrap().seeds(u64::MAX - 3, None);
        assert_eq!(s.nth_seed(1), Some(u64::MAX));
        assert_eq!(s.nth_seed(2), None);
    }

    #[test]
    fn nth_seed_agrees_with_iteration_and_len() {
        let shard = Shard::new(2, 3).unwrap();
        let seeds = shard.seeds(4, Some(20));
        let listed: Vec<u64> = seeds.clone().collect();
        assert_eq!(listed, vec![5, 8, 11, 14, 17, 20, 23]);
        assert_eq!(seeds.len_hint(), Some(7));
        for (i, s) in listed.iter().enumerate() {
            assert_eq!(seeds.nth_seed(i as u64), Some(*s));
        }
        assert_eq!(seeds.nth_seed(7), None);
        assert_eq!(Shard::ALL.seeds(0, None).len_hint(), None);
    }

    #[test]
    fn bad_shards_are_explained() {
        assert_eq!("1/2".parse::<Shard>(), Ok(Shard { index: 1, count: 2 }));
        assert!("2/2".parse::<Shard>().unwrap_err().contains("0 to 1"));
        assert!("0/0".parse::<Shard>().unwrap_err().contains("at least 1"));
        assert!("x".parse::<Shard>().unwrap_err().contains("K/N"));
    }
}
