//! The debugger's session without a browser: stepping, branching, faults by hand, going back,
//! and the saved path replaying to the branch's trace hash, on more than one protocol.

use clustersim::debug::{Action, Session};
use clustersim::node::NodeId;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, parse, to_ron};
use clustersim::sim::{NodeStatus, PendingKind, Scheduler, Step};
use clustersim::time::SimTime;
use std::path::Path;

fn open(file: &str) -> Session {
    let registry = Registry::shipped();
    let scenario = load(Path::new(file)).unwrap();
    Session::open(registry.prepare(&scenario, file).unwrap()).unwrap()
}

/// The saved scenario, written and parsed back as a file would be, run by `run`.
fn replayed_hash(session: &Session) -> u64 {
    let text = to_ron(&session.scenario(), &[]);
    let scenario = parse(&text, "saved.ron").unwrap();
    let report = run_scenario(
        &Registry::shipped(),
        &scenario,
        "saved.ron",
        &RunOptions::default(),
    )
    .unwrap();
    report.outcome.trace_hash()
}

/// Steps in time order until at least two messages are in flight.
fn until_two_messages(s: &mut Session) {
    for _ in 0..10_000 {
        let n = s
            .sim()
            .pending()
            .iter()
            .filter(|p| p.kind == PendingKind::Message)
            .count();
        if n >= 2 {
            return;
        }
        s.act(&Action::Next).unwrap();
    }
    panic!("never two messages in flight");
}

fn node(session: &Session, name: &str) -> NodeId {
    session.sim().roster().by_name(name).unwrap()
}

#[test]
fn time_order_steps_save_as_the_plain_scenario() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    for _ in 0..40 {
        s.act(&Action::Next).unwrap();
    }
    assert_eq!(s.branches(), 0);
    assert_eq!(s.scenario().scheduler, Scheduler::TimeOrder);
    let plain = run_scenario(
        &Registry::shipped(),
        &load(Path::new("scenarios/worker-crash-naive.ron")).unwrap(),
        "f",
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(s.finished().trace_hash(), plain.outcome.trace_hash());
}

#[test]
fn branches_and_faults_by_hand_replay_to_the_same_hash() {
    for file in [
        "scenarios/worker-crash-naive.ron",
        "scenarios/raft-leader-crash.ron",
    ] {
        let mut s = open(file);
        s.act(&Action::To(SimTime(120_000_000))).unwrap();
        until_two_messages(&mut s);
        // Run the last-due pending message first: a later event out of turn.
        let pending = s.sim().pending();
        let late = pending
            .iter()
            .rfind(|p| p.kind == PendingKind::Message)
            .expect("a message in flight")
            .seq;
        let next = s.sim().time_order_choice().unwrap().0;
        assert_ne!(late, next, "{file}: the branch differs from time order");
        s.act(&Action::Run(late)).unwrap();
        assert_eq!(s.branches(), 1);
        let names = s.sim().roster().names().to_vec();
        let victim = node(&s, &names[names.len() - 2]);
        s.act(&Action::Crash(victim)).unwrap();
        assert_eq!(s.sim().nodes()[victim.index()].status, NodeStatus::Down);
        assert!(
            s.act(&Action::Crash(victim)).is_err(),
            "a down node cannot crash"
        );
        for _ in 0..30 {
            s.act(&Action::Next).unwrap();
        }
        s.act(&Action::Restart(victim)).unwrap();
        let a = node(&s, &names[0]);
        s.act(&Action::Partition(vec![vec![a]])).unwrap();
        for _ in 0..30 {
            s.act(&Action::Next).unwrap();
        }
        s.act(&Action::Heal).unwrap();
        s.act(&Action::Next).unwrap();
        assert_eq!(s.branches(), 5, "{file}");
        let branch = s.finished().trace_hash();
        assert_eq!(replayed_hash(&s), branch, "{file}: the saved path replays");
        let text = to_ron(&s.scenario(), &[]);
        assert!(text.contains("Partition("), "{text}");
        assert!(text.contains("Heal"), "{text}");
    }
}

#[test]
fn back_undoes_one_action_and_returns_to_the_same_state() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    s.act(&Action::To(SimTime(50_000_000))).unwrap();
    until_two_messages(&mut s);
    let at = (s.sim().now(), s.sim().pending(), s.sim().nodes());
    let pick = s
        .sim()
        .pending()
        .iter()
        .rfind(|p| p.kind == PendingKind::Message)
        .unwrap()
        .seq;
    s.act(&Action::Drop(pick)).unwrap();
    s.act(&Action::Next).unwrap();
    assert_ne!(s.sim().pending(), at.1);
    s.act(&Action::Back).unwrap();
    s.act(&Action::Back).unwrap();
    assert_eq!((s.sim().now(), s.sim().pending(), s.sim().nodes()), at);
    assert_eq!(s.branches(), 0);
    // Back past the start is refused in words.
    let mut fresh = open("scenarios/worker-crash-naive.ron");
    assert!(fresh.act(&Action::Back).unwrap_err().contains("start"));
}

/// From the failure, reached in one action of many events, `StepBack` goes back one event at a
/// time, each time to exactly the state one `Next` from the start reaches; `Back` then undoes
/// what is left of the action.
#[test]
fn step_back_from_the_failure_goes_back_one_event() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    s.act(&Action::Failure).unwrap();
    let events = {
        // The same run, one Next at a time, remembering each state.
        let mut t = open("scenarios/worker-crash-naive.ron");
        let mut states = vec![(t.sim().now(), t.sim().pending(), t.sim().nodes())];
        while t.steps().len() < s.steps().len() {
            t.act(&Action::Next).unwrap();
            states.push((t.sim().now(), t.sim().pending(), t.sim().nodes()));
        }
        assert_eq!(t.steps(), s.steps(), "run to failure is a run of Next");
        states
    };
    assert!(events.len() > 10, "the failure is some events in");
    let last = events.len() - 1;
    for back in 1..=3 {
        s.act(&Action::StepBack).unwrap();
        let want = &events[last - back];
        assert_eq!(
            (s.sim().now(), s.sim().pending(), s.sim().nodes()),
            *want,
            "{back} events back"
        );
    }
    // Undo: the rest of the run-to-failure action is gone; the start is all that is left.
    s.act(&Action::Back).unwrap();
    assert_eq!(s.steps().len(), 0);
    assert_eq!(
        (s.sim().now(), s.sim().pending(), s.sim().nodes()),
        events[0]
    );
    assert!(s.act(&Action::StepBack).unwrap_err().contains("start"));
    assert!(s.act(&Action::Back).unwrap_err().contains("start"));
}

#[test]
fn run_to_failure_stops_in_the_failing_window_and_a_saved_file_reopens_there() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    s.act(&Action::Failure).unwrap();
    let end = s.finished();
    let failing = s
        .judge(&end)
        .into_iter()
        .find(|v| !v.passed())
        .expect("worker-crash-naive loses a task");
    if let Some((_, to)) = failing.window {
        assert!(s.sim().now() <= to, "stopped by the window's end");
    }
    // A path with a branch, saved and opened again: the session replays its steps first.
    let seq = s
        .sim()
        .pending()
        .iter()
        .rfind(|p| p.node.is_some())
        .unwrap()
        .seq;
    s.act(&Action::Run(seq)).unwrap();
    let steps = s.steps();
    let text = to_ron(&s.scenario(), &[]);
    let scenario = parse(&text, "saved.ron").unwrap();
    let reopened =
        Session::open(Registry::shipped().prepare(&scenario, "saved.ron").unwrap()).unwrap();
    assert_eq!(reopened.steps(), steps);
    assert_eq!(reopened.sim().now(), s.sim().now());
    assert_eq!(reopened.finished().trace_hash(), s.finished().trace_hash());
}

#[test]
fn refusals_say_why() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    assert!(s
        .act(&Action::Run(999_999))
        .unwrap_err()
        .contains("no longer pending"));
    let w = node(&s, "worker1");
    assert!(s.act(&Action::Restart(w)).unwrap_err().contains("crashed"));
    s.act(&Action::To(SimTime(10_000_000_000))).unwrap();
    assert!(s.sim().stopped());
    assert!(s.act(&Action::Next).unwrap_err().contains("ended"));
}

#[test]
fn run_to_stays_within_the_files_memory_budget() {
    let registry = Registry::shipped();
    let file = "scenarios/ping-1000.ron";
    let mut scenario = load(Path::new(file)).unwrap();
    let budget = 16u64 << 20;
    scenario.bounds.max_memory = clustersim::memory::Bytes(budget);
    let mut s = Session::open(registry.prepare(&scenario, file).unwrap()).unwrap();
    let mut refused = 0;
    for i in 1..=9u64 {
        match s.act(&Action::To(SimTime(i * 2_000_000_000))) {
            Ok(()) => {}
            Err(e) => {
                assert!(
                    e.contains("memory budget") && e.contains("bounds.max_memory"),
                    "{e}"
                );
                refused += 1;
            }
        }
        assert!(
            s.memory() <= budget,
            "run to {}s: {} bytes held (run {}), budget {budget}",
            i * 2,
            s.memory(),
            s.sim().memory()
        );
    }
    assert!(refused > 0, "the budget was reached, and said so");
    // Going back still works: the session is usable, not wedged.
    s.act(&Action::Back).unwrap();
}

/// Disk faults by hand (issue 39): a power loss takes the node down, a corrupt record and a
/// crash armed at a sync are applied where they may be and refused where they may not, and the
/// saved path replays them to the same trace hash.
#[test]
fn disk_faults_by_hand_apply_and_save_as_a_replayable_path() {
    use clustersim::fault::Fault;
    use clustersim::storage::Keep;
    let mut s = open("scenarios/server-crash-sync-always.ron");
    for _ in 0..60 {
        s.act(&Action::Next).unwrap();
    }
    let server = node(&s, "server1");
    s.act(&Action::Disk(Fault::Corrupt {
        node: server,
        key: None,
    }))
    .unwrap();
    s.act(&Action::Disk(Fault::CrashAtSync {
        node: server,
        sync: 1,
        power: true,
        keep: Keep::Subset,
        torn: true,
    }))
    .unwrap();
    // The armed crash falls at the server's next sync: step until it is down.
    let mut steps = 0;
    while s.sim().nodes()[server.index()].status != NodeStatus::Down {
        s.act(&Action::Next).unwrap();
        steps += 1;
        assert!(steps < 2_000, "the armed crash never fell");
    }
    assert!(
        s.act(&Action::Disk(Fault::PowerLoss {
            node: server,
            keep: Keep::Subset,
            torn: false,
        }))
        .is_err(),
        "a down node cannot lose power"
    );
    // The record of the crash that fell is the engine's to write, never a step's.
    s.act(&Action::Restart(server)).unwrap();
    assert!(s
        .act(&Action::Disk(Fault::CrashAtSync {
            node: server,
            sync: 0,
            power: false,
            keep: Keep::Subset,
            torn: false,
        }))
        .is_err());
    for _ in 0..30 {
        s.act(&Action::Next).unwrap();
    }
    let hash = s.finished().trace_hash();
    assert_eq!(replayed_hash(&s), hash);
    let text = to_ron(&s.scenario(), &[]);
    assert!(text.contains("CrashAtSync("), "{text}");
}

/// Everything a state shows: time, pending events, nodes, and the trace hash so far.
fn state_of(s: &Session) -> (SimTime, Vec<clustersim::sim::PendingEvent>, u64, String) {
    (
        s.sim().now(),
        s.sim().pending(),
        s.sim().outcome().trace_hash(),
        format!("{:?}", s.sim().nodes()),
    )
}

/// A fresh session that replays `steps` from the seed (the path a state of the tree names).
fn replayed_along(file: &str, steps: Vec<clustersim::sim::Step>) -> Session {
    let registry = Registry::shipped();
    let mut scenario = load(Path::new(file)).unwrap();
    let fresh = open(file);
    let roster = fresh.sim().roster();
    scenario.scheduler = Scheduler::Replay(
        steps
            .iter()
            .map(|st| st.map(|n| roster.name(*n).to_string()))
            .collect(),
    );
    Session::open(registry.prepare(&scenario, file).unwrap()).unwrap()
}

/// Going back to a step and taking another branch keeps the first: the tree holds both, and
/// returning to either (by a jump, or back and forward along the branch) gives exactly the
/// state, and the trace hash so far and at the end, of a run replayed along its path.
#[test]
fn the_tree_keeps_both_branches_and_each_returns_to_its_replayed_state() {
    for file in [
        "scenarios/worker-crash-naive.ron",
        "scenarios/raft-leader-crash.ron",
    ] {
        let mut s = open(file);
        s.act(&Action::To(SimTime(120_000_000))).unwrap();
        until_two_messages(&mut s);
        let fork = s.at();
        let at_fork = state_of(&s);
        // Branch A: time order.
        for _ in 0..5 {
            s.act(&Action::Next).unwrap();
        }
        let a = s.at();
        let at_a = state_of(&s);
        assert_eq!(s.branches(), 0);
        // Back to the fork, and branch B: the last-due message first, then time order.
        s.act(&Action::Goto(fork)).unwrap();
        assert_eq!(state_of(&s), at_fork, "{file}: the fork's state again");
        let late = s
            .sim()
            .pending()
            .iter()
            .rfind(|p| p.kind == PendingKind::Message)
            .unwrap()
            .seq;
        s.act(&Action::Run(late)).unwrap();
        for _ in 0..4 {
            s.act(&Action::Next).unwrap();
        }
        let b = s.at();
        let at_b = state_of(&s);
        assert_eq!(s.branches(), 1);
        assert_ne!(at_a, at_b, "{file}: two different branches");
        assert_eq!(s.children(fork).len(), 2, "{file}: both branches kept");
        let explored = s.explored();
        // Each state is the run replayed from the seed along its path.
        for (state, want) in [(a, &at_a), (b, &at_b), (fork, &at_fork)] {
            s.act(&Action::Goto(state)).unwrap();
            assert_eq!(s.at(), state);
            assert_eq!(&state_of(&s), want, "{file}: returning to #{state}");
            let path = s.path_to(state).unwrap();
            assert_eq!(s.steps(), path);
            let fresh = replayed_along(file, path);
            assert_eq!(&state_of(&fresh), want, "{file}: #{state} replayed");
            assert_eq!(
                s.finished().trace_hash(),
                fresh.finished().trace_hash(),
                "{file}: #{state}'s run to the end"
            );
        }
        // Time order from the fork is branch A's first event again, not a third branch.
        s.act(&Action::Next).unwrap();
        assert_eq!(s.explored(), explored, "{file}: no state made twice");
        assert_eq!(s.children(fork).len(), 2);
        // Back and forward go along the current branch: B, after a jump to it.
        s.act(&Action::Goto(b)).unwrap();
        for _ in 0..5 {
            s.act(&Action::StepBack).unwrap();
        }
        assert_eq!(s.at(), fork);
        for _ in 0..5 {
            s.act(&Action::Forward).unwrap();
        }
        assert_eq!(s.at(), b, "{file}: forward follows branch B");
        assert_eq!(state_of(&s), at_b);
        assert!(s
            .act(&Action::Forward)
            .unwrap_err()
            .contains("no later event"));
        // Undo returns from a jump to where it was taken.
        s.act(&Action::Goto(a)).unwrap();
        s.act(&Action::Back).unwrap();
        assert_eq!(s.at(), b);
        assert_eq!(s.explored(), explored, "{file}: nothing discarded");
        let err = s.act(&Action::Goto(u32::MAX - 1)).unwrap_err();
        assert!(err.contains("no explored state"), "{err}");
        assert_eq!(s.at(), b, "a refused jump moves nothing");
    }
}

/// The tree as the page is shown it: a long chain is folded to its first and last six events
/// and the six either side of the current one, each fold one item that goes to its middle
/// event; the path to the current state is marked; a branch is a chain of its own, nested under
/// the state it branches from, and a fault by hand is marked so.
#[test]
fn the_tree_view_folds_long_chains_around_their_ends_and_the_current_state() {
    let mut s = open("scenarios/worker-crash-naive.ron");
    for _ in 0..40 {
        s.act(&Action::Next).unwrap();
    }
    let view = |s: &Session| serde_json::to_value(s.tree_view()).unwrap();
    let shown = |v: &serde_json::Value, chain: usize| -> (Vec<u64>, Vec<(u64, u64)>) {
        let items = v["chains"][chain]["items"].as_array().unwrap();
        let id = |i: &serde_json::Value| i["id"].as_u64().unwrap();
        (
            items
                .iter()
                .filter(|i| i.get("gap").is_none())
                .map(id)
                .collect(),
            items
                .iter()
                .filter_map(|i| i.get("gap").map(|g| (g.as_u64().unwrap(), id(i))))
                .collect(),
        )
    };
    let on_path = |v: &serde_json::Value, chain: usize, id: u64| -> bool {
        v["chains"][chain]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i.get("path") == Some(&serde_json::Value::Bool(true)))
            .unwrap()
    };
    let v = view(&s);
    assert_eq!(
        (v["at"].clone(), v["states"].clone()),
        (40.into(), 41.into())
    );
    assert_eq!(v["chains"].as_array().unwrap().len(), 1);
    assert_eq!(v["chains"][0]["n"], 41);
    let (ids, gaps) = shown(&v, 0);
    let want: Vec<u64> = (0..6).chain(34..41).collect();
    assert_eq!(ids, want);
    assert_eq!(gaps, [(28, 20)], "one fold of #6..#33, going to #20");
    assert!(ids.iter().all(|&i| on_path(&v, 0, i)));
    assert_eq!(v["forward"], serde_json::Value::Null);
    // At #20: the six either side shown too, two folds, the path marked up to #20.
    s.act(&Action::Goto(20)).unwrap();
    let v = view(&s);
    let (ids, gaps) = shown(&v, 0);
    let want: Vec<u64> = (0..6).chain(14..27).chain(35..41).collect();
    assert_eq!(ids, want);
    assert_eq!(gaps, [(8, 10), (8, 31)]);
    for id in [0, 10, 19, 20] {
        assert!(on_path(&v, 0, id), "#{id} leads to #20");
    }
    for id in [21, 31, 40] {
        assert!(!on_path(&v, 0, id), "#{id} lies past #20");
    }
    assert_eq!(v["forward"], 21);
    // A crash by hand at #20: the chain splits there, both branches nested under #20.
    let w = node(&s, "worker2");
    s.act(&Action::Crash(w)).unwrap();
    let v = view(&s);
    let chains = v["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 3, "{v}");
    assert_eq!(
        (chains[0]["n"].clone(), chains[0]["from"].clone()),
        (21.into(), serde_json::Value::Null)
    );
    assert_eq!(
        (
            chains[1]["n"].clone(),
            chains[1]["from"].clone(),
            chains[1]["level"].clone()
        ),
        (20.into(), 20.into(), 1.into())
    );
    assert_eq!(
        (
            chains[2]["n"].clone(),
            chains[2]["from"].clone(),
            chains[2]["level"].clone()
        ),
        (1.into(), 20.into(), 1.into())
    );
    let crash = &chains[2]["items"][0];
    assert_eq!(crash["id"], 41);
    assert_eq!(crash["hand"], true);
    assert!(
        crash["l"].as_str().unwrap().contains("crash worker2"),
        "{crash}"
    );
    assert!(on_path(&v, 2, 41) && on_path(&v, 0, 20) && !on_path(&v, 1, 21));
}

/// A fault the scenario scheduled is a state of its own in the tree: one can stand just
/// before it and branch there, the saved branch replays to the session's trace hash, and a
/// run to the end takes one step for each event `run` counts.
#[test]
fn a_scheduled_fault_is_a_state_of_its_own() {
    let file = "scenarios/ping-partition.ron";
    let mut s = open(file);
    let partition_at = SimTime::ZERO + clustersim::Duration::from_secs(2);
    for _ in 0..100_000 {
        if s.sim().now() >= partition_at {
            break;
        }
        s.act(&Action::Next).unwrap();
    }
    assert_eq!(s.sim().now(), partition_at, "stopped at the partition");
    assert_eq!(
        s.steps().last(),
        Some(&Step::Scheduled),
        "the partition's own step"
    );
    let view = serde_json::to_value(s.tree_view()).unwrap();
    let chain = &view["chains"][0]["items"];
    let last = &chain[chain.as_array().unwrap().len() - 1];
    let label = last["l"].as_str().unwrap();
    assert!(label.starts_with("partition"), "{last}");
    assert!(!label.contains("then"), "{last}");
    // One event back: the partition has not happened yet, and a crash can come first.
    s.act(&Action::StepBack).unwrap();
    assert!(s.sim().now() < partition_at);
    assert_eq!(s.sim().scheduled_next(), Some(partition_at));
    let client = NodeId(0);
    s.act(&Action::Crash(client)).unwrap();
    assert_eq!(
        s.sim().scheduled_next(),
        Some(partition_at),
        "still to come"
    );
    s.act(&Action::Next).unwrap();
    assert_eq!(s.steps().last(), Some(&Step::Scheduled));
    assert_eq!(replayed_hash(&s), s.finished().trace_hash());
    // To the end: as many steps as the run has events.
    let mut s = open(file);
    while s.act(&Action::Next).is_ok() {}
    let registry = Registry::shipped();
    let scenario = load(Path::new(file)).unwrap();
    let plain = run_scenario(&registry, &scenario, file, &RunOptions::default()).unwrap();
    assert_eq!(s.step_count() as u64, plain.outcome.stats.events);
    assert_eq!(s.finished().trace_hash(), plain.outcome.trace_hash());
}

/// "Run to" a time with nothing due by then says so, with when the next event is due.
#[test]
fn run_to_with_nothing_due_says_why() {
    let mut s = open("scenarios/ping-partition.ron");
    s.act(&Action::Next).unwrap();
    let now = s.sim().now();
    // Whatever else is due at this instant runs first.
    let _ = s.act(&Action::To(now));
    let e = s.act(&Action::To(now)).unwrap_err();
    assert!(
        e.contains("nothing is due by") && e.contains("next event is due at"),
        "{e}"
    );
    let past = s.act(&Action::To(SimTime::ZERO)).unwrap_err();
    assert!(
        past.contains("has passed") || past.contains("nothing is due"),
        "{past}"
    );
}
