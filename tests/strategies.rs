//! The exploration ladder's first rungs: swarm draws stay inside the scenario's envelope and
//! replay from (scenario, strategy, seed); PCT reorders due events without running any early
//! or holding any longer than its window, and is deterministic; failures found by either shrink
//! to files that replay with a plain `run`; coverage goals are tallied and `until_covered`
//! stops at the same seed on any number of threads; on a network without jitter PCT finds the
//! Figure 8 bug where the same budget of random seeds does not.

use clustersim::check::Status;
use clustersim::explore::{
    progress::Silent, runner, runner_for, shrink, sweep, Budget, Shard, ShrinkOptions, Strategy,
    SweepConfig,
};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, parse, Scenario};
use clustersim::sim::Scheduler;
use clustersim::trace::{TraceKind, TraceLevel};
use clustersim::{Duration, SimTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::shipped);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(rel: &str) -> Scenario {
    load(&root().join(rel)).expect("loads")
}

fn config(seeds: u64, jobs: usize) -> SweepConfig {
    SweepConfig::default()
        .first_seed(0)
        .budget(Budget::Seeds(seeds))
        .shard(Shard::ALL)
        .jobs(jobs)
        .keep_going(false)
        .until_covered(false)
}

#[test]
fn swarm_draws_stay_inside_the_files_envelope_and_repeat_per_seed() {
    let base = scenario("scenarios/ping-flaky.ron");
    let nem = base.nemesis.clone().expect("nemesis");
    let mut subsets = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let (s, words) = clustersim::explore::strategy::swarm(&base, seed);
        let again = clustersim::explore::strategy::swarm(&base, seed).0;
        assert_eq!(s, again, "seed {seed}: the draw must repeat");
        assert_eq!(s.seed, seed);
        let n = s.nemesis.as_ref().expect("keeps the nemesis");
        assert!(!n.kinds.is_empty());
        assert!(n.kinds.iter().all(|k| nem.kinds.contains(k)), "{words}");
        assert!(
            n.max_active >= 1 && n.max_active <= nem.max_active,
            "{words}"
        );
        assert!(n.min_duration <= nem.min_duration && n.min_duration <= n.max_duration);
        assert!(n.max_duration <= nem.max_duration, "{words}");
        let link = &s.network.default;
        assert!(link.drop <= base.network.default.drop && link.drop >= 0.0);
        assert!(link.duplicate <= base.network.default.duplicate);
        assert!(words.starts_with("nemesis "), "{words}");
        REGISTRY
            .prepare(&s, "swarm")
            .expect("every draw is a valid scenario");
        subsets.insert(format!("{:?}", n.kinds));
    }
    assert!(
        subsets.len() >= 20,
        "200 seeds drew only {} kind subsets",
        subsets.len()
    );
    // The run's own draws come from the same streams as under random: with the file's knobs
    // (a scenario without nemesis or loss keeps everything but latency), the swarm of a
    // constant-latency network is the file itself.
    let mut fixed = scenario("scenarios/ping-partition.ron");
    fixed.network.default.latency = clustersim::net::Latency::Constant(Duration::ZERO);
    fixed.network.default.drop = 0.0;
    fixed.network.default.duplicate = 0.0;
    fixed.nemesis = None;
    let (s, _) = clustersim::explore::strategy::swarm(&fixed, 5);
    let mut want = fixed.clone();
    want.seed = 5;
    assert_eq!(s, want);
}

/// The trace hash, the messages sent, and the delivery delay (deliver time minus send time) of
/// every delivered message of a run.
fn delays(s: &Scenario) -> (u64, usize, Vec<u64>) {
    let opts = RunOptions::default().trace(TraceLevel::Full);
    let r = run_scenario(&REGISTRY, s, "test", &opts).expect("runs");
    let mut sent: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut out = Vec::new();
    for e in r.outcome.trace.events() {
        match &e.kind {
            TraceKind::Send { id, .. } => {
                sent.entry(*id).or_insert(e.time);
            }
            TraceKind::Deliver { id, .. } => {
                if let Some(t) = sent.get(id) {
                    out.push(e.time.as_nanos() - t.as_nanos());
                }
            }
            _ => {}
        }
    }
    (r.outcome.trace_hash(), sent.len(), out)
}

#[test]
fn pct_holds_events_back_within_its_window_never_runs_one_early_and_repeats() {
    let mut s = scenario("scenarios/ping-partition.ron");
    s.faults.clear();
    s.network.default.drop = 0.0;
    s.network.default.duplicate = 0.0;
    s.network.default.latency = clustersim::net::Latency::Uniform {
        min: Duration::from_millis(1),
        max: Duration::from_millis(3),
    };
    let (plain_hash, plain_sent, plain) = delays(&s);
    let (lo, hi) = (1_000_000, 3_000_000);
    assert_eq!(plain.len(), plain_sent);
    assert!(plain.iter().all(|d| (lo..=hi).contains(d)));
    let window = Duration::from_millis(5);
    s.scheduler = Scheduler::Pct { depth: 3, window };
    let (hash, sent, pct) = delays(&s);
    assert_eq!(pct.len(), sent, "PCT delivers every message it holds back");
    assert!(pct.iter().all(|d| *d >= lo), "a message arrived early");
    assert!(
        pct.iter().all(|d| *d <= hi + window.as_nanos()),
        "a message waited longer than the window: {:?}",
        pct.iter().max()
    );
    let late = pct.iter().filter(|d| **d > hi).count();
    assert!(late > 0, "PCT held nothing back");
    assert_ne!(hash, plain_hash, "PCT ran the same order as time order");
    assert_eq!(delays(&s).0, hash, "a PCT run repeats from its seed");
    s.seed += 1;
    assert_ne!(delays(&s).0, hash, "another seed draws other priorities");
}

/// Explores `file` under `strategy`, shrinks the first failure of `check` and replays the
/// shrunk file's text with the plain runner.
fn finds_shrinks_and_replays(file: &str, strategy: Strategy, check: &str, seeds: u64) -> String {
    let base = scenario(file);
    let first = *failing_seeds(&base, file, strategy, check, seeds)
        .first()
        .unwrap_or_else(|| panic!("{file} under {strategy}: nothing fails {check}"));
    shrinks_and_replays(&base, file, strategy, first, check)
}

/// Shrinks `base`'s failure of `check` at `seed` under `strategy`, replays the shrunk file's
/// text with the plain runner (same trace, same failure) and returns the text.
fn shrinks_and_replays(
    base: &Scenario,
    file: &str,
    strategy: Strategy,
    seed: u64,
    check: &str,
) -> String {
    let drawn = strategy.scenario_for(base, seed);
    let plain = runner(&REGISTRY, file);
    let opts = ShrinkOptions::default().check(Some(check.to_string()));
    let shrunk = shrink(&drawn, seed, &plain, &opts)
        .expect("shrinks")
        .expect("the drawn scenario fails");
    let text = shrunk.to_ron(file, Path::new("min.ron"));
    let replayed = parse(&text, "min.ron").expect("parses");
    let r = plain(&replayed).expect("replays");
    assert_eq!(
        r.outcome.trace_hash(),
        shrunk.trace_hash,
        "{file}: replay differs"
    );
    let v = r.verdicts.iter().find(|v| v.check == check).expect("check");
    assert_eq!(v.status, Status::Fail);
    text
}

#[test]
fn swarm_and_pct_failures_shrink_to_files_that_replay_with_plain_run() {
    let text = finds_shrinks_and_replays(
        "scenarios/zoo/queue-ack-on-receipt.ron",
        Strategy::Swarm,
        "NoLostTasks",
        100,
    );
    assert!(text.contains("nemesis: None"), "{text}");
    let pct = Strategy::Pct {
        depth: 3,
        window: Duration::from_millis(5),
    };
    let text =
        finds_shrinks_and_replays("scenarios/zoo/raft-figure8.ron", pct, "Linearizable", 1_000);
    let compact: String = text.split_whitespace().collect();
    assert!(
        compact.contains("scheduler:Pct(depth:3,window:\"5ms\""),
        "{text}"
    );
}

/// The scenario with every link's latency fixed at `latency` (a jitter-free network).
fn jitter_free(s: &Scenario, latency: Duration) -> Scenario {
    let mut s = s.clone();
    s.network.default.latency = clustersim::net::Latency::Constant(latency);
    for o in &mut s.network.overrides {
        o.link.latency = clustersim::net::Latency::Constant(latency);
    }
    s
}

/// Seeds (from 0) that fail `check` under `strategy`, within `seeds`.
fn failing_seeds(
    s: &Scenario,
    origin: &str,
    strategy: Strategy,
    check: &str,
    seeds: u64,
) -> Vec<u64> {
    let found = sweep(
        s,
        &config(seeds, 0).keep_going(true),
        runner_for(&REGISTRY, origin, strategy),
        &Silent,
    )
    .expect("explores");
    found
        .failures
        .iter()
        .filter(|f| f.checks.iter().any(|(c, _)| c == check))
        .map(|f| f.seed)
        .collect()
}

// On a network without jitter, time order delivers what one node sends to several at the same
// instant, so a leader isolated by the nemesis has reached all of its followers or none: the
// Figure 8 state (an entry on a minority when its leader is cut off) needs luck with election
// timeouts (1 seed in 20,000 fails). PCT holds a low-priority node's deliveries back for up to
// its window, past the isolation, which then drops them: 13 seeds in 20,000 fail.
#[test]
fn pct_finds_figure8_on_a_jitter_free_network_where_random_seeds_miss_it() {
    let file = "scenarios/zoo/raft-figure8.ron";
    let s = jitter_free(&scenario(file), Duration::from_millis(3));
    let budget = 3_000;
    let random = failing_seeds(&s, file, Strategy::Random, "Linearizable", budget);
    assert_eq!(random, Vec::<u64>::new(), "time order finds it here");
    let pct = Strategy::Pct {
        depth: 3,
        window: Duration::from_millis(10),
    };
    let found = failing_seeds(&s, file, pct, "Linearizable", budget);
    assert!(found.len() >= 2, "PCT within {budget} seeds: {found:?}");
    // The failure replays from (scenario, strategy, seed) and shrinks like any other.
    shrinks_and_replays(&s, file, pct, found[0], "Linearizable");
}

#[test]
fn correct_protocols_pass_every_strategy() {
    for file in [
        "scenarios/hunt/queue-idempotent-nemesis.ron",
        "scenarios/hunt/kv-pb-sync-nemesis.ron",
        "scenarios/raft-flaky-network.ron",
    ] {
        let base = scenario(file);
        for strategy in [
            Strategy::Swarm,
            Strategy::Pct {
                depth: 3,
                window: Duration::from_millis(5),
            },
        ] {
            let found = sweep(
                &base,
                &config(200, 0),
                runner_for(&REGISTRY, file, strategy),
                &Silent,
            )
            .expect("explores");
            assert!(
                found.failures.is_empty(),
                "{file} under {strategy}: {:?}",
                found.first_failure()
            );
        }
    }
}

#[test]
fn goals_are_tallied_and_until_covered_stops_at_the_same_seed_on_any_thread_count() {
    let base = scenario("scenarios/raft-leader-crash.ron");
    let until = |jobs| {
        sweep(
            &base,
            &config(1_000, jobs).until_covered(true),
            runner(&REGISTRY, "raft"),
            &Silent,
        )
        .expect("explores")
    };
    let one = until(1);
    assert!(one.covered, "{:?}", one.goals);
    assert!(one.runs() < 1_000);
    assert!(one.goals.len() >= 3, "{:?}", one.goals);
    assert!(one.goals.iter().all(|g| g.runs_reached > 0));
    // The last run is the first one that reached the last goal.
    let last = *one.seeds.last().expect("ran");
    assert!(one.goals.iter().any(|g| g.first_seed == Some(last)));
    let two = until(2);
    assert_eq!(one.seeds, two.seeds);
    assert_eq!(one.goals, two.goals);
    // A goal no run reaches keeps the sweep going to the end of its budget.
    let queue = scenario("scenarios/hunt/queue-idempotent-nemesis.ron");
    let o = sweep(
        &queue,
        &config(50, 2).until_covered(true),
        runner(&REGISTRY, "queue"),
        &Silent,
    )
    .expect("explores");
    assert!(!o.covered);
    assert_eq!(o.runs(), 50);
    let never = o
        .goals
        .iter()
        .find(|g| g.name.contains("boots with tasks in flight"))
        .expect("the server's goal is evaluated");
    assert_eq!((never.runs_checked, never.runs_reached), (50, 0));
}

#[test]
fn a_runs_report_lists_goals_reached_and_never_reached() {
    let r = run_scenario(
        &REGISTRY,
        &scenario("scenarios/raft-leader-crash.ron"),
        "raft",
        &RunOptions::default(),
    )
    .expect("runs");
    let goals = r.outcome.history.goals();
    assert!(goals.iter().any(|g| g.reached()) && goals.iter().any(|g| !g.reached()));
    let text = clustersim::report::summary(&r, None);
    assert!(text.contains("goals: "), "{text}");
    assert!(
        text.contains("    never   a follower deletes a conflicting log suffix"),
        "{text}"
    );
}

fn clustersim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .env_remove("COLUMNS")
        .current_dir(root())
        .output()
        .expect("runs the binary")
}

#[test]
fn the_cli_names_the_strategy_in_replay_lines_and_refuses_bad_ones() {
    let dir = std::env::temp_dir().join(format!("clustersim-strategies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = clustersim(&[
        "explore",
        "scenarios/zoo/queue-ack-on-receipt.ron",
        "--seeds",
        "50",
        "--strategy",
        "swarm",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ran with swarm: nemesis Crash"), "{text}");
    assert!(text.contains("--strategy swarm"), "{text}");
    let replay = text
        .lines()
        .find(|l| l.trim_start().starts_with("replay: ") && l.contains("--strategy swarm"))
        .expect("a replay line");
    let seed = replay
        .split("--seed ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("seed");
    let run = clustersim(&[
        "run",
        "scenarios/zoo/queue-ack-on-receipt.ron",
        "--seed",
        seed,
        "--strategy",
        "swarm",
    ]);
    let run_text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{run_text}");
    assert!(run_text.contains("  strategy swarm: nemesis"), "{run_text}");
    for bad in ["bfs", "pct:0", "pct:3/0s"] {
        let out = clustersim(&["explore", "scenarios/ping-flaky.ron", "--strategy", bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("strateg") || err.contains("pct"),
            "{bad}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_scenario_with_a_bad_scheduler_is_refused_with_its_range() {
    let text = std::fs::read_to_string(root().join("scenarios/ping-partition.ron")).expect("read");
    let bad = text.replacen("checks:", "scheduler: Pct(depth: 0),\n    checks:", 1);
    let path = std::env::temp_dir().join(format!("clustersim-bad-pct-{}.ron", std::process::id()));
    std::fs::write(&path, bad).expect("write");
    let out = clustersim(&["run", path.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("depth must be between 1 and 64"), "{err}");
    let good = text.replacen("checks:", "scheduler: Pct(depth: 2),\n    checks:", 1);
    std::fs::write(&path, good).expect("write");
    let out = clustersim(&["run", path.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("scheduler PCT depth 2"), "{stdout}");
    let _ = std::fs::remove_file(&path);
}
