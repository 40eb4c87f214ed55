//! How often the reference and each wrong solution of an exercise's corpus fail one scenario
//! file, read at run time: the loop a course author uses to try a level's scenario before it is
//! compiled into the grader (`mistake_rates` grades the compiled levels).
//!
//! `cargo run --release -p clustersim-solutions --example scenario_rates -- raft FILE.ron SEEDS [MISTAKE...]`
//! prints, for the reference and each mistake named (every one of the corpus and of the
//! mistakes no level catches yet if none is), how many of seeds 1..=SEEDS fail and the checks
//! that failed.

use clustersim::registry::{AnyProtocol, Registry};
use clustersim::run::{run_scenario, RunOptions};
use clustersim::scenario::{parse, ParamsError, Spec};
use clustersim_exercises::{self as exercises, Code};
use std::collections::BTreeMap;

thread_local! {
    static CODE: std::cell::Cell<Option<Code>> = const { std::cell::Cell::new(None) };
}

fn build(spec: &Spec) -> Result<Box<dyn AnyProtocol>, ParamsError> {
    let spec: exercises::ExerciseSpec = spec.params()?;
    let code = CODE.with(|c| c.get());
    Ok(Box::new(exercises::ExerciseRun::new(spec, code)))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(name), Some(file), Some(seeds)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: scenario_rates EXERCISE FILE.ron SEEDS [MISTAKE...]");
        return std::process::ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let scenario = match parse(&text, file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let Some(reference) = clustersim_solutions::code(name) else {
        eprintln!("no exercise `{name}`");
        return std::process::ExitCode::from(2);
    };
    let wanted = &args[4..];
    let mut tables = vec![("reference", reference)];
    let mistakes = clustersim_solutions::mistakes::corpus(name)
        .iter()
        .chain(clustersim_solutions::mistakes::uncaught(name));
    for m in mistakes {
        if wanted.is_empty() || wanted.iter().any(|w| w == m.name) {
            tables.push((m.name, m.code));
        }
    }
    clustersim::sim::quiet_panics();
    for (label, code) in tables {
        CODE.with(|c| c.set(Some(code)));
        let registry = exercises::register(Registry::shipped(), build);
        let mut failed = 0;
        let mut checks: BTreeMap<String, u64> = BTreeMap::new();
        let mut first = None;
        for seed in 1..=seeds {
            let opts = RunOptions::default().seed(Some(seed));
            let report = match run_scenario(&registry, &scenario, file, &opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            let bad: Vec<String> = if report.outcome.panic.is_some() {
                vec!["panic".into()]
            } else {
                report
                    .verdicts
                    .iter()
                    .filter(|v| !v.passed())
                    .map(|v| v.check.clone())
                    .collect()
            };
            if !bad.is_empty() {
                failed += 1;
                first.get_or_insert(seed);
                for c in bad {
                    *checks.entry(c).or_default() += 1;
                }
            }
        }
        let first = first
            .map(|s| format!(" (first: seed {s})"))
            .unwrap_or_default();
        println!("{label:<28} {failed:>5}/{seeds:<5} {checks:?}{first}");
    }
    std::process::ExitCode::SUCCESS
}
