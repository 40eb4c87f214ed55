//! Throughput and latency as the clients saw them (`measure`), and `Throughput`, the check that
//! holds a run to a rate and latency targets.

use super::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use crate::time::{Duration, SimTime};
use serde::{Deserialize, Serialize};

/// Latency quantiles of the calls that succeeded (nearest rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantiles {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Slowest.
    pub max: Duration,
}

impl Quantiles {
    /// The quantiles of `latencies` (sorted in place); `None` when there are none.
    pub fn of(latencies: &mut [u64]) -> Option<Self> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        let at = |q: f64| {
            let rank = (q * latencies.len() as f64).ceil() as usize;
            Duration(latencies[rank.clamp(1, latencies.len()) - 1])
        };
        Some(Quantiles {
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration(latencies[latencies.len() - 1]),
        })
    }
}

/// What the clients got over a window of the run: calls, how they ended, the rate of successes
/// and their latency.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    /// Start of the window: the first call invoked in it.
    pub from: SimTime,
    /// End of the window: the last call invoked in it.
    pub to: SimTime,
    /// Calls invoked in the window.
    pub calls: u64,
    /// Of those, calls that succeeded.
    pub ok: u64,
    /// Calls that failed (a definite no).
    pub failed: u64,
    /// Calls whose fate is unknown (timed out, or unanswered when the run ended).
    pub unknown: u64,
    /// Successful calls completed within the window, per second of it (those answered after
    /// it, a queue draining once the load stopped, count for latency but not here).
    pub throughput: f64,
    /// Latency of the successful calls.
    pub latency: Option<Quantiles>,
}

/// The clients' load over the calls invoked from `after` to `until` (the whole run by
/// default), measured from the first of them to the last (never over time in which nothing was
/// offered, past the load or the run's end); `None` when no call was invoked there.
pub fn measure(outcome: &RunOutcome, after: Duration, until: Option<Duration>) -> Option<Load> {
    let history = &outcome.history;
    let start = SimTime::ZERO + after;
    let end = until.map(|u| SimTime::ZERO + u);
    let (mut first, mut last) = (None::<SimTime>, SimTime::ZERO);
    let (mut calls, mut ok, mut failed, mut unknown) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies = Vec::new();
    // Completion times of the successful calls, to count those within the window.
    let mut done_at = Vec::new();
    for c in history.each_call() {
        if c.invoke_time < start || end.is_some_and(|e| c.invoke_time > e) {
            continue;
        }
        first = Some(first.map_or(c.invoke_time, |f| f.min(c.invoke_time)));
        last = last.max(c.invoke_time);
        calls += 1;
        match (c.outcome, c.complete_time) {
            (Phase::Ok, Some(done)) => {
                ok += 1;
                latencies.push(done.since(c.invoke_time).0);
                done_at.push(done);
            }
            (Phase::Fail, Some(_)) => failed += 1,
            _ => unknown += 1,
        }
    }
    let from = first?;
    // To the last call invoked in it: a window left open past the load (or past the run)
    // would count time nothing was offered in.
    let to = last.max(from);
    // A window of one instant counts as a microsecond, so one call is not an infinite rate.
    let span = to.since(from).0.max(1_000) as f64 / 1e9;
    let within = done_at.iter().filter(|&&t| t <= to).count();
    Some(Load {
        from,
        to,
        calls,
        ok,
        failed,
        unknown,
        throughput: within as f64 / span,
        latency: Quantiles::of(&mut latencies),
    })
}

impl Load {
    /// One line: the rate, the calls and the latency quantiles.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{:.1} ok calls/s from {} to {}: {} calls, {} ok, {} failed, {} unknown",
            self.throughput, self.from, self.to, self.calls, self.ok, self.failed, self.unknown
        );
        if let Some(q) = self.latency {
            s.push_str(&format!(
                "; latency p50 {} p99 {} p99.9 {} max {}",
                q.p50, q.p99, q.p999, q.max
            ));
        }
        s
    }
}

/// The clients get at least `at_least` successful calls a second, and the latency quantiles
/// given, over the calls invoked from `after` (a warm-up left out) to `until`:
/// `Throughput(at_least: 1000, p99_within: "20ms", after: "1s")`. At least one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ThroughputSpec")]
pub struct Throughput {
    /// Fewest successful calls a second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// Longest median latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_within: Option<Duration>,
    /// Longest 99th-percentile latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_within: Option<Duration>,
    /// Longest 99.9th-percentile latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p999_within: Option<Duration>,
    /// Calls invoked before this are a warm-up, left out.
    #[serde(default)]
    pub after: Duration,
    /// Calls invoked after this are left out (the drain after the load stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Duration>,
}

/// `Throughput` as written, before its targets are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThroughputSpec {
    #[serde(default)]
    at_least: Option<f64>,
    #[serde(default)]
    p50_within: Option<Duration>,
    #[serde(default)]
    p99_within: Option<Duration>,
    #[serde(default)]
    p999_within: Option<Duration>,
    #[serde(default)]
    after: Duration,
    #[serde(default)]
    until: Option<Duration>,
}

impl TryFrom<ThroughputSpec> for Throughput {
    type Error = String;
    fn try_from(s: ThroughputSpec) -> Result<Self, String> {
        if s.at_least.is_none()
            && s.p50_within.is_none()
            && s.p99_within.is_none()
            && s.p999_within.is_none()
        {
            return Err(
                "Throughput needs a target: at_least (ok calls a second), p50_within, \
                        p99_within or p999_within; the figures alone are in the report's load \
                        lines"
                    .into(),
            );
        }
        if let Some(r) = s.at_least {
            if !(r.is_finite() && r >= 0.0) {
                return Err(format!(
                    "Throughput at_least is {r}; it must be ok calls a second, 0 or more"
                ));
            }
        }
        if let Some(u) = s.until.filter(|u| *u <= s.after) {
            return Err(format!(
                "Throughput until ({u}) must be after `after` ({})",
                s.after
            ));
        }
        Ok(Throughput {
            at_least: s.at_least,
            p50_within: s.p50_within,
            p99_within: s.p99_within,
            p999_within: s.p999_within,
            after: s.after,
            until: s.until,
        })
    }
}

impl Check for Throughput {
    const NAME: &'static str = "Throughput";

    fn property(&self) -> Property {
        Property::Performance
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let Some(load) = measure(outcome, self.after, self.until) else {
            return Verdict::unknown(
                Self::NAME,
                format!("no client call was invoked from {} on", self.after),
            );
        };
        let mut missed = Vec::new();
        let mut met = Vec::new();
        if let Some(want) = self.at_least {
            let text = format!("{:.1} ok calls/s (at least {want})", load.throughput);
            if load.throughput < want {
                missed.push(text);
            } else {
                met.push(text);
            }
        }
        let quantiles = [
            ("p50", self.p50_within, load.latency.map(|q| q.p50)),
            ("p99", self.p99_within, load.latency.map(|q| q.p99)),
            ("p99.9", self.p999_within, load.latency.map(|q| q.p999)),
        ];
        for (name, within, got) in quantiles {
            let Some(within) = within else { continue };
            match got {
                Some(got) if got <= within => met.push(format!("{name} {got} (within {within})")),
                Some(got) => missed.push(format!("{name} {got} (not within {within})")),
                None => missed.push(format!("{name}: no call succeeded (within {within})")),
            }
        }
        let verdict = if missed.is_empty() {
            Verdict::pass(Self::NAME, met.join(", "))
        } else {
            let mut v = Verdict::fail(Self::NAME, missed.join(", "));
            v.window = Some((load.from, load.to));
            v
        };
        verdict.detail(load.describe())
    }

    fn applies_to(_protocol: &str, _listed: bool) -> bool {
        true
    }
}
