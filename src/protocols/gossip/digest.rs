//! What a gossip node holds, per origin (the posting user): a contiguous high-water mark plus the
//! exceptions above it, and the compact digest anti-entropy exchanges instead of every id.

use serde::{Deserialize, Serialize};

/// Spacing of message ids: message `seq` of the user ranked `origin` (0-based) is
/// `(origin + 1) * MSG_STRIDE + seq`, so ids read as "user, then sequence" in reports.
pub const MSG_STRIDE: u64 = 1_000_000;

/// The largest number of chunks a message may have (chunks received are a 64-bit mask).
pub const MAX_CHUNKS: u32 = 64;

/// The id of message `seq` posted by the user ranked `origin`.
pub fn message_id(origin: u32, seq: u64) -> u64 {
    (u64::from(origin) + 1) * MSG_STRIDE + seq
}

/// The (origin, seq) a message id stands for; `None` for ids no user can have made.
pub fn split_id(msg: u64) -> Option<(u32, u64)> {
    let origin = (msg / MSG_STRIDE).checked_sub(1)?;
    Some((u32::try_from(origin).ok()?, msg % MSG_STRIDE))
}

/// One origin's part of a digest: every seq below `contiguous` is held, and so is every seq in
/// `extra` (ascending, all at or above `contiguous`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginDigest {
    /// The posting user's rank.
    pub origin: u32,
    /// Every message with a lower seq is held.
    pub contiguous: u64,
    /// Held seqs at or above `contiguous`, ascending.
    pub extra: Vec<u64>,
}

/// The messages one origin posted that a node holds, with their chunk counts.
#[derive(Clone, Debug, Default)]
struct OriginLog {
    /// Chunk count by seq; 0 means not held.
    chunks: Vec<u8>,
    /// The first seq not held.
    contiguous: u64,
}

impl OriginLog {
    fn chunks(&self, seq: u64) -> u8 {
        usize::try_from(seq)
            .ok()
            .and_then(|i| self.chunks.get(i))
            .copied()
            .unwrap_or(0)
    }

    fn insert(&mut self, seq: u64, chunks: u8) -> bool {
        let i = seq as usize;
        if self.chunks.len() <= i {
            self.chunks.resize(i + 1, 0);
        }
        if self.chunks[i] != 0 {
            return false;
        }
        self.chunks[i] = chunks;
        while self.chunks(self.contiguous) != 0 {
            self.contiguous += 1;
        }
        true
    }

    fn extra(&self) -> Vec<u64> {
        (self.contiguous..self.chunks.len() as u64)
            .filter(|&s| self.chunks(s) != 0)
            .collect()
    }
}

/// Every complete message a node holds, by origin.
#[derive(Clone, Debug, Default)]
pub struct Holdings {
    logs: Vec<OriginLog>,
    count: usize,
}

impl Holdings {
    /// Holdings with room for `origins` posting users.
    pub fn new(origins: usize) -> Self {
        Holdings {
            logs: vec![OriginLog::default(); origins],
            count: 0,
        }
    }

    /// Number of messages held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True when `msg` is held complete.
    pub fn has(&self, msg: u64) -> bool {
        self.chunks(msg) != 0
    }

    /// The chunk count of `msg` if held, else 0.
    pub fn chunks(&self, msg: u64) -> u8 {
        match split_id(msg) {
            Some((o, seq)) => self.logs.get(o as usize).map_or(0, |l| l.chunks(seq)),
            None => 0,
        }
    }

    /// Records `msg` (of `chunks` chunks) as held; true when it was new. Ids of unknown origins
    /// and zero chunk counts are refused (false).
    pub fn insert(&mut self, msg: u64, chunks: u8) -> bool {
        let Some((o, seq)) = split_id(msg) else {
            return false;
        };
        let Some(log) = self.logs.get_mut(o as usize) else {
            return false;
        };
        if chunks == 0 || !log.insert(seq, chunks) {
            return false;
        }
        self.count += 1;
        true
    }

    /// The compact digest of what is held: origins holding nothing are left out.
    pub fn digest(&self) -> Vec<OriginDigest> {
        self.logs
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contiguous > 0 || !l.chunks.is_empty())
            .map(|(o, l)| OriginDigest {
                origin: o as u32,
                contiguous: l.contiguous,
                extra: l.extra(),
            })
            .collect()
    }

    // ANCHOR: missing_from
    /// Appends to `out` every (message, chunks) held here that `digest` does not list.
    pub fn missing_from(&self, digest: &[OriginDigest], out: &mut Vec<(u64, u8)>) {
        for (o, log) in self.logs.iter().enumerate() {
            let theirs = digest
                .binary_search_by_key(&(o as u32), |d| d.origin)
                .ok()
                .map(|i| &digest[i]);
            let (from, extra): (u64, &[u64]) =
                theirs.map_or((0, &[]), |d| (d.contiguous, &d.extra));
            for seq in from..log.chunks.len() as u64 {
                let c = log.chunks(seq);
                if c != 0 && extra.binary_search(&seq).is_err() {
                    out.push((message_id(o as u32, seq), c));
                }
            }
        }
    }
    // ANCHOR_END: missing_from

    /// One origin's log as stored on disk: the chunk count by seq, 0 where not held.
    pub fn log(&self, origin: u32) -> &[u8] {
        self.logs.get(origin as usize).map_or(&[], |l| &l.chunks)
    }

    /// Restores one origin's log read back from disk.
    pub fn restore(&mut self, origin: u32, chunks: &[u8]) {
        for (seq, &c) in chunks.iter().enumerate() {
            if c != 0 {
                self.insert(message_id(origin, seq as u64), c);
            }
        }
    }

    /// True when `digest` lists some message not held here.
    pub fn lacks_any_of(&self, digest: &[OriginDigest]) -> bool {
        digest.iter().any(|d| {
            let Some(log) = self.logs.get(d.origin as usize) else {
                return false;
            };
            d.contiguous > log.contiguous || d.extra.iter().any(|&s| log.chunks(s) == 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_non_user_ids() {
        assert_eq!(message_id(0, 5), 1_000_005);
        assert_eq!(split_id(2_000_007), Some((1, 7)));
        assert_eq!(split_id(999_999), None);
    }

    #[test]
    fn digest_is_a_high_water_mark_plus_exceptions() {
        let mut h = Holdings::new(2);
        for seq in [0, 1, 2, 5, 7] {
            assert!(h.insert(message_id(0, seq), 1));
        }
        assert!(!h.insert(message_id(0, 5), 1));
        assert!(!h.insert(message_id(9, 0), 1), "unknown origin");
        let d = h.digest();
        assert_eq!(
            d,
            vec![OriginDigest {
                origin: 0,
                contiguous: 3,
                extra: vec![5, 7]
            }]
        );
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn missing_from_sends_exactly_what_the_peer_lacks() {
        let mut mine = Holdings::new(2);
        let mut theirs = Holdings::new(2);
        for seq in 0..6 {
            mine.insert(message_id(0, seq), 2);
        }
        mine.insert(message_id(1, 3), 4);
        for seq in [0, 1, 4] {
            theirs.insert(message_id(0, seq), 2);
        }
        let mut out = Vec::new();
        mine.missing_from(&theirs.digest(), &mut out);
        let want: Vec<(u64, u8)> = vec![
            (message_id(0, 2), 2),
            (message_id(0, 3), 2),
            (message_id(0, 5), 2),
            (message_id(1, 3), 4),
        ];
        assert_eq!(out, want);
        assert!(theirs.lacks_any_of(&mine.digest()));
        assert!(!mine.lacks_any_of(&theirs.digest()));
    }

    #[test]
    fn a_log_restored_from_disk_holds_the_same_messages() {
        let mut h = Holdings::new(3);
        for (o, seq, c) in [(0, 0, 1), (0, 4, 3), (2, 1, 2)] {
            h.insert(message_id(o, seq), c);
        }
        let mut back = Holdings::new(3);
        for o in 0..3 {
            back.restore(o, h.log(o));
        }
        assert_eq!(back.digest(), h.digest());
        assert_eq!(back.len(), 3);
        assert_eq!(back.chunks(message_id(0, 4)), 3);
    }
}
