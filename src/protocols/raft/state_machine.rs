//! The replicated state machine: a key-value map that applies committed log entries in order.
//!
//! Every server applies the same committed entries in the same order, so every server holds
//! the same map. A client's write can reach the log twice (the network duplicates its request,
//! or two leaders both append it); write values are unique per write, so the map remembers each
//! write's result by value and applies it once, answering the copy with the first result.

use crate::protocols::kv::client::{KvOp, KvResult};
use std::collections::BTreeMap;

/// The key-value state machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvStateMachine {
    data: BTreeMap<u64, u64>,
    writes: BTreeMap<u64, KvResult>,
}

impl KvStateMachine {
    /// Applies `op` and returns what the client should be told.
    pub fn apply(&mut self, op: &KvOp) -> KvResult {
        match *op {
            KvOp::Get { key } => KvResult::Done(self.data.get(&key).copied()),
            KvOp::Put { key, value } => {
                if let Some(first) = self.writes.get(&value) {
                    return *first;
                }
                self.data.insert(key, value);
                self.remember(value, KvResult::Done(None))
            }
            KvOp::Cas { key, from, to } => {
                if let Some(first) = self.writes.get(&to) {
                    return *first;
                }
                if self.data.get(&key).copied() != from {
                    return self.remember(to, KvResult::CasMismatch);
                }
                self.data.insert(key, to);
                self.remember(to, KvResult::Done(None))
            }
        }
    }

    fn remember(&mut self, value: u64, result: KvResult) -> KvResult {
        self.writes.insert(value, result);
        result
    }

    /// The map, key by key.
    pub fn data(&self) -> &BTreeMap<u64, u64> {
        &self.data
    }

    /// Each write's result, by the value it wrote (a retried write is answered from here).
    pub fn writes(&self) -> &BTreeMap<u64, KvResult> {
        &self.writes
    }

    /// A state machine holding `data`, having applied the writes in `writes`.
    pub fn from_parts(data: BTreeMap<u64, u64>, writes: BTreeMap<u64, KvResult>) -> Self {
        KvStateMachine { data, writes }
    }

    /// Bytes it holds on the heap, roughly.
    pub fn heap_bytes(&self) -> u64 {
        (self.data.len() * 16 + self.writes.len() * 32) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicated_write_applies_once_and_repeats_its_result() {
        let mut sm = KvStateMachine::default();
        let put = KvOp::Put { key: 1, value: 10 };
        assert_eq!(sm.apply(&put), KvResult::Done(None));
        assert_eq!(
            sm.apply(&KvOp::Put { key: 1, value: 11 }),
            KvResult::Done(None)
        );
        // The copy of the first put must not bring 10 back.
        assert_eq!(sm.apply(&put), KvResult::Done(None));
        assert_eq!(sm.apply(&KvOp::Get { key: 1 }), KvResult::Done(Some(11)));
        let cas = KvOp::Cas {
            key: 1,
            from: Some(13),
            to: 12,
        };
        assert_eq!(sm.apply(&cas), KvResult::CasMismatch);
        sm.apply(&KvOp::Put { key: 1, value: 13 });
        // Its copy must not succeed later: a client told `fail` would see it take effect.
        assert_eq!(sm.apply(&cas), KvResult::CasMismatch);
        assert_eq!(sm.data().get(&1), Some(&13));
    }
}
