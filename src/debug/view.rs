//! What the debugger page shows after each action, as JSON: the diagram so far, every node's
//! state, the pending events, the checks judged on the run so far.

use super::Session;
use crate::check::Status;
use crate::protocol::Property;
use crate::render::page::{safe_json, Scene};
use crate::render::Model;
use crate::sim::{NodeStatus, PendingKind};
use serde::Serialize;

/// Longest node description or stored value the page is sent (the rest is cut with a note).
const MAX_TEXT: usize = 8_000;

#[derive(Serialize)]
struct NodeView {
    name: String,
    role: String,
    status: &'static str,
    local_time: u64,
    state: Option<String>,
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
    next: bool,
}

#[derive(Serialize)]
struct VerdictView {
    check: String,
    status: &'static str,
    summary: String,
    property: &'static str,
}

#[derive(Serialize)]
struct State<'a> {
    live: bool,
    version: u64,
    now: u64,
    stopped: bool,
    steps: usize,
    branches: usize,
    nodes: Vec<NodeView>,
    pending: Vec<PendingView>,
    verdicts: Vec<VerdictView>,
    scene: Scene<'a>,
    /// Counterexample pictures of the failing checks marked on the diagram.
    figures: String,
    message: &'a str,
    error: bool,
    saved: Option<&'a str>,
    saved_hash: Option<String>,
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

/// The session as the page's JSON.
pub fn state_json(session: &Session, notice: &Notice) -> String {
    let sim = session.sim();
    let roster = sim.roster();
    let outcome = sim.outcome();
    let verdicts = session.judge(&outcome);
    // A liveness check read on a run that goes on is only a forecast: the diagram marks
    // failures of safety checks (and of everything once the run has ended).
    let marked: Vec<_> = verdicts
        .iter()
        .filter(|v| v.property == Property::Safety || sim.stopped())
        .cloned()
        .collect();
    let mut model = Model::of_run(&outcome, &marked);
    // A failure the run so far does not show yet, but its end will (found by "run to failure").
    if model.focus.is_none() {
        model.focus = session
            .failing_window()
            .map(|(from, to)| crate::render::model::Window { from, to });
    }
    let next = sim.time_order_choice().map(|(s, _)| s);
    let state = State {
        live: true,
        version: notice.version,
        now: sim.now().0,
        stopped: sim.stopped(),
        steps: session.steps().len(),
        branches: session.branches(),
        nodes: sim
            .nodes()
            .into_iter()
            .map(|n| NodeView {
                name: roster.name(n.id).to_string(),
                role: roster.role(n.id).to_string(),
                status: match n.status {
                    NodeStatus::Up => "up",
                    NodeStatus::Down => "down",
                    NodeStatus::Paused => "paused",
                },
                local_time: n.local_time.0,
                state: n.state.map(cut),
                storage: n.storage.into_iter().map(|(k, v)| (k, cut(v))).collect(),
                unsynced: n.unsynced,
            })
            .collect(),
        pending: sim
            .pending()
            .into_iter()
            .map(|p| PendingView {
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
                text: cut(p.text),
                next: Some(p.seq) == next,
            })
            .collect(),
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
        figures: crate::render::lin::all(&model, &marked).concat(),
        scene: Scene::of(&model),
        message: &notice.message,
        error: notice.error,
        saved: notice.saved.as_ref().map(|(p, _)| p.as_str()),
        saved_hash: notice.saved.as_ref().map(|(_, h)| format!("{h:016x}")),
    };
    safe_json(&state)
}
