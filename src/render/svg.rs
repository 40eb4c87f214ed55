//! The standalone SVG space-time diagram: one horizontal lane per node, time going right,
//! message arrows, fault bands, operation bars coloured by result, the counterexample outlined.
//! Every drawn element carries a `<title>` (hover text) and a class the HTML page and tests use.

use super::model::{xml_escape, Model, Window};
use crate::history::Phase;
use crate::time::SimTime;
use std::fmt::Write as _;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const LANE: f64 = 70.0;

const STYLE: &str = "
.lane{stroke:#444;stroke-width:1.5}
.lane-label{font:bold 13px sans-serif;fill:#222}
.axis{font:11px sans-serif;fill:#555}
.tick{stroke:#ddd;stroke-width:1}
.msg{stroke:#3b6fb6;stroke-width:1;opacity:.55}
.msg.dropped{stroke:#d62728;stroke-dasharray:3 2;opacity:.9}
.msg.inflight{stroke:#999;stroke-dasharray:1 3}
.band.crash{fill:#d62728;opacity:.18}
.band.pause{fill:#ff7f0e;opacity:.18}
.band.partition{fill:#9467bd;opacity:.15}
.op.ok{fill:#2ca02c}
.op.fail{fill:#d62728}
.op.info{fill:#ffbf00}
.op.event{fill:#17becf}
.culprit{stroke:#000;stroke-width:2.5}
.window{fill:none;stroke:#d62728;stroke-width:2;stroke-dasharray:6 3}
.title{font:bold 14px sans-serif}
";

/// Maps times and lanes to picture coordinates.
pub struct Layout {
    win: Window,
    /// Number of lanes.
    pub lanes: usize,
}

impl Layout {
    /// The layout for a model over a window.
    pub fn new(model: &Model, win: Window) -> Layout {
        Layout {
            win,
            lanes: model.names.len(),
        }
    }

    /// Horizontal position of an instant (clamped to the window).
    pub fn x(&self, t: SimTime) -> f64 {
        let span = (self.win.to.0.saturating_sub(self.win.from.0)).max(1) as f64;
        let t = t.clamp(self.win.from, self.win.to);
        LEFT + (t.0 - self.win.from.0) as f64 / span * (WIDTH - LEFT - RIGHT)
    }

    /// Vertical position of a node's lane.
    pub fn y(&self, lane: usize) -> f64 {
        TOP + LANE * (lane as f64 + 0.5)
    }

    /// Picture height.
    pub fn height(&self) -> f64 {
        TOP + LANE * self.lanes as f64 + 30.0
    }
}

/// Draws the whole run (or `win`) as a standalone SVG document.
pub fn render(model: &Model, win: Option<Window>) -> String {
    let win = win.unwrap_or(Window {
        from: SimTime(0),
        to: model.end,
    });
    let l = Layout::new(model, win);
    let h = l.height();
    let mut o = String::with_capacity(256 + 200 * model.messages.len());
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h:.0}" viewBox="0 0 {WIDTH} {h:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(o, "<style>{STYLE}</style>");
    let _ = writeln!(
        o,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{h:.0}" fill="white"/>"#
    );
    let title = if model.failures.is_empty() {
        "all checks passed".to_string()
    } else {
        model.failures.join("; ")
    };
    let _ = writeln!(
        o,
        r#"<text class="title" x="10" y="20">{} .. {}: {}</text>"#,
        win.from,
        win.to,
        xml_escape(&title)
    );
    // Ten time ticks.
    for i in 0..=10u64 {
        let t = SimTime(win.from.0 + (win.to.0.saturating_sub(win.from.0)) * i / 10);
        let x = l.x(t);
        // The last label ends at its tick so it is not cut off at the right edge.
        let anchor = if i == 10 { "end" } else { "middle" };
        let _ = writeln!(
            o,
            r#"<line class="tick" x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}"/><text class="axis" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{t}</text>"#,
            h - 30.0,
            TOP - 6.0
        );
    }
    for b in &model.bands {
        let end = b.end.unwrap_or(model.end);
        if !win.overlaps(b.start, end) {
            continue;
        }
        let (x1, x2) = (l.x(b.start), l.x(end));
        let (y, hh) = match b.node {
            Some(n) => (l.y(n.index()) - LANE / 2.0, LANE),
            None => (TOP, LANE * l.lanes as f64),
        };
        let _ = writeln!(
            o,
            r#"<rect class="band {}" x="{x1:.1}" y="{y:.1}" width="{:.1}" height="{hh:.1}"><title>{} from {} to {}</title></rect>"#,
            b.kind.label(),
            (x2 - x1).max(1.0),
            xml_escape(&b.text),
            b.start,
            end
        );
    }
    for (i, name) in model.names.iter().enumerate() {
        let y = l.y(i);
        let _ = writeln!(
            o,
            r#"<line class="lane" data-node="{n}" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="lane-label" x="8" y="{:.1}">{n}</text>"#,
            WIDTH - RIGHT,
            y + 4.0,
            n = xml_escape(name)
        );
    }
    if let Some(f) = model.focus.filter(|f| win.overlaps(f.from, f.to)) {
        let (x1, x2) = (l.x(f.from), l.x(f.to));
        let _ = writeln!(
            o,
            r#"<rect class="window" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>failure window {} .. {}</title></rect>"#,
            x1 - 3.0,
            TOP - 2.0,
            (x2 - x1) + 6.0,
            LANE * l.lanes as f64 + 4.0,
            f.from,
            f.to
        );
    }
    for m in &model.messages {
        let end = m.end.unwrap_or(model.end);
        if !win.overlaps(m.sent, end) {
            continue;
        }
        let class = match (m.end, m.dropped) {
            (None, _) => "msg inflight",
            (_, Some(_)) => "msg dropped",
            _ => "msg",
        };
        // A dropped message stops halfway: it never reached its lane.
        let (y1, y2full) = (l.y(m.from.index()), l.y(m.to.index()));
        let y2 = if m.dropped.is_some() {
            (y1 + y2full) / 2.0
        } else {
            y2full
        };
        let what = match m.dropped {
            Some(r) => format!("dropped ({})", r.label()),
            None if m.end.is_some() => "delivered".to_string(),
            None => "in flight at the end".to_string(),
        };
        let _ = writeln!(
            o,
            r#"<line class="{class}" data-id="{}" x1="{:.1}" y1="{y1:.1}" x2="{:.1}" y2="{y2:.1}"><title>{} -&gt; {} #{} {}: sent {}, {} at {}</title></line>"#,
            m.id,
            l.x(m.sent),
            l.x(end),
            xml_escape(model.name(m.from)),
            xml_escape(model.name(m.to)),
            m.id,
            xml_escape(&m.text),
            m.sent,
            what,
            end
        );
    }
    for op in &model.ops {
        let end = op.end.unwrap_or(model.end);
        if !win.overlaps(op.start, end) {
            continue;
        }
        let result = match op.outcome {
            Phase::Ok => "ok",
            Phase::Fail => "fail",
            Phase::Event => "event",
            _ => "info",
        };
        let x1 = l.x(op.start);
        let w = (l.x(end) - x1).max(3.0);
        let y = l.y(op.node.index()) - 16.0;
        let culprit = if op.culprit { " culprit" } else { "" };
        let _ = writeln!(
            o,
            r#"<rect class="op {result}{culprit}" data-entries="{}" x="{x1:.1}" y="{y:.1}" width="{w:.1}" height="10"><title>{} {result} {}: {} .. {}</title></rect>"#,
            op.entries
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(","),
            xml_escape(model.name(op.node)),
            xml_escape(&op.text),
            op.start,
            op.end
                .map_or_else(|| "never".to_string(), |e| e.to_string())
        );
    }
    o.push_str("</svg>\n");
    o
}
