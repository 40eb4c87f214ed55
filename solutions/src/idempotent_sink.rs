//! Reference solution of `idempotent-sink`: deduplicate by task id, durably, before acknowledging.

use clustersim::history::Op;
use clustersim::node::NodeId;
use clustersim_exercises::idempotent_sink::{Ctx, Functions, Msg, Sink};

// ANCHOR: solution
/// Applies a task the first time it is seen, remembers that on disk, and acknowledges always.
pub fn on_deliver(sink: &mut Sink, ctx: &mut Ctx<'_>, from: NodeId, task: u64) {
    if sink.seen.insert(task) {
        ctx.event(Op::Effect { task });
        // The effect and the record of it must survive together: sync before the ack goes out.
        ctx.storage().put(format!("seen/{task}"), task);
        ctx.storage().sync();
    }
    ctx.send(from, Msg::Ack { task });
}
// ANCHOR_END: solution

/// These functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions { on_deliver };
