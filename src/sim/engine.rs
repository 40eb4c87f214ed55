//! The run loop: pops events in (time, sequence) order, runs node handlers, carries out their
//! effects through the network, and applies faults from the schedule and the nemesis.

mod choice;

pub use choice::{Kept, Pending, PendingEvent, PendingKind};

use super::capacity::{Capacity, NodeCapacity, NodeLoad};
use super::clock::NodeClock;
use super::membership::Membership;
use super::queue::{prefetch, prefetch_slice, EventQueue, NO_NODE};
use super::rng::{stream, SimRng, Stream, StreamOf, Streams};
use super::schedule::{Pct, Scheduler, MAX_CANDIDATES};
use super::shared::SharedNode;
use crate::fault::{replaces_groups, Fault, Nemesis};
use crate::history::History;
use crate::memory::{Bytes, MemoryUse};
use crate::net::{Network, Transmit};
use crate::node::{
    Context, Effect, MemberState, Node, NodeFactory, NodeId, Roster, RosterChange, Snapshot,
    TimerId,
};
use crate::storage::Storage;
use crate::time::{Duration, SimTime};
use crate::trace::{
    fnv_hash, DropReason, Trace, TraceKind, TraceLevel, TAG_DELIVER, TAG_DISK, TAG_DROP, TAG_DUP,
    TAG_FAULT, TAG_OP, TAG_ROSTER, TAG_SEND, TAG_START, TAG_TIMER,
};
use std::collections::BTreeSet;

/// Limits every run: it stops at the first one reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Bounds {
    /// Stop once virtual time would pass this.
    pub max_time: Duration,
    /// Stop after this many events.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Stop (with an error naming the knob to lower) once the run would hold more than this.
    #[serde(
        default = "crate::memory::default_budget",
        deserialize_with = "crate::memory::deserialize_budget",
        skip_serializing_if = "Bytes::is_default_budget"
    )]
    pub max_memory: Bytes,
    /// How long after the last fault the protocol may take to recover before a liveness check
    /// that fails counts (a failure sooner is `UNKNOWN`, not judged); unset, the protocol's
    /// own bound (`Protocol::recovery`), if it declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Duration>,
}

impl Bounds {
    /// Stop at `max_time` of virtual time or after `max_events` events, within the default
    /// memory budget (2 GiB).
    pub fn new(max_time: Duration, max_events: u64) -> Self {
        Bounds {
            max_time,
            max_events,
            max_memory: crate::memory::DEFAULT_BUDGET,
            recovery: None,
        }
    }
}

setters!(Bounds {
    max_time: Duration,
    max_events: u64,
    max_memory: Bytes,
    recovery: Option<Duration>,
});

/// Events between two checks of the memory estimate against the budget (a power of two).
const MEMORY_CHECK_EVERY: u64 = 4096;

/// Nodes whose own heap one memory check reads (`Sim::nodes_heap`).
const HEAP_SAMPLE: usize = 256;

/// Bytes per node beyond its slot: roster name and role, network and clock entries.
const NODE_OVERHEAD: usize = 128;

/// From this many nodes on, the engine prefetches the next event's node state: below it, slots
/// and streams (about 1 KB a node) stay in the 1 MB L2 of a typical core.
const WARM_NEXT_FROM: usize = 1_024;

/// Cancellations kept before the first check for ones whose timer is gone.
const PRUNE_CANCELLED_MIN: usize = 1024;

fn default_max_events() -> u64 {
    100_000_000
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The next event was past `max_time`.
    TimeLimit,
    /// `max_events` events were processed.
    EventLimit,
    /// No events were left.
    Quiescent,
    /// A node's handler panicked (`RunOutcome::panic` says which and why).
    Panicked,
    /// The run would have outgrown `max_memory` (`RunOutcome::memory` says what held it).
    MemoryBudget,
}

impl StopReason {
    /// The reason in words.
    pub fn describe(&self, bounds: &Bounds) -> String {
        match self {
            StopReason::TimeLimit => format!("time limit {} reached", bounds.max_time),
            StopReason::EventLimit => format!("event limit {} reached", bounds.max_events),
            StopReason::Quiescent => "no events left (quiescent)".to_string(),
            StopReason::Panicked => "a node panicked".to_string(),
            StopReason::MemoryBudget => format!("memory budget {} reached", bounds.max_memory),
        }
    }
}

/// Whether a node is running at the end of (or during) a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Crashed and not restarted.
    Down,
    /// Paused (stop-the-world).
    Paused,
}

/// Counters of what happened in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events popped from the queue.
    pub events: u64,
    /// Messages nodes sent.
    pub sent: u64,
    /// Messages (and duplicates) handled by their destination.
    pub delivered: u64,
    /// Messages lost, by reason: loss, partition, cut, node down, crashed in flight, queue
    /// full, not a member.
    pub dropped: [u64; 7],
    /// Extra copies the network made.
    pub duplicated: u64,
    /// Timers that fired.
    pub timers: u64,
    /// Faults applied (schedule and nemesis).
    pub faults: u64,
}

impl Stats {
    /// All messages lost, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

fn drop_slot(r: DropReason) -> usize {
    match r {
        DropReason::Loss => 0,
        DropReason::Partition => 1,
        DropReason::Cut => 2,
        DropReason::NodeDown => 3,
        DropReason::Crashed => 4,
        DropReason::QueueFull => 5,
        DropReason::NotMember => 6,
    }
}

/// Everything a finished run produced; checkers and reports read only this.
/// Built by the engine, or by `RunOutcome::from_history` in a check's tests (`#[non_exhaustive]`:
/// a field added later breaks no caller).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The run's seed.
    pub seed: u64,
    /// The cluster's membership.
    pub roster: Roster,
    /// The bounds the run had.
    pub bounds: Bounds,
    /// Why it stopped.
    pub stop: StopReason,
    /// Virtual time reached.
    pub end_time: SimTime,
    /// Counters.
    pub stats: Stats,
    /// The trace (hash always, events when kept).
    pub trace: Trace,
    /// Client operations and system events.
    pub history: History,
    /// Final state of every live node that reports one.
    pub snapshots: Vec<(NodeId, Snapshot)>,
    /// Every fault applied, in order, with its time (schedule and nemesis alike).
    pub faults: Vec<(SimTime, Fault)>,
    /// Each node's status at the end.
    pub status: Vec<NodeStatus>,
    /// The panic that ended the run, if a node's handler panicked.
    pub panic: Option<super::Panic>,
    /// The most the run held, estimated (checked against `bounds.max_memory`).
    pub memory: MemoryUse,
    /// Under the capacity model, what each limited node's queue did (empty when it is off).
    pub load: Vec<(NodeId, NodeLoad)>,
}

impl RunOutcome {
    /// A run that ended at `end_time` having recorded `history` and nothing else (no faults,
    /// every node up, an empty trace): what a check's unit test judges. Set more fields on the
    /// result as the test needs.
    pub fn from_history(roster: Roster, end_time: SimTime, history: History) -> Self {
        let nodes = roster.len();
        RunOutcome {
            seed: 0,
            roster,
            bounds: Bounds::new(end_time.since(SimTime::ZERO), u64::MAX),
            stop: StopReason::TimeLimit,
            end_time,
            stats: Stats::default(),
            trace: Trace::default(),
            history,
            snapshots: Vec::new(),
            faults: Vec::new(),
            status: vec![NodeStatus::Up; nodes],
            panic: None,
            memory: MemoryUse::default(),
            load: Vec::new(),
        }
    }

    /// The trace hash.
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }
}

/// What a `Sim` needs besides the nodes: `SimConfig::new` and a setter per field (a literal
/// does not compile outside the crate, so a field added later breaks no caller).
///
/// ```
/// use clustersim::net::{Latency, LinkSpec, Network};
/// use clustersim::node::Roster;
/// use clustersim::sim::{Bounds, SimConfig};
/// use clustersim::Duration;
/// let roster = Roster::new([("a".to_string(), "node".to_string())]);
/// let link = LinkSpec { latency: Latency::Constant(Duration::from_millis(1)), drop: 0.0, duplicate: 0.0, bandwidth: None };
/// let config = SimConfig::new(roster, Network::new(1, link))
///     .seed(7)
///     .bounds(Bounds::new(Duration::from_secs(2), 10_000));
/// assert_eq!(config.seed, 7);
/// ```
///
/// ```compile_fail,E0639
/// use clustersim::sim::Bounds;
/// let bounds = Bounds { max_time: clustersim::Duration::from_secs(1), max_events: 10, max_memory: clustersim::memory::DEFAULT_BUDGET };
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// The seed every random stream derives from.
    pub seed: u64,
    /// Time and event limits.
    pub bounds: Bounds,
    /// Names and roles.
    pub roster: Roster,
    /// Links, partitions and cuts.
    pub network: Network,
    /// Faults at fixed times.
    pub schedule: Vec<(SimTime, Fault)>,
    /// The random nemesis, if any.
    pub nemesis: Option<Nemesis>,
    /// How much of the trace to keep.
    pub trace: TraceLevel,
    /// Which due event runs next (time order unless a search strategy says otherwise).
    pub scheduler: Scheduler,
    /// Keep the history in this file instead of memory (`History::on_disk`).
    pub history_file: Option<crate::history::HistoryFile>,
    /// Each node's disk fault rates, by node index (empty: none drawn). Any rate, or a storage
    /// fault in the schedule or the nemesis, turns every node's disk fault model on.
    pub disk: Vec<crate::storage::DiskRates>,
    /// Plan drawn record faults with the fault atlas (a minority of each role's nodes per record).
    pub disk_atlas: bool,
    /// Each node's capacity, by node index (empty, or `None` for a node: it handles a message
    /// in no time). With a link bandwidth, turns the capacity model on.
    pub capacity: Vec<Option<NodeCapacity>>,
}

impl SimConfig {
    /// A run of the `roster`'s nodes over `network`: seed 0, one second of virtual time or a
    /// million events, no faults, the whole trace, events in time order.
    pub fn new(roster: Roster, network: Network) -> Self {
        SimConfig {
            seed: 0,
            bounds: Bounds::new(Duration::from_secs(1), 1_000_000),
            roster,
            network,
            schedule: Vec::new(),
            nemesis: None,
            trace: TraceLevel::Full,
            scheduler: Scheduler::default(),
            history_file: None,
            disk: Vec::new(),
            disk_atlas: false,
            capacity: Vec::new(),
        }
    }
}

setters!(SimConfig {
    seed: u64,
    bounds: Bounds,
    roster: Roster,
    network: Network,
    schedule: Vec<(SimTime, Fault)>,
    nemesis: Option<Nemesis>,
    trace: TraceLevel,
    scheduler: Scheduler,
    history_file: Option<crate::history::HistoryFile>,
    disk: Vec<crate::storage::DiskRates>,
    disk_atlas: bool,
    capacity: Vec<Option<NodeCapacity>>,
});

#[derive(Clone)]
enum Ev<M, T> {
    Start {
        node: NodeId,
        incarnation: u32,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        incarnation: u32,
        id: u64,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        timer: T,
    },
    Fault(u32),
    NemesisTick,
    /// A strike the nemesis's trigger aimed just after an event.
    NemesisStrike,
    NemesisStop,
    /// A node's service time is over (the capacity model): it handles the message it served
    /// and takes the next one waiting.
    Ready {
        node: NodeId,
        incarnation: u32,
    },
    /// A member is told of a change of the membership (`Node::on_roster_change`).
    Roster {
        node: NodeId,
        incarnation: u32,
        change: RosterChange,
    },
}

/// The capacity model's state for a run of `N`: what waits is an event.
type Queues<N> = Capacity<Ev<<N as Node>::Msg, <N as Node>::Timer>>;

/// An event popped with its due time.
type Due<N> = (SimTime, Ev<<N as Node>::Msg, <N as Node>::Timer>);

// In this order: what every event checks (status, clock) is the first cache line, the one the
// engine prefetches, with the start of the node's own state.
#[repr(C)]
struct Slot<N: Node> {
    status: NodeStatus,
    clock: NodeClock,
    node: Option<N>,
    storage: Storage<N::Stored>,
    backlog: Vec<Ev<N::Msg, N::Timer>>,
}

impl<N: Node + Clone> Clone for Slot<N> {
    fn clone(&self) -> Self {
        Slot {
            status: self.status,
            clock: self.clock,
            node: self.node.clone(),
            storage: self.storage.clone(),
            backlog: self.backlog.clone(),
        }
    }

    /// Field by field, so the node's own `clone_from` and the backlog's buffer are reused (the
    /// exhaustive search copies every slot at every state).
    fn clone_from(&mut self, source: &Self) {
        self.status = source.status;
        self.clock = source.clock;
        self.node.clone_from(&source.node);
        self.storage.clone_from(&source.storage);
        self.backlog.clone_from(&source.backlog);
    }
}

/// One deterministic run of a cluster of `N` nodes.
pub struct Sim<N: Node> {
    now: SimTime,
    seed: u64,
    bounds: Bounds,
    roster: Roster,
    network: Network,
    queue: EventQueue<Ev<N::Msg, N::Timer>>,
    slots: Vec<Slot<N>>,
    /// Each node's incarnation (restarts so far), apart from its slot: a send reads the
    /// destination's, and 4 bytes a node stay in cache where a whole slot would not.
    incarnations: Vec<u32>,
    /// Each node's own stream, apart from its slot: a 300-byte ChaCha buffer in the slot would
    /// spread what every event reads over several cache lines.
    node_rngs: Streams,
    /// Each node's network stream (latency, loss and duplication draws of what it sends).
    net_rngs: Streams,
    /// Prefetch the next event's node state (the cluster is too large for the caches).
    warm_next: bool,
    /// Shared by a run's copies (the exhaustive search clones runs; the factory is code).
    factory: std::sync::Arc<NodeFactory<N>>,
    effects: Vec<Effect<N::Msg, N::Timer>>,
    history: History,
    trace: Trace,
    notes: Vec<(NodeId, SimTime, String)>,
    stats: Stats,
    next_msg: u64,
    next_timer: u64,
    cancelled: BTreeSet<TimerId>,
    /// While the exhaustive search runs a handler: the values `ctx.choose` returns, and what
    /// it asked (`Step::Choose`).
    choices: Option<crate::node::Choices>,
    prune_cancelled_at: usize,
    fault_pool: Vec<Option<Fault>>,
    nemesis_undos: Vec<u32>,
    /// The pending heal of the nemesis partition in force, withdrawn if a newer one replaces it.
    nemesis_split_undo: Option<u32>,
    applied: Vec<(SimTime, Fault)>,
    nemesis: Option<Nemesis>,
    fault_rng: SimRng,
    stop: Option<StopReason>,
    /// The node handler running now (node, and the sender of a message), for panic reports.
    handling: (NodeId, Handling),
    panic: Option<super::Panic>,
    peak_memory: MemoryUse,
    /// A strike the nemesis's trigger aimed is waiting (at most one at a time), with the node
    /// it is aimed at.
    strike_pending: Option<Option<NodeId>>,
    /// PCT priorities, when the scheduler is PCT.
    pct: Option<Pct>,
    /// The faults and nemesis events a PCT step runs before its chosen event.
    pct_before: Vec<Due<N>>,
    /// Steps of a replayed schedule still to take (`Scheduler::Replay`).
    replay: std::collections::VecDeque<super::schedule::Step>,
    /// The replayed schedule names its scheduled faults (`Step::Scheduled`, as the debugger
    /// saves them): they run where it says, not before each step.
    replay_explicit: bool,
    /// What the fingerprint keeps from one call to the next (nodes' parts, pending events').
    print_cache: choice::PrintCache,
    /// The capacity model's queues and link clocks; `None` (off) unless the scenario has one.
    capacity: Option<Box<Queues<N>>>,
    /// Who is a member now; `None` when the run cannot change its membership.
    membership: Option<Box<Membership>>,
}

/// A copy of a run at this point, to go on from it down another path (the exhaustive search).
/// The copies share the node factory; everything a run reads and writes is copied.
impl<N: Node + Clone> Clone for Sim<N> {
    fn clone(&self) -> Self {
        Sim {
            now: self.now,
            seed: self.seed,
            bounds: self.bounds,
            roster: self.roster.clone(),
            network: self.network.clone(),
            queue: self.queue.clone(),
            slots: self.slots.clone(),
            incarnations: self.incarnations.clone(),
            node_rngs: self.node_rngs.clone(),
            net_rngs: self.net_rngs.clone(),
            warm_next: self.warm_next,
            factory: self.factory.clone(),
            effects: Vec::with_capacity(16),
            history: self.history.clone(),
            trace: self.trace.clone(),
            notes: self.notes.clone(),
            stats: self.stats.clone(),
            next_msg: self.next_msg,
            next_timer: self.next_timer,
            cancelled: self.cancelled.clone(),
            choices: None,
            prune_cancelled_at: self.prune_cancelled_at,
            fault_pool: self.fault_pool.clone(),
            nemesis_undos: self.nemesis_undos.clone(),
            nemesis_split_undo: self.nemesis_split_undo,
            applied: self.applied.clone(),
            nemesis: self.nemesis.clone(),
            fault_rng: self.fault_rng.clone(),
            stop: self.stop,
            handling: self.handling,
            panic: self.panic.clone(),
            peak_memory: self.peak_memory,
            strike_pending: self.strike_pending,
            pct: self.pct.clone(),
            pct_before: self.pct_before.clone(),
            replay: self.replay.clone(),
            replay_explicit: self.replay_explicit,
            print_cache: self.print_cache.clone(),
            capacity: self.capacity.clone(),
            membership: self.membership.clone(),
        }
    }

    /// The same copy made into `self`, reusing its buffers (the exhaustive search recycles the
    /// runs it is done with instead of freeing them).
    fn clone_from(&mut self, source: &Self) {
        // Every field named, so a new one cannot be forgotten here.
        let Sim {
            now,
            seed,
            bounds,
            roster,
            network,
            queue,
            slots,
            incarnations,
            node_rngs,
            net_rngs,
            warm_next,
            factory,
            effects: _,
            history,
            trace,
            notes,
            stats,
            next_msg,
            next_timer,
            cancelled,
            choices: _,
            prune_cancelled_at,
            fault_pool,
            nemesis_undos,
            nemesis_split_undo,
            applied,
            nemesis,
            fault_rng,
            stop,
            handling,
            panic,
            peak_memory,
            strike_pending,
            pct,
            pct_before,
            replay,
            replay_explicit,
            print_cache,
            capacity,
            membership,
        } = source;
        self.now = *now;
        self.seed = *seed;
        self.bounds = *bounds;
        self.roster.clone_from(roster);
        self.network.clone_from(network);
        self.queue.clone_from(queue);
        self.slots.clone_from(slots);
        self.incarnations.clone_from(incarnations);
        self.node_rngs.clone_from(node_rngs);
        self.net_rngs.clone_from(net_rngs);
        self.warm_next = *warm_next;
        self.factory.clone_from(factory);
        self.effects.clear();
        self.history.clone_from(history);
        self.trace.clone_from(trace);
        self.notes.clone_from(notes);
        self.stats.clone_from(stats);
        self.next_msg = *next_msg;
        self.next_timer = *next_timer;
        self.cancelled.clone_from(cancelled);
        self.prune_cancelled_at = *prune_cancelled_at;
        self.fault_pool.clone_from(fault_pool);
        self.nemesis_undos.clone_from(nemesis_undos);
        self.nemesis_split_undo = *nemesis_split_undo;
        self.applied.clone_from(applied);
        self.nemesis.clone_from(nemesis);
        self.fault_rng.clone_from(fault_rng);
        self.stop = *stop;
        self.handling = *handling;
        self.panic.clone_from(panic);
        self.peak_memory = *peak_memory;
        self.strike_pending = *strike_pending;
        self.pct.clone_from(pct);
        self.pct_before.clone_from(pct_before);
        self.replay.clone_from(replay);
        self.replay_explicit = *replay_explicit;
        self.print_cache.clone_from(print_cache);
        self.capacity.clone_from(capacity);
        self.membership.clone_from(membership);
    }
}

impl<N: Node + Clone> Sim<N> {
    /// The same run with every node behind a reference count (`SharedNode`), for a search
    /// that copies the run at every step: copies share each node until a handler runs on it.
    /// It runs exactly as `self` would.
    pub fn into_shared(self) -> Sim<SharedNode<N>> {
        // Every field named (the struct literal must give them all), so a new one cannot be
        // forgotten here.
        let inner = self.factory;
        let factory: NodeFactory<SharedNode<N>> =
            Box::new(move |id, roster, storage| SharedNode::new(inner(id, roster, storage)));
        Sim {
            now: self.now,
            seed: self.seed,
            bounds: self.bounds,
            roster: self.roster,
            network: self.network,
            queue: self.queue,
            incarnations: self.incarnations,
            node_rngs: self.node_rngs.into_shared(),
            net_rngs: self.net_rngs.into_shared(),
            warm_next: self.warm_next,
            history: self.history,
            trace: self.trace,
            notes: self.notes,
            stats: self.stats,
            next_msg: self.next_msg,
            next_timer: self.next_timer,
            cancelled: self.cancelled,
            choices: None,
            prune_cancelled_at: self.prune_cancelled_at,
            fault_pool: self.fault_pool,
            nemesis_undos: self.nemesis_undos,
            nemesis_split_undo: self.nemesis_split_undo,
            applied: self.applied,
            nemesis: self.nemesis,
            fault_rng: self.fault_rng,
            stop: self.stop,
            handling: self.handling,
            panic: self.panic,
            peak_memory: self.peak_memory,
            strike_pending: self.strike_pending,
            pct: self.pct,
            pct_before: self.pct_before,
            replay: self.replay,
            replay_explicit: self.replay_explicit,
            print_cache: self.print_cache,
            capacity: self.capacity,
            membership: self.membership,
            slots: self
                .slots
                .into_iter()
                .map(|s| Slot {
                    status: s.status,
                    clock: s.clock,
                    node: s.node.map(SharedNode::new),
                    storage: s.storage,
                    backlog: s.backlog,
                })
                .collect(),
            factory: std::sync::Arc::new(factory),
            effects: self.effects,
        }
    }
}

/// Which handler a node is running.
#[derive(Copy, Clone, Debug)]
enum Handling {
    Start,
    Message(NodeId),
    Timer,
}

impl<N: Node> Sim<N> {
    /// Sets up a run; every node boots at time zero, after faults scheduled at time zero.
    pub fn new(config: SimConfig, factory: NodeFactory<N>) -> Self {
        let seed = config.seed;
        let n = config.roster.len();
        let mut replay = std::collections::VecDeque::new();
        let pct = match &config.scheduler {
            Scheduler::TimeOrder => None,
            Scheduler::Pct { depth, window } => Some(Pct::new(
                *depth,
                *window,
                n,
                config.bounds.max_time,
                &mut stream(seed, Stream::Schedule),
            )),
            Scheduler::Replay(steps) => {
                let roster = &config.roster;
                // Names were checked when the scenario was planned.
                replay.extend(
                    steps
                        .iter()
                        .map(|s| s.map(|name| roster.by_name(name).unwrap_or(NodeId(u32::MAX)))),
                );
                None
            }
        };
        let slots = (0..n as u32)
            .map(|_| Slot {
                node: None,
                status: NodeStatus::Down,
                clock: NodeClock::default(),
                storage: Storage::default(),
                backlog: Vec::new(),
            })
            .collect();
        let capacity = (config.capacity.iter().any(Option::is_some)
            || config.network.has_bandwidth())
        .then(|| {
            let mut limits = config.capacity.clone();
            limits.resize(n, None);
            Box::new(Capacity::new(&limits, seed))
        });
        let mut sim = Sim {
            now: SimTime::ZERO,
            seed,
            bounds: config.bounds,
            roster: config.roster,
            network: config.network,
            queue: EventQueue::new(),
            slots,
            incarnations: vec![0; n],
            node_rngs: Streams::new(seed, n as u32, Stream::Node),
            net_rngs: Streams::new(seed, n as u32, Stream::Network),
            warm_next: n >= WARM_NEXT_FROM,
            factory: std::sync::Arc::new(factory),
            effects: Vec::with_capacity(16),
            history: match config.history_file {
                Some(file) => {
                    let mut h = History::new();
                    h.on_disk(file);
                    h
                }
                None => History::new(),
            },
            trace: Trace::new(config.trace),
            notes: Vec::new(),
            stats: Stats::default(),
            next_msg: 0,
            next_timer: 0,
            cancelled: BTreeSet::new(),
            choices: None,
            prune_cancelled_at: PRUNE_CANCELLED_MIN,
            fault_pool: Vec::new(),
            nemesis_undos: Vec::new(),
            nemesis_split_undo: None,
            applied: Vec::new(),
            nemesis: config.nemesis,
            fault_rng: stream(seed, Stream::Faults),
            stop: None,
            handling: (NodeId(0), Handling::Start),
            panic: None,
            peak_memory: MemoryUse::default(),
            strike_pending: None,
            pct,
            pct_before: Vec::new(),
            replay_explicit: replay.contains(&super::schedule::Step::Scheduled),
            replay,
            print_cache: choice::PrintCache::default(),
            capacity,
            membership: None,
        };
        let membership = sim.roster.has_spares()
            || config.schedule.iter().any(|(_, f)| f.is_membership())
            || sim
                .nemesis
                .as_ref()
                .is_some_and(Nemesis::changes_membership);
        if membership {
            sim.membership = Some(Box::new(Membership::new(&sim.roster)));
        }
        let disks = !config.disk.is_empty()
            || config.schedule.iter().any(|(_, f)| f.is_storage())
            || sim.nemesis.as_ref().is_some_and(Nemesis::faults_disks);
        if disks {
            for i in 0..n {
                let rates = config.disk.get(i).copied().unwrap_or_default();
                let storage = &mut sim.slots[i].storage;
                storage.enable_faults(|| stream(seed, Stream::Disk(i as u32)), rates);
                if config.disk_atlas {
                    let id = NodeId(i as u32);
                    let role = sim.roster.members(sim.roster.role(id));
                    let place = role.iter().position(|m| *m == id).unwrap_or(0);
                    storage.plan_atlas(place as u32, role.len() as u32);
                }
            }
        }
        let mut schedule = config.schedule;
        schedule.sort_by_key(|(t, _)| *t);
        for (t, f) in schedule {
            let _ = sim.schedule_fault(t, f);
        }
        if let Some(nem) = &sim.nemesis {
            let (start, stop) = (nem.start(), nem.stop());
            sim.queue.push(start, Ev::NemesisTick);
            if let Some(stop) = stop {
                sim.queue.push(stop, Ev::NemesisStop);
            }
        }
        for i in 0..n as u32 {
            // A spare stays down, unbooted, until it joins.
            if sim.roster.is_spare(NodeId(i)) {
                continue;
            }
            sim.slots[i as usize].status = NodeStatus::Up;
            sim.queue.push_for(
                SimTime::ZERO,
                i,
                Ev::Start {
                    node: NodeId(i),
                    incarnation: 0,
                },
            );
        }
        sim
    }

    fn schedule_fault(&mut self, at: SimTime, fault: Fault) -> u32 {
        let idx = self.fault_pool.len() as u32;
        self.fault_pool.push(Some(fault));
        self.queue.push(at, Ev::Fault(idx));
        idx
    }

    /// Current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The cluster's membership.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The node's current state, if it is running (for tests and tools, never for checkers).
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.slots.get(id.index()).and_then(|s| s.node.as_ref())
    }

    /// The node's durable storage.
    pub fn storage(&self, id: NodeId) -> Option<&Storage<N::Stored>> {
        self.slots.get(id.index()).map(|s| &s.storage)
    }

    /// The node's status.
    pub fn status(&self, id: NodeId) -> Option<NodeStatus> {
        self.slots.get(id.index()).map(|s| s.status)
    }

    /// What the node's clock reads now.
    pub fn local_time(&self, id: NodeId) -> Option<SimTime> {
        self.slots.get(id.index()).map(|s| s.clock.local(self.now))
    }

    /// The network, with its current partitions and cuts.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Number of events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Applies `fault` at time `at` (now, if `at` is in the past).
    pub fn inject(&mut self, at: SimTime, fault: Fault) {
        let _ = self.schedule_fault(at.max(self.now), fault);
    }

    /// Processes one event; returns false once the run has stopped.
    pub fn step(&mut self) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let Some(next) = self.queue.peek_time() else {
            self.stop = Some(StopReason::Quiescent);
            return false;
        };
        if next.0 > self.bounds.max_time.0 {
            self.now = SimTime(self.bounds.max_time.0);
            self.stop = Some(StopReason::TimeLimit);
            return false;
        }
        if self.stats.events >= self.bounds.max_events {
            self.stop = Some(StopReason::EventLimit);
            return false;
        }
        if self.pct.is_some() {
            return self.step_pct();
        }
        if !self.replay.is_empty() {
            return self.step_replay();
        }
        // Held: the first event the handler queues takes the popped one's place in the heap.
        let mut time = SimTime::ZERO;
        if let Some(ev) = self.queue.pop_held(&mut time) {
            // Warm what the next event will read while this one is handled: at 10,000 nodes
            // and more, a node's slot and stream are cache misses otherwise (in a small
            // cluster they are in cache, and the hints would only cost instructions).
            if let Some(next) = self
                .warm_next
                .then(|| self.queue.next_for())
                .flatten()
                .filter(|&n| n != NO_NODE)
            {
                let i = next as usize;
                if let (Some(slot), Some(rng)) = (self.slots.get(i), self.net_rngs.get(i)) {
                    prefetch(slot, 2);
                    prefetch(rng, 8);
                }
            }
            // Time order never goes back, except after a replayed path ran a later event
            // first: then the earlier ones run late, at the time already reached.
            self.now = self.now.max(time);
            self.stats.events += 1;
            self.handle(ev);
            self.queue.settle();
        }
        if self.stats.events & (MEMORY_CHECK_EVERY - 1) == 0 {
            return self.within_budget();
        }
        true
    }

    /// `step` while a replayed schedule lasts: its next step, after the faults due before it
    /// (unless the schedule says where they run: `replay_explicit`).
    #[cold]
    fn step_replay(&mut self) -> bool {
        if self.replay_explicit {
            self.settle_bounds();
        } else {
            self.settle();
        }
        if self.stop.is_some() {
            return false;
        }
        if let Some(step) = self.replay.pop_front() {
            // A step that no longer applies (the file was edited) is skipped.
            let _ = self.apply_step(&step);
        }
        self.stop.is_none()
    }

    /// `step` under PCT: the highest-priority node's event among those due within the window,
    /// after every fault and nemesis event due no later than it (those never wait, and never
    /// depend on which node events are pending, so a nemesis replays as an explicit schedule).
    #[cold]
    fn step_pct(&mut self) -> bool {
        let Some(pct) = self.pct.as_ref() else {
            return false;
        };
        let checked = self.stats.events / MEMORY_CHECK_EVERY;
        let mut before = std::mem::take(&mut self.pct_before);
        let chosen = self.queue.pop_best(
            pct.window,
            MAX_CANDIDATES,
            |ev| ev_node(ev).map(|n| pct.priority(n.index())),
            &mut before,
        );
        for (time, ev) in before.drain(..) {
            self.now = self.now.max(time);
            self.stats.events += 1;
            self.handle(ev);
        }
        self.pct_before = before;
        if let Some((time, ev)) = chosen {
            // An event that waited for a higher-priority one runs late, never early.
            self.now = self.now.max(time);
            self.stats.events += 1;
            let node = ev_node(&ev);
            self.handle(ev);
            if let (Some(pct), Some(node)) = (self.pct.as_mut(), node) {
                pct.ran(node.index(), self.now);
            }
        }
        if self.stats.events / MEMORY_CHECK_EVERY != checked {
            return self.within_budget();
        }
        true
    }

    /// What the run holds now, estimated from the sizes of its records and what the nodes
    /// say they hold (`Node::heap_bytes`, read from a sample of them: `nodes_heap`).
    pub fn memory(&self) -> MemoryUse {
        MemoryUse {
            nodes: (Self::node_bytes() * self.slots.len() as u64).saturating_add(self.nodes_heap()),
            queue: self.queue.bytes() + self.capacity.as_ref().map_or(0, |c| c.bytes()),
            trace: self.trace.bytes(),
            history: self.history.bytes(),
        }
    }

    /// What the live nodes hold on the heap (`Node::heap_bytes`), so that a run whose nodes
    /// grow (a log that is never compacted) stops at its budget with a message, not an abort.
    /// Up to `HEAP_SAMPLE` nodes are read, evenly spaced, from an offset that moves with each
    /// memory check, and their sum scaled to the whole cluster: exact up to `HEAP_SAMPLE` nodes.
    fn nodes_heap(&self) -> u64 {
        let n = self.slots.len();
        if n == 0 {
            return 0;
        }
        let take = n.min(HEAP_SAMPLE);
        let stride = n / take;
        let start = (self.stats.events / MEMORY_CHECK_EVERY) as usize % stride;
        let sum: u64 = (0..take)
            .filter_map(|k| self.slots[start + k * stride].node.as_ref())
            .map(Node::heap_bytes)
            .fold(0, u64::saturating_add);
        (u128::from(sum) * n as u128 / take as u128).min(u128::from(u64::MAX)) as u64
    }

    /// Bytes one node costs the engine (its slot and roster entry, not what the node allocates).
    pub fn node_bytes() -> u64 {
        (std::mem::size_of::<Slot<N>>()
            + std::mem::size_of::<u32>()
            + 2 * std::mem::size_of::<SimRng>()
            + NODE_OVERHEAD) as u64
    }

    /// Records the peak memory estimate; stops the run when it passes the budget.
    fn within_budget(&mut self) -> bool {
        let now = self.memory();
        if now.total() > self.peak_memory.total() {
            self.peak_memory = now;
        }
        if now.total() > self.bounds.max_memory.0 {
            self.stop = Some(StopReason::MemoryBudget);
            return false;
        }
        true
    }

    /// Runs until virtual time `t` (or until a bound stops the run).
    pub fn run_until(&mut self, t: SimTime) {
        while self.queue.peek_time().is_some_and(|next| next <= t) && self.step() {}
        if self.stop.is_none() && self.now < t {
            self.now = t.min(SimTime(self.bounds.max_time.0));
        }
    }

    /// Runs to the end and hands over everything the run produced. A panic in a node's handler
    /// ends the run there; the outcome's `panic` says which node, handling what, and why.
    pub fn run(mut self) -> RunOutcome {
        if let Err(caught) = super::panics::catch(|| while self.step() {}) {
            self.record_panic(caught);
        }
        self.finish()
    }

    /// Ends the run at a node's panic: the outcome says which node, handling what, and why.
    fn record_panic(&mut self, caught: super::panics::Caught) {
        let (node, handling) = self.handling;
        let names = self.roster.names();
        let name = |id: NodeId| {
            names
                .get(id.index())
                .cloned()
                .unwrap_or_else(|| id.to_string())
        };
        self.stop = Some(StopReason::Panicked);
        self.panic = Some(super::Panic {
            node,
            time: self.now,
            handling: match handling {
                Handling::Start => "its start".to_string(),
                Handling::Message(from) => format!("a message from {}", name(from)),
                Handling::Timer => "a timer".to_string(),
            },
            message: caught.message,
            location: caught.location,
        });
        // The panicking node's state may be half-updated: it reports no snapshot.
        if let Some(slot) = self.slots.get_mut(node.index()) {
            slot.node = None;
        }
    }

    /// Every live node's final-state snapshot, for the outcome.
    fn snapshots(&self) -> Vec<(NodeId, Snapshot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let snap = s.node.as_ref()?.snapshot()?;
                Some((NodeId(i as u32), snap))
            })
            .collect()
    }

    /// Each limited node's load so far (the capacity model; empty when it is off).
    fn load(&self) -> Vec<(NodeId, NodeLoad)> {
        self.capacity
            .as_ref()
            .map_or_else(Vec::new, |c| c.loads(self.now))
    }

    /// What the run has produced so far, as `finish` would hand it over (the run goes on).
    pub fn outcome_so_far(&self) -> RunOutcome {
        let snapshots = self.snapshots();
        RunOutcome {
            seed: self.seed,
            roster: self.roster.clone(),
            bounds: self.bounds,
            stop: self.stop.unwrap_or(StopReason::TimeLimit),
            end_time: self.now,
            stats: self.stats.clone(),
            trace: self.trace.clone(),
            history: self.history.clone(),
            snapshots,
            faults: self.applied.clone(),
            status: self.slots.iter().map(|s| s.status).collect(),
            panic: self.panic.clone(),
            memory: self.peak_memory,
            load: self.load(),
        }
    }

    /// Ends the run where it is and hands over everything it produced.
    pub fn finish(mut self) -> RunOutcome {
        let now = self.memory();
        if now.total() > self.peak_memory.total() {
            self.peak_memory = now;
        }
        let load = self.load();
        let snapshots = self.snapshots();
        RunOutcome {
            seed: self.seed,
            roster: self.roster,
            bounds: self.bounds,
            stop: self.stop.unwrap_or(StopReason::TimeLimit),
            end_time: self.now,
            stats: self.stats,
            trace: self.trace,
            history: self.history,
            snapshots,
            faults: self.applied,
            status: self.slots.iter().map(|s| s.status).collect(),
            load,
            panic: self.panic,
            memory: self.peak_memory,
        }
    }

    #[inline]
    fn handle(&mut self, ev: Ev<N::Msg, N::Timer>) {
        match ev {
            Ev::Deliver {
                from,
                to,
                incarnation,
                id,
                msg,
            } => self.deliver(from, to, incarnation, id, msg),
            Ev::Timer {
                node,
                incarnation,
                id,
                timer,
            } => self.fire_timer(node, incarnation, id, timer),
            Ev::Start { node, incarnation } => self.boot(node, incarnation),
            Ev::Ready { node, incarnation } => self.ready(node, incarnation),
            Ev::Roster {
                node,
                incarnation,
                change,
            } => self.tell(node, incarnation, change),
            Ev::Fault(idx) => {
                // `None`: a nemesis undo withdrawn when the nemesis stopped.
                if let Some(fault) = self.fault_pool[idx as usize].take() {
                    self.apply_fault(fault);
                }
            }
            Ev::NemesisTick => self.nemesis_tick(),
            Ev::NemesisStrike => {
                let aim = self.strike_pending.take().flatten();
                self.nemesis_strike(aim);
            }
            Ev::NemesisStop => {
                if let Some(nem) = self.nemesis.as_mut() {
                    let heals = nem.heal_all();
                    self.nemesis = None;
                    // The heals below replace the pending undos; left in the queue, a late
                    // `Heal` or `Restart` would undo faults the schedule applies after the stop.
                    for idx in std::mem::take(&mut self.nemesis_undos) {
                        self.fault_pool[idx as usize] = None;
                    }
                    for f in heals {
                        self.apply_fault(f);
                    }
                }
            }
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, incarnation: u32, id: u64, msg: N::Msg) {
        let slot = &mut self.slots[to.index()];
        let reason = if self.incarnations[to.index()] != incarnation {
            Some(DropReason::Crashed)
        } else if slot.status == NodeStatus::Down {
            Some(DropReason::NodeDown)
        } else {
            self.network.blocked(from, to)
        };
        if let Some(reason) = reason {
            let reason = self.gone_reason(to, reason);
            self.record_drop(from, to, id, reason);
            return;
        }
        if slot.status == NodeStatus::Paused {
            slot.backlog.push(Ev::Deliver {
                from,
                to,
                incarnation,
                id,
                msg,
            });
            return;
        }
        if self.capacity.is_some() {
            return self.deliver_limited(from, to, incarnation, id, msg);
        }
        self.handle_message(from, to, id, msg);
    }

    /// Why a message to `to` is lost, given the reason its destination's state gives: a node
    /// that is not a member (left, or a spare) was never there to receive it.
    #[cold]
    #[inline(never)]
    fn gone_reason(&self, to: NodeId, reason: DropReason) -> DropReason {
        match (&self.membership, reason) {
            (Some(m), DropReason::Crashed | DropReason::NodeDown) if !m.is_member(to) => {
                DropReason::NotMember
            }
            _ => reason,
        }
    }

    /// `node` is told of a membership change, unless it went down since (a paused node hears
    /// of it when it resumes).
    fn tell(&mut self, node: NodeId, incarnation: u32, change: RosterChange) {
        let slot = &mut self.slots[node.index()];
        if self.incarnations[node.index()] != incarnation || slot.status == NodeStatus::Down {
            return;
        }
        if slot.status == NodeStatus::Paused {
            slot.backlog.push(Ev::Roster {
                node,
                incarnation,
                change,
            });
            return;
        }
        let now = self.now;
        self.trace
            .mix(TAG_ROSTER, now, u64::from(node.0), fnv_hash(&change), 0);
        if self.trace.keeps_events() {
            let text = format!("told: {}", change.describe(self.roster.names()));
            self.trace.keep(now, || TraceKind::Note { node, text });
        }
        self.handling = (node, Handling::Timer);
        self.dispatch(node, |n, ctx| n.on_roster_change(ctx, change));
    }

    /// `deliver` under the capacity model, out of the plain run's way.
    #[cold]
    #[inline(never)]
    fn deliver_limited(
        &mut self,
        from: NodeId,
        to: NodeId,
        incarnation: u32,
        id: u64,
        msg: N::Msg,
    ) {
        if self.capacity.as_deref().is_some_and(|c| c.limited(to)) {
            let ev = Ev::Deliver {
                from,
                to,
                incarnation,
                id,
                msg,
            };
            self.arrive(to, incarnation, ev, true);
            return;
        }
        self.handle_message(from, to, id, msg);
    }

    /// Under the capacity model, `item` (a message, or a timer come due) reaches `node`: it
    /// waits if the node is busy (a message into a full queue is dropped, or held back until
    /// a slot frees under `when_full: Block`), else the node begins
    /// it. A message's handler runs at the end of its service time, so what it sends leaves then.
    fn arrive(
        &mut self,
        node: NodeId,
        incarnation: u32,
        item: Ev<N::Msg, N::Timer>,
        message: bool,
    ) {
        let now = self.now;
        let Some(cap) = self.capacity.as_deref_mut() else {
            return;
        };
        if cap.busy(node) {
            if let Err(Ev::Deliver { from, to, id, .. }) = cap.enqueue(node, now, item, message) {
                self.record_drop(from, to, id, DropReason::QueueFull);
            }
            return;
        }
        self.begin(node, incarnation, item);
    }

    /// `node`, free, begins `item`: a timer runs now; a message keeps the node busy for its
    /// service time (drawn from the node's service stream, scaled by the protocol) and is
    /// handled when that ends (`Ev::Ready`), or now if it takes no time.
    fn begin(&mut self, node: NodeId, incarnation: u32, item: Ev<N::Msg, N::Timer>) {
        match item {
            Ev::Deliver {
                from, to, id, msg, ..
            } => {
                let Some(cap) = self.capacity.as_deref_mut() else {
                    return;
                };
                let drawn = cap.draw(node);
                let service = match &self.slots[node.index()].node {
                    Some(n) => n.service_time(&msg, drawn),
                    None => drawn,
                };
                let now = self.now;
                let ev = Ev::Deliver {
                    from,
                    to,
                    incarnation,
                    id,
                    msg,
                };
                let done = cap.start(node, now, ev, service);
                self.queue
                    .push_for(done, node.0, Ev::Ready { node, incarnation });
            }
            // A timer cancelled while it waited does not run.
            Ev::Timer {
                node, id, timer, ..
            } if self.cancelled.is_empty() || !self.cancelled.remove(&id) => {
                self.run_timer(node, id, timer);
            }
            _ => {}
        }
    }

    /// `to` handles a message that has arrived (and, under the capacity model, waited its turn).
    fn handle_message(&mut self, from: NodeId, to: NodeId, id: u64, msg: N::Msg) {
        self.stats.delivered += 1;
        let now = self.now;
        self.trace.mix(TAG_DELIVER, now, pair(from, to), id, 0);
        self.trace.keep(now, || TraceKind::Deliver { from, to, id });
        self.handling = (to, Handling::Message(from));
        self.dispatch(to, |node, ctx| node.on_message(ctx, from, msg));
    }

    fn fire_timer(&mut self, node: NodeId, incarnation: u32, id: TimerId, timer: N::Timer) {
        if !self.cancelled.is_empty() && self.cancelled.remove(&id) {
            return;
        }
        let slot = &mut self.slots[node.index()];
        if self.incarnations[node.index()] != incarnation || slot.status == NodeStatus::Down {
            return;
        }
        if slot.status == NodeStatus::Paused {
            slot.backlog.push(Ev::Timer {
                node,
                incarnation,
                id,
                timer,
            });
            return;
        }
        if self.capacity.is_some() {
            return self.fire_timer_limited(node, incarnation, id, timer);
        }
        self.run_timer(node, id, timer);
    }

    /// `fire_timer` under the capacity model, out of the plain run's way.
    #[cold]
    #[inline(never)]
    fn fire_timer_limited(&mut self, node: NodeId, incarnation: u32, id: TimerId, timer: N::Timer) {
        if self.capacity.as_deref().is_some_and(|c| c.limited(node)) {
            let ev = Ev::Timer {
                node,
                incarnation,
                id,
                timer,
            };
            self.arrive(node, incarnation, ev, false);
            return;
        }
        self.run_timer(node, id, timer);
    }

    /// `node`'s timer runs (it was not cancelled; under the capacity model, it waited its turn).
    fn run_timer(&mut self, node: NodeId, id: TimerId, timer: N::Timer) {
        self.stats.timers += 1;
        let now = self.now;
        self.trace
            .mix(TAG_TIMER, now, u64::from(node.0), id.0, fnv_hash(&timer));
        self.trace.keep(now, || TraceKind::Timer {
            node,
            timer: format!("{timer:?}"),
        });
        self.handling = (node, Handling::Timer);
        self.dispatch(node, |n, ctx| n.on_timer(ctx, timer));
    }

    /// Under the capacity model, `node`'s service time for the message it began is over: it
    /// handles that message, then begins what waits in its queue (timers run at once, until a
    /// message keeps it busy again).
    fn ready(&mut self, node: NodeId, incarnation: u32) {
        // A crash emptied the queue this event was for.
        if !self.runs_now(node, incarnation, Ev::Ready { node, incarnation }) {
            return;
        }
        if let Some(Ev::Deliver {
            from, to, id, msg, ..
        }) = self.capacity.as_deref_mut().and_then(|c| c.finish(node))
        {
            self.handle_message(from, to, id, msg);
        }
        loop {
            let now = self.now;
            let serving = self.capacity.as_deref().is_none_or(|c| c.serving(node));
            if serving || self.incarnations[node.index()] != incarnation {
                return;
            }
            let Some(item) = self.capacity.as_deref_mut().and_then(|c| c.take(node, now)) else {
                return;
            };
            self.begin(node, incarnation, item);
        }
    }

    /// Whether `node`'s event `ev` of incarnation `incarnation` runs now: not when the node is
    /// down or that incarnation is gone; a paused node keeps it for when it resumes.
    fn runs_now(&mut self, node: NodeId, incarnation: u32, ev: Ev<N::Msg, N::Timer>) -> bool {
        let slot = &mut self.slots[node.index()];
        if self.incarnations[node.index()] != incarnation || slot.status == NodeStatus::Down {
            return false;
        }
        if slot.status == NodeStatus::Paused {
            slot.backlog.push(ev);
            return false;
        }
        true
    }

    fn boot(&mut self, node: NodeId, incarnation: u32) {
        // Paused before it booted (a pause at time zero): it boots when it resumes.
        if !self.runs_now(node, incarnation, Ev::Start { node, incarnation }) {
            return;
        }
        self.handling = (node, Handling::Start);
        let slot = &mut self.slots[node.index()];
        slot.node = Some((self.factory)(node, &self.roster, &slot.storage));
        let now = self.now;
        self.trace
            .mix(TAG_START, now, u64::from(node.0), u64::from(incarnation), 0);
        self.trace.keep(now, || TraceKind::Start { node });
        self.dispatch(node, |n, ctx| n.on_start(ctx));
    }

    /// Runs one handler of `node` and carries out the effects it asked for.
    #[inline]
    fn dispatch(&mut self, node: NodeId, handler: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let mut effects = std::mem::take(&mut self.effects);
        let history_before = self.history.len();
        let keep = self.trace.keeps_events();
        let Slot {
            node: Some(state),
            clock,
            storage,
            ..
        } = &mut self.slots[node.index()]
        else {
            self.effects = effects;
            return;
        };
        storage.begin_handler();
        let time_read = std::cell::Cell::new(false);
        let mut ctx = Context {
            id: node,
            true_now: self.now,
            local_now: clock.local(self.now),
            roster: &self.roster,
            membership: self.membership.as_deref().map(Membership::states),
            rng: (&mut self.node_rngs, node.index()),
            storage,
            effects: &mut effects,
            history: &mut self.history,
            next_timer: &mut self.next_timer,
            notes: if keep { Some(&mut self.notes) } else { None },
            choices: self.choices.as_mut(),
            time_read: Some(&time_read),
        };
        handler(state, &mut ctx);
        if time_read.get() || !effects.is_empty() {
            self.print_cache.acted();
        }
        let clock = *clock;
        // A crash armed inside this handler fell at one of its syncs: what it asked for after
        // never happens (its writes after were never made).
        let crash = if storage.faults_on() {
            storage.take_crash()
        } else {
            None
        };
        if let Some((before, ..)) = crash {
            effects.truncate(before);
        }
        let mut departs = false;
        trace_disk_events(&mut self.trace, storage, self.now, node);
        if self.history.len() != history_before {
            self.record_ops(history_before);
        }
        if keep && !self.notes.is_empty() {
            for (n, t, text) in self.notes.drain(..) {
                self.trace.keep(t, || TraceKind::Note { node: n, text });
            }
        }
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send(node, to, msg),
                Effect::SetTimer { id, after, timer } => {
                    let at = self.now + clock.true_delay(after);
                    let incarnation = self.incarnations[node.index()];
                    self.queue.push_for(
                        at,
                        node.0,
                        Ev::Timer {
                            node,
                            incarnation,
                            id,
                            timer,
                        },
                    );
                }
                Effect::CancelTimer(id) => {
                    self.cancelled.insert(id);
                    if self.cancelled.len() >= self.prune_cancelled_at {
                        self.prune_cancelled();
                    }
                }
                Effect::Depart => departs = true,
            }
        }
        self.effects = effects;
        if departs && crash.is_none() {
            self.apply_fault(Fault::Departed(node));
        }
        if let Some((_, power, keep, torn)) = crash {
            self.apply_fault(Fault::CrashAtSync {
                node,
                sync: 0,
                power,
                keep,
                torn,
            });
        }
    }

    /// Forgets cancellations of timers that are no longer pending (fired, dropped by a crash, or
    /// never set), which would otherwise pile up for the whole run.
    fn prune_cancelled(&mut self) {
        let mut pending: Vec<TimerId> = self
            .queue
            .events()
            .chain(self.slots.iter().flat_map(|s| s.backlog.iter()))
            .chain(self.capacity.iter().flat_map(|c| c.items()))
            .filter_map(|ev| match ev {
                Ev::Timer { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        pending.sort_unstable();
        self.cancelled
            .retain(|id| pending.binary_search(id).is_ok());
        self.prune_cancelled_at = (2 * self.cancelled.len()).max(PRUNE_CANCELLED_MIN);
    }

    fn record_ops(&mut self, from: usize) {
        let now = self.now;
        for e in self.history.entries().skip(from) {
            let (node, index) = (e.node, e.index);
            let word = (e.phase as u64) << 32 | u64::from(node.0);
            self.trace
                .mix(TAG_OP, now, word, e.op_id.0, fnv_hash(&e.op));
            self.trace
                .keep(now, || TraceKind::Op { node, entry: index });
        }
        self.aim_strike(from);
    }

    /// Schedules a nemesis strike within the trigger's time when an entry from `from` on
    /// matches it (one strike waiting at a time; no draw at all without a trigger).
    fn aim_strike(&mut self, from: usize) {
        if self.strike_pending.is_some() {
            return;
        }
        let Some(nem) = self.nemesis.as_ref() else {
            return;
        };
        let Some(trigger) = nem.trigger().filter(|_| self.now >= nem.start()) else {
            return;
        };
        let Some(entry) = self
            .history
            .entries()
            .skip(from)
            .find(|e| trigger.matches(e.phase, &e.op))
        else {
            return;
        };
        let aim = match trigger.hit {
            crate::fault::Aim::Pick => None,
            crate::fault::Aim::Recorder => Some(entry.node),
            crate::fault::Aim::Sender => match self.handling {
                (_, Handling::Message(sender)) => Some(sender),
                // Recorded at a start or a timer: no message to answer for.
                _ => return,
            },
        };
        let within = trigger.within.0;
        let delay = rand::Rng::random_range(&mut self.fault_rng, 0..=within);
        self.strike_pending = Some(aim);
        self.queue
            .push(self.now + Duration(delay), Ev::NemesisStrike);
    }

    #[inline]
    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        let id = self.next_msg;
        self.next_msg += 1;
        self.stats.sent += 1;
        let now = self.now;
        self.trace
            .mix(TAG_SEND, now, pair(from, to), id, fnv_hash(&msg));
        self.trace.keep(now, || TraceKind::Send {
            from,
            to,
            id,
            msg: format!("{msg:?}"),
        });
        let Some(&incarnation) = self.incarnations.get(to.index()) else {
            self.record_drop(from, to, id, DropReason::NodeDown);
            return;
        };
        // No machine answers at a spare's or a departed node's address.
        if self.membership.as_deref().is_some_and(|m| !m.is_member(to)) {
            self.record_drop(from, to, id, DropReason::NotMember);
            return;
        }
        // A run's own streams are drawn from directly; shared ones (the exhaustive search's
        // copies) only when the link draws, so a copy that sends at a constant delay keeps
        // sharing them.
        let i = from.index();
        let sent = match &mut self.net_rngs {
            Streams::Own(own) => self.network.transmit(from, to, &mut own[i]),
            shared => self.network.transmit(from, to, &mut StreamOf(shared, i)),
        };
        match sent {
            Transmit::Dropped(reason) => self.record_drop(from, to, id, reason),
            Transmit::Delivered {
                mut first,
                mut copy,
            } => {
                // A link with a bandwidth sends one message at a time: this one leaves after
                // those before it, and arrives its latency after it left.
                if self.capacity.is_some() {
                    let wait = self.link_wait(from, to, &msg);
                    first = first + wait;
                    copy = copy.map(|c| c + wait);
                }
                if let Some(delay) = copy {
                    self.stats.duplicated += 1;
                    self.trace.mix(TAG_DUP, now, pair(from, to), id, delay.0);
                    self.trace
                        .keep(now, || TraceKind::Duplicate { from, to, id });
                    self.queue.push_for(
                        now + delay,
                        to.0,
                        Ev::Deliver {
                            from,
                            to,
                            incarnation,
                            id,
                            msg: msg.clone(),
                        },
                    );
                }
                self.queue.push_for(
                    now + first,
                    to.0,
                    Ev::Deliver {
                        from,
                        to,
                        incarnation,
                        id,
                        msg,
                    },
                );
            }
        }
    }

    /// Under the capacity model, how long `msg` waits for its link to be free and to leave it
    /// (zero on a link without a bandwidth).
    #[cold]
    #[inline(never)]
    fn link_wait(&mut self, from: NodeId, to: NodeId, msg: &N::Msg) -> Duration {
        let now = self.now;
        let (Some(cap), Some(bw)) = (
            self.capacity.as_deref_mut(),
            self.network.link(from, to).bandwidth.filter(|_| from != to),
        ) else {
            return Duration::ZERO;
        };
        cap.departure(from, to, now, bw, N::message_bytes(msg))
            .since(now)
    }

    fn record_drop(&mut self, from: NodeId, to: NodeId, id: u64, reason: DropReason) {
        self.stats.dropped[drop_slot(reason)] += 1;
        let now = self.now;
        self.trace
            .mix(TAG_DROP, now, pair(from, to), id, drop_slot(reason) as u64);
        self.trace.keep(now, || TraceKind::Drop {
            from,
            to,
            id,
            reason,
        });
    }

    fn nemesis_tick(&mut self) {
        if self.nemesis.is_none() {
            return;
        }
        self.nemesis_strike(None);
        if let Some(nem) = self.nemesis.as_ref() {
            let gap = nem.next_gap(&mut self.fault_rng);
            self.queue.push(self.now + gap, Ev::NemesisTick);
        }
    }

    /// Draws one nemesis fault (at `aim`, when given) and applies it, with its undo scheduled,
    /// if room allows.
    fn nemesis_strike(&mut self, aim: Option<NodeId>) {
        let Some(nem) = self.nemesis.as_mut() else {
            return;
        };
        let up: Vec<bool> = self
            .slots
            .iter()
            .map(|s| s.status == NodeStatus::Up)
            .collect();
        let leader = if nem.wants_leader() {
            self.history.latest_leader()
        } else {
            None
        };
        let members = self
            .membership
            .as_deref()
            .map_or(&[][..], Membership::states);
        let drawn = nem.draw(self.now, &up, members, leader, aim, &mut self.fault_rng);
        if let Some((mut fault, until, undo)) = drawn {
            // The nemesis names the record it damages (drawn from its own stream, as the fault
            // atlas allows), so the schedule `shrink` writes damages the same one and the
            // disk's own stream is drawn alike in the replay.
            if let Fault::Corrupt { node, key } | Fault::Unreadable { node, key } = &mut fault {
                if key.is_none() {
                    let storage = &self.slots[node.index()].storage;
                    *key = storage.pick_key(&mut self.fault_rng);
                }
            }
            let splits = replaces_groups(&fault);
            if splits {
                if let Some(old) = self.nemesis_split_undo.take() {
                    self.fault_pool[old as usize] = None;
                }
            }
            if let Some(undo) = undo {
                let idx = self.schedule_fault(until, undo);
                if splits {
                    self.nemesis_split_undo = Some(idx);
                }
                self.nemesis_undos
                    .retain(|i| self.fault_pool[*i as usize].is_some());
                self.nemesis_undos.push(idx);
            }
            self.apply_fault(fault);
        }
    }

    /// Applies a fault now and records it.
    fn apply_fault(&mut self, fault: Fault) {
        let now = self.now;
        // The record of an armed crash that fell is not one more fault.
        if !matches!(
            fault,
            Fault::CrashAtSync { sync: 0, .. } | Fault::Departed(_)
        ) {
            self.stats.faults += 1;
        }
        self.trace.mix(TAG_FAULT, now, fnv_hash(&fault), 0, 0);
        if self.trace.keeps_events() {
            self.trace.keep(now, || TraceKind::Fault {
                fault: fault.clone(),
            });
        }
        match &fault {
            Fault::Partition(groups) => self.network.partition(groups),
            Fault::Cut { from, to } => self.network.cut(from, to),
            Fault::Isolate(node) => self.network.partition(&[vec![*node]]),
            Fault::Heal => self.network.heal(),
            Fault::Crash(node) => self.crash(*node),
            Fault::Wipe(node) => {
                self.crash(*node);
                self.slots[node.index()].storage.wipe();
            }
            Fault::Restart(node) => self.restart(*node),
            Fault::Pause(node) => {
                let slot = &mut self.slots[node.index()];
                if slot.status == NodeStatus::Up {
                    slot.status = NodeStatus::Paused;
                }
            }
            Fault::Resume(node) => self.resume(*node),
            Fault::ClockSkew { node, offset } => {
                self.slots[node.index()].clock.set_offset(now, *offset);
            }
            Fault::ClockDrift { node, ppm } => {
                self.slots[node.index()].clock.set_drift(now, *ppm);
            }
            f if f.is_storage() => {
                self.apply_storage_fault(f);
            }
            f if f.is_membership() => self.apply_membership(f),
            _ => {}
        }
        self.applied.push((now, fault));
    }

    /// A change of the membership (`Fault::is_membership`); a change that does not apply (a
    /// member that joins, a spare asked to leave) does nothing.
    #[cold]
    #[inline(never)]
    fn apply_membership(&mut self, fault: &Fault) {
        if self.membership.is_none() {
            self.membership = Some(Box::new(Membership::new(&self.roster)));
        }
        match *fault {
            Fault::Join(node) => {
                // A node whose leave is called off is told too; one that boots reads the
                // membership itself.
                let leaving = self
                    .membership
                    .as_deref()
                    .is_some_and(|m| m.state(node) == MemberState::Leaving);
                let skip = (!leaving).then_some(node);
                if self.join(node) {
                    self.tell_members(RosterChange::Joined(node), skip);
                }
            }
            Fault::Leave { node, grace } => {
                let Some(m) = self.membership.as_deref_mut() else {
                    return;
                };
                if m.state(node) != MemberState::Member {
                    return;
                }
                m.set(node, MemberState::Leaving);
                if let Some(grace) = grace {
                    let idx = self.schedule_fault(self.now + grace, Fault::Departed(node));
                    if let Some(m) = self.membership.as_deref_mut() {
                        m.set_deadline(node, idx);
                    }
                }
                self.tell_members(RosterChange::Leaving(node), None);
            }
            Fault::Depart(node) | Fault::Departed(node) if self.depart(node) => {
                self.tell_members(RosterChange::Left(node), None);
            }
            Fault::Replace { old, new } => {
                let gone = self.depart(old);
                if gone {
                    self.slots[old.index()].storage.wipe();
                }
                let joined = self.join(new);
                if gone || joined {
                    self.tell_members(RosterChange::Replaced { old, new }, Some(new));
                }
            }
            _ => {}
        }
    }

    /// A spare becomes a member and boots; a node that is leaving stays (its leave is called
    /// off); false otherwise (a member already, or gone for good).
    fn join(&mut self, node: NodeId) -> bool {
        let Some(m) = self.membership.as_deref_mut() else {
            return false;
        };
        if m.state(node) == MemberState::Leaving {
            m.set(node, MemberState::Member);
            if let Some(idx) = m.take_deadline(node) {
                self.fault_pool[idx as usize] = None;
            }
            return true;
        }
        if !m.may_join(node) {
            return false;
        }
        m.set(node, MemberState::Member);
        let slot = &mut self.slots[node.index()];
        slot.status = NodeStatus::Up;
        let incarnation = self.incarnations[node.index()];
        self.queue.push(self.now, Ev::Start { node, incarnation });
        true
    }

    /// A member is gone: its pending leave deadline is withdrawn and it stops (its disk kept,
    /// every write it made included); false if it was not a member.
    fn depart(&mut self, node: NodeId) -> bool {
        let Some(m) = self.membership.as_deref_mut() else {
            return false;
        };
        if !m.is_member(node) {
            return false;
        }
        m.set(node, MemberState::Left);
        if let Some(idx) = m.take_deadline(node) {
            self.fault_pool[idx as usize] = None;
        }
        self.stop(node);
        true
    }

    /// Tells every member that is up or paused (but `skip`, which boots and reads the
    /// membership itself) of a change, each as an event of its own at this instant.
    fn tell_members(&mut self, change: RosterChange, skip: Option<NodeId>) {
        let Some(m) = self.membership.as_deref() else {
            return;
        };
        for i in 0..self.slots.len() {
            let node = NodeId(i as u32);
            if Some(node) == skip || !m.is_member(node) || self.slots[i].status == NodeStatus::Down
            {
                continue;
            }
            let incarnation = self.incarnations[i];
            self.queue.push_for(
                self.now,
                node.0,
                Ev::Roster {
                    node,
                    incarnation,
                    change,
                },
            );
        }
    }

    /// A fault of a node's disk (`Fault::is_storage`), its fault model turned on if it was not.
    fn apply_storage_fault(&mut self, fault: &Fault) {
        let Some(&node) = fault.storage_node() else {
            return;
        };
        let seed = self.seed;
        let storage = &mut self.slots[node.index()].storage;
        if !storage.faults_on() {
            storage.enable_faults(
                || stream(seed, Stream::Disk(node.0)),
                crate::storage::DiskRates::default(),
            );
        }
        match fault {
            Fault::ProcessCrash(node) => {
                self.stop(*node);
            }
            Fault::PowerLoss { node, keep, torn } => {
                self.stop(*node);
                self.slots[node.index()].storage.power_loss(*keep, *torn);
            }
            Fault::SyncFail(_) => storage.fail_next_sync(),
            Fault::LostWrite { misdirected, .. } => storage.lose_next_write(*misdirected),
            Fault::DiskFull(_) => storage.set_full(true),
            Fault::CrashAtSync {
                node,
                sync: 0,
                power,
                keep,
                torn,
            } => {
                // The record of an armed crash that fell: the node goes down now.
                let stopped = self.stop(*node);
                if stopped && *power {
                    self.slots[node.index()].storage.power_loss(*keep, *torn);
                }
            }
            Fault::CrashAtSync {
                sync,
                power,
                keep,
                torn,
                ..
            } => storage.arm_crash(*sync, *power, *keep, *torn),
            Fault::DiskFree(_) => storage.set_full(false),
            Fault::Corrupt { key, .. } => {
                let hit = storage.damage(key.as_deref(), true);
                self.disk_note(node, hit, "corrupt");
            }
            Fault::Unreadable { key, .. } => {
                let hit = storage.damage(key.as_deref(), false);
                self.disk_note(node, hit, "unreadable");
            }
            _ => {}
        }
        let storage = &mut self.slots[node.index()].storage;
        trace_disk_events(&mut self.trace, storage, self.now, node);
    }

    /// Notes which record a corruption or read fault hit (or that there was none to hit).
    fn disk_note(&mut self, node: NodeId, hit: Option<String>, what: &str) {
        let text = match hit {
            Some(key) => format!("disk: {key} is {what}"),
            None => format!("disk: no record to make {what}"),
        };
        self.trace
            .mix(TAG_DISK, self.now, u64::from(node.0), fnv_hash(&text), 0);
        self.trace.keep(self.now, || TraceKind::Note { node, text });
    }

    fn crash(&mut self, node: NodeId) {
        if self.stop(node) {
            self.slots[node.index()].storage.crash();
        }
    }

    /// Stops a node that is not down: its state, its backlog and the events of its current
    /// incarnation are gone; its storage is the caller's to fault. False if it was down.
    fn stop(&mut self, node: NodeId) -> bool {
        let slot = &mut self.slots[node.index()];
        if slot.status == NodeStatus::Down {
            return false;
        }
        slot.status = NodeStatus::Down;
        slot.node = None;
        slot.storage.disarm_crash();
        self.incarnations[node.index()] += 1;
        let mut lost = std::mem::take(&mut slot.backlog);
        if let Some(cap) = self.capacity.as_deref_mut() {
            lost.extend(cap.clear(node, self.now));
        }
        for ev in lost {
            if let Ev::Deliver { from, to, id, .. } = ev {
                self.record_drop(from, to, id, DropReason::Crashed);
            }
        }
        true
    }

    fn restart(&mut self, node: NodeId) {
        // A node that is not a member (a spare, or one that left) only comes back by joining.
        if self
            .membership
            .as_deref()
            .is_some_and(|m| !m.is_member(node))
        {
            return;
        }
        let slot = &mut self.slots[node.index()];
        if slot.status != NodeStatus::Down {
            // A crash armed inside a handler that never came is called off.
            slot.storage.disarm_crash();
            return;
        }
        slot.status = NodeStatus::Up;
        let incarnation = self.incarnations[node.index()];
        self.queue.push(self.now, Ev::Start { node, incarnation });
    }

    fn resume(&mut self, node: NodeId) {
        let slot = &mut self.slots[node.index()];
        if slot.status != NodeStatus::Paused {
            return;
        }
        slot.status = NodeStatus::Up;
        let backlog = std::mem::take(&mut slot.backlog);
        for ev in backlog {
            self.queue.push(self.now, ev);
        }
    }
}

#[inline(always)]
/// The node whose PCT priority orders an event, if it is a node's: a message's sender (its
/// chain, as in PCTCP: messages from different senders race at one receiver, those of one
/// sender to one receiver stay in order), a timer's or boot's own node.
fn ev_node<M, T>(ev: &Ev<M, T>) -> Option<NodeId> {
    match ev {
        Ev::Start { node, .. }
        | Ev::Timer { node, .. }
        | Ev::Ready { node, .. }
        | Ev::Roster { node, .. } => Some(*node),
        Ev::Deliver { from, .. } => Some(*from),
        Ev::Fault(_) | Ev::NemesisTick | Ev::NemesisStrike | Ev::NemesisStop => None,
    }
}

/// Mixes what `node`'s disk did (faults that hit, failed syncs) into the trace, as notes.
fn trace_disk_events<V: Clone>(
    trace: &mut Trace,
    storage: &mut Storage<V>,
    now: SimTime,
    node: NodeId,
) {
    if !storage.has_events() {
        return;
    }
    for text in storage.take_events() {
        trace.mix(TAG_DISK, now, u64::from(node.0), fnv_hash(&text), 0);
        trace.keep(now, || TraceKind::Note {
            node,
            text: format!("disk: {text}"),
        });
    }
}

fn pair(from: NodeId, to: NodeId) -> u64 {
    u64::from(from.0) << 32 | u64::from(to.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::LinkSpec;

    /// Every millisecond: cancels the timer that just fired (a no-op) and, with a fresh
    /// timer, also sets a doomed one and cancels it, which must never fire.
    struct Canceller {
        last: Option<TimerId>,
    }

    impl Node for Canceller {
        type Msg = ();
        type Timer = bool;
        type Stored = ();

        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            self.last = Some(ctx.set_timer(Duration::from_millis(1), true));
        }

        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}

        fn on_timer(&mut self, ctx: &mut Context<'_, Self>, keep: bool) {
            assert!(keep, "a cancelled timer fired");
            if let Some(fired) = self.last.take() {
                ctx.cancel_timer(fired);
            }
            let doomed = ctx.set_timer(Duration::from_millis(5), false);
            ctx.cancel_timer(doomed);
            self.last = Some(ctx.set_timer(Duration::from_millis(1), true));
        }
    }

    #[test]
    fn cancellations_of_fired_timers_do_not_pile_up() {
        let roster = Roster::new([("a".to_string(), "n".to_string())]);
        let config = SimConfig {
            seed: 1,
            bounds: Bounds {
                max_time: Duration::from_secs(20),
                max_events: 1_000_000,
                max_memory: crate::memory::DEFAULT_BUDGET,
                recovery: None,
            },
            roster,
            network: Network::new(1, LinkSpec::default()),
            schedule: Vec::new(),
            nemesis: None,
            trace: TraceLevel::HashOnly,
            scheduler: Default::default(),
            history_file: None,
            disk: Vec::new(),
            disk_atlas: false,
            capacity: Vec::new(),
        };
        let factory: NodeFactory<Canceller> = Box::new(|_, _, _| Canceller { last: None });
        let mut sim = Sim::new(config, factory);
        sim.run_until(SimTime::ZERO + Duration::from_secs(20));
        assert!(sim.stats().timers >= 19_999);
        // 40,000 cancellations, of which only the last few doomed timers are still pending.
        assert!(
            sim.cancelled.len() < PRUNE_CANCELLED_MIN,
            "{}",
            sim.cancelled.len()
        );
    }
}
