//! clustersim: a deterministic cluster simulator.
//!
//! One process, one thread of virtual time. A discrete-event engine runs protocol nodes
//! (plain, sans-IO Rust types) over a simulated network with latency, loss, duplication,
//! reordering, partitions, crashes, pauses and clock faults, all drawn from one seed, so that a
//! seed and a scenario replay the same run byte for byte.
//!
//! Data flows one way:
//!
//! ```text
//! scenario (RON) --load/validate--> Plan --Sim--> RunOutcome (trace + history)
//!     --checkers--> Verdicts --report--> terminal / files
//! ```
//!
//! Nothing downstream reaches back upstream: checkers read a history, never the engine.

#![warn(missing_docs)]

#[macro_use]
mod setters;

pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod debug;
pub mod describe;
pub mod error;
pub mod explore;
pub mod fault;
pub mod harness;
pub mod history;
pub mod lin;
pub mod memory;
pub mod net;
pub mod node;
pub mod output;
pub mod protocol;
pub mod protocols;
pub mod registry;
pub mod render;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod storage;
pub mod strategy;
pub mod time;
pub mod trace;
pub mod txn;

pub use error::{Error, Result};
pub use node::{Context, Node, NodeId, NodeSet};
pub use protocol::{Check, Property, Protocol};
pub use registry::Registry;
pub use time::{Duration, SimTime};

/// The `rand` clustersim is built with: use it for `ctx.rng()` so versions never mismatch.
pub use rand;

/// The `proptest` the strategies in `strategy` are built with.
pub use proptest;
