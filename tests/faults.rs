//! Each fault kind, observed in the trace: partitions, one-way cuts, isolation, crashes (with
//! lost in-flight messages, timers and unsynced writes), pauses, clock skew and drift, and the
//! random nemesis.

use clustersim::fault::{whole_since, Fault, NemesisKind, NemesisSpec};
use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::sim::{Bounds, NodeStatus, RunOutcome, Sim, SimConfig};
use clustersim::time::Offset;
use clustersim::trace::{DropReason, TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};

const TICK: Duration = Duration::from_millis(10);

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// Every `TICK` of its own clock, sends a counter to every other node; writes durable keys at boot.
#[derive(Debug)]
struct Chatter {
    received: Vec<(NodeId, u64)>,
    clock_reads: Vec<SimTime>,
    restored: Vec<(String, u64)>,
    count: u64,
}

impl Node for Chatter {
    type Msg = u64;
    type Timer = ();
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.storage().get("synced").is_none() {
            ctx.storage().put("synced", 1);
            ctx.storage().sync();
            ctx.storage().put("unsynced", 2);
        }
        ctx.set_timer(TICK, ());
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
        self.received.push((from, msg));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        self.clock_reads.push(ctx.now());
        let me = ctx.id();
        let peers: Vec<NodeId> = ctx.roster().ids().filter(|p| *p != me).collect();
        for p in peers {
            ctx.send(p, self.count);
        }
        self.count += 1;
        ctx.set_timer(TICK, ());
    }
}

fn factory() -> NodeFactory<Chatter> {
    Box::new(|_id, _roster, storage| Chatter {
        received: Vec::new(),
        clock_reads: Vec::new(),
        restored: ["synced", "unsynced"]
            .iter()
            .filter_map(|k| storage.get(k).map(|v| (k.to_string(), *v)))
            .collect(),
        count: 0,
    })
}

fn config(nodes: u32, latency: Duration, schedule: Vec<(SimTime, Fault)>) -> SimConfig {
    let roster = Roster::new((0..nodes).map(|i| (format!("n{i}"), "n".to_string())));
    let link = LinkSpec {
        latency: Latency::Constant(latency),
        drop: 0.0,
        duplicate: 0.0,
        bandwidth: None,
    };
    SimConfig::new(roster, Network::new(nodes as usize, link))
        .seed(7)
        .bounds(
            Bounds::new(Duration::from_millis(600), 1_000_000)
                .max_memory(clustersim::memory::DEFAULT_BUDGET),
        )
        .schedule(schedule)
        .nemesis(None)
        .trace(TraceLevel::Full)
        .scheduler(Default::default())
        .history_file(None)
}

fn run(nodes: u32, schedule: Vec<(SimTime, Fault)>) -> RunOutcome {
    Sim::new(config(nodes, Duration::from_millis(1), schedule), factory()).run()
}

/// (time, from, to) of every delivery.
fn deliveries(out: &RunOutcome) -> Vec<(SimTime, NodeId, NodeId)> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Deliver { from, to, .. } => Some((e.time, from, to)),
            _ => None,
        })
        .collect()
}

/// (time, from, to, reason) of every drop.
fn drops(out: &RunOutcome) -> Vec<(SimTime, NodeId, NodeId, DropReason)> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Drop {
                from, to, reason, ..
            } => Some((e.time, from, to, reason)),
            _ => None,
        })
        .collect()
}

fn timers_of(out: &RunOutcome, node: NodeId) -> Vec<SimTime> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Timer { node: n, .. } if n == node => Some(e.time),
            _ => None,
        })
        .collect()
}

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);
const N2: NodeId = NodeId(2);

fn between(a: NodeId, b: NodeId) -> impl Fn(&NodeId, &NodeId) -> bool {
    move |f, t| (*f == a && *t == b) || (*f == b && *t == a)
}

#[test]
fn partitioned_pair_exchanges_nothing_until_heal() {
    let out = run(
        3,
        vec![
            (ms(100), Fault::Partition(vec![vec![N0], vec![N1, N2]])),
            (ms(300), Fault::Heal),
        ],
    );
    let d = deliveries(&out);
    let across = between(N0, N1);
    let during = |t: SimTime| t >= ms(100) && t < ms(300);
    assert!(d.iter().any(|(t, f, to)| t < &ms(100) && across(f, to)));
    assert!(
        !d.iter().any(|(t, f, to)| during(*t) && across(f, to)),
        "a delivery crossed the partition"
    );
    assert!(d.iter().any(|(t, f, to)| *t >= ms(300) && across(f, to)));
    // The majority side keeps talking.
    assert!(d
        .iter()
        .any(|(t, f, to)| during(*t) && between(N1, N2)(f, to)));
    let dropped = drops(&out);
    let part = dropped
        .iter()
        .filter(|(t, f, to, r)| during(*t) && across(f, to) && *r == DropReason::Partition)
        .count();
    // Both directions, one message each per 10ms tick for 200ms.
    assert!(part >= 38, "only {part} partition drops");
    assert!(dropped
        .iter()
        .all(|(_, _, _, r)| *r == DropReason::Partition));
    assert_eq!(out.stats.dropped_total(), dropped.len() as u64);
}

#[test]
fn one_way_cut_passes_messages_one_way_only() {
    let out = run(
        3,
        vec![(
            ms(50),
            Fault::Cut {
                from: vec![N0],
                to: vec![N1],
            },
        )],
    );
    let d = deliveries(&out);
    let after = |t: &SimTime| *t >= ms(50);
    assert!(!d.iter().any(|(t, f, to)| after(t) && *f == N0 && *to == N1));
    assert!(
        d.iter()
            .filter(|(t, f, to)| after(t) && *f == N1 && *to == N0)
            .count()
            >= 50
    );
    assert!(d.iter().any(|(t, f, to)| after(t) && *f == N0 && *to == N2));
    let dropped = drops(&out);
    assert!(dropped.len() >= 50);
    assert!(dropped
        .iter()
        .all(|(t, f, to, r)| after(t) && *f == N0 && *to == N1 && *r == DropReason::Cut));
}

#[test]
fn isolated_node_neither_sends_nor_receives_until_heal() {
    let out = run(
        3,
        vec![(ms(100), Fault::Isolate(N2)), (ms(300), Fault::Heal)],
    );
    let during = |t: &SimTime| *t >= ms(100) && *t < ms(300);
    let d = deliveries(&out);
    assert!(!d
        .iter()
        .any(|(t, f, to)| during(t) && (*f == N2 || *to == N2)));
    assert!(d
        .iter()
        .any(|(t, f, to)| during(t) && between(N0, N1)(f, to)));
    assert!(d.iter().any(|(t, f, _)| *t >= ms(300) && *f == N2));
    assert!(d.iter().any(|(t, _, to)| *t >= ms(300) && *to == N2));
    let isolated = drops(&out)
        .iter()
        .filter(|(t, f, to, r)| during(t) && (*f == N2 || *to == N2) && *r == DropReason::Partition)
        .count();
    assert!(
        isolated >= 76,
        "only {isolated} drops around the isolated node"
    );
}

#[test]
fn crash_drops_in_flight_messages_and_timers_until_restart() {
    // 5ms latency: messages sent at 10ms, 20ms, ... are in flight until 15ms, 25ms, ...
    let schedule = vec![(ms(102), Fault::Crash(N1)), (ms(200), Fault::Restart(N1))];
    let out = Sim::new(config(3, Duration::from_millis(5), schedule), factory()).run();
    let dropped = drops(&out);
    // Sent at 100ms, arriving at 105ms: in flight when n1 crashed.
    let in_flight: Vec<_> = dropped
        .iter()
        .filter(|(_, _, to, r)| *to == N1 && *r == DropReason::Crashed)
        .collect();
    assert_eq!(in_flight.len(), 2, "{in_flight:?}");
    assert!(in_flight.iter().all(|(t, _, _, _)| *t == ms(105)));
    // Sent while n1 was down.
    assert!(dropped
        .iter()
        .filter(|(_, _, to, r)| *to == N1 && *r == DropReason::NodeDown)
        .all(|(t, _, _, _)| *t > ms(102) && *t < ms(210)));
    assert!(dropped
        .iter()
        .any(|(_, _, _, r)| *r == DropReason::NodeDown));
    // n1's timer due at 110ms never fires; it boots again at 200ms and ticks from 210ms.
    let timers = timers_of(&out, N1);
    assert!(timers.contains(&ms(100)));
    assert!(!timers.iter().any(|t| *t > ms(100) && *t < ms(210)));
    assert!(timers.contains(&ms(210)));
    let starts: Vec<SimTime> = out
        .trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Start { node } if node == N1))
        .map(|e| e.time)
        .collect();
    assert_eq!(starts, vec![ms(0), ms(200)]);
    assert_eq!(out.status, vec![NodeStatus::Up; 3]);
}

#[test]
fn crashed_node_loses_unsynced_writes_and_keeps_synced_ones() {
    let mut sim = Sim::new(config(3, Duration::from_millis(1), Vec::new()), factory());
    sim.run_until(ms(55));
    let storage = sim.storage(N1).unwrap();
    assert_eq!(storage.get("synced"), Some(&1));
    assert_eq!(storage.get("unsynced"), Some(&2));
    assert!(!sim.node(N1).unwrap().received.is_empty());
    sim.inject(ms(55), Fault::Crash(N1));
    sim.run_until(ms(60));
    assert!(sim.node(N1).is_none());
    assert_eq!(sim.status(N1), Some(NodeStatus::Down));
    assert_eq!(sim.storage(N1).unwrap().get("unsynced"), None);
    sim.inject(ms(60), Fault::Restart(N1));
    sim.run_until(ms(60));
    let node = sim.node(N1).expect("restarted");
    // Rebuilt from durable storage alone: the synced key, not the unsynced one, no volatile state.
    assert_eq!(node.restored, vec![("synced".to_string(), 1)]);
    assert!(node.received.is_empty());
    assert_eq!(node.count, 0);
    // The other nodes kept their unsynced writes.
    assert_eq!(sim.storage(N0).unwrap().get("unsynced"), Some(&2));
}

#[test]
fn a_node_paused_before_it_booted_boots_on_resume_and_answers() {
    let text = r#"(
        name: "pause-at-zero",
        bounds: (max_time: "1s"),
        nodes: [(role: "n", count: 3)],
        protocol: Ping(interval: "20ms", timeout: "15ms"),
        network: (default: (latency: Uniform(min: "1ms", max: "2ms"))),
        faults: [(at: "0s", fault: Pause("n1")), (at: "100ms", fault: Resume("n1"))],
    )"#;
    let s = clustersim::scenario::parse(text, "pause-at-zero").expect("parses");
    let registry = clustersim::Registry::shipped();
    let opts = clustersim::run::RunOptions::default().trace(TraceLevel::Full);
    let r = clustersim::run::run_scenario(&registry, &s, "pause-at-zero", &opts).expect("runs");
    let n1 = NodeId(0);
    let started: Vec<SimTime> = r
        .outcome
        .trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Start { node } if node == n1))
        .map(|e| e.time)
        .collect();
    assert_eq!(started, vec![ms(100)], "n1 boots once, when it resumes");
    let calls = r.outcome.history.calls();
    let answered_by_n1 = calls
        .iter()
        .filter(|c| {
            c.outcome == clustersim::history::Phase::Ok
                && matches!(c.invoked, clustersim::history::Op::Ping { peer, .. } if peer == n1)
        })
        .count();
    let asked_by_n1 = calls.iter().filter(|c| c.node == n1).count();
    assert!(answered_by_n1 > 10, "n1 answered {answered_by_n1} pings");
    assert!(asked_by_n1 > 10, "n1 pinged {asked_by_n1} times");
    assert!(calls
        .iter()
        .filter(|c| c.node == n1)
        .all(|c| c.invoke_time >= ms(100)));
}

#[test]
fn paused_node_receives_queued_messages_after_resume() {
    let out = run(
        3,
        vec![(ms(100), Fault::Pause(N1)), (ms(200), Fault::Resume(N1))],
    );
    let d = deliveries(&out);
    let to_n1 = |lo: SimTime, hi: SimTime| {
        d.iter()
            .filter(|(t, _, to)| *to == N1 && *t >= lo && *t < hi)
            .count()
    };
    assert_eq!(to_n1(ms(100), ms(200)), 0);
    // Sent at 100ms..190ms by n0 and n2, arriving 101ms..191ms, all handed over at resume.
    assert_eq!(to_n1(ms(200), ms(200) + Duration(1)), 20);
    assert!(to_n1(ms(201), ms(600)) > 0);
    // Nothing to n1 was lost, and n1 fired no timer while paused.
    assert!(drops(&out).is_empty());
    let timers = timers_of(&out, N1);
    assert!(!timers.iter().any(|t| *t > ms(100) && *t < ms(200)));
    assert!(timers.contains(&ms(200)));
    // n1 sent nothing while paused.
    assert!(!d
        .iter()
        .any(|(t, f, _)| *f == N1 && *t > ms(101) && *t < ms(200)));
}

#[test]
fn skewed_and_drifting_clocks_read_differently_from_virtual_time() {
    let skew = Offset(500_000_000);
    let out_sim = |schedule| {
        let mut sim = Sim::new(config(2, Duration::from_millis(1), schedule), factory());
        sim.run_until(ms(400));
        let reads = sim.node(N1).unwrap().clock_reads.clone();
        let others = sim.node(N0).unwrap().clock_reads.clone();
        (reads, others, sim.finish())
    };
    let (reads, n0_reads, out) = out_sim(vec![
        (
            ms(100),
            Fault::ClockSkew {
                node: N1,
                offset: skew,
            },
        ),
        (
            ms(200),
            Fault::ClockDrift {
                node: N1,
                ppm: 100_000,
            },
        ),
    ]);
    let truth = timers_of(&out, N1);
    assert_eq!(reads.len(), truth.len());
    for (local, real) in reads.iter().zip(&truth) {
        if *real < ms(100) {
            assert_eq!(local, real);
        } else if *real <= ms(200) {
            assert_eq!(local.0, real.0 + 500_000_000, "skew at {real}");
        } else {
            // 10% fast since 200ms, on top of the skew.
            let expected = 200_000_000 + 500_000_000 + (real.0 - 200_000_000) * 11 / 10;
            assert!(local.0.abs_diff(expected) <= 1, "drift at {real}: {local}");
        }
    }
    // A fast clock fires its 10ms timers after about 9.09ms of true time.
    let late: Vec<u64> = truth
        .windows(2)
        .filter(|w| w[0] > ms(210))
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert!(!late.is_empty());
    assert!(late.iter().all(|d| d.abs_diff(9_090_909) <= 1), "{late:?}");
    // The other node's clock is untouched and its 10ms timers keep their true period.
    assert_eq!(n0_reads, timers_of(&out, N0));
    assert_eq!(n0_reads.len(), 40);
    // Without the faults n1 reads true time too.
    let (plain_reads, _, plain) = out_sim(Vec::new());
    assert_eq!(plain_reads, timers_of(&plain, N1));
}

/// A nemesis of `kinds` on every node, every ~40ms for 10-60ms from 0s on, one fault at a time.
fn nemesis(kinds: Vec<NemesisKind>) -> NemesisSpec {
    NemesisSpec {
        kinds,
        targets: Vec::new(),
        interval: Duration::from_millis(40),
        min_duration: Duration::from_millis(10),
        max_duration: Duration::from_millis(60),
        start: Duration::ZERO,
        stop: None,
        max_active: 1,
        max_skew: Duration::from_millis(50),
        pick: Default::default(),
        after: None,
        min_members: 0,
    }
}

/// Gives `cfg` the nemesis `spec`, resolved against its roster.
fn set_nemesis(cfg: &mut SimConfig, spec: NemesisSpec) {
    cfg.nemesis = Some(spec.resolve(&cfg.roster).expect("nemesis resolves"));
}

#[test]
fn nemesis_faults_are_recorded_and_healed_when_it_stops() {
    let mut cfg = config(5, Duration::from_millis(1), Vec::new());
    cfg.bounds.max_time = Duration::from_secs(3);
    let roster = cfg.roster.clone();
    let kinds = NemesisKind::ALL.to_vec();
    let spec = NemesisSpec {
        start: Duration::from_millis(100),
        stop: Some(Duration::from_secs(2)),
        max_active: 2,
        ..nemesis(kinds)
    };
    set_nemesis(&mut cfg, spec);
    let out = Sim::new(cfg, factory()).run();
    assert!(out.faults.len() >= 20, "only {} faults", out.faults.len());
    // Every applied fault is in the trace at the same time, in the same order.
    let traced: Vec<(SimTime, Fault)> = out
        .trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Fault { fault } => Some((e.time, fault.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(traced, out.faults);
    assert_eq!(out.stats.faults, out.faults.len() as u64);
    let kind_seen = |p: fn(&Fault) -> bool| out.faults.iter().any(|(_, f)| p(f));
    assert!(kind_seen(|f| matches!(f, Fault::Crash(_))));
    assert!(kind_seen(|f| matches!(f, Fault::Pause(_))));
    assert!(kind_seen(|f| matches!(f, Fault::Partition(_))));
    assert!(kind_seen(|f| matches!(f, Fault::Isolate(_))));
    assert!(kind_seen(|f| matches!(f, Fault::Cut { .. })));
    assert!(kind_seen(|f| matches!(f, Fault::ClockSkew { .. })));
    assert!(out
        .faults
        .iter()
        .all(|(t, _)| *t >= ms(100) && *t <= ms(2_000) + Duration::from_millis(60)));
    // Healed by the stop: the cluster is whole, every node is up and every pair talks again.
    let healed = whole_since(&out.faults).expect("healed at nemesis stop");
    assert!(healed <= ms(2_000), "healed only at {healed}");
    assert_eq!(out.status, vec![NodeStatus::Up; 5]);
    let late = deliveries(&out);
    for a in roster.ids() {
        for b in roster.ids().filter(|b| *b != a) {
            assert!(
                late.iter()
                    .any(|(t, f, to)| *t > ms(2_100) && *f == a && *to == b),
                "{a} -> {b} silent after the nemesis stopped"
            );
        }
    }
    assert!(drops(&out).iter().all(|(t, ..)| *t <= ms(2_061)));
}

#[test]
fn nemesis_undo_faults_do_not_outlive_its_stop() {
    // The nemesis isolates nodes for 400-800ms until it stops at 1s; at 1.001s the schedule
    // partitions n0 away for good. No leftover nemesis `Heal` may end that partition.
    let schedule = vec![(
        ms(1_001),
        Fault::Partition(vec![vec![N0], vec![N1, N2, NodeId(3)]]),
    )];
    let mut cfg = config(4, Duration::from_millis(1), schedule);
    cfg.bounds.max_time = Duration::from_secs(3);
    let spec = NemesisSpec {
        targets: vec!["n1".into(), "n2".into(), "n3".into()],
        interval: Duration::from_millis(50),
        min_duration: Duration::from_millis(400),
        max_duration: Duration::from_millis(800),
        stop: Some(Duration::from_secs(1)),
        ..nemesis(vec![NemesisKind::Isolate])
    };
    set_nemesis(&mut cfg, spec);
    let out = Sim::new(cfg, factory()).run();
    let after_stop: Vec<&(SimTime, Fault)> =
        out.faults.iter().filter(|(t, _)| *t > ms(1_000)).collect();
    assert_eq!(after_stop.len(), 1, "{after_stop:?}");
    assert!(matches!(after_stop[0].1, Fault::Partition(_)));
    assert!(out
        .faults
        .iter()
        .any(|(t, f)| *t == ms(1_000) && *f == Fault::Heal));
    let d = deliveries(&out);
    assert!(!d
        .iter()
        .any(|(t, f, to)| *t > ms(1_001) && (*f == N0) != (*to == N0)));
}

#[test]
fn a_newer_nemesis_isolation_replaces_the_one_in_force_and_withdraws_its_heal() {
    // Isolations of exactly 300ms, drawn about every 100ms, two allowed at once: most begin
    // while another is in force. Each must replace it: the older one's node rejoins at once and
    // its heal never fires, so every heal comes exactly 300ms after the latest isolation
    // (a leftover heal would end the newer isolation early).
    let mut cfg = config(4, Duration::from_millis(1), Vec::new());
    cfg.bounds.max_time = Duration::from_secs(4);
    let spec = NemesisSpec {
        interval: Duration::from_millis(100),
        min_duration: Duration::from_millis(300),
        max_duration: Duration::from_millis(300),
        max_active: 2,
        ..nemesis(vec![NemesisKind::Isolate])
    };
    set_nemesis(&mut cfg, spec);
    let out = Sim::new(cfg, factory()).run();
    let mut latest: Option<SimTime> = None;
    let (mut heals, mut replaced) = (0, 0);
    for (t, f) in &out.faults {
        match f {
            Fault::Isolate(_) => {
                if latest.is_some_and(|l| *t < l + Duration::from_millis(300)) {
                    replaced += 1;
                }
                latest = Some(*t);
            }
            Fault::Heal => {
                heals += 1;
                let l = latest.expect("a heal follows an isolation");
                assert_eq!(*t, l + Duration::from_millis(300), "{:?}", out.faults);
            }
            other => panic!("unexpected fault {other:?}"),
        }
    }
    assert!(
        replaced >= 5 && heals >= 1,
        "{replaced} replaced, {heals} heals"
    );
    // While an isolation is in force, exactly its node is cut off.
    let isolated_at = |t: SimTime| {
        out.faults
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .and_then(|(_, f)| match f {
                Fault::Isolate(n) => Some(*n),
                _ => None,
            })
    };
    for (t, from, to) in deliveries(&out) {
        if let Some(n) = isolated_at(SimTime(t.0.saturating_sub(1_000_000))) {
            if isolated_at(t) == Some(n) {
                assert!(
                    from != n && to != n,
                    "{from} -> {to} at {t} while {n} is isolated"
                );
            }
        }
    }
}

#[test]
fn link_loss_duplication_and_overrides_show_in_the_trace() {
    let mut cfg = config(3, Duration::from_millis(1), Vec::new());
    let lossy = LinkSpec {
        latency: Latency::Constant(Duration::from_millis(1)),
        drop: 1.0,
        duplicate: 0.0,
        bandwidth: None,
    };
    let doubling = LinkSpec {
        latency: Latency::Constant(Duration::from_millis(4)),
        drop: 0.0,
        duplicate: 1.0,
        bandwidth: None,
    };
    cfg.network.set_link(N0, N1, lossy);
    cfg.network.set_link(N2, N1, doubling);
    let out = Sim::new(cfg, factory()).run();
    let d = deliveries(&out);
    // n0 -> n1 loses everything; the reverse direction is untouched.
    assert!(!d.iter().any(|(_, f, to)| *f == N0 && *to == N1));
    assert!(d.iter().any(|(_, f, to)| *f == N1 && *to == N0));
    let losses = drops(&out);
    assert!(!losses.is_empty());
    assert!(losses
        .iter()
        .all(|(_, f, to, r)| *f == N0 && *to == N1 && *r == DropReason::Loss));
    // n2 -> n1 arrives twice per message, 4ms after sending, under one message id.
    let mut ids = std::collections::BTreeMap::new();
    for e in out.trace.events() {
        if let TraceKind::Deliver { from, to, id } = e.kind {
            if from == N2 && to == N1 {
                ids.entry(id).or_insert_with(Vec::new).push(e.time);
            }
        }
    }
    assert!(ids.len() >= 50);
    assert!(ids
        .values()
        .all(|times| times.len() == 2 && times[0] == times[1]));
    let dups = out
        .trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Duplicate { from, .. } if from == N2))
        .count();
    assert_eq!(dups as u64, out.stats.duplicated);
    assert!(ids.len().abs_diff(dups) <= 1);
}

// ---- faults aimed just after an event ----

fn queue_scenario(path: &str) -> clustersim::scenario::Scenario {
    clustersim::scenario::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("loads")
}

fn run_queue(s: &clustersim::scenario::Scenario) -> clustersim::run::Report {
    clustersim::run::run_scenario(
        &clustersim::registry::Registry::shipped(),
        s,
        &s.name,
        &clustersim::run::RunOptions::default(),
    )
    .expect("runs")
}

#[test]
fn an_aimed_strike_hits_the_sender_within_its_window_after_the_event() {
    use clustersim::history::{Op, Phase};
    let s = queue_scenario("scenarios/hunt/queue-aimed-crashes.ron");
    let mut aimed = 0;
    for seed in 0..20 {
        let mut s = s.clone();
        s.seed = seed;
        let r = run_queue(&s);
        let entries: Vec<_> = r.outcome.history.entries().collect();
        for (t, f) in &r.outcome.faults {
            let Fault::Crash(worker) = f else { continue };
            if *t == SimTime(100_000_000) {
                continue; // the periodic tick at the nemesis's start
            }
            // Some effect at most 2ms before the crash was applied for a task the crashed
            // worker had completed: the strike hit the worker whose Apply the sink handled.
            let sent_by_it = entries
                .iter()
                .filter(|e| e.time <= *t && t.0 - e.time.0 <= 2_000_000)
                .filter_map(|e| match e.op {
                    Op::Effect { task } if e.phase == Phase::Event => Some((e.time, task)),
                    _ => None,
                })
                .any(|(at, task)| {
                    entries
                        .iter()
                        .any(|c| c.time <= at && c.node == *worker && c.op == Op::Complete { task })
                });
            assert!(
                sent_by_it,
                "seed {seed}: the crash of {worker} at {t} follows no effect of its task within 2ms"
            );
            aimed += 1;
        }
    }
    assert!(aimed >= 20, "only {aimed} aimed strikes in 20 seeds");
}

#[test]
fn aiming_at_the_worst_moment_finds_what_random_crashes_find_only_sometimes() {
    use clustersim::check::Status;
    let fails = |s: &clustersim::scenario::Scenario| {
        (0..50)
            .filter(|&seed| {
                let mut s = s.clone();
                s.seed = seed;
                run_queue(&s)
                    .verdicts
                    .iter()
                    .any(|v| v.check == "NoDuplicateEffects" && v.status == Status::Fail)
            })
            .count()
    };
    // The sink that does not deduplicate, under random worker crashes and under aimed ones.
    let random = queue_scenario("scenarios/zoo/queue-at-least-once.ron");
    let mut aimed = random.clone();
    let hunt = queue_scenario("scenarios/hunt/queue-aimed-crashes.ron");
    aimed.nemesis = hunt.nemesis.clone();
    let (random, aimed_fails) = (fails(&random), fails(&aimed));
    assert_eq!(aimed_fails, 50, "aimed: {aimed_fails} of 50 seeds");
    assert!(random < 40, "random: {random} of 50 seeds");
    // The deduplicating sink survives the aimed nemesis.
    assert_eq!(fails(&hunt), 0);
}

#[test]
fn a_trigger_names_a_phase_and_a_window() {
    let mut s = queue_scenario("scenarios/hunt/queue-aimed-crashes.ron");
    let registry = clustersim::registry::Registry::shipped();
    let refusal = |s: &clustersim::scenario::Scenario| {
        registry
            .prepare(s, "aimed.ron")
            .err()
            .expect("refused")
            .to_string()
    };
    let nem = s.nemesis.as_mut().unwrap();
    nem.after.as_mut().unwrap().on = "okay put".into();
    let err = refusal(&s);
    assert!(
        err.contains("unknown phase `okay`") && err.contains("invoke, ok, fail, info, event"),
        "{err}"
    );
    let nem = s.nemesis.as_mut().unwrap();
    let t = nem.after.as_mut().unwrap();
    t.on = "ok put".into();
    t.within = Duration::ZERO;
    let err = refusal(&s);
    assert!(
        err.contains("after.within must be greater than zero"),
        "{err}"
    );
}
