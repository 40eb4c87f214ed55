//! The protocols clustersim ships, one module (or folder) per family. Each family's params type
//! implements `protocol::Protocol`, exactly as a user's protocol does; `Registry::shipped`
//! registers them.

pub mod gossip;
pub mod kv;
#[cfg(target_os = "linux")]
pub mod maelstrom;
pub mod paxos;
pub mod ping;
pub mod queue;
pub mod raft;
pub mod shardkv;
pub mod two_phase_commit;
pub mod txn_store;

use crate::scenario::Plan;

/// Fails with a sentence naming the roles present when `role` has no nodes at the start
/// (spares do not count: they have not joined).
pub fn require_role(plan: &Plan, protocol: &str, role: &str) -> Result<(), String> {
    if plan.roster.members(role).is_empty() && !plan.roster.with_role(role).is_empty() {
        return Err(format!(
            "protocol `{protocol}` needs nodes with role `{role}` at the start, and every \
             `{role}` is a spare; make at least one a member (a group without `spare: true`)"
        ));
    }
    if plan.roster.members(role).is_empty() {
        return Err(format!(
            "protocol `{protocol}` needs nodes with role `{role}`; the scenario has roles: {}",
            plan.roster.roles().join(", ")
        ));
    }
    Ok(())
}

/// Fails with a sentence naming the first role of the scenario that is not in `roles`.
pub fn only_roles(plan: &Plan, protocol: &str, roles: &[&str]) -> Result<(), String> {
    let Some(other) = plan.roster.roles().into_iter().find(|r| !roles.contains(r)) else {
        return Ok(());
    };
    let names: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
    let list = match names.as_slice() {
        [one] => format!("role {one} only"),
        [init @ .., last] => format!("roles {} and {last}", init.join(", ")),
        [] => "no roles".to_string(),
    };
    Err(format!(
        "protocol `{protocol}` has {list}; the scenario also has role `{other}`"
    ))
}
