//! The `check` subcommand: an exhaustive bounded search of a scenario (`explore::exhaustive`),
//! its counts, and the shortest failing path written as a scenario `run` replays.

use super::outputs::{self, Outputs};
use super::run::parse_duration;
use crate::explore::exhaustive::{
    check_scenario, default_faults, replay_scenario, ExhaustiveConfig, ExhaustiveOutcome, Timing,
};
use crate::explore::file_stem;
use crate::fault::resolve_names;
use crate::registry::Registry;
use crate::scenario::to_ron;
use crate::{Duration, Error, NodeId};
use std::path::PathBuf;

/// Flags of `clustersim check`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckArgs {
    /// The scenario file (RON); its nemesis, if any, only says which nodes may crash.
    file: PathBuf,
    /// Most choices along one path (1 to 100000); a longer path is completed in time order.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    depth: u64,
    /// Events due within this much of the earliest may run first (0s: only simultaneous ones).
    #[arg(long, default_value = "0s", value_parser = parse_window, allow_hyphen_values = true)]
    window: Duration,
    /// Most crashes along one path (default: 1 if the nemesis crashes nodes, else 0).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=8))]
    crashes: Option<u32>,
    /// Most disk faults along one path: at any step a target's next sync may be made to fail,
    /// dropping the writes it covers from its disk (fsyncgate), or a crash may be armed to fall
    /// at that sync, inside its handler, with the power gone.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=8))]
    disk_faults: u32,
    /// Let a crashed node restart at any later step (a choice at every step: a much larger
    /// search); without it a crashed node stays down.
    #[arg(long)]
    restarts: bool,
    /// Most lost messages along one path.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=8))]
    drops: u32,
    /// Most duplicated messages along one path (a copy delivered beside the original).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=8))]
    duplicates: u32,
    /// Leave time out of the state: any pending timer may fire and any message in flight may
    /// arrive next. Sound for properties that do not rest on timing; a protocol whose safety
    /// rests on time (leases) may fail where no timed run does. --window is then ignored.
    #[arg(long)]
    untimed: bool,
    /// Keep every message in flight once sent: it may be delivered again any number of times
    /// (a duplicating network, as TLA+ specs and stateright's models have it).
    #[arg(long)]
    redeliver: bool,
    /// A delivery or timer that changes nothing is no step: the event stays pending until it
    /// would change something (stateright's actor model). The same verdicts on fewer states;
    /// needs --untimed and no faults to choose.
    #[arg(long)]
    keep_ignored: bool,
    /// Most times a target is cut off from every other node along one path, each healed at
    /// any later step (default: 1 if the nemesis partitions or isolates nodes, else 0).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=8))]
    isolations: Option<u32>,
    /// Nodes or roles that may crash or be cut off, e.g. worker (default: the nemesis's
    /// targets).
    #[arg(long, value_name = "a,b")]
    targets: Option<String>,
    /// Most distinct states before giving up (1 to 100000000).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    max_states: u64,
    /// Memory budget of the search: the states waiting to be expanded and those seen
    /// (default: the file's bounds.max_memory, else 2GiB).
    #[arg(long, value_name = "SIZE", value_parser = super::run::parse_bytes, allow_hyphen_values = true)]
    pub(super) max_memory: Option<crate::memory::Bytes>,
    /// Threads that expand states (1 to 1024; default: one per core). The verdict, the
    /// counts and the path are the same on any number.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(super) threads: Option<u64>,
    /// Count once the states that differ only by which of the protocol's interchangeable
    /// nodes (`Protocol::interchangeable`, e.g. 2PC's RMs) plays which part.
    #[arg(long)]
    symmetry: bool,
    /// Where to write the failing path (created if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Overwrite a failing-path file that already exists.
    #[arg(long)]
    force: bool,
}

/// The coverage goals: on how many judged path ends each held, and the ones it never did.
fn print_goals(goals: &[crate::explore::exhaustive::GoalPaths]) {
    if goals.is_empty() {
        return;
    }
    let reached = goals.iter().filter(|g| g.ends_reached > 0).count();
    outln!(
        "  goals: {reached} of {} reached on some path judged",
        goals.len()
    );
    for g in goals {
        if g.ends_reached > 0 {
            outln!(
                "    reached {}: on {} of {} path ends",
                g.name,
                g.ends_reached,
                g.ends_checked
            );
        } else {
            outln!(
                "    never   {}: evaluated on {} path ends, never held",
                g.name,
                g.ends_checked
            );
        }
    }
}

/// How each check is judged: invariants at every state whose history grew, the rest at path
/// ends; and what a state keeps.
fn print_judging(checks: &[Box<dyn crate::registry::AnyCheck>]) {
    let names = |invariant: bool| {
        checks
            .iter()
            .filter(|c| c.invariant() == invariant)
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (inv, ends) = (names(true), names(false));
    if !inv.is_empty() {
        outln!("  judged at every state: {inv}");
    }
    if !ends.is_empty() {
        outln!("  judged at path ends: {ends}");
    }
    if !checks.iter().any(|c| c.reads_history()) {
        outln!("  no check reads the history: states leave it out");
    }
}

/// What the search takes as the file has it rather than trying every way: the seed's draws,
/// and the random faults it leaves out; true when some fault of the file is left out.
fn print_not_searched(scenario: &crate::scenario::Scenario, config: &ExhaustiveConfig) -> bool {
    if config.timing == Timing::Timed {
        outln!(
            "  fixed by seed {}: latency draws and the nodes' own random draws (timer delays); \
             other seeds may order events otherwise (explore tries them)",
            scenario.seed
        );
    }
    let mut left = Vec::new();
    let links = std::iter::once(&scenario.network.default)
        .chain(scenario.network.overrides.iter().map(|o| &o.link));
    if links.clone().any(|l| l.drop > 0.0) {
        left.push("the network's random loss (--drops chooses losses instead)".to_string());
    }
    if links.clone().any(|l| l.duplicate > 0.0) {
        left.push(
            "the network's random duplication (--duplicates chooses them instead)".to_string(),
        );
    }
    if let Some(n) = &scenario.nemesis {
        use crate::fault::NemesisKind;
        let other: Vec<String> = n
            .kinds
            .iter()
            .filter(|k| {
                !matches!(
                    k,
                    NemesisKind::Crash | NemesisKind::Isolate | NemesisKind::Partition
                )
            })
            .map(|k| format!("{k:?}"))
            .collect();
        if !other.is_empty() {
            left.push(format!("the nemesis's {} faults", other.join(", ")));
        }
    }
    if !scenario.disk.is_empty() {
        left.push(
            "the disk's drawn faults (drawn from each node's stream, not branched on)".to_string(),
        );
    }
    if !left.is_empty() {
        outln!("  not searched: {}", left.join("; "));
    }
    !left.is_empty()
}

/// What a search that found no failing path can claim, and its exit code: 0 when the space
/// was exhausted (or bounded by depth only) and every check judged, 1 when the search was
/// inconclusive (a budget spent, nothing judged).
fn print_no_violation(
    outcome: &ExhaustiveOutcome,
    config: &ExhaustiveConfig,
    judged_at_ends: bool,
    left_out: bool,
) -> u8 {
    if outcome.complete {
        outln!(
            "  complete{}: every state was explored{}, and no check fails on any",
            if left_out {
                " for the faults searched (not for those under `not searched`)"
            } else {
                ""
            },
            if outcome.ends > 0 && !outcome.undecided.is_empty() {
                ", every path end judged (at some, a check could not decide: see `undecided` above)"
            } else if outcome.ends > 0 {
                ", every path end judged"
            } else {
                ""
            }
        );
        return 0;
    }
    if outcome.out_of_memory {
        outln!(
            "  INCONCLUSIVE: the search would outgrow its memory budget ({}) after {} distinct \
             states; no check failed on the paths judged (raise --max-memory, or narrow \
             --window, lower --crashes, --drops or --depth)",
            outcome.memory_budget,
            outcome.unique
        );
        return 1;
    }
    if outcome.unique >= config.max_states && !outcome.exhausted {
        outln!(
            "  INCONCLUSIVE: stopped at --max-states {}; no check failed on the paths judged \
             (raise --max-states, or narrow the search)",
            config.max_states
        );
        return 1;
    }
    if let Some(u) = outcome.never_decided() {
        outln!(
            "  INCONCLUSIVE: {} could not decide at any of the {} path ends ({}); no check failed",
            u.first.check,
            outcome.ends,
            u.first.summary
        );
        return 1;
    }
    let every_invariant = outcome.ends == 0 && outcome.invariant_states > 0 && !judged_at_ends;
    if outcome.ends == 0 && !every_invariant {
        outln!(
            "  INCONCLUSIVE: no path end was judged, so the checks judged at path ends never \
             were ({})",
            if outcome.cut > 0 {
                format!(
                    "the {} paths cut at --depth {} are judged by the invariants only, untimed: \
                     raise --depth",
                    outcome.cut, config.max_depth
                )
            } else {
                "every path loops".to_string()
            }
        );
        return 1;
    }
    if outcome.cut > 0 {
        outln!(
            "  bounded: no check fails on any path of up to {} choices ({})",
            config.max_depth,
            match config.timing {
                Timing::Timed => format!(
                    "the {} longer paths were run on in time order and judged",
                    outcome.cut
                ),
                Timing::Untimed => format!(
                    "the invariants held on every state; the {} paths cut there were not \
                     judged at an end",
                    outcome.cut
                ),
            }
        );
        return 0;
    }
    outln!("  INCONCLUSIVE: the search stopped before it judged every check");
    1
}

impl CheckArgs {
    /// The flags' defaults for `file`, writing a failing path to `out`.
    pub(super) fn defaults(file: PathBuf, out: PathBuf, force: bool) -> Self {
        CheckArgs {
            file,
            depth: 1_000,
            window: Duration::ZERO,
            crashes: None,
            disk_faults: 0,
            restarts: false,
            drops: 0,
            duplicates: 0,
            untimed: false,
            redeliver: false,
            keep_ignored: false,
            isolations: None,
            targets: None,
            max_states: 1_000_000,
            max_memory: None,
            threads: None,
            symmetry: false,
            out,
            force,
        }
    }
}

fn parse_window(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > Duration::from_secs(10) {
        return Err(format!("--window {d} is longer than 10s"));
    }
    Ok(d)
}

/// `clustersim check`: exit 1 when a path fails a check, 0 when none does.
pub(super) fn cmd_check(registry: &Registry, args: &CheckArgs) -> Result<u8, Error> {
    outputs::check_dir("--out", &args.out)?;
    let scenario = super::load_for(registry, &args.file)?;
    let origin = args.file.display().to_string();
    let prepared = registry.prepare(&scenario, &origin)?;
    // Refused before anything is printed: a header would promise a search that cannot run.
    crate::explore::exhaustive::refuse_capacity(&scenario, &origin)?;
    if !prepared.protocol.searchable() {
        return Err(crate::explore::exhaustive::not_searchable(
            prepared.protocol.as_ref(),
        ));
    }
    if scenario.checks.is_empty() {
        return Err(Error::Usage(format!(
            "{origin} has no checks, so no path can fail; list some in `checks`"
        )));
    }
    if matches!(scenario.scheduler, crate::sim::Scheduler::Replay(_)) {
        return Err(Error::Usage(format!(
            "{origin} replays one path (`scheduler: Replay`); `check` searches every path of a \
             scenario: check the file it was found from, or `{} run` this one",
            registry.program()
        )));
    }
    if args.untimed && args.window != Duration::ZERO {
        return Err(Error::Usage(
            "--window orders events by their due times; --untimed has none (every pending \
             event is a choice): give one or the other"
                .into(),
        ));
    }
    if args.redeliver && !args.untimed {
        return Err(Error::Usage(
            "--redeliver needs --untimed: a message kept in flight would always be due, so \
             virtual time would never move on"
                .into(),
        ));
    }
    if args.keep_ignored && !args.untimed {
        return Err(Error::Usage(
            "--keep-ignored needs --untimed: in a timed search an event left pending would \
             hold time back"
                .into(),
        ));
    }
    let roster = &prepared.plan.roster;
    let faults = default_faults(&scenario, roster);
    let interchangeable = prepared.protocol.interchangeable();
    if args.symmetry && !args.untimed {
        return Err(Error::Usage(
            "--symmetry needs --untimed: interchangeable nodes still draw their delays from \
             streams of their own, so in a timed search renamed states are not alike"
                .into(),
        ));
    }
    if args.symmetry && interchangeable.is_empty() {
        return Err(Error::Usage(format!(
            "--symmetry: protocol `{}` declares no interchangeable nodes \
             (`Protocol::interchangeable`), so no states can be merged by renaming",
            prepared.protocol.name()
        )));
    }
    let symmetry: Vec<Vec<NodeId>> = if args.symmetry {
        interchangeable
            .iter()
            .map(|role| roster.members(role))
            .filter(|g| g.len() > 1)
            .collect()
    } else {
        Vec::new()
    };
    let mut targets = faults.targets;
    if let Some(t) = &args.targets {
        let names: Vec<String> = t.split(',').map(|s| s.trim().to_string()).collect();
        targets =
            resolve_names(roster, &names).map_err(|e| Error::Usage(format!("--targets: {e}")))?;
    }
    if targets.is_empty() {
        let asked = [
            ("--crashes", args.crashes.is_some_and(|k| k > 0)),
            ("--isolations", args.isolations.is_some_and(|k| k > 0)),
            ("--disk-faults", args.disk_faults > 0),
            ("--restarts", args.restarts),
        ];
        if let Some((flag, _)) = asked.iter().find(|(_, given)| *given) {
            return Err(Error::Usage(format!(
                "{flag} needs nodes to act on and the scenario's nemesis names none: pass \
                 --targets a,b (nodes or roles)"
            )));
        }
    }
    // The failing path's file is known before the search: a folder that cannot be made or a
    // file that would be overwritten is said now, not after a long search.
    let path = args.out.join(format!(
        "{}.ron",
        file_stem(&format!("{}-check-min", scenario.name))
    ));
    let outs = Outputs::new(&args.file, args.force);
    outs.check(&[("--out", path.clone())])?;
    outs.create_dir("--out", &args.out)?;
    let config = ExhaustiveConfig {
        max_depth: args.depth as usize,
        window: args.window,
        crashes: args.crashes.unwrap_or(faults.crashes),
        disk_faults: args.disk_faults,
        drops: args.drops,
        duplicates: args.duplicates,
        isolations: args.isolations.unwrap_or(faults.isolations),
        targets,
        restarts: args.restarts,
        max_states: args.max_states,
        timing: if args.untimed {
            Timing::Untimed
        } else {
            Timing::Timed
        },
        redeliver: args.redeliver,
        keep_ignored: args.keep_ignored,
        max_memory: args.max_memory,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| n as usize,
        ),
        symmetry,
        planted: None,
        audit_noops: false,
    };
    if config.keep_ignored && !config.keeps_ignored() {
        return Err(Error::Usage(
            "--keep-ignored needs a search with no faults to choose (crashes, isolations, \
             drops, duplicates, failed syncs): a state whose only events change nothing is then \
             the end of its run"
                .into(),
        ));
    }
    let names: Vec<&str> = config.targets.iter().map(|n| roster.name(*n)).collect();
    outln!(
        "{} check: {} (paths of up to {} choices, {}, up to {} crashes of [{}]{}, up to {} lost messages{}{})",
        registry.program(),
        scenario.name,
        config.max_depth,
        match config.timing {
            Timing::Timed => format!("timed, window {}", config.window),
            Timing::Untimed => "untimed: any pending event may run next".to_string(),
        },
        config.crashes,
        names.join(","),
        if config.restarts { " with restarts" } else { "" },
        config.drops,
        match (config.redeliver, config.duplicates) {
            (true, _) => ", every message redelivered any number of times".to_string(),
            (false, 0) => String::new(),
            (false, k) => format!(", up to {k} duplicated messages"),
        },
        match (config.isolations, config.disk_faults) {
            (0, 0) => String::new(),
            (0, d) => format!(", up to {d} disk faults (failed syncs, crashes at a sync)"),
            (k, 0) => format!(", up to {k} isolations healed at any later step"),
            (k, d) => format!(
                ", up to {k} isolations healed at any later step, up to {d} disk faults (failed syncs, crashes at a sync)"
            ),
        }
    );
    print_judging(&prepared.checks);
    let left_out = print_not_searched(&scenario, &config);
    if config.keep_ignored {
        outln!(
            "  ignored events stay pending: a delivery or timer that changes nothing is no step"
        );
    }
    if args.symmetry {
        outln!(
            "  symmetry: states that differ only by which {} plays which part count once",
            interchangeable
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    let (outcome, searched) = check_scenario(registry, &scenario, &origin, &config)?;
    outln!(
        "  {} states ({} distinct), {} path ends ({} cut at {} choices{}), longest path {}",
        outcome.explored,
        outcome.unique,
        outcome.ends,
        outcome.cut,
        config.max_depth,
        match config.timing {
            Timing::Timed => " and run on in time order",
            Timing::Untimed => ", judged by the invariants only",
        },
        outcome.max_depth
    );
    if outcome.boot_states > 0 {
        outln!(
            "  of the distinct states, {} come before every node booted (untimed, the first boots run first)",
            outcome.boot_states
        );
    }
    if outcome.invariant_states > 0 {
        outln!(
            "  {} states judged by the invariants on the way",
            outcome.invariant_states
        );
    }
    outln!(
        "  {:.2}s on {} thread{}, {:.0} distinct states/s, about {} held at most (budget {})",
        outcome.elapsed.as_secs_f64(),
        config.threads,
        if config.threads == 1 { "" } else { "s" },
        outcome.states_per_sec(),
        crate::memory::Bytes(outcome.peak_memory),
        outcome.memory_budget
    );
    print_goals(&outcome.goals);
    for u in &outcome.undecided {
        outln!(
            "  undecided {}: on {} of {} path ends ({})",
            u.first.check,
            u.ends,
            outcome.ends,
            u.first.summary
        );
    }
    let Some(v) = &outcome.violation else {
        let judged_at_ends = prepared.checks.iter().any(|c| !c.invariant());
        return Ok(print_no_violation(
            &outcome,
            &config,
            judged_at_ends,
            left_out,
        ));
    };
    for f in &v.failed {
        outln!("  FAIL {}: {}", f.check, f.summary);
    }
    outln!(
        "  shortest failing path: {} choices, then time order",
        v.steps.len()
    );
    let replay = replay_scenario(&searched, roster, &v.steps);
    let mut named = replay.clone();
    named.name = format!("{}-check-min", scenario.name);
    let header = vec![
        format!(
            "Found by {} check from {origin}: check `{}` fails.",
            registry.program(),
            v.failed.first().map_or("?", |f| f.check.as_str())
        ),
        format!(
            "  {}",
            v.failed
                .first()
                .map_or(String::new(), |f| f.summary.clone())
        ),
        format!(
            "The shortest failing path of {} explored states: {} steps (Run/Drop name events by \
             insertion number), then time order; trace hash {:016x}.",
            outcome.unique,
            v.steps.len(),
            v.outcome.trace_hash()
        ),
        crate::run::replay_line(registry.program(), &named, &path),
    ];
    outs.write_text("--out", &path, &to_ron(&named, &header))?;
    outln!("  wrote {}", path.display());
    outln!("  replay: {} run {}", registry.program(), path.display());
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: CheckArgs,
    }

    #[test]
    fn the_defaults_explore_uses_are_the_flags_defaults() {
        let parsed = Wrapper::parse_from(["check", "f.ron"]).args;
        let made = CheckArgs::defaults(PathBuf::from("f.ron"), PathBuf::from("."), false);
        assert_eq!(format!("{parsed:?}"), format!("{made:?}"));
    }
}
