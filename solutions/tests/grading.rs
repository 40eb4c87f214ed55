//! Every exercise is solvable and not yet solved, level by level: the starter fails its
//! grading, the reference solution passes every level, both through the library and through
//! `clustersim-solutions check-exercise`; wrong solutions a weaker grader accepted fail.
//!
//! Run one exercise's proof with `cargo test -p clustersim-solutions --test grading -- NAME`
//! (e.g. `lease_queue`).

use clustersim_exercises::{self as exercises, Code, Grade, Outcome, Seeds};

/// The draw every test grades with, so a test sees the same seeds on every machine.
const DRAW: u64 = 7;
use std::process::Command;

/// The workspace root, where `scenarios/`, `book/` and the exercise files' paths start.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn starter(name: &str) -> Grade {
    exercises::grade(name, Seeds::new(Some(5), Some(DRAW)), None)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reference(name: &str) -> Grade {
    exercises::grade_with(
        &clustersim_solutions::registry(),
        name,
        true,
        Seeds::new(Some(5), Some(DRAW)),
        None,
    )
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

/// Grades `code` (a table of exercise `name`'s functions) on `level` over `seeds` seeds (the
/// level's own count if `None`).
fn grade_code(name: &str, code: Code, seeds: Option<u64>, level: usize) -> Grade {
    use clustersim::registry::{AnyProtocol, Registry};
    use clustersim::scenario::{ParamsError, Spec};
    thread_local! {
        static CODE: std::cell::Cell<Option<Code>> = const { std::cell::Cell::new(None) };
    }
    fn build(spec: &Spec) -> Result<Box<dyn AnyProtocol>, ParamsError> {
        let spec: exercises::ExerciseSpec = spec.params()?;
        let code = CODE.with(|c| c.get()).expect("a table to grade");
        Ok(Box::new(exercises::ExerciseRun::new(spec, Some(code))))
    }
    CODE.with(|c| c.set(Some(code)));
    let registry = exercises::register(Registry::shipped(), build);
    exercises::grade_with(
        &registry,
        name,
        false,
        Seeds::new(seeds, Some(DRAW)),
        Some(level),
    )
    .expect("grades")
}

/// The checks that failed in a grade's runs.
fn failed_checks(g: &Grade) -> Vec<String> {
    g.runs
        .iter()
        .filter_map(|(_, o)| match o {
            Outcome::Failed { verdict, .. } => Some(verdict.check.clone()),
            _ => None,
        })
        .collect()
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
        let g =
            exercises::grade(name, Seeds::new(Some(3), Some(DRAW)), Some(level)).expect("grades");
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
    assert!(good
        .levels
        .iter()
        .all(|l| l.searched.is_some() || l.runs.len() == 5));

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
    for (name, level) in exercises::EXERCISES
        .iter()
        .flat_map(|e| e.levels.iter().map(move |l| (e.name, l)))
    {
        let text = level.scenario.replace(
            &format!("Exercise(name: \"{name}\""),
            &format!("Exercise(name: \"{name}\", solution: true"),
        );
        assert_ne!(
            text, level.scenario,
            "{name}: the level's protocol line was not found"
        );
        let scenario = clustersim::scenario::parse(&text, name).unwrap();
        let plain = clustersim::run::run_scenario(&registry, &scenario, name, &Default::default())
            .unwrap()
            .outcome
            .trace_hash();
        let mut session = Session::open(registry.prepare(&scenario, name).unwrap()).unwrap();
        // Fifty steps, or to the end of a run shorter than that (wal's searched level).
        for _ in 0..50 {
            match session.act(&Action::Next) {
                Err(e) if e == "nothing is pending" => break,
                other => other.unwrap(),
            }
        }
        assert_eq!(session.finished().trace_hash(), plain, "{name}");
    }
}

/// Every wrong solution of every corpus fails the level its corpus names, by the check it
/// names, on the level's own number of seeds; and the book's table lists each one so.
#[test]
fn every_mistake_of_every_corpus_fails_its_level() {
    let book = std::fs::read_to_string(root().join("book/src/labs.md")).expect("labs.md");
    let mut count = 0;
    for name in exercises::names() {
        for m in clustersim_solutions::mistakes::corpus(name) {
            count += 1;
            let g = grade_code(name, m.code, None, m.level);
            let failed = failed_checks(&g);
            assert!(
                failed.iter().any(|c| c == m.check),
                "{name}: `{}` ({}) fails level {} by {failed:?}, not {}:\n{}",
                m.name,
                m.what,
                m.level,
                m.check,
                g.render()
            );
            let row = format!("| {} | level {}, `{}` |", m.what, m.level, m.check);
            assert!(book.contains(&row), "labs.md lacks the row {row}");
        }
    }
    assert!(count >= 15, "only {count} wrong solutions");
}

/// The reference solution of every exercise passes 500 seeds of every level (every path of a
/// searched level).
#[test]
fn every_reference_passes_500_seeds_of_every_level() {
    for name in exercises::names() {
        let g = exercises::grade_with(
            &clustersim_solutions::registry(),
            name,
            true,
            Seeds::new(Some(500), Some(DRAW)),
            None,
        )
        .expect("grades");
        assert!(g.passed(), "{name}:\n{}", g.render());
        assert!(g
            .levels
            .iter()
            .all(|l| l.searched.is_some() || l.runs.len() == 500));
    }
}

/// Each level's seeds after the first are drawn from the code: another draw, other seeds; the
/// same draw, the same seeds; the first is always the scenario's own.
#[test]
fn grading_draws_its_seeds_from_the_code() {
    let e = exercises::find("raft").expect("exists");
    let level = &e.levels[0];
    let a = Seeds::new(Some(20), Some(1)).of(level, 1, 1);
    let b = Seeds::new(Some(20), Some(2)).of(level, 1, 2);
    assert_eq!(a[0], 1);
    assert_eq!(b[0], 1);
    assert_ne!(a[1..], b[1..]);
    assert_eq!(a, Seeds::new(Some(20), Some(1)).of(level, 1, 1));
    let distinct: std::collections::BTreeSet<_> = a.iter().collect();
    assert_eq!(distinct.len(), 20);
    // Another level draws other seeds from the same number.
    assert_ne!(
        a[1..],
        Seeds::new(Some(20), None).of(&e.levels[1], 1, 1)[1..]
    );
    // The draw of a build is a hash of the student's file: a one-character edit changes it.
    let mut edited = e.source.to_string();
    edited.push(' ');
    let other = exercises::draw_of(&edited);
    assert_ne!(other, exercises::build_draw(e));
    // The report prints the draw, and --draw grades the same seeds again.
    let (code, text) = cli(&["check-exercise", "raft", "--level", "1", "--seeds", "3"]);
    assert_eq!(code, 0, "{text}");
    let draw = exercises::build_draw(e).to_string();
    assert!(
        text.contains(&format!("--draw {draw} grades the same seeds")),
        "{text}"
    );
    let (_, again) = cli(&[
        "check-exercise",
        "raft",
        "--level",
        "1",
        "--seeds",
        "3",
        "--draw",
        &draw,
    ]);
    let seeds_line = |t: &str| {
        t.lines()
            .find(|l| l.contains("seeds ("))
            .map(str::to_string)
    };
    assert_eq!(seeds_line(&text), seeds_line(&again), "{again}");
}

#[test]
fn raft() {
    proves("raft", true, "");
}

#[test]
fn exactly_once() {
    proves("exactly-once", false, "EveryRequestAnswered");
}

/// Each level of exactly-once catches the solution that stops one step short, and passes the
/// levels before it.
#[test]
fn exactly_once_levels_each_need_their_step() {
    use clustersim::node::NodeId;
    use clustersim_exercises::exactly_once::{self as lab, Ctx, Functions, Msg, Server};
    use clustersim_solutions::exactly_once as reference;

    fn dedup_in_memory(s: &mut Server, ctx: &mut Ctx<'_>, from: NodeId, req: u64, value: u64) {
        let position = match s.answered.get(&(from, req)) {
            Some(p) => *p,
            None => {
                let p = s.apply(ctx, value);
                s.answered.insert((from, req), p);
                p
            }
        };
        ctx.send(from, Msg::Appended { req, position });
    }
    static RETRIES_ONLY: Functions = Functions {
        on_timeout: reference::on_timeout,
        on_request: lab::on_request,
    };
    static FORGETS_ON_CRASH: Functions = Functions {
        on_timeout: reference::on_timeout,
        on_request: dedup_in_memory,
    };
    for (what, table, passes, fails) in [
        ("retries without deduplicating", &RETRIES_ONLY, 1, 2),
        ("deduplicates in memory only", &FORGETS_ON_CRASH, 2, 3),
    ] {
        for level in 1..=passes {
            let g = grade_code("exactly-once", Code::of(table), Some(5), level);
            assert!(g.passed(), "{what}: level {level}:\n{}", g.render());
        }
        let g = grade_code("exactly-once", Code::of(table), Some(5), fails);
        assert!(!g.passed(), "{what} passes level {fails}:\n{}", g.render());
        assert!(
            g.render().contains("FAIL AppliedExactlyOnce"),
            "{}",
            g.render()
        );
    }
}

#[test]
fn broadcast() {
    proves("broadcast", false, "DeliveredEverywhere");
}

/// Flooding every new value to every peer passes the flood level and the partition one (loss
/// is repaired by the flood's redundancy only sometimes: not asserted), and fails the budget.
#[test]
fn broadcast_budget_fails_a_flood() {
    use clustersim::node::NodeId;
    use clustersim_exercises::broadcast::{Ctx, Functions, Msg, Node};
    fn tell_everyone(node: &mut Node, ctx: &mut Ctx<'_>, value: u64) {
        for p in node.peers() {
            ctx.send(p, Msg::Values(vec![value]));
        }
    }
    fn forward(node: &mut Node, ctx: &mut Ctx<'_>, _from: NodeId, msg: Msg) {
        if let Msg::Values(vs) = msg {
            for v in vs {
                if node.learn(ctx, v) {
                    tell_everyone(node, ctx, v);
                }
            }
        }
    }
    static FLOOD: Functions = Functions {
        on_broadcast: tell_everyone,
        on_message: forward,
        on_tick: |_, _| {},
    };
    let g = grade_code("broadcast", Code::of(&FLOOD), Some(5), 1);
    assert!(g.passed(), "{}", g.render());
    let g = grade_code("broadcast", Code::of(&FLOOD), Some(5), 3);
    assert!(!g.passed(), "{}", g.render());
    assert!(
        g.render().contains("FAIL MessagesPerOperation"),
        "{}",
        g.render()
    );
}

#[test]
fn primary_backup() {
    proves("primary-backup", true, "");
}

/// A handler that never returns (here: until the test is done with it) does not hang grading:
/// the watchdog gives up on the run after its real-time limit, names the level and seed, and
/// the grade is not a pass.
#[test]
fn a_handler_in_an_infinite_loop_is_given_up_on_not_passed() {
    use clustersim::registry::{AnyProtocol, Registry};
    use clustersim::scenario::{ParamsError, Spec};
    use clustersim_exercises::raft::Functions;
    use clustersim_exercises::raft_node::{Ctx, RaftServer};
    use clustersim_exercises::watchdog::{grade_watched, Watched};
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    fn spins(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
        // As far as the grader can tell, this never returns; the test lets it go at the end.
        while !DONE.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        clustersim_solutions::raft::on_tick(s, ctx);
    }
    const SPINS: Functions = Functions {
        on_tick: spins,
        ..clustersim_solutions::raft::FUNCTIONS
    };
    fn build(spec: &Spec) -> Result<Box<dyn AnyProtocol>, ParamsError> {
        let spec: exercises::ExerciseSpec = spec.params()?;
        Ok(Box::new(exercises::ExerciseRun::new(
            spec,
            Some(Code::of(&SPINS)),
        )))
    }
    let limit = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let watched = grade_watched(
        || exercises::register(Registry::shipped(), build),
        "raft",
        false,
        Seeds::new(Some(3), Some(DRAW)),
        Some(2),
        limit,
    )
    .expect("grades");
    DONE.store(true, Ordering::Relaxed);
    let text = watched.render();
    assert!(!watched.passed(), "{text}");
    assert!(
        matches!(
            watched,
            Watched::Hung {
                level: 2,
                seed: 1,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("INCONCLUSIVE: the run did not finish within 2 seconds of real time")
            && text.contains("an infinite loop in your handler?")
            && text.contains("NOT PASSED"),
        "{text}"
    );
    assert!(started.elapsed() < limit * 10, "{:?}", started.elapsed());
}

/// A run that stops at its event limit says so, as a failure, instead of leaving a check to
/// call it too short to judge.
#[test]
fn a_message_storm_fails_by_its_event_limit() {
    use clustersim_exercises::raft::Functions;
    use clustersim_exercises::raft_node::{Ctx, RaftServer};
    fn storm(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
        for _ in 0..5000 {
            clustersim_solutions::raft::on_tick(s, ctx);
        }
    }
    const STORM: Functions = Functions {
        on_tick: storm,
        ..clustersim_solutions::raft::FUNCTIONS
    };
    let g = grade_code("raft", Code::of(&STORM), Some(1), 1);
    let text = g.render();
    assert_eq!(failed_checks(&g), ["EventLimit"], "{text}");
    assert!(
        text.contains("the run stopped at its event limit")
            && text.contains("a message or timer storm?")
            && !text.contains("too short"),
        "{text}"
    );
}

#[test]
fn wal() {
    proves("wal", false, "Durable");
}

/// Each wrong write-ahead log passes every level before the one its corpus names (so each level
/// is the one that needs its step) and fails that one, by the check named.
#[test]
fn wal_mistakes_pass_the_levels_before_their_own() {
    for m in clustersim_solutions::mistakes::corpus("wal") {
        for level in 1..m.level {
            let g = grade_code("wal", m.code, Some(5), level);
            assert!(
                g.passed(),
                "`{}` fails level {level}, before its own ({}):\n{}",
                m.name,
                m.level,
                g.render()
            );
        }
        let g = grade_code("wal", m.code, None, m.level);
        assert!(
            failed_checks(&g).iter().any(|c| c == m.check),
            "`{}` does not fail level {} by {}:\n{}",
            m.name,
            m.level,
            m.check,
            g.render()
        );
    }
}

/// Level 5 of `wal` as `check` runs it: the starter's lost write is found on a shortest path
/// that `run` replays to the same failure, and the reference's search is complete.
#[test]
fn wal_search_finds_the_starters_loss_and_run_replays_it() {
    let dir = std::env::temp_dir().join(format!("wal-search-{}", std::process::id()));
    let scenario = root().join("scenarios/exercises/wal-5-search.ron");
    let search = |file: &std::path::Path| {
        cli(&[
            "check",
            file.to_str().unwrap(),
            "--crashes",
            "1",
            "--disk-faults",
            "1",
            "--restarts",
            "--targets",
            "server",
            "--depth",
            "200",
            "--out",
            dir.to_str().unwrap(),
            "--force",
        ])
    };
    let (code, text) = search(&scenario);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL Durable"), "{text}");
    assert!(text.contains("shortest failing path: "), "{text}");
    let path = dir.join("wal-5-search-check-min.ron");
    let (code, replay) = cli(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{replay}");
    assert!(
        replay.contains("FAIL Durable: 1 of 1 final reads after the heal"),
        "{replay}"
    );
    let text = std::fs::read_to_string(&scenario).unwrap().replace(
        "Exercise(name: \"wal\")",
        "Exercise(name: \"wal\", solution: true)",
    );
    std::fs::create_dir_all(&dir).unwrap();
    let reference = dir.join("wal-5-search-reference.ron");
    std::fs::write(&reference, text).unwrap();
    let (code, text) = search(&reference);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("complete: every state was explored"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
