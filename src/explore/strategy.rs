//! How explore picks its runs: `random` seeds for the scenario as written, `swarm` (each seed
//! first draws which fault kinds are on and how hard they hit), or `pct:D` (each seed draws PCT
//! priorities for the order of due events).
//!
//! A strategy turns (scenario, seed) into the scenario that seed runs, so every run replays
//! from (scenario, strategy, seed), and the shrinker works on that scenario unchanged.

use crate::fault::NemesisKind;
use crate::net::{Latency, LinkSpec};
use crate::scenario::Scenario;
use crate::sim::rng::{stream, SimRng, Stream};
use crate::sim::schedule::{DEFAULT_WINDOW, MAX_DEPTH};
use crate::sim::Scheduler;
use crate::time::Duration;
use rand::Rng;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The tool stream the swarm draws its knobs from (apart from every in-run stream).
const SWARM_STREAM: u32 = 0x5357_4152;

/// How a campaign picks the runs it makes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Every seed runs the scenario as written.
    #[default]
    Random,
    /// Swarm testing (Groce et al., ISSTA 2012): every seed first draws which of the nemesis's
    /// fault kinds are on, its rate, durations and reach, and the network's loss, duplication
    /// and latency, never harder than the scenario sets them (see `swarm`).
    Swarm,
    /// PCT over the order of due events (see `sim::schedule`).
    Pct {
        /// Bug depth aimed at.
        depth: u32,
        /// How far ahead a higher-priority event may jump.
        window: Duration,
    },
}

/// The strategy names, for error messages and `--help`.
pub const NAMES: &str = "random, swarm, pct:D or pct:D/WINDOW (e.g. pct:3, pct:2/10ms)";

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "random" => return Ok(Strategy::Random),
            "swarm" => return Ok(Strategy::Swarm),
            "pct" => {
                return Ok(Strategy::Pct {
                    depth: 3,
                    window: DEFAULT_WINDOW,
                })
            }
            _ => {}
        }
        let Some(rest) = s.strip_prefix("pct:") else {
            return Err(format!("unknown strategy `{s}`; valid strategies: {NAMES}"));
        };
        let (depth, window) = match rest.split_once('/') {
            Some((d, w)) => (d, Some(w)),
            None => (rest, None),
        };
        let depth: u32 = depth.trim().parse().map_err(|_| {
            format!("pct depth `{depth}` is not a whole number between 1 and {MAX_DEPTH}")
        })?;
        let window = match window {
            Some(w) => w.trim().parse::<Duration>()?,
            None => DEFAULT_WINDOW,
        };
        let strategy = Strategy::Pct { depth, window };
        strategy.scheduler().validate()?;
        Ok(strategy)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => f.write_str("random"),
            Strategy::Swarm => f.write_str("swarm"),
            Strategy::Pct { depth, window } if *window == DEFAULT_WINDOW => {
                write!(f, "pct:{depth}")
            }
            Strategy::Pct { depth, window } => write!(f, "pct:{depth}/{window}"),
        }
    }
}

impl Strategy {
    /// The engine scheduler this strategy runs with.
    pub fn scheduler(&self) -> Scheduler {
        match *self {
            Strategy::Pct { depth, window } => Scheduler::Pct { depth, window },
            _ => Scheduler::TimeOrder,
        }
    }

    /// The scenario that `seed` runs under this strategy (with the seed set).
    pub fn scenario_for<'a>(&self, base: &'a Scenario, seed: u64) -> Cow<'a, Scenario> {
        match self {
            Strategy::Random if base.seed == seed => Cow::Borrowed(base),
            Strategy::Random => {
                let mut s = base.clone();
                s.seed = seed;
                Cow::Owned(s)
            }
            Strategy::Swarm => Cow::Owned(swarm(base, seed).0),
            Strategy::Pct { .. } => {
                let mut s = base.clone();
                s.seed = seed;
                s.scheduler = self.scheduler();
                Cow::Owned(s)
            }
        }
    }

    /// What this strategy drew for `seed`, in words (`None` for random).
    pub fn knobs(&self, base: &Scenario, seed: u64) -> Option<String> {
        match self {
            Strategy::Random => None,
            Strategy::Swarm => Some(swarm(base, seed).1),
            Strategy::Pct { depth, window } => Some(format!(
                "{} priority change points; events due within {window} of the earliest run by \
                 the priority of their sender (timers: of their node)",
                depth - 1
            )),
        }
    }

    /// The flag that names this strategy on a command line (empty for random).
    pub fn flag(&self) -> String {
        match self {
            Strategy::Random => String::new(),
            s => format!(" --strategy {s}"),
        }
    }
}

/// Draws `seed`'s swarm configuration of `base`: the scenario it runs, and the knobs it drew
/// in words.
///
/// The envelope is the scenario's, and no knob is drawn harder than the file sets it, so a
/// protocol that copes with the file copes with every draw's intensity: the nemesis keeps a
/// non-empty subset of its fault kinds (each on with probability 1/2) and hits with each kept
/// kind as often as the file does (the mean interval grows with the kinds left out) or up to 4
/// times less often; its faults last from an eighth of the file's shortest to at most its
/// longest; at most 1 to the file's `max_active` run at once; a quarter of the draws aim
/// one-node faults at the leader. Every link's loss and duplication become 0, half or all of
/// the file's, and its latency scales by 1/2 to 1. Without a nemesis only the network varies.
/// The draws come from a stream of their own, so the run's own draws are those of the same
/// seed under `random`.
pub fn swarm(base: &Scenario, seed: u64) -> (Scenario, String) {
    let mut rng = stream(seed, Stream::Tool(SWARM_STREAM));
    let mut s = base.clone();
    s.seed = seed;
    let mut words = Vec::new();
    if let Some(nem) = s.nemesis.as_mut() {
        let all = nem.kinds.len().max(1);
        let mut kinds: Vec<NemesisKind> = nem
            .kinds
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        if kinds.is_empty() && !nem.kinds.is_empty() {
            kinds.push(nem.kinds[rng.random_range(0..nem.kinds.len())]);
        }
        // Each kept kind keeps (at most) its own rate: the file draws each of its kinds with
        // probability 1/all per fault.
        let spread = all as f64 / kinds.len().max(1) as f64;
        nem.kinds = kinds;
        nem.interval = scale(nem.interval, spread * factor(&mut rng, 0.0, 2.0)).max(Duration(1));
        let min = nem.min_duration;
        nem.min_duration = scale(min, factor(&mut rng, -3.0, 0.0));
        nem.max_duration = scale(nem.max_duration, factor(&mut rng, -2.0, 0.0))
            .max(nem.min_duration)
            .min(base_max(base));
        nem.max_active = rng.random_range(1..=nem.max_active.max(1));
        if rng.random_bool(0.25) {
            nem.pick = crate::fault::Pick::Leader;
        }
        let kinds: Vec<String> = nem.kinds.iter().map(|k| format!("{k:?}")).collect();
        words.push(format!(
            "nemesis {} every {} for {}..{}, at most {} at once{}",
            kinds.join("+"),
            nem.interval,
            nem.min_duration,
            nem.max_duration,
            nem.max_active,
            if nem.pick == crate::fault::Pick::Leader {
                ", aimed at the leader"
            } else {
                ""
            }
        ));
    }
    let default = swarm_link(&mut s.network.default, &mut rng);
    words.push(format!("links {default}"));
    for o in &mut s.network.overrides {
        swarm_link(&mut o.link, &mut rng);
    }
    if !s.network.overrides.is_empty() {
        words.push(format!(
            "{} overridden links varied alike",
            s.network.overrides.len()
        ));
    }
    (s, words.join("; "))
}

/// The file's longest nemesis fault.
fn base_max(base: &Scenario) -> Duration {
    base.nemesis
        .as_ref()
        .map_or(Duration::ZERO, |n| n.max_duration)
}

/// Varies one link within its envelope; returns it in words.
fn swarm_link(link: &mut LinkSpec, rng: &mut SimRng) -> String {
    let mut vary = |p: f64| -> f64 {
        if p <= 0.0 {
            return 0.0;
        }
        [0.0, p / 2.0, p][rng.random_range(0..3)]
    };
    link.drop = vary(link.drop);
    link.duplicate = vary(link.duplicate);
    let f = factor(rng, -1.0, 0.0);
    link.latency = scale_latency(&link.latency, f);
    format!(
        "drop {}%, duplicate {}%, latency {}",
        link.drop * 100.0,
        link.duplicate * 100.0,
        link.latency
    )
}

/// 2^u for u uniform in [lo, hi].
fn factor(rng: &mut SimRng, lo: f64, hi: f64) -> f64 {
    2f64.powf(rng.random_range(lo..=hi))
}

/// `d` times `f`, to the microsecond (so the drawn knobs print and parse cleanly).
fn scale(d: Duration, f: f64) -> Duration {
    let us = ((d.0 as f64 * f) / 1_000.0).round();
    Duration((us.min(1e15) as u64).saturating_mul(1_000))
}

fn scale_latency(l: &Latency, f: f64) -> Latency {
    match *l {
        Latency::Constant(d) => Latency::Constant(scale(d, f)),
        Latency::Uniform { min, max } => Latency::Uniform {
            min: scale(min, f),
            max: scale(max, f),
        },
        Latency::Exponential { mean, floor } => Latency::Exponential {
            mean: scale(mean, f),
            floor: scale(floor, f),
        },
        Latency::LogNormal {
            median,
            sigma,
            floor,
        } => Latency::LogNormal {
            median: scale(median, f),
            sigma,
            floor: scale(floor, f),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for text in ["random", "swarm", "pct:3", "pct:2/10ms"] {
            let s: Strategy = text.parse().unwrap();
            assert_eq!(s.to_string(), text);
        }
        assert_eq!("pct".parse::<Strategy>().unwrap().to_string(), "pct:3");
        for bad in [
            "pct:0",
            "pct:65",
            "pct:x",
            "pct:3/0ms",
            "pct:3/11s",
            "bfs",
            "pct:3/5",
        ] {
            assert!(bad.parse::<Strategy>().is_err(), "{bad}");
        }
        let e = "walk".parse::<Strategy>().unwrap_err();
        assert!(e.contains("random, swarm, pct:D"), "{e}");
    }
}
