//! Shrinking a failing run to a small scenario that still fails the same check.
//!
//! A failing seed is first turned into its explicit form: the faults the run applied (nemesis
//! and schedule alike) become a fixed schedule and the nemesis goes. Then greedy passes try
//! smaller scenarios, keeping each one only if a fresh run still fails the same check: drop
//! faults (a crash with its restart, a partition with its heal, ...), drop single events, remove
//! nodes the protocol can do without, calm the network (link overrides dropped, latency back to
//! the default, loss and duplication toward zero), cut the workload, shorten fault durations, move faults onto round
//! times. The run's length stays: checkers judge the end state, and a shorter run "loses" work
//! merely unfinished. Every candidate is run, so the result is a scenario that really fails,
//! and it is written with times that survive the trip through RON text.
//!
//! Once the faults are explicit, the seed drives only the network's and the nodes' own draws,
//! and any change to a candidate (one fault fewer, less loss) reshuffles them: a failure that
//! needs a lost message somewhere would vanish for reasons unrelated to the change. So a
//! candidate that passes with the current seed can be tried with `reseeds` more seeds (fixed
//! ones, derived from it; off by default, `--reseeds` on the command line), and kept with the
//! first that still fails: the shrunk file carries the seed it fails with, and replays exactly.
//!
//! The shrinker takes any `Fn(&Scenario) -> Result<Report>` (usually `Registry::runner`), and
//! asks the failing verdict whether its check is a safety or a liveness property.

use crate::check::Status;
use crate::error::{Error, Result};
use crate::fault::{Fault, ScheduledFault};
use crate::run::Report;
use crate::scenario::{parse, to_ron, Scenario};
use crate::time::{Duration, Offset};
use std::path::{Path, PathBuf};

/// Limits and target of a shrink.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShrinkOptions {
    /// Most candidate runs to try.
    pub max_runs: usize,
    /// The check that must keep failing; `None`: the first check the seed fails.
    pub check: Option<String>,
    /// Other seeds tried on a smaller candidate that passes with the current one (0: never;
    /// 8 shrinks a failure that needs a lost message well).
    pub reseeds: u32,
}

setters!(ShrinkOptions {
    max_runs: usize,
    check: Option<String>,
    reseeds: u32,
});

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            max_runs: 1_500,
            check: None,
            reseeds: 0,
        }
    }
}

/// A shrunk failure: a scenario with an explicit fault schedule that fails `check`.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The minimal scenario found (no nemesis, explicit faults, the failing seed).
    pub scenario: Scenario,
    /// The check it fails.
    pub check: String,
    /// The failing verdict's summary, from the minimal scenario's run.
    pub summary: String,
    /// The seed.
    pub seed: u64,
    /// Fault events the failing run applied before shrinking.
    pub faults_before: usize,
    /// Candidate runs the shrink spent.
    pub runs: usize,
    /// Trace hash of the minimal scenario's run (what `clustersim run` prints on replay).
    pub trace_hash: u64,
    /// The program that replays it (the registry's), named in the file's header.
    pub program: String,
    /// The outside program the nodes are, if they are one: its path and hash go in the header.
    pub external: Option<crate::protocol::External>,
}

impl Shrunk {
    /// The file name the shrunk scenario is written under: `<name>-seed<S>-min.ron`.
    pub fn file_name(&self) -> String {
        format!("{}.ron", file_stem(&self.scenario.name))
    }

    /// The shrunk scenario as RON text, with a header saying what failed and how to replay it;
    /// `origin` names the scenario it came from, `path` where the text will live.
    pub fn to_ron(&self, origin: &str, path: &Path) -> String {
        let mut header = vec![
            format!(
                "Shrunk by {} from {origin}, seed {}: check `{}` fails{}.",
                self.program,
                self.seed,
                self.check,
                if self.scenario.seed == self.seed {
                    String::new()
                } else {
                    format!(
                        " (with the faults explicit, it fails with seed {})",
                        self.scenario.seed
                    )
                }
            ),
            format!("  {}", self.summary),
            format!(
                "{} fault events (from {} in the failing run), {} runs to shrink; trace hash {:016x}.",
                self.scenario.faults.len(),
                self.faults_before,
                self.runs,
                self.trace_hash
            ),
            crate::run::replay_line(&self.program, &self.scenario, path),
        ];
        if let Some(ext) = &self.external {
            header.push(format!(
                "Nodes are processes of {} (FNV-1a of its bytes: {}); a changed program may not \
                 replay this.",
                ext.program,
                if ext.digest.is_empty() {
                    "unreadable"
                } else {
                    &ext.digest
                }
            ));
        }
        to_ron(&self.scenario, &header)
    }

    /// Writes the scenario into `dir` (created if missing); an existing file is replaced only
    /// with `force`.
    /// The file is written beside its name and moved into place (`crate::output`): a link
    /// there is replaced, never followed, and anything but a regular file is refused.
    pub fn write(&self, origin: &str, dir: &Path, force: bool) -> Result<PathBuf> {
        let path = dir.join(self.file_name());
        crate::output::create_dir(dir)?;
        crate::output::write_text(&path, force, &self.to_ron(origin, &path))?;
        Ok(path)
    }
}

/// A file stem made from a scenario name: letters, digits, `-`, `_` and `.` kept, anything
/// else (separators, `..`, control characters) turned into `-`; never empty, never hidden.
pub fn file_stem(name: &str) -> String {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    while stem.contains("..") {
        stem = stem.replace("..", "-");
    }
    let stem = stem.trim_matches(|c| c == '.' || c == '-').to_string();
    if stem.is_empty() {
        "scenario".to_string()
    } else {
        stem
    }
}

/// The scenario of a finished run with every fault it applied as a fixed schedule and no
/// nemesis: the same run, spelled out.
pub fn explicit(report: &Report) -> Scenario {
    let mut s = report.scenario.clone();
    let roster = &report.outcome.roster;
    s.faults = report
        .outcome
        .faults
        .iter()
        // The record of an armed crash that happened is not a fault to schedule: arming it
        // again makes it happen again.
        // Nor is a node's departure after it was asked to leave: asking it again does it.
        .filter(|(_, f)| !matches!(f, Fault::CrashAtSync { sync: 0, .. } | Fault::Departed(_)))
        .map(|(t, f)| ScheduledFault {
            at: Duration(t.0).min(s.bounds.max_time),
            fault: f.to_named(roster),
        })
        .collect();
    s.nemesis = None;
    s
}

/// Runs `scenario` with `seed`; if it fails (the target check, or any), shrinks the failure.
///
/// Returns `None` when the seed does not fail (nothing to shrink; `shrink_or_report` says
/// whether it passed or a check could not decide). Fails when the failure cannot be replayed
/// from its explicit fault schedule.
pub fn shrink<R>(
    scenario: &Scenario,
    seed: u64,
    runner: R,
    opts: &ShrinkOptions,
) -> Result<Option<Shrunk>>
where
    R: Fn(&Scenario) -> Result<Report>,
{
    Ok(shrink_or_report(scenario, seed, runner, opts)?.ok())
}

/// As `shrink`, but a seed that does not fail gives its run's report (`Err`), whose verdicts
/// say whether every check passed or some could not decide.
pub fn shrink_or_report<R>(
    scenario: &Scenario,
    seed: u64,
    runner: R,
    opts: &ShrinkOptions,
) -> Result<std::result::Result<Shrunk, Box<Report>>>
where
    R: Fn(&Scenario) -> Result<Report>,
{
    let mut s = scenario.clone();
    s.seed = seed;
    let report = runner(&s)?;
    let check = match &opts.check {
        Some(c) => c.clone(),
        None => {
            let first = report.failures().next().map(|v| v.check.clone());
            match first {
                Some(check) => check,
                None => return Ok(Err(Box::new(report))),
            }
        }
    };
    if failing(&report, &check).is_none() {
        return Ok(Err(Box::new(report)));
    }
    let property = failing(&report, &check).map(|v| v.property);
    let faults_before = report.outcome.faults.len();
    let mut spelled = explicit(&report);
    spelled.name = format!("{}-seed{seed}-min", scenario.name);
    spelled.description = format!(
        "{} (shrunk from seed {seed}: `{check}` fails)",
        scenario.description.trim()
    );
    let not_replayed = |why: &str| {
        Error::Invalid {
        path: scenario.name.clone(),
        message: format!(
            "seed {seed} fails `{check}`, but {why}; the run depends on something the fault schedule does not capture"
        ),
    }
    };
    let mut search = Search {
        runner: &runner,
        check: check.clone(),
        runs: 0,
        max_runs: opts.max_runs.max(1),
        heals: ends_whole(&spelled.faults).then(|| {
            if property == Some(crate::protocol::Property::Safety) {
                Whole::NodesOnly
            } else {
                Whole::Everything
            }
        }),
        reseeds: opts.reseeds,
        best: spelled.clone(),
        summary: String::new(),
        trace_hash: 0,
        invokes: 0,
        performance: property == Some(crate::protocol::Property::Performance),
    };
    if !search.try_accept(spelled) {
        return Err(not_replayed(
            "replaying the faults it applied as a fixed schedule does not fail it",
        ));
    }
    search.minimize();
    // The file must replay what was verified: run the text form once more.
    let text = to_ron(&search.best, &[]);
    let reparsed = parse(&text, "<shrunk scenario>")?;
    let replay = runner(&reparsed)?;
    let Some(verdict) = failing(&replay, &check) else {
        return Err(not_replayed(
            "its shrunk scenario read back from RON passes",
        ));
    };
    Ok(Ok(Shrunk {
        summary: verdict.summary.clone(),
        trace_hash: replay.outcome.trace_hash(),
        program: replay.program.clone(),
        external: replay.external.clone(),
        scenario: reparsed,
        check,
        seed,
        faults_before,
        runs: search.runs + 1,
    }))
}

fn failing<'a>(report: &'a Report, check: &str) -> Option<&'a crate::check::Verdict> {
    report
        .verdicts
        .iter()
        .find(|v| v.check == check && v.status == Status::Fail)
}

/// A link probability the shrinker lowers.
#[derive(Copy, Clone)]
enum Knob {
    Drop,
    Duplicate,
}

/// The greedy minimization: the best failing scenario so far and the runs spent.
struct Search<'r, R> {
    runner: &'r R,
    check: String,
    runs: usize,
    max_runs: usize,
    /// The failing run healed every fault it injected, so candidates must too: a node left
    /// down forever fails most checks for reasons unrelated to the bug being shrunk. A safety
    /// check may end with the network still split (see [`Whole`]).
    heals: Option<Whole>,
    /// Extra seeds tried on a candidate that passes with the current one.
    reseeds: u32,
    best: Scenario,
    summary: String,
    trace_hash: u64,
    invokes: usize,
    /// The check is a performance property: only faults are shrunk (`Property::Performance`).
    performance: bool,
}

impl<R: Fn(&Scenario) -> Result<Report>> Search<'_, R> {
    fn budget_left(&self) -> bool {
        self.runs < self.max_runs
    }

    /// Runs `candidate` with its seed, then (when it passes and it is not the first run) with
    /// up to `reseeds` other seeds; keeps the first that still fails the check as the best.
    fn try_accept(&mut self, candidate: Scenario) -> bool {
        self.try_accept_reseeding(candidate, self.reseeds)
    }

    /// `try_accept` with `reseeds` other seeds for a candidate that passes with its own.
    fn try_accept_reseeding(&mut self, mut candidate: Scenario, reseeds: u32) -> bool {
        if !self.budget_left() || candidate == self.best && self.runs > 0 {
            return false;
        }
        candidate.faults.sort_by_key(|f| f.at);
        if self.heals.is_some_and(|w| !w.holds(&candidate.faults)) {
            return false;
        }
        let first = self.runs == 0;
        let seed = candidate.seed;
        if self.try_seed(candidate.clone()) {
            return true;
        }
        if first {
            return false;
        }
        for k in 1..=u64::from(reseeds) {
            candidate.seed = seed.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if self.try_seed(candidate.clone()) {
                return true;
            }
        }
        false
    }

    /// Runs `candidate` once; keeps it as the best if it fails the check.
    fn try_seed(&mut self, candidate: Scenario) -> bool {
        if !self.budget_left() {
            return false;
        }
        self.runs += 1;
        let Ok(report) = (self.runner)(&candidate) else {
            return false;
        };
        let Some(v) = failing(&report, &self.check) else {
            return false;
        };
        self.summary = v.summary.clone();
        self.trace_hash = report.outcome.trace_hash();
        self.invokes = report.outcome.history.call_counts().0;
        self.best = candidate;
        true
    }

    fn minimize(&mut self) {
        for _ in 0..4 {
            let before = self.runs;
            let mut changed = self.drop_units();
            // A performance failure is about the load: fewer nodes, fewer calls, a calmer
            // network or a shorter run would fail it for another reason, so only faults go.
            let load = self.performance;
            if !load {
                changed |= self.calm_network();
                changed |= self.calm_disks();
            }
            changed |= self.drop_events();
            changed |= self.drop_and_shift();
            if self.best.faults.len() > 3 {
                // Still above the size a person reads at a glance: try moving faults so that
                // the next round can drop more.
                changed |= self.move_units();
            }
            if !load {
                changed |= self.remove_nodes();
                changed |= self.cut_workload();
                changed |= self.shorten_durations();
            }
            changed |= self.round_times();
            if !changed || !self.budget_left() || self.runs == before {
                break;
            }
        }
    }

    /// Drops the `disk:` rules' drawn faults (all, else one kind of them at a time): what the
    /// shrunk file still draws is what the failure needs beyond its schedule.
    fn calm_disks(&mut self) -> bool {
        if self.best.disk.is_empty() {
            return false;
        }
        let mut calm = self.best.clone();
        calm.disk.clear();
        if self.try_accept(calm) {
            return true;
        }
        let mut changed = false;
        type Rate = fn(&mut crate::storage::DiskRule) -> &mut f64;
        let rates: [Rate; 5] = [
            |r| &mut r.sync_fail,
            |r| &mut r.lost_write,
            |r| &mut r.misdirected_write,
            |r| &mut r.corrupt,
            |r| &mut r.unreadable,
        ];
        for rate in rates {
            if !self.best.disk.iter_mut().any(|r| *rate(r) > 0.0) {
                continue;
            }
            let mut calm = self.best.clone();
            calm.disk.iter_mut().for_each(|r| *rate(r) = 0.0);
            changed |= self.try_accept(calm);
        }
        changed
    }

    /// Drops whole faults with their undo, big chunks first (delta debugging).
    fn drop_units(&mut self) -> bool {
        let mut changed = false;
        let mut size = (units(&self.best.faults).len() / 2).max(1);
        loop {
            let mut i = 0;
            loop {
                let groups = units(&self.best.faults);
                if i >= groups.len() || !self.budget_left() {
                    break;
                }
                let drop: Vec<usize> = groups[i..(i + size).min(groups.len())]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                let mut cand = self.best.clone();
                cand.faults = keep_except(&self.best.faults, &drop);
                if self.try_accept(cand) {
                    changed = true;
                } else {
                    i += size;
                }
            }
            if size == 1 {
                break;
            }
            size /= 2;
        }
        changed
    }

    /// Drops a unit while moving every other fault: the remaining faults' timing was tuned to
    /// the run with the dropped one, and a small shift, or moving everything earlier (while
    /// the workload is still running), often recovers the failure.
    fn drop_and_shift(&mut self) -> bool {
        let mut changed = false;
        let mut i = 0;
        'units: loop {
            let groups = units(&self.best.faults);
            if i >= groups.len() || groups.len() < 2 {
                break;
            }
            for m in MOVES {
                if !self.budget_left() {
                    break 'units;
                }
                let mut cand = self.best.clone();
                cand.faults = keep_except(&self.best.faults, &groups[i]);
                let end = cand.bounds.max_time;
                for f in &mut cand.faults {
                    f.at = m.apply(f.at, end);
                }
                if self.try_accept(cand) {
                    changed = true;
                    continue 'units;
                }
            }
            i += 1;
        }
        changed
    }

    /// Moves each unit on its own, at most once per call (moves could otherwise undo each
    /// other forever), keeping the others where they are.
    fn move_units(&mut self) -> bool {
        let mut changed = false;
        let mut i = 0;
        while self.budget_left() {
            let groups = units(&self.best.faults);
            let Some(group) = groups.get(i).cloned() else {
                break;
            };
            for m in MOVES {
                let mut cand = self.best.clone();
                let end = cand.bounds.max_time;
                for &k in &group {
                    cand.faults[k].at = m.apply(cand.faults[k].at, end);
                }
                if self.try_accept(cand) {
                    changed = true;
                    break;
                }
            }
            i += 1;
        }
        changed
    }

    /// Drops single events (an undo alone, a stray heal).
    fn drop_events(&mut self) -> bool {
        let mut changed = false;
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            let mut cand = self.best.clone();
            cand.faults.remove(i);
            if self.try_accept(cand) {
                changed = true;
            } else {
                i += 1;
            }
        }
        changed
    }

    /// Removes nodes one at a time where the protocol still validates without them.
    fn remove_nodes(&mut self) -> bool {
        let mut changed = false;
        let mut g = 0;
        while g < self.best.nodes.len() && self.budget_left() {
            let group = &self.best.nodes[g];
            let victim = match (&group.count, &group.names) {
                (Some(c), None) if *c > 1 => Some(format!("{}{c}", group.role)),
                (None, Some(names)) if names.len() > 1 => names.last().cloned(),
                _ => None,
            };
            let Some(victim) = victim else {
                g += 1;
                continue;
            };
            let mut cand = self.best.clone();
            let group = &mut cand.nodes[g];
            match (&mut group.count, &mut group.names) {
                (Some(c), None) => *c -= 1,
                (None, Some(names)) => {
                    names.pop();
                }
                _ => {}
            }
            cand.faults = cand
                .faults
                .iter()
                .filter_map(|sf| {
                    without_node(&sf.fault, &victim)
                        .map(|fault| ScheduledFault { at: sf.at, fault })
                })
                .collect();
            if self.try_accept(cand) {
                changed = true;
            } else {
                g += 1;
            }
        }
        changed
    }

    /// Moves the links toward the defaults while the check still fails: drops each override,
    /// then takes loss and duplication to zero, or halves them, on every link spec left.
    fn calm_network(&mut self) -> bool {
        let mut changed = false;
        let mut i = 0;
        while i < self.best.network.overrides.len() && self.budget_left() {
            let mut cand = self.best.clone();
            cand.network.overrides.remove(i);
            if self.try_accept(cand) {
                changed = true;
            } else {
                i += 1;
            }
        }
        // Link 0 is the default, then each override in order.
        let links = 1 + self.best.network.overrides.len();
        for link in 0..links {
            // Latency back to the default distribution, when the failure does not need it.
            let plain = crate::net::Latency::default();
            let mut cand = self.best.clone();
            let spec = if link == 0 {
                &mut cand.network.default
            } else {
                &mut cand.network.overrides[link - 1].link
            };
            if spec.latency != plain && self.budget_left() {
                spec.latency = plain;
                if self.try_accept_reseeding(cand, self.reseeds.saturating_mul(4)) {
                    changed = true;
                }
            }
            for knob in [Knob::Drop, Knob::Duplicate] {
                for cut in [0.0, 0.5] {
                    if !self.budget_left() {
                        return changed;
                    }
                    let mut cand = self.best.clone();
                    let spec = if link == 0 {
                        &mut cand.network.default
                    } else {
                        &mut cand.network.overrides[link - 1].link
                    };
                    let p = match knob {
                        Knob::Drop => &mut spec.drop,
                        Knob::Duplicate => &mut spec.duplicate,
                    };
                    if *p == 0.0 {
                        break;
                    }
                    *p *= cut;
                    // A calmer network reshuffles every draw of the run: it gets four times the
                    // seeds a dropped fault gets.
                    if self.try_accept_reseeding(cand, self.reseeds.saturating_mul(4)) {
                        changed = true;
                        break;
                    }
                }
            }
        }
        changed
    }

    /// Caps the workload at the operations the failing run invoked, then halves it while the
    /// check still fails.
    fn cut_workload(&mut self) -> bool {
        let mut changed = false;
        let mut hi = self.best.workload.ops;
        if hi == 0 {
            let mut cand = self.best.clone();
            cand.workload.ops = self.invokes.clamp(1, u32::MAX as usize) as u32;
            if !self.try_accept(cand) {
                return false;
            }
            changed = true;
            hi = self.best.workload.ops;
        }
        let mut lo = 1;
        while lo < hi && self.budget_left() {
            let mid = lo + (hi - lo) / 2;
            let mut cand = self.best.clone();
            cand.workload.ops = mid;
            if self.try_accept(cand) {
                hi = mid;
                changed = true;
            } else {
                lo = mid + 1;
            }
        }
        changed
    }

    /// Moves each undo (restart, heal, resume) earlier, halving the fault's duration.
    fn shorten_durations(&mut self) -> bool {
        const MS: u64 = 1_000_000;
        let mut changed = false;
        let mut u = 0;
        while self.budget_left() {
            let groups = units(&self.best.faults);
            let Some(group) = groups.get(u) else {
                break;
            };
            let [start, undo] = group[..] else {
                u += 1;
                continue;
            };
            let (t0, t1) = (self.best.faults[start].at, self.best.faults[undo].at);
            let half = round_to(Duration(t0.0 + t1.0.saturating_sub(t0.0) / 2), MS);
            if t1.0.saturating_sub(t0.0) <= MS || half <= t0 || half >= t1 {
                u += 1;
                continue;
            }
            let mut cand = self.best.clone();
            cand.faults[undo].at = half;
            if self.try_accept(cand) {
                changed = true;
            } else {
                u += 1;
            }
        }
        changed
    }

    /// Moves each fault onto the roundest time (1s, 100ms, 10ms, 1ms grid) that still fails.
    fn round_times(&mut self) -> bool {
        let mut changed = false;
        for i in 0..self.best.faults.len() {
            for grid in [1_000_000_000, 100_000_000, 10_000_000, 1_000_000] {
                if !self.budget_left() || i >= self.best.faults.len() {
                    return changed;
                }
                let at = self.best.faults[i].at;
                let rounded = round_to(at, grid);
                if rounded == at {
                    break;
                }
                let mut cand = self.best.clone();
                cand.faults[i].at = rounded;
                if self.try_accept(cand) {
                    changed = true;
                    break;
                }
            }
        }
        changed
    }
}

/// True when every fault the schedule injects is undone by its end (nodes up and running,
/// network whole, clocks reset).
/// What a candidate must have restored by its end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Whole {
    /// Every node up, running, unskewed and the network healed.
    Everything,
    /// Every node up, running and unskewed; the network may stay split. A safety violation
    /// under a partition that never heals is still a violation, and the heal is one more event
    /// for the reader.
    NodesOnly,
}

impl Whole {
    fn holds(self, faults: &[ScheduledFault]) -> bool {
        let (nodes, network) = restored(faults);
        nodes && (network || self == Whole::NodesOnly)
    }
}

/// True when `faults` leave every node up, running, unskewed and the network healed.
pub fn ends_whole(faults: &[ScheduledFault]) -> bool {
    let (nodes, network) = restored(faults);
    nodes && network
}

/// Whether `faults` end with (every node restored, the network healed).
fn restored(faults: &[ScheduledFault]) -> (bool, bool) {
    let mut down: Vec<&str> = Vec::new();
    let mut frozen: Vec<&str> = Vec::new();
    let mut skewed: Vec<&str> = Vec::new();
    let mut split = false;
    fn set<'a>(list: &mut Vec<&'a str>, node: &'a str, on: bool) {
        list.retain(|n| *n != node);
        if on {
            list.push(node);
        }
    }
    for f in faults {
        match &f.fault {
            Fault::Crash(n)
            | Fault::Wipe(n)
            | Fault::ProcessCrash(n)
            | Fault::PowerLoss { node: n, .. }
            | Fault::CrashAtSync {
                node: n, sync: 0, ..
            } => set(&mut down, n, true),
            Fault::Restart(n) => set(&mut down, n, false),
            // A full disk is a fault in force until freed; the others are done once applied.
            Fault::DiskFull(n) => set(&mut frozen, n, true),
            Fault::DiskFree(n) => set(&mut frozen, n, false),
            Fault::SyncFail(_)
            | Fault::CrashAtSync { .. }
            | Fault::LostWrite { .. }
            | Fault::Corrupt { .. }
            | Fault::Unreadable { .. } => {}
            Fault::Pause(n) => set(&mut frozen, n, true),
            Fault::Resume(n) => set(&mut frozen, n, false),
            Fault::Partition(_) | Fault::Isolate(_) | Fault::Cut { .. } => split = true,
            Fault::Heal => split = false,
            Fault::ClockSkew { node, offset } => set(&mut skewed, node, offset.0 != 0),
            Fault::ClockDrift { node, ppm } => set(&mut skewed, node, *ppm != 0),
            // A node that left is gone, not down; membership changes are not undone.
            Fault::Depart(n) | Fault::Departed(n) | Fault::Replace { old: n, .. } => {
                set(&mut down, n, false);
                set(&mut frozen, n, false);
            }
            Fault::Join(_) | Fault::Leave { .. } => {}
        }
    }
    (
        down.is_empty() && frozen.is_empty() && skewed.is_empty(),
        !split,
    )
}

/// A way to move a fault in time.
#[derive(Copy, Clone)]
enum Move {
    /// By this many nanoseconds (negative: earlier).
    Shift(i64),
    /// To this fraction of its time.
    Scale(f64),
}

const MS: i64 = 1_000_000;

/// Moves tried, earliest first: whole-run compressions, then small shifts either way.
const MOVES: [Move; 13] = [
    Move::Scale(0.25),
    Move::Scale(0.5),
    Move::Scale(0.75),
    Move::Shift(-MS),
    Move::Shift(MS),
    Move::Shift(-3 * MS),
    Move::Shift(3 * MS),
    Move::Shift(-10 * MS),
    Move::Shift(10 * MS),
    Move::Shift(-30 * MS),
    Move::Shift(30 * MS),
    Move::Shift(-100 * MS),
    Move::Shift(100 * MS),
];

impl Move {
    fn apply(self, at: Duration, end: Duration) -> Duration {
        let t = match self {
            Move::Shift(d) => (at.0 as i64 + d).max(0) as u64,
            Move::Scale(f) => round_to(Duration((at.0 as f64 * f) as u64), MS as u64).0,
        };
        Duration(t.min(end.0))
    }
}

fn round_to(d: Duration, grid: u64) -> Duration {
    Duration((d.0 + grid / 2) / grid * grid)
}

fn keep_except(faults: &[ScheduledFault], drop: &[usize]) -> Vec<ScheduledFault> {
    faults
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, f)| f.clone())
        .collect()
}

/// Groups schedule positions into units that are dropped together: a fault with the event that
/// undoes it (crash/restart, pause/resume, a network fault and its heal when no other network
/// fault shares that heal, a clock fault and its reset); leftover events stand alone.
pub fn units(faults: &[ScheduledFault]) -> Vec<Vec<usize>> {
    let mut claimed = vec![false; faults.len()];
    let mut out = Vec::new();
    for i in 0..faults.len() {
        if claimed[i] {
            continue;
        }
        claimed[i] = true;
        let undo = (i + 1..faults.len())
            .find(|&j| !claimed[j] && undoes(&faults[i].fault, &faults[j].fault));
        match undo {
            Some(j) if !shared_heal(faults, i, j) => {
                claimed[j] = true;
                out.push(vec![i, j]);
            }
            _ => out.push(vec![i]),
        }
    }
    out
}

/// True when `later` undoes `fault`.
fn undoes(fault: &Fault<String>, later: &Fault<String>) -> bool {
    match (fault, later) {
        (
            Fault::Crash(a)
            | Fault::Wipe(a)
            | Fault::ProcessCrash(a)
            | Fault::PowerLoss { node: a, .. }
            | Fault::CrashAtSync { node: a, .. },
            Fault::Restart(b),
        )
        | (Fault::Pause(a), Fault::Resume(b))
        | (Fault::DiskFull(a), Fault::DiskFree(b)) => a == b,
        (Fault::Partition(_) | Fault::Isolate(_) | Fault::Cut { .. }, Fault::Heal) => true,
        (
            Fault::ClockSkew { node: a, offset },
            Fault::ClockSkew {
                node: b,
                offset: Offset(0),
            },
        ) => a == b && offset.0 != 0,
        (Fault::ClockDrift { node: a, ppm }, Fault::ClockDrift { node: b, ppm: 0 }) => {
            a == b && *ppm != 0
        }
        _ => false,
    }
}

/// True when another network fault between `i` and its heal `j` relies on the same heal.
fn shared_heal(faults: &[ScheduledFault], i: usize, j: usize) -> bool {
    matches!(faults[j].fault, Fault::Heal)
        && faults[i + 1..j].iter().any(|f| {
            matches!(
                f.fault,
                Fault::Partition(_) | Fault::Isolate(_) | Fault::Cut { .. }
            )
        })
}

/// The fault with `node` taken out, or `None` when nothing of it is left.
fn without_node(fault: &Fault<String>, node: &str) -> Option<Fault<String>> {
    let strip = |list: &Vec<String>| -> Vec<String> {
        list.iter().filter(|n| *n != node).cloned().collect()
    };
    match fault {
        Fault::Partition(groups) => {
            let groups: Vec<Vec<String>> =
                groups.iter().map(strip).filter(|g| !g.is_empty()).collect();
            (!groups.is_empty()).then_some(Fault::Partition(groups))
        }
        Fault::Cut { from, to } => {
            let (from, to) = (strip(from), strip(to));
            (!from.is_empty() && !to.is_empty()).then_some(Fault::Cut { from, to })
        }
        Fault::Isolate(n)
        | Fault::Crash(n)
        | Fault::Wipe(n)
        | Fault::Restart(n)
        | Fault::Pause(n)
        | Fault::Resume(n)
        | Fault::ClockSkew { node: n, .. }
        | Fault::ClockDrift { node: n, .. }
        | Fault::ProcessCrash(n)
        | Fault::PowerLoss { node: n, .. }
        | Fault::SyncFail(n)
        | Fault::LostWrite { node: n, .. }
        | Fault::Corrupt { node: n, .. }
        | Fault::Unreadable { node: n, .. }
        | Fault::DiskFull(n)
        | Fault::DiskFree(n)
        | Fault::CrashAtSync { node: n, .. }
            if n == node =>
        {
            None
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, fault: Fault<String>) -> ScheduledFault {
        ScheduledFault {
            at: Duration::from_millis(ms),
            fault,
        }
    }

    #[test]
    fn a_safety_check_may_end_split_but_never_with_a_node_down() {
        let a = || "a".to_string();
        let split = vec![at(10, Fault::Isolate(a()))];
        let healed = vec![at(10, Fault::Isolate(a())), at(20, Fault::Heal)];
        let down = vec![at(10, Fault::Crash(a()))];
        assert!(!Whole::Everything.holds(&split));
        assert!(Whole::NodesOnly.holds(&split));
        assert!(Whole::Everything.holds(&healed) && Whole::NodesOnly.holds(&healed));
        assert!(!Whole::Everything.holds(&down) && !Whole::NodesOnly.holds(&down));
    }

    #[test]
    fn units_pair_faults_with_their_undo() {
        let s = |x: &str| x.to_string();
        let faults = vec![
            at(1, Fault::Crash(s("a"))),
            at(2, Fault::Isolate(s("b"))),
            at(3, Fault::Crash(s("b"))),
            at(4, Fault::Restart(s("a"))),
            at(5, Fault::Heal),
            at(6, Fault::Partition(vec![vec![s("a")]])),
            at(
                7,
                Fault::Cut {
                    from: vec![s("b")],
                    to: vec![s("a")],
                },
            ),
            at(8, Fault::Heal),
            at(9, Fault::Restart(s("c"))),
        ];
        assert_eq!(
            units(&faults),
            vec![
                vec![0, 3],
                vec![1, 4],
                vec![2],
                vec![5],
                vec![6, 7],
                vec![8]
            ]
        );
    }

    #[test]
    fn removing_a_node_trims_the_faults_that_name_it() {
        let s = |x: &str| x.to_string();
        let p = Fault::Partition(vec![vec![s("a"), s("b")], vec![s("c")]]);
        assert_eq!(
            without_node(&p, "c"),
            Some(Fault::Partition(vec![vec![s("a"), s("b")]]))
        );
        assert_eq!(without_node(&Fault::Crash(s("c")), "c"), None);
        assert_eq!(without_node(&Fault::Heal, "c"), Some(Fault::Heal));
    }

    #[test]
    fn stems_stay_inside_the_folder() {
        assert_eq!(file_stem("ping-partition"), "ping-partition");
        assert_eq!(file_stem("../escaped"), "escaped");
        assert_eq!(file_stem("/etc/passwd"), "etc-passwd");
        assert_eq!(file_stem(""), "scenario");
        assert_eq!(file_stem(".."), "scenario");
        assert_eq!(file_stem("a\u{1b}[31mb"), "a--31mb");
        for name in ["../x", "a/../../b", "..\\..\\c", ".hidden"] {
            let stem = file_stem(name);
            assert!(!stem.contains('/') && !stem.contains('\\') && !stem.contains(".."));
            assert!(!stem.starts_with('.'), "{stem}");
        }
    }
}
