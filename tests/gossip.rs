//! Gossip broadcast (the chat room) and its checker: every acknowledged message reaches every
//! node after a partition heals thanks to anti-entropy; without anti-entropy a node misses one
//! and `AllDelivered` names it; the checker fails hand-made bad histories and passes good ones;
//! random partitions and crashes that heal never break delivery; runs are deterministic.

use clustersim::check::{check_all_delivered, AllDelivered, Dissemination, Status, Verdict};
use clustersim::fault::{Fault, NemesisKind};
use clustersim::history::{History, Op, Phase};
use clustersim::node::Roster;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::{load, parse, to_ron, Scenario};
use clustersim::sim::{Bounds, NodeStatus, RunOutcome, StopReason};
use clustersim::strategy::{self, FaultConfig};
use clustersim::trace::{Trace, TraceLevel};
use clustersim::{Duration, NodeId, SimTime};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const PARTITION: &str = "scenarios/chat-partition-heal.ron";
const GOSSIP: &str = "scenarios/chat-gossip.ron";

fn scenario(path: &str) -> Scenario {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("bundled scenario loads")
}

fn run(s: &Scenario, trace: TraceLevel) -> Report {
    let opts = RunOptions::default().trace(trace);
    run_scenario(&Registry::shipped(), s, &s.name, &opts).expect("valid scenario")
}

fn all_delivered(r: &Report) -> &Verdict {
    r.verdicts
        .iter()
        .find(|v| v.check == "AllDelivered")
        .expect("the scenario checks AllDelivered")
}

fn without_anti_entropy(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    s.protocol
        .edit(|g: &mut clustersim::protocols::gossip::GossipParams| {
            g.anti_entropy = None;
        })
        .expect("Gossip params");
    s
}

/// Every (message, node) delivery in the history, and how many Deliver events there were.
fn deliveries(h: &History) -> (BTreeSet<(u64, NodeId)>, usize) {
    let mut pairs = BTreeSet::new();
    let mut events = 0;
    for e in h.events() {
        if let Op::Deliver { msg } = e.op {
            pairs.insert((msg, e.node));
            events += 1;
        }
    }
    (pairs, events)
}

#[test]
fn partition_scenarios_deliver_every_acknowledged_message_to_every_node_after_the_heal() {
    for path in [PARTITION, GOSSIP] {
        let r = run(&scenario(path), TraceLevel::HashOnly);
        let v = all_delivered(&r);
        assert_eq!(v.status, Status::Pass, "{path}: {v:?}");
        // Read the history independently of the verdict: every acknowledged post is held by
        // every node, and no node delivered a message twice.
        let calls = r.outcome.history.calls();
        let d = Dissemination::new(&r.outcome, &calls);
        let nodes = r.outcome.roster.members("node");
        assert_eq!(d.members, nodes, "{path}: users deliver nothing");
        assert!(d.acked.len() >= 50, "{path}: only {} acked", d.acked.len());
        let (pairs, events) = deliveries(&r.outcome.history);
        assert_eq!(pairs.len(), events, "{path}: a message delivered twice");
        for (msg, _) in &d.acked {
            for n in &nodes {
                assert!(pairs.contains(&(*msg, *n)), "{path}: {msg} missing at {n}");
            }
        }
        assert!(v.details.iter().any(|l| l.starts_with("delivery_latency")));
    }
}

#[test]
fn messages_posted_during_the_partition_cross_only_after_the_heal() {
    let r = run(&scenario(PARTITION), TraceLevel::HashOnly);
    let calls = r.outcome.history.calls();
    let d = Dissemination::new(&r.outcome, &calls);
    let (t1, t4) = (SimTime(1_000_000_000), SimTime(4_000_000_000));
    let roster = &r.outcome.roster;
    let side = |n: NodeId| {
        let name = roster.name(n);
        [
            "node7", "node8", "node9", "node10", "node11", "node12", "user3",
        ]
        .contains(&name)
    };
    let mut crossed = 0;
    for (msg, c) in &d.acked {
        if c.invoke_time < t1 + Duration::from_millis(50) || c.invoke_time > t4 {
            continue;
        }
        for e in r.outcome.history.events() {
            if e.op == (Op::Deliver { msg: *msg }) && side(e.node) != side(c.node) {
                assert!(e.time >= t4, "{msg} crossed the partition at {}", e.time);
                crossed += 1;
            }
        }
    }
    assert!(
        crossed >= 60,
        "only {crossed} deliveries crossed after the heal"
    );
}

/// Splits "message M (posted ...) never reached NODE, deadline ..." into (M, NODE).
fn named_pair(summary: &str) -> (u64, String) {
    let msg = summary
        .strip_prefix("message ")
        .and_then(|s| s.split(' ').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no message id in {summary}"));
    let node = summary
        .split("never reached ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no node in {summary}"));
    (msg, node.to_string())
}

#[test]
fn without_anti_entropy_the_partition_leaves_a_node_missing_a_message_and_the_checker_names_it() {
    let r = run(
        &without_anti_entropy(&scenario(PARTITION)),
        TraceLevel::HashOnly,
    );
    let v = all_delivered(&r);
    assert_eq!(v.status, Status::Fail, "{v:?}");
    let (msg, node) = named_pair(&v.summary);
    let h = &r.outcome.history;
    let node = r.outcome.roster.by_name(&node).expect("a node of the run");
    let (pairs, _) = deliveries(h);
    assert!(!pairs.contains(&(msg, node)), "the named node has it");
    assert!(pairs.iter().any(|(m, _)| *m == msg), "nobody has it");
    let acked = h.calls().into_iter().any(|c| {
        c.outcome == Phase::Ok && matches!(c.invoked, Op::Post { msg: m, .. } if m == msg)
    });
    assert!(acked, "the named message was not acknowledged");
    assert!(!v.culprits.is_empty());
    // The partition is what keeps messages apart for good: an acknowledged message posted while
    // the room was split never reaches the other side, although the run goes on 4s past the heal.
    let calls = h.calls();
    let d = Dissemination::new(&r.outcome, &calls);
    let roster = &r.outcome.roster;
    let side = |n: NodeId| {
        roster
            .name(n)
            .trim_start_matches(char::is_alphabetic)
            .parse::<u32>()
    };
    let east = |n: NodeId| match roster.role(n) {
        "user" => side(n) == Ok(3),
        _ => side(n).is_ok_and(|i| i >= 7),
    };
    let (t1, t4) = (SimTime(1_050_000_000), SimTime(3_900_000_000));
    let split: Vec<u64> = d
        .acked
        .iter()
        .filter(|(_, c)| c.invoke_time > t1 && c.invoke_time < t4)
        .map(|(m, _)| *m)
        .collect();
    assert!(
        split.len() >= 20,
        "only {} posted during the split",
        split.len()
    );
    for msg in split {
        let poster = d.acked.iter().find(|(m, _)| *m == msg).unwrap().1.node;
        let across = d.members.iter().filter(|n| east(**n) != east(poster));
        for n in across {
            assert!(
                !pairs.contains(&(msg, *n)),
                "{msg} crossed to {}",
                roster.name(*n)
            );
        }
    }
}

fn cli(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", path.to_str().unwrap(), "--quiet"])
        .output()
        .expect("run clustersim")
}

#[test]
fn cli_exits_1_without_anti_entropy_and_0_with_it() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let s = scenario(PARTITION);
    let on = dir.join("chat-ae-on.ron");
    let off = dir.join("chat-ae-off.ron");
    std::fs::write(&on, to_ron(&s, &[])).unwrap();
    std::fs::write(&off, to_ron(&without_anti_entropy(&s), &[])).unwrap();
    let out = cli(&on);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = cli(&off);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL AllDelivered"), "{stdout}");
}

// ---------------------------------------------------------------- hand-made histories

/// Three nodes (node1..node3) and a user (user1, id 3).
fn outcome(history: History, end_ms: u64, stop: StopReason) -> RunOutcome {
    let mut members: Vec<(String, String)> = (1..=3)
        .map(|i| (format!("node{i}"), "node".to_string()))
        .collect();
    members.push(("user1".to_string(), "user".to_string()));
    let mut o = RunOutcome::from_history(Roster::new(members), at(end_ms), history);
    o.bounds =
        Bounds::new(Duration::from_secs(60), 1000).max_memory(clustersim::memory::DEFAULT_BUDGET);
    o.stop = stop;
    o.trace = Trace::new(TraceLevel::HashOnly);
    o.status = vec![NodeStatus::Up; 4];
    o
}

fn at(ms: u64) -> SimTime {
    SimTime::ZERO + Duration::from_millis(ms)
}

const USER: NodeId = NodeId(3);

/// A post of `msg` by user1 at `t` ms, acknowledged (or not) 10ms later.
fn post(h: &mut History, t: u64, msg: u64, acked: bool) {
    let op = Op::Post { msg, chunks: 2 };
    let id = h.invoke(at(t), USER, op.clone());
    if acked {
        h.ok(at(t + 10), USER, id, op);
    } else {
        h.info(at(t + 10), USER, id, op);
    }
}

fn deliver(h: &mut History, t: u64, node: u32, msg: u64) {
    h.event(at(t), NodeId(node), Op::Deliver { msg });
}

fn within(ms: u64) -> AllDelivered {
    AllDelivered {
        within: Duration::from_millis(ms),
    }
}

#[test]
fn all_delivered_passes_a_good_history_and_reports_latency() {
    let mut h = History::new();
    post(&mut h, 0, 1_000_000, true);
    for (t, n) in [(10, 0), (200, 1), (300, 2)] {
        deliver(&mut h, t, n, 1_000_000);
    }
    // An unacknowledged post need not arrive anywhere.
    post(&mut h, 50, 1_000_001, false);
    let v = check_all_delivered(&outcome(h, 2_000, StopReason::TimeLimit), &within(1_000));
    assert_eq!(v.status, Status::Pass, "{v:?}");
    assert!(v
        .summary
        .contains("all 1 acknowledged messages reached all 3 live nodes"));
    let lat = v
        .details
        .iter()
        .find(|l| l.starts_with("delivery_latency"))
        .expect("latency line");
    assert!(lat.contains("p50 300ms"), "{lat}");
}

#[test]
fn all_delivered_fails_naming_the_first_missing_message_and_node() {
    let mut h = History::new();
    post(&mut h, 0, 1_000_000, true);
    deliver(&mut h, 10, 0, 1_000_000);
    deliver(&mut h, 20, 1, 1_000_000);
    let good = h.clone();
    let v = check_all_delivered(&outcome(h, 2_000, StopReason::TimeLimit), &within(1_000));
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary
            .starts_with("message 1000000 (posted by user1 at 0.000000s) never reached node3"),
        "{}",
        v.summary
    );
    assert_eq!(v.culprits, vec![0, 1]);
    // The same history with node3 crashed at the end: it is not live, nothing is missing.
    let mut o = outcome(good.clone(), 2_000, StopReason::TimeLimit);
    o.status[2] = NodeStatus::Down;
    assert_eq!(check_all_delivered(&o, &within(1_000)).status, Status::Pass);
    // Delivered, but after the deadline.
    let mut late = good;
    deliver(&mut late, 1_500, 2, 1_000_000);
    let v = check_all_delivered(&outcome(late, 2_000, StopReason::TimeLimit), &within(1_000));
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary.contains("reached node3 only at 1.500000s"),
        "{}",
        v.summary
    );
}

#[test]
fn all_delivered_counts_the_bound_from_the_last_heal_and_waits_for_it() {
    let mut h = History::new();
    post(&mut h, 0, 1_000_000, true);
    deliver(&mut h, 10, 0, 1_000_000);
    deliver(&mut h, 20, 1, 1_000_000);
    let faults = vec![(at(5), Fault::Isolate(NodeId(2))), (at(1_000), Fault::Heal)];
    // Deadline 1s + 1.5s = 2.5s: a run ending at 2s cannot tell yet ...
    let mut o = outcome(h.clone(), 2_000, StopReason::TimeLimit);
    o.faults = faults.clone();
    assert_eq!(
        check_all_delivered(&o, &within(1_500)).status,
        Status::Unknown
    );
    // ... unless it fell quiescent, when nothing more can arrive.
    o.stop = StopReason::Quiescent;
    assert_eq!(check_all_delivered(&o, &within(1_500)).status, Status::Fail);
    // A delivery after the heal but within the bound passes.
    deliver(&mut h, 2_400, 2, 1_000_000);
    let mut o = outcome(h.clone(), 3_000, StopReason::TimeLimit);
    o.faults = faults.clone();
    assert_eq!(check_all_delivered(&o, &within(1_500)).status, Status::Pass);
    // Faults still in force at the end: nothing to judge.
    o.faults.pop();
    assert_eq!(
        check_all_delivered(&o, &within(1_500)).status,
        Status::Unknown
    );
    // Nothing acknowledged: nothing to judge.
    let mut h = History::new();
    post(&mut h, 0, 1_000_000, false);
    let o = outcome(h, 3_000, StopReason::TimeLimit);
    assert_eq!(
        check_all_delivered(&o, &within(1_500)).status,
        Status::Unknown
    );
}

// ---------------------------------------------------------------- validation

fn invalid(protocol: &str, roles: &str) -> String {
    let text = format!(
        "(name: \"bad\", bounds: (max_time: \"1s\"), nodes: [{roles}], protocol: {protocol}, checks: [AllDelivered(within: \"1s\")])"
    );
    let s = parse(&text, "bad.ron").expect("parses");
    Registry::shipped()
        .prepare(&s, "bad.ron")
        .err()
        .expect("invalid")
        .to_string()
}

#[test]
fn bad_parameters_are_refused_with_the_fix_named() {
    let roles = "(role: \"node\", count: 3), (role: \"user\", count: 1)";
    let e = invalid("Gossip(fanout: 0)", roles);
    assert!(e.contains("fanout must be at least 1"), "{e}");
    let e = invalid("Gossip(chunk_size: 1, message_len: 100)", roles);
    assert!(e.contains("100 chunks; at most 64"), "{e}");
    let e = invalid("Gossip(anti_entropy: \"0s\")", roles);
    assert!(e.contains("`anti_entropy: None`"), "{e}");
    let e = invalid("Gossip()", "(role: \"node\", count: 3)");
    assert!(e.contains("needs nodes with role `user`"), "{e}");
    let e = invalid(
        "Gossip()",
        &format!("{roles}, (role: \"server\", count: 1)"),
    );
    assert!(e.contains("also has role `server`"), "{e}");
    let text = "(name: \"bad\", bounds: (max_time: \"1s\"), nodes: [(role: \"node\", count: 1)], protocol: Ping(), checks: [AllDelivered(within: \"1s\")])";
    let e = Registry::shipped()
        .prepare(&parse(text, "bad.ron").unwrap(), "bad.ron")
        .err()
        .expect("invalid");
    assert!(
        e.to_string().contains("does not apply to protocol `Ping`"),
        "{e}"
    );
}

// ---------------------------------------------------------------- determinism

#[test]
fn same_seed_gives_the_same_trace_and_other_seeds_differ() {
    let s = scenario(GOSSIP);
    let a = run(&s, TraceLevel::Full);
    let b = run(&s, TraceLevel::Full);
    assert_eq!(a.outcome.trace_hash(), b.outcome.trace_hash());
    assert_eq!(a.outcome.trace.events(), b.outcome.trace.events());
    assert!(a.outcome.history.entries().eq(b.outcome.history.entries()));
    let c = run(&s, TraceLevel::HashOnly);
    assert_eq!(a.outcome.trace_hash(), c.outcome.trace_hash());
    let mut other = s.clone();
    other.seed += 1;
    assert_ne!(
        run(&other, TraceLevel::HashOnly).outcome.trace_hash(),
        a.outcome.trace_hash()
    );
}

// ---------------------------------------------------------------- random faults

/// The partition scenario without its faults, run long enough that every deadline is judged.
fn proptest_base() -> Scenario {
    let mut s = scenario(PARTITION);
    s.faults.clear();
    s.bounds.max_time = Duration::from_secs(9);
    s
}

fn fault_config(base: &Scenario) -> FaultConfig {
    FaultConfig::for_scenario(base)
        .expect("config")
        .kinds(vec![
            NemesisKind::Partition,
            NemesisKind::Crash,
            NemesisKind::Isolate,
        ])
        .start(Duration::from_millis(300))
        .horizon(Duration::from_millis(3_500))
        .max_faults(4)
        .min_duration(Duration::from_millis(50))
        .max_duration(Duration::from_millis(1_500))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_partitions_and_crashes_that_heal_never_leave_a_message_behind(
        faults in strategy::fault_schedule(&fault_config(&proptest_base()))
    ) {
        let s = strategy::with_faults(&proptest_base(), faults);
        let report = strategy::check(&s)?;
        let v = all_delivered(&report);
        prop_assert_eq!(v.status, Status::Pass, "{:?}", v);
        let (pairs, events) = deliveries(&report.outcome.history);
        prop_assert_eq!(pairs.len(), events, "a node delivered a message twice");
    }
}
