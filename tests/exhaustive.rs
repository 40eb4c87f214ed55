//! Exhaustive bounded search: it proves the reliable queue's small configuration correct by
//! exhausting it, finds the naive queue's lost task on a short path that replays exactly from
//! the written scenario, prunes states it has seen, and refuses what it cannot search.

use clustersim::check::Status;
use clustersim::explore::exhaustive::{
    check_scenario, default_faults, replay_scenario, ExhaustiveConfig,
};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, parse, to_ron, Scenario};
use clustersim::sim::{Scheduler, Step};
use clustersim::Duration;
use std::path::PathBuf;
use std::process::Command;

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(rel: &str) -> Scenario {
    load(&root().join(rel)).expect("loads")
}

fn config_for(s: &Scenario) -> ExhaustiveConfig {
    let plan = REGISTRY.prepare(s, "test").expect("prepares").plan;
    let faults = default_faults(s, &plan.roster);
    ExhaustiveConfig::default()
        .targets(faults.targets)
        .crashes(faults.crashes)
        .isolations(faults.isolations)
}

#[test]
fn the_reliable_queue_survives_every_path_of_its_small_configuration() {
    let s = scenario("scenarios/check/queue-reliable-2-workers.ron");
    let config = config_for(&s);
    assert_eq!(config.crashes, 1);
    assert_eq!(config.targets.len(), 2);
    let (o, _) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
    assert!(o.violation.is_none(), "{:?}", o.violation.map(|v| v.failed));
    assert!(o.complete, "the configuration must be exhausted");
    assert_eq!(o.cut, 0);
    assert!(o.unique > 10_000, "only {} states", o.unique);
    // Interleavings that meet again are pruned.
    assert!(o.explored > o.unique);
    assert!(o.ends > 1);
    // Without crashes the space is a small part of it.
    let calm = config.clone().crashes(0);
    let (c, _) = check_scenario(&REGISTRY, &s, "test", &calm).expect("searches");
    assert!(c.complete && c.violation.is_none());
    assert!(c.unique * 10 < o.unique, "{} vs {}", c.unique, o.unique);
}

#[test]
fn the_naive_queue_loses_a_task_on_a_short_path_that_replays_exactly() {
    let s = scenario("scenarios/check/queue-naive-2-workers.ron");
    let config = config_for(&s);
    let (o, searched) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
    let v = o.violation.expect("the naive queue loses a task");
    assert!(
        v.failed.iter().any(|f| f.check == "NoLostTasks"),
        "{:?}",
        v.failed
    );
    assert!(
        matches!(v.steps.last(), Some(Step::Crash(_))),
        "{:?}",
        v.steps
    );
    // The shortest prefix: without its last step (the crash) nothing fails.
    assert!(v.steps.len() < 40, "{} steps", v.steps.len());
    let plan = REGISTRY.prepare(&searched, "test").expect("prepares").plan;
    let file = replay_scenario(&searched, &plan.roster, &v.steps);
    let text = to_ron(&file, &["test".to_string()]);
    let replayed = parse(&text, "min.ron").expect("the written path parses");
    assert!(matches!(replayed.scheduler, Scheduler::Replay(_)));
    let r = run_scenario(&REGISTRY, &replayed, "min.ron", &RunOptions::default()).expect("runs");
    assert_eq!(
        r.outcome.trace_hash(),
        v.outcome.trace_hash(),
        "replay differs"
    );
    let lost = r
        .verdicts
        .iter()
        .find(|x| x.check == "NoLostTasks")
        .expect("check");
    assert_eq!(lost.status, Status::Fail);
    let mut shorter = file.clone();
    if let Scheduler::Replay(steps) = &mut shorter.scheduler {
        steps.pop();
    }
    let r = run_scenario(&REGISTRY, &shorter, "min.ron", &RunOptions::default()).expect("runs");
    assert!(
        r.passed(),
        "the path without its crash still fails: {:?}",
        r.verdicts
    );
}

#[test]
fn a_small_raft_election_is_exhausted_with_one_leader_per_term() {
    let s = scenario("scenarios/check/raft-election-3.ron");
    let config = config_for(&s).window(Duration::from_millis(1)).crashes(0);
    let (o, _) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
    assert!(o.complete && o.violation.is_none(), "{o:?}");
    assert!(o.ends > 10, "{} ends", o.ends);
    // A wider window has more orders to try.
    let narrow = config.window(Duration::ZERO);
    let (n, _) = check_scenario(&REGISTRY, &s, "test", &narrow).expect("searches");
    assert!(n.unique < o.unique);
}

/// The search reports coverage goals as explore does: on how many path ends each held.
#[test]
fn the_search_counts_coverage_goals_over_the_path_ends() {
    let s = scenario("scenarios/check/raft-election-3.ron");
    let config = config_for(&s);
    let (o, _) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
    assert!(!o.goals.is_empty());
    for g in &o.goals {
        // Raft evaluates its goals on every run, so on every path end, and no goal of an
        // election holds everywhere.
        assert_eq!(g.ends_checked, o.ends, "{g:?}");
        assert!(g.ends_reached < g.ends_checked, "{g:?}");
    }
    let never = o.goals.iter().filter(|g| g.ends_reached == 0).count();
    let out = clustersim(&["check", "scenarios/check/raft-election-3.ron"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = format!(
        "  goals: {} of {} reached on some path judged",
        o.goals.len() - never,
        o.goals.len()
    );
    assert!(text.contains(&line), "{text}");
    assert_eq!(text.matches("    never   ").count(), never, "{text}");
}

#[test]
fn a_depth_bound_completes_long_paths_in_time_order_and_says_so() {
    let s = scenario("scenarios/check/queue-reliable-2-workers.ron");
    let config = config_for(&s).max_depth(20);
    let (o, _) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
    assert!(!o.complete);
    assert!(o.cut > 0 && o.cut == o.ends, "{o:?}");
    assert_eq!(o.max_depth, 20);
}

fn clustersim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs the binary")
}

#[test]
fn the_cli_writes_the_failing_path_refuses_overwrites_and_unsearchable_protocols() {
    let dir = std::env::temp_dir().join(format!("clustersim-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let d = dir.to_str().expect("utf-8");
    let out = clustersim(&[
        "check",
        "scenarios/check/queue-naive-2-workers.ron",
        "--out",
        d,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL NoLostTasks"), "{text}");
    let file = dir.join("check-queue-naive-2-workers-check-min.ron");
    assert!(file.exists(), "{text}");
    let run = clustersim(&["run", file.to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(1));
    let again = clustersim(&[
        "check",
        "scenarios/check/queue-naive-2-workers.ron",
        "--out",
        d,
    ]);
    assert_eq!(again.status.code(), Some(2), "an existing file is kept");
    let ok = clustersim(&["check", "scenarios/check/queue-reliable-2-workers.ron"]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(
        text.contains("complete: every state was explored"),
        "{text}"
    );
    let ping = clustersim(&["check", "scenarios/ping-partition.ron"]);
    let err = String::from_utf8_lossy(&ping.stderr);
    assert_eq!(ping.status.code(), Some(2), "{err}");
    assert!(err.contains("Registry::searchable"), "{err}");
    for bad in [
        vec!["--depth", "0"],
        vec!["--window", "11s"],
        vec!["--crashes", "9"],
        vec!["--isolations", "9"],
        vec!["--targets", "nobody"],
    ] {
        let mut args = vec!["check", "scenarios/check/queue-reliable-2-workers.ron"];
        args.extend(bad.iter());
        let out = clustersim(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explore_strategy_exhaustive_is_check_and_refuses_the_seed_flags() {
    let dir = std::env::temp_dir().join(format!("clustersim-explore-ex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let d = dir.to_str().expect("utf-8");
    let naive = "scenarios/check/queue-naive-2-workers.ron";
    let out = clustersim(&["explore", naive, "--strategy", "exhaustive", "--out", d]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let check = clustersim(&["check", naive, "--out", d, "--force"]);
    let same = String::from_utf8_lossy(&check.stdout);
    // The same search: the same counts and the same shortest path (timings aside).
    let counts = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.contains("states/s"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(counts(&text), counts(&same));
    assert!(dir
        .join("check-queue-naive-2-workers-check-min.ron")
        .exists());
    let ok = clustersim(&[
        "explore",
        "scenarios/check/queue-reliable-2-workers.ron",
        "--strategy",
        "exhaustive",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    for flag in [
        vec!["--seeds", "5"],
        vec!["--shard", "0/2"],
        vec!["--until-covered"],
    ] {
        let mut args = vec!["explore", naive, "--strategy", "exhaustive"];
        args.extend(flag.iter());
        let out = clustersim(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {err}");
        assert!(err.contains("runs no seeds"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Isolation choices: a target cut off from everyone at any step, healed at any later one.
#[test]
fn isolations_are_choices_too_a_raft_election_survives_them_and_the_naive_queue_does_not() {
    let raft = scenario("scenarios/check/raft-election-3.ron");
    let base = config_for(&raft).crashes(0);
    let (calm, _) = check_scenario(&REGISTRY, &raft, "test", &base).expect("searches");
    let cut = base.clone().isolations(1);
    let (o, _) = check_scenario(&REGISTRY, &raft, "test", &cut).expect("searches");
    assert!(o.complete && o.violation.is_none(), "{o:?}");
    assert!(o.unique > calm.unique, "{} vs {}", o.unique, calm.unique);

    let naive = scenario("scenarios/check/queue-naive-2-workers.ron");
    let config = config_for(&naive).crashes(0).isolations(1);
    let (o, searched) = check_scenario(&REGISTRY, &naive, "test", &config).expect("searches");
    let v = o
        .violation
        .expect("an isolated worker's task is never handed out again");
    assert!(
        v.steps.iter().any(|s| matches!(s, Step::Partition(_))),
        "{:?}",
        v.steps
    );
    assert!(!v.steps.iter().any(|s| matches!(s, Step::Crash(_))));
    let plan = REGISTRY.prepare(&searched, "test").expect("prepares").plan;
    let file = replay_scenario(&searched, &plan.roster, &v.steps);
    let text = to_ron(&file, &["test".to_string()]);
    let replayed = parse(&text, "min.ron").expect("the written path parses");
    let r = run_scenario(&REGISTRY, &replayed, "min.ron", &RunOptions::default()).expect("runs");
    assert_eq!(r.outcome.trace_hash(), v.outcome.trace_hash());
    assert!(r.verdicts.iter().any(|x| x.status == Status::Fail));
}

/// The two-phase commit of Gray and Lamport's TLA+ spec, searched untimed over a duplicating
/// network, has exactly the states the spec has once every node booted: the counts stateright's `examples/2pc.rs`
/// reports for the same model (288 states at 3 RMs, 8,832 at 5), outside data this search did
/// not write.
#[test]
fn two_phase_commit_has_the_state_counts_of_its_tla_spec() {
    let s = scenario("scenarios/check/two-phase-commit.ron");
    let config = ExhaustiveConfig::default()
        .timing(clustersim::explore::exhaustive::Timing::Untimed)
        .redeliver(true);
    for (rms, states) in [(3, 288), (4, 1_568), (5, 8_832)] {
        let mut s = s.clone();
        s.nodes[1].count = Some(rms);
        let (o, _) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
        assert!(o.complete && o.violation.is_none(), "{rms} RMs: {o:?}");
        // The search's first states are the boots, one node at a time; the spec's initial
        // state is the last of them.
        assert_eq!(o.boot_states, u64::from(rms) + 1, "{rms} RMs");
        assert_eq!(o.unique - o.boot_states, states, "{rms} RMs");
    }
}

#[test]
fn a_tm_that_commits_on_one_vote_breaks_atomicity_on_a_path_that_replays() {
    let s = scenario("scenarios/check/two-phase-commit-early.ron");
    for redeliver in [false, true] {
        let config = ExhaustiveConfig::default()
            .timing(clustersim::explore::exhaustive::Timing::Untimed)
            .redeliver(redeliver);
        let (o, searched) = check_scenario(&REGISTRY, &s, "test", &config).expect("searches");
        let v = o.violation.expect("an RM aborts while another commits");
        assert_eq!(v.failed[0].check, "Atomic");
        let plan = REGISTRY.prepare(&searched, "test").expect("prepares").plan;
        let file = replay_scenario(&searched, &plan.roster, &v.steps);
        let text = to_ron(&file, &["test".to_string()]);
        let replayed = parse(&text, "min.ron").expect("the written path parses");
        let r =
            run_scenario(&REGISTRY, &replayed, "min.ron", &RunOptions::default()).expect("runs");
        assert!(!r.passed(), "{redeliver}: {:?}", r.verdicts);
        assert_eq!(r.outcome.trace_hash(), v.outcome.trace_hash());
    }
}

/// What a search cannot honour is refused before it runs (exit 2), and a check that decided
/// nowhere makes the search inconclusive (exit 1), never complete.
#[test]
fn check_refuses_what_it_cannot_search_and_never_calls_an_undecided_search_complete() {
    let dir = std::env::temp_dir().join(format!("clustersim-check-refuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let d = dir.to_str().expect("utf-8");
    for (args, says) in [
        (
            vec!["scenarios/check/two-phase-commit.ron", "--redeliver"],
            "--redeliver needs --untimed",
        ),
        (
            vec![
                "scenarios/check/two-phase-commit.ron",
                "--untimed",
                "--window",
                "1ms",
            ],
            "--window",
        ),
        (
            vec!["scenarios/check/two-phase-commit.ron", "--crashes", "1"],
            "--targets",
        ),
        (
            vec!["scenarios/check/paxos.ron", "--keep-ignored"],
            "--keep-ignored needs --untimed",
        ),
        (
            vec![
                "scenarios/check/paxos.ron",
                "--untimed",
                "--keep-ignored",
                "--drops",
                "1",
            ],
            "no faults to choose",
        ),
    ] {
        let mut full = vec!["check"];
        full.extend(args.iter());
        let out = clustersim(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A file that replays one path is no scenario to search.
    let out = clustersim(&[
        "check",
        "scenarios/check/queue-naive-2-workers.ron",
        "--out",
        d,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let path = dir.join("check-queue-naive-2-workers-check-min.ron");
    let again = clustersim(&["check", path.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("scheduler: Replay"), "{err}");
    // A crash never healed leaves Durable undecided on every path end: inconclusive.
    let text = std::fs::read_to_string(root().join("scenarios/raft-leader-crash.ron"))
        .expect("reads")
        .lines()
        .filter(|l| !l.contains("Restart"))
        .collect::<Vec<_>>()
        .join("\n");
    let file = dir.join("never-healed.ron");
    std::fs::write(&file, text).expect("writes");
    let out = clustersim(&["check", file.to_str().expect("utf-8"), "--depth", "100000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("INCONCLUSIVE"), "{text}");
    assert!(!text.contains("complete: every state"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a search found, in a form two searches compare: every count and the failing path.
fn summary(o: &clustersim::explore::exhaustive::ExhaustiveOutcome) -> String {
    format!(
        "explored {} unique {} boot {} ends {} cut {} invariant {} depth {} complete {} \
         exhausted {} undecided {} violation {:?}",
        o.explored,
        o.unique,
        o.boot_states,
        o.ends,
        o.cut,
        o.invariant_states,
        o.max_depth,
        o.complete,
        o.exhausted,
        o.undecided.len(),
        o.violation
            .as_ref()
            .map(|v| (v.steps.clone(), v.outcome.trace.hash(), v.failed.len())),
    )
}

/// The search on several threads takes the states in one thread's order: the same verdict,
/// counts and shortest path on 1, 2 and 3 threads, for searches that pass, fail at a path's
/// end, fail an invariant mid-path, are cut by max-states and run untimed.
#[test]
fn check_on_one_two_and_three_threads_finds_the_same_counts_and_paths() {
    let naive = scenario("scenarios/check/queue-naive-2-workers.ron");
    let reliable = scenario("scenarios/check/queue-reliable-2-workers.ron");
    let raft = scenario("scenarios/check/raft-election-3.ron");
    let mut two_pc = scenario("scenarios/check/two-phase-commit.ron");
    two_pc.nodes[1].count = Some(4);
    let early = scenario("scenarios/check/two-phase-commit-early.ron");
    let untimed = ExhaustiveConfig::default()
        .timing(clustersim::explore::exhaustive::Timing::Untimed)
        .redeliver(true);
    let cases: Vec<(&str, &Scenario, ExhaustiveConfig)> = vec![
        ("naive queue", &naive, config_for(&naive)),
        ("reliable queue", &reliable, config_for(&reliable)),
        (
            "reliable queue cut at 5000 states",
            &reliable,
            config_for(&reliable).max_states(5_000),
        ),
        (
            "raft election, window 1ms",
            &raft,
            config_for(&raft)
                .window(Duration::from_millis(1))
                .crashes(0),
        ),
        (
            "raft election, a crash and an isolation",
            &raft,
            config_for(&raft).isolations(1),
        ),
        ("2PC, 4 RMs, untimed", &two_pc, untimed.clone()),
        ("2PC committing early, untimed", &early, untimed),
    ];
    for (name, s, config) in cases {
        let runs: Vec<String> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                let c = config.clone().threads(threads);
                summary(
                    &check_scenario(&REGISTRY, s, "test", &c)
                        .expect("searches")
                        .0,
                )
            })
            .collect();
        assert_eq!(runs[0], runs[1], "{name}: 1 thread vs 2");
        assert_eq!(runs[0], runs[2], "{name}: 1 thread vs 3");
    }
}

/// The CLI's `--threads 1` and `--threads 2` print the same report (timings aside) and write
/// the same failing path.
#[test]
fn check_threads_1_and_2_print_identical_counts_and_paths() {
    let naive = "scenarios/check/queue-naive-2-workers.ron";
    let mut reports = Vec::new();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let dir = std::env::temp_dir().join(format!(
            "clustersim-threads-{}-{threads}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let d = dir.to_str().expect("utf-8");
        let out = clustersim(&["check", naive, "--threads", threads, "--out", d]);
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains("states/s"))
            .map(|l| l.replace(d, "DIR"))
            .collect::<Vec<_>>()
            .join("\n");
        reports.push(text);
        files.push(
            std::fs::read_to_string(dir.join("check-queue-naive-2-workers-check-min.ron"))
                .expect("the failing path is written")
                .replace(d, "DIR"),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(files[0], files[1]);
    let bad = clustersim(&["check", naive, "--threads", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Symmetry reduction merges states that differ only by which RM plays which part: far fewer
/// states than the full search (and fewer than stateright's symmetric DFS: 107, 665 at 3 and
/// 5 RMs), the same verdict on every variant, and a failing path that replays to the failure.
#[test]
fn symmetry_counts_renamed_states_once_and_finds_the_same_violations() {
    let plan_of = |s: &Scenario| REGISTRY.prepare(s, "test").expect("prepares").plan;
    for (rms, early, drops, crashes) in [
        (3, false, 0, 0),
        (4, false, 0, 0),
        (5, false, 0, 0),
        (3, true, 0, 0),
        (4, true, 0, 0),
        (3, false, 1, 0),
        (3, true, 1, 0),
        (3, false, 0, 1),
        (3, true, 0, 1),
    ] {
        let mut s = scenario(if early {
            "scenarios/check/two-phase-commit-early.ron"
        } else {
            "scenarios/check/two-phase-commit.ron"
        });
        s.nodes[1].count = Some(rms);
        let plan = plan_of(&s);
        let rm = plan.roster.members("rm");
        let full = ExhaustiveConfig::default()
            .timing(clustersim::explore::exhaustive::Timing::Untimed)
            .redeliver(true)
            .drops(drops)
            .crashes(crashes)
            .restarts(crashes > 0)
            .targets(if crashes > 0 { rm.clone() } else { Vec::new() });
        let reduced = full.clone().symmetry(vec![rm.clone()]);
        let label = format!("{rms} RMs, early {early}, drops {drops}, crashes {crashes}");
        let (a, _) = check_scenario(&REGISTRY, &s, "test", &full).expect("searches");
        let (b, searched) = check_scenario(&REGISTRY, &s, "test", &reduced).expect("searches");
        assert_eq!(a.complete, b.complete, "{label}");
        assert_eq!(a.violation.is_some(), b.violation.is_some(), "{label}");
        assert!(
            b.unique * 2 < a.unique,
            "{label}: {} vs {}",
            b.unique,
            a.unique
        );
        if let Some(v) = &b.violation {
            let replay = replay_scenario(&searched, &plan.roster, &v.steps);
            let outcome =
                run_scenario(&REGISTRY, &replay, "replay", &RunOptions::default()).expect("runs");
            assert!(
                outcome.verdicts.iter().any(|v| v.status == Status::Fail),
                "{label}: the reduced search's path does not fail when replayed"
            );
        }
        if !early && drops == 0 && crashes == 0 {
            let stateright_symmetric = match rms {
                3 => 107,
                5 => 665,
                _ => u64::MAX,
            };
            assert!(
                b.unique - b.boot_states <= stateright_symmetric,
                "{label}: {}",
                b.unique
            );
        }
    }
}
