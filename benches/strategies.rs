//! The exploration ladder side by side: for every bug-zoo entry, runs and wall time to the
//! first failing seed under `random`, `swarm`, `pct:1` (priorities only) and `pct:3`, each
//! over several campaigns that start at different seeds (the mean, and how many campaigns found
//! the bug within the budget). Same budget per strategy; every run replays from (scenario,
//! strategy, seed).
//!
//!   cargo bench --bench strategies
//!   STRATEGIES_BENCH_ONLY=raft STRATEGIES_BENCH_SEEDS=2000 cargo bench --bench strategies
use clustersim::explore::{
    progress::Silent, runner_for, sweep, Budget, Shard, Strategy, SweepConfig,
};
use clustersim::registry::Registry;
use clustersim::scenario::load;
use std::path::Path;
use std::time::Instant;

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

/// Campaigns per strategy and entry.
const CAMPAIGNS: u64 = 5;

fn main() {
    let only = std::env::var("STRATEGIES_BENCH_ONLY").unwrap_or_default();
    let budget: u64 = std::env::var("STRATEGIES_BENCH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let strategies: Vec<Strategy> = ["random", "swarm", "pct:1", "pct:3"]
        .iter()
        .map(|s| s.parse().expect("strategy"))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/zoo");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("zoo")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .filter(|p| p.to_string_lossy().contains(&only))
        .collect();
    files.sort();
    println!(
        "runs to the first failing seed, mean over {CAMPAIGNS} campaigns of at most {budget} seeds \
         (found/campaigns; wall time to the failure, all cores)"
    );
    print!("{:<34}", "zoo entry");
    for s in &strategies {
        print!(" {:>22}", s.to_string());
    }
    println!();
    for file in files {
        let scenario = load(&file).expect("loads");
        let origin = file.display().to_string();
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        print!("{name:<34}");
        for &strategy in &strategies {
            let (mut runs, mut found, mut secs) = (0u64, 0u64, 0f64);
            for c in 0..CAMPAIGNS {
                let config = SweepConfig {
                    first_seed: c * 1_000_003,
                    budget: Budget::Seeds(budget),
                    shard: Shard::ALL,
                    jobs: 0,
                    keep_going: false,
                    until_covered: false,
                };
                let started = Instant::now();
                let o = sweep(
                    &scenario,
                    &config,
                    runner_for(&REGISTRY, &origin, strategy),
                    &Silent,
                )
                .expect("explores");
                secs += started.elapsed().as_secs_f64();
                runs += o.runs();
                found += u64::from(o.first_failure().is_some());
            }
            print!(
                " {:>8.1} {found}/{CAMPAIGNS} {:>7.3}s",
                runs as f64 / CAMPAIGNS as f64,
                secs / CAMPAIGNS as f64
            );
        }
        println!();
    }
}
