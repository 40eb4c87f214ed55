//! Every bundled scenario replays the run it always did: its trace hash equals the one recorded
//! in `tests/golden/trace-hashes.tsv` (a run a panic ends has a hash too: it stops there).
//! A change that alters a hash must update the table and say why in its commit. Scenarios of
//! the book's `Exercise` protocol are checked by the exercises crate against the same table.

use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::load;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (file, recorded hash) rows of the table.
fn table() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("tests/golden/trace-hashes.tsv")).expect("table");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (f, h) = l.split_once('\t').expect("file<TAB>hash");
            (f.to_string(), h.to_string())
        })
        .collect()
}

fn scenario_files(dir: &Path, found: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read dir") {
        let path = e.expect("entry").path();
        if path.is_dir() {
            scenario_files(&path, found);
        } else if path.extension().is_some_and(|x| x == "ron") {
            let rel = path.strip_prefix(root()).expect("under root");
            found.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_bundled_scenario_is_in_the_table() {
    let mut files = Vec::new();
    scenario_files(&root().join("scenarios"), &mut files);
    files.sort();
    let mut listed: Vec<String> = table().into_iter().map(|(f, _)| f).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "tests/golden/trace-hashes.tsv must list every scenario"
    );
}

#[test]
fn every_bundled_scenario_keeps_its_trace_hash() {
    let registry = Registry::shipped();
    let mut changed = Vec::new();
    let mut checked = 0;
    for (file, want) in table() {
        let s = load(&root().join(&file)).expect("loads");
        if !registry.knows_protocol(s.protocol.name()) {
            continue; // the exercises crate checks its own
        }
        let r = run_scenario(&registry, &s, &file, &RunOptions::default()).expect("runs");
        let got = format!("{:016x}", r.outcome.trace_hash());
        checked += 1;
        if got != want {
            changed.push(format!("{file}: recorded {want}, now {got}"));
        }
    }
    assert!(checked >= 35, "only {checked} scenarios checked");
    assert!(
        changed.is_empty(),
        "trace hashes changed:\n{}",
        changed.join("\n")
    );
}
