//! The `clustersim` command line: parses arguments, calls the library, maps results to exit
//! codes (0 success, 1 a check failed, 2 bad usage or input).

use clap::{Parser, Subcommand};
use clustersim::run::{run_file, Report, RunOptions};
use clustersim::trace::TraceLevel;
use clustersim::{report, Duration, Error};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod cli_explore;

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
    Run(RunArgs),
    /// Run a scenario's nemesis over many seeds, then shrink the first failure (exit 1 if found).
    Explore(cli_explore::ExploreArgs),
    /// Shrink a failing seed to a minimal scenario with an explicit fault schedule.
    Shrink(cli_explore::ShrinkArgs),
    /// Grade one of the book's exercises over a few seeds (exit 1 until it passes).
    CheckExercise(CheckExerciseArgs),
}

#[derive(clap::Args, Debug)]
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

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario file (RON), e.g. scenarios/ping-partition.ron.
    file: PathBuf,
    /// Use this seed instead of the one in the file.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop at this virtual time instead of the file's bound (e.g. 5s, 250ms).
    #[arg(long, value_parser = parse_duration)]
    max_time: Option<Duration>,
    /// Write every trace event to this file: .jsonl for JSON lines, .ron for RON.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the operation history to this file: .jsonl or .ron.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Overwrite output files that already exist.
    #[arg(long)]
    force: bool,
    /// Print only the verdict lines and the trace hash.
    #[arg(long, short)]
    quiet: bool,
    /// Print a space-time diagram of the run (around the failure, if a check failed).
    #[arg(long)]
    timeline: bool,
    /// Draw from this virtual time on (e.g. 1.5s); timeline, SVG and HTML.
    #[arg(long, value_parser = parse_duration, value_name = "T")]
    from: Option<Duration>,
    /// Draw up to this virtual time; timeline, SVG and HTML.
    #[arg(long, value_parser = parse_duration, value_name = "T")]
    to: Option<Duration>,
    /// Only these nodes' columns in the timeline, e.g. n1,n2.
    #[arg(long, value_name = "a,b,c")]
    nodes: Option<String>,
    /// Colour the timeline: never, auto (a terminal without NO_COLOR) or always.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Write the space-time diagram as a standalone SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the diagram as a standalone HTML page with hover details and zoom.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write latency and throughput charts (SVG) into this directory.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
}

/// When to colour the timeline.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum ColorChoice {
    Never,
    Auto,
    Always,
}

impl RunArgs {
    fn wants_pictures(&self) -> bool {
        self.timeline || self.svg.is_some() || self.html.is_some() || self.plots.is_some()
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => cmd_run(&args),
        Command::CheckExercise(args) => cmd_check_exercise(&args),
        Command::Explore(args) => cli_explore::cmd_explore(&args),
        Command::Shrink(args) => cli_explore::cmd_shrink(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn cmd_check_exercise(args: &CheckExerciseArgs) -> Result<u8, Error> {
    use clustersim::exercises;
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

fn check_writable(path: &Path, force: bool) -> Result<(), Error> {
    if path.exists() && !force {
        return Err(Error::Exists(path.display().to_string()));
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot write: {e}"),
    })
}

fn cmd_run(args: &RunArgs) -> Result<u8, Error> {
    for p in [&args.trace, &args.history].into_iter().flatten() {
        check_writable(p, args.force)?;
        output_format(p)?;
    }
    for p in [&args.svg, &args.html].into_iter().flatten() {
        check_writable(p, args.force)?;
    }
    if let Some(dir) = &args.plots {
        for f in ["latency.svg", "throughput.svg"] {
            check_writable(&dir.join(f), args.force)?;
        }
    }
    if let (Some(a), Some(b)) = (args.from, args.to) {
        if a > b {
            return Err(Error::Usage(format!("--from {a} is after --to {b}")));
        }
    }
    let opts = RunOptions {
        seed: args.seed,
        max_time: args.max_time,
        trace: if args.trace.is_some() || args.wants_pictures() {
            TraceLevel::Full
        } else {
            TraceLevel::HashOnly
        },
    };
    let scenario = clustersim::scenario::load(&args.file)?;
    // Validate before printing the header, so bad input prints only the error.
    scenario.plan(&args.file.display().to_string())?;
    if !args.quiet {
        let mut shown = scenario.clone();
        if let Some(s) = args.seed {
            shown.seed = s;
        }
        if let Some(t) = args.max_time {
            shown.bounds.max_time = t;
        }
        print!("{}", report::header(&shown));
    }
    let started = std::time::Instant::now();
    let report = clustersim::run::run_scenario(&scenario, &args.file.display().to_string(), &opts)?;
    let wall = started.elapsed().as_secs_f64();
    if let Some(path) = &args.trace {
        write_file(path, &render_trace(&report, output_format(path)?))?;
    }
    if let Some(path) = &args.history {
        write_file(path, &render_history(&report, output_format(path)?))?;
    }
    if args.wants_pictures() {
        draw(args, &report)?;
    }
    if args.quiet {
        for v in &report.verdicts {
            println!("{} {}: {}", v.status, v.check, v.summary);
        }
        println!("trace hash: {:016x}", report.outcome.trace_hash());
    } else {
        print!("{}", report::summary(&report, Some(wall)));
    }
    let _ = run_file; // the library's one-call entry point, kept for users of the crate
    Ok(if report.passed() { 0 } else { 1 })
}

/// Writes the timeline, SVG, HTML and plots the flags ask for.
fn draw(args: &RunArgs, report: &Report) -> Result<(), Error> {
    use clustersim::render::{html, plots, svg, timeline, Model, Window};
    use clustersim::SimTime;
    let model = Model::of_run(&report.outcome, &report.verdicts);
    let nodes = match &args.nodes {
        Some(list) => Some(model.select_nodes(list).map_err(Error::Usage)?),
        None => None,
    };
    let from = args.from.map(|d| SimTime(d.as_nanos()));
    let to = args.to.map(|d| SimTime(d.as_nanos()));
    let win = (from.is_some() || to.is_some()).then(|| Window {
        from: from.unwrap_or(SimTime(0)),
        to: to.unwrap_or(model.end),
    });
    if let Some(path) = &args.svg {
        write_file(path, &svg::render(&model, win))?;
    }
    if let Some(path) = &args.html {
        let title = format!("{} (seed {})", report.scenario.name, report.outcome.seed);
        write_file(path, &html::render(&model, win, &title))?;
    }
    if let Some(dir) = &args.plots {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.display().to_string(),
            message: format!("cannot create directory: {e}"),
        })?;
        for (name, text) in plots::all(&model) {
            write_file(&dir.join(name), &text)?;
        }
    }
    if args.timeline {
        use std::io::IsTerminal;
        let color = match args.color {
            ColorChoice::Never => false,
            ColorChoice::Always => true,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let opts = timeline::TimelineOptions {
            from,
            to,
            nodes,
            color,
        };
        print!("{}", timeline::render(&model, &opts));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Jsonl,
    Ron,
}

fn output_format(path: &Path) -> Result<Format, Error> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") | Some("json") => Ok(Format::Jsonl),
        Some("ron") => Ok(Format::Ron),
        _ => Err(Error::Usage(format!(
            "cannot tell the format of `{}`; use a .jsonl or .ron file name",
            path.display()
        ))),
    }
}

fn render_trace(report: &Report, format: Format) -> String {
    let names = report.outcome.roster.names();
    let events = report.outcome.trace.events();
    match format {
        Format::Jsonl => events.iter().map(|e| e.to_json(names) + "\n").collect(),
        Format::Ron => ron::ser::to_string_pretty(events, ron::ser::PrettyConfig::new())
            .unwrap_or_else(|e| format!("// cannot write trace: {e}\n")),
    }
}

fn render_history(report: &Report, format: Format) -> String {
    let names = report.outcome.roster.names();
    let entries = report.outcome.history.entries();
    match format {
        Format::Jsonl => entries.iter().map(|e| e.to_json(names) + "\n").collect(),
        Format::Ron => ron::ser::to_string_pretty(entries, ron::ser::PrettyConfig::new())
            .unwrap_or_else(|e| format!("// cannot write history: {e}\n")),
    }
}
