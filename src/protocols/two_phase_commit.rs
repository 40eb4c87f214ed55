//! Two-phase commit (Gray and Lamport, "Consensus on Transaction Commit", 2006; the TLA+ spec
//! `TwoPhase` that stateright's `examples/2pc.rs` follows): one transaction manager (`tm`) and
//! resource managers (`rm`). A working RM either prepares (and tells the TM) or chooses to
//! abort on its own; the TM commits once every RM has prepared, or aborts at any time before;
//! an RM does what the TM's decision says.
//!
//! The spontaneous choices are timers set at boot: an RM's `Prepare` and `Abort`, the TM's
//! `Abort` (and `Commit` once every RM has prepared). In a timed run their delays are drawn from
//! the node's stream, so either may come first; the untimed exhaustive search
//! (`clustersim check --untimed`) may fire any of them next, which explores every choice. Each
//! node reports its state as a snapshot, which the `Atomic` check (`check::atomic`) reads at
//! every state.

use crate::node::{NodeFactory, NodeSet, Snapshot, TimerId};
use crate::protocol::Protocol;
use crate::protocols::{only_roles, require_role};
use crate::scenario::Plan;
use crate::{Context, Duration, Node, NodeId};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// Parameters of `protocol: TwoPhaseCommit(...)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoPhaseCommitParams {
    /// The longest an RM or the TM waits before a spontaneous step (a timed run draws each
    /// delay up to it).
    pub think: Duration,
    /// Planted bug: the TM commits as soon as one RM has prepared, not all of them.
    pub early_commit: bool,
}

impl Default for TwoPhaseCommitParams {
    fn default() -> Self {
        TwoPhaseCommitParams {
            think: Duration::from_millis(10),
            early_commit: false,
        }
    }
}

/// What 2PC nodes send each other.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Msg {
    /// An RM has prepared.
    Prepared,
    /// The TM decided to commit.
    Commit,
    /// The TM decided to abort.
    Abort,
}

/// A spontaneous step, as a timer.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Step {
    /// An RM prepares; the TM commits.
    Go,
    /// An RM chooses to abort; the TM aborts.
    Abort,
}

/// Where an RM stands.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RmState {
    /// Has not decided.
    Working,
    /// Prepared to commit.
    Prepared,
    /// Committed.
    Committed,
    /// Aborted.
    Aborted,
}

/// Where the TM stands.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum TmState {
    /// Collecting the RMs' votes.
    Init,
    /// Decided to commit.
    Committed,
    /// Decided to abort.
    Aborted,
}

/// A 2PC node: the transaction manager or a resource manager.
#[derive(Clone, Debug, Hash)]
pub enum TwoPhaseNode {
    /// The transaction manager.
    Tm(Tm),
    /// A resource manager.
    Rm(Rm),
}

/// The transaction manager's state.
#[derive(Clone, Debug)]
pub struct Tm {
    state: TmState,
    /// The RMs that have told it they prepared (a `NodeSet`: the RMs are interchangeable).
    prepared: NodeSet,
    rms: Vec<NodeId>,
    think: Duration,
    early_commit: bool,
    timers: Vec<TimerId>,
}

/// A resource manager's state.
#[derive(Clone, Debug)]
pub struct Rm {
    state: RmState,
    tm: NodeId,
    think: Duration,
    timers: Vec<TimerId>,
}

/// What the TM knows: its decision and the votes. Its configuration never changes, and its
/// timers are the pending events a state holds already (their ids number them in the order
/// a path set them, which says nothing of the state).
impl Hash for Tm {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.state.hash(h);
        self.prepared.hash(h);
    }
}

/// What an RM knows: where it stands (configuration and timer ids left out, as for the TM).
impl Hash for Rm {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.state.hash(h);
    }
}

/// Sets `step` after a delay drawn up to `think`.
fn spontaneous(ctx: &mut Context<'_, TwoPhaseNode>, think: Duration, step: Step) -> TimerId {
    let after = Duration(ctx.rng().random_range(0..=think.0));
    ctx.set_timer(after, step)
}

/// Cancels every timer in `timers`.
fn cancel_all(ctx: &mut Context<'_, TwoPhaseNode>, timers: &mut Vec<TimerId>) {
    for t in timers.drain(..) {
        ctx.cancel_timer(t);
    }
}

impl Tm {
    fn decide(&mut self, ctx: &mut Context<'_, TwoPhaseNode>, state: TmState, msg: Msg) {
        self.state = state;
        cancel_all(ctx, &mut self.timers);
        for &rm in &self.rms {
            ctx.send(rm, msg.clone());
        }
    }
}

impl Node for TwoPhaseNode {
    type Msg = Msg;
    type Timer = Step;
    type Stored = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            TwoPhaseNode::Tm(tm) => {
                let t = spontaneous(ctx, tm.think, Step::Abort);
                tm.timers.push(t);
            }
            TwoPhaseNode::Rm(rm) => {
                let go = spontaneous(ctx, rm.think, Step::Go);
                let abort = spontaneous(ctx, rm.think, Step::Abort);
                rm.timers.extend([go, abort]);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (TwoPhaseNode::Tm(tm), Msg::Prepared) if tm.state == TmState::Init => {
                // A vote counts once, however often its message arrives.
                if !tm.rms.contains(&from) || !tm.prepared.insert(from) {
                    return;
                }
                let ready = if tm.early_commit {
                    tm.prepared.len() == 1
                } else {
                    tm.prepared.len() == tm.rms.len()
                };
                if ready {
                    let t = spontaneous(ctx, tm.think, Step::Go);
                    tm.timers.push(t);
                }
            }
            // A decided RM stays decided: one that aborted has rolled back and cannot commit.
            (TwoPhaseNode::Rm(rm), Msg::Commit) if rm.state != RmState::Aborted => {
                rm.state = RmState::Committed;
                cancel_all(ctx, &mut rm.timers);
            }
            (TwoPhaseNode::Rm(rm), Msg::Abort) if rm.state != RmState::Committed => {
                rm.state = RmState::Aborted;
                cancel_all(ctx, &mut rm.timers);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, step: Step) {
        match (self, step) {
            (TwoPhaseNode::Tm(tm), Step::Go) if tm.state == TmState::Init => {
                tm.decide(ctx, TmState::Committed, Msg::Commit)
            }
            (TwoPhaseNode::Tm(tm), Step::Abort) if tm.state == TmState::Init => {
                tm.decide(ctx, TmState::Aborted, Msg::Abort)
            }
            (TwoPhaseNode::Rm(rm), step) if rm.state == RmState::Working => {
                cancel_all(ctx, &mut rm.timers);
                if step == Step::Go {
                    rm.state = RmState::Prepared;
                    ctx.send(rm.tm, Msg::Prepared);
                } else {
                    rm.state = RmState::Aborted;
                }
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        match self {
            TwoPhaseNode::Rm(rm) => Some(Snapshot::from([(
                "rm".to_string(),
                format!("{:?}", rm.state),
            )])),
            TwoPhaseNode::Tm(_) => None,
        }
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            TwoPhaseNode::Tm(tm) => format!(
                "TM {:?}, prepared {:?}",
                tm.state,
                tm.prepared.iter().collect::<Vec<_>>()
            ),
            TwoPhaseNode::Rm(rm) => format!("RM {:?}", rm.state),
        })
    }
}

impl Protocol for TwoPhaseCommitParams {
    type Node = TwoPhaseNode;
    const NAME: &'static str = "TwoPhaseCommit";

    fn validate(&self, plan: &Plan) -> Result<(), String> {
        require_role(plan, Self::NAME, "tm")?;
        require_role(plan, Self::NAME, "rm")?;
        only_roles(plan, Self::NAME, &["tm", "rm"])?;
        if plan.roster.members("tm").len() != 1 {
            return Err("TwoPhaseCommit needs exactly one `tm` node".into());
        }
        Ok(())
    }

    fn checks(&self) -> &'static [&'static str] {
        &["Atomic"]
    }

    fn interchangeable(&self) -> &'static [&'static str] {
        &["rm"]
    }

    fn factory(&self, plan: &Plan) -> NodeFactory<TwoPhaseNode> {
        let (think, early_commit) = (self.think, self.early_commit);
        let tm = plan.roster.members("tm")[0];
        let rms = plan.roster.members("rm");
        Box::new(move |id, roster, _| {
            if roster.role(id) == "tm" {
                TwoPhaseNode::Tm(Tm {
                    state: TmState::Init,
                    prepared: NodeSet::new(),
                    rms: rms.clone(),
                    think,
                    early_commit,
                    timers: Vec::new(),
                })
            } else {
                TwoPhaseNode::Rm(Rm {
                    state: RmState::Working,
                    tm,
                    think,
                    timers: Vec::new(),
                })
            }
        })
    }
}
