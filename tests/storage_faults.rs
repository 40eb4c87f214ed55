//! Disks as they really fail (issue 39): each storage fault kind observed in the trace, and for
//! each a small write-ahead register that ignores it losing an acknowledged write under the
//! `Durable` check while one that handles it passes. The register is written with the public
//! API only, as a user would write one.

use clustersim::check::{check_durable, Status};
use clustersim::fault::{Fault, NemesisKind, NemesisSpec};
use clustersim::history::Op;
use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::sim::{Bounds, RunOutcome, Sim, SimConfig};
use clustersim::storage::{DiskRates, Keep, ReadError, SyncError, WriteError};
use clustersim::trace::{TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};

const TICK: Duration = Duration::from_millis(10);
/// The register writes until here...
const WRITES_UNTIL: u64 = 100;
/// ...and reads from here on (after every fault of these tests has healed).
const READS_FROM: u64 = 300;
const N0: NodeId = NodeId(0);

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// What a register does about its disk (all false: it trusts the disk completely).
#[derive(Copy, Clone, Debug, Default, Hash)]
struct Care {
    /// `try_sync`, and no acknowledgement when it fails.
    sync: bool,
    /// `try_put`, and no acknowledgement when the disk is full.
    full: bool,
    /// Two checksummed copies (`put_checked`), read with `try_get`, the newer readable one wins.
    copies: bool,
    /// Sync before acknowledging (else the write is acknowledged and synced on the next tick).
    sync_first: bool,
}

/// A one-key register that writes ahead to its disk: every tick until `WRITES_UNTIL` it writes
/// a new value (and the one it replaces under `prev`), syncs, and acknowledges; from
/// `READS_FROM` it reads the value back from disk.
#[derive(Clone, Hash)]
struct Register {
    care: Care,
    /// Only keeps time (a node beside the register in the exhaustive search).
    ticker: bool,
}

impl Register {
    fn write(&mut self, ctx: &mut Context<'_, Self>, v: u64) {
        if !self.care.sync_first {
            // Group commit done wrong: the previous tick's write was acknowledged before this.
            ctx.storage().sync();
        }
        let id = ctx.invoke(Op::Put { key: 0, value: v });
        let prev = self.read(ctx);
        let mut stored = true;
        let copies: &[&str] = if self.care.copies {
            &["value", "mirror"]
        } else {
            &["value"]
        };
        for key in copies {
            let s = ctx.storage();
            let done = match (self.care.copies, self.care.full) {
                (true, true) => s.try_put_checked(*key, v),
                (true, false) => {
                    s.put_checked(*key, v);
                    Ok(())
                }
                (false, true) => s.try_put(*key, v),
                (false, false) => {
                    s.put(*key, v);
                    Ok(())
                }
            };
            stored &= done != Err(WriteError::DiskFull);
        }
        if let Some(p) = prev {
            ctx.storage().put("prev", p);
        }
        let synced = if !self.care.sync_first {
            true
        } else if self.care.sync {
            ctx.storage().try_sync() != Err(SyncError::Failed)
        } else {
            ctx.storage().sync();
            true
        };
        if stored && synced {
            ctx.ok(id, Op::Put { key: 0, value: v });
        } else {
            ctx.info(id, Op::Put { key: 0, value: v });
        }
    }

    fn read(&self, ctx: &mut Context<'_, Self>) -> Option<u64> {
        let s = ctx.storage();
        if !self.care.copies {
            return s.get("value").copied();
        }
        let copy = |r: Result<Option<&u64>, ReadError>| r.ok().flatten().copied();
        copy(s.try_get("value")).max(copy(s.try_get("mirror")))
    }
}

impl Node for Register {
    type Msg = ();
    type Timer = ();
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(TICK, ());
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        let now = ctx.now();
        if self.ticker {
            if now < ms(READS_FROM + 50) {
                ctx.set_timer(TICK, ());
            }
            return;
        }
        if now <= ms(WRITES_UNTIL) {
            // Values unique across restarts: the time of the write.
            self.write(ctx, 1_000 + now.0 / 1_000_000);
        } else if now >= ms(READS_FROM) {
            let id = ctx.invoke(Op::Get {
                key: 0,
                value: None,
            });
            let value = self.read(ctx);
            ctx.ok(id, Op::Get { key: 0, value });
        }
        if now < ms(READS_FROM + 50) {
            ctx.set_timer(TICK, ());
        }
    }
}

fn config(seed: u64, schedule: Vec<(SimTime, Fault)>) -> SimConfig {
    let roster = Roster::new([("n0".to_string(), "wal".to_string())]);
    let link = LinkSpec {
        latency: Latency::Constant(Duration::from_millis(1)),
        drop: 0.0,
        duplicate: 0.0,
        bandwidth: None,
    };
    SimConfig::new(roster, Network::new(1, link))
        .seed(seed)
        .bounds(Bounds::new(Duration::from_millis(500), 100_000))
        .schedule(schedule)
        .trace(TraceLevel::Full)
}

fn run_with(care: Care, config: SimConfig) -> RunOutcome {
    let factory: NodeFactory<Register> = Box::new(move |_, _, _| Register {
        care,
        ticker: false,
    });
    Sim::new(config, factory).run()
}

fn run(care: Care, seed: u64, schedule: Vec<(SimTime, Fault)>) -> RunOutcome {
    run_with(care, config(seed, schedule))
}

/// The trace's disk notes ("disk: sync failed: ...").
fn disk_notes(out: &RunOutcome) -> Vec<String> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Note { text, .. } if text.starts_with("disk: ") => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn durable(out: &RunOutcome) -> Status {
    let v = check_durable(out);
    assert_ne!(v.status, Status::Unknown, "{}", v.summary);
    v.status
}

/// A crash right after the last write, and the restart that follows.
fn crash_after_writes(kind: Fault) -> Vec<(SimTime, Fault)> {
    vec![
        (ms(WRITES_UNTIL + 5), kind),
        (ms(WRITES_UNTIL + 50), Fault::Restart(N0)),
    ]
}

fn careful() -> Care {
    Care {
        sync: true,
        full: true,
        copies: true,
        sync_first: true,
    }
}

fn trusting() -> Care {
    Care {
        sync_first: true,
        ..Care::default()
    }
}

#[test]
fn registers_pass_durable_when_the_disk_is_kind() {
    for care in [trusting(), careful(), Care::default()] {
        let out = run(care, 1, crash_after_writes(Fault::ProcessCrash(N0)));
        assert_eq!(durable(&out), Status::Pass, "{care:?}");
    }
    let out = run(trusting(), 1, crash_after_writes(Fault::Crash(N0)));
    assert_eq!(durable(&out), Status::Pass);
}

#[test]
fn process_crash_keeps_unsynced_writes_a_crash_loses() {
    // Acknowledging before the sync is safe against a process crash: the OS has the write.
    let lazy = Care::default();
    let out = run(lazy, 1, crash_after_writes(Fault::ProcessCrash(N0)));
    assert_eq!(durable(&out), Status::Pass);
    // Not against a crash that keeps nothing unsynced (clustersim's `Crash`).
    let out = run(lazy, 1, crash_after_writes(Fault::Crash(N0)));
    assert_eq!(durable(&out), Status::Fail);
}

#[test]
fn power_loss_keeps_a_seeded_part_of_the_unsynced_writes() {
    let lazy = Care::default();
    for keep in [Keep::Prefix, Keep::Subset, Keep::Reordered] {
        let mut verdicts = Vec::new();
        for seed in 0..16 {
            let loss = Fault::PowerLoss {
                node: N0,
                keep,
                torn: false,
            };
            let out = run(lazy, seed, crash_after_writes(loss.clone()));
            let notes = disk_notes(&out);
            assert!(
                notes
                    .iter()
                    .any(|n| n.contains(&format!("power loss ({keep:?})"))),
                "{notes:?}"
            );
            verdicts.push(durable(&out));
            // Syncing before the acknowledgement survives every power loss.
            let out = run(trusting(), seed, crash_after_writes(loss));
            assert_eq!(durable(&out), Status::Pass, "{keep:?} seed {seed}");
        }
        assert!(verdicts.contains(&Status::Fail), "{keep:?}: {verdicts:?}");
        assert!(verdicts.contains(&Status::Pass), "{keep:?}: {verdicts:?}");
    }
}

#[test]
fn a_torn_power_loss_splits_one_handlers_writes_an_untorn_one_never_does() {
    // The lazy register writes `value` and `prev` in one handler and leaves them unsynced.
    let split = |torn: bool, seed: u64| {
        let loss = Fault::PowerLoss {
            node: N0,
            keep: Keep::Subset,
            torn,
        };
        let out = run(Care::default(), seed, crash_after_writes(loss));
        let note = disk_notes(&out)
            .into_iter()
            .find(|n| n.contains("power loss"))
            .expect("power loss noted");
        assert_eq!(note.contains("torn"), torn, "{note}");
        // "k of n unsynced writes kept": an untorn loss keeps whole handler calls (two writes).
        let kept: usize = note
            .split(": ")
            .nth(2)
            .and_then(|t| t.split(' ').next())
            .and_then(|k| k.parse().ok())
            .expect("count");
        kept % 2 == 1
    };
    assert!((0..32).all(|seed| !split(false, seed)));
    assert!((0..32).any(|seed| split(true, seed)));
}

#[test]
fn a_failed_sync_drops_its_writes_and_a_later_sync_does_not_bring_them_back() {
    // The sync of the last write fails; a crash then shows the disk never had it.
    let schedule = |crash: Fault| {
        let mut s = vec![(ms(WRITES_UNTIL - 5), Fault::SyncFail(N0))];
        s.extend(crash_after_writes(crash));
        s
    };
    let out = run(trusting(), 1, schedule(Fault::Crash(N0)));
    assert!(
        disk_notes(&out).iter().any(|n| n.contains("sync failed")),
        "{:?}",
        disk_notes(&out)
    );
    assert_eq!(durable(&out), Status::Fail, "sync() ignored the failure");
    let out = run(careful(), 1, schedule(Fault::Crash(N0)));
    assert_eq!(durable(&out), Status::Pass, "try_sync saw it: no ack");
    // A process crash keeps the page cache: nothing is lost yet.
    let out = run(trusting(), 1, schedule(Fault::ProcessCrash(N0)));
    assert_eq!(durable(&out), Status::Pass);
}

#[test]
fn fsyncgate_a_retried_sync_succeeds_and_the_data_is_still_gone() {
    // Through the engine: fail the sync, retry it, crash.
    struct Retry;
    impl Node for Retry {
        type Msg = ();
        type Timer = u8;
        type Stored = u64;
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            if ctx.storage().get("k").is_none() {
                ctx.set_timer(TICK, 0);
            }
        }
        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
        fn on_timer(&mut self, ctx: &mut Context<'_, Self>, step: u8) {
            let s = ctx.storage();
            s.put("k", 1);
            assert_eq!(s.try_sync(), Err(SyncError::Failed));
            assert!(!s.has_unsynced(), "the failed sync dropped the writes");
            assert_eq!(s.try_sync(), Ok(()), "the retry reports success");
            assert_eq!(s.get("k"), Some(&1), "reads still see the write");
            assert_eq!(step, 0);
        }
    }
    let schedule = vec![
        (ms(5), Fault::SyncFail(N0)),
        (ms(20), Fault::Crash(N0)),
        (ms(30), Fault::Restart(N0)),
    ];
    let factory: NodeFactory<Retry> = Box::new(|_, _, _| Retry);
    let mut sim = Sim::new(config(1, schedule), factory);
    sim.run_until(ms(35));
    assert_eq!(sim.storage(N0).and_then(|s| s.get("k")), None);
}

#[test]
fn a_lost_write_reverts_at_the_next_crash_a_second_copy_survives_it() {
    for misdirected in [false, true] {
        let mut verdicts = Vec::new();
        for seed in 0..12 {
            let mut s = vec![(
                ms(WRITES_UNTIL - 5),
                Fault::LostWrite {
                    node: N0,
                    misdirected,
                },
            )];
            s.extend(crash_after_writes(Fault::Crash(N0)));
            let out = run(trusting(), seed, s.clone());
            let word = if misdirected { "misdirected" } else { "lost" };
            assert!(
                disk_notes(&out).iter().any(|n| n.contains(word)),
                "{:?}",
                disk_notes(&out)
            );
            verdicts.push(durable(&out));
            let out = run(careful(), seed, s);
            assert_eq!(durable(&out), Status::Pass, "seed {seed}");
        }
        assert!(verdicts.contains(&Status::Fail), "{verdicts:?}");
    }
}

#[test]
fn a_corrupt_record_reads_wrong_unless_it_has_a_checksum() {
    let schedule = vec![(
        ms(WRITES_UNTIL + 20),
        Fault::Corrupt {
            node: N0,
            key: Some("value".to_string()),
        },
    )];
    let out = run(trusting(), 1, schedule.clone());
    assert!(disk_notes(&out)
        .iter()
        .any(|n| n == "disk: value is corrupt"));
    assert_eq!(
        durable(&out),
        Status::Fail,
        "read another record's (older) value"
    );
    let out = run(careful(), 1, schedule);
    assert_eq!(durable(&out), Status::Pass, "checksum caught, mirror read");
}

#[test]
fn an_unreadable_record_reads_as_absent_or_as_an_error() {
    let schedule = vec![(
        ms(WRITES_UNTIL + 20),
        Fault::Unreadable {
            node: N0,
            key: Some("value".to_string()),
        },
    )];
    let out = run(trusting(), 1, schedule.clone());
    assert!(disk_notes(&out)
        .iter()
        .any(|n| n == "disk: value is unreadable"));
    assert_eq!(durable(&out), Status::Fail);
    let out = run(careful(), 1, schedule);
    assert_eq!(durable(&out), Status::Pass);
}

#[test]
fn a_full_disk_refuses_writes() {
    let schedule = vec![
        (ms(WRITES_UNTIL - 25), Fault::DiskFull(N0)),
        (ms(WRITES_UNTIL + 20), Fault::DiskFree(N0)),
    ];
    let out = run(trusting(), 1, schedule.clone());
    assert!(disk_notes(&out)
        .iter()
        .any(|n| n.contains("refused: disk full")));
    assert_eq!(durable(&out), Status::Fail, "put() dropped, acked anyway");
    let careful_full = Care {
        full: true,
        ..trusting()
    };
    let out = run(careful_full, 1, schedule);
    assert_eq!(durable(&out), Status::Pass, "try_put saw it: no ack");
}

#[test]
fn drawn_sync_failures_follow_each_nodes_rate_and_stream() {
    let rates = |p: f64| {
        vec![DiskRates {
            sync_fail: p,
            ..DiskRates::default()
        }]
    };
    let faulty = |seed| {
        let c = config(seed, crash_after_writes(Fault::Crash(N0))).disk(rates(0.5));
        run_with(trusting(), c)
    };
    let a = faulty(3);
    let failed = disk_notes(&a)
        .iter()
        .filter(|n| n.contains("sync failed"))
        .count();
    assert!((1..10).contains(&failed), "{failed} of 10 syncs failed");
    assert_eq!(a.trace_hash(), faulty(3).trace_hash(), "seeded");
    assert_ne!(a.trace_hash(), faulty(4).trace_hash());
    // Rates of zero turn the model on and draw nothing: the run is the one without it.
    let plain = run(trusting(), 3, crash_after_writes(Fault::Crash(N0)));
    let zero = run_with(
        trusting(),
        config(3, crash_after_writes(Fault::Crash(N0))).disk(rates(0.0)),
    );
    assert_eq!(plain.trace_hash(), zero.trace_hash());
}

#[test]
fn drawn_corruption_shows_after_a_crash_and_checksums_catch_it() {
    let rates = vec![DiskRates {
        corrupt: 1.0,
        ..DiskRates::default()
    }];
    let c = || config(1, crash_after_writes(Fault::Crash(N0))).disk(rates.clone());
    let out = run_with(trusting(), c());
    assert!(disk_notes(&out)
        .iter()
        .any(|n| n.contains("corrupt on disk")));
    assert_eq!(durable(&out), Status::Fail);
    // Every copy is corrupt: the careful register reads nothing it trusts, and says nothing wrong
    // about what it reads (it reads nothing: a lost write, but never a wrong value).
    let out = run_with(careful(), c());
    let reads: Vec<Option<u64>> = out
        .history
        .calls()
        .iter()
        .filter_map(|c| match c.completed {
            Op::Get { value, .. } => Some(value),
            _ => None,
        })
        .collect();
    assert!(
        !reads.is_empty() && reads.iter().all(Option::is_none),
        "{reads:?}"
    );
}

#[test]
fn the_nemesis_draws_power_losses_and_full_disks() {
    let roster = Roster::new([("n0".to_string(), "wal".to_string())]);
    let spec = NemesisSpec {
        kinds: vec![
            NemesisKind::PowerLoss,
            NemesisKind::ProcessCrash,
            NemesisKind::DiskFull,
        ],
        targets: Vec::new(),
        interval: Duration::from_millis(20),
        min_duration: Duration::from_millis(5),
        max_duration: Duration::from_millis(10),
        start: Duration::ZERO,
        stop: Some(Duration::from_millis(200)),
        max_active: 1,
        max_skew: Duration::from_millis(100),
        pick: Default::default(),
        after: None,
        min_members: 0,
    };
    let nemesis = spec.resolve(&roster).expect("resolves");
    let out = run_with(trusting(), config(5, Vec::new()).nemesis(Some(nemesis)));
    let kinds: Vec<&str> = out
        .faults
        .iter()
        .map(|(_, f)| match f {
            Fault::PowerLoss { .. } => "power",
            Fault::ProcessCrash(_) => "process",
            Fault::DiskFull(_) => "full",
            _ => "other",
        })
        .collect();
    for k in ["power", "process", "full"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
}

const SCENARIO: &str = r#"(
    name: "disk",
    seed: 2,
    bounds: (max_time: "1s", max_events: 10000),
    nodes: [(role: "n", count: 3)],
    protocol: Ping(),
    faults: [
        (at: "100ms", fault: PowerLoss(node: "n1", keep: Prefix, torn: true)),
        (at: "150ms", fault: Restart("n1")),
        (at: "200ms", fault: SyncFail("n2")),
        (at: "210ms", fault: Corrupt(node: "n2", key: "k")),
        (at: "220ms", fault: Unreadable(node: "n3")),
        (at: "230ms", fault: LostWrite(node: "n3", misdirected: true)),
        (at: "240ms", fault: DiskFull("n3")),
        (at: "250ms", fault: DiskFree("n3")),
        (at: "260ms", fault: ProcessCrash("n2")),
        (at: "270ms", fault: Restart("n2")),
    ],
    disk: [(nodes: ["n1"], sync_fail: 0.01, corrupt: 0.001)],
    disk_atlas: true,
    checks: [Liveness],
)"#;

#[test]
fn scenarios_name_disk_faults_and_rates_and_the_header_prints_them() {
    let s = clustersim::scenario::parse(SCENARIO, "disk.ron").expect("parses");
    let plan = s.plan("disk.ron").expect("plans");
    assert_eq!(plan.schedule.len(), 10);
    assert_eq!(plan.disk_rates()[0].sync_fail, 0.01);
    assert_eq!(plan.disk_rates()[1], DiskRates::default());
    let header = clustersim::report::header("clustersim", &s);
    assert!(
        header.contains(
            "disk faults on (8 scheduled); rates per sync: n1: sync_fail 0.01, corrupt 0.001"
        ),
        "{header}"
    );
    assert!(header.contains("fault atlas: a drawn fault damages each record on at most a minority"));
    let registry = clustersim::registry::Registry::shipped();
    let r = clustersim::run::run_scenario(
        &registry,
        &s,
        "disk.ron",
        &clustersim::run::RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(r.outcome.faults.len(), 10);
    // The scenario written back out reads the same.
    let text = clustersim::scenario::to_ron(&s, &[]);
    assert_eq!(
        clustersim::scenario::parse(&text, "again").expect("reparses"),
        s
    );
}

#[test]
fn bad_disk_input_is_a_clear_error() {
    let plan_err = |from: &str, to: &str| {
        let text = SCENARIO.replace(from, to);
        let s = clustersim::scenario::parse(&text, "bad.ron").expect("parses");
        s.plan("bad.ron").expect_err("refused").to_string()
    };
    let e = plan_err("sync_fail: 0.01", "sync_fail: 1.5");
    assert!(
        e.contains("disk[0]: sync_fail must be a probability between 0 and 1, got 1.5"),
        "{e}"
    );
    let e = plan_err("corrupt: 0.001", "corrupt: -0.1");
    assert!(e.contains("corrupt must be a probability"), "{e}");
    let e = plan_err(r#"(nodes: ["n1"]"#, r#"(nodes: ["n9"]"#);
    assert!(e.contains("disk[0]: unknown node or role `n9`"), "{e}");
    let e = plan_err(r#"SyncFail("n2")"#, r#"SyncFail("n7")"#);
    assert!(
        e.contains("faults[2]") && e.contains("unknown node or role `n7`"),
        "{e}"
    );
    let e = plan_err(r#"PowerLoss(node: "n1""#, r#"PowerLoss(node: "n""#);
    assert!(e.contains("this fault takes one node"), "{e}");
    let text = SCENARIO.replace("keep: Prefix", "keep: Most");
    let e = clustersim::scenario::parse(&text, "bad.ron")
        .expect_err("refused")
        .to_string();
    assert!(e.contains("bad.ron") && e.contains("Most"), "{e}");
}

#[test]
fn the_binary_refuses_a_bad_disk_rate_with_exit_code_2() {
    let dir = std::env::temp_dir().join(format!("clustersim-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let file = dir.join("bad-disk.ron");
    std::fs::write(&file, SCENARIO.replace("sync_fail: 0.01", "sync_fail: 2.0")).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", file.to_str().expect("utf-8 path")])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("disk[0]: sync_fail must be a probability between 0 and 1, got 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes records `r0`..`r9` at boot and syncs them (every node holds the same ten).
struct Holder;

impl Node for Holder {
    type Msg = ();
    type Timer = ();
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.storage().is_empty() {
            for r in 0..10 {
                ctx.storage().put(format!("r{r}"), r);
            }
            ctx.storage().sync();
        }
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}

    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
}

/// How many of `nodes` replicas hold each of the ten records corrupt after every disk rots and
/// every node crashes and restarts.
fn corrupt_copies(nodes: u32, atlas: bool) -> Vec<usize> {
    let roster = Roster::new((0..nodes).map(|i| (format!("r{i}"), "replica".to_string())));
    let link = LinkSpec::default();
    let mut schedule = Vec::new();
    for i in 0..nodes {
        schedule.push((ms(10), Fault::Crash(NodeId(i))));
        schedule.push((ms(20), Fault::Restart(NodeId(i))));
    }
    let rates = DiskRates {
        corrupt: 1.0,
        ..DiskRates::default()
    };
    let config = SimConfig::new(roster, Network::new(nodes as usize, link))
        .seed(9)
        .bounds(Bounds::new(Duration::from_millis(50), 10_000))
        .schedule(schedule)
        .disk(vec![rates; nodes as usize])
        .disk_atlas(atlas);
    let factory: NodeFactory<Holder> = Box::new(|_, _, _| Holder);
    let mut sim = Sim::new(config, factory);
    sim.run_until(ms(40));
    (0..10)
        .map(|r| {
            (0..nodes)
                .filter(|i| {
                    sim.storage(NodeId(*i))
                        .is_some_and(|s| s.is_corrupt(&format!("r{r}")))
                })
                .count()
        })
        .collect()
}

#[test]
fn the_fault_atlas_keeps_each_record_intact_on_a_majority() {
    assert_eq!(
        corrupt_copies(3, false),
        vec![3; 10],
        "without it: everywhere"
    );
    for n in [3, 5] {
        let copies = corrupt_copies(n, true);
        let minority = ((n - 1) / 2) as usize;
        assert_eq!(copies, vec![minority; 10], "{n} replicas");
    }
    // One node of a role has no minority to spare: the atlas damages none of its plain records
    // (of a record kept as copies `~0`, `~1` it damages one: src/storage/atlas.rs).
    assert_eq!(corrupt_copies(1, true), vec![0; 10]);
}

/// Every path end of an exhaustive search of the register with one crash (restarted at any
/// later step) and `disk_faults` failed syncs: how many ends Durable judged, and how many failed.
fn searched(care: Care, disk_faults: u32) -> (usize, usize) {
    use clustersim::explore::exhaustive::{search_judging, ExhaustiveConfig};
    // A second node that only ticks keeps events due while the register is down, so a
    // restart is always a choice.
    let factory: NodeFactory<Register> = Box::new(move |id, _, _| Register {
        care,
        ticker: id != N0,
    });
    let roster = Roster::new([
        ("n0".to_string(), "wal".to_string()),
        ("clock".to_string(), "clock".to_string()),
    ]);
    let link = LinkSpec::default();
    let config = SimConfig::new(roster, Network::new(2, link))
        .seed(1)
        .bounds(Bounds::new(Duration::from_millis(500), 100_000))
        .trace(TraceLevel::HashOnly);
    let root = Sim::new(config, factory);
    let search = ExhaustiveConfig::default()
        .targets(vec![N0])
        .crashes(1)
        .restarts(true)
        .disk_faults(disk_faults)
        .threads(1);
    let (mut judged, mut failed) = (0, 0);
    let outcome = search_judging(root, &[], &search, &mut |end| {
        let v = check_durable(end);
        if v.status != Status::Unknown {
            judged += 1;
        }
        if v.status == Status::Fail {
            failed += 1;
        }
    });
    assert!(outcome.complete, "the search must be exhausted");
    (judged, failed)
}

#[test]
fn the_exhaustive_search_branches_on_failed_syncs() {
    let (judged, failed) = searched(trusting(), 0);
    assert!(
        judged > 10 && failed == 0,
        "{judged} judged, {failed} failed"
    );
    let (judged, failed) = searched(trusting(), 1);
    assert!(failed > 0, "{judged} judged, none failed");
    let (judged, failed) = searched(careful(), 1);
    assert!(
        judged > 10 && failed == 0,
        "{judged} judged, {failed} failed"
    );
}

#[test]
fn clustersim_check_takes_disk_faults_and_says_so() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "scenarios/check/queue-reliable-2-workers.ron",
            "--disk-faults",
            "1",
            "--max-states",
            "2000",
            "--out",
        ])
        .arg(std::env::temp_dir().join(format!("clustersim-disk-check-{}", std::process::id())))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("up to 1 disk faults (failed syncs, crashes at a sync)"),
        "{stdout}"
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stdout}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "scenarios/check/queue-reliable-2-workers.ron",
            "--disk-faults",
            "9",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
