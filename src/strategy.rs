//! proptest strategies for clustersim: random fault schedules, network settings and workloads,
//! and helpers that turn a failing case into a replayable RON scenario file.
//!
//! ```no_run
//! use clustersim::strategy::{self, FaultConfig};
//! use proptest::prelude::*;
//!
//! let base = clustersim::scenario::load("scenarios/worker-crash-idempotent.ron".as_ref()).unwrap();
//! let cfg = FaultConfig::for_scenario(&base).unwrap();
//! proptest!(|(faults in strategy::fault_schedule(&cfg))| {
//!     // On failure this writes target/clustersim-failures/<name>-proptest-min.ron; proptest's
//!     // shrinking calls it again with smaller schedules, so the file ends up holding the minimal one.
//!     strategy::check(&strategy::with_faults(&base, faults))?;
//! });
//! ```
//!
//! Schedules shrink the proptest way: fewer faults, earlier, shorter, on lower-numbered nodes.

use crate::error::{Error, Result};
use crate::explore::shrink::explicit;
use crate::fault::{Fault, NemesisKind, ScheduledFault};
use crate::net::{Latency, LinkSpec};
use crate::registry::Registry;
use crate::run::{run_scenario, Report, RunOptions};
use crate::scenario::{to_ron, Scenario, WorkloadSpec};
use crate::time::{Duration, Offset};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use std::path::{Path, PathBuf};

/// What a random fault schedule may contain.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Nodes the faults may hit (names).
    pub nodes: Vec<String>,
    /// Fault kinds to draw from.
    pub kinds: Vec<NemesisKind>,
    /// Earliest start of a fault.
    pub start: Duration,
    /// Latest start of a fault.
    pub horizon: Duration,
    /// Most faults in one schedule (each is one fault plus its undo).
    pub max_faults: usize,
    /// Shortest fault.
    pub min_duration: Duration,
    /// Longest fault.
    pub max_duration: Duration,
    /// Largest clock skew.
    pub max_skew: Duration,
}

setters!(FaultConfig {
    nodes: Vec<String>,
    kinds: Vec<NemesisKind>,
    start: Duration,
    horizon: Duration,
    max_faults: usize,
    min_duration: Duration,
    max_duration: Duration,
    max_skew: Duration,
});

impl FaultConfig {
    /// A config for `scenario`: its nemesis's kinds, targets and timing if it has one, otherwise
    /// crashes and partitions of any node over the first half of the run.
    pub fn for_scenario(scenario: &Scenario) -> Result<Self> {
        let plan = scenario.plan(&scenario.name)?;
        let roster = &plan.roster;
        let half = Duration(scenario.bounds.max_time.0 / 2);
        Ok(match &scenario.nemesis {
            Some(n) => FaultConfig {
                nodes: if n.targets.is_empty() {
                    roster.names().to_vec()
                } else {
                    crate::fault::resolve_names(roster, &n.targets)
                        .map_err(|message| Error::Invalid {
                            path: scenario.name.clone(),
                            message,
                        })?
                        .into_iter()
                        .map(|id| roster.name(id).to_string())
                        .collect()
                },
                kinds: n.kinds.clone(),
                start: n.start,
                horizon: n.stop.unwrap_or(half),
                max_faults: 4,
                min_duration: n.min_duration,
                max_duration: n.max_duration,
                max_skew: n.max_skew,
            },
            None => FaultConfig {
                nodes: roster.names().to_vec(),
                kinds: vec![NemesisKind::Crash, NemesisKind::Partition],
                start: Duration::ZERO,
                horizon: half,
                max_faults: 4,
                min_duration: Duration::from_millis(10),
                max_duration: Duration(half.0 / 2),
                max_skew: Duration::from_millis(100),
            },
        })
    }
}

/// One drawn fault before it becomes schedule entries.
type Draw = (usize, usize, Vec<String>, u64, u64, i64);

/// Random fault schedules: up to `max_faults` faults, each with the event that undoes it,
/// sorted by time. Shrinks towards fewer, earlier, shorter faults.
pub fn fault_schedule(cfg: &FaultConfig) -> impl Strategy<Value = Vec<ScheduledFault>> {
    let ms = |d: Duration| d.0 / 1_000_000;
    let nodes = cfg.nodes.clone();
    let kinds = cfg.kinds.clone();
    let n = nodes.len().max(1);
    let start = ms(cfg.start);
    let horizon = ms(cfg.horizon).max(start + 1);
    let (dmin, dmax) = (
        ms(cfg.min_duration),
        ms(cfg.max_duration).max(ms(cfg.min_duration)),
    );
    let skew = ms(cfg.max_skew) as i64;
    let minority = (n / 2).max(1);
    let draw = (
        0..kinds.len().max(1),
        0..n,
        proptest::sample::subsequence(nodes.clone(), 1..=minority.min(nodes.len()).max(1)),
        start..horizon,
        dmin..=dmax,
        -skew..=skew,
    );
    proptest::collection::vec(draw, 0..=cfg.max_faults)
        .prop_map(move |draws| schedule_of(&draws, &kinds, &nodes))
}

fn schedule_of(draws: &[Draw], kinds: &[NemesisKind], nodes: &[String]) -> Vec<ScheduledFault> {
    let mut out = Vec::new();
    for (kind, node, minority, start, dur, skew) in draws {
        let (Some(kind), Some(node)) = (kinds.get(*kind), nodes.get(*node)) else {
            continue;
        };
        let node = node.clone();
        let (fault, undo) = match kind {
            NemesisKind::Crash => (Fault::Crash(node.clone()), Fault::Restart(node)),
            NemesisKind::ProcessCrash => (Fault::ProcessCrash(node.clone()), Fault::Restart(node)),
            NemesisKind::PowerLoss => (
                Fault::PowerLoss {
                    node: node.clone(),
                    keep: crate::storage::Keep::Subset,
                    torn: false,
                },
                Fault::Restart(node),
            ),
            NemesisKind::DiskFull => (Fault::DiskFull(node.clone()), Fault::DiskFree(node)),
            NemesisKind::Corrupt => (
                Fault::Corrupt {
                    node: node.clone(),
                    key: None,
                },
                Fault::Restart(node),
            ),
            NemesisKind::Unreadable => (
                Fault::Unreadable {
                    node: node.clone(),
                    key: None,
                },
                Fault::Restart(node),
            ),
            NemesisKind::SyncFail => (Fault::SyncFail(node.clone()), Fault::Restart(node)),
            NemesisKind::CrashAtSync => (
                Fault::CrashAtSync {
                    node: node.clone(),
                    sync: 1,
                    power: true,
                    keep: crate::storage::Keep::Subset,
                    torn: false,
                },
                Fault::Restart(node),
            ),
            NemesisKind::Pause => (Fault::Pause(node.clone()), Fault::Resume(node)),
            NemesisKind::Join => (
                Fault::Join(node.clone()),
                Fault::Leave { node, grace: None },
            ),
            NemesisKind::Leave => (
                Fault::Leave {
                    node: node.clone(),
                    grace: None,
                },
                Fault::Join(node),
            ),
            NemesisKind::Replace => {
                // The new node: the first of the drawn group that is not the old one.
                let Some(new) = minority.iter().find(|m| **m != node).cloned() else {
                    continue;
                };
                (
                    Fault::Replace {
                        old: node,
                        new: new.clone(),
                    },
                    Fault::Restart(new),
                )
            }
            NemesisKind::Isolate => (Fault::Isolate(node), Fault::Heal),
            NemesisKind::Cut => {
                let others: Vec<String> = nodes.iter().filter(|n| **n != node).cloned().collect();
                if others.is_empty() {
                    continue;
                }
                (
                    Fault::Cut {
                        from: vec![node],
                        to: others,
                    },
                    Fault::Heal,
                )
            }
            NemesisKind::Partition => (Fault::Partition(vec![minority.clone()]), Fault::Heal),
            NemesisKind::ClockSkew => (
                Fault::ClockSkew {
                    node: node.clone(),
                    offset: Offset(skew * 1_000_000),
                },
                Fault::ClockSkew {
                    node,
                    offset: Offset(0),
                },
            ),
        };
        let at = Duration::from_millis(*start);
        out.push(ScheduledFault { at, fault });
        out.push(ScheduledFault {
            at: Duration::from_millis(start + dur),
            fault: undo,
        });
    }
    out.sort_by_key(|f| f.at);
    // Two draws can give the same fault at the same instant; the second changes nothing, and
    // proptest cannot shrink one copy away once it shrinks elements, so keep only the first.
    let mut unique: Vec<ScheduledFault> = Vec::with_capacity(out.len());
    for f in out {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    unique
}

/// Bounds for random link settings.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// Largest one-way delay.
    pub max_latency: Duration,
    /// Largest loss probability.
    pub max_drop: f64,
    /// Largest duplication probability.
    pub max_duplicate: f64,
}

setters!(NetworkConfig {
    max_latency: Duration,
    max_drop: f64,
    max_duplicate: f64,
});

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            max_latency: Duration::from_millis(20),
            max_drop: 0.05,
            max_duplicate: 0.02,
        }
    }
}

/// Random link settings: uniform latency within `max_latency`, loss and duplication up to the
/// bounds. Shrinks towards a fast, lossless link.
pub fn network(cfg: &NetworkConfig) -> impl Strategy<Value = LinkSpec> {
    let max_us = (cfg.max_latency.0 / 1_000).max(1);
    (
        0..=max_us,
        0..=max_us,
        0.0..=cfg.max_drop.max(0.0),
        0.0..=cfg.max_duplicate.max(0.0),
    )
        .prop_map(|(a, b, drop, duplicate)| LinkSpec {
            latency: Latency::Uniform {
                min: Duration(a.min(b) * 1_000),
                max: Duration(a.max(b) * 1_000),
            },
            drop,
            duplicate,
            bandwidth: None,
        })
}

/// Bounds for random workloads, around a base workload whose other fields are kept.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WorkloadConfig {
    /// The workload the random one starts from.
    pub base: WorkloadSpec,
    /// Most operations.
    pub max_ops: u32,
    /// Shortest mean time between two operations of a client.
    pub min_interval: Duration,
    /// Longest mean time between two operations of a client.
    pub max_interval: Duration,
    /// Most distinct keys.
    pub max_keys: u32,
}

setters!(WorkloadConfig {
    base: WorkloadSpec,
    max_ops: u32,
    min_interval: Duration,
    max_interval: Duration,
    max_keys: u32,
});

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            base: WorkloadSpec::default(),
            max_ops: 100,
            min_interval: Duration::from_millis(5),
            max_interval: Duration::from_millis(100),
            max_keys: 5,
        }
    }
}

/// Random workloads: operation count, pace, keys and the read/cas mix. Shrinks towards few
/// operations on one key.
pub fn workload(cfg: &WorkloadConfig) -> impl Strategy<Value = WorkloadSpec> {
    let base = cfg.base.clone();
    let lo = (cfg.min_interval.0 / 1_000).max(1);
    let hi = (cfg.max_interval.0 / 1_000).max(lo);
    (
        1..=cfg.max_ops.max(1),
        lo..=hi,
        1..=cfg.max_keys.max(1),
        0.0..=1.0f64,
        0.0..=1.0f64,
    )
        .prop_map(move |(ops, interval_us, keys, reads, cas)| WorkloadSpec {
            ops,
            interval: Duration(interval_us * 1_000),
            keys,
            reads,
            cas: cas * (1.0 - reads),
            ..base.clone()
        })
}

/// `base` with `faults` as its whole fault schedule and no nemesis.
pub fn with_faults(base: &Scenario, faults: Vec<ScheduledFault>) -> Scenario {
    let mut s = base.clone();
    s.faults = faults;
    s.nemesis = None;
    s
}

/// Where `check` writes failing cases: `$CLUSTERSIM_FAILURE_DIR`, else
/// `target/clustersim-failures`.
pub fn failure_dir() -> PathBuf {
    std::env::var_os("CLUSTERSIM_FAILURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/clustersim-failures"))
}

/// The replayable RON text of a failing run: its explicit fault schedule, no nemesis, and a
/// header saying what failed, the seed, and the command to replay it from `path`.
pub fn failure_ron(report: &Report, path: &Path) -> String {
    let scenario = explicit(report);
    let mut header = vec![format!(
        "Found by a clustersim proptest: scenario {}, seed {}.",
        report.scenario.name, report.scenario.seed
    )];
    for v in report.failures() {
        header.push(format!("  {} {}: {}", v.status, v.check, v.summary));
    }
    header.push(format!(
        "{} fault events; trace hash {:016x}.",
        scenario.faults.len(),
        report.outcome.trace_hash()
    ));
    header.push(report.replay_line(path));
    to_ron(&scenario, &header)
}

/// Writes a failing run as `<dir>/<name>-proptest-min.ron`, replacing the previous case:
/// proptest runs the body again for every smaller failing case, so the file ends up holding
/// the minimal one.
/// The name is made from the scenario's (`explore::file_stem`: never outside `dir`), and the
/// file is written beside it and moved into place (`crate::output`: a link there is replaced,
/// never followed).
pub fn write_failure(report: &Report, dir: &Path) -> Result<PathBuf> {
    let stem = crate::explore::file_stem(&format!("{}-proptest-min", report.scenario.name));
    let path = dir.join(format!("{stem}.ron"));
    crate::output::create_dir(dir)?;
    crate::output::write_text(&path, true, &failure_ron(report, &path))?;
    Ok(path)
}

/// Runs `scenario` with the shipped protocols and checks; a failed check becomes a proptest
/// failure naming the checks and the RON file written into `failure_dir()`.
pub fn check(scenario: &Scenario) -> std::result::Result<Report, TestCaseError> {
    check_in(&Registry::shipped(), scenario)
}

/// `check` with `registry`'s protocols and checks (your own, for instance).
pub fn check_in(
    registry: &Registry,
    scenario: &Scenario,
) -> std::result::Result<Report, TestCaseError> {
    check_with(scenario, |s| {
        run_scenario(registry, s, &s.name, &RunOptions::default())
    })
}

/// `check` with any runner.
pub fn check_with<R>(scenario: &Scenario, runner: R) -> std::result::Result<Report, TestCaseError>
where
    R: Fn(&Scenario) -> Result<Report>,
{
    let report = runner(scenario).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if report.passed() {
        return Ok(report);
    }
    let failed: Vec<String> = report
        .failures()
        .map(|v| format!("{}: {}", v.check, v.summary))
        .collect();
    let file = match write_failure(&report, &failure_dir()) {
        Ok(p) => format!("replay: {} run {}", report.program, p.display()),
        Err(e) => format!("could not write the case: {e}"),
    };
    Err(TestCaseError::fail(format!(
        "{} (seed {}) failed {}; {file}",
        scenario.name,
        scenario.seed,
        failed.join("; ")
    )))
}

/// Runs proptest's search with `runner` over `scenarios` and returns the minimal failing
/// scenario proptest shrank to, with its report; `None` when every case passed.
pub fn find_failure<S, R>(
    test_runner: &mut TestRunner,
    scenarios: S,
    runner: R,
) -> Result<Option<Report>>
where
    S: Strategy<Value = Scenario>,
    R: Fn(&Scenario) -> Result<Report>,
{
    let outcome = test_runner.run(&scenarios, |s| {
        let r = runner(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if r.passed() {
            Ok(())
        } else {
            Err(TestCaseError::fail("a check failed"))
        }
    });
    match outcome {
        Ok(()) => Ok(None),
        Err(TestError::Fail(_, minimal)) => runner(&minimal).map(Some),
        Err(TestError::Abort(why)) => Err(Error::Usage(format!("proptest gave up: {why}"))),
    }
}
