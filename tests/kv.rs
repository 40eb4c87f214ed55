//! Replicated key-value stores under faults: each bundled scenario's verdicts, random partitions
//! and crashes against async and sync primary-backup, and the KV checkers on runs and histories
//! built by hand (a failing case beside each passing one).

use clustersim::check::{
    check_converged, check_durable, check_stale_reads, Converged, Durable, Linearizable,
    StaleReads, Status, Verdict,
};
use clustersim::fault::{Fault, ScheduledFault};
use clustersim::history::{History, Op};
use clustersim::node::{NodeId, Roster, Snapshot};
use clustersim::protocols::kv::primary_backup::Mode;
use clustersim::registry::Registry;
use clustersim::run::{run_file, run_scenario, Report, RunOptions};
use clustersim::scenario::Spec;
use clustersim::scenario::{load, Scenario};
use clustersim::sim::{Bounds, NodeStatus, RunOutcome, StopReason};
use clustersim::time::{Duration, SimTime};
use clustersim::trace::{Trace, TraceLevel};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use std::path::Path;

fn run(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    run_file(&Registry::shipped(), &path, &RunOptions::default()).expect("scenario runs")
}

fn status(report: &Report, check: &str) -> Status {
    report
        .verdicts
        .iter()
        .find(|v| v.check == check)
        .unwrap_or_else(|| panic!("no verdict for {check}"))
        .status
}

// ---- the bundled scenarios ----

#[test]
fn async_failover_loses_acknowledged_writes() {
    let r = run("kv-primary-backup-async-failover.ron");
    assert_eq!(status(&r, "Durable"), Status::Fail);
    assert_eq!(status(&r, "Linearizable"), Status::Fail);
    assert_eq!(status(&r, "Converged"), Status::Pass);
    // The verdict explains itself: the cas in its window expected a value written before the
    // window opened, and that write is named after the window.
    let lin = r
        .verdicts
        .iter()
        .find(|v| v.check == "Linearizable")
        .unwrap();
    let cas = lin
        .details
        .iter()
        .find(|d| d.contains("cas(k0, 1211760598057010,"));
    assert!(cas.is_some(), "{:?}", lin.details);
    let before: Vec<&String> = lin
        .details
        .iter()
        .filter(|d| d.contains("before the window"))
        .collect();
    assert_eq!(before.len(), 1, "{:?}", lin.details);
    assert!(
        before[0].contains("put(k0, 1211760598057010)"),
        "{}",
        before[0]
    );
    assert!(
        before[0].contains("the value the cas expected"),
        "{}",
        before[0]
    );
}

#[test]
fn sync_primary_backup_keeps_every_acknowledged_write() {
    let r = run("kv-primary-backup-sync.ron");
    assert_eq!(status(&r, "Durable"), Status::Pass);
    assert_eq!(status(&r, "Converged"), Status::Pass);
}

#[test]
fn quorum_311_reads_are_stale_under_partition() {
    let r = run("kv-quorum-311.ron");
    assert_eq!(status(&r, "StaleReads"), Status::Fail);
    assert_eq!(status(&r, "Linearizable"), Status::Fail);
}

#[test]
fn quorum_322_reads_are_fresh_under_single_node_partition() {
    let r = run("kv-quorum-322.ron");
    assert_eq!(status(&r, "StaleReads"), Status::Pass);
    assert_eq!(status(&r, "Linearizable"), Status::Pass);
}

#[test]
fn isolated_replicas_converge_after_heal() {
    let r = run("kv-partition-heal.ron");
    assert_eq!(status(&r, "Converged"), Status::Pass);
    assert_eq!(status(&r, "Durable"), Status::Pass);
}

#[test]
fn without_anti_entropy_or_read_repair_isolated_replicas_stay_diverged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/kv-partition-heal.ron");
    let mut s = load(&path).expect("loads");
    s.protocol
        .edit(|q: &mut clustersim::protocols::kv::quorum::QuorumParams| {
            q.anti_entropy = Duration::ZERO;
            q.read_repair = false;
            q.final_reads = None;
        })
        .expect("Quorum params");
    s.checks = vec![Spec::check(&Converged)];
    let r =
        run_scenario(&Registry::shipped(), &s, "diverged", &RunOptions::default()).expect("runs");
    let v = &r.verdicts[0];
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.summary.contains("differ at key k"), "{}", v.summary);
}

/// Sync primary-backup with `fencing`, the primary and client1 cut off from 2s to 4s, clients
/// writing until 7s and reading every key at 8s.
fn split_brain(fencing: bool, seed: u64) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/kv-primary-backup-sync.ron");
    let mut s = load(&path).expect("loads");
    s.protocol
        .edit(
            |p: &mut clustersim::protocols::kv::primary_backup::PrimaryBackupParams| {
                p.fencing = fencing;
                p.final_reads = Some(Duration::from_secs(8));
            },
        )
        .expect("PrimaryBackup params");
    s.seed = seed;
    let side = vec!["replica1".to_string(), "client1".to_string()];
    s.faults = vec![
        ScheduledFault {
            at: Duration::from_secs(2),
            fault: Fault::Partition(vec![side]),
        },
        ScheduledFault {
            at: Duration::from_secs(4),
            fault: Fault::Heal,
        },
    ];
    // Keep clients going after the heal, when both primaries are reachable.
    s.workload.stop = Some(Duration::from_secs(7));
    s.bounds.max_time = Duration::from_secs(9);
    s.checks = vec![
        Spec::check(&Linearizable::default()),
        Spec::check(&Durable),
        Spec::check(&StaleReads),
    ];
    run_scenario(
        &Registry::shipped(),
        &s,
        "split-brain",
        &RunOptions::default(),
    )
    .expect("runs")
}

#[test]
fn deposed_primary_without_fencing_is_caught_and_fencing_prevents_it() {
    // The bug zoo's "lease-based primary without fencing accepts writes from a deposed primary".
    let seeds = 0..40u64;
    let unfenced = seeds
        .clone()
        .filter(|s| !split_brain(false, *s).passed())
        .count();
    assert!(unfenced > 0, "no seed exposed the unfenced split brain");
    for seed in seeds {
        let r = split_brain(true, seed);
        assert!(r.passed(), "fenced, seed {seed}: {:?}", r.verdicts);
        assert_eq!(r.verdicts[1].status, Status::Pass, "seed {seed}");
    }
}

#[test]
fn reads_from_async_backups_are_stale_and_reads_at_the_primary_are_not() {
    let stale_reads = |read_from_backup: bool| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/kv-primary-backup-async-failover.ron");
        let mut s = load(&path).expect("loads");
        s.protocol
            .edit(
                |p: &mut clustersim::protocols::kv::primary_backup::PrimaryBackupParams| {
                    p.read_from_backup = read_from_backup;
                },
            )
            .expect("PrimaryBackup params");
        // No faults: staleness comes from replication lag alone.
        s.faults.clear();
        s.workload.interval = Duration::from_millis(5);
        s.checks = vec![Spec::check(&StaleReads)];
        run_scenario(
            &Registry::shipped(),
            &s,
            "backup-reads",
            &RunOptions::default(),
        )
        .expect("runs")
        .verdicts
        .remove(0)
    };
    let from_backup = stale_reads(true);
    assert_eq!(from_backup.status, Status::Fail, "{from_backup:?}");
    let at_primary = stale_reads(false);
    assert_eq!(at_primary.status, Status::Pass, "{at_primary:?}");
}

// ---- random partitions and crashes ----

/// One fault window: a partition splitting off `side` (bit mask over the five nodes), or a
/// crash of replica `side % 3`, from `at` for `len` milliseconds.
#[derive(Clone, Debug)]
struct Trouble {
    crash: bool,
    side: u8,
    at: u64,
    len: u64,
}

fn trouble() -> impl Strategy<Value = Vec<Trouble>> {
    let one = (any::<bool>(), 1u8..31, 1_000u64..4_000, 200u64..1_500).prop_map(
        |(crash, side, at, len)| Trouble {
            crash,
            side,
            at,
            len,
        },
    );
    prop::collection::vec(one, 1..4)
}

const NODES: [&str; 5] = ["replica1", "replica2", "replica3", "client1", "client2"];

/// The sync scenario with `mode`, these faults, and everything healed and restarted at 5s.
fn pb_with(mode: Mode, faults: &[Trouble]) -> Scenario {
    let mut s = with_faults("kv-primary-backup-sync.ron", faults);
    s.protocol
        .edit(
            |p: &mut clustersim::protocols::kv::primary_backup::PrimaryBackupParams| {
                p.mode = mode;
            },
        )
        .expect("PrimaryBackup params");
    s.checks = vec![Spec::check(&Durable), Spec::check(&Linearizable::default())];
    s
}

/// A bundled scenario (nodes replica1-3, client1-2) with these faults instead of its own, all
/// healed and restarted at 5s.
fn with_faults(file: &str, faults: &[Trouble]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let mut s = load(&path).expect("loads");
    let ms = Duration::from_millis;
    let mut sched = Vec::new();
    for t in faults {
        let end = (t.at + t.len).min(4_900);
        if t.crash {
            let node = NODES[usize::from(t.side % 3)].to_string();
            sched.push((t.at, Fault::Crash(node.clone())));
            sched.push((end, Fault::Restart(node)));
        } else {
            let side: Vec<String> = (0..5)
                .filter(|i| t.side & (1 << i) != 0)
                .map(|i| NODES[i].to_string())
                .collect();
            sched.push((t.at, Fault::Partition(vec![side])));
            sched.push((end, Fault::Heal));
        }
    }
    sched.push((5_000, Fault::Heal));
    for r in &NODES[..3] {
        sched.push((5_000, Fault::Restart(r.to_string())));
    }
    sched.sort_by_key(|(t, _)| *t);
    s.faults = sched
        .into_iter()
        .map(|(at, fault)| ScheduledFault { at: ms(at), fault })
        .collect();
    s
}

fn verdicts(s: &Scenario) -> Vec<Verdict> {
    run_scenario(&Registry::shipped(), s, "proptest", &RunOptions::default())
        .expect("runs")
        .verdicts
}

#[test]
fn random_faults_make_async_primary_backup_lose_or_reorder_writes() {
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&trouble(), |faults| {
        let v = verdicts(&pb_with(Mode::Async, &faults));
        prop_assert!(v.iter().all(Verdict::passed), "{:?}", v);
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, faults)) => {
            // The shrunk counterexample still fails when run again: it is real, not a fluke.
            let v = verdicts(&pb_with(Mode::Async, &faults));
            assert!(v.iter().any(|v| !v.passed()), "{faults:?}");
        }
        other => panic!("no durability or linearizability failure found: {other:?}"),
    }
}

/// What sync primary-backup guarantees, exactly: every write it acknowledged is still there (or
/// superseded) after any partitions and crashes heal. It does not promise linearizable reads.
#[test]
fn random_faults_never_lose_a_write_sync_primary_backup_acknowledged() {
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = std::cell::Cell::new(0u32);
    runner
        .run(&trouble(), |faults| {
            cases.set(cases.get() + 1);
            let v = verdicts(&pb_with(Mode::Sync, &faults));
            let durable = &v[0];
            prop_assert_eq!(durable.status, Status::Pass, "{:?}", durable);
            Ok(())
        })
        .expect("sync primary-backup lost an acknowledged write");
    assert!(cases.get() >= 128, "only {} cases ran", cases.get());
}

/// Quorum with r + w > n guarantees that no read misses a write acknowledged before it began,
/// whatever partitions and crashes happen; with r + w <= n that fails.
#[test]
fn random_faults_give_stale_reads_only_when_quorums_do_not_overlap() {
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let stale = |file: &str, faults: &[Trouble]| {
        let mut s = with_faults(file, faults);
        s.bounds.max_time = Duration::from_secs(6);
        s.checks = vec![Spec::check(&StaleReads)];
        verdicts(&s).remove(0)
    };
    TestRunner::new(config.clone())
        .run(&trouble(), |faults| {
            let v = stale("kv-quorum-322.ron", &faults);
            prop_assert_eq!(v.status, Status::Pass, "{:?}", v);
            Ok(())
        })
        .expect("r + w > n gave a stale read");
    let found = TestRunner::new(config).run(&trouble(), |faults| {
        prop_assert!(stale("kv-quorum-311.ron", &faults).passed());
        Ok(())
    });
    assert!(matches!(found, Err(TestError::Fail(..))), "{found:?}");
}

#[test]
fn quorum_sizes_are_validated_with_a_sentence() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/kv-quorum-322.ron");
    let mut s = load(&path).expect("loads");
    s.protocol
        .edit(|q: &mut clustersim::protocols::kv::quorum::QuorumParams| {
            q.r = 4;
        })
        .expect("Quorum params");
    let err = run_scenario(&Registry::shipped(), &s, "bad", &RunOptions::default())
        .expect_err("r > n is rejected")
        .to_string();
    assert!(
        err.contains("Quorum r must be between 1 and n (3), got 4"),
        "{err}"
    );
}

// ---- checkers on hand-built outcomes ----

fn outcome(
    history: History,
    snapshots: Vec<Snapshot>,
    faults: Vec<(SimTime, Fault)>,
) -> RunOutcome {
    let n = snapshots.len().max(2);
    let mut o = RunOutcome::from_history(
        Roster::new((0..n).map(|i| (format!("n{i}"), "replica".to_string()))),
        SimTime(10_000_000_000),
        history,
    );
    o.bounds =
        Bounds::new(Duration::from_secs(10), 1).max_memory(clustersim::memory::DEFAULT_BUDGET);
    o.stop = StopReason::TimeLimit;
    o.trace = Trace::new(TraceLevel::HashOnly);
    o.snapshots = snapshots
        .into_iter()
        .enumerate()
        .map(|(i, s)| (NodeId(i as u32), s))
        .collect();
    o.faults = faults;
    o.status = vec![NodeStatus::Up; n];
    o
}

/// put(k0, 1) acknowledged, then a put(k0, 2) by client 1, then a read by client 2 of `read`.
fn write_then_read(read: Option<u64>, second_acked: bool) -> History {
    let mut h = History::new();
    let (c0, c1, c2) = (NodeId(0), NodeId(1), NodeId(2));
    let a = h.invoke(SimTime(10), c0, Op::Put { key: 0, value: 1 });
    h.ok(SimTime(20), c0, a, Op::Put { key: 0, value: 1 });
    let b = h.invoke(SimTime(30), c1, Op::Put { key: 0, value: 2 });
    if second_acked {
        h.ok(SimTime(40), c1, b, Op::Put { key: 0, value: 2 });
    } else {
        h.info(SimTime(40), c1, b, Op::Put { key: 0, value: 2 });
    }
    let g = h.invoke(
        SimTime(50),
        c2,
        Op::Get {
            key: 0,
            value: None,
        },
    );
    h.ok(
        SimTime(60),
        c2,
        g,
        Op::Get {
            key: 0,
            value: read,
        },
    );
    h
}

#[test]
fn stale_reads_counts_a_read_older_than_an_acknowledged_write() {
    let fresh = check_stale_reads(&outcome(write_then_read(Some(2), true), vec![], vec![]));
    assert_eq!(fresh.status, Status::Pass, "{fresh:?}");
    let stale = check_stale_reads(&outcome(write_then_read(Some(1), true), vec![], vec![]));
    assert_eq!(stale.status, Status::Fail, "{stale:?}");
    assert!(
        stale.summary.starts_with("1 of 1 reads"),
        "{}",
        stale.summary
    );
    // Reading the older value is fine when the newer write was never acknowledged.
    let maybe = check_stale_reads(&outcome(write_then_read(Some(1), false), vec![], vec![]));
    assert_eq!(maybe.status, Status::Pass, "{maybe:?}");
}

#[test]
fn durable_fails_when_a_final_read_misses_an_acknowledged_write() {
    let healed = vec![
        (SimTime(1), Fault::Isolate(NodeId(0))),
        (SimTime(5), Fault::Heal),
    ];
    let kept = check_durable(&outcome(
        write_then_read(Some(2), true),
        vec![],
        healed.clone(),
    ));
    assert_eq!(kept.status, Status::Pass, "{kept:?}");
    let lost = check_durable(&outcome(
        write_then_read(None, true),
        vec![],
        healed.clone(),
    ));
    assert_eq!(lost.status, Status::Fail, "{lost:?}");
    let unhealed = vec![(SimTime(1), Fault::Isolate(NodeId(0)))];
    let open = check_durable(&outcome(write_then_read(Some(2), true), vec![], unhealed));
    assert_eq!(open.status, Status::Unknown, "{open:?}");
}

/// Durable cannot judge a key no final read saw, and says why: no read was asked (enable
/// final reads), or reads were asked and got no answer (the cluster had not recovered).
/// A run with no network fault has no heal to name.
#[test]
fn durable_says_why_a_key_was_not_judged() {
    let write_then = |answered: bool| {
        let mut h = History::new();
        let a = h.invoke(SimTime(10), NodeId(0), Op::Put { key: 0, value: 1 });
        h.ok(SimTime(20), NodeId(0), a, Op::Put { key: 0, value: 1 });
        if !answered {
            let get = Op::Get {
                key: 0,
                value: None,
            };
            let g = h.invoke(SimTime(50), NodeId(1), get.clone());
            h.info(SimTime(90), NodeId(1), g, get);
        }
        h
    };
    let silent = check_durable(&outcome(write_then(true), vec![], vec![]));
    assert_eq!(silent.status, Status::Unknown, "{silent:?}");
    assert!(
        silent.summary.contains("enable the protocol's final reads")
            && silent
                .summary
                .contains("had no read after their last write"),
        "{}",
        silent.summary
    );
    let timed_out = check_durable(&outcome(write_then(false), vec![], vec![]));
    assert_eq!(timed_out.status, Status::Unknown, "{timed_out:?}");
    assert!(
        timed_out
            .summary
            .contains("1 reads of them did not succeed (0 refused, 1 unanswered)")
            && !timed_out.summary.contains("final_reads"),
        "{}",
        timed_out.summary
    );
}

#[test]
fn converged_names_the_first_differing_key() {
    let snap = |pairs: &[(&str, &str)]| -> Snapshot {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let same = vec![snap(&[("k0", "1"), ("k1", "2")]); 3];
    assert_eq!(
        check_converged(&outcome(History::new(), same, vec![])).status,
        Status::Pass
    );
    let differ = vec![
        snap(&[("k0", "1"), ("k1", "2")]),
        snap(&[("k0", "1"), ("k1", "3")]),
    ];
    let v = check_converged(&outcome(History::new(), differ, vec![]));
    assert_eq!(v.status, Status::Fail);
    assert!(v.summary.contains("differ at key k1"), "{}", v.summary);
}

#[test]
fn converged_refuses_replicas_that_agree_on_nothing_after_acknowledged_writes() {
    let empty = vec![Snapshot::new(); 3];
    // Nothing was written: empty replicas agree.
    assert_eq!(
        check_converged(&outcome(History::new(), empty.clone(), vec![])).status,
        Status::Pass
    );
    // An acknowledged write, and every replica reports nothing: not converged.
    let v = check_converged(&outcome(write_then_read(Some(2), true), empty, vec![]));
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(v.summary.contains("report an empty state"), "{}", v.summary);
}
