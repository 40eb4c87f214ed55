//! `Transactional`: the run's transactions (history operations named `txn`, as `check-txn`
//! reads a file) hold a consistency model: no anomaly the model rules out (Elle's dependency
//! cycles, aborted and intermediate reads, lost updates, internal inconsistency).

use super::Verdict;
use crate::sim::RunOutcome;
use crate::txn::{Assume, EdgeKind, Isolation, Workload};
use serde::{Deserialize, Serialize};

const NAME: &str = "Transactional";

/// Cycles and findings printed in a failing verdict; the rest are counted.
const SHOWN: usize = 3;

/// The run's transactions hold `isolation` (default `serializable`), read as `workload`
/// (default `list-append`): `Transactional(isolation: "snapshot-isolation")`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Transactional {
    /// `list-append` or `rw-register`.
    #[serde(deserialize_with = "workload_name")]
    pub workload: String,
    /// A consistency model (`txn::Isolation::NAMES`), from `read-uncommitted` to
    /// `strict-serializable`.
    #[serde(deserialize_with = "isolation_name")]
    pub isolation: String,
    /// rw-register: assume writes follow reads within a transaction.
    pub wfr: bool,
    /// rw-register: assume each key is sequentially consistent.
    pub sequential_keys: bool,
    /// rw-register: assume each key is linearizable.
    pub linearizable_keys: bool,
}

impl Default for Transactional {
    fn default() -> Self {
        Transactional {
            workload: "list-append".into(),
            isolation: "serializable".into(),
            wfr: false,
            sequential_keys: false,
            linearizable_keys: false,
        }
    }
}

fn workload_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    match Workload::named(&name) {
        Some(_) => Ok(name),
        None => Err(serde::de::Error::custom(format!(
            "unknown workload `{name}`; valid workloads: {}",
            Workload::NAMES.join(", ")
        ))),
    }
}

fn isolation_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    match Isolation::named(&name) {
        Some(_) => Ok(name),
        None => Err(serde::de::Error::custom(format!(
            "unknown isolation `{name}`; valid models: {}",
            Isolation::NAMES.join(", ")
        ))),
    }
}

impl crate::protocol::Check for Transactional {
    const NAME: &'static str = NAME;

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let (Some(workload), Some(isolation)) = (
            Workload::named(&self.workload),
            Isolation::named(&self.isolation),
        ) else {
            return Verdict::unknown(NAME, "unknown workload or isolation");
        };
        let ops: Vec<_> =
            crate::lin::formats::from_history(&outcome.history, outcome.roster.names())
                .into_iter()
                .filter(|op| op.f == "txn")
                .collect();
        let orders = isolation.orders();
        let assume = Assume {
            wfr: self.wfr,
            sequential_keys: self.sequential_keys,
            linearizable_keys: self.linearizable_keys,
        };
        let checked = match crate::txn::check(workload, &ops, orders, assume) {
            Ok(c) => c,
            Err(e) => return Verdict::unknown(NAME, e.at(&ops)),
        };
        let committed = checked.txns.iter().filter(|t| t.committed()).count();
        if committed == 0 {
            return Verdict::unknown(
                NAME,
                format!(
                    "no transaction committed ({} recorded): nothing to judge",
                    checked.txns.len()
                ),
            );
        }
        let name = isolation.name();
        let (findings, cycles) = checked.violations(isolation);
        let data_edges = checked
            .edges
            .iter()
            .filter(|e| matches!(e.kind, EdgeKind::Ww | EdgeKind::Wr | EdgeKind::Rw))
            .count();
        if findings.is_empty() && cycles.is_empty() && data_edges == 0 {
            return Verdict::unknown(
                NAME,
                format!(
                    "no dependency between the {} transactions could be inferred, so no cycle could be looked for",
                    checked.txns.len()
                ),
            );
        }
        if findings.is_empty() && cycles.is_empty() {
            let allowed = checked.findings.len() + checked.cycles.len();
            let also = if allowed == 0 {
                String::new()
            } else {
                format!("; {allowed} anomalies it allows were seen")
            };
            return Verdict::pass(
                NAME,
                format!(
                    "{committed} committed {} transactions hold {name} ({} dependencies){also}",
                    workload.name(),
                    checked.edges.len()
                ),
            );
        }
        let mut names: Vec<String> = Vec::new();
        for name in findings
            .iter()
            .map(|f| f.name.to_string())
            .chain(cycles.iter().map(|c| c.name()))
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut v = Verdict::fail(
            NAME,
            format!(
                "{} transactions break {name}: {}",
                workload.name(),
                names.join(", ")
            ),
        );
        let mut culprits = Vec::new();
        let mut mark = |txns: &mut dyn Iterator<Item = usize>| {
            for t in txns {
                let txn = &checked.txns[t];
                culprits.push(ops[txn.op].call);
                culprits.extend(ops[txn.op].ret);
            }
        };
        // One of each kind first, so a kind is never hidden behind many of another.
        let mut shown_first: Vec<&crate::txn::Finding> = Vec::new();
        for f in &findings {
            if !shown_first.iter().any(|g| g.name == f.name) {
                shown_first.push(f);
            }
        }
        for f in &findings {
            if shown_first.len() >= SHOWN.max(names.len()) {
                break;
            }
            if !shown_first.iter().any(|g| std::ptr::eq(*g, *f)) {
                shown_first.push(f);
            }
        }
        let shown_findings = shown_first.len();
        for f in shown_first {
            v = v.detail(format!("{}: {}", f.name, f.text));
            mark(&mut f.txns.iter().copied());
        }
        for c in cycles.iter().take(SHOWN) {
            v = v.detail(format!(
                "{} (rules out {}), a cycle of {} transactions:",
                c.name(),
                c.rules_out(),
                c.edges.len()
            ));
            for line in checked.explain(c) {
                v = v.detail(format!("  {line}"));
            }
            mark(&mut c.edges.iter().map(|e| e.from));
        }
        let more = findings.len() - shown_findings + cycles.len().saturating_sub(SHOWN);
        if more > 0 {
            v = v.detail(format!("and {more} more"));
        }
        culprits.sort_unstable();
        culprits.dedup();
        v.culprits(outcome, culprits)
    }
}
