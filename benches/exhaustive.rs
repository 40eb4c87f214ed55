//! Exhaustive search throughput: distinct states per second (and states reached, counting
//! repeats) on the 2-worker reliable queue (one worker crash at any step) and a 3-server Raft
//! election (every order of events due within 1 ms), best of 3. stateright reports about 1.1M
//! states/s on its 2PC model; its states are small values without clocks, disks or a history,
//! where each state here is a whole run (engine, storage, history) copied and fingerprinted:
//! the copy shares every node and random stream with its parent until a step writes one, and
//! the fingerprint rehashes only the node the step ran on. "states" counts every state reached
//! (repeats included), "distinct" the states kept.
//!
//!   cargo bench --bench exhaustive
use clustersim::explore::exhaustive::{check_scenario, default_faults, ExhaustiveConfig};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::Duration;
use std::path::Path;

fn main() {
    let registry = Registry::shipped();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/check");
    println!(
        "{:<32} {:>10} {:>10} {:>7} {:>8} {:>14}",
        "model", "states", "distinct", "ends", "seconds", "distinct/s"
    );
    for (file, window, crashes) in [
        ("queue-reliable-2-workers.ron", Duration::ZERO, None),
        ("queue-naive-2-workers.ron", Duration::ZERO, None),
        ("raft-election-3.ron", Duration::from_millis(1), Some(0)),
        ("raft-election-3.ron", Duration::ZERO, None),
    ] {
        let s = load(&dir.join(file)).expect("loads");
        let plan = registry.prepare(&s, file).expect("prepares").plan;
        let faults = default_faults(&s, &plan.roster);
        let config = ExhaustiveConfig {
            window,
            targets: faults.targets,
            crashes: crashes.unwrap_or(faults.crashes),
            ..ExhaustiveConfig::default()
        };
        let best = (0..3)
            .map(|_| {
                check_scenario(&registry, &s, file, &config)
                    .expect("searches")
                    .0
            })
            .max_by(|a, b| a.states_per_sec().total_cmp(&b.states_per_sec()))
            .expect("ran");
        let label = format!("{file} w={window} c={}", config.crashes);
        println!(
            "{label:<32} {:>10} {:>10} {:>7} {:>8.3} {:>14.0}",
            best.explored,
            best.unique,
            best.ends,
            best.elapsed.as_secs_f64(),
            best.states_per_sec()
        );
    }
}
