//! The two extension points a protocol author implements: `Protocol` (parameters from RON, a
//! roster check, a node factory) and `Check` (a property judged on a finished run).
//!
//! The shipped protocols and checks implement these traits exactly as a user's code does, and
//! reach scenarios, the CLI, the explorer and the shrinker through a `Registry`.

use crate::check::Verdict;
use crate::node::{Node, NodeFactory};
use crate::scenario::Plan;
use crate::sim::RunOutcome;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// A protocol family: its parameters (the type implementing this trait, read from the
/// scenario's `protocol: NAME(...)`) validate a plan and build the nodes.
pub trait Protocol: Clone + fmt::Debug + Serialize + DeserializeOwned + 'static {
    /// The node type every role of this protocol is a variant of.
    type Node: Node;

    /// The name scenarios write, as in `protocol: Raft(...)`.
    const NAME: &'static str;

    /// Checks the parameters against the plan (roles present, values sensible).
    fn validate(&self, plan: &Plan) -> Result<(), String>;

    /// Names of the checks this protocol's history is made for (checks that apply to every
    /// protocol, such as `Liveness`, need not be listed).
    fn checks(&self) -> &'static [&'static str];

    /// Builds nodes from their id and durable storage, at boot and after every crash.
    fn factory(&self, plan: &Plan) -> NodeFactory<Self::Node>;

    /// Roles whose nodes are interchangeable: they run the same code, start alike and nothing
    /// but their names tells them apart (no random draws that differ by node), so the
    /// exhaustive search may count once the states that differ only by which of them plays
    /// which part (`check --symmetry`). None by default.
    fn interchangeable(&self) -> &'static [&'static str] {
        &[]
    }

    /// True when the protocol's clients read `workload.rate` and run open loop (the key-value
    /// client does); a scenario that sets a rate for any other protocol is refused, since its
    /// clients would silently ignore it. False by default.
    fn open_loop(&self) -> bool {
        false
    }

    /// How long after its last fault (a crash, a restart, a heal) the protocol promises to
    /// have recovered on this plan: leases run out, elections end, clients' retries land. A
    /// liveness check that fails on a run that ended sooner is not judged (`UNKNOWN`, with the
    /// reason), since the run did not give the protocol its own time. `None` (the default)
    /// promises nothing, and liveness is judged when the run ends. A scenario's
    /// `bounds.recovery` overrides it.
    fn recovery(&self, plan: &Plan) -> Option<crate::time::Duration> {
        let _ = plan;
        None
    }

    /// The program outside clustersim whose processes are the nodes (Maelstrom's), for
    /// reports and replay files; `None` (the default) for nodes that are Rust code in this
    /// process.
    fn external(&self) -> Option<External> {
        None
    }
}

/// Nodes that are a program outside clustersim, as reports and replay files name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    /// The program, as the scenario names it.
    pub program: String,
    /// FNV-1a (64 bits, hex) of the program file's bytes; empty when it cannot be read.
    pub digest: String,
    /// What a run of it guarantees about replay, in a sentence.
    pub guarantee: String,
}

/// What kind of property a check states, which tells the shrinker what a shrunk run may leave
/// unhealed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Property {
    /// Nothing bad ever happens: a fault left in force (a split network) can stop progress but
    /// never make the check fail spuriously, so a shrunk run may end with the network split.
    Safety,
    /// Something good eventually happens: judged once faults heal, so a shrunk run must end with
    /// every fault healed.
    Liveness,
    /// How much the system carries (throughput, latency under a load): a shrunk run keeps the
    /// load that failed it (nodes, workload, network, durations) and loses only faults, and ends
    /// with every fault healed.
    Performance,
}

/// A property of a finished run, named in a scenario's `checks` list. The type implementing
/// this trait holds the check's parameters (`AllDelivered(within: "2s")`); a check without
/// parameters is a unit struct.
pub trait Check: Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name scenarios write, as in `checks: [Linearizable]`.
    const NAME: &'static str;

    /// Safety or liveness; the shrinker asks this, never a list of names.
    fn property(&self) -> Property;

    /// Judges a finished run from its history, faults and snapshots.
    fn evaluate(&self, outcome: &RunOutcome) -> Verdict;

    /// True when the check holds of every prefix of a run that passes it, and judged on a
    /// prefix says no more than it would at the end: the exhaustive search then judges it at
    /// every state whose history grew and stops at the first state that violates it. Default:
    /// false (judged at path ends only).
    fn invariant(&self) -> bool {
        false
    }

    /// True when the check fails on something that has not happened by the end of the run (a
    /// task never completed, a client never served), which more time could still bring: such
    /// a failure counts only when the run ended with the network whole, no node paused, and
    /// the protocol's recovery time (`Protocol::recovery`, `bounds.recovery`) after its last
    /// fault; sooner it is `UNKNOWN`, saying why (`check::judged_fairly`). False (the default)
    /// for a check that fails on something that did happen (a read that missed a write),
    /// which no more time undoes.
    fn fails_on_absence(&self) -> bool {
        false
    }

    /// True when the check reads the history (the default). The exhaustive search keeps the
    /// history in its states only when some check reads it; a check that reads nothing but
    /// the nodes' final states and the faults may say false.
    fn reads_history(&self) -> bool {
        true
    }

    /// Resolves names the check's parameters give against the program's linearizability
    /// models (`Registry::model`), when a scenario is loaded; an error says what is valid and
    /// is reported at the check's place in the file. Default: nothing to resolve.
    fn resolve_models(&mut self, models: &crate::lin::Models) -> Result<(), String> {
        let _ = models;
        Ok(())
    }

    /// True when the check may be asked of `protocol`; `listed` says whether the protocol's
    /// `checks()` names it. A check that reads only what every run has (liveness of client
    /// calls) returns true for every protocol; a user's check for a shipped protocol can name it.
    fn applies_to(protocol: &str, listed: bool) -> bool {
        let _ = protocol;
        listed
    }
}
