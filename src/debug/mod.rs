//! A run driven by hand, for the step-through debugger: step in time order, choose which pending
//! event happens next or lose a message (a branch), crash, restart, partition or heal a node
//! now, go back (the run is replayed from the seed along the path), run to a time or to the
//! failure. Every state explored is kept in a tree (`tree.rs`): going back and taking another
//! branch discards nothing, and any state of the tree can be returned to. The path to the
//! current state is a list of `Step`s, saved as `scheduler: Replay([...])`, which
//! `clustersim run` replays exactly. The HTTP page around it lives in `cli/debug.rs`; what the
//! page shows is `view.rs`.

mod stepper;
mod tree;
pub mod view;

pub use stepper::{NodeState, Stepper};
pub use tree::TreeView;

use tree::{Label, Tree, NONE};

use crate::check::Verdict;
use crate::node::NodeId;
use crate::protocol::Property;
use crate::registry::Prepared;
use crate::scenario::Scenario;
use crate::sim::{RunOutcome, Scheduler, Step};
use crate::time::SimTime;

/// Most time-order steps one "run to" takes before it gives the page back.
pub const MAX_STEPS_PER_ACTION: usize = 1_000_000;

/// Steps between two checks of the session's memory against `bounds.max_memory`.
const BUDGET_CHECK_STEPS: usize = 256;

/// One step of the path, and whether it was the one time order would have taken.
#[derive(Clone, Debug, PartialEq)]
struct Taken {
    step: Step,
    default: bool,
}

/// What the person asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The next event in time order (and any that show nothing, such as a cancelled timer).
    Next,
    /// Run this pending event now: a branch unless it is the time-order choice.
    Run(u64),
    /// Lose this pending message.
    Drop(u64),
    /// Crash this node now.
    Crash(NodeId),
    /// Restart this crashed node now.
    Restart(NodeId),
    /// Split the network into these groups now.
    Partition(Vec<Vec<NodeId>>),
    /// Remove every partition now.
    Heal,
    /// Apply this disk fault now (a power loss, a failed sync, a corrupt record...).
    Disk(crate::fault::Fault),
    /// Undo the last action, however many events it ran (replayed from the seed).
    Back,
    /// Go back one event: the state before the last step, branch or fault (replayed from the
    /// seed), even inside an action that ran many; the event stays in the tree, where
    /// `Forward` returns to it.
    StepBack,
    /// Go forward one event along the current branch of the tree (where `StepBack` came from,
    /// or the branch last returned to).
    Forward,
    /// Return to this state of the tree (`TreeView` names them), replayed from the seed along
    /// its path.
    Goto(u32),
    /// Run in time order until the next event is due after this time.
    To(SimTime),
    /// Run in time order to where the first failing check's window ends (or to the end).
    Failure,
}

/// A run stepped by hand, and the path that leads to where it is.
pub struct Session {
    prepared: Prepared,
    sim: Box<dyn Stepper>,
    /// Every state explored, and the steps between them.
    tree: Tree,
    /// The state of the tree the run stands at.
    at: u32,
    /// The steps from the start to `at`.
    path: Vec<Taken>,
    /// The state each action started from, so `Back` undoes one action.
    marks: Vec<u32>,
    /// The failing check's window on the finished path, found by the last `Failure` (until a
    /// branch or a fault changes the path's future).
    failing: Option<(SimTime, SimTime)>,
    /// Counts the runs replayed from the seed (each `Back`), so a view can tell the run changed.
    epoch: u64,
}

impl Session {
    /// A session at the start of the prepared run; a file's `Replay` steps are taken first
    /// (so `Back` walks through them). Refuses a protocol that cannot be stepped.
    pub fn open(mut prepared: Prepared) -> Result<Session, String> {
        let steps = match std::mem::take(&mut prepared.plan.scenario.scheduler) {
            Scheduler::Replay(steps) => steps,
            _ => Vec::new(),
        };
        let roster = prepared.plan.roster.clone();
        let Some(sim) = prepared.protocol.stepper(&prepared.plan) else {
            return Err(format!(
                "protocol `{}` cannot be stepped by the debugger",
                prepared.protocol.name()
            ));
        };
        let mut session = Session {
            prepared,
            sim,
            tree: Tree::new(),
            at: 0,
            path: Vec::new(),
            marks: Vec::new(),
            failing: None,
            epoch: 0,
        };
        session.sim.settle_bounds();
        for named in steps {
            let step = named.map(|n| roster.by_name(n).unwrap_or(NodeId(u32::MAX)));
            let default = session.is_default(&step);
            let mark = session.at;
            let trace_from = session.sim.trace_events().len();
            if session.sim.apply(&step) {
                session.sim.settle_bounds();
                session.marks.push(mark);
                session.descend(vec![Taken { step, default }], trace_from);
            }
        }
        Ok(session)
    }

    /// Moves to the child of the current state that `steps` (just taken) reach, made if new;
    /// `trace_from` is the trace's length before them (their events label the child).
    fn descend(&mut self, steps: Vec<Taken>, trace_from: usize) {
        let events = self.sim.trace_events();
        let label = Label::of(
            events.get(trace_from..).unwrap_or(&[]),
            self.sim.roster().names(),
        );
        let child = self.tree.child(self.at, &steps, self.sim.now(), label);
        self.path.extend(steps);
        // The path to `at` is the current branch already: it goes on to the child.
        self.tree.set_branch(self.at, child);
        self.at = child;
    }

    /// The tree of explored states as the page shows it.
    pub fn tree_view(&self) -> TreeView {
        self.tree.view(self.at, self.sim.roster().names())
    }

    /// The state of the tree the session stands at.
    pub fn at(&self) -> u32 {
        self.at
    }

    /// States explored so far (the tree's nodes, the start included).
    pub fn explored(&self) -> usize {
        self.tree.len()
    }

    /// The state before `state`'s event, if it has one (the start has none).
    pub fn parent(&self, state: u32) -> Option<u32> {
        self.tree
            .get(state)
            .map(|n| n.parent)
            .filter(|&p| p != NONE)
    }

    /// The states reached from `state` by one event, in the order they were first taken.
    pub fn children(&self, state: u32) -> Vec<u32> {
        if self.tree.get(state).is_none() {
            return Vec::new();
        }
        self.tree.children(state).collect()
    }

    /// The steps from the start to `state`, if the tree has it.
    pub fn path_to(&self, state: u32) -> Option<Vec<Step>> {
        self.tree.get(state)?;
        Some(self.tree.path(state).into_iter().map(|t| t.step).collect())
    }

    /// Moves to `state` of the tree: by taking its steps from here when it lies ahead on the
    /// path, else by replaying the run from the seed along its path.
    fn go(&mut self, state: u32) {
        if state == self.at {
            return;
        }
        if self.tree.leads_to(self.at, state) {
            let ahead: Vec<u32> = self
                .tree
                .line(state)
                .into_iter()
                .skip(self.tree.node(self.at).events as usize)
                .collect();
            for id in ahead {
                for t in self.tree.steps(id).to_vec() {
                    if !self.sim.stopped() {
                        self.sim.apply(&t.step);
                        self.sim.settle_bounds();
                    }
                    self.path.push(t);
                }
            }
        } else {
            // Another branch, or back: the future the failure was found on may not come.
            if self.tree.leads_to(state, self.at) {
                self.path.truncate(self.tree.node(state).depth as usize);
            } else {
                self.failing = None;
                self.path = self.tree.path(state);
            }
            self.rebuild();
        }
        self.at = state;
        self.tree.follow(state);
    }

    /// The run as it stands.
    pub fn sim(&self) -> &dyn Stepper {
        self.sim.as_ref()
    }

    /// The scenario, protocol and checks the session runs.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// The failing check's window on the path's end, as the last "run to failure" found it.
    pub fn failing_window(&self) -> Option<(SimTime, SimTime)> {
        self.failing
    }

    /// Steps taken so far.
    pub fn steps(&self) -> Vec<Step> {
        self.path.iter().map(|t| t.step.clone()).collect()
    }

    /// How many steps were taken from the start to here.
    pub fn step_count(&self) -> usize {
        self.path.len()
    }

    /// How many steps were not the time-order choice (branches and injected faults).
    pub fn branches(&self) -> usize {
        self.tree.node(self.at).branches as usize
    }

    fn is_default(&self, step: &Step) -> bool {
        match step {
            Step::Scheduled => true,
            Step::Run(seq) => self.sim.time_order_choice().map(|(s, _)| s) == Some(*seq),
            _ => false,
        }
    }

    /// Does what the person asked; an error says why it does not apply here.
    pub fn act(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Back => {
                let Some(mark) = self.marks.pop() else {
                    return Err("already at the start of the run".into());
                };
                self.go(mark);
                Ok(())
            }
            Action::StepBack => {
                let Some(parent) = self.parent(self.at) else {
                    return Err("already at the start of the run".into());
                };
                self.go(parent);
                // An action cut short by this ends here; one wholly undone is gone.
                let tree = &self.tree;
                self.marks.retain(|&m| !tree.leads_to(parent, m));
                Ok(())
            }
            Action::Forward => {
                let next = self.tree.node(self.at).branch;
                if next == NONE {
                    return Err(
                        "no later event on this branch: step runs the next one in time order"
                            .into(),
                    );
                }
                self.go(next);
                Ok(())
            }
            Action::Goto(state) => {
                if self.tree.get(*state).is_none() {
                    return Err(format!(
                        "no explored state #{state}; the tree holds #0 to #{}",
                        self.tree.len() - 1
                    ));
                }
                if *state != self.at {
                    self.marks.push(self.at);
                    self.go(*state);
                }
                Ok(())
            }
            Action::Next => {
                let mark = self.at;
                if !self.within_budget() {
                    return Err(self.over_budget());
                }
                if !self.next() {
                    return Err(self.stopped_reason());
                }
                self.marks.push(mark);
                Ok(())
            }
            Action::To(t) => {
                if self.run_to(*t)? > 0 {
                    return Ok(());
                }
                // Nothing ran: say why, since the clock moves only with events.
                let now = self.sim.now();
                Err(match self.sim.next_step() {
                    _ if self.sim.stopped() => self.stopped_reason(),
                    None => format!("nothing is pending; the clock stays at {now}"),
                    Some(_) if *t < now => {
                        format!("{t} has passed: the clock is at {now}; go back to reach it")
                    }
                    Some((_, due)) => format!(
                        "nothing is due by {t}: the next event is due at {due}; the clock stays \
                         at {now} (it moves only with events)"
                    ),
                })
            }
            Action::Failure => {
                let end = self.finished();
                let failing = self.judge(&end).into_iter().find(|v| !v.passed());
                let target = failing
                    .as_ref()
                    .and_then(|v| v.window.map(|(_, to)| to))
                    .unwrap_or(end.end_time);
                self.failing = failing.as_ref().and_then(|v| v.window);
                self.run_to(target)?;
                if failing.is_none() {
                    return Err("no check fails on this path, run to its end".into());
                }
                Ok(())
            }
            Action::Run(_)
            | Action::Drop(_)
            | Action::Crash(_)
            | Action::Restart(_)
            | Action::Partition(_)
            | Action::Disk(_)
            | Action::Heal => {
                let step = match action {
                    Action::Run(s) => Step::Run(*s),
                    Action::Drop(s) => Step::Drop(*s),
                    Action::Crash(n) => Step::Crash(*n),
                    Action::Restart(n) => Step::Restart(*n),
                    Action::Partition(g) => Step::Partition(g.clone()),
                    Action::Disk(f) => Step::Disk(f.clone()),
                    _ => Step::Heal,
                };
                if self.sim.stopped() {
                    return Err(self.stopped_reason());
                }
                let default = self.is_default(&step);
                let trace_from = self.sim.trace_events().len();
                if !self.sim.apply(&step) {
                    return Err(match step {
                        Step::Run(_) | Step::Drop(_) => {
                            "that event is no longer pending (or is not a message)".into()
                        }
                        Step::Crash(_) => "only a node that is up can crash".into(),
                        Step::Restart(_) => "only a crashed node can restart".into(),
                        Step::Disk(_) => {
                            "that disk fault needs a node that is up (power loss, process crash, crash at a sync)".into()
                        }
                        _ => "that fault does not apply here".into(),
                    });
                }
                self.marks.push(self.at);
                // Another branch, another future: the failure found before may not come.
                self.failing = None;
                self.sim.settle_bounds();
                self.descend(vec![Taken { step, default }], trace_from);
                Ok(())
            }
        }
    }

    /// Bytes the session holds, estimated: the run's records twice (the page's view of the run
    /// so far is a copy of them), the path of steps and the tree of explored states.
    pub fn memory(&self) -> u64 {
        let path = self.path.capacity() * std::mem::size_of::<Taken>()
            + self.marks.capacity() * std::mem::size_of::<u32>();
        self.sim
            .memory()
            .saturating_mul(2)
            .saturating_add(path as u64)
            .saturating_add(self.tree.memory())
    }

    /// The session's budget: the scenario's `bounds.max_memory`.
    pub fn max_memory(&self) -> crate::memory::Bytes {
        self.prepared.plan.scenario.bounds.max_memory
    }

    /// True while the session leaves room for its records to double once more (a growing
    /// record doubles its capacity at once), so what it holds never passes the budget.
    fn within_budget(&self) -> bool {
        self.memory().saturating_mul(2) <= self.max_memory().0
    }

    fn over_budget(&self) -> String {
        format!(
            "stopped: going on would hold more than the memory budget ({}, bounds.max_memory); \
             go back, save the path, or raise bounds.max_memory in the file",
            self.max_memory()
        )
    }

    /// Runs in time order while the next event is due by `t`; how many steps ran.
    fn run_to(&mut self, t: SimTime) -> Result<usize, String> {
        let mark = self.at;
        let mut n = 0;
        let mut within = self.within_budget();
        while within
            && n < MAX_STEPS_PER_ACTION
            && self.sim.next_step().is_some_and(|(_, due)| due <= t)
            && self.next()
        {
            n += 1;
            // Checked every few steps: an estimate, and a step adds little to it.
            if n % BUDGET_CHECK_STEPS == 0 {
                within = self.within_budget();
            }
        }
        if self.at != mark {
            self.marks.push(mark);
        }
        if !within {
            return Err(self.over_budget());
        }
        Ok(n)
    }

    fn stopped_reason(&self) -> String {
        if self.sim.stopped() {
            "the run has ended (a bound or a panic); go back or save".into()
        } else {
            "nothing is pending".into()
        }
    }

    /// One time-order step, and more while they show nothing (a cancelled timer): one event,
    /// a child in the tree.
    fn next(&mut self) -> bool {
        let before = self.sim.progress();
        let trace_from = self.sim.trace_events().len();
        let mut steps = Vec::new();
        while let Some((step, _)) = self.sim.next_step() {
            if !self.sim.apply(&step) {
                break;
            }
            steps.push(Taken {
                step,
                default: true,
            });
            self.sim.settle_bounds();
            if self.sim.progress() != before || self.sim.stopped() {
                break;
            }
        }
        if steps.is_empty() {
            return false;
        }
        self.descend(steps, trace_from);
        true
    }

    /// A fresh run from the seed, along the path.
    fn replayed(&self, steps: &[Taken]) -> Box<dyn Stepper> {
        let mut sim = self
            .prepared
            .protocol
            .stepper(&self.prepared.plan)
            .expect("opened, so the protocol steps");
        sim.settle_bounds();
        for t in steps {
            if sim.stopped() {
                break;
            }
            sim.apply(&t.step);
            sim.settle_bounds();
        }
        sim
    }

    fn rebuild(&mut self) {
        self.sim = self.replayed(&self.path);
        self.epoch += 1;
    }

    /// Which run from the seed the session is on: changes each time it is replayed (going back).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The branch run on in time order to its end: what `clustersim run` of the saved file does.
    pub fn finished(&self) -> RunOutcome {
        self.replayed(&self.path).finish()
    }

    /// Every check judged on `outcome` (a panic fails `NoPanic` first).
    pub fn judge(&self, outcome: &RunOutcome) -> Vec<Verdict> {
        let mut out: Vec<Verdict> = outcome
            .panic
            .iter()
            .map(|p| crate::check::panic_verdict(outcome, p))
            .collect();
        out.extend(self.prepared.checks.iter().map(|c| c.evaluate(outcome)));
        out
    }

    /// The checks judged on the run so far, as if it ended now (liveness checks read it that
    /// way, so the page marks them).
    pub fn verdicts_so_far(&self) -> Vec<(Verdict, Property)> {
        let outcome = self.sim.outcome();
        self.judge(&outcome)
            .into_iter()
            .map(|v| {
                let p = v.property;
                (v, p)
            })
            .collect()
    }

    /// The path as a scenario `clustersim run` replays: the file with `scheduler: Replay`,
    /// time-order steps at the end left out (time order takes them anyway).
    pub fn scenario(&self) -> Scenario {
        let keep = self
            .path
            .iter()
            .rposition(|t| !t.default)
            .map_or(0, |i| i + 1);
        let roster = &self.prepared.plan.roster;
        let mut s = self.prepared.plan.scenario.clone();
        s.scheduler = if keep == 0 {
            Scheduler::TimeOrder
        } else {
            let mut steps: Vec<Step<String>> = self.path[..keep]
                .iter()
                .map(|t| t.step.map(|n| roster.name(*n).to_string()))
                .collect();
            // The debugger runs scheduled faults where its path says, not before each step:
            // a replay that names one does too (a last one changes nothing else: time order
            // would run it next).
            if !steps.contains(&Step::Scheduled) {
                steps.push(Step::Scheduled);
            }
            Scheduler::Replay(steps)
        };
        s
    }
}
