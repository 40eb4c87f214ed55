//! Text reports: the header that makes a run reproducible from its first lines, and the
//! summary of counters, verdicts and the trace hash.

use crate::run::Report;
use crate::scenario::Scenario;
use crate::trace::DropReason;
use std::fmt::Write as _;

/// The run's knobs, printed by `program` before it starts: seed, cluster, bounds, network, faults.
pub fn header(program: &str, s: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{program} run: {} (seed {})", s.name, s.seed);
    let nodes: Vec<String> = s
        .nodes
        .iter()
        .map(|g| {
            let group = match (&g.count, &g.names) {
                (Some(c), _) => format!("{c} x {}", g.role),
                (_, Some(n)) => format!("{} [{}]", g.role, n.join(",")),
                _ => g.role.clone(),
            };
            if g.spare {
                format!("{group} (spare)")
            } else {
                group
            }
        })
        .collect();
    let _ = writeln!(
        o,
        "  protocol {}   nodes {}   bounds {} / {} events",
        s.protocol.name(),
        nodes.join(", "),
        s.bounds.max_time,
        s.bounds.max_events
    );
    let _ = writeln!(
        o,
        "  network {}{}",
        s.network.default,
        if s.network.overrides.is_empty() {
            String::new()
        } else {
            format!(" (+{} overrides)", s.network.overrides.len())
        }
    );
    let nemesis = match &s.nemesis {
        Some(n) => format!(
            "nemesis {:?} every ~{} for {}..{}",
            n.kinds, n.interval, n.min_duration, n.max_duration
        ),
        None => "no nemesis".to_string(),
    };
    let _ = writeln!(o, "  faults {} scheduled, {}", s.faults.len(), nemesis);
    let disk_faults = s.faults.iter().filter(|f| f.fault.is_storage()).count();
    let disk_kinds = s
        .nemesis
        .as_ref()
        .is_some_and(|n| n.kinds.iter().any(|k| k.is_storage()));
    if !s.disk.is_empty() || disk_faults > 0 || disk_kinds {
        // Every disk knob, so a run with storage faults reproduces from its header.
        let mut rules: Vec<String> = s
            .disk
            .iter()
            .map(|r| {
                let nodes = if r.nodes.is_empty() {
                    "every node".to_string()
                } else {
                    r.nodes.join(",")
                };
                format!("{nodes}: {}", r.rates())
            })
            .collect();
        if rules.is_empty() {
            rules.push("no drawn rates".to_string());
        }
        let _ = writeln!(
            o,
            "  disk faults on ({disk_faults} scheduled{}); rates per sync: {}{}",
            if disk_kinds {
                ", and from the nemesis"
            } else {
                ""
            },
            rules.join("; "),
            if s.disk_atlas {
                "; fault atlas: a drawn fault damages each record on at most a minority of its role's nodes"
            } else {
                ""
            }
        );
    }
    if let crate::sim::Scheduler::Pct { depth, window } = s.scheduler {
        let _ = writeln!(
            o,
            "  scheduler PCT depth {depth}: due events within {window} of the earliest run by node priority"
        );
    }
    o
}

/// What the run's UNKNOWN verdicts leave unjudged, and why (their summaries), when a check
/// could not decide; `None` when every check decided. Such a run exits 1, as
/// `check-history` does: nothing shows it correct.
pub fn undecided(r: &Report) -> Option<String> {
    let unknown: Vec<String> = r
        .verdicts
        .iter()
        .filter(|v| v.status == crate::check::Status::Unknown)
        .map(|v| format!("{} ({})", v.check, v.summary))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    Some(if unknown.len() == r.verdicts.len() {
        format!(
            "nothing was judged: no check could decide ({}); exit 1",
            unknown.join("; ")
        )
    } else {
        format!(
            "not everything was judged: undecided {}; exit 1",
            unknown.join("; ")
        )
    })
}

/// The report after a run: counters, verdicts and the trace hash; `wall_secs` if measured.
pub fn summary(r: &Report, wall_secs: Option<f64>) -> String {
    let out = &r.outcome;
    let st = &out.stats;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "  stopped: {} at virtual time {}",
        out.stop.describe(&out.bounds),
        out.end_time
    );
    let reasons: Vec<String> = [
        DropReason::Loss,
        DropReason::Partition,
        DropReason::Cut,
        DropReason::NodeDown,
        DropReason::Crashed,
        DropReason::QueueFull,
    ]
    .iter()
    .enumerate()
    .filter(|(i, _)| st.dropped[*i] > 0)
    .map(|(i, r)| format!("{} {}", r.label(), st.dropped[i]))
    .collect();
    let _ = writeln!(
        o,
        "  events {}   messages sent {} delivered {} dropped {}{} duplicated {}",
        st.events,
        st.sent,
        st.delivered,
        st.dropped_total(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        },
        st.duplicated
    );
    let (calls, ok) = out.history.call_counts();
    let _ = writeln!(
        o,
        "  timers {}   faults applied {}   client calls {} ({} ok)",
        st.timers, st.faults, calls, ok
    );
    let loaded = r.scenario.workload.rate > 0.0 || !out.load.is_empty();
    if loaded {
        o.push_str(&load_lines(out));
    }
    if let Some(w) = wall_secs {
        let rate = if w > 0.0 { st.events as f64 / w } else { 0.0 };
        let _ = writeln!(o, "  wall time {:.3}s ({:.2}M events/s)", w, rate / 1e6);
    }
    if r.verdicts.is_empty() {
        let _ = writeln!(o, "  checks: none");
    } else {
        let _ = writeln!(o, "  checks:");
        for v in &r.verdicts {
            let _ = writeln!(o, "    {} {}: {}", v.status, v.check, v.summary);
            for d in &v.details {
                let _ = writeln!(o, "         {d}");
            }
        }
    }
    if let Some(note) = undecided(r) {
        let _ = writeln!(o, "  {note}");
    }
    let goals = out.history.goals();
    if !goals.is_empty() {
        let reached = goals.iter().filter(|g| g.reached()).count();
        let _ = writeln!(o, "  goals: {reached} of {} reached", goals.len());
        let names = out.roster.names();
        for g in goals {
            match g.first {
                Some((t, n)) => {
                    let _ = writeln!(
                        o,
                        "    reached {}: {} of {} times, first at {t} on {}",
                        g.name,
                        g.hits,
                        g.checked,
                        names.get(n.index()).map_or("?", String::as_str)
                    );
                }
                None => {
                    let _ = writeln!(o, "    never   {}: checked {} times", g.name, g.checked);
                }
            }
        }
    }
    if let Some(ext) = &r.external {
        let _ = writeln!(
            o,
            "  program {} (FNV-1a {}); {}",
            ext.program,
            if ext.digest.is_empty() {
                "unreadable"
            } else {
                &ext.digest
            },
            ext.guarantee
        );
    }
    let _ = writeln!(o, "  trace hash: {:016x}", out.trace_hash());
    o
}

/// What a node held back from its full queue (`when_full: Block`), or nothing if it held none.
fn held(l: &crate::sim::capacity::NodeLoad) -> String {
    if l.held == 0 {
        return String::new();
    }
    format!(
        ", {} held (mean {}, peak {} at once)",
        l.held,
        l.mean_hold(),
        l.peak_held
    )
}

/// The load lines of a run under an open-loop workload or the capacity model: what the clients
/// got, then each limited node's utilization and queue.
pub fn load_lines(out: &crate::sim::RunOutcome) -> String {
    let mut o = String::new();
    match crate::check::measure_load(out, crate::Duration::ZERO, None) {
        Some(load) => {
            let _ = writeln!(o, "  load: {}", load.describe());
        }
        None => {
            let _ = writeln!(o, "  load: no client call");
        }
    }
    let span = out.end_time.since(crate::SimTime::ZERO);
    for (node, l) in &out.load {
        let _ = writeln!(
            o,
            "    {}: busy {:.1}% of the run's {span}, {} handled, queue mean {:.2} peak {}, mean \
             wait {}, {} shed{}",
            out.roster.name(*node),
            100.0 * l.utilization(span),
            l.handled,
            l.mean_queue(span),
            l.peak_queue,
            l.mean_wait(),
            l.shed,
            held(l)
        );
    }
    o
}
