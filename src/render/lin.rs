//! The counterexample of a failed check drawn as Porcupine and Knossos draw a
//! non-linearizable history: the operations the verdict names as bars, one row per client,
//! from invocation to completion, with the real-time order between them (one finished before
//! the other began) as red arrows: no order of the bars that respects the arrows explains
//! what they returned.

use super::model::{xml_escape, Model, OpBar};
use super::svg::{tick_label, tick_step};
use crate::check::Verdict;
use crate::history::Phase;
use std::fmt::Write as _;

const W: f64 = 900.0;
const L: f64 = 90.0;
const R: f64 = 30.0;
const TOP: f64 = 56.0;
const ROW: f64 = 46.0;
/// Most operations drawn (a window larger than this is listed, not drawn).
const MAX_OPS: usize = 40;
/// Width of one character of a label (11px monospace, 0.6em, rounded up).
pub const LABEL_CHAR: f64 = 6.7;
/// Space kept between two things on one row (bars and labels).
const GAP: f64 = 6.0;

/// Where one operation's label goes: its left end, its text, and whether it is anchored at
/// its right end (drawn from `x` leftwards).
#[derive(Clone, Debug)]
struct Label {
    left: f64,
    text: String,
    right_anchored: bool,
}

impl Label {
    fn width(text: &str) -> f64 {
        text.chars().count() as f64 * LABEL_CHAR
    }
    fn right(&self) -> f64 {
        self.left + Label::width(&self.text)
    }
    /// The x the SVG names: the start, or the end for a right-anchored label.
    fn x(&self) -> f64 {
        if self.right_anchored {
            self.right()
        } else {
            self.left
        }
    }
}

/// The places a label of `text` may go for a bar from `x1` to `x2`, the preferred first: after
/// the bar's start, or (near the right edge) ending at the bar's end; each kept inside the plot.
/// When neither fits the text is shortened to the room there is.
fn label_places(text: &str, x1: f64, x2: f64) -> Vec<Label> {
    let w = Label::width(text);
    let after = Label {
        left: x1 + 3.0,
        text: text.to_string(),
        right_anchored: false,
    };
    let before = Label {
        left: x2 - 3.0 - w,
        text: text.to_string(),
        right_anchored: true,
    };
    let fits = |l: &Label| l.left >= L && l.right() <= W - 2.0;
    let mut out: Vec<Label> = if x1 > W * 0.6 {
        vec![before, after]
    } else {
        vec![after, before]
    };
    out.retain(fits);
    if out.is_empty() {
        // Shortened from the bar's start to the plot's end (the bar's title holds the whole).
        let room = ((W - 2.0 - (x1 + 3.0)) / LABEL_CHAR).floor().max(2.0) as usize;
        let short: String = text.chars().take(room - 1).collect::<String>() + "…";
        let left = (x1 + 3.0).min(W - 2.0 - Label::width(&short));
        out.push(Label {
            left,
            text: short,
            right_anchored: false,
        });
    }
    out
}

/// The picture of `verdict`'s counterexample, if it failed and names at least two
/// operations of the model.
pub fn counterexample(model: &Model, verdict: &Verdict) -> Option<String> {
    if verdict.passed() {
        return None;
    }
    let ops: Vec<&OpBar> = model
        .ops
        .iter()
        .filter(|o| {
            o.outcome != Phase::Event && o.entries.iter().any(|e| verdict.culprits.contains(e))
        })
        .take(MAX_OPS)
        .collect();
    if ops.len() < 2 {
        return None;
    }
    let explained = verdict.explanation.as_ref();
    let mut clients: Vec<u32> = ops.iter().map(|o| o.node.0).collect();
    clients.sort_unstable();
    clients.dedup();
    let from = ops.iter().map(|o| o.start.0).min().unwrap_or(0);
    let to = ops
        .iter()
        .map(|o| o.end.unwrap_or(model.end).0)
        .max()
        .unwrap_or(from)
        .max(from + 1);
    let pad = (to - from) / 20;
    let (from, to) = (from.saturating_sub(pad), to + pad);
    let x = |t: u64| L + (t.saturating_sub(from)) as f64 / (to - from) as f64 * (W - L - R);
    // Each client's operations on its own row, another row where two would overlap: their
    // bars, or their labels (a label is as wide as its text, so it may reach past its bar).
    let texts: Vec<String> = ops
        .iter()
        .map(|op| {
            let invoked = op.entries.first().copied();
            let place = explained.and_then(|e| e.order.iter().position(|&i| Some(i) == invoked));
            let blocked = explained.is_some_and(|e| Some(e.blocked) == invoked);
            match (place, blocked) {
                (Some(p), _) => format!("{}. {}", p + 1, op.text),
                (None, true) => format!("next: {}", op.text),
                _ => op.text.clone(),
            }
        })
        .collect();
    // Per row: its client and the spans (bars and labels) taken on it.
    let mut rows: Vec<(u32, Vec<(f64, f64)>)> = Vec::new();
    let mut placed: Vec<(usize, f64)> = Vec::new();
    let mut labels: Vec<Label> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        let end = o.end.unwrap_or(model.end).0;
        let (x1, x2) = (x(o.start.0), x(end).max(x(o.start.0) + 4.0));
        let places = label_places(&texts[i], x1, x2);
        let span = |l: &Label| (x1.min(l.left) - GAP, x2.max(l.right()) + GAP);
        let free =
            |taken: &[(f64, f64)], (a, b): (f64, f64)| taken.iter().all(|&(c, d)| b <= c || d <= a);
        let found = rows.iter().enumerate().find_map(|(r, (c, taken))| {
            if *c != o.node.0 {
                return None;
            }
            places
                .iter()
                .find(|l| free(taken, span(l)))
                .map(|l| (r, l.clone()))
        });
        let (row, label) = match found {
            Some(found) => found,
            None => {
                rows.push((o.node.0, Vec::new()));
                (rows.len() - 1, places[0].clone())
            }
        };
        rows[row].1.push(span(&label));
        labels.push(label);
        placed.push((i, TOP + ROW * row as f64 + ROW / 2.0));
    }
    let h = TOP + ROW * rows.len() as f64 + 60.0 + 14.0 * verdict.details.len().min(12) as f64;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="counterexample" width="{W}" height="{h:.0}" viewBox="0 0 {W} {h:.0}" font-family="sans-serif"><style>.axis{{font:11px sans-serif;fill:#444}}.grid{{stroke:#eee}}.bar{{stroke:#d62728;stroke-width:2}}.bar.ok{{fill:#cde8cd}}.bar.fail{{fill:#f6c9c9}}.bar.info{{fill:#fff0bf;stroke-dasharray:5 3}}.bar.blocked{{stroke:#000;stroke-width:3.5}}.label{{font:11px monospace;fill:#222}}.order{{stroke:#d62728;stroke-width:1.5;fill:none}}.title{{font:bold 13px sans-serif}}.detail{{font:11px monospace;fill:#333}}</style>"#
    );
    let _ = writeln!(
        o,
        r##"<defs><marker id="order-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#d62728"/></marker></defs><rect width="{W}" height="{h:.0}" fill="white"/>"##
    );
    let _ = writeln!(
        o,
        r#"<text class="title" x="10" y="18">{}: {}</text><text class="axis" x="10" y="34">the operations no order explains; a red arrow: finished before the next began, so it must come first</text>"#,
        xml_escape(&verdict.check),
        xml_escape(&verdict.summary)
    );
    let step = tick_step(to - from);
    let mut t = from.div_ceil(step) * step;
    while t <= to {
        let _ = writeln!(
            o,
            r#"<line class="grid" x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}"/><text class="axis" x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"#,
            x(t),
            TOP + ROW * rows.len() as f64,
            TOP - 6.0,
            tick_label(t, step)
        );
        t += step;
    }
    let mut labelled: Vec<u32> = Vec::new();
    for &(i, y) in &placed {
        let op = ops[i];
        if !labelled.contains(&op.node.0) {
            labelled.push(op.node.0);
            let _ = writeln!(
                o,
                r#"<text class="axis" x="8" y="{:.1}">{}</text>"#,
                y + 4.0,
                xml_escape(model.name(op.node))
            );
        }
        let class = match op.outcome {
            Phase::Ok => "ok",
            Phase::Fail => "fail",
            _ => "info",
        };
        let end = op.end.unwrap_or(model.end).0;
        let (x1, x2) = (x(op.start.0), x(end).max(x(op.start.0) + 4.0));
        let label = &labels[i];
        let anchor = if label.right_anchored {
            r#" text-anchor="end""#
        } else {
            ""
        };
        // Porcupine's view: each operation of the longest order that fits is numbered with its
        // place in it (in its label), and the one that cannot take effect after them is outlined.
        let invoked = op.entries.first().copied();
        let blocked = explained.is_some_and(|e| Some(e.blocked) == invoked);
        let mark = if blocked { " blocked" } else { "" };
        let _ = writeln!(
            o,
            r#"<rect class="bar {class}{mark}" x="{x1:.1}" y="{:.1}" width="{:.1}" height="20"><title>{} {} [{} .. {}] {class}</title></rect><text class="label" x="{:.1}" y="{:.1}"{anchor}>{}</text>"#,
            y - 10.0,
            x2 - x1,
            xml_escape(model.name(op.node)),
            xml_escape(&op.text),
            op.start,
            op.end.map_or("never".to_string(), |e| e.to_string()),
            label.x(),
            y + 4.0,
            xml_escape(&label.text)
        );
    }
    // Real-time order, transitively reduced: a -> b when a finished before b began and no c
    // sits between them.
    let done = |o: &OpBar| {
        o.end
            .filter(|_| o.outcome == Phase::Ok || o.outcome == Phase::Fail)
    };
    for &(a, ya) in &placed {
        let Some(a_end) = done(ops[a]) else { continue };
        for &(b, yb) in &placed {
            if a == b || a_end >= ops[b].start {
                continue;
            }
            let between = placed.iter().any(|&(c, _)| {
                c != a
                    && c != b
                    && a_end < ops[c].start
                    && done(ops[c]).is_some_and(|c_end| c_end < ops[b].start)
            });
            if between {
                continue;
            }
            let (x1, x2) = (x(a_end.0), x(ops[b].start.0));
            let _ = writeln!(
                o,
                r#"<path class="order" marker-end="url(#order-head)" d="M{x1:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {x2:.1},{:.1}"><title>{} finished before {} began</title></path>"#,
                ya + 10.0,
                (x1 + x2) / 2.0,
                ya + 30.0,
                (x1 + x2) / 2.0,
                yb + 30.0,
                yb + 10.0,
                xml_escape(&ops[a].text),
                xml_escape(&ops[b].text)
            );
        }
    }
    let base = TOP + ROW * rows.len() as f64 + 30.0;
    // Below the bars: the verdict's details up to its explanation, which the numbers and the
    // outline show, then that explanation in one line.
    let mut footer: Vec<String> = verdict
        .details
        .iter()
        .take_while(|d| {
            explained.is_none()
                || !(d.starts_with("the longest order that fits")
                    || d.starts_with("no operation can take effect first"))
        })
        .take(if explained.is_some() { 11 } else { 12 })
        .cloned()
        .collect();
    if let Some(e) = explained {
        footer.push(format!(
            "numbered: the longest order that fits; outlined: the operation that returns next and cannot follow it (the model is {} then)",
            e.state
        ));
    }
    for (i, d) in footer.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text class="detail" x="10" y="{:.1}">{}</text>"#,
            base + 14.0 * i as f64,
            xml_escape(d.trim())
        );
    }
    o.push_str("</svg>\n");
    Some(o)
}

/// Every failing verdict's counterexample picture, in verdict order.
pub fn all(model: &Model, verdicts: &[Verdict]) -> Vec<String> {
    verdicts
        .iter()
        .filter_map(|v| counterexample(model, v))
        .collect()
}
