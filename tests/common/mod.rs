//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// Every `.ron` file under `dir`, in sorted order, recursively.
#[allow(dead_code)] // not every test crate walks the scenarios
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(scenario_files(&p));
        } else if p.extension().is_some_and(|e| e == "ron") {
            out.push(p);
        }
    }
    out
}

/// Runs `seeds` seeds (from 0) of the bundled scenario `file` (a path from the repository's
/// root) with the shipped protocols and fails naming the first three failing seeds.
#[allow(dead_code)] // only some test crates hunt
pub fn hunt(file: &str, seeds: u64) {
    use clustersim::explore::{progress::Silent, runner, sweep, Budget, Shard, SweepConfig};
    let registry = clustersim::registry::Registry::shipped();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let s = clustersim::scenario::load(&path).expect("loads");
    let config = SweepConfig::default()
        .first_seed(0)
        .budget(Budget::Seeds(seeds))
        .shard(Shard::ALL)
        .jobs(0)
        .keep_going(true)
        .until_covered(false);
    let found = sweep(&s, &config, runner(&registry, file), &Silent).expect("sweeps");
    assert_eq!(found.runs(), seeds);
    let failures: Vec<String> = found
        .failures
        .iter()
        .take(3)
        .map(|f| format!("seed {}: {:?}", f.seed, f.checks))
        .collect();
    assert!(failures.is_empty(), "{file}: {failures:?}");
}
