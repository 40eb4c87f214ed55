//! Primary-backup's view service (issue 38): with one of three replicas crashed for good, sync
//! writes stop without it and go on after the view change with it, counted from the history; a
//! crashed primary is replaced by its backup with no acknowledged write lost; and the hunting
//! grounds (one replica at a time crashed and restarted; partitions, isolations and crashes)
//! stay linearizable over hundreds of seeds.

mod common;
use clustersim::check::Status;
use clustersim::fault::{Fault, ScheduledFault};
use clustersim::history::{Op, Phase};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, Report, RunOptions};
use clustersim::scenario::{load, Scenario};
use clustersim::time::{Duration, SimTime};
use common::hunt;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(file: &str, seed: u64) -> Scenario {
    let mut s = load(&root().join(file)).expect("loads");
    s.seed = seed;
    s
}

fn run(s: &Scenario) -> Report {
    run_scenario(&Registry::shipped(), s, &s.name, &RunOptions::default()).expect("runs")
}

fn status(r: &Report, check: &str) -> Status {
    r.verdicts
        .iter()
        .find(|v| v.check == check)
        .unwrap_or_else(|| panic!("no verdict for {check}"))
        .status
}

/// The crash in both bundled files.
const CRASH: Duration = Duration::from_secs(2);
/// When the view service must have moved on: `suspect_after` (300ms) of silence, noticed at its
/// next check, then a heartbeat for the view change and the state transfer.
const SUSPICION: Duration = Duration::from_millis(400);
/// The clients stop at 5s.
const STOP: Duration = Duration::from_secs(5);

/// Writes (put, cas) invoked from `after` until the clients stop: (invoked, answered), where
/// answered is ok, or a cas refused because its key held another value (the store worked).
fn writes_after(r: &Report, after: SimTime) -> (usize, usize) {
    let writes: Vec<_> = r
        .outcome
        .history
        .calls()
        .into_iter()
        .filter(|c| matches!(c.invoked, Op::Put { .. } | Op::Cas { .. }))
        .filter(|c| c.invoke_time >= after && c.invoke_time < SimTime::ZERO + STOP)
        .collect();
    let ok = writes
        .iter()
        .filter(|c| c.outcome == Phase::Ok || matches!(c.completed, Op::CasFailed { .. }))
        .count();
    (writes.len(), ok)
}

/// The views the view service made, in order: (number, primary, backup).
fn views(r: &Report) -> Vec<(u64, u32, Option<u32>)> {
    r.outcome
        .history
        .events()
        .filter_map(|e| e.op.custom_value::<(u64, u32, Option<u32>)>("view"))
        .collect()
}

fn id(r: &Report, name: &str) -> u32 {
    r.outcome.roster.by_name(name).expect("node").0
}

#[test]
fn one_crashed_backup_stops_sync_writes_without_a_view_service_and_not_with_one() {
    let after = SimTime::ZERO + CRASH + SUSPICION;
    let (mut without, mut with) = ((0, 0), (0, 0));
    for seed in 0..20 {
        let old = run(&scenario(
            "scenarios/kv-primary-backup-backup-crash.ron",
            seed,
        ));
        let (invoked, ok) = writes_after(&old, after);
        assert!(invoked > 0, "seed {seed}: the clients kept calling");
        assert_eq!(
            ok, 0,
            "seed {seed}: a write was answered with a backup down"
        );
        assert_eq!(status(&old, "Throughput"), Status::Fail, "seed {seed}");
        without = (without.0 + invoked, without.1 + ok);

        let new = run(&scenario(
            "scenarios/kv-primary-backup-view-service.ron",
            seed,
        ));
        let (invoked, ok) = writes_after(&new, after);
        assert!(
            ok * 10 >= invoked * 9,
            "seed {seed}: only {ok} of {invoked} writes after the view change answered"
        );
        assert_eq!(status(&new, "Linearizable"), Status::Pass, "seed {seed}");
        assert_eq!(status(&new, "Throughput"), Status::Pass, "seed {seed}");
        // View 1 is replica1 and replica2; replica2's crash gives view 2, replica1 and replica3.
        let (r1, r2, r3) = (
            id(&new, "replica1"),
            id(&new, "replica2"),
            id(&new, "replica3"),
        );
        assert_eq!(
            views(&new),
            [(1, r1, Some(r2)), (2, r1, Some(r3))],
            "seed {seed}"
        );
        with = (with.0 + invoked, with.1 + ok);
    }
    eprintln!(
        "writes invoked from {after} to {STOP}, 20 seeds: without a view service {} of {} answered, with one {} of {} answered",
        without.1, without.0, with.1, with.0
    );
}

/// The view-service file with the primary (replica1) crashed at 2s instead of the backup, and
/// restarted at `restart` if given.
fn primary_crash(seed: u64, restart: Option<Duration>) -> Scenario {
    let mut s = scenario("scenarios/kv-primary-backup-view-service.ron", seed);
    s.faults = vec![ScheduledFault {
        at: CRASH,
        fault: Fault::Crash("replica1".into()),
    }];
    if let Some(at) = restart {
        s.faults.push(ScheduledFault {
            at,
            fault: Fault::Restart("replica1".into()),
        });
        s.checks.push(clustersim::scenario::Spec::check(
            &clustersim::check::Durable,
        ));
    }
    s
}

#[test]
fn a_crashed_primary_is_replaced_by_its_backup_and_no_acknowledged_write_is_lost() {
    let after = SimTime::ZERO + CRASH + SUSPICION;
    for seed in 0..100 {
        // Crashed for good: the final reads of every key at 5.5s go to the new primary, and the
        // history with them is linearizable, so each saw the last acknowledged write of its key.
        let r = run(&primary_crash(seed, None));
        assert_eq!(status(&r, "Linearizable"), Status::Pass, "seed {seed}");
        let (r1, r2, r3) = (id(&r, "replica1"), id(&r, "replica2"), id(&r, "replica3"));
        // The backup of the acknowledged view becomes primary, never the idle replica3 alone.
        assert_eq!(
            views(&r),
            [(1, r1, Some(r2)), (2, r2, Some(r3))],
            "seed {seed}"
        );
        let (invoked, ok) = writes_after(&r, after);
        assert!(ok * 10 >= invoked * 9, "seed {seed}: {ok} of {invoked}");
        let finals = r
            .outcome
            .history
            .calls()
            .into_iter()
            .filter(|c| c.invoke_time >= SimTime::ZERO + Duration::from_millis(5_500))
            .filter(|c| c.outcome == Phase::Ok)
            .count();
        assert_eq!(finals, 6, "seed {seed}: every final read answered");

        // Back at 3.5s: replica1 rejoins with its old copy as an idle replica, and `Durable`
        // (judged once every fault is over) finds every acknowledged write.
        let r = run(&primary_crash(seed, Some(Duration::from_millis(3_500))));
        for check in ["Linearizable", "Durable"] {
            assert_eq!(status(&r, check), Status::Pass, "seed {seed}: {check}");
        }
    }
}

#[test]
fn an_idle_replica_is_never_made_primary() {
    // Both other replicas crash at 2s, so view 2 is replica1 alone, acknowledged, and it takes
    // writes. replica1 crashes at 3s; replica3 is back at 3.5s with its copy from before 2s. The
    // view service must not make it primary (the classic mistake: it would serve without the
    // writes replica1 acknowledged alone), so nothing is answered until replica1 is back at 4s.
    let at = |ms: u64| SimTime::ZERO + Duration::from_millis(ms);
    for seed in 0..50 {
        let mut s = scenario("scenarios/kv-primary-backup-view-service.ron", seed);
        let fault = |ms: u64, fault: Fault<String>| ScheduledFault {
            at: Duration::from_millis(ms),
            fault,
        };
        s.faults = vec![
            fault(2_000, Fault::Crash("replica2".into())),
            fault(2_000, Fault::Crash("replica3".into())),
            fault(3_000, Fault::Crash("replica1".into())),
            fault(3_500, Fault::Restart("replica3".into())),
            fault(4_000, Fault::Restart("replica1".into())),
        ];
        let r = run(&s);
        assert_eq!(status(&r, "Linearizable"), Status::Pass, "seed {seed}");
        let (r1, r3) = (id(&r, "replica1"), id(&r, "replica3"));
        let views = views(&r);
        assert!(views.contains(&(2, r1, None)), "seed {seed}: {views:?}");
        assert!(
            views.iter().all(|(_, p, _)| *p != r3),
            "seed {seed}: {views:?}"
        );
        let answered_while_down = r
            .outcome
            .history
            .calls()
            .into_iter()
            .filter(|c| c.outcome == Phase::Ok)
            .filter(|c| c.invoke_time > at(3_000) && c.complete_time < Some(at(4_000)))
            .count();
        assert_eq!(answered_while_down, 0, "seed {seed}: served by replica3");
        // replica1 comes back with every write on its disk and serves again.
        let (_, ok) = writes_after(&r, at(4_500));
        assert!(ok > 0, "seed {seed}: no write after replica1 came back");
    }
}

/// The view-service file with these faults (milliseconds) and `StaleReads` checked too.
fn with_faults(seed: u64, faults: Vec<(u64, Fault<String>)>) -> Report {
    let mut s = scenario("scenarios/kv-primary-backup-view-service.ron", seed);
    s.faults = faults
        .into_iter()
        .map(|(ms, fault)| ScheduledFault {
            at: Duration::from_millis(ms),
            fault,
        })
        .collect();
    s.checks.push(clustersim::scenario::Spec::check(
        &clustersim::check::StaleReads,
    ));
    run(&s)
}

#[test]
fn a_backup_that_never_took_the_state_is_never_promoted() {
    // replica2 (the backup) crashes at 2s, so view 2 is replica1 with replica3; replica3 cannot
    // hear replica1 until 4s, so it never takes replica1's state and view 2 is never
    // acknowledged. replica1 crashes at 3s and is back at 4.5s: replica3, which holds nothing,
    // must not be promoted in between.
    let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    for seed in 0..50 {
        let r = with_faults(
            seed,
            vec![
                (2_000, Fault::Crash("replica2".into())),
                (
                    2_000,
                    Fault::Cut {
                        from: names(&["replica1"]),
                        to: names(&["replica3"]),
                    },
                ),
                (3_000, Fault::Crash("replica1".into())),
                (4_000, Fault::Heal),
                (4_500, Fault::Restart("replica1".into())),
            ],
        );
        for check in ["Linearizable", "StaleReads"] {
            assert_eq!(status(&r, check), Status::Pass, "seed {seed}: {check}");
        }
        let r3 = id(&r, "replica3");
        let views = views(&r);
        assert!(
            views.iter().all(|(_, p, _)| *p != r3),
            "seed {seed}: {views:?}"
        );
    }
}

#[test]
fn a_primary_cut_off_from_the_view_service_alone_is_deposed_without_a_stale_read() {
    // The view service stops hearing replica1 (the primary) from 2s to 3s and promotes
    // replica2, while replica1 still reaches everyone else: replica2's fencing (a heartbeat or
    // write of view 1 is answered Stale) deposes it, and its read lease from replica2 runs out
    // before replica2 serves (replica2 also waits `suspect_after` since it last heard replica1).
    let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    for seed in 0..200 {
        let r = with_faults(
            seed,
            vec![
                (
                    2_000,
                    Fault::Cut {
                        from: names(&["replica1"]),
                        to: names(&["viewserver1"]),
                    },
                ),
                (3_000, Fault::Heal),
            ],
        );
        for check in ["Linearizable", "StaleReads"] {
            assert_eq!(status(&r, check), Status::Pass, "seed {seed}: {check}");
        }
        let (r1, r2) = (id(&r, "replica1"), id(&r, "replica2"));
        assert_eq!(views(&r)[1].1, r2, "seed {seed}: replica2 promoted");
        assert_eq!(views(&r)[0].1, r1);
    }
}

#[test]
fn one_replica_at_a_time_crashed_and_restarted_stays_linearizable() {
    hunt("scenarios/hunt/kv-pb-view-service-crashes.ron", 1_000);
}

#[test]
fn partitions_isolations_and_crashes_stay_linearizable_with_a_view_service() {
    hunt("scenarios/hunt/kv-pb-view-service-nemesis.ron", 500);
}

#[test]
fn the_view_service_and_its_node_come_together() {
    let mut s = scenario("scenarios/kv-primary-backup-view-service.ron", 7);
    s.protocol
        .edit(
            |p: &mut clustersim::protocols::kv::primary_backup::PrimaryBackupParams| {
                p.view_service = false;
            },
        )
        .expect("PrimaryBackup params");
    let err = run_scenario(&Registry::shipped(), &s, "bad", &RunOptions::default())
        .expect_err("a viewserver without the view service is refused")
        .to_string();
    assert!(err.contains("view_service is off"), "{err}");

    let mut s = scenario("scenarios/kv-primary-backup-backup-crash.ron", 7);
    s.protocol
        .edit(
            |p: &mut clustersim::protocols::kv::primary_backup::PrimaryBackupParams| {
                p.view_service = true;
            },
        )
        .expect("PrimaryBackup params");
    let err = run_scenario(&Registry::shipped(), &s, "bad", &RunOptions::default())
        .expect_err("the view service without its node is refused")
        .to_string();
    assert!(
        err.contains("exactly one node of role `viewserver`; the scenario has 0"),
        "{err}"
    );
}
