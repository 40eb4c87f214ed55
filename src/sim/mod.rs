//! The discrete-event engine: virtual clock, event queue, run loop, bounds and seeded streams.
//!
//! `Sim` owns the world for one run: nodes, their storage and clocks, the network and the fault
//! sources. It never reads the wall clock and never spawns threads.

pub mod capacity;
mod clock;
mod engine;
mod membership;
pub mod panics;
pub mod queue;
pub mod rng;
pub mod schedule;
mod shared;

pub use clock::NodeClock;
pub use engine::{
    Bounds, Kept, NodeStatus, Pending, PendingEvent, PendingKind, RunOutcome, Sim, SimConfig,
    Stats, StopReason,
};
pub use panics::{quiet_panics, Panic};
pub use schedule::{Scheduler, Step};
pub use shared::SharedNode;
