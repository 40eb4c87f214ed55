//! Maelstrom programs as nodes (`protocols::maelstrom`), with the Python example nodes of
//! `maelstrom/python/` and the test nodes of `tests/maelstrom/`: every example passes its
//! workload and replays to the same trace hash in two separate processes; the planted broadcast
//! bug is found by `explore` and shrunk to a partition that replays to exit 1; a crash kills the
//! process and the restarted one sees only its directory; programs that are missing, exit,
//! write something that is not JSON, never answer `init` or never read are refused, naming the
//! node and the line, and never hang; each workload's check fails a wrong program; `check` says
//! it is out of scope; a program on the wall clock is caught by `--check-determinism`; the
//! kafka, lin-kv, txn and seq-kv examples pass and replay, and their planted bugs fail their
//! checks; Maelstrom's services are nodes a partition cuts off, named or refused by name.
//!
//! These tests need `python3` on PATH (CI installs it: `.ci/python.sh`); without it they fail.
#![cfg(target_os = "linux")]

use clustersim::history::{Op, Phase};
use clustersim::registry::Registry;
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{load, parse};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `clustersim ARGS` from the crate's root.
fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the clustersim binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn trace_hash(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("trace hash: "))
        .unwrap_or_else(|| panic!("no trace hash in:\n{stdout}"))
        .to_string()
}

/// A fresh directory for one test's files, removed when the test ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("clustersim-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// A scenario running `bin` as `nodes` nodes with one client on `workload`.
fn scenario(bin: &str, nodes: u32, workload: &str, extra: &str, faults: &str) -> String {
    format!(
        r#"(
    name: "maelstrom-test",
    seed: 3,
    bounds: (max_time: "3s", max_events: 200000),
    nodes: [(role: "n", count: {nodes}), (role: "c", count: 1)],
    protocol: Maelstrom(bin: "{bin}", workload: {workload}{extra}),
    network: (default: (latency: Uniform(min: "1ms", max: "5ms"))),
    faults: [{faults}],
    workload: (interval: "20ms", start: "10ms", stop: "1.2s", timeout: "200ms"),
    checks: [All],
)"#
    )
}

fn test_node(name: &str) -> String {
    root()
        .join("tests/maelstrom")
        .join(name)
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn python3_is_installed() {
    let found = Command::new("python3").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "these tests run Python nodes: install python3 (CI does it in .ci/python.sh)"
    );
}

#[test]
fn every_example_passes_and_replays_to_one_trace_hash_in_two_processes() {
    for name in [
        "echo",
        "unique-ids",
        "broadcast-single",
        "broadcast-multi",
        "broadcast-partition",
        "broadcast-efficient",
        "g-counter",
        "pn-counter",
    ] {
        let file = format!("maelstrom/scenarios/{name}.ron");
        let first = clustersim(&["run", &file]);
        let (out, err) = text(&first);
        assert_eq!(first.status.code(), Some(0), "{name} fails:\n{out}\n{err}");
        assert!(out.contains("    PASS "), "{name}: {out}");
        let second = clustersim(&["run", &file, "--quiet"]);
        let (out2, err2) = text(&second);
        assert_eq!(
            second.status.code(),
            Some(0),
            "{name} again:\n{out2}\n{err2}"
        );
        assert_eq!(
            trace_hash(&out),
            trace_hash(&out2),
            "{name} replays to another trace hash in a second process"
        );
    }
}

#[test]
fn efficient_broadcast_reports_the_figures_gossip_glomers_grades() {
    let o = clustersim(&["run", "maelstrom/scenarios/broadcast-efficient.ron"]);
    let (out, _) = text(&o);
    let figures = out
        .lines()
        .find(|l| l.contains("msgs-per-op"))
        .unwrap_or_else(|| panic!("no figures in:\n{out}"));
    let per_op: f64 = figures
        .trim()
        .strip_prefix("msgs-per-op ")
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no msgs-per-op in {figures}"));
    assert!(per_op > 0.0 && per_op <= 30.0, "{figures}");
    // The same bounds, tightened past what the node achieves, fail the check.
    let dir = scratch("efficient");
    let tight = std::fs::read_to_string(root().join("maelstrom/scenarios/broadcast-efficient.ron"))
        .unwrap()
        .replace("max_msgs_per_op: 30", "max_msgs_per_op: 1")
        .replace(
            "maelstrom/python",
            &root().join("maelstrom/python").display().to_string(),
        );
    let file = write(&dir, "tight.ron", &tight);
    let o = clustersim(&["run", &file]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("every value delivered, but msgs-per-op is"),
        "{out}"
    );
}

#[test]
fn planted_broadcast_bug_is_found_and_shrunk_to_a_partition_that_replays() {
    let dir = scratch("forgetful");
    let out_dir = dir.display().to_string();
    let o = clustersim(&[
        "explore",
        "maelstrom/scenarios/broadcast-forgetful.ron",
        "--seeds",
        "20",
        "--out",
        &out_dir,
    ]);
    let (out, err) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "explore did not find it:\n{out}\n{err}"
    );
    assert!(out.contains("FAIL BroadcastDelivered"), "{out}");
    let shrunk: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    assert_eq!(shrunk.len(), 1, "{out}");
    let file = &shrunk[0];
    let s = load(file).unwrap();
    assert!(s.nemesis.is_none());
    assert!(s.faults.len() <= 3, "shrunk to {} faults", s.faults.len());
    let header = std::fs::read_to_string(file).unwrap();
    assert!(
        header.contains("Nodes are processes of maelstrom/python/broadcast_forgetful.py (FNV-1a"),
        "{header}"
    );
    let path = file.display().to_string();
    let a = clustersim(&["run", &path]);
    let b = clustersim(&["run", &path]);
    let (oa, _) = text(&a);
    assert_eq!(a.status.code(), Some(1), "{oa}");
    assert_eq!(b.status.code(), Some(1));
    assert!(oa.contains("acknowledged value"), "{oa}");
    assert_eq!(trace_hash(&oa), trace_hash(&text(&b).0));
}

/// The ids of a run's answered `generate` calls, in order.
fn ids(text: &str) -> Vec<String> {
    let s = parse(text, "<test>").unwrap();
    let report = run_scenario(&Registry::shipped(), &s, "<test>", &RunOptions::default())
        .expect("the scenario runs");
    assert!(report.outcome.panic.is_none(), "{:?}", report.outcome.panic);
    report
        .outcome
        .history
        .calls()
        .into_iter()
        .filter(|c| c.outcome == Phase::Ok)
        .filter_map(|c| match c.completed {
            Op::Custom { .. } => {
                let v: serde_json::Value = c.completed.custom_value("generate")?;
                Some(v["body"]["id"].as_str()?.to_string())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_crash_kills_the_process_and_the_restart_sees_only_its_directory() {
    let faults = r#"(at: "300ms", fault: Crash("n1")), (at: "400ms", fault: Restart("n1")),
        (at: "700ms", fault: Crash("n1")), (at: "800ms", fault: Restart("n1"))"#;
    let got = ids(&scenario(
        &test_node("boots.py"),
        1,
        "UniqueIds",
        "",
        faults,
    ));
    let firsts: Vec<&String> = got.iter().filter(|id| id.contains("-1-")).collect();
    // Each life counts from 1 again (memory is gone) and knows its boot (the directory is not).
    assert_eq!(
        firsts,
        ["boot1-1-none", "boot2-1-dead", "boot3-1-dead"],
        "ids: {got:?}"
    );
    let boots: Vec<&str> = got.iter().map(|id| &id[..5]).collect();
    assert!(boots.windows(2).all(|w| w[0] <= w[1]), "{got:?}");
}

#[test]
fn a_wipe_empties_the_program_directory() {
    let faults = r#"(at: "300ms", fault: Crash("n1")), (at: "400ms", fault: Restart("n1")),
        (at: "700ms", fault: Wipe("n1")), (at: "800ms", fault: Restart("n1"))"#;
    let got = ids(&scenario(
        &test_node("boots.py"),
        1,
        "UniqueIds",
        "",
        faults,
    ));
    let firsts: Vec<&String> = got.iter().filter(|id| id.contains("-1-")).collect();
    assert_eq!(
        firsts,
        ["boot1-1-none", "boot2-1-dead", "boot1-1-none"],
        "ids: {got:?}"
    );
}

#[test]
fn the_run_directory_is_removed_when_the_run_ends() {
    let child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(["run", "maelstrom/scenarios/unique-ids.ron", "--quiet"])
        .current_dir(root())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("clustersim-maelstrom-{pid}-")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Runs a one-node echo scenario of `bin` (with `extra` parameters) and returns exit code,
/// stdout and stderr.
fn run_bad(name: &str, bin: &str, extra: &str) -> (Option<i32>, String, String) {
    let dir = scratch(name);
    let file = write(&dir, "s.ron", &scenario(bin, 1, "Echo", extra, ""));
    let o = clustersim(&["run", &file]);
    let (out, err) = text(&o);
    (o.status.code(), out, err)
}

#[test]
fn a_missing_program_is_an_input_error_naming_it() {
    let (code, _, err) = run_bad("missing", "tests/maelstrom/no-such-node.py", "");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`tests/maelstrom/no-such-node.py` (started as n1"),
        "{err}"
    );
    assert!(err.contains("cannot start"), "{err}");
    assert!(err.contains("taken from the current directory"), "{err}");
}

#[test]
fn a_program_that_exits_is_an_input_error_with_its_stderr() {
    let (code, _, err) = run_bad("exits", &test_node("exits.py"), "");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("as n1"), "{err}");
    assert!(err.contains("exit status: 3"), "{err}");
    assert!(err.contains("exits.py: giving up"), "{err}");
}

#[test]
fn a_line_that_is_not_json_is_an_input_error_naming_the_line() {
    let (code, _, err) = run_bad("not-json", &test_node("not_json.py"), "");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("as n1"), "{err}");
    assert!(err.contains("its output line 1 is not JSON"), "{err}");
    assert!(err.contains("`hello, Maelstrom`"), "{err}");
}

#[test]
fn a_program_that_never_answers_init_is_an_input_error() {
    let (code, _, err) = run_bad("silent", &test_node("silent.py"), "");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("went quiet without answering init"), "{err}");
}

#[test]
fn a_program_that_never_reads_is_refused_within_its_bound() {
    let (code, _, err) = run_bad("sleepy", &test_node("sleepy.py"), r#", wait_init: "1s""#);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("did not go quiet within 1s of real time"),
        "{err}"
    );
}

#[test]
fn a_program_that_fails_mid_run_fails_the_run_naming_node_and_line() {
    let (code, out, err) = run_bad("late", &test_node("late_garbage.py"), "");
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("FAIL NoPanic: n1 panicked"), "{out}");
    assert!(out.contains("its output line 4 is not JSON"), "{out}");
    assert!(out.contains("`oops: not a message`"), "{out}");
}

/// Runs `bin` on `nodes` nodes with `workload` and returns exit code and stdout.
fn run_check(name: &str, bin: &str, nodes: u32, workload: &str) -> (Option<i32>, String) {
    let dir = scratch(name);
    let file = write(&dir, "s.ron", &scenario(bin, nodes, workload, "", ""));
    let o = clustersim(&["run", &file]);
    (o.status.code(), text(&o).0)
}

#[test]
fn echo_fails_a_node_that_answers_with_another_text() {
    let (code, out) = run_check("echo-wrong", &test_node("echo_wrong.py"), 1, "Echo");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL Echo: n1 answered an echo with a echo_ok that does not carry its text"),
        "{out}"
    );
}

#[test]
fn unique_ids_fails_nodes_that_hand_out_one_id_twice() {
    let (code, out) = run_check("ids-clash", &test_node("ids_clash.py"), 2, "UniqueIds");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL UniqueIds: id "), "{out}");
    assert!(out.contains("was generated twice"), "{out}");
}

#[test]
fn counter_converged_fails_nodes_that_never_share() {
    for workload in ["GCounter", "PnCounter"] {
        let (code, out) = run_check("counter-own", &test_node("counter_own.py"), 2, workload);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("FAIL CounterConverged: n"), "{out}");
        assert!(out.contains("final read is"), "{out}");
    }
}

#[test]
fn exhaustive_check_is_out_of_scope_for_programs() {
    let o = clustersim(&["check", "maelstrom/scenarios/echo.ron"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`check` is out of scope"), "{err}");
    assert!(o.stdout.is_empty(), "a header before the refusal");
}

#[test]
fn a_program_on_the_wall_clock_is_caught_by_check_determinism() {
    let dir = scratch("wallclock");
    let file = write(
        &dir,
        "s.ron",
        &scenario(&test_node("wallclock_ids.py"), 1, "UniqueIds", "", ""),
    );
    let o = clustersim(&["run", &file, "--check-determinism"]);
    let (out, _) = text(&o);
    assert!(out.contains("NOT DETERMINISTIC"), "{out}");
    assert!(
        out.contains("replays exactly when the programs read no clock"),
        "{out}"
    );
    let o = clustersim(&["run", "maelstrom/scenarios/echo.ron", "--check-determinism"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("NOT DETERMINISTIC"), "{out}");
}

#[test]
fn the_debugger_steps_branches_and_goes_back_and_its_path_replays() {
    use clustersim::debug::{Action, Session};
    use clustersim::sim::PendingKind;
    use clustersim::time::SimTime;
    std::env::set_current_dir(root()).unwrap();
    let file = "maelstrom/scenarios/broadcast-multi.ron";
    let registry = Registry::shipped();
    let s = load(Path::new(file)).unwrap();
    let mut session = Session::open(registry.prepare(&s, file).unwrap()).unwrap();
    session.act(&Action::To(SimTime(150_000_000))).unwrap();
    let message = session
        .sim()
        .pending()
        .iter()
        .find(|p| p.kind == PendingKind::Message)
        .map(|p| p.seq)
        .expect("a message in flight");
    session.act(&Action::Drop(message)).unwrap();
    let n2 = session.sim().roster().by_name("n2").unwrap();
    session.act(&Action::Crash(n2)).unwrap();
    session.act(&Action::To(SimTime(400_000_000))).unwrap();
    session.act(&Action::Restart(n2)).unwrap();
    session.act(&Action::Next).unwrap();
    session.act(&Action::StepBack).unwrap();
    assert!(session.branches() >= 1);
    let finished = session.finished();
    let text = clustersim::scenario::to_ron(&session.scenario(), &[]);
    let saved = parse(&text, "saved.ron").unwrap();
    let report = run_scenario(&registry, &saved, "saved.ron", &RunOptions::default()).unwrap();
    assert_eq!(report.outcome.trace_hash(), finished.trace_hash());
    assert!(report.passed(), "{:?}", report.verdicts);
}

#[test]
fn a_handler_that_sleeps_is_waited_for_not_taken_as_quiet() {
    let dir = scratch("slow");
    let file = write(
        &dir,
        "s.ron",
        &scenario(&test_node("slow_echo.py"), 1, "Echo", "", ""),
    );
    let a = clustersim(&["run", &file]);
    let b = clustersim(&["run", &file]);
    let (oa, _) = text(&a);
    assert_eq!(a.status.code(), Some(0), "{oa}");
    // Every echo is answered in the handler call it belongs to: none comes late, none is lost.
    let calls = oa
        .split("client calls ")
        .nth(1)
        .and_then(|r| r.split(" ok)").next())
        .unwrap_or_else(|| panic!("{oa}"));
    let (all, ok) = calls.split_once(" (").unwrap();
    assert_eq!(all, ok, "{oa}");
    assert!(oa.contains("answered, each with its text"), "{oa}");
    assert_eq!(trace_hash(&oa), trace_hash(&text(&b).0));
}

#[test]
fn lines_written_with_no_input_pending_are_noted_in_the_trace() {
    let dir = scratch("ticker");
    // Thousands of exchanges over seconds of real time, spread over three nodes: while the
    // simulator talks to one node, the 20 ms wall-clock threads of the other two write with no
    // input pending. (With one node almost every tick landed inside an exchange, where it
    // cannot be told from an answer, and on a busy machine no tick fell between two.)
    let text = scenario(&test_node("ticker.py"), 3, "Echo", "", "")
        .replace(r#"interval: "20ms""#, r#"interval: "1ms""#)
        .replace(r#"(role: "c", count: 1)"#, r#"(role: "c", count: 8)"#)
        .replace(r#"stop: "1.2s""#, r#"stop: "2.5s""#);
    let file = write(&dir, "s.ron", &text);
    let trace = dir.join("trace.jsonl").display().to_string();
    let o = clustersim(&["run", &file, "--trace", &trace]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(
        trace.contains("lines while no input was pending (a wall-clock timer or thread?)"),
        "no note in the trace"
    );
}

fn text_of(o: &Output) -> String {
    let (a, b) = text(o);
    a + &b
}

#[test]
fn go_nodes_pass_and_replay_when_go_is_installed() {
    // The Go library is optional (CI installs only python3): without `go` this says so.
    if Command::new("go").arg("version").output().is_err() {
        eprintln!("go_nodes_pass_and_replay_when_go_is_installed: go is not installed; not run");
        return;
    }
    let dir = scratch("go");
    for example in ["echo", "broadcast"] {
        let out = dir.join(example);
        let built = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(format!("./{example}"))
            .current_dir(root().join("maelstrom/go"))
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", text_of(&built));
    }
    for (example, python, scenario) in [
        ("echo", "maelstrom/python/echo.py", "echo"),
        (
            "broadcast",
            "maelstrom/python/broadcast.py",
            "broadcast-partition",
        ),
    ] {
        let go =
            std::fs::read_to_string(root().join(format!("maelstrom/scenarios/{scenario}.ron")))
                .unwrap()
                .replace(python, &dir.join(example).display().to_string());
        let file = write(&dir, &format!("{scenario}.ron"), &go);
        let a = clustersim(&["run", &file]);
        let b = clustersim(&["run", &file, "--quiet"]);
        let (oa, _) = text(&a);
        assert_eq!(a.status.code(), Some(0), "{oa}");
        assert_eq!(b.status.code(), Some(0));
        assert_eq!(trace_hash(&oa), trace_hash(&text(&b).0), "{scenario} in Go");
    }
}

#[test]
fn kafka_lin_kv_txn_and_seq_kv_examples_pass_and_replay_in_two_processes() {
    for (name, check) in [
        ("kafka", "PASS KafkaLog"),
        ("lin-kv", "PASS Linearizable"),
        ("txn-list-append", "PASS Transactional"),
        ("txn-rw-register", "PASS Transactional"),
        ("g-counter-seq-kv", "PASS CounterConverged"),
    ] {
        let file = format!("maelstrom/scenarios/{name}.ron");
        let first = clustersim(&["run", &file]);
        let (out, err) = text(&first);
        assert_eq!(first.status.code(), Some(0), "{name} fails:\n{out}\n{err}");
        assert!(out.contains(check), "{name}: {out}");
        assert!(
            out.contains("faults applied 3"),
            "{name} ran no partition: {out}"
        );
        let second = clustersim(&["run", &file, "--quiet"]);
        assert_eq!(second.status.code(), Some(0), "{name} again");
        assert_eq!(
            trace_hash(&out),
            trace_hash(&text(&second).0),
            "{name} replays to another trace hash in a second process"
        );
    }
}

#[test]
fn planted_kafka_lin_kv_txn_and_seq_kv_bugs_fail_their_checks() {
    for (name, finding) in [
        ("kafka-local", "FAIL KafkaLog: offset "),
        ("lin-kv-stale", "FAIL Linearizable: key k"),
        ("txn-list-append-local", "incompatible-order"),
        ("txn-rw-register-dirty", "break read-committed: G1b"),
        (
            "g-counter-seq-kv-stale",
            "FAIL CounterConverged: n1's final read is",
        ),
    ] {
        let o = clustersim(&["run", &format!("maelstrom/scenarios/{name}.ron")]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name} passes:\n{out}\n{err}");
        assert!(out.contains(finding), "{name}: {out}");
    }
}

/// `file` (a bundled scenario) with each (from, to) replaced, written into `dir`.
fn variant(dir: &Path, file: &str, edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join(file)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{file} has no {from}");
        text = text.replace(from, to);
    }
    text = text.replace(
        "maelstrom/python/",
        &format!("{}/", root().join("maelstrom/python").display()),
    );
    write(dir, "variant.ron", &text)
}

fn lin_kv_node() -> String {
    root()
        .join("maelstrom/python/lin_kv.py")
        .display()
        .to_string()
}

#[test]
fn a_service_is_a_node_partitions_cut_it_off() {
    // lin-kv isolated from 300ms to 1.1s: no proxy gets an answer then, the clients' calls
    // time out (unknown), and what was answered still linearizes.
    let faults = r#"(at: "300ms", fault: Isolate("lin-kv")), (at: "1.1s", fault: Heal)"#;
    let text = scenario(&lin_kv_node(), 3, "LinKv", "", faults).replace(
        r#"(role: "c", count: 1)"#,
        r#"(role: "c", count: 2), (role: "services", names: ["lin-kv"])"#,
    );
    let s = parse(&text, "<test>").unwrap();
    let report = run_scenario(&Registry::shipped(), &s, "<test>", &RunOptions::default())
        .expect("the scenario runs");
    assert!(report.passed(), "{:?}", report.verdicts);
    let calls = report.outcome.history.calls();
    let cut_off = |t: Option<clustersim::time::SimTime>| {
        t.is_some_and(|t| t.0 > 310_000_000 && t.0 < 1_100_000_000)
    };
    let answered = calls
        .iter()
        .filter(|c| c.outcome == Phase::Ok && cut_off(c.complete_time))
        .count();
    let unknown = calls
        .iter()
        .filter(|c| c.outcome == Phase::Info && cut_off(c.complete_time))
        .count();
    assert_eq!(answered, 0, "calls answered while lin-kv was cut off");
    assert!(
        unknown >= 6,
        "only {unknown} calls timed out while lin-kv was cut off"
    );
    assert!(calls.iter().filter(|c| c.outcome == Phase::Ok).count() > 20);
}

#[test]
fn lin_tso_hands_out_unique_rising_timestamps_and_lww_kv_loses_updates() {
    let dir = scratch("tso");
    let s = scenario(&test_node("unique_ids_tso.py"), 3, "UniqueIds", "", "").replace(
        r#"(role: "c", count: 1)"#,
        r#"(role: "c", count: 2), (role: "services", names: ["lin-tso"])"#,
    );
    let file = write(&dir, "s.ron", &s);
    let o = clustersim(&["run", &file]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS UniqueIds"), "{out}");
    // The seq-kv counter, pointed at lww-kv: replicas cas against stale copies, and merging
    // by timestamp drops adds that were acknowledged.
    let file = variant(
        &dir,
        "maelstrom/scenarios/g-counter-seq-kv.ron",
        &[
            (
                "g_counter_seq_kv.py",
                "../../tests/maelstrom/g_counter_lww_kv.py",
            ),
            (r#"names: ["seq-kv"]"#, r#"names: ["lww-kv"]"#),
        ],
    );
    let o = clustersim(&["run", &file]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL CounterConverged"), "{out}");
}

#[test]
fn service_names_are_checked_and_a_missing_service_is_named() {
    let dir = scratch("services");
    let file = variant(
        &dir,
        "maelstrom/scenarios/g-counter-seq-kv.ron",
        &[(r#"names: ["seq-kv"]"#, r#"names: ["seq-kvs"]"#)],
    );
    let o = clustersim(&["run", &file]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("node `seq-kvs` of role `services` names no service; valid names: lin-kv, seq-kv, lww-kv, lin-tso"),
        "{err}"
    );
    let file = variant(
        &dir,
        "maelstrom/scenarios/g-counter-seq-kv.ron",
        &[(r#", (role: "services", names: ["seq-kv"])"#, "")],
    );
    let o = clustersim(&["run", &file]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(
        out.contains(r#"is addressed to the service "seq-kv", which this run lacks: add (role: "services", names: ["seq-kv"])"#),
        "{out}"
    );
}
