//! `clustersim-solutions`: the exercises' command line, running the reference solutions
//! (`check-exercise NAME` grades the reference; scenarios with `solution: true` run it).

fn main() -> std::process::ExitCode {
    clustersim_exercises::cli::main(clustersim_solutions::registry, true)
}
