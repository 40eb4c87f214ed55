//! Renderers draw what the run recorded: snapshot tests of the terminal timeline (golden files
//! under tests/golden/, regenerate with UPDATE_GOLDEN=1), and XML checks of the SVG, HTML and
//! plots (one element per lane, per message, the counterexample highlighted, no external URLs).

use clustersim::check::Verdict;
use clustersim::history::Phase;
use clustersim::registry::Registry;
use clustersim::render::timeline::{self, TimelineOptions};
use clustersim::render::{html, plots, svg, Model};
use clustersim::run::{run_file, Report, RunOptions};
use clustersim::trace::{TraceKind, TraceLevel};
use clustersim::SimTime;
use std::path::Path;
use std::process::Command;

fn run(file: &str) -> Report {
    let opts = RunOptions::default().trace(TraceLevel::Full);
    run_file(&Registry::shipped(), Path::new(file), &opts).expect("scenario runs")
}

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// Compares `actual` with a golden file; UPDATE_GOLDEN=1 rewrites it instead.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendered output (first difference at line {}).\n\
             If the change is intended, review it by eye and regenerate with:\n  \
             UPDATE_GOLDEN=1 cargo test --test render\n--- actual ---\n{actual}",
            path.display(),
            first + 1
        );
    }
}

/// A failing verdict naming the first call that timed out (as a checker would).
fn planted_failure(report: &Report) -> (Verdict, usize) {
    let call = report
        .outcome
        .history
        .calls()
        .into_iter()
        .find(|c| c.outcome == Phase::Info && c.complete_index.is_some())
        .expect("the partition makes some ping time out");
    let entries = vec![call.invoke_index, call.complete_index.unwrap()];
    let v = Verdict::fail("Planted", "a ping went unanswered").culprits(&report.outcome, entries);
    (v, call.invoke_index)
}

#[test]
fn timeline_of_ping_partition_matches_golden() {
    let r = run("scenarios/ping-partition.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = timeline::render(
        &model,
        &TimelineOptions::default()
            .from(Some(ms(1950)))
            .to(Some(ms(2160))),
    );
    assert!(text.contains("FAULT partition [n1] | [n2,n3]"));
    assert!(text.contains("DROPPED: partition"));
    golden("ping-partition.timeline.txt", &text);
}

#[test]
fn timeline_narrowed_to_two_nodes_around_the_heal_matches_golden() {
    let r = run("scenarios/ping-partition.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let nodes = model.select_nodes("n1,n3").unwrap();
    let text = timeline::render(
        &model,
        &TimelineOptions::default()
            .from(Some(ms(4950)))
            .to(Some(ms(5120)))
            .nodes(Some(nodes))
            .color(false),
    );
    assert!(text.contains("FAULT heal"));
    assert!(!text.contains("n2 ->") && !text.contains("-> n2"));
    golden("ping-partition-heal-n1-n3.timeline.txt", &text);
}

#[test]
fn timeline_zooms_into_the_failure_window_and_marks_the_culprit() {
    let r = run("scenarios/ping-partition.ron");
    let (v, invoke) = planted_failure(&r);
    let window = v.window.unwrap();
    let model = Model::of_run(&r.outcome, &[v]);
    let text = timeline::render(&model, &TimelineOptions::default());
    assert!(text.contains("failed Planted: a ping went unanswered"));
    assert!(text.contains("showing the window around the failure"));
    assert_eq!(
        text.matches("!! n").count(),
        2,
        "invoke and info rows marked"
    );
    // Rows outside the failure window (plus its lead-in) are left out.
    let full = timeline::render(&model, &TimelineOptions::default().from(Some(SimTime(0))));
    assert!(text.lines().count() * 5 < full.lines().count());
    assert!(window.0 >= r.outcome.history.entry(invoke).unwrap().time);
    golden("ping-partition-failure.timeline.txt", &text);
}

#[test]
fn timeline_colour_is_ansi_only_when_asked() {
    let r = run("scenarios/ping-partition.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let mut opts = TimelineOptions::default()
        .from(Some(ms(1900)))
        .to(Some(ms(2300)));
    let plain = timeline::render(&model, &opts);
    assert!(plain.is_ascii() && !plain.contains('\x1b'));
    opts.color = true;
    let coloured = timeline::render(&model, &opts);
    assert!(coloured.contains("\x1b[31m"), "dropped messages in red");
    assert!(coloured.contains("\x1b[35;1m"), "faults in magenta");
}

fn classes<'a>(doc: &'a roxmltree::Document, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split_whitespace().any(|w| w == class))
        })
        .collect()
}

#[test]
fn svg_has_a_lane_per_node_an_arrow_per_message_and_the_culprit() {
    let r = run("scenarios/ping-partition.ron");
    let (v, _) = planted_failure(&r);
    let model = Model::of_run(&r.outcome, &[v]);
    let text = svg::render(&model, None);
    let doc = roxmltree::Document::parse(&text).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let lanes = classes(&doc, "lane");
    let names: Vec<&str> = lanes
        .iter()
        .filter_map(|n| n.attribute("data-node"))
        .collect();
    assert_eq!(names, ["n1", "n2", "n3"]);
    let sends = r
        .outcome
        .trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Send { .. }))
        .count();
    let dups = r.outcome.stats.duplicated as usize;
    let msgs = classes(&doc, "msg");
    assert_eq!(msgs.len(), sends + dups, "one arrow per message copy");
    assert_eq!(msgs.len(), model.messages.len());
    let dropped = classes(&doc, "dropped").len() as u64;
    assert_eq!(dropped, r.outcome.stats.dropped.iter().sum::<u64>());
    assert!(msgs
        .iter()
        .all(|m| m.children().any(|c| c.has_tag_name("title"))));
    let culprits = classes(&doc, "culprit");
    assert_eq!(culprits.len(), 1, "the timed-out call is outlined");
    assert!(culprits[0].attribute("class").unwrap().contains("info"));
    assert_eq!(classes(&doc, "window").len(), 1);
    assert!(!classes(&doc, "partition").is_empty(), "fault band drawn");
}

#[test]
fn svg_of_a_passing_run_highlights_nothing() {
    let r = run("scenarios/ping-partition.ron");
    assert!(r.passed());
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = svg::render(&model, None);
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert!(classes(&doc, "culprit").is_empty());
    assert!(classes(&doc, "window").is_empty());
}

#[test]
fn html_is_well_formed_and_self_contained() {
    let r = run("scenarios/ping-partition.ron");
    let (v, _) = planted_failure(&r);
    let model = Model::of_run(&r.outcome, &[v]);
    let text = html::render(&model, &[], None, "ping-partition");
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opts).expect("well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "html");
    assert!(doc.descendants().any(|n| n.has_tag_name("script")));
    // The run is embedded as JSON for the page's script to draw and step through.
    let data = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("data"))
        .and_then(|n| n.text())
        .expect("the run's data");
    let data: serde_json::Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(data["live"], false);
    let scene = &data["scene"];
    assert_eq!(scene["names"].as_array().unwrap().len(), 3);
    let ops = scene["ops"].as_array().unwrap();
    assert_eq!(ops.iter().filter(|o| o["culprit"] == true).count(), 1);
    assert_eq!(
        scene["messages"].as_array().unwrap().len(),
        model.messages.len()
    );
    assert!(scene["focus"].is_array(), "the failure's window");
    assert!(!doc
        .descendants()
        .any(|n| n.attribute("src").is_some() || n.attribute("href").is_some()));
    // The SVG namespace is a name, not a fetch; nothing else may point at the network.
    let rest = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!rest.contains("http://") && !rest.contains("https://"));
}

#[test]
fn plots_have_a_dot_per_call_and_bars_that_add_up() {
    let r = run("scenarios/ping-partition.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let calls = r.outcome.history.calls();
    let ok = calls.iter().filter(|c| c.outcome == Phase::Ok).count();
    let lat = plots::latency(&model);
    let doc = roxmltree::Document::parse(&lat).unwrap();
    assert_eq!(
        classes(&doc, "call").len(),
        calls.len(),
        "a marker per call"
    );
    assert_eq!(classes(&doc, "ok").len(), ok);
    assert!(!classes(&doc, "fault").is_empty(), "partition shaded");
    let tp = plots::throughput(&model);
    let doc = roxmltree::Document::parse(&tp).unwrap();
    let total: u64 = classes(&doc, "ok")
        .iter()
        .map(|n| {
            let t = n.children().find(|c| c.has_tag_name("title")).unwrap();
            let s = t.text().unwrap();
            s.split(": ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total as usize, ok);
}

#[test]
fn cli_rejects_unknown_nodes_naming_valid_ones_and_never_overwrites() {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let out = Command::new(bin)
        .args([
            "run",
            "scenarios/ping-partition.ron",
            "--timeline",
            "--nodes",
            "n1,zz",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zz") && err.contains("n1, n2, n3"), "{err}");

    let dir = std::env::temp_dir().join(format!("clustersim-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg_path = dir.join("run.svg");
    std::fs::write(&svg_path, "keep me").unwrap();
    let out = Command::new(bin)
        .args(["run", "scenarios/ping-partition.ron", "-q", "--svg"])
        .arg(&svg_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), "keep me");
    let out = Command::new(bin)
        .args([
            "run",
            "scenarios/ping-partition.ron",
            "-q",
            "--force",
            "--svg",
        ])
        .arg(&svg_path)
        .arg("--plots")
        .arg(dir.join("plots"))
        .args([
            "--timeline",
            "--color",
            "always",
            "--from",
            "1.9s",
            "--to",
            "2.1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&svg_path)
        .unwrap()
        .starts_with("<svg"));
    assert!(dir.join("plots/latency.svg").exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crash_and_restart_show_as_bars_a_down_lane_and_a_band() {
    let text = std::fs::read_to_string("scenarios/ping-partition.ron")
        .unwrap()
        .replace(
            r#"(at: "2s", fault: Partition([["n1"], ["n2", "n3"]])),"#,
            r#"(at: "1s", fault: Crash("n2")), (at: "1300ms", fault: Restart("n2")),"#,
        );
    let scenario = clustersim::scenario::parse(&text, "crash-n2").unwrap();
    let opts = RunOptions::default().trace(TraceLevel::Full);
    let r =
        clustersim::run::run_scenario(&Registry::shipped(), &scenario, "crash-n2", &opts).unwrap();
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let tl = timeline::render(
        &model,
        &TimelineOptions::default()
            .from(Some(ms(990)))
            .to(Some(ms(1310))),
    );
    let crash = tl.lines().find(|l| l.contains("FAULT crash n2")).unwrap();
    assert!(crash.contains("=X="), "{crash}");
    assert!(tl
        .lines()
        .any(|l| l.contains("FAULT restart n2") && l.contains("=R=")));
    // Between crash and restart n2's lane is drawn as ':' (down), and n2 records nothing.
    let down: Vec<&str> = tl
        .lines()
        .filter(|l| l.trim_start().starts_with("1.1"))
        .collect();
    assert!(!down.is_empty());
    let lane = |l: &&str| l.as_bytes()[12 + 12 + 6];
    assert!(down.iter().all(|l| lane(l) != b'|'), "{down:?}");
    assert!(down.iter().filter(|l| lane(l) == b':').count() >= down.len() / 2);
    assert!(down.iter().all(|l| !l.contains("n2 invoke")));
    let svg_text = svg::render(&model, None);
    let doc = roxmltree::Document::parse(&svg_text).unwrap();
    let bands = classes(&doc, "crash");
    assert_eq!(bands.len(), 1);
    let title = bands[0]
        .children()
        .find(|c| c.has_tag_name("title"))
        .unwrap();
    assert!(title
        .text()
        .unwrap()
        .contains("crash n2 from 1.000000s to 1.300000s"));
}

#[test]
fn timeline_of_the_task_queue_worker_crash_matches_golden() {
    let r = run("scenarios/worker-crash-naive.ron");
    assert!(!r.passed(), "the naive queue loses a task");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = timeline::render(&model, &TimelineOptions::default());
    assert!(text.contains("failed NoLostTasks"));
    assert!(text.contains("FAULT crash worker1"));
    // The lost task's story: enqueued and acknowledged, taken by worker1, then the crash.
    let lost = text
        .lines()
        .filter(|l| l.contains("!! "))
        .map(|l| l.split("!! ").nth(1).unwrap())
        .collect::<Vec<_>>();
    assert!(
        lost.iter().any(|l| l.starts_with("worker1 event dequeue")),
        "{lost:?}"
    );
    golden("worker-crash-naive.timeline.txt", &text);
}

#[test]
fn timeline_of_a_raft_leader_crash_matches_golden() {
    let r = run("scenarios/raft-leader-crash.ron");
    assert!(r.passed(), "{:?}", r.verdicts);
    let model = Model::of_run(&r.outcome, &r.verdicts);
    // From the old leader's last commit to the new leader's first AppendEntries: server5,
    // which missed the last entry, stands first and is refused (its log is behind), then
    // server2 wins the next term and server5 is told to retry from the entry it lacks.
    let opts = TimelineOptions::default()
        .from(Some(ms(995)))
        .to(Some(ms(1_172)));
    let text = timeline::render(&model, &opts);
    assert!(text.contains("FAULT crash server4"));
    assert!(text.contains("RequestVoteReply(term 2, refused)"));
    assert!(text.contains("RequestVoteReply(term 3, granted)"));
    assert!(text.contains("server2 event leader(3)"));
    assert!(text.contains("retry from"));
    golden("raft-leader-crash.timeline.txt", &text);
}

#[test]
fn svg_of_the_worker_crash_outlines_the_lost_task_from_the_real_checker() {
    let r = run("scenarios/worker-crash-naive.ron");
    let failed: Vec<_> = r.failures().collect();
    assert_eq!(failed.len(), 1);
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = svg::render(&model, None);
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(classes(&doc, "lane").len(), r.outcome.roster.len());
    assert_eq!(classes(&doc, "msg").len(), model.messages.len());
    let culprits = classes(&doc, "culprit");
    // Every history entry the checker named is inside an outlined element.
    for e in &failed[0].culprits {
        assert!(
            culprits.iter().any(|n| n
                .attribute("data-entries")
                .unwrap()
                .split(',')
                .any(|x| x == e.to_string())),
            "entry {e} not outlined"
        );
    }
    let crash = classes(&doc, "crash");
    assert_eq!(crash.len(), 1);
    let title = crash[0]
        .children()
        .find(|c| c.has_tag_name("title"))
        .unwrap();
    assert!(title.text().unwrap().starts_with("crash worker1"));
}

#[test]
fn task_fates_show_the_lost_task_of_the_naive_queue() {
    let r = run("scenarios/worker-crash-naive.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = plots::task_fates(&model).expect("a task queue");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let acked = r
        .outcome
        .history
        .calls()
        .iter()
        .filter(|c| c.outcome == Phase::Ok)
        .count();
    assert_eq!(classes(&doc, "acked").len(), acked);
    // The checker and the picture agree on how many acknowledged tasks were lost.
    let lost_check = r
        .verdicts
        .iter()
        .find(|v| v.check == "NoLostTasks")
        .unwrap()
        .summary
        .split(' ')
        .next()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert_eq!(classes(&doc, "lost").len(), lost_check);
    assert!(lost_check >= 1);
    assert_eq!(
        classes(&doc, "again").len(),
        0,
        "the naive queue never redelivers"
    );
    assert_eq!(
        classes(&doc, "done").len() + classes(&doc, "lost").len(),
        acked
    );
    // Every fault period is coloured by its kind and labelled.
    assert_eq!(classes(&doc, "crash").len(), 1);
    assert!(text.contains("crash worker1"));
    // Not a queue: no task chart.
    let ping = run("scenarios/ping-partition.ron");
    assert!(plots::task_fates(&Model::of_run(&ping.outcome, &ping.verdicts)).is_none());
    golden("worker-crash-naive.tasks.svg", &text);
    golden("worker-crash-naive.latency.svg", &plots::latency(&model));
}

#[test]
fn latency_plot_has_labelled_decades_and_a_marker_shape_per_operation_type() {
    let r = run("scenarios/raft-figure8.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = plots::latency(&model);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("axis"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        labels.contains(&"1 ms") && labels.contains(&"100 ms"),
        "{labels:?}"
    );
    assert!(labels.contains(&"never"));
    assert!(
        labels
            .iter()
            .any(|l| l.ends_with(" s") && l.starts_with('2')),
        "time ticks: {labels:?}"
    );
    // put, get and cas draw as different shapes.
    let shapes = |ty: &str| -> Vec<&str> {
        let mut v: Vec<&str> = classes(&doc, "call")
            .iter()
            .filter(|n| {
                n.children()
                    .find(|c| c.has_tag_name("title"))
                    .and_then(|t| t.text())
                    .is_some_and(|t| t.contains(&format!(" {ty}(")))
            })
            .map(|n| n.tag_name().name())
            .collect();
        v.dedup();
        v
    };
    let (put, get) = (shapes("put"), shapes("get"));
    assert_eq!(put.len(), 1, "{put:?}");
    assert_eq!(get.len(), 1, "{get:?}");
    assert_ne!(put, get);
}

#[test]
fn the_linearizability_counterexample_is_drawn_with_its_real_time_order() {
    let r = run("scenarios/raft-figure8.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let lin = r
        .verdicts
        .iter()
        .find(|v| v.check == "Linearizable")
        .unwrap();
    let text = clustersim::render::lin::counterexample(&model, lin).expect("a picture");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let bars = classes(&doc, "bar");
    assert_eq!(
        bars.len(),
        lin.culprits.len() / 2,
        "one bar per operation of the window"
    );
    // The put finished before the get began: one arrow from the put to the get.
    let order = classes(&doc, "order");
    assert_eq!(order.len(), 1);
    let why = order[0]
        .children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap();
    assert!(
        why.starts_with("put(k25") && why.contains("finished before get(k25)"),
        "{why}"
    );
    golden("raft-figure8.linearizable.svg", &text);
    // A passing verdict has no picture; the HTML page carries the failing one.
    let ok = r.verdicts.iter().find(|v| v.passed()).unwrap();
    assert!(clustersim::render::lin::counterexample(&model, ok).is_none());
    let page = html::render(&model, &r.verdicts, None, "raft-figure8");
    assert!(page.contains("class=\"counterexample\""));
}

#[test]
fn svg_of_the_raft_figure8_failure_window_matches_golden() {
    let r = run("scenarios/raft-figure8.ron");
    let model = Model::of_run(&r.outcome, &r.verdicts);
    let text = svg::render(
        &model,
        Some(clustersim::render::Window {
            from: ms(900),
            to: ms(1_100),
        }),
    );
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert!(
        !classes(&doc, "msg-label").is_empty(),
        "labels where there is room"
    );
    assert!(!classes(&doc, "side").is_empty(), "partition sides drawn");
    assert!(text.contains("marker-end=\"url(#head)\""), "arrowheads");
    golden("raft-figure8-window.svg", &text);
}

/// A partition that a later one replaces ends where the network says it does (not at the
/// heal), and a lost message's line stops within its sender's lane, so its mark never lands on
/// another node's lane.
#[test]
fn a_replaced_partition_ends_when_replaced_and_a_lost_message_stays_on_its_senders_lane() {
    let text = r#"(
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
    let s = clustersim::scenario::parse(text, "replaced-partition").expect("parses");
    let opts = RunOptions::default().trace(TraceLevel::Full);
    let r =
        clustersim::run::run_scenario(&Registry::shipped(), &s, "replaced", &opts).expect("runs");
    let model = Model::of_run(&r.outcome, &[]);
    let spans: Vec<(SimTime, Option<SimTime>)> =
        model.bands.iter().map(|b| (b.start, b.end)).collect();
    assert_eq!(
        spans,
        [(ms(300), Some(ms(1000))), (ms(1000), Some(ms(2000)))],
        "the first partition ends when the second replaces it"
    );
    let svg_text = svg::render(&model, None);
    let doc = roxmltree::Document::parse(&svg_text).expect("SVG is well-formed XML");
    let lost = classes(&doc, "dropped");
    assert!(lost.len() > 10, "the run loses messages ({})", lost.len());
    let lane_gap = 70.0;
    for line in lost {
        let y = |a: &str| -> f64 {
            line.attribute(a)
                .expect("coordinate")
                .parse()
                .expect("number")
        };
        assert!(
            (y("y2") - y("y1")).abs() < lane_gap / 2.0,
            "a lost message's end is nearer another lane than its sender's: {:?}",
            line.attribute("data-id")
        );
    }
}

/// Runs `args` under a pseudo-terminal of `cols` columns (util-linux `script`, else python3's
/// `pty` module): the program sees a real terminal, not `$COLUMNS`. Returns the output without
/// colours or carriage returns.
fn in_terminal(pty: Pty, cols: u16, args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let mut command = match pty {
        Pty::Script => {
            let cmd = format!(
                "stty cols {cols} rows 50; exec {bin} {}",
                args.iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let mut c = Command::new("script");
            c.args(["-qfec", &cmd, "/dev/null"]);
            c
        }
        Pty::Python => {
            let mut c = Command::new("python3");
            c.args(["-c", PTY_PY, &cols.to_string(), bin]).args(args);
            c
        }
    };
    let out = command
        .env_remove("COLUMNS")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the pseudo-terminal runs");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// A way to open a pseudo-terminal from a test without a crate for it.
#[derive(Copy, Clone, Debug)]
enum Pty {
    /// util-linux `script` (Debian: bsdutils).
    Script,
    /// python3's `pty` module.
    Python,
}

/// The ways this machine has (at least one, or the test fails saying what to install).
fn ptys() -> Vec<Pty> {
    let works = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut out = Vec::new();
    if works("script", "--version") {
        out.push(Pty::Script);
    }
    if works("python3", "--version") {
        out.push(Pty::Python);
    }
    assert!(
        !out.is_empty(),
        "a pseudo-terminal needs util-linux `script` or python3"
    );
    out
}

/// python3 running argv[2:] on a new pseudo-terminal of argv[1] columns and 50 rows, copying
/// what it prints to stdout (the `script` fallback).
const PTY_PY: &str = "
import os, pty, sys, fcntl, termios, struct
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, int(sys.argv[1]), 0, 0))
    os.execv(sys.argv[2], sys.argv[2:])
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
os.waitpid(pid, 0)
";

/// In an 80-column terminal, a 1,000-node run's timeline is a summary that fits: no line over
/// 80 columns and at most 200 lines for the whole command, report included; a small run's
/// timeline folds to the width and says what it left out.
#[test]
fn timeline_fits_an_80_column_terminal_even_at_1000_nodes() {
    let ptys = ptys();
    for &pty in &ptys {
        let text = in_terminal(pty, 80, &["run", "scenarios/chat-1000.ron", "--timeline"]);
        let lines: Vec<&str> = text.trim_end().lines().collect();
        assert!(
            lines.len() <= 200,
            "{pty:?}: {} lines:\n{text}",
            lines.len()
        );
        let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{pty:?}: a line of {widest} columns:\n{text}");
        assert!(text.contains("1010 nodes (node x1000, user x10)"), "{text}");
        assert!(
            text.contains("draw lanes for some nodes with --nodes"),
            "{text}"
        );
        assert!(text.contains("PASS AllDelivered"), "{text}");
    }

    let text = in_terminal(
        ptys[0],
        80,
        &["run", "scenarios/raft-leader-crash.ron", "--timeline"],
    );
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 80, "a line of {widest} columns:\n{text}");
    assert!(text.contains("TRUNCATED: "), "{text}");
    assert!(text.contains("rows drawn"), "{text}");
    // Piped, nothing is folded: the same report line is whole.
    let piped = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "scenarios/chat-1000.ron"])
        .env_remove("COLUMNS")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    let piped = String::from_utf8_lossy(&piped.stdout);
    assert!(
        piped
            .lines()
            .any(|l| l.contains("PASS AllDelivered") && l.chars().count() > 80),
        "{piped}"
    );
}

/// The summary of a many-node run counts what the trace holds: its intervals add up to the
/// messages delivered and dropped in the window.
#[test]
fn timeline_summary_counts_every_message_in_its_window() {
    let report = run("scenarios/ping-partition.ron");
    let model = Model::of_run(&report.outcome, &report.verdicts);
    let opts = TimelineOptions::default().width(Some(40));
    let text = timeline::render(&model, &opts);
    assert!(text.contains("too many for one lane"), "{text}");
    let (mut delivered, mut dropped) = (0u64, 0u64);
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains('s'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[0].ends_with('s') {
            if let (Ok(d), Ok(x)) = (f[2].parse::<u64>(), f[3].parse::<u64>()) {
                delivered += d;
                dropped += x;
            }
        }
    }
    let want_delivered = model
        .messages
        .iter()
        .filter(|m| m.end.is_some() && m.dropped.is_none())
        .count() as u64;
    let want_dropped = model
        .messages
        .iter()
        .filter(|m| m.end.is_some() && m.dropped.is_some())
        .count() as u64;
    assert_eq!(
        (delivered, dropped),
        (want_delivered, want_dropped),
        "{text}"
    );
}

#[test]
fn a_picture_of_part_of_a_long_run_says_so_and_never_calls_a_delivered_message_in_flight() {
    // ping-1000 has 800,000 events, more than a picture holds: the picture is its start. Every
    // message of the run is delivered or lost by its end (sent = delivered + dropped), so none
    // may be drawn in flight, even those delivered after the window.
    let dir = std::env::temp_dir().join(format!("clustersim-part-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("p.svg");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "scenarios/ping-1000.ron", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report
        .lines()
        .find(|l| l.contains("messages sent"))
        .expect("a messages line");
    let number = |word: &str| -> u64 {
        let at = line.find(word).unwrap() + word.len();
        line[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        number("sent ") - number("delivered ") - number("dropped "),
        0,
        "{line}"
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(
        text.matches(r#"class="msg inflight""#).count(),
        0,
        "a message delivered after the window is drawn in flight"
    );
    assert!(
        text.contains("PART OF THE RUN: ") && text.contains("of a run of 799430 events"),
        "the picture does not say it is part of the run"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A restart of a node that was up (a nemesis ends a corrupt record's or a failed sync's
/// window with one) changed nothing: the engine records it, but no picture shows it. The
/// pictures' faults are the trace's less exactly those.
#[test]
fn pictures_leave_out_restarts_of_nodes_that_were_up() {
    let report = run("scenarios/hunt/queue-disk-nemesis.ron");
    let n = report.outcome.roster.len();
    let mut down = vec![false; n];
    let mut armed = vec![false; n];
    let (mut real, mut idle) = (0, 0);
    for e in report.outcome.trace.events() {
        let TraceKind::Fault { fault } = &e.kind else {
            continue;
        };
        match fault {
            clustersim::fault::Fault::Restart(x) => {
                if down[x.index()] || armed[x.index()] {
                    real += 1;
                } else {
                    idle += 1;
                }
                (down[x.index()], armed[x.index()]) = (false, false);
            }
            clustersim::fault::Fault::CrashAtSync { node, sync, .. } if *sync > 0 => {
                armed[node.index()] = true;
            }
            f => {
                if let Some(x) = f.downed_node() {
                    (down[x.index()], armed[x.index()]) = (true, false);
                }
            }
        }
    }
    assert!(real > 0 && idle > 0, "{real} restarts, {idle} idle");
    let model = Model::of_run(&report.outcome, &report.verdicts);
    let shown = model
        .faults
        .iter()
        .filter(|f| matches!(f.fault, clustersim::fault::Fault::Restart(_)))
        .count();
    assert_eq!(shown, real);
    let text = timeline::render(&model, &TimelineOptions::default());
    assert_eq!(text.matches("FAULT restart").count(), real, "{text}");
}

/// worker-crash-naive's timeline with worker1's crash at 300 ms followed by `faults` instead of
/// its restart at 1 s: worker1's lane in every row after the first `after` row, and the text.
fn worker1_lanes_after(faults: &str, after: &str) -> (Vec<u8>, String) {
    let text = std::fs::read_to_string("scenarios/worker-crash-naive.ron").unwrap();
    let edited = text.replace(r#"(at: "1s", fault: Restart("worker1")),"#, faults);
    assert_ne!(edited, text, "the test must move the restart");
    let scenario = clustersim::scenario::parse(&edited, "restart-at-once.ron").unwrap();
    let opts = RunOptions::default().trace(TraceLevel::Full);
    let r = clustersim::run::run_scenario(
        &Registry::shipped(),
        &scenario,
        "restart-at-once.ron",
        &opts,
    )
    .expect("runs");
    let model = Model::of_run(&r.outcome, &[]);
    let text = timeline::render(&model, &TimelineOptions::default().from(Some(SimTime(0))));
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with("time "))
        .expect("a header row");
    // A lane is drawn under the middle of its name.
    let column = header.find("worker1").expect("worker1's column") + "worker1".len().div_ceil(2);
    let lane_at = |row: &str| row.as_bytes().get(column).copied();
    assert!(
        text.lines()
            .take_while(|l| !l.contains("FAULT crash worker1"))
            .any(|l| lane_at(l) == Some(b'|')),
        "column {column} is not worker1's lane:\n{text}"
    );
    let lanes = text
        .lines()
        .skip_while(|l| !l.contains(after))
        .skip(1)
        .filter(|l| l.trim_start().starts_with("0.") && !l.contains("FAULT"))
        .filter_map(lane_at)
        .collect();
    (lanes, text)
}

/// A crash and a restart at one instant leave the node up: its lane is drawn up after them,
/// not crashed for the rest of the run; a second crash at that instant leaves it down until
/// its own restart.
#[test]
fn timeline_draws_crashes_and_restarts_at_one_instant_in_their_order() {
    let (lanes, text) = worker1_lanes_after(
        r#"(at: "300ms", fault: Restart("worker1")),"#,
        "FAULT restart worker1",
    );
    assert!(!lanes.is_empty(), "rows after the restart:\n{text}");
    assert!(
        lanes.iter().all(|l| *l != b':'),
        "worker1 drawn crashed after its restart:\n{text}"
    );
    let (lanes, text) = worker1_lanes_after(
        r#"(at: "300ms", fault: Restart("worker1")), (at: "300ms", fault: Crash("worker1")), (at: "400ms", fault: Restart("worker1")),"#,
        "FAULT crash worker1",
    );
    assert!(!lanes.is_empty(), "{text}");
    assert_eq!(
        lanes.first(),
        Some(&b':'),
        "worker1 drawn up after its second crash:\n{text}"
    );
}
