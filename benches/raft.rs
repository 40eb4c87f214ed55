//! Raft throughput: wall time and engine events per second for one 5-server Raft run with
//! 1,000 client operations (no faults, then with the leader crashing), printed as plain lines.
//!
//!   cargo bench --bench raft
use clustersim::protocols::ProtocolSpec;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, Scenario};
use clustersim::time::Duration;
use std::path::Path;
use std::time::Instant;

/// raft-leader-crash.ron with 1,000 operations shared by its two clients and no final reads.
fn thousand_ops(with_crash: bool) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-leader-crash.ron");
    let mut s = load(&path).expect("scenario loads");
    s.workload.ops = 1_000;
    s.workload.stop = None;
    s.workload.interval = Duration::from_millis(10);
    s.bounds.max_time = Duration::from_secs(12);
    if !with_crash {
        s.faults.clear();
    }
    if let ProtocolSpec::Raft(p) = &mut s.protocol {
        p.final_reads = None;
    }
    s.checks.retain(|c| c.name() != "Durable");
    s
}

fn main() {
    for (label, crash) in [("no faults", false), ("leader crash", true)] {
        let s = thousand_ops(crash);
        let runs = 50u64;
        let start = Instant::now();
        let (mut events, mut calls, mut ok, mut failed) = (0u64, 0usize, 0usize, 0usize);
        for seed in 0..runs {
            let opts = RunOptions {
                seed: Some(seed),
                ..RunOptions::default()
            };
            let r = run_scenario(&s, "raft-1000", &opts).expect("runs");
            events += r.outcome.stats.events;
            let c = r.outcome.history.calls();
            calls += c.len();
            ok += c
                .iter()
                .filter(|c| c.outcome == clustersim::history::Phase::Ok)
                .count();
            failed += usize::from(!r.passed());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "raft 5 servers, 1,000 ops, {label}: {:.2} ms/run (with checks), {:.2}M events/s, {} events/run, {} calls/run ({} ok), {failed} of {runs} runs failing",
            secs * 1e3 / runs as f64,
            events as f64 / secs / 1e6,
            events / runs,
            calls / runs as usize,
            ok / runs as usize,
        );
    }
}
