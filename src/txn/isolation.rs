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

/// The base anomalies (Elle's names) each level rules out.
const READ_UNCOMMITTED: &[&str] = &["G0", "cyclic-versions", "duplicate-elements"];
const READ_COMMITTED: &[&str] = &[
    "G0",
    "cyclic-versions",
    "duplicate-elements",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "future-read",
    "garbage-read",
];
const READ_ATOMIC: &[&str] = &[
    "G0",
    "cyclic-versions",
    "duplicate-elements",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "future-read",
    "garbage-read",
    "internal",
];
const SNAPSHOT_ISOLATION: &[&str] = &[
    "G0",
    "cyclic-versions",
    "duplicate-elements",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "future-read",
    "garbage-read",
    "internal",
    "G-single",
    "G-nonadjacent",
    "lost-update",
];
const REPEATABLE_READ: &[&str] = &[
    "G0",
    "cyclic-versions",
    "duplicate-elements",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "future-read",
    "garbage-read",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "lost-update",
];
const SERIALIZABLE: &[&str] = &[
    "G0",
    "cyclic-versions",
    "duplicate-elements",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "future-read",
    "garbage-read",
    "internal",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "lost-update",
];

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

    /// True when the level rules out the base anomaly `name` (`G1a`, `G-single`, `internal`).
    pub fn prohibits(self, name: &str) -> bool {
        let list = match self {
            Level::ReadUncommitted => READ_UNCOMMITTED,
            Level::ReadCommitted => READ_COMMITTED,
            Level::ReadAtomic => READ_ATOMIC,
            Level::SnapshotIsolation => SNAPSHOT_ISOLATION,
            Level::RepeatableRead => REPEATABLE_READ,
            Level::Serializable => SERIALIZABLE,
        };
        list.contains(&name)
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
    /// Every model's name, as `--isolation` and `Transactional(isolation: ...)` take it.
    pub const NAMES: [&'static str; 10] = [
        "read-uncommitted",
        "read-committed",
        "read-atomic",
        "snapshot-isolation",
        "repeatable-read",
        "serializable",
        "strong-session-snapshot-isolation",
        "strong-snapshot-isolation",
        "strong-session-serializable",
        "strict-serializable",
    ];

    /// The model called `name` (one of `NAMES`).
    pub fn named(name: &str) -> Option<Isolation> {
        let plain = |level| Isolation {
            level,
            process: false,
            realtime: false,
        };
        if let Some(level) = Level::ALL.into_iter().find(|l| l.name() == name) {
            return Some(plain(level));
        }
        let (level, process, realtime) = match name {
            "strong-session-snapshot-isolation" => (Level::SnapshotIsolation, true, false),
            "strong-snapshot-isolation" => (Level::SnapshotIsolation, true, true),
            "strong-session-serializable" => (Level::Serializable, true, false),
            "strict-serializable" => (Level::Serializable, true, true),
            _ => return None,
        };
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
