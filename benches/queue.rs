//! Seeds per second on the worker-crash queue scenarios (the explorer's bug zoo runs them by
//! the thousand), printed as plain figures.
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::load;
use std::path::Path;
use std::time::Instant;

fn main() {
    for name in [
        "worker-crash-naive",
        "worker-crash-idempotent",
        "queue-failover",
    ] {
        let path = format!("{}/scenarios/{name}.ron", env!("CARGO_MANIFEST_DIR"));
        let scenario = load(Path::new(&path)).expect("scenario loads");
        let seeds = 2_000u64;
        let start = Instant::now();
        let mut failed = 0;
        let mut events = 0;
        for seed in 0..seeds {
            let opts = RunOptions::default().seed(Some(seed));
            let r = run_scenario(&Registry::shipped(), &scenario, name, &opts).expect("runs");
            events += r.outcome.stats.events;
            failed += usize::from(!r.passed());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name}: {seeds} seeds in {secs:.2}s = {:.0} seeds/s on one core, {:.2}M events/s, {failed} failing",
            seeds as f64 / secs,
            events as f64 / secs / 1e6
        );
    }
}
