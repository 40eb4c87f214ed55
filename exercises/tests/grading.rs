//! Every exercise is solvable and not yet solved: the starter fails its grading, the reference
//! solution passes, both through the library and through `clustersim-exercises check-exercise`.
//!
//! Run one exercise's proof with `cargo test -p clustersim-exercises --test grading -- NAME`
//! (e.g. `lease_queue`).

use clustersim_exercises::{self as exercises, Grade, Outcome};
use std::process::Command;

/// The workspace root, where `scenarios/`, `book/` and the exercise files' paths start.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn grade(name: &str, solution: bool) -> Grade {
    exercises::grade(name, solution, 5).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim-exercises"))
        .args(args)
        .output()
        .expect("run clustersim-exercises");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The starter fails the way its file says (a todo!() or a named check), the solution passes.
fn proves(name: &str, starter_is_todo: bool, failing_goal: &str) {
    let starter = grade(name, false);
    assert!(
        !starter.passed(),
        "{name}: the starter passes:\n{}",
        starter.render()
    );
    if starter_is_todo {
        assert!(starter.not_implemented(), "{}", starter.render());
        assert!(starter.render().contains("not implemented yet"));
    } else {
        let failed = starter.runs.iter().find_map(|(_, o)| match o {
            Outcome::Failed { verdict, .. } => Some(verdict.check.clone()),
            _ => None,
        });
        assert_eq!(
            failed.as_deref(),
            Some(failing_goal),
            "{}",
            starter.render()
        );
    }
    let reference = grade(name, true);
    assert!(
        reference.passed(),
        "{name}: the reference fails:\n{}",
        reference.render()
    );
    assert_eq!(reference.runs.len(), 5);

    let (code, text) = cli(&["check-exercise", name]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        !text.contains("panicked at"),
        "a todo!() must not print a crash: {text}"
    );
    let (code, text) = cli(&["check-exercise", name, "--solution"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("PASS: {name} passes on every seed")),
        "{text}"
    );
}

/// A wrong lease-queue server: it leases tasks but ignores acks, so every lease runs out and
/// every task is re-queued forever. Every task gets completed, many times over.
mod requeue_forever {
    use clustersim::node::NodeId;
    use clustersim_exercises::lease_queue::{Ctx, QueueServer, ServerFunctions, Timer};

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

    pub const FUNCTIONS: ServerFunctions = ServerFunctions {
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
        let wrong = lease_queue::run_with(
            &plan,
            requeue_forever::FUNCTIONS,
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
        let right = lease_queue::run_with(
            &plan,
            clustersim_exercises::solutions::lease_queue::FUNCTIONS,
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
fn every_exercise_is_tested_here_and_has_its_scenario_file() {
    let this = include_str!("grading.rs");
    for e in exercises::EXERCISES {
        assert!(
            this.contains(&format!("proves(\"{}\"", e.name)),
            "{} has no test in exercises/tests/grading.rs",
            e.name
        );
        let path = format!("{}/scenarios/exercises/{}.ron", root().display(), e.name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} missing"));
        assert_eq!(on_disk, e.scenario, "{path} differs from the graded copy");
        assert!(root().join(e.file).exists());
    }
    assert!(exercises::EXERCISES.len() >= 6);
}

#[test]
fn failing_grade_names_the_check_and_shows_the_run() {
    let (code, text) = cli(&["check-exercise", "lease-queue"]);
    assert_eq!(code, 1);
    assert!(text.contains("FAIL EveryTaskCompleted: task"), "{text}");
    assert!(
        text.contains("crash worker1"),
        "the trace summary names the fault: {text}"
    );
    assert!(
        text.contains("dequeue(task"),
        "the history window is shown: {text}"
    );
    assert!(text.contains(
        "replay it: clustersim-exercises run scenarios/exercises/lease-queue.ron --seed"
    ));
}

#[test]
fn todo_is_reported_as_not_implemented_with_its_location() {
    let (code, text) = cli(&["check-exercise", "anti-entropy"]);
    assert_eq!(code, 1);
    assert!(text.contains("not implemented yet"), "{text}");
    assert!(text.contains("exercises/anti_entropy.rs:"), "{text}");
}

#[test]
fn unknown_exercise_and_zero_seeds_are_bad_input() {
    let (code, text) = cli(&["check-exercise", "paxos"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("there is no exercise `paxos`; the exercises are: reliable-ping"),
        "{text}"
    );
    let (code, text) = cli(&["check-exercise", "lease-queue", "--seeds", "0"]);
    assert_eq!(code, 2, "{text}");
    let (code, text) = cli(&["check-exercise", "--list"]);
    assert_eq!(code, 0);
    for e in exercises::EXERCISES {
        assert!(text.contains(e.name), "{text}");
    }
}

#[test]
fn exercise_scenarios_run_with_clustersim_run() {
    // The starter of a broken-piece exercise fails its goal through `run` too (exit 1).
    let path = format!(
        "{}/scenarios/exercises/durable-counter.ron",
        root().display()
    );
    let (code, text) = cli(&["run", &path, "--quiet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL CounterNeverGoesBack"), "{text}");
}

#[test]
fn every_exercise_has_a_section_and_its_grading_command_in_the_book() {
    let dir = root().join("book/src");
    let all: String = std::fs::read_dir(&dir)
        .expect("book/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| std::fs::read_to_string(p).expect("chapter"))
        .collect();
    for e in exercises::EXERCISES {
        assert!(
            all.contains(&format!("$ clustersim-exercises check-exercise {}", e.name)),
            "the book never shows `clustersim-exercises check-exercise {}`",
            e.name
        );
        assert!(all.contains(e.file), "the book never names {}", e.file);
    }
}

#[test]
fn exercise_scenarios_keep_their_trace_hashes() {
    let text =
        std::fs::read_to_string(root().join("tests/golden/trace-hashes.tsv")).expect("table");
    let registry = exercises::registry();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("scenarios/exercises/"))
    {
        let (file, want) = line.split_once('\t').expect("file<TAB>hash");
        let s = clustersim::scenario::load(&root().join(file)).expect("loads");
        let r =
            clustersim::run::run_scenario(&registry, &s, file, &Default::default()).expect("runs");
        assert_eq!(format!("{:016x}", r.outcome.trace_hash()), want, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn a_starter_todo_is_a_failed_run_in_run_and_explore_never_a_crash() {
    let path = format!("{}/scenarios/exercises/reliable-ping.ron", root().display());
    let (code, text) = cli(&["run", &path, "--quiet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL NoPanic: client1 panicked at"), "{text}");
    assert!(text.contains("not yet implemented"), "{text}");
    assert!(!text.contains("RUST_BACKTRACE"), "{text}");
    let out = std::env::temp_dir().join(format!("grading-explore-{}", std::process::id()));
    let (code, text) = cli(&[
        "explore",
        &path,
        "--seeds",
        "20",
        "-j",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("NoPanic: 1"), "{text}");
    assert!(!text.contains("no failures"), "{text}");
    let _ = std::fs::remove_dir_all(out);
}

/// The exercises get the debugger as every registered protocol does: each one's reference
/// solution steps to the end through a debugger session with the trace hash of a plain run.
#[test]
fn every_exercise_steps_in_the_debugger_like_a_plain_run() {
    use clustersim::debug::{Action, Session};
    let registry = exercises::registry();
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
