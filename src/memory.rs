//! The memory model of a run: a byte budget (`Bytes`, parsed from "2GiB"), and the estimate of
//! what a run holds (`MemoryUse`: trace, history, pending events, nodes) that the engine keeps
//! under it. A run that would outgrow its budget stops with a sentence naming the knob to lower,
//! instead of the process aborting when an allocation fails.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A number of bytes, written with a unit: "512MiB", "2GiB", "64KiB", "1GB".
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Bytes(pub u64);

/// The budget a run gets unless the scenario or the command line says otherwise: 2 GiB, sized
/// for a laptop.
pub const DEFAULT_BUDGET: Bytes = Bytes(2 << 30);

/// The smallest budget accepted: below it no real run fits.
pub const MIN_BUDGET: Bytes = Bytes(1 << 20);

const UNITS: [(&str, u64); 9] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];

impl Bytes {
    /// True for the default budget (left out when a scenario is written back).
    pub fn is_default_budget(&self) -> bool {
        *self == DEFAULT_BUDGET
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= size {
                let whole = n / size;
                let tenths = (n % size) * 10 / size;
                return if tenths == 0 {
                    write!(f, "{whole} {unit}")
                } else {
                    write!(f, "{whole}.{tenths} {unit}")
                };
            }
        }
        write!(f, "{n} B")
    }
}

impl std::str::FromStr for Bytes {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let s = text.trim();
        let valid = "KiB, MiB, GiB, TiB, KB, MB, GB, TB or B";
        if s.starts_with('-') {
            return Err(format!(
                "memory size `{s}` is negative; it must be >= 0, e.g. \"512MiB\""
            ));
        }
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = (&s[..split], s[split..].trim());
        if unit.is_empty() {
            return Err(format!(
                "memory size `{s}` has no unit; write e.g. \"{}\" (units: {valid})",
                with_unit(number)
            ));
        }
        let Some(&(_, size)) = UNITS.iter().find(|(u, _)| u.eq_ignore_ascii_case(unit)) else {
            return Err(format!(
                "unknown unit `{unit}` in memory size `{s}`; valid units: {valid}"
            ));
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{s}` is not a memory size such as \"512MiB\" or \"2GiB\""))?;
        let bytes = value * size as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("memory size `{s}` is too large"));
        }
        Ok(Bytes(bytes as u64))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = UNITS
            .iter()
            .filter(|(u, _)| u.ends_with("iB") || *u == "B")
            .find(|(_, size)| self.0.is_multiple_of(*size) && self.0 >= *size)
            .map(|(u, size)| format!("{}{u}", self.0 / size))
            .unwrap_or_else(|| format!("{}B", self.0));
        s.serialize_str(&text)
    }
}

struct BytesText;

impl de::Visitor<'_> for BytesText {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a memory size string with a unit, such as \"512MiB\" or \"2GiB\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
        Err(E::custom(format!(
            "memory size {v} has no unit; write it as a string, e.g. \"{}\"",
            with_unit(&v.to_string())
        )))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BytesText)
    }
}

/// `Bounds::max_memory` from a scenario: a size with a unit, at least `MIN_BUDGET` (as the
/// command line's `--max-memory` requires).
pub(crate) fn deserialize_budget<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    let b = Bytes::deserialize(d)?;
    if b < MIN_BUDGET {
        return Err(de::Error::custom(format!(
            "max_memory {b} is too small for a run; the budget must be at least {MIN_BUDGET}"
        )));
    }
    Ok(b)
}

/// The suggestion for a size written without a unit: the number in MiB, or the smallest
/// budget when that would be too small.
fn with_unit(number: &str) -> String {
    match number.parse::<f64>() {
        Ok(n) if n >= 1.0 => format!("{number}MiB"),
        _ => MIN_BUDGET.to_string().replace(' ', ""),
    }
}

/// The serde default of `Bounds::max_memory`.
pub(crate) fn default_budget() -> Bytes {
    DEFAULT_BUDGET
}

/// What a run holds, estimated from the sizes of its records (not measured by the allocator).
#[derive(Copy, Clone, Default, PartialEq, Eq, Debug)]
pub struct MemoryUse {
    /// The nodes: engine slots and the protocol's node values (not what they allocate).
    pub nodes: u64,
    /// Pending events: messages in flight, timers, scheduled faults.
    pub queue: u64,
    /// The kept trace events.
    pub trace: u64,
    /// The history of client operations and events.
    pub history: u64,
}

impl MemoryUse {
    /// Everything together.
    pub fn total(&self) -> u64 {
        self.nodes + self.queue + self.trace + self.history
    }

    /// The largest part, with the knob that shrinks it, for the message of a stopped run.
    pub fn culprit(&self) -> (&'static str, &'static str) {
        let parts = [
            (
                self.trace,
                "the trace",
                "draw a window (--from/--to) or drop --trace, or lower max_time",
            ),
            (
                self.history,
                "the history",
                "lower max_time or max_events, or the workload's operations",
            ),
            (
                self.queue,
                "the pending events",
                "lower the message rate or max_time",
            ),
            (
                self.nodes,
                "the nodes",
                "lower the node count, or max_time if their logs and maps grow as they run",
            ),
        ];
        let (_, part, knob) = parts.into_iter().max_by_key(|(b, _, _)| *b).unwrap_or((
            0,
            "the run",
            "lower max_time",
        ));
        (part, knob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_print_and_round_trip() {
        assert_eq!("2GiB".parse::<Bytes>(), Ok(Bytes(2 << 30)));
        assert_eq!("512 MiB".parse::<Bytes>(), Ok(Bytes(512 << 20)));
        assert_eq!("1.5GB".parse::<Bytes>(), Ok(Bytes(1_500_000_000)));
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
        assert!("-5MiB".parse::<Bytes>().unwrap_err().contains(">= 0"));
        assert!("5".parse::<Bytes>().unwrap_err().contains("no unit"));
        assert!("5 parsecs".parse::<Bytes>().unwrap_err().contains("GiB"));
        let text = ron::to_string(&Bytes(768 << 20)).unwrap();
        assert_eq!(text, "\"768MiB\"");
        assert_eq!(ron::from_str::<Bytes>(&text).unwrap(), Bytes(768 << 20));
    }

    #[test]
    fn the_culprit_is_the_largest_part() {
        let m = MemoryUse {
            nodes: 1,
            queue: 2,
            trace: 3,
            history: 40,
        };
        assert_eq!(m.total(), 46);
        assert_eq!(m.culprit().0, "the history");
    }
}
