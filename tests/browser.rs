//! The HTML page opens in headless Chromium and its screenshot shows a drawn picture.
//! Slow and needs a browser, so it is #[ignore]d; .ci/browser.sh installs chromium and runs it.

mod chromium;

use clustersim::registry::Registry;
use clustersim::render::{html, Model};
use clustersim::run::{run_file, RunOptions};
use clustersim::trace::TraceLevel;
use std::path::Path;
use std::process::Command;

/// Reads width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIG || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

fn ping_page() -> String {
    let report = run_file(
        &Registry::shipped(),
        Path::new("scenarios/ping-partition.ron"),
        &RunOptions::default().trace(TraceLevel::Full),
    )
    .unwrap();
    let model = Model::of_run(&report.outcome, &report.verdicts);
    html::render(&model, &[], None, "ping-partition")
}

#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn html_renders_in_headless_chromium() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("run.html");
    let png = dir.join("shot.png");
    std::fs::write(&page, ping_page()).unwrap();
    let out = Command::new(&chromium)
        .args(chromium::FLAGS)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,800")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}); chromium said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(png_size(&bytes), Some((1200, 800)), "a 1200x800 PNG");
    // A blank page compresses to almost nothing; lanes, arrows and text do not.
    assert!(
        bytes.len() > 20_000,
        "screenshot too small: {} bytes",
        bytes.len()
    );
    let mut seen = [false; 256];
    bytes[33..].iter().for_each(|&b| seen[b as usize] = true);
    assert!(
        seen.iter().filter(|&&s| s).count() > 200,
        "screenshot looks uniform"
    );
    if let Some(keep) = std::env::var_os("CLUSTERSIM_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
    // Chromium may still be closing files in its profile: a folder left behind is no failure.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn html_script_zooms_and_shows_hover_details() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    // A probe appended after the page's own script: scroll to zoom in, hover the first
    // message, and report the outcome in the document title for --dump-dom to show.
    let probe = r#"<script>
var c = document.getElementById('chart');
var before = window.clustersim.span();
c.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: 600, clientY: 200, bubbles: true, cancelable: true}));
var m = document.querySelector('.msg'); var r = m.getBoundingClientRect();
m.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + 1, clientY: r.top + 1, bubbles: true}));
var tip = document.getElementById('tip');
document.title = 'PROBE ratio=' + (window.clustersim.span() / before).toFixed(3) + ' tip=' + tip.style.display + ' ' + tip.textContent + ' HOVERED ' + m.querySelector('title').textContent;
</script></body>"#;
    let html = ping_page().replace("</body>", probe);
    let dir = std::env::temp_dir().join(format!("clustersim-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("probe.html");
    std::fs::write(&path, html).unwrap();
    let out = Command::new(&chromium)
        .args(chromium::FLAGS)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        // A set size: the message under the probe depends on the layout's width.
        .arg("--window-size=1200,800")
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .find(|t| t.starts_with("PROBE"))
        .unwrap_or_else(|| panic!("probe did not run; DOM:\n{dom}"));
    assert!(
        title.starts_with("PROBE ratio=0.800 "),
        "zoomed in by 0.8: {title}"
    );
    // The tip shows the hovered message: sender -> receiver, its text, when sent and delivered.
    let (tip, hovered) = title
        .split_once(" HOVERED ")
        .unwrap_or_else(|| panic!("{title}"));
    let hovered = hovered.split("</title>").next().unwrap();
    assert!(
        hovered.starts_with('n') && hovered.contains(" -&gt; n"),
        "{title}"
    );
    assert!(
        hovered.contains("Ping { seq: ") && hovered.contains("\nsent "),
        "{title}"
    );
    assert_eq!(
        tip.split_once(" tip=block ").map(|t| t.1),
        Some(hovered),
        "{title}"
    );
    // Chromium may still be closing files in its profile: a folder left behind is no failure.
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens `html` with `probe` (a script run after the page's own, which puts a JSON report in
/// the document title) in headless Chromium and returns the report.
fn probe_page(chromium: &str, html: &str, probe: &str, name: &str) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("clustersim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("probe.html");
    let page = html.replace(
        "</body>",
        &format!("<script>document.title = 'PROBE' + JSON.stringify((function(){{{probe}}})());</script></body>"),
    );
    std::fs::write(&path, page).unwrap();
    let out = Command::new(chromium)
        .args(chromium::FLAGS)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--window-size=1500,1000")
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .find_map(|t| t.strip_prefix("PROBE"))
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_else(|| {
            panic!(
                "probe did not run; chromium said:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let json = title
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    // Chromium may still be closing files in its profile: a folder left behind is no failure.
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The page `clustersim run FILE --html` writes for a scenario given as text (or a file name).
fn html_of(scenario: &str, args: &[&str], name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("clustersim-page-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = if scenario.ends_with(".ron") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario)
    } else {
        let f = dir.join(format!("{name}.ron"));
        std::fs::write(&f, scenario).unwrap();
        f
    };
    let page = dir.join("page.html");
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .arg("run")
        .arg(&file)
        .args(args)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    let html = std::fs::read_to_string(&page)
        .unwrap_or_else(|e| panic!("no page ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    std::fs::remove_dir_all(&dir).ok();
    html
}

/// In the page as Chromium draws it, a partition that a later one replaces ends where the
/// trace says (at the replacement, not at the heal), and every lost message's cross lies
/// nearer its sender's lane than any other.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_ends_a_replaced_partition_at_its_replacement_and_marks_losses_on_the_sender() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let scenario = r#"(
        name: "replaced-partition",
        seed: 3,
        bounds: (max_time: "3s", max_events: 1000000),
        nodes: [(role: "n", count: 3)],
        protocol: Ping(interval: "100ms", timeout: "50ms"),
        network: (default: (latency: Constant("5ms"), drop: 0.3)),
        faults: [
            (at: "300ms", fault: Partition([["n3"]])),
            (at: "1s", fault: Partition([["n1"]])),
            (at: "2s", fault: Heal),
        ],
        checks: [Liveness],
    )"#;
    let html = html_of(scenario, &[], "replaced");
    let probe = r#"
var s = window.clustersim.state, c = document.getElementById('chart');
var out = {t0: s.t0, t1: s.t1, width: Number(c.getAttribute('viewBox').split(' ')[2]), bands: [], lanes: {}, lost: []};
document.querySelectorAll('#chart rect.band').forEach(function (r) {
  out.bands.push([r.textContent, Number(r.getAttribute('x')), Number(r.getAttribute('width'))]);
});
document.querySelectorAll('#chart .lane-label').forEach(function (l) {
  out.lanes[l.getAttribute('data-node')] = Number(l.getAttribute('y')) - 4;
});
document.querySelectorAll('#chart line.msg.dropped').forEach(function (l) {
  out.lost.push([l.textContent, Number(l.getAttribute('y1')), Number(l.getAttribute('y2'))]);
});
return out;"#;
    let r = probe_page(&chromium, &html, probe, "replaced");
    let (t0, t1, width) = (
        r["t0"].as_f64().unwrap(),
        r["t1"].as_f64().unwrap(),
        r["width"].as_f64().unwrap(),
    );
    // The page's own scale: a 130 px gutter on the left, 16 px on the right.
    let time_at = |x: f64| t0 + (x - 130.0) / (width - 146.0) * (t1 - t0);
    let pixel = (t1 - t0) / (width - 146.0);
    let spans = |text: &str| -> Vec<(f64, f64)> {
        r["bands"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b[0].as_str().unwrap().starts_with(text))
            .map(|b| {
                let (x, w) = (b[1].as_f64().unwrap(), b[2].as_f64().unwrap());
                (time_at(x), time_at(x + w))
            })
            .collect()
    };
    let first = spans("partition [n3]");
    let second = spans("partition [n1]");
    assert!(
        !first.is_empty() && !second.is_empty(),
        "both partitions drawn: {r}"
    );
    for (a, b) in &first {
        assert!(
            (a - 0.3e9).abs() <= 2.0 * pixel,
            "the first partition starts at 300ms: {a}"
        );
        assert!(
            (b - 1e9).abs() <= 2.0 * pixel,
            "and ends at 1s, where the second replaces it, not at {b}"
        );
    }
    for (a, b) in &second {
        assert!(
            (a - 1e9).abs() <= 2.0 * pixel && (b - 2e9).abs() <= 2.0 * pixel,
            "the second partition spans 1s..2s: {a}..{b}"
        );
    }
    let lanes = r["lanes"].as_object().unwrap();
    let lost = r["lost"].as_array().unwrap();
    assert!(lost.len() > 10, "the run loses messages: {}", lost.len());
    for l in lost {
        let text = l[0].as_str().unwrap();
        let sender = text.split(" -> ").next().unwrap();
        let y2 = l[2].as_f64().unwrap();
        let nearest = lanes
            .iter()
            .min_by(|a, b| {
                (a.1.as_f64().unwrap() - y2)
                    .abs()
                    .total_cmp(&(b.1.as_f64().unwrap() - y2).abs())
            })
            .unwrap()
            .0;
        assert_eq!(
            nearest, sender,
            "a lost message's cross is nearer another lane: {text}"
        );
        assert!(
            (l[1].as_f64().unwrap() - lanes[sender].as_f64().unwrap()).abs() < 0.5,
            "{text}"
        );
    }
}

/// A recorded page of a 100,000-event run holds a window of it, and says so at its top where
/// the reader sees it first.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_of_a_100000_event_run_says_it_is_truncated() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let html = html_of(
        "scenarios/ping-1000.ron",
        &["--max-time", "2.6s"],
        "truncated",
    );
    let probe = r#"
var h = document.getElementById('title'), r = h.getBoundingClientRect();
return {text: h.textContent, top: r.top, height: r.height, inner: window.innerHeight,
        shown: getComputedStyle(h).display !== 'none' && getComputedStyle(h).visibility !== 'hidden'};"#;
    let r = probe_page(&chromium, &html, probe, "truncated");
    let text = r["text"].as_str().unwrap();
    assert!(text.contains("PART OF THE RUN: "), "{r}");
    let events: u64 = text
        .split("of a run of ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the notice names the run's events: {text}"));
    assert!(events >= 100_000, "a 100,000-event run: {events}");
    assert!(
        r["shown"] == true && r["height"].as_f64().unwrap() > 0.0,
        "{r}"
    );
    assert!(
        r["top"].as_f64().unwrap() >= 0.0
            && r["top"].as_f64().unwrap() < r["inner"].as_f64().unwrap() / 4.0,
        "the notice is at the top of the page: {r}"
    );
}

/// Every time the page shows (axis ticks, hover texts, the status line, the history) is in one
/// unit, chosen from the run's span: seconds for a 10 s run, milliseconds for a 300 ms one.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_shows_time_in_one_unit_chosen_from_the_span() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let probe = r#"
var texts = [];
document.querySelectorAll('#chart .axis text, #chart title, #status, #history li').forEach(function (e) {
  texts.push(e.textContent);
});
var units = {}, count = 0;
texts.forEach(function (t) {
  var re = /\b[0-9]+(?:\.[0-9]+)? (ns|us|ms|s)\b/g, m;
  while ((m = re.exec(t)) !== null) { units[m[1]] = (units[m[1]] || 0) + 1; count++; }
});
return {units: units, count: count};"#;
    for (args, unit) in [(&[][..], "s"), (&["--max-time", "300ms"][..], "ms")] {
        let html = html_of("scenarios/ping-partition.ron", args, "units");
        let r = probe_page(&chromium, &html, probe, "units");
        let units = r["units"].as_object().unwrap();
        assert!(
            r["count"].as_u64().unwrap() > 50,
            "{args:?}: times found: {r}"
        );
        assert_eq!(
            units.keys().collect::<Vec<_>>(),
            [unit],
            "{args:?}: every time in {unit}: {r}"
        );
    }
}

/// In the page as Chromium draws it, every disk fault of the run (the scheduled failed sync and
/// what the disk noted) is a mark on its node's lane, and the legend names the mark.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_marks_disk_faults_on_their_nodes_lane() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let html = html_of("scenarios/faults/sync-failure.ron", &[], "disk-marks");
    let probe = r#"
var lanes = {};
document.querySelectorAll('text.lane-label').forEach(function (t) {
  lanes[t.getAttribute('data-node')] = +t.getAttribute('y') - 4;
});
var marks = [];
document.querySelectorAll('path.disk').forEach(function (p) {
  var t = p.querySelector('title');
  if (!t) { return; }
  var name = t.textContent.split(' disk at ')[0];
  marks.push({name: name, text: t.textContent, top: p.getBBox().y, lane: lanes[name]});
});
return {marks: marks, legend: document.getElementById('legend').textContent};"#;
    let r = probe_page(&chromium, &html, probe, "disk-marks");
    let marks = r["marks"].as_array().unwrap();
    assert!(
        marks.iter().any(|m| m["text"]
            .as_str()
            .unwrap()
            .contains("sync fails on server1")),
        "{r}"
    );
    assert!(
        marks
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("sync failed")),
        "the disk's own note is marked too: {r}"
    );
    for m in marks {
        let (top, lane) = (m["top"].as_f64().unwrap(), m["lane"].as_f64().unwrap());
        assert!((top - lane - 11.0).abs() < 1.0, "off its lane: {m}");
    }
    assert!(r["legend"].as_str().unwrap().contains("disk fault"), "{r}");
}

/// A recorded page seeks: the seek bar takes the cursor to any instant in one move (the
/// status and the bar follow), and the failure-window button, from the start, shows the run up
/// to the window's end.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_seeks_to_any_instant_and_to_the_failure_window() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let html = html_of("scenarios/faults/sync-failure.ron", &[], "seek");
    let probe = r#"
var now = function () { return +document.body.getAttribute('data-now'); };
var seek = document.getElementById('seek'), out = {};
document.getElementById('last').click(); out.end = now();
document.getElementById('first').click(); out.first = now();
seek.value = '500'; seek.dispatchEvent(new Event('input')); out.half = now();
out.status = document.getElementById('status').textContent;
document.getElementById('first').click(); out.bar_at_first = seek.value;
document.getElementById('focus').click(); out.focused = now(); out.bar_at_focus = seek.value;
return out;"#;
    let r = probe_page(&chromium, &html, probe, "seek");
    let end = r["end"].as_f64().unwrap();
    assert!(end > 0.0 && r["first"].as_f64() == Some(0.0), "{r}");
    let half = r["half"].as_f64().unwrap();
    assert!((half - end / 2.0).abs() <= end / 1000.0, "{r}");
    assert!(r["status"].as_str().unwrap().starts_with("at "), "{r}");
    assert_eq!(r["bar_at_first"], "0", "{r}");
    let focused = r["focused"].as_f64().unwrap();
    assert!(
        focused > 0.0,
        "the failure window shows the run up to its end: {r}"
    );
    let bar: f64 = r["bar_at_focus"].as_str().unwrap().parse().unwrap();
    assert!((bar - (1000.0 * focused / end).round()).abs() < 1.0, "{r}");
}

/// On the page as Chromium draws it, no message label covers another, at the end of the run
/// and in the failure's window (kv-quorum-311 smeared labels on one lane at about 1.5 s).
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn page_message_labels_never_cover_each_other() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let html = html_of("scenarios/kv-quorum-311.ron", &[], "labels");
    let probe = r#"
var boxes = function () {
  return Array.prototype.map.call(document.querySelectorAll('text.msg-label'), function (t) {
    var b = t.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom];
  });
};
var overlaps = function (bs) {
  var n = 0;
  for (var i = 0; i < bs.length; i++) for (var j = i + 1; j < bs.length; j++) {
    var a = bs[i], b = bs[j];
    if (a[0] < b[2] - 1 && b[0] < a[2] - 1 && a[1] < b[3] - 1 && b[1] < a[3] - 1) { n++; }
  }
  return n;
};
var out = {};
document.getElementById('last').click();
var end = boxes(); out.end = end.length; out.end_overlaps = overlaps(end);
document.getElementById('focus').click();
var focus = boxes(); out.focus = focus.length; out.focus_overlaps = overlaps(focus);
return out;"#;
    let r = probe_page(&chromium, &html, probe, "labels");
    assert!(
        r["end"].as_u64().unwrap() + r["focus"].as_u64().unwrap() > 0,
        "some labels: {r}"
    );
    assert_eq!(r["end_overlaps"], 0, "{r}");
    assert_eq!(r["focus_overlaps"], 0, "{r}");
}
