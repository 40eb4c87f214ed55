//! The command line as a library function: `cli::main(registry)` is the whole `clustersim`
//! CLI (`run`, `explore`, `shrink`, pictures, exit codes) for whatever protocols and checks the
//! registry holds. The `clustersim` binary is this function with `Registry::shipped()`; a
//! protocol author's binary is the same function with their own registry.
//!
//! Exit codes: 0 success, 1 a check failed, 2 bad usage or input (or output that could not be
//! written). Nothing else.

/// `print!` to standard output, ignoring a closed pipe (`clustersim run ... | head`): the
/// command finishes and exits with its own code instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        let text = format!($($arg)*);
        let mut fitted = crate::cli::fit(&text);
        if !text.ends_with('\n') {
            fitted.pop();
        }
        crate::cli::write_stdout(fitted.as_bytes());
    }};
}

/// `println!` to standard output, ignoring a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        crate::cli::write_stdout(crate::cli::fit(&format!($($arg)*)).as_bytes());
    }};
}

/// The first error met writing to standard output, other than a closed pipe: the command
/// then ends with it (exit 2), since what it printed is incomplete.
static STDOUT_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Writes `bytes` to standard output; a closed pipe (`| head`) is ignored, any other error is
/// kept for the end of the command.
pub(crate) fn write_stdout(bytes: &[u8]) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().write_all(bytes) {
        stdout_failed(&e);
    }
}

/// Keeps `e` as the command's output error unless it is a closed pipe or one is kept already.
pub(crate) fn stdout_failed(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return;
    }
    let mut kept = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
    kept.get_or_insert_with(|| e.to_string());
}

/// Flushes standard output and returns the error kept so far, if any (a closed pipe is none):
/// for a command that must not go on when what it printed was not seen (`debug`'s address).
pub(crate) fn stdout_error_now() -> Option<String> {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().flush() {
        stdout_failed(&e);
    }
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// The width of the terminal standard output is, when it is one (read once).
pub(crate) fn terminal_width() -> Option<usize> {
    static WIDTH: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(|| {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0).max(20))
    })
}

/// `text` and a newline, each line longer than the terminal folded at a space onto lines
/// indented two more than it (a report read in a terminal never wraps mid-word); unchanged
/// when standard output is not a terminal.
pub(crate) fn fit(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let text = text.strip_suffix('\n').unwrap_or(text);
    for line in text.split('\n') {
        match terminal_width() {
            Some(width) if line.chars().count() > width => fold_line(line, width, &mut out),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Folds one line into `out` at spaces, continuations indented two past the line's own indent.
fn fold_line(line: &str, width: usize, out: &mut String) {
    let indent = line.len() - line.trim_start().len() + 2;
    let chars: Vec<char> = line.chars().collect();
    let mut start = 0;
    let mut first = true;
    while start < chars.len() {
        let room = if first {
            width
        } else {
            width.saturating_sub(indent).max(10)
        };
        let mut end = (start + room).min(chars.len());
        if end < chars.len() {
            if let Some(space) = (start + room / 2..end).rev().find(|&i| chars[i] == ' ') {
                end = space;
            }
        }
        if !first {
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.extend(chars[start..end].iter());
        out.push('\n');
        start = end;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
        first = false;
    }
}

mod check;
mod check_history;
mod check_txn;
mod debug;
mod explore;
mod load;
mod outputs;
mod progress_bar;
mod run;

pub use clap;

use crate::error::Error;
use crate::registry::Registry;
use crate::scenario::{load, Scenario};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::Path;
use std::process::ExitCode;

pub use progress_bar::{for_stderr, Bar};

/// A deterministic cluster simulator: replay scenarios, explore seeds, check protocols.
#[derive(Parser, Debug)]
#[command(name = "clustersim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario file and print a report (exit 1 if a check fails).
    Run(run::RunArgs),
    /// Run a scenario's nemesis over many seeds, then shrink the first failure (exit 1 if found).
    Explore(explore::ExploreArgs),
    /// Shrink a failing seed to a minimal scenario with an explicit fault schedule.
    Shrink(explore::ShrinkArgs),
    /// Check a recorded history (clustersim, Jepsen EDN or log) for linearizability against a
    /// model (exit 1 if it is not).
    CheckHistory(check_history::CheckHistoryArgs),
    /// Check a history of transactions (Jepsen's list-append, EDN) for Elle's anomalies: G0,
    /// G1a, G1b, G1c, G-single, G2-item (exit 1 if one is found).
    CheckTxn(check_txn::CheckTxnArgs),
    /// Search every order of due events, lost message and crash within bounds (exhaustive
    /// model checking); write the shortest failing path (exit 1 if one fails).
    Check(check::CheckArgs),
    /// Step through a run in a local web page: choose what happens next, inject faults, go
    /// back, save the path as a scenario `run` replays.
    Debug(debug::DebugArgs),
    /// Run a scenario at each offered rate (and cluster size): ok calls a second, latency
    /// quantiles, the busiest node, and where each curve stops keeping up (its knee).
    Load(load::LoadArgs),
}

/// What an extension subcommand does with its parsed arguments; returns the exit code.
type Handler = Box<dyn Fn(&Registry, &clap::ArgMatches) -> Result<u8, Error>>;

/// A subcommand a program adds to the CLI (the exercises' `check-exercise`, for instance).
pub struct Extension {
    command: clap::Command,
    run: Handler,
}

impl Extension {
    /// A subcommand parsed by `command` and carried out by `run`, which returns the exit code.
    pub fn new(
        command: clap::Command,
        run: impl Fn(&Registry, &clap::ArgMatches) -> Result<u8, Error> + 'static,
    ) -> Self {
        Extension {
            command,
            run: Box::new(run),
        }
    }
}

/// The whole CLI over `registry`, reading the process's arguments.
pub fn main(registry: Registry) -> ExitCode {
    main_with(registry, Vec::new())
}

/// The CLI over `registry` with extra subcommands.
pub fn main_with(registry: Registry, extensions: Vec<Extension>) -> ExitCode {
    let code = run_args(&registry, &extensions, std::env::args_os());
    ExitCode::from(code)
}

/// The CLI over `registry` on explicit arguments (the first is the program name); returns the
/// exit code.
pub fn run_args<I, T>(registry: &Registry, extensions: &[Extension], args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // A protocol's panic is a failed run, reported with the verdicts, not a crash.
    crate::sim::quiet_panics();
    let mut command = Cli::command()
        .name(registry.program().to_string())
        .bin_name(registry.program().to_string());
    for ext in extensions {
        command = command.subcommand(ext.command.clone());
    }
    let matches = match command.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            if e.use_stderr() {
                eprint!("{}", printable(&e.render().to_string()));
                return 2;
            }
            // `--help` and `--version`: what they print is the answer, so a failed write is
            // an error (`--help > /dev/full`), a closed pipe (`--help | head`) is not.
            use std::io::{IsTerminal as _, Write as _};
            let mut stdout = std::io::stdout();
            let styled = e.render();
            let text = if stdout.is_terminal() {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            let written = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            return match written {
                Err(w) if w.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write to standard output: {w}");
                    2
                }
                _ => 0,
            };
        }
    };
    let dispatch = || match matches.subcommand() {
        Some((name, sub)) if extensions.iter().any(|e| e.command.get_name() == name) => {
            let ext = extensions
                .iter()
                .find(|e| e.command.get_name() == name)
                .map(|e| &e.run);
            match ext {
                Some(run) => run(registry, sub),
                None => Ok(2),
            }
        }
        _ => match Cli::from_arg_matches(&matches) {
            Ok(cli) => match cli.command {
                Command::Run(args) => run::cmd_run(registry, &args),
                Command::Explore(args) => explore::cmd_explore(registry, &args),
                Command::Shrink(args) => explore::cmd_shrink(registry, &args),
                Command::Check(args) => check::cmd_check(registry, &args),
                Command::Debug(args) => debug::cmd_debug(registry, &args),
                Command::Load(args) => load::cmd_load(registry, &args),
                Command::CheckHistory(args) => check_history::cmd_check_history(registry, &args),
                Command::CheckTxn(args) => check_txn::cmd_check_txn(registry, &args),
            },
            Err(e) => {
                let _ = e.print();
                Ok(2)
            }
        },
    };
    // A panic outside a run (in a check, a renderer, the CLI itself) is a bug in the program,
    // not in the scenario: it is reported as such, with the exit code of an error (2), never 101.
    use std::io::Write;
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(dispatch)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            // Whoever read the output went away (`| head`): there is no one left to tell.
            if message.starts_with("failed printing to") {
                return 2;
            }
            let _ = writeln!(
                std::io::stderr(),
                "error: internal error: {} panicked (the message is above); this is a bug in \
                 the program or in a check, not in the scenario",
                registry.program()
            );
            return 2;
        }
    };
    if let Err(e) = std::io::stdout().flush() {
        stdout_failed(&e);
    }
    let unwritten = STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    match result {
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", printable(&e.to_string()));
            e.exit_code() as u8
        }
        // What was printed is incomplete: no verdict is given by an exit code alone.
        Ok(_) if unwritten.is_some() => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write to standard output: {}; the output is incomplete",
                unwritten.unwrap_or_default()
            );
            2
        }
        Ok(code) => code,
    }
}

/// `text` with control characters (a name holding ESC, a NUL in a duration) written as
/// escapes, so an error message never drives the terminal; newlines and tabs stay.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Prints the plan's warnings (faults that do nothing): under the header, or on standard
/// error when `quiet`.
fn warn(plan: &crate::scenario::Plan, quiet: bool) {
    for w in &plan.warnings {
        if quiet {
            eprintln!("warning: {w}");
        } else {
            outln!("  warning: {w}");
        }
    }
}

/// Loads a scenario file for `registry`; a file for a protocol this program does not know is
/// refused, naming the protocol and the replay command its header gives.
pub fn load_for(registry: &Registry, path: &Path) -> Result<Scenario, Error> {
    let scenario = load(path)?;
    let name = scenario.protocol.name();
    if !registry.knows_protocol(name) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let hint = text
            .lines()
            .take_while(|l| l.trim_start().starts_with("//"))
            .find_map(|l| {
                l.trim_start()
                    .trim_start_matches('/')
                    .trim()
                    .strip_prefix("Replay:")
            })
            .map(|r| format!("\n  the file's header says to replay it with:{r}"))
            .unwrap_or_default();
        return Err(crate::registry::at(
            &path.display().to_string(),
            &scenario.protocol,
            format!(
                "this scenario needs protocol `{name}`, which {} does not know (it knows {}){hint}",
                registry.program(),
                crate::registry::quoted(&registry.protocol_names())
            ),
        ));
    }
    Ok(scenario)
}
