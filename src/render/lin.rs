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
    // Each client's operations on its own row, a second row where two overlap.
    let mut rows: Vec<(u32, u64)> = Vec::new();
    let mut placed: Vec<(usize, f64)> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        let end = o.end.unwrap_or(model.end).0;
        let row = match rows
            .iter()
            .position(|&(c, free)| c == o.node.0 && free < o.start.0)
        {
            Some(r) => {
                rows[r].1 = end;
                r
            }
            None => {
                rows.push((o.node.0, end));
                rows.len() - 1
            }
        };
        placed.push((i, TOP + ROW * row as f64 + ROW / 2.0));
    }
    rows.sort_by_key(|&(c, _)| c);
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
        // A bar near the right edge carries its label to its left, ending at the bar's end.
        let right = x1 > W * 0.6;
        let anchor = if right { r#" text-anchor="end""# } else { "" };
        // Porcupine's view: each operation of the longest order that fits is numbered with its
        // place in it, and the one that cannot take effect after them is outlined.
        let invoked = op.entries.first().copied();
        let place = explained.and_then(|e| e.order.iter().position(|&i| Some(i) == invoked));
        let blocked = explained.is_some_and(|e| Some(e.blocked) == invoked);
        let label = match (place, blocked) {
            (Some(p), _) => format!("{}. {}", p + 1, op.text),
            (None, true) => format!("next: {}", op.text),
            _ => op.text.clone(),
        };
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
            if right { x2 - 3.0 } else { x1 + 3.0 },
            y + 4.0,
            xml_escape(&label)
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
