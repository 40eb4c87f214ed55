//! Reference solution of `sync-replication`: acknowledge a write only once the backup has it.

use clustersim::node::NodeId;
use clustersim_exercises::sync_replication::{Ctx, Functions, Msg, Primary};

// ANCHOR: solution
/// Stores `v`, copies it to the backup, and holds the client's acknowledgement back.
pub fn on_put(primary: &mut Primary, ctx: &mut Ctx<'_>, client: NodeId, v: u64) {
    primary.values.push(v);
    primary.waiting.insert(v, client);
    ctx.send(primary.backup, Msg::Replicate { v });
}

/// The backup has `v`: now the write survives losing the primary, so acknowledge it.
pub fn on_backup_ack(primary: &mut Primary, ctx: &mut Ctx<'_>, v: u64) {
    if let Some(client) = primary.waiting.remove(&v) {
        ctx.send(client, Msg::PutOk { v });
    }
}
// ANCHOR_END: solution

/// These functions, as the exercise's table.
pub const FUNCTIONS: Functions = Functions {
    on_put,
    on_backup_ack,
};
