//! The scenario file: a RON schema (serde, unknown fields rejected), loading with precise
//! errors, and validation that resolves names into a `Plan` the engine can run.
//!
//! The protocol and the checks stay RON text (`Spec`) here: a `Registry` knows what they mean.

mod spec;

pub use spec::{ParamsError, Spec};

use crate::error::{Error, Result};
use crate::fault::Fault;
use crate::fault::{resolve_names, Nemesis, NemesisSpec, ScheduledFault};
use crate::net::{LinkSpec, Network};
use crate::node::Roster;
use crate::sim::{Bounds, Scheduler, SimConfig};
use crate::time::{Duration, SimTime};
use crate::trace::TraceLevel;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A whole scenario: cluster, protocol, network, faults, workload and the checks to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and output file names.
    pub name: String,
    /// What the scenario shows, in prose.
    #[serde(default)]
    pub description: String,
    /// The seed every random draw derives from.
    #[serde(default)]
    pub seed: u64,
    /// Time and event limits.
    pub bounds: Bounds,
    /// The nodes, grouped by role.
    pub nodes: Vec<NodeGroup>,
    /// The protocol the nodes run, with its parameters: `Name(params)`, resolved by a `Registry`.
    pub protocol: Spec,
    /// Link behaviour.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    /// The random nemesis.
    #[serde(default)]
    pub nemesis: Option<NemesisSpec>,
    /// What the clients do.
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// Properties the run must have, each `Name` or `Name(params)`, resolved by a `Registry`.
    #[serde(default)]
    pub checks: Vec<Spec>,
    /// Which due event runs next: time order (the default), or `Pct(depth: 3, window: "5ms")`.
    #[serde(default, skip_serializing_if = "Scheduler::is_default")]
    pub scheduler: Scheduler,
    /// Disk fault rates per node, drawn from each node's own disk stream:
    /// `disk: [(nodes: ["n1"], sync_fail: 0.05)]` (empty: the disk never fails on its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disk: Vec<crate::storage::DiskRule>,
    /// The fault atlas: a drawn disk fault damages each record on at most a minority of the
    /// nodes of a role, so a correct replicated protocol can always recover it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disk_atlas: bool,
    /// The capacity model: nodes that take time to handle each message and queue the rest,
    /// `capacity: [(nodes: ["server"], service: Constant("1ms"), queue: 64)]` (empty: every
    /// node handles a message in no time); a full queue drops, or with `when_full: Block`
    /// holds back, what arrives. Link bandwidths are in `network`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<crate::sim::capacity::CapacityRule>,
}

/// Nodes of one role: `count` of them named role1, role2, ... or the given `names`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// The role (protocols decide which roles they need).
    pub role: String,
    /// How many nodes; named `{role}1`, `{role}2`, ...
    #[serde(default)]
    pub count: Option<u32>,
    /// Explicit names instead of a count.
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// Spares: the nodes exist (their names are valid everywhere) but have not joined the
    /// cluster: they do not boot, messages to them are lost, and protocols are set up without
    /// them until a `Join` or `Replace` fault brings one in. A counted group of a role that an
    /// earlier group has already numbered goes on from there (`server4`, `server5`, ...).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spare: bool,
}

/// Default link behaviour and overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// How every link behaves unless overridden.
    #[serde(default)]
    pub default: LinkSpec,
    /// Links (or groups of links) that behave differently.
    #[serde(default)]
    pub overrides: Vec<LinkOverride>,
}

/// Links from every node in `from` to every node in `to` (and back, unless `one_way`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// Node or role names on one side.
    pub from: Vec<String>,
    /// Node or role names on the other side.
    pub to: Vec<String>,
    /// How these links behave.
    pub link: LinkSpec,
    /// Only the `from` -> `to` direction.
    #[serde(default)]
    pub one_way: bool,
}

/// What clients do; each protocol documents which fields it reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    /// Total operations (tasks, writes, messages) across all clients; 0 means no limit.
    pub ops: u32,
    /// Mean time between two operations of one client.
    pub interval: Duration,
    /// When clients start.
    pub start: Duration,
    /// When clients stop issuing new operations; `None` runs to the end.
    pub stop: Option<Duration>,
    /// How long a client waits for a reply before recording `info`.
    pub timeout: Duration,
    /// Number of distinct keys (key-value workloads).
    pub keys: u32,
    /// Fraction of reads (key-value workloads).
    pub reads: f64,
    /// Fraction of compare-and-set operations (key-value workloads).
    pub cas: f64,
    /// Open loop: requests per second offered by all clients together, at exponentially
    /// distributed intervals whether or not earlier ones were answered (key-value workloads;
    /// `interval` is then unused). 0, the default: each client has one request at a time.
    #[serde(skip_serializing_if = "is_zero")]
    pub rate: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The most requests per second an open-loop workload may offer.
pub const MAX_RATE: f64 = 100_000_000.0;

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            ops: 0,
            interval: Duration::from_millis(100),
            start: Duration::ZERO,
            stop: None,
            timeout: Duration::from_secs(1),
            keys: 1,
            reads: 0.5,
            cas: 0.0,
            rate: 0.0,
        }
    }
}

/// The most nodes a scenario may have (each costs memory whether it runs or not).
pub const MAX_NODES: u64 = 1_000_000;

/// The most distinct keys a key-value workload may use.
pub const MAX_KEYS: u32 = 1_000_000;

/// The largest scenario file read (a scenario is a few kilobytes; this stops `/dev/zero`).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A scenario with every name resolved, ready to become a `Sim`.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The scenario as written (after command-line overrides).
    pub scenario: Scenario,
    /// Names and roles, ids in order of the `nodes` list.
    pub roster: Roster,
    /// Faults at fixed times, resolved.
    pub schedule: Vec<(SimTime, Fault)>,
    /// Scheduled faults that would do nothing (a restart of a node that is up, an empty cut),
    /// as sentences: printed with the report, never fatal.
    pub warnings: Vec<String>,
    /// Keep the run's history in this file instead of memory (`History::on_disk`).
    pub history_file: Option<crate::history::HistoryFile>,
    /// The protocol's own recovery bound (`Protocol::recovery`), used when the scenario's
    /// `bounds.recovery` is unset.
    pub recovery: Option<crate::time::Duration>,
    network: Network,
    nemesis: Option<Nemesis>,
    /// Each node's disk fault rates (empty when the scenario sets none).
    disk: Vec<crate::storage::DiskRates>,
    /// Each node's capacity (empty when the scenario sets none).
    capacity: Vec<Option<crate::sim::capacity::NodeCapacity>>,
}

impl Plan {
    /// True when the run's membership can change: spares, or a membership fault in the
    /// schedule or among the nemesis's kinds.
    pub fn membership_changes(&self) -> bool {
        use crate::fault::NemesisKind;
        self.roster.has_spares()
            || self.schedule.iter().any(|(_, f)| f.is_membership())
            || self.scenario.nemesis.as_ref().is_some_and(|n| {
                n.kinds.iter().any(|k| {
                    matches!(
                        k,
                        NemesisKind::Join | NemesisKind::Leave | NemesisKind::Replace
                    )
                })
            })
    }

    /// The engine configuration for one run at `trace` level.
    pub fn sim_config(&self, trace: TraceLevel) -> SimConfig {
        SimConfig {
            seed: self.scenario.seed,
            bounds: crate::sim::Bounds {
                recovery: self.scenario.bounds.recovery.or(self.recovery),
                ..self.scenario.bounds
            },
            roster: self.roster.clone(),
            network: self.network.clone(),
            schedule: self.schedule.clone(),
            nemesis: self.nemesis.clone(),
            trace,
            scheduler: self.scenario.scheduler.clone(),
            history_file: self.history_file.clone(),
            disk: self.disk.clone(),
            disk_atlas: self.scenario.disk_atlas,
            capacity: self.capacity.clone(),
        }
    }

    /// Each node's disk fault rates, by node index (empty when the scenario sets none).
    pub fn disk_rates(&self) -> &[crate::storage::DiskRates] {
        &self.disk
    }

    /// The workload section.
    pub fn workload(&self) -> &WorkloadSpec {
        &self.scenario.workload
    }
}

use spec::ron_options;

/// The scheduled faults that would do nothing, walked in time order from every node up: a
/// restart of a node that is not down, a resume of one that is not paused, a crash or pause of
/// one already down or paused, a partition or cut that separates nobody.
fn idle_faults(faults: &[ScheduledFault], roster: &Roster) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Up,
        Down,
        Paused,
        /// A crash is armed inside a coming handler: the node may be down by now, or not.
        Armed,
    }
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| faults[i].at);
    use crate::node::MemberState;
    let mut state = vec![State::Up; roster.len()];
    let mut member: Vec<MemberState> = roster.initial_states();
    let mut out = Vec::new();
    for i in order {
        let sf = &faults[i];
        let Ok(fault) = sf.fault.resolve(roster) else {
            continue;
        };
        let say = |what: String| format!("faults[{i}] (at {}): {what}; it does nothing", sf.at);
        let name = |id: &crate::node::NodeId| roster.name(*id).to_string();
        let why_not = |n: &crate::node::NodeId| match member[n.index()] {
            MemberState::Spare => "a spare that has not joined",
            MemberState::Left => "it has left, for good",
            _ => "a member",
        };
        if fault.is_membership() {
            match membership_idle(&fault, &mut member, &name) {
                Some((w, true)) => out.push(say(w)),
                Some((w, false)) => out.push(format!("faults[{i}] (at {}): {w}", sf.at)),
                None => {}
            }
            continue;
        }
        if let Some(n) = fault
            .single_node()
            .filter(|n| !member[n.index()].is_member())
        {
            out.push(say(format!(
                "`{}` is not a member then ({})",
                name(&n),
                why_not(&n)
            )));
            continue;
        }
        match &fault {
            Fault::Restart(n) if !matches!(state[n.index()], State::Down | State::Armed) => out
                .push(say(format!(
                    "Restart(\"{}\") restarts a node that is not down",
                    name(n)
                ))),
            Fault::Resume(n) if state[n.index()] != State::Paused => out.push(say(format!(
                "Resume(\"{}\") resumes a node that is not paused",
                name(n)
            ))),
            Fault::Crash(n) if state[n.index()] == State::Down => out.push(say(format!(
                "Crash(\"{}\") crashes a node already down",
                name(n)
            ))),
            Fault::Pause(n) if state[n.index()] != State::Up => out.push(say(format!(
                "Pause(\"{}\") pauses a node that is not running",
                name(n)
            ))),
            Fault::Partition(groups) if groups.iter().all(|g| g.is_empty()) => {
                out.push(say("the partition names no node".to_string()))
            }
            Fault::Partition(groups) if groups.iter().any(|g| g.is_empty()) => {
                out.push(say("the partition has an empty group".to_string()))
            }
            Fault::Cut { from, to } if from.is_empty() || to.is_empty() => {
                out.push(say("the cut has an empty side".to_string()))
            }
            _ => {}
        }
        match fault {
            f if f.downed_node().is_some() => {
                if let Some(n) = f.downed_node() {
                    state[n.index()] = State::Down;
                }
            }
            Fault::Restart(n) if matches!(state[n.index()], State::Down | State::Armed) => {
                state[n.index()] = State::Up
            }
            Fault::CrashAtSync { node: n, .. } if state[n.index()] == State::Up => {
                state[n.index()] = State::Armed
            }
            Fault::Pause(n) if state[n.index()] == State::Up => state[n.index()] = State::Paused,
            Fault::Resume(n) if state[n.index()] == State::Paused => state[n.index()] = State::Up,
            _ => {}
        }
    }
    out
}

/// What a membership fault would not do, given each node's place in the membership before
/// it (which it then updates), in words, and whether it does nothing at all; `None` when it
/// does what it says.
fn membership_idle(
    fault: &Fault,
    member: &mut [crate::node::MemberState],
    name: &dyn Fn(&crate::node::NodeId) -> String,
) -> Option<(String, bool)> {
    use crate::node::MemberState::{Leaving, Left, Member, Spare};
    let state = |m: &[crate::node::MemberState], n: &crate::node::NodeId| m[n.index()];
    match fault {
        Fault::Join(n) => match state(member, n) {
            Spare | Leaving => {
                member[n.index()] = Member;
                None
            }
            Member => Some(format!(
                "Join(\"{}\") joins a node that is a member already",
                name(n)
            )),
            Left => Some(format!(
                "Join(\"{}\"): a node that left never joins again (bring in a spare)",
                name(n)
            )),
        }
        .map(|w| (w, true)),
        Fault::Leave { node: n, .. } => match state(member, n) {
            Member => {
                member[n.index()] = Leaving;
                None
            }
            Leaving => Some(format!("`{}` is already leaving", name(n))),
            Spare => Some(format!("`{}` is a spare that has not joined", name(n))),
            Left => Some(format!("`{}` has already left", name(n))),
        }
        .map(|w| (w, true)),
        Fault::Depart(n) => {
            if state(member, n).is_member() {
                member[n.index()] = Left;
                None
            } else {
                Some((format!("Depart(\"{}\"): it is not a member", name(n)), true))
            }
        }
        Fault::Replace { old, new } => {
            let mut idle = Vec::new();
            if state(member, old).is_member() {
                member[old.index()] = Left;
            } else {
                idle.push(format!(
                    "`{}` is not a member, so nothing is lost",
                    name(old)
                ));
            }
            if state(member, new) == Spare {
                member[new.index()] = Member;
            } else {
                idle.push(format!(
                    "`{}` is not a spare, so it does not join",
                    name(new)
                ));
            }
            let all = idle.len() == 2;
            (!idle.is_empty()).then(|| (format!("Replace: {}", idle.join(", and ")), all))
        }
        _ => None,
    }
}

/// Reads and parses a scenario file; errors carry the file, line and column.
pub fn load(path: &Path) -> Result<Scenario> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: shown.clone(),
        message: format!("cannot read scenario: {e}"),
    };
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(io)?;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_FILE_BYTES + 1),
        &mut bytes,
    )
    .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Invalid {
            path: shown,
            message: format!(
                "the file is larger than {} MiB; a scenario is a small RON file",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&good[start..]).chars().count() + 1;
        Error::Parse {
            path: shown.clone(),
            line,
            col,
            message: format!(
                "byte 0x{:02x} is not UTF-8 text; a scenario is a UTF-8 RON file",
                e.as_bytes()[e.utf8_error().valid_up_to()]
            ),
        }
    })?;
    parse(&text, &shown)
}

/// Parses scenario text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Scenario> {
    // A byte-order mark some editors write is not RON; it is skipped, not an error.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut scenario = ron_options()
        .from_str::<Scenario>(text)
        .map_err(|e| Error::Parse {
            path: origin.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: explain_ron(&e.code),
        })?;
    scenario.protocol.locate(text);
    for c in &mut scenario.checks {
        c.locate(text);
    }
    Ok(scenario)
}

fn explain_ron(code: &ron::Error) -> String {
    let text = code.to_string();
    match code {
        ron::Error::NoSuchStructField { .. } | ron::Error::MissingStructField { .. } => text,
        ron::Error::ExpectedDifferentStructName { .. } => text,
        _ => text,
    }
}

/// Writes a scenario as pretty RON, with `header` lines as `//` comments on top.
pub fn to_ron(scenario: &Scenario, header: &[String]) -> String {
    let pretty = ron::ser::PrettyConfig::new()
        .depth_limit(6)
        .struct_names(false)
        .separate_tuple_members(false)
        .enumerate_arrays(false);
    let body = ron_options()
        .to_string_pretty(scenario, pretty)
        .unwrap_or_else(|e| format!("// could not serialize scenario: {e}\n"));
    let mut out = String::new();
    for line in header {
        out.push_str("// ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    out.push('\n');
    out
}

impl Scenario {
    /// Checks everything but the protocol and checks (a `Registry` resolves those) and resolves
    /// node names; `origin` names the file in errors.
    pub fn plan(&self, origin: &str) -> Result<Plan> {
        self.plan_inner().map_err(|message| Error::Invalid {
            path: origin.to_string(),
            message,
        })
    }

    fn plan_inner(&self) -> std::result::Result<Plan, String> {
        if self.bounds.max_time == Duration::ZERO {
            return Err("bounds.max_time must be greater than zero (e.g. \"10s\")".into());
        }
        if self.bounds.max_events == 0 {
            return Err("bounds.max_events must be greater than zero".into());
        }
        self.scheduler.validate()?;
        let roster = self.roster()?;
        if let Scheduler::Replay(steps) = &self.scheduler {
            for step in steps {
                for n in step.nodes() {
                    if roster.by_name(n).is_none() {
                        return Err(format!(
                            "scheduler Replay: {}",
                            crate::fault::unknown_node(&roster, n)
                        ));
                    }
                }
            }
        }
        let mut network = Network::new(roster.len(), self.network.default.clone());
        self.network
            .default
            .validate()
            .map_err(|e| format!("network.default: {e}"))?;
        for (i, o) in self.network.overrides.iter().enumerate() {
            let at = |e: String| format!("network.overrides[{i}]: {e}");
            o.link.validate().map_err(at)?;
            let from = resolve_names(&roster, &o.from).map_err(at)?;
            let to = resolve_names(&roster, &o.to).map_err(at)?;
            for f in &from {
                for t in &to {
                    network.set_link(*f, *t, o.link.clone());
                    if !o.one_way {
                        network.set_link(*t, *f, o.link.clone());
                    }
                }
            }
        }
        let mut schedule = Vec::new();
        for (i, sf) in self.faults.iter().enumerate() {
            let fault = sf
                .fault
                .resolve(&roster)
                .map_err(|e| format!("faults[{i}] (at {}): {e}", sf.at))?;
            if sf.at > self.bounds.max_time {
                return Err(format!(
                    "faults[{i}] is at {}, after the run ends at {}",
                    sf.at, self.bounds.max_time
                ));
            }
            schedule.push((SimTime::ZERO + sf.at, fault));
        }
        let nemesis = match &self.nemesis {
            Some(n) => Some(n.resolve(&roster).map_err(|e| format!("nemesis: {e}"))?),
            None => None,
        };
        let mut disk = Vec::new();
        for (i, rule) in self.disk.iter().enumerate() {
            let at = |e: String| format!("disk[{i}]: {e}");
            rule.validate().map_err(at)?;
            let nodes = if rule.nodes.is_empty() {
                roster.ids().collect()
            } else {
                resolve_names(&roster, &rule.nodes).map_err(at)?
            };
            if disk.is_empty() {
                disk = vec![crate::storage::DiskRates::default(); roster.len()];
            }
            for id in nodes {
                disk[id.index()] = rule.rates();
            }
        }
        let capacity = self.capacity_limits(&roster)?;
        let w = &self.workload;
        for (name, p) in [("reads", w.reads), ("cas", w.cas)] {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!(
                    "workload.{name} must be a fraction between 0 and 1, got {p}"
                ));
            }
        }
        if w.reads + w.cas > 1.0 + 1e-9 {
            return Err(format!(
                "workload.reads + workload.cas is {}, more than 1",
                w.reads + w.cas
            ));
        }
        if !(w.rate.is_finite() && (0.0..=MAX_RATE).contains(&w.rate)) {
            return Err(format!(
                "workload.rate is {}; it must be requests per second between 0 (closed loop) and {MAX_RATE}",
                w.rate
            ));
        }
        if w.interval == Duration::ZERO {
            return Err("workload.interval must be greater than zero".into());
        }
        if w.keys == 0 {
            return Err("workload.keys must be at least 1".into());
        }
        if w.timeout == Duration::ZERO {
            return Err("workload.timeout must be greater than zero (e.g. \"500ms\")".into());
        }
        if let Some(stop) = w.stop {
            if stop < w.start {
                return Err(format!(
                    "workload.stop ({stop}) is before workload.start ({})",
                    w.start
                ));
            }
        }
        if w.keys > MAX_KEYS {
            return Err(format!(
                "workload.keys is {}; at most {MAX_KEYS} keys are supported",
                w.keys
            ));
        }
        let warnings = idle_faults(&self.faults, &roster);
        Ok(Plan {
            scenario: self.clone(),
            roster,
            schedule,
            warnings,
            history_file: None,
            recovery: None,
            network,
            nemesis,
            disk,
            capacity,
        })
    }

    /// Each node's capacity from the `capacity` rules (a later rule overrides an earlier one
    /// for the nodes both name); empty when there are none.
    fn capacity_limits(
        &self,
        roster: &Roster,
    ) -> std::result::Result<Vec<Option<crate::sim::capacity::NodeCapacity>>, String> {
        use crate::sim::capacity::{NodeCapacity, WhenFull, MAX_QUEUE};
        let mut limits = Vec::new();
        for (i, rule) in self.capacity.iter().enumerate() {
            let at = |e: String| format!("capacity[{i}]: {e}");
            rule.service
                .validate()
                .map_err(|e| at(format!("service: {e}")))?;
            if let Some(q) = rule.queue.filter(|q| *q > MAX_QUEUE) {
                return Err(at(format!(
                    "queue is {q}; at most {MAX_QUEUE} messages may wait (leave it out for no bound)"
                )));
            }
            if rule.when_full == WhenFull::Block && rule.queue.is_none() {
                return Err(at(
                    "when_full is Block, but the queue has no bound to be full at; give it one \
                     (queue: 64) or leave when_full out"
                        .to_string(),
                ));
            }
            let nodes = if rule.nodes.is_empty() {
                roster.ids().collect()
            } else {
                resolve_names(roster, &rule.nodes).map_err(at)?
            };
            if limits.is_empty() {
                limits = vec![None; roster.len()];
            }
            for id in nodes {
                limits[id.index()] = Some(NodeCapacity {
                    service: rule.service.clone(),
                    queue: rule.queue,
                    when_full: rule.when_full,
                });
            }
        }
        Ok(limits)
    }

    /// The roster the `nodes` list describes.
    pub fn roster(&self) -> std::result::Result<Roster, String> {
        let mut members: Vec<(String, String, bool)> = Vec::new();
        // How many nodes each role has numbered so far, so a second counted group goes on.
        let mut numbered: std::collections::BTreeMap<&str, u32> = Default::default();
        let mut seen: std::collections::BTreeSet<String> = Default::default();
        let roles: std::collections::BTreeSet<&str> =
            self.nodes.iter().map(|g| g.role.as_str()).collect();
        let total: u64 = self
            .nodes
            .iter()
            .map(|g| match (&g.count, &g.names) {
                (Some(c), _) => u64::from(*c),
                (None, Some(n)) => n.len() as u64,
                (None, None) => 0,
            })
            .sum();
        if total > MAX_NODES {
            return Err(format!(
                "the scenario asks for {total} nodes; clustersim runs at most {MAX_NODES}"
            ));
        }
        if self.nodes.is_empty() {
            return Err("nodes is empty; a scenario needs at least one node group".into());
        }
        for (i, g) in self.nodes.iter().enumerate() {
            if g.role.is_empty() {
                return Err(format!("nodes[{i}] has an empty role"));
            }
            if g.role.chars().any(char::is_control) {
                return Err(format!(
                    "nodes[{i}] has role \"{}\", with a control character; use letters, \
                     digits, `-` and `_`",
                    g.role.escape_debug()
                ));
            }
            let names: Vec<String> = match (&g.count, &g.names) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "nodes[{i}] ({}) gives both count and names; give one",
                        g.role
                    ))
                }
                (None, None) => {
                    return Err(format!(
                        "nodes[{i}] ({}) needs a count or a list of names",
                        g.role
                    ))
                }
                (Some(0), None) => {
                    return Err(format!("nodes[{i}] ({}) has count 0", g.role));
                }
                (None, Some(names)) if names.is_empty() => {
                    return Err(format!(
                        "nodes[{i}] ({}) has an empty names list; name at least one node",
                        g.role
                    ));
                }
                (Some(c), None) => {
                    let first = numbered.get(g.role.as_str()).copied().unwrap_or(0);
                    numbered.insert(g.role.as_str(), first + c);
                    (first + 1..=first + *c)
                        .map(|k| format!("{}{k}", g.role))
                        .collect()
                }
                (None, Some(names)) => names.clone(),
            };
            for name in names {
                if name.is_empty()
                    || name.contains(char::is_whitespace)
                    || name.contains(',')
                    || name.contains(char::is_control)
                {
                    return Err(format!(
                        "node name \"{}\" must be non-empty, without spaces, commas or control \
                         characters",
                        name.escape_debug()
                    ));
                }
                if !seen.insert(name.clone()) {
                    return Err(format!("node name `{name}` is used twice"));
                }
                if name != g.role && roles.contains(name.as_str()) {
                    return Err(format!(
                        "node name `{name}` is also a role name; rename one"
                    ));
                }
                members.push((name, g.role.clone(), g.spare));
            }
        }
        Ok(Roster::with_spares(members))
    }
}
