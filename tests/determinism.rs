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
    let opts = RunOptions {
        seed,
        trace,
        ..RunOptions::default()
    };
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
    };
    let config = SimConfig {
        seed: 99,
        bounds: Bounds {
            max_time: Duration::from_secs(2),
            max_events: 1_000_000,
            max_memory: clustersim::memory::DEFAULT_BUDGET,
        },
        roster,
        network: Network::new(nodes as usize, link),
        schedule: Vec::new(),
        nemesis: None,
        trace: TraceLevel::Full,
        scheduler: Default::default(),
        history_file: None,
    };
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
