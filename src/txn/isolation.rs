//! Consistency models for transactions and the anomalies each rules out, after Adya's
//! definitions as Elle (`elle.consistency-model`) relates them: read-uncommitted (PL-1),
//! read-committed (PL-2), read-atomic, snapshot isolation, repeatable read (PL-2.99),
//! serializable (PL-3), and the strong-session (process order) and strict (real-time order)
//! forms of a model.

use super::graph::EdgeKind;

/// A transactional consistency model without its session or real-time order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// PL-1: no write cycles.
    ReadUncommitted,
    /// PL-2: no reads of aborted or intermediate state, no circular information flow.
    ReadCommitted,
    /// Read atomic: a transaction sees all or none of another's effects, and its own.
    ReadAtomic,
    /// Snapshot isolation: reads from one snapshot, no lost updates; write skew allowed.
    SnapshotIsolation,
    /// PL-2.99: no item anti-dependency cycles.
    RepeatableRead,
    /// PL-3: the transactions have a serial order.
    Serializable,
}

impl Level {
    /// Every level, weakest first.
    pub const ALL: [Level; 6] = [
        Level::ReadUncommitted,
        Level::ReadCommitted,
        Level::ReadAtomic,
        Level::SnapshotIsolation,
        Level::RepeatableRead,
        Level::Serializable,
    ];

    /// Its name as Jepsen writes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::ReadUncommitted => "read-uncommitted",
            Level::ReadCommitted => "read-committed",
            Level::ReadAtomic => "read-atomic",
            Level::SnapshotIsolation => "snapshot-isolation",
            Level::RepeatableRead => "repeatable-read",
            Level::Serializable => "serializable",
        }
    }

    /// True when the level rules out the base anomaly `name` (`G1a`, `G-single`, `internal`),
    /// as Elle's implication graph relates them.
    pub fn prohibits(self, name: &str) -> bool {
        use Level::*;
        match name {
            // Nothing weaker than read uncommitted: a write cycle, versions in a cycle, an
            // element appended twice.
            "G0" | "cyclic-versions" | "duplicate-elements" => true,
            // Dirty reads of every kind, circular information flow, orders no reads explain.
            "G1a" | "G1b" | "G1c" | "incompatible-order" | "future-read" | "garbage-read" => {
                self != ReadUncommitted
            }
            // Atomic visibility of a transaction's own steps (Elle: not read-atomic).
            "internal" => matches!(self, ReadAtomic | SnapshotIsolation | Serializable),
            // One anti-dependency in a cycle, or several never adjacent; two transactions
            // updating from one version.
            "G-single" | "G-nonadjacent" | "lost-update" => {
                matches!(self, SnapshotIsolation | RepeatableRead | Serializable)
            }
            // Write skew: adjacent anti-dependencies (snapshot isolation allows them).
            "G2-item" => matches!(self, RepeatableRead | Serializable),
            _ => false,
        }
    }
}

/// A consistency model: a level, and whether it also orders each client's transactions
/// (strong session) or every transaction by real time (strict).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Isolation {
    /// The level.
    pub level: Level,
    /// Each client's transactions take effect in the order it ran them.
    pub process: bool,
    /// A transaction takes effect after every one that completed before it began.
    pub realtime: bool,
}

impl Isolation {
    /// Every model's name, as `--isolation` and `Transactional(isolation: ...)` take it: each
    /// level, its strong-session form and its strong (real-time) form.
    pub const NAMES: [&'static str; 18] = [
        "read-uncommitted",
        "read-committed",
        "read-atomic",
        "snapshot-isolation",
        "repeatable-read",
        "serializable",
        "strong-session-read-uncommitted",
        "strong-session-read-committed",
        "strong-session-read-atomic",
        "strong-session-snapshot-isolation",
        "strong-session-repeatable-read",
        "strong-session-serializable",
        "strong-read-uncommitted",
        "strong-read-committed",
        "strong-read-atomic",
        "strong-snapshot-isolation",
        "strong-repeatable-read",
        "strict-serializable",
    ];

    /// The model called `name` (one of `NAMES`; `strong-serializable` is `strict-serializable`).
    pub fn named(name: &str) -> Option<Isolation> {
        let (rest, process, realtime) = if let Some(r) = name.strip_prefix("strong-session-") {
            (r, true, false)
        } else if let Some(r) = name.strip_prefix("strong-") {
            (r, true, true)
        } else if name == "strict-serializable" {
            ("serializable", true, true)
        } else {
            (name, false, false)
        };
        let level = Level::ALL.into_iter().find(|l| l.name() == rest)?;
        Some(Isolation {
            level,
            process,
            realtime,
        })
    }

    /// Its name.
    pub fn name(self) -> String {
        match (self.level, self.process, self.realtime) {
            (Level::Serializable, _, true) => "strict-serializable".into(),
            (level, _, true) => format!("strong-{}", level.name()),
            (level, true, false) => format!("strong-session-{}", level.name()),
            (level, false, false) => level.name().into(),
        }
    }

    /// The orders between transactions the model adds to their data dependencies.
    pub fn orders(self) -> super::Orders {
        super::Orders {
            process: self.process,
            realtime: self.realtime,
        }
    }

    /// True when the model rules out the base anomaly `name` in a cycle that needs `order`
    /// (none, a client's order, real time) besides the data dependencies.
    pub fn prohibits(self, name: &str, order: Option<EdgeKind>) -> bool {
        self.level.prohibits(name)
            && match order {
                None => true,
                Some(EdgeKind::Realtime) => self.realtime,
                Some(_) => self.process || self.realtime,
            }
    }
}

/// The models, among the plain levels and their strong-session and strict forms, that the base
/// anomaly `name` (needing `order`) rules out, weakest first, in words.
pub fn ruled_out_by(name: &str, order: Option<EdgeKind>) -> String {
    let levels: Vec<&str> = Level::ALL
        .into_iter()
        .filter(|l| l.prohibits(name))
        .map(Level::name)
        .collect();
    if levels.is_empty() {
        return "no model checked here".into();
    }
    let list = levels.join(", ");
    match order {
        None => list,
        Some(EdgeKind::Realtime) => format!("the strict (real-time) forms of {list}"),
        Some(_) => format!("the strong-session (process-order) forms of {list}"),
    }
}
