//! A node behind a atomic reference count, for runs that are copied at every step (the exhaustive
//! search): a copy of the run shares every node, and a handler copies only the node it runs on
//! (`Arc::make_mut`), so a step costs one node's copy instead of the whole cluster's.

use crate::node::{Context, Node, NodeId, Snapshot};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// `N` shared by copies of a run until one of them runs a handler on it.
#[derive(Debug)]
pub struct SharedNode<N>(Arc<N>);

impl<N> SharedNode<N> {
    /// Wraps a node.
    pub fn new(node: N) -> Self {
        SharedNode(Arc::new(node))
    }

    /// The node inside.
    pub fn get(&self) -> &N {
        &self.0
    }
}

impl<N> Clone for SharedNode<N> {
    fn clone(&self) -> Self {
        SharedNode(Arc::clone(&self.0))
    }
}

/// Hashes as the node inside does, so a fingerprint does not see the wrapper.
impl<N: Hash> Hash for SharedNode<N> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}

impl<N: Node + Clone> Node for SharedNode<N> {
    type Msg = N::Msg;
    type Timer = N::Timer;
    type Stored = N::Stored;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        Arc::make_mut(&mut self.0).on_start(&mut ctx.as_node());
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        Arc::make_mut(&mut self.0).on_message(&mut ctx.as_node(), from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        Arc::make_mut(&mut self.0).on_timer(&mut ctx.as_node(), timer);
    }

    fn on_roster_change(&mut self, ctx: &mut Context<'_, Self>, change: crate::node::RosterChange) {
        Arc::make_mut(&mut self.0).on_roster_change(&mut ctx.as_node(), change);
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.0.snapshot()
    }

    fn describe(&self) -> Option<String> {
        self.0.describe()
    }

    fn describe_tree(&self) -> Option<crate::describe::Describe> {
        self.0.describe_tree()
    }

    fn heap_bytes(&self) -> u64 {
        self.0.heap_bytes()
    }

    fn service_time(&self, msg: &Self::Msg, drawn: crate::time::Duration) -> crate::time::Duration {
        self.0.service_time(msg, drawn)
    }

    fn message_bytes(msg: &Self::Msg) -> u64 {
        N::message_bytes(msg)
    }
}
