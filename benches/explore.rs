//! Explorer throughput: seeds per second of a full sweep (every seed run, no early stop) on
//! one thread and on every core, for the worker-crash queue scenarios and the bug zoo's
//! key-value entries. Targets: >= 1,000 seeds/s for the worker-crash queue on 2 cores.
//!
//! The last line sweeps 5-server Raft with 1,000 client operations (raft-1000-ops.ron); target
//! >= 100 seeds/s per core.
//!
//!   cargo bench --bench explore
use clustersim::explore::{progress::Silent, runner, sweep, Budget, Shard, SweepConfig};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use std::path::Path;

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("explore throughput ({cores} cores)");
    for (file, seeds) in [
        ("scenarios/worker-crash-naive.ron", 4_000),
        ("scenarios/worker-crash-idempotent.ron", 4_000),
        ("scenarios/zoo/queue-at-least-once.ron", 4_000),
        ("scenarios/zoo/queue-naive-lpop.ron", 4_000),
        ("scenarios/zoo/kv-async-failover.ron", 1_000),
        ("scenarios/zoo/kv-quorum-sloppy.ron", 1_000),
        ("scenarios/raft-1000-ops.ron", 500),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let scenario = load(&path).expect("scenario loads");
        for jobs in [1, cores] {
            let config = SweepConfig {
                first_seed: 0,
                budget: Budget::Seeds(seeds),
                shard: Shard::ALL,
                jobs,
                keep_going: true,
            };
            let o = sweep(&scenario, &config, runner(&REGISTRY, file), &Silent).expect("sweeps");
            println!(
                "  {file:<42} {jobs} thread(s): {:>6} seeds in {:.2}s = {:>7.0} seeds/s ({:.0}/s/thread), {:.1}M events/s, {} failing",
                o.runs(),
                o.elapsed.as_secs_f64(),
                o.seeds_per_sec(),
                o.seeds_per_sec() / jobs as f64,
                o.events as f64 / o.elapsed.as_secs_f64() / 1e6,
                o.failures.len()
            );
        }
    }
}
