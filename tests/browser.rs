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
document.title = 'PROBE ratio=' + (window.clustersim.span() / before).toFixed(3) + ' tip=' + tip.style.display + ' ' + tip.textContent;
</script></body>"#;
    let html = ping_page().replace("</body>", probe);
    let dir = std::env::temp_dir().join(format!("clustersim-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("probe.html");
    std::fs::write(&path, html).unwrap();
    let out = Command::new(&chromium)
        .args(chromium::FLAGS)
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
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
    assert!(title.contains("tip=block n1 -&gt; n2 "), "{title}");
    // Chromium may still be closing files in its profile: a folder left behind is no failure.
    let _ = std::fs::remove_dir_all(&dir);
}
