//! A run the debugger drives one choice at a time, its node type erased.

use crate::describe::Describe;
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
    /// The protocol's description of its state (`Node::describe_tree`), if it gives one.
    pub state: Option<Describe>,
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
    /// Stops the run if the next event is past a bound; runs no fault (each scheduled fault
    /// is a step of its own, `Step::Scheduled`).
    fn settle_bounds(&mut self);
    /// The due time of the scheduled fault or nemesis event that comes next, if one is due
    /// before every node event.
    fn scheduled_next(&self) -> Option<SimTime>;
    /// The step time order takes next (`Step::Scheduled` or `Step::Run`) and when it is due.
    fn next_step(&mut self) -> Option<(Step, SimTime)>;
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
    /// The trace events recorded so far (what labels an event in the tree of states).
    fn trace_events(&self) -> &[crate::trace::TraceEvent] {
        &[]
    }
    /// Trace events and history entries recorded so far (to tell whether a step showed anything).
    fn progress(&self) -> (usize, usize);
    /// Bytes the run holds now, estimated as the engine does (`Sim::memory`).
    fn memory(&self) -> u64 {
        0
    }
    /// One node's state (`nodes()[id]`, without describing the others).
    fn node(&self, id: NodeId) -> Option<NodeState> {
        self.nodes().into_iter().nth(id.index())
    }
    /// What every node's clock reads, in id order.
    fn clocks(&self) -> Vec<SimTime> {
        self.nodes().into_iter().map(|n| n.local_time).collect()
    }
    /// A mark of how far the run has moved, for `touched_since`.
    fn touch_mark(&self) -> u64 {
        0
    }
    /// The nodes whose state, status or disk may have changed since `mark` (a `touch_mark`),
    /// in id order; `None`: any of them may have.
    fn touched_since(&self, mark: u64) -> Option<Vec<NodeId>> {
        let _ = mark;
        None
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
    fn settle_bounds(&mut self) {
        Sim::settle_bounds(self)
    }
    fn scheduled_next(&self) -> Option<SimTime> {
        Sim::scheduled_next(self)
    }
    fn next_step(&mut self) -> Option<(Step, SimTime)> {
        Sim::next_step(self)
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
            .filter_map(|id| Stepper::node(self, id))
            .collect()
    }
    fn node(&self, id: NodeId) -> Option<NodeState> {
        if id.index() >= self.roster().len() {
            return None;
        }
        Some(NodeState {
            id,
            status: self.status(id).unwrap_or(NodeStatus::Down),
            local_time: self.local_time(id).unwrap_or(SimTime::ZERO),
            state: Sim::node(self, id).and_then(Node::describe_tree),
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
    }
    fn clocks(&self) -> Vec<SimTime> {
        self.roster()
            .ids()
            .map(|id| self.local_time(id).unwrap_or(SimTime::ZERO))
            .collect()
    }
    fn touch_mark(&self) -> u64 {
        Sim::touch_mark(self)
    }
    fn touched_since(&self, mark: u64) -> Option<Vec<NodeId>> {
        Sim::touched_since(self, mark)
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
    fn trace_events(&self) -> &[crate::trace::TraceEvent] {
        self.trace().events()
    }
    fn memory(&self) -> u64 {
        Sim::memory(self).total()
    }
}
