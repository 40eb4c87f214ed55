//! The protocols clustersim ships, one module (or folder) per family. Each family's params type
//! implements `protocol::Protocol`, exactly as a user's protocol does; `Registry::shipped`
//! registers them.

pub mod gossip;
pub mod kv;
pub mod ping;
pub mod queue;
pub mod raft;

use crate::scenario::Plan;

/// Fails with a sentence naming the roles present when `role` has no nodes.
pub fn require_role(plan: &Plan, protocol: &str, role: &str) -> Result<(), String> {
    if plan.roster.members(role).is_empty() {
        return Err(format!(
            "protocol `{protocol}` needs nodes with role `{role}`; the scenario has roles: {}",
            plan.roster.roles().join(", ")
        ));
    }
    Ok(())
}
