//! Reference solution of lab `primary-backup`: the view service of MIT 6.824 (2014) and a
//! primary that forwards every operation to its backup in order, transfers its whole state to
//! each new backup before acknowledging the view, and sends again what was not answered.

use clustersim::node::NodeId;
use clustersim::protocols::kv::client::{KvOp, KvRequest, KvResult};
use clustersim_exercises::primary_backup::Functions;
use clustersim_exercises::primary_backup_node::{
    Ctx, Forward, ForwardReply, PbMsg, PbServer, Transfer, TransferReply, View, ViewServer, Waiting,
};

// ANCHOR: viewserver
/// First view, acknowledgements, and restarted servers (a ping with 0 from a member).
pub fn on_ping(vs: &mut ViewServer, ctx: &mut Ctx<'_>, server: NodeId, num: u64) {
    if vs.view.num == 0 {
        vs.change_view(Some(server), None);
        return;
    }
    if vs.view.primary == Some(server) && num == vs.view.num {
        vs.acked = true;
    }
    if num == 0 && vs.acked {
        // A member that rebooted has lost its copy: as good as dead.
        let now = ctx.now();
        if vs.view.primary == Some(server) {
            promote_backup(vs, now);
        } else if vs.view.backup == Some(server) {
            let idle = vs.idle(now);
            vs.change_view(vs.view.primary, idle);
        }
    }
}

/// Replaces dead members, and gives a view without a backup an idle server.
pub fn on_check(vs: &mut ViewServer, ctx: &mut Ctx<'_>) {
    if vs.view.num == 0 || !vs.acked {
        return;
    }
    let now = ctx.now();
    let primary_alive = vs.view.primary.is_some_and(|p| vs.alive(p, now));
    let backup_alive = vs.view.backup.is_some_and(|b| vs.alive(b, now));
    if !primary_alive {
        promote_backup(vs, now);
    } else if vs.view.backup.is_some() && !backup_alive {
        let idle = vs.idle(now);
        vs.change_view(vs.view.primary, idle);
    } else if vs.view.backup.is_none() {
        if let Some(idle) = vs.idle(now) {
            vs.change_view(vs.view.primary, Some(idle));
        }
    }
}

/// The backup becomes primary, with an idle server as backup; without a live backup nobody else
/// has the data, so the view stays.
fn promote_backup(vs: &mut ViewServer, now: clustersim::time::SimTime) {
    if let Some(b) = vs.view.backup.filter(|b| vs.alive(*b, now)) {
        let idle = vs.idle(now);
        vs.change_view(Some(b), idle);
    }
}
// ANCHOR_END: viewserver

// ANCHOR: server
/// Adopts the view; a primary with a backup hands it the whole state first and acknowledges the
/// view only once the backup took it. A server made primary without holding the data (it
/// rebooted since, or never had it) never acknowledges the view, so it never serves.
pub fn on_view(s: &mut PbServer, ctx: &mut Ctx<'_>, view: View) {
    let had_data = view.num == 1
        || (s.view.num + 1 == view.num
            && (s.is_primary() || (s.is_backup() && s.synced == s.view.num)));
    s.view = view;
    s.early.clear();
    s.transferring = false;
    if !s.is_primary() {
        // Requests a deposed primary held will never be answered by it.
        s.waiting.clear();
        s.acked = view.num;
    } else if !had_data {
        s.waiting.clear();
    } else if view.backup.is_some() {
        s.transferring = true;
        let t = s.transfer();
        s.send_to_backup(ctx, t);
    } else {
        s.acked = view.num;
        // No backup: this server alone holds the state; answer what waited.
        answer_up_to(s, ctx, u64::MAX);
    }
}

/// A primary executes, forwards and waits; anyone else redirects.
pub fn on_request(s: &mut PbServer, ctx: &mut Ctx<'_>, client: NodeId, req: KvRequest) {
    // A copy of a request answered already (refused, or taken) is not carried out again.
    if !s.seen.insert((client, req.id)) {
        return;
    }
    if !s.is_primary() || s.acked != s.view.num {
        s.redirect(ctx, client, req.id);
        return;
    }
    let result = s.execute(req.op);
    if s.view.backup.is_none() {
        s.reply(ctx, client, req.id, result);
        return;
    }
    let seq = s.seq;
    s.waiting.insert(
        seq,
        Waiting {
            client,
            id: req.id,
            op: req.op,
            result,
        },
    );
    let fwd = Forward {
        view: s.view.num,
        seq,
        op: req.op,
    };
    s.send_to_backup(ctx, PbMsg::Forward(fwd));
}

/// A backup that took this primary's state applies its forwards in its order.
pub fn on_forward(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, fwd: Forward) {
    let mine = s.is_backup()
        && fwd.view == s.view.num
        && s.view.primary == Some(from)
        && s.synced == s.view.num;
    if !mine {
        let reply = ForwardReply {
            view: s.view.num,
            seq: fwd.seq,
            ok: false,
        };
        s.send(ctx, from, PbMsg::ForwardReply(reply));
        return;
    }
    if fwd.seq > s.seq {
        s.early.insert(fwd.seq, fwd.op);
    }
    while let Some(op) = s.early.remove(&(s.seq + 1)) {
        s.execute(op);
    }
    let reply = ForwardReply {
        view: s.view.num,
        seq: s.seq,
        ok: true,
    };
    s.send(ctx, from, PbMsg::ForwardReply(reply));
}

/// The backup has everything up to `reply.seq`: answer those clients.
pub fn on_forward_reply(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, reply: ForwardReply) {
    if reply.ok && s.is_primary() && reply.view == s.view.num && s.view.backup == Some(from) {
        answer_up_to(s, ctx, reply.seq);
    }
}

/// The backup of this view takes the primary's state.
pub fn on_transfer(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, t: Transfer) {
    let ok = s.is_backup() && t.view == s.view.num && s.view.primary == Some(from);
    if ok && s.synced != t.view {
        s.kv = t.kv;
        s.applied_writes = t.applied_writes;
        s.seq = t.seq;
        s.early.clear();
        s.synced = t.view;
    }
    let reply = TransferReply {
        view: s.view.num,
        ok,
    };
    s.send(ctx, from, PbMsg::TransferReply(reply));
}

/// The backup has the state: acknowledge the view and answer everything that waited (the
/// state it took includes it).
pub fn on_transfer_reply(s: &mut PbServer, ctx: &mut Ctx<'_>, from: NodeId, reply: TransferReply) {
    if reply.ok && s.transferring && reply.view == s.view.num && s.view.backup == Some(from) {
        s.transferring = false;
        s.acked = s.view.num;
        answer_up_to(s, ctx, u64::MAX);
    }
}

/// Sends again the transfer or the forwards not yet acknowledged.
pub fn on_tick(s: &mut PbServer, ctx: &mut Ctx<'_>) {
    if !s.is_primary() {
        return;
    }
    if s.transferring {
        let t = s.transfer();
        s.send_to_backup(ctx, t);
        return;
    }
    let view = s.view.num;
    let forwards: Vec<Forward> = s
        .waiting
        .iter()
        .map(|(seq, w)| Forward {
            view,
            seq: *seq,
            op: w.op,
        })
        .collect();
    for fwd in forwards {
        s.send_to_backup(ctx, PbMsg::Forward(fwd));
    }
}

/// Applies a write once: a value seen before gets the answer it got then.
pub fn apply(s: &mut PbServer, op: KvOp) -> KvResult {
    let written = match op {
        KvOp::Get { .. } => None,
        KvOp::Put { value, .. } | KvOp::Cas { to: value, .. } => Some(value),
    };
    if let Some(done) = written.and_then(|v| s.applied_writes.get(&v)) {
        return *done;
    }
    let result = match op {
        KvOp::Get { key } => KvResult::Done(s.kv.get(&key).copied()),
        KvOp::Put { key, value } => {
            s.kv.insert(key, value);
            KvResult::Done(None)
        }
        KvOp::Cas { key, from, to } => {
            if s.kv.get(&key).copied() != from {
                KvResult::CasMismatch
            } else {
                s.kv.insert(key, to);
                KvResult::Done(None)
            }
        }
    };
    if let Some(v) = written {
        s.applied_writes.insert(v, result);
    }
    result
}

/// Answers every waiting request numbered up to `seq`.
fn answer_up_to(s: &mut PbServer, ctx: &mut Ctx<'_>, seq: u64) {
    while let Some(entry) = s.waiting.first_entry() {
        if *entry.key() > seq {
            break;
        }
        let w = entry.remove();
        s.reply(ctx, w.client, w.id, w.result);
    }
}
// ANCHOR_END: server

/// These functions, as the lab's table.
pub const FUNCTIONS: Functions = Functions {
    on_ping,
    on_check,
    on_view,
    on_request,
    on_forward,
    on_forward_reply,
    on_transfer,
    on_transfer_reply,
    on_tick,
    apply,
};
