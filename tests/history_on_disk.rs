//! A history kept on disk (`History::on_disk`, `run --history-on-disk`) reads back exactly as
//! the same run's history in memory: same entries, verdicts and trace hash, a bounded part of
//! the memory; its scratch file is gone when the run's history is; a file that cannot be read back
//! is an error, never a verdict; and the flag follows every output rule.

use clustersim::history::HistoryFile;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::load;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clustersim-disk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn a_history_on_disk_reads_back_as_the_one_in_memory() {
    let registry = Registry::shipped();
    // 1,000 nodes pinging for 20 s: about 400,000 entries, 48 full chunks.
    let file = root().join("scenarios/ping-1000.ron");
    let scenario = load(&file).expect("loads");
    let memory = run_scenario(&registry, &scenario, "ping", &RunOptions::default()).expect("runs");
    let dir = scratch("same");
    let path = dir.join("history.bin");
    let opts =
        RunOptions::default().history_file(Some(HistoryFile::create(&path).expect("creates")));
    let disk = run_scenario(&registry, &scenario, "ping", &opts).expect("runs");
    drop(opts);
    let (a, b) = (&memory.outcome.history, &disk.outcome.history);
    assert!(a.len() > 100_000, "{} entries", a.len());
    assert_eq!(a.len(), b.len());
    assert!(
        a.entries().eq(b.entries()),
        "every entry reads back as recorded"
    );
    assert!(a.each_call().eq(b.each_call()));
    assert_eq!(memory.outcome.trace_hash(), disk.outcome.trace_hash());
    let verdicts = |r: &clustersim::run::Report| {
        r.verdicts
            .iter()
            .map(|v| format!("{} {}", v.status, v.summary))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&memory), verdicts(&disk));
    assert!(
        // At most 16 chunks read back and the one being written, against every chunk.
        b.bytes() * 2 < a.bytes() && b.bytes() < 17 * 8192 * 24 + 4096,
        "on disk {} bytes in memory, in memory {}",
        b.bytes(),
        a.bytes()
    );
    let on_disk = std::fs::metadata(&path).expect("the file is there").len();
    assert_eq!(on_disk as usize % 24, 0);
    assert!(on_disk as usize >= (a.len() / 8192) * 8192 * 24);
    // A copy holds its entries in memory and outlives the file.
    let copy = b.clone();
    assert!(b.disk_error().is_none() && b.disk_warning().is_none());
    drop(disk);
    assert!(!path.exists(), "the scratch file goes with the history");
    assert!(a.entries().eq(copy.entries()));
}

#[test]
fn a_history_file_that_cannot_be_read_back_is_an_error() {
    let registry = Registry::shipped();
    let scenario = load(&root().join("scenarios/ping-1000.ron")).expect("loads");
    let dir = scratch("broken");
    let path = dir.join("history.bin");
    let opts =
        RunOptions::default().history_file(Some(HistoryFile::create(&path).expect("creates")));
    let report = run_scenario(&registry, &scenario, "ping", &opts).expect("runs");
    let history = &report.outcome.history;
    assert!(history.disk_error().is_none());
    // Something else empties the file while the history still needs it.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(0))
        .expect("truncates");
    let _ = history.entries().count();
    let err = history.disk_error().expect("the failed read is kept");
    assert!(err.contains("cannot read the history back"), "{err}");
}

fn clustersim(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs the binary")
}

#[test]
fn the_cli_flag_gives_the_same_report_and_history_file_and_keeps_the_output_rules() {
    let dir = scratch("cli");
    let scenario = root().join("scenarios/ping-1000.ron");
    let s = scenario.to_str().expect("utf-8 path");
    let plain = clustersim(&dir, &["run", s, "--history", "a.jsonl"]);
    let disk = clustersim(
        &dir,
        &[
            "run",
            s,
            "--history",
            "b.jsonl",
            "--history-on-disk",
            "scratch.bin",
        ],
    );
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(disk.status.code(), Some(0), "{disk:?}");
    let text = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.contains("wall") && !l.contains("/s"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(text(&plain), text(&disk));
    let a = std::fs::read(dir.join("a.jsonl")).expect("a");
    let b = std::fs::read(dir.join("b.jsonl")).expect("b");
    assert!(a.len() > 1_000_000 && a == b, "the --history files differ");
    assert!(
        !dir.join("scratch.bin").exists(),
        "the scratch file is removed"
    );
    // An existing file is kept unless --force, and the scenario is never the scratch file.
    std::fs::write(dir.join("mine.bin"), b"keep me").expect("writes");
    let refused = clustersim(&dir, &["run", s, "--history-on-disk", "mine.bin"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        std::fs::read(dir.join("mine.bin")).expect("kept"),
        b"keep me"
    );
    let onto_input = clustersim(&dir, &["run", s, "--history-on-disk", s, "--force"]);
    assert_eq!(onto_input.status.code(), Some(2));
    assert!(scenario.exists());
    let folder = clustersim(&dir, &["run", s, "--history-on-disk", "."]);
    assert_eq!(folder.status.code(), Some(2));
}
