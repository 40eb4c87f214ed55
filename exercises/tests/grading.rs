//! The exercises' command line as a student meets it: grading reports, bad input, the scenario
//! files, the book's commands, and the reference solutions refused (they are not in this crate).
//! That the starters fail and the solutions pass, level by level, is proved in
//! `solutions/tests/grading.rs`.

use clustersim_exercises as exercises;
use std::process::Command;

/// The workspace root, where `scenarios/`, `book/` and the exercise files' paths start.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim-exercises"))
        .args(args)
        .output()
        .expect("run clustersim-exercises");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_exercise_has_its_scenario_files() {
    for e in exercises::EXERCISES {
        for level in e.levels {
            let path = root().join(level.file);
            let on_disk = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} missing", path.display()));
            assert_eq!(
                on_disk, level.scenario,
                "{} differs from the graded copy",
                level.file
            );
        }
        assert!(root().join(e.file).exists());
    }
    assert!(exercises::EXERCISES.len() >= 6);
}

#[test]
fn the_reference_solutions_are_not_in_the_students_crate() {
    let path = root().join("scenarios/exercises/lease-queue.ron");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "name: \"lease-queue\")",
        "name: \"lease-queue\", solution: true)",
    );
    let dir = std::env::temp_dir().join(format!("exercises-solution-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lease-queue-solution.ron");
    std::fs::write(&file, text).unwrap();
    let (code, text) = cli(&["run", file.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("the reference solutions are not part of clustersim-exercises"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
    // No file of the students' crate names the solutions' code.
    for entry in std::fs::read_dir(root().join("exercises")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("clustersim_solutions"), "{}", path.display());
        }
    }
}

#[test]
fn failing_grade_names_the_check_and_shows_the_run() {
    let (code, text) = cli(&["check-exercise", "lease-queue"]);
    assert_eq!(code, 1);
    assert!(text.contains("FAIL EveryTaskCompleted: task"), "{text}");
    assert!(
        text.contains("crash worker1"),
        "the trace summary names the fault: {text}"
    );
    assert!(
        text.contains("dequeue(task"),
        "the history window is shown: {text}"
    );
    assert!(text.contains(
        "replay it: clustersim-exercises run scenarios/exercises/lease-queue.ron --seed"
    ));
}

#[test]
fn todo_is_reported_as_not_implemented_with_its_location() {
    let (code, text) = cli(&["check-exercise", "anti-entropy"]);
    assert_eq!(code, 1);
    assert!(text.contains("not implemented yet"), "{text}");
    assert!(text.contains("exercises/anti_entropy.rs:"), "{text}");
}

#[test]
fn unknown_exercise_and_zero_seeds_are_bad_input() {
    let (code, text) = cli(&["check-exercise", "paxos"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("there is no exercise `paxos`; the exercises are: reliable-ping"),
        "{text}"
    );
    let (code, text) = cli(&["check-exercise", "lease-queue", "--seeds", "0"]);
    assert_eq!(code, 2, "{text}");
    let (code, text) = cli(&["check-exercise", "--list"]);
    assert_eq!(code, 0);
    for e in exercises::EXERCISES {
        assert!(text.contains(e.name), "{text}");
    }
}

#[test]
fn exercise_scenarios_run_with_clustersim_run() {
    // The starter of a broken-piece exercise fails its goal through `run` too (exit 1).
    let path = format!(
        "{}/scenarios/exercises/durable-counter.ron",
        root().display()
    );
    let (code, text) = cli(&["run", &path, "--quiet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL CounterNeverGoesBack"), "{text}");
}

#[test]
fn every_exercise_has_a_section_and_its_grading_command_in_the_book() {
    let dir = root().join("book/src");
    let all: String = std::fs::read_dir(&dir)
        .expect("book/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| std::fs::read_to_string(p).expect("chapter"))
        .collect();
    for e in exercises::EXERCISES {
        assert!(
            all.contains(&format!("$ clustersim-exercises check-exercise {}", e.name)),
            "the book never shows `clustersim-exercises check-exercise {}`",
            e.name
        );
        assert!(all.contains(e.file), "the book never names {}", e.file);
    }
}

#[test]
fn exercise_scenarios_keep_their_trace_hashes() {
    let text =
        std::fs::read_to_string(root().join("tests/golden/trace-hashes.tsv")).expect("table");
    let registry = exercises::registry();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("scenarios/exercises/"))
    {
        let (file, want) = line.split_once('\t').expect("file<TAB>hash");
        let s = clustersim::scenario::load(&root().join(file)).expect("loads");
        let r =
            clustersim::run::run_scenario(&registry, &s, file, &Default::default()).expect("runs");
        assert_eq!(format!("{:016x}", r.outcome.trace_hash()), want, "{file}");
        checked += 1;
    }
    let levels: usize = exercises::EXERCISES.iter().map(|e| e.levels.len()).sum();
    assert_eq!(
        checked, levels,
        "every level's scenario has a row in the table"
    );
}

#[test]
fn a_starter_todo_is_a_failed_run_in_run_and_explore_never_a_crash() {
    let path = format!("{}/scenarios/exercises/reliable-ping.ron", root().display());
    let (code, text) = cli(&["run", &path, "--quiet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL NoPanic: client1 panicked at"), "{text}");
    assert!(text.contains("not yet implemented"), "{text}");
    assert!(!text.contains("RUST_BACKTRACE"), "{text}");
    let out = std::env::temp_dir().join(format!("grading-explore-{}", std::process::id()));
    let (code, text) = cli(&[
        "explore",
        &path,
        "--seeds",
        "20",
        "-j",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("NoPanic: 1"), "{text}");
    assert!(!text.contains("no failures"), "{text}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn the_wal_lab_refuses_a_second_server_with_a_reason() {
    let text = std::fs::read_to_string(root().join("scenarios/exercises/wal-1-power-loss.ron"))
        .unwrap()
        .replace(
            "(role: \"server\", count: 1)",
            "(role: \"server\", count: 2)",
        );
    let dir = std::env::temp_dir().join(format!("exercises-wal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wal-two-servers.ron");
    std::fs::write(&file, text).unwrap();
    let (code, text) = cli(&["run", file.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("lab `wal` runs one server (its log is the only copy); the scenario has 2"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
