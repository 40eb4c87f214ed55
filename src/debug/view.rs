//! What the debugger page shows after each action, as JSON: the diagram so far, every node's
//! state, the pending events, the checks judged on the run so far. The first answer is whole;
//! after it the page is sent what changed since the state it holds (`Sent` remembers what
//! that is): new and changed diagram items, the nodes a step touched, pending events gone and
//! new. A page that holds another state than the one remembered gets the whole state again.

use super::{Session, TreeView};
use crate::check::Status;
use crate::describe::{value_text, Describe, Field};
use crate::node::NodeId;
use crate::protocol::Property;
use crate::render::model::{LiveModel, Window};
use crate::render::page::{
    safe_json, scene_disk, scene_note, Changes, ListDelta, Scene, SceneBand, SceneLists,
    SceneMessage, SceneOp,
};
use crate::sim::{NodeStatus, PendingEvent, PendingKind};
use crate::time::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest node description or stored value the page is sent (the rest is cut with a note).
const MAX_TEXT: usize = 8_000;

/// Most fields of one level of a node's state tree the page is sent (the rest are counted).
const MAX_FIELDS: usize = 500;

/// One field of a node's state tree as the page reads it: label, value, fields beneath, and
/// whether it is the configuration (drawn folded).
#[derive(Serialize)]
struct FieldView {
    l: String,
    v: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    c: Vec<FieldView>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cfg: bool,
}

fn fields_view(fields: &[Field], names: &[String]) -> Vec<FieldView> {
    let mut out: Vec<FieldView> = fields
        .iter()
        .take(MAX_FIELDS)
        .map(|f| FieldView {
            l: f.label.clone(),
            v: cut(value_text(&f.value, names)),
            c: tree_view(&f.children, names),
            cfg: false,
        })
        .collect();
    if fields.len() > MAX_FIELDS {
        out.push(FieldView {
            l: String::new(),
            v: format!("... {} more", fields.len() - MAX_FIELDS),
            c: Vec::new(),
            cfg: false,
        });
    }
    out
}

/// A state tree as the page reads it: live fields, then one folded `configuration` field.
fn tree_view(tree: &Describe, names: &[String]) -> Vec<FieldView> {
    let mut out = fields_view(tree.live(), names);
    if !tree.configuration().is_empty() {
        out.push(FieldView {
            l: "configuration".into(),
            v: String::new(),
            c: fields_view(tree.configuration(), names),
            cfg: true,
        });
    }
    out
}

/// One node's panel (its clock is sent apart: it moves with every step).
#[derive(Serialize)]
struct NodeView {
    name: String,
    role: String,
    status: &'static str,
    state: Option<Vec<FieldView>>,
    storage: Vec<(String, String)>,
    unsynced: bool,
}

#[derive(Serialize)]
struct PendingView {
    seq: u64,
    time: u64,
    kind: &'static str,
    node: Option<u32>,
    from: Option<u32>,
    text: String,
}

#[derive(Serialize)]
struct VerdictView {
    check: String,
    status: &'static str,
    summary: String,
    property: &'static str,
}

/// The pending events the page holds, brought up to date by insertion number.
#[derive(Serialize)]
struct PendingDelta {
    gone: Vec<u64>,
    put: Vec<PendingView>,
}

/// What every answer carries whole: it is small, or changes with every step.
#[derive(Serialize)]
struct Head<'a> {
    live: bool,
    version: u64,
    now: u64,
    stopped: bool,
    steps: usize,
    branches: usize,
    /// The pending event time order runs next.
    next: Option<u64>,
    verdicts: Vec<VerdictView>,
    message: &'a str,
    error: bool,
    saved: Option<&'a str>,
    saved_hash: Option<String>,
}

/// The whole state.
#[derive(Serialize)]
struct Full<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    full: bool,
    nodes: Vec<NodeView>,
    /// Each node's clock minus `now`, in id order.
    skews: Vec<i64>,
    pending: Vec<PendingView>,
    scene: Scene<'a>,
    /// Counterexample pictures of the failing checks marked on the diagram.
    figures: &'a str,
    /// The tree of explored states.
    tree: &'a TreeView,
}

/// What changed since the state the page holds (`base`).
#[derive(Serialize)]
struct Delta<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    base: u64,
    nodes: ListDelta<NodeView>,
    skews: ListDelta<i64>,
    pending: PendingDelta,
    /// The diagram's lists (names and roles never change in a session).
    scene: SceneLists<'a, Changes>,
    /// Sent only when they changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    figures: Option<&'a str>,
    /// Sent only when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    tree: Option<&'a TreeView>,
}

/// The diagram's short lists as the page holds them, kept to compare after an update.
struct OldLists {
    bands: Vec<crate::render::model::Band>,
    ops: Vec<crate::render::model::OpBar>,
    notes: Vec<(SimTime, NodeId, String)>,
    disk: Vec<crate::render::model::DiskMark>,
}

impl OldLists {
    fn of(model: &crate::render::Model) -> OldLists {
        OldLists {
            bands: model.bands.clone(),
            ops: model.ops.clone(),
            notes: model.notes.clone(),
            disk: model.disk.clone(),
        }
    }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str("\n... (cut)");
    }
    s
}

/// What the page is told besides the run: the last action's message and a saved file.
#[derive(Clone, Debug, Default)]
pub struct Notice {
    /// A sentence about the last action.
    pub message: String,
    /// True when the last action was refused.
    pub error: bool,
    /// The file the path was saved to, and the trace hash its replay gives.
    pub saved: Option<(String, u64)>,
    /// Counts the states sent, so the page (and a test) can tell one answer from the next.
    pub version: u64,
}

/// What the page was last sent, so the next answer can be what changed since.
#[derive(Default)]
pub struct Sent {
    /// The version of the state the page holds (`Notice::version` when it was sent).
    version: Option<u64>,
    /// The session's run it was taken from (`Session::epoch`) and its touch mark.
    run: (u64, u64),
    /// Each node's state, with its clock left out.
    nodes: Vec<super::NodeState>,
    skews: Vec<i64>,
    pending: BTreeMap<u64, PendingEvent>,
    /// The diagram, kept up to date step by step while the run is the same.
    model: Option<LiveModel>,
    figures: String,
    tree: Option<TreeView>,
}

impl Sent {
    /// Nothing sent yet: the next answer is whole.
    pub fn new() -> Sent {
        Sent::default()
    }
}

/// The session as the page's JSON, whole.
pub fn state_json(session: &Session, notice: &Notice) -> String {
    answer(session, notice, &mut Sent::new(), None)
}

/// The session as the page's JSON: what changed since the state `have` if that is the one
/// `sent` remembers, else the whole state; `sent` then remembers this answer.
pub fn answer(session: &Session, notice: &Notice, sent: &mut Sent, have: Option<u64>) -> String {
    let sim = session.sim();
    let roster = sim.roster();
    let names = roster.names();
    let outcome = sim.outcome();
    let verdicts = session.judge(&outcome);
    // A liveness check read on a run that goes on is only a forecast: the diagram marks
    // failures of safety checks (and of everything once the run has ended).
    let marked: Vec<_> = verdicts
        .iter()
        .filter(|v| v.property == Property::Safety || sim.stopped())
        .cloned()
        .collect();
    let run = (session.epoch(), sim.touch_mark());
    let delta = have.is_some() && have == sent.version && sent.nodes.len() == roster.len();
    // The diagram: only the trace events since the last answer are read, while the run is the
    // one that answer showed; otherwise it is made again and compared item by item.
    let events = outcome.trace.events();
    let before = sent.model.take();
    let same_run = delta && sent.run.0 == run.0;
    let (mut live, changed_messages) = match before {
        Some(mut live) if same_run && live.events_read() <= events.len() => {
            let old = OldLists::of(live.model());
            let changed = live.update(roster, events, &outcome.history, &marked, outcome.end_time);
            (live, Some((old, changed)))
        }
        before => {
            let mut live = LiveModel::new(roster);
            live.update(roster, events, &outcome.history, &marked, outcome.end_time);
            let old = before.filter(|_| delta).map(|b| {
                let old = OldLists::of(b.model());
                let changed = (0..live.model().messages.len())
                    .filter(|&i| b.model().messages.get(i) != live.model().messages.get(i))
                    .collect();
                (old, changed)
            });
            (live, old)
        }
    };
    let model = live.model_mut();
    // A failure the run so far does not show yet, but its end will (found by "run to failure").
    if model.focus.is_none() {
        model.focus = session
            .failing_window()
            .map(|(from, to)| Window { from, to });
    }
    let model = live.model();
    let figures = crate::render::lin::all(model, &marked).concat();
    let now = sim.now();
    let skews: Vec<i64> = sim
        .clocks()
        .iter()
        .map(|c| c.0 as i64 - now.0 as i64)
        .collect();
    // The nodes that may have changed: those the steps since touched, on the same run.
    let mut nodes = std::mem::take(&mut sent.nodes);
    let touched: Vec<NodeId> = match sim.touched_since(sent.run.1) {
        Some(t) if delta && sent.run.0 == run.0 => t,
        _ => roster.ids().collect(),
    };
    if !delta {
        nodes.clear();
    }
    let mut changed = Vec::new();
    for id in touched {
        let Some(mut state) = sim.node(id) else {
            continue;
        };
        state.local_time = SimTime::ZERO;
        let at = id.index();
        if at == nodes.len() {
            nodes.push(state);
            changed.push(at);
        } else if at < nodes.len() && nodes[at] != state {
            nodes[at] = state;
            changed.push(at);
        }
    }
    let node_view = |n: &super::NodeState| NodeView {
        name: roster.name(n.id).to_string(),
        role: roster.role(n.id).to_string(),
        status: match n.status {
            NodeStatus::Up => "up",
            NodeStatus::Down => "down",
            NodeStatus::Paused => "paused",
        },
        state: n.state.as_ref().map(|t| tree_view(t, names)),
        storage: n
            .storage
            .iter()
            .map(|(k, v)| (k.clone(), cut(v.clone())))
            .collect(),
        unsynced: n.unsynced,
    };
    let pending_view = |p: &PendingEvent| PendingView {
        seq: p.seq,
        time: p.time.0,
        kind: match p.kind {
            PendingKind::Boot => "boot",
            PendingKind::Message => "message",
            PendingKind::Timer => "timer",
            PendingKind::Fault => "fault",
            PendingKind::Nemesis => "nemesis",
            PendingKind::Queue => "queue",
            PendingKind::Roster => "membership",
        },
        node: p.node.map(|n| n.0),
        from: p.from.map(|n| n.0),
        text: cut(p.text.clone()),
    };
    let pending = sim.pending();
    let tree = session.tree_view();
    let head = Head {
        live: true,
        version: notice.version,
        now: now.0,
        stopped: sim.stopped(),
        steps: session.step_count(),
        branches: session.branches(),
        next: sim.time_order_choice().map(|(s, _)| s),
        verdicts: verdicts
            .iter()
            .map(|v| VerdictView {
                check: v.check.clone(),
                status: match v.status {
                    Status::Pass => "pass",
                    Status::Fail => "fail",
                    Status::Unknown => "unknown",
                },
                summary: v.summary.clone(),
                property: match v.property {
                    Property::Safety => "safety",
                    Property::Liveness => "liveness",
                    Property::Performance => "performance",
                },
            })
            .collect(),
        message: &notice.message,
        error: notice.error,
        saved: notice.saved.as_ref().map(|(p, _)| p.as_str()),
        saved_hash: notice.saved.as_ref().map(|(_, h)| format!("{h:016x}")),
    };
    let text = match changed_messages {
        Some((old, changed_messages_at)) => {
            let now_pending: BTreeMap<u64, &PendingEvent> =
                pending.iter().map(|p| (p.seq, p)).collect();
            safe_json(&Delta {
                head,
                base: have.unwrap_or(0),
                nodes: ListDelta {
                    n: nodes.len(),
                    at: changed.iter().map(|&i| (i, node_view(&nodes[i]))).collect(),
                },
                skews: ListDelta::between(&sent.skews, &skews, |s| *s),
                pending: PendingDelta {
                    gone: sent
                        .pending
                        .keys()
                        .filter(|s| !now_pending.contains_key(s))
                        .copied()
                        .collect(),
                    put: pending
                        .iter()
                        .filter(|p| sent.pending.get(&p.seq) != Some(*p))
                        .map(pending_view)
                        .collect(),
                },
                scene: SceneLists::with(
                    model,
                    ListDelta {
                        n: model.messages.len(),
                        at: changed_messages_at
                            .iter()
                            .map(|&i| (i, SceneMessage::of(&model.messages[i])))
                            .collect(),
                    },
                    ListDelta::between(&old.bands, &model.bands, SceneBand::of),
                    ListDelta::between(&old.ops, &model.ops, SceneOp::of),
                    ListDelta::between(&old.notes, &model.notes, scene_note),
                    ListDelta::between(&old.disk, &model.disk, scene_disk),
                ),
                figures: (figures != sent.figures).then_some(figures.as_str()),
                tree: (sent.tree.as_ref() != Some(&tree)).then_some(&tree),
            })
        }
        _ => safe_json(&Full {
            head,
            full: true,
            nodes: nodes.iter().map(node_view).collect(),
            skews: skews.clone(),
            pending: pending.iter().map(pending_view).collect(),
            scene: Scene::of(model),
            figures: &figures,
            tree: &tree,
        }),
    };
    sent.version = Some(notice.version);
    sent.run = run;
    sent.nodes = nodes;
    sent.skews = skews;
    sent.pending = pending.into_iter().map(|p| (p.seq, p)).collect();
    sent.model = Some(live);
    sent.figures = figures;
    sent.tree = Some(tree);
    text
}
