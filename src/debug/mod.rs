//! A run driven by hand, for the step-through debugger: step in time order, choose which pending
//! event happens next or lose a message (a branch), crash, restart, partition or heal a node
//! now, go back (the run is replayed from the seed along the path), run to a time or to the
//! failure. The path is a list of `Step`s, saved as `scheduler: Replay([...])`, which
//! `clustersim run` replays exactly. The HTTP page around it lives in `cli/debug.rs`; what the
//! page shows is `view.rs`.

mod stepper;
pub mod view;

pub use stepper::{NodeState, Stepper};

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
    /// seed), even inside an action that ran many.
    StepBack,
    /// Run in time order until the next event is due after this time.
    To(SimTime),
    /// Run in time order to where the first failing check's window ends (or to the end).
    Failure,
}

/// A run stepped by hand, and the path that leads to where it is.
pub struct Session {
    prepared: Prepared,
    sim: Box<dyn Stepper>,
    path: Vec<Taken>,
    /// Path length before each action, so `Back` undoes one action.
    marks: Vec<usize>,
    /// Path length before each event (a visible step, a branch, a fault), so `StepBack` goes
    /// back one.
    events: Vec<usize>,
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
            path: Vec::new(),
            marks: Vec::new(),
            events: Vec::new(),
            failing: None,
            epoch: 0,
        };
        session.sim.settle();
        for named in steps {
            let step = named.map(|n| roster.by_name(n).unwrap_or(NodeId(u32::MAX)));
            let default = session.is_default(&step);
            session.marks.push(session.path.len());
            session.events.push(session.path.len());
            if session.sim.apply(&step) {
                session.path.push(Taken { step, default });
            }
            session.sim.settle();
        }
        Ok(session)
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

    /// How many steps were not the time-order choice (branches and injected faults).
    pub fn branches(&self) -> usize {
        self.path.iter().filter(|t| !t.default).count()
    }

    fn is_default(&self, step: &Step) -> bool {
        matches!(step, Step::Run(seq) if self.sim_time_order().map(|(s, _)| s) == Some(*seq))
    }

    fn sim_time_order(&self) -> Option<(u64, SimTime)> {
        self.sim.time_order_choice()
    }

    /// Does what the person asked; an error says why it does not apply here.
    pub fn act(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Back => {
                let Some(mark) = self.marks.pop() else {
                    return Err("already at the start of the run".into());
                };
                self.path.truncate(mark);
                self.events.retain(|&e| e < mark);
                self.rebuild();
                Ok(())
            }
            Action::StepBack => {
                let Some(at) = self.events.pop() else {
                    return Err("already at the start of the run".into());
                };
                self.path.truncate(at);
                // An action cut short by this ends here; one wholly undone is gone.
                self.marks.retain(|&m| m < at);
                self.rebuild();
                Ok(())
            }
            Action::Next => {
                let mark = self.path.len();
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
                let mark = self.path.len();
                let mut n = 0;
                let mut within = self.within_budget();
                while within
                    && n < MAX_STEPS_PER_ACTION
                    && self.sim_time_order().is_some_and(|(_, due)| due <= *t)
                    && self.next()
                {
                    n += 1;
                    // Checked every few steps: an estimate, and a step adds little to it.
                    if n % BUDGET_CHECK_STEPS == 0 {
                        within = self.within_budget();
                    }
                }
                if self.path.len() > mark {
                    self.marks.push(mark);
                }
                if !within {
                    return Err(self.over_budget());
                }
                Ok(())
            }
            Action::Failure => {
                let end = self.finished();
                let failing = self.judge(&end).into_iter().find(|v| !v.passed());
                let target = failing
                    .as_ref()
                    .and_then(|v| v.window.map(|(_, to)| to))
                    .unwrap_or(end.end_time);
                self.failing = failing.as_ref().and_then(|v| v.window);
                self.act(&Action::To(target))?;
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
                self.marks.push(self.path.len());
                self.events.push(self.path.len());
                self.path.push(Taken { step, default });
                // Another branch, another future: the failure found before may not come.
                self.failing = None;
                self.sim.settle();
                Ok(())
            }
        }
    }

    /// Bytes the session holds, estimated: the run's records twice (the page's view of the run
    /// so far is a copy of them) and the path of steps.
    pub fn memory(&self) -> u64 {
        let path = self.path.capacity() * std::mem::size_of::<Taken>()
            + (self.marks.capacity() + self.events.capacity()) * std::mem::size_of::<usize>();
        self.sim
            .memory()
            .saturating_mul(2)
            .saturating_add(path as u64)
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

    fn stopped_reason(&self) -> String {
        if self.sim.stopped() {
            "the run has ended (a bound or a panic); go back or save".into()
        } else {
            "nothing is pending".into()
        }
    }

    /// One time-order step, and more while they show nothing (a cancelled timer).
    fn next(&mut self) -> bool {
        let before = self.sim.progress();
        let start = self.path.len();
        let mut moved = false;
        while let Some((seq, _)) = self.sim_time_order() {
            let step = Step::Run(seq);
            if !self.sim.apply(&step) {
                break;
            }
            self.path.push(Taken {
                step,
                default: true,
            });
            self.sim.settle();
            moved = true;
            if self.sim.progress() != before || self.sim.stopped() {
                break;
            }
        }
        if moved {
            self.events.push(start);
        }
        moved
    }

    /// A fresh run from the seed, along the path.
    fn replayed(&self, steps: &[Taken]) -> Box<dyn Stepper> {
        let mut sim = self
            .prepared
            .protocol
            .stepper(&self.prepared.plan)
            .expect("opened, so the protocol steps");
        sim.settle();
        for t in steps {
            if sim.stopped() {
                break;
            }
            sim.apply(&t.step);
            sim.settle();
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
            Scheduler::Replay(
                self.path[..keep]
                    .iter()
                    .map(|t| t.step.map(|n| roster.name(*n).to_string()))
                    .collect(),
            )
        };
        s
    }
}
