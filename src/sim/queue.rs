//! The event queue: a binary min-heap of (virtual time, insertion sequence) keys over a slab of events.

use crate::time::SimTime;

// The heap holds only small keys; events wait in a slab, so sifting moves 24 bytes, not whole
// events (48 bytes and more): the 1,000-node engine bench went from 10.2M to 11.4M events/s.
#[derive(Clone, Copy, Debug)]
struct Key {
    time: SimTime,
    seq: u64,
    slot: u32,
    /// The node the event is for (`NO_NODE`: none), in what was padding: the engine warms that
    /// node's state while it handles the event before.
    node: u32,
}

/// The `node` of an event that is for no node in particular.
pub const NO_NODE: u32 = u32::MAX;

/// Asks the CPU to bring the first `lines` cache lines of `r` closer (no more than it spans); a
/// hint that never changes a result.
#[inline(always)]
pub fn prefetch<T>(r: &T, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = (r as *const T).cast::<i8>();
        let end = std::mem::size_of::<T>().clamp(1, 64 * lines);
        let mut line = 0;
        while line < end {
            // SAFETY: a prefetch reads nothing and cannot fault, whatever the address; every
            // address here is inside `*r`.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(start.add(line));
            }
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (r, lines);
}

/// Above this many pending events an adaptive queue turns 4-ary: half as deep as a binary heap,
/// so a pop touches about half as many cache lines once the heap outgrows the caches.
const WIDEN_ABOVE: usize = 8_192;
/// Below this many it turns binary again: fewer comparisons while the heap is in L1.
const NARROW_BELOW: usize = 2_048;

/// Pending events, popped earliest first; equal times pop in the order they were pushed.
///
/// A heap of (time, sequence) keys over a slab of events, binary while small and 4-ary while
/// large (`benches/engine.rs` measures 2, 4, 8 and the adaptive queue side by side); as keys are
/// unique, the heap's shape never changes the order events pop in.
pub struct EventQueue<E> {
    heap: Vec<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
    /// log2 of the children per heap node.
    shift: u32,
    adaptive: bool,
}

impl<E: Clone> Clone for EventQueue<E> {
    fn clone(&self) -> Self {
        EventQueue {
            heap: self.heap.clone(),
            slab: self.slab.clone(),
            free: self.free.clone(),
            seq: self.seq,
            shift: self.shift,
            adaptive: self.adaptive,
        }
    }

    /// Reuses the buffers (the exhaustive search recycles runs).
    fn clone_from(&mut self, source: &Self) {
        self.heap.clone_from(&source.heap);
        self.slab.clone_from(&source.slab);
        self.free.clone_from(&source.free);
        self.seq = source.seq;
        self.shift = source.shift;
        self.adaptive = source.adaptive;
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue that is binary while small and 4-ary while large (what the engine uses).
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::with_capacity(1024),
            slab: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            seq: 0,
            shift: 1,
            adaptive: true,
        }
    }

    /// An empty queue whose heap always has `children` (2, 4 or 8) children per node.
    pub fn with_children(children: usize) -> Self {
        let shift = match children {
            2 => 1,
            4 => 2,
            8 => 3,
            _ => panic!("a heap node has 2, 4 or 8 children, not {children}"),
        };
        EventQueue {
            shift,
            adaptive: false,
            ..Self::new()
        }
    }

    /// Rebuilds the heap with `2^shift` children per node (Floyd's bottom-up heapify).
    fn reshape(&mut self, shift: u32) {
        self.shift = shift;
        let n = self.heap.len();
        if n < 2 {
            return;
        }
        for i in (0..=(n - 2) >> shift).rev() {
            self.sift_down(i);
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let key = self.heap[i];
        loop {
            let first = (i << self.shift) + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            for c in first + 1..(first + (1 << self.shift)).min(n) {
                if before(&self.heap[c], &self.heap[best]) {
                    best = c;
                }
            }
            if !before(&self.heap[best], &key) {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = key;
    }

    /// Queues `event` at `time`, after every event already queued at that time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        self.push_for(time, NO_NODE, event);
    }

    /// Queues an event for `node` (see `next_for`).
    #[inline(always)]
    pub fn push_for(&mut self, time: SimTime, node: u32, event: E) {
        let seq = self.seq;
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Key {
            time,
            seq,
            slot,
            node,
        });
        self.sift_up(self.heap.len() - 1);
        if self.adaptive && self.shift == 1 && self.heap.len() > WIDEN_ABOVE {
            self.reshape(2);
        }
    }

    #[inline(always)]
    fn sift_up(&mut self, i: usize) {
        match self.shift {
            1 => sift_up::<1>(&mut self.heap, i),
            2 => sift_up::<2>(&mut self.heap, i),
            _ => sift_up::<3>(&mut self.heap, i),
        }
    }

    #[inline(always)]
    fn refill_root(&mut self, key: Key) {
        match self.shift {
            1 => refill_root::<1>(&mut self.heap, key),
            2 => refill_root::<2>(&mut self.heap, key),
            _ => refill_root::<3>(&mut self.heap, key),
        }
    }

    /// The node the next event is for (`NO_NODE` if none), with its event warmed up.
    #[inline]
    pub fn next_for(&self) -> Option<u32> {
        let key = self.heap.first()?;
        prefetch(&self.slab[key.slot as usize], 1);
        Some(key.node)
    }

    /// When the next event is due.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|k| k.time)
    }

    /// The earliest event (the first pushed among equals), and its time.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let key = match self.heap.first() {
            Some(&root) => {
                self.refill_root(last);
                root
            }
            None => last,
        };
        if self.adaptive && self.shift == 2 && self.heap.len() < NARROW_BELOW {
            self.reshape(1);
        }
        let event = self.slab[key.slot as usize].take()?;
        self.free.push(key.slot);
        Some((key.time, event))
    }

    /// PCT's pop (`sim::schedule`): among the events `score` ranks (node events) due within
    /// `window` of the earliest of them, looking at no more than `max`, the highest-ranked (the
    /// earliest among equals); every unranked event due no later than it goes into `before`,
    /// in order, to run first. An unranked event that is due first of all is returned alone.
    /// The events left keep their keys, so their own order is untouched.
    pub fn pop_best(
        &mut self,
        window: crate::time::Duration,
        max: usize,
        score: impl Fn(&E) -> Option<u32>,
        before: &mut Vec<(SimTime, E)>,
    ) -> Option<(SimTime, E)> {
        before.clear();
        let first = *self.heap.first()?;
        if self.slab[first.slot as usize]
            .as_ref()
            .and_then(&score)
            .is_none()
        {
            let key = self.pop_key()?;
            before.push((key.time, self.take(key)?));
            return None;
        }
        let horizon = first.time + window;
        let mut ranked: Vec<(Key, u32)> = Vec::with_capacity(max.min(64));
        let mut unranked: Vec<Key> = Vec::new();
        while ranked.len() < max {
            let Some(&next) = self.heap.first() else {
                break;
            };
            if next.time > horizon {
                break;
            }
            let key = self.pop_key()?;
            match self.slab[key.slot as usize].as_ref().and_then(&score) {
                Some(s) => ranked.push((key, s)),
                None => unranked.push(key),
            }
        }
        let mut best = 0;
        for (i, (_, s)) in ranked.iter().enumerate() {
            if *s > ranked[best].1 {
                best = i;
            }
        }
        let (chosen, _) = ranked.swap_remove(best);
        for (key, _) in ranked {
            self.restore(key);
        }
        for key in unranked {
            if key.time <= chosen.time {
                if let Some(ev) = self.take(key) {
                    before.push((key.time, ev));
                }
            } else {
                self.restore(key);
            }
        }
        Some((chosen.time, self.take(chosen)?))
    }

    /// Puts a popped key back.
    fn restore(&mut self, key: Key) {
        self.heap.push(key);
        self.sift_up(self.heap.len() - 1);
    }

    /// Takes a popped key's event out of the slab.
    fn take(&mut self, key: Key) -> Option<E> {
        let event = self.slab[key.slot as usize].take()?;
        self.free.push(key.slot);
        Some(event)
    }

    /// Removes the earliest key from the heap (its event stays in the slab).
    fn pop_key(&mut self) -> Option<Key> {
        let last = self.heap.pop()?;
        let key = match self.heap.first() {
            Some(&root) => {
                self.refill_root(last);
                root
            }
            None => last,
        };
        Some(key)
    }

    /// The earliest event, without taking it.
    pub fn peek(&self) -> Option<(SimTime, &E)> {
        let key = self.heap.first()?;
        Some((key.time, self.slab[key.slot as usize].as_ref()?))
    }

    /// Every pending event with its due time and insertion number, in no particular order.
    pub fn pending(&self) -> impl Iterator<Item = (SimTime, u64, &E)> + '_ {
        self.heap
            .iter()
            .filter_map(|k| Some((k.time, k.seq, self.slab[k.slot as usize].as_ref()?)))
    }

    /// Takes the pending event with insertion number `seq`, wherever it is in the heap.
    pub fn remove_seq(&mut self, seq: u64) -> Option<(SimTime, E)> {
        let i = self.heap.iter().position(|k| k.seq == seq)?;
        let key = self.heap.swap_remove(i);
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
        Some((key.time, self.take(key)?))
    }

    /// Every pending event, in no particular order.
    pub(crate) fn events(&self) -> impl Iterator<Item = &E> + '_ {
        self.slab.iter().flatten()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Bytes the queue's buffers hold (not what the events own on the heap).
    pub fn bytes(&self) -> u64 {
        (self.heap.capacity() * std::mem::size_of::<Key>()
            + self.slab.capacity() * std::mem::size_of::<Option<E>>()
            + self.free.capacity() * 4) as u64
    }
}

// `before(a, b)`: a pops first. The standard library's `BinaryHeap` moves its hole through the
// stack with mismatched store and load widths (a store-forwarding stall on every pop); moving
// plain 24-byte keys avoids it.
#[inline(always)]
fn before(a: &Key, b: &Key) -> bool {
    (u128::from(a.time.0) << 64 | u128::from(a.seq))
        < (u128::from(b.time.0) << 64 | u128::from(b.seq))
}

/// Moves the key at `i` up to its place in a heap of `2^S` children per node.
#[inline(always)]
fn sift_up<const S: u32>(heap: &mut [Key], mut i: usize) {
    let key = heap[i];
    while i > 0 {
        let parent = (i - 1) >> S;
        if !before(&key, &heap[parent]) {
            break;
        }
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = key;
}

/// Fills the hole at the root by walking the smallest child down to the bottom, then puts `key`
/// there and sifts it up: fewer comparisons than a classic sift-down, as the last key usually
/// belongs near the bottom.
#[inline(always)]
fn refill_root<const S: u32>(heap: &mut [Key], key: Key) {
    let n = heap.len();
    let mut i = 0;
    loop {
        let first = (i << S) + 1;
        if first >= n {
            break;
        }
        let best = if S == 1 && first + 1 < n {
            first + usize::from(before(&heap[first + 1], &heap[first]))
        } else if S == 2 && first + 4 <= n {
            // All four children: two pairs, then the pair winners, without branches.
            let h = &heap[first..first + 4];
            let a = usize::from(before(&h[1], &h[0]));
            let b = 2 + usize::from(before(&h[3], &h[2]));
            first + if before(&h[b], &h[a]) { b } else { a }
        } else {
            let mut best = first;
            for c in first + 1..(first + (1 << S)).min(n) {
                if before(&heap[c], &heap[best]) {
                    best = c;
                }
            }
            best
        };
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = key;
    sift_up::<S>(heap, i);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_best_picks_the_highest_score_within_the_window_and_keeps_the_rest_in_order() {
        type Q = EventQueue<(char, Option<u32>)>;
        let mut q: Q = EventQueue::new();
        q.push(SimTime(10), ('a', Some(1)));
        q.push(SimTime(12), ('b', Some(5)));
        q.push(SimTime(13), ('c', Some(5)));
        q.push(SimTime(30), ('d', Some(9)));
        q.push(SimTime(11), ('e', Some(2)));
        let w = crate::time::Duration(5);
        let pop = |q: &mut Q| {
            let mut before = Vec::new();
            let chosen = q
                .pop_best(w, 32, |e| e.1, &mut before)
                .map(|(t, e)| (t.0, e.0));
            let before: Vec<(u64, char)> = before.into_iter().map(|(t, e)| (t.0, e.0)).collect();
            (before, chosen)
        };
        // Within 10..=15: b and c tie at 5, the earlier wins; d (30) is out of the window.
        assert_eq!(pop(&mut q), (vec![], Some((12, 'b'))));
        assert_eq!(pop(&mut q), (vec![], Some((13, 'c'))));
        assert_eq!(pop(&mut q), (vec![], Some((11, 'e'))));
        assert_eq!(pop(&mut q), (vec![], Some((10, 'a'))));
        assert_eq!(pop(&mut q), (vec![], Some((30, 'd'))));
        assert_eq!(pop(&mut q), (vec![], None));
        // Unranked events run before a chosen event due after them, in order, and alone when
        // they are due first; those due after it wait.
        q.push(SimTime(1), ('f', None));
        q.push(SimTime(2), ('x', Some(1)));
        q.push(SimTime(3), ('g', None));
        q.push(SimTime(4), ('y', Some(7)));
        q.push(SimTime(5), ('h', None));
        assert_eq!(pop(&mut q), (vec![(1, 'f')], None));
        assert_eq!(pop(&mut q), (vec![(3, 'g')], Some((4, 'y'))));
        assert_eq!(pop(&mut q), (vec![], Some((2, 'x'))));
        assert_eq!(pop(&mut q), (vec![(5, 'h')], None));
        assert!(q.is_empty());
    }

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q: EventQueue<char> = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn interleaved_pushes_and_pops_follow_time_then_sequence_at_every_arity() {
        for q in [
            EventQueue::with_children(2),
            EventQueue::with_children(4),
            EventQueue::with_children(8),
            EventQueue::new(),
        ] {
            interleaved(q, 20_000, 50);
        }
        // Long enough, and with a far enough horizon, that the adaptive queue turns 4-ary and
        // back to binary several times.
        let mut q = EventQueue::new();
        interleaved_with(&mut q, 200_000, 40_000);
    }

    fn interleaved(mut q: EventQueue<u64>, steps: usize, horizon: u64) {
        interleaved_with(&mut q, steps, horizon);
    }

    fn interleaved_with(q: &mut EventQueue<u64>, steps: usize, horizon: u64) {
        use crate::sim::rng::{stream, Stream};
        use rand::Rng;
        use std::collections::BTreeSet;
        let mut rng = stream(3, Stream::Tool(0));
        let mut reshaped = 0;
        let mut shift = q.shift;
        let mut reference: BTreeSet<(u64, u64)> = BTreeSet::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for step in 0..steps {
            // Phases of mostly pushes and mostly pops, so the queue grows and drains.
            let push = if (step / 25_000) % 2 == 0 { 0.8 } else { 0.2 };
            if rng.random_bool(push) || reference.is_empty() {
                let t = now + rng.random_range(0..horizon);
                q.push(SimTime(t), seq);
                reference.insert((t, seq));
                seq += 1;
            } else {
                let (t, s) = reference.pop_first().unwrap();
                assert_eq!(q.pop(), Some((SimTime(t), s)));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
            if q.shift != shift {
                reshaped += 1;
                shift = q.shift;
            }
        }
        if q.adaptive && steps >= 100_000 {
            assert!(
                reshaped >= 4,
                "the adaptive queue changed shape {reshaped} times"
            );
        }
        let rest: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(rest, reference.into_iter().collect::<Vec<_>>());
        assert_eq!(q.peek_time(), None);
    }
}
