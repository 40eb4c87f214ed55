//! The interactive page: a space-time diagram with real zoom and pan, filters, a legend, node
//! state, pending events, checks and history beside it. One script serves both uses: a
//! recorded run (`--html`, data embedded, stepped through in the page) and the live debugger
//! (`clustersim debug`, data fetched from the local server after every action).

use super::model::{xml_escape, Band, DiskMark, Message, Model, OpBar, Window};
use crate::history::Phase;
use crate::node::NodeId;
use crate::time::SimTime;
use serde::Serialize;

const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// A message copy as the page draws it (times in nanoseconds).
#[derive(Serialize)]
pub struct SceneMessage<'a> {
    from: u32,
    to: u32,
    sent: u64,
    end: Option<u64>,
    dropped: Option<String>,
    text: &'a str,
}

impl<'a> SceneMessage<'a> {
    /// The page's form of a model's message.
    pub fn of(m: &'a Message) -> SceneMessage<'a> {
        SceneMessage {
            from: m.from.0,
            to: m.to.0,
            sent: m.sent.0,
            end: m.end.map(|t| t.0),
            dropped: m.dropped.map(|r| r.label().to_string()),
            text: &m.text,
        }
    }
}

/// A fault period as the page draws it.
#[derive(Serialize)]
pub struct SceneBand<'a> {
    kind: &'static str,
    node: Option<u32>,
    start: u64,
    end: Option<u64>,
    text: &'a str,
    groups: Vec<Vec<u32>>,
}

impl<'a> SceneBand<'a> {
    /// The page's form of a model's band.
    pub fn of(b: &'a Band) -> SceneBand<'a> {
        SceneBand {
            kind: b.kind.label(),
            node: b.node.map(|n| n.0),
            start: b.start.0,
            end: b.end.map(|t| t.0),
            text: &b.text,
            groups: b
                .groups
                .iter()
                .map(|g| g.iter().map(|n| n.0).collect())
                .collect(),
        }
    }
}

/// A client operation or system event as the page draws it.
#[derive(Serialize)]
pub struct SceneOp<'a> {
    node: u32,
    start: u64,
    end: Option<u64>,
    outcome: &'static str,
    text: &'a str,
    culprit: bool,
}

impl<'a> SceneOp<'a> {
    /// The page's form of a model's operation.
    pub fn of(o: &'a OpBar) -> SceneOp<'a> {
        SceneOp {
            node: o.node.0,
            start: o.start.0,
            end: o.end.map(|t| t.0),
            outcome: match o.outcome {
                Phase::Ok => "ok",
                Phase::Fail => "fail",
                Phase::Info => "info",
                Phase::Event => "event",
                Phase::Invoke => "pending",
            },
            text: &o.text,
            culprit: o.culprit,
        }
    }
}

/// A node's note as the page draws it: time, node, text.
pub fn scene_note(n: &(SimTime, NodeId, String)) -> (u64, u32, &str) {
    (n.0 .0, n.1 .0, n.2.as_str())
}

/// A disk mark as the page draws it: time, node, text.
pub fn scene_disk(d: &DiskMark) -> (u64, u32, &str) {
    (d.time.0, d.node.0, d.text.as_str())
}

/// How a scene's lists are sent: each whole, or as what changed since the page's copy.
pub trait ListForm {
    /// One list of `T` in this form.
    type List<T: Serialize>: Serialize;
}

/// Every list whole: a recorded page, the debugger's first answer.
pub struct Whole;

impl ListForm for Whole {
    type List<T: Serialize> = Vec<T>;
}

/// Each list as what changed: the debugger's answers after the first.
pub struct Changes;

impl ListForm for Changes {
    type List<T: Serialize> = ListDelta<T>;
}

/// A list the page holds, brought up to date: its new length and the items that differ from
/// the page's (changed, or past its old end).
#[derive(Serialize)]
pub struct ListDelta<T> {
    /// The list's length now.
    pub n: usize,
    /// Each item that differs from the page's, with its index.
    pub at: Vec<(usize, T)>,
}

impl<T> ListDelta<T> {
    /// The change from `old` to `new`, each differing item given by `view`.
    pub fn between<'a, M: PartialEq>(
        old: &[M],
        new: &'a [M],
        view: impl Fn(&'a M) -> T,
    ) -> ListDelta<T> {
        ListDelta {
            n: new.len(),
            at: new
                .iter()
                .enumerate()
                .filter(|(i, item)| old.get(*i) != Some(*item))
                .map(|(i, item)| (i, view(item)))
                .collect(),
        }
    }
}

/// The diagram's lists and marks, whole (`Whole`) or as changes (`Changes`): one type for the
/// scene and the debugger's delta, so the two cannot drift apart.
#[derive(Serialize)]
#[serde(bound = "")]
pub struct SceneLists<'a, F: ListForm> {
    /// Message copies.
    pub messages: F::List<SceneMessage<'a>>,
    /// Fault periods.
    pub bands: F::List<SceneBand<'a>>,
    /// Client operations and system events.
    pub ops: F::List<SceneOp<'a>>,
    /// Nodes' notes: time, node, text.
    pub notes: F::List<(u64, u32, &'a str)>,
    /// Disk marks: time, node, text.
    pub disk: F::List<(u64, u32, &'a str)>,
    /// The failing checks, in words.
    pub failures: &'a [String],
    /// The window that explains the first failure.
    pub focus: Option<(u64, u64)>,
    /// The run's end (ns).
    pub end: u64,
}

impl<'a, F: ListForm> SceneLists<'a, F> {
    /// The lists in form `F`, given as that form makes them, with the model's marks.
    pub fn with(
        model: &'a Model,
        messages: F::List<SceneMessage<'a>>,
        bands: F::List<SceneBand<'a>>,
        ops: F::List<SceneOp<'a>>,
        notes: F::List<(u64, u32, &'a str)>,
        disk: F::List<(u64, u32, &'a str)>,
    ) -> SceneLists<'a, F> {
        SceneLists {
            messages,
            bands,
            ops,
            notes,
            disk,
            failures: &model.failures,
            focus: model.focus.map(|w| (w.from.0, w.to.0)),
            end: model.end.0,
        }
    }
}

/// Everything the page draws of one run: names and roles, which never change, and the lists.
#[derive(Serialize)]
pub struct Scene<'a> {
    names: &'a [String],
    roles: &'a [String],
    #[serde(flatten)]
    lists: SceneLists<'a, Whole>,
}

impl<'a> Scene<'a> {
    /// The scene of a model.
    pub fn of(model: &'a Model) -> Scene<'a> {
        Scene {
            names: &model.names,
            roles: &model.roles,
            lists: SceneLists::with(
                model,
                model.messages.iter().map(SceneMessage::of).collect(),
                model.bands.iter().map(SceneBand::of).collect(),
                model.ops.iter().map(SceneOp::of).collect(),
                model.notes.iter().map(scene_note).collect(),
                model.disk.iter().map(scene_disk).collect(),
            ),
        }
    }
}

/// JSON that is also safe inside an HTML or XML element (no `<`, `>` or `&` left raw).
pub fn safe_json<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page around `data` (a JSON object with `live` and, for a recording, `scene`), with
/// `figures` (SVG of counterexamples) under the diagram.
pub fn page(title: &str, data: &str, figures: &str) -> String {
    let mut o = String::with_capacity(data.len() + SCRIPT.len() + STYLE.len() + 2048);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    o.push_str(&format!("<title>{}</title>\n", xml_escape(title)));
    o.push_str("<style>");
    o.push_str(STYLE);
    o.push_str("</style>\n</head>\n<body>\n");
    o.push_str(&format!(
        "<header><h1 id=\"title\">{}</h1><div id=\"failures\"></div><div id=\"toolbar\"></div></header>\n",
        xml_escape(title)
    ));
    o.push_str(
        "<main><section id=\"diagram\"><div id=\"filters\"></div><svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\
<div id=\"legend\"></div><div id=\"figures\">{FIGURES}</div></section>\
<aside id=\"side\"><h2 id=\"tree-title\" hidden=\"hidden\">Explored</h2><div id=\"tree\" hidden=\"hidden\"></div><h2>Nodes</h2><div id=\"nodes\"></div><h2 id=\"pending-title\">Pending</h2><ol id=\"pending\"></ol>\
<h2>Checks</h2><ul id=\"checks\"></ul><h2>History</h2><ol id=\"history\"></ol></aside></main>\n\
<div id=\"tip\"></div>\n"
            .replace("{FIGURES}", figures)
            .as_str(),
    );
    o.push_str("<script type=\"application/json\" id=\"data\">");
    o.push_str(data);
    o.push_str("</script>\n<script>//<![CDATA[\n");
    o.push_str(SCRIPT);
    o.push_str("\n//]]></script>\n</body>\n</html>\n");
    o
}

/// The page of a recorded run: every event in the page, stepped through without an engine.
/// It opens on `span` if given, else on the failure's window, else on the whole run.
pub fn recorded(model: &Model, span: Option<Window>, title: &str, figures: &str) -> String {
    #[derive(Serialize)]
    struct Data<'a> {
        live: bool,
        span: Option<(u64, u64)>,
        scene: Scene<'a>,
    }
    let data = safe_json(&Data {
        live: false,
        span: span.map(|w| (w.from.0, w.to.0)),
        scene: Scene::of(model),
    });
    page(title, &data, figures)
}
