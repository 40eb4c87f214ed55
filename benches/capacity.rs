//! The capacity model: throughput against offered load (the knee) for one server, for a
//! Raft group of 1, 3 and 5 servers, and for the sharded store with 1, 2, 4 and 8 groups, every
//! server taking 1 ms (exponential) to handle a message; then what the model costs the engine when it is on, in events per second of the
//! same open-loop run with and without it. Printed as tables; `ratio` is each curve's peak over
//! the one server's.
//!
//!   cargo bench --bench capacity
use clustersim::explore::load::{sweep_load, LoadCurve, LoadSweep};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, Scenario};
use clustersim::Duration;
use std::path::Path;
use std::time::Instant;

fn scenario(file: &str) -> Scenario {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("scenario loads")
}

fn print(curves: &[LoadCurve], base: f64) {
    for c in curves {
        println!("  {}", c.label);
        println!("    {:>10} {:>11} {:>10}", "offered/s", "ok calls/s", "p99");
        for p in &c.points {
            let (ok, p99) = p.load.as_ref().map_or((0.0, "-".to_string()), |l| {
                (
                    l.throughput,
                    l.latency.map_or("-".to_string(), |q| q.p99.to_string()),
                )
            });
            println!("    {:>10.0} {:>11.1} {:>10}", p.offered, ok, p99);
        }
        let knee = c.knee().map_or("none".to_string(), |k| format!("{k:.0}/s"));
        println!(
            "    knee {knee}, peak {:.1} ok calls/s, ratio {:.2}",
            c.peak(),
            c.peak() / base.max(1e-9)
        );
    }
}

fn main() {
    let registry = Registry::shipped();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rates: Vec<f64> = (1..=10).map(|i| 200.0 * f64::from(i)).collect();

    let start = Instant::now();
    let one = scenario("scenarios/capacity/one-server.ron");
    let sweep = LoadSweep {
        rates: rates.clone(),
        sizes: None,
        after: Duration::ZERO,
        until: Some(Duration::from_millis(2_500)),
        jobs,
    };
    let single = sweep_load(&registry, &one, "one-server", &sweep).expect("sweeps");
    let base = single[0].peak();
    println!("one server, 1 ms exponential service (scenarios/capacity/one-server.ron)");
    print(&single, base);

    let raft = scenario("scenarios/capacity/raft-3.ron");
    let sweep = LoadSweep {
        rates,
        sizes: Some(("server".to_string(), vec![1, 3, 5])),
        after: Duration::from_millis(1_200),
        until: Some(Duration::from_millis(3_400)),
        jobs,
    };
    let groups = sweep_load(&registry, &raft, "raft-3", &sweep).expect("sweeps");
    println!(
        "one Raft group, 1 ms exponential service per message (scenarios/capacity/raft-3.ron)"
    );
    print(&groups, base);

    // The sharded store: one group per server, 8 shards, 1 ms per message at each group.
    let sharded = scenario("scenarios/capacity/shardkv-groups.ron");
    let sweep = LoadSweep {
        rates: (1..=10).map(|i| 1_000.0 * f64::from(i)).collect(),
        sizes: Some(("server".to_string(), vec![1, 2, 4, 8])),
        after: Duration::from_millis(1_200),
        until: Some(Duration::from_millis(3_400)),
        jobs,
    };
    let shards = sweep_load(&registry, &sharded, "shardkv-groups", &sweep).expect("sweeps");
    println!(
        "sharded store, 1 to 8 groups, 1 ms exponential service per message \
         (scenarios/capacity/shardkv-groups.ron)"
    );
    print(&shards, base);
    let one_group = shards[0].peak();
    for c in &shards {
        println!(
            "  {}: peak {:.0} ok calls/s, {:.2}x one group's",
            c.label,
            c.peak(),
            c.peak() / one_group.max(1e-9)
        );
    }
    println!(
        "sweeps: {} runs in {:.2} s",
        10 + 30 + 40,
        start.elapsed().as_secs_f64()
    );

    // What the model costs when on: the same open-loop run, best of 5, with and without it.
    println!();
    println!(
        "{:<34} {:>10} {:>12} {:>8}",
        "engine", "events", "events/s", "ratio"
    );
    // Checks left out: the engine is what is timed.
    let mut on = one.clone();
    on.checks.clear();
    let mut off = on.clone();
    off.capacity.clear();
    let mut rows = Vec::new();
    for (label, s) in [("capacity off (same load)", &off), ("capacity on", &on)] {
        let mut best = f64::MAX;
        let mut events = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let r = run_scenario(&registry, s, label, &RunOptions::default()).expect("runs");
            best = best.min(t.elapsed().as_secs_f64());
            events = r.outcome.stats.events;
        }
        rows.push((label, events, events as f64 / best));
    }
    let first = rows[0].2;
    for (label, events, rate) in rows {
        println!(
            "{label:<34} {events:>10} {rate:>12.0} {:>8.2}",
            rate / first
        );
    }
}
