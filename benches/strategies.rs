//! The exploration ladder side by side: for every bug-zoo entry, runs and wall time to the
//! first failing seed under `random`, `swarm`, `pct:1` (priorities only), `pct:3` and `pct:3`
//! with a 10 ms window, each
//! over several campaigns that start at different seeds (the mean, and how many campaigns found
//! the bug within the budget). Same budget per strategy; every run replays from (scenario,
//! strategy, seed). Two tables: the zoo files as written (each nemesis chosen for its bug), and
//! the same files with every fault kind on (what one writes without knowing which fault
//! matters, swarm testing's premise: Groce et al. ISSTA 2012, TigerBeetle's VOPR). A third
//! table: the files on a network without jitter (every link 3 ms), where time order delivers
//! what a node sends to several at one instant and only PCT's priorities vary the order.
//!
//!   cargo bench --bench strategies
//!   STRATEGIES_BENCH_ONLY=raft STRATEGIES_BENCH_SEEDS=2000 cargo bench --bench strategies
use clustersim::explore::{
    progress::Silent, runner_for, sweep, Budget, Shard, Strategy, SweepConfig,
};
use clustersim::fault::NemesisKind;
use clustersim::net::Latency;
use clustersim::registry::Registry;
use clustersim::scenario::{load, Scenario};
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
    let strategies: Vec<Strategy> = ["random", "swarm", "pct:1", "pct:3", "pct:3/10ms"]
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
    table("as written", &files, &strategies, budget, |s| s.clone());
    table(
        "every fault kind on (the nemesis draws from all six)",
        &files,
        &strategies,
        budget,
        every_kind,
    );
    table(
        "jitter-free network (every link Constant(3ms))",
        &files,
        &strategies,
        budget,
        jitter_free,
    );
}

/// The scenario with every link's latency fixed at 3 ms.
fn jitter_free(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    let fixed = Latency::Constant(clustersim::Duration::from_millis(3));
    s.network.default.latency = fixed.clone();
    for o in &mut s.network.overrides {
        o.link.latency = fixed.clone();
    }
    s
}

/// The scenario with its nemesis drawing every fault kind (same rate, targets and durations).
fn every_kind(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    if let Some(n) = s.nemesis.as_mut() {
        n.kinds = NemesisKind::ALL.to_vec();
    }
    s
}

/// One table: every file, transformed, under every strategy.
fn table(
    title: &str,
    files: &[std::path::PathBuf],
    strategies: &[Strategy],
    budget: u64,
    transform: impl Fn(&Scenario) -> Scenario,
) {
    println!();
    println!(
        "{title}: runs to the first failing seed, mean over {CAMPAIGNS} campaigns of at most {budget} seeds \
         (found/campaigns; wall time to the failure, all cores)"
    );
    print!("{:<34}", "zoo entry");
    for s in strategies {
        print!(" {:>22}", s.to_string());
    }
    println!();
    for file in files {
        let scenario = transform(&load(file).expect("loads"));
        let origin = file.display().to_string();
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        print!("{name:<34}");
        for &strategy in strategies {
            let (mut runs, mut found, mut secs) = (0u64, 0u64, 0f64);
            for c in 0..CAMPAIGNS {
                let config = SweepConfig::default()
                    .first_seed(c * 1_000_003)
                    .budget(Budget::Seeds(budget))
                    .shard(Shard::ALL)
                    .jobs(0)
                    .keep_going(false)
                    .until_covered(false);
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
