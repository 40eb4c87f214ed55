//! Engine throughput in events per second: a ping-pong workload among 3 and among 1,000 nodes
//! (a minimal echo node, hash-only trace, no loss), beside a bare `BinaryHeap` loop doing the
//! equivalent work (pop, one ChaCha latency draw, push) measured in the same run.
//!
//!   cargo bench --bench engine

use clustersim::net::{Latency, LinkSpec, Network};
use clustersim::node::{NodeFactory, Roster};
use clustersim::sim::rng::{stream, Stream};
use clustersim::sim::{Bounds, Sim, SimConfig};
use clustersim::trace::TraceLevel;
use clustersim::{Context, Duration, Node, NodeId};
use rand::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Instant;

const MIN_LATENCY: u64 = 1_000_000;
const MAX_LATENCY: u64 = 10_000_000;

/// Starts one ball towards its right-hand neighbour and sends every ball straight back.
struct Echo;

impl Node for Echo {
    type Msg = u64;
    type Timer = ();
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let n = ctx.roster().len() as u32;
        let next = NodeId((ctx.id().0 + 1) % n);
        ctx.send(next, 0);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
        ctx.send(from, msg + 1);
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}
}

/// Runs the echo cluster for `events` events; returns (events processed, seconds, trace hash).
fn engine(nodes: u32, events: u64) -> (u64, f64, u64) {
    let roster = Roster::new((0..nodes).map(|i| (format!("n{i}"), "n".to_string())));
    let link = LinkSpec {
        latency: Latency::Uniform {
            min: Duration(MIN_LATENCY),
            max: Duration(MAX_LATENCY),
        },
        drop: 0.0,
        duplicate: 0.0,
    };
    let config = SimConfig {
        seed: 1,
        bounds: Bounds {
            max_time: Duration(u64::MAX / 4),
            max_events: events,
            max_memory: clustersim::memory::Bytes(u64::MAX),
        },
        roster,
        network: Network::new(nodes as usize, link),
        schedule: Vec::new(),
        nemesis: None,
        trace: TraceLevel::HashOnly,
    };
    let factory: NodeFactory<Echo> = Box::new(|_, _, _| Echo);
    let started = Instant::now();
    let out = Sim::new(config, factory).run();
    let secs = started.elapsed().as_secs_f64();
    (out.stats.events, secs, out.trace_hash())
}

/// (time, sequence, from, to, payload): the bare loop's queue entry.
type BareEvent = (u64, u64, u32, u32, u64);

/// The same queue work without the engine: `balls` events in flight; each step pops the
/// earliest, draws a latency from ChaCha and pushes the reply.
fn bare(balls: u32, events: u64) -> (u64, f64, u64) {
    let mut rng = stream(1, Stream::Network(0));
    let mut heap: BinaryHeap<Reverse<BareEvent>> = BinaryHeap::new();
    let mut seq = 0u64;
    let started = Instant::now();
    for i in 0..balls {
        let t = rng.random_range(MIN_LATENCY..=MAX_LATENCY);
        heap.push(Reverse((t, seq, i, (i + 1) % balls, 0)));
        seq += 1;
    }
    let mut done = 0u64;
    let mut check = 0u64;
    while done < events {
        let Some(Reverse((t, _, from, to, msg))) = heap.pop() else {
            break;
        };
        done += 1;
        check = check.wrapping_add(t ^ msg);
        let delay = rng.random_range(MIN_LATENCY..=MAX_LATENCY);
        heap.push(Reverse((t + delay, seq, to, from, msg + 1)));
        seq += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    (done, secs, black_box(check))
}

/// Best of `reps` runs, as events per second.
fn best(reps: usize, f: impl Fn() -> (u64, f64, u64)) -> f64 {
    (0..reps)
        .map(|_| {
            let (events, secs, hash) = f();
            black_box(hash);
            events as f64 / secs
        })
        .fold(0.0, f64::max)
}

fn main() {
    let events: u64 = std::env::var("ENGINE_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    println!("engine throughput, {events} events per run, best of 5 runs");
    let only_engine = std::env::var("ENGINE_BENCH_ONLY_ENGINE").is_ok();
    // ENGINE_BENCH_NODES=3 measures one size only (for profiling).
    let sizes: Vec<u32> = match std::env::var("ENGINE_BENCH_NODES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![3, 1_000],
    };
    for nodes in sizes {
        let sim = best(5, || engine(nodes, events));
        let heap = if only_engine {
            f64::NAN
        } else {
            best(5, || bare(nodes, events))
        };
        println!(
            "  {nodes:>5} nodes: engine {:>6.2}M events/s   bare BinaryHeap loop {:>6.2}M events/s   ratio {:.2}x",
            sim / 1e6,
            heap / 1e6,
            heap / sim
        );
    }
}
