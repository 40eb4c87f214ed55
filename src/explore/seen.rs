//! The exhaustive search's seen-set: each distinct state's parent, step and the place where the
//! breadth-first search first met it, by fingerprint. It is split in shards, each behind its
//! own lock, so every worker records the states it finds while it expands; where two workers
//! meet one state, the earlier place in breadth-first order wins, so what is recorded is what
//! one thread would record, whatever the number of threads.

use crate::sim::Step;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Where the search first met a state: its parent's place in breadth-first order (1 for the
/// root's children) and the choice's place among its parent's. Smaller is earlier.
pub(crate) type Order = (u64, u32);

/// The root's place: before every other state's.
pub(crate) const ROOT: Order = (0, 0);

/// Shards of the set: enough that two workers rarely want one lock at once.
const SHARDS: usize = 64;

/// Hashes a fingerprint as itself: fingerprints are already mixed (`Sim::fingerprint`), so
/// SipHash over them is spent for nothing.
#[derive(Default)]
pub(crate) struct PrintHasher(u64);

impl std::hash::Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// One state's record: how it was first reached.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The parent's fingerprint (the root's own, for the root).
    pub parent: u64,
    /// The step from the parent.
    pub step: Step,
    /// Where it was met.
    pub order: Order,
}

type Shard = HashMap<u64, Entry, std::hash::BuildHasherDefault<PrintHasher>>;

/// The states met so far, by fingerprint. Only looked up, never iterated: no order of a hash
/// table reaches a result.
pub(crate) struct Seen {
    shards: Box<[Mutex<Shard>]>,
}

/// Bytes one entry costs: its fingerprint and record and a control byte, twice over for the
/// room a hash table keeps free after it doubles.
pub(crate) const ENTRY_BYTES: u64 = 2 * (std::mem::size_of::<(u64, Entry)>() as u64 + 1);

impl Seen {
    /// A set holding the root, whose fingerprint is `root`.
    pub fn new(root: u64) -> Self {
        let seen = Seen {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        };
        seen.shard(root).insert(
            root,
            Entry {
                parent: root,
                step: Step::Run(u64::MAX),
                order: ROOT,
            },
        );
        seen
    }

    /// The shard holding `print`, locked. The shard is chosen by middle bits: the table inside
    /// uses the low bits for its buckets and the top ones for its tags.
    fn shard(&self, print: u64) -> MutexGuard<'_, Shard> {
        self.shards[((print >> 32) as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `print` was reached from `parent` by `step` at `order`, unless it was met
    /// at an earlier place; true when recorded (the state may still lose to an earlier place
    /// recorded later by another worker: `first` says, once every worker is done).
    pub fn claim(&self, print: u64, parent: u64, step: &Step, order: Order) -> bool {
        let mut shard = self.shard(print);
        match shard.entry(print) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Entry {
                    parent,
                    step: step.clone(),
                    order,
                });
                true
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if o.get().order <= order {
                    return false;
                }
                o.insert(Entry {
                    parent,
                    step: step.clone(),
                    order,
                });
                true
            }
        }
    }

    /// Where `print` was first met, if it was.
    pub fn first(&self, print: u64) -> Option<Order> {
        self.shard(print).get(&print).map(|e| e.order)
    }

    /// How `print` was first reached, if it was.
    pub fn get(&self, print: u64) -> Option<(u64, Step)> {
        self.shard(print)
            .get(&print)
            .map(|e| (e.parent, e.step.clone()))
    }

    /// The steps from the root to the state with fingerprint `print`.
    pub fn path_to(&self, mut print: u64) -> Vec<Step> {
        let mut path = Vec::new();
        while let Some((parent, step)) = self.get(print) {
            if parent == print {
                break;
            }
            path.push(step);
            print = parent;
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_place_wins_in_any_order_of_claims() {
        let seen = Seen::new(1);
        let late = (3, 0);
        let early = (2, 5);
        assert!(seen.claim(7, 1, &Step::Run(1), late));
        assert!(seen.claim(7, 1, &Step::Run(2), early));
        assert!(!seen.claim(7, 1, &Step::Run(3), late));
        assert_eq!(seen.first(7), Some(early));
        assert_eq!(seen.get(7), Some((1, Step::Run(2))));
        // The root is met before everything.
        assert!(!seen.claim(1, 7, &Step::Run(4), (1, 0)));
        assert_eq!(seen.path_to(7), vec![Step::Run(2)]);
        assert_eq!(seen.path_to(1), Vec::<Step>::new());
    }
}
