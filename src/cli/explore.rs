//! The `explore` and `shrink` subcommands: parse their flags, call `crate::explore`, print the
//! summary, write the shrunk scenario.

use crate::explore::{
    runner, shrink, sweep, Budget, Shard, ShrinkOptions, Shrunk, SweepConfig, SweepOutcome,
};
use crate::registry::Registry;
use crate::scenario::Scenario;
use crate::{Duration, Error};
use std::path::{Path, PathBuf};

/// Flags of `clustersim explore`.
#[derive(clap::Args, Debug)]
pub(super) struct ExploreArgs {
    /// The scenario file (RON); its nemesis draws different faults for every seed.
    file: PathBuf,
    /// How many seeds to run (from --first-seed on).
    #[arg(long, conflicts_with = "time")]
    seeds: Option<u64>,
    /// Run seeds for this much wall time instead (e.g. 30s, 5m).
    #[arg(long, value_parser = parse_wall)]
    time: Option<std::time::Duration>,
    /// Worker threads (default: one per core); results do not depend on it.
    #[arg(long, short, default_value_t = 0)]
    jobs: usize,
    /// Run only seeds with seed % N == K, to spread a campaign over machines.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// The first seed of the campaign.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Keep going after the first failure.
    #[arg(long)]
    keep_going: bool,
    /// Do not shrink the first failure.
    #[arg(long)]
    no_shrink: bool,
    /// Where to write the shrunk scenario.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Overwrite a shrunk scenario file that already exists.
    #[arg(long)]
    force: bool,
    /// Most runs to spend shrinking.
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs)]
    max_shrink_runs: usize,
}

/// Flags of `clustersim shrink`.
#[derive(clap::Args, Debug)]
pub(super) struct ShrinkArgs {
    /// The scenario file (RON).
    file: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// The check that must keep failing (default: the first one the seed fails).
    #[arg(long)]
    check: Option<String>,
    /// Where to write the shrunk scenario.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Overwrite the shrunk scenario file if it exists.
    #[arg(long)]
    force: bool,
    /// Most runs to spend shrinking.
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs)]
    max_runs: usize,
}

fn parse_wall(s: &str) -> Result<std::time::Duration, String> {
    let d: Duration = s.parse()?;
    if d == Duration::ZERO {
        return Err("the time budget must be greater than zero".into());
    }
    Ok(std::time::Duration::from_nanos(d.0))
}

fn shrunk_path(scenario: &Scenario, seed: u64, out: &Path) -> PathBuf {
    out.join(format!("{}-seed{seed}-min.ron", scenario.name))
}

/// `clustersim explore`: exit 1 if a seed failed, 0 if none did.
pub(super) fn cmd_explore(registry: &Registry, args: &ExploreArgs) -> Result<u8, Error> {
    let scenario = super::load_for(registry, &args.file)?;
    let origin = args.file.display().to_string();
    let prepared = registry.prepare(&scenario, &origin)?;
    if scenario.checks.is_empty() {
        return Err(Error::Usage(format!(
            "{origin} has no checks, so no seed can fail; list some in `checks`: {}",
            registry.checks_for(prepared.protocol.as_ref()).join(", ")
        )));
    }
    let config = SweepConfig {
        first_seed: args.first_seed,
        budget: match (args.seeds, args.time) {
            (_, Some(t)) => Budget::Time(t),
            (Some(n), None) => Budget::Seeds(n),
            (None, None) => Budget::Seeds(1_000),
        },
        shard: args.shard.unwrap_or(Shard::ALL),
        jobs: args.jobs,
        keep_going: args.keep_going,
    };
    outln!(
        "{} explore: {} ({}, shard {}, {} threads)",
        registry.program(),
        scenario.name,
        match config.budget {
            Budget::Seeds(n) => format!(
                "seeds {}..{}",
                config.first_seed,
                config.first_seed.saturating_add(n)
            ),
            Budget::Time(t) => format!("seeds from {} for {:.0?}", config.first_seed, t),
        },
        config.shard,
        config.workers()
    );
    if scenario.nemesis.is_none() {
        outln!("  note: no nemesis; seeds vary only the network and the nodes' own randomness");
    }
    let shown = super::for_stderr();
    let outcome = sweep(
        &scenario,
        &config,
        runner(registry, &origin),
        shown.as_ref(),
    )?;
    print_summary(&outcome, &config);
    let Some(first) = outcome.first_failure() else {
        return Ok(0);
    };
    if args.no_shrink {
        outln!(
            "  shrink it: {} shrink {origin} --seed {}",
            registry.program(),
            first.seed
        );
        return Ok(1);
    }
    let opts = ShrinkOptions {
        max_runs: args.max_shrink_runs,
        check: first.checks.first().map(|(c, _)| c.clone()),
    };
    match shrink_and_write(
        registry, &scenario, &origin, first.seed, &opts, &args.out, args.force,
    ) {
        Ok(_) => {}
        Err(e) => outln!("  not shrunk: {e}"),
    }
    Ok(1)
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
    if o.failures.is_empty() {
        outln!("  no failures");
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

fn shrink_and_write(
    registry: &Registry,
    scenario: &Scenario,
    origin: &str,
    seed: u64,
    opts: &ShrinkOptions,
    out: &Path,
    force: bool,
) -> Result<Option<(Shrunk, PathBuf)>, Error> {
    let path = shrunk_path(scenario, seed, out);
    if path.exists() && !force {
        return Err(Error::Exists(path.display().to_string()));
    }
    outln!("shrinking seed {seed} ...");
    let started = std::time::Instant::now();
    let Some(shrunk) = shrink(scenario, seed, runner(registry, origin), opts)? else {
        return Ok(None);
    };
    let path = shrunk.write(origin, out, force)?;
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
    outln!("  wrote {}", path.display());
    outln!("  replay: {} run {}", registry.program(), path.display());
    Ok(Some((shrunk, path)))
}

/// `clustersim shrink`: exit 1 when the seed fails (and the shrunk file is written), 0 when
/// it passes.
pub(super) fn cmd_shrink(registry: &Registry, args: &ShrinkArgs) -> Result<u8, Error> {
    let scenario = super::load_for(registry, &args.file)?;
    let origin = args.file.display().to_string();
    registry.prepare(&scenario, &origin)?;
    let opts = ShrinkOptions {
        max_runs: args.max_runs,
        check: args.check.clone(),
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
    match shrink_and_write(
        registry, &scenario, &origin, args.seed, &opts, &args.out, args.force,
    )? {
        Some(_) => Ok(1),
        None => {
            outln!(
                "seed {} passes {}; nothing to shrink",
                args.seed,
                args.check.as_deref().unwrap_or("every check")
            );
            Ok(0)
        }
    }
}
