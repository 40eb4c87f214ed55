//! Running a run by explicit choices: which pending event happens next, which message is lost,
//! which node crashes or restarts. The exhaustive search drives a run this way, and a replayed
//! schedule (`Scheduler::Replay`) follows the steps it found. Also the state fingerprint that
//! lets the search prune states it has seen.

use super::{ev_node, Ev, Sim, StopReason};
use crate::fault::Fault;
use crate::node::{Node, NodeId};
use crate::sim::schedule::Step;
use crate::sim::NodeStatus;
use crate::time::{Duration, SimTime};
use crate::trace::DropReason;
use std::hash::{Hash, Hasher};

/// A node event the search may run next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Its insertion number (what `Step::Run` and `Step::Drop` name).
    pub seq: u64,
    /// When it is due.
    pub time: SimTime,
    /// The node it runs on.
    pub node: NodeId,
    /// True for a message (which a `Step::Drop` may lose).
    pub message: bool,
}

/// What a pending event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// A node's boot (first start or restart).
    Boot,
    /// A message in flight.
    Message,
    /// A timer set by a node.
    Timer,
    /// A fault of the scenario's schedule.
    Fault,
    /// The nemesis's next decision.
    Nemesis,
}

/// One pending event described for a person: what a debugger lists.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEvent {
    /// Its insertion number (what `Step::Run` and `Step::Drop` name).
    pub seq: u64,
    /// When it is due.
    pub time: SimTime,
    /// What it is.
    pub kind: PendingKind,
    /// The node it runs on (a message's receiver); none for faults and the nemesis.
    pub node: Option<NodeId>,
    /// A message's sender.
    pub from: Option<NodeId>,
    /// The message, timer or fault as debug text.
    pub text: String,
}

impl<N: Node> Sim<N> {
    /// Every pending event (cancelled timers left out), by due time and insertion number.
    pub fn pending_events(&self) -> Vec<PendingEvent> {
        let names = self.roster.names();
        let mut out: Vec<PendingEvent> = self
            .queue
            .pending()
            .filter_map(|(time, seq, ev)| {
                let (kind, node, from, text) = match ev {
                    Ev::Start { node, .. } => (PendingKind::Boot, Some(*node), None, "boot".into()),
                    Ev::Deliver { from, to, msg, .. } => (
                        PendingKind::Message,
                        Some(*to),
                        Some(*from),
                        format!("{msg:?}"),
                    ),
                    Ev::Timer {
                        node, id, timer, ..
                    } => {
                        if self.cancelled.contains(id) {
                            return None;
                        }
                        (PendingKind::Timer, Some(*node), None, format!("{timer:?}"))
                    }
                    Ev::Fault(idx) => {
                        let text = match self.fault_pool.get(*idx as usize) {
                            Some(Some(f)) => f.describe(names),
                            _ => "fault".to_string(),
                        };
                        (PendingKind::Fault, None, None, text)
                    }
                    Ev::NemesisTick | Ev::NemesisStrike | Ev::NemesisStop => {
                        (PendingKind::Nemesis, None, None, "nemesis decides".into())
                    }
                };
                Some(PendingEvent {
                    seq,
                    time,
                    kind,
                    node,
                    from,
                    text,
                })
            })
            .collect();
        out.sort_unstable_by_key(|p| (p.time, p.seq));
        out
    }

    /// The node event time order runs next, with its due time (after `settle`): what a plain
    /// run would do here.
    pub fn time_order_choice(&self) -> Option<(u64, SimTime)> {
        if self.stop.is_some() {
            return None;
        }
        self.queue
            .pending()
            .filter(|(_, _, ev)| run_node(ev).is_some())
            .map(|(t, s, _)| (t, s))
            .min()
            .map(|(t, s)| (s, t))
    }

    /// The run's bounds.
    pub fn bounds(&self) -> &crate::sim::Bounds {
        &self.bounds
    }

    /// True once the run has stopped (a bound, a panic).
    pub fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Runs every fault and nemesis event due before the next node event, and stops the run if
    /// the next event is past the time bound or the event bound is reached.
    pub fn settle(&mut self) {
        while self.stop.is_none() {
            let Some((t, ev)) = self.queue.peek() else {
                return;
            };
            if t.0 > self.bounds.max_time.0 {
                self.now = SimTime(self.bounds.max_time.0);
                self.stop = Some(StopReason::TimeLimit);
                return;
            }
            if self.stats.events >= self.bounds.max_events {
                self.stop = Some(StopReason::EventLimit);
                return;
            }
            if ev_node(ev).is_some() {
                return;
            }
            let Some((t, ev)) = self.queue.pop() else {
                return;
            };
            self.now = self.now.max(t);
            self.stats.events += 1;
            self.caught(|sim| sim.handle(ev));
        }
    }

    /// The node events due within `window` of the earliest one (none past the time bound), by
    /// due time and insertion number.
    pub fn due(&self, window: Duration, out: &mut Vec<Pending>) {
        out.clear();
        if self.stop.is_some() {
            return;
        }
        let bound = SimTime(self.bounds.max_time.0);
        self.queue.for_each_pending(|time, seq, ev| {
            if time > bound {
                return;
            }
            if let Some(node) = run_node(ev) {
                out.push(Pending {
                    seq,
                    time,
                    node,
                    message: matches!(ev, Ev::Deliver { .. }),
                });
            }
        });
        let Some(first) = out.iter().map(|p| p.time).min() else {
            return;
        };
        let horizon = first + window;
        out.retain(|p| p.time <= horizon);
        out.sort_unstable_by_key(|p| (p.time, p.seq));
    }

    /// Takes one step; false when it names no pending event, a node that cannot crash or
    /// restart, or the run has stopped. A node's panic ends the run, as in `run`.
    pub fn apply_step(&mut self, step: &Step) -> bool {
        if self.stop.is_some() {
            return false;
        }
        match *step {
            Step::Run(seq) => {
                let Some((time, ev)) = self.queue.remove_seq(seq) else {
                    return false;
                };
                // Faults due no later than the chosen event happen first, at their own time.
                let mut forced: Vec<(SimTime, u64)> = self
                    .queue
                    .pending()
                    .filter(|(t, _, e)| ev_node(e).is_none() && *t <= time)
                    .map(|(t, s, _)| (t, s))
                    .collect();
                forced.sort_unstable();
                for (_, s) in forced {
                    if let Some((t, e)) = self.queue.remove_seq(s) {
                        self.now = self.now.max(t);
                        self.stats.events += 1;
                        self.caught(|sim| sim.handle(e));
                        if self.stop.is_some() {
                            return true;
                        }
                    }
                }
                self.now = self.now.max(time);
                self.stats.events += 1;
                self.caught(|sim| sim.handle(ev));
                true
            }
            Step::Drop(seq) => {
                let is_message = self
                    .queue
                    .pending()
                    .any(|(_, s, e)| s == seq && matches!(e, Ev::Deliver { .. }));
                if !is_message {
                    return false;
                }
                if let Some((_, Ev::Deliver { from, to, id, .. })) = self.queue.remove_seq(seq) {
                    self.stats.events += 1;
                    self.record_drop(from, to, id, DropReason::Loss);
                }
                true
            }
            Step::Crash(n) => {
                if self.status(n) != Some(NodeStatus::Up) {
                    return false;
                }
                self.caught(|sim| sim.apply_fault(Fault::Crash(n)));
                true
            }
            Step::Restart(n) => {
                if self.status(n) != Some(NodeStatus::Down) {
                    return false;
                }
                self.caught(|sim| sim.apply_fault(Fault::Restart(n)));
                true
            }
            Step::Partition(ref groups) => {
                if groups.iter().flatten().any(|n| self.status(*n).is_none()) {
                    return false;
                }
                let fault = Fault::Partition(groups.clone());
                self.caught(|sim| sim.apply_fault(fault));
                true
            }
            Step::Heal => {
                self.caught(|sim| sim.apply_fault(Fault::Heal));
                true
            }
        }
    }

    /// Runs `f`, turning a node's panic into the end of the run.
    fn caught(&mut self, f: impl FnOnce(&mut Self)) {
        if let Err(caught) = crate::sim::panics::catch(std::panic::AssertUnwindSafe(|| f(self))) {
            self.record_panic(caught);
        }
    }

    /// A 64-bit fingerprint of the run's state: the time, every node's status, state, storage,
    /// clock, backlog and random streams' positions, the network's splits, the pending events
    /// as a multiset (their content and how far ahead they are due, not their ids), the history
    /// and the faults applied. Two runs with one fingerprint behave alike from here on.
    pub fn fingerprint(&mut self) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        let mut h = Fx::default();
        self.now.hash(&mut h);
        let (now, pool) = (self.now, &self.fault_pool);
        for (i, slot) in self.slots.iter_mut().enumerate() {
            slot.status.hash(&mut h);
            self.incarnations[i].hash(&mut h);
            slot.clock.hash(&mut h);
            slot.node.hash(&mut h);
            h.write_u64(slot.storage.fingerprint::<Fx>());
            h.write_usize(slot.backlog.len());
            for ev in &slot.backlog {
                h.write_u64(event_print(now, pool, ev, SimTime::ZERO));
            }
            h.write_u128(self.node_rngs[i].get_word_pos());
            h.write_u128(self.net_rngs[i].get_word_pos());
        }
        self.network.fingerprint(&mut h);
        let mut pending = 0u64;
        let mut count = 0u64;
        let cancelled = &self.cancelled;
        self.queue.for_each_pending(|time, _, ev| {
            if let Ev::Timer { id, .. } = ev {
                if cancelled.contains(id) {
                    return;
                }
            }
            // A sum of well-mixed hashes: the same multiset in any heap order.
            pending = pending.wrapping_add(mix(event_print(now, pool, ev, time)));
            count += 1;
        });
        h.write_u64(pending);
        h.write_u64(count);
        h.write_u64(self.history.digest(|acc, e| {
            let mut h = Fx(acc);
            e.phase.hash(&mut h);
            e.node.hash(&mut h);
            e.op.hash(&mut h);
            h.finish()
        }));
        for (_, f) in &self.applied {
            f.hash(&mut h);
        }
        mix(h.finish())
    }
}

/// One pending event's content and how far past now it is due (ids left out: they number
/// events in the order a path created them).
fn event_print<M: Hash, T: Hash>(
    now: SimTime,
    pool: &[Option<Fault>],
    ev: &Ev<M, T>,
    time: SimTime,
) -> u64 {
    let mut h = Fx::default();
    time.0.saturating_sub(now.0).hash(&mut h);
    match ev {
        Ev::Start { node, incarnation } => (0u8, node, incarnation).hash(&mut h),
        Ev::Deliver {
            from,
            to,
            incarnation,
            msg,
            ..
        } => (1u8, from, to, incarnation, msg).hash(&mut h),
        Ev::Timer {
            node,
            incarnation,
            timer,
            ..
        } => (2u8, node, incarnation, timer).hash(&mut h),
        Ev::Fault(idx) => (3u8, pool.get(*idx as usize)).hash(&mut h),
        Ev::NemesisTick => 4u8.hash(&mut h),
        Ev::NemesisStrike => 5u8.hash(&mut h),
        Ev::NemesisStop => 6u8.hash(&mut h),
    }
    h.finish()
}

/// The node a pending event runs on (a message's receiver), if it is a node's.
fn run_node<M, T>(ev: &Ev<M, T>) -> Option<NodeId> {
    match ev {
        Ev::Start { node, .. } | Ev::Timer { node, .. } => Some(*node),
        Ev::Deliver { to, .. } => Some(*to),
        _ => None,
    }
}

/// A fast word-at-a-time hasher (the multiply-rotate of rustc's FxHasher) for fingerprints.
#[derive(Default)]
struct Fx(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ (rest.len() as u64) << 56);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(FX_K);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A finaliser that spreads every input bit over the output (splitmix64's).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
