//! `clustersim-exercises`: the clustersim CLI (run, explore, shrink, pictures) over the shipped
//! protocols plus the exercises, and `check-exercise` to grade your code.

fn main() -> std::process::ExitCode {
    clustersim_exercises::cli::main(clustersim_exercises::registry, false)
}
