//! The debugger in a real browser: headless Chromium driven over the DevTools protocol steps
//! `clustersim debug` to a crash, branches by clicking a pending delivery, saves the path, and
//! the saved file replays with `clustersim run` to the branch's trace hash. Also the page's
//! zoom, by real wheel events. Needs Chromium, so #[ignore]d; .ci/browser.sh runs it.

mod chromium;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One Chromium page, spoken to over the DevTools protocol.
struct Browser {
    _chromium: Guard,
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    shots: PathBuf,
    shot_count: usize,
}

fn http_get(port: u16, path: &str) -> String {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("devtools http");
    let mut w = s.try_clone().unwrap();
    write!(w, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut length = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

impl Browser {
    fn launch(chromium: &str, dir: &Path) -> Browser {
        let mut child = Command::new(chromium)
            .args(chromium::FLAGS)
            .args(["--remote-debugging-port=0", "--window-size=1500,1000"])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().unwrap();
        let guard = Guard(child);
        let mut port = None;
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                port = rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
                break;
            }
        }
        let port = port.expect("chromium prints its DevTools address");
        let list: Value = serde_json::from_str(&http_get(port, "/json/list")).unwrap();
        let ws = list
            .as_array()
            .and_then(|l| l.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (socket, _) = tungstenite::connect(ws).expect("devtools websocket");
        let shots = dir.join("shots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            _chromium: guard,
            socket,
            next_id: 1,
            shots,
            shot_count: 0,
        }
    }

    /// Sends one command and waits for its answer (events in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(tungstenite::Message::Text(msg.into()))
            .unwrap();
        loop {
            let m = self.socket.read().expect("devtools answer");
            let Ok(text) = m.to_text() else { continue };
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates a JavaScript expression in the page (promises awaited) and returns its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "`{expr}` threw: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is true in the page.
    fn wait_for(&mut self, expr: &str) {
        let start = Instant::now();
        while self.eval(expr) != Value::Bool(true) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for `{expr}`"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Clicks the element `selector` and waits for the server's answer to reach the page.
    fn click(&mut self, selector: &str) {
        let before = self.eval("document.body.getAttribute('data-ready')");
        let clicked = self.eval(&format!(
            "(function(){{var e=document.querySelector({sel:?}); if(!e) return false; e.click(); return true;}})()",
            sel = selector
        ));
        assert_eq!(clicked, Value::Bool(true), "no element {selector}");
        self.wait_for(&format!(
            "document.body.getAttribute('data-ready') !== {}",
            before
        ));
    }

    /// A screenshot, kept under the test's folder and checked for drawn lanes.
    fn screenshot(&mut self, name: &str, lanes: usize) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let bytes = base64(r["data"].as_str().unwrap());
        self.shot_count += 1;
        let path = self
            .shots
            .join(format!("{:02}-{name}.png", self.shot_count));
        std::fs::write(&path, &bytes).unwrap();
        let found = lane_rows(&bytes);
        assert!(
            found >= lanes,
            "{}: {found} lane lines found, {lanes} expected",
            path.display()
        );
    }
}

fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Rows of the picture crossed by a long dark horizontal line (a lane): at least 40% of the
/// width in dark grey, the lane colour, counted once per line.
fn lane_rows(png_bytes: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.line_size / w;
    let mut lines = 0;
    let mut previous = false;
    for y in 0..h {
        let row = &buf[y * info.line_size..(y + 1) * info.line_size];
        let dark = (0..w)
            .filter(|x| {
                let p = &row[x * channels..x * channels + 3];
                p.iter().all(|&c| c < 140)
            })
            .count();
        let is_line = dark * 10 >= w * 4;
        if is_line && !previous {
            lines += 1;
        }
        previous = is_line;
    }
    lines
}

/// Starts `clustersim debug FILE --port 0 --out DIR` and returns it (stopped when dropped)
/// with the address it serves.
fn serve(file: &str, dir: &Path) -> (Guard, String) {
    let mut server = Command::new(BIN)
        .args(["debug", file, "--port", "0", "--out"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("clustersim debug starts");
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in `{first}`"))
        .to_string();
    (Guard(server), url)
}

fn trace_hash_of_run(file: &Path) -> String {
    let out = Command::new(BIN)
        .args(["run", "--quiet"])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("trace hash: "))
        .unwrap_or_else(|| panic!("no trace hash in {text}"))
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn debugger_steps_to_the_crash_branches_saves_and_the_file_replays() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-debugger-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (server, url) = serve("scenarios/worker-crash-naive.ron", &dir);

    let mut b = Browser::launch(&chromium, &dir);
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("document.body !== null && document.body.getAttribute('data-ready') !== null");
    b.screenshot("opened", 5);

    // Step to just before the scheduled crash (0.3 s), then one step at a time until it.
    b.eval("document.getElementById('to-time').value = '0.299s'");
    b.click("#run-to");
    assert_eq!(
        b.eval("document.querySelector('.node[data-node=worker1]').getAttribute('data-status')"),
        json!("up")
    );
    let mut steps = 0;
    while b.eval("document.querySelector('.node[data-node=worker1]').getAttribute('data-status')")
        != json!("down")
    {
        b.click("#step");
        steps += 1;
        assert!(steps < 200, "worker1 never crashed");
    }
    let panel = b.eval("document.querySelector('.node[data-node=worker1]').textContent");
    assert!(
        panel.as_str().unwrap().contains("down"),
        "the node panel says worker1 is down: {panel}"
    );
    assert!(
        b.eval("document.querySelector('.lane-label[data-node=worker1]').textContent")
            .as_str()
            .unwrap()
            .contains("down"),
        "the lane says so too"
    );
    b.screenshot("worker1-crashed", 5);

    // Branch: run a pending delivery that is not the time-order choice.
    let pick = "document.querySelector('#pending li[data-kind=message]:not(.next) button.run')";
    let mut waited = 0;
    while b.eval(&format!("{pick} === null")) == json!(true) {
        b.click("#step");
        waited += 1;
        assert!(waited < 100, "no second delivery pending to choose");
    }
    let seq = b.eval(&format!("{pick}.parentNode.getAttribute('data-seq')"));
    let steps_before: u64 = b
        .eval("document.body.getAttribute('data-steps')")
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    b.click("#pending li[data-kind=message]:not(.next) button.run");
    let status = b.eval("document.getElementById('status').textContent");
    assert!(
        status.as_str().unwrap().contains("(1 chosen by hand)"),
        "one branch: {status}"
    );
    assert_eq!(
        b.eval(&format!(
            "document.querySelector('#pending li[data-seq=\"{}\"]') === null",
            seq.as_str().unwrap()
        )),
        json!(true),
        "the chosen delivery happened"
    );
    let steps_after: u64 = b
        .eval("document.body.getAttribute('data-steps')")
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(steps_after, steps_before + 1);
    b.click("#step");
    b.screenshot("branched", 5);

    // Save the path; the file replays to the branch's hash.
    b.click("#save");
    let saved = b.eval("document.body.getAttribute('data-saved')");
    let hash = b.eval("document.body.getAttribute('data-saved-hash')");
    let saved = PathBuf::from(saved.as_str().expect("a saved path"));
    assert!(
        saved.starts_with(&dir),
        "saved inside --out: {}",
        saved.display()
    );
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("scheduler: Replay(["), "{text}");
    assert_eq!(trace_hash_of_run(&saved), hash.as_str().unwrap());
    b.screenshot("saved", 5);

    // A second save never overwrites the first.
    b.click("#save");
    let second = b.eval("document.body.getAttribute('data-saved')");
    assert_ne!(PathBuf::from(second.as_str().unwrap()), saved);

    // Back undoes the step after the branch, then the branch itself.
    b.click("#back");
    b.click("#back");
    let status = b.eval("document.getElementById('status').textContent");
    assert!(
        status.as_str().unwrap().contains("(0 chosen by hand)"),
        "{status}"
    );

    b.click("#quit");
    let mut server = server;
    let code = server.0.wait().unwrap();
    assert!(code.success(), "the server exits 0 on quit: {code}");
    if std::env::var_os("CLUSTERSIM_KEEP_SHOTS").is_none() {
        // Chromium may still be closing files in its profile here: a folder left behind in
        // the temporary directory is no failure of the debugger.
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("screenshots in {}", dir.join("shots").display());
    }
}

/// After "run to failure" the toolbar gains the failure-window button and the message filter
/// the run's message types, without a reload; "back" from the failure goes back one event,
/// not to the start, and "undo" undoes the rest of the action.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn run_to_failure_updates_the_toolbar_and_back_goes_one_event() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-debugger-back-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (server, url) = serve("scenarios/worker-crash-naive.ron", &dir);
    let mut b = Browser::launch(&chromium, &dir);
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("document.body !== null && document.body.getAttribute('data-ready') !== null");
    assert_eq!(
        b.eval("document.getElementById('focus') === null"),
        json!(true)
    );
    let types_before = b.eval("document.querySelectorAll('#msg-type option').length");

    b.click("#to-failure");
    assert_eq!(
        b.eval("document.getElementById('focus') !== null"),
        json!(true),
        "the failure-window button appears without a reload"
    );
    let types_after = b.eval("document.querySelectorAll('#msg-type option').length");
    assert!(
        types_after.as_u64().unwrap() > types_before.as_u64().unwrap(),
        "message types offered: {types_before} before, {types_after} after"
    );
    let steps = |b: &mut Browser| {
        b.eval("Number(document.body.getAttribute('data-steps'))")
            .as_u64()
            .unwrap()
    };
    let at_failure = steps(&mut b);
    assert!(at_failure > 20, "{at_failure} steps to the failure");
    b.click("#back");
    let one_back = steps(&mut b);
    assert!(
        one_back < at_failure && one_back + 5 >= at_failure,
        "back went from {at_failure} to {one_back} steps: one event, not the whole action"
    );
    b.click("#undo");
    assert_eq!(steps(&mut b), 0, "undo takes back the rest of the action");

    // A disk fault by hand: a power loss of the worker is one step, and draws it down.
    b.eval("document.getElementById('fault-node').value = 'worker1'; document.getElementById('disk-kind').value = 'power-loss'; true");
    b.click("#disk");
    assert_eq!(steps(&mut b), 1, "the power loss is one step");
    assert!(
        b.eval("document.body.textContent")
            .to_string()
            .contains("power loss worker1"),
        "the page names the power loss"
    );

    b.click("#quit");
    let mut server = server;
    let code = server.0.wait().unwrap();
    assert!(code.success(), "the server exits 0 on quit: {code}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tree of explored states in the page: after going back to a step and taking another
/// branch, the tree shows both branches from that step; clicking either branch's last state
/// returns the run to exactly the state it had there (time, steps, branches chosen by hand,
/// node panels), and back and forward go along the branch returned to.
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn debugger_tree_branches_and_returns_to_either_branch() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-debugger-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (server, url) = serve("scenarios/worker-crash-naive.ron", &dir);
    let mut b = Browser::launch(&chromium, &dir);
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("document.body !== null && document.body.getAttribute('data-ready') !== null");
    let at = |b: &mut Browser| -> u64 {
        b.eval("Number(document.body.getAttribute('data-at'))")
            .as_u64()
            .unwrap()
    };
    // What a state shows: the time, the status line and every node panel.
    let shown = |b: &mut Browser| -> Value {
        b.eval(
            "[document.body.getAttribute('data-now'), document.getElementById('status').textContent, \
             Array.from(document.querySelectorAll('#nodes .node')).map(function (n) { return n.textContent; }).join('|')]",
        )
    };
    b.eval("document.getElementById('to-time').value = '0.05s'; true");
    b.click("#run-to");
    // Step until a delivery other than time order's choice is pending: the fork.
    let pick = "document.querySelector('#pending li[data-kind=message]:not(.next) button.run')";
    let mut waited = 0;
    while b.eval(&format!("{pick} === null")) == json!(true) {
        b.click("#step");
        waited += 1;
        assert!(waited < 200, "no second delivery pending to choose");
    }
    let fork = at(&mut b);
    // Branch A: time order, three events.
    for _ in 0..3 {
        b.click("#step");
    }
    let a = at(&mut b);
    let at_a = shown(&mut b);
    assert!(
        at_a[1].as_str().unwrap().contains("(0 chosen by hand)"),
        "{at_a}"
    );
    // Back to the fork through the tree, and branch B: the other delivery, then a step.
    b.click(&format!("#tree li[data-state=\"{fork}\"]"));
    assert_eq!(at(&mut b), fork, "the tree's click returned to the fork");
    b.click("#pending li[data-kind=message]:not(.next) button.run");
    b.click("#step");
    let b_end = at(&mut b);
    let at_b = shown(&mut b);
    assert!(
        at_b[1].as_str().unwrap().contains("(1 chosen by hand)"),
        "{at_b}"
    );
    assert_ne!(a, b_end);
    // The tree shows both branches from the fork, each a chain of its own.
    let from_fork = b.eval(&format!(
        "Array.from(document.querySelectorAll('#tree li.from')).filter(function (l) {{ return l.textContent.indexOf('from #{fork} ') === 0; }}).length"
    ));
    assert_eq!(from_fork, json!(2), "two branches from #{fork}");
    assert_eq!(
        b.eval(&format!(
            "document.querySelector('#tree li[data-state=\"{a}\"]') !== null"
        )),
        json!(true),
        "branch A is still in the tree"
    );
    b.screenshot("tree-two-branches", 5);
    // Return to A, then to B: each exactly as it was.
    b.click(&format!("#tree li[data-state=\"{a}\"]"));
    assert_eq!(at(&mut b), a);
    assert_eq!(shown(&mut b), at_a, "branch A's state again");
    assert_eq!(
        b.eval("document.querySelector('#tree li.at').getAttribute('data-state')"),
        json!(a.to_string()),
        "the tree marks where the run stands"
    );
    b.click(&format!("#tree li[data-state=\"{b_end}\"]"));
    assert_eq!(at(&mut b), b_end);
    assert_eq!(shown(&mut b), at_b, "branch B's state again");
    // Back twice reaches the fork; forward goes along B, the branch returned to.
    b.click("#back");
    b.click("#back");
    assert_eq!(at(&mut b), fork);
    assert_eq!(
        b.eval("document.getElementById('forward').disabled"),
        json!(false)
    );
    b.click("#forward");
    b.click("#forward");
    assert_eq!(at(&mut b), b_end, "forward follows branch B");
    assert_eq!(shown(&mut b), at_b);
    assert_eq!(
        b.eval("document.getElementById('forward').disabled"),
        json!(true)
    );

    b.click("#quit");
    let mut server = server;
    let code = server.0.wait().unwrap();
    assert!(code.success(), "the server exits 0 on quit: {code}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn wheel_events_zoom_the_time_axis_around_the_pointer() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-zoom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("run.html");
    let out = Command::new(BIN)
        .args(["run", "scenarios/raft-figure8.ron", "--quiet", "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(page.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut b = Browser::launch(&chromium, &dir);
    b.call("Page.enable", json!({}));
    b.call(
        "Page.navigate",
        json!({"url": format!("file://{}", page.display())}),
    );
    b.wait_for("document.body !== null && document.body.getAttribute('data-ready') === 'recorded'");
    b.click_static("#reset");
    let full = b.eval("window.clustersim.span()").as_f64().unwrap();
    let rect = b.eval(
        "(function(){var r=document.getElementById('chart').getBoundingClientRect(); return [r.left + r.width * 0.6, r.top + 60];})()",
    );
    let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
    let at_before = b.eval(&format!(
        "(function(){{var s=window.clustersim.state, r=document.getElementById('chart').getBoundingClientRect(); return s.t0 + ({x} - r.left - 130) / (r.width - 146) * (s.t1 - s.t0);}})()"
    ));
    let n = 6;
    for _ in 0..n {
        b.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": -100}),
        );
    }
    let zoomed = b.eval("window.clustersim.span()").as_f64().unwrap();
    let expected = full * 0.8f64.powi(n);
    assert!(
        (zoomed - expected).abs() <= expected * 1e-6,
        "{n} wheel events: span {zoomed} ns, expected {expected} (from {full})"
    );
    // The instant under the pointer stays under it.
    let at_after = b.eval(&format!(
        "(function(){{var s=window.clustersim.state, r=document.getElementById('chart').getBoundingClientRect(); return s.t0 + ({x} - r.left - 130) / (r.width - 146) * (s.t1 - s.t0);}})()"
    ));
    let drift = (at_after.as_f64().unwrap() - at_before.as_f64().unwrap()).abs();
    let pixel = zoomed
        / b.eval("document.getElementById('chart').getBoundingClientRect().width - 146")
            .as_f64()
            .unwrap();
    assert!(
        drift <= 2.0 * pixel,
        "the pointer's instant moved by {drift} ns ({} pixels)",
        drift / pixel
    );
    // Lanes stay labelled while zoomed, and zooming out again stops at the whole run.
    assert_eq!(
        b.eval("document.querySelectorAll('.lane-label').length"),
        json!(6)
    );
    for _ in 0..(n + 10) {
        b.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": 100}),
        );
    }
    let out_again = b.eval("window.clustersim.span()").as_f64().unwrap();
    assert_eq!(
        out_again, full,
        "zoomed out to the whole run and no further"
    );
    b.screenshot("raft-figure8-page", 6);
    // Chromium may still be closing files in its profile: a folder left behind is no failure.
    let _ = std::fs::remove_dir_all(&dir);
}

impl Browser {
    /// Clicks an element of a recorded page (no server round trip to wait for).
    fn click_static(&mut self, selector: &str) {
        let clicked = self.eval(&format!(
            "(function(){{var e=document.querySelector({selector:?}); if(!e) return false; e.click(); return true;}})()"
        ));
        assert_eq!(clicked, Value::Bool(true), "no element {selector}");
    }
}

/// The debugger at 1,000 nodes in a real browser: after running to 1 s, each step updates the
/// page (one more step, every lane still drawn), and the page says it left out the arrows past
/// what it draws. (Its speed is measured by hand, not here: a test does not time.)
#[test]
#[ignore = "needs chromium; run by .ci/browser.sh"]
fn debugger_steps_a_1000_node_run_in_the_browser() {
    let Some(chromium) = chromium::find() else {
        println!("skipped: chromium is not installed (.ci/browser.sh installs Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("clustersim-debugger-1000-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_server, url) = serve("scenarios/chat-1000.ron", &dir);
    let mut b = Browser::launch(&chromium, &dir);
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("document.body !== null && document.body.getAttribute('data-ready') !== null");
    b.eval("document.getElementById('to-time').value = '1s'; true");
    b.click("#run-to");
    let steps = |b: &mut Browser| {
        b.eval("Number(document.body.getAttribute('data-steps'))")
            .as_u64()
            .unwrap()
    };
    let lanes = |b: &mut Browser| {
        b.eval("document.querySelectorAll('.lane-label').length")
            .as_u64()
            .unwrap()
    };
    let start = steps(&mut b);
    assert!(start > 1000, "ran to 1 s: {start} steps");
    let lanes_before = lanes(&mut b);
    assert!(lanes_before > 0, "lanes drawn");
    let left_out = b.eval("Number(document.body.getAttribute('data-messages-left-out'))");
    assert!(
        left_out.as_u64().unwrap() > 0,
        "more arrows than a page draws: the page says it left some out"
    );
    for i in 1..=5u64 {
        b.click("#step");
        assert_eq!(steps(&mut b), start + i, "each click is one step");
    }
    assert_eq!(lanes(&mut b), lanes_before, "every lane still drawn");
    let _ = std::fs::remove_dir_all(&dir);
}
