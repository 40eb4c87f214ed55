//! Chapter 7's example of proptest in your own tests: random fault schedules from
//! `clustersim::strategy` against the task queue, one design that must survive them and one that
//! must not.

use clustersim::registry::Registry;
use clustersim::scenario::{load, Scenario};
use clustersim::strategy::{self, FaultConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn scenario(path: &str) -> Scenario {
    load(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")).as_ref()).expect("scenario loads")
}

// ANCHOR: proptest
fn fixed_queue() -> Scenario {
    scenario("scenarios/hunt/queue-idempotent-nemesis.ron")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Leases + acks + an idempotent sink: no schedule of worker crashes loses a task or applies
    /// an effect twice. A failure writes a replayable RON file under target/clustersim-failures.
    #[test]
    fn fixed_queue_survives_random_worker_crashes(
        faults in strategy::fault_schedule(&FaultConfig::for_scenario(&fixed_queue()).unwrap())
    ) {
        strategy::check(&strategy::with_faults(&fixed_queue(), faults))?;
    }
}
// ANCHOR_END: proptest

// ANCHOR: find
/// The same search against the queue without an idempotent sink finds a duplicate effect, and
/// proptest shrinks the schedule that shows it to a handful of faults.
#[test]
fn queue_without_idempotent_sink_applies_an_effect_twice() {
    let base = scenario("scenarios/hunt/queue-reliable-nemesis.ron");
    let cfg = FaultConfig::for_scenario(&base).unwrap();
    let scenarios =
        strategy::fault_schedule(&cfg).prop_map(move |f| strategy::with_faults(&base, f));
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::with_cases(64), rng);
    let found = strategy::find_failure(&mut runner, scenarios, |s| {
        clustersim::run::run_scenario(&Registry::shipped(), s, &s.name, &Default::default())
    })
    .expect("the search runs")
    .expect("a failing schedule is found");
    let failed: Vec<&str> = found.failures().map(|v| v.check.as_str()).collect();
    assert_eq!(failed, ["NoDuplicateEffects"]);
    assert!(
        found.scenario.faults.len() <= 3,
        "shrunk: {:?}",
        found.scenario.faults
    );
}
// ANCHOR_END: find
