//! Reference solution of `durable-counter`: sync before acknowledging.

use crate::durable_counter::{Ctx, Server};

// ANCHOR: solution
/// Adds one, makes it durable, and only then returns the value that acknowledges it.
pub fn increment(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
    server.count += 1;
    ctx.storage().put("count", server.count);
    ctx.storage().sync();
    server.count
}
// ANCHOR_END: solution
