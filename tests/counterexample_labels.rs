//! The counterexample picture's labels never overlap: each operation's label is laid out with
//! its bar, on a row of its client where neither collides with what is there, kept inside the
//! picture. Held on crafted histories that crowd labels (short operations back to back, long
//! texts near the right edge, many clients) and on the real raft-figure8 failure.

use clustersim::check::Verdict;
use clustersim::history::Phase;
use clustersim::node::NodeId;
use clustersim::registry::Registry;
use clustersim::render::model::OpBar;
use clustersim::render::Model;
use clustersim::run::{run_file, RunOptions};
use clustersim::SimTime;
use std::path::Path;

/// Width of a character of the picture's 11px fonts, as a browser draws DejaVu Sans Mono.
const CHAR: f64 = 6.6;

/// A label's box: left, right, top, bottom.
type Box4 = (f64, f64, f64, f64);

/// The boxes of every operation label and client name in `svg`.
fn label_boxes(svg: &str) -> Vec<(Box4, String)> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter(|n| {
            let class = n.attribute("class").unwrap_or("");
            class == "label" || (class == "axis" && n.attribute("x") == Some("8"))
        })
        .map(|n| {
            let text = n.text().unwrap_or("").to_string();
            let x: f64 = n.attribute("x").unwrap().parse().unwrap();
            let y: f64 = n.attribute("y").unwrap().parse().unwrap();
            let w = text.chars().count() as f64 * CHAR;
            let (l, r) = if n.attribute("text-anchor") == Some("end") {
                (x - w, x)
            } else {
                (x, x + w)
            };
            ((l, r, y - 9.0, y + 3.0), text)
        })
        .collect()
}

fn assert_no_overlap(svg: &str, what: &str) {
    let width: f64 = roxmltree::Document::parse(svg)
        .unwrap()
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    let boxes = label_boxes(svg);
    assert!(boxes.len() >= 2, "{what}: labels drawn");
    for (i, (a, ta)) in boxes.iter().enumerate() {
        assert!(
            a.0 >= 0.0 && a.1 <= width,
            "{what}: `{ta}` leaves the picture {a:?}"
        );
        for (b, tb) in &boxes[i + 1..] {
            let apart = a.1 <= b.0 || b.1 <= a.0 || a.3 <= b.2 || b.3 <= a.2;
            assert!(apart, "{what}: `{ta}` {a:?} overlaps `{tb}` {b:?}");
        }
    }
}

/// A model of `ops` (client, start ms, end ms, text) for clients named client1.., every one a
/// culprit of a failed check.
fn crafted(ops: &[(u32, u64, u64, String)]) -> (Model, Verdict) {
    let clients = ops.iter().map(|o| o.0).max().unwrap_or(0) + 1;
    let names: Vec<String> = (1..=clients).map(|i| format!("client{i}")).collect();
    let bars: Vec<OpBar> = ops
        .iter()
        .enumerate()
        .map(|(i, (c, a, b, text))| OpBar {
            node: NodeId(*c),
            start: SimTime(a * 1_000_000),
            end: Some(SimTime(b * 1_000_000)),
            outcome: Phase::Ok,
            text: text.clone(),
            entries: vec![2 * i, 2 * i + 1],
            culprit: true,
        })
        .collect();
    let end = SimTime(ops.iter().map(|o| o.2).max().unwrap_or(1) * 1_000_000);
    let mut verdict = Verdict::fail("Linearizable", "no order of these operations fits");
    verdict.culprits = (0..2 * ops.len()).collect();
    let model = Model {
        roles: vec!["client".into(); names.len()],
        names,
        messages: Vec::new(),
        faults: Vec::new(),
        bands: Vec::new(),
        ops: bars,
        notes: Vec::new(),
        disk: Vec::new(),
        failures: Vec::new(),
        focus: None,
        end,
        partial: None,
    };
    (model, verdict)
}

fn picture(ops: &[(u32, u64, u64, String)]) -> String {
    let (model, verdict) = crafted(ops);
    clustersim::render::lin::counterexample(&model, &verdict).expect("a picture")
}

#[test]
fn short_operations_back_to_back_get_rows_for_their_labels() {
    // Ten writes of one client 10 ms apart, each label ~30 characters: far wider than a bar.
    let ops: Vec<_> = (0..10)
        .map(|i| {
            (
                0,
                10 * i,
                10 * i + 8,
                format!("put(k25, 19619109960417{i:02})"),
            )
        })
        .collect();
    assert_no_overlap(&picture(&ops), "back to back");
}

#[test]
fn long_labels_near_the_right_edge_stay_inside_and_apart() {
    let long = "cas(k7, 1961910996041747, 2002717480321046) -> ok".to_string();
    let ops = vec![
        (0, 0, 5, "get(k7) -> 1961910996041747".to_string()),
        (0, 90, 95, long.clone()),
        (0, 96, 99, long.clone()),
        (1, 97, 100, long),
        (1, 0, 99, "x".repeat(200)),
    ];
    assert_no_overlap(&picture(&ops), "right edge");
}

#[test]
fn many_clients_with_random_operations_never_overlap() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut draw = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for round in 0..20 {
        let ops: Vec<_> = (0..30)
            .map(|_| {
                let start = draw(1000);
                let long = draw(4) == 0;
                let len = 1 + draw(if long { 400 } else { 30 });
                let (op, chars) = (draw(100), draw(40) as usize);
                let text = format!("op{op}({})", "v".repeat(chars));
                (draw(5) as u32, start, start + len, text)
            })
            .collect();
        assert_no_overlap(&picture(&ops), &format!("round {round}"));
    }
}

#[test]
fn the_raft_figure8_counterexample_labels_do_not_overlap() {
    let r = run_file(
        &Registry::shipped(),
        Path::new("scenarios/raft-figure8.ron"),
        &RunOptions::default(),
    )
    .unwrap();
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let lin = r
        .verdicts
        .iter()
        .find(|v| v.check == "Linearizable")
        .unwrap();
    let svg = clustersim::render::lin::counterexample(&model, lin).expect("a picture");
    assert_no_overlap(&svg, "raft-figure8");
}
