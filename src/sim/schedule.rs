//! Which pending event runs next: time order (the default), or PCT's random priorities.
//!
//! PCT (Burckhardt et al., ASPLOS 2010; PCTCP for message passing, Ozkan et al., OOPSLA 2018)
//! gives every node a random priority and lowers one at each of `depth - 1` random change
//! points. A message carries its sender's priority (its chain), a timer or boot its own node's.
//! The choice is among the node events due within `window` of the earliest one: the
//! highest-priority one runs first and the others wait, so a message may arrive up to `window`
//! later than its drawn latency (and after a message sent later by a higher-priority node) and a
//! timer fire up to `window` late, as on a loaded machine. Faults and nemesis events never wait
//! and never overtake: each runs before the first chosen event due after it. Virtual time only
//! moves forward.

use super::rng::SimRng;
use crate::node::NodeId;
use crate::time::{Duration, SimTime};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One choice the exhaustive search makes, and one step of a replayed schedule. Events are
/// named by their insertion number, which a run from the same scenario and seed repeats.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step<N = NodeId> {
    /// Run the pending event with this insertion number (after every fault due before it).
    Run(u64),
    /// Lose the pending message with this insertion number.
    Drop(u64),
    /// Deliver the pending message with this insertion number twice: a copy is queued beside
    /// it, due at the same time.
    Duplicate(u64),
    /// Take the inner step with the handler's `ctx.choose` calls returning these values, in
    /// order (0 past the end): one branch of a nondeterministic choice.
    Choose(Box<Step<N>>, Vec<u32>),
    /// Deliver the pending message with this insertion number and keep a copy in flight, to be
    /// delivered again any number of times (a duplicating network: TLA+'s set of messages).
    Redeliver(u64),
    /// Crash this node now.
    Crash(N),
    /// Restart this crashed node now.
    Restart(N),
    /// Split the network into these groups now (unlisted nodes form one more group).
    Partition(Vec<Vec<N>>),
    /// Remove every partition and cut now.
    Heal,
    /// Make this node's next sync with writes to cover fail (`Fault::SyncFail`).
    SyncFail(N),
    /// Apply this disk fault now (`Fault::is_storage`; the debugger's injections).
    Disk(crate::fault::Fault<N>),
    /// Run the scheduled fault or nemesis event due next, if it is due before every node
    /// event (the debugger's step for a fault the scenario scheduled; in a replayed file it
    /// changes nothing, since those run before the next step anyway).
    Scheduled,
}

impl<N> Step<N> {
    /// The step with its node named by `f`.
    pub fn map<M>(&self, mut f: impl FnMut(&N) -> M) -> Step<M> {
        self.map_with(&mut f)
    }

    /// `map` through a reference, so a nested step maps with the same function.
    fn map_with<M>(&self, f: &mut dyn FnMut(&N) -> M) -> Step<M> {
        match self {
            Step::Run(s) => Step::Run(*s),
            Step::Drop(s) => Step::Drop(*s),
            Step::Duplicate(s) => Step::Duplicate(*s),
            Step::Redeliver(s) => Step::Redeliver(*s),
            Step::Choose(inner, values) => {
                Step::Choose(Box::new(inner.map_with(f)), values.clone())
            }
            Step::Crash(n) => Step::Crash(f(n)),
            Step::Restart(n) => Step::Restart(f(n)),
            Step::Partition(groups) => Step::Partition(
                groups
                    .iter()
                    .map(|g| g.iter().map(&mut *f).collect())
                    .collect(),
            ),
            Step::Heal => Step::Heal,
            Step::Scheduled => Step::Scheduled,
            Step::SyncFail(n) => Step::SyncFail(f(n)),
            Step::Disk(fault) => Step::Disk(fault.map_nodes(|n| f(n))),
        }
    }

    /// Every node the step names.
    pub fn nodes(&self) -> Vec<&N> {
        match self {
            Step::Crash(n) | Step::Restart(n) | Step::SyncFail(n) => vec![n],
            Step::Disk(fault) => fault.storage_node().into_iter().collect(),
            Step::Choose(inner, _) => inner.nodes(),
            Step::Partition(groups) => groups.iter().flatten().collect(),
            Step::Run(_)
            | Step::Drop(_)
            | Step::Duplicate(_)
            | Step::Redeliver(_)
            | Step::Heal
            | Step::Scheduled => Vec::new(),
        }
    }
}

/// How the engine orders the events that are due.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheduler {
    /// By (virtual time, insertion sequence): what the network and clocks drew.
    #[default]
    TimeOrder,
    /// PCT priorities over the node events due within `window` of the earliest.
    Pct {
        /// Bug depth the run aims at: `depth - 1` priority change points (1 to 64).
        depth: u32,
        /// How far past the earliest due event a higher-priority one may jump ahead.
        #[serde(default = "default_window")]
        window: Duration,
    },
    /// These steps first (a path the exhaustive search found), then time order.
    Replay(Vec<Step<String>>),
}

/// The window `pct:D` uses when none is given.
pub const DEFAULT_WINDOW: Duration = Duration(5_000_000);

/// Most events considered for one choice (the rest wait for the next).
pub(crate) const MAX_CANDIDATES: usize = 32;

/// Deepest PCT run accepted.
pub const MAX_DEPTH: u32 = 64;

fn default_window() -> Duration {
    DEFAULT_WINDOW
}

impl Scheduler {
    /// True for the default, time order.
    pub fn is_default(&self) -> bool {
        matches!(self, Scheduler::TimeOrder)
    }

    /// Checks depth and window; the error is a sentence.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Scheduler::TimeOrder | Scheduler::Replay(_) => Ok(()),
            Scheduler::Pct { depth, window } => {
                if !(1..=MAX_DEPTH).contains(&depth) {
                    return Err(format!(
                        "scheduler Pct depth must be between 1 and {MAX_DEPTH}, got {depth}"
                    ));
                }
                if window == Duration::ZERO || window > Duration::from_secs(10) {
                    return Err(format!(
                        "scheduler Pct window must be between 1ns and 10s, got {window}"
                    ));
                }
                Ok(())
            }
        }
    }

    /// PCT's lower bound on the chance that one run hits a given bug of depth `depth`, for a run
    /// of `events` events on `nodes` nodes: 1 / (n * k^(d-1)).
    pub fn pct_bound(depth: u32, nodes: usize, events: u64) -> f64 {
        let k = (events.max(1)) as f64;
        1.0 / (nodes.max(1) as f64 * k.powi(depth.saturating_sub(1) as i32))
    }
}

/// The PCT state of one run: node priorities and the change points still to come.
#[derive(Clone, Debug)]
pub(crate) struct Pct {
    pub(crate) window: Duration,
    priority: Vec<u32>,
    /// Change-point times, earliest first; the i-th (from 0) lowers a node to `depth - 1 - i`.
    change_at: Vec<SimTime>,
    depth: u32,
    next_change: usize,
}

impl Pct {
    /// Draws priorities (a permutation of `depth..depth + nodes`) and `depth - 1` change points
    /// spread uniformly over the run's time bound.
    pub(crate) fn new(
        depth: u32,
        window: Duration,
        nodes: usize,
        max_time: Duration,
        rng: &mut SimRng,
    ) -> Self {
        let mut priority: Vec<u32> = (0..nodes as u32).map(|i| depth + i).collect();
        priority.shuffle(rng);
        let mut change_at: Vec<SimTime> = (1..depth)
            .map(|_| SimTime(rng.random_range(0..max_time.0.max(1))))
            .collect();
        change_at.sort();
        Pct {
            window,
            priority,
            change_at,
            depth,
            next_change: 0,
        }
    }

    /// The node's priority now (higher runs first).
    #[inline]
    pub(crate) fn priority(&self, node: usize) -> u32 {
        self.priority.get(node).copied().unwrap_or(0)
    }

    /// After `node` handled an event at `now`: a change point that has passed lowers it.
    pub(crate) fn ran(&mut self, node: usize, now: SimTime) {
        if let Some(&at) = self.change_at.get(self.next_change) {
            if at <= now {
                if let Some(p) = self.priority.get_mut(node) {
                    *p = self.depth - 1 - self.next_change as u32;
                }
                self.next_change += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{stream, Stream};

    #[test]
    fn change_points_lower_the_running_node_below_every_initial_priority() {
        let mut rng = stream(1, Stream::Tool(9));
        let mut pct = Pct::new(3, DEFAULT_WINDOW, 4, Duration::from_secs(1), &mut rng);
        let mut initial: Vec<u32> = (0..4).map(|n| pct.priority(n)).collect();
        initial.sort();
        assert_eq!(initial, vec![3, 4, 5, 6]);
        pct.ran(2, SimTime(2_000_000_000));
        assert_eq!(pct.priority(2), 2);
        pct.ran(0, SimTime(2_000_000_000));
        assert_eq!(pct.priority(0), 1);
        // No change points left: priorities stay.
        pct.ran(1, SimTime(2_000_000_000));
        assert!(pct.priority(1) >= 3);
    }

    #[test]
    fn depth_and_window_are_range_checked() {
        assert!(Scheduler::Pct {
            depth: 0,
            window: DEFAULT_WINDOW
        }
        .validate()
        .is_err());
        assert!(Scheduler::Pct {
            depth: 65,
            window: DEFAULT_WINDOW
        }
        .validate()
        .is_err());
        assert!(Scheduler::Pct {
            depth: 3,
            window: Duration::ZERO
        }
        .validate()
        .is_err());
        assert!(Scheduler::Pct {
            depth: 3,
            window: DEFAULT_WINDOW
        }
        .validate()
        .is_ok());
        assert!((Scheduler::pct_bound(3, 2, 10) - 1.0 / 200.0).abs() < 1e-12);
    }
}
