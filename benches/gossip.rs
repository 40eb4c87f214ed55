//! Wall time and events per second of the 1,000-node gossip chat room (scenarios/chat-1000.ron),
//! the run and the AllDelivered check timed apart, plus seeds/s on the 20-node chat room.
use clustersim::registry::Registry;
use clustersim::scenario::load;
use clustersim::trace::TraceLevel;
use std::path::Path;
use std::time::Instant;

fn scenario(name: &str) -> clustersim::scenario::Scenario {
    let path = format!("{}/scenarios/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    load(Path::new(&path)).expect("scenario loads")
}

fn main() {
    let registry = Registry::shipped();
    let s = scenario("chat-1000");
    let prepared = registry.prepare(&s, "chat-1000").expect("valid");
    let plan = &prepared.plan;
    let mut runs: Vec<(f64, f64, u64)> = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let outcome = prepared.protocol.run(plan, TraceLevel::HashOnly);
        let ran = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let passed = prepared
            .checks
            .iter()
            .all(|c| c.evaluate(&outcome).passed());
        let checked = start.elapsed().as_secs_f64();
        assert!(passed, "chat-1000 must pass its checks");
        runs.push((ran, checked, outcome.stats.events));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ran, checked, events) = runs[runs.len() / 2];
    println!(
        "chat-1000: median of 3 runs: {ran:.2}s run + {checked:.3}s AllDelivered, {events} events, {:.2}M events/s",
        events as f64 / ran / 1e6
    );

    let s = scenario("chat-gossip");
    let seeds = 200u64;
    let start = Instant::now();
    let mut events = 0;
    for seed in 0..seeds {
        let mut s = s.clone();
        s.seed = seed;
        let prepared = registry.prepare(&s, "chat-gossip").expect("valid");
        events += prepared
            .protocol
            .run(&prepared.plan, TraceLevel::HashOnly)
            .stats
            .events;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "chat-gossip: {seeds} seeds in {secs:.2}s = {:.0} seeds/s on one core, {:.2}M events/s",
        seeds as f64 / secs,
        events as f64 / secs / 1e6
    );
}
