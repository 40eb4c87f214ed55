//! A calendar queue of keys (Brown 1988), for many pending events: virtual time is cut into
//! buckets of one power-of-two width, the keys of the bucket being taken out are sorted once
//! and popped from the end, the next buckets' keys wait unsorted in a ring, and keys past the
//! ring in a heap of their own. A push is one append; a pop is one `Vec::pop`, plus a share of
//! sorting a bucket's keys (a few, tens at most) instead of a sift through every pending one.

use super::{refill_root, sift_down_by, Key};

/// Keys a bucket holds on average, by the width chosen when the queue is tuned: few while all
/// the buckets' tails fit in the first cache levels (a short sort per bucket), then 32 (a push
/// that misses the cache costs more than sorting a few more keys).
fn per_bucket(keys: u64) -> u64 {
    (keys >> 8).clamp(4, 32)
}
/// The fewest buckets in the ring (one word of the occupancy bitmap).
const MIN_RING: usize = 64;
/// The most buckets in the ring.
const MAX_RING: usize = 1 << 20;

/// Keys in time buckets: `near` (sorted, latest first) holds the keys bucket `cur` had when
/// it became current and `late` (a binary heap) those pushed since into it or an earlier one
/// (a key put back into the past), `ring[b % ring.len()]` the keys of bucket `b` for
/// `cur < b < cur + ring.len()`, and `far` (a binary heap) the rest, which are all later. So
/// the earliest key is `near`'s last or `late`'s root once either holds one.
#[derive(Clone, Debug, Default)]
pub(super) struct Calendar {
    near: Vec<Key>,
    late: Vec<Key>,
    ring: Vec<Vec<Key>>,
    /// Bit `i`: `ring[i]` is not empty.
    occupied: Vec<u64>,
    far: Vec<Key>,
    /// log2 of a bucket's width in nanoseconds.
    shift: u32,
    /// The bucket `near` and `late` hold.
    cur: u64,
    /// Keys in the ring.
    ringed: usize,
    /// Keys held.
    pub(super) len: usize,
    /// `len` when the width was last chosen: a queue that doubles or halves is tuned again.
    tuned_at: usize,
    /// Keys taken out since the width was chosen.
    since_tune: usize,
}

impl Calendar {
    /// The bucket of a key.
    #[inline(always)]
    fn bucket(&self, key: &Key) -> u64 {
        key.time.0 >> self.shift
    }

    /// Adds a key.
    #[inline(always)]
    pub(super) fn push(&mut self, key: Key) {
        self.len += 1;
        self.place(key);
        if self.len > 2 * self.tuned_at {
            self.retune();
        }
    }

    /// Puts a key where its bucket belongs.
    #[inline(always)]
    fn place(&mut self, key: Key) {
        let b = self.bucket(&key);
        if b <= self.cur {
            super::push_up::<1>(&mut self.late, key);
        } else if b - self.cur < self.ring.len() as u64 {
            let i = (b as usize) & (self.ring.len() - 1);
            self.ring[i].push(key);
            self.occupied[i >> 6] |= 1 << (i & 63);
            self.ringed += 1;
        } else {
            super::push_up::<1>(&mut self.far, key);
        }
    }

    /// Takes every key of `keys` in (it is left empty), choosing the width for them.
    pub(super) fn fill(&mut self, keys: &mut Vec<Key>) {
        self.drain_into(keys);
        let n = keys.len();
        let lo = keys.iter().map(|k| k.time.0).min().unwrap_or(0);
        // The width comes from how densely the earliest nine tenths lie: a few keys far out (a
        // nemesis stop an hour away) wait in the far heap instead of widening every bucket.
        let (span, counted) = if n == 0 {
            (0, 1)
        } else {
            let q = (n - 1) * 9 / 10;
            let (_, nth, _) = keys.select_nth_unstable_by_key(q, |k| k.time.0);
            (nth.time.0 - lo, q as u64 + 1)
        };
        let width = (span / counted).saturating_mul(per_bucket(n as u64)).max(1);
        self.shift = 63 - width.leading_zeros();
        let buckets = (span >> self.shift) as usize + 2;
        let ring = (2 * buckets).next_power_of_two().clamp(MIN_RING, MAX_RING);
        if self.ring.len() != ring {
            self.ring = (0..ring).map(|_| Vec::new()).collect();
            self.occupied = vec![0; ring / 64];
        }
        self.cur = lo >> self.shift;
        self.len = n;
        self.tuned_at = n.max(MIN_RING);
        self.since_tune = 0;
        for key in keys.drain(..) {
            self.place(key);
        }
        std::mem::swap(&mut self.near, &mut self.late);
        sort_latest_first(&mut self.near);
    }

    /// Chooses the width again for the keys held now.
    #[cold]
    fn retune(&mut self) {
        let mut keys = Vec::with_capacity(self.len);
        self.fill(&mut keys);
    }

    /// Moves every key into `out`, in no particular order.
    pub(super) fn drain_into(&mut self, out: &mut Vec<Key>) {
        out.append(&mut self.near);
        out.append(&mut self.late);
        if self.ringed > 0 {
            for bucket in &mut self.ring {
                out.append(bucket);
            }
        }
        self.occupied.iter_mut().for_each(|w| *w = 0);
        out.append(&mut self.far);
        self.ringed = 0;
        self.len = 0;
    }

    /// The first occupied ring bucket after `cur`, as a bucket number.
    #[inline]
    fn next_ringed(&self) -> Option<u64> {
        if self.ringed == 0 {
            return None;
        }
        let mask = self.ring.len() - 1;
        let start = (self.cur as usize + 1) & mask;
        let words = self.occupied.len();
        let (w0, b0) = (start >> 6, start & 63);
        // The start word from its start bit, the other words in ring order, then the start
        // word's bits below its start bit (the ring's last buckets).
        let first = self.occupied[w0] & (u64::MAX << b0);
        let found = if first != 0 {
            Some((w0 << 6) + first.trailing_zeros() as usize)
        } else {
            (1..=words).find_map(|k| {
                let w = (w0 + k) % words;
                let mut bits = self.occupied[w];
                if k == words {
                    bits &= !(u64::MAX << b0);
                }
                (bits != 0).then(|| (w << 6) + bits.trailing_zeros() as usize)
            })
        }?;
        let ahead = (found.wrapping_sub(start) & mask) as u64;
        Some(self.cur + 1 + ahead)
    }

    /// Makes `near` or `late` hold the earliest key, if any is held and they hold none.
    #[inline(always)]
    fn prepare(&mut self) {
        if self.near.is_empty() && self.late.is_empty() && self.len > 0 {
            self.advance();
        }
    }

    /// Moves on to the next bucket with keys: its ring keys become `near`, and the far keys
    /// the ring now reaches move into it.
    #[inline(never)]
    fn advance(&mut self) {
        let ringed = self.next_ringed();
        let far = self.far.first().map(|k| self.bucket(k));
        let Some(next) = [ringed, far].into_iter().flatten().min() else {
            return;
        };
        self.cur = next;
        if ringed == Some(next) {
            let i = (next as usize) & (self.ring.len() - 1);
            std::mem::swap(&mut self.near, &mut self.ring[i]);
            self.occupied[i >> 6] &= !(1 << (i & 63));
            self.ringed -= self.near.len();
            sort_latest_first(&mut self.near);
        }
        let reach = self.cur.saturating_add(self.ring.len() as u64);
        while let Some(&k) = self.far.first() {
            if self.bucket(&k) >= reach {
                break;
            }
            pop_heap(&mut self.far);
            self.place(k);
        }
        // Times that have spread out since the width was chosen (a cluster whose first events
        // all came at once) leave many keys in the far heap: choose again, no more often than
        // once per `len / 2` pops (amortized O(1)); it leaves at most a tenth there.
        if self.since_tune >= self.len / 2 && self.far.len() * 4 > self.len {
            self.retune();
        }
    }

    /// The earliest key, left in place.
    #[inline(always)]
    pub(super) fn first(&mut self) -> Option<Key> {
        self.prepare();
        self.earliest().copied()
    }

    /// The earlier of `near`'s last key and `late`'s root.
    #[inline(always)]
    fn earliest(&self) -> Option<&Key> {
        match (self.near.last(), self.late.first()) {
            (Some(n), Some(l)) => Some(if super::before(l, n) { l } else { n }),
            (n, l) => n.or(l),
        }
    }

    /// Takes the earliest key out.
    #[inline(always)]
    pub(super) fn pop(&mut self) -> Option<Key> {
        self.prepare();
        let key = match (self.near.last(), self.late.first()) {
            (Some(n), Some(l)) if super::before(l, n) => pop_heap(&mut self.late)?,
            (Some(_), _) => self.near.pop()?,
            _ => pop_heap(&mut self.late)?,
        };
        self.len -= 1;
        self.since_tune += 1;
        if self.len < self.tuned_at / 2 && self.tuned_at > MIN_RING {
            self.retune();
        }
        Some(key)
    }

    /// The earliest key if that is cheap to tell without moving any (a prefetch hint).
    #[inline(always)]
    pub(super) fn next_hint(&self) -> Option<&Key> {
        self.earliest()
    }

    /// The key likely to be taken out after the earliest (a prefetch hint).
    #[inline(always)]
    pub(super) fn after_next(&self) -> Option<&Key> {
        self.near.len().checked_sub(2).map(|i| &self.near[i])
    }

    /// Every key, in no particular order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> + '_ {
        self.near
            .iter()
            .chain(self.late.iter())
            .chain(self.ring.iter().flatten())
            .chain(self.far.iter())
    }

    /// Takes out the key with sequence `seq`, wherever it is.
    pub(super) fn remove_seq(&mut self, seq: u64) -> Option<Key> {
        let key = if let Some(p) = self.near.iter().position(|k| k.seq == seq) {
            self.near.remove(p)
        } else if let Some(key) = remove_from_heap(&mut self.late, seq) {
            key
        } else if let Some(key) = remove_from_heap(&mut self.far, seq) {
            key
        } else {
            let (i, p) = self
                .ring
                .iter()
                .enumerate()
                .find_map(|(i, b)| Some((i, b.iter().position(|k| k.seq == seq)?)))?;
            let key = self.ring[i].swap_remove(p);
            if self.ring[i].is_empty() {
                self.occupied[i >> 6] &= !(1 << (i & 63));
            }
            self.ringed -= 1;
            key
        };
        self.len -= 1;
        Some(key)
    }

    /// Bytes the buffers hold.
    pub(super) fn bytes(&self) -> usize {
        let keys: usize = self.near.capacity()
            + self.late.capacity()
            + self.far.capacity()
            + self.ring.iter().map(Vec::capacity).sum::<usize>();
        keys * std::mem::size_of::<Key>()
            + self.ring.capacity() * std::mem::size_of::<Vec<Key>>()
            + self.occupied.capacity() * 8
    }
}

/// Sorts keys so the earliest is last (a bucket popped from its end): an insertion sort of
/// whole keys for a bucket's few (the library's sort cost four times as much on six), the
/// library's sort for a crowd (every first event of a large cluster, due at once).
#[inline]
fn sort_latest_first(keys: &mut [Key]) {
    if keys.len() > 32 {
        keys.sort_unstable_by_key(|k| {
            std::cmp::Reverse(u128::from(k.time.0) << 64 | u128::from(k.seq))
        });
        return;
    }
    for i in 1..keys.len() {
        let key = keys[i];
        let mut j = i;
        while j > 0 && super::before(&keys[j - 1], &key) {
            keys[j] = keys[j - 1];
            j -= 1;
        }
        keys[j] = key;
    }
}

/// Takes the root out of a binary heap.
#[inline(always)]
fn pop_heap(heap: &mut Vec<Key>) -> Option<Key> {
    let last = heap.pop()?;
    Some(match heap.first() {
        Some(&root) => {
            refill_root::<1>(heap, last);
            root
        }
        None => last,
    })
}

/// Takes the key with sequence `seq` out of a binary heap, if it is there.
fn remove_from_heap(heap: &mut Vec<Key>, seq: u64) -> Option<Key> {
    let i = heap.iter().position(|k| k.seq == seq)?;
    let key = heap.swap_remove(i);
    if i < heap.len() {
        sift_down_by::<1>(heap, i);
        super::sift_up::<1>(heap, i);
    }
    Some(key)
}
