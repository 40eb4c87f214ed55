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
    /// the `(nodes - 1) / 2` consecutive places starting at the key's hash.
    pub(crate) fn may_damage(&self, key: &str) -> bool {
        let nodes = u64::from(self.nodes.max(1));
        let minority = u64::from(self.nodes.saturating_sub(1) / 2);
        let start = crate::trace::fnv_hash(key) % nodes;
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
}
