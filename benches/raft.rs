//! Raft throughput: wall time and engine events per second for one 5-server Raft run with
//! 1,000 client operations (scenarios/raft-1000-ops.ron without faults, then with its leader
//! crash), printed as plain lines.
//!
//!   cargo bench --bench raft
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, Scenario};
use std::path::Path;
use std::time::Instant;

/// scenarios/raft-1000-ops.ron, with or without its leader crash.
fn thousand_ops(with_crash: bool) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-1000-ops.ron");
    let mut s = load(&path).expect("scenario loads");
    if !with_crash {
        s.faults.clear();
    }
    s
}

fn main() {
    for (label, crash) in [("no faults", false), ("leader crash", true)] {
        let s = thousand_ops(crash);
        let runs = 50u64;
        let start = Instant::now();
        let (mut events, mut calls, mut ok, mut failed) = (0u64, 0usize, 0usize, 0usize);
        for seed in 0..runs {
            let opts = RunOptions::default().seed(Some(seed));
            let r = run_scenario(&Registry::shipped(), &s, "raft-1000", &opts).expect("runs");
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
