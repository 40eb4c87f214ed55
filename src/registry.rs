//! The registry: which protocols and checks a program knows, by the names scenarios use.
//!
//! A scenario names its protocol and checks as RON text (`protocol: Raft(...)`,
//! `checks: [Linearizable]`); a `Registry` turns those names into code. The shipped protocols
//! and checks register here through the same `protocol::<P>()` and `check::<C>()` calls a user
//! makes for their own, so every tool (run, explore, shrink, proptest, pictures) treats them
//! alike. Nothing else in the crate names a particular protocol.

use crate::check::Verdict;
use crate::error::{Error, Result};
use crate::explore::exhaustive::{ExhaustiveConfig, ExhaustiveOutcome};
use crate::protocol::{Check, Property, Protocol};
use crate::scenario::{Plan, Scenario, Spec};
use crate::sim::{RunOutcome, Sim};
use crate::trace::TraceLevel;

/// Refuses `workload.rate` for a protocol whose clients would ignore it (`Protocol::open_loop`).
fn open_loop_only<P: Protocol>(protocol: &P, plan: &Plan) -> std::result::Result<(), String> {
    let rate = plan.workload().rate;
    if rate > 0.0 && !protocol.open_loop() {
        return Err(format!(
            "workload.rate ({rate}) sets an open-loop load, but {}'s clients do not read it \
             (they run closed loop, one call at a time at `interval`); the key-value protocols \
             PrimaryBackup, Quorum and Raft do",
            P::NAME
        ));
    }
    Ok(())
}

/// A protocol with its parameters, its type erased: what a `Plan` runs.
pub trait AnyProtocol {
    /// The protocol's name.
    fn name(&self) -> &'static str;
    /// Checks the parameters against the plan.
    fn validate(&self, plan: &Plan) -> std::result::Result<(), String>;
    /// Names of the checks the protocol lists as made for its history.
    fn checks(&self) -> &'static [&'static str];
    /// Roles whose nodes the protocol declares interchangeable (`Protocol::interchangeable`).
    fn interchangeable(&self) -> &'static [&'static str] {
        &[]
    }
    /// Runs the protocol's nodes on a validated plan.
    fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome;
    /// The outside program the nodes are (`Protocol::external`), if they are one.
    fn external(&self) -> Option<crate::protocol::External> {
        None
    }
    /// The time the protocol takes to recover after a fault (`Protocol::recovery`).
    fn recovery(&self, plan: &Plan) -> Option<crate::time::Duration> {
        let _ = plan;
        None
    }
    /// Bytes one node costs before it allocates anything (for the up-front memory estimate).
    fn node_bytes(&self) -> u64 {
        1024
    }
    /// Bytes every node of the plan holds on the heap as it boots (`Node::heap_bytes`),
    /// estimated from one node built per role. Default 0: not estimated.
    fn heap_bytes(&self, plan: &Plan) -> u64 {
        let _ = plan;
        0
    }
    /// True when the protocol was registered with `Registry::searchable` (`exhaustive` searches
    /// it).
    fn searchable(&self) -> bool {
        false
    }
    /// Searches every path of the plan exhaustively (`explore::exhaustive`); `None` when the
    /// protocol was registered without `Registry::searchable` (its nodes cannot be copied and
    /// fingerprinted).
    fn exhaustive(
        &self,
        plan: &Plan,
        checks: &[Box<dyn AnyCheck>],
        config: &ExhaustiveConfig,
    ) -> Option<ExhaustiveOutcome> {
        let _ = (plan, checks, config);
        None
    }
    /// `exhaustive`, showing `on_end` every run the search judges at a path's end (what a
    /// test compares with another method's runs); by default the runs are not shown.
    fn exhaustive_judging(
        &self,
        plan: &Plan,
        checks: &[Box<dyn AnyCheck>],
        config: &ExhaustiveConfig,
        on_end: &mut dyn FnMut(&RunOutcome),
    ) -> Option<ExhaustiveOutcome> {
        let _ = on_end;
        self.exhaustive(plan, checks, config)
    }
    /// A run of the plan to step by hand (`debug`), its trace kept whole; `None` when the
    /// protocol cannot be stepped.
    fn stepper(&self, plan: &Plan) -> Option<Box<dyn crate::debug::Stepper>> {
        let _ = plan;
        None
    }
}

/// A protocol whose nodes can be copied and fingerprinted, so the exhaustive search can run it
/// (what `Registry::searchable` registers).
#[derive(Clone, Debug)]
pub struct Searchable<P>(pub P);

impl<P: Protocol> AnyProtocol for Searchable<P>
where
    P::Node: crate::explore::exhaustive::SearchNode,
{
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn validate(&self, plan: &Plan) -> std::result::Result<(), String> {
        Protocol::validate(&self.0, plan)?;
        open_loop_only(&self.0, plan)
    }
    fn checks(&self) -> &'static [&'static str] {
        Protocol::checks(&self.0)
    }
    fn interchangeable(&self) -> &'static [&'static str] {
        Protocol::interchangeable(&self.0)
    }
    fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome {
        self.0.run(plan, trace)
    }
    fn external(&self) -> Option<crate::protocol::External> {
        Protocol::external(&self.0)
    }
    fn recovery(&self, plan: &Plan) -> Option<crate::time::Duration> {
        Protocol::recovery(&self.0, plan)
    }
    fn node_bytes(&self) -> u64 {
        Sim::<P::Node>::node_bytes()
    }
    fn heap_bytes(&self, plan: &Plan) -> u64 {
        sampled_heap_bytes(&self.0, plan)
    }
    fn searchable(&self) -> bool {
        true
    }
    fn exhaustive(
        &self,
        plan: &Plan,
        checks: &[Box<dyn AnyCheck>],
        config: &ExhaustiveConfig,
    ) -> Option<ExhaustiveOutcome> {
        self.exhaustive_judging(plan, checks, config, &mut |_| {})
    }
    fn exhaustive_judging(
        &self,
        plan: &Plan,
        checks: &[Box<dyn AnyCheck>],
        config: &ExhaustiveConfig,
        on_end: &mut dyn FnMut(&RunOutcome),
    ) -> Option<ExhaustiveOutcome> {
        let sim = Sim::new(plan.sim_config(TraceLevel::HashOnly), self.0.factory(plan));
        Some(crate::explore::exhaustive::search_judging(
            sim, checks, config, on_end,
        ))
    }
    fn stepper(&self, plan: &Plan) -> Option<Box<dyn crate::debug::Stepper>> {
        Some(Box::new(Sim::new(
            plan.sim_config(TraceLevel::Full),
            self.0.factory(plan),
        )))
    }
}

impl<P: Protocol> AnyProtocol for P {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn validate(&self, plan: &Plan) -> std::result::Result<(), String> {
        Protocol::validate(self, plan)?;
        open_loop_only(self, plan)
    }
    fn checks(&self) -> &'static [&'static str] {
        Protocol::checks(self)
    }
    fn interchangeable(&self) -> &'static [&'static str] {
        Protocol::interchangeable(self)
    }
    fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome {
        Sim::new(plan.sim_config(trace), self.factory(plan)).run()
    }
    fn external(&self) -> Option<crate::protocol::External> {
        Protocol::external(self)
    }
    fn recovery(&self, plan: &Plan) -> Option<crate::time::Duration> {
        Protocol::recovery(self, plan)
    }
    fn node_bytes(&self) -> u64 {
        Sim::<P::Node>::node_bytes()
    }
    fn heap_bytes(&self, plan: &Plan) -> u64 {
        sampled_heap_bytes(self, plan)
    }
    fn stepper(&self, plan: &Plan) -> Option<Box<dyn crate::debug::Stepper>> {
        Some(Box::new(Sim::new(
            plan.sim_config(TraceLevel::Full),
            self.factory(plan),
        )))
    }
}

/// What the plan's nodes hold on the heap as they boot: one node built per role (from empty
/// storage), its `heap_bytes` counted once for each node of that role.
fn sampled_heap_bytes<P: Protocol>(protocol: &P, plan: &Plan) -> u64 {
    use crate::node::Node;
    let factory = protocol.factory(plan);
    let storage = crate::storage::Storage::default();
    plan.roster
        .roles()
        .into_iter()
        .map(|role| {
            let members = plan.roster.members(role);
            let one = members
                .first()
                .map_or(0, |&id| factory(id, &plan.roster, &storage).heap_bytes());
            one.saturating_mul(members.len() as u64)
        })
        .fold(0u64, u64::saturating_add)
}

/// A check with its parameters, its type erased.
pub trait AnyCheck: Send + Sync {
    /// The check's name.
    fn name(&self) -> &'static str;
    /// Safety or liveness.
    fn property(&self) -> Property;
    /// Judges a finished run; the verdict carries the check's property.
    fn evaluate(&self, outcome: &RunOutcome) -> Verdict;
    /// May be judged at every state of a search (`Check::invariant`).
    fn invariant(&self) -> bool {
        false
    }
    /// Reads the history (`Check::reads_history`).
    fn reads_history(&self) -> bool {
        true
    }
    /// Fails on what has not happened yet (`Check::fails_on_absence`).
    fn fails_on_absence(&self) -> bool {
        false
    }
    /// Resolves model names against the program's models (`Check::resolve_models`).
    fn resolve_models(&mut self, models: &crate::lin::Models) -> std::result::Result<(), String> {
        let _ = models;
        Ok(())
    }
}

impl<C: Check> AnyCheck for C {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn property(&self) -> Property {
        Check::property(self)
    }
    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let mut v = Check::evaluate(self, outcome);
        v.property = Check::property(self);
        if Check::fails_on_absence(self) {
            v = crate::check::judged_fairly(v, outcome);
        }
        v
    }
    fn fails_on_absence(&self) -> bool {
        Check::fails_on_absence(self)
    }
    fn invariant(&self) -> bool {
        Check::invariant(self)
    }
    fn reads_history(&self) -> bool {
        Check::reads_history(self)
    }
    fn resolve_models(&mut self, models: &crate::lin::Models) -> std::result::Result<(), String> {
        Check::resolve_models(self, models)
    }
}

/// Builds a component from its scenario text.
pub type Build<T> = fn(&Spec) -> std::result::Result<Box<T>, crate::scenario::ParamsError>;

struct ProtocolEntry {
    name: &'static str,
    build: Build<dyn AnyProtocol>,
}

struct CheckEntry {
    name: &'static str,
    build: Build<dyn AnyCheck>,
    applies_to: fn(&str, bool) -> bool,
}

/// The protocols and checks one program knows, and the program's name for replay commands.
pub struct Registry {
    program: String,
    protocols: Vec<ProtocolEntry>,
    checks: Vec<CheckEntry>,
    models: crate::lin::Models,
}

/// A scenario resolved against a registry: the plan, the protocol and the checks, ready to run.
pub struct Prepared {
    /// The scenario with every name resolved.
    pub plan: Plan,
    /// The protocol with its parameters.
    pub protocol: Box<dyn AnyProtocol>,
    /// The checks, in the scenario's order.
    pub checks: Vec<Box<dyn AnyCheck>>,
}

impl Prepared {
    /// Runs the plan at `trace` level and judges it with every check. A run a node's panic
    /// ended fails `NoPanic`, and its checks are not judged (they would see a cut-off run).
    pub fn run(&self, trace: TraceLevel) -> (RunOutcome, Vec<Verdict>) {
        let outcome = self.protocol.run(&self.plan, trace);
        let verdicts =
            match &outcome.panic {
                None => self.checks.iter().map(|c| c.evaluate(&outcome)).collect(),
                Some(p) => std::iter::once(crate::check::panic_verdict(&outcome, p))
                    .chain(self.checks.iter().map(|c| {
                        Verdict::unknown(c.name(), "not judged: the run stopped at a panic")
                    }))
                    .collect(),
            };
        (outcome, verdicts)
    }
}

impl Registry {
    /// An empty registry for the program called `program` (named in replay commands).
    pub fn new(program: &str) -> Self {
        Registry {
            program: program.to_string(),
            protocols: Vec::new(),
            checks: Vec::new(),
            models: crate::lin::Models::new(),
        }
    }

    /// Every protocol and check clustersim ships, for the `clustersim` program.
    pub fn shipped() -> Self {
        Self::new("clustersim").with_shipped()
    }

    /// Adds every protocol, check and linearizability model clustersim ships.
    pub fn with_shipped(mut self) -> Self {
        use crate::check::*;
        use crate::protocols::{
            gossip, kv, paxos, ping, queue, raft, shardkv, two_phase_commit, txn_store,
        };
        self.models = std::mem::take(&mut self.models).with_all(&crate::lin::Models::shipped());
        #[cfg(target_os = "linux")]
        let this = self.protocol::<crate::protocols::maelstrom::MaelstromParams>();
        #[cfg(not(target_os = "linux"))]
        let this = self;
        this.protocol::<ping::PingParams>()
            .searchable::<queue::QueueParams>()
            .protocol::<kv::primary_backup::PrimaryBackupParams>()
            .protocol::<kv::quorum::QuorumParams>()
            .protocol::<gossip::GossipParams>()
            .searchable::<raft::RaftParams>()
            .searchable::<two_phase_commit::TwoPhaseCommitParams>()
            .searchable::<paxos::PaxosParams>()
            .protocol::<txn_store::TxnStoreParams>()
            .searchable::<shardkv::ShardKvParams>()
            .check::<Liveness>()
            .check::<NoLostTasks>()
            .check::<NoLostEffects>()
            .check::<NoDuplicateEffects>()
            .check::<NoDuplicateCompletions>()
            .check::<Linearizable>()
            .check::<Durable>()
            .check::<Converged>()
            .check::<StaleReads>()
            .check::<AllDelivered>()
            .check::<ElectionSafety>()
            .check::<Atomic>()
            .check::<Transactional>()
            .check::<Throughput>()
            .check::<Echo>()
            .check::<UniqueIds>()
            .check::<BroadcastDelivered>()
            .check::<CounterConverged>()
            .check::<KafkaLog>()
    }

    /// The same registry under another program name (a user's binary that adds protocols).
    pub fn named(mut self, program: &str) -> Self {
        self.program = program.to_string();
        self
    }

    /// Registers protocol `P` under `P::NAME`, replacing one registered under that name.
    pub fn protocol<P: Protocol>(self) -> Self {
        self.protocol_with(P::NAME, |spec| Ok(Box::new(spec.params::<P>()?)))
    }

    /// Registers protocol `P` as `protocol` does, and lets `clustersim check` search it
    /// exhaustively: its node type must be `Clone + Hash` (the search copies runs and prunes
    /// states it has seen by fingerprint), its stored values `Hash`, and all of them `Send +
    /// Sync` (`check --threads` expands states on several threads).
    pub fn searchable<P: Protocol>(self) -> Self
    where
        P::Node: crate::explore::exhaustive::SearchNode,
    {
        self.protocol_with(P::NAME, |spec| {
            Ok(Box::new(Searchable(spec.params::<P>()?)))
        })
    }

    /// Registers a protocol whose node type depends on its parameters (one name for a family of
    /// node types, say), built by `build` from the scenario's `name(...)` text; replaces one
    /// registered under that name. Most protocols use `protocol::<P>()` instead.
    pub fn protocol_with(mut self, name: &'static str, build: Build<dyn AnyProtocol>) -> Self {
        self.protocols.retain(|e| e.name != name);
        self.protocols.push(ProtocolEntry { name, build });
        self.protocols.sort_by_key(|e| e.name);
        self
    }

    /// Registers check `C` under `C::NAME`, replacing one registered under that name.
    pub fn check<C: Check>(mut self) -> Self {
        self.checks.retain(|e| e.name != C::NAME);
        self.checks.push(CheckEntry {
            name: C::NAME,
            build: |spec| Ok(Box::new(spec.params::<C>()?)),
            applies_to: C::applies_to,
        });
        self.checks.sort_by_key(|e| e.name);
        self
    }

    /// Registers linearizability model `M` under `M::NAME` for `check-history --model`,
    /// replacing one registered under that name.
    pub fn model<M: crate::lin::NamedModel>(mut self) -> Self {
        self.models = std::mem::take(&mut self.models).add::<M>();
        self
    }

    /// Registers a linearizability model built by `build` under `name` (one type under
    /// several names, say), replacing one registered under that name.
    pub fn model_with(mut self, name: &'static str, build: crate::lin::named::BuildModel) -> Self {
        self.models = std::mem::take(&mut self.models).add_with(name, build);
        self
    }

    /// The linearizability models the program knows, in the order they were registered.
    pub fn models(&self) -> &crate::lin::Models {
        &self.models
    }

    /// The program's name, as replay commands write it.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Names of the registered protocols, sorted.
    pub fn protocol_names(&self) -> Vec<&'static str> {
        self.protocols.iter().map(|e| e.name).collect()
    }

    /// Names of the registered checks, sorted.
    pub fn check_names(&self) -> Vec<&'static str> {
        self.checks.iter().map(|e| e.name).collect()
    }

    /// True when a protocol called `name` is registered.
    pub fn knows_protocol(&self, name: &str) -> bool {
        self.protocols.iter().any(|e| e.name == name)
    }

    /// Names of the registered checks that apply to `protocol`.
    pub fn checks_for(&self, protocol: &dyn AnyProtocol) -> Vec<&'static str> {
        let listed = protocol.checks();
        self.checks
            .iter()
            .filter(|e| (e.applies_to)(protocol.name(), listed.contains(&e.name)))
            .map(|e| e.name)
            .collect()
    }

    /// The protocol a scenario names, with its parameters; `origin` names the file in errors.
    pub fn protocol_of(&self, scenario: &Scenario, origin: &str) -> Result<Box<dyn AnyProtocol>> {
        let spec = &scenario.protocol;
        let Some(entry) = self.protocols.iter().find(|e| e.name == spec.name()) else {
            return Err(at(
                origin,
                spec,
                format!(
                    "unknown protocol `{}`: {} knows {}",
                    spec.name(),
                    self.program,
                    quoted(&self.protocol_names())
                ),
            ));
        };
        (entry.build)(spec).map_err(|e| params_error(origin, "protocol", spec, e))
    }

    /// Resolves a scenario: validates it, builds its protocol and checks, and checks that each
    /// check applies to the protocol; `origin` names the file in errors.
    pub fn prepare(&self, scenario: &Scenario, origin: &str) -> Result<Prepared> {
        let protocol = self.protocol_of(scenario, origin)?;
        let mut checks: Vec<Box<dyn AnyCheck>> = Vec::with_capacity(scenario.checks.len());
        for spec in &scenario.checks {
            if spec.name() == ALL && spec.params_text().is_empty() {
                // Every registered check that applies, with its default parameters; one that
                // needs parameters is left to be named explicitly.
                for name in self.checks_for(protocol.as_ref()) {
                    let already = checks.iter().any(|c| c.name() == name)
                        || scenario.checks.iter().any(|s| s.name() == name);
                    let entry = self.checks.iter().find(|e| e.name == name);
                    if let (false, Some(entry)) = (already, entry) {
                        if let Ok(Ok(check)) = Spec::parse(name).map(|s| (entry.build)(&s)) {
                            checks.push(check);
                        }
                    }
                }
                continue;
            }
            let Some(entry) = self.checks.iter().find(|e| e.name == spec.name()) else {
                return Err(at(
                    origin,
                    spec,
                    format!(
                        "unknown check `{}`: {} knows {}",
                        spec.name(),
                        self.program,
                        quoted(&self.check_names())
                    ),
                ));
            };
            let mut check =
                (entry.build)(spec).map_err(|e| params_error(origin, "check", spec, e))?;
            check
                .resolve_models(&self.models)
                .map_err(|m| at(origin, spec, format!("check `{}`: {m}", spec.name())))?;
            checks.push(check);
        }
        let mut plan = scenario.plan(origin)?;
        plan.recovery = protocol.recovery(&plan);
        protocol.validate(&plan).map_err(|message| Error::Invalid {
            path: origin.to_string(),
            message,
        })?;
        budget_fits(&plan, protocol.as_ref(), origin)?;
        let applicable = self.checks_for(protocol.as_ref());
        for check in &checks {
            if !applicable.contains(&check.name()) {
                return Err(Error::Invalid {
                    path: origin.to_string(),
                    message: format!(
                        "check `{}` does not apply to protocol `{}`; it supports: {}",
                        check.name(),
                        protocol.name(),
                        applicable.join(", ")
                    ),
                });
            }
        }
        Ok(Prepared {
            plan,
            protocol,
            checks,
        })
    }
}

/// From this many nodes on, `prepare` builds one node per role to see what it allocates.
const SAMPLE_FROM: u64 = 1024;

/// Refuses a plan whose nodes alone would not fit in its memory budget, before anything is
/// allocated for them.
fn budget_fits(plan: &Plan, protocol: &dyn AnyProtocol, origin: &str) -> Result<()> {
    let nodes = plan.roster.len() as u64;
    let per = protocol.node_bytes();
    let budget = plan.scenario.bounds.max_memory;
    let need = nodes.saturating_mul(per);
    let refuse = |need: u64, what: String| Error::Invalid {
        path: origin.to_string(),
        message: format!(
            "{nodes} nodes need about {} {what}, over the memory budget of {budget}; lower the \
             node count, or raise `bounds.max_memory` (or --max-memory)",
            crate::memory::Bytes(need),
        ),
    };
    if need > budget.0 {
        return Err(refuse(
            need,
            format!("before the run begins ({} each)", crate::memory::Bytes(per)),
        ));
    }
    // Only once the slots fit, and only for a large cluster (where per-node lists of peers
    // grow with the square of its size), is a node built to see what it allocates.
    let heap = if nodes >= SAMPLE_FROM {
        protocol.heap_bytes(plan)
    } else {
        0
    };
    let booted = need.saturating_add(heap);
    if booted > budget.0 {
        return Err(refuse(
            booted,
            format!(
                "once booted ({} in their own state: one node of each role was built to see)",
                crate::memory::Bytes(heap)
            ),
        ));
    }
    Ok(())
}

/// The check name that stands for every registered check applying to the protocol
/// (`checks: [All]`), each with its default parameters.
pub const ALL: &str = "All";

/// `a`, `b`, `c`: names as a sentence lists them.
pub fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error about `spec`, at its place in the file when known.
pub(crate) fn at(origin: &str, spec: &Spec, message: String) -> Error {
    match spec.position() {
        Some((line, col)) => Error::Parse {
            path: origin.to_string(),
            line,
            col,
            message,
        },
        None => Error::Invalid {
            path: origin.to_string(),
            message,
        },
    }
}

fn params_error(origin: &str, what: &str, spec: &Spec, e: crate::scenario::ParamsError) -> Error {
    Error::Parse {
        path: origin.to_string(),
        line: e.line,
        col: e.col,
        message: format!("{what} `{}`: {}", spec.name(), e.message),
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("program", &self.program)
            .field("protocols", &self.protocol_names())
            .field("checks", &self.check_names())
            .field("models", &self.models)
            .finish()
    }
}
