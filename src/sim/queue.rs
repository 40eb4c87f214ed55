//! The event queue: (virtual time, insertion sequence) keys over a slab of events, in a binary
//! min-heap while few are pending and a calendar queue on virtual time while many are.

use crate::time::SimTime;

mod calendar;
use calendar::Calendar;

// The heap holds only small keys; events wait in a slab, so sifting moves 24 bytes, not whole
// events (48 bytes and more): the 1,000-node engine bench went from 10.2M to 11.4M events/s.
#[derive(Clone, Copy, Debug)]
struct Key {
    time: SimTime,
    seq: u64,
    /// The event's slot (low half) and the node it is for (high half; `NO_NODE`: none), in
    /// one word: written as two halves and read back whole, a key's copy stalled the CPU's
    /// store forwarding on every push. The engine warms that node's state while it handles
    /// the event before.
    ids: u64,
}

impl Key {
    /// The event's slot in the slab.
    #[inline(always)]
    fn slot(&self) -> u32 {
        self.ids as u32
    }

    /// The node the event is for.
    #[inline(always)]
    fn node(&self) -> u32 {
        (self.ids >> 32) as u32
    }
}

/// The `node` of an event that is for no node in particular.
pub const NO_NODE: u32 = u32::MAX;

/// Asks the CPU to bring the first `lines` cache lines of `items` closer (no more than they
/// span); a hint that never changes a result.
#[inline(always)]
pub fn prefetch_slice<T>(items: &[T], lines: usize) {
    let Some(first) = items.first() else {
        return;
    };
    let bytes = std::mem::size_of_val(items);
    let lines = bytes.div_ceil(64).min(lines);
    #[cfg(target_arch = "x86_64")]
    {
        let start = (first as *const T).cast::<i8>();
        for line in 0..lines {
            // SAFETY: a prefetch reads nothing and cannot fault, whatever the address; every
            // address here is inside `items`.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(start.add(line * 64));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = lines;
}

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

/// Above this many pending events an adaptive queue turns into a calendar queue: a push is an
/// append and a pop sifts through one bucket's keys, not a heap of all of them.
const WIDEN_ABOVE: usize = 256;
/// Below this many it turns binary again: a short heap costs less than moving between buckets.
const NARROW_BELOW: usize = 64;

/// How the keys are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A heap with `2^shift` children per node.
    Heap(u32),
    /// A calendar queue (`Calendar`).
    Calendar,
}

/// Pending events, popped earliest first; equal times pop in the order they were pushed.
///
/// (time, sequence) keys over a slab of events: a binary heap while small, a calendar queue on
/// virtual time while large (`benches/engine.rs` measures the 2-, 4- and 8-ary heaps, the
/// calendar queue and the adaptive queue side by side); as keys are unique and every shape pops
/// them in key order, the shape never changes the order events pop in.
pub struct EventQueue<E> {
    heap: Vec<Key>,
    calendar: Calendar,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
    shape: Shape,
    adaptive: bool,
    /// The heap's root is an event already taken (`pop_held`): the next push takes its place
    /// with one sift instead of a pop and a push; `settle` removes it if none comes.
    hole: bool,
}

impl<E: Clone> Clone for EventQueue<E> {
    fn clone(&self) -> Self {
        EventQueue {
            heap: self.heap.clone(),
            calendar: self.calendar.clone(),
            slab: self.slab.clone(),
            free: self.free.clone(),
            seq: self.seq,
            shape: self.shape,
            adaptive: self.adaptive,
            hole: self.hole,
        }
    }

    /// Reuses the buffers (the exhaustive search recycles runs).
    fn clone_from(&mut self, source: &Self) {
        self.heap.clone_from(&source.heap);
        if source.shape == Shape::Calendar || self.shape == Shape::Calendar {
            self.calendar.clone_from(&source.calendar);
        }
        self.slab.clone_from(&source.slab);
        self.free.clone_from(&source.free);
        self.seq = source.seq;
        self.shape = source.shape;
        self.adaptive = source.adaptive;
        self.hole = source.hole;
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue that is a binary heap while small and a calendar queue while large (what
    /// the engine uses).
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::with_capacity(1024),
            calendar: Calendar::default(),
            slab: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            seq: 0,
            shape: Shape::Heap(1),
            adaptive: true,
            hole: false,
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
            shape: Shape::Heap(shift),
            adaptive: false,
            ..Self::new()
        }
    }

    /// An empty queue that is always a calendar queue.
    pub fn calendar() -> Self {
        let mut q = EventQueue {
            adaptive: false,
            ..Self::new()
        };
        q.calendar.fill(&mut q.heap);
        q.shape = Shape::Calendar;
        q
    }

    /// Moves every key from the heap into the calendar queue.
    fn widen(&mut self) {
        self.calendar.fill(&mut self.heap);
        self.shape = Shape::Calendar;
    }

    /// Moves every key from the calendar queue into a binary heap.
    fn narrow(&mut self) {
        self.calendar.drain_into(&mut self.heap);
        self.heapify(1);
    }

    /// Rebuilds the heap with `2^shift` children per node (Floyd's bottom-up heapify).
    fn heapify(&mut self, shift: u32) {
        self.shape = Shape::Heap(shift);
        let n = self.heap.len();
        if n < 2 {
            return;
        }
        for i in (0..=(n - 2) >> shift).rev() {
            sift_down(&mut self.heap, shift, i);
        }
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
        if self.hole {
            // The held root's place and its slot: one sift from the top, the heap's size
            // unchanged, the free list untouched.
            self.hole = false;
            let slot = self.heap[0].slot();
            self.slab[slot as usize] = Some(event);
            let key = Key {
                time,
                seq,
                ids: u64::from(slot) | u64::from(node) << 32,
            };
            match self.shape {
                Shape::Heap(shift) => self.refill_root(shift, key),
                Shape::Calendar => self.calendar.push(key),
            }
            return;
        }
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
        let key = Key {
            time,
            seq,
            ids: u64::from(slot) | u64::from(node) << 32,
        };
        match self.shape {
            Shape::Calendar => self.calendar.push(key),
            Shape::Heap(shift) => {
                match shift {
                    1 => push_up::<1>(&mut self.heap, key),
                    2 => push_up::<2>(&mut self.heap, key),
                    _ => push_up::<3>(&mut self.heap, key),
                }
                if self.adaptive && self.heap.len() > WIDEN_ABOVE {
                    self.widen();
                }
            }
        }
    }

    #[inline(always)]
    fn sift_up(&mut self, shift: u32, i: usize) {
        match shift {
            1 => sift_up::<1>(&mut self.heap, i),
            2 => sift_up::<2>(&mut self.heap, i),
            _ => sift_up::<3>(&mut self.heap, i),
        }
    }

    #[inline(always)]
    fn refill_root(&mut self, shift: u32, key: Key) {
        match shift {
            1 => refill_root::<1>(&mut self.heap, key),
            2 => refill_root::<2>(&mut self.heap, key),
            _ => refill_root::<3>(&mut self.heap, key),
        }
    }

    /// The node the next event is for (`NO_NODE` if none), with its event warmed up; `None`
    /// also when finding it would cost more than the hint saves.
    #[inline]
    pub fn next_for(&self) -> Option<u32> {
        let key = match self.shape {
            Shape::Heap(shift) if self.hole => {
                let children = self
                    .heap
                    .get(1..(1 << shift) + 1)
                    .unwrap_or(&self.heap[1..]);
                children
                    .iter()
                    .reduce(|a, b| if before(b, a) { b } else { a })?
            }
            Shape::Heap(_) => self.heap.first()?,
            Shape::Calendar => {
                // The one after it too: one handler's time is not always enough to bring an
                // event in from memory.
                if let Some(after) = self.calendar.after_next() {
                    prefetch(&self.slab[after.slot() as usize], 1);
                }
                self.calendar.next_hint()?
            }
        };
        prefetch(&self.slab[key.slot() as usize], 1);
        Some(key.node())
    }

    /// The earliest key, left in place.
    #[inline(always)]
    fn first_key(&mut self) -> Option<Key> {
        self.settle();
        match self.shape {
            Shape::Heap(_) => self.heap.first().copied(),
            Shape::Calendar => self.calendar.first(),
        }
    }

    /// When the next event is due.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.first_key().map(|k| k.time)
    }

    /// The earliest event (the first pushed among equals), and its time.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let key = self.pop_key()?;
        let event = self.slab[key.slot() as usize].take()?;
        self.free.push(key.slot());
        Some((key.time, event))
    }

    /// `pop`, for a caller that is about to push: the earliest key stays at the heap's root
    /// until the next push takes its place (one sift instead of two) or `settle` removes it.
    /// Every other method sees the queue as after a `pop`. The due time goes to `at`: an
    /// event moved out as it lies in the slab is two aligned copies, where a (time, event)
    /// pair was copied through overlapping stores that stalled the next read of it.
    #[inline(always)]
    pub fn pop_held(&mut self, at: &mut SimTime) -> Option<E> {
        self.settle();
        if let Shape::Calendar = self.shape {
            let key = self.pop_key()?;
            *at = key.time;
            return self.take(key);
        }
        // The slot stays the held root's until a push reuses it or `settle` frees it.
        let key = *self.heap.first()?;
        self.hole = true;
        *at = key.time;
        self.slab[key.slot() as usize].take()
    }

    /// Removes the root `pop_held` left, if no push has taken its place.
    #[inline(always)]
    pub fn settle(&mut self) {
        if self.hole {
            self.hole = false;
            self.free.push(self.heap[0].slot());
            if let (Shape::Heap(shift), Some(last)) = (self.shape, self.heap.pop()) {
                if !self.heap.is_empty() {
                    self.refill_root(shift, last);
                }
            }
        }
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
        let first = self.first_key()?;
        if self.slab[first.slot() as usize]
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
            let Some(next) = self.first_key() else {
                break;
            };
            if next.time > horizon {
                break;
            }
            let key = self.pop_key()?;
            match self.slab[key.slot() as usize].as_ref().and_then(&score) {
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
        match self.shape {
            Shape::Calendar => self.calendar.push(key),
            Shape::Heap(shift) => {
                self.heap.push(key);
                self.sift_up(shift, self.heap.len() - 1);
            }
        }
    }

    /// Takes a popped key's event out of the slab.
    fn take(&mut self, key: Key) -> Option<E> {
        let event = self.slab[key.slot() as usize].take()?;
        self.free.push(key.slot());
        Some(event)
    }

    /// Removes the earliest key (its event stays in the slab).
    #[inline(always)]
    fn pop_key(&mut self) -> Option<Key> {
        self.settle();
        match self.shape {
            Shape::Calendar => {
                let key = self.calendar.pop()?;
                if self.adaptive && self.calendar.len < NARROW_BELOW {
                    self.narrow();
                }
                Some(key)
            }
            Shape::Heap(shift) => {
                let last = self.heap.pop()?;
                Some(match self.heap.first() {
                    Some(&root) => {
                        self.refill_root(shift, last);
                        root
                    }
                    None => last,
                })
            }
        }
    }

    /// The earliest event with its insertion number, without taking it.
    pub fn peek_seq(&mut self) -> Option<(SimTime, u64, &E)> {
        let key = self.first_key()?;
        Some((key.time, key.seq, self.slab[key.slot() as usize].as_ref()?))
    }

    /// The earliest event, without taking it.
    pub fn peek(&mut self) -> Option<(SimTime, &E)> {
        let key = self.first_key()?;
        Some((key.time, self.slab[key.slot() as usize].as_ref()?))
    }

    /// Every key, in no particular order.
    fn keys(&self) -> Keys<std::slice::Iter<'_, Key>, impl Iterator<Item = &Key> + '_> {
        // One shape holds every key; walking only its own keeps the heap's walk a plain slice
        // loop (a chain of both cost the exhaustive search 6% of its instructions).
        match self.shape {
            Shape::Heap(_) => Keys::Heap(self.live().iter()),
            Shape::Calendar => Keys::Calendar(self.calendar.keys()),
        }
    }

    /// Every pending event with its due time and insertion number, in no particular order.
    pub fn pending(&self) -> impl Iterator<Item = (SimTime, u64, &E)> + '_ {
        self.keys()
            .filter_map(|k| Some((k.time, k.seq, self.slab[k.slot() as usize].as_ref()?)))
    }

    /// Calls `f` with every pending event, its due time and insertion number, in no particular
    /// order: `pending` for the exhaustive search's hot loops (a plain loop over the heap).
    #[inline]
    pub fn for_each_pending(&self, mut f: impl FnMut(SimTime, u64, &E)) {
        let slab = &self.slab;
        let mut each = |k: &Key| {
            if let Some(ev) = slab[k.slot() as usize].as_ref() {
                f(k.time, k.seq, ev);
            }
        };
        match self.shape {
            Shape::Heap(_) => {
                for k in self.live() {
                    each(k);
                }
            }
            Shape::Calendar => self.calendar.keys().for_each(each),
        }
    }

    /// Asks the CPU to bring the keys and events into cache (a search about to read a run
    /// that has waited in its frontier).
    pub fn warm(&self) {
        prefetch_slice(&self.heap, 8);
        prefetch_slice(&self.slab, 32);
    }

    /// Calls `f` with every pending key: due time, insertion number and slab slot (`at_slot`),
    /// in no particular order, reading no event.
    #[inline]
    pub fn for_each_key(&self, mut f: impl FnMut(SimTime, u64, u32)) {
        let mut each = |k: &Key| f(k.time, k.seq, k.slot());
        match self.shape {
            Shape::Heap(_) => self.live().iter().for_each(each),
            Shape::Calendar => self.calendar.keys().for_each(&mut each),
        }
    }

    /// The event in slab slot `slot` (as `for_each_key` names it), if one is there.
    #[inline]
    pub fn at_slot(&self, slot: u32) -> Option<&E> {
        self.slab.get(slot as usize)?.as_ref()
    }

    /// Takes the pending event with insertion number `seq`, wherever it is in the queue.
    pub fn remove_seq(&mut self, seq: u64) -> Option<(SimTime, E)> {
        self.settle();
        let key = match self.shape {
            Shape::Calendar => self.calendar.remove_seq(seq)?,
            Shape::Heap(shift) => {
                let i = self.heap.iter().position(|k| k.seq == seq)?;
                let key = self.heap.swap_remove(i);
                if i < self.heap.len() {
                    sift_down(&mut self.heap, shift, i);
                    self.sift_up(shift, i);
                }
                key
            }
        };
        Some((key.time, self.take(key)?))
    }

    /// Every pending event, in no particular order.
    pub(crate) fn events(&self) -> impl Iterator<Item = &E> + '_ {
        self.slab.iter().flatten()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.hole) + self.calendar.len
    }

    /// The heap's keys of pending events (without a held root).
    #[inline(always)]
    fn live(&self) -> &[Key] {
        &self.heap[usize::from(self.hole)..]
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the queue's buffers hold (not what the events own on the heap).
    pub fn bytes(&self) -> u64 {
        (self.heap.capacity() * std::mem::size_of::<Key>()
            + self.calendar.bytes()
            + self.slab.capacity() * std::mem::size_of::<Option<E>>()
            + self.free.capacity() * 4) as u64
    }
}

/// The keys of whichever shape a queue has.
enum Keys<H, C> {
    Heap(H),
    Calendar(C),
}

impl<'a, H, C> Iterator for Keys<H, C>
where
    H: Iterator<Item = &'a Key>,
    C: Iterator<Item = &'a Key>,
{
    type Item = &'a Key;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a Key> {
        match self {
            Keys::Heap(h) => h.next(),
            Keys::Calendar(c) => c.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Keys::Heap(h) => h.size_hint(),
            Keys::Calendar(c) => c.size_hint(),
        }
    }

    #[inline]
    fn fold<B, F: FnMut(B, &'a Key) -> B>(self, init: B, f: F) -> B {
        match self {
            Keys::Heap(h) => h.fold(init, f),
            Keys::Calendar(c) => c.fold(init, f),
        }
    }
}

/// Moves the key at `i` down to its place in a heap of `2^shift` children per node.
fn sift_down(heap: &mut [Key], shift: u32, i: usize) {
    match shift {
        1 => sift_down_by::<1>(heap, i),
        2 => sift_down_by::<2>(heap, i),
        _ => sift_down_by::<3>(heap, i),
    }
}

/// `sift_down` with `2^S` children per node.
#[inline]
fn sift_down_by<const S: u32>(heap: &mut [Key], mut i: usize) {
    let n = heap.len();
    let key = heap[i];
    loop {
        let first = (i << S) + 1;
        if first >= n {
            break;
        }
        let mut best = first;
        for c in first + 1..(first + (1 << S)).min(n) {
            if before(&heap[c], &heap[best]) {
                best = c;
            }
        }
        if !before(&heap[best], &key) {
            break;
        }
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = key;
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

/// Adds `key` to a heap of `2^S` children per node. The key stays in registers while it climbs:
/// pushing it and reading it back (as `sift_up` does) loads 16 bytes over two 8-byte stores,
/// which the CPU cannot forward (13% of the 3-node engine bench).
#[inline(always)]
fn push_up<const S: u32>(heap: &mut Vec<Key>, key: Key) {
    let i = heap.len();
    heap.push(key);
    climb::<S>(heap, i, key);
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
    climb::<S>(heap, i, key);
}

/// Puts `key` in the hole at `i` and moves it up to its place, holding it in registers (see
/// `push_up`).
#[inline(always)]
fn climb<const S: u32>(heap: &mut [Key], mut i: usize, key: Key) {
    while i > 0 {
        let parent = (i - 1) >> S;
        let above = heap[parent];
        if !before(&key, &above) {
            break;
        }
        heap[i] = above;
        i = parent;
    }
    heap[i] = key;
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
            EventQueue::calendar(),
            EventQueue::new(),
        ] {
            interleaved(q, 20_000, 50);
        }
        // Horizons that put every key in one bucket, spread them thin, and swing widely, so the
        // calendar retunes and reaches into its far heap.
        for horizon in [1, 1_000_000, 1 << 40] {
            interleaved(EventQueue::calendar(), 60_000, horizon);
        }
        // Long enough, and with a far enough horizon, that the adaptive queue turns into a
        // calendar queue and back to binary several times.
        let mut q = EventQueue::new();
        interleaved_with(&mut q, 200_000, 40_000);
    }

    #[test]
    fn every_shape_agrees_under_pushes_into_the_past_removals_and_pct_put_backs() {
        use crate::sim::rng::{stream, Stream};
        use rand::Rng;
        let mut rng = stream(5, Stream::Tool(0));
        let mut queues: Vec<EventQueue<(u64, Option<u32>)>> = vec![
            EventQueue::with_children(2),
            EventQueue::with_children(4),
            EventQueue::calendar(),
            EventQueue::new(),
        ];
        let adaptive = queues.len() - 1;
        let mut now = 0u64;
        let mut pushed = 0u64;
        let mut late = 0;
        let mut shapes = std::collections::BTreeSet::new();
        for step in 0..60_000u64 {
            let grow = (step / 15_000) % 2 == 0;
            let r: f64 = rng.random();
            if r < if grow { 0.85 } else { 0.05 } || queues[0].is_empty() {
                // Mostly ahead of the last pop, sometimes behind it (a run that went late).
                let t = if rng.random_bool(0.05) {
                    late += 1;
                    now.saturating_sub(rng.random_range(0..1_000))
                } else {
                    now + rng.random_range(0..5_000)
                };
                let score = rng.random_bool(0.8).then(|| rng.random_range(0..4));
                for q in &mut queues {
                    q.push(SimTime(t), (pushed, score));
                }
                pushed += 1;
            } else if r < 0.9 {
                let got: Vec<_> = queues.iter_mut().map(|q| q.pop()).collect();
                assert!(got.iter().all(|g| *g == got[0]), "pop {step}: {got:?}");
                if let Some((t, _)) = got[0] {
                    now = now.max(t.0);
                }
            } else if r < 0.95 {
                let seq = rng.random_range(0..pushed.max(1));
                let got: Vec<_> = queues.iter_mut().map(|q| q.remove_seq(seq)).collect();
                assert!(got.iter().all(|g| *g == got[0]), "remove {step}: {got:?}");
            } else {
                let mut firsts = Vec::new();
                for q in &mut queues {
                    let mut before = Vec::new();
                    let chosen = q.pop_best(crate::time::Duration(2_000), 16, |e| e.1, &mut before);
                    firsts.push((chosen, before));
                }
                assert!(firsts.iter().all(|f| *f == firsts[0]), "pct {step}");
            }
            let len = queues[0].len();
            assert!(queues.iter().all(|q| q.len() == len));
            shapes.insert(format!("{:?}", queues[adaptive].shape));
            if step % 97 != 0 {
                continue;
            }
            let mut pending: Vec<Vec<u64>> = queues
                .iter()
                .map(|q| {
                    let mut v: Vec<u64> = q.pending().map(|(_, s, _)| s).collect();
                    v.sort_unstable();
                    v
                })
                .collect();
            let first = pending.swap_remove(0);
            assert!(pending.iter().all(|p| *p == first));
        }
        assert!(late > 100);
        assert!(queues.iter().all(|q| q.len() == queues[0].len()));
        assert_eq!(
            shapes.len(),
            2,
            "the adaptive queue took both shapes: {shapes:?}"
        );
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
        let mut shape = q.shape;
        let mut reference: BTreeSet<(u64, u64)> = BTreeSet::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for step in 0..steps {
            // Phases of mostly pushes and mostly pops, so the queue grows and drains empty.
            let push = if (step / 25_000) % 2 == 0 { 0.8 } else { 0.1 };
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
            if q.shape != shape {
                reshaped += 1;
                shape = q.shape;
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
