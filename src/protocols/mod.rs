//! The protocols clustersim ships, one module (or folder) per family, and the registry that
//! maps a scenario's `protocol` field to node code.
//!
//! Adding a protocol: write a module with a params struct implementing `Protocol`, add a
//! variant to `ProtocolSpec`, and add it to the four `match`es below.

pub mod gossip;
pub mod kv;
pub mod ping;
pub mod queue;
pub mod raft;

use crate::check::Check;
use crate::node::{Node, NodeFactory};
use crate::scenario::Plan;
use crate::sim::{RunOutcome, Sim};
use crate::trace::TraceLevel;
use serde::{Deserialize, Serialize};

/// A protocol family: its parameters validate a plan and build the nodes.
pub trait Protocol {
    /// The node type every role of this protocol is a variant of.
    type Node: Node;

    /// The protocol's name, as the scenario's `protocol` variant.
    fn name(&self) -> &'static str;

    /// Checks the parameters against the plan (roles present, values sensible).
    fn validate(&self, plan: &Plan) -> Result<(), String>;

    /// The checks this protocol's history supports besides `Liveness`.
    fn checks(&self) -> &'static [&'static str];

    /// Builds nodes from their id and durable storage.
    fn factory(&self, plan: &Plan) -> NodeFactory<Self::Node>;
}

/// Runs `protocol` on `plan` and returns the run's outcome.
pub fn run_protocol<P: Protocol>(protocol: &P, plan: &Plan, trace: TraceLevel) -> RunOutcome {
    Sim::new(plan.sim_config(trace), protocol.factory(plan)).run()
}

/// Which protocol a scenario runs, with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProtocolSpec {
    /// Nodes ping each other and answer pings: the smallest protocol, for the engine's demos.
    Ping(ping::PingParams),
    /// Producers, a queue server (or a replicated group), workers and a sink: the seed's task queue.
    Queue(queue::QueueParams),
    /// Primary-backup key-value replication, async or sync, with failover.
    PrimaryBackup(kv::primary_backup::PrimaryBackupParams),
    /// Dynamo-style quorum key-value replication with read repair and anti-entropy.
    Quorum(kv::quorum::QuorumParams),
    /// Gossip broadcast with anti-entropy: the seed's chat room.
    Gossip(gossip::GossipParams),
    /// Raft consensus with a replicated key-value store on top.
    Raft(raft::RaftParams),
    /// One of the book's exercises (`exercises/`), the student's code or the reference solution.
    Exercise(crate::exercises::ExerciseSpec),
}

impl ProtocolSpec {
    /// The protocol's name.
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::Ping(p) => p.name(),
            ProtocolSpec::Queue(p) => p.name(),
            ProtocolSpec::PrimaryBackup(p) => p.name(),
            ProtocolSpec::Quorum(p) => p.name(),
            ProtocolSpec::Gossip(p) => p.name(),
            ProtocolSpec::Raft(p) => p.name(),
            ProtocolSpec::Exercise(p) => p.name(),
        }
    }

    /// Checks parameters against the plan.
    pub fn validate(&self, plan: &Plan) -> Result<(), String> {
        match self {
            ProtocolSpec::Ping(p) => p.validate(plan),
            ProtocolSpec::Queue(p) => p.validate(plan),
            ProtocolSpec::PrimaryBackup(p) => p.validate(plan),
            ProtocolSpec::Quorum(p) => p.validate(plan),
            ProtocolSpec::Gossip(p) => p.validate(plan),
            ProtocolSpec::Raft(p) => p.validate(plan),
            ProtocolSpec::Exercise(p) => p.validate(plan),
        }
    }

    /// Names of the checks this protocol supports.
    pub fn check_names(&self) -> Vec<&'static str> {
        let own = match self {
            ProtocolSpec::Ping(p) => p.checks(),
            ProtocolSpec::Queue(p) => p.checks(),
            ProtocolSpec::PrimaryBackup(p) => p.checks(),
            ProtocolSpec::Quorum(p) => p.checks(),
            ProtocolSpec::Gossip(p) => p.checks(),
            ProtocolSpec::Raft(p) => p.checks(),
            ProtocolSpec::Exercise(p) => p.checks(),
        };
        std::iter::once("Liveness")
            .chain(own.iter().copied())
            .collect()
    }

    /// True when `check` applies to this protocol.
    pub fn supports(&self, check: &Check) -> bool {
        self.check_names().contains(&check.name())
    }

    /// Runs the protocol on a validated plan.
    pub fn run(&self, plan: &Plan, trace: TraceLevel) -> RunOutcome {
        match self {
            ProtocolSpec::Ping(p) => run_protocol(p, plan, trace),
            ProtocolSpec::Queue(p) => run_protocol(p, plan, trace),
            ProtocolSpec::PrimaryBackup(p) => run_protocol(p, plan, trace),
            ProtocolSpec::Quorum(p) => run_protocol(p, plan, trace),
            ProtocolSpec::Gossip(p) => run_protocol(p, plan, trace),
            ProtocolSpec::Raft(p) => run_protocol(p, plan, trace),
            ProtocolSpec::Exercise(p) => p.run(plan, trace),
        }
    }
}

/// Fails with a sentence naming the roles present when `role` has no nodes.
pub fn require_role(plan: &Plan, protocol: &str, role: &str) -> Result<(), String> {
    if plan.roster.members(role).is_empty() {
        return Err(format!(
            "protocol `{protocol}` needs nodes with role `{role}`; the scenario has roles: {}",
            plan.roster.roles().join(", ")
        ));
    }
    Ok(())
}
