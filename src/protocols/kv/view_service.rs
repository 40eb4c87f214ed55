//! The view service of primary-backup replication (MIT 6.824's viewservice, DSLabs' ViewServer):
//! which replica is primary and which is backup, numbered as views.
//!
//! Replicas ping the service every heartbeat; one silent for `suspect_after` is dead. The service
//! moves to a new view only once the primary has acknowledged the current one (it pings with
//! that view's number once its backup holds its whole state), so a backup is promoted only if it
//! has the data. A dead backup is dropped (an idle replica takes its place, or none); a dead
//! primary is replaced by the backup of the current view, never by an idle replica, which would
//! not have the data; a view without a backup gets an idle replica as soon as one pings.
//!
//! This file is the decision alone, with no messages: `primary_backup.rs` wraps it in a node.

use crate::node::NodeId;
use crate::time::{Duration, SimTime};
use std::collections::BTreeMap;

/// One view: its number, its primary, and its backup if it has one.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct View {
    /// Views are numbered from 1, one after another.
    pub num: u64,
    /// The replica that serves clients in this view.
    pub primary: NodeId,
    /// The replica every write is copied to before it is acknowledged.
    pub backup: Option<NodeId>,
}

/// The view service's state: the current view, whether its primary acknowledged it, and when
/// each replica last pinged.
#[derive(Clone, Debug)]
pub struct ViewService {
    servers: Vec<NodeId>,
    suspect_after: Duration,
    view: Option<View>,
    acked: bool,
    last_ping: BTreeMap<NodeId, SimTime>,
}

impl ViewService {
    /// A service for `servers` (in id order) that starts at `view` (a restarted service's
    /// persisted view, and whether it was acknowledged).
    pub fn new(servers: Vec<NodeId>, suspect_after: Duration, view: Option<(View, bool)>) -> Self {
        ViewService {
            servers,
            suspect_after,
            view: view.map(|(v, _)| v),
            acked: view.is_some_and(|(_, a)| a),
            last_ping: BTreeMap::new(),
        }
    }

    /// The service (re)starts at `now`: with a view already made it counts every replica alive
    /// from now, so it does not depose members it merely has not heard from yet.
    pub fn boot(&mut self, now: SimTime) {
        if self.view.is_some() {
            self.last_ping = self.servers.iter().map(|s| (*s, now)).collect();
        }
    }

    /// The current view, if one was made yet.
    pub fn view(&self) -> Option<View> {
        self.view
    }

    /// True once the current view's primary acknowledged it.
    pub fn acked(&self) -> bool {
        self.acked
    }

    /// `server` pinged; `acked` is the view it serves in as primary (0: none).
    pub fn on_ping(&mut self, server: NodeId, acked: u64, now: SimTime) {
        if !self.servers.contains(&server) {
            return;
        }
        self.last_ping.insert(server, now);
        if let Some(v) = self.view {
            if v.primary == server && acked == v.num {
                self.acked = true;
            }
        }
    }

    /// Replaces dead members and fills an empty backup slot; returns the new view if it changed.
    pub fn on_check(&mut self, now: SimTime) -> Option<View> {
        let Some(v) = self.view else {
            // The first view: the two lowest live replicas.
            let mut live = self.servers.iter().copied().filter(|s| self.alive(*s, now));
            let primary = live.next()?;
            let backup = live.next();
            return Some(self.change(primary, backup));
        };
        if !self.acked {
            // The primary may still be handing its state to the backup: nobody else has it.
            return None;
        }
        if !self.alive(v.primary, now) {
            // Only the backup of an acknowledged view holds every acknowledged write.
            let backup = v.backup.filter(|b| self.alive(*b, now))?;
            let idle = self.idle(now, &[v.primary, backup]);
            return Some(self.change(backup, idle));
        }
        match v.backup {
            Some(b) if !self.alive(b, now) => {
                let idle = self.idle(now, &[v.primary, b]);
                Some(self.change(v.primary, idle))
            }
            None => {
                let idle = self.idle(now, &[v.primary])?;
                Some(self.change(v.primary, Some(idle)))
            }
            Some(_) => None,
        }
    }

    fn alive(&self, server: NodeId, now: SimTime) -> bool {
        self.last_ping
            .get(&server)
            .is_some_and(|t| now < *t + self.suspect_after)
    }

    /// The lowest live replica that is none of `not`.
    fn idle(&self, now: SimTime, not: &[NodeId]) -> Option<NodeId> {
        self.servers
            .iter()
            .copied()
            .find(|s| !not.contains(s) && self.alive(*s, now))
    }

    fn change(&mut self, primary: NodeId, backup: Option<NodeId>) -> View {
        let num = self.view.map_or(1, |v| v.num + 1);
        let v = View {
            num,
            primary,
            backup,
        };
        self.view = Some(v);
        self.acked = false;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO + Duration::from_millis(ms)
    }

    fn service() -> ViewService {
        let servers = vec![NodeId(0), NodeId(1), NodeId(2)];
        let mut vs = ViewService::new(servers, Duration::from_millis(300), None);
        for s in 0..3 {
            vs.on_ping(NodeId(s), 0, at(10));
        }
        vs
    }

    #[test]
    fn a_dead_backup_is_replaced_by_an_idle_replica_once_the_view_is_acknowledged() {
        let mut vs = service();
        let v1 = vs.on_check(at(20)).expect("first view");
        assert_eq!((v1.primary, v1.backup), (NodeId(0), Some(NodeId(1))));
        // Unacknowledged: the backup's death changes nothing.
        vs.on_ping(NodeId(0), 0, at(400));
        vs.on_ping(NodeId(2), 0, at(400));
        assert_eq!(vs.on_check(at(400)), None);
        vs.on_ping(NodeId(0), 1, at(410));
        let v2 = vs.on_check(at(410)).expect("backup dropped");
        assert_eq!(
            (v2.num, v2.primary, v2.backup),
            (2, NodeId(0), Some(NodeId(2)))
        );
    }

    #[test]
    fn a_dead_primary_is_replaced_by_its_backup_and_never_by_an_idle_replica() {
        let mut vs = service();
        vs.on_check(at(20));
        vs.on_ping(NodeId(0), 1, at(30));
        // Backup dead first: the primary stays alone (replica 2 is dead too).
        vs.on_ping(NodeId(0), 1, at(350));
        let v2 = vs.on_check(at(350)).expect("backup dropped");
        assert_eq!((v2.primary, v2.backup), (NodeId(0), None));
        vs.on_ping(NodeId(0), 2, at(360));
        // Now the primary dies while replica 2 is back: it was no backup, so it is not promoted.
        vs.on_ping(NodeId(2), 0, at(600));
        assert_eq!(vs.on_check(at(700)), None);
        assert_eq!(vs.view().map(|v| v.primary), Some(NodeId(0)));
    }
}
