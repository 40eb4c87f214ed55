//! Hostile input, generated: every bundled scenario file mutated at random (spans cut and
//! doubled, numbers swapped for extremes, strings for separators and control characters, bytes
//! flipped, invalid UTF-8), then loaded, validated and run under tight bounds, and a share of
//! the cases through the whole CLI with mutated command lines. Nothing may panic (in the loader,
//! the validator, a shipped protocol, a check or the CLI), no error may echo a control
//! character, and the CLI exits 0, 1 or 2 only. Histories are mutated the same way (EDN,
//! Jepsen logs, clustersim JSONL, with discards, tags, deep nesting) and read, judged and
//! passed to `check-history`; output paths are planted with files, hard links and symlinks to
//! the scenario, dangling links out of the folder, FIFOs and folders, and `run` must leave each
//! of them as the rules say.
//!
//! `FUZZ_CASES` sets the number of cases (default 400); `.ci/run` runs it for about a minute.
//! The cases come from a ChaCha stream seeded by `FUZZ_SEED` (default 0), so a failure replays.

use clustersim::registry::Registry;
use clustersim::scenario::{load, parse};
use clustersim::trace::TraceLevel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

static PANICS: AtomicUsize = AtomicUsize::new(0);

mod common;

/// The bundled scenarios (the 1,000-node ones left out: the small ones' shape at a size that
/// slows a case), with their text.
fn corpus() -> Vec<(String, String)> {
    common::scenario_files(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios"
    )))
    .into_iter()
    .filter(|p| !p.display().to_string().contains("-1000"))
    .map(|p| {
        (
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        )
    })
    .collect()
}

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "9223372036854775807",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "0.5",
    "1.0000001",
    "1000000",
    "1000001",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"..\"",
    "\"../x\"",
    "\"/tmp/abs\"",
    "\"\\u{0}\"",
    "\"\\u{1b}[31m\"",
    "\"0ns\"",
    "\"-5ms\"",
    "\"2562047h\"",
    "\"99999999999h\"",
    "\"1e30s\"",
    "\"5\"",
    "\"n1\"",
    "\"node\"",
    "\"server\"",
    "\"1ms\"",
    "\"a b\"",
];

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "Some(",
    "None",
    "All",
    "Crash(\"n1\")",
    "Heal",
    "Partition([])",
    "Cut(from: [], to: [])",
    "\u{feff}",
    "//",
    "/*",
    "\"",
    "r#\"",
];

/// One mutation of `text`.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return TOKENS[rng.random_range(0..TOKENS.len())].to_string();
    }
    let at = rng.random_range(0..chars.len());
    let span = rng.random_range(1..=40.min(chars.len() - at));
    let before: String = chars[..at].iter().collect();
    let after: String = chars[at + span..].iter().collect();
    let cut: String = chars[at..at + span].iter().collect();
    match rng.random_range(0..7) {
        0 => format!("{before}{after}"),
        1 => format!("{before}{cut}{cut}{after}"),
        2 => {
            // Replace the number nearest `at` with an extreme.
            let s: String = chars.iter().collect();
            let start = s
                .char_indices()
                .skip(at)
                .find(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i);
            match start {
                Some(i) => {
                    let end = s[i..]
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .map_or(s.len(), |e| i + e);
                    let n = NUMBERS[rng.random_range(0..NUMBERS.len())];
                    format!("{}{n}{}", &s[..i], &s[end..])
                }
                None => format!("{before}{after}"),
            }
        }
        3 => {
            // Replace the string nearest `at` with a hostile one.
            let s: String = chars.iter().collect();
            let byte_at = s.char_indices().nth(at).map_or(0, |(i, _)| i);
            match s[byte_at..].find('"').map(|i| byte_at + i) {
                Some(i) => match s[i + 1..].find('"').map(|j| i + 1 + j) {
                    Some(j) => {
                        let w = STRINGS[rng.random_range(0..STRINGS.len())];
                        format!("{}{w}{}", &s[..i], &s[j + 1..])
                    }
                    None => s,
                },
                None => s,
            }
        }
        4 => {
            let t = TOKENS[rng.random_range(0..TOKENS.len())];
            format!("{before}{t}{cut}{after}")
        }
        5 => {
            let c = char::from_u32(rng.random_range(0..0x80)).unwrap_or('?');
            format!("{before}{c}{after}")
        }
        _ => {
            // Move a span elsewhere.
            let rest = format!("{before}{after}");
            let n = rest.chars().count();
            let to = rng.random_range(0..=n);
            let (a, b): (String, String) = (
                rest.chars().take(to).collect(),
                rest.chars().skip(to).collect(),
            );
            format!("{a}{cut}{b}")
        }
    }
}

/// Loads, validates and runs one case in this process under tight bounds; returns whether it
/// got as far as a run. Panics (the harness counts them) are the bug this test looks for.
fn in_process(
    registry: &Registry,
    text: &str,
    bytes: Option<&[u8]>,
    file: &std::path::Path,
) -> bool {
    let scenario = match bytes {
        Some(b) => {
            std::fs::write(file, b).unwrap();
            load(file)
        }
        None => parse(text, "case.ron"),
    };
    let mut scenario = match scenario {
        Ok(s) => s,
        Err(_) => return false,
    };
    // Tight bounds keep each case short; validation still sees the file's own values first.
    let prepared = match registry.prepare(&scenario, "case.ron") {
        Ok(p) => p,
        Err(_) => return false,
    };
    drop(prepared);
    scenario.bounds.max_events = scenario.bounds.max_events.min(20_000);
    scenario.bounds.max_memory = clustersim::memory::Bytes(256 << 20);
    let Ok(prepared) = registry.prepare(&scenario, "case.ron") else {
        return false;
    };
    let (outcome, _) = prepared.run(TraceLevel::HashOnly);
    if let Some(p) = &outcome.panic {
        panic!(
            "a shipped protocol panicked on a scenario that passed validation: {} at {:?}\n{text}",
            p.message, p.location
        );
    }
    true
}

/// Runs one case through the clustersim binary with a mutated command line; returns the exit
/// code and standard error.
fn through_cli(
    file: &std::path::Path,
    out: &std::path::Path,
    rng: &mut ChaCha8Rng,
) -> (i32, String) {
    let f = file.display().to_string();
    let o = out.display().to_string();
    let extra: &[&[&str]] = &[
        &["--seed", "-1"],
        &["--seed", "18446744073709551615"],
        &["--max-time", "1ns"],
        &["--max-time", "-5ms"],
        &["--max-time", "2562047h"],
        &["--quiet"],
        &["--timeline", "--from", "1s", "--to", "0s"],
        &["--timeline", "--nodes", "n1,\u{1b}"],
        &["--max-memory", "1MiB"],
    ];
    let pick = extra[rng.random_range(0..extra.len())];
    let mut args: Vec<String> = match rng.random_range(0..3) {
        0 => vec!["run".into(), f, "--max-time".into(), "200ms".into()],
        1 => [
            "explore", &f, "--seeds", "3", "--jobs", "1", "--out", &o, "--force",
        ]
        .iter()
        .chain(&["--max-shrink-runs", "5", "--max-memory", "64MiB"])
        .map(|s| s.to_string())
        .collect(),
        _ => [
            "shrink",
            &f,
            "--seed",
            "1",
            "--out",
            &o,
            "--force",
            "--max-runs",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    };
    if args[0] == "run" {
        args.extend(pick.iter().map(|s| s.to_string()));
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(&args)
        .output()
        .expect("run clustersim");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn mutated_scenarios_and_command_lines_never_panic_and_exit_0_1_or_2() {
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let registry = Registry::shipped();
    let corpus = corpus();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = std::env::temp_dir().join(format!("clustersim-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("case.ron");
    let out = dir.join("out");
    let (mut ran, mut refused, mut cli_runs) = (0usize, 0usize, 0usize);
    let mut codes = [0usize; 3];
    for case in 0..cases {
        let (_, base) = &corpus[rng.random_range(0..corpus.len())];
        let mut text = base.clone();
        for _ in 0..rng.random_range(1..=4) {
            text = mutate(&text, &mut rng);
        }
        // One case in ten goes in as bytes with one made invalid UTF-8.
        let bytes = (rng.random_range(0..10) == 0).then(|| {
            let mut b = text.clone().into_bytes();
            if !b.is_empty() {
                let i = rng.random_range(0..b.len());
                b[i] = [0xff, 0xc3, 0x80, 0xfe][rng.random_range(0..4)];
            }
            b
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            in_process(&registry, &text, bytes.as_deref(), &file)
        }));
        match result {
            Ok(true) => ran += 1,
            Ok(false) => refused += 1,
            Err(e) => panic!(
                "case {case} (FUZZ_SEED={seed}) panicked: {:?}; the scenario:\n{text}",
                e.downcast_ref::<String>()
            ),
        }
        // One case in eight also goes through the CLI.
        if case % 8 == 0 {
            match &bytes {
                Some(b) => std::fs::write(&file, b).unwrap(),
                None => std::fs::write(&file, &text).unwrap(),
            }
            let (code, stderr) = through_cli(&file, &out, &mut rng);
            assert!(
                (0..=2).contains(&code) && !stderr.contains("panicked"),
                "case {case} (FUZZ_SEED={seed}): exit {code}: {stderr}\nthe scenario:\n{text}"
            );
            assert!(
                !stderr.chars().any(|c| c == '\u{1b}' || c == '\0'),
                "case {case}: stderr echoes a control character: {stderr:?}"
            );
            codes[code as usize] += 1;
            cli_runs += 1;
        }
        assert_eq!(
            PANICS.load(Ordering::SeqCst),
            0,
            "case {case} (FUZZ_SEED={seed}) panicked outside a run; the scenario:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "fuzz: {cases} cases (seed {seed}): {ran} ran, {refused} refused with an error; \
         {cli_runs} through the CLI: exit 0 x{}, 1 x{}, 2 x{}; 0 panics",
        codes[0], codes[1], codes[2]
    );
    // The mutations must leave enough cases valid to reach the engine, and break enough.
    assert!(ran * 20 >= cases, "only {ran} of {cases} cases ran");
    assert!(
        refused * 5 >= cases,
        "only {refused} of {cases} cases were refused"
    );
}

/// Tokens that stress the history readers: EDN's discards, tags, symbolic numbers and
/// nesting, Jepsen-log fields, a byte order mark.
const HISTORY_TOKENS: &[&str] = &[
    "#_",
    "#_ #_",
    "##NaN",
    "##Inf",
    "##-Inf",
    "##Foo",
    "#{",
    "#inst",
    "\u{feff}",
    "[[[[[[[[[[[[[[[[",
    "]]]]",
    ":invoke",
    ":ok",
    ":fail",
    ":info",
    "\t",
    "\n",
    "{\"index\":0,\"phase\":\"Ok\",\"op_id\":1,\"data\":{}}\n",
    "nil",
    "18446744073709551616",
];

/// The history corpus: the bundled EDN and log files and a clustersim JSONL history.
fn histories() -> Vec<String> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/histories"));
    let mut all: Vec<String> = ["knossos-cas-register.edn", "etcd-style.log"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect();
    all.push(
        "{\"index\":0,\"phase\":\"Invoke\",\"op_id\":1,\"node\":\"c\",\"data\":{\"Put\":{\"key\":0,\"value\":1}}}\n\
         {\"index\":1,\"phase\":\"Ok\",\"op_id\":1,\"node\":\"c\",\"data\":{\"Put\":{\"key\":0,\"value\":1}}}\n\
         {\"index\":2,\"phase\":\"Invoke\",\"op_id\":2,\"node\":\"d\",\"data\":{\"Get\":{\"key\":0,\"value\":null}}}\n\
         {\"index\":3,\"phase\":\"Ok\",\"op_id\":2,\"node\":\"d\",\"data\":{\"Get\":{\"key\":0,\"value\":1}}}\n"
            .to_string(),
    );
    all
}

/// One mutation of a history: a hostile token inserted, or a scenario-style mutation.
fn mutate_history(text: &str, rng: &mut ChaCha8Rng) -> String {
    if rng.random_range(0..3) > 0 {
        return mutate(text, rng);
    }
    let at = text
        .char_indices()
        .nth(rng.random_range(0..=text.chars().count()))
        .map_or(text.len(), |(i, _)| i);
    let t = HISTORY_TOKENS[rng.random_range(0..HISTORY_TOKENS.len())];
    let times = if rng.random_range(0..20) == 0 {
        5_000
    } else {
        1
    };
    format!("{}{}{}", &text[..at], t.repeat(times), &text[at..])
}

/// What a history case exercises in this process: every reader, then the search under a small
/// step and memory budget.
fn history_in_process(text: &str, rng: &mut ChaCha8Rng) {
    use clustersim::lin::formats::{read, Format};
    use clustersim::lin::models;
    let _ = Format::detect(text);
    let model = models::NAMES[rng.random_range(0..models::NAMES.len())];
    for format in [Format::Clustersim, Format::Edn, Format::JepsenLog] {
        let Ok(ops) = read(text, format) else {
            continue;
        };
        if let Ok(j) = models::judge_within(model, &ops, None, 20_000, 16 << 20) {
            if let Some(key) = &j.failing {
                let _ = models::failing_window_within(model, &ops, None, key, 20_000, 16 << 20);
            }
        }
    }
    let mut reader = clustersim::lin::edn::Reader::new(text);
    while let Ok(Some(_)) = reader.next_value() {}
}

#[test]
fn mutated_histories_never_panic_and_check_history_exits_0_1_or_2() {
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    // A fifth as many history cases as scenario cases: they are cheaper, and CI runs 50,000.
    let cases = (cases / 5).max(50);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let corpus = histories();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4849_5354);
    let dir = std::env::temp_dir().join(format!("clustersim-fuzz-h-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("case.txt");
    let mut codes = [0usize; 3];
    for case in 0..cases {
        let mut text = corpus[rng.random_range(0..corpus.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            text = mutate_history(&text, &mut rng);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            history_in_process(&text, &mut rng.clone())
        }));
        assert!(
            result.is_ok(),
            "history case {case} (FUZZ_SEED={seed}) panicked; the history:\n{text}"
        );
        // One case in twenty-five also goes through the CLI (a process each: the slow part).
        if case % 25 == 0 {
            std::fs::write(&file, &text).unwrap();
            let model = clustersim::lin::models::NAMES
                [rng.random_range(0..clustersim::lin::models::NAMES.len())];
            let mut args = vec![
                "check-history".to_string(),
                file.display().to_string(),
                "--model".into(),
                model.into(),
                "--max-steps".into(),
                "20000".into(),
                "--max-memory".into(),
                "64MiB".into(),
            ];
            if rng.random_range(0..3) == 0 {
                args.extend(["--init".to_string(), mutate_history("[1 2]", &mut rng)]);
            }
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
                .args(&args)
                .output()
                .expect("run clustersim");
            let code = output.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                (0..=2).contains(&code) && !stderr.contains("panicked"),
                "history case {case} (FUZZ_SEED={seed}): exit {code}: {stderr}\nthe history:\n{text}"
            );
            codes[code as usize] += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "fuzz: {cases} history cases (seed {seed}): through check-history exit 0 x{}, 1 x{}, \
         2 x{}; 0 panics",
        codes[0], codes[1], codes[2]
    );
}

/// Something put where an output will be written.
#[derive(Clone, Copy, Debug)]
enum Planted {
    Nothing,
    File,
    HardLinkToInput,
    SymlinkToInput,
    DanglingSymlinkOutside,
    Fifo,
    Folder,
}

const PLANTED: [Planted; 7] = [
    Planted::Nothing,
    Planted::File,
    Planted::HardLinkToInput,
    Planted::SymlinkToInput,
    Planted::DanglingSymlinkOutside,
    Planted::Fifo,
    Planted::Folder,
];

#[test]
fn output_paths_that_are_links_fifos_or_existing_files_never_harm_what_is_there() {
    use std::os::unix::fs::FileTypeExt;
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    // A process or two per case: a small share keeps CI's cost to seconds.
    let cases = (cases / 500).max(20);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4f55_5450);
    let scenario = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/ping-partition.ron"
    ))
    .unwrap();
    let root = std::env::temp_dir().join(format!("clustersim-fuzz-o-{}", std::process::id()));
    for case in 0..cases {
        let dir = root.join(format!("{case}"));
        let outside = root.join(format!("{case}-outside"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let input = dir.join("s.ron");
        std::fs::write(&input, &scenario).unwrap();
        let names = ["a.jsonl", "b.jsonl", "c.svg", "d.html", "e.bin"];
        let mut planted = Vec::new();
        for name in names {
            let p = dir.join(name);
            let what = PLANTED[rng.random_range(0..PLANTED.len())];
            match what {
                Planted::Nothing => {}
                Planted::File => std::fs::write(&p, "keep").unwrap(),
                Planted::HardLinkToInput => std::fs::hard_link(&input, &p).unwrap(),
                Planted::SymlinkToInput => std::os::unix::fs::symlink(&input, &p).unwrap(),
                Planted::DanglingSymlinkOutside => {
                    std::os::unix::fs::symlink(outside.join(name), &p).unwrap()
                }
                Planted::Fifo => {
                    let ok = std::process::Command::new("mkfifo")
                        .arg(&p)
                        .status()
                        .unwrap();
                    assert!(ok.success());
                }
                Planted::Folder => std::fs::create_dir(&p).unwrap(),
            }
            planted.push((p, what));
        }
        let mut args: Vec<String> = vec!["run".into(), "s.ron".into(), "--quiet".into()];
        for (flag, name) in [
            ("--trace", "a.jsonl"),
            ("--history", "b.jsonl"),
            ("--svg", "c.svg"),
            ("--html", "d.html"),
            ("--history-on-disk", "e.bin"),
        ] {
            if rng.random_range(0..2) == 0 {
                args.push(flag.into());
                // Now and then two flags name the same path.
                let pick = if rng.random_range(0..6) == 0 {
                    names[rng.random_range(0..names.len())]
                } else {
                    name
                };
                args.push(pick.into());
            }
        }
        if rng.random_range(0..2) == 0 {
            args.push("--force".into());
        }
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("run clustersim");
        let code = output.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!("output case {case} (FUZZ_SEED={seed}) {args:?} {planted:?}");
        assert!(
            (0..=2).contains(&code) && !stderr.contains("panicked"),
            "{context}: exit {code}: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            scenario,
            "{context}: the scenario changed"
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "{context}: wrote outside the folder"
        );
        for (p, what) in &planted {
            let kind = std::fs::symlink_metadata(p).map(|m| m.file_type());
            match what {
                Planted::Fifo => assert!(kind.unwrap().is_fifo(), "{context}: {p:?}"),
                Planted::Folder => assert!(kind.unwrap().is_dir(), "{context}: {p:?}"),
                Planted::File if !args.iter().any(|a| a == "--force") => assert_eq!(
                    std::fs::read_to_string(p).unwrap(),
                    "keep",
                    "{context}: {p:?} overwritten without --force"
                ),
                _ => {}
            }
        }
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0, "{context}: a temporary file was left");
    }
    let _ = std::fs::remove_dir_all(&root);
}
