//! The `clustersim` binary: the library's CLI over the shipped protocols and checks.

/// mimalloc: the search's threads free runs another thread made, which glibc serialises.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    clustersim::cli::main(clustersim::registry::Registry::shipped())
}
