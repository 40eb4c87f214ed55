//! The knee of a load sweep as standalone SVG: above, successful calls a second against the
//! offered rate (the diagonal is "everything offered was served"); below, p99 latency on a log
//! scale against the same rates. One colour per curve (cluster size), its knee dotted.

use super::model::xml_escape;
use super::svg::{tick_label, tick_step};
use crate::time::Duration;
use std::fmt::Write as _;

const W: f64 = 900.0;
const PANEL: f64 = 260.0;
const L: f64 = 70.0;
const R: f64 = 20.0;
const T: f64 = 36.0;
const GAP: f64 = 56.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

/// One point of a curve: offered and achieved rates, and p99 latency if any call succeeded.
#[derive(Clone, Debug, PartialEq)]
pub struct KneePoint {
    /// Requests offered a second.
    pub offered: f64,
    /// Successful calls a second.
    pub achieved: f64,
    /// 99th-percentile latency of the successful calls.
    pub p99: Option<Duration>,
}

/// One curve: its label, points in any order, and the highest rate it still served.
#[derive(Clone, Debug, PartialEq)]
pub struct KneeCurve {
    /// What the curve is (`replica=3`).
    pub label: String,
    /// Its points.
    pub points: Vec<KneePoint>,
    /// The highest offered rate it served, marked on the plot.
    pub knee: Option<f64>,
}

/// The two panels for `curves`, titled `title`.
pub fn knee(title: &str, curves: &[KneeCurve]) -> String {
    let xmax = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.offered.max(p.achieved)))
        .fold(1.0, f64::max)
        * 1.05;
    let lat: Vec<f64> = curves
        .iter()
        .flat_map(|c| {
            c.points
                .iter()
                .filter_map(|p| p.p99.map(|d| d.0.max(1) as f64))
        })
        .collect();
    let (lo, hi) = lat
        .iter()
        .fold((f64::MAX, 1.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let (lmin, lmax) = if lat.is_empty() {
        (1e6, 1e9)
    } else {
        (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
        )
    };
    let height = T + 2.0 * PANEL + GAP + 48.0 + 18.0 * curves.len() as f64;
    let plot_w = W - L - R;
    let x = |v: f64| L + v / xmax * plot_w;
    let top = |v: f64| T + PANEL - v / xmax * PANEL;
    let bottom_t = T + PANEL + GAP;
    let lat_y = |ns: f64| {
        bottom_t + PANEL
            - (ns.max(lmin).log10() - lmin.log10()) / (lmax.log10() - lmin.log10()) * PANEL
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}"><style>.axis{{font:11px sans-serif;fill:#444}}.frame{{fill:none;stroke:#444}}.grid{{stroke:#e6e6e6}}.diag{{stroke:#999;stroke-dasharray:4 4}}.legend{{font:12px sans-serif;fill:#333}}</style><rect width="{W}" height="{height}" fill="white"/><text class="axis" x="{L}" y="18">{}</text>"#,
        xml_escape(title)
    );
    // Rate grid, shared by both panels.
    let step = tick_step(xmax as u64).max(1);
    let mut v = 0u64;
    while (v as f64) <= xmax {
        let px = x(v as f64);
        for y0 in [T, bottom_t] {
            let _ = writeln!(
                o,
                r#"<line class="grid" x1="{px:.1}" y1="{y0:.1}" x2="{px:.1}" y2="{:.1}"/>"#,
                y0 + PANEL
            );
        }
        let _ = writeln!(
            o,
            r#"<text class="axis" x="{px:.1}" y="{:.1}" text-anchor="middle">{v}</text><text class="axis" x="{px:.1}" y="{:.1}" text-anchor="middle">{v}</text>"#,
            T + PANEL + 14.0,
            bottom_t + PANEL + 14.0
        );
        if v > 0 {
            let _ = writeln!(
                o,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"#,
                L - 4.0,
                top(v as f64) + 4.0
            );
        }
        v += step;
    }
    // Latency decades.
    let mut d = lmin;
    while d <= lmax * 1.0001 {
        let py = lat_y(d);
        let _ = writeln!(
            o,
            r#"<line class="grid" x1="{L}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            L + plot_w,
            L - 4.0,
            py + 4.0,
            tick_label(d as u64, d as u64)
        );
        d *= 10.0;
    }
    let _ = writeln!(
        o,
        r#"<line class="diag" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"><title>everything offered served</title></line>"#,
        x(0.0),
        top(0.0),
        x(xmax),
        top(xmax)
    );
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut pts = c.points.clone();
        pts.sort_by(|a, b| a.offered.total_cmp(&b.offered));
        let line = |f: &dyn Fn(&KneePoint) -> Option<f64>| {
            pts.iter()
                .filter_map(|p| f(p).map(|y| format!("{:.1},{y:.1}", x(p.offered))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let thr = line(&|p| Some(top(p.achieved)));
        let p99 = line(&|p| p.p99.map(|d| lat_y(d.0.max(1) as f64)));
        let _ = writeln!(
            o,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{thr}"/><polyline fill="none" stroke="{colour}" stroke-width="2" points="{p99}"/>"#
        );
        for p in &pts {
            let _ = writeln!(
                o,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: offered {:.0}/s, {:.1} ok/s</title></circle>"#,
                x(p.offered),
                top(p.achieved),
                xml_escape(&c.label),
                p.offered,
                p.achieved
            );
            if let Some(d) = p.p99 {
                let _ = writeln!(
                    o,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: offered {:.0}/s, p99 {d}</title></circle>"#,
                    x(p.offered),
                    lat_y(d.0.max(1) as f64),
                    xml_escape(&c.label),
                    p.offered
                );
            }
        }
        if let Some(k) = c.knee {
            let _ = writeln!(
                o,
                r#"<line x1="{0:.1}" y1="{T}" x2="{0:.1}" y2="{1:.1}" stroke="{colour}" stroke-dasharray="2 3"><title>{2}: served up to {k:.0}/s</title></line>"#,
                x(k),
                bottom_t + PANEL,
                xml_escape(&c.label)
            );
        }
        let ly = bottom_t + PANEL + 60.0 + i as f64 * 18.0;
        let peak = c.points.iter().map(|p| p.achieved).fold(0.0, f64::max);
        let knee = c.knee.map_or("none".to_string(), |k| format!("{k:.0}/s"));
        let _ = writeln!(
            o,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/><text class="legend" x="{:.1}" y="{:.1}">{}: served up to {knee} offered, peak {peak:.0} ok calls/s</text>"#,
            L,
            ly - 10.0,
            L + 16.0,
            ly,
            xml_escape(&c.label)
        );
    }
    let _ = writeln!(
        o,
        r#"<rect class="frame" x="{L}" y="{T}" width="{plot_w:.1}" height="{PANEL}"/><rect class="frame" x="{L}" y="{bottom_t:.1}" width="{plot_w:.1}" height="{PANEL}"/><text class="axis" x="4" y="{:.1}">ok calls/s</text><text class="axis" x="4" y="{:.1}">p99 latency</text><text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">offered load, requests/s</text>"#,
        T - 6.0,
        bottom_t - 6.0,
        L + plot_w / 2.0,
        bottom_t + PANEL + 32.0
    );
    o.push_str("</svg>\n");
    o
}
