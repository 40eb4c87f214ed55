//! The exhaustive search against a second method: on a corpus of small protocols written here
//! (timers set and cancelled, retries, crashes that lose unsynced writes, lost and duplicated
//! messages), every run that bounded random walks over the same choices reach must be a run
//! the search judged, and every failure they find the search finds too, timed and untimed.
//! Search bugs planted on purpose (a choice dropped, a part of the state left out of the
//! fingerprint, cancelled timers offered again) must make this harness fail. Also the
//! regression test of the cancelled-timer false "complete", and state counts worked out by
//! hand.

use clustersim::check::{Status, Verdict};
use clustersim::explore::exhaustive::{
    check_scenario, check_scenario_judging, ExhaustiveConfig, PlantedBug, Timing,
};
use clustersim::history::{Op, Phase};
use clustersim::node::{NodeFactory, Snapshot, TimerId};
use clustersim::protocols::require_role;
use clustersim::rand::{Rng, SeedableRng};
use clustersim::scenario::{parse, Plan, Scenario};
use clustersim::sim::{NodeStatus, Pending, RunOutcome, Sim, Step};
use clustersim::trace::TraceLevel;
use clustersim::{Check, Context, Duration, Node, NodeId, Property, Protocol, Registry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// The corpus: one protocol with a few shapes.

/// Which small protocol runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Shape {
    /// One node sets two timers for the same instant and cancels one; the other records a tick.
    Timers,
    /// A client increments a counter on a server, retrying on a timer until acknowledged; the
    /// server syncs only when `sync` says so and dedupes only when `dedupe` says so.
    Counter,
    /// A token passed around a ring of nodes, each hop recorded, with a timeout that re-sends.
    Relay,
    /// One node picks one of three values at boot (`ctx.choose`), then one of two on a timer,
    /// and records each pick.
    Picker,
    /// The first node sends the second a message at boot that the second only echoes back
    /// and the first ignores, and on a timer one the second records. With no latency, losing
    /// the first message reaches in one step the state its two deliveries reach in two, with
    /// the drop budget spent: a search that leaves budgets out of a state meets the spent one
    /// first and never loses the second message.
    Noise,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToyParams {
    shape: Shape,
    #[serde(default)]
    sync: bool,
    #[serde(default)]
    dedupe: bool,
    #[serde(default = "two")]
    ops: u64,
    /// Counter: the server keeps its count in memory only and records nothing.
    #[serde(default)]
    memory_only: bool,
    /// Relay: a hop re-sends on a timeout (else a lost token ends the ring).
    #[serde(default = "yes")]
    retry: bool,
}

fn yes() -> bool {
    true
}

fn two() -> u64 {
    2
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Inc(u64),
    Ack(u64),
    Token(u64),
    Noise,
    Data,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Tick {
    A,
    B,
    Retry(u64),
    Pass(u64),
}

#[derive(Clone, Debug, Hash)]
enum Toy {
    Ticker,
    Picker,
    Sender {
        to: NodeId,
    },
    Receiver,
    Client {
        server: NodeId,
        next: u64,
        ops: u64,
        retry: Option<TimerId>,
    },
    Server {
        count: u64,
        last: u64,
        sync: bool,
        dedupe: bool,
        memory_only: bool,
    },
    Ring {
        next: NodeId,
        first: bool,
        retry: bool,
        hops: u64,
        timeout: Option<TimerId>,
    },
}

impl Node for Toy {
    type Msg = Msg;
    type Timer = Tick;
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            Toy::Picker => {
                let v = ctx.choose(3) as u64;
                ctx.event(Op::custom("picked", &v));
                ctx.set_timer(Duration::from_millis(5), Tick::A);
            }
            Toy::Ticker => {
                ctx.set_timer(Duration::from_millis(10), Tick::A);
                let b = ctx.set_timer(Duration::from_millis(10), Tick::B);
                ctx.cancel_timer(b);
            }
            Toy::Client { .. } => self.send_next(ctx),
            Toy::Sender { to } => {
                ctx.send(*to, Msg::Noise);
                ctx.set_timer(Duration::from_millis(10), Tick::A);
            }
            Toy::Server { .. } | Toy::Receiver => {}
            Toy::Ring { first, next, .. } => {
                if *first {
                    ctx.send(*next, Msg::Token(0));
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (
                Toy::Server {
                    count,
                    last,
                    sync,
                    dedupe,
                    memory_only,
                },
                Msg::Inc(k),
            ) => {
                if !*dedupe || k > *last {
                    *count += 1;
                    *last = k;
                    if *memory_only {
                        ctx.send(from, Msg::Ack(k));
                        return;
                    }
                    ctx.event(Op::custom("applied", &k));
                    ctx.storage().put("count", *count);
                    ctx.storage().put("last", *last);
                    if *sync {
                        ctx.storage().sync();
                    }
                }
                ctx.send(from, Msg::Ack(k));
            }
            (this @ Toy::Client { .. }, Msg::Ack(k)) => {
                let Toy::Client { next, retry, .. } = this else {
                    return;
                };
                if k != *next + 1 {
                    return;
                }
                ctx.event(Op::custom("acked", &k));
                if let Some(t) = retry.take() {
                    ctx.cancel_timer(t);
                }
                *next += 1;
                this.send_next(ctx);
            }
            (
                Toy::Ring {
                    next,
                    hops,
                    timeout,
                    retry,
                    ..
                },
                Msg::Token(h),
            ) => {
                if h < *hops {
                    return;
                }
                *hops = h + 1;
                ctx.event(Op::custom("hop", &h));
                if let Some(t) = timeout.take() {
                    ctx.cancel_timer(t);
                }
                if h < 3 {
                    ctx.send(*next, Msg::Token(h + 1));
                    if *retry {
                        *timeout =
                            Some(ctx.set_timer(Duration::from_millis(10), Tick::Pass(h + 1)));
                    }
                }
            }
            (Toy::Receiver, Msg::Data) => ctx.event(Op::custom("data", &"received")),
            (Toy::Receiver, Msg::Noise) => ctx.send(from, Msg::Noise),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Tick) {
        match (self, timer) {
            (Toy::Sender { to }, Tick::A) => ctx.send(*to, Msg::Data),
            (Toy::Picker, Tick::A) => {
                let v = 10 + ctx.choose(2) as u64;
                ctx.event(Op::custom("picked", &v));
            }
            (Toy::Ticker, Tick::A) => ctx.event(Op::custom("tick", &"A")),
            (Toy::Ticker, Tick::B) => ctx.event(Op::custom("tick", &"B")),
            (this @ Toy::Client { .. }, Tick::Retry(k)) => {
                if let Toy::Client { next, retry, .. } = this {
                    if k == *next {
                        *retry = None;
                        this.send_next(ctx);
                    }
                }
            }
            (Toy::Ring { next, timeout, .. }, Tick::Pass(h)) => {
                *timeout = None;
                ctx.send(*next, Msg::Token(h));
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            Toy::Server { count, .. } => {
                Some(Snapshot::from([("count".into(), count.to_string())]))
            }
            _ => None,
        }
    }
}

impl Toy {
    fn send_next(&mut self, ctx: &mut Context<'_, Self>) {
        if let Toy::Client {
            server,
            next,
            ops,
            retry,
        } = self
        {
            if *next < *ops {
                ctx.send(*server, Msg::Inc(*next + 1));
                *retry = Some(ctx.set_timer(Duration::from_millis(4), Tick::Retry(*next)));
            }
            // Increments are numbered from 1: `Inc(next + 1)` is acknowledged by `Ack(next + 1)`.
        }
    }
}

impl Protocol for ToyParams {
    type Node = Toy;
    const NAME: &'static str = "Toy";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        match self.shape {
            Shape::Counter => {
                require_role(plan, Self::NAME, "client")?;
                require_role(plan, Self::NAME, "server")
            }
            Shape::Timers | Shape::Relay | Shape::Picker | Shape::Noise => {
                require_role(plan, Self::NAME, "node")
            }
        }
    }

    fn checks(&self) -> &'static [&'static str] {
        &[
            "AlwaysFails",
            "Observe",
            "ExactlyOnce",
            "NoDoubleApply",
            "NotTwoThenEleven",
        ]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<Toy> {
        let p = self.clone();
        let servers = plan.roster.members("server");
        let nodes = plan.roster.members("node");
        Box::new(
            move |id, roster, storage| match (p.shape, roster.role(id)) {
                (Shape::Timers, _) => Toy::Ticker,
                (Shape::Picker, _) => Toy::Picker,
                (Shape::Noise, _) if nodes.first() == Some(&id) => Toy::Sender {
                    to: nodes.get(1).copied().unwrap_or(id),
                },
                (Shape::Noise, _) => Toy::Receiver,
                (Shape::Counter, "client") => Toy::Client {
                    server: servers[0],
                    next: 0,
                    ops: p.ops,
                    retry: None,
                },
                (Shape::Counter, _) => Toy::Server {
                    count: storage.get("count").copied().unwrap_or(0),
                    last: storage.get("last").copied().unwrap_or(0),
                    sync: p.sync,
                    dedupe: p.dedupe,
                    memory_only: p.memory_only,
                },
                (Shape::Relay, _) => {
                    let i = nodes.iter().position(|n| *n == id).unwrap_or(0);
                    Toy::Ring {
                        next: nodes[(i + 1) % nodes.len()],
                        first: i == 0,
                        retry: p.retry,
                        hops: 0,
                        timeout: None,
                    }
                }
            },
        )
    }
}

/// Fails every run: what the cancelled-timer reproducer needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct AlwaysFails;

impl Check for AlwaysFails {
    const NAME: &'static str = "AlwaysFails";
    fn property(&self) -> Property {
        Property::Safety
    }
    fn evaluate(&self, _: &RunOutcome) -> Verdict {
        Verdict::fail("AlwaysFails", "this check fails every run it judges")
    }
}

/// Passes every run, but reads the history (so a search keeps it in its states).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Observe;

impl Check for Observe {
    const NAME: &'static str = "Observe";
    fn property(&self) -> Property {
        Property::Safety
    }
    fn evaluate(&self, o: &RunOutcome) -> Verdict {
        Verdict::pass("Observe", format!("{} entries", o.history.len()))
    }
}

/// Every acknowledged increment is counted exactly once by the server at the end.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ExactlyOnce;

impl Check for ExactlyOnce {
    const NAME: &'static str = "ExactlyOnce";
    fn property(&self) -> Property {
        Property::Safety
    }
    fn evaluate(&self, o: &RunOutcome) -> Verdict {
        let acked = o
            .history
            .entries()
            .filter(|e| e.phase == Phase::Event && e.op.custom_value::<u64>("acked").is_some())
            .count() as u64;
        let count = o
            .snapshots
            .iter()
            .find_map(|(_, s)| s.get("count")?.parse::<u64>().ok());
        match count {
            None => Verdict::unknown("ExactlyOnce", "the server is down"),
            Some(c) if c == acked => Verdict::pass("ExactlyOnce", format!("{c} counted")),
            Some(c) => Verdict::fail("ExactlyOnce", format!("{acked} acked, {c} counted")),
        }
    }
}

/// No increment is applied twice: an invariant, judged at every state of a search.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct NoDoubleApply;

impl Check for NoDoubleApply {
    const NAME: &'static str = "NoDoubleApply";
    fn property(&self) -> Property {
        Property::Safety
    }
    fn invariant(&self) -> bool {
        true
    }
    fn evaluate(&self, o: &RunOutcome) -> Verdict {
        let mut seen = BTreeSet::new();
        for e in o.history.entries() {
            if let Some(k) = e.op.custom_value::<u64>("applied") {
                if !seen.insert(k) {
                    return Verdict::fail("NoDoubleApply", format!("{k} applied twice"));
                }
            }
        }
        Verdict::pass("NoDoubleApply", format!("{} applied once each", seen.len()))
    }
}

/// Fails when the picker picked 2 at boot and then 11: one branch of six.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct NotTwoThenEleven;

impl Check for NotTwoThenEleven {
    const NAME: &'static str = "NotTwoThenEleven";
    fn property(&self) -> Property {
        Property::Safety
    }
    fn evaluate(&self, o: &RunOutcome) -> Verdict {
        let picks: Vec<u64> = o
            .history
            .entries()
            .filter_map(|e| e.op.custom_value::<u64>("picked"))
            .collect();
        if picks == [2, 11] {
            Verdict::fail("NotTwoThenEleven", "picked 2, then 11")
        } else {
            Verdict::pass("NotTwoThenEleven", format!("picked {picks:?}"))
        }
    }
}

fn registry() -> Registry {
    Registry::shipped()
        .named("toy")
        .searchable::<ToyParams>()
        .check::<AlwaysFails>()
        .check::<Observe>()
        .check::<ExactlyOnce>()
        .check::<NoDoubleApply>()
        .check::<NotTwoThenEleven>()
}

fn scenario(protocol: &str, nodes: &str, checks: &str) -> Scenario {
    let text = format!(
        r#"(
    name: "toy",
    seed: 0,
    bounds: (max_time: "100ms", max_events: 10000),
    nodes: [{nodes}],
    protocol: {protocol},
    network: (default: (latency: Constant("1ms"))),
    checks: [{checks}],
)"#
    );
    parse(&text, "toy.ron").expect("the test scenario parses")
}

fn timers() -> Scenario {
    scenario(
        "Toy(shape: Timers)",
        r#"(role: "node", count: 1)"#,
        "AlwaysFails",
    )
}

fn counter(sync: bool, dedupe: bool, checks: &str) -> Scenario {
    scenario(
        &format!("Toy(shape: Counter, sync: {sync}, dedupe: {dedupe})"),
        r#"(role: "client", count: 1), (role: "server", count: 1)"#,
        checks,
    )
}

fn relay(checks: &str) -> Scenario {
    relay_with(true, checks)
}

fn relay_with(retry: bool, checks: &str) -> Scenario {
    scenario(
        &format!("Toy(shape: Relay, retry: {retry})"),
        r#"(role: "node", count: 3)"#,
        checks,
    )
}

// ---------------------------------------------------------------------------------------------
// The regression: a cancelled timer made the search print "complete" having judged nothing.

#[test]
fn a_cancelled_timer_no_longer_hides_every_path_end() {
    let r = registry();
    let (o, _) =
        check_scenario(&r, &timers(), "toy.ron", &ExhaustiveConfig::default()).expect("searches");
    assert!(o.ends >= 1, "no path end judged: {o:?}");
    let v = o.violation.expect("a check that always fails fails");
    assert_eq!(v.failed[0].check, "AlwaysFails");
    // With the old behaviour planted back, the search judges nothing, and must not say
    // complete.
    let planted = ExhaustiveConfig::default().planted(Some(PlantedBug::OfferCancelledTimers));
    let (o, _) = check_scenario(&r, &timers(), "toy.ron", &planted).expect("searches");
    assert_eq!(o.ends, 0, "{o:?}");
    assert!(o.violation.is_none());
    assert!(!o.complete, "a search that judged nothing is not complete");
}

#[test]
fn the_cli_fails_the_cancelled_timer_reproducer_and_its_path_replays() {
    // The same reproducer through a user's binary is in tests/cli (the toy protocol is not
    // in the shipped binary); here, the written path replays to the same failure.
    let r = registry();
    let s = timers();
    let (o, searched) =
        check_scenario(&r, &s, "toy.ron", &ExhaustiveConfig::default()).expect("searches");
    let v = o.violation.expect("fails");
    let plan = r.prepare(&searched, "toy.ron").expect("prepares").plan;
    let file = clustersim::explore::exhaustive::replay_scenario(&searched, &plan.roster, &v.steps);
    let run = clustersim::run::run_scenario(
        &r,
        &file,
        "replay.ron",
        &clustersim::run::RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(run.outcome.trace_hash(), v.outcome.trace_hash());
    assert!(!run.passed());
}

// ---------------------------------------------------------------------------------------------
// The second method: bounded random walks over the same choices.

/// What a run's end looks like to its checks: its history in order (without the instants,
/// which a state leaves out: two paths that record the same entries in the same order at other
/// times meet again), which nodes are up, and the nodes' final states.
fn signature(o: &RunOutcome) -> String {
    let mut s = String::new();
    for e in o.history.entries() {
        s.push_str(&format!("{:?}|{:?}|{:?};", e.node, e.phase, e.op));
    }
    s.push_str(&format!("{:?} {:?}", o.status, o.snapshots));
    s
}

/// The choices a walk may take at `sim` with `spent` faults of `config`'s budgets: written
/// here again, apart from the search's own, so a choice the search forgets shows.
fn walk_choices(
    sim: &Sim<Toy>,
    config: &ExhaustiveConfig,
    spent: &[u32; 4],
    isolated: bool,
) -> Vec<Step> {
    let mut due: Vec<Pending> = Vec::new();
    let window = match config.timing {
        Timing::Timed => config.window,
        Timing::Untimed => Duration(u64::MAX),
    };
    sim.due(window, &mut due);
    let mut out = Vec::new();
    if due.is_empty() {
        return out;
    }
    for p in &due {
        out.push(if p.message && config.redeliver {
            Step::Redeliver(p.seq)
        } else {
            Step::Run(p.seq)
        });
        if p.message && spent[1] < config.drops {
            out.push(Step::Drop(p.seq));
        }
        if p.message && spent[2] < config.duplicates {
            out.push(Step::Duplicate(p.seq));
        }
    }
    for &n in &config.targets {
        match sim.status(n) {
            Some(NodeStatus::Up) if spent[0] < config.crashes => out.push(Step::Crash(n)),
            Some(NodeStatus::Down) if config.restarts => out.push(Step::Restart(n)),
            _ => {}
        }
    }
    if isolated {
        out.push(Step::Heal);
    } else if spent[3] < config.isolations {
        for &n in &config.targets {
            if sim.status(n) == Some(NodeStatus::Up) {
                out.push(Step::Partition(vec![vec![n]]));
            }
        }
    }
    out
}

/// The signatures of `walks` random walks over the search's choices, and whether any failed
/// a check.
fn random_walks(
    r: &Registry,
    s: &Scenario,
    config: &ExhaustiveConfig,
    walks: u64,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut searched = clustersim::explore::exhaustive::search_scenario(s);
    let mut ends = BTreeSet::new();
    let mut failures = BTreeSet::new();
    for w in 0..walks {
        // A seed of its own each walk: the nodes' own draws (`ctx.choose`) vary too.
        searched.seed = w;
        let prepared = r.prepare(&searched, "toy.ron").expect("prepares");
        let params: ToyParams = searched.protocol.params().expect("toy parameters");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(w);
        let mut sim = Sim::new(
            prepared.plan.sim_config(TraceLevel::HashOnly),
            params.factory(&prepared.plan),
        );
        let mut spent = [0u32; 4];
        let mut isolated = false;
        let mut depth = 0;
        sim.settle();
        // Untimed, every first boot happens before anything else (as at time zero).
        if config.timing == Timing::Untimed {
            while let Some(boot) = sim
                .pending_events()
                .into_iter()
                .find(|p| p.kind == clustersim::sim::PendingKind::Boot)
            {
                sim.apply_step(&Step::Run(boot.seq));
                sim.settle();
                depth += 1;
            }
        }
        while !sim.stopped() && depth < config.max_depth {
            let choices = walk_choices(&sim, config, &spent, isolated);
            if choices.is_empty() {
                break;
            }
            let step = choices[rng.random_range(0..choices.len())].clone();
            match &step {
                Step::Crash(_) => spent[0] += 1,
                Step::Drop(_) => spent[1] += 1,
                Step::Duplicate(_) => spent[2] += 1,
                Step::Partition(_) => (spent[3], isolated) = (spent[3] + 1, true),
                Step::Heal => isolated = false,
                _ => {}
            }
            assert!(sim.apply_step(&step), "{step:?} applies");
            sim.settle();
            depth += 1;
        }
        // Untimed, a walk cut at the depth bound is no end: the search judges such a path by
        // its invariants only.
        if config.timing == Timing::Untimed && !sim.stopped() && depth == config.max_depth {
            let mut due = Vec::new();
            sim.due(Duration(u64::MAX), &mut due);
            if !due.is_empty() {
                continue;
            }
        }
        let outcome = sim.run();
        ends.insert(signature(&outcome));
        let failed: Vec<&str> = prepared
            .checks
            .iter()
            .filter(|c| c.evaluate(&outcome).status == Status::Fail)
            .map(|c| c.name())
            .collect();
        if outcome.panic.is_none() && !failed.is_empty() {
            failures.insert(failed.join(","));
        }
    }
    (ends, failures)
}

/// The signatures of every path end the search judged (checks that never fail: it goes on to
/// the end of the space).
fn searched_ends(r: &Registry, s: &Scenario, config: &ExhaustiveConfig) -> BTreeSet<String> {
    let mut ends = BTreeSet::new();
    let (o, _) = check_scenario_judging(r, s, "toy.ron", config, &mut |o| {
        ends.insert(signature(o));
    })
    .expect("searches");
    assert!(o.violation.is_none());
    ends
}

/// A configuration of the corpus: a scenario that only observes, and the search's budgets.
struct Case {
    name: &'static str,
    scenario: Scenario,
    config: ExhaustiveConfig,
}

fn corpus(timing: Timing) -> Vec<Case> {
    let r = registry();
    let server = |s: &Scenario| {
        r.prepare(s, "toy.ron")
            .expect("prepares")
            .plan
            .roster
            .members("server")
    };
    let ring = |s: &Scenario| {
        r.prepare(s, "toy.ron")
            .expect("prepares")
            .plan
            .roster
            .members("node")
    };
    let base = ExhaustiveConfig::default().max_depth(14).timing(timing);
    let c = counter(false, false, "Observe");
    let d = counter(true, true, "Observe");
    let rl = relay("Observe");
    let picker = scenario(
        "Toy(shape: Picker)",
        r#"(role: "node", count: 1)"#,
        "Observe",
    );
    let once = relay_with(false, "Observe");
    let mut noise = scenario(
        "Toy(shape: Noise)",
        r#"(role: "node", count: 2)"#,
        "Observe",
    );
    noise.network.default.latency = clustersim::net::Latency::Constant(Duration::ZERO);
    let quiet = scenario(
        "Toy(shape: Counter, memory_only: true)",
        r#"(role: "client", count: 1), (role: "server", count: 1)"#,
        "Observe",
    );
    vec![
        Case {
            name: "a node's own nondeterministic choices",
            config: base.clone(),
            scenario: picker,
        },
        Case {
            name: "counter kept in memory only, a duplicated message",
            config: base.clone().duplicates(1),
            scenario: quiet,
        },
        Case {
            name: "a message ignored, then one recorded, one lost message",
            config: base.clone().drops(1),
            scenario: noise,
        },
        Case {
            name: "relay ring without timeouts, a lost token",
            config: base.clone().drops(1),
            scenario: once,
        },
        Case {
            name: "counter, crash of an unsynced server, with restarts",
            config: base.clone().crashes(1).restarts(true).targets(server(&c)),
            scenario: c.clone(),
        },
        Case {
            name: "counter, a lost and a duplicated message",
            config: base.clone().drops(1).duplicates(1),
            scenario: c,
        },
        Case {
            name: "deduping counter, crash and a lost message",
            config: base
                .clone()
                .drops(1)
                .crashes(1)
                .restarts(true)
                .targets(server(&d)),
            scenario: d,
        },
        Case {
            name: "relay ring, window 2ms, an isolation",
            config: base
                .clone()
                .window(Duration::from_millis(2))
                .isolations(1)
                .targets(ring(&rl)),
            scenario: rl,
        },
    ]
}

/// Fault-free cases where events go ignored (an acknowledgement a client no longer waits for, a
/// retry timer that finds its increment acknowledged), searched with `keep_ignored`: they stay pending, and
/// a state whose only events change nothing ends its run. The walks consume them.
fn ignored_corpus() -> Vec<Case> {
    let base = ExhaustiveConfig::default()
        .max_depth(14)
        .timing(Timing::Untimed)
        .keep_ignored(true);
    vec![
        Case {
            name: "counter retrying on a timer, ignored acknowledgements",
            config: base.clone(),
            scenario: counter(false, false, "Observe"),
        },
        Case {
            name: "counter of three increments retrying on a timer, ignored acknowledgements",
            config: base,
            scenario: scenario(
                "Toy(shape: Counter, ops: 3)",
                r#"(role: "client", count: 1), (role: "server", count: 1)"#,
                "Observe",
            ),
        },
    ]
}

/// Runs the harness: the walks' ends must all be ends the search judged. Returns the first
/// case where one is not.
fn harness(timing: Timing, planted: Option<PlantedBug>) -> Option<String> {
    harness_over(corpus(timing), timing, planted)
}

/// `harness` over `cases`.
fn harness_over(cases: Vec<Case>, timing: Timing, planted: Option<PlantedBug>) -> Option<String> {
    let r = registry();
    for case in cases {
        let config = case.config.clone().planted(planted);
        let (walked, _) = random_walks(&r, &case.scenario, &case.config, 400);
        let searched = searched_ends(&r, &case.scenario, &config);
        assert!(
            walked.len() > 1,
            "{}: the walks reach too little",
            case.name
        );
        if let Some(missed) = walked.iter().find(|w| !searched.contains(*w)) {
            return Some(format!(
                "{} ({timing:?}): a walk reached an end the search never judged ({} walked, \
                 {} searched): {missed}",
                case.name,
                walked.len(),
                searched.len()
            ));
        }
    }
    None
}

#[test]
fn every_end_a_random_walk_reaches_is_an_end_the_timed_search_judged() {
    if let Some(miss) = harness(Timing::Timed, None) {
        panic!("{miss}");
    }
}

#[test]
fn every_end_a_random_walk_reaches_is_an_end_the_untimed_search_judged() {
    if let Some(miss) = harness(Timing::Untimed, None) {
        panic!("{miss}");
    }
}

/// Leaving ignored events pending (stateright's rule) judges every end a walk that consumes
/// them reaches, on fewer states; cutting the states where only ignored events are left
/// (planted) misses ends.
#[test]
fn keeping_ignored_events_pending_judges_every_end_on_fewer_states() {
    if let Some(miss) = harness_over(ignored_corpus(), Timing::Untimed, None) {
        panic!("{miss}");
    }
    assert!(
        harness_over(
            ignored_corpus(),
            Timing::Untimed,
            Some(PlantedBug::CutIgnoredEnds)
        )
        .is_some(),
        "the harness misses ends cut where only ignored events are left"
    );
    let r = registry();
    for case in ignored_corpus() {
        let (kept, _) =
            check_scenario(&r, &case.scenario, "toy.ron", &case.config).expect("searches");
        let all = case.config.clone().keep_ignored(false);
        let (consumed, _) = check_scenario(&r, &case.scenario, "toy.ron", &all).expect("searches");
        assert!(
            kept.unique < consumed.unique,
            "{}: {} states keeping ignored events, {} consuming them",
            case.name,
            kept.unique,
            consumed.unique
        );
    }
}

#[test]
fn each_planted_search_bug_makes_the_harness_fail() {
    for bug in [
        PlantedBug::DropLastChoice,
        PlantedBug::NoDrops,
        PlantedBug::SkipNodeState,
        PlantedBug::OfferCancelledTimers,
    ] {
        for timing in [Timing::Timed, Timing::Untimed] {
            assert!(
                harness(timing, Some(bug)).is_some(),
                "the harness misses the planted {bug:?} ({timing:?})"
            );
        }
    }
    // Budgets left out of a state: caught timed, where the echoed message's two deliveries
    // and its loss meet at one instant. Untimed, the recorded message's timer may fire before
    // the first message is settled, so the lost-data end stays reachable with the budget
    // left and this corpus has no case that shows the bug (noted in issue 34).
    assert!(
        harness(Timing::Timed, Some(PlantedBug::SkipBudgets)).is_some(),
        "the harness misses the planted SkipBudgets (Timed)"
    );
}

#[test]
fn every_failure_random_walks_find_the_search_finds() {
    let r = registry();
    let cases = [
        // Crash before sync loses a count; a duplicated Inc counts twice without dedupe.
        (counter(false, false, "ExactlyOnce, NoDoubleApply"), true),
        // Synced and deduped: survives a crash, a lost and a duplicated message.
        (counter(true, true, "ExactlyOnce, NoDoubleApply"), false),
    ];
    for timing in [Timing::Timed, Timing::Untimed] {
        for (s, fails) in &cases {
            let server = r
                .prepare(s, "toy.ron")
                .expect("prepares")
                .plan
                .roster
                .members("server");
            let config = ExhaustiveConfig::default()
                .max_depth(14)
                .timing(timing)
                .crashes(1)
                .restarts(true)
                .drops(1)
                .duplicates(1)
                .targets(server);
            let (_, walked) = random_walks(&r, s, &config, 400);
            let (o, _) = check_scenario(&r, s, "toy.ron", &config).expect("searches");
            assert_eq!(
                !walked.is_empty(),
                *fails,
                "{timing:?}: walks found {walked:?}"
            );
            assert_eq!(
                o.violation.is_some(),
                !walked.is_empty(),
                "{timing:?}: walks found {walked:?}, search {:?}",
                o.violation.as_ref().map(|v| &v.failed)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Counts worked out by hand.

#[test]
fn state_counts_of_tiny_models_match_counts_worked_out_by_hand() {
    let r = registry();
    // One node: boot (1 state), then two timers due at 10ms of which one was cancelled: the
    // root, after boot, after tick A; the path ends there (1 end, judged). Timed or not.
    for (timing, states) in [(Timing::Timed, 3), (Timing::Untimed, 3)] {
        let (o, _) = check_scenario(
            &r,
            &scenario(
                "Toy(shape: Timers)",
                r#"(role: "node", count: 1)"#,
                "Observe",
            ),
            "toy.ron",
            &ExhaustiveConfig::default().timing(timing),
        )
        .expect("searches");
        assert_eq!((o.unique, o.ends), (states, 1), "{o:?}");
        assert!(o.complete);
    }
    // The ring of three, timed, window 0: the three boots are due together at 0, so the
    // search takes them in every order (2^3 = 8 sets of booted nodes); then the token's four
    // hops one at a time (4); the last hop cancels node1's timeout, node2's fires at 12ms (1)
    // and re-sends a stale token that reaches node0 at 13ms together with node0's own
    // timeout: both orders (2), which meet again (1) before the last stale token arrives at
    // 14ms (1). 8 + 4 + 1 + 2 + 1 + 1 = 17 states, one path end.
    let (o, _) = check_scenario(
        &r,
        &relay("Observe"),
        "toy.ron",
        &ExhaustiveConfig::default(),
    )
    .expect("searches");
    assert_eq!((o.unique, o.ends), (17, 1), "{o:?}");
    assert!(o.complete);
    // Untimed, the timeouts may fire before the next hop arrives: more states, still a finite
    // space that the search exhausts.
    let untimed = ExhaustiveConfig::default().timing(Timing::Untimed);
    let (u, _) = check_scenario(&r, &relay("Observe"), "toy.ron", &untimed).expect("searches");
    assert!(u.unique > o.unique, "{u:?}");
    assert!(u.complete, "{u:?}");
}

#[test]
fn an_invariant_stops_the_search_at_the_first_state_that_violates_it() {
    let r = registry();
    let s = counter(true, false, "NoDoubleApply");
    let server = r
        .prepare(&s, "toy.ron")
        .expect("prepares")
        .plan
        .roster
        .members("server");
    let config = ExhaustiveConfig::default().duplicates(1).targets(server);
    let (o, _) = check_scenario(&r, &s, "toy.ron", &config).expect("searches");
    let v = o.violation.expect("a duplicated Inc is applied twice");
    assert_eq!(v.failed[0].check, "NoDoubleApply");
    assert!(o.invariant_states > 0);
    // The path: boots, the duplicate, two deliveries; nothing in it is longer than needed.
    assert!(
        v.steps.iter().any(|s| matches!(s, Step::Duplicate(_))),
        "{:?}",
        v.steps
    );
    assert!(v.steps.len() <= 6, "{:?}", v.steps);
    // Without duplicates the same protocol never applies twice, and the search says complete.
    let (o, _) = check_scenario(&r, &s, "toy.ron", &config.duplicates(0)).expect("searches");
    assert!(o.violation.is_none() && o.complete, "{o:?}");
}

#[test]
fn every_value_of_a_nondeterministic_choice_is_a_branch_that_replays() {
    let r = registry();
    let s = scenario(
        "Toy(shape: Picker)",
        r#"(role: "node", count: 1)"#,
        "Observe",
    );
    for timing in [Timing::Timed, Timing::Untimed] {
        let mut ends = BTreeSet::new();
        let config = ExhaustiveConfig::default().timing(timing);
        let (o, _) = check_scenario_judging(&r, &s, "toy.ron", &config, &mut |o| {
            ends.insert(signature(o));
        })
        .expect("searches");
        // 3 values at boot, then 2 on the timer: 6 ends, each judged once.
        assert_eq!((o.ends, ends.len()), (6, 6), "{timing:?}: {o:?}");
        assert!(o.complete);
    }
    // A failing path through a choice is written with the values taken, and replays.
    let failing = scenario(
        "Toy(shape: Picker)",
        r#"(role: "node", count: 1)"#,
        "NotTwoThenEleven",
    );
    let (o, searched) =
        check_scenario(&r, &failing, "toy.ron", &ExhaustiveConfig::default()).expect("searches");
    let v = o.violation.expect("fails");
    assert_eq!(
        v.steps,
        vec![
            Step::Choose(Box::new(Step::Run(0)), vec![2]),
            Step::Choose(Box::new(Step::Run(1)), vec![1]),
        ],
        "the boot picks 2, the timer 11"
    );
    let plan = r.prepare(&searched, "toy.ron").expect("prepares").plan;
    let file = clustersim::explore::exhaustive::replay_scenario(&searched, &plan.roster, &v.steps);
    let text = clustersim::scenario::to_ron(&file, &["test".to_string()]);
    let replayed = parse(&text, "min.ron").expect("a path with choices parses");
    let run = clustersim::run::run_scenario(
        &r,
        &replayed,
        "min.ron",
        &clustersim::run::RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(run.outcome.trace_hash(), v.outcome.trace_hash());
    assert!(!run.passed(), "{:?}", run.verdicts);
}

/// Every case of the corpus, timed and untimed, searched on 1 and on 3 threads: the same path
/// ends judged, in the same order, and the same counts.
#[test]
fn the_corpus_searched_on_three_threads_judges_what_one_thread_does() {
    let r = registry();
    for timing in [Timing::Timed, Timing::Untimed] {
        let mut cases = corpus(timing);
        if timing == Timing::Untimed {
            cases.extend(ignored_corpus());
        }
        for case in cases {
            let runs: Vec<(Vec<String>, String)> = [1, 3]
                .into_iter()
                .map(|threads| {
                    let config = case.config.clone().threads(threads);
                    let mut ends = Vec::new();
                    let (o, _) =
                        check_scenario_judging(&r, &case.scenario, "toy.ron", &config, &mut |o| {
                            ends.push(signature(o));
                        })
                        .expect("searches");
                    let counts = format!(
                        "{} {} {} {} {} {}",
                        o.explored, o.unique, o.ends, o.cut, o.invariant_states, o.complete
                    );
                    (ends, counts)
                })
                .collect();
            assert_eq!(runs[0], runs[1], "{} ({timing:?})", case.name);
        }
    }
}

/// Untimed, a step once seen to leave its state exactly as it was (a message redelivered to a
/// node that already handled it: the same node state and event, no clock read, nothing asked)
/// is not run again where it meets the same key. Run anyway under audit, every skipped step
/// changes nothing, and the search counts what it counts without the audit.
#[test]
fn every_step_skipped_as_a_no_op_changes_nothing_when_run() {
    let r = registry();
    let mut cases = corpus(Timing::Untimed);
    cases.extend(corpus(Timing::Untimed).into_iter().map(|c| Case {
        config: c.config.redeliver(true),
        ..c
    }));
    let mut shipped = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/check");
    for file in [
        "two-phase-commit.ron",
        "paxos.ron",
        "queue-reliable-2-workers.ron",
        "raft-election-3.ron",
    ] {
        let s = clustersim::scenario::load(&dir.join(file)).expect("loads");
        shipped.push(Case {
            name: "shipped",
            scenario: s,
            config: ExhaustiveConfig::default()
                .timing(Timing::Untimed)
                .redeliver(true)
                .max_states(20_000),
        });
    }
    let mut skipped = 0;
    for (reg, cases) in [(&r, cases), (&Registry::shipped(), shipped)] {
        for case in cases {
            let run = |config: &ExhaustiveConfig| {
                check_scenario(reg, &case.scenario, "toy.ron", config)
                    .expect("searches")
                    .0
            };
            let plain = run(&case.config);
            let audited = run(&case.config.clone().audit_noops(true));
            let counts = |o: &clustersim::explore::exhaustive::ExhaustiveOutcome| {
                (
                    o.explored,
                    o.unique,
                    o.ends,
                    o.cut,
                    o.skipped_noops,
                    o.complete,
                )
            };
            assert_eq!(counts(&plain), counts(&audited), "{}", case.name);
            skipped += audited.skipped_noops;
        }
    }
    // The audit ran steps the search would have skipped: the shortcut was taken and checked.
    assert!(skipped > 1000, "only {skipped} steps skipped");
}
