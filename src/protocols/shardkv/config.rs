//! A configuration of the sharded store: which replica group serves each shard, numbered from 1
//! in the order the configuration service accepted them, and how a new one is drawn from the
//! last (6.5840's shard controller: even shares, as few moves as possible).
//!
//! A configuration fits in one word, so the configuration service is the shipped Raft
//! key-value store unchanged: configuration `n` is the value of key `n`, written once by a
//! compare-and-set from absent, which is what makes configurations one sequence.

use std::fmt;

/// The most shards a store may have (4 bits of a word each).
pub const MAX_SHARDS: usize = 10;

/// The most replica groups a store may have (a group number fits in 4 bits; 0 is none).
pub const MAX_GROUPS: usize = 15;

/// Bits of a configuration word that hold its number.
const NUM_SHIFT: u32 = 40;

/// One configuration: its number and the group serving each shard (0: none).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Config {
    /// 0 before the first configuration; then 1, 2, ...
    pub num: u64,
    /// Group of each shard, 1-based (0: no group serves it).
    pub shards: [u8; MAX_SHARDS],
}

impl Config {
    /// The configuration as one word: the number above 40 bits, a nibble per shard below.
    pub fn encode(&self) -> u64 {
        let mut w = self.num << NUM_SHIFT;
        for (i, g) in self.shards.iter().enumerate() {
            w |= u64::from(*g & 0xf) << (4 * i);
        }
        w
    }

    /// The configuration a word holds.
    pub fn decode(word: u64) -> Config {
        let mut shards = [0u8; MAX_SHARDS];
        for (i, g) in shards.iter_mut().enumerate() {
            *g = ((word >> (4 * i)) & 0xf) as u8;
        }
        Config {
            num: word >> NUM_SHIFT,
            shards,
        }
    }

    /// The groups that serve at least one shard, in order.
    pub fn groups(&self, nshards: usize) -> Vec<u8> {
        let mut g: Vec<u8> = self.shards[..nshards]
            .iter()
            .copied()
            .filter(|g| *g != 0)
            .collect();
        g.sort_unstable();
        g.dedup();
        g
    }

    /// The next configuration: the same shards moved as little as possible so that the groups
    /// in `groups` (1-based, any order) hold even shares, the lower group numbers taking the
    /// extra ones; a shard of a group not in `groups` always moves. No groups: no shard served.
    pub fn next(&self, nshards: usize, groups: &[u8]) -> Config {
        let mut gs: Vec<u8> = groups.to_vec();
        gs.sort_unstable();
        gs.dedup();
        let mut shards = self.shards;
        if gs.is_empty() {
            shards = [0; MAX_SHARDS];
            return Config {
                num: self.num + 1,
                shards,
            };
        }
        let mut pool: Vec<usize> = Vec::new();
        for (s, g) in shards.iter_mut().enumerate().take(nshards) {
            if !gs.contains(g) {
                *g = 0;
                pool.push(s);
            }
        }
        let count = |shards: &[u8; MAX_SHARDS], g: u8| {
            shards[..nshards].iter().filter(|x| **x == g).count()
        };
        // Targets: an even share each; the extra shards go to the groups holding most now
        // (fewest moves), ties to the lower group number.
        let (q, r) = (nshards / gs.len(), nshards % gs.len());
        let mut order = gs.clone();
        order.sort_by_key(|g| (std::cmp::Reverse(count(&shards, *g)), *g));
        let target = |g: u8| q + usize::from(order.iter().position(|x| *x == g) < Some(r));
        // Groups over their target give up their highest shards.
        for &g in &gs {
            let mut over = count(&shards, g).saturating_sub(target(g));
            for s in (0..nshards).rev() {
                if over == 0 {
                    break;
                }
                if shards[s] == g {
                    shards[s] = 0;
                    pool.push(s);
                    over -= 1;
                }
            }
        }
        pool.sort_unstable();
        let mut pool = pool.into_iter();
        for &g in &gs {
            for _ in count(&shards, g)..target(g) {
                if let Some(s) = pool.next() {
                    shards[s] = g;
                }
            }
        }
        Config {
            num: self.num + 1,
            shards,
        }
    }
}

/// `#3 [1 1 1 2 2 2 3 3 3 3]`: the number, then each shard's group (`-` for none).
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} [", self.num)?;
        for (i, g) in self.shards.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match g {
                0 => f.write_str("-")?,
                g => write!(f, "{g}")?,
            }
        }
        f.write_str("]")
    }
}

/// The shard a key belongs to.
pub fn shard_of(key: u64, nshards: usize) -> usize {
    (key % nshards.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &Config, n: usize, groups: &[u8]) -> Vec<usize> {
        groups
            .iter()
            .map(|g| c.shards[..n].iter().filter(|x| *x == g).count())
            .collect()
    }

    #[test]
    fn a_word_holds_a_configuration() {
        let c = Config {
            num: 77,
            shards: [1, 2, 3, 15, 0, 1, 2, 3, 4, 5],
        };
        assert_eq!(Config::decode(c.encode()), c);
        assert_eq!(format!("{c:?}"), "#77 [1 2 3 15 - 1 2 3 4 5]");
    }

    /// Brute force: for every sequence of group sets over up to 5 groups, each next
    /// configuration is balanced (shares differ by at most one), serves every shard, and
    /// moves no more shards than balance forces.
    #[test]
    fn shares_are_even_and_moves_minimal() {
        let n = MAX_SHARDS;
        let mut c = Config::default();
        let sets: Vec<Vec<u8>> = (1u32..32)
            .map(|m| {
                (0..5)
                    .filter(|i| m & (1 << i) != 0)
                    .map(|i| i + 1)
                    .collect()
            })
            .collect();
        for (step, set) in sets.iter().chain(sets.iter().rev()).enumerate() {
            let next = c.next(n, set);
            assert_eq!(next.num, c.num + 1);
            let k = counts(&next, n, set);
            assert_eq!(
                k.iter().sum::<usize>(),
                n,
                "step {step}: every shard served"
            );
            let (lo, hi) = (k.iter().min().unwrap(), k.iter().max().unwrap());
            assert!(hi - lo <= 1, "step {step}: shares {k:?}");
            // Least moves: a shard stays unless its group left or held more than its share.
            let q = n / set.len();
            let kept: usize = set
                .iter()
                .map(|g| c.shards[..n].iter().filter(|x| *x == g).count().min(q + 1))
                .sum();
            let moved = (0..n).filter(|s| c.shards[*s] != next.shards[*s]).count();
            assert!(moved <= n - kept + set.len(), "step {step}: {moved} moves");
            c = next;
        }
        assert_eq!(c.next(n, &[]).shards, [0; MAX_SHARDS]);
    }
}
