//! The event queue: a binary min-heap of (virtual time, insertion sequence) keys over a slab of events.

use crate::time::SimTime;

// The heap holds only small keys; events wait in a slab, so sifting moves 24 bytes, not whole
// events (48 bytes and more): the 1,000-node engine bench went from 10.2M to 11.4M events/s.
#[derive(Clone, Copy)]
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

/// Asks the CPU to bring the cache lines of `r` closer; a hint that never changes a result.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = (r as *const T).cast::<i8>();
        let mut line = 0;
        while line < std::mem::size_of::<T>().max(1) {
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
    let _ = r;
}

/// Children per heap node the engine uses: a 4-ary heap is half as deep as a binary one, so a
/// pop at 100,000 pending events touches about half as many cache lines (`benches/engine.rs`
/// measures 2, 4 and 8 side by side).
pub const ARITY: usize = 4;

/// Pending events, popped earliest first; equal times pop in the order they were pushed. `A` is
/// the heap's number of children per node.
pub struct EventQueue<E, const A: usize = ARITY> {
    heap: Vec<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E, const A: usize> Default for EventQueue<E, A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, const A: usize> EventQueue<E, A> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::with_capacity(1024),
            slab: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            seq: 0,
        }
    }

    /// Queues `event` at `time`, after every event already queued at that time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        self.push_for(time, NO_NODE, event);
    }

    /// Queues an event for `node` (see `next_for`).
    #[inline]
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
    }

    // `before(a, b)`: a pops first. The standard library's `BinaryHeap` moves its hole through
    // the stack with mismatched store and load widths (a store-forwarding stall on every pop);
    // moving plain 24-byte keys avoids it.
    #[inline(always)]
    fn before(a: &Key, b: &Key) -> bool {
        (u128::from(a.time.0) << 64 | u128::from(a.seq))
            < (u128::from(b.time.0) << 64 | u128::from(b.seq))
    }

    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let key = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / A;
            if !Self::before(&key, &self.heap[parent]) {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = key;
    }

    /// Fills the hole at the root by walking the smaller child down to the bottom, then puts
    /// `key` there and sifts it up: fewer comparisons than a classic sift-down, as `last` keys
    /// usually belong near the bottom.
    #[inline]
    fn refill_root(&mut self, key: Key) {
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = A * i + 1;
            if first >= n {
                break;
            }
            let best = if A == 4 && first + A <= n {
                // All four children: two pairs, then the pair winners, without branches.
                let h = &self.heap[first..first + A];
                let a = usize::from(Self::before(&h[1], &h[0]));
                let b = 2 + usize::from(Self::before(&h[3], &h[2]));
                first + if Self::before(&h[b], &h[a]) { b } else { a }
            } else {
                let mut best = first;
                for c in first + 1..(first + A).min(n) {
                    if Self::before(&self.heap[c], &self.heap[best]) {
                        best = c;
                    }
                }
                best
            };
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = key;
        self.sift_up(i);
    }

    /// The node the next event is for (`NO_NODE` if none), with its event warmed up.
    #[inline]
    pub fn next_for(&self) -> Option<u32> {
        let key = self.heap.first()?;
        prefetch(&self.slab[key.slot as usize]);
        Some(key.node)
    }

    /// When the next event is due.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|k| k.time)
    }

    /// The earliest event (the first pushed among equals), and its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let key = match self.heap.first() {
            Some(&root) => {
                self.refill_root(last);
                root
            }
            None => last,
        };
        let event = self.slab[key.slot as usize].take()?;
        self.free.push(key.slot);
        Some((key.time, event))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        interleaved::<2>();
        interleaved::<3>();
        interleaved::<4>();
        interleaved::<8>();
    }

    fn interleaved<const A: usize>() {
        use crate::sim::rng::{stream, Stream};
        use rand::Rng;
        let mut rng = stream(3, Stream::Tool(0));
        let mut q: EventQueue<u64, A> = EventQueue::new();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..20_000 {
            if rng.random_bool(0.55) || reference.is_empty() {
                let t = now + rng.random_range(0..50);
                q.push(SimTime(t), seq);
                reference.push((t, seq));
                seq += 1;
            } else {
                reference.sort_unstable_by(|a, b| b.cmp(a));
                let (t, s) = reference.pop().unwrap();
                assert_eq!(q.pop(), Some((SimTime(t), s)));
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        reference.sort_unstable();
        let rest: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(rest, reference);
        assert_eq!(q.peek_time(), None);
    }
}
