//! Reference solution of `durable-counter`: sync before acknowledging.

use clustersim_exercises::durable_counter::{Ctx, Functions, Server};

// ANCHOR: solution
/// Adds one, makes it durable, and only then returns the value that acknowledges it.
pub fn increment(server: &mut Server, ctx: &mut Ctx<'_>) -> u64 {
    server.count += 1;
    ctx.storage().put("count", server.count);
    ctx.storage().sync();
    server.count
}
// ANCHOR_END: solution

/// These functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions { increment };
