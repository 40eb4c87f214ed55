//! Explorer throughput: seeds per second of a full sweep (every seed run, no early stop) on
//! one thread and on every core, for the worker-crash queue scenarios and the bug zoo's
//! key-value entries. Targets: >= 1,000 seeds/s for the worker-crash queue on 2 cores.
//!
//! The last line sweeps 5-server Raft with 1,000 client operations (raft-1000-ops.ron); target
//! >= 100 seeds/s per core.
//!
//! First, two baselines on the same threads show what the machine itself scales to: a pure
//! ChaCha loop (no memory traffic) and an allocation loop (malloc and free of run-sized
//! buffers). A sweep that scales like them is limited by the machine, not by the sweep.
//!
//!   cargo bench --bench explore
//!   EXPLORE_BENCH_ONLY=raft cargo bench --bench explore    (scenarios whose path contains it)
use clustersim::explore::{progress::Silent, runner, sweep, Budget, Shard, SweepConfig};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::sim::rng::{stream, Stream};
use rand::Rng;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// Work items per second when `threads` threads each do `per_thread` items of `work`.
fn scaled(threads: usize, per_thread: u64, work: fn(u64) -> u64) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || black_box(work(t as u64 * 1_000_003 + per_thread)));
        }
    });
    (threads as u64 * per_thread) as f64 / started.elapsed().as_secs_f64()
}

/// `n` ChaCha draws: compute only.
fn chacha(n: u64) -> u64 {
    let mut rng = stream(n, Stream::Tool(0));
    (0..n % 1_000_003).fold(0u64, |a, _| a ^ rng.random::<u64>())
}

/// `n` rounds of allocating, touching and freeing buffers of a few sizes a run uses.
fn allocate(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n % 1_000_003 {
        let len = [16usize, 64, 256, 4096][(i % 4) as usize];
        let v: Vec<u64> = vec![i; len];
        acc = acc.wrapping_add(v[len / 2]);
    }
    acc
}

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = (1..=cores).collect();
    println!("machine baselines ({cores} cores): items/s on 1..{cores} threads, and efficiency (rate / threads / one-thread rate)");
    for (name, per, work) in [
        ("ChaCha draws", 20_000_000u64, chacha as fn(u64) -> u64),
        ("allocations", 5_000_000, allocate),
    ] {
        let one = scaled(1, per, work);
        let row: Vec<String> = threads
            .iter()
            .map(|&t| {
                let r = if t == 1 { one } else { scaled(t, per, work) };
                format!(
                    "{t}: {:.1}M/s ({:.0}%)",
                    r / 1e6,
                    100.0 * r / one / t as f64
                )
            })
            .collect();
        println!("  {name:<14} {}", row.join("   "));
    }
    let only = std::env::var("EXPLORE_BENCH_ONLY").unwrap_or_default();
    println!("explore throughput ({cores} cores)");
    for (file, seeds) in [
        ("scenarios/worker-crash-naive.ron", 4_000),
        ("scenarios/worker-crash-idempotent.ron", 4_000),
        ("scenarios/zoo/queue-at-least-once.ron", 4_000),
        ("scenarios/zoo/queue-naive-lpop.ron", 4_000),
        ("scenarios/zoo/kv-async-failover.ron", 1_000),
        ("scenarios/zoo/kv-quorum-no-overlap.ron", 1_000),
        ("scenarios/raft-1000-ops.ron", 500),
    ] {
        if !file.contains(only.as_str()) {
            continue;
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let scenario = load(&path).expect("scenario loads");
        let mut one = 0.0;
        for &jobs in &threads {
            let config = SweepConfig::default()
                .first_seed(0)
                .budget(Budget::Seeds(seeds))
                .shard(Shard::ALL)
                .jobs(jobs)
                .keep_going(true)
                .until_covered(false);
            // Best of three: one sweep is a fraction of a second, and the first of a process
            // also pays for its threads' first page faults (1.46x on 2 threads in a row where
            // the same sweep alone measured 1.83-1.94x).
            let o = (0..3)
                .map(|_| {
                    sweep(&scenario, &config, runner(&REGISTRY, file), &Silent).expect("sweeps")
                })
                .max_by(|a, b| a.seeds_per_sec().total_cmp(&b.seeds_per_sec()))
                .expect("three sweeps");
            if jobs == 1 {
                one = o.seeds_per_sec();
            }
            println!(
                "  {file:<42} {jobs} thread(s): {:>6} seeds in {:.2}s = {:>7.0} seeds/s ({:.0}/s/thread, {:.2}x one thread), {:.1}M events/s, {} failing",
                o.runs(),
                o.elapsed.as_secs_f64(),
                o.seeds_per_sec(),
                o.seeds_per_sec() / jobs as f64,
                o.seeds_per_sec() / one,
                o.events as f64 / o.elapsed.as_secs_f64() / 1e6,
                o.failures.len()
            );
        }
    }
}
