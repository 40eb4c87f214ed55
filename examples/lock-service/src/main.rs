//! `lock-service`: the whole clustersim command line (run, explore, shrink, pictures) for the
//! lease lock, from the library's `cli::main`.

// ANCHOR: main
fn main() -> std::process::ExitCode {
    clustersim::cli::main(lock_service::registry())
}
// ANCHOR_END: main
