//! The `explore` and `shrink` subcommands: parse their flags, call `crate::explore`, print the
//! summary, write the shrunk scenario.

use super::outputs::{self, Outputs};
use super::run::{parse_bytes, parse_seed};
use crate::check::Status;
use crate::explore::{
    file_stem, runner, runner_for, shrink_or_report, sweep, Budget, Shard, ShrinkOptions, Shrunk,
    Strategy, SweepConfig, SweepOutcome,
};
use crate::memory::Bytes;
use crate::registry::Registry;
use crate::run::Report;
use crate::scenario::Scenario;
use crate::{Duration, Error};
use std::path::{Path, PathBuf};

/// Flags of `clustersim explore`.
#[derive(clap::Args, Debug)]
pub(super) struct ExploreArgs {
    /// The scenario file (RON); its nemesis draws different faults for every seed.
    file: PathBuf,
    /// How many seeds to run (from --first-seed on) [default: 1000].
    #[arg(long, conflicts_with = "time", value_parser = parse_seeds, allow_hyphen_values = true)]
    seeds: Option<u64>,
    /// Run seeds for this much wall time instead (e.g. 30s, 5m).
    #[arg(long, value_parser = parse_wall, allow_hyphen_values = true)]
    time: Option<std::time::Duration>,
    /// Worker threads, at most 1024 [default: one per core]; results do not depend on it
    /// (with --strategy exhaustive, the search's threads).
    #[arg(long, short, value_parser = parse_jobs, allow_hyphen_values = true)]
    jobs: Option<usize>,
    /// Run only seeds with seed % N == K, to spread a campaign over machines.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// The first seed of the campaign.
    #[arg(long, default_value_t = 0, value_parser = parse_seed, allow_hyphen_values = true)]
    first_seed: u64,
    /// How seeds pick their runs: random (the file as written), swarm (each seed draws which
    /// fault kinds are on and how hard they hit), pct:D[/WINDOW] (PCT priorities order the
    /// events due within WINDOW, 5ms by default); or exhaustive: no seeds, every path of the
    /// run with `clustersim check`'s default bounds (use `check` to set them).
    #[arg(long, value_name = "S", default_value = "random", value_parser = parse_search)]
    strategy: Search,
    /// Keep going after the first failure.
    #[arg(long)]
    keep_going: bool,
    /// Stop as soon as every coverage goal (`ctx.sometimes`) the runs evaluate has been
    /// reached by some seed; otherwise run the whole budget.
    #[arg(long)]
    until_covered: bool,
    /// Do not shrink the first failure.
    #[arg(long)]
    no_shrink: bool,
    /// Where to write the shrunk scenario.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Overwrite a shrunk scenario file that already exists.
    #[arg(long)]
    force: bool,
    /// Most runs to spend shrinking (at least 1).
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs, value_parser = parse_runs, allow_hyphen_values = true)]
    max_shrink_runs: usize,
    /// Seeds to try on a smaller candidate that passes with the current one, so a failure that
    /// needs a lost message still shrinks (the shrunk file keeps the seed it fails with).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    reseeds: u32,
    /// Memory budget of each run (default: the file's bounds.max_memory, else 2GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes, allow_hyphen_values = true)]
    max_memory: Option<Bytes>,
    /// Run the first failing seed, and the shrunk file, twice more and compare their trace
    /// hashes: a file that does not replay is said so before it is trusted.
    #[arg(long)]
    check_determinism: bool,
}

/// What `explore` searches: seeds drawn by a strategy, or every path.
#[derive(Clone, Copy, Debug)]
pub(super) enum Search {
    /// Seeds, each run as the strategy draws it.
    Seeds(Strategy),
    /// Every path within `check`'s default bounds.
    Exhaustive,
}

fn parse_search(s: &str) -> Result<Search, String> {
    if s.trim() == "exhaustive" {
        return Ok(Search::Exhaustive);
    }
    super::run::parse_strategy(s)
        .map(Search::Seeds)
        .map_err(|e| format!("{e}, or exhaustive"))
}

/// `explore --strategy exhaustive`: `check` with its default bounds; the seed flags are refused.
fn explore_exhaustively(registry: &Registry, args: &ExploreArgs) -> Result<u8, Error> {
    let seed_flags = [
        ("--seeds", args.seeds.is_some()),
        ("--time", args.time.is_some()),
        ("--shard", args.shard.is_some()),
        ("--first-seed", args.first_seed != 0),
        ("--keep-going", args.keep_going),
        ("--until-covered", args.until_covered),
        ("--no-shrink", args.no_shrink),
        ("--reseeds", args.reseeds != 0),
        ("--check-determinism", args.check_determinism),
    ];
    if let Some((flag, _)) = seed_flags.iter().find(|(_, given)| *given) {
        return Err(Error::Usage(format!(
            "{flag} is about seeds, and --strategy exhaustive runs no seeds: it searches every \
             path, as `{} check` does (which takes --depth, --window, --untimed, --redeliver, \
             --crashes, --restarts, --drops, --duplicates, --isolations, --targets, --max-states, \
             --max-memory and --threads; here --jobs sets its threads)",
            registry.program()
        )));
    }
    let mut check =
        super::check::CheckArgs::defaults(args.file.clone(), args.out.clone(), args.force);
    check.max_memory = args.max_memory;
    check.threads = args.jobs.map(|n| n as u64);
    super::check::cmd_check(registry, &check)
}

/// Flags of `clustersim shrink`.
#[derive(clap::Args, Debug)]
pub(super) struct ShrinkArgs {
    /// The scenario file (RON).
    file: PathBuf,
    /// The failing seed.
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    seed: u64,
    /// The check that must keep failing, one of the scenario's (default: the first one the
    /// seed fails).
    #[arg(long)]
    check: Option<String>,
    /// The strategy the seed failed under (what explore's line names).
    #[arg(long, value_name = "S", default_value = "random", value_parser = super::run::parse_strategy)]
    strategy: Strategy,
    /// Where to write the shrunk scenario.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Overwrite the shrunk scenario file if it exists.
    #[arg(long)]
    force: bool,
    /// Most runs to spend shrinking (at least 1).
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs, value_parser = parse_runs, allow_hyphen_values = true)]
    max_runs: usize,
    /// Seeds to try on a smaller candidate that passes with the current one, so a failure that
    /// needs a lost message still shrinks (the shrunk file keeps the seed it fails with).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    reseeds: u32,
    /// Memory budget of each run (default: the file's bounds.max_memory, else 2GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes, allow_hyphen_values = true)]
    max_memory: Option<Bytes>,
}

/// Most worker threads `--jobs` accepts.
const MAX_JOBS: usize = 1024;

fn parse_count(s: &str, what: &str) -> Result<u64, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!("{what} must be >= 1, not {s}"));
    }
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number (0 to {})", u64::MAX))
}

fn parse_seeds(s: &str) -> Result<u64, String> {
    match parse_count(s, "--seeds")? {
        0 => Err("--seeds must be >= 1: zero seeds run nothing".into()),
        n => Ok(n),
    }
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match parse_count(s, "--jobs")? {
        0 => Err(format!(
            "--jobs must be between 1 and {MAX_JOBS}; leave it out for one per core"
        )),
        n if n > MAX_JOBS as u64 => Err(format!(
            "--jobs {n} is more than {MAX_JOBS} threads; a campaign runs one seed per thread, \
             so use at most one per core (--shard spreads it over machines)"
        )),
        n => Ok(n as usize),
    }
}

fn parse_runs(s: &str) -> Result<usize, String> {
    match parse_count(s, "the shrink budget")? {
        0 => Err("the shrink budget must be >= 1 run".into()),
        n => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

fn parse_wall(s: &str) -> Result<std::time::Duration, String> {
    let d: Duration = s.parse()?;
    if d == Duration::ZERO {
        return Err("the time budget must be greater than zero".into());
    }
    Ok(std::time::Duration::from_nanos(d.0))
}

fn shrunk_path(scenario: &Scenario, seed: u64, out: &Path) -> PathBuf {
    out.join(format!(
        "{}.ron",
        file_stem(&format!("{}-seed{seed}-min", scenario.name))
    ))
}

fn budget_of(args: &ExploreArgs) -> Budget {
    match (args.seeds, args.time) {
        (_, Some(t)) => Budget::Time(t),
        (Some(n), None) => Budget::Seeds(n),
        (None, None) => Budget::Seeds(1_000),
    }
}

/// `clustersim explore`: exit 1 if a seed failed or a check could not decide on one, 0 if every
/// seed was judged and none failed.
pub(super) fn cmd_explore(registry: &Registry, args: &ExploreArgs) -> Result<u8, Error> {
    let strategy = match args.strategy {
        Search::Exhaustive => return explore_exhaustively(registry, args),
        Search::Seeds(s) => s,
    };
    outputs::check_dir("--out", &args.out)?;
    let mut scenario = super::load_for(registry, &args.file)?;
    if let Some(b) = args.max_memory {
        scenario.bounds.max_memory = b;
    }
    let origin = args.file.display().to_string();
    let prepared = registry.prepare(&scenario, &origin)?;
    if scenario.checks.is_empty() {
        return Err(Error::Usage(format!(
            "{origin} has no checks, so no seed can fail; list some in `checks`: {}",
            registry.checks_for(prepared.protocol.as_ref()).join(", ")
        )));
    }
    if let Budget::Seeds(n) = budget_of(args) {
        if args.first_seed.checked_add(n - 1).is_none() {
            return Err(Error::Usage(format!(
                "--first-seed {} with --seeds {n} runs past the last seed ({}); start earlier or \
                 run fewer seeds",
                args.first_seed,
                u64::MAX
            )));
        }
    }
    let config = SweepConfig {
        first_seed: args.first_seed,
        budget: budget_of(args),
        shard: args.shard.unwrap_or(Shard::ALL),
        jobs: args.jobs.unwrap_or(0),
        keep_going: args.keep_going,
        until_covered: args.until_covered,
    };
    outln!(
        "{} explore: {} ({}, shard {}, {} threads)",
        registry.program(),
        scenario.name,
        match config.budget {
            Budget::Seeds(n) => match config.first_seed.checked_add(n) {
                Some(end) => format!("seeds {}..{end}", config.first_seed),
                // The range ends at the last seed: shown inclusive, since its end has no number.
                None => format!("seeds {}..={}", config.first_seed, u64::MAX),
            },
            Budget::Time(t) => format!("seeds from {} for {:.0?}", config.first_seed, t),
        },
        config.shard,
        config.workers()
    );
    match strategy {
        Strategy::Random => {}
        Strategy::Swarm => outln!(
            "  strategy swarm: every seed draws its fault kinds, rates and links within the file's"
        ),
        Strategy::Pct { depth, window } => outln!(
            "  strategy pct:{depth}: events due within {window} of the earliest run by random \
             priorities, {} change points",
            depth - 1
        ),
    }
    if scenario.nemesis.is_none() {
        outln!("  note: no nemesis; seeds vary only the network and the nodes' own randomness");
    }
    super::warn(&prepared.plan, false);
    let shown = super::for_stderr();
    let outcome = sweep(
        &scenario,
        &config,
        runner_for(registry, &origin, strategy),
        shown.as_ref(),
    )?;
    print_summary(&outcome, &config);
    if matches!(config.budget, Budget::Time(_))
        && outcome.seeds.last() == Some(&last_seed(config.shard))
    {
        outln!(
            "  ran out of seeds: {} is the last seed (shard {}); start lower with --first-seed",
            last_seed(config.shard),
            config.shard
        );
    }
    if let Strategy::Pct { depth, .. } = strategy {
        let per_run = outcome.events / outcome.runs().max(1);
        let nodes = prepared.plan.roster.len();
        outln!(
            "  PCT bound: a given depth-{depth} bug is hit with probability >= 1/(n k^{}) = {:.2e} \
             per run (n = {nodes} nodes, k = {per_run} events a run)",
            depth - 1,
            crate::sim::Scheduler::pct_bound(depth, nodes, per_run)
        );
    }
    let Some(first) = outcome.first_failure() else {
        if args.check_determinism {
            outln!("  determinism: no seed failed, so none was run again");
        }
        // A seed a check could not judge is not a pass (as `run` exits 1 for it).
        return Ok(if outcome.undecided > 0 { 1 } else { 0 });
    };
    if let Some(k) = strategy.knobs(&scenario, first.seed) {
        outln!("  seed {} ran with {strategy}: {k}", first.seed);
        outln!(
            "  replay: {} run {origin} --seed {}{}",
            registry.program(),
            first.seed,
            strategy.flag()
        );
    }
    let drawn = strategy.scenario_for(&scenario, first.seed);
    if args.check_determinism {
        replays(
            registry,
            &drawn,
            &origin,
            Some(first.seed),
            "the failing seed",
        )?;
    }
    if args.no_shrink {
        outln!(
            "  shrink it: {} shrink {origin} --seed {}{}",
            registry.program(),
            first.seed,
            strategy.flag()
        );
        return Ok(1);
    }
    let opts = ShrinkOptions {
        max_runs: args.max_shrink_runs,
        check: first.checks.first().map(|(c, _)| c.clone()),
        reseeds: args.reseeds,
    };
    match shrink_and_write(
        registry, &drawn, &args.file, first.seed, &opts, &args.out, args.force,
    ) {
        Ok(Ok((shrunk, path))) if args.check_determinism => {
            let at = path.display().to_string();
            replays(registry, &shrunk.scenario, &at, None, "the shrunk file")?;
        }
        Ok(Ok(_)) => {}
        Ok(Err(_)) => outln!(
            "  not shrunk: seed {} did not fail again when run alone (does the run depend on something outside its scenario and seed?)",
            first.seed
        ),
        Err(e) => outln!("  not shrunk: {e}"),
    }
    Ok(1)
}

/// Runs `scenario` (at `seed`) twice and says whether the two runs gave one trace hash.
fn replays(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    seed: Option<u64>,
    what: &str,
) -> Result<(), Error> {
    let opts = crate::run::RunOptions {
        seed,
        ..Default::default()
    };
    let first = crate::run::run_scenario(registry, scenario, origin, &opts)?;
    let hash = first.outcome.trace_hash();
    match crate::run::check_determinism(registry, scenario, origin, &opts, hash)? {
        crate::run::Determinism::Same(h) => {
            outln!("  determinism: {what} replays to trace hash {h:016x}");
        }
        crate::run::Determinism::Differs {
            second, divergence, ..
        } => {
            outln!(
                "  NOT DETERMINISTIC: {what} gave trace hashes {hash:016x} and {second:016x}; its \
                 replay cannot be trusted (a wall clock, an unseeded generator or a HashMap's \
                 order in the protocol)"
            );
            if let Some(d) = divergence {
                outln!("    the runs part at {d}");
            }
        }
    }
    Ok(())
}

/// The largest seed `shard` owns: where a time-bounded sweep stops.
fn last_seed(shard: Shard) -> u64 {
    u64::MAX - (u64::MAX % shard.count + shard.count - shard.index) % shard.count
}

fn print_summary(o: &SweepOutcome, config: &SweepConfig) {
    outln!(
        "  {} runs, {} failing, {:.0} seeds/s ({:.2}s wall, {:.1}M events){}",
        o.runs(),
        o.failures.len(),
        o.seeds_per_sec(),
        o.elapsed.as_secs_f64(),
        o.events as f64 / 1e6,
        if o.stopped_at_failure && !config.keep_going {
            "; stopped at the first failure (--keep-going to go on)"
        } else {
            ""
        }
    );
    print_goals(o, config);
    if let Some(u) = &o.first_undecided {
        let by: Vec<String> = o
            .undecided_by_check
            .iter()
            .map(|(c, n)| format!("{c} on {n}"))
            .collect();
        let (check, why) = u.checks.first().cloned().unwrap_or_default();
        outln!(
            "  INCONCLUSIVE: on {} of {} seeds a check could not decide ({}); first seed {}: \
             {check}: {why}",
            o.undecided,
            o.runs(),
            by.join(", "),
            u.seed
        );
    }
    if o.failures.is_empty() {
        if o.undecided == 0 {
            outln!("  no failures");
        } else {
            outln!("  no failures, but not every seed was judged: exit 1");
        }
        return;
    }
    outln!("  failures by check:");
    for (check, n) in &o.by_check {
        outln!("    {check}: {n}");
    }
    let firsts: Vec<String> = o
        .failures
        .iter()
        .take(10)
        .map(|f| f.seed.to_string())
        .collect();
    outln!("  first failing seeds: {}", firsts.join(", "));
    for f in o.failures.iter().take(3) {
        for (check, summary) in &f.checks {
            outln!("    seed {}: FAIL {check}: {summary}", f.seed);
        }
    }
}

/// The coverage goals: how many runs reached each, and the ones none did.
fn print_goals(o: &SweepOutcome, config: &SweepConfig) {
    if o.goals.is_empty() {
        if config.until_covered {
            outln!("  goals: none evaluated (a protocol declares them with ctx.sometimes)");
        }
        return;
    }
    let reached = o.goals.iter().filter(|g| g.runs_reached > 0).count();
    outln!(
        "  goals: {reached} of {} reached{}",
        o.goals.len(),
        if o.covered {
            "; stopped once every goal was reached"
        } else {
            ""
        }
    );
    // Out of every run, so a goal reached whenever it is evaluated (`reachable`) still says
    // how often that was; how many runs evaluated it, when not all did and it mattered.
    let runs = o.runs();
    for g in &o.goals {
        match g.first_seed {
            Some(seed) => outln!(
                "    reached {}: in {} of {runs} runs{}, first seed {seed}",
                g.name,
                g.runs_reached,
                if g.runs_checked < runs && g.runs_checked != g.runs_reached {
                    format!(" (evaluated in {})", g.runs_checked)
                } else {
                    String::new()
                }
            ),
            None => outln!(
                "    never   {}: evaluated in {} runs, never held",
                g.name,
                g.runs_checked
            ),
        }
    }
}

fn shrink_and_write(
    registry: &Registry,
    scenario: &Scenario,
    input: &Path,
    seed: u64,
    opts: &ShrinkOptions,
    out: &Path,
    force: bool,
) -> Result<std::result::Result<(Shrunk, PathBuf), Box<Report>>, Error> {
    let origin = &input.display().to_string();
    let path = shrunk_path(scenario, seed, out);
    let outs = Outputs::new(input, force);
    outs.check(&[("--out", path.clone())])?;
    outln!("shrinking seed {seed} ...");
    let started = std::time::Instant::now();
    let shrunk = match shrink_or_report(scenario, seed, runner(registry, origin), opts)? {
        Ok(shrunk) => shrunk,
        Err(report) => return Ok(Err(report)),
    };
    let path = out.join(shrunk.file_name());
    outs.create_dir("--out", out)?;
    outs.write_text("--out", &path, &shrunk.to_ron(origin, &path))?;
    outln!(
        "  FAIL {}: {}\n  shrunk to {} fault events (from {}) in {} runs, {:.2}s",
        shrunk.check,
        shrunk.summary,
        shrunk.scenario.faults.len(),
        shrunk.faults_before,
        shrunk.runs,
        started.elapsed().as_secs_f64()
    );
    for f in &shrunk.scenario.faults {
        outln!("    at {}: {:?}", f.at, f.fault);
    }
    for rule in &shrunk.scenario.disk {
        let rates = rule.rates();
        if !rates.is_zero() {
            outln!(
                "    and drawn disk faults it needs on {}: {rates} (the trace's disk notes say which)",
                if rule.nodes.is_empty() {
                    "every node".to_string()
                } else {
                    rule.nodes.join(", ")
                }
            );
        }
    }
    outln!("  wrote {}", path.display());
    outln!("  replay: {} run {}", registry.program(), path.display());
    Ok(Ok((shrunk, path)))
}

/// `clustersim shrink`: exit 1 when the seed fails (and the shrunk file is written), 0 when
/// it passes.
pub(super) fn cmd_shrink(registry: &Registry, args: &ShrinkArgs) -> Result<u8, Error> {
    outputs::check_dir("--out", &args.out)?;
    let mut scenario = super::load_for(registry, &args.file)?;
    if let Some(b) = args.max_memory {
        scenario.bounds.max_memory = b;
    }
    let origin = args.file.display().to_string();
    registry.prepare(&scenario, &origin)?;
    let opts = ShrinkOptions {
        max_runs: args.max_runs,
        check: args.check.clone(),
        reseeds: args.reseeds,
    };
    if let Some(c) = &args.check {
        if !scenario.checks.iter().any(|k| k.name() == c) {
            let names: Vec<&str> = scenario.checks.iter().map(|k| k.name()).collect();
            return Err(Error::Usage(format!(
                "the scenario has no check `{c}`; its checks: {}",
                names.join(", ")
            )));
        }
    }
    let drawn = args.strategy.scenario_for(&scenario, args.seed);
    match shrink_and_write(
        registry, &drawn, &args.file, args.seed, &opts, &args.out, args.force,
    )? {
        Ok(_) => Ok(1),
        Err(report) => {
            // A check that could not decide is no pass, nor is a seed that fails another
            // check: say which, and exit 1 as `run` does.
            let named = |status: Status| -> Vec<String> {
                report
                    .verdicts
                    .iter()
                    .filter(|v| v.status == status)
                    .filter(|v| args.check.as_deref().is_none_or(|c| v.check == c))
                    .map(|v| format!("{} ({})", v.check, v.summary))
                    .collect()
            };
            let unknown = named(Status::Unknown);
            let others: Vec<&str> = report
                .verdicts
                .iter()
                .filter(|v| v.status == Status::Fail)
                .map(|v| v.check.as_str())
                .collect();
            let target = args.check.as_deref().unwrap_or("every check");
            let mut code = 0;
            if unknown.is_empty() {
                out!("seed {} passes {target}", args.seed);
            } else {
                match &args.check {
                    Some(_) => out!(
                        "seed {} does not fail it, but undecided {}",
                        args.seed,
                        unknown.join("; ")
                    ),
                    None => out!(
                        "seed {} fails no check, but undecided {}",
                        args.seed,
                        unknown.join("; ")
                    ),
                }
                code = 1;
            }
            if !others.is_empty() {
                out!(
                    ", though it fails {}: shrink it with --check {} or without --check",
                    others.join(", "),
                    others[0]
                );
                code = 1;
            }
            outln!(
                "; nothing to shrink{}",
                match (code, others.is_empty()) {
                    (0, _) => "",
                    (_, false) => " (exit 1: the seed fails a check)",
                    _ => " (exit 1: nothing shows the seed correct)",
                }
            );
            Ok(code)
        }
    }
}
