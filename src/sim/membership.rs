//! The cluster's membership as it changes over a run: who is a spare, a member, leaving or
//! gone, and the pending end of each graceful leave. The engine keeps one only when the run can
//! change its membership (spares declared, or a `Join`, `Leave`, `Depart` or `Replace` in the
//! schedule or the nemesis); otherwise every declared node is a member throughout.

use crate::node::{MemberState, NodeId, Roster};

/// Each node's place in the membership and the fault that ends its graceful leave.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Membership {
    states: Vec<MemberState>,
    /// The scheduled `Depart` (its index in the engine's fault pool) that ends a node's
    /// graceful leave when its grace runs out, withdrawn if it departs earlier.
    deadlines: Vec<Option<u32>>,
}

impl Membership {
    /// Spares as spares, everyone else a member.
    pub(crate) fn new(roster: &Roster) -> Self {
        let states = roster.initial_states();
        let deadlines = vec![None; states.len()];
        Membership { states, deadlines }
    }

    /// Every node's state, in id order.
    #[inline]
    pub(crate) fn states(&self) -> &[MemberState] {
        &self.states
    }

    /// The node's state.
    #[inline]
    pub(crate) fn state(&self, node: NodeId) -> MemberState {
        self.states
            .get(node.index())
            .copied()
            .unwrap_or(MemberState::Spare)
    }

    /// True when the node is a member now (leaving or not).
    #[inline]
    pub(crate) fn is_member(&self, node: NodeId) -> bool {
        self.state(node).is_member()
    }

    /// True when the node may join: a spare (a node that left is gone for good; its name is
    /// never reused, as clusters give a new machine a new identity).
    pub(crate) fn may_join(&self, node: NodeId) -> bool {
        self.state(node) == MemberState::Spare
    }

    /// Sets the node's state.
    pub(crate) fn set(&mut self, node: NodeId, state: MemberState) {
        if let Some(s) = self.states.get_mut(node.index()) {
            *s = state;
        }
    }

    /// Records the pending `Depart` that ends the node's leave.
    pub(crate) fn set_deadline(&mut self, node: NodeId, fault: u32) {
        if let Some(d) = self.deadlines.get_mut(node.index()) {
            *d = Some(fault);
        }
    }

    /// Takes the node's pending leave deadline, if any (to withdraw it).
    pub(crate) fn take_deadline(&mut self, node: NodeId) -> Option<u32> {
        self.deadlines.get_mut(node.index()).and_then(Option::take)
    }
}
