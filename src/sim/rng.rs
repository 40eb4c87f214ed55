//! Seeded randomness: one ChaCha stream per purpose, all derived from the run's seed.
//!
//! Streams are independent, so adding a node or a fault source does not shift any other draw.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The random generator every part of a run draws from.
pub type SimRng = ChaCha8Rng;

/// What a random stream is used for; each purpose (and each node) gets its own stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Fault schedule and random nemesis draws.
    Faults,
    /// Workload generation outside nodes (client mixes, arrival times).
    Workload,
    /// Network draws (latency, loss, duplication) for messages sent by this node.
    Network(u32),
    /// The node's own generator, reached through `Context::rng`.
    Node(u32),
    /// Streams for tools built on the engine (explorer, shrinker), keyed by a tag.
    Tool(u32),
    /// The scheduler's draws (PCT priorities and change points).
    Schedule,
    /// The node's disk fault draws (which writes a power loss keeps, failed syncs, corruption).
    Disk(u32),
    /// The node's service times (the capacity model).
    Service(u32),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Faults => 1,
            Stream::Workload => 2,
            Stream::Schedule => 3,
            Stream::Tool(t) => (1 << 32) | u64::from(t),
            Stream::Network(n) => (2 << 32) | u64::from(n),
            Stream::Node(n) => (3 << 32) | u64::from(n),
            Stream::Disk(n) => (4 << 32) | u64::from(n),
            Stream::Service(n) => (5 << 32) | u64::from(n),
        }
    }
}

/// One stream per node. A run owns its streams; a run made for copying (`Sim::into_shared`, the
/// exhaustive search) shares them with its copies until one of them draws: most steps draw from
/// none, and a copy then costs a reference count, not 300 bytes a stream.
#[derive(Clone, Debug)]
pub enum Streams {
    /// The run's own: a draw is an index, as in a plain vector.
    Own(Vec<SimRng>),
    /// Shared with copies of the run; copied on the first draw while shared.
    Shared(Arc<[SimRng]>),
}

impl Streams {
    /// Streams `purpose(0)`, `purpose(1)`, ... of `n` nodes of the run with `seed`.
    pub fn new(seed: u64, n: u32, purpose: impl Fn(u32) -> Stream) -> Self {
        Streams::Own((0..n).map(|i| stream(seed, purpose(i))).collect())
    }

    /// One stream alone (node-by-node harnesses), at index 0.
    pub fn one(rng: SimRng) -> Self {
        Streams::Own(vec![rng])
    }

    /// The same streams, shared by the copies made from here on.
    pub fn into_shared(self) -> Self {
        match self {
            // A mapped range has an exact length: one allocation, no temporary vector.
            Streams::Own(v) => Streams::Shared(v.into_iter().collect()),
            shared => shared,
        }
    }

    /// Node `i`'s stream.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&SimRng> {
        match self {
            Streams::Own(v) => v.get(i),
            Streams::Shared(s) => s.get(i),
        }
    }

    /// Node `i`'s stream to draw from, copying the streams first if a copy of the run shares
    /// them. Panics if there is no node `i`.
    #[inline(always)]
    pub fn get_mut(&mut self, i: usize) -> &mut SimRng {
        match self {
            Streams::Own(v) => &mut v[i],
            Streams::Shared(s) => &mut Arc::make_mut(s)[i],
        }
    }
}

/// Somewhere to draw random numbers from, reached only when a draw is made.
pub(crate) trait Draw {
    /// The generator to draw from now.
    fn rng(&mut self) -> &mut SimRng;
}

impl Draw for SimRng {
    #[inline(always)]
    fn rng(&mut self) -> &mut SimRng {
        self
    }
}

/// Stream `.1` of streams `.0`.
pub(crate) struct StreamOf<'a>(pub &'a mut Streams, pub usize);

impl Draw for StreamOf<'_> {
    #[inline(always)]
    fn rng(&mut self) -> &mut SimRng {
        self.0.get_mut(self.1)
    }
}

/// Creates the generator for `stream` of the run with `seed`.
pub fn stream(seed: u64, stream: Stream) -> SimRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream.id());
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: u64 = stream(7, Stream::Node(0)).random();
        let b: u64 = stream(7, Stream::Node(1)).random();
        let a2: u64 = stream(7, Stream::Node(0)).random();
        let c: u64 = stream(8, Stream::Node(0)).random();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
