//! Errors a user can act on, and the exit codes the CLI maps them to.

use thiserror::Error;

/// Everything that can go wrong before or around a run (a failed check is not an error).
#[derive(Debug, Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A scenario file is not valid RON for the schema.
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What was expected.
        message: String,
    },
    /// A scenario parses but makes no sense (unknown node, zero bound, contradictory parameters).
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or `<scenario>` when built in code).
        path: String,
        /// The problem, as a sentence naming the valid choices.
        message: String,
    },
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// An output file exists and overwriting it was not allowed.
    #[error("{0} already exists; pass --force to overwrite it")]
    Exists(String),
}

impl Error {
    /// The process exit code for this error: always 2 (bad usage or input).
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Shorthand for results whose error is an `Error`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
