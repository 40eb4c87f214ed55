//! The fault atlas (TigerBeetle's VOPR plans storage faults so a correct cluster can always
//! recover): of the nodes that hold the same records (the nodes of one role), a drawn fault may
//! damage any one record on at most a minority, chosen per record by the key's hash, so a
//! majority always holds it intact. A fault a correct protocol cannot survive by design is never
//! drawn, and every failure under the atlas is a bug.

/// One node's plan: its place among the nodes of its role, and how many they are.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Atlas {
    place: u32,
    nodes: u32,
}

impl Atlas {
    /// The plan of node `place` (from 0) of `nodes`.
    pub(crate) fn new(place: u32, nodes: u32) -> Self {
        Atlas { place, nodes }
    }

    /// True when a drawn fault may damage `key` here: the record of each key is damageable on
    /// the `(nodes - 1) / 2` consecutive places starting at the key's hash. A key ending in
    /// `~0`, `~1`, ... is one copy of a record each node keeps several times (as TigerBeetle
    /// keeps its superblock): the copies' places start one minority apart, so no node loses
    /// both of two copies.
    ///
    /// A node alone in its role has no minority to spare, so a plain key is never damaged
    /// there; a record it keeps in copies is its only way to recover, and of every two
    /// consecutive copies of it (`~0` and `~1`) exactly one is damageable, chosen by the hash.
    pub(crate) fn may_damage(&self, key: &str) -> bool {
        let nodes = u64::from(self.nodes.max(1));
        let minority = u64::from(self.nodes.saturating_sub(1) / 2);
        let (base, copy) = match key.rsplit_once('~') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (base, n.parse::<u64>().ok())
            }
            _ => (key, None),
        };
        if self.nodes == 1 {
            // Bit 32: FNV-1a's lowest bit is only the parity of the bytes.
            return copy.is_some_and(|c| ((crate::trace::fnv_hash(base) >> 32) ^ c) % 2 == 0);
        }
        let copy = copy.unwrap_or(0);
        let start = (crate::trace::fnv_hash(base) + copy.wrapping_mul(minority)) % nodes;
        (u64::from(self.place) + nodes - start) % nodes < minority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_damageable_on_exactly_a_minority() {
        for nodes in 1..8u32 {
            for k in 0..50 {
                let key = format!("log/{k}");
                let damageable = (0..nodes)
                    .filter(|p| Atlas::new(*p, nodes).may_damage(&key))
                    .count();
                assert_eq!(damageable as u32, (nodes - 1) / 2, "{nodes} nodes, {key}");
            }
        }
    }

    #[test]
    fn a_lone_node_may_lose_one_copy_of_a_record_and_no_plain_key() {
        let lone = Atlas::new(0, 1);
        let mut firsts = 0;
        for k in 0..50 {
            assert!(!lone.may_damage(&format!("log/{k}")));
            let (a, b) = (format!("wal/{k}~0"), format!("wal/{k}~1"));
            assert!(lone.may_damage(&a) != lone.may_damage(&b), "record {k}");
            firsts += usize::from(lone.may_damage(&a));
        }
        assert!(
            (10..40).contains(&firsts),
            "{firsts} of 50: not spread by the hash"
        );
    }

    #[test]
    fn no_node_may_lose_both_copies_of_a_record() {
        for nodes in 1..8u32 {
            for k in 0..50 {
                let both = (0..nodes)
                    .filter(|p| {
                        let a = Atlas::new(*p, nodes);
                        a.may_damage(&format!("meta{k}~0")) && a.may_damage(&format!("meta{k}~1"))
                    })
                    .count();
                assert_eq!(both, 0, "{nodes} nodes, record {k}");
            }
        }
    }
}
