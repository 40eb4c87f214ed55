//! Membership that changes over a run (issue 40): spares that join, members asked to leave
//! (gracefully: they are told and may hand over before they go), nodes that depart without
//! notice and machines replaced by a spare, each observed in the trace; and, over random runs
//! of a membership nemesis, that a node that is not a member never receives a message.

use clustersim::fault::{Fault, NemesisKind, NemesisSpec};
use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{MemberState, NodeFactory, Roster, RosterChange};
use clustersim::sim::{Bounds, NodeStatus, RunOutcome, Sim, SimConfig};
use clustersim::trace::{DropReason, TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};

const TICK: Duration = Duration::from_millis(10);

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// Every `TICK`, sends to every node the roster declares (members or not); remembers what it
/// was told of the membership, and hands over for `handover` before it departs when asked.
#[derive(Debug, Clone)]
struct Beacon {
    told: Vec<RosterChange>,
    members_at_boot: Vec<NodeId>,
    handover: Option<Duration>,
    stored: Option<u64>,
}

#[derive(Debug, Clone, Hash)]
enum Tick {
    Beat,
    Go,
}

impl Node for Beacon {
    type Msg = u64;
    type Timer = Tick;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.members_at_boot = ctx.members("n");
        ctx.storage().put("booted", 1);
        ctx.storage().sync();
        ctx.set_timer(TICK, Tick::Beat);
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: u64) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Tick) {
        match timer {
            Tick::Beat => {
                let me = ctx.id();
                let all: Vec<NodeId> = ctx.roster().ids().filter(|p| *p != me).collect();
                for p in all {
                    ctx.send(p, 1);
                }
                ctx.set_timer(TICK, Tick::Beat);
            }
            Tick::Go => ctx.depart(),
        }
    }

    fn on_roster_change(&mut self, ctx: &mut Context<'_, Self>, change: RosterChange) {
        self.told.push(change);
        if change == RosterChange::Leaving(ctx.id()) {
            if let Some(h) = self.handover {
                ctx.set_timer(h, Tick::Go);
            }
        }
    }
}

fn factory(handover: Option<Duration>) -> NodeFactory<Beacon> {
    Box::new(move |_id, _roster, storage| Beacon {
        told: Vec::new(),
        members_at_boot: Vec::new(),
        handover,
        stored: storage.get("booted").copied(),
    })
}

/// `members` members and `spares` spares, all of role `n`, 1 ms links.
fn config(members: u32, spares: u32, schedule: Vec<(SimTime, Fault)>) -> SimConfig {
    let roster = Roster::with_spares(
        (0..members + spares).map(|i| (format!("n{i}"), "n".to_string(), i >= members)),
    );
    let link = LinkSpec {
        latency: Latency::Constant(Duration::from_millis(1)),
        drop: 0.0,
        duplicate: 0.0,
        bandwidth: None,
    };
    let mut cfg = SimConfig::new(roster, Network::new((members + spares) as usize, link))
        .seed(3)
        .schedule(schedule)
        .trace(TraceLevel::Full);
    cfg.bounds = Bounds::new(Duration::from_millis(400), 1_000_000);
    cfg
}

fn sim(cfg: SimConfig, handover: Option<Duration>) -> Sim<Beacon> {
    Sim::new(cfg, factory(handover))
}

/// (time, node) of every boot.
fn starts(out: &RunOutcome) -> Vec<(SimTime, NodeId)> {
    out.trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Start { node } => Some((e.time, node)),
            _ => None,
        })
        .collect()
}

/// Deliveries to `node` within [from, to).
fn delivered_to(out: &RunOutcome, node: NodeId, from: SimTime, to: SimTime) -> usize {
    out.trace
        .events()
        .iter()
        .filter(|e| {
            matches!(e.kind, TraceKind::Deliver { to: t, .. } if t == node)
                && e.time >= from
                && e.time < to
        })
        .count()
}

fn dropped_not_member(out: &RunOutcome, node: NodeId) -> usize {
    out.trace
        .events()
        .iter()
        .filter(|e| {
            matches!(e.kind, TraceKind::Drop { to, reason: DropReason::NotMember, .. } if to == node)
        })
        .count()
}

#[test]
fn a_spare_stays_down_until_it_joins_and_then_is_told_to_no_one_but_the_members() {
    let (a, spare) = (NodeId(0), NodeId(3));
    let cfg = config(3, 1, vec![(ms(100), Fault::Join(spare))]);
    let mut s = sim(cfg, None);
    s.run_until(ms(50));
    assert_eq!(
        s.status(spare),
        Some(NodeStatus::Down),
        "a spare does not boot"
    );
    assert!(s.node(spare).is_none());
    assert_eq!(
        s.node(a).unwrap().members_at_boot,
        vec![NodeId(0), NodeId(1), NodeId(2)],
        "members at the start leave the spare out"
    );
    s.run_until(ms(200));
    assert_eq!(s.status(spare), Some(NodeStatus::Up));
    let joined = s.node(spare).unwrap();
    assert_eq!(
        joined.members_at_boot,
        vec![NodeId(0), NodeId(1), NodeId(2), spare],
        "the new member sees itself among the members when it boots"
    );
    assert!(joined.told.is_empty(), "the joiner boots; it is not told");
    assert_eq!(joined.stored, None, "a spare boots from an empty disk");
    for m in 0..3 {
        assert_eq!(
            s.node(NodeId(m)).unwrap().told,
            vec![RosterChange::Joined(spare)],
            "member {m} is told once"
        );
    }
    let out = s.finish();
    assert_eq!(
        starts(&out).iter().filter(|(_, n)| *n == spare).count(),
        1,
        "one boot, at the join"
    );
    assert!(starts(&out).contains(&(ms(100), spare)));
    // Before it joined, what the others sent it was lost as "not a member"; after, delivered.
    assert!(dropped_not_member(&out, spare) >= 3 * 9);
    assert_eq!(delivered_to(&out, spare, SimTime::ZERO, ms(100)), 0);
    let after = delivered_to(&out, spare, ms(100), ms(200));
    assert!(after >= 3 * 9, "{after} delivered after the join");
    assert!(out
        .faults
        .iter()
        .any(|(t, f)| *t == ms(100) && *f == Fault::Join(spare)));
}

#[test]
fn a_member_asked_to_leave_is_told_hands_over_and_departs_when_it_says() {
    let b = NodeId(1);
    let leave = Fault::Leave {
        node: b,
        grace: Some(Duration::from_millis(200)),
    };
    let cfg = config(3, 0, vec![(ms(100), leave)]);
    let out = sim(cfg, Some(Duration::from_millis(30))).run();
    // Still reachable while it hands over; gone once it departs, 30 ms after it was told.
    assert!(delivered_to(&out, b, ms(100), ms(130)) >= 2 * 2);
    assert_eq!(delivered_to(&out, b, ms(131), ms(400)), 0);
    assert!(dropped_not_member(&out, b) > 0);
    let departed: Vec<SimTime> = out
        .faults
        .iter()
        .filter(|(_, f)| *f == Fault::Departed(b))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(departed, vec![ms(130)], "one departure, when the node said");
    // The others heard of it twice: asked to leave, then left; the grace deadline was
    // withdrawn (no second departure at 300 ms).
    let told: Vec<String> = out
        .trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Note { node, text } if *node == NodeId(0) && text.starts_with("told") => {
                Some(text.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(told, vec!["told: n1 is leaving", "told: n1 left"]);
}

#[test]
fn a_node_that_does_not_hand_over_is_gone_when_its_grace_ends() {
    let b = NodeId(1);
    let cfg = config(
        3,
        0,
        vec![(
            ms(100),
            Fault::Leave {
                node: b,
                grace: Some(Duration::from_millis(50)),
            },
        )],
    );
    let mut s = sim(cfg, None);
    s.run_until(ms(120));
    assert_eq!(
        s.status(b),
        Some(NodeStatus::Up),
        "still there within its grace"
    );
    s.run_until(ms(400));
    assert_eq!(s.status(b), Some(NodeStatus::Down));
    let out = s.finish();
    assert!(out
        .faults
        .iter()
        .any(|(t, f)| *t == ms(150) && *f == Fault::Departed(b)));
    assert_eq!(delivered_to(&out, b, ms(151), ms(400)), 0);
}

#[test]
fn a_departed_node_is_gone_for_good_neither_restarted_nor_joining_again() {
    let b = NodeId(1);
    let cfg = config(
        3,
        0,
        vec![
            (ms(100), Fault::Depart(b)),
            (ms(150), Fault::Restart(b)),
            (ms(200), Fault::Join(b)),
        ],
    );
    let mut s = sim(cfg, None);
    s.run_until(ms(400));
    assert_eq!(s.status(b), Some(NodeStatus::Down));
    for m in [0, 2] {
        assert_eq!(
            s.node(NodeId(m)).unwrap().told,
            vec![RosterChange::Left(b)],
            "the join of a node that left did nothing"
        );
    }
    let out = s.finish();
    assert_eq!(delivered_to(&out, b, ms(101), ms(400)), 0);
    assert_eq!(starts(&out).iter().filter(|(_, n)| *n == b).count(), 1);
}

#[test]
fn a_replaced_machine_is_gone_with_its_disk_and_the_spare_takes_its_place() {
    let (old, new) = (NodeId(2), NodeId(3));
    let cfg = config(3, 1, vec![(ms(100), Fault::Replace { old, new })]);
    let mut s = sim(cfg, None);
    s.run_until(ms(400));
    assert_eq!(s.status(old), Some(NodeStatus::Down));
    assert_eq!(s.status(new), Some(NodeStatus::Up));
    assert_eq!(
        s.storage(old).and_then(|st| st.get("booted")),
        None,
        "the lost machine's disk is erased"
    );
    assert_eq!(
        s.node(new).unwrap().members_at_boot,
        vec![NodeId(0), NodeId(1), new]
    );
    assert_eq!(
        s.node(NodeId(0)).unwrap().told,
        vec![RosterChange::Replaced { old, new }]
    );
    let out = s.finish();
    assert_eq!(delivered_to(&out, old, ms(101), ms(400)), 0);
    assert!(delivered_to(&out, new, ms(100), ms(400)) > 0);
}

#[test]
fn a_join_of_a_leaving_member_calls_its_leave_off() {
    let b = NodeId(1);
    let cfg = config(
        3,
        0,
        vec![
            (
                ms(100),
                Fault::Leave {
                    node: b,
                    grace: Some(Duration::from_millis(100)),
                },
            ),
            (ms(150), Fault::Join(b)),
        ],
    );
    let mut s = sim(cfg, None);
    s.run_until(ms(400));
    assert_eq!(
        s.status(b),
        Some(NodeStatus::Up),
        "its deadline was withdrawn"
    );
    assert_eq!(
        s.node(NodeId(0)).unwrap().told,
        vec![RosterChange::Leaving(b), RosterChange::Joined(b)]
    );
    let out = s.finish();
    assert!(!out
        .faults
        .iter()
        .any(|(_, f)| matches!(f, Fault::Depart(_))));
    assert_eq!(
        starts(&out).iter().filter(|(_, n)| *n == b).count(),
        1,
        "it never rebooted"
    );
}

#[test]
fn changes_that_do_not_apply_do_nothing() {
    // A member that joins, a spare asked to leave or departing, a restart of a spare.
    let spare = NodeId(3);
    let cfg = config(
        3,
        1,
        vec![
            (ms(50), Fault::Join(NodeId(0))),
            (
                ms(60),
                Fault::Leave {
                    node: spare,
                    grace: Some(Duration::from_millis(10)),
                },
            ),
            (ms(70), Fault::Depart(spare)),
            (ms(80), Fault::Restart(spare)),
        ],
    );
    let mut s = sim(cfg, None);
    s.run_until(ms(400));
    assert_eq!(s.status(spare), Some(NodeStatus::Down));
    for m in 0..3 {
        assert!(s.node(NodeId(m)).unwrap().told.is_empty());
        assert_eq!(s.status(NodeId(m)), Some(NodeStatus::Up));
    }
}

/// A membership nemesis (with crashes and partitions) on 4 members and 2 spares.
fn hunting(seed: u64) -> RunOutcome {
    let mut cfg = config(4, 2, Vec::new()).seed(seed);
    cfg.bounds.max_time = Duration::from_secs(2);
    let spec = NemesisSpec {
        kinds: vec![
            NemesisKind::Join,
            NemesisKind::Leave,
            NemesisKind::Replace,
            NemesisKind::Crash,
            NemesisKind::Partition,
        ],
        targets: Vec::new(),
        interval: Duration::from_millis(40),
        min_duration: Duration::from_millis(20),
        max_duration: Duration::from_millis(200),
        start: Duration::from_millis(20),
        stop: Some(Duration::from_millis(1500)),
        max_active: 3,
        max_skew: Duration::from_millis(50),
        pick: Default::default(),
        after: None,
        min_members: 0,
    };
    cfg.nemesis = Some(spec.resolve(&cfg.roster).expect("nemesis resolves"));
    Sim::new(cfg, factory(Some(Duration::from_millis(15)))).run()
}

/// Replays the trace's faults as the engine applies them: each node's state after each
/// instant, independent of the engine's own bookkeeping.
fn member_at(out: &RunOutcome, spares: &[NodeId]) -> impl Fn(NodeId, SimTime) -> bool {
    let mut changes: Vec<(SimTime, NodeId, MemberState)> = Vec::new();
    let n = out.roster.len();
    let mut state: Vec<MemberState> = (0..n as u32)
        .map(|i| {
            if spares.contains(&NodeId(i)) {
                MemberState::Spare
            } else {
                MemberState::Member
            }
        })
        .collect();
    for (t, f) in &out.faults {
        let mut set = |state: &mut Vec<MemberState>, node: NodeId, s: MemberState| {
            state[node.index()] = s;
            changes.push((*t, node, s));
        };
        match f {
            Fault::Join(x) if state[x.index()] == MemberState::Spare => {
                set(&mut state, *x, MemberState::Member)
            }
            Fault::Join(x) if state[x.index()] == MemberState::Leaving => {
                set(&mut state, *x, MemberState::Member)
            }
            Fault::Leave { node, .. } if state[node.index()] == MemberState::Member => {
                set(&mut state, *node, MemberState::Leaving)
            }
            Fault::Depart(x) | Fault::Departed(x) if state[x.index()].is_member() => {
                set(&mut state, *x, MemberState::Left)
            }
            Fault::Replace { old, new } => {
                if state[old.index()].is_member() {
                    set(&mut state, *old, MemberState::Left);
                }
                if state[new.index()] == MemberState::Spare {
                    set(&mut state, *new, MemberState::Member);
                }
            }
            _ => {}
        }
    }
    let initial: Vec<bool> = (0..n as u32)
        .map(|i| !spares.contains(&NodeId(i)))
        .collect();
    move |node: NodeId, t: SimTime| {
        let mut member = initial[node.index()];
        for (at, x, s) in &changes {
            if *at <= t && *x == node {
                member = s.is_member();
            }
        }
        member
    }
}

#[test]
fn over_random_membership_changes_no_node_receives_a_message_while_it_is_not_a_member() {
    let spares = [NodeId(4), NodeId(5)];
    let (mut joins, mut leaves, mut departs, mut replaces, mut deliveries) = (0, 0, 0, 0, 0);
    for seed in 0..40 {
        let out = hunting(seed);
        let member = member_at(&out, &spares);
        for e in out.trace.events() {
            match &e.kind {
                TraceKind::Deliver { to, .. } => {
                    deliveries += 1;
                    assert!(
                        member(*to, e.time),
                        "seed {seed}: {to} received a message at {} while not a member",
                        e.time
                    );
                }
                TraceKind::Start { node } => assert!(
                    member(*node, e.time),
                    "seed {seed}: {node} booted at {} while not a member",
                    e.time
                ),
                _ => {}
            }
        }
        for (_, f) in &out.faults {
            match f {
                Fault::Join(_) => joins += 1,
                Fault::Leave { .. } => leaves += 1,
                Fault::Depart(_) | Fault::Departed(_) => departs += 1,
                Fault::Replace { .. } => replaces += 1,
                _ => {}
            }
        }
    }
    // The oracle compared something: every kind happened, many times.
    assert!(
        joins > 40 && leaves > 40 && departs > 40 && replaces > 10,
        "{joins} joins, {leaves} leaves, {departs} departures, {replaces} replacements"
    );
    assert!(deliveries > 10_000, "{deliveries} deliveries");
}

#[test]
fn membership_runs_replay_byte_for_byte() {
    for seed in [1, 7] {
        assert_eq!(hunting(seed).trace_hash(), hunting(seed).trace_hash());
    }
}

/// A scenario of three members and two spares of role `node` under Ping, with `faults`.
fn ping_scenario(faults: &str) -> String {
    format!(
        r#"(
    name: "m", seed: 0, bounds: (max_time: "1s"),
    nodes: [(role: "node", count: 3), (role: "node", count: 2, spare: true)],
    protocol: Ping,
    faults: [{faults}],
    checks: [],
)"#
    )
}

#[test]
fn membership_faults_that_cannot_act_are_warned_about_when_the_scenario_is_planned() {
    let text = ping_scenario(
        r#"
        (at: "100ms", fault: Join("node1")),
        (at: "110ms", fault: Leave(node: "node4")),
        (at: "120ms", fault: Crash("node5")),
        (at: "130ms", fault: Depart("node2")),
        (at: "140ms", fault: Join("node2")),
        (at: "150ms", fault: Restart("node2")),
        (at: "160ms", fault: Replace(old: "node3", new: "node1")),
        (at: "170ms", fault: Join("node4")),
        (at: "180ms", fault: Leave(node: "node4")),"#,
    );
    let scenario = clustersim::scenario::parse(&text, "m.ron").expect("parses");
    let plan = scenario.plan("m.ron").expect("plans");
    let w = &plan.warnings;
    let has = |i: usize, text: &str| {
        w.iter()
            .any(|x| x.starts_with(&format!("faults[{i}]")) && x.contains(text))
    };
    assert!(has(0, "a member already"), "{w:#?}");
    assert!(has(1, "a spare that has not joined"), "{w:#?}");
    assert!(has(2, "not a member then (a spare"), "{w:#?}");
    assert!(has(4, "never joins again"), "{w:#?}");
    assert!(has(5, "it has left, for good"), "{w:#?}");
    assert!(
        has(6, "`node1` is not a spare, so it does not join"),
        "{w:#?}"
    );
    assert!(
        !w.iter()
            .any(|x| x.starts_with("faults[6]") && x.contains("does nothing")),
        "node3 is lost all the same: {w:#?}"
    );
    // What does act is not warned about: the departure, the spare's join and its leave.
    for i in [3, 7, 8] {
        assert!(
            !w.iter().any(|x| x.starts_with(&format!("faults[{i}]"))),
            "{w:#?}"
        );
    }
}

#[test]
fn a_role_whose_every_node_is_a_spare_is_refused_by_name() {
    let text = r#"(
    name: "m", seed: 0, bounds: (max_time: "1s"),
    nodes: [(role: "server", count: 3), (role: "client", count: 1, spare: true)],
    protocol: Raft,
    checks: [],
)"#;
    let scenario = clustersim::scenario::parse(text, "m.ron").expect("parses");
    let err = match clustersim::registry::Registry::shipped().prepare(&scenario, "m.ron") {
        Ok(_) => panic!("a Raft scenario whose only client is a spare is refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("every `client` is a spare"), "{err}");
}

#[test]
fn the_nemesis_never_brings_back_a_node_that_left() {
    let spares = [NodeId(4), NodeId(5)];
    for seed in 0..40 {
        let out = hunting(seed);
        let mut gone: Vec<NodeId> = Vec::new();
        for (t, f) in &out.faults {
            match f {
                Fault::Depart(n) | Fault::Departed(n) | Fault::Replace { old: n, .. } => {
                    gone.push(*n)
                }
                Fault::Join(n) | Fault::Restart(n) => assert!(
                    !gone.contains(n),
                    "seed {seed}: {f:?} at {t} names a node that left"
                ),
                _ => {}
            }
        }
        // Spares are the only nodes the nemesis brings in.
        for (_, f) in &out.faults {
            if let Fault::Join(n) | Fault::Replace { new: n, .. } = f {
                assert!(spares.contains(n), "seed {seed}: {f:?}");
            }
        }
    }
}
