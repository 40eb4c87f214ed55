//! The `check-exercise` command both exercise programs add to the clustersim command line.

use crate::watchdog::{grade_watched, RUN_LIMIT};
use crate::{find, Seeds, EXERCISES};
use clap::{Args, FromArgMatches};
use clustersim::cli::{main_with, Extension};
use clustersim::registry::Registry;
use clustersim::Error;

/// Grade one of the book's exercises, level by level, over a few seeds (exit 1 until it passes).
#[derive(Args, Debug)]
struct CheckExerciseArgs {
    /// The exercise, e.g. reliable-ping; --list shows them all.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// Seeds per level (1 to 1000000): the scenario's own, then seeds drawn from --draw
    /// [default: each level's own count, 20 for most, hundreds where a bug is rare].
    #[arg(long)]
    seeds: Option<u64>,
    /// The number seeds are drawn from [default: a hash of the exercise's file, so the seeds
    /// change whenever your code does; the report prints it to grade the same seeds again].
    #[arg(long)]
    draw: Option<u64>,
    /// Grade only this level (1 is the first); without it every level is graded in order.
    #[arg(long)]
    level: Option<usize>,
    /// List the exercises, their levels and what each asks.
    #[arg(long)]
    list: bool,
    /// Give up on a run that takes longer than this many seconds of real time (an infinite
    /// loop in a handler), and exit 1.
    #[arg(long, default_value_t = RUN_LIMIT.as_secs())]
    run_limit: u64,
    /// Grade the student's code instead of the reference (clustersim-solutions only).
    #[arg(long, hide = true)]
    starter: bool,
}

fn list() {
    for e in EXERCISES {
        println!("{:<18} {} ({}; about {})", e.name, e.task, e.file, e.effort);
        if e.levels.len() > 1 {
            for (i, l) in e.levels.iter().enumerate() {
                println!("{:<18}   level {}: {} ({})", "", i + 1, l.name, l.file);
            }
        }
    }
}

/// Runs the clustersim command line over the registry `make` builds plus `check-exercise`,
/// which grades the reference solutions when `solutions` (the `clustersim-solutions` program)
/// and the student's code otherwise, each level on a worker thread with a registry of its own
/// (`watchdog`).
pub fn main(make: fn() -> Registry, solutions: bool) -> std::process::ExitCode {
    let about = if solutions {
        "Grade the reference solution of one of the book's exercises, level by level"
    } else {
        "Grade your code for one of the book's exercises, level by level (exit 1 until it passes)"
    };
    let command =
        CheckExerciseArgs::augment_args(clap::Command::new("check-exercise").about(about));
    let grade = Extension::new(command, move |_, matches| {
        let args = CheckExerciseArgs::from_arg_matches(matches)
            .map_err(|e| Error::Usage(e.to_string()))?;
        if args.list {
            list();
            return Ok(0);
        }
        let name = args.name.as_deref().unwrap_or_default();
        find(name).map_err(Error::Usage)?;
        let solution = solutions && !args.starter;
        let seeds = Seeds::new(args.seeds, args.draw);
        if args.run_limit == 0 {
            return Err(Error::Usage("--run-limit must be at least 1 second".into()));
        }
        let limit = std::time::Duration::from_secs(args.run_limit);
        let grade = grade_watched(make, name, solution, seeds, args.level, limit)?;
        print!("{}", grade.render());
        Ok(if grade.passed() { 0 } else { 1 })
    });
    main_with(make(), vec![grade])
}
