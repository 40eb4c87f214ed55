//! The network: per-link latency, loss and duplication, and the topology's partitions and cuts.
//!
//! Link overrides and one-way cuts are held as petgraph directed graph maps; partitions are a
//! group number per node. Reordering is not a knob: it follows from independent latency draws.

use crate::node::NodeId;
use crate::sim::rng::{Draw, SimRng};
use crate::time::Duration;
use crate::trace::DropReason;
use petgraph::graphmap::DiGraphMap;
use petgraph::unionfind::UnionFind;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A latency distribution for one direction of a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    /// Always the same delay.
    Constant(Duration),
    /// Uniform between `min` and `max` (inclusive).
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// `floor` plus an exponential draw with the given mean (long tail).
    Exponential {
        /// Mean of the exponential part.
        mean: Duration,
        /// Minimum delay added to every draw.
        #[serde(default)]
        floor: Duration,
    },
    /// `floor` plus a log-normal draw: `median * exp(sigma * z)` with z standard normal.
    LogNormal {
        /// Median of the log-normal part.
        median: Duration,
        /// Spread (standard deviation of the underlying normal).
        sigma: f64,
        /// Minimum delay added to every draw.
        #[serde(default)]
        floor: Duration,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(3),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Constant(d) => write!(f, "constant {d}"),
            Latency::Uniform { min, max } => write!(f, "uniform {min}..{max}"),
            Latency::Exponential { mean, floor } => write!(f, "exponential mean {mean} + {floor}"),
            Latency::LogNormal {
                median,
                sigma,
                floor,
            } => write!(f, "log-normal median {median} sigma {sigma} + {floor}"),
        }
    }
}

impl Latency {
    /// Draws one delay.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        self.draw(rng)
    }

    /// Draws one delay from `from`, reaching for its stream only when the latency is random.
    #[inline]
    pub(crate) fn draw(&self, from: &mut impl Draw) -> Duration {
        match *self {
            Latency::Constant(d) => d,
            Latency::Uniform { min, max } => {
                if max.0 <= min.0 {
                    min
                } else {
                    Duration(from.rng().random_range(min.0..=max.0))
                }
            }
            Latency::Exponential { mean, floor } => {
                let u: f64 = from.rng().random();
                let x = -(1.0 - u).ln() * mean.0 as f64;
                Duration(floor.0.saturating_add(x.min(1e18) as u64))
            }
            Latency::LogNormal {
                median,
                sigma,
                floor,
            } => {
                let u1: f64 = 1.0 - from.rng().random::<f64>();
                let u2: f64 = from.rng().random();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let x = median.0 as f64 * (sigma * z).exp();
                Duration(floor.0.saturating_add(x.min(1e18) as u64))
            }
        }
    }

    /// Checks the distribution's parameters; the error is a sentence.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Latency::Uniform { min, max } if min > max => Err(format!(
                "uniform latency has min {min} greater than max {max}"
            )),
            Latency::LogNormal { sigma, .. } if !(sigma.is_finite() && *sigma >= 0.0) => {
                Err(format!("log-normal latency needs sigma >= 0, got {sigma}"))
            }
            _ => Ok(()),
        }
    }
}

/// How one direction of a link behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Delay distribution.
    #[serde(default)]
    pub latency: Latency,
    /// Probability that a message is lost.
    #[serde(default)]
    pub drop: f64,
    /// Probability that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    /// How many bytes a second the link carries (`"10MB/s"`, `"1Gbit/s"`); `None`: any number.
    /// A message takes its size (`Node::message_bytes`) over this to leave, after the messages
    /// sent on the link before it: a burst queues at the sender. Part of the capacity model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bandwidth>,
}

/// A link's rate, in bytes per second, written with a unit: "10MB/s", "512KiB/s", "1Gbit/s".
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Bandwidth(pub u64);

impl Bandwidth {
    /// Time `bytes` take to cross a link at this rate (at least a nanosecond for a message).
    pub fn time_for(self, bytes: u64) -> Duration {
        let ns = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(self.0.max(1)));
        Duration(ns.clamp(1, u128::from(u64::MAX / 4)) as u64)
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", crate::memory::Bytes(self.0))
    }
}

const BIT_UNITS: [(&str, u64); 4] = [
    ("Gbit", 1_000_000_000),
    ("Mbit", 1_000_000),
    ("Kbit", 1_000),
    ("bit", 1),
];

impl std::str::FromStr for Bandwidth {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let s = text.trim();
        let example = "e.g. \"10MB/s\", \"512KiB/s\" or \"1Gbit/s\"";
        let Some(per) = s.strip_suffix("/s") else {
            return Err(format!("bandwidth `{s}` must end in /s, {example}"));
        };
        // `get`, not indexing: a cut inside a multi-byte character is no match, never a panic.
        let split = |u: &str| {
            let at = per.len().checked_sub(u.len())?;
            let tail = per.get(at..)?;
            (at > 0 && tail.eq_ignore_ascii_case(u))
                .then(|| per.get(..at))
                .flatten()
        };
        let bytes = match BIT_UNITS
            .iter()
            .find_map(|&(u, size)| Some((split(u)?, size)))
        {
            Some((number, size)) => {
                let number = number.trim();
                let value: f64 = number
                    .parse()
                    .map_err(|_| format!("`{s}` is not a bandwidth, {example}"))?;
                if !(value.is_finite() && value >= 0.0) {
                    return Err(format!(
                        "bandwidth `{s}` must be a positive number, {example}"
                    ));
                }
                (value * size as f64 / 8.0).min(u64::MAX as f64 / 2.0) as u64
            }
            None => {
                // "Mb" is megabits to some and megabytes to others: neither is guessed.
                let unit =
                    per.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
                if unit.ends_with('b') {
                    return Err(format!(
                        "bandwidth `{s}`: `{unit}` could be bits or bytes; write B for bytes \
                         (\"10MB/s\") or bit for bits (\"10Mbit/s\")"
                    ));
                }
                per.parse::<crate::memory::Bytes>()
                    .map_err(|e| format!("bandwidth `{s}`: {e}"))?
                    .0
            }
        };
        if bytes == 0 {
            return Err(format!(
                "bandwidth `{s}` must be at least 1 byte a second, {example}"
            ));
        }
        Ok(Bandwidth(bytes))
    }
}

impl Serialize for Bandwidth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}B/s", self.0))
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Bandwidth;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bandwidth string such as \"10MB/s\" or \"1Gbit/s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bandwidth, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            latency: Latency::default(),
            drop: 0.0,
            duplicate: 0.0,
            bandwidth: None,
        }
    }
}

impl fmt::Display for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "latency {}, drop {}%, duplicate {}%",
            self.latency,
            self.drop * 100.0,
            self.duplicate * 100.0
        )?;
        if let Some(b) = self.bandwidth {
            write!(f, ", bandwidth {b}")?;
        }
        Ok(())
    }
}

impl LinkSpec {
    /// Checks probabilities and the latency distribution; the error is a sentence.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [("drop", self.drop), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!(
                    "{name} probability must be between 0 and 1, got {p}"
                ));
            }
        }
        self.latency.validate()
    }
}

/// What the network does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Lost, for this reason.
    Dropped(DropReason),
    /// Arrives after `first`; when `copy` is set a duplicate arrives after that delay too.
    Delivered {
        /// Delay of the message.
        first: Duration,
        /// Delay of the duplicate, if the network made one.
        copy: Option<Duration>,
    },
}

/// The network's state: link behaviour plus the current partitions and cuts.
#[derive(Debug)]
pub struct Network {
    nodes: usize,
    default: LinkSpec,
    links: Vec<LinkSpec>,
    overrides: DiGraphMap<u32, usize>,
    group: Vec<u32>,
    partitioned: bool,
    cuts: DiGraphMap<u32, ()>,
}

impl Clone for Network {
    fn clone(&self) -> Self {
        Network {
            nodes: self.nodes,
            default: self.default.clone(),
            links: self.links.clone(),
            overrides: self.overrides.clone(),
            group: self.group.clone(),
            partitioned: self.partitioned,
            cuts: self.cuts.clone(),
        }
    }

    /// Reuses the buffers, and copies no graph that is empty on both sides (the exhaustive
    /// search copies a run's network at every state; two empty graph maps cost it 3%).
    fn clone_from(&mut self, source: &Self) {
        self.nodes = source.nodes;
        self.default.clone_from(&source.default);
        self.links.clone_from(&source.links);
        if self.overrides.node_count() != 0 || source.overrides.node_count() != 0 {
            self.overrides.clone_from(&source.overrides);
        }
        self.group.clone_from(&source.group);
        self.partitioned = source.partitioned;
        if self.cuts.node_count() != 0 || source.cuts.node_count() != 0 {
            self.cuts.clone_from(&source.cuts);
        }
    }
}

impl Network {
    /// A fully connected network of `nodes` nodes where every link behaves like `default`.
    pub fn new(nodes: usize, default: LinkSpec) -> Self {
        Network {
            nodes,
            default,
            links: Vec::new(),
            overrides: DiGraphMap::new(),
            group: vec![0; nodes],
            partitioned: false,
            cuts: DiGraphMap::new(),
        }
    }

    /// Makes messages from `from` to `to` behave like `spec`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, spec: LinkSpec) {
        let idx = match self.links.iter().position(|l| *l == spec) {
            Some(i) => i,
            None => {
                self.links.push(spec);
                self.links.len() - 1
            }
        };
        self.overrides.add_edge(from.0, to.0, idx);
    }

    /// How messages from `from` to `to` behave.
    #[inline]
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkSpec {
        if self.overrides.edge_count() == 0 {
            return &self.default;
        }
        match self.overrides.edge_weight(from.0, to.0) {
            Some(&i) => &self.links[i],
            None => &self.default,
        }
    }

    /// True when some link has a bandwidth (the capacity model is then on).
    pub fn has_bandwidth(&self) -> bool {
        self.default.bandwidth.is_some() || self.links.iter().any(|l| l.bandwidth.is_some())
    }

    /// The default link behaviour.
    pub fn default_link(&self) -> &LinkSpec {
        &self.default
    }

    /// Number of links with their own behaviour.
    pub fn override_count(&self) -> usize {
        self.overrides.edge_count()
    }

    /// Why `from` cannot currently reach `to`, or `None` when it can.
    #[inline]
    pub fn blocked(&self, from: NodeId, to: NodeId) -> Option<DropReason> {
        if from == to {
            return None;
        }
        if self.partitioned && self.group[from.index()] != self.group[to.index()] {
            return Some(DropReason::Partition);
        }
        if self.cuts.edge_count() != 0 && self.cuts.contains_edge(from.0, to.0) {
            return Some(DropReason::Cut);
        }
        None
    }

    /// Decides the fate of one message, drawing from the sender's network stream.
    #[inline]
    pub(crate) fn transmit(&self, from: NodeId, to: NodeId, rng: &mut impl Draw) -> Transmit {
        if let Some(reason) = self.blocked(from, to) {
            return Transmit::Dropped(reason);
        }
        let link = self.link(from, to);
        if link.drop > 0.0 && rng.rng().random::<f64>() < link.drop {
            return Transmit::Dropped(DropReason::Loss);
        }
        let first = link.latency.draw(rng);
        let copy = if link.duplicate > 0.0 && rng.rng().random::<f64>() < link.duplicate {
            Some(link.latency.draw(rng))
        } else {
            None
        };
        Transmit::Delivered { first, copy }
    }

    /// Splits the cluster into `groups` (symmetric); nodes in no group form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let rest = groups.len() as u32 + 1;
        self.group.iter_mut().for_each(|g| *g = rest);
        for (i, members) in groups.iter().enumerate() {
            for n in members {
                self.group[n.index()] = i as u32 + 1;
            }
        }
        let first = self.group.first().copied().unwrap_or(0);
        self.partitioned = self.group.iter().any(|&g| g != first);
    }

    /// Blocks every message from a node in `from` to a node in `to` (one way only).
    pub fn cut(&mut self, from: &[NodeId], to: &[NodeId]) {
        for f in from {
            for t in to {
                if f != t {
                    self.cuts.add_edge(f.0, t.0, ());
                }
            }
        }
    }

    /// Removes every partition and cut.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
        self.partitioned = false;
        self.cuts.clear();
    }

    /// Feeds the current partitions and cuts (not the link behaviour, which never changes) to
    /// `h`, for the exhaustive search's state fingerprints.
    pub fn fingerprint<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.partitioned.hash(h);
        if self.partitioned {
            self.group.hash(h);
        }
        let mut cuts: Vec<(u32, u32)> = self.cuts.all_edges().map(|(a, b, _)| (a, b)).collect();
        cuts.sort_unstable();
        cuts.hash(h);
    }

    /// `fingerprint`, with node `i` named `names[i]`: the same for two networks that differ
    /// only by such a renaming.
    pub fn fingerprint_renamed<H: std::hash::Hasher>(&self, h: &mut H, names: &[u32]) {
        use std::hash::Hash;
        let name = |i: u32| names.get(i as usize).copied().unwrap_or(i);
        self.partitioned.hash(h);
        if self.partitioned {
            // Each node's group by its new name, the groups numbered by first appearance.
            let mut by_name = vec![0u32; self.group.len()];
            for (i, &g) in self.group.iter().enumerate() {
                if let Some(slot) = by_name.get_mut(name(i as u32) as usize) {
                    *slot = g;
                }
            }
            let mut seen: Vec<u32> = Vec::new();
            for g in by_name {
                let label = match seen.iter().position(|&s| s == g) {
                    Some(p) => p,
                    None => {
                        seen.push(g);
                        seen.len() - 1
                    }
                };
                label.hash(h);
            }
        }
        let mut cuts: Vec<(u32, u32)> = self
            .cuts
            .all_edges()
            .map(|(a, b, _)| (name(a), name(b)))
            .collect();
        cuts.sort_unstable();
        cuts.hash(h);
    }

    /// True when some partition or cut is in force.
    pub fn is_split(&self) -> bool {
        self.partitioned || self.cuts.edge_count() != 0
    }

    /// Groups of nodes that can reach each other both ways, each sorted, smallest id first.
    pub fn components(&self) -> Vec<Vec<NodeId>> {
        let mut uf = UnionFind::<usize>::new(self.nodes);
        for a in 0..self.nodes {
            for b in (a + 1)..self.nodes {
                let (x, y) = (NodeId(a as u32), NodeId(b as u32));
                if self.blocked(x, y).is_none() && self.blocked(y, x).is_none() {
                    uf.union(a, b);
                }
            }
        }
        let labels = uf.into_labeling();
        let mut groups: Vec<Vec<NodeId>> = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            match seen.iter().position(|l| l == label) {
                Some(g) => groups[g].push(NodeId(i as u32)),
                None => {
                    seen.push(*label);
                    groups.push(vec![NodeId(i as u32)]);
                }
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{stream, Stream};

    #[test]
    fn partition_blocks_both_ways_and_heal_restores() {
        let mut net = Network::new(3, LinkSpec::default());
        net.partition(&[vec![NodeId(0)]]);
        assert_eq!(
            net.blocked(NodeId(0), NodeId(1)),
            Some(DropReason::Partition)
        );
        assert_eq!(
            net.blocked(NodeId(1), NodeId(0)),
            Some(DropReason::Partition)
        );
        assert_eq!(net.blocked(NodeId(1), NodeId(2)), None);
        assert_eq!(net.components().len(), 2);
        net.heal();
        assert_eq!(net.blocked(NodeId(0), NodeId(1)), None);
        assert_eq!(net.components().len(), 1);
    }

    #[test]
    fn cut_blocks_one_direction() {
        let mut net = Network::new(2, LinkSpec::default());
        net.cut(&[NodeId(0)], &[NodeId(1)]);
        assert_eq!(net.blocked(NodeId(0), NodeId(1)), Some(DropReason::Cut));
        assert_eq!(net.blocked(NodeId(1), NodeId(0)), None);
    }

    #[test]
    fn latency_draws_respect_their_bounds() {
        let mut rng = stream(1, Stream::Network(0));
        let u = Latency::Uniform {
            min: Duration::from_millis(2),
            max: Duration::from_millis(4),
        };
        let e = Latency::Exponential {
            mean: Duration::from_millis(1),
            floor: Duration::from_millis(5),
        };
        let l = Latency::LogNormal {
            median: Duration::from_millis(1),
            sigma: 0.5,
            floor: Duration::from_millis(1),
        };
        let mut exp_sum = 0u64;
        for _ in 0..10_000 {
            let d = u.sample(&mut rng);
            assert!(d >= Duration::from_millis(2) && d <= Duration::from_millis(4));
            let d = e.sample(&mut rng);
            assert!(d >= Duration::from_millis(5));
            exp_sum += d.0 - Duration::from_millis(5).0;
            assert!(l.sample(&mut rng) >= Duration::from_millis(1));
        }
        let mean = exp_sum as f64 / 10_000.0;
        assert!((mean - 1e6).abs() < 0.1e6, "exponential mean {mean}");
    }
}
