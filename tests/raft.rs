//! Raft keeps its promises under faults: the bundled scenarios, minority and majority
//! partitions, crash-restart of every server in turn and all at once, a proptest over random
//! fault schedules; each planted bug is found and named by the check it breaks; and the
//! `ElectionSafety` checker on hand-built histories (a failing case beside a passing one).

use clustersim::check::{
    check_election_safety, Converged, Durable, ElectionSafety, Linearizable, StaleReads, Status,
    Verdict,
};
use clustersim::explore::{progress::Silent, runner, sweep, Budget, Shard, SweepConfig};
use clustersim::fault::{Fault, NemesisKind, ScheduledFault};
use clustersim::history::{History, Op, Phase, LEADER};
use clustersim::node::{NodeId, Roster};
use clustersim::protocols::kv::client::KvOp;
use clustersim::protocols::raft::log::{Command, LogEntry};
use clustersim::protocols::raft::node::{Role, Server};
use clustersim::protocols::raft::{RaftNode, RaftParams};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::Spec;
use clustersim::scenario::{load, parse, Scenario};
use clustersim::sim::{Bounds, NodeStatus, RunOutcome, Sim, StopReason};
use clustersim::strategy::{self, FaultConfig, NetworkConfig};
use clustersim::time::{Duration, SimTime};
use clustersim::trace::{Trace, TraceLevel};
use clustersim::Check;
use clustersim::Protocol;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

const ALL: [&str; 4] = ["Linearizable", "Durable", "Converged", "ElectionSafety"];

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    load(&path).expect("scenario loads")
}

fn run(s: &Scenario) -> Report {
    run_scenario(&Registry::shipped(), s, &s.name, &RunOptions::default()).expect("scenario runs")
}

fn verdict<'a>(report: &'a Report, check: &str) -> &'a Verdict {
    report
        .verdicts
        .iter()
        .find(|v| v.check == check)
        .unwrap_or_else(|| panic!("no verdict for {check}"))
}

/// Every named check passed (not merely "unknown").
fn assert_pass(report: &Report, checks: &[&str]) {
    for c in checks {
        let v = verdict(report, c);
        assert_eq!(v.status, Status::Pass, "{}: {v:?}", report.scenario.name);
    }
}

fn leaders(report: &Report) -> Vec<(NodeId, u64)> {
    report
        .outcome
        .history
        .events()
        .filter_map(|e| e.op.custom_value::<u64>(LEADER).map(|term| (e.node, term)))
        .collect()
}

fn acknowledged_writes(report: &Report) -> usize {
    report
        .outcome
        .history
        .calls()
        .iter()
        .filter(|c| c.outcome == Phase::Ok && matches!(c.invoked, Op::Put { .. } | Op::Cas { .. }))
        .count()
}

fn at(ms: u64, fault: Fault<String>) -> ScheduledFault {
    ScheduledFault {
        at: Duration::from_millis(ms),
        fault,
    }
}

/// Changes the scenario's Raft parameters.
fn raft(s: &mut Scenario, change: impl FnOnce(&mut RaftParams)) {
    s.protocol.edit(change).expect("a Raft scenario");
}

// ---- the bundled scenarios ----

#[test]
fn leader_crash_elects_a_new_leader_and_keeps_every_acknowledged_write() {
    let r = run(&scenario("raft-leader-crash.ron"));
    assert_pass(&r, &ALL);
    let l = leaders(&r);
    // The crashed server led first, and someone else leads afterwards.
    assert_eq!(l[0].0, r.outcome.roster.by_name("server4").unwrap());
    assert!(l.iter().any(|(n, t)| *n != l[0].0 && *t > l[0].1), "{l:?}");
    assert!(acknowledged_writes(&r) > 50);
}

#[test]
fn minority_partition_of_the_leader_elects_a_leader_on_the_majority_side() {
    let r = run(&scenario("raft-partition-minority.ron"));
    assert_pass(&r, &ALL);
    assert_pass(&r, &["StaleReads"]);
    let l = leaders(&r);
    let minority = ["server4", "server5"].map(|n| r.outcome.roster.by_name(n).unwrap());
    assert!(
        l.iter().any(|(n, _)| !minority.contains(n)),
        "the majority side elected no leader: {l:?}"
    );
}

#[test]
fn majority_partition_with_the_leader_keeps_serving_and_loses_nothing() {
    let mut s = scenario("raft-partition-minority.ron");
    // server4 leads first; two followers and client2 are cut off instead.
    s.faults = vec![
        at(
            1_000,
            Fault::Partition(vec![vec![
                "server1".into(),
                "server2".into(),
                "client2".into(),
            ]]),
        ),
        at(3_000, Fault::Heal),
    ];
    let r = run(&s);
    assert_pass(&r, &ALL);
    let during = r
        .outcome
        .history
        .calls()
        .iter()
        .filter(|c| {
            c.outcome == Phase::Ok
                && c.invoke_time > SimTime::ZERO + Duration::from_millis(1_100)
                && c.complete_time.unwrap() < SimTime::ZERO + Duration::from_secs(3)
        })
        .count();
    assert!(during > 20, "the majority side served only {during} calls");
}

#[test]
fn flaky_network_with_loss_duplication_and_reordering_passes_every_check() {
    let r = run(&scenario("raft-flaky-network.ron"));
    assert_pass(&r, &ALL);
    let stats = &r.outcome.stats;
    assert!(stats.duplicated > 0, "{stats:?}");
    assert!(stats.dropped_total() > 0, "{stats:?}");
    assert!(acknowledged_writes(&r) > 50);
}

/// Duplicated client requests once slipped through twice (a copy answered `NotLeader` after
/// the first was in the log; a copy of a rejected request accepted after an election): the
/// client recorded `fail` for a cas that took effect. 500 seeds of the flaky scenario.
#[test]
fn flaky_network_sweep_finds_no_violation() {
    let s = scenario("raft-flaky-network.ron");
    let mut config = sweep_config(500);
    config.keep_going = true;
    let found = sweep(
        &s,
        &config,
        runner(&REGISTRY, "raft-flaky-network"),
        &Silent,
    )
    .expect("sweeps");
    assert_eq!(found.runs(), 500);
    assert!(found.failures.is_empty(), "{:?}", found.failures);
}

#[test]
fn thousand_operations_with_a_leader_crash_are_linearizable() {
    let r = run(&scenario("raft-1000-ops.ron"));
    assert_pass(&r, &["Linearizable", "ElectionSafety"]);
    assert_eq!(r.outcome.history.calls().len(), 1_000);
    assert!(acknowledged_writes(&r) > 400);
}

// ---- crashes ----

#[test]
fn crash_restart_of_every_server_in_turn_loses_no_acknowledged_write() {
    let mut s = scenario("raft-leader-crash.ron");
    s.faults = (1..=5)
        .flat_map(|i| {
            let name = format!("server{i}");
            let start = 200 + 700 * (i as u64 - 1);
            [
                at(start, Fault::Crash(name.clone())),
                at(start + 400, Fault::Restart(name)),
            ]
        })
        .collect();
    s.bounds.max_time = Duration::from_secs(6);
    s.workload.stop = Some(Duration::from_millis(4_500));
    raft(&mut s, |p| {
        p.final_reads = Some(Duration::from_millis(5_000))
    });
    s.faults.retain(|f| f.at < Duration::from_millis(4_000));
    let r = run(&s);
    assert_pass(&r, &ALL);
    assert!(leaders(&r).len() >= 2, "the leader's crash was not felt");
    assert!(acknowledged_writes(&r) > 50);
}

#[test]
fn every_server_crashing_at_once_keeps_what_was_synced() {
    let mut s = scenario("raft-leader-crash.ron");
    s.faults = (1..=5)
        .flat_map(|i| {
            let name = format!("server{i}");
            [
                at(1_500, Fault::Crash(name.clone())),
                at(1_800 + 20 * i, Fault::Restart(name)),
            ]
        })
        .collect();
    let r = run(&s);
    assert_pass(&r, &ALL);
    let acked_before = r
        .outcome
        .history
        .calls()
        .iter()
        .filter(|c| {
            c.outcome == Phase::Ok
                && matches!(c.invoked, Op::Put { .. })
                && c.complete_time.unwrap() < SimTime::ZERO + Duration::from_millis(1_500)
        })
        .count();
    assert!(acked_before > 20);
}

/// What a server persisted: (current_term, voted_for, every log entry).
fn persisted(sim: &Sim<RaftNode>, id: NodeId) -> (u64, Option<NodeId>, Vec<LogEntry>) {
    let s = server(sim, id).expect("a live server");
    (
        s.current_term(),
        s.voted_for(),
        s.log().entries_from(1, usize::MAX),
    )
}

type Persisted = (u64, Option<NodeId>, Vec<LogEntry>);

/// Crashes and restarts each server in turn (in the same instant, so nothing else happens in
/// between) and returns what each had before and after.
fn restart_each(persist_voted_for: bool) -> Vec<(Persisted, Persisted)> {
    let mut s = scenario("raft-leader-crash.ron");
    s.faults.clear();
    raft(&mut s, |p| p.persist_voted_for = persist_voted_for);
    let plan = s.plan("restart").expect("valid");
    let params: RaftParams = s.protocol.params().expect("Raft params");
    let mut sim = Sim::new(plan.sim_config(TraceLevel::HashOnly), params.factory(&plan));
    let mut out = Vec::new();
    for i in 0..5u64 {
        sim.run_until(SimTime::ZERO + Duration::from_millis(700 + 400 * i));
        let id = NodeId(i as u32);
        let before = persisted(&sim, id);
        sim.inject(soon(&sim), Fault::Crash(id));
        sim.inject(soon(&sim), Fault::Restart(id));
        assert!(step_until(&mut sim, Duration::from_millis(1), |sim| {
            sim.stats().faults == 2 * (i + 1) && sim.node(id).is_some()
        }));
        let back = server(&sim, id).unwrap();
        // Volatile state is gone.
        assert_eq!((back.role(), back.commit_index()), (Role::Follower, 0));
        out.push((before, persisted(&sim, id)));
    }
    out
}

#[test]
fn every_restarted_server_comes_back_with_its_term_vote_and_log() {
    for (before, after) in restart_each(true) {
        assert!(
            before.0 >= 1 && before.1.is_some() && before.2.len() > 5,
            "{before:?}"
        );
        assert_eq!(after, before);
    }
    // The planted bug: the same restarts forget every vote, and only the vote.
    for (before, after) in restart_each(false) {
        assert!(before.1.is_some());
        assert_eq!(after.1, None);
        assert_eq!((after.0, &after.2), (before.0, &before.2));
    }
}

// ---- random fault schedules ----

/// Five servers, three clients, a 2.5s run: faults start before 1.2s and last at most 500ms,
/// clients write until 2s and read every key at 2.2s.
fn short_base() -> Scenario {
    let mut s = scenario("raft-leader-crash.ron");
    s.name = "raft-proptest".into();
    s.faults.clear();
    s.bounds.max_time = Duration::from_millis(2_500);
    s.workload.stop = Some(Duration::from_secs(2));
    s.workload.interval = Duration::from_millis(10);
    s.nodes[1].count = Some(3);
    raft(&mut s, |p| {
        p.final_reads = Some(Duration::from_millis(2_200))
    });
    s.checks = vec![
        Spec::check(&Linearizable::default()),
        Spec::check(&Durable),
        Spec::check(&Converged),
        Spec::check(&StaleReads),
        Spec::check(&ElectionSafety),
    ];
    s
}

fn server_faults(base: &Scenario) -> FaultConfig {
    let mut cfg = FaultConfig::for_scenario(base).expect("config");
    cfg.nodes = (1..=5).map(|i| format!("server{i}")).collect();
    cfg.kinds = vec![
        NemesisKind::Crash,
        NemesisKind::Partition,
        NemesisKind::Isolate,
        NemesisKind::Pause,
    ];
    cfg.start = Duration::from_millis(100);
    cfg.horizon = Duration::from_millis(1_200);
    cfg.min_duration = Duration::from_millis(10);
    cfg.max_duration = Duration::from_millis(500);
    cfg.max_faults = 5;
    cfg
}

#[test]
fn random_fault_schedules_and_lossy_links_on_five_servers_find_no_violation() {
    let base = short_base();
    let cfg = server_faults(&base);
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = std::cell::Cell::new(0u32);
    let decided = std::cell::Cell::new(0u32);
    runner
        .run(
            &(
                strategy::fault_schedule(&cfg),
                strategy::network(&NetworkConfig::default()),
            ),
            |(faults, link)| {
                cases.set(cases.get() + 1);
                let mut s = strategy::with_faults(&base, faults);
                s.network.default = link;
                let r = strategy::check(&s)?;
                let judged = ["Linearizable", "Durable", "ElectionSafety"]
                    .iter()
                    .all(|c| verdict(&r, c).status == Status::Pass);
                decided.set(decided.get() + u32::from(judged));
                Ok(())
            },
        )
        .expect("Raft violated a check under a random fault schedule and network");
    assert!(cases.get() >= 256, "only {} cases ran", cases.get());
    // Not vacuous: most cases gave the checkers a history to judge (not "unknown").
    assert!(
        decided.get() * 10 >= cases.get() * 9,
        "only {} of {} cases were judged",
        decided.get(),
        cases.get()
    );
}

// ---- the planted bugs ----

fn sweep_config(seeds: u64) -> SweepConfig {
    SweepConfig::default()
        .first_seed(0)
        .budget(Budget::Seeds(seeds))
        .shard(Shard::ALL)
        .jobs(0)
        .keep_going(false)
        .until_covered(false)
}

/// Frequent short crashes and narrow election timeouts (so candidates often stand in the same
/// term), with `voted_for` persisted or not.
fn forget_vote(persist_voted_for: bool) -> Scenario {
    let text = r#"(
        name: "raft-forget-vote",
        seed: 0,
        bounds: (max_time: "4s", max_events: 2000000),
        nodes: [(role: "server", count: 5), (role: "client", count: 2)],
        protocol: Raft(election_timeout_min: "150ms", election_timeout_max: "160ms", final_reads: "3.5s"),
        network: (default: (latency: Uniform(min: "1ms", max: "10ms"))),
        nemesis: (kinds: [Crash], targets: ["server"], interval: "150ms", min_duration: "5ms",
                  max_duration: "60ms", start: "100ms", stop: "2.5s", max_active: 2),
        workload: (interval: "30ms", timeout: "300ms", keys: 3, reads: 0.4, cas: 0.1, stop: "3s"),
        checks: [ElectionSafety, Linearizable, Durable],
    )"#;
    let mut s = parse(text, "forget-vote").expect("parses");
    raft(&mut s, |p| p.persist_voted_for = persist_voted_for);
    s
}

#[test]
fn forgetting_voted_for_elects_two_leaders_in_one_term() {
    let runner = runner(&REGISTRY, "raft-forget-vote");
    let buggy = sweep(&forget_vote(false), &sweep_config(500), &runner, &Silent).expect("sweeps");
    let first = buggy.first_failure().expect("a seed with two leaders");
    assert!(
        first.checks.iter().any(|(c, _)| c == "ElectionSafety"),
        "seed {} failed {:?}",
        first.seed,
        first.checks
    );
    // The same seeds with voted_for persisted find nothing.
    let fixed = sweep(
        &forget_vote(true),
        &sweep_config(first.seed + 1),
        &runner,
        &Silent,
    )
    .expect("sweeps");
    assert!(fixed.failures.is_empty(), "{:?}", fixed.first_failure());
}

/// The Figure 8 run of the Raft paper, driven by an adversary that watches the servers (who
/// leads, what is in their logs) and partitions the cluster at the right instants:
///
/// 1. The leader A appends a client's put `e` at index i; at once only B can hear it.
/// 2. The other three elect L (higher term), which appends its no-op at index i; at once L is
///    cut off before anyone stores it.
/// 3. A, V1, V2 (the two voters left) and the client are joined: only A's log is up to date
///    enough, so A leads again in a later term and sends `e` to V1 (max_batch 1: the no-op of
///    the new term follows in a later message). With the bug, `e` is now on a majority (A, B,
///    V1) and A commits it by counting and acknowledges the put; at once A is cut off.
/// 4. A is isolated, the rest are joined: L's last entry (its no-op) has a newer term than `e`,
///    so L wins, and its log overwrites `e` everywhere. The acknowledged put is gone.
///
/// Without the bug, A commits `e` only together with an entry of its own term, which then sits
/// on a majority, so L cannot win, and nothing is lost. Returns the run and whether the
/// adversary got to step 4.
fn figure8(seed: u64, bug: bool) -> (RunOutcome, bool) {
    let text = r#"(
        name: "raft-figure8",
        bounds: (max_time: "9s", max_events: 2000000),
        nodes: [(role: "server", count: 5), (role: "client", count: 1)],
        protocol: Raft(max_batch: 1, final_reads: "5s"),
        network: (default: (latency: Uniform(min: "1ms", max: "5ms"))),
        workload: (interval: "30ms", timeout: "3s", keys: 30, reads: 0.0, cas: 0.0, stop: "2s"),
        checks: [Linearizable, Durable, ElectionSafety],
    )"#;
    let mut s = parse(text, "figure8").expect("parses");
    s.seed = seed;
    raft(&mut s, |p| p.commit_old_terms_by_counting = bug);
    let plan = s.plan("figure8").expect("valid");
    let params: RaftParams = s.protocol.params().expect("Raft params");
    let mut sim = Sim::new(plan.sim_config(TraceLevel::HashOnly), params.factory(&plan));
    let servers: Vec<NodeId> = (0..5).map(NodeId).collect();
    let client = NodeId(5);
    let reached = adversary(&mut sim, &servers, client).is_some();
    // Everyone back together for the final reads.
    let heal = sim.now() + Duration::from_millis(100);
    sim.inject(
        heal.max(SimTime::ZERO + Duration::from_millis(3_000)),
        Fault::Heal,
    );
    (sim.run(), reached)
}

fn server(sim: &Sim<RaftNode>, id: NodeId) -> Option<&Server> {
    match sim.node(id)? {
        RaftNode::Server(s) => Some(s),
        RaftNode::Client(_) => None,
    }
}

/// One nanosecond from now: a fault injected for "now" then comes after every event at this
/// instant, the same order as when the schedule is replayed from a scenario file.
fn soon(sim: &Sim<RaftNode>) -> SimTime {
    sim.now() + Duration(1)
}

/// Steps the run until `cond` holds (true) or `limit` passes (false).
fn step_until(
    sim: &mut Sim<RaftNode>,
    limit: Duration,
    cond: impl Fn(&Sim<RaftNode>) -> bool,
) -> bool {
    let end = sim.now() + limit;
    while !cond(sim) {
        if sim.now() > end || !sim.step() {
            return false;
        }
    }
    true
}

/// The Figure 8 schedule (see `figure8`); `None` when the run did not go that way.
fn adversary(sim: &mut Sim<RaftNode>, servers: &[NodeId], client: NodeId) -> Option<()> {
    let s = Duration::from_secs;
    sim.run_until(SimTime::ZERO + Duration::from_millis(500));
    let leads =
        |sim: &Sim<RaftNode>, id: NodeId| server(sim, id).is_some_and(|s| s.role() == Role::Leader);
    let a = *servers.iter().find(|id| leads(sim, **id))?;
    // 1. A appends a put; only B hears of it.
    let uncommitted_put = |sim: &Sim<RaftNode>| {
        let a = server(sim, a).unwrap();
        let last = a.log().last_index();
        last > a.commit_index()
            && matches!(
                a.log().get(last).map(|e| e.command),
                Some(Command::Kv {
                    op: KvOp::Put { .. },
                    ..
                })
            )
    };
    if !step_until(sim, s(1), uncommitted_put) {
        return None;
    }
    let i = server(sim, a)?.log().last_index();
    let t0 = server(sim, a)?.current_term();
    let others: Vec<NodeId> = servers.iter().copied().filter(|n| *n != a).collect();
    let b = others[0];
    sim.inject(soon(sim), Fault::Partition(vec![vec![a, b, client]]));
    // 2. The other three elect L, which appends its no-op at i; L is cut off at once.
    let new_leader = |sim: &Sim<RaftNode>| {
        others[1..].iter().copied().find(|id| {
            server(sim, *id).is_some_and(|s| s.role() == Role::Leader && s.current_term() > t0)
        })
    };
    if !step_until(sim, s(2), |sim| new_leader(sim).is_some()) {
        return None;
    }
    let l = new_leader(sim)?;
    let t1 = server(sim, l)?.current_term();
    if server(sim, l)?.log().last_index() != i {
        return None;
    }
    let voters: Vec<NodeId> = others[1..].iter().copied().filter(|n| *n != l).collect();
    let (v1, v2) = (voters[0], voters[1]);
    sim.inject(
        soon(sim),
        Fault::Partition(vec![vec![a, v1, v2, client], vec![b], vec![l]]),
    );
    // 3. A leads again and commits e (with the bug, before its own term's no-op is stored).
    let a_leads_again = |sim: &Sim<RaftNode>| {
        server(sim, a).is_some_and(|s| s.role() == Role::Leader && s.current_term() > t1)
    };
    if !step_until(sim, s(2), a_leads_again) {
        return None;
    }
    let committed = |sim: &Sim<RaftNode>| server(sim, a).is_some_and(|s| s.commit_index() >= i);
    if !step_until(sim, s(1), committed) {
        return None;
    }
    let t2 = server(sim, a)?.current_term();
    let has_term = |sim: &Sim<RaftNode>, id: NodeId, t: u64| {
        server(sim, id).is_some_and(|s| s.log().last_term() >= t)
    };
    if has_term(sim, v1, t2) && has_term(sim, v2, t2) {
        // A new-term entry is on a majority: L cannot win any more (the correct rule).
        return None;
    }
    let to_servers: Vec<NodeId> = servers.iter().copied().filter(|n| *n != a).collect();
    sim.inject(
        soon(sim),
        Fault::Cut {
            from: vec![a],
            to: to_servers,
        },
    );
    // 4. Once the client has its answer, A is isolated and L takes over.
    let acked = |sim: &Sim<RaftNode>| {
        sim.history()
            .entries()
            .next_back()
            .is_some_and(|e| e.node == client && e.phase == Phase::Ok)
    };
    step_until(sim, Duration::from_millis(100), acked);
    sim.inject(soon(sim), Fault::Partition(vec![vec![a]]));
    let l_leads = |sim: &Sim<RaftNode>| {
        server(sim, l).is_some_and(|s| s.role() == Role::Leader && s.current_term() > t2)
    };
    step_until(sim, s(2), l_leads).then_some(())
}

#[test]
fn figure8_commit_by_counting_loses_an_acknowledged_write() {
    let mut reached = 0;
    let mut caught = Vec::new();
    for seed in 0..20 {
        let (out, got_there) = figure8(seed, true);
        if !got_there {
            continue;
        }
        reached += 1;
        let durable = Durable.evaluate(&out);
        let linearizable = Linearizable::default().evaluate(&out);
        if durable.status == Status::Fail && linearizable.status == Status::Fail {
            caught.push((seed, durable.summary, linearizable.summary));
        }
        // Only the commit rule is broken: one leader per term all along.
        assert_eq!(
            ElectionSafety.evaluate(&out).status,
            Status::Pass,
            "seed {seed}"
        );
    }
    assert!(
        reached >= 5,
        "the adversary reached Figure 8 in only {reached} of 20 seeds"
    );
    // The client is left waiting on the isolated leader, so nothing overwrites the lost key.
    assert_eq!(
        caught.len(),
        reached,
        "Durable and Linearizable did not both fail in every Figure 8 run: {caught:?}"
    );
}

#[test]
fn figure8_adversary_finds_nothing_with_the_paper_commit_rule() {
    for seed in 0..20 {
        let (out, reached) = figure8(seed, false);
        // A commits e only once an entry of its own term is on a majority: L never wins.
        assert!(!reached, "seed {seed}: L overwrote a committed entry");
        for v in [
            Durable.evaluate(&out),
            Linearizable::default().evaluate(&out),
            ElectionSafety.evaluate(&out),
        ] {
            assert_eq!(v.status, Status::Pass, "seed {seed}: {v:?}");
        }
    }
}

/// scenarios/raft-figure8.ron is the adversary's run on the first seed where it reaches
/// Figure 8, written down with exact fault times. Any change to Raft's timing changes the run, so this says what to paste.
#[test]
fn figure8_scenario_file_holds_the_adversarys_schedule() {
    let (seed, out) = (0..20)
        .map(|seed| (seed, figure8(seed, true)))
        .find_map(|(seed, (out, reached))| reached.then_some((seed, out)))
        .expect("the adversary reaches Figure 8 on some seed below 20");
    let adversary: Vec<ScheduledFault> = out
        .faults
        .iter()
        .map(|(t, f)| ScheduledFault {
            at: Duration(t.as_nanos()),
            fault: f.to_named(&out.roster),
        })
        .collect();
    let file = scenario("raft-figure8.ron");
    if (file.seed, &file.faults) != (seed, &adversary) {
        let lines: Vec<String> = adversary
            .iter()
            .map(|f| {
                // RON writes struct variants with parentheses.
                let fault = format!("{:?}", f.fault)
                    .replace("Cut {", "Cut(")
                    .replace("] }", "])");
                format!("(at: \"{}ns\", fault: {fault}),", f.at.as_nanos())
            })
            .collect();
        panic!(
            "scenarios/raft-figure8.ron no longer matches the adversary; it should have seed {seed} and faults:\n{}",
            lines.join("\n")
        );
    }
}

/// scenarios/raft-figure8.ron is one adversary run written down with exact fault times.
#[test]
fn figure8_scenario_replays_the_lost_write_and_the_paper_rule_keeps_it() {
    let s = scenario("raft-figure8.ron");
    let r = run(&s);
    assert_eq!(
        verdict(&r, "Durable").status,
        Status::Fail,
        "{:?}",
        r.verdicts
    );
    assert_eq!(verdict(&r, "Linearizable").status, Status::Fail);
    assert_eq!(verdict(&r, "ElectionSafety").status, Status::Pass);
    let mut fixed = s.clone();
    raft(&mut fixed, |p| p.commit_old_terms_by_counting = false);
    assert_pass(&run(&fixed), &["Linearizable", "Durable", "ElectionSafety"]);
}

// ---- ElectionSafety on hand-built histories ----

fn outcome(history: History) -> RunOutcome {
    let mut o = RunOutcome::from_history(
        Roster::new((1..=3).map(|i| (format!("server{i}"), "server".to_string()))),
        SimTime(10_000_000_000),
        history,
    );
    o.bounds =
        Bounds::new(Duration::from_secs(10), 1).max_memory(clustersim::memory::DEFAULT_BUDGET);
    o.stop = StopReason::TimeLimit;
    o.trace = Trace::new(TraceLevel::HashOnly);
    o.status = vec![NodeStatus::Up; 3];
    o
}

fn announced(leaders: &[(u32, u64)]) -> History {
    let mut h = History::new();
    for (i, (node, term)) in leaders.iter().enumerate() {
        h.event(
            SimTime(1_000 * (i as u64 + 1)),
            NodeId(*node),
            Op::custom(LEADER, term),
        );
    }
    h
}

#[test]
fn election_safety_passes_one_leader_per_term_and_fails_two() {
    // The same node announcing twice in a term (a duplicate record) is still one leader.
    let ok = check_election_safety(&outcome(announced(&[(0, 1), (1, 2), (1, 2), (0, 4)])));
    assert_eq!(ok.status, Status::Pass, "{ok:?}");
    let split = check_election_safety(&outcome(announced(&[(0, 1), (1, 3), (2, 3)])));
    assert_eq!(split.status, Status::Fail, "{split:?}");
    assert_eq!(split.summary, "1 term had more than one leader");
    assert!(
        split.details[0].contains("term 3") && split.details[0].contains("server2"),
        "{:?}",
        split.details
    );
    assert_eq!(split.culprits, vec![1, 2]);
    let none = check_election_safety(&outcome(History::new()));
    assert_eq!(none.status, Status::Unknown);
}

fn took_role(changes: &[(u32, u64, &str)]) -> History {
    let mut h = History::new();
    for (i, (node, term, role)) in changes.iter().enumerate() {
        h.event(
            SimTime(1_000 * (i as u64 + 1)),
            NodeId(*node),
            Op::custom(
                clustersim::history::ROLE,
                &clustersim::history::RoleChange {
                    term: *term,
                    role: role.to_string(),
                },
            ),
        );
    }
    h
}

#[test]
fn election_safety_counts_a_leader_that_never_announced_itself() {
    // server2 and server3 both take the leader role in term 2; neither announces it.
    let split = check_election_safety(&outcome(took_role(&[
        (1, 2, "candidate"),
        (2, 2, "candidate"),
        (1, 2, "leader"),
        (2, 2, "leader"),
    ])));
    assert_eq!(split.status, Status::Fail, "{split:?}");
    assert!(split.details[0].contains("term 2"), "{:?}", split.details);
    assert_eq!(split.culprits, vec![2, 3]);
    // One leader per term, across role changes and announcements alike.
    let mut h = took_role(&[(0, 1, "leader"), (0, 2, "follower"), (1, 2, "leader")]);
    h.event(SimTime(9_000), NodeId(1), Op::custom(LEADER, &2u64));
    let ok = check_election_safety(&outcome(h));
    assert_eq!(ok.status, Status::Pass, "{ok:?}");
    assert_eq!(ok.summary, "2 leaders announced in 2 terms, one per term");
    // Candidates and followers alone are no leaders.
    let none = check_election_safety(&outcome(took_role(&[
        (0, 1, "candidate"),
        (1, 1, "follower"),
    ])));
    assert_eq!(none.status, Status::Unknown);
}

// ---- bad input ----

#[test]
fn bad_raft_parameters_are_refused_with_a_sentence() {
    let mut s = scenario("raft-leader-crash.ron");
    raft(&mut s, |p| p.heartbeat = Duration::from_millis(200));
    let err = Registry::shipped()
        .prepare(&s, "x")
        .err()
        .expect("invalid")
        .to_string();
    assert!(
        err.contains("heartbeat") && err.contains("election_timeout_min"),
        "{err}"
    );
    let mut s = scenario("raft-leader-crash.ron");
    raft(&mut s, |p| {
        p.election_timeout_max = Duration::from_millis(100)
    });
    let err = Registry::shipped()
        .prepare(&s, "x")
        .err()
        .expect("invalid")
        .to_string();
    assert!(err.contains("election_timeout_max"), "{err}");
    let mut s = scenario("raft-leader-crash.ron");
    s.faults.clear();
    s.nodes[0].role = "replica".into();
    let err = Registry::shipped()
        .prepare(&s, "x")
        .err()
        .expect("invalid")
        .to_string();
    assert!(err.contains("role `server`"), "{err}");
}

/// The nemesis with `pick: Leader` (or `Random`) crashing one server at a time.
fn crash_the(pick: &str) -> Scenario {
    let text = format!(
        r#"(
        name: "crash-the-leader",
        seed: 3,
        bounds: (max_time: "6s", max_events: 2000000),
        nodes: [(role: "server", count: 5), (role: "client", count: 2)],
        protocol: Raft(final_reads: "5s"),
        network: (default: (latency: Uniform(min: "1ms", max: "10ms"))),
        nemesis: (kinds: [Crash], targets: ["server"], pick: {pick}, interval: "400ms",
                  min_duration: "100ms", max_duration: "300ms", start: "500ms", stop: "4s"),
        workload: (interval: "20ms", timeout: "300ms", keys: 3, reads: 0.4, cas: 0.1, stop: "4.5s"),
        checks: [ElectionSafety, Linearizable, Durable],
    )"#
    );
    parse(&text, "crash-the-leader").expect("parses")
}

/// For each crash, whether it hit the server that last announced itself leader before it.
fn crashes_hit_the_leader(report: &Report) -> Vec<bool> {
    let out = &report.outcome;
    out.faults
        .iter()
        .filter_map(|(t, f)| match f {
            Fault::Crash(n) => Some((*t, *n)),
            _ => None,
        })
        .map(|(t, n)| {
            let leader = out
                .history
                .events()
                .filter(|e| e.time <= t && e.op.custom_value::<u64>(LEADER).is_some())
                .last()
                .map(|e| e.node);
            leader == Some(n)
        })
        .collect()
}

#[test]
fn a_nemesis_aimed_at_the_leader_crashes_the_leader() {
    let aimed = run(&crash_the("Leader"));
    let hits = crashes_hit_the_leader(&aimed);
    assert!(hits.len() >= 5, "{} crashes", hits.len());
    assert!(hits.iter().all(|h| *h), "{hits:?}");
    assert!(aimed.passed(), "{:?}", aimed.verdicts);
    // Aimed at random, some crashes hit followers.
    let random = run(&crash_the("Random"));
    let hits = crashes_hit_the_leader(&random);
    assert!(hits.iter().any(|h| !h), "{hits:?}");
}

#[test]
fn a_restarted_client_is_served_again() {
    // Request ids restart with the client; the servers remember the old ones (to drop late
    // copies), so a reused id would be dropped as a copy and the client never served again.
    let text = r#"(
        name: "client-restart",
        seed: 1,
        bounds: (max_time: "4s", max_events: 2000000),
        nodes: [(role: "server", count: 3), (role: "client", count: 1)],
        protocol: Raft(final_reads: "3s"),
        network: (default: (latency: Uniform(min: "1ms", max: "5ms"))),
        faults: [
            (at: "1s", fault: Crash("client1")),
            (at: "1.2s", fault: Restart("client1")),
        ],
        workload: (interval: "20ms", timeout: "200ms", keys: 3, reads: 0.4, cas: 0.1, stop: "2.5s"),
        checks: [Linearizable, Durable],
    )"#;
    let report = run(&parse(text, "client-restart").expect("parses"));
    assert!(report.passed(), "{:?}", report.verdicts);
    let served_after = report
        .outcome
        .history
        .entries()
        .filter(|e| e.phase == Phase::Ok && e.time > SimTime::ZERO + Duration::from_millis(1_200))
        .count();
    assert!(
        served_after >= 20,
        "only {served_after} ok after the restart"
    );
}
