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

/// What a node's durable storage costs a copy of the run, beyond its slot: a small map.
const STORAGE_BYTES: u64 = 96;

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
    /// A node free again takes the next message or timer waiting in its queue (the capacity
    /// model).
    Queue,
    /// A member is told of a membership change.
    Roster,
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
                    Ev::Ready { node, .. } => (
                        PendingKind::Queue,
                        Some(*node),
                        None,
                        "takes the next waiting message".into(),
                    ),
                    Ev::Roster { node, change, .. } => (
                        PendingKind::Roster,
                        Some(*node),
                        None,
                        format!("told: {}", change.describe(names)),
                    ),
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

    /// Asks the CPU to bring what the next step reads into cache: the run itself, its pending
    /// events and its nodes' slots (a search about to take up a run that waited in its
    /// frontier, cold). A hint: it changes nothing.
    pub fn warm(&self) {
        super::prefetch(self, 16);
        self.queue.warm();
        super::prefetch_slice(&self.slots, 16);
    }

    /// The run's bounds.
    pub fn bounds(&self) -> &crate::sim::Bounds {
        &self.bounds
    }

    /// Bytes a copy of the run holds, estimated: the run itself, its queue, history and trace,
    /// and each node's slot with its storage (the nodes themselves are shared by copies, and
    /// the one a step changes is the caller's to count).
    pub fn copy_bytes(&self) -> u64 {
        let slot = std::mem::size_of::<super::Slot<N>>() as u64 + STORAGE_BYTES;
        let cache = &self.print_cache;
        std::mem::size_of::<Self>() as u64
            + self.queue.bytes()
            + self.history.bytes()
            + self.trace.bytes()
            + self.slots.len() as u64 * (slot + 4)
            + (cache.pending.capacity() * std::mem::size_of::<EventPrint>()
                + cache.prints.capacity() * 9) as u64
    }

    /// Makes the next step's `ctx.choose` calls return `forced` (then 0), recording what they
    /// offered, until `take_choices`: how the exhaustive search branches on them.
    pub fn force_choices(&mut self, forced: Vec<u32>) {
        self.choices = Some(crate::node::Choices {
            forced,
            ..Default::default()
        });
    }

    /// What the `ctx.choose` calls since `force_choices` (or a `Step::Choose`) offered and
    /// returned; later calls draw from the node's stream again.
    pub fn take_choices(&mut self) -> Option<crate::node::Choices> {
        self.choices.take()
    }

    /// Entries in the run's history so far.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// True once the run has stopped (a bound, a panic).
    pub fn stopped(&self) -> bool {
        self.stop.is_some()
    }

    /// Runs every fault and nemesis event due before the next node event, and stops the run if
    /// the next event is past the time bound or the event bound is reached.
    pub fn settle(&mut self) {
        let synced = self.print_cache.synced(self.stats.events);
        self.settle_untracked();
        if synced {
            self.print_cache.sync(self.stats.events);
        }
    }

    /// `settle`, leaving the fingerprint's cache to the caller.
    fn settle_untracked(&mut self) {
        while self.settle_one(true) {}
    }

    /// Stops the run if the next event is past the time bound or the event bound is reached,
    /// without running any fault: what the debugger does between steps, where each scheduled
    /// fault is a step of its own (`Step::Scheduled`).
    pub fn settle_bounds(&mut self) {
        self.settle_one(false);
    }

    /// The due time of the fault or nemesis event that runs next, if one is due before every
    /// node event (`Step::Scheduled` runs it).
    pub fn scheduled_next(&self) -> Option<SimTime> {
        if self.stop.is_some() {
            return None;
        }
        let (t, _, ev) = self.queue.pending().min_by_key(|(t, s, _)| (*t, *s))?;
        (ev_node(ev).is_none() && t.0 <= self.bounds.max_time.0).then_some(t)
    }

    /// The step time order takes next and when it is due, from the head of the queue: the
    /// scheduled fault or nemesis event due before every node event (`Step::Scheduled`), else
    /// the earliest node event (`Step::Run`); what `scheduled_next` and `time_order_choice`
    /// say together, without a walk over every pending event.
    pub fn next_step(&mut self) -> Option<(Step, SimTime)> {
        if self.stop.is_some() {
            return None;
        }
        let max = self.bounds.max_time.0;
        let (t, seq, ev) = self.queue.peek_seq()?;
        match ev_node(ev) {
            None if t.0 <= max => Some((Step::Scheduled, t)),
            None => None,
            Some(_) => Some((Step::Run(seq), t)),
        }
    }

    /// Stops the run at a bound, or (with `faults`) runs the fault or nemesis event at the
    /// head of the queue; true when one ran.
    fn settle_one(&mut self, faults: bool) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let Some((t, ev)) = self.queue.peek() else {
            return false;
        };
        if t.0 > self.bounds.max_time.0 {
            self.now = SimTime(self.bounds.max_time.0);
            self.stop = Some(StopReason::TimeLimit);
            return false;
        }
        if self.stats.events >= self.bounds.max_events {
            self.stop = Some(StopReason::EventLimit);
            return false;
        }
        if !faults || ev_node(ev).is_some() {
            return false;
        }
        let Some((t, ev)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(t);
        self.stats.events += 1;
        // A fault or the nemesis may touch any node.
        self.print_cache.stale_all();
        self.caught(|sim| sim.handle(ev));
        true
    }

    /// The node events due within `window` of the earliest one (none past the time bound), by
    /// due time and insertion number.
    pub fn due(&self, window: Duration, out: &mut Vec<Pending>) {
        self.due_of(window, out, true);
    }

    /// `due`, with cancelled timers too unless `skip_cancelled` (a planted search bug).
    #[doc(hidden)]
    pub fn due_of(&self, window: Duration, out: &mut Vec<Pending>, skip_cancelled: bool) {
        out.clear();
        if self.stop.is_some() {
            return;
        }
        let bound = SimTime(self.bounds.max_time.0);
        // The earliest node event so far: later ones past its window are not kept.
        let mut first = SimTime(u64::MAX);
        let cancelled = &self.cancelled;
        self.queue.for_each_pending(|time, seq, ev| {
            if time > bound || time.0 > first.0.saturating_add(window.0) {
                return;
            }
            // A cancelled timer is no choice: running it changes nothing the fingerprint sees.
            if let Ev::Timer { id, .. } = ev {
                if skip_cancelled && cancelled.contains(id) {
                    return;
                }
            }
            if let Some(node) = run_node(ev) {
                first = first.min(time);
                out.push(Pending {
                    seq,
                    time,
                    node,
                    message: matches!(ev, Ev::Deliver { .. }),
                });
            }
        });
        if out.is_empty() {
            return;
        }
        let horizon = first + window;
        out.retain(|p| p.time <= horizon);
        out.sort_unstable_by_key(|p| (p.time, p.seq));
    }

    /// Takes one step; false when it names no pending event, a node that cannot crash or
    /// restart, or the run has stopped. A node's panic ends the run, as in `run`.
    pub fn apply_step(&mut self, step: &Step) -> bool {
        let synced = self.print_cache.synced(self.stats.events);
        let applied = self.apply_step_untracked(step);
        if synced {
            self.print_cache.sync(self.stats.events);
        }
        applied
    }

    /// Counts the handlers that read the clock or asked for anything (a send, a timer, a
    /// departure): unchanged over a step, the step's handler changed at most its own node,
    /// from nothing but that node's state and the event.
    pub fn acted(&self) -> u64 {
        self.print_cache.acted
    }

    /// True when a fault or nemesis event waits: a step may run it first.
    pub fn faults_pending(&self) -> bool {
        let mut any = false;
        self.queue
            .for_each_pending(|_, _, e| any |= ev_node(e).is_none());
        any
    }

    /// A mark of how far `apply_step` and `settle` have moved the run, for `touched_since`.
    pub fn touch_mark(&self) -> u64 {
        self.print_cache.touches
    }

    /// The nodes `apply_step` and `settle` may have changed since `mark` (their state,
    /// status or disk), in id order; `None` when any may have (a fault, the nemesis, a mark
    /// from another run).
    pub fn touched_since(&self, mark: u64) -> Option<Vec<NodeId>> {
        let cache = &self.print_cache;
        if cache.touched_all > mark || mark > cache.touches {
            return None;
        }
        Some(
            (0..cache.touched.len())
                .filter(|&i| cache.touched[i] > mark)
                .map(|i| NodeId(i as u32))
                .collect(),
        )
    }

    /// `apply_step`, marking the nodes it touches in the fingerprint's cache.
    fn apply_step_untracked(&mut self, step: &Step) -> bool {
        if self.stop.is_some() {
            return false;
        }
        match *step {
            Step::Run(seq) => {
                let Some((time, ev)) = self.queue.remove_seq(seq) else {
                    return false;
                };
                let forced = self.forced_faults(time);
                if self.run_forced(forced) {
                    return true;
                }
                self.now = self.now.max(time);
                self.stats.events += 1;
                match run_node(&ev) {
                    Some(n) => self.print_cache.stale(n),
                    None => self.print_cache.stale_all(),
                }
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
            Step::Choose(ref inner, ref values) => {
                self.choices = Some(crate::node::Choices {
                    forced: values.clone(),
                    ..Default::default()
                });
                let applied = self.apply_step_untracked(inner);
                // Only this step's handler chooses so; the events after it draw again.
                self.choices = None;
                applied
            }
            Step::Redeliver(seq) => {
                // A copy is delivered and the message stays where it is, untouched: what a
                // duplicate delivered at once would leave, without a new event.
                let Some((time, ev)) = self.message_copy(seq) else {
                    return false;
                };
                let forced = self.forced_faults(time);
                if self.run_forced(forced) {
                    return true;
                }
                self.stats.duplicated += 1;
                self.now = self.now.max(time);
                self.stats.events += 1;
                if let Some(n) = run_node(&ev) {
                    self.print_cache.stale(n);
                }
                self.caught(|sim| sim.handle(ev));
                true
            }
            Step::Duplicate(seq) => {
                let Some((time, ev)) = self.message_copy(seq) else {
                    return false;
                };
                let Some(to) = run_node(&ev) else {
                    return false;
                };
                self.stats.duplicated += 1;
                if let Ev::Deliver { from, id, .. } = &ev {
                    let (from, id) = (*from, *id);
                    self.trace.mix(
                        crate::trace::TAG_DUP,
                        self.now,
                        super::pair(from, to),
                        id,
                        0,
                    );
                    let now = self.now;
                    self.trace
                        .keep(now, || crate::trace::TraceKind::Duplicate { from, to, id });
                }
                self.queue.push_for(time, to.0, ev);
                true
            }
            Step::Crash(n) => {
                if self.status(n) != Some(NodeStatus::Up) {
                    return false;
                }
                // A crash or restart changes that node's slot and nothing else's.
                self.print_cache.stale(n);
                self.caught(|sim| sim.apply_fault(Fault::Crash(n)));
                true
            }
            Step::Restart(n) => {
                if self.status(n) != Some(NodeStatus::Down) {
                    return false;
                }
                // A crash or restart changes that node's slot and nothing else's.
                self.print_cache.stale(n);
                self.caught(|sim| sim.apply_fault(Fault::Restart(n)));
                true
            }
            Step::Partition(ref groups) => {
                if groups.iter().flatten().any(|n| self.status(*n).is_none()) {
                    return false;
                }
                let fault = Fault::Partition(groups.clone());
                // The network's part of the fingerprint is hashed every time; no node changes.
                self.caught(|sim| sim.apply_fault(fault));
                true
            }
            Step::Heal => {
                self.caught(|sim| sim.apply_fault(Fault::Heal));
                true
            }
            Step::Scheduled => self.settle_one(true),
            Step::SyncFail(n) => {
                if self.status(n) != Some(NodeStatus::Up) {
                    return false;
                }
                // Arming the failure changes that node's disk and nothing else.
                self.print_cache.stale(n);
                self.caught(|sim| sim.apply_fault(Fault::SyncFail(n)));
                true
            }
            Step::Disk(ref fault) => {
                let Some(&n) = fault.storage_node() else {
                    return false;
                };
                // A fault that stops the node takes one that is up; the record of a crash
                // that fell inside a handler is the engine's to write, never a step's.
                let stops = matches!(
                    fault,
                    Fault::PowerLoss { .. } | Fault::ProcessCrash(_) | Fault::CrashAtSync { .. }
                );
                let up = self.status(n) == Some(NodeStatus::Up);
                if self.status(n).is_none()
                    || (stops && !up)
                    || matches!(
                        fault,
                        Fault::CrashAtSync { sync: 0, .. } | Fault::Departed(_)
                    )
                {
                    return false;
                }
                // A disk fault changes that node's slot and nothing else's.
                self.print_cache.stale(n);
                let fault = fault.clone();
                self.caught(|sim| sim.apply_fault(fault));
                true
            }
        }
    }

    /// A copy of the pending message with insertion number `seq`, with its due time; none when
    /// no message has that number.
    fn message_copy(&self, seq: u64) -> Option<super::Due<N>> {
        let mut copy = None;
        self.queue.for_each_pending(|t, s, e| {
            if s == seq && matches!(e, Ev::Deliver { .. }) {
                copy = Some((t, e.clone()));
            }
        });
        copy
    }

    /// The faults and nemesis events due no later than `time`, by time and insertion number:
    /// they happen before a node event chosen at `time`, at their own time.
    fn forced_faults(&self, time: SimTime) -> Vec<(SimTime, u64)> {
        let mut forced: Vec<(SimTime, u64)> = Vec::new();
        self.queue.for_each_pending(|t, s, e| {
            if t <= time && ev_node(e).is_none() {
                forced.push((t, s));
            }
        });
        forced.sort_unstable();
        forced
    }

    /// Runs the `forced` faults; true when one stopped the run.
    fn run_forced(&mut self, forced: Vec<(SimTime, u64)>) -> bool {
        if !forced.is_empty() {
            self.print_cache.stale_all();
        }
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
        false
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
        self.fingerprint_of(Kept::ALL)
    }

    /// `fingerprint`, of only what `kept` keeps: without time, the present instant and how far
    /// ahead each pending event is due are left out; without the history, the history is.
    pub fn fingerprint_of(&mut self, kept: Kept) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        self.fingerprint_skipping(kept, None)
    }

    /// `fingerprint_of` as it would be with pending event `seq` gone and nothing else changed:
    /// running `seq` changed nothing but consuming it exactly when the fingerprint after the
    /// run equals this one (the search's `keep_ignored`).
    pub fn fingerprint_without(&mut self, kept: Kept, seq: u64) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        self.fingerprint_skipping(kept, Some(seq))
    }

    /// What running pending event `seq` does follows from: the print of the node it runs on
    /// (state, storage, streams), the event's content, the network's splits and who is a
    /// member, hashed (time aside, as an untimed state has it: a handler that reads its clock
    /// says so, `acted`). None for an event on no node or none pending.
    pub fn run_key(&mut self, kept: Kept, seq: u64) -> Option<u64>
    where
        N: Hash,
        N::Stored: Hash,
    {
        let mut found = None;
        self.queue.for_each_key(|_, s, slot| {
            if s == seq {
                found = Some(slot);
            }
        });
        let ev = self.queue.at_slot(found?)?;
        let node = run_node(ev)?;
        let content = EventPrint::of(seq, &self.fault_pool, ev).content;
        let mut h = Fx::default();
        h.write_u64(content);
        self.network.fingerprint(&mut h);
        if let Some(m) = self.membership.as_deref() {
            m.hash(&mut h);
        }
        h.write_u64(self.node_print(node.index(), kept, true));
        Some(mix(h.finish()))
    }

    /// `fingerprint_of`, with the pending event `skip` names left out.
    fn fingerprint_skipping(&mut self, kept: Kept, skip: Option<u64>) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        let mut h = Fx::default();
        if kept.time {
            self.now.hash(&mut h);
        }
        let cache = &mut self.print_cache;
        if !cache.synced(self.stats.events)
            || cache.prints.len() != self.slots.len()
            || cache.without_nodes == kept.node_state
        {
            cache.without_nodes = !kept.node_state;
            cache.prints.clear();
            cache.prints.resize(self.slots.len(), 0);
            cache.fresh.clear();
            cache.fresh.resize(self.slots.len(), false);
        }
        for i in 0..self.slots.len() {
            if !self.print_cache.fresh[i] {
                let print = self.node_print(i, kept, true);
                self.print_cache.prints[i] = print;
                self.print_cache.fresh[i] = true;
            }
            h.write_u64(self.print_cache.prints[i]);
        }
        self.print_cache.sync(self.stats.events);
        self.network.fingerprint(&mut h);
        self.rest_print(&mut h, kept, true, skip);
        mix(h.finish())
    }

    /// `fingerprint_of`, alike for two runs that differ only by which members of each group
    /// of `groups` play which part (symmetry reduction): the members are ranked by what each
    /// is (its state with every member's name made one), and every node's name is hashed as
    /// its rank's. Sound when the nodes of a group run the same code and nothing but their
    /// names tells them apart; each group's members sorted and distinct.
    pub fn symmetric_fingerprint_of(&mut self, kept: Kept, groups: &[Vec<NodeId>]) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        if groups.is_empty() {
            return self.fingerprint_of(kept);
        }
        let n = self.slots.len();
        let mut alike: Vec<u32> = (0..n as u32).collect();
        for g in groups {
            for m in g {
                alike[m.index()] = g[0].0;
            }
        }
        // What each node is, whoever it is: its own print and the pending events it sends,
        // receives or fires, with every member's name made one.
        let roles = crate::node::hashing_renamed(&alike, || {
            let mut roles: Vec<u64> = (0..n).map(|i| self.node_print(i, kept, false)).collect();
            let (cancelled, pool) = (&self.cancelled, &self.fault_pool);
            self.queue.for_each_key(|_, seq, slot| {
                let Some(ev) = self.queue.at_slot(slot) else {
                    return;
                };
                let print = EventPrint::of(seq, pool, ev);
                if print.timer != u64::MAX && cancelled.contains(&crate::node::TimerId(print.timer))
                {
                    return;
                }
                let mut add = |node: NodeId, side: u64| {
                    if let Some(r) = roles.get_mut(node.index()) {
                        *r = r.wrapping_add(mix(print.content ^ side));
                    }
                };
                match ev {
                    Ev::Deliver { from, to, .. } => {
                        add(*from, 1);
                        add(*to, 2);
                    }
                    Ev::Start { node, .. } | Ev::Timer { node, .. } => add(*node, 3),
                    _ => {}
                }
            });
            roles
        });
        let mut renamed: Vec<u32> = alike.clone();
        for g in groups {
            let mut ranked: Vec<(u64, usize)> =
                g.iter().map(|m| (roles[m.index()], m.index())).collect();
            ranked.sort_unstable();
            for ((_, i), name) in ranked.into_iter().zip(g) {
                renamed[i] = name.0;
            }
        }
        // Position j of the canonical run holds the node renamed j.
        let mut order: Vec<usize> = (0..n).collect();
        for (i, &name) in renamed.iter().enumerate() {
            order[name as usize] = i;
        }
        crate::node::hashing_renamed(&renamed, || {
            let mut h = Fx::default();
            if kept.time {
                self.now.hash(&mut h);
            }
            for &i in &order {
                h.write_u64(self.node_print(i, kept, false));
            }
            self.network.fingerprint_renamed(&mut h, &renamed);
            self.rest_print(&mut h, kept, false, None);
            mix(h.finish())
        })
    }

    /// Node `i`'s part of a fingerprint: its status, incarnation, clock, state, storage,
    /// backlog and random streams' positions.
    fn node_print(&mut self, i: usize, kept: Kept, cached: bool) -> u64
    where
        N: Hash,
        N::Stored: Hash,
    {
        let slot = &mut self.slots[i];
        let mut s = Fx::default();
        slot.status.hash(&mut s);
        self.incarnations[i].hash(&mut s);
        slot.clock.hash(&mut s);
        if kept.node_state {
            slot.node.hash(&mut s);
        }
        s.write_u64(if cached {
            slot.storage.fingerprint::<Fx>()
        } else {
            slot.storage.fingerprint_now::<Fx>()
        });
        s.write_usize(slot.backlog.len());
        for ev in &slot.backlog {
            // Held, not due: no time to it.
            s.write_u64(event_print(&self.fault_pool, ev));
        }
        for rng in [self.node_rngs.get(i), self.net_rngs.get(i)]
            .into_iter()
            .flatten()
        {
            s.write_u128(rng.get_word_pos());
        }
        s.finish()
    }

    /// The pending events (a multiset, or a set of messages; `skip` left out), the history and
    /// the faults applied, into `h`; with `cached`, each event's print is kept for the next call.
    fn rest_print(&mut self, h: &mut Fx, kept: Kept, cached: bool, skip: Option<u64>) {
        let now = self.now;
        let mut pending = 0u64;
        let mut count = 0u64;
        let (cancelled, queue, pool, cache) = (
            &self.cancelled,
            &self.queue,
            &self.fault_pool,
            &mut self.print_cache,
        );
        let mut messages = std::mem::take(&mut cache.messages);
        queue.for_each_key(|time, seq, slot| {
            if skip == Some(seq) {
                return;
            }
            let i = slot as usize;
            let print = if cached {
                if cache.pending.len() <= i {
                    cache.pending.resize(i + 1, EventPrint::NONE);
                }
                let mut print = cache.pending[i];
                if print.seq != seq {
                    let Some(ev) = queue.at_slot(slot) else {
                        return;
                    };
                    print = EventPrint::of(seq, pool, ev);
                    // A fault's entry in the pool can be withdrawn while it waits: not kept.
                    if run_node(ev).is_some() {
                        cache.pending[i] = print;
                    }
                }
                print
            } else {
                let Some(ev) = queue.at_slot(slot) else {
                    return;
                };
                EventPrint::of(seq, pool, ev)
            };
            if print.timer != u64::MAX && cancelled.contains(&crate::node::TimerId(print.timer)) {
                return;
            }
            // A sum of well-mixed hashes: the same multiset in any heap order.
            let ahead = if kept.time {
                time.0.saturating_sub(now.0)
            } else {
                0
            };
            let one = mix(print.content ^ ahead.wrapping_mul(FX_K));
            if kept.message_set && print.message {
                messages.push(one);
                return;
            }
            pending = pending.wrapping_add(one);
            count += 1;
        });
        if kept.message_set {
            messages.sort_unstable();
            messages.dedup();
            for m in messages.drain(..) {
                pending = pending.wrapping_add(m);
                count += 1;
            }
        }
        h.write_u64(pending);
        h.write_u64(count);
        self.print_cache.messages = messages;
        if kept.history {
            let step = |acc, e: &crate::history::Entry| {
                let mut h = Fx(acc);
                e.phase.hash(&mut h);
                e.node.hash(&mut h);
                e.op.hash(&mut h);
                h.finish()
            };
            h.write_u64(if cached {
                self.history.digest(step)
            } else {
                self.history.digest_now(step)
            });
        }
        // Who is a member (also implied by the faults applied, kept for plainness).
        if let Some(m) = self.membership.as_deref() {
            m.hash(h);
        }
        for (_, f) in &self.applied {
            f.hash(h);
        }
    }
}

/// What a state's fingerprint keeps (`Sim::fingerprint_of`): the exhaustive search's
/// abstraction of a run. Nodes' states and storage, which nodes are up, the network's splits,
/// the pending events as a multiset and the faults applied are always kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The present instant and how far ahead each pending event is due.
    pub time: bool,
    /// The history of client operations and events.
    pub history: bool,
    /// Messages in flight as a set: two copies of one message count once (a duplicating
    /// network, where a message once sent may always be delivered again).
    pub message_set: bool,
    /// Each node's own state (left out only by a planted search bug, to prove the search's
    /// tests catch it).
    #[doc(hidden)]
    pub node_state: bool,
}

impl Kept {
    /// Everything: two runs with one such fingerprint behave alike from here on.
    pub const ALL: Kept = Kept {
        time: true,
        history: true,
        message_set: false,
        node_state: true,
    };
}

/// What a run's fingerprint keeps for the next one: each pending event's content hash (valid
/// for as long as that event waits), and each node's part, kept while the run moves only by
/// `apply_step` and `settle`, which mark the nodes they may have touched: a step runs one
/// node's handler, so the others' prints stand. Any other way of running events
/// (`step`, `run`) leaves the event count out of step with `events`, and the next fingerprint
/// hashes every node again.
#[derive(Clone, Debug, Default)]
pub(in crate::sim) struct PrintCache {
    /// Each node's print, where `fresh` holds.
    prints: Vec<u64>,
    /// Which prints still describe their node.
    fresh: Vec<bool>,
    /// The run's event count these prints account for.
    events: u64,
    /// The prints leave the nodes' own states out (`Kept::node_state`).
    without_nodes: bool,
    /// Room for the messages' prints of a message-set fingerprint (kept to save allocations).
    messages: Vec<u64>,
    /// The pending events' prints by slab slot, each valid for the insertion number it names
    /// (an event never changes while it waits, whatever the run does meanwhile).
    pending: Vec<EventPrint>,
    /// Counts the marks below, so a reader can ask what was touched since one (the debugger's
    /// page is sent only the nodes that may have changed).
    touches: u64,
    /// Each node's last mark (0: none yet).
    touched: Vec<u64>,
    /// The last mark that may have touched every node.
    touched_all: u64,
    /// Handlers that read the clock or asked for anything (a send, a timer, a departure):
    /// a handler that did neither can have changed only its own node (`Sim::acted`).
    acted: u64,
}

impl PrintCache {
    /// A handler read the clock or asked for something.
    pub(in crate::sim) fn acted(&mut self) {
        self.acted += 1;
    }

    /// True when no event has run since the prints were last brought up to date.
    fn synced(&self, events: u64) -> bool {
        self.events == events && !self.prints.is_empty()
    }

    /// The prints account for the run up to `events` (the marks made on the way are in place).
    fn sync(&mut self, events: u64) {
        self.events = events;
    }

    /// `node` may have changed.
    fn stale(&mut self, node: NodeId) {
        if let Some(f) = self.fresh.get_mut(node.index()) {
            *f = false;
        }
        self.touches += 1;
        if self.touched.len() <= node.index() {
            self.touched.resize(node.index() + 1, 0);
        }
        self.touched[node.index()] = self.touches;
    }

    /// Any node may have changed.
    fn stale_all(&mut self) {
        self.fresh.iter_mut().for_each(|f| *f = false);
        self.touches += 1;
        self.touched_all = self.touches;
    }
}

/// A pending event's content hashed once (ids left out: they number events in the order a
/// path created them), by the insertion number it was hashed for.
#[derive(Clone, Copy, Debug)]
pub(in crate::sim) struct EventPrint {
    /// The event's insertion number (`u64::MAX`: none).
    seq: u64,
    /// Its content's hash.
    content: u64,
    /// A timer's id (`u64::MAX`: not a timer), to leave it out once cancelled.
    timer: u64,
    /// The event is a message.
    message: bool,
}

impl EventPrint {
    /// No event.
    const NONE: EventPrint = EventPrint {
        seq: u64::MAX,
        content: 0,
        timer: u64::MAX,
        message: false,
    };

    /// Hashes `ev`, pending with insertion number `seq`.
    fn of<M: Hash, T: Hash>(seq: u64, pool: &[Option<Fault>], ev: &Ev<M, T>) -> Self {
        let timer = match ev {
            Ev::Timer { id, .. } => id.0,
            _ => u64::MAX,
        };
        EventPrint {
            seq,
            content: event_print(pool, ev),
            timer,
            message: matches!(ev, Ev::Deliver { .. }),
        }
    }
}

/// One pending or held event's content (ids left out: they number events in the order a path
/// created them; when it is due is hashed apart).
fn event_print<M: Hash, T: Hash>(pool: &[Option<Fault>], ev: &Ev<M, T>) -> u64 {
    let mut h = Fx::default();
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
        Ev::Ready { node, incarnation } => (7u8, node, incarnation).hash(&mut h),
        Ev::Roster {
            node,
            incarnation,
            change,
        } => (8u8, node, incarnation, change).hash(&mut h),
    }
    h.finish()
}

/// The node a pending event runs on (a message's receiver), if it is a node's.
fn run_node<M, T>(ev: &Ev<M, T>) -> Option<NodeId> {
    match ev {
        Ev::Start { node, .. }
        | Ev::Timer { node, .. }
        | Ev::Ready { node, .. }
        | Ev::Roster { node, .. } => Some(*node),
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

#[cfg(test)]
mod tests {
    use crate::node::Node;
    use crate::protocol::Protocol;
    use crate::protocols::queue::QueueParams;
    use crate::registry::Registry;
    use crate::sim::{Pending, Sim, Step};
    use crate::time::Duration;
    use crate::trace::TraceLevel;
    use rand::{Rng, SeedableRng};
    use std::hash::Hash;

    /// The 2-worker queue the exhaustive bench searches, as a run not yet started.
    fn queue_run() -> Sim<<QueueParams as Protocol>::Node> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/check/queue-reliable-2-workers.ron"
        );
        let s = crate::explore::exhaustive::search_scenario(
            &crate::scenario::load(std::path::Path::new(path)).expect("loads"),
        );
        let plan = Registry::shipped()
            .prepare(&s, "test")
            .expect("prepares")
            .plan;
        let params: QueueParams = s.protocol.params().expect("queue parameters");
        Sim::new(plan.sim_config(TraceLevel::HashOnly), params.factory(&plan))
    }

    /// The fingerprint `sim` would have with nothing kept from earlier ones.
    fn from_scratch<N: Node + Clone + Hash>(sim: &Sim<N>) -> u64
    where
        N::Stored: Hash,
    {
        let mut fresh = sim.clone();
        fresh.print_cache = super::PrintCache::default();
        fresh.fingerprint()
    }

    /// Takes a random step of those the search could take (crashes now and then).
    fn random_step<N: Node>(sim: &Sim<N>, rng: &mut impl Rng, due: &mut Vec<Pending>) -> Step {
        sim.due(Duration::from_millis(2), due);
        let p = due[rng.random_range(0..due.len())];
        match rng.random_range(0..20) {
            0 => Step::Crash(p.node),
            1 => Step::Restart(p.node),
            2 => Step::Partition(vec![vec![p.node]]),
            3 => Step::Heal,
            _ => Step::Run(p.seq),
        }
    }

    #[test]
    fn kept_prints_match_prints_made_from_scratch_on_random_paths() {
        let mut due = Vec::new();
        let mut total = 0;
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut sim = queue_run();
            sim.settle();
            let mut steps = 0;
            while !sim.stopped() && steps < 400 {
                assert_eq!(
                    sim.fingerprint(),
                    from_scratch(&sim),
                    "seed {seed} step {steps}"
                );
                sim.due(Duration::ZERO, &mut due);
                if due.is_empty() {
                    break;
                }
                let step = random_step(&sim, &mut rng, &mut due);
                sim.apply_step(&step);
                sim.settle();
                steps += 1;
                // A plain event in between is not marked: the next print starts over.
                if steps % 50 == 0 {
                    sim.step();
                    sim.settle();
                }
            }
            total += steps;
        }
        assert!(total > 1_000, "only {total} steps");
    }

    #[test]
    fn shared_nodes_run_and_fingerprint_as_the_nodes_themselves() {
        let mut due = Vec::new();
        for seed in 0..10u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut plain = queue_run();
            let mut shared = queue_run().into_shared();
            // Copies taken along the way must not see the steps taken after them.
            let mut copies = Vec::new();
            plain.settle();
            shared.settle();
            while !plain.stopped() {
                assert_eq!(plain.fingerprint(), shared.fingerprint(), "seed {seed}");
                plain.due(Duration::ZERO, &mut due);
                if due.is_empty() {
                    break;
                }
                let step = random_step(&plain, &mut rng, &mut due);
                if copies.len() < 8 && rng.random_range(0..10) == 0 {
                    copies.push((plain.fingerprint(), shared.clone()));
                }
                plain.apply_step(&step);
                shared.apply_step(&step);
                plain.settle();
                shared.settle();
            }
            for (print, mut copy) in copies {
                assert_eq!(copy.fingerprint(), print, "seed {seed}: a copy changed");
                assert_eq!(from_scratch(&copy), print);
            }
            let (a, b) = (plain.finish(), shared.finish());
            assert_eq!(a.trace.hash(), b.trace.hash(), "seed {seed}");
            assert_eq!(a.history.len(), b.history.len());
        }
    }
}
