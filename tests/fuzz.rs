//! Hostile input, generated: every bundled scenario file mutated at random (spans cut and
//! doubled, numbers swapped for extremes, strings for separators and control characters, bytes
//! flipped, invalid UTF-8), then loaded, validated and run under tight bounds, and a share of
//! the cases through the whole CLI with mutated command lines. Nothing may panic (in the loader,
//! the validator, a shipped protocol, a check or the CLI), no error may echo a control
//! character, and the CLI exits 0, 1 or 2 only.
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
