//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// Every `.ron` file under `dir`, in sorted order, recursively.
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
