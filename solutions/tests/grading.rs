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

/// Grades `code` (a table of exercise `name`'s functions) on `level` over `seeds` seeds.
fn grade_code(name: &str, code: Code, seeds: u64, level: usize) -> Grade {
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
    exercises::grade_with(&registry, name, false, seeds, Some(level)).expect("grades")
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

/// Wrong Raft servers, each the reference with one mistake a student makes: the lab's levels
/// must catch every one.
mod wrong_raft {
    use clustersim::node::NodeId;
    use clustersim::protocols::raft::node::RequestVote;
    use clustersim::protocols::raft::RaftMsg;
    use clustersim_exercises::raft::Functions;
    use clustersim_exercises::raft_node::{Ctx, RaftServer};
    use clustersim_solutions::raft as reference;

    /// Applies a write every time it is in the log (the starter's `apply`).
    pub const APPLIES_TWICE: Functions = Functions {
        apply: clustersim_exercises::raft::apply,
        ..reference::FUNCTIONS
    };

    fn forgetful_vote(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
        s.voted_for = None;
        reference::on_request_vote(s, ctx, rv);
    }

    /// Grants a vote to every candidate of the term, not only the first.
    pub const VOTES_TWICE: Functions = Functions {
        on_request_vote: forgetful_vote,
        ..reference::FUNCTIONS
    };

    fn chatty_tick(s: &mut RaftServer, ctx: &mut Ctx<'_>) {
        for _ in 0..4 {
            reference::on_tick(s, ctx);
        }
    }

    /// Sends four heartbeats where one would do.
    pub const CHATTY: Functions = Functions {
        on_tick: chatty_tick,
        ..reference::FUNCTIONS
    };

    fn vote_unsynced(s: &mut RaftServer, ctx: &mut Ctx<'_>, rv: RequestVote) {
        if rv.term > s.current_term {
            s.current_term = rv.term;
            s.voted_for = None;
            s.role = clustersim_exercises::raft_node::Role::Follower;
        }
        let up_to_date =
            (rv.last_log_term, rv.last_log_index) >= (s.log.last_term(), s.log.last_index());
        let granted = rv.term == s.current_term
            && s.voted_for.is_none_or(|v| v == rv.candidate_id)
            && up_to_date;
        if granted {
            // The mistake: the vote is not saved before the reply goes out.
            s.voted_for = Some(rv.candidate_id);
            s.reset_election_timer(ctx);
        }
        let reply = clustersim::protocols::raft::node::RequestVoteReply {
            term: s.current_term,
            vote_granted: granted,
        };
        s.send(ctx, rv.candidate_id, RaftMsg::RequestVoteReply(reply));
    }

    /// Votes without saving the vote: a restarted server can vote again in the same term.
    pub const FORGETS_VOTE_ON_CRASH: Functions = Functions {
        on_request_vote: vote_unsynced,
        ..reference::FUNCTIONS
    };

    fn any_log_will_do(s: &mut RaftServer, ctx: &mut Ctx<'_>, mut rv: RequestVote) {
        // The mistake: the candidate's log is taken to be as up to date as anyone's.
        rv.last_log_term = u64::MAX;
        reference::on_request_vote(s, ctx, rv);
    }

    /// Votes for any candidate of the term, whatever its log (section 5.4.1 left out).
    pub const NO_ELECTION_RESTRICTION: Functions = Functions {
        on_request_vote: any_log_will_do,
        ..reference::FUNCTIONS
    };

    fn ignores_leader(
        _s: &mut RaftServer,
        _ctx: &mut Ctx<'_>,
        _from: NodeId,
        _r: clustersim::protocols::raft::node::AppendEntriesReply,
    ) {
    }

    /// Never learns what followers stored, so it never commits.
    pub const NEVER_COMMITS: Functions = Functions {
        on_append_entries_reply: ignores_leader,
        ..reference::FUNCTIONS
    };
}

fn raft_with(table: &'static clustersim_exercises::raft::Functions, level: usize) -> Grade {
    grade_code("raft", Code::of(table), 5, level)
}

#[test]
fn raft_levels_catch_the_usual_mistakes() {
    let cases: [(
        &str,
        &'static clustersim_exercises::raft::Functions,
        usize,
        &str,
    ); 6] = [
        (
            "applies a retried write twice",
            &wrong_raft::APPLIES_TWICE,
            4,
            "Linearizable",
        ),
        (
            "votes twice in a term",
            &wrong_raft::VOTES_TWICE,
            1,
            "ElectionSafety",
        ),
        (
            "floods heartbeats",
            &wrong_raft::CHATTY,
            1,
            "MessagesPerSecond",
        ),
        (
            "forgets its vote in a crash",
            &wrong_raft::FORGETS_VOTE_ON_CRASH,
            3,
            "ElectionSafety",
        ),
        ("never commits", &wrong_raft::NEVER_COMMITS, 2, "Liveness"),
        (
            "grants votes to stale logs",
            &wrong_raft::NO_ELECTION_RESTRICTION,
            2,
            "Linearizable",
        ),
    ];
    for (what, table, level, check) in cases {
        let g = raft_with(table, level);
        assert!(
            !g.passed(),
            "a server that {what} passes level {level}:\n{}",
            g.render()
        );
        let failed = failed_checks(&g);
        assert!(
            failed.iter().any(|c| c == check),
            "a server that {what} fails level {level} by {failed:?}, not {check}:\n{}",
            g.render()
        );
    }
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
            let g = grade_code("exactly-once", Code::of(table), 5, level);
            assert!(g.passed(), "{what}: level {level}:\n{}", g.render());
        }
        let g = grade_code("exactly-once", Code::of(table), 5, fails);
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
    let g = grade_code("broadcast", Code::of(&FLOOD), 5, 1);
    assert!(g.passed(), "{}", g.render());
    let g = grade_code("broadcast", Code::of(&FLOOD), 5, 3);
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

/// Wrong primary-backup solutions, each the reference with one mistake a student makes.
mod wrong_pb {
    use clustersim::node::NodeId;
    use clustersim::protocols::kv::client::{KvOp, KvRequest};
    use clustersim_exercises::primary_backup::{self as lab, Functions};
    use clustersim_exercises::primary_backup_node::{Ctx, Forward, PbServer, ViewServer};
    use clustersim_solutions::primary_backup as reference;

    const RIGHT: Functions = reference::FUNCTIONS;

    /// Changes the view whenever a server looks dead, acknowledged or not.
    fn check_eagerly(vs: &mut ViewServer, ctx: &mut Ctx<'_>) {
        let acked = vs.acked;
        vs.acked = true;
        reference::on_check(vs, ctx);
        if vs.view.num == 0 {
            vs.acked = acked;
        }
    }
    pub const IGNORES_ACKS: Functions = Functions {
        on_check: check_eagerly,
        ..RIGHT
    };

    /// Takes a ping with 0 from the primary or backup for an ordinary ping.
    fn ping_ignoring_restarts(vs: &mut ViewServer, ctx: &mut Ctx<'_>, server: NodeId, num: u64) {
        if num != 0 || vs.view.num == 0 {
            reference::on_ping(vs, ctx, server, num);
        }
    }
    pub const IGNORES_RESTARTS: Functions = Functions {
        on_ping: ping_ignoring_restarts,
        ..RIGHT
    };

    /// Answers at once and never forwards: the backup has nothing.
    fn no_backup(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
        if !s.is_primary() || s.acked != s.view.num {
            s.redirect(ctx, client, req.id);
            return;
        }
        let result = s.execute(req.op);
        s.reply(ctx, client, req.id, result);
    }
    pub const NEVER_FORWARDS: Functions = Functions {
        on_request: no_backup,
        ..RIGHT
    };

    /// Answers the client as soon as the forward is sent.
    fn answer_at_once(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
        reference::on_request(s, ctx, client, req);
        if let Some((_, w)) = s.waiting.pop_last() {
            s.reply(ctx, w.client, w.id, w.result);
        }
    }
    pub const ANSWERS_EARLY: Functions = Functions {
        on_request: answer_at_once,
        ..RIGHT
    };

    /// Answers reads from its own copy, without asking the backup.
    fn local_reads(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
        if let KvOp::Get { key } = req.op {
            if s.is_primary() && s.acked == s.view.num {
                let value = s.kv.get(&key).copied();
                s.reply(
                    ctx,
                    client,
                    req.id,
                    clustersim::protocols::kv::client::KvResult::Done(value),
                );
                return;
            }
        }
        reference::on_request(s, ctx, client, req);
    }
    pub const LOCAL_READS: Functions = Functions {
        on_request: local_reads,
        ..RIGHT
    };

    /// Forwards, but never transfers the state: a backup takes forwards from its primary at
    /// once, whatever it holds.
    fn forward_without_state(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, fwd: Forward) {
        s.synced = s.view.num;
        reference::on_forward(s, ctx, from, fwd);
    }
    pub const NO_TRANSFER: Functions = Functions {
        on_view: lab::on_view,
        on_forward: forward_without_state,
        ..RIGHT
    };

    /// Applies a write every time it arrives.
    pub const APPLIES_TWICE: Functions = Functions {
        apply: lab::apply,
        ..RIGHT
    };

    /// Never sends anything again.
    pub const NO_RETRANSMIT: Functions = Functions {
        on_tick: lab::on_tick,
        ..RIGHT
    };
}

/// Each mistake fails the level meant to catch it, by the check that names it (over 10 seeds).
#[test]
fn primary_backup_levels_catch_the_usual_mistakes() {
    use clustersim_exercises::primary_backup::Functions;
    let cases: [(&str, &'static Functions, usize, &str); 9] = [
        (
            "changes unacknowledged views",
            &wrong_pb::IGNORES_ACKS,
            1,
            "ViewsValid",
        ),
        (
            "ignores restarted servers",
            &wrong_pb::IGNORES_RESTARTS,
            1,
            "FailoverWithin",
        ),
        (
            "never forwards",
            &wrong_pb::NEVER_FORWARDS,
            2,
            "Linearizable",
        ),
        (
            "never transfers its state",
            &wrong_pb::NO_TRANSFER,
            2,
            "Liveness",
        ),
        (
            "never transfers its state",
            &wrong_pb::NO_TRANSFER,
            3,
            "Linearizable",
        ),
        (
            "answers before the backup has it",
            &wrong_pb::ANSWERS_EARLY,
            4,
            "Linearizable",
        ),
        (
            "reads its own copy",
            &wrong_pb::LOCAL_READS,
            4,
            "Linearizable",
        ),
        (
            "applies a retried write twice",
            &wrong_pb::APPLIES_TWICE,
            4,
            "Linearizable",
        ),
        ("never resends", &wrong_pb::NO_RETRANSMIT, 4, "Liveness"),
    ];
    for (what, table, level, check) in cases {
        let g = grade_code("primary-backup", Code::of(table), 10, level);
        let failed = failed_checks(&g);
        assert!(
            failed.iter().any(|c| c == check),
            "a server that {what} fails level {level} by {failed:?}, not {check}:\n{}",
            g.render()
        );
    }
}
