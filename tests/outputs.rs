//! Every output path of every command goes through one layer: the scenario being run is never
//! an output whatever path names it (a hard link, a symlink), a FIFO or a device is never
//! opened, a symlink where a file is written is replaced and never followed, two outputs never
//! name one file, and `--out` folders are created, so a search's result is never lost.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clustersim-out-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn clustersim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs the binary")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A copy of the ping scenario in `dir`, and its text.
fn scenario_in(dir: &Path) -> String {
    let text = std::fs::read_to_string(root().join("scenarios/ping-partition.ron")).unwrap();
    std::fs::write(dir.join("s.ron"), &text).unwrap();
    text
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(ok.success());
}

#[test]
fn a_hard_link_to_the_scenario_is_never_an_output_even_with_force() {
    let dir = scratch("hardlink");
    let original = scenario_in(&dir);
    std::fs::hard_link(dir.join("s.ron"), dir.join("same.jsonl")).unwrap();
    std::fs::hard_link(dir.join("s.ron"), dir.join("same.bin")).unwrap();
    for args in [
        ["run", "s.ron", "--history-on-disk", "same.bin", "--force"],
        ["run", "s.ron", "--trace", "same.jsonl", "--force"],
        ["run", "s.ron", "--history", "same.jsonl", "--force"],
    ] {
        let o = clustersim(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("would overwrite the scenario being run"),
            "{}",
            text(&o)
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("s.ron")).unwrap(),
            original
        );
        assert!(dir.join("same.bin").exists() && dir.join("same.jsonl").exists());
    }
    std::os::unix::fs::symlink("s.ron", dir.join("link.jsonl")).unwrap();
    let o = clustersim(&dir, &["run", "s.ron", "--trace", "link.jsonl", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("s.ron")).unwrap(),
        original
    );
}

#[test]
fn a_fifo_is_refused_as_an_output_and_left_in_place() {
    let dir = scratch("fifo");
    scenario_in(&dir);
    mkfifo(&dir.join("pipe"));
    let o = clustersim(
        &dir,
        &["run", "s.ron", "--history-on-disk", "pipe", "--force"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("FIFO"), "{}", text(&o));
    let kind = std::fs::symlink_metadata(dir.join("pipe"))
        .unwrap()
        .file_type();
    assert!(kind.is_fifo(), "the FIFO is still there");
    // Nothing that is not a regular file is replaced, a folder included.
    std::fs::create_dir(dir.join("d.jsonl")).unwrap();
    let o = clustersim(&dir, &["run", "s.ron", "--trace", "d.jsonl", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(dir.join("d.jsonl").is_dir());
}

#[test]
fn two_outputs_that_are_one_file_through_a_symlink_are_refused() {
    let dir = scratch("two");
    scenario_in(&dir);
    // b.jsonl points at a.jsonl, which does not exist yet.
    std::os::unix::fs::symlink("a.jsonl", dir.join("b.jsonl")).unwrap();
    let o = clustersim(
        &dir,
        &[
            "run",
            "s.ron",
            "--trace",
            "a.jsonl",
            "--history",
            "b.jsonl",
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("both name"), "{}", text(&o));
    assert!(!dir.join("a.jsonl").exists());
}

#[test]
fn a_symlink_where_a_file_is_written_is_replaced_and_nothing_lands_outside_out() {
    let dir = scratch("symlink");
    let outside = dir.join("outside");
    std::fs::create_dir(&outside).unwrap();
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let naive = root().join("scenarios/zoo/queue-naive-lpop.ron");
    let naive = naive.to_str().unwrap();
    let check = root().join("scenarios/check/queue-naive-2-workers.ron");
    let check = check.to_str().unwrap();
    let o = out.to_str().unwrap();
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "zoo-queue-naive-lpop-seed0-min.ron",
            vec!["shrink", naive, "--seed", "0", "--out", o],
        ),
        (
            "zoo-queue-naive-lpop-seed0-min.ron",
            vec!["explore", naive, "--seeds", "1", "--jobs", "1", "--out", o],
        ),
        (
            "check-queue-naive-2-workers-check-min.ron",
            vec!["check", check, "--out", o],
        ),
    ];
    for (name, args) in cases {
        let victim = outside.join(name);
        let link = out.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        // Without --force the link counts as an existing file: kept, nothing written.
        let kept = clustersim(&dir, &args);
        assert!(
            text(&kept).contains("already exists"),
            "{args:?}: {}",
            text(&kept)
        );
        assert!(!victim.exists(), "{args:?} wrote through the link");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // With --force the link itself is replaced by the file.
        let mut forced = args.clone();
        forced.push("--force");
        let done = clustersim(&dir, &forced);
        assert_eq!(done.status.code(), Some(1), "{forced:?}: {}", text(&done));
        assert!(!victim.exists(), "{forced:?} wrote through the link");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_file());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn check_and_exhaustive_explore_create_a_missing_out_folder() {
    let dir = scratch("newdir");
    let check = root().join("scenarios/check/queue-naive-2-workers.ron");
    let check = check.to_str().unwrap();
    let o = clustersim(&dir, &["check", check, "--out", "new/deeper"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let file = dir.join("new/deeper/check-queue-naive-2-workers-check-min.ron");
    assert!(file.is_file(), "{}", text(&o));
    assert!(text(&o).contains("wrote new/deeper/"), "{}", text(&o));
    let o = clustersim(
        &dir,
        &[
            "explore",
            check,
            "--strategy",
            "exhaustive",
            "--out",
            "other",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(dir
        .join("other/check-queue-naive-2-workers-check-min.ron")
        .is_file());
}

#[test]
fn the_history_scratch_file_is_removed_only_if_it_is_still_ours() {
    let dir = scratch("scratch");
    scenario_in(&dir);
    std::fs::write(dir.join("old.bin"), "someone's data").unwrap();
    // Without --force an existing file is kept.
    let o = clustersim(&dir, &["run", "s.ron", "--history-on-disk", "old.bin"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("old.bin")).unwrap(),
        "someone's data"
    );
    // With it, it is replaced by the scratch file, which goes at the end.
    let o = clustersim(
        &dir,
        &["run", "s.ron", "--history-on-disk", "old.bin", "--force"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!dir.join("old.bin").exists());
}
