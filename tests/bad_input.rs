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
    let text = edit("Ping()", "Paxos()");
    rejects(
        "proto.ron",
        &text,
        &["proto.ron:5:15:", "`Paxos`", "`Ping`"],
    );
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
