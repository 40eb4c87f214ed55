//! Bad input through the binary: every broken scenario or command line exits 2 with a sentence
//! that names the file (line and column for syntax) and the valid choices, never a panic.

use std::path::PathBuf;
use std::process::Command;

/// A scenario that is valid except for the part a test replaces.
const GOOD: &str = r#"(
    name: "bad",
    bounds: (max_time: "1s", max_events: 1000),
    nodes: [(role: "n", count: 3)],
    protocol: Ping(),
    network: (default: (latency: Uniform(min: "1ms", max: "2ms"), drop: 0.1)),
    faults: [(at: "100ms", fault: Crash("n1"))],
    checks: [Liveness],
)"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clustersim-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs the binary with `args`; returns (exit code, stderr, stdout).
fn clustersim_out(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run clustersim");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), stderr, stdout)
}

/// Runs the binary with `args`; returns (exit code, stderr).
fn clustersim(args: &[&str]) -> (i32, String) {
    let (code, stderr, _) = clustersim_out(args);
    (code, stderr)
}

/// Writes `text` to a scenario file named `name`, runs it and checks exit code 2, no panic, and
/// that stderr contains every one of `expected`.
fn rejects(name: &str, text: &str, expected: &[&str]) {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    // Without --quiet: bad input must stop before the report header is printed.
    let (code, stderr, stdout) = clustersim_out(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{name}: exit {code}, stderr: {stderr}");
    assert_eq!(stdout, "", "{name}: printed before failing");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{name}: {stderr}");
    assert!(stderr.starts_with("error: "), "{name}: {stderr}");
    assert!(stderr.contains(name), "{name}: file not named in {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{name}: expected `{e}` in: {stderr}");
    }
}

fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_base_scenario_is_valid() {
    let path = scratch("good.ron");
    std::fs::write(&path, GOOD).unwrap();
    let (code, stderr) = clustersim(&["run", path.to_str().unwrap(), "--quiet"]);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    // The comma after `bounds` (line 3) is missing: ron notices at the start of line 4.
    let text = edit("max_events: 1000),", "max_events: 1000)");
    rejects("syntax.ron", &text, &["syntax.ron:4:5:", "Expected comma"]);
}

#[test]
fn unknown_field_names_the_expected_fields() {
    let text = edit("checks:", "colour: 3,\n    checks:");
    rejects(
        "field.ron",
        &text,
        &[
            "field.ron:8:5:",
            "`colour`",
            "`name`",
            "`bounds`",
            "`nemesis`",
        ],
    );
}

#[test]
fn unknown_protocol_names_the_valid_ones() {
    let text = edit("Ping()", "Zab()");
    rejects("proto.ron", &text, &["proto.ron:5:15:", "`Zab`", "`Ping`"]);
}

#[test]
fn a_misspelled_field_inside_a_fault_is_an_error_not_a_default() {
    let text = edit("Crash(\"n1\")", "PowerLoss(node: \"n1\", kep: Prefix)");
    rejects("fault_field.ron", &text, &["`kep`", "`keep`", "`torn`"]);
    let text = edit("Crash(\"n1\")", "ClockSkew(node: \"n1\", ofset: \"5ms\")");
    rejects("fault_field2.ron", &text, &["`ofset`", "`offset`"]);
}

#[test]
fn unknown_fault_kind_and_check_name_the_valid_ones() {
    let text = edit("Crash(\"n1\")", "Explode(\"n1\")");
    rejects(
        "fault_kind.ron",
        &text,
        &["`Explode`", "`Partition`", "`ClockDrift`"],
    );
    let text = edit("[Liveness]", "[Serializable]");
    rejects("check.ron", &text, &["`Serializable`", "`Liveness`"]);
    let text = edit(
        "faults:",
        "nemesis: (kinds: [Meteor], interval: \"1s\", min_duration: \"1ms\", max_duration: \"2ms\"),\n    faults:",
    );
    rejects(
        "nemesis.ron",
        &text,
        &["`Meteor`", "`Crash`", "`ClockSkew`"],
    );
}

#[test]
fn unknown_node_in_a_fault_names_the_valid_nodes() {
    let text = edit("Crash(\"n1\")", "Crash(\"n9\")");
    rejects(
        "node.ron",
        &text,
        &[
            "faults[0]",
            "`n9`",
            "valid nodes: n1, n2, n3",
            "valid roles: n",
        ],
    );
    let text = edit("Crash(\"n1\")", "Partition([[\"n1\"], [\"server\"]])");
    rejects("group.ron", &text, &["`server`", "valid nodes: n1, n2, n3"]);
}

#[test]
fn role_given_to_a_single_node_fault_names_its_members() {
    let text = edit("Crash(\"n1\")", "Pause(\"n\")");
    rejects(
        "role.ron",
        &text,
        &["`n` is a role with 3 nodes", "one of: n1, n2, n3"],
    );
}

#[test]
fn zero_bounds_are_rejected_with_a_sentence() {
    let text = edit("max_time: \"1s\"", "max_time: \"0ms\"");
    rejects(
        "zero_time.ron",
        &text,
        &["bounds.max_time must be greater than zero"],
    );
    let text = edit("max_events: 1000", "max_events: 0");
    rejects(
        "zero_events.ron",
        &text,
        &["bounds.max_events must be greater than zero"],
    );
    let text = edit("max_events: 1000", "max_events: -5");
    rejects("negative_events.ron", &text, &["negative_events.ron:3:"]);
}

#[test]
fn bad_duration_unit_names_the_valid_units() {
    let text = edit("max_time: \"1s\"", "max_time: \"1 parsec\"");
    rejects(
        "unit.ron",
        &text,
        &[
            "unit.ron:3:",
            "unknown unit `parsec`",
            "ns, us, ms, s, m, h",
        ],
    );
    let text = edit("max_time: \"1s\"", "max_time: \"10\"");
    rejects("no_unit.ron", &text, &["has no unit"]);
    let text = edit("max_time: \"1s\"", "max_time: 10");
    rejects(
        "bare_number.ron",
        &text,
        &["bare_number.ron:3:", "duration 10 has no unit", "\"10ms\""],
    );
    let text = edit("max_time: \"1s\"", "max_time: -10");
    rejects(
        "negative_time.ron",
        &text,
        &[
            "negative_time.ron:3:",
            "a duration string with a unit",
            "`-10`",
        ],
    );
}

#[test]
fn impossible_link_parameters_are_rejected() {
    let text = edit("drop: 0.1", "drop: 1.5");
    rejects(
        "drop.ron",
        &text,
        &[
            "network.default",
            "drop probability must be between 0 and 1, got 1.5",
        ],
    );
    let text = edit("min: \"1ms\", max: \"2ms\"", "min: \"5ms\", max: \"2ms\"");
    rejects(
        "uniform.ron",
        &text,
        &["uniform latency has min 5ms greater than max 2ms"],
    );
}

#[test]
fn node_groups_must_be_unambiguous() {
    let text = edit("count: 3", "count: 3, names: [\"a\", \"b\"]");
    rejects("both.ron", &text, &["gives both count and names; give one"]);
    let text = edit(
        "nodes: [(role: \"n\", count: 3)]",
        "nodes: [(role: \"n\", names: [\"n1\", \"n2\"]), (role: \"m\", names: [\"n2\"])]",
    );
    rejects("dup.ron", &text, &["node name `n2` is used twice"]);
    let text = edit("nodes: [(role: \"n\", count: 3)]", "nodes: []");
    rejects("empty.ron", &text, &["nodes is empty"]);
}

#[test]
fn missing_file_is_named() {
    let (code, stderr) = clustersim(&["run", "scenarios/no-such-file.ron"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("scenarios/no-such-file.ron: cannot read scenario"));
}

#[test]
fn bad_command_lines_exit_two() {
    let (code, stderr) = clustersim(&["run", "scenarios/ping-partition.ron", "--trace", "out.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot tell the format of `out.txt`; use a .jsonl or .ron"));
    let (code, stderr) = clustersim(&["run", "scenarios/ping-partition.ron", "--seed", "x"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--seed"), "{stderr}");
    let (code, stderr) = clustersim(&["run", "scenarios/ping-partition.ron", "--max-time", "5"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("has no unit"), "{stderr}");
    let (code, stderr) = clustersim(&["walk"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unrecognized subcommand 'walk'"),
        "{stderr}"
    );
    let (code, stderr) = clustersim(&["run", "scenarios/ping-partition.ron", "--max-time", "0s"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--max-time must be greater than zero"),
        "{stderr}"
    );
}

#[test]
fn huge_counts_extreme_numbers_and_endless_files_are_refused_with_exit_2() {
    rejects(
        "many_nodes.ron",
        &edit("count: 3", "count: 4294967295"),
        &["4294967295 nodes", "at most 1000000"],
    );
    rejects(
        "drift.ron",
        &edit(
            "Crash(\"n1\")",
            "ClockDrift(node: \"n1\", ppm: -9223372036854775808)",
        ),
        &["between -999999 and 999999"],
    );
    rejects(
        "offset.ron",
        &edit(
            "Crash(\"n1\")",
            "ClockSkew(node: \"n1\", offset: \"9223372036854775808ns\")",
        ),
        &["is too large"],
    );
    rejects(
        "keys.ron",
        &edit("checks:", "workload: (keys: 4294967295),\n    checks:"),
        &["workload.keys", "at most 1000000"],
    );
    // A device that never ends is not read to the end.
    if std::path::Path::new("/dev/zero").exists() {
        let (code, stderr) = clustersim(&["run", "/dev/zero"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("larger than 16 MiB"), "{stderr}");
    }
}

#[test]
fn checks_all_runs_every_check_that_applies_to_the_protocol() {
    let path = scratch("all.ron");
    std::fs::write(&path, edit("[Liveness]", "[All]")).unwrap();
    let (code, _, stdout) = clustersim_out(&["run", path.to_str().unwrap(), "--quiet"]);
    assert!(code == 0 || code == 1, "{code}: {stdout}");
    // Ping lists no checks of its own: All is Liveness alone.
    assert!(stdout.contains("Liveness"), "{stdout}");
    assert!(!stdout.contains("Linearizable"), "{stdout}");
}

/// Runs `args` and asserts exit 2 with every one of `expected` in stderr and no panic.
fn refused(args: &[&str], expected: &[&str]) {
    let (code, stderr) = clustersim(args);
    assert_eq!(code, 2, "{args:?}: exit {code}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("use '--"),
        "{args:?}: clap's tip instead of ours: {stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: expected `{e}` in: {stderr}");
    }
}

#[test]
fn negative_zero_and_oversized_command_line_numbers_get_a_sentence() {
    let s = "scenarios/ping-partition.ron";
    refused(&["run", s, "--seed", "-1"], &["--seed", "must be >= 0"]);
    refused(
        &["run", s, "--max-time", "-5ms"],
        &["negative", "must be >= 0"],
    );
    refused(&["run", s, "--from", "-1s", "--timeline"], &["negative"]);
    refused(&["explore", s, "--seeds", "0"], &["--seeds must be >= 1"]);
    refused(&["explore", s, "--seeds", "-3"], &["--seeds must be >= 1"]);
    refused(
        &["explore", s, "--jobs", "0"],
        &["--jobs must be between 1 and 1024"],
    );
    refused(
        &["explore", s, "--jobs", "100000"],
        &["more than 1024 threads"],
    );
    refused(&["explore", s, "--first-seed", "-2"], &["must be >= 0"]);
    refused(
        &[
            "explore",
            s,
            "--first-seed",
            "18446744073709551615",
            "--seeds",
            "10",
        ],
        &["runs past the last seed"],
    );
    refused(
        &["shrink", s, "--seed", "1", "--max-runs", "0"],
        &["must be >= 1 run"],
    );
    refused(
        &["explore", s, "--max-shrink-runs", "0"],
        &["must be >= 1 run"],
    );
    refused(&["run", s, "--max-memory", "12"], &["no unit"]);
    refused(&["run", s, "--max-memory", "-1GiB"], &["must be >= 0"]);
    refused(&["run", s, "--max-memory", "10KiB"], &["at least 1 MiB"]);
    // A size without a unit suggests one that would be accepted.
    refused(&["run", s, "--max-memory", "0"], &["no unit", "\"1MiB\""]);
}

/// The scenario file's `max_memory` is held to the command line's floor, with its position.
#[test]
fn a_memory_budget_below_the_floor_in_a_file_is_refused_where_it_is_written() {
    rejects(
        "tiny-budget.ron",
        &edit(
            r#"bounds: (max_time: "1s", max_events: 1000),"#,
            r#"bounds: (max_time: "1s", max_events: 1000, max_memory: "512KiB"),"#,
        ),
        &["tiny-budget.ron:3:", "at least 1 MiB"],
    );
}

#[test]
fn outputs_never_collide_never_overwrite_the_input_and_stay_in_their_folder() {
    let dir = scratch("outputs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = |name: &str| dir.join(name).display().to_string();
    let s = "scenarios/ping-partition.ron";
    refused(
        &[
            "run",
            s,
            "--trace",
            &d("same.jsonl"),
            "--history",
            &d("same.jsonl"),
        ],
        &["--history and --trace both name", "same.jsonl"],
    );
    refused(
        &["run", s, "--svg", &d("p/latency.svg"), "--plots", &d("p")],
        &["both name", "latency.svg"],
    );
    // The scenario itself is never an output, even with --force (and is left as it was).
    let input = d("self.ron");
    std::fs::copy(s, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    refused(
        &["run", &input, "--trace", &input, "--force"],
        &["would overwrite the scenario being run"],
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // --out naming a file is refused in words, not "File exists (os error 17)".
    let file = d("plain-file");
    std::fs::write(&file, "x").unwrap();
    refused(
        &[
            "explore",
            "scenarios/zoo/queue-naive-lpop.ron",
            "--out",
            &file,
        ],
        &["is a file, not a directory"],
    );
    // A scenario name with separators or `..` becomes a file stem inside --out.
    for (name, stem) in [
        ("../escaped", "escaped"),
        ("", "seed"),
        ("/abs/path", "abs-path"),
    ] {
        let text = std::fs::read_to_string("scenarios/zoo/queue-naive-lpop.ron")
            .unwrap()
            .replacen(
                "name: \"zoo-queue-naive-lpop\"",
                &format!("name: {name:?}"),
                1,
            );
        let file = d("named.ron");
        std::fs::write(&file, text).unwrap();
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        let (code, stderr, stdout) = clustersim_out(&[
            "explore",
            &file,
            "--seeds",
            "200",
            "--out",
            out.to_str().unwrap(),
            "--max-shrink-runs",
            "50",
        ]);
        assert_eq!(code, 1, "{name}: {stderr}{stdout}");
        let written: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(written.len(), 1, "{name}: {written:?}");
        assert!(
            written[0].contains(stem) && written[0].ends_with("-min.ron"),
            "{name}: {written:?}"
        );
        assert!(!dir.join("escaped-seed0-min.ron").exists());
    }
}

#[test]
fn faults_that_do_nothing_are_warned_about_not_refused() {
    let text = edit(
        "faults: [(at: \"100ms\", fault: Crash(\"n1\"))]",
        "faults: [(at: \"50ms\", fault: Restart(\"n2\")), (at: \"60ms\", fault: Resume(\"n3\")), \
         (at: \"70ms\", fault: Partition([])), (at: \"80ms\", fault: Partition([[]])), \
         (at: \"90ms\", fault: Cut(from: [], to: [\"n1\"])), (at: \"100ms\", fault: Crash(\"n1\")), \
         (at: \"200ms\", fault: Crash(\"n1\"))]",
    );
    let path = scratch("idle.ron");
    std::fs::write(&path, text).unwrap();
    let (code, stderr, stdout) = clustersim_out(&["run", path.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
    let header: String = stdout
        .lines()
        .take_while(|l| !l.contains("PASS") && !l.contains("FAIL") && !l.contains("UNKNOWN"))
        .collect::<Vec<_>>()
        .join("\n");
    for w in [
        "faults[0] (at 50ms): Restart(\"n2\") restarts a node that is not down",
        "faults[1] (at 60ms): Resume(\"n3\") resumes a node that is not paused",
        "faults[2] (at 70ms): the partition names no node",
        "faults[3] (at 80ms): the partition names no node",
        "faults[4] (at 90ms): the cut has an empty side",
        "faults[6] (at 200ms): Crash(\"n1\") crashes a node already down",
    ] {
        assert!(
            header.contains(&format!("warning: {w}")),
            "missing `{w}` in:\n{header}"
        );
    }
    assert!(!header.contains("faults[5]"), "{header}");
    // With --quiet the warnings go to standard error.
    let (_, stderr, _) = clustersim_out(&["run", path.to_str().unwrap(), "--quiet"]);
    assert!(stderr.contains("warning: faults[0]"), "{stderr}");
}

#[test]
fn silently_accepted_values_are_now_refused_or_explained() {
    rejects(
        "keys0.ron",
        &edit("checks:", "workload: (keys: 0),\n    checks:"),
        &["workload.keys must be at least 1"],
    );
    rejects(
        "timeout0.ron",
        &edit("checks:", "workload: (timeout: \"0ns\"),\n    checks:"),
        &["workload.timeout must be greater than zero"],
    );
    rejects(
        "negative.ron",
        &edit("max_time: \"1s\"", "max_time: \"-5ms\""),
        &["negative", "must be >= 0"],
    );
    rejects(
        "no-names.ron",
        &edit("count: 3", "names: []"),
        &["empty names list"],
    );
    // Control characters in names are refused and shown escaped, never echoed raw.
    let (code, stderr) = {
        let path = scratch("esc.ron");
        std::fs::write(
            &path,
            edit("count: 3", "names: [\"a\\u{1b}[31m\", \"b\\u{0}\"]"),
        )
        .unwrap();
        clustersim(&["run", path.to_str().unwrap()])
    };
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("control characters"), "{stderr}");
    assert!(stderr.contains("\\u{1b}"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "raw escape echoed: {stderr:?}");
    // A byte-order mark is skipped; a byte that is not UTF-8 is placed by line and column.
    let bom = scratch("bom.ron");
    std::fs::write(&bom, format!("\u{feff}{GOOD}")).unwrap();
    let (code, stderr) = clustersim(&["run", bom.to_str().unwrap(), "--quiet"]);
    assert!(code == 0 || code == 1, "{stderr}");
    let bad = scratch("latin1.ron");
    let mut bytes = GOOD.replacen("\"bad\"", "\"b\u{0}d\"", 1).into_bytes();
    let at = bytes.iter().position(|&b| b == 0).unwrap();
    bytes[at] = 0xe9;
    std::fs::write(&bad, bytes).unwrap();
    let (code, stderr) = clustersim(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("latin1.ron:2:13: byte 0xe9 is not UTF-8"),
        "{stderr}"
    );
}

#[test]
fn a_run_that_would_outgrow_its_memory_budget_stops_with_exit_2_naming_the_knob() {
    // Endless bounds and a ping every millisecond: the history grows without end.
    let text = edit(
        "max_time: \"1s\", max_events: 1000",
        "max_time: \"2562047h\", max_events: 18446744073709551615",
    )
    .replacen("Ping()", "Ping(interval: \"1ms\")", 1);
    let path = scratch("runaway.ron");
    std::fs::write(&path, &text).unwrap();
    let (code, stderr) = clustersim(&["run", path.to_str().unwrap(), "--max-memory", "32MiB"]);
    assert_eq!(code, 2, "{stderr}");
    for words in [
        "memory budget of 32 MiB",
        "the history",
        "lower max_time",
        "--max-memory",
    ] {
        assert!(stderr.contains(words), "`{words}` not in: {stderr}");
    }
    // The same budget in the file.
    let in_file = text.replacen(
        "max_events: 18446744073709551615",
        "max_events: 18446744073709551615, max_memory: \"32MiB\"",
        1,
    );
    std::fs::write(&path, in_file).unwrap();
    let (code, stderr) = clustersim(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("memory budget of 32 MiB"), "{stderr}");
    // explore stops the same way instead of growing on every core.
    let (code, stderr) = clustersim(&["explore", path.to_str().unwrap(), "--seeds", "2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("memory budget"), "{stderr}");
    // Nodes that alone exceed the budget are refused before anything is allocated for them.
    rejects(
        "big.ron",
        &edit("count: 3", "count: 1000000").replacen(
            "max_events: 1000",
            "max_events: 1000, max_memory: \"64MiB\"",
            1,
        ),
        &[
            "1000000 nodes need about",
            "over the memory budget of 64 MiB",
            "lower the node count",
        ],
    );
}

#[test]
fn pictures_of_a_long_run_are_drawn_in_a_window_that_the_report_names() {
    let dir = scratch("pictures");
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("ping-1000.svg");
    let _ = std::fs::remove_file(&svg);
    let (code, stderr, stdout) = clustersim_out(&[
        "run",
        "scenarios/ping-1000.ron",
        "--max-time",
        "3s",
        "--svg",
        svg.to_str().unwrap(),
        "--timeline",
        "--nodes",
        "node1,node2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("more than a picture holds (50000)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("choose another window with --from and --to"),
        "{stderr}"
    );
    let size = std::fs::metadata(&svg).unwrap().len();
    assert!(size < 40 << 20, "svg of {size} bytes");
    // The timeline's header shows the window it drew, which ends before the run did.
    let head = stdout.lines().find(|l| l.starts_with("timeline ")).unwrap();
    assert!(!head.contains(".. 3.000000s"), "{head}");
}

/// Nodes that allocate lists of every peer grow with the square of the cluster: 30,000 and
/// 100,000 Raft servers are refused up front, naming the knob, instead of aborting the process.
#[test]
fn a_cluster_whose_nodes_would_not_fit_is_refused_before_it_boots() {
    let dir = std::env::temp_dir().join(format!("clustersim-heap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    for count in [30_000, 100_000] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-1000-ops.ron"),
        )
        .expect("reads")
        .replace(
            r#"(role: "server", count: 5)"#,
            &format!(r#"(role: "server", count: {count})"#),
        );
        let file = dir.join(format!("raft-{count}.ron"));
        std::fs::write(&file, text).expect("writes");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .args([
                "run",
                file.to_str().expect("utf-8"),
                "--max-memory",
                "512MiB",
            ])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{count}: {err}");
        assert!(
            err.contains("once booted") && err.contains("512 MiB"),
            "{count}: {err}"
        );
        assert!(err.contains("--max-memory"), "{count}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node that keeps 1 KiB more on every tick (a log never compacted), saying so through
/// `Node::heap_bytes` when `honest`.
#[derive(Debug)]
struct Hoarder {
    kept: Vec<Vec<u8>>,
    honest: bool,
}

impl clustersim::Node for Hoarder {
    type Msg = ();
    type Timer = ();
    type Stored = ();

    fn on_start(&mut self, ctx: &mut clustersim::Context<'_, Self>) {
        ctx.set_timer(clustersim::Duration::from_micros(10), ());
    }

    fn on_message(&mut self, _: &mut clustersim::Context<'_, Self>, _: clustersim::NodeId, _: ()) {}

    fn on_timer(&mut self, ctx: &mut clustersim::Context<'_, Self>, _: ()) {
        self.kept.push(vec![1; 1 << 10]);
        ctx.set_timer(clustersim::Duration::from_micros(10), ());
    }

    fn heap_bytes(&self) -> u64 {
        if self.honest {
            self.kept.iter().map(|v| v.capacity() as u64).sum()
        } else {
            0
        }
    }
}

/// Nodes that grow as they run are seen by the run's memory budget after boot too: the run
/// stops at its budget, naming the nodes, where it would otherwise go on allocating.
#[test]
fn nodes_that_grow_after_boot_stop_the_run_at_its_budget() {
    use clustersim::net::{LinkSpec, Network};
    use clustersim::node::{NodeFactory, Roster};
    use clustersim::sim::{Bounds, Sim, SimConfig, StopReason};
    let run = |honest: bool| {
        let roster = Roster::new((0..4).map(|i| (format!("n{i}"), "n".to_string())));
        let config = SimConfig::new(roster, Network::new(4, LinkSpec::default())).bounds(
            // 4 nodes, 1 KiB each per 10 us: 16 MiB after about 41 ms of the 100 ms (40,000
            // events; the budget is checked every 4,096).
            Bounds::new(clustersim::Duration::from_millis(100), 10_000_000)
                .max_memory(clustersim::memory::Bytes(16 << 20)),
        );
        let factory: NodeFactory<Hoarder> = Box::new(move |_, _, _| Hoarder {
            kept: Vec::new(),
            honest,
        });
        Sim::new(config, factory).run()
    };
    let grown = run(true);
    assert_eq!(grown.stop, StopReason::MemoryBudget);
    assert!(grown.memory.total() > 16 << 20, "{:?}", grown.memory);
    assert!(grown.memory.nodes > 15 << 20, "{:?}", grown.memory);
    assert_eq!(grown.memory.culprit().0, "the nodes");
    assert!(grown.end_time < clustersim::SimTime(100_000_000));
    // A node that does not report what it holds is not seen: the run goes to its end.
    let unseen = run(false);
    assert_eq!(unseen.stop, StopReason::TimeLimit);
}
