//! Messages per second through the Maelstrom adapter: a trivial Python echo node
//! (`maelstrom/python/echo.py`) answering eight clients for 20 s of virtual time, every
//! request a process round trip (written to the program's stdin, read back from its stdout,
//! the program judged quiet from /proc). Prints round trips per second and the cost of one,
//! beside the time Python alone takes to start, so the adapter's share shows. Then the same
//! load on a lin-kv proxy (`maelstrom/python/lin_kv.py`) in front of the `lin-kv` service node:
//! each call is two process round trips (the request in, the service's answer in) and one
//! service request handled in Rust, so the service's own share shows.
use clustersim::registry::Registry;
use clustersim::scenario::parse;
use clustersim::trace::TraceLevel;
use std::time::Instant;

const SCENARIO: &str = r#"(
    name: "maelstrom-echo-bench",
    seed: 1,
    bounds: (max_time: "20s", max_events: 100000000),
    nodes: [(role: "n", count: 1), (role: "c", count: 8)],
    protocol: Maelstrom(bin: "maelstrom/python/echo.py", workload: Echo),
    network: (default: (latency: Constant("1ms"))),
    workload: (interval: "1ms", start: "1ms", stop: "20s", timeout: "1s"),
    checks: [Echo],
)"#;

const LIN_KV: &str = r#"(
    name: "maelstrom-lin-kv-bench",
    seed: 1,
    bounds: (max_time: "5s", max_events: 100000000),
    nodes: [(role: "n", count: 1), (role: "c", count: 8), (role: "services", names: ["lin-kv"])],
    protocol: Maelstrom(bin: "maelstrom/python/lin_kv.py", workload: LinKv),
    network: (default: (latency: Constant("1ms"))),
    workload: (interval: "1ms", start: "1ms", stop: "5s", timeout: "1s", keys: 8, cas: 0.3),
    checks: [Linearizable],
)"#;

/// The median of three runs of `text`: (seconds, client calls).
fn median_run(text: &str) -> (f64, u64) {
    let registry = Registry::shipped();
    let s = parse(text, "bench").expect("scenario parses");
    let prepared = registry.prepare(&s, "bench").expect("valid");
    let mut runs: Vec<(f64, u64)> = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let outcome = prepared.protocol.run(&prepared.plan, TraceLevel::HashOnly);
        let secs = start.elapsed().as_secs_f64();
        assert!(prepared
            .checks
            .iter()
            .all(|c| c.evaluate(&outcome).passed()));
        // Every call is one request of a client; an echo is one process round trip.
        runs.push((secs, outcome.history.calls().len() as u64));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[1]
}

fn main() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate's root");
    let (secs, trips) = median_run(SCENARIO);
    let start = Instant::now();
    let boots = 10;
    for _ in 0..boots {
        std::process::Command::new("python3")
            .args(["-c", "pass"])
            .status()
            .expect("python3 runs");
    }
    let boot = start.elapsed().as_secs_f64() / f64::from(boots);
    println!(
        "maelstrom echo: median of 3 runs: {trips} round trips in {secs:.2}s: {:.0} messages/s, \
         {:.0}us per process round trip (python3 itself starts in {:.1}ms)",
        trips as f64 / secs,
        secs / trips as f64 * 1e6,
        boot * 1e3
    );
    let (secs, calls) = median_run(LIN_KV);
    println!(
        "maelstrom lin-kv through the lin-kv service: median of 3 runs: {calls} calls in \
         {secs:.2}s: {:.0} calls/s, {:.0}us per call (two process round trips and one service \
         request)",
        calls as f64 / secs,
        secs / calls as f64 * 1e6
    );
}
