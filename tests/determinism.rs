//! Determinism: a scenario and a seed replay the same run, in one process and across processes;
//! different seeds give different runs; a node's own random stream does not disturb anyone else's.

use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, Scenario};
use clustersim::sim::{Bounds, Sim, SimConfig};
use clustersim::trace::{TraceKind, TraceLevel};
use clustersim::{Context, Duration, Node, NodeId, SimTime};
use rand::Rng;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const SCENARIOS: [&str; 4] = [
    "scenarios/ping-partition.ron",
    "scenarios/ping-flaky.ron",
    "scenarios/ping-crash-restart.ron",
    "scenarios/ping-clock-skew.ron",
];

fn scenario(path: &str) -> Scenario {
    load(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_path()).expect("bundled scenario")
}

fn run(s: &Scenario, seed: Option<u64>, trace: TraceLevel) -> clustersim::run::Report {
    let opts = RunOptions::default().seed(seed).trace(trace);
    run_scenario(&Registry::shipped(), s, "test", &opts).expect("valid scenario")
}

#[test]
fn same_seed_twice_in_one_process_gives_the_same_trace() {
    for path in SCENARIOS {
        let s = scenario(path);
        let a = run(&s, None, TraceLevel::Full);
        let b = run(&s, None, TraceLevel::Full);
        assert_eq!(a.outcome.trace_hash(), b.outcome.trace_hash(), "{path}");
        assert!(!a.outcome.trace.events().is_empty());
        assert_eq!(a.outcome.trace.events(), b.outcome.trace.events(), "{path}");
        assert!(a.outcome.history.entries().eq(b.outcome.history.entries()));
        assert_eq!(a.outcome.stats, b.outcome.stats);
        // Keeping events does not change what is hashed.
        let c = run(&s, None, TraceLevel::HashOnly);
        assert_eq!(a.outcome.trace_hash(), c.outcome.trace_hash(), "{path}");
        assert!(c.outcome.trace.events().is_empty());
    }
}

fn hash_from_binary(path: &str, seed: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", path, "--quiet", "--seed", &seed.to_string()])
        .output()
        .expect("run clustersim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{path}: {stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace hash: "))
        .unwrap_or_else(|| panic!("no trace hash in {stdout}"))
        .to_string()
}

#[test]
fn same_seed_in_two_processes_gives_the_same_hash() {
    for (path, seed) in [(SCENARIOS[0], 42), (SCENARIOS[1], 9)] {
        let first = hash_from_binary(path, seed);
        let second = hash_from_binary(path, seed);
        assert_eq!(first, second, "{path}");
        assert_eq!(first.len(), 16);
        // ... and the same as this process computes.
        let here = run(&scenario(path), Some(seed), TraceLevel::HashOnly);
        assert_eq!(first, format!("{:016x}", here.outcome.trace_hash()));
    }
    assert_ne!(
        hash_from_binary(SCENARIOS[0], 1),
        hash_from_binary(SCENARIOS[0], 2)
    );
}

#[test]
fn twenty_seeds_give_at_least_nineteen_hashes() {
    for path in [SCENARIOS[0], SCENARIOS[1]] {
        let s = scenario(path);
        let hashes: BTreeSet<u64> = (0..20)
            .map(|seed| {
                run(&s, Some(seed), TraceLevel::HashOnly)
                    .outcome
                    .trace_hash()
            })
            .collect();
        assert!(hashes.len() >= 19, "{path}: {} distinct", hashes.len());
    }
}

/// Nodes 0..3 send to a random one of the others every tick (drawing from their own RNG);
/// any further node only talks to itself and draws heavily from its RNG.
#[derive(Debug)]
struct Gossip;

impl Node for Gossip {
    type Msg = u64;
    type Timer = ();
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(Duration::from_millis(5), ());
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
        if ctx.id().0 < 3 && msg.is_multiple_of(2) {
            ctx.send(from, msg + 1);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        let me = ctx.id();
        if me.0 < 3 {
            let peer = NodeId((me.0 + ctx.rng().random_range(1..3)) % 3);
            let payload = ctx.rng().random::<u64>() & !1;
            ctx.send(peer, payload);
            let next = Duration::from_millis(ctx.rng().random_range(3..8));
            ctx.set_timer(next, ());
        } else {
            for _ in 0..10 {
                let _: u64 = ctx.rng().random();
            }
            ctx.send(me, 0);
            ctx.send(me, 1);
            ctx.set_timer(Duration::from_millis(1), ());
        }
    }
}

/// (time, kind, from, to) of every send, delivery and drop among nodes 0..3, without message ids
/// (ids count every message in the cluster, so the extra node's messages shift them).
fn network_among_first_three(nodes: u32) -> Vec<(SimTime, &'static str, u32, u32)> {
    let roster = Roster::new((0..nodes).map(|i| (format!("n{i}"), "n".to_string())));
    let link = LinkSpec {
        latency: Latency::LogNormal {
            median: Duration::from_millis(2),
            sigma: 0.8,
            floor: Duration::from_micros(200),
        },
        drop: 0.1,
        duplicate: 0.05,
        bandwidth: None,
    };
    let config = SimConfig::new(roster, Network::new(nodes as usize, link))
        .seed(99)
        .bounds(
            Bounds::new(Duration::from_secs(2), 1_000_000)
                .max_memory(clustersim::memory::DEFAULT_BUDGET),
        )
        .schedule(Vec::new())
        .nemesis(None)
        .trace(TraceLevel::Full)
        .scheduler(Default::default())
        .history_file(None);
    let factory: NodeFactory<Gossip> = Box::new(|_, _, _| Gossip);
    let out = Sim::new(config, factory).run();
    out.trace
        .events()
        .iter()
        .filter_map(|e| {
            let (kind, from, to) = match e.kind {
                TraceKind::Send { from, to, .. } => ("send", from, to),
                TraceKind::Deliver { from, to, .. } => ("deliver", from, to),
                TraceKind::Drop { from, to, .. } => ("drop", from, to),
                TraceKind::Duplicate { from, to, .. } => ("duplicate", from, to),
                _ => return None,
            };
            (from.0 < 3 && to.0 < 3).then_some((e.time, kind, from.0, to.0))
        })
        .collect()
}

#[test]
fn an_extra_node_does_not_shift_the_network_draws_of_the_others() {
    let alone = network_among_first_three(3);
    let with_extra = network_among_first_three(4);
    assert!(alone.len() > 1000, "{} events", alone.len());
    for kind in ["drop", "duplicate"] {
        assert!(alone.iter().any(|e| e.1 == kind), "no {kind} to compare");
    }
    assert_eq!(alone, with_extra);
}

// ---------------------------------------------------------------------------------------------
// `--check-determinism`: a user's protocol that iterates a HashMap over its peers is caught.

/// Each node greets its peers in the order its map of them gives: a `HashMap`'s order differs
/// from one map to the next, a `BTreeMap`'s never does.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct GreetParams {
    hash_map: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Hello;

enum Peers {
    Hashed(std::collections::HashMap<NodeId, u64>),
    Ordered(std::collections::BTreeMap<NodeId, u64>),
}

struct Greeter {
    peers: Peers,
}

impl Node for Greeter {
    type Msg = Hello;
    type Timer = ();
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let order: Vec<NodeId> = match &self.peers {
            Peers::Hashed(m) => m.keys().copied().collect(),
            Peers::Ordered(m) => m.keys().copied().collect(),
        };
        for p in order {
            ctx.send(p, Hello);
        }
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, from: NodeId, _: Hello) {
        match &mut self.peers {
            Peers::Hashed(m) => *m.entry(from).or_default() += 1,
            Peers::Ordered(m) => *m.entry(from).or_default() += 1,
        }
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
}

impl clustersim::Protocol for GreetParams {
    type Node = Greeter;
    const NAME: &'static str = "Greet";

    fn validate(&self, _: &clustersim::scenario::Plan) -> Result<(), String> {
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &[]
    }

    fn factory(&self, _: &clustersim::scenario::Plan) -> NodeFactory<Greeter> {
        let hash_map = self.hash_map;
        Box::new(move |id, roster, _| {
            let others = roster.ids().filter(|p| *p != id).map(|p| (p, 0));
            Greeter {
                peers: if hash_map {
                    Peers::Hashed(others.collect())
                } else {
                    Peers::Ordered(others.collect())
                },
            }
        })
    }
}

fn greet(hash_map: bool) -> Scenario {
    let text = format!(
        r#"(
    name: "greet",
    seed: 1,
    bounds: (max_time: "1s"),
    nodes: [(role: "node", count: 20)],
    protocol: Greet(hash_map: {hash_map}),
    network: (default: (latency: Uniform(min: "1ms", max: "5ms"))),
    checks: [],
)"#
    );
    clustersim::scenario::parse(&text, "greet.ron").expect("parses")
}

#[test]
fn check_determinism_catches_a_protocol_that_iterates_a_hash_map() {
    use clustersim::run::{check_determinism, Determinism};
    let r = Registry::shipped().protocol::<GreetParams>();
    let opts = RunOptions::default();
    let s = greet(true);
    let first = run_scenario(&r, &s, "greet.ron", &opts).expect("runs");
    match check_determinism(&r, &s, "greet.ron", &opts, first.outcome.trace_hash()).expect("runs") {
        Determinism::Differs { divergence, .. } => {
            let d = divergence.expect("two runs with whole traces part somewhere");
            assert!(d.contains("in one run") && d.contains("send"), "{d}");
        }
        same => panic!("a HashMap's order went unnoticed: {same:?}"),
    }
    // The same protocol over a BTreeMap replays.
    let s = greet(false);
    let first = run_scenario(&r, &s, "greet.ron", &opts).expect("runs");
    assert_eq!(
        check_determinism(&r, &s, "greet.ron", &opts, first.outcome.trace_hash()).expect("runs"),
        Determinism::Same(first.outcome.trace_hash())
    );
}

/// Every bundled scenario of the shipped protocols replays under `--check-determinism`.
#[test]
fn every_bundled_scenario_passes_the_determinism_check() {
    use clustersim::run::{check_determinism, Determinism};
    let registry = Registry::shipped();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/trace-hashes.tsv"),
    )
    .expect("table");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let file = line.split('\t').next().expect("file");
        let s = scenario(file);
        if !registry.knows_protocol(s.protocol.name()) {
            continue;
        }
        let opts = RunOptions::default();
        let first = run_scenario(&registry, &s, file, &opts).expect("runs");
        let d = check_determinism(&registry, &s, file, &opts, first.outcome.trace_hash())
            .expect("runs");
        assert!(matches!(d, Determinism::Same(_)), "{file}: {d:?}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked}");
}

/// `run --check-determinism` and `explore --check-determinism` say a bundled run replays.
#[test]
fn the_cli_checks_determinism_on_run_and_on_the_failing_seed_and_shrunk_file() {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(bin)
        .args(["run", "scenarios/ping-partition.ron", "--check-determinism"])
        .current_dir(root)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("determinism: a second run gave the same trace hash"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("clustersim-det-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(bin)
        .args([
            "explore",
            "scenarios/zoo/queue-naive-lpop.ron",
            "--check-determinism",
            "--out",
            dir.to_str().expect("utf-8"),
        ])
        .current_dir(root)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("determinism: the failing seed replays"),
        "{text}"
    );
    assert!(
        text.contains("determinism: the shrunk file replays"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
