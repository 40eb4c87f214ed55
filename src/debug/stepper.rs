//! A run the debugger drives one choice at a time, its node type erased.

use crate::node::{Node, NodeId, Roster};
use crate::sim::{NodeStatus, PendingEvent, RunOutcome, Sim, Step};
use crate::time::SimTime;

/// One node as the debugger's panel shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeState {
    /// The node.
    pub id: NodeId,
    /// Up, down or paused.
    pub status: NodeStatus,
    /// What its own clock reads.
    pub local_time: SimTime,
    /// The protocol's description of its state (`Node::describe`), if it gives one.
    pub state: Option<String>,
    /// Its durable storage, key by key.
    pub storage: Vec<(String, String)>,
    /// True while some write is not yet synced (a crash would lose it).
    pub unsynced: bool,
}

/// A run stepped by hand: what `Sim` offers the debugger, whatever its nodes are.
pub trait Stepper {
    /// The cluster's membership.
    fn roster(&self) -> &Roster;
    /// Virtual time now.
    fn now(&self) -> SimTime;
    /// True once the run has stopped (a bound, a panic).
    fn stopped(&self) -> bool;
    /// Runs the faults and nemesis events due before the next node event.
    fn settle(&mut self);
    /// Every pending event, by due time and insertion number.
    fn pending(&self) -> Vec<PendingEvent>;
    /// The node event time order runs next, with its due time.
    fn time_order_choice(&self) -> Option<(u64, SimTime)>;
    /// Takes one step; false when it does not apply here.
    fn apply(&mut self, step: &Step) -> bool;
    /// Every node's state.
    fn nodes(&self) -> Vec<NodeState>;
    /// What the run has produced so far.
    fn outcome(&self) -> RunOutcome;
    /// Runs to the end in time order and hands over the outcome.
    fn finish(self: Box<Self>) -> RunOutcome;
    /// Trace events and history entries recorded so far (to tell whether a step showed anything).
    fn progress(&self) -> (usize, usize);
    /// Bytes the run holds now, estimated as the engine does (`Sim::memory`).
    fn memory(&self) -> u64 {
        0
    }
}

impl<N: Node> Stepper for Sim<N> {
    fn roster(&self) -> &Roster {
        Sim::roster(self)
    }
    fn now(&self) -> SimTime {
        Sim::now(self)
    }
    fn stopped(&self) -> bool {
        Sim::stopped(self)
    }
    fn settle(&mut self) {
        Sim::settle(self)
    }
    fn pending(&self) -> Vec<PendingEvent> {
        self.pending_events()
    }
    fn time_order_choice(&self) -> Option<(u64, SimTime)> {
        Sim::time_order_choice(self)
    }
    fn apply(&mut self, step: &Step) -> bool {
        self.apply_step(step)
    }
    fn nodes(&self) -> Vec<NodeState> {
        self.roster()
            .ids()
            .map(|id| NodeState {
                id,
                status: self.status(id).unwrap_or(NodeStatus::Down),
                local_time: self.local_time(id).unwrap_or(SimTime::ZERO),
                state: self.node(id).and_then(Node::describe),
                storage: self
                    .storage(id)
                    .map(|s| {
                        s.scan("")
                            .map(|(k, v)| (k.to_string(), format!("{v:?}")))
                            .collect()
                    })
                    .unwrap_or_default(),
                unsynced: self.storage(id).is_some_and(|s| s.has_unsynced()),
            })
            .collect()
    }
    fn outcome(&self) -> RunOutcome {
        self.outcome_so_far()
    }
    fn finish(self: Box<Self>) -> RunOutcome {
        (*self).run()
    }
    fn progress(&self) -> (usize, usize) {
        (self.trace().events().len(), self.history().len())
    }
    fn memory(&self) -> u64 {
        Sim::memory(self).total()
    }
}
