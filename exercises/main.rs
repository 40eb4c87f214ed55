//! `clustersim-exercises`: the clustersim CLI (run, explore, shrink, pictures) over the shipped
//! protocols plus the exercises, and `check-exercise` to grade one.

use clap::{Args, FromArgMatches};
use clustersim::cli::{main_with, Extension};
use clustersim::Error;
use clustersim_exercises as exercises;

/// Grade one of the book's exercises over a few seeds (exit 1 until it passes).
#[derive(Args, Debug)]
struct CheckExerciseArgs {
    /// The exercise, e.g. reliable-ping; --list shows them all.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// Grade the reference solution (exercises/solutions/) instead of your code.
    #[arg(long)]
    solution: bool,
    /// How many seeds to run, starting at the scenario's own.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// List the exercises and what each asks.
    #[arg(long)]
    list: bool,
}

fn check_exercise(args: &CheckExerciseArgs) -> Result<u8, Error> {
    if args.list {
        for e in exercises::EXERCISES {
            println!("{:<18} {} ({})", e.name, e.task, e.file);
        }
        return Ok(0);
    }
    let name = args.name.as_deref().unwrap_or_default();
    let grade = exercises::grade(name, args.solution, args.seeds)?;
    print!("{}", grade.render());
    Ok(if grade.passed() { 0 } else { 1 })
}

fn main() -> std::process::ExitCode {
    let command = CheckExerciseArgs::augment_args(
        clap::Command::new("check-exercise")
            .about("Grade one of the book's exercises over a few seeds (exit 1 until it passes)"),
    );
    let grade = Extension::new(command, |_registry, matches| {
        let args = CheckExerciseArgs::from_arg_matches(matches)
            .map_err(|e| Error::Usage(e.to_string()))?;
        check_exercise(&args)
    });
    main_with(exercises::registry(), vec![grade])
}
