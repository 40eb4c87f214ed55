//! The `run` subcommand: one scenario, its report, and the files and pictures the flags ask for.

use crate::registry::Registry;
use crate::run::{run_scenario, Report, RunOptions};
use crate::trace::TraceLevel;
use crate::{report, Duration, Error};
use std::path::{Path, PathBuf};

/// Flags of `run`.
#[derive(clap::Args, Debug)]
pub(super) struct RunArgs {
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

pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse()
}

pub(super) fn check_writable(path: &Path, force: bool) -> Result<(), Error> {
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

/// `run`: exit 1 if a check failed, 0 if none did.
pub(super) fn cmd_run(registry: &Registry, args: &RunArgs) -> Result<u8, Error> {
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
    let scenario = super::load_for(registry, &args.file)?;
    let origin = args.file.display().to_string();
    // Validate before printing the header, so bad input prints only the error.
    registry.prepare(&scenario, &origin)?;
    if !args.quiet {
        let mut shown = scenario.clone();
        if let Some(s) = args.seed {
            shown.seed = s;
        }
        if let Some(t) = args.max_time {
            shown.bounds.max_time = t;
        }
        out!("{}", report::header(registry.program(), &shown));
    }
    let started = std::time::Instant::now();
    let report = run_scenario(registry, &scenario, &origin, &opts)?;
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
            outln!("{} {}: {}", v.status, v.check, v.summary);
        }
        outln!("trace hash: {:016x}", report.outcome.trace_hash());
    } else {
        out!("{}", report::summary(&report, Some(wall)));
    }
    Ok(if report.passed() { 0 } else { 1 })
}

/// Writes the timeline, SVG, HTML and plots the flags ask for.
fn draw(args: &RunArgs, report: &Report) -> Result<(), Error> {
    use crate::render::{html, plots, svg, timeline, Model, Window};
    use crate::SimTime;
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
        out!("{}", timeline::render(&model, &opts));
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
