//! The capacity model: a node is busy for a service time while it handles a message, and what
//! arrives meanwhile (messages, and timers that come due) waits in its queue, first in first
//! out, bounded or not; a message that finds a bounded queue full is dropped, or held at the
//! door until a slot frees (back-pressure, `when_full: Block`); a link with a bandwidth sends
//! one message at a time. Off (no state, one branch per event) unless the scenario has a
//! `capacity` rule or a link bandwidth.

use crate::net::Latency;
use crate::node::NodeId;
use crate::sim::rng::{stream, SimRng, Stream};
use crate::time::{Duration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// A scenario's capacity rule: each node named takes `service` to handle a message and holds
/// at most `queue` waiting messages; one more is dropped, or held back until a slot frees
/// (`when_full: Block`).
///
/// `capacity: [(nodes: ["server"], service: Constant("1ms"), queue: 64, when_full: Block)]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRule {
    /// Node or role names; empty: every node.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Time one message takes to handle, a distribution written as link latencies are; the
    /// protocol may scale it per message (`Node::service_time`).
    pub service: Latency,
    /// Most messages waiting at once; what one more meets is `when_full`. None: no bound but
    /// the run's memory budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<u32>,
    /// What a message that finds the queue full meets: `Drop` (the default) or `Block`.
    #[serde(default, skip_serializing_if = "WhenFull::is_drop")]
    pub when_full: WhenFull,
}

/// What happens to a message that arrives at a full queue.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WhenFull {
    /// It is lost (`queue full`), as a server that sheds load does.
    #[default]
    Drop,
    /// It waits at the door, behind any already waiting there, and enters the queue when a
    /// slot frees: back-pressure, as TCP's flow control holds a sender to a slow receiver.
    /// Nothing is lost; what was held is late.
    Block,
}

impl WhenFull {
    /// True for the default, `Drop` (left out when a rule is written back as RON).
    pub fn is_drop(&self) -> bool {
        *self == WhenFull::Drop
    }
}

/// The most messages a `queue` bound may name.
pub const MAX_QUEUE: u32 = 10_000_000;

/// One node's capacity, resolved from the rules that name it (the last one wins); built with
/// `NodeCapacity::new` outside the crate, so a field added later breaks no caller.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NodeCapacity {
    /// Time one message takes to handle.
    pub service: Latency,
    /// Most messages waiting; None: no bound.
    pub queue: Option<u32>,
    /// What a message that finds the queue full meets.
    pub when_full: WhenFull,
}

impl NodeCapacity {
    /// A node that takes `service` per message and keeps at most `queue` waiting (dropping
    /// what finds it full).
    pub fn new(service: Latency, queue: Option<u32>) -> Self {
        NodeCapacity {
            service,
            queue,
            when_full: WhenFull::Drop,
        }
    }

    /// The same node, holding back what finds its queue full instead of dropping it.
    pub fn blocking(mut self) -> Self {
        self.when_full = WhenFull::Block;
        self
    }
}

/// What one node's queue did over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeLoad {
    /// Messages it began to handle.
    pub handled: u64,
    /// Service time of those messages, summed.
    pub busy: Duration,
    /// Time messages waited in its queue before it began them, summed (timers that waited
    /// are not counted).
    pub waited: Duration,
    /// Messages that waited in its queue (the others found it free).
    pub queued: u64,
    /// Most messages and timers waiting at once.
    pub peak_queue: u32,
    /// Messages dropped because its queue was full.
    pub shed: u64,
    /// Messages held back because its queue was full (`when_full: Block`), each delivered
    /// later in the order it arrived.
    pub held: u64,
    /// Time messages were held back before they entered the queue, summed.
    pub held_for: Duration,
    /// Most messages held back at once.
    pub peak_held: u32,
    /// The queue's length integrated over time, in item-nanoseconds.
    pub queue_area: u128,
}

impl NodeLoad {
    /// Fraction of `over` the node spent handling messages (at most 1).
    pub fn utilization(&self, over: Duration) -> f64 {
        if over.0 == 0 {
            return 0.0;
        }
        (self.busy.0 as f64 / over.0 as f64).min(1.0)
    }

    /// Mean number of items waiting over `over`.
    pub fn mean_queue(&self, over: Duration) -> f64 {
        if over.0 == 0 {
            return 0.0;
        }
        self.queue_area as f64 / over.0 as f64
    }

    /// Mean time a message waited before the node began it, over every message it handled
    /// (those that found it free waited 0): queueing theory's Wq.
    pub fn mean_wait(&self) -> Duration {
        Duration(self.waited.0.checked_div(self.handled).unwrap_or(0))
    }

    /// Mean time a held-back message waited for room in the queue (0 when none was held).
    pub fn mean_hold(&self) -> Duration {
        Duration(self.held_for.0.checked_div(self.held).unwrap_or(0))
    }
}

/// One limited node: its capacity, stream, clock and queue.
#[derive(Clone, Debug)]
struct Server<Q> {
    capacity: NodeCapacity,
    rng: SimRng,
    free_at: SimTime,
    /// The message being served (handled when its service time ends).
    serving: Option<Q>,
    /// Waiting items: when each arrived, and whether it is a message (else a timer).
    queue: VecDeque<(SimTime, bool, Q)>,
    /// Messages held back from a full queue (`WhenFull::Block`), in arrival order, with when
    /// each arrived; empty whenever the queue has room.
    held: VecDeque<(SimTime, Q)>,
    load: NodeLoad,
    changed: SimTime,
}

impl<Q> Server<Q> {
    /// True when the bound leaves no room for another message.
    fn full(&self) -> bool {
        self.capacity
            .queue
            .is_some_and(|b| self.queue.len() >= b as usize)
    }

    /// Moves held-back messages into the queue while it has room, first held first.
    fn admit_held(&mut self, now: SimTime) {
        while !self.full() {
            let Some((since, item)) = self.held.pop_front() else {
                break;
            };
            self.load.held_for = self.load.held_for + now.since(since);
            self.queue.push_back((now, true, item));
        }
    }

    /// Adds the queue's length since the last change to its area.
    fn account(&mut self, now: SimTime) {
        let span = now.since(self.changed).0;
        self.load.queue_area += self.queue.len() as u128 * u128::from(span);
        self.changed = self.changed.max(now);
    }
}

/// The engine's capacity state: each limited node's queue, and when each link with a bandwidth
/// is free to send again.
#[derive(Clone, Debug)]
pub(crate) struct Capacity<Q> {
    servers: Vec<Option<Box<Server<Q>>>>,
    links: BTreeMap<(u32, u32), SimTime>,
}

impl<Q> Capacity<Q> {
    /// The state for `limits` (one per node; `None`: unlimited), streams from `seed`.
    pub(crate) fn new(limits: &[Option<NodeCapacity>], seed: u64) -> Self {
        let servers = limits
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.as_ref().map(|capacity| {
                    Box::new(Server {
                        capacity: capacity.clone(),
                        rng: stream(seed, Stream::Service(i as u32)),
                        free_at: SimTime::ZERO,
                        serving: None,
                        queue: VecDeque::new(),
                        held: VecDeque::new(),
                        load: NodeLoad::default(),
                        changed: SimTime::ZERO,
                    })
                })
            })
            .collect();
        Capacity {
            servers,
            links: BTreeMap::new(),
        }
    }

    fn server(&mut self, node: NodeId) -> Option<&mut Server<Q>> {
        self.servers.get_mut(node.index())?.as_deref_mut()
    }

    /// True when `node` has a service time (its messages queue).
    #[inline]
    pub(crate) fn limited(&self, node: NodeId) -> bool {
        matches!(self.servers.get(node.index()), Some(Some(_)))
    }

    /// True when what arrives at `node` must wait: it is serving a message, or others wait.
    pub(crate) fn busy(&self, node: NodeId) -> bool {
        match self.servers.get(node.index()) {
            Some(Some(s)) => s.serving.is_some() || !s.queue.is_empty(),
            _ => false,
        }
    }

    /// True while `node` serves a message.
    pub(crate) fn serving(&self, node: NodeId) -> bool {
        matches!(self.servers.get(node.index()), Some(Some(s)) if s.serving.is_some())
    }

    /// Puts `item` at the back of `node`'s queue; `Err(item)`: a bounded queue was full and
    /// drops what finds it so. A `message` is held to the bound (under `WhenFull::Block`, held
    /// back until a slot frees, behind any held already); a timer always waits.
    pub(crate) fn enqueue(
        &mut self,
        node: NodeId,
        now: SimTime,
        item: Q,
        message: bool,
    ) -> Result<(), Q> {
        let Some(s) = self.server(node) else {
            return Err(item);
        };
        if message && (s.full() || !s.held.is_empty()) {
            if s.capacity.when_full == WhenFull::Drop {
                s.load.shed += 1;
                return Err(item);
            }
            s.held.push_back((now, item));
            s.load.held += 1;
            s.load.peak_held = s.load.peak_held.max(s.held.len() as u32);
            return Ok(());
        }
        s.account(now);
        s.queue.push_back((now, message, item));
        s.load.peak_queue = s.load.peak_queue.max(s.queue.len() as u32);
        Ok(())
    }

    /// Takes the head of `node`'s queue (the node is free), and lets a held-back message into
    /// the slot it frees; with no room at all (`queue: 0`), the first held-back message.
    pub(crate) fn take(&mut self, node: NodeId, now: SimTime) -> Option<Q> {
        let s = self.server(node)?;
        s.account(now);
        let head = match s.queue.pop_front() {
            Some(head) => Some(head),
            None => s.held.pop_front().map(|(since, item)| {
                s.load.held_for = s.load.held_for + now.since(since);
                (now, true, item)
            }),
        };
        s.admit_held(now);
        let (arrived, message, item) = head?;
        if message {
            s.load.waited = s.load.waited + now.since(arrived);
            s.load.queued += 1;
        }
        Some(item)
    }

    /// Draws the service time of `node`'s next message.
    pub(crate) fn draw(&mut self, node: NodeId) -> Duration {
        match self.server(node) {
            Some(s) => s.capacity.service.sample(&mut s.rng),
            None => Duration::ZERO,
        }
    }

    /// `node` begins serving `item`, a message that keeps it busy for `service`; returns when
    /// the service ends.
    pub(crate) fn start(
        &mut self,
        node: NodeId,
        now: SimTime,
        item: Q,
        service: Duration,
    ) -> SimTime {
        let Some(s) = self.server(node) else {
            return now;
        };
        s.free_at = now + service;
        s.serving = Some(item);
        s.load.busy = s.load.busy + service;
        s.load.handled += 1;
        s.free_at
    }

    /// The message `node` served, now that its service time is over.
    pub(crate) fn finish(&mut self, node: NodeId) -> Option<Q> {
        self.server(node)?.serving.take()
    }

    /// Empties `node`'s queue (it crashed): what it served and what waited are returned, and
    /// it is free now.
    pub(crate) fn clear(&mut self, node: NodeId, now: SimTime) -> Vec<Q> {
        let Some(s) = self.server(node) else {
            return Vec::new();
        };
        s.account(now);
        s.free_at = now;
        let serving = s.serving.take();
        serving
            .into_iter()
            .chain(s.queue.drain(..).map(|(_, _, q)| q))
            .chain(s.held.drain(..).map(|(_, q)| q))
            .collect()
    }

    /// When a message of `bytes` that `from` sends now to `to` has left, over a link of
    /// `bandwidth` that sends one message at a time.
    pub(crate) fn departure(
        &mut self,
        from: NodeId,
        to: NodeId,
        now: SimTime,
        bandwidth: crate::net::Bandwidth,
        bytes: u64,
    ) -> SimTime {
        let free = self.links.entry((from.0, to.0)).or_insert(SimTime::ZERO);
        let left = (*free).max(now) + bandwidth.time_for(bytes);
        *free = left;
        left
    }

    /// Every item served, waiting in any queue or held back from one.
    pub(crate) fn items(&self) -> impl Iterator<Item = &Q> {
        self.servers.iter().flatten().flat_map(|s| {
            s.serving
                .iter()
                .chain(s.queue.iter().map(|(_, _, q)| q))
                .chain(s.held.iter().map(|(_, q)| q))
        })
    }

    /// Bytes the queues and link clocks hold.
    pub(crate) fn bytes(&self) -> u64 {
        let queued: usize = self.servers.iter().flatten().map(|s| s.queue.len()).sum();
        let held: usize = self.servers.iter().flatten().map(|s| s.held.len()).sum();
        queued as u64 * std::mem::size_of::<(SimTime, bool, Q)>() as u64
            + held as u64 * std::mem::size_of::<(SimTime, Q)>() as u64
            + self.links.len() as u64 * 48
    }

    /// Each limited node's load up to `now`.
    pub(crate) fn loads(&self, now: SimTime) -> Vec<(NodeId, NodeLoad)> {
        self.servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                let mut load = s.load.clone();
                load.queue_area += s.queue.len() as u128 * u128::from(now.since(s.changed).0);
                // Messages still held back at `now` have been held until then.
                for (since, _) in &s.held {
                    load.held_for = load.held_for + now.since(*since);
                }
                Some((NodeId(i as u32), load))
            })
            .collect()
    }
}
