//! Result charts as standalone SVG, like a Jepsen results directory: operation latency over
//! time on a log scale (one marker per client call: its shape the operation's type, its colour
//! the outcome; fault periods coloured by kind and labelled), completed operations per second,
//! and for task queues the fate of every acknowledged task (completed, completed again, lost).

use super::model::{xml_escape, BandKind, Model, OpBar};
use super::svg::{tick_label, tick_step};
use crate::history::Phase;
use std::fmt::Write as _;

const W: f64 = 900.0;
const H: f64 = 440.0;
const L: f64 = 60.0;
const R: f64 = 20.0;
const T: f64 = 30.0;
const B: f64 = 76.0;
/// Room under the frame for the time axis and the legend.
const LEGEND: f64 = 36.0;

const STYLE: &str = ".ok{fill:#2ca02c}.fail{fill:#d62728}.info{fill:#ffbf00}\
.fault{opacity:.16}.fault.crash{fill:#d62728}.fault.pause{fill:#ff7f0e}.fault.partition{fill:#9467bd}\
.fault-label{font:10px sans-serif;fill:#444}.grid{stroke:#e6e6e6}\
.axis{font:11px sans-serif;fill:#444}.frame{fill:none;stroke:#444}.legend{font:11px sans-serif;fill:#333}\
.done{fill:#2ca02c}.again{fill:#ff7f0e}.lost{fill:#d62728}.acked{fill:#999}";

fn open(o: &mut String, title: &str) {
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}"><style>{STYLE}</style><rect width="{W}" height="{H}" fill="white"/><text class="axis" x="{L}" y="18">{}</text>"#,
        xml_escape(title)
    );
}

fn shade_faults(o: &mut String, model: &Model, x: &dyn Fn(f64) -> f64) {
    // Labels step down a line when bands start close together, so they do not overprint.
    let mut last_label = f64::NEG_INFINITY;
    let mut line = 0;
    for b in &model.bands {
        let end = b.end.unwrap_or(model.end);
        let (x1, x2) = (x(b.start.as_secs_f64()), x(end.as_secs_f64()));
        let _ = writeln!(
            o,
            r#"<rect class="fault {}" x="{x1:.1}" y="{T}" width="{:.1}" height="{:.1}"><title>{} from {} to {}</title></rect>"#,
            b.kind.label(),
            (x2 - x1).max(1.0),
            H - T - B,
            xml_escape(&b.text),
            b.start,
            end
        );
        line = if x1 - last_label < 90.0 {
            (line + 1) % 4
        } else {
            0
        };
        last_label = x1;
        let _ = writeln!(
            o,
            r#"<text class="fault-label" x="{:.1}" y="{:.1}">{}</text>"#,
            x1 + 2.0,
            T + 11.0 + 11.0 * line as f64,
            xml_escape(&b.text)
        );
    }
}

/// Vertical grid lines and labels at round instants of a run `secs` long.
fn time_axis(o: &mut String, secs: f64, x: &dyn Fn(f64) -> f64) {
    let span = (secs * 1e9) as u64;
    let step = tick_step(span.max(1));
    let mut t = 0u64;
    while t <= span {
        let px = x(t as f64 / 1e9);
        let _ = writeln!(
            o,
            r#"<line class="grid" x1="{px:.1}" y1="{T}" x2="{px:.1}" y2="{:.1}"/><text class="axis" x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            H - B,
            H - B + 14.0,
            tick_label(t, step)
        );
        t += step;
    }
}

/// A row of legend entries under the chart: (SVG of the swatch around (0, 0), label).
fn legend(o: &mut String, items: &[(String, String)]) {
    let y = H - B + LEGEND;
    let mut x = L;
    for (swatch, label) in items {
        let _ = writeln!(
            o,
            r#"<g transform="translate({x:.1},{:.1})">{swatch}</g><text class="legend" x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 4.0,
            x + 10.0,
            xml_escape(label)
        );
        x += 22.0 + 6.3 * label.len() as f64;
    }
}

/// Legend entries for the kinds of fault the run had.
fn fault_legend(model: &Model, items: &mut Vec<(String, String)>) {
    for (kind, colour) in [
        (BandKind::Crash, "#d62728"),
        (BandKind::Pause, "#ff7f0e"),
        (BandKind::Network, "#9467bd"),
        (BandKind::Absent, "#bbbbbb"),
    ] {
        if model.bands.iter().any(|b| b.kind == kind) {
            items.push((
                format!(
                    r#"<rect x="-4" y="-4" width="8" height="8" fill="{colour}" opacity=".3"/>"#
                ),
                kind.label().to_string(),
            ));
        }
    }
}

/// Legend entries for the outcomes.
fn outcome_legend() -> Vec<(String, String)> {
    [
        ("#2ca02c", "ok"),
        ("#d62728", "failed"),
        ("#ffbf00", "info (unknown)"),
    ]
    .iter()
    .map(|(c, l)| {
        (
            format!(r#"<rect x="-4" y="-4" width="8" height="8" fill="{c}"/>"#),
            l.to_string(),
        )
    })
    .collect()
}

fn frame(o: &mut String, ylabel: &str) {
    let _ = writeln!(
        o,
        r#"<rect class="frame" x="{L}" y="{T}" width="{:.1}" height="{:.1}"/><text class="axis" x="4" y="{:.1}">{ylabel}</text>"#,
        W - L - R,
        H - T - B,
        T - 6.0,
    );
}

/// The operation's type: the first word of its text (`put(k1, 3)` is `put`).
fn op_type(text: &str) -> &str {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .next()
        .unwrap_or(text)
}

/// A marker of shape `k` (circle, square, triangle, diamond, cross, then again) at (x, y).
fn marker(k: usize, x: f64, y: f64, class: &str, title: &str) -> String {
    let t = format!("<title>{}</title>", xml_escape(title));
    match k % 5 {
        0 => {
            format!(r#"<circle class="{class} call" cx="{x:.1}" cy="{y:.1}" r="2.6">{t}</circle>"#)
        }
        1 => format!(
            r#"<rect class="{class} call" x="{:.1}" y="{:.1}" width="5" height="5">{t}</rect>"#,
            x - 2.5,
            y - 2.5
        ),
        2 => format!(
            r#"<path class="{class} call" d="M{x:.1},{:.1} l3,5.5 h-6 z">{t}</path>"#,
            y - 3.2
        ),
        3 => format!(
            r#"<path class="{class} call" d="M{x:.1},{:.1} l3.2,3.2 l-3.2,3.2 l-3.2,-3.2 z">{t}</path>"#,
            y - 3.2
        ),
        _ => format!(
            r#"<path class="{class} call" d="M{:.1},{:.1} h6 v2 h-6 z M{:.1},{:.1} h2 v6 h-2 z">{t}</path>"#,
            x - 3.0,
            y - 1.0,
            x - 1.0,
            y - 3.0
        ),
    }
}

/// Latency of every client call over its invocation time, on a log scale with labelled
/// decades; calls never completed sit in a band above the top decade.
pub fn latency(model: &Model) -> String {
    let secs = model.end.as_secs_f64().max(1e-9);
    let calls: Vec<&OpBar> = model
        .ops
        .iter()
        .filter(|o| o.outcome != Phase::Event)
        .collect();
    let lat = |o: &OpBar| o.end.map(|e| e.since(o.start).as_millis_f64().max(1e-3));
    let (lo, hi) = calls
        .iter()
        .filter_map(|o| lat(o))
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if hi == 0.0 { (1.0, 10.0) } else { (lo, hi) };
    let d0 = lo.log10().floor() as i32;
    let d1 = (hi.log10().ceil() as i32).max(d0 + 1);
    let never_band = 18.0;
    let x = |s: f64| L + s / secs * (W - L - R);
    let plot_top = T + never_band;
    let y = |ms: f64| {
        let f = (ms.log10() - f64::from(d0)) / f64::from(d1 - d0);
        H - B - f.clamp(0.0, 1.0) * (H - B - plot_top)
    };
    let mut types: Vec<&str> = Vec::new();
    for c in &calls {
        let t = op_type(&c.text);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let mut o = String::new();
    open(&mut o, "operation latency over time (log scale)");
    shade_faults(&mut o, model, &x);
    time_axis(&mut o, secs, &x);
    for d in d0..=d1 {
        let ms = 10f64.powi(d);
        let py = y(ms);
        let label = if ms >= 1000.0 {
            format!("{} s", ms / 1000.0)
        } else {
            format!("{ms} ms")
        };
        let _ = writeln!(
            o,
            r#"<line class="grid" x1="{L}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
            W - R,
            L - 4.0,
            py + 4.0
        );
    }
    let _ = writeln!(
        o,
        r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">never</text>"#,
        L - 4.0,
        T + 12.0
    );
    for c in &calls {
        let class = match c.outcome {
            Phase::Ok => "ok",
            Phase::Fail => "fail",
            _ => "info",
        };
        let kind = types
            .iter()
            .position(|t| *t == op_type(&c.text))
            .unwrap_or(0);
        let (py, what) = match lat(c) {
            Some(ms) => (y(ms), format!("{ms:.2} ms")),
            None => (T + never_band / 2.0, "never completed".to_string()),
        };
        o.push_str(&marker(
            kind,
            x(c.start.as_secs_f64()),
            py,
            class,
            &format!("{} {class} {}: {what}", model.name(c.node), c.text),
        ));
        o.push('\n');
    }
    frame(&mut o, "latency");
    let mut items: Vec<(String, String)> = types
        .iter()
        .enumerate()
        .map(|(k, t)| {
            // The legend's marker is not a call.
            let m = marker(k, 0.0, 0.0, "legend-mark", t).replace(" call\"", "\"");
            (m, t.to_string())
        })
        .collect();
    items.extend(outcome_legend());
    fault_legend(model, &mut items);
    legend(&mut o, &items);
    o.push_str("</svg>\n");
    o
}

/// Completed client calls per second of virtual time, stacked ok / fail / info.
pub fn throughput(model: &Model) -> String {
    let secs = model.end.as_secs_f64().max(1e-9);
    let buckets = secs.ceil().max(1.0) as usize;
    let mut counts = vec![[0u32; 3]; buckets];
    for c in model.ops.iter().filter(|o| o.outcome != Phase::Event) {
        let Some(end) = c.end else { continue };
        let b = (end.as_secs_f64() as usize).min(buckets - 1);
        let k = match c.outcome {
            Phase::Ok => 0,
            Phase::Fail => 1,
            _ => 2,
        };
        counts[b][k] += 1;
    }
    let ymax = counts
        .iter()
        .map(|c| c.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.1;
    let x = |s: f64| L + s / buckets as f64 * (W - L - R);
    let bw = (W - L - R) / buckets as f64;
    let mut o = String::new();
    open(&mut o, "completed operations per second");
    shade_faults(&mut o, model, &x);
    time_axis(&mut o, buckets as f64, &x);
    let _ = writeln!(
        o,
        r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        L - 4.0,
        T + 10.0,
        ymax,
        L - 4.0,
        H - B
    );
    for (i, c) in counts.iter().enumerate() {
        let mut base = 0.0;
        for (k, class) in ["ok", "fail", "info"].iter().enumerate() {
            let n = c[k] as f64;
            if n == 0.0 {
                continue;
            }
            let hpx = n / ymax * (H - T - B);
            let _ = writeln!(
                o,
                r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="{:.1}" height="{hpx:.1}"><title>{i}s..{}s: {n} {class}</title></rect>"#,
                x(i as f64) + 1.0,
                H - B - base - hpx,
                (bw - 2.0).max(1.0),
                i + 1
            );
            base += hpx;
        }
    }
    frame(&mut o, "ops/s");
    let mut items = outcome_legend();
    fault_legend(model, &mut items);
    legend(&mut o, &items);
    o.push_str("</svg>\n");
    o
}

/// The task number in an operation's text (`enqueue(task 7)` is 7).
fn task_of(text: &str, op: &str) -> Option<u64> {
    text.strip_prefix(op)?
        .strip_prefix("(task ")?
        .split(')')
        .next()?
        .parse()
        .ok()
}

/// For a task queue (a history of `enqueue` calls and `complete` events): one row per
/// acknowledged task, a grey mark at its acknowledgement, green at its first completion,
/// orange at each further one, a red cross at the end for a task never completed. `None` for
/// a history without acknowledged enqueues.
pub fn task_fates(model: &Model) -> Option<String> {
    // task -> (acknowledged at, completions), in task order.
    let mut tasks: std::collections::BTreeMap<u64, (f64, Vec<f64>)> = Default::default();
    for op in &model.ops {
        if op.outcome == Phase::Ok {
            if let (Some(t), Some(end)) = (task_of(&op.text, "enqueue"), op.end) {
                tasks.entry(t).or_insert((end.as_secs_f64(), Vec::new()));
            }
        }
    }
    if tasks.is_empty() {
        return None;
    }
    for op in &model.ops {
        if op.outcome == Phase::Event {
            if let Some(entry) = task_of(&op.text, "complete").and_then(|t| tasks.get_mut(&t)) {
                entry.1.push(op.start.as_secs_f64());
            }
        }
    }
    let secs = model.end.as_secs_f64().max(1e-9);
    let x = |s: f64| L + s / secs * (W - L - R);
    let rows = tasks.len() as f64;
    let y = |i: usize| T + (i as f64 + 0.5) / rows * (H - T - B);
    let (mut done, mut again, mut lost) = (0, 0, 0);
    let mut body = String::new();
    for (i, (task, (acked, completions))) in tasks.iter().enumerate() {
        let py = y(i);
        let _ = writeln!(
            body,
            r#"<circle class="acked" cx="{:.1}" cy="{py:.1}" r="2"><title>task {task} acknowledged at {acked:.3}s</title></circle>"#,
            x(*acked)
        );
        let Some((first, rest)) = completions.split_first() else {
            lost += 1;
            let _ = writeln!(
                body,
                r##"<path class="lost fate" d="M{:.1},{:.1} l6,6 m0,-6 l-6,6" stroke="#d62728" stroke-width="2"><title>task {task} lost: acknowledged, never completed</title></path>"##,
                x(secs) - 8.0,
                py - 3.0
            );
            continue;
        };
        done += 1;
        let _ = writeln!(
            body,
            r#"<circle class="done fate" cx="{:.1}" cy="{py:.1}" r="3"><title>task {task} completed at {first:.3}s</title></circle>"#,
            x(*first)
        );
        for t in rest {
            again += 1;
            let _ = writeln!(
                body,
                r#"<circle class="again fate" cx="{:.1}" cy="{py:.1}" r="3"><title>task {task} completed again at {t:.3}s</title></circle>"#,
                x(*t)
            );
        }
    }
    let mut o = String::new();
    open(
        &mut o,
        &format!(
            "task fates: {} acknowledged, {done} completed, {again} completions again, {lost} lost",
            tasks.len()
        ),
    );
    shade_faults(&mut o, model, &x);
    time_axis(&mut o, secs, &x);
    o.push_str(&body);
    frame(&mut o, "task");
    let mut items = vec![
        (
            r##"<circle r="2" fill="#999"/>"##.to_string(),
            "acknowledged".to_string(),
        ),
        (
            r##"<circle r="3" fill="#2ca02c"/>"##.to_string(),
            "completed".to_string(),
        ),
        (
            r##"<circle r="3" fill="#ff7f0e"/>"##.to_string(),
            "completed again".to_string(),
        ),
        (
            r##"<path d="M-3,-3 l6,6 m0,-6 l-6,6" stroke="#d62728" stroke-width="2"/>"##
                .to_string(),
            "lost".to_string(),
        ),
    ];
    fault_legend(model, &mut items);
    legend(&mut o, &items);
    o.push_str("</svg>\n");
    Some(o)
}

/// What the charts show, in two lines of words: latency percentiles of the calls that
/// completed `ok`, and throughput (ok calls per second of the run, and in the busiest 100 ms).
pub fn summary(model: &Model) -> Vec<String> {
    let calls: Vec<&OpBar> = model
        .ops
        .iter()
        .filter(|o| o.outcome != Phase::Event)
        .collect();
    let mut ok: Vec<u64> = calls
        .iter()
        .filter(|o| o.outcome == Phase::Ok)
        .filter_map(|o| o.end.map(|e| e.since(o.start).0))
        .collect();
    ok.sort_unstable();
    if ok.is_empty() {
        return vec![format!(
            "latency: none of {} client calls completed ok",
            calls.len()
        )];
    }
    let pick = |q: f64| {
        let i = ((ok.len() as f64 * q).ceil() as usize).clamp(1, ok.len()) - 1;
        crate::time::Duration(ok[i])
    };
    let secs = model.end.as_secs_f64().max(1e-9);
    let mut buckets: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for o in calls.iter().filter(|o| o.outcome == Phase::Ok) {
        if let Some(e) = o.end {
            *buckets
                .entry(e.since(crate::time::SimTime::ZERO).0 / 100_000_000)
                .or_default() += 1;
        }
    }
    let peak = buckets.values().copied().max().unwrap_or(0);
    vec![
        format!(
            "latency of {} ok calls: p50 {}, p90 {}, p99 {}, max {}",
            ok.len(),
            pick(0.5),
            pick(0.9),
            pick(0.99),
            pick(1.0)
        ),
        format!(
            "throughput: {:.0} ok calls a second over {:.1} s, {} a second in the busiest 100 ms",
            ok.len() as f64 / secs,
            secs,
            peak * 10
        ),
    ]
}

/// The files `all` may draw, in its order (`tasks.svg` only for task queues).
pub const FILES: [&str; 3] = ["latency.svg", "throughput.svg", "tasks.svg"];

/// Every chart that applies to the run, as (file name, SVG text).
pub fn all(model: &Model) -> Vec<(&'static str, String)> {
    let mut out = vec![(FILES[0], latency(model)), (FILES[1], throughput(model))];
    if let Some(t) = task_fates(model) {
        out.push((FILES[2], t));
    }
    out
}
