//! Faults: what can go wrong (partitions, cuts, crashes, pauses, clock faults), the explicit
//! schedule, and the random nemesis that draws faults from the run's seed.
//!
//! `Fault<String>` is the form written in scenarios (node or role names); `Fault<NodeId>` is the
//! resolved form the engine applies and the trace records.

use crate::node::{NodeId, Roster};
use crate::sim::rng::SimRng;
use crate::storage::Keep;
use crate::time::{Duration, Offset, SimTime};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One fault, naming nodes by `N` (names in scenarios, ids in the engine).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Fault<N = NodeId> {
    /// Split the cluster into groups that cannot reach each other; unlisted nodes form one more group.
    Partition(Vec<Vec<N>>),
    /// Block messages from every node in `from` to every node in `to`, one way only.
    Cut {
        /// Senders whose messages are blocked.
        from: Vec<N>,
        /// Receivers that no longer hear them.
        to: Vec<N>,
    },
    /// Cut one node off from all others, both ways.
    Isolate(N),
    /// Remove every partition and cut.
    Heal,
    /// Stop a node: volatile state, timers, in-flight messages to it and every unsynced write
    /// are lost (a power loss that keeps none; see `ProcessCrash` and `PowerLoss`).
    Crash(N),
    /// Boot a crashed node from its durable storage.
    Restart(N),
    /// Freeze a node (stop-the-world); messages and timers wait until it resumes.
    Pause(N),
    /// Unfreeze a paused node.
    Resume(N),
    /// Set a node's clock to true time plus `offset`.
    ClockSkew {
        /// The node.
        node: N,
        /// How far ahead (or behind, if negative) its clock reads.
        offset: Offset,
    },
    /// Make a node's clock run fast (positive) or slow by `ppm` parts per million.
    ClockDrift {
        /// The node.
        node: N,
        /// Drift rate in parts per million.
        ppm: i64,
    },
    /// Lose a node's disk: it crashes (if it is up) and its storage, synced or not, is erased; a
    /// later `Restart` boots it empty, as a machine that replaced the lost one.
    Wipe(N),
    // Storage faults (issue 39). Appended: a fault's trace hash covers its variant's index.
    /// Stop a node's process: volatile state is lost, every write it made reached the
    /// operating system and stays, synced or not (`Crash` is a power loss that keeps none).
    ProcessCrash(N),
    /// Cut a node's power: it stops; synced writes stay, and of the unsynced ones a seeded
    /// choice (`keep`), whole handler calls unless `torn`.
    PowerLoss {
        /// The node.
        node: N,
        /// Which unsynced writes stay.
        #[serde(default)]
        keep: Keep,
        /// One handler call's writes may stay in part.
        #[serde(default)]
        torn: bool,
    },
    /// The node's next sync with writes to cover fails; they are dropped from its disk (fsyncgate).
    SyncFail(N),
    /// The node's next successful sync silently loses one of the writes it covers (stores it
    /// under another key if `misdirected`); reads see it until a crash.
    LostWrite {
        /// The node.
        node: N,
        /// Stored under another key instead of nowhere.
        #[serde(default)]
        misdirected: bool,
    },
    /// A record on the node's disk becomes corrupt until written again: `key`, or a stored
    /// key drawn from the disk's stream.
    Corrupt {
        /// The node.
        node: N,
        /// The record; `None` draws one.
        #[serde(default)]
        key: Option<String>,
    },
    /// A record on the node's disk becomes unreadable (a latent sector error) until written again.
    Unreadable {
        /// The node.
        node: N,
        /// The record; `None` draws one.
        #[serde(default)]
        key: Option<String>,
    },
    /// The node's disk is full: writes fail until `DiskFree`.
    DiskFull(N),
    /// The node's disk has room again.
    DiskFree(N),
    /// Crash a node inside a handler, at its `sync`-th sync from now (1: the next; syncs with
    /// nothing to cover do not count), before that sync takes effect: what the handler sent and
    /// wrote before it stays (the writes unsynced), what it would have done after never happens. With `power`
    /// the power goes out, keeping the unsynced writes `keep` draws (`torn`: part of one
    /// handler's too); without, the process dies and every write stays. A `Restart` of the node
    /// while it is still up disarms it, and so does a crash of another kind; arming it again
    /// replaces the crash armed before. A node that never syncs again never crashes. In a run's
    /// list of applied faults, `sync: 0` marks the moment the armed crash happened.
    CrashAtSync {
        /// The node.
        node: N,
        /// Which of the node's syncs from now (1: the next); 0 only in a run's record of the crash.
        #[serde(default = "first_sync")]
        sync: u32,
        /// A power loss (else a process crash).
        #[serde(default)]
        power: bool,
        /// Which unsynced writes a power loss keeps.
        #[serde(default)]
        keep: Keep,
        /// A power loss may keep part of one handler's writes.
        #[serde(default)]
        torn: bool,
    },
    // Membership (issue 40). Appended, as the disk faults were.
    /// A spare node joins the cluster: it boots from its disk (empty) and every member is
    /// told (`Node::on_roster_change`). A member that is leaving stays (its leave is called
    /// off, and the members are told it joined). A node that left never joins again: as in
    /// real clusters, a new machine comes with a new identity (a spare of another name).
    Join(N),
    /// Ask a member to leave, gracefully: every member is told, the node included; it stays
    /// a reachable member until it calls `Context::depart` (once the cluster let it go) or
    /// `grace` has passed, then goes as `Depart` does. Without a grace it waits for the node.
    Leave {
        /// The node.
        node: N,
        /// How long it may take to hand over before it is gone regardless.
        #[serde(default)]
        grace: Option<Duration>,
    },
    /// A member is gone from the cluster now, without notice: it stops, messages to it are
    /// lost from now on, and nothing brings it back.
    Depart(N),
    /// The record of a member that was asked to leave going (it called `Context::depart`, or
    /// its grace ran out): a run writes it, a schedule cannot (schedule `Depart` to make a
    /// node go).
    Departed(N),
    /// `old`'s machine is lost for good (it departs and its disk is erased) and the spare
    /// `new` joins in its place, booting from its own disk: a wiped machine that comes back
    /// under a new identity.
    Replace {
        /// The member that is lost.
        old: N,
        /// The spare that takes its place.
        new: N,
    },
}

/// `CrashAtSync`'s default: the handler's first sync.
fn first_sync() -> u32 {
    1
}

impl<N> Fault<N> {
    /// The node a disk fault names (`None` for every other fault).
    pub fn storage_node(&self) -> Option<&N> {
        match self {
            Fault::ProcessCrash(n)
            | Fault::PowerLoss { node: n, .. }
            | Fault::SyncFail(n)
            | Fault::LostWrite { node: n, .. }
            | Fault::Corrupt { node: n, .. }
            | Fault::Unreadable { node: n, .. }
            | Fault::DiskFull(n)
            | Fault::DiskFree(n)
            | Fault::CrashAtSync { node: n, .. } => Some(n),
            _ => None,
        }
    }

    /// The node a fault takes down when applied (a crash of any kind, and the record of an
    /// armed crash that happened); `None` for every other fault.
    pub fn downed_node(&self) -> Option<&N> {
        match self {
            Fault::Crash(n)
            | Fault::Wipe(n)
            | Fault::ProcessCrash(n)
            | Fault::PowerLoss { node: n, .. }
            | Fault::CrashAtSync {
                node: n, sync: 0, ..
            } => Some(n),
            _ => None,
        }
    }

    /// True for a fault of the node's disk (issue 39's kinds; `Crash` and `Wipe` are not).
    pub fn is_storage(&self) -> bool {
        self.storage_node().is_some()
    }

    /// Applies `f` to every node the fault names, keeping everything else.
    pub fn map_nodes<M>(&self, mut f: impl FnMut(&N) -> M) -> Fault<M> {
        let mut list = |ids: &[N]| ids.iter().map(&mut f).collect::<Vec<M>>();
        match self {
            Fault::Partition(groups) => Fault::Partition(groups.iter().map(|g| list(g)).collect()),
            Fault::Cut { from, to } => {
                let from = list(from);
                Fault::Cut { from, to: list(to) }
            }
            Fault::Isolate(x) => Fault::Isolate(f(x)),
            Fault::Heal => Fault::Heal,
            Fault::Crash(x) => Fault::Crash(f(x)),
            Fault::Wipe(x) => Fault::Wipe(f(x)),
            Fault::Restart(x) => Fault::Restart(f(x)),
            Fault::Pause(x) => Fault::Pause(f(x)),
            Fault::Resume(x) => Fault::Resume(f(x)),
            Fault::ClockSkew { node, offset } => Fault::ClockSkew {
                node: f(node),
                offset: *offset,
            },
            Fault::ClockDrift { node, ppm } => Fault::ClockDrift {
                node: f(node),
                ppm: *ppm,
            },
            Fault::ProcessCrash(x) => Fault::ProcessCrash(f(x)),
            Fault::PowerLoss { node, keep, torn } => Fault::PowerLoss {
                node: f(node),
                keep: *keep,
                torn: *torn,
            },
            Fault::SyncFail(x) => Fault::SyncFail(f(x)),
            Fault::LostWrite { node, misdirected } => Fault::LostWrite {
                node: f(node),
                misdirected: *misdirected,
            },
            Fault::Corrupt { node, key } => Fault::Corrupt {
                node: f(node),
                key: key.clone(),
            },
            Fault::Unreadable { node, key } => Fault::Unreadable {
                node: f(node),
                key: key.clone(),
            },
            Fault::DiskFull(x) => Fault::DiskFull(f(x)),
            Fault::DiskFree(x) => Fault::DiskFree(f(x)),
            Fault::CrashAtSync {
                node,
                sync,
                power,
                keep,
                torn,
            } => Fault::CrashAtSync {
                node: f(node),
                sync: *sync,
                power: *power,
                keep: *keep,
                torn: *torn,
            },
            Fault::Join(x) => Fault::Join(f(x)),
            Fault::Leave { node, grace } => Fault::Leave {
                node: f(node),
                grace: *grace,
            },
            Fault::Depart(x) => Fault::Depart(f(x)),
            Fault::Departed(x) => Fault::Departed(f(x)),
            Fault::Replace { old, new } => {
                let old = f(old);
                Fault::Replace { old, new: f(new) }
            }
        }
    }

    /// True for a change of the cluster's membership (`Join`, `Leave`, `Depart`, `Replace`).
    pub fn is_membership(&self) -> bool {
        matches!(
            self,
            Fault::Join(_)
                | Fault::Leave { .. }
                | Fault::Depart(_)
                | Fault::Departed(_)
                | Fault::Replace { .. }
        )
    }
}

/// A fault to apply at a fixed virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// When to apply it.
    pub at: Duration,
    /// What to do.
    pub fault: Fault<String>,
}

/// The kinds of fault the random nemesis may inject.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NemesisKind {
    /// Crash a node, restart it after the fault's duration.
    Crash,
    /// Pause a node, resume it after the fault's duration.
    Pause,
    /// Split the cluster in two (a random minority of the targets), heal after the duration.
    Partition,
    /// Isolate one node, heal after the duration.
    Isolate,
    /// Cut one node's outgoing messages (one way), heal after the duration.
    Cut,
    /// Skew one node's clock by up to `max_skew`, reset after the duration.
    ClockSkew,
    /// Cut one node's power (a drawn `keep`, torn half the time), restart it after the duration.
    PowerLoss,
    /// Crash one node's process (its writes stay), restart it after the duration.
    ProcessCrash,
    /// Fill one node's disk, free it after the duration.
    DiskFull,
    /// Corrupt one record on a node's disk (drawn; under the fault atlas one this node may
    /// lose); it is found when the node reads it back, after its next crash. Nothing undoes
    /// it but a rewrite: after the duration the nemesis restarts the node if it is down.
    Corrupt,
    /// Make one record on a node's disk unreadable (a latent sector error), as `Corrupt`.
    Unreadable,
    /// Fail a node's next sync that has writes to cover (fsyncgate); after the duration the
    /// nemesis restarts the node if it is down.
    SyncFail,
    /// Crash a node inside a handler, at one of its next three syncs (a power loss, with a
    /// drawn `keep` and torn half the time, or a process crash); restart it after the duration
    /// (or disarm it, if it has not synced by then).
    CrashAtSync,
    /// A spare target joins; at the fault's end it is asked to leave.
    Join,
    /// A member target is asked to leave, without a deadline (it goes when the protocol lets
    /// it). Nothing undoes it: a node that left never comes back.
    Leave,
    /// A member target's machine is lost and a spare target joins in its place, for good
    /// (nothing undoes it).
    Replace,
}

impl NemesisKind {
    /// Every kind, in declaration order.
    pub const ALL: [NemesisKind; 16] = [
        NemesisKind::Crash,
        NemesisKind::Pause,
        NemesisKind::Partition,
        NemesisKind::Isolate,
        NemesisKind::Cut,
        NemesisKind::ClockSkew,
        NemesisKind::PowerLoss,
        NemesisKind::ProcessCrash,
        NemesisKind::DiskFull,
        NemesisKind::Corrupt,
        NemesisKind::Unreadable,
        NemesisKind::SyncFail,
        NemesisKind::CrashAtSync,
        NemesisKind::Join,
        NemesisKind::Leave,
        NemesisKind::Replace,
    ];

    /// True for the kinds that fault a disk (the engine turns the disk fault model on).
    pub fn is_storage(self) -> bool {
        matches!(
            self,
            NemesisKind::PowerLoss
                | NemesisKind::ProcessCrash
                | NemesisKind::DiskFull
                | NemesisKind::Corrupt
                | NemesisKind::Unreadable
                | NemesisKind::SyncFail
                | NemesisKind::CrashAtSync
        )
    }
}

/// The random nemesis: which faults, on which nodes, how often and for how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// Fault kinds to draw from (uniformly).
    pub kinds: Vec<NemesisKind>,
    /// Node or role names the nemesis may hit; empty means every node.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Mean time between the start of one fault and the next (exponentially distributed).
    pub interval: Duration,
    /// Shortest time a fault lasts.
    pub min_duration: Duration,
    /// Longest time a fault lasts.
    pub max_duration: Duration,
    /// When the nemesis starts.
    #[serde(default)]
    pub start: Duration,
    /// When the nemesis stops and heals everything; `None` keeps it going to the end.
    #[serde(default)]
    pub stop: Option<Duration>,
    /// How many faults may be active at once.
    #[serde(default = "one")]
    pub max_active: u32,
    /// Largest clock skew for `ClockSkew`.
    #[serde(default = "default_skew")]
    pub max_skew: Duration,
    /// Which target a one-node fault hits.
    #[serde(default)]
    pub pick: Pick,
    /// `Leave` is drawn only while more targets of the leaving node's role than this are
    /// members not already leaving, so no role shrinks below what its protocol needs to
    /// survive a failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_members: u32,
    /// Faults aimed just after an event as well: whenever a history entry matches, the nemesis
    /// strikes once within the given time (`after: (on: "ok put", within: "5ms")`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Trigger>,
}

/// An event the nemesis strikes right after: "crash the primary within 5 ms after it
/// acknowledges a write" is `kinds: [Crash], after: (on: "ok put", within: "5ms", hit: Sender)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The history entries that trigger a strike: an operation's name (`put`, `leader`, a
    /// protocol's own event), optionally after a phase (`ok put`, `event leader`, `fail cas`).
    pub on: String,
    /// The strike comes at a uniformly drawn time from the entry to this much after it.
    pub within: Duration,
    /// Which node a one-node fault of the strike hits.
    #[serde(default)]
    pub hit: Aim,
}

/// The node an aimed strike hits (for one-node faults; a partition draws its own).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aim {
    /// A target drawn as the nemesis's `pick` says.
    #[default]
    Pick,
    /// The node whose message the recording node was handling: for a client's `ok`, the
    /// server that acknowledged it ("crash the primary just after it acks a write").
    Sender,
    /// The node that recorded the entry.
    Recorder,
}

/// The phases a trigger may name.
const PHASES: [&str; 5] = ["invoke", "ok", "fail", "info", "event"];

impl Trigger {
    fn validate(&self) -> Result<(), String> {
        let words: Vec<&str> = self.on.split_whitespace().collect();
        match words.as_slice() {
            [_] => Ok(()),
            [phase, _] if PHASES.contains(phase) => Ok(()),
            [phase, _] => Err(format!(
                "nemesis after.on: unknown phase `{phase}`; valid phases: {}",
                PHASES.join(", ")
            )),
            _ => Err(format!(
                "nemesis after.on is `{}`; write an operation's name, optionally after a phase \
                 (e.g. \"ok put\", \"event leader\")",
                self.on
            )),
        }
    }

    /// True when a history entry of `phase` recording `op` triggers a strike.
    pub fn matches(&self, phase: crate::history::Phase, op: &crate::history::Op) -> bool {
        use crate::history::Phase;
        let mut words = self.on.split_whitespace();
        let (want_phase, name) = match (words.next(), words.next()) {
            (Some(p), Some(n)) => (Some(p), n),
            (Some(n), None) => (None, n),
            _ => return false,
        };
        let phase_word = match phase {
            Phase::Invoke => "invoke",
            Phase::Ok => "ok",
            Phase::Fail => "fail",
            Phase::Info => "info",
            Phase::Event => "event",
        };
        want_phase.is_none_or(|p| p == phase_word) && op.name() == name
    }
}

/// How the nemesis chooses the node a one-node fault (crash, pause, isolate, cut, skew) hits.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pick {
    /// Any free target, uniformly.
    #[default]
    Random,
    /// The node that most recently announced itself leader (a `leader(term)` event in the
    /// history, as Raft's servers write), when it is a free target; otherwise any free target.
    /// Jepsen's "primaries" nemeses: faults aimed where they hurt.
    Leader,
}

fn one() -> u32 {
    1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_skew() -> Duration {
    Duration::from_millis(100)
}

impl Fault<NodeId> {
    /// The fault in words, naming nodes by `names`.
    pub fn describe(&self, names: &[String]) -> String {
        let n = |id: &NodeId| crate::node::name_in(names, id);
        let list = |ids: &[NodeId]| ids.iter().map(n).collect::<Vec<_>>().join(",");
        match self {
            Fault::Partition(groups) => {
                let g: Vec<String> = groups.iter().map(|g| format!("[{}]", list(g))).collect();
                format!("partition {}", g.join(" | "))
            }
            Fault::Cut { from, to } => format!("cut {} -> {}", list(from), list(to)),
            Fault::Isolate(x) => format!("isolate {}", n(x)),
            Fault::Heal => "heal".to_string(),
            Fault::Crash(x) => format!("crash {}", n(x)),
            Fault::Wipe(x) => format!("wipe {} (its disk is lost)", n(x)),
            Fault::Restart(x) => format!("restart {}", n(x)),
            Fault::Pause(x) => format!("pause {}", n(x)),
            Fault::Resume(x) => format!("resume {}", n(x)),
            Fault::ClockSkew { node, offset } => format!("clock skew {} {}", n(node), offset),
            Fault::ClockDrift { node, ppm } => format!("clock drift {} {}ppm", n(node), ppm),
            Fault::ProcessCrash(x) => format!("process crash {} (its writes stay)", n(x)),
            Fault::PowerLoss { node, keep, torn } => format!(
                "power loss {} (unsynced writes kept: {keep:?}{})",
                n(node),
                if *torn { ", torn" } else { "" }
            ),
            Fault::SyncFail(x) => format!("sync fails on {}", n(x)),
            Fault::LostWrite { node, misdirected } => format!(
                "a write {} on {}",
                if *misdirected { "misdirected" } else { "lost" },
                n(node)
            ),
            Fault::Corrupt { node, key } => format!(
                "corrupt {} on {}",
                key.as_deref().unwrap_or("a record"),
                n(node)
            ),
            Fault::Unreadable { node, key } => format!(
                "unreadable {} on {}",
                key.as_deref().unwrap_or("a record"),
                n(node)
            ),
            Fault::DiskFull(x) => format!("disk full on {}", n(x)),
            Fault::DiskFree(x) => format!("disk free on {}", n(x)),
            Fault::CrashAtSync {
                node,
                sync,
                power,
                keep,
                torn,
            } => {
                let how = if *power {
                    format!(
                        "power loss (unsynced writes kept: {keep:?}{})",
                        if *torn { ", torn" } else { "" }
                    )
                } else {
                    "process crash (its writes stay)".to_string()
                };
                if *sync == 0 {
                    format!("{} crashes inside a handler, at a sync: {how}", n(node))
                } else {
                    format!(
                        "crash {} at its sync {sync} from now, inside the handler: {how}",
                        n(node)
                    )
                }
            }
            Fault::Join(x) => format!("{} joins", n(x)),
            Fault::Leave { node, grace } => match grace {
                Some(g) => format!("{} is asked to leave (gone within {g})", n(node)),
                None => format!("{} is asked to leave", n(node)),
            },
            Fault::Depart(x) => format!("{} leaves the cluster", n(x)),
            Fault::Departed(x) => format!("{} has left, as it was asked", n(x)),
            Fault::Replace { old, new } => {
                format!("{} is lost for good; {} joins in its place", n(old), n(new))
            }
        }
    }

    /// The fault with node names, as a scenario file writes it.
    pub fn to_named(&self, roster: &Roster) -> Fault<String> {
        self.map_nodes(|id| roster.name(*id).to_string())
    }
}

/// Resolves node and role names against the roster; the error names the valid choices.
pub fn resolve_names(roster: &Roster, names: &[String]) -> Result<Vec<NodeId>, String> {
    let mut out = Vec::new();
    for name in names {
        for id in resolve_group(roster, name)? {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

fn resolve_group(roster: &Roster, name: &str) -> Result<Vec<NodeId>, String> {
    if let Some(id) = roster.by_name(name) {
        return Ok(vec![id]);
    }
    let members = roster.with_role(name);
    if !members.is_empty() {
        return Ok(members);
    }
    Err(unknown_node(roster, name))
}

/// The error for a name that is neither a node nor a role.
pub fn unknown_node(roster: &Roster, name: &str) -> String {
    format!(
        "unknown node or role `{name}`; valid nodes: {}; valid roles: {}",
        roster.names().join(", "),
        roster.roles().join(", ")
    )
}

fn resolve_one(roster: &Roster, name: &str) -> Result<NodeId, String> {
    let ids = resolve_group(roster, name)?;
    match ids.as_slice() {
        [one] => Ok(*one),
        many => Err(format!(
            "`{name}` is a role with {} nodes but this fault takes one node; name one of: {}",
            many.len(),
            many.iter()
                .map(|id| roster.name(*id))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

impl Fault<String> {
    /// Resolves names to node ids; roles expand to their members where a list is expected.
    pub fn resolve(&self, roster: &Roster) -> Result<Fault<NodeId>, String> {
        Ok(match self {
            Fault::Partition(groups) => {
                let mut resolved = Vec::new();
                let mut seen: Vec<NodeId> = Vec::new();
                for g in groups {
                    let ids = resolve_names(roster, g)?;
                    if let Some(dup) = ids.iter().find(|id| seen.contains(id)) {
                        return Err(format!(
                            "partition puts node `{}` in two groups",
                            roster.name(*dup)
                        ));
                    }
                    seen.extend(&ids);
                    resolved.push(ids);
                }
                Fault::Partition(resolved)
            }
            Fault::Cut { from, to } => Fault::Cut {
                from: resolve_names(roster, from)?,
                to: resolve_names(roster, to)?,
            },
            Fault::Isolate(x) => Fault::Isolate(resolve_one(roster, x)?),
            Fault::Heal => Fault::Heal,
            Fault::Crash(x) => Fault::Crash(resolve_one(roster, x)?),
            Fault::Wipe(x) => Fault::Wipe(resolve_one(roster, x)?),
            Fault::Restart(x) => Fault::Restart(resolve_one(roster, x)?),
            Fault::Pause(x) => Fault::Pause(resolve_one(roster, x)?),
            Fault::Resume(x) => Fault::Resume(resolve_one(roster, x)?),
            Fault::ClockSkew { node, offset } => Fault::ClockSkew {
                node: resolve_one(roster, node)?,
                offset: *offset,
            },
            Fault::ClockDrift { node, ppm } => {
                if ppm.unsigned_abs() >= 1_000_000 {
                    return Err(format!(
                        "clock drift of {ppm}ppm is impossible; use a value between -999999 and 999999"
                    ));
                }
                Fault::ClockDrift {
                    node: resolve_one(roster, node)?,
                    ppm: *ppm,
                }
            }
            Fault::Replace { old, new } => {
                let (o, w) = (resolve_one(roster, old)?, resolve_one(roster, new)?);
                if o == w {
                    return Err(format!(
                        "Replace names `{old}` twice; the new node must be another one (a spare)"
                    ));
                }
                Fault::Replace { old: o, new: w }
            }
            Fault::Departed(_) => {
                return Err(
                    "Departed is what a run records when a node that was asked to leave \
                     goes; schedule Depart to make a node go, or Leave to ask it"
                        .into(),
                );
            }
            Fault::CrashAtSync { sync: 0, .. } => {
                return Err(
                    "CrashAtSync's sync counts the handler's syncs from 1 (the first); 0 is not one"
                        .into(),
                );
            }
            storage => {
                // A disk fault: one node, resolved; the rest kept.
                let mut err = None;
                let out = storage.map_nodes(|name| match resolve_one(roster, name) {
                    Ok(id) => id,
                    Err(e) => {
                        err.get_or_insert(e);
                        NodeId(0)
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                out
            }
        })
    }
}

/// The random nemesis after its targets are resolved; the engine drives it.
#[derive(Clone, Debug)]
pub struct Nemesis {
    spec: NemesisSpec,
    targets: Vec<NodeId>,
    /// Each target's role, as an index (parallel to `targets`): `min_members` holds per role.
    roles: Vec<usize>,
    active: Vec<Active>,
}

/// A nemesis fault in force: when it ends, what undoes it (nothing, for a change of the
/// membership) and the nodes it keeps busy.
#[derive(Clone, Debug)]
struct Active {
    end: SimTime,
    undo: Option<Fault>,
    nodes: Vec<NodeId>,
    /// A partition or isolation: the network has one layout of groups at a time, so a newer
    /// one replaces it (and its heal is withdrawn).
    splits: bool,
}

impl NemesisSpec {
    /// Checks the spec against the roster and resolves its targets.
    pub fn resolve(&self, roster: &Roster) -> Result<Nemesis, String> {
        if self.kinds.is_empty() {
            let names: Vec<String> = NemesisKind::ALL.iter().map(|k| format!("{k:?}")).collect();
            return Err(format!(
                "nemesis has no fault kinds; list some of: {}",
                names.join(", ")
            ));
        }
        if self.interval == Duration::ZERO {
            return Err("nemesis interval must be greater than zero".into());
        }
        if let Some(t) = &self.after {
            t.validate()?;
            if t.within == Duration::ZERO {
                return Err("nemesis after.within must be greater than zero (e.g. \"5ms\")".into());
            }
        }
        if self.min_duration > self.max_duration {
            return Err(format!(
                "nemesis min_duration {} is longer than max_duration {}",
                self.min_duration, self.max_duration
            ));
        }
        if let Some(stop) = self.stop {
            if stop < self.start {
                return Err(format!(
                    "nemesis stops at {stop}, before it starts at {}",
                    self.start
                ));
            }
        }
        if self.max_active == 0 {
            return Err("nemesis max_active must be at least 1".into());
        }
        let targets = if self.targets.is_empty() {
            roster.ids().collect()
        } else {
            resolve_names(roster, &self.targets)?
        };
        let names = roster.roles();
        let roles = targets
            .iter()
            .map(|id| {
                let role = roster.role(*id);
                names.iter().position(|r| *r == role).unwrap_or(0)
            })
            .collect();
        Ok(Nemesis {
            spec: self.clone(),
            targets,
            roles,
            active: Vec::new(),
        })
    }
}

impl Nemesis {
    /// The event the nemesis also strikes after, if any.
    pub fn trigger(&self) -> Option<&Trigger> {
        self.spec.after.as_ref()
    }

    /// True when the nemesis may fault a disk (the engine then turns the disk fault model on).
    pub fn faults_disks(&self) -> bool {
        self.spec.kinds.iter().any(|k| k.is_storage())
    }

    /// True when the nemesis aims at the current leader (the engine then tells `draw` who it is).
    pub fn wants_leader(&self) -> bool {
        self.spec.pick == Pick::Leader
    }

    /// When the nemesis first acts.
    pub fn start(&self) -> SimTime {
        SimTime::ZERO + self.spec.start
    }

    /// When the nemesis stops and heals, if ever.
    pub fn stop(&self) -> Option<SimTime> {
        self.spec.stop.map(|d| SimTime::ZERO + d)
    }

    /// Time until the next fault starts.
    pub fn next_gap(&self, rng: &mut SimRng) -> Duration {
        let u: f64 = rng.random();
        let gap = -(1.0 - u).ln() * self.spec.interval.0 as f64;
        Duration((gap as u64).max(1))
    }

    /// True when the nemesis may change the membership.
    pub fn changes_membership(&self) -> bool {
        self.spec.kinds.iter().any(|k| {
            matches!(
                k,
                NemesisKind::Join | NemesisKind::Leave | NemesisKind::Replace
            )
        })
    }

    /// Draws a fault to inject now and the fault that undoes it with its time, if room allows;
    /// a one-node fault hits `aim` when given (and nothing when `aim` is not a free target).
    /// `up` says which nodes are up members, `members` where each node stands in the
    /// membership (empty when it cannot change: everyone is a member).
    pub fn draw(
        &mut self,
        now: SimTime,
        up: &[bool],
        members: &[crate::node::MemberState],
        leader: Option<NodeId>,
        aim: Option<NodeId>,
        rng: &mut SimRng,
    ) -> Option<(Fault, SimTime, Option<Fault>)> {
        self.active.retain(|a| a.end > now);
        if self.active.len() >= self.spec.max_active as usize {
            return None;
        }
        let kind = *self.spec.kinds.choose(rng)?;
        let span = self.spec.max_duration.0 - self.spec.min_duration.0;
        let dur = Duration(self.spec.min_duration.0 + rng.random_range(0..=span));
        let busy: Vec<NodeId> = self
            .active
            .iter()
            .flat_map(|a| a.nodes.iter().copied())
            .collect();
        let free: Vec<NodeId> = self
            .targets
            .iter()
            .copied()
            .filter(|id| up.get(id.index()).copied().unwrap_or(false) && !busy.contains(id))
            .collect();
        // A join draws among the targets that may join; a replacement draws its new node
        // there after its old one among the free members.
        use crate::node::MemberState;
        let state = |id: &NodeId| {
            members
                .get(id.index())
                .copied()
                .unwrap_or(MemberState::Member)
        };
        let spare_free = || -> Vec<NodeId> {
            self.targets
                .iter()
                .copied()
                .filter(|id| state(id) == MemberState::Spare && !busy.contains(id))
                .collect()
        };
        if kind == NemesisKind::Leave {
            let staying = self
                .targets
                .iter()
                .filter(|id| state(id) == MemberState::Member)
                .count();
            if staying <= self.spec.min_members as usize {
                return None;
            }
        }
        if kind == NemesisKind::Join {
            let node = *spare_free().choose(rng)?;
            let (fault, undo) = (Fault::Join(node), Fault::Leave { node, grace: None });
            return Some(self.activate(now + dur, fault, Some(undo)));
        }
        let node = match (aim, leader) {
            (Some(a), _) if free.contains(&a) => a,
            // An aimed strike at a node that is down or already faulted does nothing.
            (Some(_), _) => return None,
            (None, Some(l)) if self.spec.pick == Pick::Leader && free.contains(&l) => l,
            _ => *free.choose(rng)?,
        };
        let (fault, undo) = match kind {
            NemesisKind::Crash => (Fault::Crash(node), Fault::Restart(node)),
            NemesisKind::ProcessCrash => (Fault::ProcessCrash(node), Fault::Restart(node)),
            NemesisKind::PowerLoss => {
                let keep = *[Keep::Prefix, Keep::Subset, Keep::Reordered].choose(rng)?;
                let torn = rng.random::<bool>();
                (Fault::PowerLoss { node, keep, torn }, Fault::Restart(node))
            }
            NemesisKind::DiskFull => (Fault::DiskFull(node), Fault::DiskFree(node)),
            // A damaged record or an armed sync failure has nothing to undo: its "undo" restarts
            // the node if something else brought it down meanwhile, and is a no-op otherwise.
            NemesisKind::Corrupt => (Fault::Corrupt { node, key: None }, Fault::Restart(node)),
            NemesisKind::Unreadable => {
                (Fault::Unreadable { node, key: None }, Fault::Restart(node))
            }
            NemesisKind::SyncFail => (Fault::SyncFail(node), Fault::Restart(node)),
            NemesisKind::CrashAtSync => {
                let power = rng.random::<bool>();
                let keep = *[Keep::Prefix, Keep::Subset, Keep::Reordered].choose(rng)?;
                let torn = rng.random::<bool>();
                let crash = Fault::CrashAtSync {
                    node,
                    sync: rng.random_range(1..=3),
                    power,
                    keep,
                    torn,
                };
                (crash, Fault::Restart(node))
            }
            // Gone once the cluster lets it go; nothing undoes a departure (a node that left
            // never comes back) or a lost machine.
            NemesisKind::Leave => {
                // The floor holds for the leaving node's role: with targets of two roles (a
                // configuration service and its groups), neither shrinks below it.
                let role = |id: &NodeId| {
                    let i = self.targets.iter().position(|t| t == id);
                    i.map(|i| self.roles[i])
                };
                let staying = self
                    .targets
                    .iter()
                    .filter(|id| role(id) == role(&node) && state(id) == MemberState::Member)
                    .count();
                if staying <= self.spec.min_members as usize {
                    return None;
                }
                let fault = Fault::Leave { node, grace: None };
                return Some(self.activate(now + dur, fault, None));
            }
            NemesisKind::Replace => {
                let new = *spare_free().choose(rng)?;
                let fault = Fault::Replace { old: node, new };
                return Some(self.activate(now + dur, fault, None));
            }
            NemesisKind::Join => return None,
            NemesisKind::Pause => (Fault::Pause(node), Fault::Resume(node)),
            NemesisKind::Isolate => (Fault::Isolate(node), Fault::Heal),
            NemesisKind::Cut => {
                let others: Vec<NodeId> = (0..up.len() as u32)
                    .map(NodeId)
                    .filter(|n| *n != node)
                    .collect();
                (
                    Fault::Cut {
                        from: vec![node],
                        to: others,
                    },
                    Fault::Heal,
                )
            }
            NemesisKind::Partition => {
                let mut pool = self.targets.clone();
                pool.shuffle(rng);
                let size = rng.random_range(1..=(pool.len() / 2).max(1));
                let mut minority: Vec<NodeId> = pool.into_iter().take(size).collect();
                minority.sort();
                (Fault::Partition(vec![minority]), Fault::Heal)
            }
            NemesisKind::ClockSkew => {
                let max = self.spec.max_skew.0 as i64;
                let offset = Offset(rng.random_range(-max..=max));
                (
                    Fault::ClockSkew { node, offset },
                    Fault::ClockSkew {
                        node,
                        offset: Offset(0),
                    },
                )
            }
        };
        Some(self.activate(now + dur, fault, Some(undo)))
    }

    /// Records a drawn fault as active until `end`: the nodes its undo names are busy till
    /// then (those it names itself, when nothing undoes it).
    fn activate(
        &mut self,
        end: SimTime,
        fault: Fault,
        undo: Option<Fault>,
    ) -> (Fault, SimTime, Option<Fault>) {
        let splits = replaces_groups(&fault);
        if splits {
            // The engine withdraws the replaced layout's heal (see `replaces_groups`).
            self.active.retain(|a| !a.splits);
        }
        self.active.push(Active {
            end,
            undo: undo.clone(),
            nodes: fault_nodes(undo.as_ref().unwrap_or(&fault)),
            splits,
        });
        (fault, end, undo)
    }

    /// Faults that undo everything still active (used when the nemesis stops).
    pub fn heal_all(&mut self) -> Vec<Fault> {
        let mut out: Vec<Fault> = Vec::new();
        for undo in self.active.drain(..).filter_map(|a| a.undo) {
            if !out.contains(&undo) {
                out.push(undo);
            }
        }
        out
    }
}

/// True for a fault that sets the network's groups (a partition or an isolation), replacing the
/// layout in force: a nemesis that draws one while another is active withdraws the older one's
/// heal, so that a node isolated after another is isolated *instead of* it, as in Raft's
/// Figure 8, rather than healing with it.
pub fn replaces_groups(f: &Fault) -> bool {
    matches!(f, Fault::Partition(_) | Fault::Isolate(_))
}

impl Fault<NodeId> {
    /// The one node a one-node fault names (a crash, restart, pause, isolation, clock or disk
    /// fault); `None` for faults of the network or the membership.
    pub fn single_node(&self) -> Option<NodeId> {
        match self {
            Fault::Crash(n)
            | Fault::Wipe(n)
            | Fault::Restart(n)
            | Fault::Pause(n)
            | Fault::Resume(n)
            | Fault::Isolate(n)
            | Fault::ClockSkew { node: n, .. }
            | Fault::ClockDrift { node: n, .. } => Some(*n),
            other => other.storage_node().copied(),
        }
    }
}

fn fault_nodes(f: &Fault) -> Vec<NodeId> {
    if let Some(n) = f.single_node() {
        return vec![n];
    }
    match f {
        Fault::Partition(g) => g.iter().flatten().copied().collect(),
        Fault::Cut { from, to } => from.iter().chain(to).copied().collect(),
        Fault::Heal => Vec::new(),
        Fault::Join(n) | Fault::Leave { node: n, .. } | Fault::Depart(n) | Fault::Departed(n) => {
            vec![*n]
        }
        Fault::Replace { old, new } => vec![*old, *new],
        disk => disk.storage_node().into_iter().copied().collect(),
    }
}

/// Tracks which faults are in force, to tell when the cluster was last whole again.
#[derive(Clone, Debug, Default)]
pub struct FaultState {
    split: bool,
    down: Vec<NodeId>,
    paused: Vec<NodeId>,
    skewed: Vec<NodeId>,
    /// Nodes whose disk is full (until `DiskFree`).
    full: Vec<NodeId>,
}

impl FaultState {
    /// Applies a fault to the bookkeeping.
    pub fn apply(&mut self, f: &Fault) {
        match f {
            Fault::Partition(_) | Fault::Cut { .. } | Fault::Isolate(_) => self.split = true,
            Fault::Heal => self.split = false,
            Fault::Crash(n)
            | Fault::Wipe(n)
            | Fault::ProcessCrash(n)
            | Fault::PowerLoss { node: n, .. }
            | Fault::CrashAtSync {
                node: n, sync: 0, ..
            } => push_unique(&mut self.down, *n),
            Fault::Restart(n) => self.down.retain(|x| x != n),
            Fault::Pause(n) => push_unique(&mut self.paused, *n),
            Fault::Resume(n) => self.paused.retain(|x| x != n),
            Fault::ClockSkew { node, offset } => {
                if offset.0 == 0 {
                    self.skewed.retain(|x| x != node);
                } else {
                    push_unique(&mut self.skewed, *node);
                }
            }
            Fault::ClockDrift { node, ppm } => {
                if *ppm == 0 {
                    self.skewed.retain(|x| x != node);
                } else {
                    push_unique(&mut self.skewed, *node);
                }
            }
            // A full disk is in force until freed; the other disk faults leave the cluster
            // whole: what they did stays done.
            Fault::DiskFull(n) => push_unique(&mut self.full, *n),
            Fault::DiskFree(n) => self.full.retain(|x| x != n),
            Fault::SyncFail(_)
            | Fault::LostWrite { .. }
            | Fault::Corrupt { .. }
            | Fault::Unreadable { .. }
            | Fault::CrashAtSync { .. } => {}
            // A node that left is no longer the cluster's: it is not down, it is gone.
            Fault::Depart(n) | Fault::Departed(n) | Fault::Replace { old: n, .. } => {
                self.down.retain(|x| x != n)
            }
            Fault::Join(_) | Fault::Leave { .. } => {}
        }
    }

    /// The network split or pause still in force, in words; `None` when neither is. A node
    /// that crashed and was never restarted does not count: a fault the rest of the cluster
    /// is meant to carry on without.
    pub fn unhealed(&self) -> Option<&'static str> {
        if self.split {
            Some("a network split")
        } else if !self.paused.is_empty() {
            Some("a paused node")
        } else if !self.full.is_empty() {
            Some("a full disk")
        } else {
            None
        }
    }

    /// True when no partition, cut, crash, pause or full disk is in force (clock faults do
    /// not count).
    pub fn is_whole(&self) -> bool {
        !self.split && self.down.is_empty() && self.paused.is_empty() && self.full.is_empty()
    }
}

fn push_unique(v: &mut Vec<NodeId>, n: NodeId) {
    if !v.contains(&n) {
        v.push(n);
    }
}

/// The time after which no partition, crash or pause was in force; `None` if some still is.
pub fn whole_since(faults: &[(SimTime, Fault)]) -> Option<SimTime> {
    let mut state = FaultState::default();
    let mut since = SimTime::ZERO;
    for (t, f) in faults {
        let was_whole = state.is_whole();
        state.apply(f);
        if !was_whole && state.is_whole() {
            since = *t;
        }
    }
    state.is_whole().then_some(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        Roster::new([
            ("s1".to_string(), "server".to_string()),
            ("w1".to_string(), "worker".to_string()),
            ("w2".to_string(), "worker".to_string()),
        ])
    }

    #[test]
    fn roles_expand_in_lists_but_not_for_single_node_faults() {
        let r = roster();
        let p = Fault::Partition(vec![vec!["worker".to_string()]])
            .resolve(&r)
            .unwrap();
        assert_eq!(p, Fault::Partition(vec![vec![NodeId(1), NodeId(2)]]));
        let e = Fault::Crash("worker".to_string()).resolve(&r).unwrap_err();
        assert!(e.contains("w1, w2"), "{e}");
        let e = Fault::Crash("w9".to_string()).resolve(&r).unwrap_err();
        assert!(e.contains("valid nodes: s1, w1, w2"), "{e}");
    }

    #[test]
    fn whole_since_finds_the_last_heal() {
        let t = |ms: u64| SimTime(ms * 1_000_000);
        let faults = vec![
            (t(10), Fault::Crash(NodeId(1))),
            (t(20), Fault::Isolate(NodeId(0))),
            (t(30), Fault::Restart(NodeId(1))),
            (t(40), Fault::Heal),
        ];
        assert_eq!(whole_since(&faults), Some(t(40)));
        assert_eq!(whole_since(&faults[..3]), None);
        assert_eq!(whole_since(&[]), Some(SimTime::ZERO));
    }
}
