//! What a transactional check found, whichever the workload: the transactions, every
//! dependency inferred, the cycles, and the anomalies that are not cycles (aborted and
//! intermediate reads, internal inconsistency, lost updates...), each judged against a
//! consistency model.

use super::graph::{Cycle, Edge};
use super::isolation::{ruled_out_by, Isolation};
use super::record::{Txn, Workload};

/// An anomaly that is not a cycle, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Its name as Elle writes it: `G1a`, `G1b`, `internal`, `lost-update`, `future-read`,
    /// `incompatible-order`, `duplicate-elements`, `cyclic-versions`, `garbage-read`.
    pub name: &'static str,
    /// What happened, naming the transactions.
    pub text: String,
    /// The transactions involved (indices into `Checked::txns`).
    pub txns: Vec<usize>,
}

impl Finding {
    /// The consistency models it rules out, in words.
    pub fn rules_out(&self) -> String {
        ruled_out_by(self.name, None)
    }
}

/// The verdict on a transactional history.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The workload the history was read as.
    pub workload: Workload,
    /// The transactions read.
    pub txns: Vec<Txn>,
    /// Every dependency inferred.
    pub edges: Vec<Edge>,
    /// The cycles found, strongest class first.
    pub cycles: Vec<Cycle>,
    /// The anomalies that are not cycles, in the order they were found.
    pub findings: Vec<Finding>,
}

impl Checked {
    /// True when no anomaly of any kind was found.
    pub fn valid(&self) -> bool {
        self.cycles.is_empty() && self.findings.is_empty()
    }

    /// True when nothing `isolation` rules out was found.
    pub fn satisfies(&self, isolation: Isolation) -> bool {
        let (findings, cycles) = self.violations(isolation);
        findings.is_empty() && cycles.is_empty()
    }

    /// The findings and cycles `isolation` rules out.
    pub fn violations(&self, isolation: Isolation) -> (Vec<&Finding>, Vec<&Cycle>) {
        (
            self.findings
                .iter()
                .filter(|f| isolation.prohibits(f.name, None))
                .collect(),
            self.cycles
                .iter()
                .filter(|c| isolation.prohibits(c.anomaly.name(), c.order))
                .collect(),
        )
    }

    /// The texts of the findings called `name`.
    pub fn found(&self, name: &str) -> Vec<&str> {
        self.findings
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.text.as_str())
            .collect()
    }

    /// A cycle in words, one line per dependency.
    pub fn explain(&self, cycle: &Cycle) -> Vec<String> {
        cycle
            .edges
            .iter()
            .map(|e| {
                format!(
                    "{} < {}: {} on {}: {}",
                    self.txns[e.from].name(e.from),
                    self.txns[e.to].name(e.to),
                    e.kind.name(),
                    e.key,
                    e.why
                )
            })
            .collect()
    }
}
