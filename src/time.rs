//! Virtual time: instants and durations in nanoseconds, parsed from and printed as "150ms", "2s", "1.5s".

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of virtual time, in nanoseconds since the run started.
#[derive(
    Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of virtual time, in nanoseconds; `Debug` prints it exactly (`43ms`, `1.5s`).
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

/// A signed span of virtual time, used for clock skew ("-50ms" is behind).
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub i64);

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&exact_text(self.0))
    }
}

impl fmt::Debug for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            f.write_str("-")?;
        }
        f.write_str(&exact_text(self.0.unsigned_abs()))
    }
}

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Nanoseconds since the start.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// Seconds since the start as a float, for reports and plots.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        Duration(n)
    }
    /// A duration of `n` microseconds.
    pub const fn from_micros(n: u64) -> Self {
        Duration(n * 1_000)
    }
    /// A duration of `n` milliseconds.
    pub const fn from_millis(n: u64) -> Self {
        Duration(n * 1_000_000)
    }
    /// A duration of `n` seconds.
    pub const fn from_secs(n: u64) -> Self {
        Duration(n * 1_000_000_000)
    }
    /// Length in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Length in seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Length in milliseconds as a float.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for SimTime {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = Duration;
    fn sub(self, rhs: SimTime) -> Duration {
        self.since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

/// Parses "150ms", "2s", "1.5s", "250us", "10ns", "3m", "0" into nanoseconds.
pub fn parse_nanos(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(0);
    }
    if s.starts_with('-') {
        return Err(format!(
            "duration `{text}` is negative; a duration must be >= 0 (e.g. \"5ms\")"
        ));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            format!("duration `{text}` has no unit; write e.g. \"150ms\", \"2s\", \"500us\"")
        })?;
    let (num, unit) = s.split_at(split);
    let scale: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        other => {
            return Err(format!(
                "duration `{text}` has unknown unit `{other}`; valid units: ns, us, ms, s, m, h"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("duration `{text}` does not start with a number"))?;
    let nanos = value * scale;
    if !nanos.is_finite() || nanos > u64::MAX as f64 / 2.0 {
        return Err(format!(
            "duration `{text}` is too large; at most {}",
            exact_text(u64::MAX / 2)
        ));
    }
    Ok(nanos.round() as u64)
}

fn fmt_nanos(n: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    if n == 0 {
        return write!(f, "0s");
    }
    for (scale, unit) in UNITS {
        if n >= scale {
            if n.is_multiple_of(scale) {
                return write!(f, "{}{}", n / scale, unit);
            }
            let v = n as f64 / scale as f64;
            let text = format!("{v:.3}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return write!(f, "{text}{unit}");
        }
    }
    write!(f, "{n}ns")
}

/// The exact text of `n` nanoseconds in the largest unit it reaches, every digit kept
/// (`528.562751ms`): what scenario files hold, so a time read back is the time written.
pub fn exact_text(n: u64) -> String {
    const UNITS: [(u64, &str, usize); 4] = [
        (1_000_000_000, "s", 9),
        (1_000_000, "ms", 6),
        (1_000, "us", 3),
        (1, "ns", 0),
    ];
    if n == 0 {
        return "0s".to_string();
    }
    for (scale, unit, digits) in UNITS {
        if n >= scale {
            let (whole, frac) = (n / scale, n % scale);
            if frac == 0 {
                return format!("{whole}{unit}");
            }
            let frac = format!("{frac:0digits$}");
            return format!("{whole}.{}{unit}", frac.trim_end_matches('0'));
        }
    }
    format!("{n}ns")
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_nanos(self.0, f)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let micros = (self.0 % 1_000_000_000) / 1_000;
        write!(f, "{secs}.{micros:06}s")
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-")?;
        }
        fmt_nanos(self.0.unsigned_abs(), f)
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_nanos(s).map(Duration)
    }
}

impl std::str::FromStr for Offset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let n = parse_nanos(rest)?;
        let n = i64::try_from(n).map_err(|_| {
            format!(
                "clock offset `{s}` is too large; offsets range over +-{}",
                exact_text(i64::MAX as u64)
            )
        })?;
        Ok(Offset(if negative { -n } else { n }))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&exact_text(self.0))
    }
}

/// Reads a duration string; a bare number gets a message asking for a unit.
struct DurationText;

impl de::Visitor<'_> for DurationText {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string with a unit, such as \"150ms\" or \"2s\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "duration {v} has no unit; write it as a string, e.g. \"{v}ms\" or \"{v}s\""
        )))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Err(E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Err(E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationText)
    }
}

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sign = if self.0 < 0 { "-" } else { "" };
        s.serialize_str(&format!("{sign}{}", exact_text(self.0.unsigned_abs())))
    }
}

/// Reads a signed duration string; a bare number gets a message asking for a unit.
struct OffsetText;

impl de::Visitor<'_> for OffsetText {
    type Value = Offset;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a signed duration string with a unit, such as \"300ms\" or \"-50ms\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Offset, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Offset, E> {
        Err(E::custom(format!(
            "offset {v} has no unit; write it as a string, e.g. \"{v}ms\""
        )))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Offset, E> {
        Err(E::custom(format!(
            "offset {v} has no unit; write it as a string, e.g. \"{v}ms\""
        )))
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OffsetText)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_prints_durations_and_offsets_as_scenarios_write_them() {
        use super::*;
        assert_eq!(format!("{:?}", Duration::from_millis(43)), "43ms");
        assert_eq!(format!("{:?}", Duration(1_500_000_000)), "1.5s");
        assert_eq!(format!("{:?}", Offset(-50_000_000)), "-50ms");
        assert_eq!(format!("{:?}", Some(Duration(7))), "Some(7ns)");
    }

    #[test]
    fn exact_text_reads_back_to_the_same_nanosecond() {
        use super::*;
        for n in [
            0,
            1,
            999,
            1_000,
            1_234_567_891,
            528_562_751,
            3_000_000_000,
            86_399_999_999_999,
        ] {
            let text = exact_text(n);
            assert_eq!(parse_nanos(&text), Ok(n), "{text}");
        }
        assert_eq!(exact_text(528_562_751), "528.562751ms");
        assert_eq!(exact_text(1_500_000_000), "1.5s");
        let o = Offset(-1_234_567);
        let ron = ron::to_string(&o).unwrap();
        assert_eq!(ron, "\"-1.234567ms\"");
        assert_eq!(ron::from_str::<Offset>(&ron).unwrap(), o);
    }

    use super::*;

    #[test]
    fn parses_and_prints_durations() {
        assert_eq!(
            "150ms".parse::<Duration>().unwrap(),
            Duration::from_millis(150)
        );
        assert_eq!(
            "1.5s".parse::<Duration>().unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            "250us".parse::<Duration>().unwrap(),
            Duration::from_micros(250)
        );
        assert_eq!(Duration::from_millis(1500).to_string(), "1.5s");
        assert_eq!(Duration::from_millis(150).to_string(), "150ms");
        assert_eq!("-50ms".parse::<Offset>().unwrap(), Offset(-50_000_000));
        assert!("12".parse::<Duration>().unwrap_err().contains("no unit"));
        let skew: Offset = ron::from_str("\"-50ms\"").unwrap();
        assert_eq!(skew, Offset(-50_000_000));
        let bare = ron::from_str::<Offset>("-50").unwrap_err().to_string();
        assert!(bare.contains("offset -50 has no unit"), "{bare}");
        let bare = ron::from_str::<Duration>("50").unwrap_err().to_string();
        assert!(bare.contains("duration 50 has no unit"), "{bare}");
        assert!("12 parsecs"
            .parse::<Duration>()
            .unwrap_err()
            .contains("unknown unit"));
    }
}
