//! The write index the key-value checkers share: which write produced each value, and which
//! acknowledged writes a read or a final state must not fall behind.

use crate::history::{Call, Op, Phase};
use std::collections::BTreeMap;

/// Per key: every write by value, and the acknowledged writes in completion order.
#[derive(Debug, Default)]
pub(crate) struct KeyWrites {
    /// Value -> history index of its write's ok completion (`None` unless acknowledged).
    by_value: BTreeMap<u64, Option<usize>>,
    /// (completion index, running max of invoke index, call) of acknowledged writes.
    acked: Vec<(usize, usize, usize)>,
}

impl KeyWrites {
    /// True if the key has acknowledged writes.
    pub fn has_acked(&self) -> bool {
        !self.acked.is_empty()
    }

    /// Among writes acknowledged before history index `before`, the one invoked last, if any.
    pub fn latest_acked_before(&self, before: usize) -> Option<(usize, usize)> {
        let n = self.acked.partition_point(|(done, _, _)| *done < before);
        n.checked_sub(1).map(|i| (self.acked[i].1, self.acked[i].2))
    }

    /// True when reading `value` ignores an acknowledged write invoked at `newer_invoke`:
    /// the value's own write was acknowledged before that write began (or the key was empty).
    pub fn older_than(&self, value: Option<u64>, newer_invoke: usize) -> bool {
        match value {
            None => true,
            Some(v) => self
                .by_value
                .get(&v)
                .copied()
                .flatten()
                .is_some_and(|done| done < newer_invoke),
        }
    }
}

/// Indexes the writes of every key (failed writes are left out: they never took effect).
pub(crate) fn index_writes(calls: &[Call]) -> BTreeMap<u64, KeyWrites> {
    let mut keys: BTreeMap<u64, KeyWrites> = BTreeMap::new();
    for (i, c) in calls.iter().enumerate() {
        let (key, value) = match c.invoked {
            Op::Put { key, value } | Op::Cas { key, to: value, .. } => (key, value),
            _ => continue,
        };
        if c.outcome == Phase::Fail {
            continue;
        }
        let acked = (c.outcome == Phase::Ok)
            .then_some(c.complete_index)
            .flatten();
        let k = keys.entry(key).or_default();
        k.by_value.insert(value, acked);
        if let Some(done) = acked {
            k.acked.push((done, c.invoke_index, i));
        }
    }
    for k in keys.values_mut() {
        k.acked.sort_unstable();
        // Keep, at each position, the latest-invoked write acknowledged so far.
        let mut best: Option<(usize, usize)> = None;
        for entry in k.acked.iter_mut() {
            if best.is_none_or(|(inv, _)| entry.1 > inv) {
                best = Some((entry.1, entry.2));
            }
            let (inv, call) = best.unwrap_or((entry.1, entry.2));
            entry.1 = inv;
            entry.2 = call;
        }
    }
    keys
}

/// Successful reads as (call index, key, value read).
pub(crate) fn reads(calls: &[Call]) -> impl Iterator<Item = (usize, u64, Option<u64>)> + '_ {
    calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c.completed {
            Op::Get { key, value } if c.outcome == Phase::Ok => Some((i, key, value)),
            _ => None,
        })
}
