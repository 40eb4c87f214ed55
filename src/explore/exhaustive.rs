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

use crate::check::{panic_verdict, Verdict};
use crate::error::{Error, Result};
use crate::fault::{resolve_names, NemesisKind};
use crate::node::{Node, NodeId, Roster};
use crate::registry::{AnyCheck, Registry};
use crate::scenario::Scenario;
use crate::sim::{Pending, RunOutcome, Scheduler, Sim, Step};
use crate::time::Duration;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// What the search may choose and how far it goes.
#[derive(Clone, Debug)]
pub struct ExhaustiveConfig {
    /// Most choices along one path; a longer path is completed in time order.
    pub max_depth: usize,
    /// Events due within this much of the earliest may run before it (zero: only ties).
    pub window: Duration,
    /// Most crashes along one path.
    pub crashes: u32,
    /// Most lost messages along one path.
    pub drops: u32,
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
}

impl Default for ExhaustiveConfig {
    fn default() -> Self {
        ExhaustiveConfig {
            max_depth: 1_000,
            window: Duration::ZERO,
            crashes: 0,
            drops: 0,
            isolations: 0,
            targets: Vec::new(),
            restarts: false,
            max_states: 1_000_000,
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
    /// Distinct states.
    pub unique: u64,
    /// Paths judged: runs that ended, and paths completed at `max_depth`.
    pub ends: u64,
    /// Of those, paths cut at `max_depth` and completed in time order.
    pub cut: u64,
    /// Longest path in choices.
    pub max_depth: usize,
    /// True when every path ended within `max_depth` and under `max_states`: the whole state
    /// space of the configuration was explored.
    pub complete: bool,
    /// The search stopped because the states waiting to be expanded would outgrow the run's
    /// memory budget (`bounds.max_memory`).
    pub out_of_memory: bool,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// The first failing path found, if any.
    pub violation: Option<Violation>,
    /// The coverage goals (`ctx.sometimes`) the judged paths evaluated, in order of first
    /// evaluation.
    pub goals: Vec<GoalPaths>,
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
    depth: usize,
    crashes: u32,
    drops: u32,
    isolations: u32,
    /// A target is cut off now (the next choice of that kind is the heal).
    isolated: bool,
}

/// Searches every path from `root` (a run not yet started, built from a plan with no nemesis)
/// breadth first, judging `checks` at every path's end.
pub fn search<N>(
    root: Sim<N>,
    checks: &[Box<dyn AnyCheck>],
    config: &ExhaustiveConfig,
) -> ExhaustiveOutcome
where
    N: Node + Clone + Hash,
    N::Stored: Hash,
{
    // Every state is a copy of its parent with one node's handler run: with the nodes shared,
    // a copy costs that one node, not the cluster.
    search_copies(root.into_shared(), checks, config)
}

/// `search`, over runs whose copies cost what they copy.
fn search_copies<N>(
    root: Sim<N>,
    checks: &[Box<dyn AnyCheck>],
    config: &ExhaustiveConfig,
) -> ExhaustiveOutcome
where
    N: Node + Clone + Hash,
    N::Stored: Hash,
{
    let started = std::time::Instant::now();
    let mut out = ExhaustiveOutcome {
        explored: 0,
        unique: 0,
        ends: 0,
        cut: 0,
        max_depth: 0,
        complete: true,
        out_of_memory: false,
        elapsed: std::time::Duration::ZERO,
        violation: None,
        goals: Vec::new(),
    };
    let base = root.clone();
    // What one waiting state holds, estimated from the run's own records (four times, for what the
    // nodes allocate), against the run's memory budget.
    let per_state = root.clone().memory().total().max(1) * 4;
    let budget = root.bounds().max_memory.0;
    let mut root = root;
    root.settle();
    let print = root.fingerprint();
    // Each distinct state's parent and the step that led to it: the path of a failure. Only
    // looked up, never iterated.
    let mut parents: Parents = Parents::default();
    let mut frontier: VecDeque<Frontier<N>> = VecDeque::new();
    parents.insert(print, (print, Step::Run(u64::MAX)));
    frontier.push_back(Frontier {
        sim: Box::new(root),
        print,
        depth: 0,
        crashes: 0,
        drops: 0,
        isolations: 0,
        isolated: false,
    });
    out.unique = 1;
    out.explored = 1;
    let mut due: Vec<Pending> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    // Runs done with (duplicates, expanded states), copied into instead of freed.
    #[allow(clippy::vec_box)] // see `recycle`
    let mut pool: Vec<Box<Sim<N>>> = Vec::new();
    while let Some(state) = frontier.pop_front() {
        // The next state has waited since its parent was expanded: fetch it while this one runs.
        if let Some(next) = frontier.front() {
            next.sim.warm();
        }
        out.max_depth = out.max_depth.max(state.depth);
        state.sim.due(config.window, &mut due);
        steps.clear();
        if !state.sim.stopped() && state.depth < config.max_depth {
            for p in &due {
                steps.push(Step::Run(p.seq));
                if p.message && state.drops < config.drops {
                    steps.push(Step::Drop(p.seq));
                }
            }
            if !steps.is_empty() {
                for &n in &config.targets {
                    match state.sim.status(n) {
                        Some(crate::sim::NodeStatus::Up) if state.crashes < config.crashes => {
                            steps.push(Step::Crash(n))
                        }
                        Some(crate::sim::NodeStatus::Down) if config.restarts => {
                            steps.push(Step::Restart(n))
                        }
                        _ => {}
                    }
                }
                if state.isolated {
                    steps.push(Step::Heal);
                } else if state.isolations < config.isolations {
                    for &n in &config.targets {
                        if state.sim.status(n) == Some(crate::sim::NodeStatus::Up) {
                            steps.push(Step::Partition(vec![vec![n]]));
                        }
                    }
                }
            }
        }
        if steps.is_empty() {
            // The run ended here, or the path is as long as allowed: judge it.
            let cut = !state.sim.stopped() && !due.is_empty();
            let outcome = if cut {
                out.cut += 1;
                out.complete = false;
                (*state.sim).run()
            } else {
                (*state.sim).finish()
            };
            out.ends += 1;
            tally_goals(&mut out.goals, &outcome);
            let failed = judge(&outcome, checks);
            if !failed.is_empty() {
                let path = path_to(&parents, state.print);
                out.violation = Some(shortest_prefix(&base, path, checks));
                break;
            }
            continue;
        }
        // The last step goes on from the state itself, so a state with one way on (most of
        // them) is never copied.
        let mut own = Some(state.sim);
        let last = steps.len() - 1;
        for (i, step) in steps.iter().enumerate() {
            let mut child = if i == last {
                own.take().expect("the state goes to its last step only")
            } else {
                let parent = own.as_deref().expect("kept until the last step");
                match pool.pop() {
                    Some(mut used) => {
                        (*used).clone_from(parent);
                        used
                    }
                    None => Box::new(parent.clone()),
                }
            };
            child.apply_step(step);
            child.settle();
            let (mut crashes, mut drops) = (state.crashes, state.drops);
            let (mut isolations, mut isolated) = (state.isolations, state.isolated);
            match step {
                Step::Crash(_) => crashes += 1,
                Step::Drop(_) => drops += 1,
                Step::Partition(_) => (isolations, isolated) = (isolations + 1, true),
                Step::Heal => isolated = false,
                _ => {}
            }
            // Budgets left are part of the state: the same run with more faults to spend has
            // more futures. (Whether a target is cut off is in the network's part of it.)
            let print = child.fingerprint()
                ^ (u64::from(crashes) << 48 | u64::from(drops) << 32 | u64::from(isolations) << 40);
            out.explored += 1;
            match parents.entry(print) {
                std::collections::hash_map::Entry::Occupied(_) => {
                    recycle(&mut pool, child);
                    continue;
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((state.print, step.clone()));
                }
            }
            out.unique += 1;
            frontier.push_back(Frontier {
                sim: child,
                print,
                depth: state.depth + 1,
                crashes,
                drops,
                isolations,
                isolated,
            });
        }
        if out.unique >= config.max_states {
            out.complete = false;
            break;
        }
        if (frontier.len() as u64).saturating_mul(per_state) > budget {
            out.complete = false;
            out.out_of_memory = true;
            break;
        }
    }
    out.elapsed = started.elapsed();
    out
}

/// Each distinct state's parent and step, by fingerprint.
type Parents = HashMap<u64, (u64, Step), std::hash::BuildHasherDefault<PrintHasher>>;

/// Hashes a fingerprint as itself: fingerprints are already mixed (`Sim::fingerprint`), so
/// SipHash over them is spent for nothing.
#[derive(Default)]
struct PrintHasher(u64);

impl std::hash::Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// Runs kept for reuse at most: enough for the duplicates of a few wide states (a run is
/// about 10 KB).
const POOL: usize = 1024;

/// Keeps `sim` for a later copy, unless enough are kept.
// Boxed on purpose: a run moves from the pool to the frontier and back, a pointer each time.
#[allow(clippy::vec_box)]
fn recycle<N: Node>(pool: &mut Vec<Box<Sim<N>>>, sim: Box<Sim<N>>) {
    if pool.len() < POOL {
        pool.push(sim);
    }
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

/// The steps from the root to the state with fingerprint `print`.
fn path_to(parents: &Parents, mut print: u64) -> Vec<Step> {
    let mut path = Vec::new();
    while let Some((parent, step)) = parents.get(&print) {
        if *parent == print {
            break;
        }
        path.push(step.clone());
        print = *parent;
    }
    path.reverse();
    path
}

/// Replays `steps` from `base` (then time order to the end).
pub fn replay<N: Node + Clone>(base: &Sim<N>, steps: &[Step]) -> RunOutcome {
    let mut sim = base.clone();
    for s in steps {
        sim.settle();
        if sim.stopped() {
            break;
        }
        sim.apply_step(s);
    }
    sim.run()
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
    let searched = search_scenario(scenario);
    let prepared = registry.prepare(&searched, origin)?;
    let Some(outcome) = prepared
        .protocol
        .exhaustive(&prepared.plan, &prepared.checks, config)
    else {
        return Err(Error::Usage(format!(
            "protocol `{}` cannot be searched exhaustively: register it with \
             `Registry::searchable` (its node type must be Clone + Hash)",
            prepared.protocol.name()
        )));
    };
    Ok((outcome, searched))
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
