//! The book's graded exercises: small sans-IO protocols with one piece left for the student.
//!
//! Each exercise is a file in `exercises/` (the scaffolding plus the student's piece, marked
//! `ANCHOR: student`), a reference version of that piece in `exercises/solutions/`, a scenario in
//! `scenarios/exercises/NAME.ron` and a goal (a checker in `goals.rs`). Scenarios run an exercise
//! with `protocol: Exercise(name: "NAME")`; `clustersim-exercises check-exercise NAME` grades it
//! over a few seeds, and `--solution` grades the reference instead.
//!
//! This is a crate of its own that registers its protocol and goals through the public
//! `Registry`, as any user's crate does: editing an exercise rebuilds only this crate.

pub mod anti_entropy;
pub mod durable_counter;
pub mod goals;
pub mod idempotent_sink;
pub mod lease_queue;
pub mod reliable_ping;
pub mod solutions;
pub mod sync_replication;

use clustersim::check::{Status, Verdict};
use clustersim::debug::Stepper;
use clustersim::error::{Error, Result};
use clustersim::history::Phase;
use clustersim::registry::{AnyProtocol, Registry};
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::{parse, Plan, Spec};
use clustersim::sim::RunOutcome;
use clustersim::trace::TraceLevel;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub use goals::{Goal, GoalCheck};

/// The program that knows the exercises, named in replay commands.
pub const PROGRAM: &str = "clustersim-exercises";

/// The shipped registry plus the `Exercise` protocol and its goals, for `clustersim-exercises`.
pub fn registry() -> Registry {
    register(Registry::shipped().named(PROGRAM))
}

/// Adds the `Exercise` protocol and the `Exercise(GOAL)` check to `registry`.
pub fn register(registry: Registry) -> Registry {
    registry
        .protocol_with("Exercise", |spec| {
            Ok(Box::new(spec.params::<ExerciseSpec>()?))
        })
        .check::<GoalCheck>()
}

/// One exercise: its name, the file the student edits, and how to run it.
pub struct Exercise {
    /// The name used by `check-exercise` and in scenarios.
    pub name: &'static str,
    /// The file holding the student's piece.
    pub file: &'static str,
    /// What the student has to do, in one line.
    pub task: &'static str,
    /// The scenario it is graded on (the text of `scenarios/exercises/NAME.ron`).
    pub scenario: &'static str,
    validate: fn(&Plan) -> std::result::Result<(), String>,
    sim: fn(&Plan, bool, TraceLevel) -> Box<dyn Stepper>,
}

/// Every exercise, in the order the book introduces them.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "reliable-ping",
        file: "exercises/reliable_ping.rs",
        task: "retry a request until it is answered, over a network that drops 30% of messages",
        scenario: include_str!("../scenarios/exercises/reliable-ping.ron"),
        validate: reliable_ping::validate,
        sim: |p, s, t| Box::new(reliable_ping::sim(p, s, t)),
    },
    Exercise {
        name: "lease-queue",
        file: "exercises/lease_queue.rs",
        task: "replace the queue's LPOP with a lease, so a crashed worker's task is handed out again",
        scenario: include_str!("../scenarios/exercises/lease-queue.ron"),
        validate: lease_queue::validate,
        sim: |p, s, t| Box::new(lease_queue::sim(p, s, t)),
    },
    Exercise {
        name: "idempotent-sink",
        file: "exercises/idempotent_sink.rs",
        task: "apply each task's effect exactly once although deliveries repeat and the sink crashes",
        scenario: include_str!("../scenarios/exercises/idempotent-sink.ron"),
        validate: idempotent_sink::validate,
        sim: |p, s, t| Box::new(idempotent_sink::sim(p, s, t)),
    },
    Exercise {
        name: "durable-counter",
        file: "exercises/durable_counter.rs",
        task: "make an acknowledged increment survive a crash of the counter server",
        scenario: include_str!("../scenarios/exercises/durable-counter.ron"),
        validate: durable_counter::validate,
        sim: |p, s, t| Box::new(durable_counter::sim(p, s, t)),
    },
    Exercise {
        name: "sync-replication",
        file: "exercises/sync_replication.rs",
        task: "acknowledge a write only once the backup has it, so failover loses no acknowledged write",
        scenario: include_str!("../scenarios/exercises/sync-replication.ron"),
        validate: sync_replication::validate,
        sim: |p, s, t| Box::new(sync_replication::sim(p, s, t)),
    },
    Exercise {
        name: "anti-entropy",
        file: "exercises/anti_entropy.rs",
        task: "add digest-based anti-entropy so every chat message reaches every node after a partition heals",
        scenario: include_str!("../scenarios/exercises/anti-entropy.ron"),
        validate: anti_entropy::validate,
        sim: |p, s, t| Box::new(anti_entropy::sim(p, s, t)),
    },
];

/// Finds an exercise by name; the error names every exercise.
pub fn find(name: &str) -> std::result::Result<&'static Exercise, String> {
    EXERCISES.iter().find(|e| e.name == name).ok_or_else(|| {
        format!(
            "there is no exercise `{name}`; the exercises are: {}",
            names().join(", ")
        )
    })
}

/// The names of every exercise.
pub fn names() -> Vec<&'static str> {
    EXERCISES.iter().map(|e| e.name).collect()
}

/// The `protocol: Exercise(...)` parameters of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSpec {
    /// Which exercise, e.g. "reliable-ping".
    pub name: String,
    /// Run the reference solution instead of the student's code.
    #[serde(default)]
    pub solution: bool,
}

// Every exercise has its own node type, so the one `Exercise` protocol implements the
// registry's type-erased `AnyProtocol` and picks the exercise from its parameters.
impl AnyProtocol for ExerciseSpec {
    fn name(&self) -> &'static str {
        "Exercise"
    }

    fn validate(&self, plan: &Plan) -> std::result::Result<(), String> {
        (find(&self.name)?.validate)(plan)
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Exercise"]
    }

    fn stepper(&self, plan: &Plan) -> Option<Box<dyn Stepper>> {
        find(&self.name)
            .ok()
            .map(|e| (e.sim)(plan, self.solution, TraceLevel::Full))
    }

    fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome {
        match find(&self.name) {
            Ok(e) => (e.sim)(plan, self.solution, trace).finish(),
            // validate() rejected unknown names before any run could start
            Err(e) => unreachable!("{e}"),
        }
    }
}

/// How one graded run went.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// A check failed: the verdict and a summary of the run around it.
    Failed {
        /// The first failing verdict.
        verdict: Verdict,
        /// Counters, faults and the history entries around the failure.
        summary: Vec<String>,
    },
    /// The code hit a `todo!()`.
    NotImplemented {
        /// The panic message and where it was raised.
        message: String,
    },
    /// The code panicked for another reason.
    Panicked {
        /// The panic message and where it was raised.
        message: String,
    },
}

/// The result of grading one exercise over several seeds.
#[derive(Clone, Debug)]
pub struct Grade {
    /// The exercise's name.
    pub name: &'static str,
    /// The file the student edits.
    pub file: &'static str,
    /// True when the reference solution was graded.
    pub solution: bool,
    /// How many seeds were asked for (grading stops early at a todo!()).
    pub seeds: u64,
    /// Each seed and how its run went.
    pub runs: Vec<(u64, Outcome)>,
}

impl Grade {
    /// True when every run passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(|(_, o)| matches!(o, Outcome::Passed))
    }

    /// True when some run hit a `todo!()`.
    pub fn not_implemented(&self) -> bool {
        self.runs
            .iter()
            .any(|(_, o)| matches!(o, Outcome::NotImplemented { .. }))
    }

    /// The grading report: one line per seed, details of the first problem, the verdict.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let whose = if self.solution {
            "reference solution, exercises/solutions/".to_string()
        } else {
            format!("your code, {}", self.file)
        };
        let _ = writeln!(
            o,
            "check-exercise {} ({whose}): {} seeds",
            self.name, self.seeds
        );
        let mut explained = false;
        for (seed, outcome) in &self.runs {
            match outcome {
                Outcome::Passed => {
                    let _ = writeln!(o, "  seed {seed}: pass");
                }
                Outcome::NotImplemented { message } => {
                    let _ = writeln!(o, "  seed {seed}: not implemented yet: {message}");
                }
                Outcome::Panicked { message } => {
                    let _ = writeln!(o, "  seed {seed}: your code panicked: {message}");
                }
                Outcome::Failed { verdict, summary } => {
                    let _ = writeln!(
                        o,
                        "  seed {seed}: {} {}: {}",
                        verdict.status, verdict.check, verdict.summary
                    );
                    if !explained {
                        explained = true;
                        for d in &verdict.details {
                            let _ = writeln!(o, "      {d}");
                        }
                        for line in summary {
                            let _ = writeln!(o, "    {line}");
                        }
                        let _ = writeln!(
                            o,
                            "    replay it: {PROGRAM} run scenarios/exercises/{}.ron --seed {seed} --timeline",
                            self.name
                        );
                    }
                }
            }
        }
        if self.passed() {
            let _ = writeln!(o, "PASS: {} passes on every seed", self.name);
        } else if self.not_implemented() {
            let _ = writeln!(
                o,
                "FAIL: not implemented yet; replace the todo!() in {} and run this again",
                self.file
            );
        } else {
            let _ = writeln!(o, "FAIL: {} does not pass yet", self.name);
        }
        o
    }
}

/// Grades exercise `name` (the reference solution if `solution`) over `seeds` seeds, starting
/// at the scenario's own seed. A panic in the student's code becomes an `Outcome`, not a crash.
pub fn grade(name: &str, solution: bool, seeds: u64) -> Result<Grade> {
    let exercise = find(name).map_err(Error::Usage)?;
    if seeds == 0 {
        return Err(Error::Usage("--seeds must be at least 1".into()));
    }
    let origin = format!("scenarios/exercises/{name}.ron");
    let mut scenario = parse(exercise.scenario, &origin)?;
    let mut spec: ExerciseSpec = scenario.protocol.params().map_err(|e| Error::Parse {
        path: origin.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    spec.solution = solution;
    scenario.protocol = Spec::of("Exercise", &spec);
    let registry = registry();
    // Fail early on a broken scenario, with its own error, before hiding panics.
    registry.prepare(&scenario, &origin)?;
    let first = scenario.seed;
    // Panics in the student's code end their run quietly; the grade reports them.
    clustersim::sim::quiet_panics();
    let mut runs = Vec::new();
    for seed in first..first + seeds {
        let opts = RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        };
        let report = run_scenario(&registry, &scenario, &origin, &opts)?;
        let outcome = match &report.outcome.panic {
            Some(p) => panicked(p),
            None => judge(&report),
        };
        // Every seed reaches the same todo!(); one line says it.
        let stop = matches!(outcome, Outcome::NotImplemented { .. });
        runs.push((seed, outcome));
        if stop {
            break;
        }
    }
    Ok(Grade {
        name: exercise.name,
        file: exercise.file,
        solution,
        seeds,
        runs,
    })
}

/// A run a panic ended: `todo!()` is work not done yet, anything else a bug in the code.
fn panicked(panic: &clustersim::sim::Panic) -> Outcome {
    let text = &panic.message;
    let message = match &panic.location {
        Some(at) => format!("{text} (at {at})"),
        None => text.clone(),
    };
    if text.starts_with("not yet implemented") || text.starts_with("not implemented") {
        Outcome::NotImplemented { message }
    } else {
        Outcome::Panicked { message }
    }
}

fn judge(report: &Report) -> Outcome {
    // A goal that could not judge (nothing acknowledged, nothing read) is not met either.
    let Some(verdict) = report.verdicts.iter().find(|v| v.status != Status::Pass) else {
        return Outcome::Passed;
    };
    Outcome::Failed {
        verdict: verdict.clone(),
        summary: run_summary(&report.outcome, verdict),
    }
}

/// A few lines that explain a failed run: counters, faults, and the history around the failure.
fn run_summary(out: &RunOutcome, verdict: &Verdict) -> Vec<String> {
    let st = &out.stats;
    let names = out.roster.names();
    let mut lines = vec![format!(
        "run: {} events, messages sent {} delivered {} dropped {} duplicated {}, ended at {}",
        st.events,
        st.sent,
        st.delivered,
        st.dropped_total(),
        st.duplicated,
        out.end_time
    )];
    for (t, f) in &out.faults {
        lines.push(format!("fault at {t}: {}", f.describe(names)));
    }
    let entries = out.history.entries();
    let shown: Vec<clustersim::history::Entry> = match verdict.window {
        Some((lo, hi)) => entries.filter(|e| e.time >= lo && e.time <= hi).collect(),
        None => Vec::new(),
    };
    let marked: Vec<usize> = verdict.culprits.clone();
    if !shown.is_empty() {
        lines.push("history around the failure (* = the operations the check names):".into());
        let skip = shown.len().saturating_sub(14);
        if skip > 0 {
            lines.push(format!("  ... {skip} earlier entries in the window"));
        }
        for e in shown.iter().skip(skip) {
            let mark = if marked.contains(&e.index) { '*' } else { ' ' };
            let phase = match e.phase {
                Phase::Invoke => "invoke",
                Phase::Ok => "ok",
                Phase::Fail => "fail",
                Phase::Info => "info",
                Phase::Event => "event",
            };
            lines.push(format!(
                "{mark} {:>9} {:<10} {:<6} {}",
                e.time.to_string(),
                names.get(e.node.index()).map(String::as_str).unwrap_or("?"),
                phase,
                e.op
            ));
        }
    }
    lines
}
