//! The lock service, tested from outside clustersim with no edit to its `src/`: its scenario
//! files load through its own registry; its own binary runs `run`, `explore` (which finds the
//! unfenced bug), `shrink` (which writes a replay file), `--timeline` and `--svg`; the plain
//! `clustersim` binary refuses that replay file; a proptest property finds the bug and passes
//! the fenced lock; and a handler is unit-tested with the node harness.

use clustersim::harness::Harness;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, Scenario};
use clustersim::strategy::{self, FaultConfig};
use clustersim::{Duration, NodeId, Property};
use lock_service::{registry, LockNode, LockParams, Msg};
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::process::Command;

use clustersim::proptest;

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn scenario(name: &str) -> Scenario {
    load(&scenario_path(name)).expect("scenario loads")
}

/// Runs a binary; returns (exit code, stdout + stderr).
fn run_binary(binary: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", binary.display()));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn lock_service(args: &[&str]) -> (i32, String) {
    run_binary(Path::new(env!("CARGO_BIN_EXE_lock-service")), args)
}

/// The plain `clustersim` binary, built beside this crate's by `cargo test --workspace`.
fn plain_clustersim() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_lock-service"))
        .with_file_name(format!("clustersim{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run the tests with --workspace",
        path.display()
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lock-service-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn with_fencing(mut s: Scenario, fencing: bool) -> Scenario {
    s.protocol
        .edit(|p: &mut LockParams| p.fencing = fencing)
        .expect("LockService params");
    s
}

#[test]
fn every_scenario_file_loads_against_the_lock_registry() {
    let registry = registry();
    for name in [
        "lock-pause.ron",
        "lock-drift.ron",
        "lock-unfenced.ron",
        "lock-fenced.ron",
    ] {
        let s = scenario(name);
        let prepared = registry
            .prepare(&s, name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(prepared.protocol.name(), "LockService");
        assert_eq!(prepared.checks.len(), 2);
    }
    // The registry knows the lock and everything clustersim ships, and says so.
    assert!(registry.knows_protocol("LockService") && registry.knows_protocol("Raft"));
    assert_eq!(registry.program(), "lock-service");
}

#[test]
fn the_user_checks_say_what_kind_of_property_they_are() {
    let s = scenario("lock-pause.ron");
    let prepared = registry().prepare(&s, "lock-pause.ron").expect("valid");
    let kinds: Vec<(&str, Property)> = prepared
        .checks
        .iter()
        .map(|c| (c.name(), c.property()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("MutualExclusion", Property::Safety),
            ("AcquiresServed", Property::Liveness)
        ]
    );
}

/// `file` fails `MutualExclusion` naming client3's stale write, and passes with fencing on.
fn fails_unfenced_and_passes_fenced(file: &str) {
    let registry = registry();
    let s = scenario(file);
    let r = run_scenario(&registry, &s, file, &RunOptions::default()).expect("runs");
    let v = &r.verdicts[0];
    assert_eq!(v.check, "MutualExclusion");
    assert!(!v.passed(), "{file}: {v:?}");
    assert!(
        v.summary.contains("client3 wrote under grant"),
        "{file}: {}",
        v.summary
    );
    assert_eq!(v.culprits.len(), 2);
    let fenced = with_fencing(s, true);
    let r = run_scenario(&registry, &fenced, file, &RunOptions::default()).expect("runs");
    assert!(r.passed(), "{file}: {:?}", r.verdicts);
}

#[test]
fn a_holder_paused_past_its_lease_breaks_mutual_exclusion_and_fencing_fixes_it() {
    fails_unfenced_and_passes_fenced("lock-pause.ron");
}

#[test]
fn a_holder_whose_clock_runs_slow_breaks_mutual_exclusion_and_fencing_fixes_it() {
    // No pause: client3's clock runs at a tenth of true speed, so its 50ms of work outlast the
    // 200ms lease the lock server measures on its own clock.
    fails_unfenced_and_passes_fenced("lock-drift.ron");
}

#[test]
fn the_binary_runs_a_scenario_with_the_lock_protocol() {
    let path = scenario_path("lock-pause.ron");
    let (code, text) = lock_service(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("lock-service run: lock-pause (seed 1)"),
        "{text}"
    );
    assert!(text.contains("FAIL MutualExclusion"), "{text}");
    assert!(text.contains("PASS AcquiresServed"), "{text}");
}

#[test]
fn the_binary_draws_the_timeline_and_the_svg() {
    let dir = scratch("pictures");
    let svg = dir.join("lock.svg");
    let path = scenario_path("lock-pause.ron");
    let (code, text) = lock_service(&[
        "run",
        path.to_str().unwrap(),
        "--timeline",
        "--color",
        "never",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAULT resume client3"), "{text}");
    assert!(text.contains("Grant { token: "), "{text}");
    assert!(text.contains("resource1"), "{text}");
    let drawn = std::fs::read_to_string(&svg).expect("svg written");
    assert!(
        drawn.starts_with("<svg") || drawn.starts_with("<?xml"),
        "{drawn:.80}"
    );
    assert!(drawn.contains("client3"));
}

#[test]
fn explore_finds_the_unfenced_bug_and_its_replay_file_needs_the_lock_binary() {
    let out = scratch("explore");
    let path = scenario_path("lock-unfenced.ron");
    let (code, text) = lock_service(&[
        "explore",
        path.to_str().unwrap(),
        "--seeds",
        "200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("lock-service explore: lock-unfenced"),
        "{text}"
    );
    assert!(text.contains("FAIL MutualExclusion"), "{text}");
    let shrunk: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(shrunk.len(), 1, "{shrunk:?}");
    let file = shrunk[0].to_str().unwrap();
    let header = std::fs::read_to_string(file).expect("shrunk file");
    assert!(
        header.contains("// Replay: lock-service run ")
            && header.contains("(protocol LockService)"),
        "{header}"
    );
    // The lock binary replays it: the same check fails.
    let (code, text) = lock_service(&["run", file, "--quiet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL MutualExclusion"), "{text}");
    // The plain clustersim binary does not know the protocol: it refuses, never runs another.
    let (code, text) = run_binary(&plain_clustersim(), &["run", file]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("needs protocol `LockService`"), "{text}");
    assert!(text.contains("lock-service run"), "{text}");
    assert!(!text.contains("checks:"), "{text}");
}

#[test]
fn explore_finds_nothing_with_fencing_tokens() {
    let path = scenario_path("lock-fenced.ron");
    let (code, text) = lock_service(&["explore", path.to_str().unwrap(), "--seeds", "500"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("500 runs, 0 failing"), "{text}");
}

#[test]
fn shrink_writes_a_replay_file_with_the_one_pause_that_matters() {
    let out = scratch("shrink");
    let path = scenario_path("lock-unfenced.ron");
    let (code, text) = lock_service(&[
        "shrink",
        path.to_str().unwrap(),
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    let file = out.join("lock-unfenced-seed1-min.ron");
    let shrunk = load(&file).expect("the replay file loads");
    assert_eq!(shrunk.faults.len(), 2, "{:?}", shrunk.faults);
    assert!(shrunk.nemesis.is_none());
    assert!(text.contains("replay: lock-service run"), "{text}");
}

#[test]
fn proptest_finds_the_bug_without_fencing() {
    let base = scenario("lock-unfenced.ron");
    let cfg = FaultConfig::for_scenario(&base).expect("fault config");
    let registry = registry();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let schedules = strategy::fault_schedule(&cfg);
    let scenarios =
        proptest::strategy::Strategy::prop_map(schedules, move |f| strategy::with_faults(&base, f));
    let found = strategy::find_failure(&mut runner, scenarios, |s| {
        run_scenario(&registry, s, "proptest", &RunOptions::default())
    })
    .expect("runs")
    .expect("proptest finds the unfenced bug");
    let failed: Vec<&str> = found.failures().map(|v| v.check.as_str()).collect();
    assert!(failed.contains(&"MutualExclusion"), "{failed:?}");
}

fn fenced() -> Scenario {
    scenario("lock-fenced.ron")
}

static REGISTRY: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(registry);

// ANCHOR: property
proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 256,
        failure_persistence: None,
        ..Default::default()
    })]

    #[test]
    fn fencing_tokens_keep_mutual_exclusion_under_any_pauses(
        faults in strategy::fault_schedule(&FaultConfig::for_scenario(&fenced()).unwrap())
    ) {
        let s = strategy::with_faults(&fenced(), faults);
        strategy::check_in(&REGISTRY, &s)?;
    }
}
// ANCHOR_END: property

// ANCHOR: harness
#[test]
fn the_lock_server_grants_one_lease_at_a_time_first_come_first_served() {
    let members = [
        ("lock1", "lock"),
        ("resource1", "resource"),
        ("client1", "client"),
        ("client2", "client"),
    ];
    let mut h = Harness::<LockNode>::new(&members, "lock1");
    let plan_scenario = scenario("lock-pause.ron");
    let plan = plan_scenario.plan("lock-pause").expect("plan");
    let factory = clustersim::Protocol::factory(&LockParams::default(), &plan);
    let mut lock = factory(h.id(), h.roster(), h.storage());
    h.start(&mut lock);
    let (c1, c2) = (NodeId(2), NodeId(3));
    let step = h.deliver(&mut lock, c1, Msg::Acquire);
    assert_eq!(step.sent, vec![(c1, Msg::Grant { token: 1 })]);
    assert_eq!(h.storage().get("last_token"), Some(&1));
    assert!(
        !h.storage().has_unsynced(),
        "the token is synced before the grant"
    );
    assert_eq!(
        h.deliver(&mut lock, c2, Msg::Acquire).sent,
        vec![(c2, Msg::Busy)]
    );
    // The lease runs out: client2 asked first, so client1 asking again waits its turn.
    h.advance(Duration::from_millis(150));
    assert_eq!(
        h.deliver(&mut lock, c2, Msg::Acquire).sent,
        vec![(c2, Msg::Busy)]
    );
    h.advance(Duration::from_millis(60));
    assert_eq!(
        h.deliver(&mut lock, c1, Msg::Acquire).sent,
        vec![(c1, Msg::Busy)]
    );
    assert_eq!(
        h.deliver(&mut lock, c2, Msg::Acquire).sent,
        vec![(c2, Msg::Grant { token: 2 })]
    );
}
// ANCHOR_END: harness

#[test]
fn a_fenced_resource_refuses_an_older_token_and_records_what_it_applies() {
    let members = [
        ("lock1", "lock"),
        ("resource1", "resource"),
        ("client1", "client"),
    ];
    let mut h = Harness::<LockNode>::new(&members, "resource1");
    let s = scenario("lock-pause.ron");
    let plan = s.plan("lock-pause").expect("plan");
    let params = LockParams {
        fencing: true,
        ..LockParams::default()
    };
    let factory = clustersim::Protocol::factory(&params, &plan);
    let mut resource = factory(h.id(), h.roster(), h.storage());
    let c = NodeId(2);
    let step = h.deliver(&mut resource, c, Msg::Write { token: 2 });
    assert_eq!(step.sent, vec![(c, Msg::Written)]);
    assert_eq!(step.history.len(), 1, "an applied event");
    assert_eq!(
        step.history[0].op.to_string(),
        "applied(client=client1, token=2)"
    );
    let step = h.deliver(&mut resource, c, Msg::Write { token: 1 });
    assert_eq!(step.sent, vec![(c, Msg::Refused)]);
    assert!(step.history.is_empty());
}

/// A finished run of two clients with `history`, no faults, both up at the end.
fn outcome_of(history: clustersim::history::History) -> clustersim::sim::RunOutcome {
    let roster = clustersim::node::Roster::new(
        [
            ("lock1", "lock"),
            ("client1", "client"),
            ("client2", "client"),
        ]
        .map(|(n, r)| (n.to_string(), r.to_string())),
    );
    let end = clustersim::SimTime::ZERO + Duration::from_secs(2);
    clustersim::sim::RunOutcome::from_history(roster, end, history)
}

#[test]
fn acquires_served_fails_a_client_still_asking_in_vain_and_passes_one_served() {
    use clustersim::history::{History, Op};
    use clustersim::Check;
    use lock_service::AcquiresServed;
    let t = |ms| clustersim::SimTime::ZERO + Duration::from_millis(ms);
    let (c1, c2) = (NodeId(1), NodeId(2));
    let mut h = History::new();
    // client1 gets the lock once; client2 asks at 100ms and again at 700ms, told busy each time.
    let id = h.invoke(t(50), c1, Op::custom("acquire", &()));
    h.ok(t(52), c1, id, Op::custom("acquire", &1u64));
    for at in [100, 700] {
        let id = h.invoke(t(at), c2, Op::custom("acquire", &()));
        h.fail(t(at + 2), c2, id, Op::custom("acquire", &()));
    }
    let check = AcquiresServed::default();
    let v = check.evaluate(&outcome_of(h.clone()));
    assert!(!v.passed(), "{v:?}");
    assert!(
        v.summary.starts_with("client2 asked for the lock 2 times"),
        "{}",
        v.summary
    );
    // client2 granted at 900ms: served.
    let id = h.invoke(t(900), c2, Op::custom("acquire", &()));
    h.ok(t(902), c2, id, Op::custom("acquire", &2u64));
    let v = check.evaluate(&outcome_of(h));
    assert_eq!(v.status, clustersim::check::Status::Pass, "{v:?}");
    // A client that stopped asking before the deadline is not judged.
    let mut quiet = History::new();
    let id = quiet.invoke(t(100), c2, Op::custom("acquire", &()));
    quiet.fail(t(102), c2, id, Op::custom("acquire", &()));
    let v = check.evaluate(&outcome_of(quiet));
    assert_eq!(v.status, clustersim::check::Status::Unknown, "{v:?}");
}

/// An outside protocol gets the exhaustive search by registering with `searchable`: untimed,
/// the unfenced lock lets two clients hold it on a short path with no pause at all (its safety
/// rests on timing), the path replays to the same failure through the same binary, and the
/// fenced lock survives every order (its safety does not).
#[test]
fn check_untimed_finds_two_holders_without_fencing_and_none_with_it() {
    let dir = scratch("check");
    let d = dir.to_str().expect("utf-8");
    let unfenced = scenario_path("lock-check.ron");
    let (code, text) = lock_service(&[
        "check",
        unfenced.to_str().expect("utf-8"),
        "--untimed",
        "--out",
        d,
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL MutualExclusion"), "{text}");
    let file = dir.join("lock-check-check-min.ron");
    let (code, replay) = lock_service(&["run", file.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{replay}");
    assert!(replay.contains("FAIL MutualExclusion"), "{replay}");
    // Timed, no pause is a choice, so the same lock passes: what is branched on matters.
    let (code, text) = lock_service(&["check", unfenced.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{text}");
    let fenced = scenario_path("lock-check-fenced.ron");
    let (code, text) = lock_service(&["check", fenced.to_str().expect("utf-8"), "--untimed"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("complete: every state was explored"),
        "{text}"
    );
}
