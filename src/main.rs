//! The `clustersim` binary: the library's CLI over the shipped protocols and checks.

fn main() -> std::process::ExitCode {
    clustersim::cli::main(clustersim::registry::Registry::shipped())
}
