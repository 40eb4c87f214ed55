//! Explorer throughput: seeds per second of a full sweep (every seed run, no early stop) on
//! one thread and on every core, for the worker-crash queue scenarios and the bug zoo's
//! key-value entries. Targets: >= 1,000 seeds/s for the worker-crash queue on 2 cores.
//!
//! The last line sweeps 5-server Raft with 1,000 client operations (raft-leader-crash.ron with
//! its workload raised to 1,000 operations); target >= 100 seeds/s per core.
//!
//!   cargo bench --bench explore
use clustersim::explore::{builtin_runner, progress::Silent, sweep, Budget, Shard, SweepConfig};
use clustersim::protocols::ProtocolSpec;
use clustersim::scenario::{load, Scenario};
use clustersim::time::Duration;
use std::path::Path;

/// raft-leader-crash.ron with 1,000 operations shared by its two clients and no final reads.
fn raft_thousand_ops() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-leader-crash.ron");
    let mut s = load(&path).expect("scenario loads");
    s.workload.ops = 1_000;
    s.workload.stop = None;
    s.workload.interval = Duration::from_millis(10);
    s.bounds.max_time = Duration::from_secs(12);
    if let ProtocolSpec::Raft(p) = &mut s.protocol {
        p.final_reads = None;
    }
    s.checks.retain(|c| c.name() != "Durable");
    s
}

/// The name the Raft line prints.
const RAFT_1000: &str = "raft, 5 servers, 1,000 ops";

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
        (RAFT_1000, 500),
    ] {
        let scenario = if file == RAFT_1000 {
            raft_thousand_ops()
        } else {
            load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("scenario loads")
        };
        for jobs in [1, cores] {
            let config = SweepConfig {
                first_seed: 0,
                budget: Budget::Seeds(seeds),
                shard: Shard::ALL,
                jobs,
                keep_going: true,
            };
            let o = sweep(&scenario, &config, builtin_runner(file), &Silent).expect("sweeps");
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
