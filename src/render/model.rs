//! The shared picture of a run: lanes, messages, fault periods and client operations,
//! extracted once from the trace and history so each renderer only decides how to draw.

use crate::check::Verdict;
use crate::fault::Fault;
use crate::history::{History, Phase};
use crate::node::{NodeId, Roster};
use crate::time::SimTime;
use crate::trace::{DropReason, TraceEvent, TraceKind};
use std::collections::BTreeMap;

/// One message copy: sent at `sent`, delivered or dropped at `end` (none: still in flight).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The message's id (duplicated copies share it).
    pub id: u64,
    /// Sender.
    pub from: NodeId,
    /// Destination.
    pub to: NodeId,
    /// When it was sent.
    pub sent: SimTime,
    /// When it was delivered or dropped; `None` if the run ended first.
    pub end: Option<SimTime>,
    /// Why it was lost, if it was.
    pub dropped: Option<DropReason>,
    /// The message as debug text.
    pub text: String,
}

/// What kind of fault period a band shows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BandKind {
    /// A node was down (crash to restart).
    Crash,
    /// A node was frozen (pause to resume).
    Pause,
    /// The network was split or cut (partition, cut or isolate, to heal).
    Network,
    /// A node was not a member: a spare before it joined, or gone after it left.
    Absent,
}

impl BandKind {
    /// A lower-case label, also used as a CSS class.
    pub fn label(self) -> &'static str {
        match self {
            BandKind::Crash => "crash",
            BandKind::Pause => "pause",
            BandKind::Network => "partition",
            BandKind::Absent => "absent",
        }
    }
}

/// A period during which a fault was in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// What kind of fault.
    pub kind: BandKind,
    /// The node it hit (`None`: the whole network).
    pub node: Option<NodeId>,
    /// When it began.
    pub start: SimTime,
    /// When it ended (`None`: still in force at the end of the run).
    pub end: Option<SimTime>,
    /// The fault in words.
    pub text: String,
    /// For a network fault, the sides it made: partition groups (the unlisted nodes as one
    /// more), an isolated node and the rest, or a cut's senders then receivers.
    pub groups: Vec<Vec<NodeId>>,
}

/// A fault as applied at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultMark {
    /// When it was applied.
    pub time: SimTime,
    /// The fault.
    pub fault: Fault,
    /// The fault in words.
    pub text: String,
}

/// Something a node's disk did at one instant: a disk fault the schedule or the nemesis
/// applied (other than a crash, drawn as a band), or one the disk drew from its rates (its
/// `disk:` note).
#[derive(Clone, Debug, PartialEq)]
pub struct DiskMark {
    /// When it happened.
    pub time: SimTime,
    /// The node whose disk it was.
    pub node: NodeId,
    /// What happened, in words.
    pub text: String,
}

/// A client operation with its result, or a system event (which has no duration).
#[derive(Clone, Debug, PartialEq)]
pub struct OpBar {
    /// The node that recorded it.
    pub node: NodeId,
    /// When it was invoked (or happened, for an event).
    pub start: SimTime,
    /// When it completed (`None`: never).
    pub end: Option<SimTime>,
    /// Ok, Fail, Info, or Event.
    pub outcome: Phase,
    /// The operation in words, with its result.
    pub text: String,
    /// History entry indexes of this operation (invoke and completion).
    pub entries: Vec<usize>,
    /// True when a failing verdict names one of its entries.
    pub culprit: bool,
}

/// A span of virtual time, inclusive at both ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant shown.
    pub from: SimTime,
    /// Last instant shown.
    pub to: SimTime,
}

impl Window {
    /// True when `t` lies in the window.
    pub fn contains(&self, t: SimTime) -> bool {
        self.from <= t && t <= self.to
    }

    /// True when the span `[a, b]` overlaps the window.
    pub fn overlaps(&self, a: SimTime, b: SimTime) -> bool {
        a <= self.to && b >= self.from
    }
}

/// Everything a renderer draws, in time order within each list.
#[derive(Clone, Debug)]
pub struct Model {
    /// Node names in id order; one lane each.
    pub names: Vec<String>,
    /// Each node's role, in the same order.
    pub roles: Vec<String>,
    /// Every message copy.
    pub messages: Vec<Message>,
    /// Every fault as applied.
    pub faults: Vec<FaultMark>,
    /// Fault periods.
    pub bands: Vec<Band>,
    /// Client operations and system events.
    pub ops: Vec<OpBar>,
    /// Node notes (`Context::note`): time, node, text.
    pub notes: Vec<(SimTime, NodeId, String)>,
    /// Disk faults and what the disks drew, in time order.
    pub disk: Vec<DiskMark>,
    /// The failing verdicts' one-line summaries (`check: summary`).
    pub failures: Vec<String>,
    /// The time span that explains the first failure with a window.
    pub focus: Option<Window>,
    /// The run's last instant.
    pub end: SimTime,
    /// When the picture is a window of a run too long to draw whole, what it leaves out, in
    /// words; every picture says so at its top.
    pub partial: Option<String>,
}

impl Model {
    /// Builds the model from a run's recorded trace events and history, and its verdicts.
    pub fn build(
        roster: &Roster,
        events: &[TraceEvent],
        history: &History,
        verdicts: &[Verdict],
        end: SimTime,
    ) -> Model {
        let mut live = LiveModel::new(roster);
        live.read(events, None);
        live.finish(roster, history, verdicts, end);
        live.model
    }

    /// Builds the model of a finished run (its trace must have been kept at `TraceLevel::Full`).
    pub fn of_run(outcome: &crate::sim::RunOutcome, verdicts: &[Verdict]) -> Model {
        Model::build(
            &outcome.roster,
            outcome.trace.events(),
            &outcome.history,
            verdicts,
            outcome.end_time,
        )
    }

    /// The name of a node.
    pub fn name(&self, id: NodeId) -> &str {
        self.names
            .get(id.index())
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// Resolves a comma-separated list of node names; an unknown name is an error naming valid ones.
    pub fn select_nodes(&self, list: &str) -> Result<Vec<NodeId>, String> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match self.names.iter().position(|n| n == name) {
                Some(i) => {
                    let id = NodeId(i as u32);
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                None => {
                    return Err(format!(
                        "unknown node `{name}` in --nodes; valid nodes are: {}",
                        self.names.join(", ")
                    ))
                }
            }
        }
        if out.is_empty() {
            return Err(format!(
                "--nodes names no node; valid nodes are: {}",
                self.names.join(", ")
            ));
        }
        Ok(out)
    }
}

/// A model kept up to date as a run's trace grows (the debugger's page): each `update` reads
/// only the trace events it has not read, and says which messages it added or changed, so a
/// step costs what it recorded, not the run so far.
#[derive(Clone, Debug)]
pub struct LiveModel {
    model: Model,
    /// Copies of one id still in flight, oldest first, so a delivery closes the oldest copy.
    open: BTreeMap<u64, Vec<usize>>,
    /// Every fault as applied (the model's `faults` leaves idle restarts out).
    applied: Vec<FaultMark>,
    /// Trace events read so far.
    read: usize,
}

impl LiveModel {
    /// The model of a run that has recorded nothing yet.
    pub fn new(roster: &Roster) -> LiveModel {
        LiveModel {
            model: Model {
                names: roster.names().to_vec(),
                roles: roster.ids().map(|id| roster.role(id).to_string()).collect(),
                messages: Vec::new(),
                faults: Vec::new(),
                bands: Vec::new(),
                ops: Vec::new(),
                notes: Vec::new(),
                disk: Vec::new(),
                failures: Vec::new(),
                focus: None,
                end: SimTime::ZERO,
                partial: None,
            },
            open: BTreeMap::new(),
            applied: Vec::new(),
            read: 0,
        }
    }

    /// Trace events read so far: `update` reads the ones after them.
    pub fn events_read(&self) -> usize {
        self.read
    }

    /// The model as it stands.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model as it stands, for a caller that adjusts it (its focus).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Brings the model up to the run's trace `events` (the ones read before must be their
    /// start), history, verdicts and end; returns the indexes of the messages added or changed
    /// (a fate learned), in order.
    pub fn update(
        &mut self,
        roster: &Roster,
        events: &[TraceEvent],
        history: &History,
        verdicts: &[Verdict],
        end: SimTime,
    ) -> Vec<usize> {
        let mut changed = Vec::new();
        self.read(events, Some(&mut changed));
        self.finish(roster, history, verdicts, end);
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    fn read(&mut self, events: &[TraceEvent], mut changed: Option<&mut Vec<usize>>) {
        let names = &self.model.names;
        let messages = &mut self.model.messages;
        let open = &mut self.open;
        for ev in events.get(self.read..).unwrap_or(&[]) {
            match &ev.kind {
                TraceKind::Send { from, to, id, msg } => {
                    open.entry(*id).or_default().push(messages.len());
                    if let Some(c) = changed.as_deref_mut() {
                        c.push(messages.len());
                    }
                    messages.push(Message {
                        id: *id,
                        from: *from,
                        to: *to,
                        sent: ev.time,
                        end: None,
                        dropped: None,
                        text: msg.clone(),
                    });
                }
                TraceKind::Duplicate { id, .. } => {
                    if let Some(&first) = open.get(id).and_then(|v| v.first()) {
                        let copy = Message {
                            end: None,
                            dropped: None,
                            ..messages[first].clone()
                        };
                        open.entry(*id).or_default().push(messages.len());
                        if let Some(c) = changed.as_deref_mut() {
                            c.push(messages.len());
                        }
                        messages.push(copy);
                    }
                }
                TraceKind::Deliver { id, .. } | TraceKind::Drop { id, .. } => {
                    let reason = match &ev.kind {
                        TraceKind::Drop { reason, .. } => Some(*reason),
                        _ => None,
                    };
                    if let Some(list) = open.get_mut(id) {
                        if !list.is_empty() {
                            let i = list.remove(0);
                            messages[i].end = Some(ev.time);
                            messages[i].dropped = reason;
                            if let Some(c) = changed.as_deref_mut() {
                                c.push(i);
                            }
                        }
                        if list.is_empty() {
                            open.remove(id);
                        }
                    }
                }
                TraceKind::Fault { fault } => self.applied.push(FaultMark {
                    time: ev.time,
                    fault: fault.clone(),
                    text: fault.describe(names),
                }),
                TraceKind::Note { node, text } => {
                    self.model.notes.push((ev.time, *node, text.clone()))
                }
                _ => {}
            }
        }
        self.read = self.read.max(events.len());
    }

    /// Everything but the messages and notes, made again from the faults, history and verdicts
    /// (small beside the trace).
    fn finish(&mut self, roster: &Roster, history: &History, verdicts: &[Verdict], end: SimTime) {
        let names = &self.model.names;
        let faults = without_idle_restarts(self.applied.clone(), names.len());
        let spares: Vec<bool> = roster.ids().map(|id| roster.is_spare(id)).collect();
        let bands = bands_of(&faults, &spares);
        let disk = disk_marks(&faults, &self.model.notes);
        let culprits: Vec<usize> = verdicts
            .iter()
            .filter(|v| !v.passed())
            .flat_map(|v| v.culprits.iter().copied())
            .collect();
        let mut ops: Vec<OpBar> = history
            .calls()
            .into_iter()
            .map(|c| {
                let mut entries = vec![c.invoke_index];
                entries.extend(c.complete_index);
                let culprit = entries.iter().any(|e| culprits.contains(e));
                OpBar {
                    node: c.node,
                    start: c.invoke_time,
                    end: c.complete_time,
                    outcome: c.outcome,
                    text: c.completed.describe(names),
                    entries,
                    culprit,
                }
            })
            .collect();
        ops.extend(history.events().map(|e| OpBar {
            node: e.node,
            start: e.time,
            end: Some(e.time),
            outcome: Phase::Event,
            text: e.op.describe(names),
            entries: vec![e.index],
            culprit: culprits.contains(&e.index),
        }));
        ops.sort_by_key(|o| (o.start, o.entries[0]));
        let failed: Vec<&Verdict> = verdicts.iter().filter(|v| !v.passed()).collect();
        let m = &mut self.model;
        m.faults = faults;
        m.bands = bands;
        m.disk = disk;
        m.ops = ops;
        m.failures = failed
            .iter()
            .map(|v| format!("{}: {}", v.check, v.summary))
            .collect();
        m.focus = failed
            .iter()
            .find_map(|v| v.window)
            .map(|(from, to)| Window { from, to });
        m.end = end;
    }
}

/// The sides a network fault makes among `n` nodes (see `Band::groups`).
fn sides(fault: &Fault, n: usize) -> Vec<Vec<NodeId>> {
    let rest = |listed: &[NodeId]| -> Vec<NodeId> {
        (0..n as u32)
            .map(NodeId)
            .filter(|id| !listed.contains(id))
            .collect()
    };
    let mut out = match fault {
        Fault::Partition(groups) => {
            let listed: Vec<NodeId> = groups.iter().flatten().copied().collect();
            let mut g = groups.clone();
            g.push(rest(&listed));
            g
        }
        Fault::Isolate(node) => vec![vec![*node], rest(&[*node])],
        Fault::Cut { from, to } => vec![from.clone(), to.clone()],
        _ => Vec::new(),
    };
    out.retain(|g| !g.is_empty());
    out
}

/// The faults less the restarts, pauses and resumes that changed nothing: a restart of a
/// node that was not down and had no crash armed inside its handlers (a nemesis ends a corrupt
/// record's or a failed sync's window with one), a pause of a node that was not up, a resume
/// of one that was not paused. The engine records them; a picture showing them would show
/// what did not happen.
fn without_idle_restarts(faults: Vec<FaultMark>, n: usize) -> Vec<FaultMark> {
    let mut down = vec![false; n];
    let mut armed = vec![false; n];
    let mut paused = vec![false; n];
    let flag = |v: &mut Vec<bool>, i: usize, to: bool| {
        if let Some(x) = v.get_mut(i) {
            *x = to;
        }
    };
    faults
        .into_iter()
        .filter(|f| {
            match &f.fault {
                Fault::Restart(x) => {
                    let i = x.index();
                    let (was_down, was_armed) = (
                        down.get(i).copied().unwrap_or(true),
                        armed.get(i).copied().unwrap_or(true),
                    );
                    flag(&mut down, i, false);
                    flag(&mut armed, i, false);
                    return was_down || was_armed;
                }
                Fault::Pause(x) => {
                    let i = x.index();
                    let up = !down.get(i).copied().unwrap_or(true)
                        && !paused.get(i).copied().unwrap_or(true);
                    if up {
                        flag(&mut paused, i, true);
                    }
                    return up;
                }
                Fault::Resume(x) => {
                    let i = x.index();
                    let was_paused = paused.get(i).copied().unwrap_or(true);
                    flag(&mut paused, i, false);
                    return was_paused;
                }
                Fault::CrashAtSync { node, sync, .. } if *sync > 0 => {
                    flag(&mut armed, node.index(), true);
                }
                // A node that left is not down: a restart of it does nothing.
                Fault::Depart(x) | Fault::Departed(x) | Fault::Replace { old: x, .. } => {
                    flag(&mut down, x.index(), false);
                    flag(&mut paused, x.index(), false);
                }
                other => {
                    if let Some(x) = other.downed_node() {
                        flag(&mut down, x.index(), true);
                        // A crash ends a pause.
                        flag(&mut paused, x.index(), false);
                        // A crash of another kind calls an armed one off.
                        flag(&mut armed, x.index(), false);
                    }
                }
            }
            true
        })
        .collect()
}

/// The disk faults applied (crashes aside) and the disk's own `disk:` notes, a note at the same
/// instant and node as an applied fault left out (it says what that fault did).
fn disk_marks(faults: &[FaultMark], notes: &[(SimTime, NodeId, String)]) -> Vec<DiskMark> {
    let mut marks: Vec<DiskMark> = faults
        .iter()
        .filter(|f| f.fault.downed_node().is_none())
        .filter_map(|f| {
            f.fault.storage_node().map(|n| DiskMark {
                time: f.time,
                node: *n,
                text: f.text.clone(),
            })
        })
        .collect();
    let applied = marks.len();
    for (time, node, text) in notes {
        let said = marks[..applied]
            .iter()
            .any(|m| m.time == *time && m.node == *node);
        if let (Some(what), false) = (text.strip_prefix("disk: "), said) {
            marks.push(DiskMark {
                time: *time,
                node: *node,
                text: what.to_string(),
            });
        }
    }
    marks.sort_by_key(|m| m.time);
    marks
}

/// A node's status as the engine keeps it, for drawing only the faults that changed it.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Status {
    Up,
    Paused,
    Down,
    /// Not a member (a spare, or gone).
    Gone,
}

/// Pairs each fault with the fault that ends it (restart, resume, heal, join) into periods;
/// `spares` (one flag per node) start absent.
fn bands_of(faults: &[FaultMark], spares: &[bool]) -> Vec<Band> {
    let n = spares.len();
    let mut bands: Vec<Band> = Vec::new();
    let close = |bands: &mut Vec<Band>, kind: BandKind, node: Option<NodeId>, t: SimTime| {
        for b in bands.iter_mut() {
            if b.kind == kind && b.end.is_none() && (node.is_none() || b.node == node) {
                b.end = Some(t);
            }
        }
    };
    // Which bands are partitions (a new partition replaces the one in force, as the network
    // does; cuts add up until a heal).
    let mut partitions: Vec<bool> = Vec::new();
    // Each node's status as the engine keeps it: a pause takes only an up node, a crash ends a
    // pause, a restart takes only a down node and a resume only a paused one.
    let mut status = vec![Status::Up; n];
    for (i, spare) in spares.iter().enumerate() {
        if *spare {
            status[i] = Status::Gone;
            partitions.push(false);
            bands.push(Band {
                kind: BandKind::Absent,
                node: Some(NodeId(i as u32)),
                start: SimTime::ZERO,
                end: None,
                text: "not a member (a spare, until it joins)".to_string(),
                groups: Vec::new(),
            });
        }
    }
    for f in faults {
        // A node that joins ends its absence; one that leaves ends whatever band it was in.
        let joins = |status: &mut Vec<Status>, bands: &mut Vec<Band>, x: &NodeId| {
            if status.get(x.index()) == Some(&Status::Gone) {
                status[x.index()] = Status::Up;
                close(bands, BandKind::Absent, Some(*x), f.time);
            }
        };
        let leaves = |status: &mut Vec<Status>, bands: &mut Vec<Band>, x: &NodeId| {
            match status.get(x.index()) {
                Some(Status::Gone) | None => return false,
                Some(Status::Paused) => close(bands, BandKind::Pause, Some(*x), f.time),
                Some(Status::Down) => close(bands, BandKind::Crash, Some(*x), f.time),
                Some(Status::Up) => {}
            }
            status[x.index()] = Status::Gone;
            true
        };
        let (kind, node) = match &f.fault {
            Fault::Crash(x)
            | Fault::Wipe(x)
            | Fault::ProcessCrash(x)
            | Fault::PowerLoss { node: x, .. }
            | Fault::CrashAtSync {
                node: x, sync: 0, ..
            } => {
                match status.get(x.index()) {
                    Some(Status::Down | Status::Gone) | None => continue,
                    Some(Status::Paused) => close(&mut bands, BandKind::Pause, Some(*x), f.time),
                    Some(Status::Up) => {}
                }
                status[x.index()] = Status::Down;
                (BandKind::Crash, Some(*x))
            }
            Fault::Pause(x) => {
                if status.get(x.index()) != Some(&Status::Up) {
                    continue;
                }
                status[x.index()] = Status::Paused;
                (BandKind::Pause, Some(*x))
            }
            Fault::Partition(_) | Fault::Isolate(_) => {
                for (b, _) in bands
                    .iter_mut()
                    .zip(&partitions)
                    .filter(|(b, p)| **p && b.end.is_none())
                {
                    b.end = Some(f.time);
                }
                (BandKind::Network, None)
            }
            Fault::Cut { .. } => (BandKind::Network, None),
            Fault::Restart(x) => {
                if status.get(x.index()) == Some(&Status::Down) {
                    status[x.index()] = Status::Up;
                    close(&mut bands, BandKind::Crash, Some(*x), f.time);
                }
                continue;
            }
            Fault::Resume(x) => {
                if status.get(x.index()) == Some(&Status::Paused) {
                    status[x.index()] = Status::Up;
                    close(&mut bands, BandKind::Pause, Some(*x), f.time);
                }
                continue;
            }
            Fault::Heal => {
                close(&mut bands, BandKind::Network, None, f.time);
                continue;
            }
            // Disk faults inside a node are marked by their trace notes, not bands.
            Fault::ClockSkew { .. }
            | Fault::ClockDrift { .. }
            | Fault::SyncFail(_)
            | Fault::LostWrite { .. }
            | Fault::Corrupt { .. }
            | Fault::Unreadable { .. }
            | Fault::DiskFull(_)
            | Fault::DiskFree(_)
            | Fault::CrashAtSync { .. }
            | Fault::Leave { .. } => continue,
            Fault::Join(x) => {
                joins(&mut status, &mut bands, x);
                continue;
            }
            Fault::Depart(x) | Fault::Departed(x) => {
                if !leaves(&mut status, &mut bands, x) {
                    continue;
                }
                (BandKind::Absent, Some(*x))
            }
            Fault::Replace { old, new } => {
                joins(&mut status, &mut bands, new);
                if !leaves(&mut status, &mut bands, old) {
                    continue;
                }
                (BandKind::Absent, Some(*old))
            }
        };
        partitions.push(matches!(f.fault, Fault::Partition(_) | Fault::Isolate(_)));
        bands.push(Band {
            kind,
            node,
            start: f.time,
            end: None,
            text: f.text.clone(),
            groups: sides(&f.fault, n),
        });
    }
    bands
}

/// Escapes text for XML attribute values and content.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}
