//! A panicking protocol is a failed run, never a crashed program: the run stops at the panic,
//! the outcome names the node, what it was handling and the message, the report fails
//! `NoPanic`, `explore` counts and shrinks it like any other failure, and the CLI exits 1.

use clustersim::explore::{
    progress::Silent, runner, shrink, sweep, Budget, Shard, ShrinkOptions, SweepConfig,
};
use clustersim::node::NodeFactory;
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{parse, Plan, Scenario};
use clustersim::sim::StopReason;
use clustersim::{Context, Duration, Node, NodeId, Protocol};

/// Nodes ping each other every 10ms; a node that has been restarted panics on the first ping
/// it receives (a bug only a crash and a restart reveal).
#[derive(Debug)]
struct Fragile {
    restarted: bool,
}

impl Node for Fragile {
    type Msg = u8;
    type Timer = ();
    type Stored = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let boots = ctx.storage().get("boots").copied().unwrap_or(0) + 1;
        ctx.storage().put("boots", boots);
        ctx.storage().sync();
        self.restarted = boots > 1;
        ctx.set_timer(Duration::from_millis(10), ());
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: u8) {
        assert!(!self.restarted, "pinged after a restart");
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        let me = ctx.id().0;
        let peer = NodeId((me + 1) % ctx.roster().len() as u32);
        ctx.send(peer, 1);
        ctx.set_timer(Duration::from_millis(10), ());
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct FragileParams {}

impl Protocol for FragileParams {
    type Node = Fragile;
    const NAME: &'static str = "Fragile";
    fn validate(&self, _plan: &Plan) -> Result<(), String> {
        Ok(())
    }
    fn checks(&self) -> &'static [&'static str] {
        &[]
    }
    fn factory(&self, _plan: &Plan) -> NodeFactory<Fragile> {
        Box::new(|_, _, _| Fragile { restarted: false })
    }
}

fn registry() -> Registry {
    Registry::shipped()
        .named("fragile")
        .protocol::<FragileParams>()
}

fn scenario(faults: &str, nemesis: &str) -> Scenario {
    let text = format!(
        r#"(
            name: "fragile",
            bounds: (max_time: "2s"),
            nodes: [(role: "n", count: 3)],
            protocol: Fragile(),
            network: (default: (latency: Uniform(min: "1ms", max: "2ms"))),
            faults: [{faults}],
            {nemesis}
            checks: [Liveness],
        )"#
    );
    parse(&text, "fragile").expect("parses")
}

#[test]
fn a_panic_ends_the_run_and_fails_no_panic_naming_the_node_and_the_event() {
    clustersim::sim::quiet_panics();
    let s = scenario(
        r#"(at: "100ms", fault: Crash("n2")), (at: "200ms", fault: Restart("n2"))"#,
        "",
    );
    let r = run_scenario(&registry(), &s, "fragile", &RunOptions::default()).expect("runs");
    assert_eq!(r.outcome.stop, StopReason::Panicked);
    let p = r.outcome.panic.as_ref().expect("a panic");
    assert_eq!(p.node, NodeId(1));
    assert_eq!(p.handling, "a message from n1");
    assert_eq!(p.message, "pinged after a restart");
    assert!(
        p.location
            .as_deref()
            .is_some_and(|l| l.starts_with("tests/panics.rs:")),
        "{p:?}"
    );
    assert!(p.time.0 >= 200_000_000 && p.time.0 < 220_000_000, "{p:?}");
    assert!(!r.passed());
    assert_eq!(r.verdicts[0].check, "NoPanic");
    assert!(
        r.verdicts[0].summary.starts_with("n2 panicked at 0.2"),
        "{}",
        r.verdicts[0].summary
    );
    assert_eq!(r.verdicts[1].check, "Liveness");
    assert_eq!(r.verdicts[1].status, clustersim::check::Status::Unknown);
    // Without the restart nothing panics.
    let calm = scenario(r#"(at: "100ms", fault: Crash("n2"))"#, "");
    let r = run_scenario(&registry(), &calm, "fragile", &RunOptions::default()).expect("runs");
    assert!(r.outcome.panic.is_none());
}

#[test]
fn explore_counts_a_panic_as_a_failure_and_shrinks_it_to_the_crash_and_restart() {
    clustersim::sim::quiet_panics();
    let s = scenario(
        "",
        r#"nemesis: (kinds: [Crash, Partition], interval: "200ms", min_duration: "20ms", max_duration: "100ms", stop: "1.5s"),"#,
    );
    let registry = registry();
    let config = SweepConfig::default()
        .first_seed(0)
        .budget(Budget::Seeds(50))
        .shard(Shard::ALL)
        .jobs(2)
        .keep_going(true)
        .until_covered(false);
    let found = sweep(&s, &config, runner(&registry, "fragile"), &Silent).expect("sweeps");
    let first = found
        .first_failure()
        .expect("a crash and restart happen within 50 seeds");
    assert_eq!(first.checks[0].0, "NoPanic");
    let shrunk = shrink(
        &s,
        first.seed,
        runner(&registry, "fragile"),
        &ShrinkOptions::default(),
    )
    .expect("shrinks")
    .expect("fails");
    assert_eq!(shrunk.check, "NoPanic");
    let kinds: Vec<String> = shrunk
        .scenario
        .faults
        .iter()
        .map(|f| format!("{:?}", f.fault))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds[0].starts_with("Crash") && kinds[1].starts_with("Restart"),
        "{kinds:?}"
    );
}
