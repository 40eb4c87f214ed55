//! Exhaustive bounded search (stateright's and DSLabs' breadth-first model checking) over the
//! choices the engine makes: which due event runs next (those due within a window of the
//! earliest), which message is lost, which node crashes or restarts, which node is cut off from
//! every other and when that heals, within budgets, on the very same node code. Virtual time moves with the chosen event, so timers and leases keep their
//! meaning.
//!
//! States are pruned by fingerprint (`Sim::fingerprint`). A path ends when the run does (no
//! event left, or a bound); a path that reaches `max_depth` choices first is completed in time
//! order. Every check is judged at every end; the first failing path is cut to the shortest
//! prefix that still fails, and written as `Scheduler::Replay` steps that `run` replays.
//!
//! On several threads (`ExhaustiveConfig::threads`) the frontier is taken a batch at a time,
//! its states expanded in parallel against the states seen before the batch, and the results
//! taken in the batch's order as one thread takes them: the same states, counts and paths on
//! any number of threads.

use super::seen::{Order, Seen};
use crate::check::{panic_verdict, Status, Verdict};
use crate::error::{Error, Result};
use crate::fault::{resolve_names, NemesisKind};
use crate::memory::Bytes;
use crate::node::{Node, NodeId, Roster};
use crate::registry::{AnyCheck, Registry};
use crate::scenario::Scenario;
use crate::sim::{Kept, NodeStatus, Pending, PendingKind, RunOutcome, Scheduler, Sim, Step};
use crate::time::Duration;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// What the search may choose and how far it goes.
///
/// Built from `default()` and one setter per field, so a field added later breaks no caller:
///
/// ```
/// use clustersim::explore::exhaustive::{ExhaustiveConfig, Timing};
/// let config = ExhaustiveConfig::default()
///     .timing(Timing::Untimed)
///     .threads(2)
///     .max_depth(40);
/// assert_eq!((config.threads, config.max_depth), (2, 40));
/// ```
///
/// A literal does not compile outside the crate (`#[non_exhaustive]`):
///
/// ```compile_fail,E0639
/// use clustersim::explore::exhaustive::ExhaustiveConfig;
/// let config = ExhaustiveConfig { threads: 2, ..ExhaustiveConfig::default() };
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExhaustiveConfig {
    /// Most choices along one path; a longer path is completed in time order.
    pub max_depth: usize,
    /// Events due within this much of the earliest may run before it (zero: only ties).
    /// Untimed searches ignore it: every pending event is a choice.
    pub window: Duration,
    /// Most crashes along one path.
    pub crashes: u32,
    /// Most disk faults along one path: failed syncs (`Step::SyncFail` of a target: the writes
    /// the sync covers are dropped from the disk) and crashes inside a handler at its next sync
    /// (`Fault::CrashAtSync`, a power loss keeping no unsynced write).
    pub disk_faults: u32,
    /// Most lost messages along one path.
    pub drops: u32,
    /// Most duplicated messages along one path (a copy delivered beside the original).
    pub duplicates: u32,
    /// Most isolations along one path: a target cut off from every other node at any step,
    /// healed at any later step (one at a time).
    pub isolations: u32,
    /// Nodes that may crash.
    pub targets: Vec<NodeId>,
    /// A crashed node may restart at any later step (a choice each step); without it a crashed
    /// node stays down, which keeps the search small.
    pub restarts: bool,
    /// Most distinct states before the search gives up.
    pub max_states: u64,
    /// Whether time is part of a state.
    pub timing: Timing,
    /// A message once sent stays in flight and may be delivered again any number of times
    /// (stateright's duplicating network, TLA+'s set of messages): delivery is
    /// `Step::Redeliver`, and a state holds the messages as a set. Untimed searches only: a
    /// message kept in flight would always be due, and time would never move.
    pub redeliver: bool,
    /// A delivery or timer whose run changes nothing (the receiver's state and storage, the
    /// events pending but for itself, the history) is no step: the event stays pending, to be
    /// run once it would change something (stateright's actor model, where such a no-op is no
    /// action). Every path it leaves is still a path, and every state it leaves out differs
    /// from one it keeps only by ignored events still pending, so the nodes' states and
    /// histories reached, and so every verdict, are the same. Untimed searches without fault
    /// budgets only (a state whose only steps change nothing is a path end, judged; with
    /// faults to choose it would not be): ignored otherwise.
    pub keep_ignored: bool,
    /// Most memory the search may hold (its waiting states and the states it has seen);
    /// `None`: the scenario's `bounds.max_memory`.
    pub max_memory: Option<Bytes>,
    /// Threads that expand states (at least 1). The verdict, the counts and the path are the
    /// same on any number.
    pub threads: usize,
    /// Groups of interchangeable nodes (symmetry reduction, untimed searches only: ignored
    /// when timed, where each node's delays come from a stream of its own): states that
    /// differ only by which member of a group plays which part count once. Sound when the
    /// protocol's nodes in a group run alike (`Protocol::interchangeable`) and the checks do
    /// not tell them apart; a group is split where only some of its members are targets.
    pub symmetry: Vec<Vec<NodeId>>,
    /// A bug planted in the search itself, to prove that its tests catch one.
    #[doc(hidden)]
    pub planted: Option<PlantedBug>,
    /// Every step the search skips as known to change nothing is run anyway, and the search
    /// panics if it changed something (its tests' check of that shortcut).
    #[doc(hidden)]
    pub audit_noops: bool,
}

impl ExhaustiveConfig {
    /// Whether `keep_ignored` applies: asked for, untimed, and no fault to choose.
    pub fn keeps_ignored(&self) -> bool {
        self.keep_ignored
            && self.timing == Timing::Untimed
            && self.crashes == 0
            && self.disk_faults == 0
            && self.drops == 0
            && self.duplicates == 0
            && self.isolations == 0
    }

    /// This value with a bug planted in the search (its own tests' oracle).
    #[doc(hidden)]
    #[must_use]
    pub fn planted(mut self, planted: Option<PlantedBug>) -> Self {
        self.planted = planted;
        self
    }

    /// This value with every skipped no-op run anyway and checked (`audit_noops`).
    #[doc(hidden)]
    #[must_use]
    pub fn audit_noops(mut self, audit: bool) -> Self {
        self.audit_noops = audit;
        self
    }
}

setters!(ExhaustiveConfig {
    max_depth: usize,
    window: Duration,
    crashes: u32,
    disk_faults: u32,
    drops: u32,
    duplicates: u32,
    isolations: u32,
    targets: Vec<NodeId>,
    restarts: bool,
    max_states: u64,
    timing: Timing,
    redeliver: bool,
    keep_ignored: bool,
    max_memory: Option<Bytes>,
    threads: usize,
    symmetry: Vec<Vec<NodeId>>,
});

/// A node the search can copy, fingerprint and hand to another thread.
pub trait SearchNode:
    Node<Msg: Send + Sync, Timer: Send + Sync, Stored: Hash + Send + Sync> + Clone + Hash + Send + Sync
{
}

impl<N> SearchNode for N where
    N: Node<Msg: Send + Sync, Timer: Send + Sync, Stored: Hash + Send + Sync>
        + Clone
        + Hash
        + Send
        + Sync
{
}

/// Whether time is part of a search's states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timing {
    /// Time is kept in the state: events run in time order within `window`, and two states
    /// that differ only in when things happen are different states. For protocols whose safety
    /// rests on time (leases).
    #[default]
    Timed,
    /// Time is no part of the state (stateright's actor model): any pending timer may fire and
    /// any message in flight may arrive next. It covers every timed order and more, so a
    /// property that does not rest on timing and holds here holds in every timed run; a
    /// protocol whose safety rests on time may fail here where no timed run does.
    Untimed,
}

/// A bug planted in the search, which the search's own tests must catch.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// The last choice of every state is never offered.
    DropLastChoice,
    /// Lost messages are never offered.
    NoDrops,
    /// The fault budgets left are no part of a state.
    SkipBudgets,
    /// The nodes' own states are no part of a state.
    SkipNodeState,
    /// Cancelled timers are offered as choices, as before the fix (no part of the state).
    OfferCancelledTimers,
    /// With `keep_ignored`, a state whose only events change nothing is cut, not judged as
    /// the end of its run.
    CutIgnoredEnds,
}

impl Default for ExhaustiveConfig {
    fn default() -> Self {
        ExhaustiveConfig {
            max_depth: 1_000,
            window: Duration::ZERO,
            crashes: 0,
            disk_faults: 0,
            drops: 0,
            duplicates: 0,
            isolations: 0,
            targets: Vec::new(),
            restarts: false,
            max_states: 1_000_000,
            timing: Timing::Timed,
            redeliver: false,
            keep_ignored: false,
            max_memory: None,
            threads: 1,
            symmetry: Vec::new(),
            planted: None,
            audit_noops: false,
        }
    }
}

/// A path that fails a check.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The choices, shortest prefix that still fails (then time order to the end).
    pub steps: Vec<Step>,
    /// The failed verdicts of that run.
    pub failed: Vec<Verdict>,
    /// The run the steps make.
    pub outcome: RunOutcome,
}

/// What a search found.
#[derive(Clone, Debug)]
pub struct ExhaustiveOutcome {
    /// States reached, counting repeats.
    pub explored: u64,
    /// Of those, steps not run because the search knew them to leave their state as it was
    /// (untimed: a message redelivered to a node that already handled it). Each thread
    /// remembers its own, so unlike the other counts this one depends on the thread count.
    pub skipped_noops: u64,
    /// Distinct states.
    pub unique: u64,
    /// Of those, the states before every node's first boot ran (untimed: the boots come first,
    /// one at a time, so a model's initial state is the last of them).
    pub boot_states: u64,
    /// Paths judged by every check: runs that ended, and (timed) paths completed at
    /// `max_depth`.
    pub ends: u64,
    /// The checks that could not decide (an unknown verdict) at some path ends, with how many.
    pub undecided: Vec<Undecided>,
    /// Paths cut at `max_depth`: timed, completed in time order and judged (counted in
    /// `ends` too); untimed, judged by the invariants on their way only.
    pub cut: u64,
    /// States judged by the invariant checks (`Check::invariant`) on the way: every distinct
    /// state (whose history grew, for invariants that read the history).
    pub invariant_states: u64,
    /// Longest path in choices.
    pub max_depth: usize,
    /// Every distinct state was expanded and no path was cut at `max_depth`: the whole state
    /// space of the configuration was explored.
    pub exhausted: bool,
    /// Exhausted, and every check was judged somewhere: at one path end at least, or (when
    /// every check is an invariant) at one state at least. Only then may a search say
    /// "complete".
    pub complete: bool,
    /// The search stopped because what it holds would outgrow its memory budget.
    pub out_of_memory: bool,
    /// The most the search held: estimated from its waiting states and the states it has
    /// seen, or what the process held when the system says so and it is more.
    pub peak_memory: u64,
    /// The memory budget the search ran under.
    pub memory_budget: Bytes,
    /// What a state kept (time and history are left out where the search could).
    pub kept: Kept,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// The first failing path found, if any.
    pub violation: Option<Violation>,
    /// The coverage goals (`ctx.sometimes`) the judged paths evaluated, in order of first
    /// evaluation.
    pub goals: Vec<GoalPaths>,
}

/// A check that could not decide at some path ends.
#[derive(Clone, Debug)]
pub struct Undecided {
    /// Path ends where its verdict was unknown.
    pub ends: u64,
    /// Its first unknown verdict.
    pub first: Verdict,
}

impl ExhaustiveOutcome {
    /// A check that decided at no path end judged (unknown at every one): the search says
    /// nothing about it, so it cannot be complete.
    pub fn never_decided(&self) -> Option<&Undecided> {
        self.undecided
            .iter()
            .find(|u| self.ends > 0 && u.ends == self.ends)
    }
}

/// One coverage goal over the paths of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalPaths {
    /// The goal's name.
    pub name: &'static str,
    /// Path ends whose run evaluated it.
    pub ends_checked: u64,
    /// Of those, the ends whose run saw it hold at least once.
    pub ends_reached: u64,
}

/// Counts one judged path's goals into `goals`.
fn tally_goals(goals: &mut Vec<GoalPaths>, outcome: &RunOutcome) {
    for g in outcome.history.goals() {
        let i = match goals.iter().position(|t| t.name == g.name) {
            Some(i) => i,
            None => {
                goals.push(GoalPaths {
                    name: g.name,
                    ends_checked: 0,
                    ends_reached: 0,
                });
                goals.len() - 1
            }
        };
        goals[i].ends_checked += 1;
        goals[i].ends_reached += u64::from(g.reached());
    }
}

impl ExhaustiveOutcome {
    /// Distinct states per wall-clock second.
    pub fn states_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.unique as f64 / s
        } else {
            0.0
        }
    }
}

/// One state waiting in the frontier.
struct Frontier<N: Node> {
    /// Boxed: a run is large, and states move between the frontier and the pool.
    sim: Box<Sim<N>>,
    print: u64,
    /// Its place in breadth-first order (the root's is 0).
    index: u64,
    depth: usize,
    budgets: Budgets,
    /// First boots still to run (untimed: they run before anything else).
    boots_left: usize,
}

/// The faults a path has spent, part of its state: the same run with more faults to spend has
/// more futures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Budgets {
    crashes: u32,
    disk_faults: u32,
    drops: u32,
    duplicates: u32,
    isolations: u32,
    /// A target is cut off now (the next choice of that kind is the heal).
    isolated: bool,
}

impl Budgets {
    /// The budgets after `step`.
    fn after(mut self, step: &Step) -> Self {
        match step {
            Step::Crash(_) => self.crashes += 1,
            Step::SyncFail(_) | Step::Disk(_) => self.disk_faults += 1,
            Step::Drop(_) => self.drops += 1,
            Step::Duplicate(_) => self.duplicates += 1,
            Step::Partition(_) => (self.isolations, self.isolated) = (self.isolations + 1, true),
            Step::Heal => self.isolated = false,
            Step::Choose(inner, _) => return self.after(inner),
            Step::Run(_) | Step::Redeliver(_) | Step::Restart(_) | Step::Scheduled => {}
        }
        self
    }

    /// Mixed into a state's fingerprint. (Whether a target is cut off is in the network's
    /// part of it.)
    fn print(self) -> u64 {
        u64::from(self.crashes) << 48
            | u64::from(self.isolations) << 40
            | u64::from(self.drops) << 32
            | u64::from(self.duplicates) << 24
            | u64::from(self.disk_faults) << 16
    }
}

/// The choices open at `sim`, a state with `budgets` spent, given its due events: each due
/// event run (and each due message lost or duplicated within budget), each target crashed or
/// restarted, cut off or healed. None when no event is due.
/// How many of a target's next syncs the search may arm a crash at (`--disk-faults`).
const CRASH_SYNCS: u32 = 3;

fn offer<N: Node>(
    sim: &Sim<N>,
    due: &[Pending],
    budgets: Budgets,
    config: &ExhaustiveConfig,
    steps: &mut Vec<Step>,
) {
    steps.clear();
    let planted = config.planted;
    for p in due {
        steps.push(
            if p.message && config.redeliver && config.timing == Timing::Untimed {
                Step::Redeliver(p.seq)
            } else {
                Step::Run(p.seq)
            },
        );
        if p.message {
            if budgets.drops < config.drops && planted != Some(PlantedBug::NoDrops) {
                steps.push(Step::Drop(p.seq));
            }
            if budgets.duplicates < config.duplicates {
                steps.push(Step::Duplicate(p.seq));
            }
        }
    }
    if steps.is_empty() {
        return;
    }
    for &n in &config.targets {
        match sim.status(n) {
            Some(NodeStatus::Up) if budgets.crashes < config.crashes => steps.push(Step::Crash(n)),
            Some(NodeStatus::Down) if config.restarts => steps.push(Step::Restart(n)),
            _ => {}
        }
    }
    if budgets.disk_faults < config.disk_faults {
        for &n in &config.targets {
            if sim.status(n) == Some(NodeStatus::Up) {
                steps.push(Step::SyncFail(n));
                // A crash inside a handler, at one of the node's next syncs, the power gone and
                // no unsynced write kept: what the handler sent before stays sent. The first
                // three: a handler that syncs more often is cut at its first three.
                if !sim.storage(n).is_some_and(|s| s.crash_pending()) {
                    for sync in 1..=CRASH_SYNCS {
                        steps.push(Step::Disk(crate::fault::Fault::CrashAtSync {
                            node: n,
                            sync,
                            power: true,
                            keep: crate::storage::Keep::Nothing,
                            torn: false,
                        }));
                    }
                }
            }
        }
    }
    if budgets.isolated {
        steps.push(Step::Heal);
    } else if budgets.isolations < config.isolations {
        for &n in &config.targets {
            if sim.status(n) == Some(NodeStatus::Up) {
                steps.push(Step::Partition(vec![vec![n]]));
            }
        }
    }
    if planted == Some(PlantedBug::DropLastChoice) && steps.len() > 1 {
        steps.pop();
    }
}

/// What a search's states keep: time only when timed, the history only when a check reads it.
fn kept_for(checks: &[Box<dyn AnyCheck>], config: &ExhaustiveConfig) -> Kept {
    Kept {
        time: config.timing == Timing::Timed,
        history: checks.iter().any(|c| c.reads_history()),
        message_set: config.redeliver && config.timing == Timing::Untimed,
        node_state: config.planted != Some(PlantedBug::SkipNodeState),
    }
}

/// Bytes one entry of the seen-set costs: its fingerprint, its parent's and its step, and a
/// control byte, twice over for the room a hash table keeps free after it doubles.
const SEEN_ENTRY_BYTES: u64 = super::seen::ENTRY_BYTES;

/// What the allocator adds to one copy of a run: a header on each of its buffers.
const ALLOCATION_OVERHEAD: u64 = 256;

/// Bytes one waiting state costs, estimated: a copy of the run (`Sim::copy_bytes`) and the
/// one node its step copied, in a box.
fn state_bytes<N: Node>(sim: &Sim<N>) -> u64 {
    sim.copy_bytes() + std::mem::size_of::<N>() as u64 + ALLOCATION_OVERHEAD
}

/// What the process holds in memory now, where the system says (Linux: `/proc/self/statm`,
/// in 4 KiB pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Searches every path from `root` (a run not yet started, built from a plan with no nemesis)
/// breadth first, judging `checks` at every path's end, and the invariant ones at every state.
pub fn search<N>(
    root: Sim<N>,
    checks: &[Box<dyn AnyCheck>],
    config: &ExhaustiveConfig,
) -> ExhaustiveOutcome
where
    N: SearchNode,
{
    search_judging(root, checks, config, &mut |_| {})
}

/// `search`, showing `on_end` every run it judges at a path's end (what a test compares with
/// another method's runs).
pub fn search_judging<N>(
    root: Sim<N>,
    checks: &[Box<dyn AnyCheck>],
    config: &ExhaustiveConfig,
    on_end: &mut dyn FnMut(&RunOutcome),
) -> ExhaustiveOutcome
where
    N: SearchNode,
{
    // Every state is a copy of its parent with one node's handler run: with the nodes shared,
    // a copy costs that one node, not the cluster.
    search_copies(root.into_shared(), checks, config, on_end)
}

/// `search`, over runs whose copies cost what they copy.
fn search_copies<N>(
    root: Sim<N>,
    checks: &[Box<dyn AnyCheck>],
    config: &ExhaustiveConfig,
    on_end: &mut dyn FnMut(&RunOutcome),
) -> ExhaustiveOutcome
where
    N: SearchNode,
{
    let started = std::time::Instant::now();
    let kept = kept_for(checks, config);
    let budget = config.max_memory.unwrap_or(root.bounds().max_memory);
    let mut out = ExhaustiveOutcome {
        explored: 0,
        skipped_noops: 0,
        unique: 0,
        boot_states: 0,
        ends: 0,
        undecided: Vec::new(),
        cut: 0,
        invariant_states: 0,
        max_depth: 0,
        exhausted: true,
        complete: false,
        out_of_memory: false,
        peak_memory: 0,
        memory_budget: budget,
        kept,
        elapsed: std::time::Duration::ZERO,
        violation: None,
        goals: Vec::new(),
    };
    let base = root.clone();
    let invariants: Vec<&dyn AnyCheck> = checks
        .iter()
        .filter(|c| c.invariant())
        .map(|c| c.as_ref())
        .collect();
    let window = match config.timing {
        Timing::Timed => config.window,
        Timing::Untimed => Duration(u64::MAX),
    };
    let skip_cancelled = config.planted != Some(PlantedBug::OfferCancelledTimers);
    let groups = symmetry_groups(config, root.roster().len());
    let mut root = root;
    root.settle();
    // Untimed, every node's first boot happens before anything else, as at time zero in a
    // timed run (boots are queued first): while one is pending, it is the only choice.
    let first_boots: Vec<u64> = match config.timing {
        Timing::Timed => Vec::new(),
        Timing::Untimed => root
            .pending_events()
            .into_iter()
            .filter(|p| p.kind == PendingKind::Boot)
            .map(|p| p.seq)
            .collect(),
    };
    // The first state is judged by the invariants too.
    if !invariants.is_empty() && !root.stopped() {
        out.invariant_states += 1;
        let so_far = root.outcome_so_far();
        let failed = broken(invariants.iter().copied(), &so_far);
        if !failed.is_empty() {
            out.violation = Some(Violation {
                steps: Vec::new(),
                failed,
                outcome: so_far,
            });
            out.unique = 1;
            out.exhausted = false;
            out.elapsed = started.elapsed();
            return out;
        }
    }
    let print = root.symmetric_fingerprint_of(kept, &groups);
    // Each distinct state's parent and the step that led to it: the path of a failure.
    let seen = Seen::new(print);
    let mut frontier: VecDeque<Frontier<N>> = VecDeque::new();
    // What a waiting state holds, measured on the root and again as states grow.
    let mut per_state = state_bytes(&root);
    let mut sampled = (per_state, 1u64);
    let mut next_resident_check = 0u64;
    frontier.push_back(Frontier {
        sim: Box::new(root),
        print,
        index: 0,
        depth: 0,
        budgets: Budgets::default(),
        boots_left: first_boots.len(),
    });
    out.unique = 1;
    out.boot_states = u64::from(!first_boots.is_empty());
    out.explored = 1;
    // Each worker's buffers and spare runs; worker 0 is this thread.
    let threads = config.threads.max(1);
    let mut own: Worker<N> = Worker::new(threads);
    let helpers: Vec<Worker<N>> = (1..threads).map(|_| Worker::new(threads)).collect();
    let shared = Shared {
        base: &base,
        checks,
        invariants: &invariants,
        config,
        kept,
        window,
        skip_cancelled,
        first_boots: &first_boots,
        groups: &groups,
        keep_ignored: config.keeps_ignored(),
    };
    // States of the last batch not taken when the search stopped.
    let mut unmerged = 0usize;
    let crew = Crew::new(seen);
    let helper_count = helpers.len();
    std::thread::scope(|scope| {
        let _dismiss = Dismiss(&crew);
        for helper in helpers {
            let (crew, shared) = (&crew, &shared);
            scope.spawn(move || crew.serve(shared, helper));
        }
        'search: while !frontier.is_empty() {
            // The next states in breadth-first order, expanded (on every worker) against the
            // states seen before the batch, then taken in order as one thread would: the same
            // states, counts and paths whatever the number of threads.
            let batch: Vec<Frontier<N>> = frontier.drain(..frontier.len().min(BATCH)).collect();
            let mut left = batch.len();
            let expanded = crew.expand(&shared, &mut own, helper_count, batch);
            let seen = &crew.seen;
            for (state, expanded) in expanded {
                left -= 1;
                unmerged = left;
                out.max_depth = out.max_depth.max(state.depth);
                match expanded {
                    Expanded::Cut => {
                        out.cut += 1;
                        out.exhausted = false;
                        continue;
                    }
                    Expanded::End {
                        cut,
                        outcome,
                        failed,
                        unknown,
                    } => {
                        if cut {
                            out.cut += 1;
                            out.exhausted = false;
                        }
                        out.ends += 1;
                        on_end(&outcome);
                        tally_goals(&mut out.goals, &outcome);
                        if !failed.is_empty() {
                            let path = seen.path_to(state.print);
                            out.violation = Some(shortest_prefix(&base, path, checks));
                            break 'search;
                        }
                        // A check that could not decide at an end is no pass there.
                        for v in unknown {
                            match out.undecided.iter_mut().find(|u| u.first.check == v.check) {
                                Some(u) => u.ends += 1,
                                None => out.undecided.push(Undecided { ends: 1, first: v }),
                            }
                        }
                        continue;
                    }
                    Expanded::Children(children) => {
                        for child in children {
                            out.explored += 1;
                            out.skipped_noops += u64::from(child.skipped);
                            let Some(sim) = child.sim else {
                                continue;
                            };
                            // Recorded by its worker, and still the first place it was met
                            // now that every worker is done.
                            if seen.first(child.print) != Some(child.order) {
                                own.recycle(sim);
                                continue;
                            }
                            out.unique += 1;
                            out.max_depth = out.max_depth.max(state.depth + 1);
                            out.boot_states += u64::from(child.boots_left > 0);
                            if let Some(judged) = child.judged {
                                out.invariant_states += 1;
                                if !judged.failed.is_empty() {
                                    let path = seen.path_to(child.print);
                                    let mut v = shortest_prefix(&base, path.clone(), checks);
                                    // An invariant that a later step undid (it was not one, then):
                                    // the path to the state that broke it, and what it said there.
                                    if v.failed.is_empty() {
                                        v = Violation {
                                            steps: path,
                                            failed: judged.failed,
                                            outcome: *judged.so_far.expect("kept with a failure"),
                                        };
                                    }
                                    out.violation = Some(v);
                                    break 'search;
                                }
                            }
                            // The mean of a sample of the states made: one state's queue can hold
                            // far more than the others'.
                            if out.unique & 63 == 0 {
                                sampled = (sampled.0 + state_bytes(&sim), sampled.1 + 1);
                                per_state = sampled.0 / sampled.1;
                            }
                            frontier.push_back(Frontier {
                                sim,
                                print: child.print,
                                index: out.unique - 1,
                                depth: state.depth + 1,
                                budgets: child.budgets,
                                boots_left: child.boots_left,
                            });
                        }
                    }
                }
                let waiting = frontier.len() + left;
                if out.unique >= config.max_states && waiting > 0 {
                    out.exhausted = false;
                    break 'search;
                }
                // Waiting states, the spare runs kept for copies, and the seen-set.
                let held = (waiting as u64 + (POOL as u64).min(out.unique))
                    .saturating_mul(per_state)
                    .saturating_add(out.unique.saturating_mul(SEEN_ENTRY_BYTES));
                out.peak_memory = out.peak_memory.max(held);
                // The estimate cannot see what nodes allocate: the process's own count is the guard.
                if out.unique >= next_resident_check {
                    next_resident_check = out.unique + 1024;
                    if let Some(resident) = resident_bytes() {
                        out.peak_memory = out.peak_memory.max(resident);
                        if resident > budget.0 {
                            out.exhausted = false;
                            out.out_of_memory = true;
                            break 'search;
                        }
                    }
                }
                if held > budget.0 {
                    out.exhausted = false;
                    out.out_of_memory = true;
                    break 'search;
                }
            }
        }
    });
    if !frontier.is_empty() || unmerged > 0 {
        out.exhausted = false;
    }
    let every_check_invariant = !checks.is_empty() && invariants.len() == checks.len();
    out.complete = out.exhausted
        && out.violation.is_none()
        && out.never_decided().is_none()
        && (out.ends > 0 || (every_check_invariant && out.invariant_states > 0));
    out.elapsed = started.elapsed();
    out
}

/// Runs kept for reuse at most, over all workers: enough for the duplicates of a few wide
/// states (a run is about 10 KB).
const POOL: usize = 1024;

/// States taken from the frontier at a time, expanded in parallel and then taken in order.
/// Fixed, not a function of the thread count, so every count is the same on any number.
const BATCH: usize = 256;

/// States of a batch a worker takes at a time.
const TAKE: usize = 16;

/// What every worker reads while a batch is expanded.
struct Shared<'a, N: Node> {
    base: &'a Sim<N>,
    checks: &'a [Box<dyn AnyCheck>],
    invariants: &'a [&'a dyn AnyCheck],
    config: &'a ExhaustiveConfig,
    kept: Kept,
    window: Duration,
    skip_cancelled: bool,
    first_boots: &'a [u64],
    /// The interchangeable groups, each sorted and all of a kind (targets or not).
    groups: &'a [Vec<NodeId>],
    /// A step that changes nothing is no step (`ExhaustiveConfig::keeps_ignored`).
    keep_ignored: bool,
}

/// One worker's buffers and the runs it is done with (duplicates, expanded states), copied
/// into instead of freed.
struct Worker<N: Node> {
    // Boxed on purpose: a run moves from the pool to the frontier and back, a pointer each time.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<Sim<N>>>,
    pool_cap: usize,
    due: Vec<Pending>,
    steps: Vec<Step>,
    /// A handler has called `ctx.choose`: states are kept until every value is tried.
    chooses: bool,
    /// With `keep_ignored`: whether running an event changes nothing, by `Sim::run_key` (a
    /// function of it, kept so a known answer costs no copy).
    ignored: HashMap<u64, bool>,
    /// Untimed: whether a step leaves its state exactly as it was (a message redelivered to a
    /// node that already handled it), by the step's kind and `Sim::run_key`, so a known no-op
    /// costs no copy. Only kept for handlers that neither read the clock nor asked for
    /// anything: what they did is a function of that key alone.
    noops: HashMap<u64, bool, std::hash::BuildHasherDefault<super::seen::PrintHasher>>,
}

/// Most entries a worker's no-op memo holds (16 bytes each, twice over): past it, new
/// answers are not kept, and the search only runs slower.
const NOOPS_MAX: usize = 1 << 18;

impl<N: Node + Clone> Worker<N> {
    fn new(threads: usize) -> Self {
        Worker {
            pool: Vec::new(),
            pool_cap: POOL / threads,
            due: Vec::new(),
            steps: Vec::new(),
            chooses: false,
            ignored: HashMap::new(),
            noops: HashMap::default(),
        }
    }

    /// Keeps `sim` for a later copy, unless enough are kept.
    fn recycle(&mut self, sim: Box<Sim<N>>) {
        if self.pool.len() < self.pool_cap {
            self.pool.push(sim);
        }
    }

    /// A copy of `parent`, into a spare run when there is one.
    fn copy(&mut self, parent: &Sim<N>) -> Box<Sim<N>> {
        match self.pool.pop() {
            Some(mut used) => {
                (*used).clone_from(parent);
                used
            }
            None => Box::new(parent.clone()),
        }
    }
}

/// The state being expanded, as the merge needs it.
struct Expanding {
    print: u64,
    depth: usize,
}

/// What expanding one state gave.
enum Expanded<N: Node> {
    /// An untimed path as long as allowed: judged by the invariants on its way only.
    Cut,
    /// The run ended here (or, timed, was cut and completed in time order), judged.
    End {
        cut: bool,
        outcome: Box<RunOutcome>,
        failed: Vec<Verdict>,
        /// The checks that could not decide (no pass here).
        unknown: Vec<Verdict>,
    },
    /// Its children, in the order of the choices.
    Children(Vec<Child<N>>),
}

/// One choice's state.
struct Child<N: Node> {
    /// `None`: met earlier.
    sim: Option<Box<Sim<N>>>,
    /// A step known to change nothing, not run (its parent again).
    skipped: bool,
    print: u64,
    /// Where it was met.
    order: Order,
    budgets: Budgets,
    boots_left: usize,
    /// What the invariants said of it, if any were judged.
    judged: Option<Judged>,
}

/// What the invariants said of a state.
struct Judged {
    failed: Vec<Verdict>,
    /// The run so far, when one failed (boxed: a child moves several times, and this is rare).
    so_far: Option<Box<RunOutcome>>,
}

/// A batch handed to the crew: each state taken once, by whoever comes first.
type Slots<N> = std::sync::Arc<Vec<std::sync::Mutex<Option<Frontier<N>>>>>;

/// The threads that expand states beside this one, alive for the whole search (a thread
/// started per batch costs more than the batch), and the seen-set they read between merges.
struct Crew<N: Node> {
    state: std::sync::Mutex<CrewState<N>>,
    /// A new batch (or the end).
    wake: std::sync::Condvar,
    /// Every helper is done with the batch.
    done: std::sync::Condvar,
    /// The next state of the batch to take.
    next: std::sync::atomic::AtomicUsize,
    /// The states met so far: every worker records what it finds while a batch is expanded.
    seen: Seen,
}

struct CrewState<N: Node> {
    generation: u64,
    stop: bool,
    batch: Slots<N>,
    /// Helpers still on the batch.
    busy: usize,
    results: Vec<(usize, (Expanding, Expanded<N>))>,
}

impl<N: SearchNode> Crew<N> {
    fn new(seen: Seen) -> Self {
        Crew {
            state: std::sync::Mutex::new(CrewState {
                generation: 0,
                stop: false,
                batch: std::sync::Arc::new(Vec::new()),
                busy: 0,
                results: Vec::new(),
            }),
            wake: std::sync::Condvar::new(),
            done: std::sync::Condvar::new(),
            next: std::sync::atomic::AtomicUsize::new(0),
            seen,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CrewState<N>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A helper's life: each batch's states, until the search ends.
    fn serve(&self, shared: &Shared<'_, N>, mut worker: Worker<N>) {
        let mut seen_generation = 0;
        loop {
            let batch = {
                let mut g = self.lock();
                while g.generation == seen_generation && !g.stop {
                    g = self.wake.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                if g.stop {
                    return;
                }
                seen_generation = g.generation;
                g.batch.clone()
            };
            let done = self.take(shared, &mut worker, &batch);
            let mut g = self.lock();
            g.results.extend(done);
            g.busy -= 1;
            if g.busy == 0 {
                self.done.notify_all();
            }
        }
    }

    /// States of `batch` expanded by `worker`, taken one at a time until none is left.
    fn take(
        &self,
        shared: &Shared<'_, N>,
        worker: &mut Worker<N>,
        batch: &Slots<N>,
    ) -> Vec<(usize, (Expanding, Expanded<N>))> {
        let mut done = Vec::new();
        loop {
            // A run of neighbours at a time: siblings share their nodes, whose reference
            // counts then stay in one thread's cache.
            let first = self
                .next
                .fetch_add(TAKE, std::sync::atomic::Ordering::Relaxed);
            for i in first..first + TAKE {
                let Some(slot) = batch.get(i) else {
                    return done;
                };
                let state = slot
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("each state is taken once");
                done.push((i, expand(shared, &self.seen, worker, state)));
            }
        }
    }

    /// Expands `batch` on this thread's `worker` and every helper, each state against the
    /// states seen before the batch; the results in the batch's order.
    fn expand(
        &self,
        shared: &Shared<'_, N>,
        worker: &mut Worker<N>,
        helpers: usize,
        batch: Vec<Frontier<N>>,
    ) -> Vec<(Expanding, Expanded<N>)> {
        // Too few states to share out: waking the helpers would cost more than it saves.
        if helpers == 0 || batch.len() < 4 * (helpers + 1) {
            return batch
                .into_iter()
                .map(|state| expand(shared, &self.seen, worker, state))
                .collect();
        }
        let len = batch.len();
        let slots: Slots<N> = std::sync::Arc::new(
            batch
                .into_iter()
                .map(|s| std::sync::Mutex::new(Some(s)))
                .collect(),
        );
        self.next.store(0, std::sync::atomic::Ordering::Relaxed);
        {
            let mut g = self.lock();
            g.batch = slots.clone();
            g.busy = helpers;
            g.results.clear();
            g.generation += 1;
        }
        self.wake.notify_all();
        let mut all = self.take(shared, worker, &slots);
        {
            let mut g = self.lock();
            while g.busy > 0 {
                g = self.done.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            all.append(&mut g.results);
            g.batch = std::sync::Arc::new(Vec::new());
        }
        let mut results: Vec<Option<(Expanding, Expanded<N>)>> = (0..len).map(|_| None).collect();
        for (i, r) in all {
            results[i] = Some(r);
        }
        results
            .into_iter()
            .map(|r| r.expect("every state expanded"))
            .collect()
    }

    /// Ends every helper's life.
    fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_all();
    }
}

/// Stops the crew when the search ends, however it ends (a panic included: the helpers would
/// otherwise wait for a batch forever, and the scope for them).
struct Dismiss<'a, N: SearchNode>(&'a Crew<N>);

impl<N: SearchNode> Drop for Dismiss<'_, N> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The choices open at `state` and the state each leads to, judged by the invariants; or the
/// end of its path, judged by every check.
fn expand<N: SearchNode>(
    shared: &Shared<'_, N>,
    seen: &Seen,
    worker: &mut Worker<N>,
    state: Frontier<N>,
) -> (Expanding, Expanded<N>) {
    let config = shared.config;
    let mut due = std::mem::take(&mut worker.due);
    let mut steps = std::mem::take(&mut worker.steps);
    state
        .sim
        .due_of(shared.window, &mut due, shared.skip_cancelled);
    steps.clear();
    if !state.sim.stopped() && state.depth < config.max_depth {
        match due.iter().find(|p| shared.first_boots.contains(&p.seq)) {
            Some(boot) => steps.push(Step::Run(boot.seq)),
            None => offer(&state.sim, &due, state.budgets, config, &mut steps),
        }
    }
    let expanding = Expanding {
        print: state.print,
        depth: state.depth,
    };
    let expanded = if steps.is_empty() {
        end_of(shared, worker, state.sim, !due.is_empty())
    } else {
        children_of(shared, seen, worker, state, &mut steps)
    };
    worker.due = due;
    worker.steps = steps;
    (expanding, expanded)
}

/// A state with no choice left: the run ended here, or the path is as long as allowed.
fn end_of<N: SearchNode>(
    shared: &Shared<'_, N>,
    worker: &mut Worker<N>,
    sim: Box<Sim<N>>,
    anything_due: bool,
) -> Expanded<N> {
    // A run with nothing due but cancelled timers ends as a run in time order would.
    let cut = !sim.stopped() && anything_due;
    // Untimed, a state does not say when its events are due, so no time order goes on from
    // it: a cut path is judged by the invariants on its way only.
    if cut && shared.config.timing == Timing::Untimed {
        worker.recycle(sim);
        return Expanded::Cut;
    }
    let outcome = (*sim).run();
    let failed = judge(&outcome, shared.checks);
    let mut unknown = Vec::new();
    if failed.is_empty() && outcome.panic.is_none() {
        unknown = shared
            .checks
            .iter()
            .map(|c| c.evaluate(&outcome))
            .filter(|v| v.status == Status::Unknown)
            .collect();
    }
    Expanded::End {
        cut,
        outcome: Box::new(outcome),
        failed,
        unknown,
    }
}

/// A state where nothing left to run changes anything (`keep_ignored`): the run ends here,
/// judged as if it ran its ignored events in time order (they change nothing).
fn ignored_end<N: SearchNode>(
    shared: &Shared<'_, N>,
    worker: &mut Worker<N>,
    sim: Box<Sim<N>>,
) -> Expanded<N> {
    if shared.config.planted == Some(PlantedBug::CutIgnoredEnds) {
        worker.recycle(sim);
        return Expanded::Cut;
    }
    end_of(shared, worker, sim, false)
}

/// Every choice's state from `state`, those not seen before the batch copied and judged by
/// the invariants.
fn children_of<N: SearchNode>(
    shared: &Shared<'_, N>,
    seen: &Seen,
    worker: &mut Worker<N>,
    state: Frontier<N>,
    steps: &mut Vec<Step>,
) -> Expanded<N> {
    let config = shared.config;
    let history_len = state.sim.history_len();
    let mut children = Vec::with_capacity(steps.len());
    // Untimed, a step that leaves the state as it was is known by its key, once met: no copy.
    let memo = config.timing == Timing::Untimed
        && !shared.keep_ignored
        && shared.kept.node_state
        && !state.sim.faults_pending();
    let mut parent_print: Option<u64> = None;
    // The last step goes on from the state itself, so a state with one way on (most of them)
    // is never copied; once a handler has chosen (`ctx.choose`), the state is kept until its
    // choices are all tried.
    let mut own = Some(state.sim);
    let mut i = 0;
    while i < steps.len() {
        let step = steps[i].clone();
        i += 1;
        // What the state would be were this event gone and nothing else changed, unless
        // running it is known to change something (or nothing: no step, and no copy).
        let mut key = None;
        let mut unchanged = None;
        if let (Step::Run(seq), Some(parent)) = (&step, own.as_deref_mut()) {
            if shared.keep_ignored && !shared.first_boots.contains(seq) {
                key = parent.run_key(shared.kept, *seq);
                match key.and_then(|k| worker.ignored.get(&k).copied()) {
                    Some(true) if i == steps.len() && children.is_empty() => {
                        let parent = own.take().expect("matched above");
                        return ignored_end(shared, worker, parent);
                    }
                    Some(true) => continue,
                    Some(false) => {}
                    None => unchanged = Some(parent.fingerprint_without(shared.kept, *seq)),
                }
            }
        }
        // A step known to leave the state as it was: a duplicate of its parent, no copy.
        let mut noop_key = None;
        let mut audited = false;
        if memo {
            if let (Step::Run(seq) | Step::Redeliver(seq), Some(parent)) =
                (&step, own.as_deref_mut())
            {
                if !shared.first_boots.contains(seq) {
                    noop_key = parent
                        .run_key(shared.kept, *seq)
                        .map(|k| k ^ u64::from(matches!(step, Step::Redeliver(_))));
                    if let Some(k) = noop_key {
                        audited = worker.noops.get(&k) == Some(&true) && config.audit_noops;
                        if worker.noops.get(&k) == Some(&true) && !audited {
                            children.push(Child {
                                sim: None,
                                skipped: true,
                                print: state.print,
                                order: (state.index + 1, (i - 1) as u32),
                                budgets: state.budgets,
                                boots_left: state.boots_left,
                                judged: None,
                            });
                            continue;
                        }
                        if parent_print.is_none() {
                            // Without symmetry, the state's own print less its budgets.
                            parent_print = Some(
                                if shared.groups.is_empty()
                                    && config.planted != Some(PlantedBug::SkipBudgets)
                                {
                                    state.print ^ state.budgets.print()
                                } else {
                                    parent.fingerprint_of(shared.kept)
                                },
                            );
                        }
                    }
                }
            }
        }
        let acted = own.as_deref().map(|p| p.acted());
        let last = i == steps.len() && !worker.chooses;
        let mut child = if last {
            own.take().expect("the state goes to its last step only")
        } else {
            let parent = own.as_deref().expect("kept until the last step");
            worker.copy(parent)
        };
        let (inner, forced) = match &step {
            Step::Choose(inner, values) => ((**inner).clone(), values.clone()),
            other => (other.clone(), Vec::new()),
        };
        child.force_choices(forced);
        child.apply_step(&inner);
        let step = match child.take_choices() {
            Some(c) if !c.made.is_empty() => {
                if let Some(next) = c.next() {
                    steps.push(Step::Choose(Box::new(inner.clone()), next));
                    if own.is_none() {
                        // The first choice on this worker, on a state already spent: rebuilt
                        // from the root to try its other values.
                        let path = seen.path_to(state.print);
                        own = Some(Box::new(replay_to(shared.base, &path)));
                    }
                }
                worker.chooses = true;
                Step::Choose(Box::new(inner), c.made)
            }
            _ => step,
        };
        // Whether this step left the state exactly as it was, kept for the next state where it
        // has this key: only for a handler that neither read the clock nor asked for anything
        // (a send or a timer would be new elsewhere) and made no choice.
        let mut plain = None;
        if let (Some(k), Some(before), Some(unchanged)) = (noop_key, acted, parent_print) {
            let print = child.fingerprint_of(shared.kept);
            plain = Some(print);
            if audited {
                assert_eq!(
                    print, unchanged,
                    "a step the search skips as a no-op changed its state: {step:?}"
                );
            } else if worker.noops.len() < NOOPS_MAX {
                let noop = matches!(step, Step::Run(_) | Step::Redeliver(_))
                    && child.acted() == before
                    && !child.stopped()
                    && child.history_len() == history_len
                    && print == unchanged;
                worker.noops.insert(k, noop);
            }
        }
        // Ignored: the event stays pending (never with a choice made: that is a branch).
        if let Some(unchanged) = unchanged {
            let print = child.fingerprint_of(shared.kept);
            let ignored = matches!(step, Step::Run(_)) && !child.stopped() && unchanged == print;
            if let Some(k) = key {
                worker.ignored.insert(k, ignored);
            }
            if ignored {
                if i == steps.len() && children.is_empty() {
                    if let Some(parent) = own.take() {
                        worker.recycle(parent);
                    }
                    return ignored_end(shared, worker, child);
                }
                worker.recycle(child);
                continue;
            }
            plain = Some(print);
        }
        let budgets = state.budgets.after(&step);
        let booted = match &step {
            Step::Run(seq) => shared.first_boots.contains(seq),
            Step::Choose(inner, _) => {
                matches!(**inner, Step::Run(seq) if shared.first_boots.contains(&seq))
            }
            _ => false,
        };
        let boots_left = state.boots_left - usize::from(booted && state.boots_left > 0);
        let mut print = match plain {
            Some(print) if shared.groups.is_empty() => print,
            _ => child.symmetric_fingerprint_of(shared.kept, shared.groups),
        };
        if config.planted != Some(PlantedBug::SkipBudgets) {
            print ^= budgets.print();
        }
        // Met at an earlier place in breadth-first order: a duplicate, whose copy goes back at
        // once. A copy kept here may still turn out second to another worker's; the merge says.
        let order = (state.index + 1, (i - 1) as u32);
        if !seen.claim(print, state.print, &step, order) {
            worker.recycle(child);
            children.push(Child {
                sim: None,
                skipped: audited,
                print,
                order,
                budgets,
                boots_left,
                judged: None,
            });
            continue;
        }
        // Invariants are judged on every new state: those that read the history where it
        // grew, the others (they read the nodes' states) everywhere. A run that stopped at a
        // panic is judged at its end, where it fails `NoPanic`.
        let grew = child.history_len() != history_len;
        let judged_here = |c: &dyn AnyCheck| grew || !c.reads_history();
        let judged =
            (shared.invariants.iter().any(|c| judged_here(*c)) && !child.stopped()).then(|| {
                let so_far = child.outcome_so_far();
                let failed = broken(
                    shared
                        .invariants
                        .iter()
                        .copied()
                        .filter(|c| judged_here(*c)),
                    &so_far,
                );
                let so_far = (!failed.is_empty()).then(|| Box::new(so_far));
                Judged { failed, so_far }
            });
        children.push(Child {
            sim: Some(child),
            skipped: false,
            print,
            order,
            budgets,
            boots_left,
            judged,
        });
    }
    if let Some(parent) = own {
        worker.recycle(parent);
    }
    Expanded::Children(children)
}

/// `config.symmetry` as the search uses it: each group's members in range, sorted and
/// distinct, split into those that are targets and those that are not (a target can crash, the
/// others cannot: they are not alike), groups of one left out.
fn symmetry_groups(config: &ExhaustiveConfig, nodes: usize) -> Vec<Vec<NodeId>> {
    let mut groups = Vec::new();
    if config.timing == Timing::Timed {
        return groups;
    }
    let mut taken = vec![false; nodes];
    for g in &config.symmetry {
        let mut members: Vec<NodeId> = g
            .iter()
            .copied()
            .filter(|n| n.index() < nodes && !std::mem::replace(&mut taken[n.index()], true))
            .collect();
        members.sort_unstable();
        members.dedup();
        let (targets, others): (Vec<NodeId>, Vec<NodeId>) = members
            .into_iter()
            .partition(|n| config.targets.contains(n));
        groups.extend([targets, others].into_iter().filter(|g| g.len() > 1));
    }
    groups
}

/// The failed verdicts of `invariants` on a state's run so far.
fn broken<'a>(
    invariants: impl Iterator<Item = &'a dyn AnyCheck>,
    so_far: &RunOutcome,
) -> Vec<Verdict> {
    invariants
        .map(|c| c.evaluate(so_far))
        .filter(|v| v.status == Status::Fail)
        .collect()
}

/// The checks a finished run fails (a panic fails `NoPanic`).
fn judge(outcome: &RunOutcome, checks: &[Box<dyn AnyCheck>]) -> Vec<Verdict> {
    if let Some(p) = &outcome.panic {
        return vec![panic_verdict(outcome, p)];
    }
    checks
        .iter()
        .map(|c| c.evaluate(outcome))
        .filter(|v| !v.passed())
        .collect()
}

/// Replays `steps` from `base` (then time order to the end).
pub fn replay<N: Node + Clone>(base: &Sim<N>, steps: &[Step]) -> RunOutcome {
    replay_to(base, steps).run()
}

/// The run `steps` lead to from `base`, settled.
fn replay_to<N: Node + Clone>(base: &Sim<N>, steps: &[Step]) -> Sim<N> {
    let mut sim = base.clone();
    for s in steps {
        sim.settle();
        if sim.stopped() {
            break;
        }
        sim.apply_step(s);
    }
    sim.settle();
    sim
}

/// The shortest prefix of a failing path whose time-order completion still fails.
fn shortest_prefix<N: Node + Clone>(
    base: &Sim<N>,
    path: Vec<Step>,
    checks: &[Box<dyn AnyCheck>],
) -> Violation {
    for len in 0..=path.len() {
        let outcome = replay(base, &path[..len]);
        let failed = judge(&outcome, checks);
        if !failed.is_empty() {
            return Violation {
                steps: path[..len].to_vec(),
                failed,
                outcome,
            };
        }
    }
    let outcome = replay(base, &path);
    Violation {
        failed: judge(&outcome, checks),
        steps: path,
        outcome,
    }
}

/// The scenario an exhaustive search runs: no nemesis (the search chooses the faults), no
/// random loss or duplication (it chooses the losses), time order (it chooses the order).
pub fn search_scenario(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.nemesis = None;
    s.scheduler = Scheduler::TimeOrder;
    for link in std::iter::once(&mut s.network.default)
        .chain(s.network.overrides.iter_mut().map(|o| &mut o.link))
    {
        link.drop = 0.0;
        link.duplicate = 0.0;
    }
    s
}

/// The fault targets and budgets a scenario implies: its nemesis's targets, one crash when the
/// nemesis crashes nodes, and one isolation when it partitions or isolates them; none otherwise.
pub fn default_faults(scenario: &Scenario, roster: &Roster) -> DefaultFaults {
    let Some(n) = &scenario.nemesis else {
        return DefaultFaults::default();
    };
    let crashes = u32::from(n.kinds.contains(&NemesisKind::Crash));
    let isolations = u32::from(
        n.kinds.contains(&NemesisKind::Isolate) || n.kinds.contains(&NemesisKind::Partition),
    );
    if crashes + isolations == 0 {
        return DefaultFaults::default();
    }
    let targets = if n.targets.is_empty() {
        roster.ids().collect()
    } else {
        resolve_names(roster, &n.targets).unwrap_or_default()
    };
    DefaultFaults {
        targets,
        crashes,
        isolations,
    }
}

/// What `default_faults` reads from a scenario's nemesis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefaultFaults {
    /// The nodes that may crash or be cut off.
    pub targets: Vec<NodeId>,
    /// Crashes along one path.
    pub crashes: u32,
    /// Isolations along one path.
    pub isolations: u32,
}

/// An exhaustive search of `scenario` with `registry`'s protocol and checks; `origin` names
/// it in errors. Returns the outcome and the scenario searched (`search_scenario`).
pub fn check_scenario(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    config: &ExhaustiveConfig,
) -> Result<(ExhaustiveOutcome, Scenario)> {
    check_scenario_judging(registry, scenario, origin, config, &mut |_| {})
}

/// `check_scenario`, showing `on_end` every run the search judges at a path's end.
pub fn check_scenario_judging(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    config: &ExhaustiveConfig,
    on_end: &mut dyn FnMut(&RunOutcome),
) -> Result<(ExhaustiveOutcome, Scenario)> {
    let searched = search_scenario(scenario);
    refuse_capacity(&searched, origin)?;
    let prepared = registry.prepare(&searched, origin)?;
    let Some(outcome) =
        prepared
            .protocol
            .exhaustive_judging(&prepared.plan, &prepared.checks, config, on_end)
    else {
        return Err(not_searchable(prepared.protocol.as_ref()));
    };
    Ok((outcome, searched))
}

/// Refuses a scenario with the capacity model (service times, link bandwidths): a state would
/// have to hold every queue and link clock, and the search branches on orders, not on time.
pub fn refuse_capacity(scenario: &Scenario, origin: &str) -> Result<()> {
    let bandwidth = scenario.network.default.bandwidth.is_some()
        || scenario
            .network
            .overrides
            .iter()
            .any(|o| o.link.bandwidth.is_some());
    if scenario.capacity.is_empty() && !bandwidth {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{origin}: the capacity model (`capacity` service times, link `bandwidth`) is not \
         searched exhaustively: a state would have to hold every queue and link clock; \
         measure it with `run`, `load` and `explore` instead, or remove it to check the \
         protocol's logic"
    )))
}

/// Why `protocol` cannot be searched exhaustively, as a usage error naming what to do instead.
pub fn not_searchable(protocol: &dyn crate::registry::AnyProtocol) -> Error {
    if let Some(ext) = protocol.external() {
        return Error::Usage(format!(
            "protocol `{}` runs its nodes as processes of `{}`: the exhaustive search \
             copies and fingerprints a run's nodes at every state, which an outside \
             process cannot be, so `check` is out of scope for it; search it with \
             `explore` (--strategy random, swarm or pct:D) instead",
            protocol.name(),
            ext.program
        ));
    }
    Error::Usage(format!(
        "protocol `{}` cannot be searched exhaustively: register it with \
         `Registry::searchable` (its node type must be Clone + Hash)",
        protocol.name()
    ))
}

/// The failing path as a scenario `run` replays: the searched scenario with the steps as
/// `scheduler: Replay([...])`, nodes named as the roster names them.
pub fn replay_scenario(searched: &Scenario, roster: &Roster, steps: &[Step]) -> Scenario {
    let mut s = searched.clone();
    s.scheduler = Scheduler::Replay(
        steps
            .iter()
            .map(|st| st.map(|n| roster.name(*n).to_string()))
            .collect(),
    );
    s
}
