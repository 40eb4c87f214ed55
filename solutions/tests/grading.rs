//! Every exercise is solvable and not yet solved, level by level: the starter fails its
//! grading, the reference solution passes every level, both through the library and through
//! `clustersim-solutions check-exercise`; wrong solutions a weaker grader accepted fail.
//!
//! Run one exercise's proof with `cargo test -p clustersim-solutions --test grading -- NAME`
//! (e.g. `lease_queue`).

use clustersim_exercises::{self as exercises, Code, Grade, Outcome};
use std::process::Command;

/// The workspace root, where `scenarios/`, `book/` and the exercise files' paths start.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn starter(name: &str) -> Grade {
    exercises::grade(name, 5, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reference(name: &str) -> Grade {
    exercises::grade_with(&clustersim_solutions::registry(), name, true, 5, None)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim-solutions"))
        .args(args)
        .output()
        .expect("run clustersim-solutions");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The starter fails the way its file says (a todo!() or a named check) on the first level, and
/// the reference passes every level, in the library and on the command line.
fn proves(name: &str, starter_is_todo: bool, failing_goal: &str) {
    let start = starter(name);
    assert!(
        !start.passed(),
        "{name}: the starter passes:\n{}",
        start.render()
    );
    if starter_is_todo {
        assert!(start.not_implemented(), "{}", start.render());
        assert!(start.render().contains("not implemented yet"));
    } else {
        let failed = start.runs.iter().find_map(|(_, o)| match o {
            Outcome::Failed { verdict, .. } => Some(verdict.check.clone()),
            _ => None,
        });
        assert_eq!(failed.as_deref(), Some(failing_goal), "{}", start.render());
    }
    let exercise = exercises::find(name).expect("exists");
    // Every level, graded alone, fails for the starter.
    for level in 1..=exercise.levels.len() {
        let g = exercises::grade(name, 3, Some(level)).expect("grades");
        assert!(
            !g.passed(),
            "{name} level {level}: the starter passes:\n{}",
            g.render()
        );
    }
    let good = reference(name);
    assert!(
        good.passed(),
        "{name}: the reference fails:\n{}",
        good.render()
    );
    assert_eq!(good.levels.len(), exercise.levels.len());
    assert!(good.levels.iter().all(|l| l.runs.len() == 5));

    let (code, text) = cli(&["check-exercise", name]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("PASS: {name} passes on every seed")),
        "{text}"
    );
    let (code, text) = cli(&["check-exercise", name, "--starter", "--seeds", "1"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        !text.contains("panicked at"),
        "a todo!() must not print a crash: {text}"
    );
}

/// A wrong lease-queue server: it leases tasks but ignores acks, so every lease runs out and
/// every task is re-queued forever. Every task gets completed, many times over.
mod requeue_forever {
    use clustersim::node::NodeId;
    use clustersim_exercises::lease_queue::{Ctx, Functions, QueueServer, Timer};

    fn take(server: &mut QueueServer, ctx: &mut Ctx<'_>, worker: NodeId) -> Option<u64> {
        let task = server.ready.pop_front()?;
        server.in_flight.insert(task, worker);
        ctx.set_timer(server.lease, Timer::Lease { task });
        Some(task)
    }

    fn on_ack(_server: &mut QueueServer, _ctx: &mut Ctx<'_>, _task: u64) {}

    fn on_lease_expired(server: &mut QueueServer, _ctx: &mut Ctx<'_>, task: u64) {
        server.in_flight.remove(&task);
        server.ready.push_back(task);
    }

    pub const FUNCTIONS: Functions = Functions {
        take,
        on_ack,
        on_lease_expired,
    };
}

#[test]
fn lease_queue_grader_fails_a_queue_that_redelivers_every_task_forever() {
    use clustersim_exercises::lease_queue;
    let origin = "scenarios/exercises/lease-queue.ron";
    let text = std::fs::read_to_string(root().join(origin)).expect("scenario");
    let registry = exercises::registry();
    for seed in 1..6 {
        let mut scenario = clustersim::scenario::parse(&text, origin).expect("parses");
        scenario.seed = seed;
        let plan = registry.prepare(&scenario, origin).expect("prepares").plan;
        let wrong = lease_queue::run(
            &plan,
            Code::of(&requeue_forever::FUNCTIONS),
            clustersim::trace::TraceLevel::HashOnly,
        );
        let completed = wrong
            .history
            .events()
            .filter(|e| matches!(e.op, clustersim::history::Op::Complete { .. }))
            .count();
        assert!(completed > 30, "seed {seed}: only {completed} completions");
        // The old goal alone accepts it: every task was completed.
        assert!(exercises::Goal::EveryTaskCompleted
            .evaluate(&wrong)
            .passed());
        let v = exercises::Goal::BoundedRedelivery.evaluate(&wrong);
        assert!(!v.passed(), "seed {seed}: {v:?}");
        assert!(
            v.summary.contains("with 1 crash in the run (at most 2)"),
            "{}",
            v.summary
        );
        // The reference passes both on the same seed.
        let right = lease_queue::run(
            &plan,
            Code::of(&clustersim_solutions::lease_queue::FUNCTIONS),
            clustersim::trace::TraceLevel::HashOnly,
        );
        for goal in [
            exercises::Goal::EveryTaskCompleted,
            exercises::Goal::BoundedRedelivery,
        ] {
            let v = goal.evaluate(&right);
            assert!(v.passed(), "seed {seed}: reference: {v:?}");
        }
    }
}

#[test]
fn reliable_ping() {
    proves("reliable-ping", true, "EveryRequestAnswered");
}

#[test]
fn lease_queue() {
    proves("lease-queue", false, "EveryTaskCompleted");
}

#[test]
fn idempotent_sink() {
    proves("idempotent-sink", true, "EffectsExactlyOnce");
}

#[test]
fn durable_counter() {
    proves("durable-counter", false, "CounterNeverGoesBack");
}

#[test]
fn sync_replication() {
    proves("sync-replication", false, "AckedWritesVisible");
}

#[test]
fn anti_entropy() {
    proves("anti-entropy", true, "AllDelivered");
}

#[test]
fn every_exercise_is_proved_here() {
    let this = include_str!("grading.rs");
    for e in exercises::EXERCISES {
        assert!(
            this.contains(&format!("proves(\"{}\"", e.name)),
            "{} has no test in solutions/tests/grading.rs",
            e.name
        );
        assert!(
            clustersim_solutions::code(e.name).is_some(),
            "{} has no solution",
            e.name
        );
    }
    assert!(exercises::EXERCISES.len() >= 6);
}

/// The exercises get the debugger as every registered protocol does: each one's reference
/// solution steps to the end through a debugger session with the trace hash of a plain run.
#[test]
fn every_exercise_steps_in_the_debugger_like_a_plain_run() {
    use clustersim::debug::{Action, Session};
    let registry = clustersim_solutions::registry();
    for name in exercises::names() {
        let file = root().join(format!("scenarios/exercises/{name}.ron"));
        let text = std::fs::read_to_string(&file).unwrap().replace(
            &format!("name: \"{name}\")"),
            &format!("name: \"{name}\", solution: true)"),
        );
        let scenario = clustersim::scenario::parse(&text, name).unwrap();
        let plain = clustersim::run::run_scenario(&registry, &scenario, name, &Default::default())
            .unwrap()
            .outcome
            .trace_hash();
        let mut session = Session::open(registry.prepare(&scenario, name).unwrap()).unwrap();
        for _ in 0..50 {
            session.act(&Action::Next).unwrap();
        }
        assert_eq!(session.finished().trace_hash(), plain, "{name}");
    }
}
