//! Reference solution of `reliable-ping`: resend the pending request on every timeout.

use clustersim_exercises::reliable_ping::{Client, Ctx, Functions, Msg, Timer};

// ANCHOR: solution
/// Resends request `seq` and waits again, unless its reply already arrived.
pub fn on_timeout(client: &mut Client, ctx: &mut Ctx<'_>, seq: u64) {
    if client.pending.as_ref().is_some_and(|p| p.seq == seq) {
        ctx.send(client.server, Msg::Request { seq });
        ctx.set_timer(client.timeout, Timer::Timeout { seq });
    }
}
// ANCHOR_END: solution

/// These functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions { on_timeout };
