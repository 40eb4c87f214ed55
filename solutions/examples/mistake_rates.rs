//! How often each wrong solution of an exercise's corpus fails each level: the table a course
//! author reads to tune a level's scenario and seed count.
//!
//! `cargo run --release -p clustersim-solutions --example mistake_rates -- raft [SEEDS] [DRAW] [LEVEL]`
//! prints, per mistake (the corpus, then those no level catches yet) and level (every level, or
//! only LEVEL), how many of the level's seeds (or SEEDS) fail and the first failing check.

use clustersim::registry::{AnyProtocol, Registry};
use clustersim::scenario::{ParamsError, Spec};
use clustersim_exercises::{self as exercises, Code, Outcome, Seeds};

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
    let Some(name) = args.get(1) else {
        eprintln!("usage: mistake_rates EXERCISE [SEEDS] [DRAW] [LEVEL]");
        return std::process::ExitCode::from(2);
    };
    let Ok(exercise) = exercises::find(name) else {
        eprintln!(
            "no exercise `{name}`; the exercises are: {}",
            exercises::names().join(", ")
        );
        return std::process::ExitCode::from(2);
    };
    let seeds = Seeds::new(
        args.get(2).and_then(|s| s.parse().ok()),
        Some(args.get(3).and_then(|d| d.parse().ok()).unwrap_or(7)),
    );
    let only: Option<usize> = args.get(4).and_then(|l| l.parse().ok());
    let mistakes = clustersim_solutions::mistakes::corpus(name)
        .iter()
        .chain(clustersim_solutions::mistakes::uncaught(name));
    for m in mistakes {
        CODE.with(|c| c.set(Some(m.code)));
        let registry = exercises::register(Registry::shipped(), build);
        let mut line = format!("{:<32}", m.name);
        for level in 1..=exercise.levels.len() {
            if only.is_some_and(|l| l != level) {
                continue;
            }
            let Ok(g) = exercises::grade_with(&registry, name, false, seeds, Some(level)) else {
                line += " error";
                continue;
            };
            let fails: Vec<String> = g
                .runs
                .iter()
                .filter_map(|(_, o)| match o {
                    Outcome::Passed => None,
                    Outcome::Failed { verdict, .. } => Some(verdict.check.clone()),
                    Outcome::Inconclusive { .. } => Some("inconclusive".into()),
                    Outcome::NotImplemented { .. } | Outcome::Panicked { .. } => {
                        Some("panic".into())
                    }
                })
                .collect();
            let first: String = fails.first().cloned().unwrap_or_default();
            line += &format!(
                " L{level}:{:>4}/{:<4} {first:<20}",
                fails.len(),
                g.runs.len()
            );
        }
        let mark = if m.level == 0 {
            " (no level catches it yet)"
        } else if m.level <= exercise.levels.len() {
            ""
        } else {
            " (level out of range)"
        };
        println!("{line}  [corpus: level {} {}]{mark}", m.level, m.check);
    }
    std::process::ExitCode::SUCCESS
}
