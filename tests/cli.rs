//! The command line: help text for every flag, the README's first command, trace and history
//! files in both formats, and refusing to overwrite files without `--force`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("COLUMNS")
        .args(args)
        .output()
        .expect("run clustersim")
}

#[test]
fn the_timeline_fits_columns_or_width_and_folds_long_rows() {
    let args = [
        "run",
        "scenarios/worker-crash-naive.ron",
        "--timeline",
        "--color",
        "never",
    ];
    let wide = stdout(&clustersim(&args));
    assert!(
        wide.lines().any(|l| l.len() > 100),
        "the unbounded timeline is the old one"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("run clustersim");
    let fitted = stdout(&out);
    let timeline: Vec<&str> = fitted
        .lines()
        .skip_while(|l| !l.starts_with("timeline "))
        .collect();
    assert!(timeline.len() > 100, "{fitted}");
    for line in &timeline {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.len()
        );
    }
    // Folded, not cut: the lost task's messages are all still there, and --width says the same.
    assert!(timeline.iter().any(|l| l.contains("FAULT crash worker1")));
    assert_eq!(wide.matches(" -> ").count(), fitted.matches(" -> ").count());
    let mut with_flag = args.to_vec();
    with_flag.extend(["--width", "100"]);
    let picture = |text: &str| -> String {
        text.lines()
            .skip_while(|l| !l.starts_with("timeline "))
            .take_while(|l| !l.ends_with(" rows"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(picture(&stdout(&clustersim(&with_flag))), picture(&fitted));
    let bad = clustersim(&[
        "run",
        "scenarios/worker-crash-naive.ron",
        "--timeline",
        "--width",
        "5",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("40 to 10000 columns"));
}

#[test]
fn a_paused_lane_differs_from_a_crashed_one_and_a_resume_comes_before_its_deliveries() {
    let out = stdout(&clustersim(&[
        "run",
        "scenarios/ping-crash-restart.ron",
        "--timeline",
        "--color",
        "never",
        "--from",
        "4.99s",
        "--to",
        "6.01s",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    let pause = lines
        .iter()
        .position(|l| l.contains("FAULT pause n3"))
        .expect("pause row");
    let resume = lines
        .iter()
        .position(|l| l.contains("FAULT resume n3"))
        .expect("resume row");
    // While paused, n3's lane is dotted (a crashed lane is ':').
    for l in &lines[pause + 1..resume] {
        let art = &l[12..l.len().min(48)];
        assert!(art.contains('.') && !art.contains(':'), "{l}");
    }
    // The backlog delivered at the resume's instant is drawn after it.
    let at = lines[resume].split_whitespace().next().unwrap();
    assert!(
        lines[..resume]
            .iter()
            .all(|l| !l.starts_with(&format!("  {at}"))),
        "{out}"
    );
    assert!(lines[resume + 1].contains("-> n3"), "{}", lines[resume + 1]);
}

#[test]
fn the_timeline_shows_only_the_message_types_asked_for() {
    let base = [
        "run",
        "scenarios/raft-leader-crash.ron",
        "--timeline",
        "--color",
        "never",
        "--to",
        "1.5s",
        "--lines",
        "0",
    ];
    let all = stdout(&clustersim(&base));
    assert!(all.contains("AppendEntries") && all.contains("RequestVote"));
    let mut only = base.to_vec();
    only.extend(["--messages", "RequestVote"]);
    let votes = stdout(&clustersim(&only));
    assert!(votes.contains("RequestVote"), "{votes}");
    assert!(!votes.contains("AppendEntries"), "{votes}");
    // Faults and operations stay.
    assert_eq!(all.matches("FAULT").count(), votes.matches("FAULT").count());
    assert_eq!(
        all.matches(" invoke ").count(),
        votes.matches(" invoke ").count()
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clustersim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn help_explains_every_flag() {
    let top = clustersim(&["--help"]);
    assert!(top.status.success());
    let text = stdout(&top);
    assert!(text.contains("deterministic cluster simulator"), "{text}");
    assert!(
        text.contains("run") && text.contains("Run one scenario file"),
        "{text}"
    );
    let run = clustersim(&["run", "--help"]);
    assert!(run.status.success());
    let text = stdout(&run);
    for (flag, words) in [
        ("  <FILE>", "scenario file"),
        ("--seed", "seed"),
        ("--max-time", "virtual time"),
        ("--trace", ".jsonl"),
        ("--history", "history"),
        ("--force", "Overwrite"),
        ("--quiet", "trace hash"),
    ] {
        let line = text
            .lines()
            .position(|l| l.contains(flag))
            .unwrap_or_else(|| panic!("{flag} missing from: {text}"));
        // clap prints the flag and, on the same or the next line, its explanation.
        let around: String = text.lines().skip(line).take(2).collect();
        assert!(around.contains(words), "{flag} not explained: {around}");
    }
}

#[test]
fn readme_first_command_prints_a_report_with_a_trace_hash() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let first = readme
        .lines()
        .find(|l| l.trim_start().starts_with("cargo run"))
        .expect("a cargo run command in the README");
    let args: Vec<&str> = first
        .split_once(" -- ")
        .expect("arguments after --")
        .1
        .split_whitespace()
        .collect();
    assert_eq!(args, ["run", "scenarios/ping-partition.ron"]);
    let out = clustersim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for part in [
        "clustersim run: ping-partition (seed 42)",
        "events ",
        "messages sent ",
        "delivered ",
        "dropped ",
        "duplicated ",
        "faults applied 2",
        "virtual time 10.000000s",
        "wall time ",
        "PASS Liveness",
    ] {
        assert!(text.contains(part), "`{part}` missing from:\n{text}");
    }
    let hash = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("trace hash: "))
        .expect("trace hash line");
    assert_eq!(hash.len(), 16);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn trace_and_history_files_in_jsonl_and_ron() {
    let jsonl = scratch("t.jsonl");
    let ron_trace = scratch("t.ron");
    let history = scratch("h.jsonl");
    let history_ron = scratch("h.ron");
    let run = |trace: &PathBuf, hist: &PathBuf| {
        clustersim(&[
            "run",
            "scenarios/ping-partition.ron",
            "--quiet",
            "--trace",
            trace.to_str().unwrap(),
            "--history",
            hist.to_str().unwrap(),
        ])
    };
    let a = run(&jsonl, &history);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = run(&ron_trace, &history_ron);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    // Writing files does not change the run.
    assert_eq!(stdout(&a), stdout(&b));

    let lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(lines.len() > 500, "{} lines", lines.len());
    assert!(lines
        .iter()
        .all(|l| l.starts_with("{\"t_ns\":") && l.ends_with('}')));
    for kind in ["send", "deliver", "drop", "timer", "start", "fault", "op"] {
        let tag = format!("\"kind\":\"{kind}\"");
        assert!(lines.iter().any(|l| l.contains(&tag)), "no {kind} event");
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("\"fault\":\"partition [n1] | [n2,n3]\"")));
    assert!(lines.iter().any(|l| l.contains("\"reason\":\"partition\"")));

    let ron_text = std::fs::read_to_string(&ron_trace).unwrap();
    let events: Vec<clustersim::trace::TraceEvent> =
        ron::from_str(&ron_text).expect("the RON trace parses back");
    assert_eq!(events.len(), lines.len());

    let hist = std::fs::read_to_string(&history).unwrap();
    assert!(hist.lines().count() > 100);
    assert!(hist.lines().any(|l| l.contains("\"phase\":\"Invoke\"")));
    assert!(hist.lines().any(|l| l.contains("\"phase\":\"Info\"")));
    let hist_ron = std::fs::read_to_string(&history_ron).unwrap();
    assert!(hist_ron.contains("Invoke") && hist_ron.contains("Ping"));

    // Existing files are kept unless --force.
    let again = run(&jsonl, &history);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists; pass --force"));
    let forced = clustersim(&[
        "run",
        "scenarios/ping-partition.ron",
        "--quiet",
        "--force",
        "--trace",
        jsonl.to_str().unwrap(),
    ]);
    assert!(forced.status.success());
}

#[test]
fn seed_and_max_time_flags_override_the_file() {
    let out = clustersim(&[
        "run",
        "scenarios/ping-partition.ron",
        "--seed",
        "5",
        "--max-time",
        "1s",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(seed 5)"), "{text}");
    assert!(text.contains("bounds 1s / "), "{text}");
    // The partition at 2s is never reached: no fault is applied.
    assert!(text.contains("faults applied 0"), "{text}");
    assert!(
        text.contains("time limit 1s reached at virtual time 1.000000s"),
        "{text}"
    );
}

#[test]
fn bundled_ping_scenarios_pass_their_checks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("ping-") && n.ends_with(".ron"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let path = format!("scenarios/{name}");
        let out = clustersim(&["run", &path, "--quiet"]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{name}:\n{text}");
        assert!(text.contains("PASS Liveness"), "{name}:\n{text}");
    }
}

#[test]
fn a_closed_output_pipe_ends_the_run_with_its_own_exit_code_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "scenarios/ping-partition.ron",
            "--timeline",
            "--color",
            "never",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clustersim");
    // Read the first bytes, then hang up, as `| head -1` does; the timeline is far larger than
    // a pipe's buffer, so the binary is still writing.
    let mut first = [0u8; 64];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_readme_usage_block_names_every_flag_of_every_subcommand() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## Using it").expect("a usage section");
    let block: String = readme[start..]
        .lines()
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n");
    // Every subcommand `--help` lists, so a new one cannot be left out of the README.
    let top = stdout(&clustersim(&["--help"]));
    let subs: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .collect();
    assert!(subs.len() >= 8, "{top}");
    for sub in subs {
        let line = block
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("clustersim {sub} ")))
            .unwrap_or_else(|| panic!("no `clustersim {sub}` in the usage block:\n{block}"));
        // The subcommand's lines: its own and the indented continuation lines under it.
        let usage: String = block
            .lines()
            .skip(line)
            .enumerate()
            .take_while(|(i, l)| *i == 0 || !l.trim_start().starts_with("clustersim"))
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n");
        let help = stdout(&clustersim(&[sub, "--help"]));
        let flags: Vec<&str> = help
            .split_whitespace()
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| w.trim_end_matches(','))
            .filter(|w| {
                *w != "--help"
                    && w.chars()
                        .skip(2)
                        .all(|c| c.is_ascii_lowercase() || c == '-')
            })
            .collect();
        assert!(flags.len() >= 4, "{sub}: {help}");
        for flag in flags {
            assert!(
                usage.contains(flag),
                "`clustersim {sub} --help` lists {flag}, the README's usage block does not:\n{usage}"
            );
        }
    }
}

#[test]
fn an_undecided_check_exits_1_and_the_report_says_what_was_not_judged() {
    // With Liveness added, it has no call after the heal to judge: UNKNOWN, not PASS.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hunt/queue-idempotent-nemesis.ron"),
    )
    .unwrap()
    .replace(
        "checks: [NoLostTasks, NoLostEffects, NoDuplicateEffects]",
        "checks: [NoLostTasks, NoLostEffects, NoDuplicateEffects, Liveness]",
    );
    assert!(text.contains("Liveness]"));
    let dir = std::env::temp_dir().join(format!("clustersim-undecided-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("queue-liveness.ron");
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let o = clustersim(&["run", file]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("UNKNOWN Liveness"), "{text}");
    assert!(
        text.contains("not everything was judged: undecided Liveness (no call completed"),
        "{text}"
    );
    let quiet = clustersim(&["run", file, "--quiet"]);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("not everything was judged"));
}

#[test]
fn the_last_seed_is_explored_and_a_sweep_stops_there() {
    let max = u64::MAX.to_string();
    let one = clustersim(&[
        "explore",
        "scenarios/ping-partition.ron",
        "--first-seed",
        &max,
        "--seeds",
        "1",
    ]);
    let text = stdout(&one);
    assert_eq!(one.status.code(), Some(0), "{text}");
    assert!(text.contains("1 runs, 0 failing"), "{text}");
    let run = clustersim(&[
        "run",
        "scenarios/ping-partition.ron",
        "--seed",
        &max,
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(0));
    let near = (u64::MAX - 4).to_string();
    let timed = clustersim(&[
        "explore",
        "scenarios/ping-partition.ron",
        "--first-seed",
        &near,
        "--time",
        "60s",
        "--jobs",
        "1",
    ]);
    let text = stdout(&timed);
    assert_eq!(timed.status.code(), Some(0), "{text}");
    assert!(text.contains("5 runs, 0 failing"), "{text}");
    assert!(text.contains("ran out of seeds"), "{text}");
    let past = clustersim(&[
        "explore",
        "scenarios/ping-partition.ron",
        "--first-seed",
        &max,
        "--seeds",
        "2",
    ]);
    assert_eq!(past.status.code(), Some(2));
}

#[test]
fn check_refuses_a_protocol_it_cannot_search_before_printing_anything() {
    // PrimaryBackup is registered without `Registry::searchable`: no header may promise a
    // search that cannot run.
    let out = clustersim(&["check", "scenarios/kv-single-node.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("`PrimaryBackup` cannot be searched exhaustively"));
}

/// A reader that goes away (`clustersim run ... | head`) leaves the exit code one of 0, 1 and
/// 2, never a panic's 101: both output streams closed before the run prints anything.
#[test]
fn a_closed_output_pipe_never_turns_the_exit_code_into_a_panic() {
    for args in [
        &["run", "scenarios/raft-1000-ops.ron", "--timeline"][..],
        &["run", "scenarios/worker-crash-naive.ron"][..],
        &["run", "scenarios/no-such-file.ron"][..],
    ] {
        for _ in 0..5 {
            let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawns");
            drop(child.stdout.take());
            drop(child.stderr.take());
            let code = child.wait().expect("waits").code();
            assert!(matches!(code, Some(0..=2)), "{args:?}: exit {code:?}");
        }
    }
}

/// A goal's line says in how many of all the runs it was reached, even for one that counts only
/// when reached (`ctx.reachable`), which said "in N of N runs" before.
#[test]
fn explore_counts_every_goal_out_of_all_its_runs() {
    let out = clustersim(&[
        "explore",
        "scenarios/hunt/raft-disk-nemesis.ron",
        "--seeds",
        "60",
    ]);
    let text = stdout(&out);
    let repair = text
        .lines()
        .find(|l| l.contains("reached a follower asks the leader to repair"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(repair.contains(" of 60 runs, first seed"), "{repair}");
    let reached: u64 = repair
        .split(": in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(reached > 0 && reached < 60, "{repair}");
}

/// Output that cannot be written is an error (exit 2, said on standard error), not a silent
/// success; a reader that goes away (`| head`) is not.
#[test]
fn a_full_disk_under_standard_output_is_an_error_and_a_closed_pipe_is_not() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here: nothing to test");
        return;
    };
    for args in [
        vec!["run", "scenarios/ping-partition.ron"],
        vec!["run", "scenarios/ping-partition.ron", "--timeline"],
        vec!["--help"],
        vec!["check", "--help"],
        // The debugger's address is never seen: it does not serve unseen.
        vec!["debug", "scenarios/ping-partition.ron", "--port", "0"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .stdout(full.try_clone().unwrap())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run clustersim");
        // A command that goes on regardless (a server) fails here instead of hanging the test.
        let mut waited = 0;
        while child.try_wait().expect("waits").is_none() {
            if waited > 600 {
                let _ = child.kill();
                panic!("{args:?} still runs after 60 s with nowhere to write");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        let out = child.wait_with_output().expect("waits");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot write to standard output"), "{err}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "scenarios/ping-partition.ron", "--timeline"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run clustersim");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Timeline options that would draw nothing are refused with a reason (exit 2): a `--from`
/// past the run's end, a `--messages` type the run never sent; a resume of a node that was not
/// paused is no row of the picture (nothing happened).
#[test]
fn timeline_options_that_draw_nothing_are_refused_and_idle_resumes_are_not_drawn() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .expect("run clustersim");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let file = "scenarios/ping-crash-restart.ron";
    let (code, _, err) = run(&["run", file, "--timeline", "--from", "500s"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--from 500s is past the end of the run"),
        "{err}"
    );
    let (code, _, err) = run(&["run", file, "--timeline", "--messages", "Ping,Nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`Nope`") && err.contains("Ping"), "{err}");
    let (code, out, err) = run(&[
        "run",
        file,
        "--timeline",
        "--messages",
        "Pong",
        "--lines",
        "0",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("FAULT resume n3"), "{out}");
    // The same run with a second resume of n3 at 7s, when it is no longer paused.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap()
        .replace(
            "(at: \"6s\", fault: Resume(\"n3\")),",
            "(at: \"6s\", fault: Resume(\"n3\")), (at: \"7s\", fault: Resume(\"n3\")),",
        );
    let dir = std::env::temp_dir().join(format!("cs-idle-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let twice = dir.join("twice.ron");
    std::fs::write(&twice, text).unwrap();
    let (code, out, err) = run(&[
        "run",
        twice.to_str().unwrap(),
        "--timeline",
        "--messages",
        "Pong",
        "--lines",
        "0",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches("FAULT resume n3").count(), 1, "{out}");
}
