//! The `run` subcommand: one scenario, its report, and the files and pictures the flags ask for.

use super::outputs::{self, Outputs};
use crate::explore::Strategy;
use crate::memory::Bytes;
use crate::registry::Registry;
use crate::render::Window;
use crate::run::{run_scenario, Report, RunOptions};
use crate::trace::TraceLevel;
use crate::{report, Duration, Error, SimTime};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Most trace events a picture keeps: a longer run is drawn in a window (the failure's, or
/// the start) and the report says which.
pub(super) const PICTURE_EVENTS: usize = 50_000;

/// Flags of `run`.
#[derive(clap::Args, Debug)]
pub(super) struct RunArgs {
    /// The scenario file (RON), e.g. scenarios/ping-partition.ron.
    file: PathBuf,
    /// Use this seed instead of the one in the file.
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    seed: Option<u64>,
    /// Run the seed as this search strategy draws it: random (the file as written), swarm,
    /// pct:D[/WINDOW]; what explore's replay lines name.
    #[arg(long, value_name = "S", default_value = "random", value_parser = parse_strategy)]
    strategy: Strategy,
    /// Stop at this virtual time instead of the file's bound (e.g. 5s, 250ms).
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    max_time: Option<Duration>,
    /// Write every trace event to this file: .jsonl for JSON lines, .ron for RON.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write the operation history to this file: .jsonl or .ron.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Keep the history in this scratch file while the run lasts, not in memory (24 bytes an
    /// entry on disk, a few chunks in memory; removed at the end): for runs whose history would
    /// not fit. Every check, report and --history file reads it as usual.
    #[arg(long, value_name = "FILE")]
    history_on_disk: Option<PathBuf>,
    /// Overwrite output files that already exist.
    #[arg(long)]
    force: bool,
    /// Print only the verdict lines and the trace hash.
    #[arg(long, short)]
    quiet: bool,
    /// Run the scenario a second time and compare the trace hashes: a protocol that reads the
    /// wall clock, an unseeded generator or a HashMap's order fails here (exit 1), with the
    /// first event the runs disagree on.
    #[arg(long)]
    check_determinism: bool,
    /// Print a space-time diagram of the run (around the failure, if a check failed).
    #[arg(long)]
    timeline: bool,
    /// Draw from this virtual time on (e.g. 1.5s); timeline, SVG and HTML.
    #[arg(long, value_parser = parse_duration, value_name = "T", allow_hyphen_values = true)]
    from: Option<Duration>,
    /// Draw up to this virtual time; timeline, SVG and HTML.
    #[arg(long, value_parser = parse_duration, value_name = "T", allow_hyphen_values = true)]
    to: Option<Duration>,
    /// Only these nodes' columns in the timeline, e.g. n1,n2.
    #[arg(long, value_name = "a,b,c")]
    nodes: Option<String>,
    /// Fit the timeline in this many columns (default: $COLUMNS if set, else the terminal's
    /// width, else no limit); more nodes than fit are drawn as a summary.
    #[arg(long, value_name = "N", value_parser = parse_width, allow_hyphen_values = true)]
    width: Option<usize>,
    /// Draw at most this many lines of the timeline's rows and say how many rows were left out
    /// (0: all).
    #[arg(long, value_name = "N", default_value_t = 150, value_parser = parse_lines)]
    lines: usize,
    /// Only these message types in the timeline, e.g. RequestVote,Vote (faults and operations
    /// are always shown).
    #[arg(long, value_name = "A,B")]
    messages: Option<String>,
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
    /// Stop the run with an error once it would hold more than this (default: the file's
    /// bounds.max_memory, else 2GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub(super) max_memory: Option<Bytes>,
}

/// Reads `--strategy`.
pub(super) fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse()
}

/// Narrowest and widest `--width`.
const WIDTH_RANGE: std::ops::RangeInclusive<usize> = 40..=10_000;

fn parse_width(s: &str) -> Result<usize, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n >= *WIDTH_RANGE.start() as i128 && n <= *WIDTH_RANGE.end() as i128 => {
            Ok(n as usize)
        }
        Ok(n) => Err(format!(
            "--width {n} is out of range: a timeline is {} to {} columns wide",
            WIDTH_RANGE.start(),
            WIDTH_RANGE.end()
        )),
        Err(_) => Err(format!(
            "--width expects a number of columns (e.g. 100), not `{s}`"
        )),
    }
}

fn parse_lines(s: &str) -> Result<usize, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n <= 100_000_000 => Ok(n as usize),
        Ok(n) => Err(format!("--lines {n} is out of range: 0 (all) to 100000000")),
        Err(_) => Err(format!(
            "--lines expects a number of rows (e.g. 500, or 0 for all), not `{s}`"
        )),
    }
}

/// The timeline's width: `--width`, else `$COLUMNS` when it holds a width in range (an
/// override: programs do not receive the shell's variable unless it is exported), else the
/// width of the terminal standard output is, else none.
fn timeline_width(flag: Option<usize>) -> Option<usize> {
    flag.or_else(|| {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| WIDTH_RANGE.contains(w))
    })
    .or_else(|| {
        terminal_size::terminal_size_of(std::io::stdout())
            .map(|(w, _)| usize::from(w.0))
            .map(|w| w.clamp(*WIDTH_RANGE.start(), *WIDTH_RANGE.end()))
    })
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

/// A seed: a whole number from 0 to 2^64 - 1.
pub(super) fn parse_seed(s: &str) -> Result<u64, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!("a seed must be >= 0, not {s}"));
    }
    s.trim().parse().map_err(|_| {
        format!(
            "`{s}` is not a seed (a whole number from 0 to {})",
            u64::MAX
        )
    })
}

pub(super) fn parse_bytes(s: &str) -> Result<Bytes, String> {
    let b: Bytes = s.parse()?;
    if b < crate::memory::MIN_BUDGET {
        return Err(format!(
            "{b} is too small for a run; the budget must be at least {}",
            crate::memory::MIN_BUDGET
        ));
    }
    Ok(b)
}

/// Writes a file a line at a time through a buffer (a long trace is never one string).
fn write_lines<I: IntoIterator>(
    outs: &Outputs,
    flag: &str,
    path: &Path,
    items: I,
    line: impl Fn(&I::Item) -> String,
    ron_all: impl Fn() -> String,
    format: Format,
) -> Result<(), Error> {
    outs.write_with(flag, path, |w| match format {
        Format::Jsonl => items
            .into_iter()
            .try_for_each(|i| writeln!(w, "{}", line(&i))),
        Format::Ron => w.write_all(ron_all().as_bytes()),
    })
}

/// The outputs `run` writes, each with the flag that named it.
fn outputs(args: &RunArgs) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    for (flag, p) in [
        ("--trace", &args.trace),
        ("--history", &args.history),
        ("--history-on-disk", &args.history_on_disk),
        ("--svg", &args.svg),
        ("--html", &args.html),
    ] {
        if let Some(p) = p {
            out.push((flag, p.clone()));
        }
    }
    if let Some(dir) = &args.plots {
        for f in crate::render::plots::FILES {
            out.push(("--plots", dir.join(f)));
        }
    }
    out
}

/// `run`: exit 1 if a check failed, 0 if none did.
/// Runs the scenario again and says whether it replayed (`--check-determinism`).
fn determinism(
    registry: &Registry,
    scenario: &crate::scenario::Scenario,
    origin: &str,
    opts: &RunOptions,
    hash: u64,
) -> Result<bool, Error> {
    match crate::run::check_determinism(registry, scenario, origin, opts, hash)? {
        crate::run::Determinism::Same(h) => {
            outln!("determinism: a second run gave the same trace hash {h:016x}");
            Ok(true)
        }
        crate::run::Determinism::Differs {
            first,
            second,
            divergence,
        } => {
            outln!(
                "NOT DETERMINISTIC: a second run gave trace hash {second:016x}, not {first:016x}; \
                 a protocol that reads the wall clock, an unseeded generator or a HashMap's \
                 order does this (use a BTreeMap, ctx.rng(), ctx.now())"
            );
            match divergence {
                Some(d) => outln!("  the runs part at {d}"),
                None => outln!(
                    "  two more runs with whole traces agreed: the difference comes and goes"
                ),
            }
            Ok(false)
        }
    }
}

pub(super) fn cmd_run(registry: &Registry, args: &RunArgs) -> Result<u8, Error> {
    for p in [&args.trace, &args.history].into_iter().flatten() {
        output_format(p)?;
    }
    if let Some(dir) = &args.plots {
        outputs::check_dir("--plots", dir)?;
    }
    let outs = Outputs::new(&args.file, args.force);
    outs.check(&outputs(args))?;
    if let (Some(a), Some(b)) = (args.from, args.to) {
        if a > b {
            return Err(Error::Usage(format!("--from {a} is after --to {b}")));
        }
    }
    let explicit = (args.from.is_some() || args.to.is_some()).then(|| Window {
        from: SimTime(args.from.map_or(0, |d| d.as_nanos())),
        to: SimTime(args.to.map_or(u64::MAX, |d| d.as_nanos())),
    });
    let opts = RunOptions {
        seed: args.seed,
        max_time: args.max_time,
        trace: if args.trace.is_some() {
            TraceLevel::Full
        } else if args.wants_pictures() {
            picture_level(explicit.unwrap_or(Window {
                from: SimTime(0),
                to: SimTime(u64::MAX),
            }))
        } else {
            TraceLevel::HashOnly
        },
        max_memory: args.max_memory,
        history_file: None,
    };
    let scenario = super::load_for(registry, &args.file)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let knobs = args.strategy.knobs(&scenario, seed);
    let mut scenario = args.strategy.scenario_for(&scenario, seed).into_owned();
    // The budget the run will have is the one its nodes are measured against up front.
    if let Some(b) = args.max_memory {
        scenario.bounds.max_memory = b;
    }
    let origin = args.file.display().to_string();
    // Validate before printing the header, so bad input prints only the error.
    let prepared = registry.prepare(&scenario, &origin)?;
    if !args.quiet {
        let mut shown = scenario.clone();
        if let Some(s) = args.seed {
            shown.seed = s;
        }
        if let Some(t) = args.max_time {
            shown.bounds.max_time = t;
        }
        out!("{}", report::header(registry.program(), &shown));
        if let Some(k) = &knobs {
            outln!("  strategy {}: {k}", args.strategy);
        }
    }
    super::warn(&prepared.plan, args.quiet);
    drop(prepared);
    let opts = RunOptions {
        history_file: match &args.history_on_disk {
            Some(p) => {
                outs.clear_scratch("--history-on-disk", p)?;
                Some(crate::history::HistoryFile::create(p)?)
            }
            None => None,
        },
        ..opts
    };
    let started = std::time::Instant::now();
    let mut report = run_scenario(registry, &scenario, &origin, &opts)?;
    let wall = started.elapsed().as_secs_f64();
    if let Some(path) = &args.trace {
        let names = report.outcome.roster.names();
        let events = report.outcome.trace.events();
        write_lines(
            &outs,
            "--trace",
            path,
            events,
            |e| e.to_json(names),
            || ron_text(events, "trace"),
            output_format(path)?,
        )?;
    }
    if let Some(path) = &args.history {
        let names = report.outcome.roster.names();
        let history = &report.outcome.history;
        write_lines(
            &outs,
            "--history",
            path,
            history.entries(),
            |e| e.to_json(names),
            || ron_text(&history.entries().collect::<Vec<_>>(), "history"),
            output_format(path)?,
        )?;
    }
    if args.wants_pictures() {
        let (pictured, window) =
            picture_run(registry, &scenario, &origin, &opts, &mut report, explicit)?;
        let partial = pictured.as_ref().zip(window).map(|(p, w)| {
            format!(
                "{} .. {} of a run of {} events that ends at {} (a picture holds {PICTURE_EVENTS} events); choose another window with --from and --to",
                w.from,
                w.to,
                report.outcome.stats.events,
                p.outcome.end_time
            )
        });
        draw(
            &outs,
            args,
            pictured.as_ref().unwrap_or(&report),
            window,
            partial,
        )?;
    }
    if args.quiet {
        for v in &report.verdicts {
            outln!("{} {}: {}", v.status, v.check, v.summary);
        }
        outln!("trace hash: {:016x}", report.outcome.trace_hash());
        if let Some(note) = report::undecided(&report) {
            eprintln!("note: {note}");
        }
    } else {
        out!("{}", report::summary(&report, Some(wall)));
    }
    let replays = if args.check_determinism {
        determinism(
            registry,
            &scenario,
            &origin,
            &opts,
            report.outcome.trace_hash(),
        )?
    } else {
        true
    };
    if let Some(p) = &args.history_on_disk {
        let history = &report.outcome.history;
        if let Some(message) = history.disk_error() {
            return Err(Error::Io {
                path: p.display().to_string(),
                message: format!("{message}; the run's verdicts are not given"),
            });
        }
        if let Some(w) = history.disk_warning() {
            eprintln!("warning: {}: {w}", p.display());
        }
    }
    // An undecided check is not a pass: nothing shows the run correct (as check-history says).
    Ok(
        if replays && report.passed() && report::undecided(&report).is_none() {
            0
        } else {
            1
        },
    )
}

fn picture_level(w: Window) -> TraceLevel {
    TraceLevel::Window {
        from: w.from,
        to: w.to,
        max_events: PICTURE_EVENTS,
    }
}

/// The run the pictures draw and the window they show (`None`: the default). A run whose trace
/// does not fit in `PICTURE_EVENTS` is drawn in a window: the one asked for, else the
/// failure's, else the start; replaying the seed keeps only that window's events.
fn picture_run(
    registry: &Registry,
    scenario: &crate::scenario::Scenario,
    origin: &str,
    opts: &RunOptions,
    report: &mut Report,
    explicit: Option<Window>,
) -> Result<(Option<Report>, Option<Window>), Error> {
    let trace = &report.outcome.trace;
    let all_kept = opts.trace == TraceLevel::Full;
    if (all_kept && trace.events().len() <= PICTURE_EVENTS) || (!all_kept && trace.left_out() == 0)
    {
        return Ok((None, explicit));
    }
    let total = report.outcome.stats.events;
    // The window: the one asked for; else the failure's (as the timeline would frame it);
    // else the run from its start.
    let wanted = explicit.unwrap_or_else(|| {
        let model = crate::render::Model::build(
            &report.outcome.roster,
            &[],
            &crate::history::History::new(),
            &report.verdicts,
            report.outcome.end_time,
        );
        match model.focus {
            Some(_) => crate::render::timeline::window(&model, &Default::default()),
            None => Window {
                from: SimTime(0),
                to: report.outcome.end_time,
            },
        }
    });
    if all_kept {
        // The trace file is written: its events are not needed any more.
        report.outcome.trace.forget_events();
    }
    let replay = RunOptions {
        trace: picture_level(wanted),
        history_file: None,
        ..opts.clone()
    };
    let pictured = run_scenario(registry, scenario, origin, &replay)?;
    let kept = &pictured.outcome.trace;
    let to = if kept.left_out() > 0 {
        kept.kept_until().unwrap_or(wanted.from)
    } else {
        wanted.to.min(pictured.outcome.end_time)
    };
    let window = Window {
        from: wanted.from,
        to,
    };
    eprint!(
        "{}",
        crate::cli::fit(&format!(
            "note: the run has {total} events, more than a picture holds ({PICTURE_EVENTS}); \
         drawing {} .. {}{}; choose another window with --from and --to",
            window.from,
            window.to,
            match (kept.left_out() > 0, explicit.is_some() || report.passed()) {
                (true, true) => format!(" (its first {} events)", kept.events().len()),
                (true, false) => " (the start of the failure's window)".to_string(),
                (false, true) => String::new(),
                (false, false) => " (the failure's window)".to_string(),
            }
        ))
    );
    Ok((Some(pictured), Some(window)))
}

/// Refuses a `--messages` name that no message of the run starts with, naming the types it
/// sent.
fn unsent_types(model: &crate::render::Model, list: &str) -> Result<(), Error> {
    let types: std::collections::BTreeSet<&str> = model
        .messages
        .iter()
        .map(|m| crate::render::svg::message_type(&m.text))
        .collect();
    for name in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !model.messages.iter().any(|m| m.text.starts_with(name)) {
            let shown: Vec<&str> = types.iter().copied().take(30).collect();
            return Err(Error::Usage(format!(
                "--messages: no message drawn starts with `{name}`; the run sent {}{} in the part drawn",
                if shown.is_empty() {
                    "no message".to_string()
                } else {
                    shown.join(", ")
                },
                if types.len() > shown.len() { ", ..." } else { "" }
            )));
        }
    }
    Ok(())
}

/// Writes the timeline, SVG, HTML and plots the flags ask for, in `window` when one is set.
fn draw(
    outs: &Outputs,
    args: &RunArgs,
    report: &Report,
    window: Option<Window>,
    partial: Option<String>,
) -> Result<(), Error> {
    use crate::render::{html, plots, svg, timeline, Model};
    let mut model = Model::of_run(&report.outcome, &report.verdicts);
    model.partial = partial;
    let nodes = match &args.nodes {
        Some(list) => Some(model.select_nodes(list).map_err(Error::Usage)?),
        None => None,
    };
    // A window past the run, or a message type the run never sent, would draw nothing at all.
    if let Some(from) = args.from {
        if SimTime(from.as_nanos()) > model.end {
            return Err(Error::Usage(format!(
                "--from {from} is past the end of the run, at {}: nothing to draw",
                model.end
            )));
        }
    }
    if let (true, Some(list)) = (args.timeline, &args.messages) {
        unsent_types(&model, list)?;
    }
    let win = window.map(|w| Window {
        from: w.from,
        to: w.to.min(model.end),
    });
    if let Some(path) = &args.svg {
        // As the timeline does: a failing run is drawn around its failure unless asked otherwise.
        let framed = win.or_else(|| {
            model
                .focus
                .map(|_| timeline::window(&model, &Default::default()))
        });
        outs.write_text("--svg", path, &svg::render(&model, framed))?;
    }
    if let Some(path) = &args.html {
        let mut title = format!("{} (seed {})", report.scenario.name, report.outcome.seed);
        if let Some(note) = &model.partial {
            title.push_str(&format!(" - PART OF THE RUN: {note}"));
        }
        outs.write_text(
            "--html",
            path,
            &html::render(&model, &report.verdicts, win, &title),
        )?;
    }
    if let Some(dir) = &args.plots {
        outs.create_dir("--plots", dir)?;
        for (name, text) in plots::all(&model) {
            outs.write_text("--plots", &dir.join(name), &text)?;
        }
        for line in plots::summary(&model) {
            outln!("plots: {line}");
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
            from: win.map(|w| w.from),
            to: win.map(|w| w.to),
            nodes,
            color,
            width: timeline_width(args.width),
            max_rows: (args.lines > 0).then_some(args.lines),
            messages: args
                .messages
                .as_deref()
                .map(|m| {
                    m.split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        };
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        // A closed pipe (`| head`) ends the picture, not the command.
        if let Err(e) = timeline::render_to(&model, &opts, &mut w).and_then(|_| w.flush()) {
            super::stdout_failed(&e);
        }
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

fn ron_text<T: serde::Serialize>(items: &[T], what: &str) -> String {
    ron::ser::to_string_pretty(items, ron::ser::PrettyConfig::new())
        .unwrap_or_else(|e| format!("// cannot write {what}: {e}\n"))
}
