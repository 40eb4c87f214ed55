//! Engine throughput in events per second: a ping-pong workload among 3 to 1,000,000 nodes (a
//! minimal echo node, hash-only trace, no loss), beside a bare `BinaryHeap` loop doing the
//! equivalent work (pop, one ChaCha latency draw, push) measured in the same run; first, the
//! candidate event queues alone on the same hold model (`BinaryHeap`, the engine's slab heap
//! with 2, 4 and 8 children per node, its calendar queue, and the adaptive queue it runs on).
//! (A radix heap, the large queue until December 2026, measured 6.2 against the calendar's 9.4
//! M steps/s at 1,000,000 pending and 22 against 31 at 10,000; `git log` has it.)
//!
//!   cargo bench --bench engine
//!   ENGINE_BENCH_NODES=1000,100000 ENGINE_BENCH_EVENTS=5000000 cargo bench --bench engine

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
        bandwidth: None,
    };
    let config = SimConfig::new(roster, Network::new(nodes as usize, link))
        .seed(1)
        .bounds(
            Bounds::new(Duration(u64::MAX / 4), events)
                .max_memory(clustersim::memory::Bytes(u64::MAX)),
        )
        .schedule(Vec::new())
        .nemesis(None)
        .trace(TraceLevel::HashOnly)
        .scheduler(Default::default())
        .history_file(None);
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

/// Events per second of one measured run.
fn rate((events, secs, hash): (u64, f64, u64)) -> f64 {
    black_box(hash);
    events as f64 / secs
}

/// Best of `reps` interleaved rounds of each contender, as events per second: on a shared
/// machine a slow spell then hits every contender, not just one.
fn best_interleaved<const N: usize>(
    reps: usize,
    runs: [&dyn Fn() -> (u64, f64, u64); N],
) -> [f64; N] {
    let mut best = [0.0f64; N];
    for _ in 0..reps {
        for (b, run) in best.iter_mut().zip(runs.iter()) {
            *b = b.max(rate(run()));
        }
    }
    best
}

/// The hold model on one queue: `pending` events in flight; each step pops the earliest and
/// pushes one a ChaCha-drawn latency later. Returns (steps, seconds, checksum).
fn hold<Q>(
    pending: u32,
    steps: u64,
    mut q: Q,
    push: impl Fn(&mut Q, u64, u64),
    pop: impl Fn(&mut Q) -> Option<(u64, u64)>,
) -> (u64, f64, u64) {
    let mut rng = stream(2, Stream::Network(0));
    for i in 0..pending {
        push(
            &mut q,
            rng.random_range(MIN_LATENCY..=MAX_LATENCY),
            u64::from(i),
        );
    }
    let started = Instant::now();
    let mut check = 0u64;
    let mut done = 0;
    while done < steps {
        let Some((t, v)) = pop(&mut q) else { break };
        done += 1;
        check = check.wrapping_add(t ^ v);
        push(
            &mut q,
            t + rng.random_range(MIN_LATENCY..=MAX_LATENCY),
            v + 1,
        );
    }
    (done, started.elapsed().as_secs_f64(), check)
}

/// The candidate queues side by side on the hold model, each keeping (time, insertion) order.
fn queues(sizes: &[u32], steps: u64) {
    use clustersim::sim::queue::EventQueue;
    use clustersim::time::SimTime;
    println!("event queue candidates, hold model, {steps} pop+push steps, best of 5 interleaved rounds (M steps/s)");
    println!(
        "  {:>9}  {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "pending", "BinaryHeap", "2-ary slab", "4-ary slab", "8-ary slab", "calendar", "adaptive"
    );
    // children 0: the adaptive queue the engine uses; 1: the calendar queue.
    fn slab(children: usize, pending: u32, steps: u64) -> (u64, f64, u64) {
        hold(
            pending,
            steps,
            if children == 0 {
                EventQueue::new()
            } else if children == 1 {
                EventQueue::calendar()
            } else {
                EventQueue::with_children(children)
            },
            |q, t, v| q.push(SimTime(t), v),
            |q| q.pop().map(|(t, v)| (t.0, v)),
        )
    }
    for &n in sizes {
        let heap = || {
            let counter = std::cell::Cell::new(0u64);
            hold(
                n,
                steps,
                BinaryHeap::<Reverse<(u64, u64, u64)>>::new(),
                |q, t, v| {
                    let s = counter.get();
                    counter.set(s + 1);
                    q.push(Reverse((t, s, v)));
                },
                |q| q.pop().map(|Reverse((t, _, v))| (t, v)),
            )
        };
        let [h, b2, b4, b8, cal, ad] = best_interleaved(
            5,
            [
                &heap,
                &|| slab(2, n, steps),
                &|| slab(4, n, steps),
                &|| slab(8, n, steps),
                &|| slab(1, n, steps),
                &|| slab(0, n, steps),
            ],
        );
        println!(
            "  {n:>9}  {:>12.2} {:>12.2} {:>12.2} {:>12.2} {:>12.2} {:>12.2}",
            h / 1e6,
            b2 / 1e6,
            b4 / 1e6,
            b8 / 1e6,
            cal / 1e6,
            ad / 1e6
        );
    }
}

fn main() {
    let events: u64 = std::env::var("ENGINE_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let only_engine = std::env::var("ENGINE_BENCH_ONLY_ENGINE").is_ok();
    // ENGINE_BENCH_NODES=3 measures one size only (for profiling).
    let sizes: Vec<u32> = match std::env::var("ENGINE_BENCH_NODES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![3, 1_000, 10_000, 100_000, 1_000_000],
    };
    if std::env::var("ENGINE_BENCH_NO_QUEUES").is_err() && !only_engine {
        queues(&sizes, events);
    }
    println!("engine throughput, {events} events per run, best of 5 interleaved rounds");
    for nodes in sizes {
        let (sim, heap) = if only_engine {
            (
                best_interleaved(5, [&|| engine(nodes, events)])[0],
                f64::NAN,
            )
        } else {
            let [sim, heap] =
                best_interleaved(5, [&|| engine(nodes, events), &|| bare(nodes, events)]);
            (sim, heap)
        };
        println!(
            "  {nodes:>7} nodes: engine {:>6.2}M events/s   bare BinaryHeap loop {:>6.2}M events/s   ratio {:.2}x",
            sim / 1e6,
            heap / 1e6,
            heap / sim
        );
    }
}
