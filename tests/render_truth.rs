//! Every picture tells the truth: a property test over random runs of the bundled protocols
//! (random seeds, random fault schedules on top of each file's own, random picture windows and
//! windowed traces) recomputes from the raw trace events, independently of `render::model`,
//! who was up, paused or down when, which pairs of nodes the network kept apart when, and what
//! became of every message copy, then holds the render model and the SVG drawn from it to
//! that: nothing drawn that did not happen, nothing that happened in the window left out.

use clustersim::fault::{Fault, NemesisKind};
use clustersim::node::NodeId;
use clustersim::registry::Registry;
use clustersim::render::model::{BandKind, Window};
use clustersim::render::{svg, Model};
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::Scenario;
use clustersim::strategy::{fault_schedule, FaultConfig};
use clustersim::time::Duration;
use clustersim::trace::{DropReason, TraceEvent, TraceKind, TraceLevel};
use clustersim::SimTime;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Short bundled runs of different protocols (ping, quorum kv, primary-backup, Raft, the task
/// queue, chat, a durable server, S3-like copies), some with their own partitions, crashes,
/// wipes, loss and duplication.
const SCENARIOS: [&str; 13] = [
    "scenarios/ping-partition.ron",
    "scenarios/ping-flaky.ron",
    "scenarios/raft-flaky-network.ron",
    "scenarios/worker-crash-idempotent.ron",
    "scenarios/server-crash-sync-every.ron",
    "scenarios/article/s3-one-zone-lost.ron",
    "scenarios/ping-crash-restart.ron",
    "scenarios/kv-quorum-311.ron",
    "scenarios/kv-primary-backup-sync.ron",
    "scenarios/raft-leader-crash.ron",
    "scenarios/worker-crash-reliable.ron",
    "scenarios/queue-failover.ron",
    "scenarios/chat-partition-heal.ron",
];

/// Random runs checked: 400 (about 2 s in release; `RENDER_TRUTH_CASES` to change).
const CASES: u32 = 400;

/// What the cases held to the truth, so a run that checks nothing fails.
#[derive(Default, Debug)]
struct Seen {
    arrows: usize,
    lost_arrows: usize,
    labels: usize,
    duplicated: usize,
    crashed: usize,
    paused: usize,
    blocked: usize,
    timeline_rows: usize,
    windowed: usize,
    windowed_messages: usize,
    disk: usize,
}

thread_local! {
    static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::new(Seen::default());
}

fn count(f: impl FnOnce(&mut Seen)) {
    SEEN.with(|s| f(&mut s.borrow_mut()));
}

/// A node's status as the engine keeps it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Status {
    Up,
    Paused,
    Down,
}

/// What was true between two fault instants: each node's status and the directed pairs the
/// network blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    status: Vec<Status>,
    blocked: BTreeSet<(u32, u32)>,
}

/// The truth of a run, recomputed from its trace events alone.
struct Truth {
    /// The state from each fault instant on (after every fault of that instant), the first at 0.
    states: Vec<(SimTime, State)>,
    /// Every fault instant.
    instants: BTreeSet<SimTime>,
    /// Per message id: sender, receiver, send time, and the fate of every copy (time and loss
    /// reason; none for a copy still in flight at the end).
    messages: BTreeMap<u64, Sent>,
}

/// One message id's copies.
#[derive(Clone, Debug)]
struct Sent {
    from: NodeId,
    to: NodeId,
    sent: SimTime,
    copies: usize,
    fates: Vec<(SimTime, Option<DropReason>)>,
}

impl Truth {
    /// Replays the trace's faults as the engine applies them (a pause takes only an up node, a
    /// resume only a paused one, a crash any node not down, a restart only a down one; a
    /// partition or isolation replaces the groups, a cut adds one-way blocks, a heal clears
    /// both), and pairs each message copy with its fate.
    fn of(n: usize, events: &[TraceEvent]) -> Truth {
        let mut status = vec![Status::Up; n];
        let mut group = vec![0u32; n];
        let mut cuts: BTreeSet<(u32, u32)> = BTreeSet::new();
        let blocked = |group: &[u32], cuts: &BTreeSet<(u32, u32)>| {
            let mut b = cuts.clone();
            for a in 0..n {
                for c in 0..n {
                    if group[a] != group[c] {
                        b.insert((a as u32, c as u32));
                    }
                }
            }
            b
        };
        let mut states = vec![(
            SimTime(0),
            State {
                status: status.clone(),
                blocked: BTreeSet::new(),
            },
        )];
        let mut instants = BTreeSet::new();
        let mut messages: BTreeMap<u64, Sent> = BTreeMap::new();
        for ev in events {
            match &ev.kind {
                TraceKind::Fault { fault } => {
                    instants.insert(ev.time);
                    let partition = |group: &mut Vec<u32>, groups: &[Vec<NodeId>]| {
                        group.iter_mut().for_each(|g| *g = groups.len() as u32 + 1);
                        for (i, members) in groups.iter().enumerate() {
                            for m in members {
                                group[m.index()] = i as u32 + 1;
                            }
                        }
                    };
                    match fault {
                        Fault::Crash(x)
                        | Fault::Wipe(x)
                        | Fault::ProcessCrash(x)
                        | Fault::PowerLoss { node: x, .. } => status[x.index()] = Status::Down,
                        Fault::Restart(x) if status[x.index()] == Status::Down => {
                            status[x.index()] = Status::Up
                        }
                        Fault::Pause(x) if status[x.index()] == Status::Up => {
                            status[x.index()] = Status::Paused
                        }
                        Fault::Resume(x) if status[x.index()] == Status::Paused => {
                            status[x.index()] = Status::Up
                        }
                        Fault::Partition(groups) => partition(&mut group, groups),
                        Fault::Isolate(x) => partition(&mut group, &[vec![*x]]),
                        Fault::Cut { from, to } => {
                            for f in from {
                                for t in to {
                                    if f != t {
                                        cuts.insert((f.0, t.0));
                                    }
                                }
                            }
                        }
                        Fault::Heal => {
                            group.iter_mut().for_each(|g| *g = 0);
                            cuts.clear();
                        }
                        _ => {}
                    }
                    let state = State {
                        status: status.clone(),
                        blocked: blocked(&group, &cuts),
                    };
                    match states.last_mut() {
                        Some((t, s)) if *t == ev.time => *s = state,
                        _ => states.push((ev.time, state)),
                    }
                }
                TraceKind::Send { from, to, id, .. } => {
                    let old = messages.insert(
                        *id,
                        Sent {
                            from: *from,
                            to: *to,
                            sent: ev.time,
                            copies: 1,
                            fates: Vec::new(),
                        },
                    );
                    assert!(old.is_none(), "message id {id} sent twice");
                }
                TraceKind::Duplicate { id, .. } => {
                    if let Some(m) = messages.get_mut(id) {
                        m.copies += 1;
                    }
                }
                TraceKind::Deliver { id, .. } => {
                    if let Some(m) = messages.get_mut(id) {
                        m.fates.push((ev.time, None));
                    }
                }
                TraceKind::Drop { id, reason, .. } => {
                    if let Some(m) = messages.get_mut(id) {
                        m.fates.push((ev.time, Some(*reason)));
                    }
                }
                _ => {}
            }
        }
        Truth {
            states,
            instants,
            messages,
        }
    }

    /// What was true at `t` (after the faults of `t`).
    fn at(&self, t: SimTime) -> &State {
        &self
            .states
            .iter()
            .rev()
            .find(|(s, _)| *s <= t)
            .expect("a state from 0")
            .1
    }

    /// The instants where what was true may change, with `from`, within `win`.
    fn checkpoints(&self, win: Window) -> Vec<SimTime> {
        let mut out = vec![win.from];
        out.extend(self.instants.iter().copied().filter(|t| win.contains(*t)));
        out
    }
}

/// A fault period as a picture shows it: a node's (crash or pause) or the network's (its
/// blocked pairs), from `start` until before `end`.
#[derive(Clone, Debug)]
struct Drawn {
    kind: BandKind,
    node: Option<u32>,
    start: SimTime,
    end: SimTime,
    blocked: BTreeSet<(u32, u32)>,
}

/// The pairs a network band's sides block: a cut's first side to its second, else every pair
/// on different sides.
fn blocked_by(cut: bool, groups: &[Vec<u32>]) -> BTreeSet<(u32, u32)> {
    let mut b = BTreeSet::new();
    if cut {
        for f in groups.first().into_iter().flatten() {
            for t in groups.get(1).into_iter().flatten() {
                if f != t {
                    b.insert((*f, *t));
                }
            }
        }
        return b;
    }
    for (i, g) in groups.iter().enumerate() {
        for (j, h) in groups.iter().enumerate() {
            if i != j {
                for a in g {
                    for c in h {
                        b.insert((*a, *c));
                    }
                }
            }
        }
    }
    b
}

/// What the drawn bands say was true at `t`.
fn drawn_state(bands: &[Drawn], n: usize, t: SimTime) -> State {
    let mut status = vec![Status::Up; n];
    let mut blocked = BTreeSet::new();
    for b in bands.iter().filter(|b| b.start <= t && t < b.end) {
        match (b.kind, b.node) {
            (BandKind::Crash, Some(x)) => {
                status[x as usize] = if status[x as usize] == Status::Paused {
                    Status::Up // both drawn: a contradiction the comparison reports
                } else {
                    Status::Down
                }
            }
            (BandKind::Pause, Some(x)) => {
                status[x as usize] = if status[x as usize] == Status::Down {
                    Status::Up
                } else {
                    Status::Paused
                }
            }
            _ => blocked.extend(b.blocked.iter().copied()),
        }
    }
    State { status, blocked }
}

/// Holds bands (from the model or read back from the SVG) to the truth at every instant of
/// `win` where it may change, and every band edge to an instant where a fault was applied.
fn check_bands(
    what: &str,
    truth: &Truth,
    bands: &[Drawn],
    n: usize,
    win: Window,
    end: SimTime,
) -> Result<(), TestCaseError> {
    for b in bands {
        prop_assert!(
            truth.instants.contains(&b.start),
            "{what}: a band starts at {} where no fault was applied: {b:?}",
            b.start
        );
        prop_assert!(
            b.end == end || b.end == SimTime(u64::MAX) || truth.instants.contains(&b.end),
            "{what}: a band ends at {} where no fault was applied: {b:?}",
            b.end
        );
    }
    for t in truth.checkpoints(win) {
        let drawn = drawn_state(bands, n, t);
        let true_state = truth.at(t);
        count(|s| {
            s.crashed += true_state
                .status
                .iter()
                .filter(|x| **x == Status::Down)
                .count();
            s.paused += true_state
                .status
                .iter()
                .filter(|x| **x == Status::Paused)
                .count();
            s.blocked += true_state.blocked.len();
        });
        prop_assert_eq!(
            &drawn.status,
            &true_state.status,
            "{}: who is up, paused and down at {} (bands: {:?})",
            what,
            t,
            bands
        );
        prop_assert_eq!(
            &drawn.blocked,
            &true_state.blocked,
            "{}: the pairs the network blocks at {} (bands: {:?})",
            what,
            t,
            bands
        );
    }
    Ok(())
}

/// The model's bands as `Drawn`.
fn model_bands(model: &Model) -> Vec<Drawn> {
    model
        .bands
        .iter()
        .map(|b| {
            let groups: Vec<Vec<u32>> = b
                .groups
                .iter()
                .map(|g| g.iter().map(|x| x.0).collect())
                .collect();
            Drawn {
                kind: b.kind,
                node: b.node.map(|x| x.0),
                start: b.start,
                end: b.end.unwrap_or(SimTime(u64::MAX)),
                blocked: if b.kind == BandKind::Network {
                    blocked_by(b.text.starts_with("cut "), &groups)
                } else {
                    BTreeSet::new()
                },
            }
        })
        .collect()
}

/// Reads `1.234567s` (SimTime's display) back as nanoseconds.
fn parse_time(s: &str) -> SimTime {
    let s = s.trim().strip_suffix('s').expect("a time ends in s");
    let (secs, micros) = s.split_once('.').expect("seconds.micros");
    SimTime(secs.parse::<u64>().unwrap() * 1_000_000_000 + micros.parse::<u64>().unwrap() * 1_000)
}

/// A time as SimTime shows it (microseconds), for comparing with what a picture says.
fn shown(t: SimTime) -> SimTime {
    SimTime(t.0 / 1_000 * 1_000)
}

/// The SVG's lanes: node name to its y.
fn lanes(doc: &roxmltree::Document) -> BTreeMap<String, f64> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("lane"))
        .map(|n| {
            (
                n.attribute("data-node").unwrap().to_string(),
                n.attribute("y1").unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn title(node: roxmltree::Node) -> String {
    node.children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string()
}

fn num(node: roxmltree::Node, attr: &str) -> f64 {
    node.attribute(attr).unwrap().parse().unwrap()
}

/// The bands an SVG draws, read back from its rectangles: the lane each sits on, the times its
/// hover text gives, and for a network fault which side each lane is on.
fn svg_bands(doc: &roxmltree::Document, names: &[String], run_end: SimTime) -> Vec<Drawn> {
    let lanes = lanes(doc);
    let lane_at = |y: f64| -> u32 {
        let name = lanes
            .iter()
            .find(|(_, ly)| (**ly - y).abs() < 0.2)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| panic!("a band at y {y} on no lane"));
        names.iter().position(|n| *n == name).unwrap() as u32
    };
    // Network bands: (text, start, end) -> side letter -> nodes.
    type Sides = BTreeMap<char, Vec<u32>>;
    let mut network: BTreeMap<(String, SimTime, SimTime), Sides> = BTreeMap::new();
    let mut out = Vec::new();
    for r in doc.descendants().filter(|n| {
        n.has_tag_name("rect")
            && n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|w| w == "band"))
    }) {
        let class = r.attribute("class").unwrap();
        let lane = lane_at(num(r, "y") + 35.0);
        let t = title(r);
        let (text, rest) = t.rsplit_once(" from ").expect("from in a band's title");
        let (start, rest) = rest.split_once(" to ").expect("to in a band's title");
        let (start, end) = (parse_time(start), rest.split(' ').next().unwrap());
        // A band still in force is drawn to the run's end.
        let end = match parse_time(end) {
            e if e == shown(run_end) => SimTime(u64::MAX),
            e => e,
        };
        if class.contains("side") {
            let letter = t
                .rsplit_once("(side ")
                .and_then(|(_, l)| l.chars().next())
                .expect("a side letter");
            network
                .entry((text.to_string(), start, end))
                .or_default()
                .entry(letter)
                .or_default()
                .push(lane);
        } else {
            let kind = if class.contains("crash") {
                BandKind::Crash
            } else {
                BandKind::Pause
            };
            out.push(Drawn {
                kind,
                node: Some(lane),
                start,
                end,
                blocked: BTreeSet::new(),
            });
        }
    }
    for ((text, start, end), sides) in network {
        let groups: Vec<Vec<u32>> = sides.into_values().collect();
        out.push(Drawn {
            kind: BandKind::Network,
            node: None,
            start,
            end,
            blocked: blocked_by(text.starts_with("cut "), &groups),
        });
    }
    out
}

/// One message line of an SVG: id, class, from, to, sent and end as its hover text says, and
/// its ends' lanes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Arrow {
    id: u64,
    class: String,
    from: String,
    to: String,
    sent: SimTime,
    end: SimTime,
}

/// Holds the terminal timeline over `win` to the truth: each row's lanes (`|` up, `:` down,
/// `.` paused, where no mark covers them) say what was true at its time, and its message rows
/// are the copies delivered or lost in the window, each once.
fn check_timeline(
    model: &Model,
    truth: &Truth,
    names: &[String],
    win: Window,
) -> Result<(), TestCaseError> {
    use clustersim::render::timeline::{self, TimelineOptions};
    let opts = TimelineOptions::default()
        .from(Some(win.from))
        .to(Some(win.to));
    let text = timeline::render(model, &opts);
    let n = names.len();
    let width = n * 12;
    let mut rows = text
        .lines()
        .skip_while(|l| !(l.starts_with(' ') && l.trim_start().starts_with("time ")));
    rows.next();
    let mut got = Vec::new();
    for line in rows {
        let Some(art) = line.get(12..12 + width) else {
            continue; // the closing count
        };
        let stamp = line[..11].trim();
        if !(stamp.ends_with('s') && stamp.contains('.')) {
            prop_assert!(
                stamp.is_empty(),
                "timeline: a row with no time: {line}\n{text}"
            );
            continue; // a continuation line
        }
        let t = parse_time(stamp);
        count(|s| s.timeline_rows += 1);
        let row_text = &line[12 + width + 2..];
        if !row_text.starts_with("FAULT ") {
            // A row's time is shown to the microsecond: a fault in the same microsecond may
            // come before or after it.
            let mut possible = vec![truth.at(SimTime(t.0.saturating_sub(1)))];
            possible.extend(
                truth
                    .states
                    .iter()
                    .filter(|(s, _)| *s == t)
                    .map(|(_, st)| st),
            );
            for (i, name) in names.iter().enumerate() {
                let glyph = art.as_bytes()[i * 12 + 6];
                let drawn = match glyph {
                    b'|' => Status::Up,
                    b':' => Status::Down,
                    b'.' => Status::Paused,
                    _ => continue,
                };
                prop_assert!(
                    possible.iter().any(|st| st.status[i] == drawn),
                    "timeline: {name}'s lane at {t} drawn {drawn:?}, was {:?}: {line}",
                    possible.last().map(|st| st.status[i])
                );
            }
        }
        if let Some((_, rest)) = row_text
            .split_once(" #")
            .filter(|_| row_text.contains(" -> "))
        {
            let id: u64 = rest.split(' ').next().unwrap().parse().unwrap();
            got.push((id, t, row_text.contains(" DROPPED: ")));
        }
    }
    let mut want = Vec::new();
    for (id, sent) in &truth.messages {
        for (e, lost) in &sent.fates {
            if win.contains(*e) {
                want.push((*id, shown(*e), lost.is_some()));
            }
        }
    }
    got.sort();
    want.sort();
    prop_assert_eq!(got, want, "timeline: the messages that landed in {:?}", win);
    Ok(())
}

/// Runs one case: the scenario with `extra` faults and `seed`, its picture over `win` (or the
/// whole run), then the same run with a windowed trace when `traced` is set.
fn one_case(
    base: &Scenario,
    extra: Vec<clustersim::fault::ScheduledFault>,
    seed: u64,
    span: (u32, u32),
    traced: Option<(u32, u32, usize)>,
) -> Result<(), TestCaseError> {
    let mut scenario = base.clone();
    scenario.seed = seed;
    // An undo drawn past the run's end is left out, as the scenario would refuse it.
    let max_time = scenario.bounds.max_time;
    scenario
        .faults
        .extend(extra.into_iter().filter(|f| f.at < max_time));
    scenario.faults.sort_by_key(|f| f.at);
    let registry = Registry::shipped();
    let opts = RunOptions::default().trace(TraceLevel::Full);
    let report = run_scenario(&registry, &scenario, &scenario.name, &opts)
        .map_err(|e| TestCaseError::fail(format!("run: {e}")))?;
    let names = report.outcome.roster.names().to_vec();
    let n = names.len();
    let events = report.outcome.trace.events();
    let truth = Truth::of(n, events);
    let model = Model::of_run(&report.outcome, &report.verdicts);
    let end = model.end;
    let whole = Window {
        from: SimTime(0),
        to: end,
    };

    // The model: bands and messages.
    check_bands("model", &truth, &model_bands(&model), n, whole, end)?;
    let mut by_id: BTreeMap<u64, Vec<&clustersim::render::model::Message>> = BTreeMap::new();
    for m in &model.messages {
        by_id.entry(m.id).or_default().push(m);
    }
    for (id, sent) in &truth.messages {
        let drawn = by_id.remove(id).unwrap_or_default();
        prop_assert_eq!(drawn.len(), sent.copies, "copies of message {}", id);
        for m in &drawn {
            prop_assert_eq!((m.from, m.to, m.sent), (sent.from, sent.to, sent.sent));
        }
        let mut want: Vec<Option<(SimTime, Option<DropReason>)>> =
            sent.fates.iter().copied().map(Some).collect();
        want.resize(sent.copies.max(want.len()), None);
        let mut got: Vec<Option<(SimTime, Option<DropReason>)>> = drawn
            .iter()
            .map(|m| m.end.map(|e| (e, m.dropped)))
            .collect();
        want.sort_by_key(|f| format!("{f:?}"));
        got.sort_by_key(|f| format!("{f:?}"));
        prop_assert_eq!(got, want, "the fates of message {}'s copies", id);
    }
    prop_assert!(
        by_id.is_empty(),
        "messages drawn that were never sent: {:?}",
        by_id.keys().collect::<Vec<_>>()
    );

    // The SVG over a window: read back bands and arrows.
    let (a, b) = (u64::from(span.0.min(span.1)), u64::from(span.0.max(span.1)));
    let win = if a == b {
        whole
    } else {
        Window {
            from: SimTime(end.0 / 1000 * a),
            to: SimTime(end.0 / 1000 * b),
        }
    };
    let text = svg::render(&model, Some(win));
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| TestCaseError::fail(format!("SVG is not XML: {e}")))?;
    let drawn = svg_bands(&doc, &names, end);
    let shown_truth = Truth {
        states: truth
            .states
            .iter()
            .map(|(t, st)| (shown(*t), st.clone()))
            .collect(),
        instants: truth.instants.iter().map(|t| shown(*t)).collect(),
        messages: truth.messages.clone(),
    };
    check_bands("svg", &shown_truth, &drawn, n, win, shown(end))?;
    let lane_y = lanes(&doc);
    let mut arrows = Vec::new();
    // Where each arrow's label would sit, and its message's text.
    let mut midpoints: Vec<(f64, f64, String)> = Vec::new();
    for line in doc.descendants().filter(|x| {
        x.has_tag_name("line")
            && x.attribute("class")
                .is_some_and(|c| c.split(' ').next() == Some("msg"))
    }) {
        let t = title(line);
        let (from, rest) = t
            .split_once(" -> ")
            .expect("an arrow's title names its ends");
        let (to, rest) = rest.split_once(" #").expect("and its id");
        let (rest, end_text) = rest.rsplit_once(" at ").expect("and its end");
        let (rest, what) = rest.rsplit_once(", ").expect("and what became of it");
        let (id_and_text, sent_text) = rest.rsplit_once(": sent ").expect("and its send");
        let message_text = id_and_text.split_once(' ').map_or("", |(_, m)| m);
        let class = line.attribute("class").unwrap().to_string();
        let fate_class = match what {
            "delivered" => "msg",
            "in flight at the end" => "msg inflight",
            _ => "msg dropped",
        };
        prop_assert_eq!(class.as_str(), fate_class, "{}", t);
        let (y1, y2) = (num(line, "y1"), num(line, "y2"));
        prop_assert!(
            (y1 - lane_y[from]).abs() < 0.2,
            "{t}: starts off its sender's lane"
        );
        if class == "msg dropped" {
            let nearest = lane_y
                .iter()
                .min_by(|p, q| (p.1 - y2).abs().total_cmp(&(q.1 - y2).abs()))
                .unwrap();
            prop_assert_eq!(
                nearest.0,
                from,
                "{}: a lost message's mark nears another lane",
                t
            );
        } else {
            prop_assert!(
                (y2 - lane_y[to]).abs() < 0.2,
                "{t}: ends off its receiver's lane"
            );
        }
        let (x1, x2) = (num(line, "x1"), num(line, "x2"));
        midpoints.push((
            (x1 + x2) / 2.0 + 3.0,
            (y1 + y2) / 2.0 - 3.0,
            message_text.to_string(),
        ));
        arrows.push(Arrow {
            id: line.attribute("data-id").unwrap().parse().unwrap(),
            class,
            from: from.to_string(),
            to: to.to_string(),
            sent: parse_time(sent_text),
            end: parse_time(end_text),
        });
    }
    // Every message label sits at the middle of an arrow whose message it names (whole, or
    // its type followed by `...`).
    for label in doc
        .descendants()
        .filter(|x| x.attribute("class") == Some("msg-label"))
    {
        let (x, y) = (num(label, "x"), num(label, "y"));
        let text = label.text().unwrap_or_default();
        let named = |m: &str| {
            text == m
                || text
                    .strip_suffix("...")
                    .is_some_and(|head| head == svg::message_type(m) && m.len() > head.len())
        };
        prop_assert!(
            midpoints
                .iter()
                .any(|(mx, my, m)| (mx - x).abs() < 0.15 && (my - y).abs() < 0.15 && named(m)),
            "svg: the label {text:?} at ({x}, {y}) names no arrow there"
        );
        count(|s| s.labels += 1);
    }
    let mut want = Vec::new();
    for (id, sent) in &truth.messages {
        for i in 0..sent.copies {
            let (e, class) = match sent.fates.get(i) {
                Some((e, None)) => (*e, "msg"),
                Some((e, Some(_))) => (*e, "msg dropped"),
                None => (end, "msg inflight"),
            };
            if win.overlaps(sent.sent, e) {
                want.push(Arrow {
                    id: *id,
                    class: class.to_string(),
                    from: names[sent.from.index()].clone(),
                    to: names[sent.to.index()].clone(),
                    sent: shown(sent.sent),
                    end: shown(e),
                });
            }
        }
    }
    arrows.sort();
    want.sort();
    count(|s| {
        s.arrows += arrows.len();
        s.lost_arrows += arrows.iter().filter(|a| a.class == "msg dropped").count();
        s.duplicated += truth.messages.values().filter(|m| m.copies > 1).count();
    });
    prop_assert_eq!(arrows.len(), want.len(), "arrows drawn over {:?}", win);
    prop_assert!(
        arrows == want,
        "the SVG's arrows over {:?} are not the trace's",
        win
    );

    check_timeline(&model, &shown_truth, &names, win)?;
    check_disk_marks(&doc, events, &names, win)?;

    // A windowed trace, as pictures of long runs keep: every message it draws is true (its
    // fate even when after the window), every message sent while it kept events or in flight
    // when the window opened is drawn, and its bands are as true as the whole trace's.
    if let Some((f, t, max)) = traced {
        let (f, t) = (u64::from(f.min(t)), u64::from(f.max(t)));
        let (from, to) = (SimTime(end.0 / 1000 * f), SimTime(end.0 / 1000 * t));
        let opts = RunOptions::default().trace(TraceLevel::Window {
            from,
            to,
            max_events: max,
        });
        let part = run_scenario(&registry, &scenario, &scenario.name, &opts)
            .map_err(|e| TestCaseError::fail(format!("run: {e}")))?;
        prop_assert_eq!(part.outcome.trace_hash(), report.outcome.trace_hash());
        let pmodel = Model::of_run(&part.outcome, &part.verdicts);
        count(|s| {
            s.windowed += 1;
            s.windowed_messages += pmodel.messages.len();
        });
        check_bands(
            "windowed model",
            &truth,
            &model_bands(&pmodel),
            n,
            whole,
            end,
        )?;
        let kept_until = part.outcome.trace.kept_until().unwrap_or(from);
        let mut by_id: BTreeMap<u64, Vec<&clustersim::render::model::Message>> = BTreeMap::new();
        for m in &pmodel.messages {
            by_id.entry(m.id).or_default().push(m);
        }
        for (id, sent) in &truth.messages {
            let drawn = by_id.remove(id).unwrap_or_default();
            // Drawn: a message sent while the trace kept events, or one still in flight
            // when the window opened (its arrow crosses into the window).
            let in_flight_at_from = sent.sent < from
                && (sent.fates.len() < sent.copies || sent.fates.iter().any(|f| f.0 >= from));
            // One that lands after the window opened surely is (a copy never landing is
            // drawn if anything happened after the window opened).
            let lands_after = sent.sent < from && sent.fates.iter().any(|f| f.0 >= from);
            let sent_in_span = part.outcome.trace.kept_until().is_some()
                && from <= sent.sent
                && sent.sent <= kept_until;
            let kept = sent_in_span || in_flight_at_from;
            if drawn.is_empty() {
                prop_assert!(
                    !(sent_in_span || lands_after) || sent.sent == kept_until,
                    "message {id} sent at {} with fates {:?} is in the kept span {from} .. {kept_until} but not drawn",
                    sent.sent,
                    sent.fates
                );
                continue;
            }
            prop_assert!(kept, "message {id} drawn though sent at {}", sent.sent);
            // Of a message sent before the window, the copies that landed before it are gone.
            let gone = sent.fates.iter().filter(|f| f.0 < from).count();
            let copies = sent.copies - gone;
            prop_assert_eq!(drawn.len(), copies, "copies of message {}", id);
            let mut want: Vec<Option<(SimTime, Option<DropReason>)>> = sent
                .fates
                .iter()
                .filter(|f| f.0 >= from)
                .copied()
                .map(Some)
                .collect();
            want.resize(copies.max(want.len()), None);
            let mut got: Vec<Option<(SimTime, Option<DropReason>)>> = drawn
                .iter()
                .map(|m| m.end.map(|e| (e, m.dropped)))
                .collect();
            want.sort_by_key(|f| format!("{f:?}"));
            got.sort_by_key(|f| format!("{f:?}"));
            prop_assert_eq!(got, want, "windowed: the fates of message {}'s copies", id);
        }
    }
    Ok(())
}

/// The SVG's disk marks are the trace's disk faults (a crash aside: that is a band) and the
/// disks' own `disk:` notes (one at the instant and node of an applied fault says what that
/// fault did, and is not drawn again), each on its node's lane, none left out of the window.
fn check_disk_marks(
    doc: &roxmltree::Document,
    events: &[TraceEvent],
    names: &[String],
    win: Window,
) -> Result<(), TestCaseError> {
    let mut applied: BTreeSet<(SimTime, NodeId)> = BTreeSet::new();
    let mut want: Vec<(String, SimTime)> = Vec::new();
    for e in events {
        match &e.kind {
            TraceKind::Fault { fault } if fault.downed_node().is_none() => {
                if let Some(n) = fault.storage_node() {
                    applied.insert((e.time, *n));
                    want.push((names[n.index()].clone(), e.time));
                }
            }
            TraceKind::Note { node, text }
                if text.starts_with("disk: ") && !applied.contains(&(e.time, *node)) =>
            {
                want.push((names[node.index()].clone(), e.time));
            }
            _ => {}
        }
    }
    let mut want: Vec<(String, SimTime)> = want
        .into_iter()
        .filter(|(_, t)| win.contains(*t))
        .map(|(n, t)| (n, shown(t)))
        .collect();
    let lane_y = lanes(doc);
    let mut got = Vec::new();
    for mark in doc
        .descendants()
        .filter(|x| x.attribute("class") == Some("disk") && x.has_tag_name("path"))
    {
        let t = title(mark);
        let (node, rest) = t
            .split_once(" disk at ")
            .expect("a disk mark names its node");
        let (at, _) = rest.split_once(": ").expect("and its time");
        let top: f64 = mark
            .attribute("d")
            .and_then(|d| d.split(' ').nth(1))
            .and_then(|y| y.parse().ok())
            .expect("a disk mark's top");
        prop_assert!(
            (top - lane_y[node] - 7.0).abs() < 0.2,
            "{t}: off its node's lane"
        );
        got.push((node.to_string(), parse_time(at)));
    }
    want.sort();
    got.sort();
    count(|s| s.disk += got.len());
    prop_assert_eq!(got, want, "the SVG's disk marks over {:?}", win);
    Ok(())
}

#[test]
fn every_band_mark_and_arrow_agrees_with_the_trace() {
    let bases: Vec<Scenario> = SCENARIOS
        .iter()
        .map(|f| {
            clustersim::scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(f))
                .expect("bundled scenario loads")
        })
        .collect();
    let configs: Vec<FaultConfig> = bases
        .iter()
        .map(|s| {
            let half = Duration(s.bounds.max_time.0 / 2);
            FaultConfig::for_scenario(s)
                .expect("config")
                .kinds(vec![
                    NemesisKind::Crash,
                    NemesisKind::ProcessCrash,
                    NemesisKind::PowerLoss,
                    NemesisKind::ClockSkew,
                    NemesisKind::Pause,
                    NemesisKind::Isolate,
                    NemesisKind::Cut,
                    NemesisKind::Partition,
                    NemesisKind::Corrupt,
                    NemesisKind::Unreadable,
                    NemesisKind::SyncFail,
                    NemesisKind::DiskFull,
                ])
                .start(Duration::ZERO)
                .horizon(Duration(s.bounds.max_time.0 * 9 / 10))
                .max_faults(6)
                .min_duration(Duration::from_millis(1))
                .max_duration(half)
        })
        .collect();
    let cases = std::env::var("RENDER_TRUTH_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[37; 32]));
    let case = (0..SCENARIOS.len()).prop_flat_map(move |i| {
        (
            Just(i),
            fault_schedule(&configs[i]),
            0u64..1_000_000,
            (0u32..=1000, 0u32..=1000),
            proptest::option::weighted(0.3, (0u32..=1000, 0u32..=1000, 50usize..5000)),
        )
    });
    let result = runner.run(&case, |(i, faults, seed, span, traced)| {
        one_case(&bases[i], faults, seed, span, traced)
            .map_err(|e| TestCaseError::fail(format!("{} seed {seed}: {e}", SCENARIOS[i])))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
    println!("held to the trace over {cases} runs: {seen:?}");
    // Every kind of mark was met, so the checks above compared something.
    let per_case = cases as usize;
    assert!(seen.arrows > 100 * per_case, "{seen:?}");
    assert!(seen.lost_arrows > per_case, "{seen:?}");
    assert!(seen.labels > per_case, "{seen:?}");
    assert!(seen.duplicated > 0, "{seen:?}");
    assert!(
        seen.crashed > per_case && seen.paused > per_case / 4,
        "{seen:?}"
    );
    assert!(seen.blocked > per_case, "{seen:?}");
    assert!(seen.disk > per_case / 4, "{seen:?}");
    assert!(seen.timeline_rows > 100 * per_case, "{seen:?}");
    assert!(
        seen.windowed > per_case / 5 && seen.windowed_messages > per_case,
        "{seen:?}"
    );
}
