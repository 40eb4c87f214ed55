//! A lease lock service tested with clustersim from outside the library: the protocol
//! (`protocol.rs`), its two checks (`checks.rs`) and the registry a binary or a test uses.
//!
//! One `lock` server grants a lease to one `client` at a time; the holder writes to a
//! `resource`. A client checks its lease, works for a while, then writes. A client paused
//! between the check and the write (a GC pause, a stalled VM) writes after its lease expired,
//! over the next holder's write. Fencing tokens (Kleppmann, "How to do distributed locking")
//! fix it: each grant carries a larger token, and the resource refuses a token older than one
//! it has seen.

pub mod checks;
pub mod protocol;

pub use checks::{AcquiresServed, MutualExclusion};
pub use protocol::{LockNode, LockParams, Msg, Timer};

use clustersim::Registry;

// ANCHOR: registry
/// The program's name, written into the replay files its shrinker produces.
pub const PROGRAM: &str = "lock-service";

/// The lock protocol and its checks, plus everything clustersim ships (`Liveness`, ...).
pub fn registry() -> Registry {
    Registry::shipped()
        .named(PROGRAM)
        .searchable::<LockParams>()
        .check::<MutualExclusion>()
        .check::<AcquiresServed>()
}
// ANCHOR_END: registry
