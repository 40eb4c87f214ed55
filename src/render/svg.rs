//! The standalone SVG space-time diagram: one horizontal lane per node, time going right,
//! message arrows, fault bands, operation bars coloured by result, the counterexample outlined.
//! Every drawn element carries a `<title>` (hover text) and a class the HTML page and tests use.

use super::model::{xml_escape, BandKind, Model, Window};
use crate::history::Phase;
use crate::time::SimTime;
use std::fmt::Write as _;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const LANE: f64 = 70.0;
/// Most message labels one picture carries.
const MAX_LABELS: usize = 400;
/// Height of the legend under the lanes.
const LEGEND: f64 = 44.0;
/// Characters of the title per line (13 px bold sans at 1,200 px).
const TITLE_CHARS: usize = 150;
/// Colours of a network fault's sides, in order (side A, B, ...).
pub const SIDE_COLOURS: [&str; 6] = [
    "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];

const STYLE: &str = "
.lane{stroke:#444;stroke-width:1.5}
.lane-label{font:bold 13px sans-serif;fill:#222}
.axis{font:11px sans-serif;fill:#555}
.tick{stroke:#ddd;stroke-width:1}
.msg{stroke:#3b6fb6;stroke-width:1;opacity:.7}
.msg-label{font:10px sans-serif;fill:#2a4f85}
.side-label{font:bold 11px sans-serif;fill:#5b3c88}
.legend{font:11px sans-serif;fill:#333}
.msg.dropped{stroke:#d62728;stroke-dasharray:3 2;opacity:.9}
.msg.inflight{stroke:#999;stroke-dasharray:1 3}
.band.crash{fill:#d62728;opacity:.18}
.band.pause{fill:#ff7f0e;opacity:.18}
.band.partition{opacity:.16}
.disk{fill:#8c564b;stroke:#fff;stroke-width:1}
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
    /// Where the first lane's row begins (below the title's lines and the axis).
    top: f64,
}

impl Layout {
    /// The layout for a model over a window.
    pub fn new(model: &Model, win: Window) -> Layout {
        Layout {
            win,
            lanes: model.names.len(),
            top: TOP,
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
        self.top + LANE * (lane as f64 + 0.5)
    }

    /// Picture height.
    pub fn height(&self) -> f64 {
        self.top + LANE * self.lanes as f64 + 30.0 + LEGEND
    }
}

/// A tick step of 1, 2 or 5 times a power of ten giving about eight ticks over `span` ns.
pub fn tick_step(span: u64) -> u64 {
    let raw = (span / 8).max(1);
    let mut p = 1u64;
    while p.saturating_mul(10) <= raw {
        p *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10 * p)
}

/// An instant in the unit a tick step reads best in, with no more decimals than it needs:
/// `1.05 s`, `350 ms`, `12 us`.
pub fn tick_label(t: u64, step: u64) -> String {
    // The largest unit no more than twice the step: 500 ms steps read in seconds.
    let (unit, name) = match step {
        s if s >= 500_000_000 => (1_000_000_000u64, "s"),
        s if s >= 500_000 => (1_000_000, "ms"),
        s if s >= 500 => (1_000, "us"),
        _ => (1, "ns"),
    };
    let mut decimals = 0;
    while decimals < 3 && !(step * 10u64.pow(decimals)).is_multiple_of(unit) {
        decimals += 1;
    }
    format!("{:.*} {name}", decimals as usize, t as f64 / unit as f64)
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The first word of a message's text: its type (`AppendEntries(term 3, ...)` is `AppendEntries`).
pub fn message_type(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    if end == 0 {
        text.split(' ').next().unwrap_or(text)
    } else {
        &text[..end]
    }
}

/// Draws the whole run (or `win`) as a standalone SVG document.
pub fn render(model: &Model, win: Option<Window>) -> String {
    let win = win.unwrap_or(Window {
        from: SimTime(0),
        to: model.end,
    });
    let title = if model.failures.is_empty() {
        "all checks passed".to_string()
    } else {
        model.failures.join("; ")
    };
    let mut title_lines = wrap(&format!("{} .. {}: {title}", win.from, win.to), TITLE_CHARS);
    if let Some(note) = &model.partial {
        title_lines.extend(wrap(&format!("PART OF THE RUN: {note}"), TITLE_CHARS));
    }
    let mut l = Layout::new(model, win);
    l.top = TOP + 16.0 * (title_lines.len().max(1) - 1) as f64;
    let top = l.top;
    let h = l.height();
    let lanes_bottom = top + LANE * l.lanes as f64;
    let mut o = String::with_capacity(256 + 200 * model.messages.len());
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h:.0}" viewBox="0 0 {WIDTH} {h:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(o, "<style>{STYLE}</style>");
    let _ = writeln!(
        o,
        r##"<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#3b6fb6"/></marker></defs>"##
    );
    let _ = writeln!(
        o,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{h:.0}" fill="white"/>"#
    );
    for (i, line) in title_lines.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text class="title" x="10" y="{}">{}</text>"#,
            20 + 16 * i,
            xml_escape(line)
        );
    }
    // Ticks at round instants, labelled in the unit the step reads best in.
    let span = win.to.0.saturating_sub(win.from.0).max(1);
    let step = tick_step(span);
    let mut t = win.from.0.div_ceil(step) * step;
    while t <= win.to.0 {
        let x = l.x(SimTime(t));
        let _ = writeln!(
            o,
            r#"<line class="tick" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{lanes_bottom:.1}"/><text class="axis" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top - 6.0,
            tick_label(t, step)
        );
        t += step;
    }
    let mut side_labels: Vec<(f64, f64)> = Vec::new();
    for b in &model.bands {
        let end = b.end.unwrap_or(model.end);
        if !win.overlaps(b.start, end) {
            continue;
        }
        let (x1, x2) = (l.x(b.start), l.x(end));
        let w = (x2 - x1).max(1.0);
        if b.kind == BandKind::Absent {
            // Drawn over the lanes, below: no lane where the node was not a member.
            continue;
        }
        if let Some(n) = b.node {
            let _ = writeln!(
                o,
                r#"<rect class="band {}" x="{x1:.1}" y="{:.1}" width="{w:.1}" height="{LANE:.1}"><title>{} from {} to {}</title></rect>"#,
                b.kind.label(),
                l.y(n.index()) - LANE / 2.0,
                xml_escape(&b.text),
                b.start,
                end
            );
            continue;
        }
        // A network fault: each side in its own colour, lettered, so who was cut off from
        // whom reads at a glance.
        for (gi, group) in b.groups.iter().enumerate() {
            let colour = SIDE_COLOURS[gi % SIDE_COLOURS.len()];
            let letter = char::from(b'A' + (gi % 26) as u8);
            for n in group {
                let y = l.y(n.index()) - LANE / 2.0;
                let _ = writeln!(
                    o,
                    r#"<rect class="band {} side" fill="{colour}" x="{x1:.1}" y="{y:.1}" width="{w:.1}" height="{LANE:.1}"><title>{} from {} to {} (side {letter})</title></rect>"#,
                    b.kind.label(),
                    xml_escape(&b.text),
                    b.start,
                    end,
                );
                // Lettered where the fault begins, unless another label is already there.
                let spot = (x1 + 3.0, y + 12.0);
                let taken = side_labels.iter().any(|&(lx, ly): &(f64, f64)| {
                    (lx - spot.0).abs() < 40.0 && (ly - spot.1).abs() < 1.0
                });
                if !taken && (win.contains(b.start) || side_labels.is_empty()) {
                    side_labels.push(spot);
                    let _ = writeln!(
                        o,
                        r#"<text class="side-label" x="{:.1}" y="{:.1}">side {letter}</text>"#,
                        spot.0, spot.1
                    );
                }
            }
        }
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
    for b in model.bands.iter().filter(|b| b.kind == BandKind::Absent) {
        let (Some(n), end) = (b.node, b.end.unwrap_or(model.end)) else {
            continue;
        };
        if !win.overlaps(b.start, end) {
            continue;
        }
        let (x1, x2) = (l.x(b.start), l.x(end));
        let _ = writeln!(
            o,
            r#"<rect class="band absent" {ABSENT} x="{x1:.1}" y="{:.1}" width="{:.1}" height="6"><title>{} from {} to {}</title></rect>"#,
            l.y(n.index()) - 3.0,
            (x2 - x1).max(1.0),
            xml_escape(&b.text),
            b.start,
            end
        );
    }
    if let Some(f) = model.focus.filter(|f| win.overlaps(f.from, f.to)) {
        let (x1, x2) = (l.x(f.from), l.x(f.to));
        let _ = writeln!(
            o,
            r#"<rect class="window" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>failure window {} .. {}</title></rect>"#,
            x1 - 3.0,
            top - 2.0,
            (x2 - x1) + 6.0,
            LANE * l.lanes as f64 + 4.0,
            f.from,
            f.to
        );
    }
    let mut labels: Vec<(f64, f64, f64)> = Vec::new();
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
        // A lost message stops a third of a lane from its sender, toward its receiver: it never
        // reached another lane, and its mark must not land on one.
        let (y1, y2full) = (l.y(m.from.index()), l.y(m.to.index()));
        let y2 = if m.dropped.is_some() {
            y1 + (y2full - y1).signum() * (y2full - y1).abs().min(LANE) / 3.0
        } else {
            y2full
        };
        let what = match m.dropped {
            Some(r) => format!("dropped ({})", r.label()),
            None if m.end.is_some() => "delivered".to_string(),
            None => "in flight at the end".to_string(),
        };
        let (x1, x2) = (l.x(m.sent), l.x(end));
        let head = if class == "msg" {
            r#" marker-end="url(#head)""#
        } else {
            ""
        };
        let _ = writeln!(
            o,
            r#"<line class="{class}" data-id="{}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"{head}><title>{} -&gt; {} #{} {}: sent {}, {} at {}</title></line>"#,
            m.id,
            xml_escape(model.name(m.from)),
            xml_escape(model.name(m.to)),
            m.id,
            xml_escape(&m.text),
            m.sent,
            what,
            end
        );
        if m.dropped.is_some() {
            let _ = writeln!(
                o,
                r##"<path d="M{:.1},{:.1} l8,8 m0,-8 l-8,8" stroke="#d62728" stroke-width="1.5"/>"##,
                x2 - 4.0,
                y2 - 4.0
            );
        }
        // A label where the arrow is long enough to carry one, lies wholly in the window and
        // would not cover another label.
        let len = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
        let inside = win.contains(m.sent) && win.contains(end);
        let (lx, ly) = ((x1 + x2) / 2.0 + 3.0, (y1 + y2) / 2.0 - 3.0);
        let width = (len / 6.5).min(m.text.chars().count() as f64) * 6.0;
        let free = !labels.iter().any(|&(ax, bx, y): &(f64, f64, f64)| {
            (y - ly).abs() < 12.0 && ax < lx + width && lx < bx
        });
        if len > 120.0 && inside && free && labels.len() < MAX_LABELS {
            labels.push((lx, lx + width, ly));
            let room = (len / 6.5) as usize;
            let mut label: String = m.text.chars().take(room).collect();
            if m.text.chars().count() > room {
                label = format!("{}...", message_type(&m.text));
            }
            let _ = writeln!(
                o,
                r#"<text class="msg-label" x="{:.1}" y="{:.1}">{}</text>"#,
                lx,
                ly,
                xml_escape(&label)
            );
        }
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
    // A small brown diamond on the lane, below its operations, where the disk failed.
    for d in model.disk.iter().filter(|d| win.contains(d.time)) {
        let (x, y) = (l.x(d.time), l.y(d.node.index()) + 12.0);
        let _ = writeln!(
            o,
            r#"<path class="disk" d="M{x:.1} {:.1} l5 5 l-5 5 l-5 -5 z"><title>{} disk at {}: {}</title></path>"#,
            y - 5.0,
            xml_escape(model.name(d.node)),
            d.time,
            xml_escape(&d.text)
        );
    }
    let absent = model.bands.iter().any(|b| b.kind == BandKind::Absent);
    legend(&mut o, lanes_bottom + 34.0, absent);
    o.push_str("</svg>\n");
    o
}

/// How a node that is not a member is drawn over its lane (inline, so pictures without one
/// keep their style sheet).
const ABSENT: &str = r##"fill="#fff" stroke="#bbb" stroke-width="1" stroke-dasharray="2 3""##;

/// The key to every mark, in one row under the lanes (the dashed gap of a node that was not a
/// member only when there is one).
fn legend(o: &mut String, y: f64, absent: bool) {
    let items: [(&str, &str); 11] = [
        ("#3b6fb6", "message"),
        ("#d62728", "lost message (x)"),
        ("#999", "in flight at the end"),
        ("rgba(214,39,40,.35)", "node down"),
        ("rgba(255,127,14,.35)", "node paused"),
        ("rgba(148,103,189,.35)", "network side A"),
        ("rgba(44,160,44,.35)", "side B"),
        ("#2ca02c", "ok"),
        ("#d62728", "failed"),
        ("#ffbf00", "info (unknown)"),
        ("#17becf", "event"),
    ];
    let mut x = 10.0;
    let _ = writeln!(o, r#"<g class="legend-key">"#);
    for (colour, label) in items {
        let _ = writeln!(
            o,
            r#"<rect x="{x:.1}" y="{:.1}" width="14" height="9" fill="{colour}"/><text class="legend" x="{:.1}" y="{y:.1}">{label}</text>"#,
            y - 8.0,
            x + 18.0
        );
        x += 26.0 + 6.2 * label.len() as f64;
    }
    let _ = writeln!(
        o,
        r#"<path class="disk key" d="M{:.1} {:.1} l5 5 l-5 5 l-5 -5 z"/><text class="legend" x="{:.1}" y="{y:.1}">disk fault</text>"#,
        x + 7.0,
        y - 9.0,
        x + 18.0
    );
    x += 26.0 + 6.2 * "disk fault".len() as f64;
    let _ = writeln!(
        o,
        r#"<rect x="{x:.1}" y="{:.1}" width="14" height="9" fill="none" stroke="black" stroke-width="2"/><text class="legend" x="{:.1}" y="{y:.1}">counterexample</text>"#,
        y - 8.0,
        x + 18.0
    );
    if absent {
        x += 26.0 + 6.2 * "counterexample".len() as f64;
        let _ = writeln!(
            o,
            r#"<rect class="band absent" {ABSENT} x="{x:.1}" y="{:.1}" width="14" height="6"/><text class="legend" x="{:.1}" y="{y:.1}">not a member (no lane)</text>"#,
            y - 7.0,
            x + 18.0
        );
    }
    o.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_read_in_their_unit() {
        assert_eq!(tick_step(9_000_000_000), 2_000_000_000);
        assert_eq!(tick_step(5_600_000_000), 1_000_000_000);
        assert_eq!(tick_step(550_000_000), 100_000_000);
        assert_eq!(tick_step(350_000_000), 50_000_000);
        assert_eq!(tick_step(1_600), 200);
        assert_eq!(tick_label(900_000_000, 100_000_000), "900 ms");
        assert_eq!(tick_label(1_050_000_000, 50_000_000), "1050 ms");
        assert_eq!(tick_label(2_000_000_000, 1_000_000_000), "2 s");
        assert_eq!(tick_label(2_500_000_000, 500_000_000), "2.5 s");
        assert_eq!(tick_label(1_500, 500), "1.5 us");
        assert_eq!(tick_label(12_000, 2_000), "12 us");
        assert_eq!(tick_label(0, 200), "0 ns");
    }

    #[test]
    fn long_titles_wrap_and_keep_every_character() {
        let text = "FAIL Linearizable: ".to_string() + &"x".repeat(400);
        let lines = wrap(&text, 150);
        assert!(lines.iter().all(|l| l.chars().count() <= 150));
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn message_types_are_the_first_word() {
        assert_eq!(message_type("AppendEntries(term 3, +1)"), "AppendEntries");
        assert_eq!(message_type("Ping { seq: 1 }"), "Ping");
        assert_eq!(message_type("(1, 2)"), "(1,");
    }
}
