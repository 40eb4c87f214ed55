//! A node's local clock: true time plus a skew, running fast or slow by a drift rate.

use crate::time::{Duration, Offset, SimTime};

/// Maps true virtual time to what a node's clock reads, and local delays back to true ones.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeClock {
    anchor_true: u64,
    anchor_local: i128,
    ppm: i64,
}

impl NodeClock {
    /// What the clock reads at true time `t` (never below zero).
    #[inline]
    pub fn local(&self, t: SimTime) -> SimTime {
        if self.ppm == 0 && self.anchor_local == self.anchor_true as i128 {
            return t;
        }
        let elapsed = t.0 as i128 - self.anchor_true as i128;
        let local = self.anchor_local + elapsed + elapsed * self.ppm as i128 / 1_000_000;
        SimTime(local.clamp(0, u64::MAX as i128) as u64)
    }

    /// The true duration that passes while this clock advances by `d`.
    #[inline]
    pub fn true_delay(&self, d: Duration) -> Duration {
        if self.ppm == 0 {
            return d;
        }
        let scaled = d.0 as i128 * 1_000_000 / (1_000_000 + self.ppm as i128);
        Duration(scaled.max(0) as u64)
    }

    /// From true time `now` on, the clock reads true time plus `offset`.
    pub fn set_offset(&mut self, now: SimTime, offset: Offset) {
        self.anchor_true = now.0;
        self.anchor_local = now.0 as i128 + offset.0 as i128;
    }

    /// From true time `now` on, the clock runs `ppm` parts per million fast (or slow), without a jump.
    pub fn set_drift(&mut self, now: SimTime, ppm: i64) {
        self.anchor_local = self.local(now).0 as i128;
        self.anchor_true = now.0;
        self.ppm = ppm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_drift_change_local_time() {
        let mut c = NodeClock::default();
        assert_eq!(c.local(SimTime(1_000)), SimTime(1_000));
        c.set_offset(SimTime(1_000), Offset(500));
        assert_eq!(c.local(SimTime(2_000)), SimTime(2_500));
        c.set_drift(SimTime(2_000), 100_000); // 10% fast
        assert_eq!(c.local(SimTime(12_000)), SimTime(2_500 + 11_000));
        assert_eq!(c.true_delay(Duration(11_000)), Duration(10_000));
    }
}
