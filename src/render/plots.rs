//! Result charts as standalone SVG, like a Jepsen results directory: operation latency over
//! time (one dot per client call, coloured ok / fail / info, fault periods shaded) and
//! completed operations per second.

use super::model::{xml_escape, Model};
use crate::history::Phase;
use std::fmt::Write as _;

const W: f64 = 900.0;
const H: f64 = 400.0;
const L: f64 = 60.0;
const R: f64 = 20.0;
const T: f64 = 30.0;
const B: f64 = 40.0;

const STYLE: &str = ".ok{fill:#2ca02c}.fail{fill:#d62728}.info{fill:#ffbf00}\
.fault{fill:#9467bd;opacity:.15}.axis{font:11px sans-serif;fill:#444}.frame{fill:none;stroke:#444}";

fn open(o: &mut String, title: &str) {
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}"><style>{STYLE}</style><rect width="{W}" height="{H}" fill="white"/><text class="axis" x="{L}" y="18">{}</text>"#,
        xml_escape(title)
    );
}

fn shade_faults(o: &mut String, model: &Model, x: &dyn Fn(f64) -> f64) {
    for b in &model.bands {
        let end = b.end.unwrap_or(model.end);
        let (x1, x2) = (x(b.start.as_secs_f64()), x(end.as_secs_f64()));
        let _ = writeln!(
            o,
            r#"<rect class="fault" x="{x1:.1}" y="{T}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            (x2 - x1).max(1.0),
            H - T - B,
            xml_escape(&b.text)
        );
    }
}

fn frame(o: &mut String, secs: f64, ymax: f64, ylabel: &str) {
    let _ = writeln!(
        o,
        r#"<rect class="frame" x="{L}" y="{T}" width="{:.1}" height="{:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{secs:.1}s</text><text class="axis" x="{L}" y="{:.1}">0s</text><text class="axis" x="4" y="{:.1}">{ymax:.1}</text><text class="axis" x="4" y="{:.1}">{ylabel}</text>"#,
        W - L - R,
        H - T - B,
        W - R,
        H - B + 16.0,
        H - B + 16.0,
        T + 10.0,
        H / 2.0
    );
}

/// Latency of every client call over its invocation time; calls never completed sit at the top.
pub fn latency(model: &Model) -> String {
    let secs = model.end.as_secs_f64().max(1e-9);
    let calls: Vec<_> = model
        .ops
        .iter()
        .filter(|o| o.outcome != Phase::Event)
        .collect();
    let lat = |o: &super::model::OpBar| o.end.map(|e| e.since(o.start).as_millis_f64());
    let ymax = calls.iter().filter_map(|o| lat(o)).fold(1.0f64, f64::max) * 1.1;
    let x = |s: f64| L + s / secs * (W - L - R);
    let y = |ms: f64| H - B - ms.min(ymax) / ymax * (H - T - B);
    let mut o = String::new();
    open(&mut o, "operation latency (ms) over time");
    shade_faults(&mut o, model, &x);
    for c in &calls {
        let class = match c.outcome {
            Phase::Ok => "ok",
            Phase::Fail => "fail",
            _ => "info",
        };
        let ms = lat(c).unwrap_or(ymax);
        let _ = writeln!(
            o,
            r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="2.5"><title>{} {class} {}: {ms:.2}ms</title></circle>"#,
            x(c.start.as_secs_f64()),
            y(ms),
            xml_escape(model.name(c.node)),
            xml_escape(&c.text)
        );
    }
    frame(&mut o, secs, ymax, "ms");
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
    frame(&mut o, buckets as f64, ymax, "ops/s");
    o.push_str("</svg>\n");
    o
}

/// The files `all` draws, in its order.
pub const FILES: [&str; 2] = ["latency.svg", "throughput.svg"];

/// Every chart as (file name, SVG text).
pub fn all(model: &Model) -> Vec<(&'static str, String)> {
    vec![(FILES[0], latency(model)), (FILES[1], throughput(model))]
}
