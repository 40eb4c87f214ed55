//! The sink: applies each task's effect (recording an `Effect` event), optionally only once per
//! task id, and confirms to the worker.
use super::{QueueMsg, QueueNode, QueueStored};
use crate::history::Op;
use crate::node::{Context, NodeId};
use crate::storage::Storage;
use std::collections::BTreeSet;

/// Where task effects land; with `idempotent` it remembers (durably) which ids it applied.
#[derive(Clone, Debug, Hash)]
pub struct Sink {
    idempotent: bool,
    applied: BTreeSet<u64>,
}

impl Sink {
    /// The tasks it applied, then whether it applies each once, for the debugger.
    pub(super) fn describe_tree(&self) -> crate::describe::Describe {
        let mut d = crate::describe::Describe::new();
        let applied: Vec<String> = self.applied.iter().map(u64::to_string).collect();
        d.field(
            "applied (remembered)",
            if applied.is_empty() {
                "none".to_string()
            } else {
                applied.join(", ")
            },
        );
        d.config("idempotent", self.idempotent);
        d
    }

    /// A sink that reloads its applied set from storage.
    pub fn new(idempotent: bool, storage: &Storage<QueueStored>) -> Self {
        let applied = storage
            .scan("a")
            .filter_map(|(k, _)| k[1..].parse().ok())
            .collect();
        Sink {
            idempotent,
            applied,
        }
    }

    // ANCHOR: on_message
    pub(super) fn on_message(
        &mut self,
        ctx: &mut Context<'_, QueueNode>,
        from: NodeId,
        msg: QueueMsg,
    ) {
        if let QueueMsg::Apply { task } = msg {
            if !self.idempotent || self.applied.insert(task) {
                if self.idempotent {
                    // Mark and effect are one atomic, synced step, like a transactional outbox.
                    ctx.storage().put(format!("a{task}"), QueueStored::Applied);
                    ctx.storage().sync();
                }
                ctx.event(Op::Effect { task });
            }
            ctx.send(from, QueueMsg::Applied { task });
        }
    }
    // ANCHOR_END: on_message
}
