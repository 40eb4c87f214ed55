//! Reference solution of `lease-queue`: lease a task instead of popping it, re-queue on expiry.

use clustersim::node::NodeId;
use clustersim_exercises::lease_queue::{Ctx, Functions, QueueServer, Timer};

// ANCHOR: solution
/// Moves the oldest ready task in flight under a lease (like `LMOVE` plus a visibility timeout).
pub fn take(server: &mut QueueServer, ctx: &mut Ctx<'_>, worker: NodeId) -> Option<u64> {
    let task = server.ready.pop_front()?;
    server.in_flight.insert(task, worker);
    ctx.set_timer(server.lease, Timer::Lease { task });
    Some(task)
}

/// The task is done: forget it for good.
pub fn on_ack(server: &mut QueueServer, _ctx: &mut Ctx<'_>, task: u64) {
    server.in_flight.remove(&task);
}

/// Nobody acknowledged the task in time: make it visible again, at the front of the queue.
pub fn on_lease_expired(server: &mut QueueServer, _ctx: &mut Ctx<'_>, task: u64) {
    if server.in_flight.remove(&task).is_some() {
        server.ready.push_front(task);
    }
}
// ANCHOR_END: solution

/// These three functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions {
    take,
    on_ack,
    on_lease_expired,
};
